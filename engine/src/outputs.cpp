#include "lepsim/outputs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "lepsim/error.hpp"

namespace lepsim {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr double INF = std::numeric_limits<double>::infinity();
using R = ReplicationResult;
using S = OutputScope;
using A = Axis;
using P = Presence;
using V = ValueType;
using St = Storage;

struct MilestoneSeries {
  const char* name;
  const char* unit;
  const char* description;  //!< at the end of the step
  std::vector<std::int32_t> R::*field;
};
//! The [milestones] series, each also a metric NAME[@MONTH] (its value at the month's last step).
const std::vector<MilestoneSeries>& milestone_series() {
  static const std::vector<MilestoneSeries> list = {
      {"authorities_entered", "authorities", "authorities whose entry month has come, by the end of the step",
       &R::authorities_entered},
      {"authorities_in_strategy", "authorities", "entered authorities whose first procurement has not started",
       &R::authorities_in_strategy},
      {"authorities_in_procurement", "authorities", "authorities whose first procurement has started and not closed",
       &R::authorities_in_procurement},
      {"authorities_past_procurement", "authorities",
       "authorities past financial close of their first procurement, LEP or not", &R::authorities_past_procurement},
      {"non_lep_deals", "authorities", "authorities whose financial close formed no LEP (the non-LEP route)",
       &R::non_lep_deals},
      {"authorities_partner_selected", "authorities",
       "authorities that have chosen a preferred bidder (milestones.partner_selected of the LEP stage's work) or closed",
       &R::authorities_partner_selected},
      {"schools_in_programme", "projects", "projects arrived (released into the programme) by the end of the step",
       &R::schools_in_programme},
      {"schools_in_strategy", "projects", "arrived projects not yet in construction whose authority is in strategy",
       &R::schools_in_strategy},
      {"schools_in_procurement", "projects", "arrived projects not yet in construction whose authority is in procurement",
       &R::schools_in_procurement},
      {"schools_in_followon", "projects",
       "arrived projects not yet in construction whose authority is past procurement (later phases)",
       &R::schools_in_followon},
      {"schools_in_construction", "projects", "projects whose construction has started and that are not handed over",
       &R::schools_in_construction},
  };
  return list;
}

OutputSpec series(const char* name, A axis, V type, const char* unit, const char* description, P presence,
                  std::vector<std::int32_t> R::*ints, std::vector<double> R::*reals, double initial = 0) {
  return {name,    S::Series, axis,  type,    unit, description, presence, type == V::Float64 ? St::Reals : St::Counts,
          initial, ints,      reals, nullptr, false};
}
OutputSpec lep(const char* name, V type, const char* unit, const char* description, P presence,
               std::vector<std::int32_t> R::*ints, std::vector<double> R::*reals, double initial) {
  return {name,    S::Lep, A::None, type,    unit, description, presence, type == V::Float64 ? St::Reals : St::Counts,
          initial, ints,   reals,   nullptr, false};
}

std::vector<OutputSpec> make_registry() {
  std::vector<OutputSpec> v = {
      // Per replication and step: /series/NAME, [R, T] or [R, T, K].
      series("stage_active", A::Stage, V::Int32, "stage instances", "stage instances progressing during the step", P::Always,
             &R::stage_active, nullptr),
      series("stage_queued", A::Stage, V::Int32, "stage instances",
             "stage instances ready but held by a gate or by lack of capacity during the step", P::Always, &R::stage_queued,
             nullptr),
      series("stage_completions", A::Stage, V::Int32, "stage instances per step", "stage instances finished in the step",
             P::Always, &R::stage_completions, nullptr),
      series("completions", A::None, V::Int32, "projects per step", "projects finished in the step", P::Always,
             &R::completions, nullptr),
      series("project_state", A::State, V::Int32, "projects",
             "projects in each state (pending, waiting, active, done) during the step", P::Always, &R::project_state,
             nullptr),
      series("utilisation", A::Discipline, V::Float64, "fraction of FTE",
             "FTE allocated / FTE of the authorities that have entered", P::Disciplines, nullptr, &R::utilisation),
      series("pool_in_use", A::Pool, V::Int32, "tokens", "national capacity tokens held", P::Pools, &R::pool_in_use,
             nullptr),
      series("pool_queue", A::Pool, V::Int32, "stage instances", "stage instances queuing for a national token", P::Pools,
             &R::pool_queue, nullptr),
      series("health", A::HealthStatistic, V::Float64, "0-1",
             "partnering health over formed LEPs at the end of the step: mean, P10, P90 (NaN before any LEP forms)",
             P::Partnering, nullptr, &R::health, NaN),
      series("leps_formed", A::None, V::Int32, "LEPs", "LEPs formed by the end of the step", P::Leps, &R::leps_formed,
             nullptr),
      series("disputes_active", A::None, V::Int32, "LEPs", "LEPs whose work a dispute stalls during the step", P::Disputes,
             &R::disputes_active, nullptr),
      series("exclusive_leps", A::None, V::Int32, "LEPs", "formed LEPs holding exclusivity at the end of the step",
             P::Exclusivity, &R::exclusive_leps, nullptr),
      series("spend", A::SpendKind, V::Float64, "GBP m per step",
             "money spent in the step: capital (incl. overruns), LEP set-up, capacity (staff)", P::Spend, nullptr,
             &R::spend),
      series("transformation_cumulative", A::None, V::Float64, "score",
             "transformation score of the schools completed by the end of the step", P::Transformation, nullptr,
             &R::transformation),
      series("fte", A::Discipline, V::Float64, "FTE", "FTE employed by the authorities that have entered",
             P::CapacityDisciplines, nullptr, &R::fte),
      series("funding_queue", A::None, V::Int32, "stage instances", "stage instances waiting for funds", P::Funding,
             &R::funding_queue, nullptr),
      series("funding_committed", A::None, V::Float64, "GBP m", "capital committed in the programme year so far", P::Funding,
             nullptr, &R::funding_committed),
  };
  // [milestones]: what the observed record counts (docs/model.md, section 21), one [R, T] series each.
  for (const MilestoneSeries& m : milestone_series())
    v.push_back(series(m.name, A::None, V::Int32, m.unit, m.description, P::Milestones, m.field, nullptr));
  OutputSpec cumulative = series("completed_cumulative", A::None, V::Int32, "projects",
                                 "projects finished by the end of the step", P::Always, nullptr, nullptr);
  cumulative.derived = true;
  v.push_back(cumulative);
  // One value per replication: /replications/NAME, [R].
  v.push_back({"projects", S::Replication, A::None, V::Int32, "projects", "projects generated in the replication", P::Always,
               St::Counts, 0, nullptr, nullptr, &R::projects, false});
  v.push_back({"completed", S::Replication, A::None, V::Int32, "projects", "projects finished within the horizon", P::Always,
               St::Counts, 0, nullptr, nullptr, &R::completed, false});
  v.push_back({"finish_step", S::Replication, A::None, V::Int32, "step",
               "step the last project finished; -1 if any is unfinished at the horizon", P::Always, St::Counts, -1, nullptr,
               nullptr, &R::finish_step, false});
  v.push_back({"first_project", S::Replication, A::None, V::Int64, "",
               "index of the replication's first row in /projects (when written)", P::Always, St::Counts, 0, nullptr,
               nullptr, nullptr, true});
  // One value per project when [output] per_project: /projects/NAME, [N]. Shuffle or not,
  // per column: whichever deflated smaller and faster on bsf.toml.
  v.push_back({"authority", S::Project, A::None, V::Int32, "index", "authority (index into /dimensions/authorities)",
               P::Always, St::DeflateOnly, 0, &R::project_authority, nullptr, nullptr, false});
  v.push_back({"type", S::Project, A::None, V::Int32, "index", "project type (index into /dimensions/project_types)",
               P::Always, St::Counts, 0, &R::project_type, nullptr, nullptr, false});
  v.push_back({"arrival_step", S::Project, A::None, V::Int32, "step",
               "first step the project is in the programme (steps if never)", P::Always, St::Counts, 0, &R::arrival_step,
               nullptr, nullptr, false});
  v.push_back({"completion_step", S::Project, A::None, V::Int32, "step",
               "step the project finished; -1 if not by the horizon", P::Always, St::DeflateOnly, 0, &R::completion_step,
               nullptr, nullptr, false});
  v.push_back({"completion_month", S::Project, A::None, V::Float64, "months",
               "exact time the project finished, months from the programme's start; NaN if not by the horizon", P::Always,
               St::DeflateOnly, NaN, nullptr, &R::completion_month, nullptr, false});
  // Costs deflate smaller and faster without the shuffle filter (measured: 4.9x -> 6.6x).
  v.push_back({"cost", S::Project, A::None, V::Float64, "GBP m",
               "capital incl. overrun of completed projects; committed capital otherwise (0 if none)", P::Costs,
               St::DeflateOnly, 0, nullptr, &R::project_cost, nullptr, false});
  // Per LEP (authority) at the end of the replication: /leps/NAME, [R, A].
  const std::vector<OutputSpec> leps = {
      lep("final_health", V::Float64, "0-1", "partnering health at the horizon (NaN if the LEP never formed)", P::Partnering,
          nullptr, &R::lep_final_health, NaN),
      lep("formed_step", V::Int32, "step", "step the LEP formed; -1 if never", P::Leps, &R::lep_formed_step, nullptr, -1),
      lep("disputes", V::Int32, "disputes", "disputes started", P::Disputes, &R::lep_disputes, nullptr, 0),
      lep("exclusivity_lost_step", V::Int32, "step", "step the authority withdrew exclusivity; -1 if kept or never formed",
          P::Exclusivity, &R::lep_exclusivity_lost_step, nullptr, -1),
      lep("capital_cost", V::Float64, "GBP m", "capital of its completed projects, overruns included", P::Costs, nullptr,
          &R::lep_capital_cost, 0),
      lep("setup_cost", V::Float64, "GBP m", "cost of setting up the LEP", P::Costs, nullptr, &R::lep_setup_cost, 0),
      lep("capacity_cost", V::Float64, "GBP m", "cost of the authority's staff over the horizon", P::Capacity, nullptr,
          &R::lep_capacity_cost, 0),
      lep("schools_completed", V::Int32, "projects", "projects completed within the horizon", P::Leps,
          &R::lep_schools_completed, nullptr, 0),
      lep("transformation", V::Float64, "score", "transformation score of its completed schools", P::Transformation, nullptr,
          &R::lep_transformation, 0),
  };
  v.insert(v.end(), leps.begin(), leps.end());
  return v;
}

// ---- Metrics.

double sum_steps(const std::vector<std::int32_t>& x, std::size_t steps) {
  double s = 0;
  for (std::size_t t = 0; t < steps; ++t) s += x[t];
  return s;
}
//! The sum of every value, in order (for int32 values exact in double).
template <typename T>
double sum_all(const std::vector<T>& x) {
  double s = 0;
  for (T v : x) s += v;
  return s;
}
//! The value of a per-step level series at the last step ending by the month (0 before any).
template <typename T>
double level_at(const std::vector<T>& x, std::size_t steps) {
  return steps == 0 ? 0.0 : static_cast<double>(x[steps - 1]);
}

constexpr std::size_t MILESTONE_SERIES = 11;
template <std::size_t K>
double milestone_at(const R& r, std::size_t steps, double) {
  return level_at(r.*milestone_series()[K].field, steps);
}
template <std::size_t... K>
void add_milestone_metrics(std::vector<MetricSpec>& v, std::index_sequence<K...>) {
  (v.push_back({milestone_series()[K].name,
                milestone_series()[K].unit,
                milestone_series()[K].description,
                MetricMonth::Optional,
                P::Milestones,
                {milestone_series()[K].name},
                &milestone_at<K>}),
   ...);
}

std::vector<MetricSpec> make_metrics() {
  std::vector<MetricSpec> v = {
      {"completed",
       "projects",
       "projects completed within the horizon",
       MetricMonth::None,
       P::Always,
       {"completed"},
       [](const R& r, std::size_t, double) { return static_cast<double>(r.completed); }},
      {"completed_cumulative",
       "projects",
       "projects completed by month MONTH",
       MetricMonth::Optional,
       P::Always,
       {"completions"},
       [](const R& r, std::size_t steps, double) { return sum_steps(r.completions, steps); }},
      {"projects",
       "projects",
       "projects generated",
       MetricMonth::None,
       P::Always,
       {"projects"},
       [](const R& r, std::size_t, double) { return static_cast<double>(r.projects); }},
      {"finish_month",
       "months from start",
       "month the last project finished (the end of its step); +inf after the horizon",
       MetricMonth::None,
       P::Always,
       {"finish_step"},
       [](const R& r, std::size_t, double dt) {
         return r.finish_step < 0 ? INF : static_cast<double>(r.finish_step + 1) * dt;
       }},
      {"spend_total",
       "GBP m",
       "money spent over the horizon (capital, LEP set-up, capacity)",
       MetricMonth::None,
       P::Spend,
       {"spend"},
       [](const R& r, std::size_t, double) { return sum_all(r.spend); }},
      {"health_final",
       "0-1",
       "partnering health at the horizon, mean over formed LEPs (NaN if none formed)",
       MetricMonth::None,
       P::Partnering,
       {"health"},
       [](const R& r, std::size_t, double) { return r.health[(static_cast<std::size_t>(r.steps) - 1) * 3]; }},
      {"disputes",
       "disputes",
       "disputes started",
       MetricMonth::None,
       P::Disputes,
       {"disputes"},
       [](const R& r, std::size_t, double) { return sum_all(r.lep_disputes); }},
      {"exclusivity_withdrawn",
       "LEPs",
       "LEPs whose exclusivity was withdrawn",
       MetricMonth::None,
       P::Exclusivity,
       {"exclusivity_lost_step"},
       [](const R& r, std::size_t, double) {
         double s = 0;
         for (auto x : r.lep_exclusivity_lost_step) s += x >= 0 ? 1.0 : 0.0;
         return s;
       }},
      {"leps_formed",
       "LEPs",
       "LEPs formed by month MONTH",
       MetricMonth::Optional,
       P::Leps,
       {"leps_formed"},
       [](const R& r, std::size_t steps, double) { return level_at(r.leps_formed, steps); }},
      {"exclusive_leps",
       "LEPs",
       "LEPs holding exclusivity at month MONTH",
       MetricMonth::Optional,
       P::Exclusivity,
       {"exclusive_leps"},
       [](const R& r, std::size_t steps, double) { return level_at(r.exclusive_leps, steps); }},
      {"transformation",
       "score",
       "transformation score of the schools completed by month MONTH",
       MetricMonth::Optional,
       P::Transformation,
       {"transformation_cumulative"},
       [](const R& r, std::size_t steps, double) { return level_at(r.transformation, steps); }},
  };
  // The [milestones] series at the month: a function per series (the value function is a
  // plain pointer), through the series' index in milestone_series().
  add_milestone_metrics(v, std::make_index_sequence<MILESTONE_SERIES>{});
  return v;
}

std::string month_text(double m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", m);
  return buf;
}

std::string metric_list() {
  std::string s;
  for (const MetricSpec& m : metric_registry())
    s += (s.empty() ? "" : ", ") + std::string(m.name) +
         (m.month == MetricMonth::Required   ? "@MONTH"
          : m.month == MetricMonth::Optional ? "[@MONTH]"
                                             : "");
  return s;
}

}  // namespace

