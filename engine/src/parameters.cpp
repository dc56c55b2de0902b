// The parameter registry (every scenario key, declared once) and the path API on it.
// Adding a key: one entry below, in the table and place it belongs (docs/extending.md,
// "Adding a parameter").

#include "lepsim/parameters.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>
#include <type_traits>
#include <unordered_map>

#include "lepsim/error.hpp"
#include "lepsim/text.hpp"
#include "scenario_internal.hpp"

namespace lepsim {

std::string ParamRange::rule(double hi_value) const {
  const bool bounded_lo = std::isfinite(lo), bounded_hi = std::isfinite(hi_value);
  const auto text = [](double x) {  // whole bounds in plain digits: 1000000, not 1e+06
    return std::fabs(x) < 1e15 && x == std::floor(x) ? std::to_string(static_cast<long long>(x)) : shortest_number(x);
  };
  const std::string l = text(lo), h = text(hi_value);
  if (bounded_lo && !bounded_hi) return std::string("must be ") + (lo_open ? "> " : ">= ") + l;
  if (!bounded_lo && bounded_hi) return std::string("must be ") + (hi_open ? "< " : "<= ") + h;
  if (!bounded_lo && !bounded_hi) return "must be a finite number";
  if (!lo_open && !hi_open) return "must be between " + l + " and " + h;
  return std::string("must be ") + (lo_open ? "> " : ">= ") + l + " and " + (hi_open ? "< " : "<= ") + h;
}

namespace {

using S = Scenario;
using I = ParamIndex;
constexpr double INF = std::numeric_limits<double>::infinity();

std::size_t at(const I& i, std::size_t k) { return static_cast<std::size_t>(i[k]); }

// Ranges of numbers, by meaning.
const ParamRange ANY{};
const ParamRange NONNEG{0, INF};
const ParamRange POSITIVE{0, INF, true};
const ParamRange UNIT{0, 1};
const ParamRange OPEN_UNIT{0, 1, true, true};
const ParamRange EFFECT{0, 1.9};  // multipliers 1 + e x (q - 0.5) with q in [0, 1] stay > 0
const ParamRange FTE{0, 1e6};
const ParamRange LEVER_COST{0, 1e6};  // lever costs, GBP m (docs/model.md, "Lever costs")

ParamSpec number(std::string path, std::string unit, std::string def, ParamRange r, std::string meaning,
                 ParamSlot (*slot)(S&, const I&), std::string why = "") {
  ParamSpec p;
  p.path = std::move(path), p.unit = std::move(unit), p.default_text = std::move(def), p.range = r;
  p.meaning = std::move(meaning), p.slot = slot, p.why = std::move(why);
  return p;
}
ParamSpec integer(std::string path, std::string unit, std::string def, ParamRange r, std::string meaning,
                  ParamSlot (*slot)(S&, const I&), std::string why = "") {
  ParamSpec p = number(std::move(path), std::move(unit), std::move(def), r, std::move(meaning), slot, std::move(why));
  p.type = ParamType::Integer;
  return p;
}
ParamSpec boolean(std::string path, std::string def, std::string meaning, ParamSlot (*slot)(S&, const I&)) {
  ParamSpec p = number(std::move(path), "", std::move(def), ANY, std::move(meaning), slot);
  p.type = ParamType::Boolean;
  return p;
}
ParamSpec probability(std::string path, std::string def, std::string meaning, ParamSlot (*slot)(S&, const I&)) {
  ParamSpec p = number(std::move(path), "probability", std::move(def), UNIT, std::move(meaning), slot);
  p.type = ParamType::Probability;
  return p;
}
//! A distribution whose support is >= 0 (`positive`: and can exceed 0).
ParamSpec distribution(std::string path, std::string unit, std::string def, std::string meaning,
                       ParamSlot (*slot)(S&, const I&), bool positive = false, double max = INF) {
  ParamSpec p = number(std::move(path), std::move(unit), std::move(def), ParamRange{0, max}, std::move(meaning), slot);
  p.type = ParamType::Distribution;
  p.positive = positive;
  return p;
}
//! A distribution every value of which lies in [lo, hi] (a quality, a count of activities).
ParamSpec quality(std::string path, std::string unit, std::string def, double lo, double hi, std::string meaning,
                  ParamSlot (*slot)(S&, const I&)) {
  ParamSpec p = distribution(std::move(path), std::move(unit), std::move(def), std::move(meaning), slot);
  p.range = ParamRange{lo, hi};
  p.within = true;
  return p;
}
ParamSpec structure(std::string path, std::string type_text, std::string def, std::string rule, std::string meaning,
                    std::string (*write)(const S&, const I&) = nullptr, std::string unit = "") {
  ParamSpec p;
  p.path = std::move(path), p.type = ParamType::Structure, p.type_text = std::move(type_text);
  p.default_text = std::move(def), p.rule_text = std::move(rule), p.meaning = std::move(meaning), p.write = write;
  p.unit = std::move(unit);
  return p;
}
//! A key the resolved scenario writes only when its value is not `v` (see ParamSpec::omit_when).
ParamSpec omitted_at(ParamSpec p, double v) {
  p.omit_when = v;
  return p;
}
ParamSpec with_rule(ParamSpec p, std::string rule) {
  p.rule_text = std::move(rule);
  return p;
}
//! A key whose resolved text is `write`'s, not its slot's (empty text: the key is left out).
ParamSpec written(ParamSpec p, std::string (*write)(const S&, const I&)) {
  p.write = write;
  return p;
}

#define SLOT(expr)                    \
  [](S& s, const I& i) -> ParamSlot { \
    (void)s, (void)i;                 \
    return &(expr);                   \
  }
#define WRITE(expr)                           \
  [](const S& s, const I& i) -> std::string { \
    (void)s, (void)i;                         \
    return expr;                              \
  }

//! ["a", "b"]
std::string quoted_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t k = 0; k < names.size(); ++k) out += (k ? ", " : "") + quoted_string(names[k]);
  return out + "]";
}
//! The resolved text of a name (a stage's, a pool's, a type's), or "" (left out) for index -1.
std::string name_or_none(const std::vector<std::string>& names, int k) {
  return k < 0 ? std::string() : quoted_string(names[static_cast<std::size_t>(k)]);
}
template <class T>
std::vector<std::string> names_of(const std::vector<T>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const T& x : v) out.push_back(x.name);
  return out;
}

