#pragma once
// The output registry: every output of a replication declared once (name, unit,
// dimensions, type, when present, how it is summarised), and the per-replication
// scalar metrics defined once over a ReplicationResult. The registry drives the
// result shapes (ReplicationResult::resize), the size and memory estimates, the run
// file's datasets and attributes, the reader's checks, the CSV export and its data
// dictionary, the convergence outputs and the determinism test (docs/run-file-format.md,
// "The output registry"; docs/extending.md, "Adding an output").

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "lepsim/scenario.hpp"

namespace lepsim {

//! Project states, one per project at every step (conservation holds over them).
enum class ProjectState : int { PENDING = 0, WAITING = 1, ACTIVE = 2, DONE = 3 };
inline constexpr int PROJECT_STATE_COUNT = 4;

//! Everything one replication writes. Series are row-major [step][k]. The shapes are the
//! registry's (output_registry()): resize() sizes every field it declares.
struct ReplicationResult {
  int steps = 0, stages = 0, disciplines = 0, pools = 0;

  std::vector<std::int32_t> stage_active;       //!< [T*S] stage instances progressing during the step
  std::vector<std::int32_t> stage_queued;       //!< [T*S] ready but held by a gate or by capacity
  std::vector<std::int32_t> stage_completions;  //!< [T*S] stage instances finished in the step
  std::vector<std::int32_t> completions;        //!< [T] projects finished in the step
  std::vector<std::int32_t> project_state;      //!< [T*4] projects per ProjectState during the step
  std::vector<double> utilisation;              //!< [T*D] allocated / available FTE of entered authorities
  std::vector<std::int32_t> pool_in_use;        //!< [T*P] national tokens held
  std::vector<std::int32_t> pool_queue;         //!< [T*P] stage instances waiting for a token

  // Per project, in creation order (authority by authority, then ordinal).
  std::vector<std::int32_t> project_authority;
  std::vector<std::int32_t> project_type;
  std::vector<std::int32_t> arrival_step;     //!< first step the project is in the programme
  std::vector<std::int32_t> completion_step;  //!< step its last stage finished; -1 if not by the horizon
  std::vector<double> completion_month;       //!< exact month (from the start) it finished; NaN if not by the horizon

  // Partnership mechanisms (docs/model.md, sections 11-18); empty when the mechanism is off.
  std::vector<double> health;                 //!< [T*3] mean, P10, P90 of health over formed LEPs; NaN before any forms
  std::vector<std::int32_t> leps_formed;      //!< [T] LEPs formed by the step
  std::vector<std::int32_t> disputes_active;  //!< [T] LEPs whose work a dispute stalls during the step
  std::vector<std::int32_t> exclusive_leps;   //!< [T] formed LEPs still holding exclusivity
  std::vector<double> spend;                  //!< [T*3] GBP m in the step: capital, LEP set-up, capacity
  std::vector<double> transformation;         //!< [T] cumulative transformation score
  std::vector<double> fte;                    //!< [T*D] FTE employed by authorities that have entered
  std::vector<std::int32_t> funding_queue;    //!< [T] stage instances waiting for funds
  std::vector<double> funding_committed;      //!< [T] GBP m committed in the programme year so far

  // [milestones] (docs/model.md, section 21): the record's counts at the end of each step; empty when off.
  std::vector<std::int32_t> authorities_entered;           //!< [T] authorities whose entry month has come
  std::vector<std::int32_t> authorities_in_strategy;       //!< [T] entered, first procurement not started
  std::vector<std::int32_t> authorities_in_procurement;    //!< [T] first procurement started, not closed
  std::vector<std::int32_t> authorities_past_procurement;  //!< [T] financial close, LEP or not
  std::vector<std::int32_t> non_lep_deals;                 //!< [T] closes that formed no LEP
  std::vector<std::int32_t> authorities_partner_selected;  //!< [T] preferred bidder chosen (or closed)
  std::vector<std::int32_t> schools_in_programme;          //!< [T] projects arrived
  std::vector<std::int32_t> schools_in_strategy;           //!< [T] arrived, pre-construction, authority in strategy
  std::vector<std::int32_t> schools_in_procurement;        //!< [T] the same, authority in procurement
  std::vector<std::int32_t> schools_in_followon;           //!< [T] the same, authority past procurement
  std::vector<std::int32_t> schools_in_construction;       //!< [T] construction started, not handed over

