#pragma once
// Headline figures of a run, each from its per-replication values with a confidence
// interval: what `lepsim summary`, `report` and `compare` show (docs/analysis.md).

#include <string>
#include <vector>

#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/analysis/statistics.hpp"

namespace lepsim::analysis {

//! "At least `count` projects completed by month `month`" (count < 0: every project).
struct Target {
  double count = -1;
  double month = 0;
};

struct FigureOptions {
  double level = 0.95;          //!< confidence level of every interval
  std::vector<Target> targets;  //!< probabilities of meeting these, besides the defaults
};

enum class FigureKind {
  Mean,        //!< mean of a per-replication value, t interval; percentiles alongside
  Percentile,  //!< one percentile of a per-replication value, order-statistic interval
  Probability,  //!< share of replications meeting a condition, Wilson interval
  Ratio         //!< ratio of means, per_replication over denominator, delta-method interval
};

struct Figure {
  std::string key;    //!< machine name, e.g. "completed_year5"
  std::string label;  //!< for people, e.g. "schools completed by month 60"
  std::string unit;   //!< "projects", "month", "GBP m", "0-1", "LEPs", "probability"
  FigureKind kind = FigureKind::Mean;
  Estimate estimate;
  //! With kind Mean: P10, P50, P80, P90 with their intervals.
  std::vector<std::pair<double, Estimate>> percentiles;
  //! The value of each replication (0/1 for a probability; +inf for an event after
  //! the horizon), in replication order: what `compare` pairs.
  std::vector<double> per_replication;
  //! With kind Ratio: the denominator of each replication (e.g. schools completed).
  std::vector<double> denominator;
};

//! The headline figures present in the run (partnership ones only when written).
std::vector<Figure> headline_figures(const RunReader& run, const FigureOptions& options);

//! Month text for people: "month 57" or "after the horizon" (infinite).
std::string month_text(double months);

}  // namespace lepsim::analysis