OutputShape output_shape(const Scenario& sc) {
  return {sc.time.steps,
          static_cast<int>(sc.stages.size()),
          static_cast<int>(sc.disciplines.size()),
          static_cast<int>(sc.pools.size()),
          sc.authority_count(),
          sc.time.step_months,
          &sc.mechanisms,
          sc.per_project_output};
}

const std::vector<OutputSpec>& output_registry() {
  static const std::vector<OutputSpec> registry = make_registry();
  return registry;
}

const OutputSpec* find_output(const std::string& name, OutputScope scope) {
  for (const OutputSpec& s : output_registry())
    if (s.scope == scope && name == s.name) return &s;
  return nullptr;
}

const OutputSpec* find_output(const std::string& name) {
  for (const OutputSpec& s : output_registry())
    if (name == s.name) return &s;
  return nullptr;
}

const char* OutputSpec::group() const noexcept {
  switch (scope) {
    case OutputScope::Series:
      return dataset::SERIES;
    case OutputScope::Lep:
      return dataset::LEPS;
    case OutputScope::Project:
      return dataset::PROJECTS;
    case OutputScope::Replication:
      return dataset::REPLICATIONS;
  }
  return "";
}

std::string OutputSpec::dims() const {
  if (scope == OutputScope::Lep) return "replication,authority";
  if (scope != OutputScope::Series) return "";
  return axis == Axis::None ? "replication,step" : std::string("replication,step,") + axis_name(axis);
}