  // Per authority (LEP), at the end of the replication.
  std::vector<double> lep_final_health;                 //!< NaN if the LEP never formed
  std::vector<std::int32_t> lep_formed_step;            //!< -1 if never
  std::vector<std::int32_t> lep_disputes;               //!< disputes started
  std::vector<std::int32_t> lep_exclusivity_lost_step;  //!< -1 if kept (or never formed)
  std::vector<double> lep_capital_cost;                 //!< GBP m, capital incl. overruns, of its projects
  std::vector<double> lep_setup_cost;                   //!< GBP m
  std::vector<double> lep_capacity_cost;                //!< GBP m
  std::vector<std::int32_t> lep_schools_completed;
  std::vector<double> lep_transformation;  //!< summed score of its completed schools

  std::vector<double> project_cost;  //!< per project, GBP m incl. overrun (0 if not costed)

  std::int32_t projects = 0;      //!< projects generated (arrived or not)
  std::int32_t completed = 0;     //!< finished within the horizon
  std::int32_t finish_step = -1;  //!< step the last project finished; -1 if any is unfinished

  void resize(int steps, int stages, int disciplines, int pools, int authorities, const Mechanisms& mechanisms);
};

// ---- Dataset names and paths shared by the writer (engine) and the readers (analysis).
namespace dataset {
inline constexpr const char* SCENARIO = "scenario";
inline constexpr const char* DIMENSIONS = "dimensions";
inline constexpr const char* SERIES = "series";
inline constexpr const char* SUMMARY = "summary";
inline constexpr const char* REPLICATIONS = "replications";
inline constexpr const char* LEPS = "leps";
inline constexpr const char* PROJECTS = "projects";
inline constexpr const char* STEP_START_MONTH = "step_start_month";  //!< under /dimensions
//! Statistics of every /summary/SERIES group, in the order written.
inline constexpr const char* SUMMARY_STATISTICS[] = {"mean", "sd", "sum", "sum_sq", "count", "p10", "p50", "p90"};
}  // namespace dataset

//! Percentiles stored for every series' summary (docs/run-file-format.md).
inline constexpr double SUMMARY_PERCENTILES[] = {10.0, 50.0, 90.0};

//! Where an output lives: one value per replication and step (and component), per LEP,
//! per project, or one per replication.
enum class OutputScope { Series, Lep, Project, Replication };

//! The component axis of a series ([R, T, K]); None for a [R, T] series.
enum class Axis { None, Stage, Discipline, Pool, State, HealthStatistic, SpendKind };

//! When an output is written: always, or with a dimension or mechanism.
enum class Presence {
  Always,
  Disciplines,          //!< the scenario has disciplines
  Pools,                //!< the scenario has national pools
  Partnering,           //!< [partnering] on
  Leps,                 //!< a LEP-forming stage (lep_stage)
  Disputes,             //!< [disputes] on
  Exclusivity,          //!< [exclusivity] on
  Spend,                //!< [costs] or [capacity] on
  Costs,                //!< [costs] on
  Capacity,             //!< [capacity] on
  CapacityDisciplines,  //!< [capacity] on and the scenario has disciplines
  Transformation,       //!< [transformation] on
  Funding,              //!< [funding] on
  Milestones            //!< [milestones] on
};

//! The stored type of a value.
enum class ValueType { Int32, Int64, Float64 };

//! How a dataset is stored (docs/performance.md, "Output").
enum class Storage { Counts, Reals, DeflateOnly };

//! What a replication's shape depends on: the counts of each dimension and the mechanisms.
struct OutputShape {
  int steps = 0, stages = 0, disciplines = 0, pools = 0, authorities = 0;
  double step_months = 1;
  const Mechanisms* mechanisms = nullptr;
  bool per_project = true;  //!< /projects written ([output] per_project)
};
OutputShape output_shape(const Scenario& scenario);

//! One output, declared once.
struct OutputSpec {
  const char* name;  //!< dataset name in its group, and the export's name
  OutputScope scope;
  Axis axis;  //!< series only
  ValueType type;
  const char* unit;  //!< "" for an index column that has no unit attribute
  const char* description;
  Presence presence;
  Storage storage;
  double initial;                                      //!< resize()'s fill (NaN where "never" is NaN)
  std::vector<std::int32_t> ReplicationResult::*ints;  //!< the field holding it (int32 vectors)
  std::vector<double> ReplicationResult::*reals;       //!< the field holding it (float64 vectors)
  std::int32_t ReplicationResult::*scalar;             //!< the field holding it (per-replication scalars)
  //! Computed by the writer rather than held in a result: completed_cumulative (running sum
  //! of completions), first_project (running sum of projects).
  bool derived;