std::vector<ParamSpec> build_registry() {
  using detail::inline_table;
  using detail::toml_disciplines;
  using detail::toml_named;
  using detail::toml_stage_names;
  // (Local, not namespace-scope: the registry may be built while other files' statics are.)
  const std::string EFFECT_WHY = " (so that the multiplier 1 + e x (0.5 - q) stays > 0 for q in [0, 1])";
  const std::string WEIGHT_WHY = " (so that the factor 1 + w x (q - 0.5) stays > 0)";
  const std::string stage_list_rule = "existing stages, no duplicates";
  const std::string fte_rule = "declared disciplines; each `>= 0` and `<= 1e6`";
  std::vector<ParamSpec> r = {
      // --- file directives (read before the rest; docs: "Inheriting from a base scenario")
      structure("base", "string (a file path)", "none",
                "top-level, above the first `[header]`; relative to the folder of the file that names it, or absolute",
                "the scenario this file changes"),
      structure("replace", "list of top-level table names", "`[]`",
                "top-level, above the first `[header]`; needs `base`; names such as `\"authorities\"`, `\"stages\"`",
                "tables and lists the file gives whole instead of changing the base's"),
      structure("disciplines", "list of names", "`[]`", "names, no duplicates",
                "the kinds of staff stages demand and teams supply", WRITE(quoted_list(s.disciplines))),

      // --- [scenario], [time], [run], [output]
      structure("scenario", "table", "required", "", "what the scenario is"),
      structure("scenario.name", "string", "required", "", "the scenario's name", WRITE(quoted_string(s.name))),
      structure("scenario.description", "string", "`\"\"`", "", "one line on what it is", WRITE(quoted_string(s.description))),
      structure("scenario.plan", "list of `[month, cumulative_projects]`", "none",
                "at least one point; months `> 0` and `<= time.horizon_months`, strictly increasing; counts `>= 0` "
                "and non-decreasing",
                "the programme's stated plan, drawn against the runs", [](const S& s, const I&) {
                  if (s.plan.empty()) return std::string();
                  std::string o = "[";
                  for (std::size_t k = 0; k < s.plan.size(); ++k)
                    o += (k ? ", [" : "[") + toml_float(s.plan[k][0]) + ", " + toml_float(s.plan[k][1]) + "]";
                  return o + "]";
                }),
      structure("scenario.fitted", "string (a file path)", "none",
                "a fitted file (`lepsim calibrate --fitted`), relative to the scenario file",
                "applies each fitted input's value; its marginals become uncertain inputs"),
      structure("time", "table", "required", "", "the time grid"),
      structure("time.start", "string", "required",
                "exactly `YYYY-MM`, year 1900-2200, month 01-12 (a TOML date such as `2005-04-01` is not accepted)",
                "year-month of step 0", [](const S& s, const I&) {
                  char start[16];
                  std::snprintf(start, sizeof start, "\"%04d-%02d\"", s.time.start_year, s.time.start_month);
                  return std::string(start);
                }),
      number("time.step_months", "months", "1", ParamRange{0, 12, true}, "months per step", SLOT(s.time.step_months)),
      written(with_rule(number("time.horizon_months", "months", "required", POSITIVE, "length of the run",
                               SLOT(s.time.horizon_months)),
                        "`ceil(horizon_months / step_months)` at most 1,000,000 steps"),
              WRITE(toml_float(s.time.horizon_months) + "  # " + std::to_string(s.time.steps) + " steps")),
      structure("run", "table", "none", "", "run settings"),
      integer("run.replications", "", "100", ParamRange{1, 1e8}, "replications to run (`--replications` overrides)",
              SLOT(s.replications)),
      integer("run.seed", "", "1", NONNEG, "seed of every random stream (`--seed` overrides)", SLOT(s.seed)),
      structure("run.durations", "string", "`\"actual\"`", "`\"actual\"` or `\"planned\"`",
                "draw stage work (actual) or run the plan (planned)",
                WRITE(std::string(s.durations == DurationBasis::PLANNED ? "\"planned\"" : "\"actual\""))),
      structure("output", "table", "none", "", "what the run file holds"),
      boolean("output.per_project", "`true`", "write per-project records", SLOT(s.per_project_output)),
      integer("output.chunk_replications", "", "0", ParamRange{0, 1e6}, "replications per output chunk; 0: the engine chooses",
              SLOT(s.chunk_replications)),

      // --- [national.NAME]
      structure("national", "table of pools", "none", "", "national capacity pools"),
      integer("national.{pool}.capacity", "tokens", "required", ParamRange{1, 1e6}, "stages holding one token at a time",
              SLOT(s.pools[at(i, 0)].capacity), " tokens"),
      omitted_at(number("national.{pool}.cost_per_token_month", "GBP m per token-month", "0", LEVER_COST,
                        "monthly cost of tokens above `funded_capacity` (a lever cost, accounting only)",
                        SLOT(s.pools[at(i, 0)].cost_per_token_month)),
                 0.0),
      omitted_at(with_rule(integer("national.{pool}.funded_capacity", "tokens", "0", ParamRange{0, 1e6},
                                   "tokens already paid for, not costed", SLOT(s.pools[at(i, 0)].funded_capacity)),
                           "`<= capacity`"),
                 0.0),

      // --- [stages.NAME]
      structure("stages", "table of stages", "required", "at least one stage", "the stages"),
      distribution("stages.{stage}.work", "months", "required", "months at full resourcing", SLOT(s.stages[at(i, 0)].work),
                   true),
      number("stages.{stage}.planned", "months", "none", POSITIVE, "planned duration (the plan line)",
             SLOT(s.stages[at(i, 0)].planned), " months"),
      structure("stages.{stage}.demand", "table discipline = FTE", "`{}` (no staff)", fte_rule,
                "FTE used while progressing at full rate", WRITE(toml_disciplines(s.stages[at(i, 0)].demand, s.disciplines))),
      number("stages.{stage}.demand.{discipline}", "FTE", "0", FTE, "FTE of one discipline",
             SLOT(s.stages[at(i, 0)].demand[at(i, 1)])),
      structure("stages.{stage}.after", "list of stage names", "the stage listed before it in each type",
                "existing stages, not itself, no duplicates, no cycles", "predecessors", [](const S& s, const I& i) {
                  const Stage& st = s.stages[at(i, 0)];
                  return st.after_given ? toml_stage_names(st.after, s) : std::string();
                }),
      structure("stages.{stage}.national", "string (pool name)", "none", "an existing `[national.NAME]`",
                "the pool whose token the stage holds",
                WRITE(name_or_none(names_of(s.pools), s.stages[at(i, 0)].national_pool))),
      number("stages.{stage}.earliest_month", "programme month", "0", NONNEG, "may not start before this month",
             SLOT(s.stages[at(i, 0)].earliest_month)),
      structure("stages.{stage}.after_authority", "string (stage name)", "none",
                "an existing stage other than this one, run by some type of every group that runs this stage",
                "waits until a project of the same authority completed that stage",
                WRITE(name_or_none(names_of(s.stages), s.stages[at(i, 0)].authority_milestone))),
      omitted_at(number("stages.{stage}.cost_per_authority", "GBP m per authority", "0", LEVER_COST,
                        "charged once at month 0 for every authority (a lever cost, accounting only)",
                        SLOT(s.stages[at(i, 0)].cost_per_authority)),
                 0.0),

      // --- [project_types.NAME]
      structure("project_types", "table of types", "required", "at least one type", "the project types"),
      structure("project_types.{type}.stages", "list of stage names", "required",
                "1 to 64 existing stages, no duplicates, each listed after its predecessors", "the stages a project runs",
                [](const S& s, const I& i) {
                  std::vector<int> idx;
                  for (const auto& ts : s.types[at(i, 0)].stages) idx.push_back(ts.stage);
                  return toml_stage_names(idx, s);
                }),
      structure("project_types.{type}.overrides", "table stage = { work, planned, demand }", "none",
                "stages listed in `stages`; keys `work`, `planned`, `demand` with the rules of `[stages.NAME]`",
                "this type's own values for some stages"),
      distribution("project_types.{type}.overrides.{tstage}.work", "months", "the stage's", "months at full resourcing",
                   SLOT(s.types[at(i, 0)].stages[at(i, 1)].work), true),
      number("project_types.{type}.overrides.{tstage}.planned", "months", "the stage's", POSITIVE, "planned duration",
             SLOT(s.types[at(i, 0)].stages[at(i, 1)].planned), " months"),
      structure("project_types.{type}.overrides.{tstage}.demand", "table discipline = FTE", "the stage's", fte_rule,
                "replaces the stage's whole demand for this type",
                WRITE(toml_disciplines(s.types[at(i, 0)].stages[at(i, 1)].demand, s.disciplines))),
      number("project_types.{type}.overrides.{tstage}.demand.{discipline}", "FTE", "the stage's", FTE, "FTE of one discipline",
             SLOT(s.types[at(i, 0)].stages[at(i, 1)].demand[at(i, 2)])),

      // --- [[authorities]]
      structure("authorities", "array of tables", "required", "one or more groups", "groups of authorities declared alike"),
      structure("authorities.{group}.name", "name", "required",
                "unique among groups; in a variant, the base's group it changes", "the group's name",
                WRITE(quoted_string(s.groups[at(i, 0)].name))),
      structure("authorities.{group}.add", "boolean", "`false`", "only in a variant: `true` for a group its base lacks",
                "the entry adds a group instead of changing one"),
      integer("authorities.{group}.count", "authorities", "1", ParamRange{1, MAX_AUTHORITIES},
              "authorities in the group (all groups together at most 32,768)", SLOT(s.groups[at(i, 0)].count)),
      distribution("authorities.{group}.entry_month", "programme month", "0", "month each authority enters",
                   SLOT(s.groups[at(i, 0)].entry_month)),
      written(distribution("authorities.{group}.schools", "projects per authority", "— (this or `arrivals`)",
                           "projects per authority (rounded half away from zero)", SLOT(s.groups[at(i, 0)].schools), false,
                           MAX_PROJECTS_PER_AUTHORITY - 1),
              [](const S& s, const I& i) {
                const AuthorityGroup& g = s.groups[at(i, 0)];
                return g.arrivals ? std::string() : detail::toml_distribution(g.schools);
              }),
      structure("authorities.{group}.arrivals", "table", "— (this or `schools`)", "see below",
                "projects arrive as a Poisson process", [](const S& s, const I& i) {
                  return s.groups[at(i, 0)].arrivals ? inline_table(s, "authorities.{group}.arrivals", i) : std::string();
                }),
      number("authorities.{group}.arrivals.rate_per_month", "projects per month", "required", POSITIVE, "arrival rate",
             [](S& s, const I& i) -> ParamSlot {
               auto& a = s.groups[at(i, 0)].arrivals;
               return a ? ParamSlot(&a->rate_per_month) : ParamSlot();
             }),
      number("authorities.{group}.arrivals.start_month", "months after the authority's entry", "0", NONNEG,
             "arrivals begin", [](S& s, const I& i) -> ParamSlot {
               auto& a = s.groups[at(i, 0)].arrivals;
               return a ? ParamSlot(&a->start_month) : ParamSlot();
             }),
      number("authorities.{group}.arrivals.end_month", "programme month (absolute)", "`horizon_months`", NONNEG,
             "arrivals end", [](S& s, const I& i) -> ParamSlot {
               auto& a = s.groups[at(i, 0)].arrivals;
               return a ? ParamSlot(&a->end_month) : ParamSlot();
             }),
      number("authorities.{group}.release_interval_months", "months", "0", NONNEG,
             "project k is released k x interval after entry", SLOT(s.groups[at(i, 0)].release_interval_months)),
      structure("authorities.{group}.mix", "table type = share", "all of the one type, when there is only one",
                "known types; shares `>= 0`, sum `> 0`; required with two or more types",
                "probability of each project type (normalised)", WRITE(toml_disciplines(s.groups[at(i, 0)].mix, names_of(s.types))),
                "share"),
      structure("authorities.{group}.first", "table `{ type, count }`", "none",
                "`type` an existing type, `count` 0 to 65,535; both required", "type of the first projects",
                [](const S& s, const I& i) {
                  return s.groups[at(i, 0)].first_type >= 0 ? inline_table(s, "authorities.{group}.first", i) : std::string();
                }),
      structure("authorities.{group}.first.type", "type name", "required", "an existing project type",
                "type of the first projects", WRITE(name_or_none(names_of(s.types), s.groups[at(i, 0)].first_type))),
      integer("authorities.{group}.first.count", "projects", "required", ParamRange{0, MAX_PROJECTS_PER_AUTHORITY - 1},
              "how many first projects", [](S& s, const I& i) -> ParamSlot {
                auto& g = s.groups[at(i, 0)];
                return g.first_type >= 0 ? ParamSlot(&g.first_count) : ParamSlot();
              }),
      structure("authorities.{group}.first_phase", "table `{ type, schools }`", "none (each project on its own)",
                "`type` an existing type; both required", "the first phase: schools procured with the first projects",
                [](const S& s, const I& i) {
                  return s.groups[at(i, 0)].first_phase_type >= 0 ? inline_table(s, "authorities.{group}.first_phase", i)
                                                                  : std::string();
                }),
      structure("authorities.{group}.first_phase.type", "type name", "required", "an existing project type",
                "type of the first phase's other schools (held until financial close)",
                WRITE(name_or_none(names_of(s.types), s.groups[at(i, 0)].first_phase_type))),
      distribution("authorities.{group}.first_phase.schools", "schools", "required",
                   "schools in the first phase, the first projects included (rounded)",
                   [](S& s, const I& i) -> ParamSlot {
                     auto& g = s.groups[at(i, 0)];
                     return g.first_phase_type >= 0 ? ParamSlot(&g.first_phase_schools) : ParamSlot();
                   },
                   false, MAX_PROJECTS_PER_AUTHORITY - 1),
      omitted_at(probability("authorities.{group}.non_lep", "0",
                             "chance an authority closes its first procurement without a LEP (needs `[lep]`)",
                             SLOT(s.groups[at(i, 0)].non_lep)),
                 0.0),
      structure("authorities.{group}.team", "table discipline = FTE", "`{}` (no staff)", fte_rule,
                "FTE per authority at entry", WRITE(toml_disciplines(s.groups[at(i, 0)].team, s.disciplines)),
                "FTE per authority"),
      number("authorities.{group}.team.{discipline}", "FTE", "0", FTE, "FTE of one discipline",
             SLOT(s.groups[at(i, 0)].team[at(i, 1)])),
      structure("authorities.{group}.setup", "table `[authorities.setup]`", "all defaults",
                "see [`[authorities.setup]`](#authoritiessetup)", "how the group sets up its partnership"),
      structure("authorities.{group}.capacity_plan", "array of tables `[[authorities.capacity_plan]]`",
                "none (the `team` throughout)", "see [`[[authorities.capacity_plan]]`](#authoritiescapacity_plan)",
                "the team aimed for over time"),

      // --- [authorities.setup]
      quality("authorities.{group}.setup.planning_quality", "quality `P`, 0-1 (PN1)", "0.5", 0, 1,
              "strategic planning quality", SLOT(s.groups[at(i, 0)].setup.planning_quality)),
      structure("authorities.{group}.setup.vision_activities", "list of integers", "— (one of three, see below)",
                "each 1 to 10, no duplicates", "PN3 activity numbers done"),
      structure("authorities.{group}.setup.self_assessment", "list of booleans", "— (one of three)",
                "exactly 10 `true` / `false`", "answers to PN3's ten questions"),
      quality("authorities.{group}.setup.vision_count", "activities done, 0-10", "5 (one of three)", 0, VISION_ACTIVITIES,
              "shared-vision activities done (PN3)", SLOT(s.groups[at(i, 0)].setup.vision_count)),
      probability("authorities.{group}.setup.shadow_board", "0.5", "a shadow board (PN4)",
                  SLOT(s.groups[at(i, 0)].setup.shadow_board)),
      probability("authorities.{group}.setup.independent_chair", "0.5", "an independent chair (PN4)",
                  SLOT(s.groups[at(i, 0)].setup.independent_chair)),
      probability("authorities.{group}.setup.transition_team", "0.5", "a transition team at selected bidder (PN5)",
                  SLOT(s.groups[at(i, 0)].setup.transition_team)),
      probability("authorities.{group}.setup.co_location", "0.5", "co-location (PN5)",
                  SLOT(s.groups[at(i, 0)].setup.co_location)),
      quality("authorities.{group}.setup.leadership", "quality `L`, 0-1 (PN2)", "0.5", 0, 1, "leadership",
              SLOT(s.groups[at(i, 0)].setup.leadership)),
      structure("authorities.{group}.setup.practices", "table practice = probability", "0.5 each",
                "[practice names](#partnership-mechanisms); a practice not named keeps 0.5", "chance of each practice",
                WRITE(toml_named(PRACTICE_NAMES, s.groups[at(i, 0)].setup.practices, PRACTICES))),
      probability("authorities.{group}.setup.practices.{practice}", "0.5", "chance the LEP runs the practice",
                  SLOT(s.groups[at(i, 0)].setup.practices[at(i, 1)])),
      probability("authorities.{group}.setup.transformation_targets", "0.5", "targets in contracts (PN2)",
                  SLOT(s.groups[at(i, 0)].setup.transformation_targets)),

      // --- [[authorities.capacity_plan]]
      number("authorities.{group}.capacity_plan[{step}].month", "months after entry (or after the LEP forms)", "0", NONNEG,
             "from this month on, aim for `team`", SLOT(s.groups[at(i, 0)].capacity_plan[at(i, 1)].month)),
      boolean("authorities.{group}.capacity_plan[{step}].after_lep", "`false`", "count `month` from the LEP's formation",
              SLOT(s.groups[at(i, 0)].capacity_plan[at(i, 1)].after_lep)),
      structure("authorities.{group}.capacity_plan[{step}].team", "table discipline = FTE", "required",
                fte_rule + "; disciplines not named are 0", "the target team",
                WRITE(toml_disciplines(s.groups[at(i, 0)].capacity_plan[at(i, 1)].team, s.disciplines)), "FTE per authority"),
      number("authorities.{group}.capacity_plan[{step}].team.{discipline}", "FTE", "0", FTE, "target FTE of one discipline",
             SLOT(s.groups[at(i, 0)].capacity_plan[at(i, 1)].team[at(i, 2)])),

      // --- [lep]
      structure("lep", "table", "none", "", "when an authority's LEP forms"),
      structure("lep.formed_at", "stage name", "required",
                "an existing stage that some project type runs (`no project type runs that stage, so no LEP would ever "
                "form`)",
                "the stage whose first completion forms the LEP",
                WRITE(name_or_none(names_of(s.stages), s.mechanisms.lep_stage))),
      written(distribution("lep.non_lep_procurement_months", "months", "0",
                           "added to the first stage of each later school of an authority without a LEP",
                           SLOT(s.mechanisms.non_lep_procurement)),
              [](const S& s, const I&) {
                const Distribution& d = s.mechanisms.non_lep_procurement;
                return d.kind() == DistKind::Fixed && d.mean() == 0.0 ? std::string() : detail::toml_distribution(d);
              }),
      omitted_at(number("lep.non_lep_procurement_factor", "", "1", POSITIVE,
                        "the non-LEP deal's first procurement: work x this", SLOT(s.mechanisms.non_lep_procurement_factor)),
                 1.0),
      omitted_at(number("lep.non_lep_cost_premium", "fraction of capital", "0", NONNEG,
                        "added to the capital of those later schools", SLOT(s.mechanisms.non_lep_cost_premium)),
                 0.0),

      // --- [milestones]
      structure("milestones", "table", "none", "needs `[lep]`",
                "the record's milestone series (authorities and schools by phase)"),
      structure("milestones.construction_stages", "list of stage names", "required", "at least one; " + stage_list_rule,
                "a school is in construction from the first of these starting to its handover",
                WRITE(toml_stage_names(s.mechanisms.milestones.construction_stages, s))),
      number("milestones.partner_selected", "fraction of work", "0.7", UNIT,
             "preferred bidder chosen when this much of the LEP stage's work is done",
             SLOT(s.mechanisms.milestones.partner_selected)),
      boolean("milestones.enabled", "`true`", "the series are written", SLOT(s.mechanisms.milestones.enabled)),

      // --- [setup]
      structure("setup", "table", "none", "", "set-up quality shapes the early stages"),
      structure("setup.strategy_stages", "list of stage names", "`[]`",
                stage_list_rule + "; a stage may be in only one of the three lists", "work x (1 + planning_effect x (0.5 - P))",
                WRITE(toml_stage_names(s.mechanisms.setup.strategy_stages, s))),
      structure("setup.procurement_stages", "list of stage names", "`[]`", "the same", "work x (1 + vision_effect x (0.5 - V))",
                WRITE(toml_stage_names(s.mechanisms.setup.procurement_stages, s))),
      structure("setup.mobilisation_stages", "list of stage names", "`[]`", "the same",
                "work x (1 + mobilisation_effect x (0.5 - M))",
                WRITE(toml_stage_names(s.mechanisms.setup.mobilisation_stages, s))),
      number("setup.planning_effect", "", "0.8", EFFECT, "effect of planning quality", SLOT(s.mechanisms.setup.planning_effect),
             EFFECT_WHY),
      number("setup.vision_effect", "", "0.5", EFFECT, "effect of shared vision", SLOT(s.mechanisms.setup.vision_effect),
             EFFECT_WHY),
      number("setup.mobilisation_effect", "", "0.6", EFFECT, "effect of mobilisation",
             SLOT(s.mechanisms.setup.mobilisation_effect), EFFECT_WHY),
      boolean("setup.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.setup.enabled)),

      // --- [partnering]
      structure("partnering", "table", "none", "", "partnering health of each LEP"),
      number("partnering.long_run", "health", "0.55", OPEN_UNIT, "long-run health with no practices",
             SLOT(s.mechanisms.partnering.long_run)),
      structure("partnering.practice_level", "table practice = number",
                "`{ vision_review = 0.3, strategic_review = 0.3, partnering_protocols = 0.3, external_facilitation = 0.2 }`",
                "practice names; finite; a practice not named keeps its default",
                "logit added to the long-run level per practice run",
                WRITE(toml_named(PRACTICE_NAMES, s.mechanisms.partnering.practice_level, PRACTICES)), "logit"),
      number("partnering.practice_level.{practice}", "logit", "0.3 (0.2 for external_facilitation)", ANY,
             "logit added to the long-run level by the practice", SLOT(s.mechanisms.partnering.practice_level[at(i, 0)])),
      number("partnering.recovery", "per month", "0.06", NONNEG, "mean-reversion rate with no practices",
             SLOT(s.mechanisms.partnering.recovery)),
      number("partnering.practice_recovery", "per month, per practice run", "0.03", NONNEG, "added to the rate per practice",
             SLOT(s.mechanisms.partnering.practice_recovery)),
      number("partnering.volatility", "logit per √month", "0.12", NONNEG, "noise of health",
             SLOT(s.mechanisms.partnering.volatility)),
      number("partnering.start_level", "health", "0.5", OPEN_UNIT, "starting health with an average set-up",
             SLOT(s.mechanisms.partnering.start_level)),
      number("partnering.start_vision", "logit per unit of `V − 0.5`", "1.0", ANY, "start raised by shared vision",
             SLOT(s.mechanisms.partnering.start_vision)),
      number("partnering.start_governance", "logit per unit of `G − 0.5`", "0.6", ANY, "start raised by governance",
             SLOT(s.mechanisms.partnering.start_governance)),
      number("partnering.start_mobilisation", "logit per unit of `M − 0.5`", "0.6", ANY, "start raised by mobilisation",
             SLOT(s.mechanisms.partnering.start_mobilisation)),
      number("partnering.delay_shock", "logit per unit of relative delay", "0.6", NONNEG, "drop at a late stage end",
             SLOT(s.mechanisms.partnering.delay_shock)),
      number("partnering.overrun_shock", "logit per unit of relative cost overrun", "0.8", NONNEG,
             "drop at an over-budget handover", SLOT(s.mechanisms.partnering.overrun_shock)),
      number("partnering.ontime_boost", "logit per project handed over on time", "0.1", NONNEG, "rise at an on-time handover",
             SLOT(s.mechanisms.partnering.ontime_boost)),
      number("partnering.productivity", "", "0.3", EFFECT, "progress x (1 + productivity x (H - 0.5))",
             SLOT(s.mechanisms.partnering.productivity), " (so that progress x (1 + productivity x (H - 0.5)) stays > 0)"),
      structure("partnering.mandated_practices", "list of practice names", "`[]`", "practice names, no duplicates",
                "practices every LEP must run (a national lever)", [](const S& s, const I&) -> std::string {
                  std::string o = "[";
                  for (int k = 0, n = 0; k < PRACTICES; ++k)
                    if (s.mechanisms.partnering.mandated >> k & 1u) o += (n++ ? ", " : "") + quoted_string(PRACTICE_NAMES[k]);
                  return o + "]";
                }),
      omitted_at(number("partnering.practice_cost_per_lep_year", "GBP m per mandated practice per LEP-year", "0",
                        LEVER_COST, "charged from each LEP's formation (a lever cost, accounting only)",
                        SLOT(s.mechanisms.partnering.practice_cost_per_lep_year)),
                 0.0),
      boolean("partnering.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.partnering.enabled)),

      // --- [disputes]
      structure("disputes", "table", "none", "", "disputes stall all of a LEP's work"),
      number("disputes.base_rate", "disputes per LEP per month at `H = 0.5`", "0.01", NONNEG, "dispute hazard",
             SLOT(s.mechanisms.disputes.base_rate)),
      number("disputes.health_sensitivity", "per unit of health", "4.0", NONNEG, "hazard x exp(-s x (H - 0.5))",
             SLOT(s.mechanisms.disputes.health_sensitivity)),
      distribution("disputes.months", "months", "3", "months a dispute lasts", SLOT(s.mechanisms.disputes.months), true),
      boolean("disputes.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.disputes.enabled)),

      // --- [capacity]
      structure("capacity", "table", "none", "", "teams flex towards a plan"),
      number("capacity.hiring_lag_months", "months", "4", ParamRange{0, INF, false, false, true},
             "from the decision to hire to the start", SLOT(s.mechanisms.capacity.hiring_lag_months), " (time.horizon_months)"),
      number("capacity.attrition", "fraction of FTE per month", "0.01", UNIT, "staff leaving",
             SLOT(s.mechanisms.capacity.attrition), " (a fraction per month)"),
      number("capacity.cost_per_fte_month", "GBP m per FTE-month", "0.006", NONNEG, "cost of staff",
             SLOT(s.mechanisms.capacity.cost_per_fte_month)),
      boolean("capacity.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.capacity.enabled)),

      // --- [costs]
      structure("costs", "table", "none", "", "capital, overruns, LEP set-up cost"),
      structure("costs.capital", "table project type = distribution", "`{}`: every type costs 0",
                "existing project types; each distribution support `>= 0`", "capital per project",
                [](const S& s, const I&) -> std::string {
                  const auto& c = s.mechanisms.costs.capital;
                  std::string o = "{";
                  for (std::size_t k = 0; k < c.size() && k < s.types.size(); ++k)
                    o += (k ? ", " : " ") + s.types[k].name + " = " + detail::toml_distribution(c[k]);
                  return o + (c.empty() ? "}" : " }");
                },
                "GBP m per project"),
      distribution("costs.capital.{type}", "GBP m per project", "0", "capital of a project of the type",
                   [](S& s, const I& i) -> ParamSlot {
                     auto& c = s.mechanisms.costs.capital;
                     return at(i, 0) < c.size() ? ParamSlot(&c[at(i, 0)]) : ParamSlot();
                   }),
      number("costs.delay_overrun", "per unit of relative delay", "0.5", NONNEG, "cost x (1 + delay_overrun x delay)",
             SLOT(s.mechanisms.costs.delay_overrun)),
      number("costs.health_overrun", "per unit of `0.5 − H`", "0.3", NONNEG, "cost x (1 + health_overrun x (0.5 - H))",
             SLOT(s.mechanisms.costs.health_overrun)),
      distribution("costs.lep_setup", "GBP m per LEP", "0", "spent when the LEP forms", SLOT(s.mechanisms.costs.lep_setup)),
      structure("costs.spend_stage", "stage name", "required", "an existing stage", "capital is spent over this stage",
                [](const S& s, const I&) -> std::string {
                  const int k = s.mechanisms.costs.spend_stage;
                  return k >= 0 ? quoted_string(s.stages[static_cast<std::size_t>(k)].name) : "";
                }),
      boolean("costs.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.costs.enabled)),

      // --- [funding]
      structure("funding", "table", "none", "", "a national annual envelope for capital"),
      with_rule(number("funding.annual_envelope", "GBP m per programme year", "required", POSITIVE, "capital per year",
                       SLOT(s.mechanisms.funding.annual_envelope), " GBP m per programme year"),
                "every type's largest capital must fit (see below)"),
      structure("funding.stages", "list of stage names", "required", "at least one; " + stage_list_rule,
                "stages that commit their project's capital before starting",
                WRITE(toml_stage_names(s.mechanisms.funding.stages, s))),
      boolean("funding.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.funding.enabled)),

      // --- [market]
      structure("market", "table", "none", "", "national workload raises prices and durations"),
      structure("market.stages", "list of stage names", "required", "at least one; " + stage_list_rule,
                "stages counted as workload and affected", WRITE(toml_stage_names(s.mechanisms.market.stages, s))),
      number("market.reference_workload", "stage instances in progress nationally", "300", POSITIVE, "where effects begin",
             SLOT(s.mechanisms.market.reference_workload)),
      number("market.price_elasticity", "", "0.3", NONNEG, "capital raised per unit of excess workload",
             SLOT(s.mechanisms.market.price_elasticity)),
      number("market.duration_elasticity", "", "0.2", NONNEG, "work raised per unit of excess workload",
             SLOT(s.mechanisms.market.duration_elasticity)),
      number("market.max_factor", "", "1.5", ParamRange{1, INF}, "cap on either multiplier",
             SLOT(s.mechanisms.market.max_factor)),
      boolean("market.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.market.enabled)),

      // --- [transformation]
      structure("transformation", "table", "none", "", "each completed school earns a transformation score"),
      number("transformation.base", "score per school", "1.0", NONNEG, "score of an average school",
             SLOT(s.mechanisms.transformation.base)),
      number("transformation.leadership_weight", "", "0.5", EFFECT, "score x (1 + w x (L - 0.5))",
             SLOT(s.mechanisms.transformation.leadership_weight), WEIGHT_WHY),
      number("transformation.vision_weight", "", "0.3", EFFECT, "score x (1 + w x (V - 0.5))",
             SLOT(s.mechanisms.transformation.vision_weight), WEIGHT_WHY),
      number("transformation.health_weight", "", "0.3", EFFECT, "score x (1 + w x (H - 0.5))",
             SLOT(s.mechanisms.transformation.health_weight), WEIGHT_WHY),
      number("transformation.target_bonus", "fraction of the score", "0.25", NONNEG, "added with targets in contracts",
             SLOT(s.mechanisms.transformation.target_bonus)),
      number("transformation.target_slowdown", "fraction of the work", "0.03", NONNEG,
             "added to `slowed_stages` with targets in contracts", SLOT(s.mechanisms.transformation.target_slowdown)),
      structure("transformation.slowed_stages", "list of stage names", "`[]`", stage_list_rule,
                "stages slowed by contract targets", WRITE(toml_stage_names(s.mechanisms.transformation.slowed_stages, s))),
      boolean("transformation.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.transformation.enabled)),

      // --- [exclusivity]
      structure("exclusivity", "table", "none", "", "annual scorecard; authorities may withdraw exclusivity"),
      structure("exclusivity.weights", "table `cost`, `quality`, `time`, `volume` = number", "0.25 each",
                "these four names; each `>= 0`; sum `> 0`; normalised to sum 1", "scorecard weights",
                [](const S& s, const I&) -> std::string {
                  const auto& x = s.mechanisms.exclusivity;
                  return "{ cost = " + toml_float(x.weight_cost) + ", quality = " + toml_float(x.weight_quality) +
                         ", time = " + toml_float(x.weight_time) + ", volume = " + toml_float(x.weight_volume) + " }";
                }),
      number("exclusivity.weights.cost", "", "0.25", UNIT, "weight of cost (normalised)",
             SLOT(s.mechanisms.exclusivity.weight_cost)),
      number("exclusivity.weights.quality", "", "0.25", UNIT, "weight of quality (normalised)",
             SLOT(s.mechanisms.exclusivity.weight_quality)),
      number("exclusivity.weights.time", "", "0.25", UNIT, "weight of time (normalised)",
             SLOT(s.mechanisms.exclusivity.weight_time)),
      number("exclusivity.weights.volume", "", "0.25", UNIT, "weight of volume (normalised)",
             SLOT(s.mechanisms.exclusivity.weight_volume)),
      number("exclusivity.threshold", "scorecard", "0.5", UNIT, "below it a year counts as failing",
             SLOT(s.mechanisms.exclusivity.threshold)),
      integer("exclusivity.years", "consecutive failing years", "2", ParamRange{1, 1e6}, "before the authority may act",
              SLOT(s.mechanisms.exclusivity.years)),
      number("exclusivity.act_probability", "probability per year", "0.5", UNIT, "chance the authority withdraws",
             SLOT(s.mechanisms.exclusivity.act_probability)),
      distribution("exclusivity.single_procurement_months", "months", "6",
                   "added to each project's first stage after withdrawal", SLOT(s.mechanisms.exclusivity.single_procurement)),
      number("exclusivity.single_cost_premium", "fraction of capital", "0.1", NONNEG, "added to capital after withdrawal",
             SLOT(s.mechanisms.exclusivity.single_cost_premium)),
      boolean("exclusivity.enabled", "`true`", "the mechanism is on", SLOT(s.mechanisms.exclusivity.enabled)),

      // --- [uncertainty]: second-order Monte Carlo (docs/calibration.md, "Runs that carry the whole uncertainty")
      structure("uncertainty", "table", "none", "", "uncertain inputs: one parameter vector drawn per replication"),
      structure("uncertainty.draw", "string", "`\"off\"`", "`\"off\"`, `\"inputs\"` or `\"posterior\"`",
                "what each vector is drawn from (`lepsim run --uncertainty` overrides)"),
      structure("uncertainty.posterior", "string (a file path)", "none",
                "a posterior file (`lepsim calibrate -o`), relative to the scenario file; required with "
                "`draw = \"posterior\"`",
                "whole vectors resampled by weight"),
      structure("uncertainty.replications_per_draw", "integer", "1", "`>= 1` and `<= 1e6`",
                "replications sharing one drawn vector (2 or more give a chance-only interval)"),
      structure("uncertainty.rank_correlation", "square matrix (list of lists)", "identity",
                "over `[[uncertainty.input]]` in order: symmetric, unit diagonal, entries in [-1, 1], a valid "
                "correlation matrix (its normal-copula transform positive definite)",
                "Spearman rank correlations, through a Gaussian copula"),
      structure("uncertainty.input", "array of tables `[[uncertainty.input]]`", "none", "paths unique",
                "one uncertain input each"),
      structure("uncertainty.input.path", "string (a parameter path)", "required",
                "a number, integer or distribution of the scenario (see \"The path API\")", "the parameter drawn"),
      structure("uncertainty.input.mode", "string", "`\"set\"`", "`\"set\"` or `\"scale\"`",
                "the value replaces the parameter, or multiplies it (a whole distribution)"),
      structure("uncertainty.input.distribution", "a distribution", "required",
                "as for stage work; `type` may stand for `dist`, `observations` for an empirical's `values`; "
                "a scale's must not go below 0",
                "the input's marginal distribution"),
      structure("uncertainty.input.point", "number", "none",
                "written by lepsim in resolved scenarios for a fitted input: the value already applied",
                "a drawn scale is applied relative to it"),
  };
  return r;
}

#undef SLOT
#undef WRITE

//! "a.{x}.b[{step}].c" -> {"a", "{x}", "b", "[{step}]", "c"}; a concrete path likewise.
std::vector<std::string> tokens(std::string_view path) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c == '[') {
      if (!cur.empty()) out.push_back(cur);
      cur.assign(1, '[');
    } else if (c == ']') {
      cur += ']';
      out.push_back(cur);
      cur.clear();
    } else
      cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool is_wildcard(const std::string& t) { return t.size() > 2 && (t[0] == '{' || (t[0] == '[' && t[1] == '{')); }

//! How many values a wildcard takes in `s`, and the name of value k ("" for a step).
struct Wild {
  std::size_t count = 0;
  std::function<std::string(std::size_t)> name;
};

Wild wild(const Scenario& s, const std::string& t, const ParamIndex& before) {
  if (t == "{stage}") return {s.stages.size(), [&s](std::size_t k) { return s.stages[k].name; }};
  if (t == "{pool}") return {s.pools.size(), [&s](std::size_t k) { return s.pools[k].name; }};
  if (t == "{type}") return {s.types.size(), [&s](std::size_t k) { return s.types[k].name; }};
  if (t == "{group}") return {s.groups.size(), [&s](std::size_t k) { return s.groups[k].name; }};
  if (t == "{discipline}") return {s.disciplines.size(), [&s](std::size_t k) { return s.disciplines[k]; }};
  if (t == "{practice}") return {PRACTICES, [](std::size_t k) { return std::string(PRACTICE_NAMES[k]); }};
  if (t == "{tstage}") {
    const ProjectType& pt = s.types[static_cast<std::size_t>(before.back())];
    return {pt.stages.size(),
            [&s, &pt](std::size_t k) { return s.stages[static_cast<std::size_t>(pt.stages[k].stage)].name; }};
  }
  if (t == "[{step}]") {
    const AuthorityGroup& g = s.groups[static_cast<std::size_t>(before.back())];
    return {g.capacity_plan.size(), [](std::size_t k) {
              std::string r(1, '[');
              r += std::to_string(k);
              r += ']';
              return r;
            }};
  }
  return {};
}

std::string parent_of(const std::string& pattern) {
  const auto dot = pattern.rfind('.');
  return dot == std::string::npos ? "" : pattern.substr(0, dot);
}
std::string leaf_of(const std::string& pattern) {
  const auto dot = pattern.rfind('.');
  return dot == std::string::npos ? pattern : pattern.substr(dot + 1);
}

[[noreturn]] void path_error(std::string_view path, const std::string& value, const std::string& rule) {
  throw ScenarioError({{"", 0, std::string(path), value, rule}});
}

//! The spec and wildcard values of a concrete path; nullptr when no spec has it.
const ParamSpec* match(const Scenario& s, std::string_view path, ParamIndex& idx) {
  // authorities[i] is the same as authorities.NAME.
  std::vector<std::string> want = tokens(path);
  if (want.size() >= 2 && want[0] == "authorities" && want[1].front() == '[') {
    std::size_t k = 0;
    try {
      k = std::stoul(want[1].substr(1));
    } catch (const std::exception&) {
      return nullptr;
    }
    if (k >= s.groups.size()) return nullptr;
    want[1] = s.groups[k].name;
  }
  for (const ParamSpec& spec : parameter_registry()) {
    const std::vector<std::string> pat = tokens(spec.path);
    if (pat.size() != want.size()) continue;
    idx.clear();
    bool ok = true;
    for (std::size_t t = 0; t < pat.size() && ok; ++t) {
      if (!is_wildcard(pat[t])) {
        ok = pat[t] == want[t];
        continue;
      }
      const Wild w = wild(s, pat[t], idx);
      ok = false;
      for (std::size_t k = 0; k < w.count; ++k)
        if (w.name(k) == want[t]) {
          idx.push_back(static_cast<int>(k));
          ok = true;
          break;
        }
    }
    if (ok) return &spec;
  }
  return nullptr;
}

}  // namespace

const std::vector<ParamSpec>& parameter_registry() {
  static const std::vector<ParamSpec> registry = build_registry();
  return registry;
}

std::vector<std::string> table_keys(std::string_view table_pattern) {
  std::vector<std::string> out;
  for (const ParamSpec& p : parameter_registry()) {
    if (parent_of(p.path) != table_pattern) continue;
    const std::string leaf = leaf_of(p.path);
    if (is_wildcard(leaf) || leaf.find('[') != std::string::npos) continue;
    if (std::find(out.begin(), out.end(), leaf) == out.end()) out.push_back(leaf);
  }
  return out;
}

namespace detail {

void expand(const Scenario& s, const ParamSpec& spec, const std::function<void(const ParamIndex&)>& f) {
  const std::vector<std::string> pat = tokens(spec.path);
  ParamIndex idx;
  std::function<void(std::size_t)> go = [&](std::size_t t) {
    if (t == pat.size()) return f(idx);
    if (!is_wildcard(pat[t])) return go(t + 1);
    const Wild w = wild(s, pat[t], idx);
    for (std::size_t k = 0; k < w.count; ++k) {
      idx.push_back(static_cast<int>(k));
      go(t + 1);
      idx.pop_back();
    }
  };
  go(0);
}

//! "[k]": a list entry by its place.
std::string index_text(std::size_t k) {
  std::string out(1, '[');
  out.append(std::to_string(k)).push_back(']');
  return out;
}

std::string path_of(const Scenario& s, const ParamSpec& spec, const ParamIndex& idx, bool by_index) {
  std::string out;
  ParamIndex before;
  for (const std::string& tok : tokens(spec.path)) {
    std::string part = tok;
    if (is_wildcard(tok)) {
      const auto k = static_cast<std::size_t>(idx[before.size()]);
      part = wild(s, tok, before).name(k);
      // An unnamed group (built in code) has only its place: authorities[k].
      if (tok == "{group}" && (by_index || part.empty())) part = index_text(k);
      before.push_back(static_cast<int>(k));
    }
    out += out.empty() || part.front() == '[' ? part : "." + part;
  }
  return out;
}

namespace {

//! A table's direct keys as the resolved scenario writes them (not `enabled`, not wildcards).
struct TableKey {
  std::string leaf;
  const ParamSpec* spec;
};

//! Each table's keys, in registry order, looked up once (the writer asks for every group).
const std::vector<TableKey>& keys_of_table(std::string_view table_pattern) {
  static const std::unordered_map<std::string, std::vector<TableKey>> tables = [] {
    std::unordered_map<std::string, std::vector<TableKey>> out;
    for (const ParamSpec& p : parameter_registry()) {
      std::string leaf = leaf_of(p.path);
      if (leaf == "enabled" || is_wildcard(leaf)) continue;
      out[parent_of(p.path)].push_back({std::move(leaf), &p});
    }
    return out;
  }();
  static const std::vector<TableKey> none;
  const auto it = tables.find(std::string(table_pattern));
  return it == tables.end() ? none : it->second;
}

}  // namespace

std::string table_body(const Scenario& s, std::string_view table_pattern, const ParamIndex& idx) {
  std::string out;
  Scenario& m = const_cast<Scenario&>(s);  // slots are read only here
  for (const auto& [leaf, spec] : keys_of_table(table_pattern)) {
    const ParamSpec& p = *spec;
    std::string text;
    if (p.write) {
      text = p.write(s, idx);
      if (text.empty()) continue;
    } else if (p.slot) {
      const ParamSlot slot = p.slot(m, idx);
      const auto* d = std::get_if<double*>(&slot);
      const auto* n = std::get_if<int*>(&slot);
      // omitted_at: a key added later is left out at that value (earlier files resolve as before).
      if (p.omit_when && ((d && **d == *p.omit_when) || (n && **n == *p.omit_when))) continue;
      if (d)
        text = toml_float(**d);
      else if (n)
        text = std::to_string(**n);
      else if (const auto* u = std::get_if<std::uint64_t*>(&slot))
        text = std::to_string(**u);
      else if (const auto* o = std::get_if<std::optional<double>*>(&slot); o && (*o)->has_value())
        text = toml_float(***o);
      else if (const auto* b = std::get_if<bool*>(&slot))
        text = **b ? "true" : "false";
      else if (const auto* dist = std::get_if<Distribution*>(&slot))
        text = toml_distribution(**dist);
      else
        continue;
    } else
      continue;
    out += leaf + " = " + text + "\n";
  }
  return out;
}

std::string inline_table(const Scenario& s, std::string_view table_pattern, const ParamIndex& idx) {
  std::string out = "{ ";
  const std::string body = table_body(s, table_pattern, idx);
  for (std::size_t pos = 0, end; (end = body.find('\n', pos)) != std::string::npos; pos = end + 1)
    out += (pos ? ", " : "") + body.substr(pos, end - pos);
  return out + " }";
}

}  // namespace detail

std::vector<std::string> parameter_paths(const Scenario& s) {
  std::vector<std::string> out;
  Scenario& m = const_cast<Scenario&>(s);  // slots are only looked at
  for (const ParamSpec& p : parameter_registry()) {
    if (!p.addressable()) continue;
    detail::expand(s, p, [&](const ParamIndex& idx) {
      const ParamSlot slot = p.slot(m, idx);
      if (std::holds_alternative<std::monostate>(slot)) return;
      if (const auto* o = std::get_if<std::optional<double>*>(&slot); o && !(*o)->has_value()) return;
      out.push_back(detail::path_of(s, p, idx, false));
    });
  }
  return out;
}

namespace {

//! A concrete path resolved: its spec and wildcard values, and for "X.mode" on a
//! distribution X the index of that parameter in Distribution::params() (else -1).
struct Resolved {
  const ParamSpec* spec = nullptr;
  ParamIndex idx;
  int sub = -1;
};

//! Index of a distribution's parameter by the name a file gives it (a normal's min and max
//! are its lower and upper).
int dist_param(const Distribution& d, std::string_view name) {
  if (d.kind() == DistKind::Normal && name == "min") name = "lower";
  if (d.kind() == DistKind::Normal && name == "max") name = "upper";
  const auto names = Distribution::param_names(d.kind());
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return static_cast<int>(k);
  return -1;
}

Resolved resolve(const Scenario& s, std::string_view path) {
  Resolved r;
  r.spec = match(s, path, r.idx);
  if (r.spec) return r.spec->addressable() ? r : Resolved{};
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return {};
  const ParamSpec* d = match(s, path.substr(0, dot), r.idx);
  if (!d || d->type != ParamType::Distribution) return {};
  const ParamSlot slot = d->slot(const_cast<Scenario&>(s), r.idx);
  const auto* dist = std::get_if<Distribution*>(&slot);
  if (!dist) return {};
  r.sub = dist_param(**dist, path.substr(dot + 1));
  if (r.sub < 0) return {};
  r.spec = d;
  return r;
}

//! `d` with parameter k set to v (same kind).
Distribution with_param(const Distribution& d, int k, double v) {
  std::array<double, 4> p{};
  std::copy(d.params().begin(), d.params().end(), p.begin());
  p[static_cast<std::size_t>(k)] = v;
  switch (d.kind()) {
    case DistKind::Fixed:
      return Distribution::fixed(p[0]);
    case DistKind::Uniform:
      return Distribution::uniform(p[0], p[1]);
    case DistKind::Triangular:
      return Distribution::triangular(p[0], p[1], p[2]);
    case DistKind::Pert:
      return Distribution::pert(p[0], p[1], p[2], p[3]);
    case DistKind::Normal:
      return Distribution::normal(p[0], p[1], p[2], p[3]);
    case DistKind::Lognormal:
      return Distribution::lognormal(p[0], p[1]);
    case DistKind::Exponential:
      return Distribution::exponential(p[0]);
    default:
      return d;
  }
}

}  // namespace

namespace {

constexpr std::string_view EVERY_GROUP = "authorities.*.";

//! `authorities.*.KEY` stands for KEY of every group that gives it (docs/scenario-format.md,
//! "The path API"; a group without the key's table, e.g. no first_phase, has nothing to
//! change): the paths it expands to, in group order; if no group gives it, every group's
//! (so the first names the problem). Any other path is itself.
std::vector<std::string> group_paths(const Scenario& s, std::string_view path) {
  if (path.rfind(EVERY_GROUP, 0) != 0) return {std::string(path)};
  if (s.groups.empty()) path_error(path, "", "the scenario has no [[authorities]] group for `*` to stand for");
  std::vector<std::string> all, given;
  for (const AuthorityGroup& g : s.groups) {
    all.push_back("authorities." + g.name + "." + std::string(path.substr(EVERY_GROUP.size())));
    const Resolved r = resolve(s, all.back());
    if (r.spec && !std::holds_alternative<std::monostate>(r.spec->slot(const_cast<Scenario&>(s), r.idx)))
      given.push_back(all.back());
  }
  return given.empty() ? all : given;
}

}  // namespace

const ParamSpec& parameter_spec(const Scenario& s, std::string_view path) {
  if (path.rfind(EVERY_GROUP, 0) == 0) return parameter_spec(s, group_paths(s, path).front());
  if (const Resolved r = resolve(s, path); r.spec) return *r.spec;
  const std::vector<std::string> all = parameter_paths(s);
  path_error(path, "",
             "unknown parameter" + detail::did_you_mean(std::string(path), all) +
                 "; parameter_paths() lists the parameters of a scenario");
}

namespace {

ParamSlot slot_at(Scenario& s, std::string_view path, Resolved& r) {
  r = resolve(s, path);
  if (!r.spec) parameter_spec(s, path);  // throws, with a suggestion
  const ParamSlot slot = r.spec->slot(s, r.idx);
  if (std::holds_alternative<std::monostate>(slot))
    path_error(path, "", "not given in this scenario (its table is absent), so it cannot be addressed");
  return slot;
}

std::string value_text(const ParamValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return shortest_number(*d);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::get<Distribution>(v).describe();
}

}  // namespace

ParamValue get_parameter(const Scenario& s, std::string_view path) {
  if (path.rfind(EVERY_GROUP, 0) == 0) return get_parameter(s, group_paths(s, path).front());  // the first group's
  Resolved r;
  const ParamSlot slot = slot_at(const_cast<Scenario&>(s), path, r);
  if (r.sub >= 0) return (*std::get<Distribution*>(slot)).params()[static_cast<std::size_t>(r.sub)];
  if (const auto* d = std::get_if<double*>(&slot)) return **d;
  if (const auto* n = std::get_if<int*>(&slot)) return static_cast<std::int64_t>(**n);
  if (const auto* u = std::get_if<std::uint64_t*>(&slot)) return static_cast<std::int64_t>(**u);
  if (const auto* b = std::get_if<bool*>(&slot)) return **b;
  if (const auto* dist = std::get_if<Distribution*>(&slot)) return **dist;
  const auto& o = *std::get<std::optional<double>*>(slot);
  if (!o) path_error(path, "", "not given in this scenario");
  return *o;
}

namespace {

//! Stores `v` in `slot`; the spec's type decides what is accepted.
void store(const ParamSpec& spec, const ParamSlot& slot, std::string_view path, const ParamValue& v) {
  const auto number = [&]() -> double {
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
    if (const auto* b = std::get_if<bool>(&v); b && spec.type == ParamType::Probability) return *b ? 1.0 : 0.0;
    path_error(path, value_text(v), "must be a number");
  };
  if (const auto* d = std::get_if<double*>(&slot)) {
    **d = number();
    if (!std::isfinite(**d)) path_error(path, value_text(v), "must be a finite number");
  } else if (const auto* o = std::get_if<std::optional<double>*>(&slot)) {
    **o = number();
  } else if (const auto* n = std::get_if<int*>(&slot)) {
    const auto* x = std::get_if<std::int64_t>(&v);
    if (!x) path_error(path, value_text(v), "must be an integer");
    if (*x < std::numeric_limits<int>::min() || *x > std::numeric_limits<int>::max())
      path_error(path, value_text(v), spec.range.rule(spec.range.hi));
    **n = static_cast<int>(*x);
  } else if (const auto* u = std::get_if<std::uint64_t*>(&slot)) {
    const auto* x = std::get_if<std::int64_t>(&v);
    if (!x || *x < 0) path_error(path, value_text(v), "must be an integer >= 0");
    **u = static_cast<std::uint64_t>(*x);
  } else if (const auto* b = std::get_if<bool*>(&slot)) {
    const auto* x = std::get_if<bool>(&v);
    if (!x) path_error(path, value_text(v), "must be true or false");
    **b = *x;
  } else if (const auto* dist = std::get_if<Distribution*>(&slot)) {
    if (const auto* x = std::get_if<Distribution>(&v))
      **dist = *x;
    else
      **dist = Distribution::fixed(number());
  }
}

//! The types that inherit a stage's value (their copy equals the stage's) follow it.
void follow_stage(Scenario& s, const Stage& before, int stage) {
  const Stage& after = s.stages[static_cast<std::size_t>(stage)];
  for (ProjectType& t : s.types)
    for (TypeStage& ts : t.stages) {
      if (ts.stage != stage) continue;
      if (ts.work == before.work) ts.work = after.work;
      if (ts.planned == before.planned) ts.planned = after.planned;
      for (std::size_t k = 0; k < ts.demand.size() && k < before.demand.size(); ++k)
        if (ts.demand[k] == before.demand[k]) ts.demand[k] = after.demand[k];
    }
}

//! One change made in `out` itself, neither refreshed nor validated (changed() and
//! with_parameters() do both once).
void change_in_place(Scenario& out, std::string_view path, const std::function<ParamValue(const ParamValue&)>& f) {
  if (path.rfind(EVERY_GROUP, 0) == 0) {  // each group's own value changed
    for (const std::string& p : group_paths(out, path)) change_in_place(out, p, f);
    return;
  }
  const ParamValue old = get_parameter(out, path);
  Resolved r;
  const ParamSlot slot = slot_at(out, path, r);
  const bool stage_value = r.spec->path.rfind("stages.{stage}.", 0) == 0;
  const Stage before = stage_value ? out.stages[static_cast<std::size_t>(r.idx[0])] : Stage{};
  const ParamValue v = f(old);
  if (r.sub >= 0) {  // one parameter of a distribution
    const auto* x = std::get_if<double>(&v);
    const auto* n = std::get_if<std::int64_t>(&v);
    if (!x && !n) path_error(path, value_text(v), "must be a number");
    Distribution& d = *std::get<Distribution*>(slot);
    d = with_param(d, r.sub, x ? *x : static_cast<double>(*n));
  } else {
    store(*r.spec, slot, path, v);
  }
  if (stage_value) follow_stage(out, before, r.idx[0]);
}

//! Refreshes the derived fields and validates, naming groups as the path API does.
void finish_change(Scenario& out) {
  detail::refresh_derived(out);
  auto problems = validate(out);
  if (!problems.empty()) {
    // Name groups as the path API does: authorities[3] -> authorities.waves4-6.
    for (Diagnostic& d : problems)
      if (d.key.rfind("authorities[", 0) == 0) {
        const auto close = d.key.find(']');
        const std::size_t g = std::stoul(d.key.substr(12, close - 12));
        if (g < out.groups.size()) d.key = "authorities." + out.groups[g].name + d.key.substr(close + 1);
      }
    throw ScenarioError(std::move(problems));
  }
}

Scenario changed(const Scenario& s, std::string_view path, const std::function<ParamValue(const ParamValue&)>& f) {
  Scenario out = s;
  change_in_place(out, path, f);
  finish_change(out);
  return out;
}

}  // namespace

Scenario with_parameter(const Scenario& s, std::string_view path, const ParamValue& value) {
  return changed(s, path, [&](const ParamValue&) { return value; });
}

Distribution scaled(const Distribution& d, double c) {
  const auto p = d.params();
  const auto times = [c](std::vector<double> v) {
    for (double& x : v) x *= c;
    return v;
  };
  if (c == 0) return Distribution::fixed(0.0);
  switch (d.kind()) {
    case DistKind::Fixed:
      return Distribution::fixed(c * p[0]);
    case DistKind::Uniform:
      return c > 0 ? Distribution::uniform(c * p[0], c * p[1]) : Distribution::uniform(c * p[1], c * p[0]);
    case DistKind::Triangular:
      return c > 0 ? Distribution::triangular(c * p[0], c * p[1], c * p[2])
                   : Distribution::triangular(c * p[2], c * p[1], c * p[0]);
    case DistKind::Pert:
      return c > 0 ? Distribution::pert(c * p[0], c * p[1], c * p[2], p[3])
                   : Distribution::pert(c * p[2], c * p[1], c * p[0], p[3]);
    case DistKind::Normal:
      return c > 0 ? Distribution::normal(c * p[0], c * p[1], c * p[2], c * p[3])
                   : Distribution::normal(c * p[0], -c * p[1], c * p[3], c * p[2]);
    case DistKind::Lognormal:
      return Distribution::lognormal(c * p[0], std::fabs(c) * p[1]);
    case DistKind::Exponential:
      return Distribution::exponential(c * p[0]);
    case DistKind::Discrete:
      return Distribution::discrete(times(d.values()), d.weights());
    case DistKind::Empirical:
      return Distribution::empirical(times(d.observations()));
  }
  return d;
}

Scenario with_scaled_parameter(const Scenario& s, std::string_view path, double factor) {
  if (!std::isfinite(factor)) path_error(path, shortest_number(factor), "the factor must be a finite number");
  return changed(s, path, [&](const ParamValue& v) -> ParamValue {
    if (const auto* d = std::get_if<double>(&v)) return *d * factor;
    if (const auto* dist = std::get_if<Distribution>(&v)) return scaled(*dist, factor);
    path_error(path, value_text(v), "only a number or a distribution can be scaled");
  });
}

Scenario with_parameters(const Scenario& s, const std::vector<ParameterChange>& changes) {
  Scenario out = s;
  for (const ParameterChange& c : changes) {
    if (c.scale) {
      const double factor = std::get<double>(c.value);
      if (!std::isfinite(factor)) path_error(c.path, shortest_number(factor), "the factor must be a finite number");
      change_in_place(out, c.path, [&](const ParamValue& v) -> ParamValue {
        if (const auto* d = std::get_if<double>(&v)) return *d * factor;
        if (const auto* n = std::get_if<std::int64_t>(&v))
          return static_cast<std::int64_t>(std::llround(static_cast<double>(*n) * factor));
        if (const auto* dist = std::get_if<Distribution>(&v)) return scaled(*dist, factor);
        path_error(c.path, value_text(v), "only a number or a distribution can be scaled");
      });
    } else {
      change_in_place(out, c.path, [&](const ParamValue&) { return c.value; });
    }
  }
  finish_change(out);
  return out;
}

std::string parameter_table(std::string_view table_pattern) {
  std::string out = "| key | type | default | unit | rule | meaning |\n|---|---|---|---|---|---|\n";
  const auto type_text = [](const ParamSpec& p) -> std::string {
    switch (p.type) {
      case ParamType::Number:
        return "number";
      case ParamType::Integer:
        return "integer";
      case ParamType::Boolean:
        return "boolean";
      case ParamType::Probability:
        return "probability";
      case ParamType::Distribution:
        return "distribution";
      case ParamType::Structure:
        return p.type_text;
    }
    return "";
  };
  const auto rule_text = [](const ParamSpec& p) -> std::string {
    std::string r;
    const auto bound = [](double x) {
      // (An unbounded side is never printed, but is passed here: no cast of infinity.)
      return std::isfinite(x) && std::fabs(x) >= 1e4 ? std::to_string(static_cast<long long>(x)) : shortest_number(x);
    };
    if (p.type == ParamType::Number || p.type == ParamType::Integer) {
      const ParamRange& g = p.range;
      const std::string hi = g.hi_is_horizon ? "time.horizon_months" : bound(g.hi);
      const bool lo = std::isfinite(g.lo), up = g.hi_is_horizon || std::isfinite(g.hi);
      if (p.type == ParamType::Integer && lo && up)
        r = bound(g.lo) + " to " + hi;
      else if (lo && up)
        r = std::string("`") + (g.lo_open ? "> " : ">= ") + bound(g.lo) + "` and `" + (g.hi_open ? "< " : "<= ") + hi + "`";
      else if (lo)
        r = std::string("`") + (g.lo_open ? "> " : ">= ") + bound(g.lo) + "`";
      else
        r = "finite";
    } else if (p.type == ParamType::Boolean) {
      r = "`true` or `false`";
    } else if (p.type == ParamType::Probability) {
      r = "`>= 0` and `<= 1`, or `true` (1) / `false` (0)";
    } else if (p.type == ParamType::Distribution) {
      if (p.within)
        r = "every value within `[" + bound(p.range.lo) + ", " + bound(p.range.hi) + "]`";
      else
        r = "support `>= 0`" + std::string(p.positive ? ", can exceed 0" : "") +
            (std::isfinite(p.range.hi) ? " and `<= " + bound(p.range.hi) + "`" : "");
    }
    if (!p.rule_text.empty()) r += (r.empty() ? "" : "; ") + p.rule_text;
    return r.empty() ? "—" : r;
  };
  for (const ParamSpec& p : parameter_registry()) {
    if (parent_of(p.path) != table_pattern) continue;
    const std::string leaf = leaf_of(p.path);
    if (is_wildcard(leaf)) continue;
    out += "| `" + leaf + "` | " + type_text(p) + " | " + p.default_text + " | " + (p.unit.empty() ? "—" : p.unit) + " | " +
           rule_text(p) + " | " + p.meaning + " |\n";
  }
  return out;
}

std::vector<std::string> parameter_key_names() {
  std::set<std::string> names;
  for (const ParamSpec& p : parameter_registry())
    for (const std::string& t : tokens(p.path))
      if (!is_wildcard(t)) names.insert(t);
  return {names.begin(), names.end()};
}

namespace detail {

//! The entry of the `Mechanisms` member `Field`, whose table is `name`.
template <auto Field>
MechanismTable mechanism_table(const char* name, bool needs_lep) {
  return {name, [](Mechanisms& m) -> bool& { return (m.*Field).enabled; },
          [](Mechanisms& m) { m.*Field = std::remove_reference_t<decltype(m.*Field)>{}; }, needs_lep};
}

const std::vector<MechanismTable>& mechanism_tables() {
  using M = Mechanisms;
  static const std::vector<MechanismTable> tables = {
      mechanism_table<&M::setup>("setup", false),           mechanism_table<&M::partnering>("partnering", true),
      mechanism_table<&M::disputes>("disputes", true),      mechanism_table<&M::capacity>("capacity", false),
      mechanism_table<&M::costs>("costs", false),           mechanism_table<&M::funding>("funding", false),
      mechanism_table<&M::market>("market", false),         mechanism_table<&M::transformation>("transformation", false),
      mechanism_table<&M::exclusivity>("exclusivity", true),    mechanism_table<&M::milestones>("milestones", true)};
  return tables;
}

}  // namespace detail

std::optional<bool> mechanism_enabled(const Mechanisms& m, std::string_view table) {
  for (const detail::MechanismTable& t : detail::mechanism_tables())
    if (t.name == table) return t.on(m);
  return std::nullopt;
}

}  // namespace lepsim