bool present(Presence p, const OutputShape& s) {
  const Mechanisms& m = *s.mechanisms;
  switch (p) {
    case P::Always:
      return true;
    case P::Disciplines:
      return s.disciplines > 0;
    case P::Pools:
      return s.pools > 0;
    case P::Partnering:
      return m.partnering.enabled;
    case P::Leps:
      return m.lep_stage >= 0;
    case P::Disputes:
      return m.disputes.enabled;
    case P::Exclusivity:
      return m.exclusivity.enabled;
    case P::Spend:
      return m.costs.enabled || m.capacity.enabled;
    case P::Costs:
      return m.costs.enabled;
    case P::Capacity:
      return m.capacity.enabled;
    case P::CapacityDisciplines:
      return m.capacity.enabled && s.disciplines > 0;
    case P::Transformation:
      return m.transformation.enabled;
    case P::Funding:
      return m.funding.enabled;
    case P::Milestones:
      return m.milestones.enabled;
  }
  return false;
}

bool present(const OutputSpec& spec, const OutputShape& shape) {
  if (spec.scope == OutputScope::Project && !shape.per_project) return false;
  return present(spec.presence, shape);
}

const char* presence_text(Presence p) {
  switch (p) {
    case P::Always:
      return "always";
    case P::Disciplines:
      return "the scenario has disciplines";
    case P::Pools:
      return "the scenario has national pools";
    case P::Partnering:
      return "[partnering] on";
    case P::Leps:
      return "a stage forms the LEP";
    case P::Disputes:
      return "[disputes] on";
    case P::Exclusivity:
      return "[exclusivity] on";
    case P::Spend:
      return "[costs] or [capacity] on";
    case P::Costs:
      return "[costs] on";
    case P::Capacity:
      return "[capacity] on";
    case P::CapacityDisciplines:
      return "[capacity] on and the scenario has disciplines";
    case P::Transformation:
      return "[transformation] on";
    case P::Funding:
      return "[funding] on";
    case P::Milestones:
      return "[milestones] on";
  }
  return "";
}

