#pragma once
// `lepsim sensitivity`: the estimators of sensitivity.hpp over an experiment file
// (docs/experiment-file-format.md), their results stored back in it under /sensitivity
// and read from there by `summary` and `report` (docs/analysis.md, "Sensitivity of an
// experiment").

#include <string>
#include <vector>

#include "lepsim/analysis/sensitivity.hpp"

namespace lepsim::analysis {

//! One statistic per column (factor, or the model's noise), e.g. Sobol' `total`.
struct IndexColumn {
  std::string name;              //!< "first", "total", "mu_star", "swing", ...
  std::vector<Estimate> values;  //!< one per column of the metric
};

//! A scalar result of a metric: name and estimate (e.g. the aleatory share).
struct IndexScalar {
  std::string name;
  Estimate value;
};

struct MetricSensitivity {
  std::string metric;
  std::string method;                //!< "sobol", "morris" or "oat"
  std::vector<std::string> columns;  //!< factor names (then "noise" for Sobol' with noise rows)
  std::vector<IndexColumn> stats;    //!< in a fixed order per method (docs/analysis.md)
  std::vector<IndexScalar> scalars;
  std::string skipped;  //!< why the metric has no indices ("" when it has them)

  const IndexColumn* stat(const std::string& name) const;
  const IndexScalar* scalar(const std::string& name) const;
  //! Column order by importance: Sobol' total, Morris mu*, one-at-a-time |swing|; largest first.
  std::vector<std::size_t> ranking() const;
};

//! A series metric's indices at every step (from the per-point mean of /series/NAME).
struct SeriesSensitivity {
  std::string series;
  std::string method;
  std::vector<std::string> columns;
  std::vector<double> months;  //!< end of each step
  //! stat name -> [steps][columns]: Sobol' "first" and "total", Morris "mu_star".
  std::vector<std::string> stat_names;
  std::vector<std::vector<std::vector<Estimate>>> stats;  //!< [stat][step][column]
};

struct SensitivityResult {
  std::string experiment_name;
  std::string design;  //!< the experiment's design attribute
  std::vector<std::string> factors;
  std::size_t points = 0, replications = 0;
  std::int64_t resamples = 0;
  std::uint64_t seed = 0;
  double level = 0.95;
  double seconds = 0;  //!< computing the indices
  std::vector<MetricSensitivity> metrics;
  std::vector<SeriesSensitivity> series;
};

struct SensitivityOptions {
  std::vector<std::string> metrics;  //!< empty: every metric of the file
  BootstrapOptions bootstrap;
  bool series = true;  //!< also indices over time of every stored series
};

//! Reads an experiment file and computes the indices its design supports: Saltelli ->
//! Sobol' (both targets), Morris -> elementary effects, one_at_a_time -> swings. Another
//! design, or an unknown metric, is a UsageError.
SensitivityResult compute_sensitivity(const std::string& path, const SensitivityOptions& options);

//! Writes /sensitivity into the experiment file, replacing any earlier one.
void store_sensitivity(const std::string& path, const SensitivityResult& result);
//! Whether the file holds /sensitivity.
bool has_sensitivity(const std::string& path);
//! Reads /sensitivity back (UsageError when absent: run `lepsim sensitivity` first).
SensitivityResult load_sensitivity(const std::string& path);

//! Ranked text tables, one per metric (sensitivity_report.cpp).
std::string sensitivity_text(const SensitivityResult& result);
std::string sensitivity_json(const SensitivityResult& result);
//! A standalone HTML page: tornado / Sobol' bars with intervals per metric and the
//! indices over time of every series (inline SVG, no scripts).
std::string sensitivity_html(const SensitivityResult& result);
//! The same charts and tables as a <section>, for a page of its own or the experiment report.
std::string sensitivity_html_section(const SensitivityResult& result);

}  // namespace lepsim::analysis