  bool is_series() const noexcept { return scope == OutputScope::Series; }
  bool real() const noexcept { return type == ValueType::Float64; }
  //! The group holding it in a run file (dataset:: names).
  const char* group() const noexcept;
  //! The "dims" attribute: "replication,step[,AXIS]" or "replication,authority"; "" when none.
  std::string dims() const;
  //! Bytes of one value.
  std::size_t value_bytes() const noexcept { return type == ValueType::Int32 ? 4 : 8; }
};

//! Every output, in the order the run file writes them.
const std::vector<OutputSpec>& output_registry();
//! The registry entry named `name` in `scope`, or null.
const OutputSpec* find_output(const std::string& name, OutputScope scope);
//! The registry entry named `name` in any scope, or null (names are unique across scopes
//! except where a LEP output and a series share a name; series come first).
const OutputSpec* find_output(const std::string& name);
bool present(Presence presence, const OutputShape& shape);
bool present(const OutputSpec& spec, const OutputShape& shape);
//! For people and the docs: "always", "[partnering] on", …
const char* presence_text(Presence presence);
//! Values per step of a series (1 for Axis::None).
int axis_size(Axis axis, const OutputShape& shape);
//! The dims attribute's name of an axis ("stage") and the /dimensions list naming its
//! components ("stages"); "" for Axis::None.
const char* axis_name(Axis axis);
const char* axis_dimension(Axis axis);
//! Fixed component names: project_states, health_statistics, spend_kinds.
const std::vector<std::string>& fixed_dimension(Axis axis);
//! A series' summary rule, for the docs and the export's dictionary.
const char* summary_rule(const OutputSpec& spec);

//! The values of `spec` in one result (series, LEP and project outputs; empty for scalars
//! and derived outputs), as doubles (int32 converted exactly). For the determinism test
//! and the metrics' readers.
std::vector<double> output_values(const OutputSpec& spec, const ReplicationResult& r);

// ---- Per-replication scalar metrics: one definition, for the engine (from a result in
// memory) and for analysis (from a run file, through metric_inputs()).

//! Whether a metric takes a month (`NAME@MONTH`).
enum class MetricMonth { None, Optional, Required };

struct MetricSpec {
  const char* name;
  const char* unit;
  const char* description;  //!< "MONTH" is replaced by the month where it takes one
  MetricMonth month;
  Presence presence;
  //! Outputs it reads (registry names), so a reader loads only these.
  std::vector<const char*> needs;
  //! Its value in one replication; `steps` = the steps ending by the month (all T without
  //! one); NaN when undefined (health before any LEP forms).
  double (*value)(const ReplicationResult& r, std::size_t steps, double step_months);
};

//! A metric with its month: what `completed_cumulative@60` names.
struct Metric {
  const MetricSpec* spec = nullptr;
  double month = -1;  //!< months from the start; < 0: none (the horizon)
  std::string name() const;
  std::string description() const;
  //! Steps ending by the month, at most `steps` (all of them without a month).
  std::size_t steps_by(int steps, double step_months) const;
  double value(const ReplicationResult& r, double step_months) const;
};

const std::vector<MetricSpec>& metric_registry();
//! Parses "NAME" or "NAME@MONTH" (also the older "completed_monthM" for
//! completed_cumulative@M). Throws UsageError naming the metric, with the valid names.
Metric parse_metric(const std::string& name);
//! parse_metric, then checks it applies to `shape` (its mechanism on, its month within
//! the horizon). Throws UsageError.
Metric parse_metric(const std::string& name, const OutputShape& shape);
//! The metrics a scenario writes, for messages: "completed", "completed_cumulative[@MONTH]"…
std::vector<std::string> metric_names(const OutputShape& shape);

//! Welford running moments (mean, M2) in the order values are added; NaN left out. The one
//! home of running moments (convergence rules, analysis' intervals).
struct RunningMoments {
  std::int64_t n = 0;
  double mean = 0, m2 = 0;
  void add(double x) {
    if (x != x) return;  // NaN: undefined in this replication
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
  }
  double variance() const { return n > 1 ? m2 / static_cast<double>(n - 1) : std::numeric_limits<double>::quiet_NaN(); }
};

}  // namespace lepsim