int axis_size(Axis axis, const OutputShape& s) {
  switch (axis) {
    case A::None:
      return 1;
    case A::Stage:
      return s.stages;
    case A::Discipline:
      return s.disciplines;
    case A::Pool:
      return s.pools;
    case A::State:
      return PROJECT_STATE_COUNT;
    case A::HealthStatistic:
      return 3;
    case A::SpendKind:
      return 3;
  }
  return 1;
}

//! Per Axis, in enum order: its name in dims attributes and the /dimensions list naming it.
constexpr const char* AXIS_NAMES[][2] = {{"", ""},
                                         {"stage", "stages"},
                                         {"discipline", "disciplines"},
                                         {"pool", "pools"},
                                         {"state", "project_states"},
                                         {"statistic", "health_statistics"},
                                         {"kind", "spend_kinds"}};

const char* axis_name(Axis axis) { return AXIS_NAMES[static_cast<int>(axis)][0]; }
const char* axis_dimension(Axis axis) { return AXIS_NAMES[static_cast<int>(axis)][1]; }

const std::vector<std::string>& fixed_dimension(Axis axis) {
  static const std::vector<std::string> states = {"pending", "waiting", "active", "done"}, health = {"mean", "p10", "p90"},
                                        spend = {"capital", "lep_setup", "capacity"}, none;
  switch (axis) {
    case A::State:
      return states;
    case A::HealthStatistic:
      return health;
    case A::SpendKind:
      return spend;
    default:
      return none;
  }
}

