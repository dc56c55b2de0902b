// `lepsim calibrate`: the calibration file, the lepsim simulator behind the calibration
// libraries, the run (history matching, ABC-SMC, posterior predictive check) and the files it
// writes (docs/calibration.md, "The calibrate command").

#include "lepsim/calibrate.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>

#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/rng.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/simulation.hpp"
#include "lepsim/text.hpp"
#include "lepsim/version.hpp"
#include "scenario_internal.hpp"
#include "toml_distribution.hpp"
#include "toml_reader.hpp"

namespace lepsim {

namespace {

namespace fs = std::filesystem;
using detail::TomlValue;

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
//! A distribution prior's internal coordinate u stays in [U_EDGE, 1 - U_EDGE] (an unbounded
//! distribution's quantile at 0 or 1 is infinite).
constexpr double U_EDGE = 1e-6;
//! call_seed's stage of the posterior predictive replications (0 and 1 are HM and ABC).
constexpr std::uint64_t PREDICTIVE_STAGE = 2;
//! The predictive draws' stream substream (ABC's particles use 1).
constexpr std::uint16_t PREDICTIVE_SUBSTREAM = 2;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError({{path, 0, "", "", "cannot read the file"}});
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

//! Calibration starts from the inputs before any fit (a scale factor would otherwise
//! multiply an already fitted value) and runs its own points, drawing nothing.
Scenario load_base(const std::string& path) { return parse_unfitted_scenario(read_text(path), path); }

std::string relative_to(const std::string& file, const std::string& p) {
  if (fs::path(p).is_absolute()) return p;
  return (fs::path(file).parent_path() / p).lexically_normal().string();
}

class CalibrationReader : detail::TomlReader {
 public:
  explicit CalibrationReader(std::string path) : TomlReader(std::move(path)) {}

  CalibrationSpec read() {
    CalibrationSpec spec;
    spec.source_path = path_;
    try {
      spec.source_text = read_text(path_);
    } catch (const ScenarioError&) {
      throw ScenarioError({{path_, 0, "", "", "cannot read the calibration file"}});
    }
    const TomlValue root = parse(spec.source_text);
    if (!root.is_table()) throw ScenarioError({{path_, 0, "", "", "must be a TOML table"}});
    check_keys(root, "", {"calibration", "history_matching", "abc", "predictive", "factor"});
    read_header(root, spec);
    read_hm(root, spec);
    read_abc(root, spec);
    check_budget(spec);
    if (const TomlValue* p = table(root, "predictive")) {
      check_keys(*p, "predictive.", {"draws"});
      spec.predictive_draws = static_cast<int>(integer(*p, "draws", "predictive.draws", spec.predictive_draws, 10, 100000));
    }
    read_factors(root, spec);
    finish();
    resolve_targets(spec);
    finish();
    return spec;
  }

 private:
  int header_line_ = 0;

