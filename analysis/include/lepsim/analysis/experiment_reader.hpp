#pragma once
// Reading experiment files (docs/experiment-file-format.md): the design, every
// replication's metrics, and the tables, tidy CSV and charts that summary, export
// and report give of them (docs/experiments.md, "Reading experiments").

#include <cstdint>
#include <string>
#include <vector>

#include "lepsim/analysis/statistics.hpp"

namespace lepsim::analysis {

//! True when `path` is an HDF5 file whose root `file_type` is "lepsim-experiment".
bool is_experiment_file(const std::string& path);

struct ExperimentData {
  std::string path, name, design, streams, engine_version, git_revision, created;
  std::uint64_t seed = 0;
  std::int64_t points = 0, replications = 0;
  std::vector<std::string> factor_names, factor_units, factor_paths, overrides, metrics;
  std::vector<double> values;                      //!< [points, factors]
  std::vector<std::int64_t> ids;                   //!< [points]
  std::vector<std::vector<double>> metric_values;  //!< per metric, [points, replications]
};

//! Reads the whole design and every metric; RunFileError (exit 5) for a file that is not
//! an experiment file of a major version this reader knows, or is damaged.
ExperimentData read_experiment(const std::string& path);

//! Statistics of one metric at one point (NaN replications excluded; n says how many remain).
struct PointStats {
  Estimate mean;  //!< with its Student-t interval
  double sd = 0, p10 = 0, p50 = 0, p90 = 0;
  std::int64_t n = 0;
};
PointStats point_stats(const ExperimentData& e, std::size_t metric, std::size_t point, double level);

//! `lepsim summary` of an experiment: points x metrics, each mean with its interval.
std::string experiment_summary_text(const ExperimentData& e, double level);
//! Tidy CSV, one row per point: point, factor values, then per metric mean, ci_low, ci_high,
//! sd, p10, p50, p90, n (columns `METRIC_mean`..., '@' written as "_at_").
std::string experiment_csv(const ExperimentData& e, double level);
//! A self-contained HTML page: for each metric, its point means (with intervals) against each factor.
std::string experiment_report_html(const ExperimentData& e, double level);

//! Writes `text` to `path` whole or not at all (a temporary renamed into place); OutputError.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace lepsim::analysis
