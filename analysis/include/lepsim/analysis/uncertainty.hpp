#pragma once
// Total and chance-only intervals of a run's headlines (second-order Monte Carlo,
// docs/analysis.md "Total and chance-only intervals"), and the model against an observed
// record's milestones (`lepsim summary --observed`, docs/model.md "Validation").

#include <cstdint>
#include <string>
#include <vector>

#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

//! /uncertainty of a run file (format 1.4): the vector each replication ran with.
struct DrawnInputs {
  bool present = false;  //!< false: a first-order run (inputs fixed)
  std::string draw;      //!< "inputs" or "posterior"
  int replications_per_draw = 1;
  std::string posterior;
  std::vector<std::string> paths, modes;
  std::size_t replications = 0, dims = 0;
  std::vector<double> parameters;  //!< [replications, dims] row-major
};
//! Throws RunFileError for a malformed /uncertainty.
DrawnInputs read_drawn_inputs(const RunReader& run);

//! One per-replication value's spread, split (docs/analysis.md):
//! * total: P10-P90 over every replication (inputs drawn and chance) — only with drawn inputs;
//! * chance-only: P10-P90 with inputs fixed — the within-draw spread (replications_per_draw
//!   >= 2), or, in a first-order run, the whole spread;
//! * Monte Carlo error: the half-width of the `level` t interval of the mean, from the means
//!   of the draws (replications sharing a vector are not independent).
struct SplitInterval {
  std::int64_t n = 0, draws = 0;
  double mean = 0, mc_half_width = 0;
  bool total_available = false;
  double total_lo = 0, total_hi = 0;
  bool chance_available = false;
  double chance_lo = 0, chance_hi = 0;
  double input_share = 0;   //!< share of the variance from the inputs (1 - within / total); NaN when unknown
  std::string chance_note;  //!< why chance-only is not available, or how it was obtained
};
SplitInterval split_interval(const std::vector<double>& values, const DrawnInputs& drawn, double level);

//! The text block `summary` prints under its table: year-5, year-10 and horizon completions
//! (and any other Mean figure whose key starts with "completed_month").
std::string uncertainty_text(const std::vector<Figure>& figs, const DrawnInputs& drawn, double level);

//! `compare`: for the completions, B - A's split intervals under common draws (or why not).
std::string uncertainty_comparison_text(const std::vector<const RunReader*>& runs, double level);

// ---- summary --observed RECORD

struct ObservedCheck {
  std::string id, metric, use, evidence, source;
  double month = 0, observed = 0, sd = 0;
  bool expressible = false;
  std::string why_not;  //!< when not expressible
  double p10 = 0, p50 = 0, p90 = 0;
  std::size_t defined = 0;
  bool covers = false, covers_with_error = false;
};
//! Every milestone of the record against the run's per-replication values (check_milestones).
std::vector<ObservedCheck> check_observed(const RunReader& run, const std::string& record_path);
std::string observed_text(const RunReader& run, const std::string& record_path, const std::vector<ObservedCheck>& checks,
                          const DrawnInputs& drawn);
std::string observed_csv(const std::vector<ObservedCheck>& checks);

}  // namespace lepsim::analysis
