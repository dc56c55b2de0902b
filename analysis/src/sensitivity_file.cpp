// `lepsim sensitivity` over an experiment file: the design read from /design, the
// estimators of sensitivity.cpp per metric and per series step, and /sensitivity written
// back and read again (docs/experiment-file-format.md, "/sensitivity").

#include "lepsim/analysis/sensitivity_file.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "lepsim/analysis/experiment_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/h5.hpp"

namespace lepsim::analysis {

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

Estimate point_only(double v) { return {v, NaN, NaN, 0, 0}; }

std::vector<Estimate> points_only(const std::vector<double>& v) {
  std::vector<Estimate> out;
  for (double x : v) out.push_back(point_only(x));
  return out;
}

struct Layout {
  std::string design;
  std::size_t P = 0, R = 0, F = 0;
  design::SaltelliLayout saltelli;
  std::size_t trajectories = 0;
  std::vector<double> unit;
};

std::vector<std::string> columns_of(const Layout& L, const std::vector<std::string>& factors) {
  auto c = factors;
  if (L.design == "saltelli" && L.saltelli.noise) c.push_back("noise");
  return c;
}

//! The indices of one output given as P x reps values.
MetricSensitivity indices_of(const Layout& L, const std::vector<double>& y, std::size_t reps, const BootstrapOptions& boot,
                             bool both_targets) {
  MetricSensitivity m;
  m.method = L.design == "saltelli" ? "sobol" : L.design == "morris" ? "morris" : "oat";
  if (m.method == "sobol") {
    SobolOptions so{boot, SobolTarget::Outputs};
    const SobolIndices s = sobol_indices(L.saltelli, y, reps, so);
    m.stats = {{"first", s.first}, {"total", s.total}};
    if (both_targets) {
      so.target = SobolTarget::ReplicationMean;
      const SobolIndices sm = sobol_indices(L.saltelli, y, reps, so);
      m.stats.push_back({"first_mean", sm.first});
      m.stats.push_back({"total_mean", sm.total});
      m.scalars.push_back({"aleatory_mean", sm.aleatory});
    }
    m.stats.push_back({"first_half", points_only(s.first_half)});
    m.stats.push_back({"total_half", points_only(s.total_half)});
    m.scalars.insert(m.scalars.begin(), {"aleatory", s.aleatory});
    m.scalars.push_back({"max_change", point_only(s.max_change)});
    m.scalars.push_back({"mean", point_only(s.mean)});
    m.scalars.push_back({"variance", point_only(s.variance)});
    m.scalars.push_back({"base_rows", point_only(static_cast<double>(s.base_rows))});
  } else if (m.method == "morris") {
    const auto e = morris_effects(L.unit, L.F, L.trajectories, y, reps, boot);
    IndexColumn mu{"mu", {}}, mu_star{"mu_star", {}}, sigma{"sigma", {}};
    for (const auto& x : e) mu.values.push_back(x.mu), mu_star.values.push_back(x.mu_star), sigma.values.push_back(x.sigma);
    m.stats = {mu, mu_star, sigma};
    m.scalars.push_back({"trajectories", point_only(static_cast<double>(L.trajectories))});
  } else {
    const auto s = oat_swings(L.F, y, reps, boot.level);
    IndexColumn lo{"low", {}}, hi{"high", {}}, sw{"swing", {}};
    for (const auto& x : s) lo.values.push_back(x.low), hi.values.push_back(x.high), sw.values.push_back(x.swing);
    m.stats = {lo, hi, sw};
  }
  return m;
}

void write_estimates(h5::Group& g, const std::string& name, const std::vector<Estimate>& v) {
  std::vector<double> data;
  for (const auto& e : v) data.insert(data.end(), {e.value, e.lo, e.hi});
  g.write_array(name, data, {v.size(), 3});
}

std::vector<Estimate> read_estimates(const h5::Group& g, const std::string& name, double level) {
  const auto data = g.read_array<double>(name);
  std::vector<Estimate> out;
  for (std::size_t i = 0; i + 2 < data.size(); i += 3) out.push_back({data[i], data[i + 1], data[i + 2], level, 0});
  return out;
}

}  // namespace

const IndexColumn* MetricSensitivity::stat(const std::string& name) const {
  for (const auto& s : stats)
    if (s.name == name) return &s;
  return nullptr;
}

const IndexScalar* MetricSensitivity::scalar(const std::string& name) const {
  for (const auto& s : scalars)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::size_t> MetricSensitivity::ranking() const {
  const IndexColumn* key = stat(method == "sobol" ? "total" : method == "morris" ? "mu_star" : "swing");
  std::vector<std::size_t> order(columns.size());
  std::iota(order.begin(), order.end(), 0);
  if (!key) return order;
  auto score = [&](std::size_t i) {
    const double v = std::abs(key->values[i].value);
    return std::isnan(v) ? -1.0 : v;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) > score(b); });
  return order;
}

