// The fully resolved scenario as canonical TOML: every default filled in and
// every type override applied. It is itself a valid scenario file that runs to
// the same numbers (tests/test_scenario.cpp checks both).

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "lepsim/scenario.hpp"
#include "lepsim/text.hpp"
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
const auto num = toml_float;
const auto dist = detail::toml_distribution;
const auto disciplines_table = detail::toml_disciplines;

// Each mechanism's keys, every value explicit. A mechanism that is off is written (with
// enabled = false) only when its values differ from the defaults, so that a file without
// the table resolves exactly as before and one with `enabled = false` keeps its values.

//! A mechanism's table from the registry; one that is off is written only when its values
//! differ from the defaults.
template <class M>
void mechanism(std::ostringstream& o, const char* name, const Scenario& s, M Mechanisms::*field) {
  const M& x = s.mechanisms.*field;
  const std::string text = table_body(s, name, {});
  if (!x.enabled) {
    Scenario d = s;
    d.mechanisms.*field = M{};
    if (text == table_body(d, name, {})) return;
  }
  o << "[" << name << "]\n" << (x.enabled ? "" : "enabled = false\n") << text << "\n";
}

}  // namespace

std::string Scenario::resolved_toml() const {
  std::ostringstream o;
  o << "# Fully resolved by lepsim: defaults filled in, type overrides applied.\n";
  // Top-level keys first: after a [table] header TOML would put them inside that table.
  o << "disciplines = [";
  for (std::size_t k = 0; k < disciplines.size(); ++k) o << (k ? ", " : "") << quoted_string(disciplines[k]);
  o << "]\n\n";
  o << "[scenario]\nname = " << quoted_string(name) << "\ndescription = " << quoted_string(description) << "\n";
  if (!plan.empty()) {
    o << "plan = [";
    for (std::size_t i = 0; i < plan.size(); ++i) o << (i ? ", " : "") << "[" << num(plan[i][0]) << ", " << num(plan[i][1]) << "]";
    o << "]\n";
  }
  o << "\n";
  char start[16];
  std::snprintf(start, sizeof start, "%04d-%02d", time.start_year, time.start_month);
  o << "[time]\nstart = \"" << start << "\"\nstep_months = " << num(time.step_months)
    << "\nhorizon_months = " << num(time.horizon_months) << "  # " << time.steps << " steps\n\n";
  o << "[run]\nreplications = " << replications << "\nseed = " << seed << "\ndurations = \""
    << (durations == DurationBasis::PLANNED ? "planned" : "actual") << "\"\n\n";
  o << "[output]\nper_project = " << (per_project_output ? "true" : "false")
    << "\nchunk_replications = " << chunk_replications << "\n\n";
  for (std::size_t i = 0; i < pools.size(); ++i)
    o << "[national." << pools[i].name << "]\n" << table_body(*this, "national.{pool}", {static_cast<int>(i)}) << "\n";
  for (const auto& st : stages) {
    o << "[stages." << st.name << "]\nwork = " << dist(st.work) << "\n";
    if (st.planned) o << "planned = " << num(*st.planned) << "\n";
    o << "demand = " << disciplines_table(st.demand, disciplines) << "\n";
    if (st.after_given) {
      o << "after = [";
      for (std::size_t i = 0; i < st.after.size(); ++i) o << (i ? ", " : "") << quoted_string(stages[static_cast<std::size_t>(st.after[i])].name);
      o << "]\n";
    }
    if (st.national_pool >= 0) o << "national = " << quoted_string(pools[static_cast<std::size_t>(st.national_pool)].name) << "\n";
    o << "earliest_month = " << num(st.earliest_month) << "\n";
    if (st.authority_milestone >= 0)
      o << "after_authority = " << quoted_string(stages[static_cast<std::size_t>(st.authority_milestone)].name) << "\n";
    if (st.cost_per_authority != 0) o << "cost_per_authority = " << num(st.cost_per_authority) << "\n";  // lever cost, when set
    o << "\n";
  }
  for (const auto& t : types) {
    o << "[project_types." << t.name << "]\nstages = [";
    for (std::size_t i = 0; i < t.stages.size(); ++i) o << (i ? ", " : "") << quoted_string(stages[static_cast<std::size_t>(t.stages[i].stage)].name);
    o << "]\n";
    for (const auto& ts : t.stages) {
      o << "[project_types." << t.name << ".overrides." << stages[static_cast<std::size_t>(ts.stage)].name << "]\n";
      o << "work = " << dist(ts.work) << "\n";
      if (ts.planned) o << "planned = " << num(*ts.planned) << "\n";
      o << "demand = " << disciplines_table(ts.demand, disciplines) << "\n";
    }
    o << "\n";
  }
  // Partnership mechanisms (docs/scenario-format.md, "Partnership mechanisms").
  const Mechanisms& m = mechanisms;
  if (m.lep_stage >= 0) o << "[lep]\nformed_at = " << quoted_string(stages[static_cast<std::size_t>(m.lep_stage)].name) << "\n\n";
  mechanism(o, "setup", *this, &Mechanisms::setup);
  mechanism(o, "partnering", *this, &Mechanisms::partnering);
  mechanism(o, "disputes", *this, &Mechanisms::disputes);
  mechanism(o, "capacity", *this, &Mechanisms::capacity);
  mechanism(o, "costs", *this, &Mechanisms::costs);
  mechanism(o, "funding", *this, &Mechanisms::funding);
  mechanism(o, "market", *this, &Mechanisms::market);
  mechanism(o, "transformation", *this, &Mechanisms::transformation);
  mechanism(o, "exclusivity", *this, &Mechanisms::exclusivity);
  // A group's set-up is written when a mechanism that draws it is on, or when it is not the default.
  const bool setup_used = m.setup.enabled || m.partnering.enabled || m.transformation.enabled;
  Scenario defaults;  // one group with the default set-up, for the comparison
  defaults.groups.resize(1);
  const std::string default_setup = table_body(defaults, "authorities.{group}.setup", {0});
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const AuthorityGroup& g = groups[gi];
    o << "[[authorities]]\nname = " << quoted_string(g.name) << "\ncount = " << g.count << "\nentry_month = " << dist(g.entry_month) << "\n";
    if (g.arrivals)
      o << "arrivals = { rate_per_month = " << num(g.arrivals->rate_per_month) << ", start_month = " << num(g.arrivals->start_month)
        << ", end_month = " << num(g.arrivals->end_month) << " }\n";
    else
      o << "schools = " << dist(g.schools) << "\n";
    o << "release_interval_months = " << num(g.release_interval_months) << "\n";
    o << "mix = {";
    bool first = true;
    for (std::size_t i = 0; i < g.mix.size(); ++i) {
      if (g.mix[i] == 0) continue;
      o << (first ? " " : ", ") << types[i].name << " = " << num(g.mix[i]);
      first = false;
    }
    o << (first ? "}" : " }") << "\n";
    if (g.first_type >= 0) o << "first = { type = " << quoted_string(types[static_cast<std::size_t>(g.first_type)].name) << ", count = " << g.first_count << " }\n";
    o << "team = " << disciplines_table(g.team, disciplines) << "\n";
    if (const std::string st = table_body(*this, "authorities.{group}.setup", {static_cast<int>(gi)}); setup_used || st != default_setup) o << "[authorities.setup]\n" << st;
    for (const auto& step : g.capacity_plan)
      o << "[[authorities.capacity_plan]]\nmonth = " << num(step.month) << "\nafter_lep = " << (step.after_lep ? "true" : "false")
        << "\nteam = " << disciplines_table(step.team, disciplines) << "\n";
    o << "\n";
  }
  return o.str();
}

}  // namespace lepsim