  const TomlValue* table(const TomlValue& root, const std::string& k) {
    const TomlValue* v = find(root, k);
    if (v && !v->is_table()) {
      fail_at(*v, k, "must be a table ([" + k + "])");
      return nullptr;
    }
    return v;
  }
  //! A number in [lo, hi] (open ends when the flags say so); `fallback` when absent.
  double bounded(const TomlValue& t, const std::string& k, const std::string& key, double fallback, double lo, double hi,
                 bool lo_open, bool hi_open, const std::string& rule) {
    const auto x = number(t, k, key);
    if (!x) return fallback;
    if ((lo_open ? !(*x > lo) : !(*x >= lo)) || (hi_open ? !(*x < hi) : !(*x <= hi))) {
      fail_at(*find(t, k), key, rule);
      return fallback;
    }
    return *x;
  }
  std::int64_t integer(const TomlValue& t, const std::string& k, const std::string& key, std::int64_t fallback,
                       std::int64_t lo, std::int64_t hi) {
    const TomlValue* v = find(t, k);
    if (!v) return fallback;
    if (!v->is_integer()) {
      fail_at(*v, key, "must be a whole number");
      return fallback;
    }
    const std::int64_t x = v->as_integer();
    if (x < lo || x > hi) {
      fail_at(*v, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return fallback;
    }
    return x;
  }
  bool boolean(const TomlValue& t, const std::string& k, const std::string& key, bool fallback) {
    const TomlValue* v = find(t, k);
    if (!v) return fallback;
    if (!v->is_boolean()) {
      fail_at(*v, key, "must be true or false");
      return fallback;
    }
    return v->as_boolean();
  }
  void missing(int line, const std::string& key, const std::string& why) { fail(line, key, "", "missing: " + why); }

  void read_header(const TomlValue& root, CalibrationSpec& spec) {
    const TomlValue* c = table(root, "calibration");
    if (!c) {
      if (!find(root, "calibration"))
        fail(0, "calibration", "", "missing: a [calibration] table with name, scenario, record and budget is required");
      return;
    }
    header_line_ = line_of(*c);
    check_keys(*c, "calibration.",
               {"name", "description", "scenario", "record", "milestones", "discrepancy", "seed", "budget"});
    if (auto n = string(*c, "name", "calibration.name"))
      spec.name = *n;
    else if (!find(*c, "name"))
      missing(header_line_, "calibration.name", "the calibration needs a name");
    const auto file = [&](const std::string& k, std::string& out) {
      auto s = string(*c, k, "calibration." + k);
      if (!s) {
        if (!find(*c, k)) missing(header_line_, "calibration." + k, "the " + k + " file (relative to this file)");
        return false;
      }
      out = relative_to(path_, *s);
      if (!fs::exists(out)) {
        fail_at(*find(*c, k), "calibration." + k, "no such file: " + out);
        return false;
      }
      return true;
    };
    const bool have_scenario = file("scenario", spec.scenario_path);
    const bool have_record = file("record", spec.record_path);
    if (have_scenario) {
      try {
        spec.base = load_base(spec.scenario_path);
      } catch (const ScenarioError& e) {
        for (const auto& d : e.diagnostics()) diags_.push_back(d);  // the scenario's own, located in it
        return;
      }
      if (have_record) {
        try {
          spec.record = load_record(spec.record_path, MonthOrigin{spec.base.time.start_year, spec.base.time.start_month});
        } catch (const ScenarioError& e) {
          for (const auto& d : e.diagnostics()) diags_.push_back(d);
        }
      }
    }
    if (const TomlValue* ms = find(*c, "milestones")) {
      if (!ms->is_array())
        fail_at(*ms, "calibration.milestones", "must be a list of milestone ids");
      else
        for (const auto& m : ms->as_array()) {
          if (!m.is_string())
            fail_at(m, "calibration.milestones", "must be a milestone id (a string)");
          else
            spec.milestones.push_back(m.as_string().str);
        }
      milestones_line_ = line_of(*ms);
    }
    spec.discrepancy = bounded(*c, "discrepancy", "calibration.discrepancy", 0.1, 0, 10, false, false,
                               "must be between 0 and 10 (the model discrepancy sd as a fraction of each record value)");
    spec.seed =
        static_cast<std::uint64_t>(integer(*c, "seed", "calibration.seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
    if (!find(*c, "budget"))
      missing(header_line_, "calibration.budget", "the simulation budget (replications, history matching and ABC-SMC)");
    spec.budget = integer(*c, "budget", "calibration.budget", 0, 1, 1'000'000'000);
    budget_line_ = find(*c, "budget") ? line_of(*find(*c, "budget")) : header_line_;
  }
  int milestones_line_ = 0, budget_line_ = 0;

  void read_hm(const TomlValue& root, CalibrationSpec& spec) {
    HistoryMatchingOptions& o = spec.hm;
    o.points_per_wave = 100, o.replications = 10;
    const TomlValue* h = table(root, "history_matching");
    if (h) {
      check_keys(*h, "history_matching.",
                 {"points_per_wave", "replications", "cutoff", "rank", "max_waves", "margin", "min_shrink"});
      o.points_per_wave =
          static_cast<int>(integer(*h, "points_per_wave", "history_matching.points_per_wave", 100, 2, 1000000));
      o.replications = static_cast<int>(integer(*h, "replications", "history_matching.replications", 10, 2, 100000));
      o.cutoff = bounded(*h, "cutoff", "history_matching.cutoff", 3.0, 0, 100, true, false,
                         "must be > 0 (3: Pukelsheim's three-sigma rule)");
      if (auto r = choice(*h, "rank", "history_matching.rank", {"max", "second_max"}))
        o.rank = *r == 0 ? ImplausibilityRank::Max : ImplausibilityRank::SecondMax;
      rank_line_ = find(*h, "rank") ? line_of(*find(*h, "rank")) : 0;
      o.max_waves = static_cast<int>(integer(*h, "max_waves", "history_matching.max_waves", 5, 1, 100));
      o.margin = bounded(*h, "margin", "history_matching.margin", 0.1, 0, 10, false, false, "must be between 0 and 10");
      o.min_shrink = bounded(*h, "min_shrink", "history_matching.min_shrink", 0.05, 0, 1, false, true, "must be in [0, 1)");
    }
  }
  //! The budget covers one history-matching wave and ABC-SMC's generation 0.
  void check_budget(const CalibrationSpec& spec) {
    const std::int64_t wave = static_cast<std::int64_t>(spec.hm.points_per_wave) * spec.hm.replications;
    const std::int64_t gen0 = static_cast<std::int64_t>(spec.abc.particles) * spec.abc.replications;
    if (spec.budget > 0 && wave + gen0 > spec.budget)
      fail(budget_line_, "calibration.budget", std::to_string(spec.budget),
           "must cover at least one history-matching wave and ABC-SMC's first generation (points_per_wave x "
           "replications + particles x abc.replications = " +
               std::to_string(wave) + " + " + std::to_string(gen0) + ")");
  }
  int rank_line_ = 0;

  void read_abc(const TomlValue& root, CalibrationSpec& spec) {
    AbcOptions& o = spec.abc;
    o.particles = 200;
    const TomlValue* a = table(root, "abc");
    if (!a) return;
    check_keys(*a, "abc.",
               {"particles", "replications", "noisy", "quantile", "max_generations", "final_tolerance", "min_acceptance",
                "max_attempts"});
    o.particles = static_cast<int>(integer(*a, "particles", "abc.particles", 200, 2, 10000000));
    o.replications = static_cast<int>(integer(*a, "replications", "abc.replications", 1, 1, 100000));
    o.noisy = boolean(*a, "noisy", "abc.noisy", true);
    o.quantile = bounded(*a, "quantile", "abc.quantile", 0.5, 0, 1, true, true, "must be > 0 and < 1");
    o.max_generations = static_cast<int>(integer(*a, "max_generations", "abc.max_generations", 20, 1, 1000));
    o.final_tolerance = bounded(*a, "final_tolerance", "abc.final_tolerance", 0, 0, 1e300, false, false, "must be >= 0");
    o.min_acceptance = bounded(*a, "min_acceptance", "abc.min_acceptance", 0.01, 0, 1, true, false, "must be > 0 and <= 1");
    o.max_attempts = static_cast<int>(integer(*a, "max_attempts", "abc.max_attempts", 0, 0, 100000000));
  }

  void read_factors(const TomlValue& root, CalibrationSpec& spec) {
    const TomlValue* fs_ = find(root, "factor");
    if (!fs_) return fail(0, "factor", "", "missing: at least one [[factor]] (path, mode, lo and hi, or prior) is required");
    if (!fs_->is_array()) return fail_at(*fs_, "factor", "must be an array of tables ([[factor]])");
    std::set<std::string> paths;
    for (std::size_t i = 0; i < fs_->as_array().size(); ++i) {
      const TomlValue& t = fs_->as_array()[i];
      const std::string at = "factor[" + std::to_string(i) + "].";
      if (!t.is_table()) {
        fail_at(t, "factor[" + std::to_string(i) + "]", "must be a table");
        continue;
      }
      check_keys(t, at, {"name", "path", "mode", "lo", "hi", "prior"});
      CalibrationFactor f;
      f.line = line_of(t);
      const std::size_t before = diags_.size();
      const auto path = string(t, "path", at + "path");
      if (!path && !find(t, "path")) missing(f.line, at + "path", "a parameter path, e.g. \"stages.procurement.work\"");
      if (path) f.path = *path;
      f.name = string(t, "name", at + "name").value_or(f.path);
      if (auto m = choice(t, "mode", at + "mode", {"set", "scale"})) {
        f.scale = *m == 1;
      } else if (!find(t, "mode")) {
        missing(f.line, at + "mode", "\"set\" (the value replaces the parameter) or \"scale\" (multiplies it)");
      }
      const auto lo = number(t, "lo", at + "lo"), hi = number(t, "hi", at + "hi");
      if (const TomlValue* p = find(t, "prior")) {
        if (lo || hi) fail(f.line, at + "prior", "", "give lo and hi (a uniform prior) or prior, not both");
        f.prior = detail::read_distribution(
            *p, at + "prior", [&](int line, const std::string& key, const std::string& value, const std::string& rule) {
              fail(line, key, value, rule);
            });
        if (f.prior) {
          f.lo = f.value(f.coord_lo()), f.hi = f.value(f.coord_hi());
          if (!(f.lo < f.hi)) fail_at(*p, at + "prior", "must spread: a fixed prior calibrates nothing");
        }
      } else if (!lo || !hi) {
        if (!find(t, "lo") || !find(t, "hi")) missing(f.line, at + (lo ? "hi" : "lo"), "the prior range needs lo and hi");
      } else {
        f.lo = *lo, f.hi = *hi;
        if (!(f.lo < f.hi)) fail_at(*find(t, "hi"), at + "hi", "must be > lo (" + shortest_number(f.lo) + ")");
      }
      if (f.scale && f.lo <= 0 && diags_.size() == before)
        fail(f.line, at + "lo", shortest_number(f.lo), "a scale factor must be > 0 (it multiplies the parameter)");
      if (!f.path.empty() && !paths.insert(f.path).second)
        fail_at(*find(t, "path"), at + "path", "must be unique: each parameter is calibrated once");
      if (diags_.size() == before && !spec.base.stages.empty()) check_path(t, at, f, spec.base);
      spec.factors.push_back(std::move(f));
    }
  }

  //! The path is the registry's and the scenario stays valid at both ends of the range.
  void check_path(const TomlValue& t, const std::string& at, CalibrationFactor& f, const Scenario& base) {
    const TomlValue& pv = *find(t, "path");
    try {
      const ParamSpec& ps = parameter_spec(base, f.path);
      if (!ps.addressable() || ps.type == ParamType::Boolean) {
        fail_at(pv, at + "path", "must name a number, integer, probability or distribution parameter");
        return;
      }
      f.integer = ps.type == ParamType::Integer;
      if (f.integer && f.scale) fail_at(pv, at + "path", "an integer parameter is calibrated with mode = \"set\"");
    } catch (const ScenarioError& e) {
      fail_at(pv, at + "path", e.diagnostics().empty() ? "unknown parameter path" : e.diagnostics()[0].rule);
      return;
    } catch (const std::exception& e) {
      fail_at(pv, at + "path", e.what());
      return;
    }
    for (double c : {f.coord_lo(), f.coord_hi()}) {
      const double v = f.value(c);
      try {
        if (f.scale)
          (void)with_scaled_parameter(base, f.path, v);
        else if (f.integer)
          (void)with_parameter(base, f.path, static_cast<std::int64_t>(std::llround(v)));
        else
          (void)with_parameter(base, f.path, v);
      } catch (const ScenarioError& e) {
        std::string why;
        for (const auto& d : e.diagnostics()) why += (why.empty() ? "" : "; ") + d.key + ": " + d.rule;
        fail(f.line, at + (c == f.coord_lo() ? "lo" : "hi"), shortest_number(v),
             "the scenario breaks a rule with this value (" + why + ")");
      }
    }
  }

  //! Targets: the fitted milestones the model expresses today (the output registry parses
  //! their metric); Proposed metrics are skipped and listed, any other failure is an error.
  void resolve_targets(CalibrationSpec& spec) {
    const OutputShape shape = output_shape(spec.base);
    std::set<std::string> chosen(spec.milestones.begin(), spec.milestones.end());
    std::set<std::string> known;
    for (const Milestone& m : spec.record.milestones) {
      known.insert(m.id);
      const bool fit = chosen.empty() ? m.use == MilestoneUse::Fit : chosen.count(m.id) > 0;
      bool ok = true;
      try {
        (void)parse_metric(m.metric, shape);
      } catch (const Error& e) {
        ok = false;
        const RecordMetric* rm = find_record_metric(m.base);
        if (rm && rm->status == RecordMetricStatus::Proposed && !chosen.count(m.id)) {
          spec.skipped.emplace_back(m.id, m.metric);
        } else {
          fail(chosen.count(m.id) ? milestones_line_ : header_line_, "calibration.record", spec.record_path,
               "milestone " + m.id + " (line " + std::to_string(m.line) + " of the record): " + m.metric +
                   " cannot be evaluated on this scenario: " + e.what());
        }
      }
      if (!ok) continue;
      Target t{m.metric, m.value, 0, 0};
      const double sd = m.effective_sd(spec.record.secondary_sd_factor);
      t.var_obs = sd * sd;
      t.var_disc = std::pow(spec.discrepancy * std::abs(m.value), 2);
      (fit ? spec.targets : spec.held_out).push_back(t);
      (fit ? spec.target_ids : spec.held_out_ids).push_back(m.id);
    }
    for (const auto& id : spec.milestones)
      if (!known.count(id)) {
        std::vector<std::string> ids(known.begin(), known.end());
        fail(milestones_line_, "calibration.milestones", "\"" + id + "\"",
             "no such milestone in the record" + detail::did_you_mean(id, ids));
      }
    if (spec.targets.empty() && diags_.empty())
      fail(header_line_, "calibration.record", spec.record_path,
           "no fitted milestone can be evaluated on this scenario (skipped as not yet in the model: " +
               std::to_string(spec.skipped.size()) + ")");
    if (spec.hm.rank == ImplausibilityRank::SecondMax && spec.targets.size() < 2)
      fail(rank_line_, "history_matching.rank", "\"second_max\"", "needs at least 2 fitted milestones");
  }
};

Scenario apply_factors(const Scenario& base, const std::vector<CalibrationFactor>& factors, const std::vector<double>& c) {
  Scenario s = base;
  for (std::size_t j = 0; j < factors.size(); ++j) {
    const CalibrationFactor& f = factors[j];
    const double v = f.value(c[j]);
    if (f.scale)
      s = with_scaled_parameter(s, f.path, v);
    else if (f.integer)
      s = with_parameter(s, f.path, static_cast<std::int64_t>(std::llround(v)));
    else
      s = with_parameter(s, f.path, v);
  }
  return s;
}

std::vector<double> values_of(const std::vector<CalibrationFactor>& factors, const std::vector<double>& c) {
  std::vector<double> v(c.size());
  for (std::size_t j = 0; j < c.size(); ++j) v[j] = factors[j].value(c[j]);
  return v;
}

Box coord_box(const std::vector<CalibrationFactor>& factors) {
  Box b;
  for (const auto& f : factors) b.lo.push_back(f.coord_lo()), b.hi.push_back(f.coord_hi());
  return b;
}

//! Rows [n, d] flattened, in value space.
std::vector<double> value_rows(const std::vector<CalibrationFactor>& factors, const std::vector<std::vector<double>>& pts) {
  std::vector<double> out;
  for (const auto& p : pts) {
    const auto v = values_of(factors, p);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

//! `n` indices drawn by systematic resampling of `weights` (one uniform from `stream`).
std::vector<std::size_t> systematic_resample(const std::vector<double>& weights, std::size_t n, double u) {
  std::vector<std::size_t> out;
  double cum = 0, total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::size_t i = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double target = (static_cast<double>(k) + u) / static_cast<double>(n) * total;
    while (i + 1 < weights.size() && cum + weights[i] < target) cum += weights[i++];
    out.push_back(i);
  }
  return out;
}

std::vector<double> ranks_of(const std::vector<double>& x) {
  std::vector<std::size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < idx.size();) {  // ties share their mean rank
    std::size_t j = i;
    while (j + 1 < idx.size() && x[idx[j + 1]] == x[idx[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

}  // namespace

double CalibrationFactor::value(double c) const {
  const double v = prior ? prior->quantile(c) : c;
  return integer ? std::round(v) : v;
}
double CalibrationFactor::coord_lo() const { return prior ? U_EDGE : lo; }
double CalibrationFactor::coord_hi() const { return prior ? 1 - U_EDGE : hi; }

CalibrationSpec load_calibration(const std::string& path) { return CalibrationReader(path).read(); }

SimulatorFn lepsim_simulator(const CalibrationSpec& spec, const std::vector<std::string>& metrics,
                             std::atomic<std::int64_t>* replications_done, std::atomic<std::int64_t>* invalid) {
  struct Shared {
    Scenario base;
    std::vector<CalibrationFactor> factors;
    std::vector<Metric> metrics;
  };
  auto sh = std::make_shared<Shared>();
  sh->base = spec.base;
  sh->factors = spec.factors;
  const OutputShape shape = output_shape(spec.base);
  for (const auto& m : metrics) sh->metrics.push_back(parse_metric(m, shape));
  return [sh, replications_done, invalid](const std::vector<double>& params, int reps, std::uint64_t seed) {
    MetricMatrix m(static_cast<std::size_t>(reps), sh->metrics.size());
    Scenario s;
    try {
      s = apply_factors(sh->base, sh->factors, params);
    } catch (const ScenarioError&) {
      std::fill(m.values.begin(), m.values.end(), NaN);
      if (invalid) ++*invalid;
      if (replications_done) *replications_done += reps;
      return m;
    }
    lepsim::Simulator sim(s);
    ReplicationResult r;
    for (int rep = 0; rep < reps; ++rep) {
      throw_if_interrupted("calibration stopped; run the same command with --resume to continue");
      sim.run(seed, static_cast<std::uint32_t>(rep), r);
      for (std::size_t k = 0; k < sh->metrics.size(); ++k)
        m.at(static_cast<std::size_t>(rep), k) = sh->metrics[k].value(r, s.time.step_months);
      if (replications_done) ++*replications_done;
    }
    return m;
  };
}

std::string hm_checkpoint_path(const std::string& output) { return output + ".hm-partial"; }
std::string abc_checkpoint_path(const std::string& output) { return output + ".abc-partial"; }

std::string calibration_fingerprint(const CalibrationSpec& spec) {
  std::string all = "lepsim-fitted ";
  all += FITTED_FORMAT_VERSION;
  const auto part = [&](const std::string& name, const std::string& text) {
    all += "\n" + name + " " + std::to_string(text.size()) + "\n" + text;
  };
  part("calibration", spec.source_text);
  part("scenario", spec.base.resolved_toml());
  part("record", read_text(spec.record_path));
  // The model's declared result versions: a bump on purpose (docs/run-file-format.md) makes
  // the fit stale, so the model's own changes are caught as well as its inputs'.
  part("model", "run-file " + std::to_string(RUN_FORMAT_MAJOR) + "." + std::to_string(RUN_FORMAT_MINOR) +
                    ", random streams " + std::to_string(RANDOM_STREAM_LAYOUT));
  return sha256_hex(all);
}

namespace {

void write_posterior(const std::string& path, const CalibrationSpec& spec, const CalibrationOutcome& out) {
  h5::File file = h5::File::create(path);
  h5::Group root = file.root();
  const std::size_t d = spec.factors.size();
  const Generation& post = out.abc.posterior();
  const std::size_t n = post.particles.size();
  const auto i8 = [](const std::vector<bool>& b) {
    std::vector<std::int8_t> v;
    for (bool x : b) v.push_back(x ? 1 : 0);
    return v;
  };

  h5::Group p = root.create_group("posterior");
  p.set_attr("format", POSTERIOR_FORMAT);
  p.set_attr("format_version", POSTERIOR_FORMAT_VERSION);
  p.set_attr("calibration_file", spec.source_path);
  p.set_attr("calibration_name", spec.name);
  p.set_attr("scenario_file", spec.scenario_path);
  p.set_attr("record_file", spec.record_path);
  p.set_attr("record_name", spec.record.name);
  p.set_attr("seed", spec.seed);
  p.set_attr("lepsim_version", engine_version());
  p.set_attr("git_revision", git_revision());
  p.set_attr("created", utc_now());
  p.set_attr("fingerprint", calibration_fingerprint(spec));
  p.set_attr("budget", spec.budget);
  p.set_attr("simulations", out.hm.simulations + out.abc.simulations);
  p.set_attr("invalid_points", out.invalid_points);
  p.set_attr("discrepancy", spec.discrepancy);
  p.set_attr("tolerance", post.tolerance);
  p.set_attr("ess", post.ess());
  p.write_array("parameters", value_rows(spec.factors, post.particles), {n, d});
  p.write_array("weights", post.weights);
  p.write_array("distances", post.distances);
  std::vector<std::string> paths, modes, names;
  std::vector<double> lo, hi, flo, fhi;
  for (std::size_t j = 0; j < d; ++j) {
    const auto& f = spec.factors[j];
    paths.push_back(f.path), modes.push_back(f.scale ? "scale" : "set"), names.push_back(f.name);
    lo.push_back(f.lo), hi.push_back(f.hi);
    flo.push_back(f.value(out.hm.final_box.lo[j])), fhi.push_back(f.value(out.hm.final_box.hi[j]));
  }
  p.write_strings("factor_paths", paths);
  p.write_strings("factor_modes", modes);
  p.write_strings("factor_names", names);
  std::vector<std::string> priors;
  for (const auto& f : spec.factors)
    priors.push_back(f.prior ? f.prior->describe()
                             : "uniform(" + shortest_number(f.lo) + ", " + shortest_number(f.hi) + ")");
  p.write_strings("factor_priors", priors);
  p.write_array("prior_lo", lo);
  p.write_array("prior_hi", hi);

  h5::Group prov = root.create_group("provenance");
  prov.write_text("calibration_text", spec.source_text);
  prov.write_text("scenario_resolved", spec.base.resolved_toml());
  prov.write_text("scenario_text", spec.base.source_text);
  prov.write_text("record_text", read_text(spec.record_path));

  h5::Group tg = root.create_group("targets");
  std::vector<std::string> metrics;
  std::vector<double> z, vo, vd;
  for (const auto& t : spec.targets)
    metrics.push_back(t.name), z.push_back(t.observed), vo.push_back(t.var_obs), vd.push_back(t.var_disc);
  tg.write_strings("ids", spec.target_ids);
  tg.write_strings("metrics", metrics);
  tg.write_array("observed", z);
  tg.write_array("var_obs", vo);
  tg.write_array("var_disc", vd);
  std::vector<std::string> sk_ids, sk_metrics;
  for (const auto& [id, m] : spec.skipped) sk_ids.push_back(id), sk_metrics.push_back(m);
  tg.write_strings("skipped_ids", sk_ids);
  tg.write_strings("skipped_metrics", sk_metrics);

  h5::Group hg = root.create_group("history_matching");
  hg.set_attr("stop_reason", out.hm.stop_reason);
  hg.set_attr("simulations", out.hm.simulations);
  hg.set_attr("cutoff", spec.hm.cutoff);
  hg.set_attr("rank", spec.hm.rank == ImplausibilityRank::Max ? "max" : "second_max");
  hg.set_attr("points_per_wave", static_cast<std::int64_t>(spec.hm.points_per_wave));
  hg.set_attr("replications", static_cast<std::int64_t>(spec.hm.replications));
  hg.set_attr("waves", static_cast<std::int64_t>(out.hm.waves.size()));
  hg.write_array("final_box_lo", flo);
  hg.write_array("final_box_hi", fhi);
  const std::size_t K = spec.targets.size();
  for (std::size_t w = 0; w < out.hm.waves.size(); ++w) {
    const Wave& wave = out.hm.waves[w];
    h5::Group g = hg.create_group("wave_" + std::to_string(w));
    std::vector<double> blo, bhi;
    for (std::size_t j = 0; j < d; ++j)
      blo.push_back(spec.factors[j].value(wave.box.lo[j])), bhi.push_back(spec.factors[j].value(wave.box.hi[j]));
    g.write_array("box_lo", blo);
    g.write_array("box_hi", bhi);
    std::vector<std::vector<double>> pts;
    std::vector<double> imp, comb;
    std::vector<bool> plaus;
    for (const auto& pt : wave.points) {
      pts.push_back(pt.params);
      imp.insert(imp.end(), pt.implausibility.begin(), pt.implausibility.end());
      comb.push_back(pt.combined);
      plaus.push_back(pt.plausible);
    }
    g.write_array("points", value_rows(spec.factors, pts), {pts.size(), d});
    g.write_array("implausibility", imp, {pts.size(), K});
    g.write_array("combined", comb);
    g.write_array("plausible", i8(plaus));
    g.set_attr("survivors", static_cast<std::int64_t>(wave.survivors()));
  }

  h5::Group ag = root.create_group("abc");
  ag.set_attr("stop_reason", out.abc.stop_reason);
  ag.set_attr("simulations", out.abc.simulations);
  ag.set_attr("particles", static_cast<std::int64_t>(spec.abc.particles));
  ag.set_attr("replications", static_cast<std::int64_t>(spec.abc.replications));
  ag.set_attr("noisy", static_cast<std::int8_t>(spec.abc.noisy ? 1 : 0));
  std::vector<double> tol, acc, ess;
  std::vector<std::int64_t> att, sims;
  for (const auto& g : out.abc.generations) {
    tol.push_back(g.tolerance), att.push_back(g.attempts), sims.push_back(g.simulations);
    acc.push_back(static_cast<double>(g.particles.size()) / static_cast<double>(std::max<std::int64_t>(1, g.attempts)));
    ess.push_back(g.ess());
  }
  ag.write_array("tolerance", tol);
  ag.write_array("acceptance", acc);
  ag.write_array("attempts", att);
  ag.write_array("simulations_per_generation", sims);
  ag.write_array("ess", ess);
  for (std::size_t t = 0; t < out.abc.generations.size(); ++t) {
    const Generation& g = out.abc.generations[t];
    h5::Group gg = ag.create_group("generation_" + std::to_string(t));
    gg.write_array("particles", value_rows(spec.factors, g.particles), {g.particles.size(), d});
    gg.write_array("weights", g.weights);
    gg.write_array("distances", g.distances);
  }

  const PosteriorPredictive& pp = out.predictive;
  h5::Group pg = root.create_group("predictive");
  pg.set_attr("draws", static_cast<std::int64_t>(spec.predictive_draws));
  pg.set_attr("lo_quantile", 0.1);
  pg.set_attr("hi_quantile", 0.9);
  std::vector<double> p10, p50, p90;
  std::vector<bool> cov, cove;
  std::vector<std::int64_t> defined;
  std::size_t fit_n = 0, fit_c = 0, val_n = 0, val_c = 0;
  for (std::size_t k = 0; k < pp.checks.size(); ++k) {
    const auto& c = pp.checks[k];
    p10.push_back(c.lo), p50.push_back(c.median), p90.push_back(c.hi);
    cov.push_back(c.covers), cove.push_back(c.covers_with_error), defined.push_back(static_cast<std::int64_t>(c.defined));
    (pp.fitted[k] ? fit_n : val_n) += 1;
    (pp.fitted[k] ? fit_c : val_c) += c.covers ? 1 : 0;
  }
  pg.write_strings("ids", pp.ids);
  pg.write_strings("metrics", pp.metrics);
  pg.write_array("fitted", i8(pp.fitted));
  pg.write_array("observed", pp.observed);
  pg.write_array("sd_obs", pp.sd_obs);
  pg.write_array("p10", p10);
  pg.write_array("p50", p50);
  pg.write_array("p90", p90);
  pg.write_array("covers", i8(cov));
  pg.write_array("covers_with_error", i8(cove));
  pg.write_array("defined", defined);
  pg.set_attr("fitted_covered", static_cast<std::int64_t>(fit_c));
  pg.set_attr("fitted_milestones", static_cast<std::int64_t>(fit_n));
  pg.set_attr("held_out_covered", static_cast<std::int64_t>(val_c));
  pg.set_attr("held_out_milestones", static_cast<std::int64_t>(val_n));
  file.close();
}

}  // namespace

CalibrationOutcome run_calibration(const CalibrationSpec& spec, const CalibrateOptions& o) {
  const std::string hm_cp = hm_checkpoint_path(o.output_path), abc_cp = abc_checkpoint_path(o.output_path);
  std::error_code ec;
  if (fs::exists(o.output_path, ec) && !o.force)
    throw OutputError("output file " + o.output_path +
                      " already exists; choose another name with -o or pass --force to overwrite it");
  if (!o.resume) {
    for (const auto& cp : {hm_cp, abc_cp})
      if (fs::exists(cp, ec)) {
        if (!o.force)
          throw OutputError("a checkpoint of an unfinished calibration exists: " + cp +
                            "; run the same command with --resume to continue it, or --force to start again");
        fs::remove(cp, ec);
      }
  } else if (o.note && (fs::exists(hm_cp, ec) || fs::exists(abc_cp, ec))) {
    o.note("resuming from the checkpoints " + hm_cp + " and " + abc_cp);
  }

  CalibrationOutcome out;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> done{0}, invalid{0};
  std::vector<std::string> fit_metrics;
  for (const auto& t : spec.targets) fit_metrics.push_back(t.name);
  std::atomic<std::int64_t> base{0};  // replications of stages before the current one
  const SimulatorFn raw = lepsim_simulator(spec, fit_metrics, &done, &invalid);
  const SimulatorFn f = [&](const std::vector<double>& x, int reps, std::uint64_t seed) {
    MetricMatrix m = raw(x, reps, seed);
    if (o.replications) o.replications(base + done);
    return m;
  };

  const Box prior = coord_box(spec.factors);
  HistoryMatchingOptions hm = spec.hm;
  hm.seed = spec.seed, hm.threads = o.threads, hm.checkpoint_path = hm_cp;
  // History matching leaves ABC-SMC at least its first generation.
  hm.budget = spec.budget - static_cast<std::int64_t>(spec.abc.particles) * spec.abc.replications;
  hm.on_wave = [&](const std::vector<Wave>& waves, std::int64_t sims) {
    base = sims, done = 0;
    if (o.progress)
      o.progress("history matching: wave " + std::to_string(waves.size()) + " done, " +
                     std::to_string(waves.back().survivors()) + " of " + std::to_string(waves.back().points.size()) +
                     " points non-implausible",
                 sims, spec.budget);
  };
  if (o.progress) o.progress("history matching: wave 1", 0, spec.budget);
  out.hm = history_match(f, spec.targets, prior, hm);
  base = out.hm.simulations, done = 0;
  if (out.hm.stop_reason == "no survivors")
    throw Error(ExitCode::UNREACHABLE,
                "history matching ruled out the whole prior box (wave " + std::to_string(out.hm.waves.size()) +
                    ": no point within the cut-off " + shortest_number(spec.hm.cutoff) +
                    "): the record cannot be matched within the stated errors; revisit the structure, the factors' "
                    "ranges or the discrepancy (docs/calibration.md)");

  AbcOptions abc = spec.abc;
  abc.seed = spec.seed, abc.threads = o.threads, abc.budget = spec.budget - out.hm.simulations, abc.checkpoint_path = abc_cp;
  abc.on_generation = [&](const std::vector<Generation>& gens, std::int64_t sims) {
    base = out.hm.simulations + sims, done = 0;
    if (o.progress) {
      const Generation& g = gens.back();
      o.progress(
          "ABC-SMC: generation " + std::to_string(gens.size()) + " done, tolerance " +
              (std::isfinite(g.tolerance) ? shortest_number(std::round(g.tolerance * 1000) / 1000) : "inf") +
              ", acceptance " +
              shortest_number(
                  std::round(1000.0 * static_cast<double>(g.particles.size()) / static_cast<double>(g.attempts)) / 10) +
              "%",
          out.hm.simulations + sims, spec.budget);
    }
  };
  if (o.progress) o.progress("ABC-SMC: generation 1", out.hm.simulations, spec.budget);
  out.abc = abc_smc(f, spec.targets, out.hm.final_box, abc);
  if (out.abc.generations.empty())
    throw Error(ExitCode::UNREACHABLE, "ABC-SMC finished no generation within the budget (" + out.abc.stop_reason +
                                           "): raise calibration.budget or lower abc.particles");

  // Posterior predictive: one particle drawn by weight per replication, every milestone.
  if (o.progress) o.progress("posterior predictive check", out.hm.simulations + out.abc.simulations, spec.budget);
  PosteriorPredictive& pp = out.predictive;
  std::vector<Target> all = spec.targets;
  all.insert(all.end(), spec.held_out.begin(), spec.held_out.end());
  pp.ids = spec.target_ids;
  pp.ids.insert(pp.ids.end(), spec.held_out_ids.begin(), spec.held_out_ids.end());
  for (std::size_t k = 0; k < all.size(); ++k) {
    pp.metrics.push_back(all[k].name), pp.fitted.push_back(k < spec.targets.size());
    pp.observed.push_back(all[k].observed), pp.sd_obs.push_back(std::sqrt(all[k].var_obs));
  }
  const Generation& post = out.abc.posterior();
  const std::size_t D = static_cast<std::size_t>(spec.predictive_draws);
  RandomStream rs(spec.seed, 0, 0, Purpose::Calibration, PREDICTIVE_SUBSTREAM);
  std::vector<double> cum(post.weights.size());
  std::partial_sum(post.weights.begin(), post.weights.end(), cum.begin());
  std::vector<std::size_t> pick(D);
  for (auto& i : pick)
    i = std::min(
        post.weights.size() - 1,
        static_cast<std::size_t>(std::upper_bound(cum.begin(), cum.end(), rs.uniform() * cum.back()) - cum.begin()));
  const SimulatorFn all_f = lepsim_simulator(spec, pp.metrics, nullptr, nullptr);
  MetricMatrix runs(D, all.size());
  parallel_indices(o.threads, D, [&](std::size_t i) {
    const MetricMatrix m = all_f(post.particles[pick[i]], 1, call_seed(spec.seed, PREDICTIVE_STAGE, 0, i, 0));
    for (std::size_t k = 0; k < all.size(); ++k) runs.at(i, k) = m.at(0, k);
  });
  pp.checks = check_milestones(all, runs, 0.1, 0.9);
  out.invalid_points = invalid;

  const std::string temp = o.output_path + ".tmp-" + std::to_string(::getpid());
  try {
    write_posterior(temp, spec, out);
    fs::rename(temp, o.output_path);
  } catch (const std::exception& e) {
    fs::remove(temp, ec);
    throw OutputError("cannot write the posterior file " + o.output_path + ": " + e.what());
  }
  fs::remove(hm_cp, ec);
  fs::remove(abc_cp, ec);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// ---- The fitted file.

void write_fitted(const std::string& posterior_path, const std::string& fitted_path, const CalibrationSpec& spec) {
  h5::File file = h5::File::open_read(posterior_path);
  const h5::Group p = file.root().open_group("posterior");
  std::vector<std::uint64_t> dims;
  const auto params = p.open_dataset("parameters").read<double>(&dims);
  const auto weights = p.open_dataset("weights").read<double>();
  const auto paths = p.read_strings("factor_paths");
  const auto modes = p.read_strings("factor_modes");
  const std::size_t n = dims.at(0), d = dims.at(1);
  const std::size_t m = std::min<std::size_t>(200, n);
  RandomStream rs(spec.seed, 1, 0, Purpose::Calibration, PREDICTIVE_SUBSTREAM);
  const auto rows = systematic_resample(weights, m, rs.uniform());
  std::vector<std::vector<double>> cols(d);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t r : rows) cols[j].push_back(params[r * d + j]);

  const std::string rel = fs::relative(fs::absolute(spec.source_path), fs::absolute(fitted_path).parent_path()).string();
  std::string o = "# written by lepsim calibrate; regenerate, do not edit\n";
  o += "# lepsim calibrate " + spec.source_path + " -o " + posterior_path + " --fitted " + fitted_path + "\n";
  o += "# check that it is current: lepsim calibrate --check " + fitted_path + "\n\n[fitted]\n";
  o += "calibration = " + quoted_string(rel) + "\n";
  o += "posterior_particles = " + std::to_string(n) + "\n";
  o += "lepsim_version = " + quoted_string(engine_version()) + "\n";
  o += "fingerprint = " + quoted_string(calibration_fingerprint(spec)) + "\n";
  for (std::size_t j = 0; j < d; ++j) {
    std::vector<double> col(n);
    for (std::size_t i = 0; i < n; ++i) col[i] = params[i * d + j];
    const double med = weighted_quantile(col, weights, 0.5);
    o += "\n[[fitted.input]]\npath = " + quoted_string(paths[j]) + "\nmode = " + quoted_string(modes[j]) +
         "\nvalue = " + toml_float(med) + "\n";
    o += "distribution = { type = \"empirical\", observations = [";
    for (std::size_t i = 0; i < cols[j].size(); ++i) o += (i ? ", " : "") + toml_float(cols[j][i]);
    o += "] }\n";
  }
  if (d > 1) {
    std::vector<std::vector<double>> rk(d);
    for (std::size_t j = 0; j < d; ++j) rk[j] = ranks_of(cols[j]);
    o += "\n[fitted.rank_correlation]\nmatrix = [";
    for (std::size_t a = 0; a < d; ++a) {
      o += a ? ",\n          [" : "[";
      for (std::size_t b = 0; b < d; ++b) {
        const double r = a == b ? 1.0 : std::round(pearson(rk[a], rk[b]) * 1e4) / 1e4;
        o += (b ? ", " : "") + toml_float(r);
      }
      o += "]";
    }
    o += "]\n";
  }
  const std::string temp = fitted_path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream f(temp, std::ios::binary);
    f << o;
    f.close();
    if (!f) {
      std::error_code ec;
      fs::remove(temp, ec);
      throw OutputError("cannot write the fitted file " + fitted_path);
    }
  }
  std::error_code ec;
  fs::rename(temp, fitted_path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw OutputError("cannot write the fitted file " + fitted_path + ": " + ec.message());
  }
}

bool fitted_is_current(const std::string& fitted_path, std::string& why) {
  TomlValue root;
  const std::string text = read_text(fitted_path);
  try {
    std::istringstream in(text);
    root = detail::parse_toml(in, fitted_path);
  } catch (const std::exception& e) {
    throw ScenarioError({{fitted_path, 0, "", "", std::string("cannot read the fitted file: ") + e.what()}});
  }
  const auto& t = root.as_table();
  if (!t.count("fitted") || !t.at("fitted").is_table())
    throw ScenarioError({{fitted_path, 0, "fitted", "", "missing: a [fitted] table"}});
  const auto& f = t.at("fitted").as_table();
  if (!f.count("calibration") || !f.at("calibration").is_string() || !f.count("fingerprint") ||
      !f.at("fingerprint").is_string())
    throw ScenarioError(
        {{fitted_path, detail::line_of(t.at("fitted")), "fitted", "", "needs calibration and fingerprint (strings)"}});
  const std::string cal = relative_to(fitted_path, f.at("calibration").as_string().str);
  const CalibrationSpec spec = load_calibration(cal);
  const std::string now = calibration_fingerprint(spec), then = f.at("fingerprint").as_string().str;
  if (now == then) {
    why = "current: the calibration file " + cal + ", its scenario " + spec.scenario_path + " and record " +
          spec.record_path + " are those it was fitted with";
    return true;
  }
  why = "stale: the calibration file " + cal + ", its scenario " + spec.scenario_path + " (resolved) or its record " +
        spec.record_path + " changed since the fit (fingerprint " + then.substr(0, 12) + "…, now " + now.substr(0, 12) +
        "…); re-run the command in its header";
  return false;
}

}  // namespace lepsim