SensitivityResult compute_sensitivity(const std::string& path, const SensitivityOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!is_experiment_file(path)) throw UsageError(path + " is not a lepsim experiment file (lepsim experiment writes one)");
  const h5::File f = h5::File::open_read(path);
  const h5::Group root = f.root();
  if (root.attr_array<std::int32_t>("format_version").at(0) != EXPERIMENT_FORMAT_MAJOR)
    throw UsageError(path + ": experiment file format major version not supported");
  SensitivityResult r;
  Layout L;
  L.design = root.attr_string("design");
  r.design = L.design;
  r.experiment_name = root.attr_string("experiment_name");
  L.P = static_cast<std::size_t>(root.attr<std::int64_t>("points"));
  L.R = static_cast<std::size_t>(root.attr<std::int64_t>("replications"));
  const h5::Group dg = root.open_group("design");
  r.factors = dg.read_strings("factor_names");
  L.F = r.factors.size();
  r.points = L.P, r.replications = L.R;
  r.resamples = options.bootstrap.resamples, r.seed = options.bootstrap.seed, r.level = options.bootstrap.level;
  if (L.design == "saltelli") {
    L.saltelli = {static_cast<std::size_t>(dg.attr<std::int64_t>("base_rows")), L.F, dg.attr<std::int32_t>("ba") != 0,
                  dg.attr<std::int32_t>("noise") != 0};
    if (L.saltelli.rows() != L.P) throw UsageError(path + ": the Saltelli layout does not match the points");
  } else if (L.design == "morris") {
    L.trajectories = static_cast<std::size_t>(dg.attr<std::int64_t>("trajectories"));
    L.unit = dg.read_array<double>("unit");
  } else if (L.design != "one_at_a_time") {
    throw UsageError("sensitivity needs an experiment with design = \"saltelli\", \"morris\" or \"one_at_a_time\"; " + path +
                     " has design = \"" + L.design + "\"");
  }
  const auto columns = columns_of(L, r.factors);

  const h5::Group mg = root.open_group("metrics");
  const auto available = mg.list();
  auto names = options.metrics.empty() ? available : options.metrics;
  for (const auto& n : names)
    if (std::find(available.begin(), available.end(), n) == available.end()) {
      std::string all;
      for (const auto& a : available) all += (all.empty() ? "" : ", ") + a;
      throw UsageError("no metric '" + n + "' in " + path + " (it has: " + all + ")");
    }
  for (const auto& name : names) {
    const auto y = mg.read_array<double>(name);
    MetricSensitivity m;
    try {
      m = indices_of(L, y, L.R, options.bootstrap, true);
    } catch (const UsageError& e) {
      m.method = L.design == "saltelli" ? "sobol" : L.design == "morris" ? "morris" : "oat";
      m.skipped = e.what();
    }
    m.metric = name;
    m.columns = columns;
    if (m.method == "morris" || m.method == "oat") m.columns = r.factors;
    r.metrics.push_back(std::move(m));
  }

  if (options.series && L.design != "one_at_a_time" && root.exists("series")) {
    const h5::Group sg = root.open_group("series");
    const double step_months = root.attr<double>("step_months");
    for (const auto& name : sg.list()) {
      std::vector<std::uint64_t> dims;
      const auto mean = sg.open_group(name).read_array<double>("mean", &dims);
      if (dims.size() != 2 || dims[0] != L.P) continue;
      const std::size_t T = dims[1];
      SeriesSensitivity s;
      s.series = name;
      s.method = L.design == "saltelli" ? "sobol" : "morris";
      s.columns = s.method == "sobol" ? columns : r.factors;
      s.stat_names = s.method == "sobol" ? std::vector<std::string>{"first", "total"} : std::vector<std::string>{"mu_star"};
      s.stats.assign(s.stat_names.size(), {});
      std::vector<double> col(L.P);
      for (std::size_t t = 0; t < T; ++t) {
        s.months.push_back(static_cast<double>(t + 1) * step_months);
        for (std::size_t p = 0; p < L.P; ++p) col[p] = mean[p * T + t];
        MetricSensitivity m;
        try {
          m = indices_of(L, col, 1, options.bootstrap, false);
        } catch (const UsageError&) {  // a step with no value at some point: no indices there
        }
        for (std::size_t k = 0; k < s.stat_names.size(); ++k) {
          const IndexColumn* c = m.stat(s.stat_names[k]);
          s.stats[k].push_back(c ? c->values : std::vector<Estimate>(s.columns.size(), point_only(NaN)));
        }
      }
      r.series.push_back(std::move(s));
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void store_sensitivity(const std::string& path, const SensitivityResult& r) {
  h5::File f = h5::File::open_write(path);
  h5::Group root = f.root();
  if (root.exists("sensitivity")) root.remove("sensitivity");
  h5::Group g = root.create_group("sensitivity");
  g.set_attr("resamples", r.resamples);
  g.set_attr("bootstrap_seed", r.seed);
  g.set_attr("level", r.level);
  g.set_attr("seconds", r.seconds);
  h5::Group mg = g.create_group("metrics");
  for (const auto& m : r.metrics) {
    h5::Group x = mg.create_group(m.metric);
    x.set_attr("method", m.method);
    x.set_attr("skipped", m.skipped);
    x.write_strings("columns", m.columns);
    std::vector<std::string> stat_names, scalar_names;
    std::vector<Estimate> scalars;
    for (const auto& s : m.stats) stat_names.push_back(s.name), write_estimates(x, s.name, s.values);
    for (const auto& s : m.scalars) scalar_names.push_back(s.name), scalars.push_back(s.value);
    if (!stat_names.empty()) x.write_strings("stat_names", stat_names);
    if (!scalar_names.empty()) x.write_strings("scalar_names", scalar_names), write_estimates(x, "scalars", scalars);
  }
  h5::Group sg = g.create_group("series");
  for (const auto& s : r.series) {
    h5::Group x = sg.create_group(s.series);
    x.set_attr("method", s.method);
    x.write_strings("columns", s.columns);
    x.write_strings("stat_names", s.stat_names);
    x.write_array("months", s.months);
    for (std::size_t k = 0; k < s.stat_names.size(); ++k) {
      std::vector<double> data;
      for (const auto& step : s.stats[k])
        for (const auto& e : step) data.insert(data.end(), {e.value, e.lo, e.hi});
      x.write_array(s.stat_names[k], data, {s.months.size(), s.columns.size(), 3});
    }
  }
  f.close();
}

bool has_sensitivity(const std::string& path) {
  const h5::File f = h5::File::open_read(path);
  return f.root().exists("sensitivity");
}

SensitivityResult load_sensitivity(const std::string& path) {
  if (!is_experiment_file(path)) throw UsageError(path + " is not a lepsim experiment file");
  const h5::File f = h5::File::open_read(path);
  const h5::Group root = f.root();
  if (!root.exists("sensitivity"))
    throw UsageError(path + " holds no sensitivity indices; compute them with: lepsim sensitivity " + path);
  SensitivityResult r;
  r.experiment_name = root.attr_string("experiment_name");
  r.design = root.attr_string("design");
  r.points = static_cast<std::size_t>(root.attr<std::int64_t>("points"));
  r.replications = static_cast<std::size_t>(root.attr<std::int64_t>("replications"));
  r.factors = root.open_group("design").read_strings("factor_names");
  const h5::Group g = root.open_group("sensitivity");
  r.resamples = g.attr<std::int64_t>("resamples");
  r.seed = g.attr<std::uint64_t>("bootstrap_seed");
  r.seconds = g.attr<double>("seconds");
  const double level = r.level = g.attr<double>("level");
  const h5::Group mg = g.open_group("metrics");
  for (const auto& name : mg.list()) {
    const h5::Group x = mg.open_group(name);
    MetricSensitivity m;
    m.metric = name;
    m.method = x.attr_string("method");
    m.skipped = x.attr_string("skipped");
    m.columns = x.read_strings("columns");
    if (x.exists("stat_names"))
      for (const auto& s : x.read_strings("stat_names")) m.stats.push_back({s, read_estimates(x, s, level)});
    const auto scalars = x.exists("scalars") ? read_estimates(x, "scalars", level) : std::vector<Estimate>{};
    const auto scalar_names = x.exists("scalar_names") ? x.read_strings("scalar_names") : std::vector<std::string>{};
    for (std::size_t i = 0; i < scalar_names.size() && i < scalars.size(); ++i)
      m.scalars.push_back({scalar_names[i], scalars[i]});
    r.metrics.push_back(std::move(m));
  }
  const h5::Group sg = g.open_group("series");
  for (const auto& name : sg.list()) {
    const h5::Group x = sg.open_group(name);
    SeriesSensitivity s;
    s.series = name;
    s.method = x.attr_string("method");
    s.columns = x.read_strings("columns");
    s.stat_names = x.read_strings("stat_names");
    s.months = x.read_array<double>("months");
    for (const auto& st : s.stat_names) {
      const auto flat = read_estimates(x, st, level);
      std::vector<std::vector<Estimate>> steps(s.months.size());
      for (std::size_t t = 0; t < steps.size(); ++t)
        steps[t].assign(flat.begin() + static_cast<std::ptrdiff_t>(t * s.columns.size()),
                        flat.begin() + static_cast<std::ptrdiff_t>((t + 1) * s.columns.size()));
      s.stats.push_back(std::move(steps));
    }
    r.series.push_back(std::move(s));
  }
  return r;
}

}  // namespace lepsim::analysis
