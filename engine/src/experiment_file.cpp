#include "experiment_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "lepsim/h5.hpp"
#include "lepsim/version.hpp"
#include "percentile.hpp"

namespace lepsim::detail {

namespace {

const char* design_name(DesignKind d) {
  switch (d) {
    case DesignKind::GRID: return "grid";
    case DesignKind::ONE_AT_A_TIME: return "one_at_a_time";
    case DesignKind::LHS: return "lhs";
    case DesignKind::SOBOL: return "sobol";
    case DesignKind::SALTELLI: return "saltelli";
    case DesignKind::MORRIS: return "morris";
    case DesignKind::PLAN: return "plan";
  }
  return "?";
}

}  // namespace

//! Statistics stored per point and step for every summarised series, in this order.
const char* const SERIES_STATS[] = {"mean", "sd", "p10", "p50", "p90", "sum", "sum_sq"};
constexpr std::size_t SERIES_STAT_COUNT = 7;

struct ExperimentFileWriter::Impl {
  std::string final_path, temp_path;
  const Experiment& ex;
  std::size_t R = 0, T = 0, M = 0, S = 0;
  h5::File file;
  std::vector<h5::Appendable<double>> metrics;
  std::vector<std::vector<h5::Appendable<double>>> stats;  // [series][stat]
  std::vector<h5::Appendable<std::int64_t>> counts;        // [series]
  bool finished = false;
  Impl(const Experiment& e) : ex(e) {}
};

ExperimentFileWriter::ExperimentFileWriter(const std::string& final_path, const Experiment& ex,
                                           const std::vector<DesignPoint>& points, bool force)
    : impl_(std::make_unique<Impl>(ex)) {
  Impl& m = *impl_;
  m.final_path = final_path;
  m.temp_path = final_path + ".tmp-" + std::to_string(::getpid());
  m.R = static_cast<std::size_t>(ex.replications);
  m.T = static_cast<std::size_t>(ex.base.time.steps);
  m.M = ex.metrics.size();
  m.S = ex.series.size();
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(final_path, ec) && !force)
    throw OutputError("output file " + final_path +
                      " already exists; choose another name with -o or pass --force to overwrite it");
  try {
    m.file = h5::File::create(m.temp_path);
    h5::Group root = m.file.root();
    root.set_attr("file_type", EXPERIMENT_FILE_TYPE);
    const std::int32_t version[2] = {EXPERIMENT_FORMAT_MAJOR, EXPERIMENT_FORMAT_MINOR};
    root.set_attr("format_version", version);
    root.set_attr("engine_version", engine_version());
    root.set_attr("git_revision", git_revision());
    root.set_attr("seed", ex.seed);
    root.set_attr("points", static_cast<std::int64_t>(points.size()));
    root.set_attr("replications", static_cast<std::int64_t>(ex.replications));
    root.set_attr("created", utc_now());
    root.set_attr("experiment_name", ex.name);
    root.set_attr("design", std::string(design_name(ex.design)));
    root.set_attr("streams", std::string(ex.streams == StreamPolicy::COMMON ? "common" : "independent"));
    root.set_attr("steps", static_cast<std::int32_t>(ex.base.time.steps));
    root.set_attr("step_months", ex.base.time.step_months);

    h5::Group prov = root.create_group("provenance");
    prov.write_text("experiment_text", ex.source_text);
    prov.write_text("experiment_path", ex.source_path);
    prov.write_text("base_scenario_text", ex.base.source_text);
    prov.write_text("base_scenario_path", ex.base.source_path);
    prov.write_text("base_scenario_resolved", ex.base.resolved_toml());
    std::vector<std::string> base_paths, base_texts;
    for (const auto& [p, t] : ex.base.base_files) base_paths.push_back(p), base_texts.push_back(t);
    prov.write_strings("base_files", base_paths);
    prov.write_strings("base_file_texts", base_texts);

    h5::Group design = root.create_group("design");
    const std::size_t P = points.size(), F = ex.factors.size();
    std::vector<double> values(P * F);
    std::vector<std::int64_t> ids(P);
    std::vector<std::uint64_t> seeds(P);
    std::vector<std::string> overrides(P);
    for (std::size_t p = 0; p < P; ++p) {
      std::copy(points[p].values.begin(), points[p].values.end(), values.begin() + static_cast<std::ptrdiff_t>(p * F));
      ids[p] = points[p].id;
      seeds[p] = point_seed(ex, points[p], p);
      overrides[p] = overrides_text(ex, points[p]);
    }
    design.write_array("values", values, {P, F});
    design.write_array("point_id", ids);
    design.write_array("seed", seeds);
    design.write_strings("overrides", overrides);
    std::vector<std::string> roles(P);
    std::vector<std::int64_t> groups(P), streams(P);
    std::vector<std::int32_t> changed(P);
    std::vector<double> steps(P);
    for (std::size_t p = 0; p < P; ++p) {
      roles[p] = points[p].role, groups[p] = points[p].group, changed[p] = points[p].factor;
      streams[p] = points[p].stream < 0 ? static_cast<std::int64_t>(p) : points[p].stream, steps[p] = points[p].step;
    }
    design.write_strings("role", roles);
    design.write_array("group", groups);
    design.write_array("changed_factor", changed);
    design.write_array("stream", streams);
    design.write_array("step", steps);
    if (ex.design == DesignKind::SALTELLI || ex.design == DesignKind::MORRIS) {
      // What `lepsim sensitivity` needs to rebuild the layout (docs/experiment-file-format.md).
      std::vector<double> unit(P * F);
      for (std::size_t p = 0; p < P; ++p)
        std::copy(points[p].unit.begin(), points[p].unit.end(), unit.begin() + static_cast<std::ptrdiff_t>(p * F));
      design.write_array("unit", unit, {P, F});
      if (ex.design == DesignKind::SALTELLI) {
        design.set_attr("base_rows", static_cast<std::int64_t>(ex.lhs_points));
        design.set_attr("ba", static_cast<std::int32_t>(ex.saltelli_ba ? 1 : 0));
        design.set_attr("noise", static_cast<std::int32_t>(ex.saltelli_noise ? 1 : 0));
      } else {
        design.set_attr("trajectories", static_cast<std::int64_t>(ex.lhs_points));
        design.set_attr("morris_levels", static_cast<std::int32_t>(ex.morris_levels));
      }
    }
    std::vector<std::string> names, paths, units, kinds, dists;
    std::vector<double> base;
    for (const auto& f : ex.factors) {
      names.push_back(f.name), paths.push_back(f.path), units.push_back(f.unit);
      dists.push_back(f.distribution ? f.distribution->describe() : "");
      kinds.push_back(f.scale ? "scale" : "value"), base.push_back(f.base);
    }
    design.write_strings("factor_names", names);
    design.write_strings("factor_paths", paths);
    design.write_strings("factor_units", units);
    design.write_strings("factor_kinds", kinds);
    design.write_strings("factor_distributions", dists);
    design.write_array("factor_base", base);

    const h5::Filters filters{true, 4, false, false};
    auto rows_for = [&](std::size_t row_values) {
      return static_cast<std::uint64_t>(std::clamp<std::size_t>(65536 / std::max<std::size_t>(row_values, 1), 1, P));
    };
    h5::Group mg = root.create_group("metrics");
    for (const auto& name : ex.metrics)
      m.metrics.push_back(mg.create_appendable<double>(name, {m.R}, rows_for(m.R), filters));
    h5::Group sg = root.create_group("series");
    for (const auto& name : ex.series) {
      h5::Group g = sg.create_group(name);
      m.counts.push_back(g.create_appendable<std::int64_t>("n", {m.T}, rows_for(m.T), filters));
      m.stats.emplace_back();
      for (const char* stat : SERIES_STATS)
        m.stats.back().push_back(g.create_appendable<double>(stat, {m.T}, rows_for(m.T), filters));
    }
  } catch (const h5::Error& e) {
    std::filesystem::remove(m.temp_path, ec);
    throw OutputError("cannot write the experiment file " + m.temp_path + ": " + e.what());
  }
}

