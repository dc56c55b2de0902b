// The fully resolved scenario as canonical TOML: every default filled in and
// every type override applied. It is itself a valid scenario file that runs to
// the same numbers (tests/test_scenario.cpp checks both).

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "lepsim/scenario.hpp"

namespace lepsim {
namespace {

//! Shortest text that reads back as the same double.
std::string num(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else out += c;
  }
  return out + "\"";
}

std::string list(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + num(v[i]);
  return out + "]";
}

std::string dist(const Distribution& d) {
  std::string out = "{ dist = \"" + std::string(Distribution::kind_name(d.kind())) + "\"";
  const auto names = Distribution::param_names(d.kind());
  const auto params = d.params();
  for (std::size_t i = 0; i < params.size() && i < names.size(); ++i) {
    std::string name(names[i]);
    if (d.kind() == DistKind::Normal) {
      if (!std::isfinite(params[i])) continue;  // untruncated side
      if (name == "lower") name = "min";
      if (name == "upper") name = "max";
    }
    out += ", " + name + " = " + num(params[i]);
  }
  if (d.kind() == DistKind::Discrete) out += ", values = " + list(d.values()) + ", weights = " + list(d.weights());
  if (d.kind() == DistKind::Empirical) out += ", values = " + list(d.observations());
  return out + " }";
}

std::string disciplines_table(const std::vector<double>& fte, const std::vector<std::string>& names) {
  std::string out = "{";
  bool first = true;
  for (std::size_t k = 0; k < fte.size(); ++k) {
    if (fte[k] == 0) continue;
    out += (first ? " " : ", ") + names[k] + " = " + num(fte[k]);
    first = false;
  }
  return out + (first ? "}" : " }");
}

std::string stage_names(const std::vector<int>& idx, const std::vector<Stage>& stages) {
  std::string out = "[";
  for (std::size_t i = 0; i < idx.size(); ++i) out += (i ? ", " : "") + quoted(stages[static_cast<std::size_t>(idx[i])].name);
  return out + "]";
}

std::string named(const char* const* names, const double* values, int n) {
  std::string out = "{ ";
  for (int i = 0; i < n; ++i) out += std::string(i ? ", " : "") + names[i] + " = " + num(values[i]);
  return out + " }";
}

// Each mechanism's keys, every value explicit. A mechanism that is off is written (with
// enabled = false) only when its values differ from the defaults, so that a file without
// the table resolves exactly as before and one with `enabled = false` keeps its values.

std::string setup_body(const SetupMechanism& x, const Scenario& s) {
  std::ostringstream o;
  o << "strategy_stages = " << stage_names(x.strategy_stages, s.stages) << "\n"
    << "procurement_stages = " << stage_names(x.procurement_stages, s.stages) << "\n"
    << "mobilisation_stages = " << stage_names(x.mobilisation_stages, s.stages) << "\n"
    << "planning_effect = " << num(x.planning_effect) << "\nvision_effect = " << num(x.vision_effect)
    << "\nmobilisation_effect = " << num(x.mobilisation_effect) << "\n";
  return o.str();
}

std::string partnering_body(const PartneringMechanism& x, const Scenario&) {
  std::ostringstream o;
  o << "long_run = " << num(x.long_run) << "\npractice_level = " << named(PRACTICE_NAMES, x.practice_level, PRACTICES)
    << "\nrecovery = " << num(x.recovery) << "\npractice_recovery = " << num(x.practice_recovery)
    << "\nvolatility = " << num(x.volatility) << "\nstart_level = " << num(x.start_level)
    << "\nstart_vision = " << num(x.start_vision) << "\nstart_governance = " << num(x.start_governance)
    << "\nstart_mobilisation = " << num(x.start_mobilisation) << "\ndelay_shock = " << num(x.delay_shock)
    << "\noverrun_shock = " << num(x.overrun_shock) << "\nontime_boost = " << num(x.ontime_boost)
    << "\nproductivity = " << num(x.productivity) << "\nmandated_practices = [";
  for (int i = 0, n = 0; i < PRACTICES; ++i)
    if (x.mandated >> i & 1u) o << (n++ ? ", " : "") << quoted(PRACTICE_NAMES[i]);
  o << "]\n";
  if (x.practice_cost_per_lep_year != 0) o << "practice_cost_per_lep_year = " << num(x.practice_cost_per_lep_year) << "\n";
  return o.str();
}

std::string disputes_body(const DisputeMechanism& x, const Scenario&) {
  return "base_rate = " + num(x.base_rate) + "\nhealth_sensitivity = " + num(x.health_sensitivity) +
         "\nmonths = " + dist(x.months) + "\n";
}

std::string capacity_body(const CapacityMechanism& x, const Scenario&) {
  return "hiring_lag_months = " + num(x.hiring_lag_months) + "\nattrition = " + num(x.attrition) +
         "\ncost_per_fte_month = " + num(x.cost_per_fte_month) + "\n";
}

std::string costs_body(const CostMechanism& x, const Scenario& s) {
  std::string out = "capital = {";
  for (std::size_t i = 0; i < x.capital.size() && i < s.types.size(); ++i)
    out += (i ? ", " : " ") + s.types[i].name + " = " + dist(x.capital[i]);
  out += x.capital.empty() ? "}\n" : " }\n";
  out += "delay_overrun = " + num(x.delay_overrun) + "\nhealth_overrun = " + num(x.health_overrun) +
         "\nlep_setup = " + dist(x.lep_setup) + "\n";
  if (x.spend_stage >= 0) out += "spend_stage = " + quoted(s.stages[static_cast<std::size_t>(x.spend_stage)].name) + "\n";
  return out;
}

std::string funding_body(const FundingMechanism& x, const Scenario& s) {
  return "annual_envelope = " + num(x.annual_envelope) + "\nstages = " + stage_names(x.stages, s.stages) + "\n";
}

std::string market_body(const MarketMechanism& x, const Scenario& s) {
  return "stages = " + stage_names(x.stages, s.stages) + "\nreference_workload = " + num(x.reference_workload) +
         "\nprice_elasticity = " + num(x.price_elasticity) + "\nduration_elasticity = " + num(x.duration_elasticity) +
         "\nmax_factor = " + num(x.max_factor) + "\n";
}

std::string transformation_body(const TransformationMechanism& x, const Scenario& s) {
  return "base = " + num(x.base) + "\nleadership_weight = " + num(x.leadership_weight) +
         "\nvision_weight = " + num(x.vision_weight) + "\nhealth_weight = " + num(x.health_weight) +
         "\ntarget_bonus = " + num(x.target_bonus) + "\ntarget_slowdown = " + num(x.target_slowdown) +
         "\nslowed_stages = " + stage_names(x.slowed_stages, s.stages) + "\n";
}

std::string exclusivity_body(const ExclusivityMechanism& x, const Scenario&) {
  return "weights = { cost = " + num(x.weight_cost) + ", quality = " + num(x.weight_quality) + ", time = " +
         num(x.weight_time) + ", volume = " + num(x.weight_volume) + " }\nthreshold = " + num(x.threshold) +
         "\nyears = " + std::to_string(x.years) + "\nact_probability = " + num(x.act_probability) +
         "\nsingle_procurement_months = " + dist(x.single_procurement) +
         "\nsingle_cost_premium = " + num(x.single_cost_premium) + "\n";
}

template <class M>
void mechanism(std::ostringstream& o, const char* name, const M& x, const Scenario& s,
               std::string (*body)(const M&, const Scenario&)) {
  const std::string text = body(x, s);
  if (!x.enabled && text == body(M{}, s)) return;
  o << "[" << name << "]\n" << (x.enabled ? "" : "enabled = false\n") << text << "\n";
}

std::string setup_table(const AuthoritySetup& a) {
  const auto chance = [](double p) { return num(p); };
  std::ostringstream o;
  o << "planning_quality = " << dist(a.planning_quality) << "\nvision_count = " << dist(a.vision_count)
    << "\nshadow_board = " << chance(a.shadow_board) << "\nindependent_chair = " << chance(a.independent_chair)
    << "\ntransition_team = " << chance(a.transition_team) << "\nco_location = " << chance(a.co_location)
    << "\nleadership = " << dist(a.leadership) << "\npractices = " << named(PRACTICE_NAMES, a.practices, PRACTICES)
    << "\ntransformation_targets = " << chance(a.transformation_targets) << "\n";
  return o.str();
}

}  // namespace

