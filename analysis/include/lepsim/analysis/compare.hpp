#pragma once
// `lepsim compare` and the comparison report: headline figures of several runs, and for
// each run after the first its difference from the first (docs/analysis.md, "Comparing runs").

#include <string>
#include <vector>

#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

//! Which way is better for a figure: +1 higher, -1 lower, 0 neither (e.g. utilisation).
int better_direction(const std::string& key);

struct Difference {
  //! B - A: the mean difference (means, probabilities), the difference of the percentiles
  //! (percentiles) or, for a ratio (cost per school), the extra cost per extra school
  //! (ICER: difference of costs over difference of schools).
  Estimate estimate;
  bool defined = true;                //!< false: B - A has no value (e.g. both after the horizon)
  std::string undefined_why;          //!< when not defined, for people
  bool paired = false;                //!< replication by replication (common random numbers)
  bool has_interval = false;          //!< false for a difference of percentiles (shown alone)
  double independent_half_width = 0;  //!< with paired: what the interval would be for independent runs
  std::int64_t pairs = 0;             //!< replications paired (0 when independent)
  //! Paired: P10, P50, P90 of the per-replication differences B - A, with order-statistic
  //! intervals; empty when independent or for ratios.
  std::vector<std::pair<double, Estimate>> spread;
  //! Paired, with a direction: P(B better than A in a replication), Wilson interval, and
  //! the share of replications where they are equal. NaN otherwise.
  Estimate better, same;
  //! With a ratio: the mean extra cost (numerator) and extra schools (denominator) behind the
  //! ICER; negative extra schools make it a saving per school forgone.
  double extra_numerator = 0, extra_denominator = 0;
  //! The per-replication differences B - A (paired), NaN where undefined; for the charts.
  std::vector<double> per_replication;
};

struct ComparedFigure {
  std::string key, label, unit;
  FigureKind kind = FigureKind::Mean;
  int better = 0;                       //!< better_direction(key)
  std::vector<Estimate> estimates;      //!< one per run, in the order given
  std::vector<Difference> differences;  //!< one per run after the first
};

struct Comparison {
  double level = 0.95;
  std::vector<RunMetadata> runs;
  std::vector<bool> paired;             //!< per run after the first: same seed as the first
  std::vector<std::int64_t> pairs;      //!< per run after the first: replications paired (common ones)
  std::vector<std::string> warnings;    //!< mismatched start, horizon, step or outputs, for people
  std::vector<ComparedFigure> figures;  //!< those present in every run, in the first run's order
};

//! Refuses (RunFileError) runs that cannot be compared: a different format major, or no
//! headline figure in common. Runs with the same seed pair over their common replications
//! (replication r depends only on scenario, seed and r), provided the time grids agree.
Comparison compare_runs(const std::vector<const RunReader*>& runs, const FigureOptions& options);

}  // namespace lepsim::analysis