const char* summary_rule(const OutputSpec& spec) {
  switch (spec.scope) {
    case OutputScope::Series:
      return "per step and component across replications: mean, sd, sum, sum_sq, count, p10, p50, p90 (/summary); NaN "
             "values left out";
    case OutputScope::Lep:
      return "per replication and LEP; summed or counted over LEPs by the metrics";
    case OutputScope::Project:
      return "per project; not summarised";
    case OutputScope::Replication:
      return "per replication; metrics and headline figures across replications";
  }
  return "";
}

void ReplicationResult::resize(int t, int s, int d, int p, int a, const Mechanisms& m) {
  steps = t, stages = s, disciplines = d, pools = p;
  const OutputShape shape{t, s, d, p, a, 1, &m, true};
  const auto T = static_cast<std::size_t>(t), A = static_cast<std::size_t>(a);
  for (const OutputSpec& spec : output_registry()) {
    if (spec.derived) continue;
    const bool on = present(spec.presence, shape);
    std::size_t n = 0;
    if (spec.scope == OutputScope::Series) n = on ? T * static_cast<std::size_t>(axis_size(spec.axis, shape)) : 0;
    if (spec.scope == OutputScope::Lep) n = on ? A : 0;
    // Per project: filled as projects are generated; per replication: one value.
    if (spec.scope == OutputScope::Replication) {
      this->*spec.scalar = static_cast<std::int32_t>(spec.initial);
    } else if (spec.scope == OutputScope::Project) {
      if (spec.ints) (this->*spec.ints).clear();
      if (spec.reals) (this->*spec.reals).clear();
    } else if (spec.ints) {
      (this->*spec.ints).assign(n, static_cast<std::int32_t>(spec.initial));
    } else {
      (this->*spec.reals).assign(n, spec.initial);
    }
  }
}

