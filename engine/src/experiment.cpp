// Experiment files: parsing, designs, the CSV run plan, a point's scenario and the
// metrics of one replication (docs/experiments.md).

#include "lepsim/experiment.hpp"

#include "lepsim/design.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/parameters.hpp"
#include "toml_distribution.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace lepsim {

namespace {

using TValue = detail::TomlValue;
using detail::line_of;
using detail::read_distribution;
using detail::value_text;

std::string number_text(double x) {
  char buf[32];
  if (x == std::round(x) && std::fabs(x) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", x);
  // Shortest form that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    char b2[32];
    std::snprintf(b2, sizeof b2, "%.*g", prec, x);
    if (std::strtod(b2, nullptr) == x) return b2;
  }
  return buf;
}

// ---------------------------------------------------------------------------
// Parameter paths: the parameter registry (lepsim/parameters.hpp) with three additions of
// the experiment layer (docs/experiments.md, "Parameter paths"): `authorities.*.KEY` (every
// group), a scaled team also scales the team's capacity-plan steps, a scaled stage's work
// also scales the types' overrides of it, and `partnering.mandated_practices` as a count.

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep)
      out.push_back(cur), cur.clear();
    else
      cur += c;
  }
  out.push_back(cur);
  return out;
}

//! The first rule of a ScenarioError, without its location (the factor's line is given instead).
std::string rule_of(const ScenarioError& e) {
  if (e.diagnostics().empty()) return e.what();
  const Diagnostic& d = e.diagnostics().front();
  return d.rule.empty() ? e.what() : d.rule;
}

//! The registry paths a factor's path stands for: `authorities.*.` expanded over the groups;
//! with a scale, a team's capacity-plan steps and a stage's type overrides added.
std::vector<std::string> expand_path(const Scenario& sc, const std::string& path, bool scale) {
  std::vector<std::string> out;
  const auto parts = split(path, '.');
  if (parts.size() >= 3 && parts[0] == "authorities" && parts[1] == "*") {
    const std::string rest = path.substr(std::string("authorities.*.").size());
    for (const auto& g : sc.groups) out.push_back("authorities." + g.name + "." + rest);
  } else {
    out.push_back(path);
  }
  if (!scale) return out;
  const auto all = parameter_paths(sc);
  std::vector<std::string> more;
  for (const auto& p : out) {
    const auto q = split(p, '.');
    if (q.size() == 4 && q[0] == "authorities" && q[2] == "team") {
      const std::string prefix = "authorities." + q[1] + ".capacity_plan[", suffix = "].team." + q[3];
      for (const auto& a : all)
        if (a.rfind(prefix, 0) == 0 && a.size() > suffix.size() &&
            a.compare(a.size() - suffix.size(), suffix.size(), suffix) == 0)
          more.push_back(a);
    }
  }
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

//! Applies one factor value to `sc`. Returns "" when it applied, otherwise the rule broken.
//! `base` receives the base value (1 for a scale).
std::string apply_path(Scenario& sc, const std::string& path, bool scale, double value, double* base) {
  if (!std::isfinite(value)) return "must be a finite number";
  if (scale && !(value > 0)) return "a scale must be > 0";
  if (path == "partnering.mandated_practices") {
    if (!sc.mechanisms.partnering.enabled) return "the base scenario has no [partnering] mechanism";
    auto& m = sc.mechanisms.partnering.mandated;
    if (base) *base = static_cast<double>(std::popcount(static_cast<unsigned>(m)));
    if (scale) return "a count of practices cannot be scaled";
    if (value != std::round(value) || value < 0 || value > PRACTICES)
      return "the number of mandated practices is a whole number from 0 to " + std::to_string(PRACTICES);
    m = static_cast<std::uint8_t>((1u << static_cast<unsigned>(value)) - 1u);
    return "";
  }
  const auto paths = expand_path(sc, path, scale);
  if (paths.empty()) return "no authority group in the base scenario";
  // A scaled stage's work: every project type's copy of it is scaled once, overrides included.
  const auto parts = split(path, '.');
  std::vector<std::vector<Distribution>> type_work;
  if (scale && parts.size() == 3 && parts[0] == "stages" && parts[2] == "work")
    for (const auto& t : sc.types) {
      type_work.emplace_back();
      for (const auto& ts : t.stages) type_work.back().push_back(ts.work);
    }
  try {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const ParamValue now = get_parameter(sc, paths[i]);
      if (base && i == 0) {
        if (scale)
          *base = 1.0;
        else if (const auto* d = std::get_if<double>(&now))
          *base = *d;
        else if (const auto* n = std::get_if<std::int64_t>(&now))
          *base = static_cast<double>(*n);
        else if (const auto* b = std::get_if<bool>(&now))
          *base = *b ? 1.0 : 0.0;
      }
      if (scale) {
        if (std::holds_alternative<std::int64_t>(now)) {  // a whole number scaled: rounded
          sc = with_parameter(
              sc, paths[i],
              static_cast<std::int64_t>(std::llround(static_cast<double>(std::get<std::int64_t>(now)) * value)));
        } else if (std::holds_alternative<bool>(now)) {
          return "a yes/no parameter cannot be scaled";
        } else {
          sc = with_scaled_parameter(sc, paths[i], value);
        }
      } else if (std::holds_alternative<std::int64_t>(now)) {
        if (value != std::round(value)) return "a whole number (levels must be whole; ranges are rounded)";
        sc = with_parameter(sc, paths[i], static_cast<std::int64_t>(value));
      } else if (std::holds_alternative<Distribution>(now)) {
        sc = with_parameter(sc, paths[i], Distribution::fixed(value));
      } else if (std::holds_alternative<bool>(now)) {
        if (value != 0 && value != 1) return "a yes/no parameter takes 0 or 1";
        sc = with_parameter(sc, paths[i], value == 1);
      } else {
        sc = with_parameter(sc, paths[i], value);
      }
    }
  } catch (const ScenarioError& e) {
    return rule_of(e);
  }
  if (!type_work.empty()) {
    const auto st = static_cast<int>(
        std::find_if(sc.stages.begin(), sc.stages.end(), [&](const Stage& x) { return x.name == parts[1]; }) -
        sc.stages.begin());
    for (std::size_t t = 0; t < sc.types.size(); ++t)
      for (std::size_t k = 0; k < sc.types[t].stages.size(); ++k)
        if (sc.types[t].stages[k].stage == st) sc.types[t].stages[k].work = scaled(type_work[t][k], value);
  }
  return "";
}