std::string Scenario::resolved_toml() const {
  std::ostringstream o;
  o << "# Fully resolved by lepsim: defaults filled in, type overrides applied.\n";
  // Top-level keys first: after a [table] header TOML would put them inside that table.
  o << "disciplines = [";
  for (std::size_t k = 0; k < disciplines.size(); ++k) o << (k ? ", " : "") << quoted(disciplines[k]);
  o << "]\n\n";
  o << "[scenario]\nname = " << quoted(name) << "\ndescription = " << quoted(description) << "\n";
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
  for (const auto& p : pools) {
    o << "[national." << p.name << "]\ncapacity = " << p.capacity << "\n";
    // Lever costs (issue 18) only when set, so scenarios without them resolve as before.
    if (p.cost_per_token_month != 0)
      o << "cost_per_token_month = " << num(p.cost_per_token_month) << "\nfunded_capacity = " << p.funded_capacity << "\n";
    o << "\n";
  }
  for (const auto& st : stages) {
    o << "[stages." << st.name << "]\nwork = " << dist(st.work) << "\n";
    if (st.planned) o << "planned = " << num(*st.planned) << "\n";
    o << "demand = " << disciplines_table(st.demand, disciplines) << "\n";
    if (st.after_given) {
      o << "after = [";
      for (std::size_t i = 0; i < st.after.size(); ++i) o << (i ? ", " : "") << quoted(stages[static_cast<std::size_t>(st.after[i])].name);
      o << "]\n";
    }
    if (st.national_pool >= 0) o << "national = " << quoted(pools[static_cast<std::size_t>(st.national_pool)].name) << "\n";
    o << "earliest_month = " << num(st.earliest_month) << "\n";
    if (st.authority_milestone >= 0)
      o << "after_authority = " << quoted(stages[static_cast<std::size_t>(st.authority_milestone)].name) << "\n";
    if (st.cost_per_authority != 0) o << "cost_per_authority = " << num(st.cost_per_authority) << "\n";  // lever cost, when set
    o << "\n";
  }
  for (const auto& t : types) {
    o << "[project_types." << t.name << "]\nstages = [";
    for (std::size_t i = 0; i < t.stages.size(); ++i) o << (i ? ", " : "") << quoted(stages[static_cast<std::size_t>(t.stages[i].stage)].name);
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
  if (m.lep_stage >= 0) o << "[lep]\nformed_at = " << quoted(stages[static_cast<std::size_t>(m.lep_stage)].name) << "\n\n";
  mechanism(o, "setup", m.setup, *this, setup_body);
  mechanism(o, "partnering", m.partnering, *this, partnering_body);
  mechanism(o, "disputes", m.disputes, *this, disputes_body);
  mechanism(o, "capacity", m.capacity, *this, capacity_body);
  mechanism(o, "costs", m.costs, *this, costs_body);
  mechanism(o, "funding", m.funding, *this, funding_body);
  mechanism(o, "market", m.market, *this, market_body);
  mechanism(o, "transformation", m.transformation, *this, transformation_body);
  mechanism(o, "exclusivity", m.exclusivity, *this, exclusivity_body);
  // A group's set-up is written when a mechanism that draws it is on, or when it is not the default.
  const bool setup_used = m.setup.enabled || m.partnering.enabled || m.transformation.enabled;
  const std::string default_setup = setup_table(AuthoritySetup{});
  for (const auto& g : groups) {
    o << "[[authorities]]\nname = " << quoted(g.name) << "\ncount = " << g.count << "\nentry_month = " << dist(g.entry_month) << "\n";
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
    if (g.first_type >= 0) o << "first = { type = " << quoted(types[static_cast<std::size_t>(g.first_type)].name) << ", count = " << g.first_count << " }\n";
    o << "team = " << disciplines_table(g.team, disciplines) << "\n";
    if (const std::string st = setup_table(g.setup); setup_used || st != default_setup) o << "[authorities.setup]\n" << st;
    for (const auto& step : g.capacity_plan)
      o << "[[authorities.capacity_plan]]\nmonth = " << num(step.month) << "\nafter_lep = " << (step.after_lep ? "true" : "false")
        << "\nteam = " << disciplines_table(step.team, disciplines) << "\n";
    o << "\n";
  }
  return o.str();
}

}  // namespace lepsim