std::vector<double> output_values(const OutputSpec& spec, const ReplicationResult& r) {
  if (spec.ints) return {(r.*spec.ints).begin(), (r.*spec.ints).end()};
  if (spec.reals) return r.*spec.reals;
  if (spec.scalar) return {static_cast<double>(r.*spec.scalar)};
  return {};
}

// ---- Metrics.

const std::vector<MetricSpec>& metric_registry() {
  static const std::vector<MetricSpec> registry = make_metrics();
  return registry;
}

std::string Metric::name() const {
  std::string n = spec->name;  // append(), not operator+: GCC 12 warns falsely (-Wrestrict)
  if (month >= 0) n.append("@").append(month_text(month));
  return n;
}

std::string Metric::description() const {
  std::string d = spec->description;
  const auto at = d.find("month MONTH");
  if (at != std::string::npos) d.replace(at, 11, month >= 0 ? "month " + month_text(month) : std::string("the horizon"));
  return d;
}

std::size_t Metric::steps_by(int steps, double step_months) const {
  const auto T = static_cast<std::size_t>(std::max(0, steps));
  if (month < 0) return T;
  // The last step ending by the month: step t covers months [t·dt, (t+1)·dt).
  const double n = std::floor(month / step_months + 1e-9);
  return n <= 0 ? 0 : std::min(T, static_cast<std::size_t>(n));
}

double Metric::value(const ReplicationResult& r, double step_months) const {
  return spec->value(r, steps_by(r.steps, step_months), step_months);
}

Metric parse_metric(const std::string& text) {
  std::string name = text, month;
  if (const auto at = text.find('@'); at != std::string::npos) name = text.substr(0, at), month = text.substr(at + 1);
  if (name.rfind("completed_month", 0) == 0 && month.empty() && name.size() > 15)  // the older spelling
    month = name.substr(15), name = "completed_cumulative";
  const MetricSpec* spec = nullptr;
  for (const MetricSpec& m : metric_registry())
    if (name == m.name) spec = &m;
  if (!spec) throw UsageError("unknown output '" + text + "'; outputs: " + metric_list());
  Metric m{spec, -1};
  if (!month.empty() || text.find('@') != std::string::npos) {
    if (spec->month == MetricMonth::None) throw UsageError("output '" + text + "': " + spec->name + " takes no @MONTH");
    std::size_t used = 0;
    double v = NaN;
    try {
      v = std::stod(month, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != month.size() || month.empty() || !(v > 0) || !std::isfinite(v))
      throw UsageError("output '" + text + "': the month after @ must be a number of months > 0, e.g. " + spec->name +
                       "@60");
    m.month = v;
  } else if (spec->month == MetricMonth::Required) {
    throw UsageError("output '" + text + "' needs a month: " + spec->name + "@MONTH, e.g. " + spec->name + "@60");
  }
  return m;
}

Metric parse_metric(const std::string& text, const OutputShape& shape) {
  const Metric m = parse_metric(text);
  if (!present(m.spec->presence, shape))
    throw UsageError("output '" + text + "' is not written by this scenario: it needs " + presence_text(m.spec->presence));
  const double horizon = static_cast<double>(shape.steps) * shape.step_months;
  if (m.month > horizon + 1e-9)
    throw UsageError("output '" + text + "': month " + month_text(m.month) + " is after the horizon (month " +
                     month_text(horizon) + ")");
  return m;
}

std::vector<std::string> metric_names(const OutputShape& shape) {
  std::vector<std::string> out;
  for (const MetricSpec& m : metric_registry()) {
    if (!present(m.presence, shape)) continue;
    out.push_back(std::string(m.name) + (m.month == MetricMonth::None ? "" : "[@MONTH]"));
  }
  return out;
}

}  // namespace lepsim