//! A problem with the path itself (unknown, or not a value a factor can set); "" when none.
std::string path_problem(const Scenario& sc, const std::string& path, bool scale) {
  if (path == "partnering.mandated_practices") {
    if (!sc.mechanisms.partnering.enabled) return "the base scenario has no [partnering] mechanism";
    return scale ? "a count of practices cannot be scaled" : "";
  }
  const std::string table = split(path, '.').front();
  if (mechanism_enabled(sc.mechanisms, table) == false)
    return "the base scenario has no [" + table + "] mechanism, so this would change nothing";
  const auto paths = expand_path(sc, path, scale);
  if (paths.empty()) return "no authority group in the base scenario";
  try {
    (void)parameter_spec(sc, paths.front());
    (void)get_parameter(sc, paths.front());
  } catch (const ScenarioError& e) {
    return rule_of(e);
  }
  return "";
}

bool is_whole_path(const Scenario& sc, const std::string& path) {
  if (path == "partnering.mandated_practices") return true;
  try {
    const auto paths = expand_path(sc, path, false);
    return !paths.empty() && std::holds_alternative<std::int64_t>(get_parameter(sc, paths.front()));
  } catch (const ScenarioError&) {
    return false;
  }
}

// ---------------------------------------------------------------------------
// A small deterministic generator for the designs (SplitMix64): a pure function of the seed.
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1p-53; }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

//! The smallest and largest u a unit-cube design may hand a distribution factor: a
//! design coordinate of exactly 0 or 1 (Morris's grid ends, a Sobol' point at 0) would
//! be an infinite quantile for an unbounded distribution.
constexpr double U_EDGE = 0x1p-53;

//! A factor value for u in [0, 1]: a level (stratum of the levels), a point of the
//! range, or the distribution's quantile.
double factor_value(const Factor& f, double u) {
  if (f.distribution) {
    const bool bounded = std::isfinite(f.distribution->min_value()) && std::isfinite(f.distribution->max_value());
    const double v = f.distribution->quantile(bounded ? u : std::clamp(u, U_EDGE, 1.0 - U_EDGE));
    return f.whole ? std::round(v) : v;
  }
  if (!f.levels.empty()) {
    const auto k =
        std::min(f.levels.size() - 1, static_cast<std::size_t>(u * static_cast<double>(f.levels.size())));  // u = 1: last
    return f.levels[k];
  }
  const double v = (*f.range)[0] + u * ((*f.range)[1] - (*f.range)[0]);
  return f.whole ? std::round(v) : v;
}

