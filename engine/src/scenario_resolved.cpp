// The fully resolved scenario as canonical TOML: every default filled in and
// every type override applied. It is itself a valid scenario file that runs to
// the same numbers (tests/test_scenario.cpp checks both). Every key comes from the
// parameter registry (detail::table_body); this file orders the tables and writes headers.

#include <cmath>
#include <sstream>

#include "lepsim/scenario.hpp"
#include "lepsim/text.hpp"
#include "lepsim/uncertainty.hpp"
#include "scenario_internal.hpp"

namespace lepsim {
namespace detail {

std::string toml_distribution(const Distribution& d) {
  std::string out = "{ dist = \"" + std::string(Distribution::kind_name(d.kind())) + "\"";
  const auto names = Distribution::param_names(d.kind());
  const auto params = d.params();
  const auto list = [](const std::vector<double>& v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + toml_float(v[i]);
    return o + "]";
  };
  for (std::size_t i = 0; i < params.size() && i < names.size(); ++i) {
    std::string name(names[i]);
    if (d.kind() == DistKind::Normal) {
      if (!std::isfinite(params[i])) continue;  // untruncated side
      if (name == "lower") name = "min";
      if (name == "upper") name = "max";
    }
    out += ", " + name + " = " + toml_float(params[i]);
  }
  if (d.kind() == DistKind::Discrete) out += ", values = " + list(d.values()) + ", weights = " + list(d.weights());
  if (d.kind() == DistKind::Empirical) out += ", values = " + list(d.observations());
  return out + " }";
}

std::string toml_disciplines(const std::vector<double>& fte, const std::vector<std::string>& names) {
  std::string out = "{";
  bool first = true;
  for (std::size_t k = 0; k < fte.size(); ++k) {
    if (fte[k] == 0) continue;
    out += (first ? " " : ", ") + names[k] + " = " + toml_float(fte[k]);
    first = false;
  }
  return out + (first ? "}" : " }");
}

std::string toml_stage_names(const std::vector<int>& idx, const Scenario& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < idx.size(); ++i) out += (i ? ", " : "") + quoted_string(s.stages[static_cast<std::size_t>(idx[i])].name);
  return out + "]";
}

std::string toml_named(const char* const* names, const double* values, int n) {
  std::string out = "{ ";
  for (int i = 0; i < n; ++i) out += std::string(i ? ", " : "") + names[i] + " = " + toml_float(values[i]);
  return out + " }";
}

}  // namespace detail

namespace {

using detail::table_body;

// Each mechanism's keys, every value explicit. A mechanism that is off is written (with
// enabled = false) only when its values differ from the defaults, so that a file without
// the table resolves exactly as before and one with `enabled = false` keeps its values.

//! A mechanism's table from the registry; one that is off is written only when its values
//! differ from the defaults.
void mechanism(std::ostringstream& o, const detail::MechanismTable& t, const Scenario& s) {
  const bool on = t.on(s.mechanisms);
  const std::string text = table_body(s, t.name, {});
  if (!on) {
    Scenario d = s;
    t.reset(d.mechanisms);
    if (text == table_body(d, t.name, {})) return;
  }
  o << "[" << t.name << "]\n" << (on ? "" : "enabled = false\n") << text << "\n";
}

}  // namespace

std::string Scenario::resolved_toml() const {
  // Every table's keys come from the registry (table_body); only the tables' order and
  // headers are written here.
  const auto at = [](std::size_t k) { return static_cast<int>(k); };
  std::ostringstream o;
  o << "# Fully resolved by lepsim: defaults filled in, type overrides applied.\n";
  // Top-level keys first: after a [table] header TOML would put them inside that table.
  o << table_body(*this, "", {}) << "\n";
  o << "[scenario]\n" << table_body(*this, "scenario", {}) << "\n";
  o << "[time]\n" << table_body(*this, "time", {}) << "\n";
  o << "[run]\n" << table_body(*this, "run", {}) << "\n";
  o << "[output]\n" << table_body(*this, "output", {}) << "\n";
  for (std::size_t i = 0; i < pools.size(); ++i)
    o << "[national." << pools[i].name << "]\n" << table_body(*this, "national.{pool}", {at(i)}) << "\n";
  for (std::size_t i = 0; i < stages.size(); ++i)
    o << "[stages." << stages[i].name << "]\n" << table_body(*this, "stages.{stage}", {at(i)}) << "\n";
  for (std::size_t t = 0; t < types.size(); ++t) {
    o << "[project_types." << types[t].name << "]\n" << table_body(*this, "project_types.{type}", {at(t)});
    for (std::size_t k = 0; k < types[t].stages.size(); ++k)
      o << "[project_types." << types[t].name << ".overrides."
        << stages[static_cast<std::size_t>(types[t].stages[k].stage)].name << "]\n"
        << table_body(*this, "project_types.{type}.overrides.{tstage}", {at(t), at(k)});
    o << "\n";
  }
  // Partnership mechanisms (docs/scenario-format.md, "Partnership mechanisms").
  const Mechanisms& m = mechanisms;
  if (m.lep_stage >= 0) o << "[lep]\n" << table_body(*this, "lep", {}) << "\n";
  for (const detail::MechanismTable& t : detail::mechanism_tables()) mechanism(o, t, *this);
  // A group's set-up is written when a mechanism that draws it is on, or when it is not the default.
  const bool setup_used = m.setup.enabled || m.partnering.enabled || m.transformation.enabled;
  Scenario defaults;  // one group with the default set-up, for the comparison
  defaults.groups.resize(1);
  const std::string default_setup = table_body(defaults, "authorities.{group}.setup", {0});
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    o << "[[authorities]]\n" << table_body(*this, "authorities.{group}", {at(gi)});
    if (const std::string st = table_body(*this, "authorities.{group}.setup", {at(gi)}); setup_used || st != default_setup)
      o << "[authorities.setup]\n" << st;
    for (std::size_t k = 0; k < groups[gi].capacity_plan.size(); ++k)
      o << "[[authorities.capacity_plan]]\n"
        << table_body(*this, "authorities.{group}.capacity_plan[{step}]", {at(gi), at(k)});
    o << "\n";
  }
  // Second-order Monte Carlo: a fitted file's inputs are written here with their point values
  // (already in the tables above), so the text needs no other file (docs/scenario-format.md).
  const Uncertainty& u = uncertainty;
  if (u.declared()) {
    o << "[uncertainty]\ndraw = " << quoted_string(uncertainty_draw_name(u.draw)) << "\n";
    if (!u.posterior.empty()) o << "posterior = " << quoted_string(u.posterior) << "\n";
    o << "replications_per_draw = " << u.replications_per_draw << "\n";
    const std::size_t d = u.inputs.size();
    if (!u.rank_correlation.empty() && u.rank_correlation.size() == d * d) {
      o << "rank_correlation = [";
      for (std::size_t i = 0; i < d; ++i) {
        o << (i ? ", [" : "[");
        for (std::size_t j = 0; j < d; ++j) o << (j ? ", " : "") << toml_float(u.rank_correlation[i * d + j]);
        o << "]";
      }
      o << "]\n";
    }
    for (const UncertainInput& in : u.inputs) {
      o << "[[uncertainty.input]]\npath = " << quoted_string(in.path) << "\nmode = \"" << (in.scale ? "scale" : "set")
        << "\"\ndistribution = " << detail::toml_distribution(in.distribution) << "\n";
      if (std::isfinite(in.point)) o << "point = " << toml_float(in.point) << "\n";
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace lepsim