ExperimentFileWriter::~ExperimentFileWriter() {
  if (impl_ && !impl_->finished) {
    impl_->metrics.clear();
    impl_->stats.clear();
    impl_->counts.clear();
    impl_->file = h5::File();
    std::error_code ec;
    std::filesystem::remove(impl_->temp_path, ec);
  }
}

void ExperimentFileWriter::append_point(const std::vector<double>& rows) {
  Impl& m = *impl_;
  const std::size_t row = m.M + m.S * m.T;
  std::vector<double> col(m.R);
  try {
    for (std::size_t k = 0; k < m.M; ++k) {
      for (std::size_t r = 0; r < m.R; ++r) col[r] = rows[r * row + k];
      m.metrics[k].append(col);
    }
    std::vector<std::vector<double>> out(SERIES_STAT_COUNT, std::vector<double>(m.T));
    std::vector<std::int64_t> n(m.T);
    std::vector<double> x;
    for (std::size_t s = 0; s < m.S; ++s) {
      for (std::size_t t = 0; t < m.T; ++t) {
        x.clear();
        double sum = 0, sum_sq = 0;
        for (std::size_t r = 0; r < m.R; ++r) {
          const double v = rows[r * row + m.M + s * m.T + t];
          if (std::isnan(v)) continue;
          x.push_back(v), sum += v, sum_sq += v * v;
        }
        n[t] = static_cast<std::int64_t>(x.size());
        const double nan = std::numeric_limits<double>::quiet_NaN();
        double mean = nan, sd = nan, pct[3] = {nan, nan, nan};
        if (!x.empty()) {
          mean = sum / static_cast<double>(x.size());
          if (x.size() > 1) {
            double ss = 0;
            for (double v : x) ss += (v - mean) * (v - mean);
            sd = std::sqrt(ss / static_cast<double>(x.size() - 1));
          }
          std::sort(x.begin(), x.end());
          for (int q = 0; q < 3; ++q) {
            const auto rk = type7_rank(x.size(), static_cast<double>(x.size() - 1) * EXPERIMENT_PERCENTILES[q] / 100.0);
            pct[q] = rk.value(x[rk.lo], x[rk.hi]);
          }
        }
        const double vals[SERIES_STAT_COUNT] = {mean, sd, pct[0], pct[1], pct[2], sum, sum_sq};
        for (std::size_t k = 0; k < SERIES_STAT_COUNT; ++k) out[k][t] = vals[k];
      }
      m.counts[s].append(n);
      for (std::size_t k = 0; k < SERIES_STAT_COUNT; ++k) m.stats[s][k].append(out[k]);
    }
  } catch (const h5::Error& e) {
    throw OutputError("cannot write the experiment file " + m.temp_path + ": " + e.what());
  }
}

void ExperimentFileWriter::finish() {
  Impl& m = *impl_;
  try {
    for (auto& a : m.metrics) a.close();
    for (auto& s : m.stats)
      for (auto& a : s) a.close();
    for (auto& a : m.counts) a.close();
    m.metrics.clear(), m.stats.clear(), m.counts.clear();
    m.file.close();
  } catch (const h5::Error& e) {
    throw OutputError("cannot write the experiment file " + m.temp_path + ": " + e.what());
  }
  std::error_code ec;
  std::filesystem::rename(m.temp_path, m.final_path, ec);
  if (ec) throw OutputError("cannot rename " + m.temp_path + " to " + m.final_path + ": " + ec.message());
  m.finished = true;
}

}  // namespace lepsim::detail