//! A distribution factor's grid levels (or one-at-a-time ends): quantiles at its probabilities.
std::vector<double> quantile_levels(const Factor& f) {
  std::vector<double> out;
  if (f.quantiles.empty())
    for (double q : DEFAULT_FACTOR_QUANTILES) out.push_back(factor_value(f, q));
  else
    for (double q : f.quantiles) out.push_back(factor_value(f, q));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

bool is_experiment_text(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find_first_not_of(" \t");
    if (a != std::string::npos && line.compare(a, 12, "[experiment]") == 0) return true;
  }
  return false;
}

Experiment load_experiment(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError({{path, 0, "", "", "cannot read the experiment file"}});
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_experiment(ss.str(), path);
}

Experiment parse_experiment(const std::string& text, const std::string& path) {
  std::vector<Diagnostic> diags;
  auto err = [&](int line, const std::string& key, const std::string& value, const std::string& rule) {
    diags.push_back({path, line, key, value, rule});
  };
  TValue root;
  try {
    std::istringstream in(text);
    root = detail::parse_toml(in, path);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    int line = 0;
    // toml11 messages carry " --> FILE\n   |\n N | ..."; take the first line number.
    for (std::size_t i = msg.find(" | "); i != std::string::npos; i = std::string::npos) {
      std::size_t j = i;
      while (j > 0 && std::isdigit(static_cast<unsigned char>(msg[j - 1]))) --j;
      if (j < i) line = std::atoi(msg.substr(j, i - j).c_str());
    }
    throw ScenarioError({{path, line, "", "", "not valid TOML: " + msg.substr(0, msg.find('\n'))}});
  }
  Experiment ex;
  ex.source_path = path;
  ex.source_text = text;
  const auto& top = root.as_table();
  for (const auto& [k, v] : top)
    if (k != "experiment" && k != "factor" && k != "output")
      err(line_of(v), k, "", "unknown table (allowed: [experiment], [[factor]], [output])");
  auto num = [&](const TValue& v, const std::string& key, double& out) {
    if (v.is_integer()) return out = static_cast<double>(v.as_integer()), true;
    if (v.is_floating()) return out = v.as_floating(), true;
    err(line_of(v), key, value_text(v), "must be a number");
    return false;
  };
  auto str = [&](const TValue& v, const std::string& key, std::string& out) {
    if (v.is_string()) return out = v.as_string().str, true;
    err(line_of(v), key, value_text(v), "must be a string");
    return false;
  };
  auto integer = [&](const TValue& v, const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (!v.is_integer()) return err(line_of(v), key, value_text(v), "must be a whole number"), false;
    if (v.as_integer() < lo || v.as_integer() > hi)
      return err(line_of(v), key, value_text(v), "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"),
             false;
    out = v.as_integer();
    return true;
  };

  std::string base_given, design = "grid";
  if (!top.count("experiment") || !top.at("experiment").is_table()) {
    err(0, "experiment", "", "an experiment file needs an [experiment] table");
  } else {
    const TValue& e = top.at("experiment");
    const std::vector<std::string> allowed = {"name",    "description",  "base", "design",       "points",
                                              "maximin", "base_rows",    "ba",   "trajectories", "levels", "noise",
                                              "plan",    "replications", "seed", "streams",      "block"};
    for (const auto& [k, v] : e.as_table()) {
      const std::string key = "experiment." + k;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string all;
        for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
        err(line_of(v), key, value_text(v), "unknown key (allowed: " + all + ")");
      } else if (k == "name")
        str(v, key, ex.name);
      else if (k == "description")
        str(v, key, ex.description);
      else if (k == "base")
        str(v, key, base_given);
      else if (k == "plan")
        str(v, key, ex.plan_path);
      else if (k == "design") {
        if (str(v, key, design) && design != "grid" && design != "one_at_a_time" && design != "lhs" && design != "plan" &&
            design != "sobol" && design != "saltelli" && design != "morris")
          err(line_of(v), key, value_text(v), "must be one of grid, one_at_a_time, lhs, sobol, saltelli, morris, plan");
      } else if (k == "points")
        integer(v, key, 2, MAX_EXPERIMENT_POINTS, ex.lhs_points);
      else if (k == "base_rows" || k == "trajectories")
        integer(v, key, 1, MAX_EXPERIMENT_POINTS, ex.lhs_points);
      else if (k == "levels") {
        std::int64_t l = 0;
        if (integer(v, key, 2, 1000, l)) {
          if (l % 2) err(line_of(v), key, value_text(v), "Morris levels must be even");
          ex.morris_levels = static_cast<int>(l);
        }
      } else if (k == "noise") {
        if (v.is_boolean())
          ex.saltelli_noise = v.as_boolean();
        else
          err(line_of(v), key, value_text(v), "must be true or false");
      } else if (k == "ba") {
        if (v.is_boolean())
          ex.saltelli_ba = v.as_boolean();
        else
          err(line_of(v), key, value_text(v), "must be true or false");
      } else if (k == "maximin") {
        if (v.is_boolean())
          ex.maximin = v.as_boolean();
        else
          err(line_of(v), key, value_text(v), "must be true or false");
      } else if (k == "replications")
        integer(v, key, 1, 100'000'000, ex.replications);
      else if (k == "seed") {
        std::int64_t s = 0;
        if (integer(v, key, 0, std::numeric_limits<std::int64_t>::max(), s)) ex.seed = static_cast<std::uint64_t>(s);
      } else if (k == "streams") {
        std::string s;
        if (str(v, key, s)) {
          if (s == "common")
            ex.streams = StreamPolicy::COMMON;
          else if (s == "independent")
            ex.streams = StreamPolicy::INDEPENDENT;
          else
            err(line_of(v), key, value_text(v), "must be \"common\" (the default) or \"independent\"");
        }
      } else if (k == "block") {
        std::int64_t b = 0;
        if (integer(v, key, 1, 1'000'000, b)) ex.block = static_cast<int>(b);
      }
    }
    if (base_given.empty()) err(line_of(e), "experiment.base", "", "the base scenario is required");
    if ((design == "lhs" || design == "sobol") && ex.lhs_points == 0)
      err(line_of(e), "experiment.points", "", "this design needs points");
    if (design == "saltelli" && ex.lhs_points == 0)
      err(line_of(e), "experiment.base_rows", "", "a Saltelli design needs base_rows");
    if (design == "morris" && ex.lhs_points == 0)
      err(line_of(e), "experiment.trajectories", "", "a Morris design needs trajectories");
    for (const auto& [key, owner] : std::vector<std::pair<std::string, std::string>>{{"maximin", "lhs"},
                                                                                     {"base_rows", "saltelli"},
                                                                                     {"ba", "saltelli"},
                                                                                     {"noise", "saltelli"},
                                                                                     {"trajectories", "morris"},
                                                                                     {"levels", "morris"}})
      if (design != owner && e.as_table().count(key))
        err(line_of(e.at(key)), "experiment." + key, value_text(e.at(key)), "only with design = \"" + owner + "\"");
    // Sensitivity: a Saltelli design's pick-freeze rows must share their A/B row's streams
    // and A and B rows must not share theirs, which is `independent` (its default here).
    if (design == "saltelli" && !e.as_table().count("streams")) ex.streams = StreamPolicy::INDEPENDENT;
    if (design == "saltelli" && ex.streams == StreamPolicy::COMMON)
      err(line_of(e.at("streams")), "experiment.streams", "common",
          "a Saltelli design needs streams = \"independent\" (the default: pick-freeze rows share their A or B row's "
          "streams, A and B rows have their own), or the model's randomness cannot be told from the inputs");
    if (design == "plan" && ex.plan_path.empty())
      err(line_of(e), "experiment.plan", "", "design = \"plan\" needs plan = \"FILE.csv\"");
    if (design != "plan" && !ex.plan_path.empty())
      err(line_of(e.at("plan")), "experiment.plan", ex.plan_path, "only with design = \"plan\"");
    if (design != "lhs" && design != "sobol" && e.as_table().count("points"))
      err(line_of(e.at("points")), "experiment.points", value_text(e.at("points")),
          "only with design = \"lhs\" or \"sobol\"");
  }
  ex.design = design == "one_at_a_time" ? DesignKind::ONE_AT_A_TIME
              : design == "lhs"         ? DesignKind::LHS
              : design == "sobol"       ? DesignKind::SOBOL
              : design == "saltelli"    ? DesignKind::SALTELLI
              : design == "morris"      ? DesignKind::MORRIS
              : design == "plan"        ? DesignKind::PLAN
                                        : DesignKind::GRID;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!ex.plan_path.empty() && std::filesystem::path(ex.plan_path).is_relative())
    ex.plan_path = (dir / ex.plan_path).string();

  bool base_ok = false;
  if (!base_given.empty()) {
    const std::string base_path = std::filesystem::path(base_given).is_relative() ? (dir / base_given).string() : base_given;
    try {
      ex.base = load_scenario(base_path);
      base_ok = true;
    } catch (const ScenarioError& e) {
      for (const auto& d : e.diagnostics()) diags.push_back(d);
    }
  }
  if (ex.name.empty()) ex.name = std::filesystem::path(path).stem().string();

  // Factors.
  if (top.count("factor")) {
    const TValue& fs = top.at("factor");
    if (!fs.is_array())
      err(line_of(fs), "factor", "", "factors are an array of tables: [[factor]]");
    else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < fs.as_array().size(); ++i) {
        const TValue& f = fs.as_array()[i];
        const std::string at = "factor[" + std::to_string(i + 1) + "]";
        if (!f.is_table()) {
          err(line_of(f), at, value_text(f), "must be a table");
          continue;
        }
        Factor fac;
        fac.line = line_of(f);
        bool has_distribution = false;  // given, even if it had errors (reported)
        for (const auto& [k, v] : f.as_table()) {
          const std::string key = at + "." + k;
          if (k == "name")
            str(v, key, fac.name);
          else if (k == "path")
            str(v, key, fac.path);
          else if (k == "unit")
            str(v, key, fac.unit);
          else if (k == "scale") {
            if (v.is_boolean())
              fac.scale = v.as_boolean();
            else
              err(line_of(v), key, value_text(v), "must be true or false (the range or levels give the multipliers)");
          } else if (k == "levels") {
            if (!v.is_array() || v.as_array().empty())
              err(line_of(v), key, value_text(v), "must be a non-empty array of numbers");
            else
              for (const auto& x : v.as_array()) {
                double d = 0;
                if (num(x, key, d)) fac.levels.push_back(d);
              }
          } else if (k == "range") {
            double lo = 0, hi = 0;
            if (!v.is_array() || v.as_array().size() != 2)
              err(line_of(v), key, value_text(v), "must be [low, high]");
            else if (num(v.as_array()[0], key, lo) && num(v.as_array()[1], key, hi)) {
              if (!(lo < hi))
                err(line_of(v), key, value_text(v), "low must be < high");
              else
                fac.range = std::array<double, 2>{lo, hi};
            }
          } else if (k == "distribution") {
            fac.distribution = read_distribution(v, key, err);
            has_distribution = true;
          } else if (k == "quantiles") {
            if (!v.is_array() || v.as_array().empty())
              err(line_of(v), key, value_text(v), "must be a non-empty array of probabilities");
            else
              for (const auto& x : v.as_array()) {
                double d = 0;
                if (!num(x, key, d)) continue;
                if (!(d >= 0 && d <= 1))
                  err(line_of(x), key, value_text(x), "a probability must be in [0, 1]");
                else
                  fac.quantiles.push_back(d);
              }
          } else {
            err(line_of(v), key, value_text(v),
                "unknown key (allowed: name, path, unit, scale, levels, range, distribution, quantiles)");
          }
        }
        if (fac.path.empty()) err(fac.line, at + ".path", "", "a factor needs a parameter path");
        if (fac.name.empty()) fac.name = fac.path;
        if (!names.insert(fac.name).second) err(fac.line, at + ".name", fac.name, "two factors have this name");
        if (fac.name == "point") err(fac.line, at + ".name", fac.name, "'point' is the CSV plan's id column");
        const int given = (fac.levels.empty() ? 0 : 1) + (fac.range ? 1 : 0) + (has_distribution ? 1 : 0);
        if (given > 1) err(fac.line, at, "", "give one of levels, range or distribution");
        if (!fac.quantiles.empty() && !has_distribution)
          err(fac.line, at + ".quantiles", "", "quantiles are the grid levels of a distribution factor");
        if (design == "grid" && fac.levels.empty() && !has_distribution)
          err(fac.line, at + ".levels", "", "a grid needs levels (or a distribution) for every factor");
        if (design != "grid" && design != "plan" && given == 0) err(fac.line, at, "", "give levels, range or distribution");
        if (design == "morris" && fac.distribution &&
            !(std::isfinite(fac.distribution->min_value()) && std::isfinite(fac.distribution->max_value())))
          err(fac.line, at + ".distribution", fac.distribution->describe(),
              "Morris's grid includes u = 0 and 1, so a Morris factor's distribution must be bounded");
        if (base_ok && !fac.path.empty()) {
          if (const std::string rule = path_problem(ex.base, fac.path, fac.scale); !rule.empty()) {
            err(fac.line, at + ".path", fac.path, rule);
          } else {
            Scenario probe = ex.base;
            (void)apply_path(probe, fac.path, fac.scale, 1.0, &fac.base);  // reads the base value
            fac.whole = !fac.scale && is_whole_path(ex.base, fac.path);
            std::vector<double> check = fac.levels;
            if (fac.range) check.push_back((*fac.range)[0]), check.push_back((*fac.range)[1]);
            if (fac.distribution) {  // the extreme values a design can give, and the grid levels
              for (double x : quantile_levels(fac)) check.push_back(x);
              check.push_back(factor_value(fac, 0.0)), check.push_back(factor_value(fac, 1.0));
            }
            for (double x : check) {
              Scenario s2 = ex.base;
              const std::string r2 = apply_path(s2, fac.path, fac.scale, x, nullptr);
              if (!r2.empty()) err(fac.line, at, number_text(x), fac.path + ": " + r2);
            }
          }
        }
        ex.factors.push_back(std::move(fac));
      }
    }
  }
  if (ex.factors.empty() && diags.empty()) err(0, "factor", "", "an experiment needs at least one [[factor]]");

  // Outputs.
  if (top.count("output")) {
    const TValue& o = top.at("output");
    for (const auto& [k, v] : o.as_table()) {
      const std::string key = "output." + k;
      if (k != "metrics" && k != "series") {
        err(line_of(v), key, value_text(v), "unknown key (allowed: metrics, series)");
        continue;
      }
      auto& list = k == "metrics" ? ex.metrics : ex.series;
      if (!v.is_array()) {
        err(line_of(v), key, value_text(v), "must be an array of names");
        continue;
      }
      for (const auto& x : v.as_array()) {
        std::string name;
        if (!str(x, key, name)) continue;
        if (std::find(list.begin(), list.end(), name) != list.end())
          err(line_of(x), key, name, "listed twice");
        else
          list.push_back(name);
        if (!base_ok) continue;
        if (k == "metrics") {
          if (const std::string why = metric_problem(ex.base, name); !why.empty()) err(line_of(x), key, name, why);
          continue;
        }
        const auto known = known_series(ex.base);
        if (std::find(known.begin(), known.end(), name) == known.end()) {
          std::string all;
          for (const auto& a : known) all += (all.empty() ? "" : ", ") + a;
          err(line_of(x), key, name, "unknown series for this base scenario (known: " + all + ")");
        }
      }
    }
  }
  if (base_ok && ex.metrics.empty()) ex.metrics = {"completed", "finish_month"};
  if (!diags.empty()) throw ScenarioError(std::move(diags));
  if (ex.design == DesignKind::PLAN) (void)expand_design(ex);  // plan errors are validation errors too
  return ex;
}

