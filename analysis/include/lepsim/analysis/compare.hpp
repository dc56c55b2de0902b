#pragma once
// `lepsim compare`: headline figures of several runs side by side, and the difference of
// each from the first run with its interval (docs/analysis.md, "Comparing runs").

#include <string>
#include <vector>

#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

struct Difference {
  Estimate estimate;      //!< figure of this run minus the first run's
  bool paired = false;    //!< replication by replication (common random numbers)
  bool has_interval = false;  //!< false for percentiles (the difference is shown alone)
  double independent_half_width = 0;  //!< what the interval would be for independent runs
};

struct ComparedFigure {
  std::string key, label, unit;
  FigureKind kind = FigureKind::Mean;
  std::vector<Estimate> estimates;      //!< one per run, in the order given
  std::vector<Difference> differences;  //!< one per run after the first
};

struct Comparison {
  std::vector<RunMetadata> runs;
  std::vector<bool> paired;  //!< per run after the first: shares the first's seed and replications
  std::vector<ComparedFigure> figures;  //!< those present in every run, in the first run's order
};

//! Refuses (RunFileError) runs that cannot be compared: a different format major, or no
//! headline figure in common. Runs pair when seed, replication count and time grid agree.
Comparison compare_runs(const std::vector<const RunReader*>& runs, const FigureOptions& options);

}  // namespace lepsim::analysis