// ---------------------------------------------------------------------------

std::vector<DesignPoint> expand_design(const Experiment& ex) {
  std::vector<DesignPoint> pts;
  const std::size_t k = ex.factors.size();
  switch (ex.design) {
    case DesignKind::GRID: {
      std::int64_t n = 1;
      std::vector<std::vector<double>> levels;  // a distribution factor's: quantiles
      for (const auto& f : ex.factors) levels.push_back(f.distribution ? quantile_levels(f) : f.levels);
      for (const auto& l : levels) n *= static_cast<std::int64_t>(l.size());
      std::vector<std::size_t> idx(k, 0);
      for (std::int64_t p = 0; p < n; ++p) {
        DesignPoint d{p, {}};
        for (std::size_t j = 0; j < k; ++j) d.values.push_back(levels[j][idx[j]]);
        pts.push_back(std::move(d));
        for (std::size_t j = k; j-- > 0;) {  // last factor fastest
          if (++idx[j] < levels[j].size()) break;
          idx[j] = 0;
        }
      }
      break;
    }
    case DesignKind::ONE_AT_A_TIME: {
      std::vector<double> centre;
      for (const auto& f : ex.factors) centre.push_back(f.base);
      pts.push_back({0, centre});
      for (std::size_t j = 0; j < k; ++j) {
        const auto& f = ex.factors[j];
        const std::vector<double> q = f.distribution ? quantile_levels(f) : std::vector<double>{};
        const double lo = f.distribution ? q.front() : f.levels.empty() ? (*f.range)[0] : f.levels.front();
        const double hi = f.distribution ? q.back() : f.levels.empty() ? (*f.range)[1] : f.levels.back();
        for (double v : {lo, hi}) {
          auto vals = centre;
          vals[j] = v;
          pts.push_back({static_cast<std::int64_t>(pts.size()), vals});
        }
      }
      break;
    }
    case DesignKind::LHS:
    case DesignKind::SOBOL:
    case DesignKind::SALTELLI:
    case DesignKind::MORRIS: {
      const auto n = static_cast<std::size_t>(ex.lhs_points);
      const design::Design d = ex.design == DesignKind::LHS
                                   ? design::latin_hypercube(n, k, ex.seed, {ex.maximin, ex.maximin_candidates})
                               : ex.design == DesignKind::SOBOL ? design::sobol_sequence(n, k, ex.seed)
                               : ex.design == DesignKind::SALTELLI
                                   ? design::saltelli(design::SaltelliLayout{n, k, ex.saltelli_ba, ex.saltelli_noise}, ex.seed)
                                   : design::morris(n, k, ex.morris_levels, ex.seed);
      for (std::size_t i = 0; i < d.points(); ++i) {
        DesignPoint q{static_cast<std::int64_t>(i), {}};
        // Morris's grid includes 1: the range's high end; a level factor takes the last level there.
        for (std::size_t j = 0; j < k; ++j) q.values.push_back(factor_value(ex.factors[j], std::min(d.u(i, j), 1.0)));
        const auto& info = d.info[i];
        q.role = std::string(design::role_name(info.role));
        q.group = info.group, q.factor = info.factor, q.stream = info.stream, q.step = info.step;
        q.unit.assign(d.row(i).begin(), d.row(i).end());
        pts.push_back(std::move(q));
      }
      break;
    }
    case DesignKind::PLAN: {
      std::ifstream in(ex.plan_path, std::ios::binary);
      if (!in) throw ScenarioError({{ex.source_path, 0, "experiment.plan", ex.plan_path, "cannot read the run plan"}});
      std::ostringstream ss;
      ss << in.rdbuf();
      pts = read_plan_csv(ss.str(), ex.plan_path, ex.factors);
      break;
    }
  }
  if (pts.empty()) throw ScenarioError({{ex.source_path, 0, "experiment.design", "", "the design has no points"}});
  if (static_cast<std::int64_t>(pts.size()) > MAX_EXPERIMENT_POINTS)
    throw ScenarioError({{ex.source_path, 0, "experiment.design", std::to_string(pts.size()) + " points",
                          "at most " + std::to_string(MAX_EXPERIMENT_POINTS) + " points"}});
  return pts;
}

std::string plan_csv(const Experiment& ex, const std::vector<DesignPoint>& points) {
  design::Plan plan;
  for (const auto& f : ex.factors) plan.factors.push_back(f.name);
  for (const auto& p : points) {
    plan.ids.push_back(std::to_string(p.id));
    plan.values.insert(plan.values.end(), p.values.begin(), p.values.end());
  }
  return design::write_plan(plan);
}

std::vector<DesignPoint> read_plan_csv(const std::string& text, const std::string& path,
                                       const std::vector<Factor>& factors) {
  std::vector<std::string> names;
  for (const auto& f : factors) names.push_back(f.name);
  const design::Plan plan = design::read_plan(text, path, names);  // strict: located errors, all of them
  std::vector<Diagnostic> diags;
  std::vector<DesignPoint> pts;
  for (std::size_t i = 0; i < plan.points(); ++i) {
    const int row = static_cast<int>(i + 2);
    DesignPoint p;
    char* end = nullptr;
    errno = 0;
    const long long id = std::strtoll(plan.ids[i].c_str(), &end, 10);
    if (*end != '\0' || errno || id < 0)
      diags.push_back({path, row, "column point", plan.ids[i], "an experiment's point id is a whole number >= 0"});
    p.id = id;
    for (std::size_t j = 0; j < factors.size(); ++j) {
      const double v = plan.value(i, j);
      const Factor& f = factors[j];
      if (f.range && (v < (*f.range)[0] || v > (*f.range)[1]))
        diags.push_back(
            {path, row, "column " + f.name, number_text(v),
             "outside the factor's range [" + number_text((*f.range)[0]) + ", " + number_text((*f.range)[1]) + "]"});
      if (f.distribution && (v < f.distribution->min_value() || v > f.distribution->max_value()))
        diags.push_back({path, row, "column " + f.name, number_text(v),
                         "outside the support of the factor's distribution " + f.distribution->describe()});
      p.values.push_back(v);
    }
    pts.push_back(std::move(p));
  }
  if (!diags.empty()) throw ScenarioError(std::move(diags));
  return pts;
}

Scenario scenario_at(const Experiment& ex, const DesignPoint& point) {
  Scenario sc = ex.base;
  std::vector<Diagnostic> diags;
  for (std::size_t j = 0; j < ex.factors.size(); ++j) {
    const auto& f = ex.factors[j];
    const std::string rule = apply_path(sc, f.path, f.scale, point.values[j], nullptr);
    if (!rule.empty())
      diags.push_back({ex.source_path, f.line, f.path, number_text(point.values[j]),
                       rule + " (point " + std::to_string(point.id) + ")"});
  }
  if (!diags.empty()) throw ScenarioError(std::move(diags));
  return sc;
}

std::string overrides_text(const Experiment& ex, const DesignPoint& point) {
  std::string out;
  for (std::size_t j = 0; j < ex.factors.size(); ++j) {
    const auto& f = ex.factors[j];
    out += (out.empty() ? "" : "; ") + f.path + (f.scale ? " x " : " = ") + number_text(point.values[j]);
  }
  return out;
}

std::uint64_t point_seed(const Experiment& ex, const DesignPoint& point, std::size_t point_index) {
  if (ex.streams == StreamPolicy::COMMON) return ex.seed;
  const std::uint64_t stream = point.stream < 0 ? point_index : static_cast<std::uint64_t>(point.stream);
  SplitMix g{ex.seed ^ (0xD1B54A32D192ED03ull * (stream + 1))};
  return g.next();
}

// ---------------------------------------------------------------------------
// Metrics and series of one replication.
// Metrics are the output registry's (lepsim/outputs.hpp); the summarised series below are
// the experiment layer's own cumulative and total forms of the registry's series.

std::vector<std::string> known_metrics(const Scenario& sc) { return metric_names(output_shape(sc)); }

std::string metric_problem(const Scenario& sc, const std::string& name) {
  try {
    (void)parse_metric(name, output_shape(sc));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> known_series(const Scenario& sc) {
  std::vector<std::string> out = {"completions", "completed_cumulative"};
  const Mechanisms& m = sc.mechanisms;
  if (m.costs.enabled || m.capacity.enabled) out.push_back("spend"), out.push_back("spend_cumulative");
  if (m.lep_stage >= 0) out.push_back("leps_formed");
  if (m.partnering.enabled) out.push_back("health_mean");
  if (m.transformation.enabled) out.push_back("transformation");
  if (m.funding.enabled) out.push_back("funding_queue");
  return out;
}

double metric_value(const Scenario& sc, const ReplicationResult& r, const std::string& name) {
  return parse_metric(name, output_shape(sc)).value(r, sc.time.step_months);
}

void series_values(const Scenario&, const ReplicationResult& r, const std::string& name, double* out) {
  const auto T = static_cast<std::size_t>(r.steps);
  double acc = 0;
  for (std::size_t t = 0; t < T; ++t) {
    if (name == "completions")
      out[t] = r.completions[t];
    else if (name == "completed_cumulative")
      out[t] = acc += r.completions[t];
    else if (name == "spend" || name == "spend_cumulative") {
      const double s = r.spend[3 * t] + r.spend[3 * t + 1] + r.spend[3 * t + 2];
      out[t] = name == "spend" ? s : (acc += s);
    } else if (name == "leps_formed")
      out[t] = r.leps_formed[t];
    else if (name == "health_mean")
      out[t] = r.health[3 * t];
    else if (name == "transformation")
      out[t] = r.transformation[t];
    else if (name == "funding_queue")
      out[t] = r.funding_queue[t];
    else
      throw std::logic_error("series_values: unknown series " + name);
  }
}

}  // namespace lepsim
