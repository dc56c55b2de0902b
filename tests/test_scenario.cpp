// Scenario files: every rule of the parser is reported with its file, line,
// key, value and rule (a table of broken files), all at once, and the shipped
// scenarios and the resolved form are valid. The rules are listed in
// docs/scenario-format.md.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "lepsim/calibrate.hpp"
#include "lepsim/error.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/record.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

// A small valid scenario. Line numbers matter: the table below expects them.
const std::string BASE =                                // line
    "disciplines = [\"client\", \"design\"]\n"          // 1
    "[scenario]\n"                                      // 2
    "name = \"base\"\n"                                 // 3
    "[time]\n"                                          // 4
    "start = \"2010-01\"\n"                             // 5
    "step_months = 1\n"                                 // 6
    "horizon_months = 60\n"                             // 7
    "[run]\n"                                           // 8
    "replications = 2\n"                                // 9
    "seed = 1\n"                                        // 10
    "[national.approvals]\n"                            // 11
    "capacity = 2\n"                                    // 12
    "[stages.a]\n"                                      // 13
    "work = 6\n"                                        // 14
    "demand = { client = 1 }\n"                         // 15
    "[stages.b]\n"                                      // 16
    "work = { dist = \"pert\", min = 2, mode = 3, max = 6 }\n"  // 17
    "national = \"approvals\"\n"                        // 18
    "[stages.c]\n"                                      // 19
    "work = 3\n"                                        // 20
    "demand = { design = 1 }\n"                         // 21
    "[project_types.school]\n"                          // 22
    "stages = [\"a\", \"b\", \"c\"]\n"                  // 23
    "[[authorities]]\n"                                 // 24
    "name = \"la\"\n"                                   // 25
    "count = 2\n"                                       // 26
    "schools = 3\n"                                     // 27
    "team = { client = 2, design = 1 }\n";              // 28

// BASE with every partnership mechanism switched on (lines 29-72), valid as it stands.
const std::string MECH = BASE +                                                   // line
    "[authorities.setup]\n"                                                       // 29
    "planning_quality = { dist = \"uniform\", min = 0.2, max = 0.8 }\n"           // 30
    "vision_activities = [1, 2, 5]\n"                                             // 31
    "shadow_board = 0.7\n"                                                        // 32
    "practices = { vision_review = 0.5, strategic_review = true }\n"              // 33
    "[[authorities.capacity_plan]]\n"                                             // 34
    "month = 0\n"                                                                 // 35
    "team = { client = 3, design = 1 }\n"                                         // 36
    "[[authorities.capacity_plan]]\n"                                             // 37
    "month = 6\n"                                                                 // 38
    "after_lep = true\n"                                                          // 39
    "team = { client = 1, design = 2 }\n"                                         // 40
    "[lep]\n"                                                                     // 41
    "formed_at = \"b\"\n"                                                         // 42
    "[setup]\n"                                                                   // 43
    "strategy_stages = [\"a\"]\n"                                                 // 44
    "planning_effect = 0.8\n"                                                     // 45
    "[partnering]\n"                                                              // 46
    "long_run = 0.55\n"                                                           // 47
    "practice_level = { vision_review = 0.3 }\n"                                  // 48
    "recovery = 0.06\n"                                                           // 49
    "[disputes]\n"                                                                // 50
    "base_rate = 0.01\n"                                                          // 51
    "months = { dist = \"pert\", min = 1, mode = 3, max = 9 }\n"                  // 52
    "[capacity]\n"                                                                // 53
    "hiring_lag_months = 4\n"                                                     // 54
    "attrition = 0.01\n"                                                          // 55
    "[costs]\n"                                                                   // 56
    "capital = { school = { dist = \"pert\", min = 15, mode = 19, max = 30 } }\n" // 57
    "lep_setup = { dist = \"uniform\", min = 6.5, max = 10 }\n"                   // 58
    "spend_stage = \"c\"\n"                                                       // 59
    "[funding]\n"                                                                 // 60
    "annual_envelope = 2500\n"                                                    // 61
    "stages = [\"c\"]\n"                                                          // 62
    "[market]\n"                                                                  // 63
    "stages = [\"c\"]\n"                                                          // 64
    "max_factor = 1.5\n"                                                          // 65
    "[transformation]\n"                                                          // 66
    "leadership_weight = 0.5\n"                                                   // 67
    "slowed_stages = [\"c\"]\n"                                                   // 68
    "[exclusivity]\n"                                                             // 69
    "weights = { cost = 0.25, quality = 0.25, time = 0.25, volume = 0.25 }\n"     // 70
    "years = 2\n"                                                                 // 71
    "single_procurement_months = { dist = \"uniform\", min = 3, max = 9 }\n";     // 72

//! `base` with each `from` (which must occur exactly once) replaced by `to`, in order.
std::string edit_of(std::string s, std::initializer_list<std::pair<std::string, std::string>> edits) {
  for (const auto& [from, to] : edits) {
    const auto at = s.find(from);
    if (at == std::string::npos || s.find(from, at + 1) != std::string::npos)
      throw std::logic_error("test table: '" + from + "' must occur exactly once");
    s.replace(at, from.size(), to);
  }
  return s;
}
std::string edit(std::initializer_list<std::pair<std::string, std::string>> edits) { return edit_of(BASE, edits); }
std::string edit(const std::string& from, const std::string& to) { return edit({{from, to}}); }
std::string medit(std::initializer_list<std::pair<std::string, std::string>> edits) { return edit_of(MECH, edits); }
//! BASE with `plan = VALUE` in its [scenario] table (line 4).
std::string plan_of(const std::string& value) { return edit("name = \"base\"", "name = \"base\"\nplan = " + value); }
std::string medit(const std::string& from, const std::string& to) { return medit({{from, to}}); }

struct BadCase {
  std::string what;
  std::string text;
  int line;           //!< expected exactly
  std::string key;    //!< expected exactly
  std::string value;  //!< expected substring of the value
  std::string rule;   //!< expected substring of the rule
};

std::vector<BadCase> bad_cases() {
  using namespace std::string_literals;
  return {
      // --- the file as a whole, and TOML itself
      {"empty file", "", 0, "", "", "the scenario is empty"},
      {"comments only", "# nothing here\n\n", 0, "", "", "the scenario is empty"},
      {"binary garbage with NUL bytes", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff"s, 0, "", "", "contains NUL bytes"},
      {"invalid UTF-8", edit("name = \"base\"", "name = \"caf\xe9\""), 3, "", "", "not UTF-8 text (byte 0xE9"},
      {"invalid UTF-8 in a literal string (crashes toml11 if let through)", edit("name = \"base\"", "name = 'caf\xe9'"), 3,
       "", "", "TOML files must be UTF-8"},
      {"invalid UTF-8 in a comment", "# caf\xe9\n" + BASE, 1, "", "", "not UTF-8"},
      {"arrays nested absurdly deep (overflows toml11's stack if let through)",
       edit("seed = 1", "seed = " + std::string(5000, '[') + std::string(5000, ']')), 10, "", "", "nested more than 32 deep"},
      {"TOML syntax error", edit("horizon_months = 60", "horizon_months = = 60"), 7, "", "", "invalid TOML"},
      {"unterminated string", edit("name = \"base\"", "name = \"base"), 3, "", "", "invalid TOML"},
      {"duplicate key: the second one is reported", edit("replications = 2", "seed = 2"), 10, "", "",
       "already exists. (conflicts with line 9)"},
      {"duplicate table", edit("[stages.c]", "[stages.a]"), 19, "", "", "already exists. (conflicts with line 13)"},
      {"duplicate key in an inline table", edit("min = 2, mode = 3", "min = 2, min = 3"), 17, "", "", "invalid TOML"},

      // --- [scenario] plan: [[month, cumulative_projects], ...] (BASE's horizon is 60 months)
      {"plan not a list", plan_of("5"), 4, "scenario.plan", "5", "must be a list of [month, cumulative_projects] points"},
      {"plan with no point", plan_of("[]"), 4, "scenario.plan", "[...]", "must have at least one [month, cumulative_projects] point"},
      {"plan point not a pair", plan_of("[[12, 1, 2]]"), 4, "scenario.plan[0]", "[...]", "must be a [month, cumulative_projects] pair"},
      {"plan point a bare number", plan_of("[12, 1]"), 4, "scenario.plan[0]", "12", "must be a [month, cumulative_projects] pair"},
      {"plan month not a number", plan_of("[[\"may\", 1]]"), 4, "scenario.plan[0][0]", "\"may\"", "must be a number, not string"},
      {"plan month 0", plan_of("[[0, 1]]"), 4, "scenario.plan[0][0]", "0", "must be > 0 and <= time.horizon_months (60)"},
      {"plan month beyond the horizon", plan_of("[[12, 1], [61, 2]]"), 4, "scenario.plan[1][0]", "61",
       "must be > 0 and <= time.horizon_months (60)"},
      {"plan months not increasing", plan_of("[[24, 1], [24, 2]]"), 4, "scenario.plan[1][0]", "24",
       "must be later than the previous point's month (24): list the plan in time order"},
      {"plan count negative", plan_of("[[12, -1]]"), 4, "scenario.plan[0][1]", "-1", "must be >= 0 projects"},
      {"plan count falling", plan_of("[[12, 5], [24, 4]]"), 4, "scenario.plan[1][1]", "4",
       "must be >= the previous point's count (5): the plan counts projects completed so far, so it never falls"},
      {"plan written over several lines: the point's own line", plan_of("[\n  [12, 1],\n  [6, 2],\n]"), 6,
       "scenario.plan[1][0]", "6", "must be later than the previous point's month (12)"},

      // --- wrong types
      {"string where a number belongs", edit("horizon_months = 60", "horizon_months = \"60\""), 7,
       "time.horizon_months", "\"60\"", "must be a number, not string"},
      {"number where a string belongs", edit("name = \"base\"", "name = 7"), 3, "scenario.name", "7",
       "must be a string, not integer"},
      {"table where a list belongs", edit("stages = [\"a\", \"b\", \"c\"]", "stages = { a = 1 }"), 23,
       "project_types.school.stages", "{...}", "must be a list of strings, not table"},
      {"float where an integer belongs", edit("count = 2", "count = 2.0"), 26, "authorities[0].count", "2.0",
       "must be an integer, not floating"},
      {"[authorities] as a table, not an array of tables", edit("[[authorities]]", "[authorities]"), 24, "authorities",
       "{...}", "must be one or more [[authorities]] tables"},
      {"boolean given as a number", BASE + "[output]\nper_project = 1\n", 30, "output.per_project", "1",
       "must be true or false"},
      {"nan", edit("work = 6", "work = nan"), 14, "stages.a.work", "nan", "must be a finite number"},
      {"inf", edit("horizon_months = 60", "horizon_months = inf"), 7, "time.horizon_months", "inf",
       "must be a finite number"},
      {"-inf inside a distribution", edit("max = 6", "max = -inf"), 17, "stages.b.work.max", "-inf",
       "must be a finite number"},

      // --- durations must be > 0 and never negative
      {"work fixed at 0", edit("work = 6", "work = 0"), 14, "stages.a.work", "0", "must be > 0"},
      {"work fixed negative", edit("work = 6", "work = -1"), 14, "stages.a.work", "-1", "can take negative values"},
      {"uniform work with a negative min", edit("work = 3", "work = { dist = \"uniform\", min = -1, max = 2 }"), 20,
       "stages.c.work", "uniform", "can take negative values (lowest -1)"},
      {"normal work not truncated at 0", edit("work = 3", "work = { dist = \"normal\", mean = 3, sd = 1 }"), 20,
       "stages.c.work", "normal(mean=3, sd=1)", "(lowest -inf); durations, counts and months must be >= 0 (truncate with min = 0)"},
      {"planned duration 0", edit("demand = { client = 1 }", "planned = 0"), 15, "stages.a.planned", "0",
       "must be > 0 months"},
      {"negative earliest month", edit("demand = { design = 1 }", "earliest_month = -2"), 21, "stages.c.earliest_month", "-2",
       "must be >= 0"},

      // --- distributions
      {"PERT with min > mode", edit("min = 2, mode = 3", "min = 4, mode = 3"), 17, "stages.b.work.mode", "3",
       "must be >= min (4)"},
      {"triangular with mode > max",
       edit("dist = \"pert\", min = 2, mode = 3, max = 6", "dist = \"triangular\", min = 2, mode = 7, max = 6"), 17,
       "stages.b.work.mode", "7", "must be <= max (6)"},
      {"PERT with lambda 0", edit("max = 6 }", "max = 6, lambda = 0 }"), 17, "stages.b.work.lambda", "0", "must be > 0"},
      {"uniform with min > max", edit("work = 3", "work = { dist = \"uniform\", min = 5, max = 4 }"), 20,
       "stages.c.work.min", "5", "must be <= max (4)"},
      {"normal truncated with min > max: named by the file's keys",
       edit("work = 3", "work = { dist = \"normal\", mean = 3, sd = 1, min = 4, max = 2 }"), 20, "stages.c.work.max",
       "2", "must be > lower (4)"},
      {"lognormal with sd 0", edit("work = 3", "work = { dist = \"lognormal\", mean = 3, sd = 0 }"), 20,
       "stages.c.work.sd", "0", "must be > 0"},
      {"exponential with a negative mean", edit("work = 3", "work = { dist = \"exponential\", mean = -3 }"), 20,
       "stages.c.work.mean", "-3", "must be > 0"},
      {"empirical with one value", edit("work = 3", "work = { dist = \"empirical\", values = [3] }"), 20,
       "stages.c.work.values", "[...]", "must have at least 2 entries"},
      {"discrete with a negative weight",
       edit("schools = 3", "schools = { dist = \"discrete\", values = [1, 2], weights = [1, -1] }"), 27,
       "authorities[0].schools.weights[1]", "-1", "must be >= 0"},
      {"discrete with weights and values of different lengths",
       edit("schools = 3", "schools = { dist = \"discrete\", values = [1, 2, 3], weights = [1, 1] }"), 27,
       "authorities[0].schools.weights", "[...]", "must have the same length as values (3), got 2"},
      {"unknown distribution, with did-you-mean", edit("dist = \"pert\"", "dist = \"pret\""), 17, "stages.b.work.dist",
       "\"pret\"", "unknown distribution (did you mean 'pert'?)"},
      {"distribution table without dist", edit("dist = \"pert\", ", ""), 17, "stages.b.work.dist", "",
       "required string is missing"},
      {"unknown parameter of a distribution", edit("max = 6 }", "max = 6, lamda = 3 }"), 17, "stages.b.work.lamda", "3",
       "unknown key (did you mean 'lambda'?)"},

      // --- unknown keys
      {"unknown top-level key, with did-you-mean", edit("disciplines = [", "disciplnes = ["), 1, "disciplnes", "[...]",
       "unknown key (did you mean 'disciplines'?)"},
      {"unknown nested key, with did-you-mean", edit("capacity = 2", "capacty = 2"), 12, "national.approvals.capacty", "2",
       "unknown key (did you mean 'capacity'?)"},
      {"top-level key written after a [table] header",
       edit({{"disciplines = [\"client\", \"design\"]", "# disciplines moved"}, {"seed = 1", "disciplines = [\"client\", \"design\"]"}}),
       10, "run.disciplines", "[...]", "'disciplines' is a top-level key"},
      {"a misplaced disciplines list leaves none declared",
       edit({{"disciplines = [\"client\", \"design\"]", "# disciplines moved"}, {"seed = 1", "disciplines = [\"client\", \"design\"]"}}),
       15, "stages.a.demand.client", "1", "no disciplines are declared"},
      {"required table missing", edit("[time]\nstart = \"2010-01\"\nstep_months = 1\nhorizon_months = 60\n", "\n\n\n\n"), 0,
       "time", "", "required table is missing"},
      {"required key missing", edit("name = \"base\"", "description = \"x\""), 2, "scenario.name", "",
       "required string is missing"},

      // --- stages and their order
      {"unknown predecessor stage", edit("demand = { design = 1 }", "after = [\"bb\"]"), 21, "stages.c.after", "\"bb\"",
       "unknown predecessor stage (did you mean 'b'?); stages: a, b, c"},
      {"a stage following itself", edit("demand = { design = 1 }", "after = [\"c\"]"), 21, "stages.c.after", "\"c\"",
       "a stage cannot follow itself"},
      {"cyclic predecessors a -> b -> a",
       edit({{"demand = { client = 1 }", "after = [\"b\"]"}, {"national = \"approvals\"", "after = [\"a\"]"}}), 18,
       "stages.b.after", "", "predecessors form a cycle: a -> b -> a"},
      {"a stage listed before its predecessor", edit("demand = { client = 1 }", "after = [\"c\"]"), 23,
       "project_types.school.stages", "", "stage 'a' is listed before its predecessor 'c'"},
      {"unknown stage in a type", edit("[\"a\", \"b\", \"c\"]", "[\"a\", \"bee\", \"c\"]"), 23,
       "project_types.school.stages[1]", "\"bee\"", "unknown stage (did you mean 'b'?)"},
      {"a stage listed twice in a type", edit("[\"a\", \"b\", \"c\"]", "[\"a\", \"b\", \"a\"]"), 23,
       "project_types.school.stages[2]", "\"a\"", "duplicate entry"},
      {"override of a stage the type does not list", BASE + "[project_types.school.overrides.d]\nwork = 2\n", 29,
       "project_types.school.overrides.d", "", "overrides a stage that this type does not list"},
      {"a stage name that is not a name", edit("[stages.c]", "[stages.\"c c\"]"), 19, "stages.c c", "\"c c\"",
       "names use 1-64 letters"},

      // --- disciplines
      {"unknown discipline in a demand", edit("demand = { client = 1 }", "demand = { clent = 1 }"), 15,
       "stages.a.demand.clent", "1", "unknown discipline (did you mean 'client'?); declared: client, design"},
      {"unknown discipline in a team", edit("client = 2, design = 1", "client = 2, desing = 1"), 28, "authorities[0].team.desing", "1",
       "unknown discipline (did you mean 'design'?)"},
      {"negative FTE", edit("team = { client = 2", "team = { client = -2"), 28, "authorities[0].team.client", "-2",
       "must be >= 0 FTE"},
      {"a discipline demanded that no team supplies", edit("team = { client = 2, design = 1 }", "team = { client = 2 }"),
       28, "authorities[0].team.design", "0",
       "stage 'c' of project type 'school' demands design but authority group 'la' has no design FTE"},

      // --- time and run
      {"horizon of zero", edit("horizon_months = 60", "horizon_months = 0"), 7, "time.horizon_months", "0", "must be > 0"},
      {"step_months zero", edit("step_months = 1", "step_months = 0"), 6, "time.step_months", "0", "must be > 0 and <= 12"},
      {"step_months over 12", edit("step_months = 1", "step_months = 13"), 6, "time.step_months", "13",
       "must be > 0 and <= 12"},
      {"start month 13", edit("start = \"2010-01\"", "start = \"2010-13\""), 5, "time.start", "\"2010-13\"",
       "must be a year-month like \"2005-04\""},
      {"start not YYYY-MM", edit("start = \"2010-01\"", "start = \" 2010-1\""), 5, "time.start", "\" 2010-1\"",
       "must be a year-month"},
      {"start as a TOML date", edit("start = \"2010-01\"", "start = 2010-01-01"), 5, "time.start", "2010-01-01",
       "must be a string, not local_date"},
      {"more than 1e6 steps", edit("step_months = 1", "step_months = 0.00001"), 7, "time.horizon_months", "60",
       "gives 6000000 steps of 1e-05 months; at most 1000000 steps"},
      {"replications 0", edit("replications = 2", "replications = 0"), 9, "run.replications", "0",
       "must be between 1 and 100000000"},
      {"negative seed", edit("seed = 1", "seed = -5"), 10, "run.seed", "-5", "must be >= 0"},
      {"durations neither actual nor planned", edit("seed = 1", "durations = \"plan\""), 10, "run.durations", "\"plan\"",
       "must be \"actual\" or \"planned\""},

      // --- national pools and authority milestones
      {"unknown national pool", edit("national = \"approvals\"", "national = \"aprovals\""), 18, "stages.b.national",
       "\"aprovals\"", "unknown national capacity pool (did you mean 'approvals'?); pools: approvals"},
      {"national pool with capacity 0", edit("capacity = 2", "capacity = 0"), 12, "national.approvals.capacity", "0",
       "must be between 1 and 1000000 tokens"},
      {"after_authority naming a stage no type runs",
       edit({{"demand = { design = 1 }", "after_authority = \"a\""}, {"[\"a\", \"b\", \"c\"]", "[\"b\", \"c\"]"}}), 21,
       "stages.c.after_authority", "\"a\"", "no project type runs that stage, so the gate would never open"},
      {"after_authority naming a stage this group's types do not run",
       edit({{"demand = { design = 1 }", "after_authority = \"a\""},
             {"[\"a\", \"b\", \"c\"]", "[\"b\", \"c\"]"},
             {"count = 2", "mix = { school = 1 }"}}) +
           "[project_types.other]\nstages = [\"a\"]\n",
       21, "stages.c.after_authority", "\"a\"",
       "authority group 'la' (authorities[0]) runs stage 'c' but none of its project types runs 'a'"},
      {"after_authority naming the stage itself", edit("demand = { design = 1 }", "after_authority = \"c\""), 21,
       "stages.c.after_authority", "\"c\"", "a stage cannot wait for itself"},
      {"after_authority naming an unknown stage", edit("demand = { design = 1 }", "after_authority = \"d\""), 21,
       "stages.c.after_authority", "\"d\"", "unknown stage"},

      // --- authorities
      {"schools and arrivals both given", edit("count = 2", "arrivals = { rate_per_month = 1 }"), 26,
       "authorities[0].arrivals", "", "give either 'schools' (a count) or 'arrivals' (a Poisson process), not both"},
      {"neither schools nor arrivals", edit("schools = 3", "release_interval_months = 1"), 24, "authorities[0].schools",
       "", "required: 'schools' (projects per authority) or 'arrivals'"},
      {"count 0", edit("count = 2", "count = 0"), 26, "authorities[0].count", "0", "must be between 1 and 32768"},
      {"count over 32768", edit("count = 2", "count = 40000"), 26, "authorities[0].count", "40000",
       "must be between 1 and 32768"},
      {"authorities over 32768 in all", BASE + "[[authorities]]\nname = \"lb\"\ncount = 32767\nschools = 1\nteam = { client = 1, design = 1 }\n",
       24, "authorities", "32769", "more than 32768 authorities in all"},
      {"a million schools per authority", edit("schools = 3", "schools = 1000000"), 27, "authorities[0].schools",
       "1000000", "can exceed 65535 projects per authority"},
      {"an unbounded school count", edit("schools = 3", "schools = { dist = \"exponential\", mean = 3 }"), 27,
       "authorities[0].schools", "exponential(mean=3)", "can exceed 65535"},
      {"arrival rate far too high", edit("schools = 3", "arrivals = { rate_per_month = 10000 }"), 27,
       "authorities[0].arrivals", "", "expects about 600000 projects per authority"},
      {"arrival rate 0", edit("schools = 3", "arrivals = { rate_per_month = 0 }"), 27,
       "authorities[0].arrivals.rate_per_month", "0", "must be > 0"},
      {"negative mix share", BASE + "mix = { school = -1 }\n", 29, "authorities[0].mix.school", "-1", "must be >= 0"},
      {"all-zero mix", BASE + "mix = { school = 0 }\n", 29, "authorities[0].mix", "", "shares must add up to more than 0"},
      {"mix naming an unknown type", BASE + "mix = { shcool = 1 }\n", 29, "authorities[0].mix.shcool", "1",
       "unknown project type (did you mean 'school'?)"},
      {"mix missing with two types", BASE + "[project_types.other]\nstages = [\"a\"]\n", 24, "authorities[0].mix", "",
       "required when there is more than one project type"},
      {"first naming an unknown type", BASE + "first = { type = \"scool\", count = 1 }\n", 29,
       "authorities[0].first.type", "\"scool\"", "unknown project type (did you mean 'school'?)"},
      {"first with a negative count", BASE + "first = { type = \"school\", count = -1 }\n", 29,
       "authorities[0].first.count", "-1", "must be between 0 and 65535"},
      {"negative release interval", BASE + "release_interval_months = -1\n", 29,
       "authorities[0].release_interval_months", "-1", "must be >= 0"},
      {"negative entry month", BASE + "entry_month = { dist = \"uniform\", min = -6, max = 6 }\n", 29,
       "authorities[0].entry_month", "uniform(min=-6, max=6)", "can take negative values"},
      {"duplicate group name", BASE + "[[authorities]]\nname = \"la\"\nschools = 1\nteam = { client = 1, design = 1 }\n", 30,
       "authorities[1].name", "\"la\"", "duplicate group name"},

      // --- partnership mechanisms: the tables themselves
      {"misspelt mechanism table, with did-you-mean", medit("[partnering]", "[partnerin]"), 46, "partnerin", "{...}",
       "unknown key (did you mean 'partnering'?)"},
      {"a mechanism given as a value, not a table", "setup = true\n" + BASE, 1, "setup", "true", "must be a table, not boolean"},
      {"enabled that is not a boolean", medit("long_run = 0.55", "enabled = \"no\""), 47, "partnering.enabled", "\"no\"",
       "must be true or false"},
      {"a mechanism key under the wrong table gets no top-level hint",
       medit("lep_setup = { dist = \"uniform\", min = 6.5, max = 10 }", "stages = [\"c\"]"), 58, "costs.stages", "[...]",
       "unknown key; allowed here: capital"},
      {"a plain value named like a mechanism is just an unknown key", edit("work = 6", "work = 6\ncapacity = 3"), 15,
       "stages.a.capacity", "3", "unknown key; allowed here"},

      // --- [lep]
      {"lep formed at an unknown stage", medit("formed_at = \"b\"", "formed_at = \"bb\""), 42, "lep.formed_at", "\"bb\"",
       "unknown stage (did you mean 'b'?)"},
      {"[lep] without formed_at", medit("formed_at = \"b\"", "# none"), 41, "lep.formed_at", "", "required string is missing"},
      {"lep required but missing: every user named, at the first", medit("[lep]\nformed_at = \"b\"", "#\n#"), 39, "lep.formed_at", "",
       "required by authorities[0].capacity_plan[1].after_lep, [partnering], [disputes], costs.lep_setup, [exclusivity]"},
      {"lep required by [partnering] alone", BASE + "[partnering]\n", 29, "lep.formed_at", "", "required by [partnering]:"},
      {"lep formed at a stage no type runs", BASE + "[stages.d]\nwork = 1\n[lep]\nformed_at = \"d\"\n", 32, "lep.formed_at",
       "\"d\"", "no project type runs that stage, so no LEP would ever form"},

      // --- [setup]
      {"setup stage unknown", medit("strategy_stages = [\"a\"]", "strategy_stages = [\"aa\"]"), 44, "setup.strategy_stages[0]",
       "\"aa\"", "unknown stage (did you mean 'a'?)"},
      {"a stage in two set-up lists", medit("planning_effect = 0.8", "procurement_stages = [\"a\"]"), 45,
       "setup.procurement_stages", "\"a\"", "stage already listed in setup.strategy_stages"},
      {"planning_effect above 1.9", medit("planning_effect = 0.8", "planning_effect = 2"), 45, "setup.planning_effect", "2",
       "must be between 0 and 1.9 (so that the multiplier"},
      {"vision_effect as a string", medit("planning_effect = 0.8", "vision_effect = \"high\""), 45, "setup.vision_effect",
       "\"high\"", "must be a number, not string"},
      {"mobilisation_effect negative", medit("planning_effect = 0.8", "mobilisation_effect = -0.1"), 45,
       "setup.mobilisation_effect", "-0.1", "must be between 0 and 1.9"},

      // --- [partnering]
      {"long_run of 1 (goes through a logit)", medit("long_run = 0.55", "long_run = 1"), 47, "partnering.long_run", "1",
       "must be > 0 and < 1"},
      {"start_level of 0", medit("long_run = 0.55", "start_level = 0"), 47, "partnering.start_level", "0", "must be > 0 and < 1"},
      {"unknown practice level, with did-you-mean",
       medit("practice_level = { vision_review = 0.3 }", "practice_level = { vision_reveiw = 0.3 }"), 48,
       "partnering.practice_level.vision_reveiw", "0.3", "unknown practice (did you mean 'vision_review'?); practices: vision_review"},
      {"practice level inf", medit("practice_level = { vision_review = 0.3 }", "practice_level = { vision_review = inf }"), 48,
       "partnering.practice_level.vision_review", "inf", "must be a finite number"},
      {"practice_level as a number", medit("practice_level = { vision_review = 0.3 }", "practice_level = 0.3"), 48,
       "partnering.practice_level", "0.3", "must be a table of practice = number"},
      {"negative recovery", medit("recovery = 0.06", "recovery = -0.1"), 49, "partnering.recovery", "-0.1", "must be >= 0"},
      {"recovery too fast for the time step", medit("recovery = 0.06", "recovery = 0.9"), 49, "partnering.recovery", "0.9",
       "recovery + 4 x practice_recovery = 1.02 per month must be <= 1 / step_months = 1"},
      {"default recovery too fast for 6-month steps", medit({{"step_months = 1", "step_months = 6"}, {"recovery = 0.06", "#"}}),
       46, "partnering.recovery", "", "= 0.18 per month must be <= 1 / step_months = 0.16666666666666666"},
      {"productivity above 1.9", medit("recovery = 0.06", "productivity = 2"), 49, "partnering.productivity", "2",
       "must be between 0 and 1.9"},
      {"negative delay shock", medit("recovery = 0.06", "delay_shock = -1"), 49, "partnering.delay_shock", "-1", "must be >= 0"},

      // --- [disputes]
      {"disputes without partnering",
       medit("[partnering]\nlong_run = 0.55\npractice_level = { vision_review = 0.3 }\nrecovery = 0.06", "#\n#\n#\n#"), 50,
       "disputes", "", "[disputes] needs [partnering]: the dispute hazard depends on partnering health; add a [partnering] table"},
      {"disputes with partnering switched off", medit("long_run = 0.55", "enabled = false"), 50, "disputes", "",
       "[partnering] is switched off (enabled = false)"},
      {"dispute months fixed at 0", medit("months = { dist = \"pert\", min = 1, mode = 3, max = 9 }", "months = 0"), 52,
       "disputes.months", "0", "must be > 0"},
      {"dispute months that can be negative",
       medit("months = { dist = \"pert\", min = 1, mode = 3, max = 9 }", "months = { dist = \"uniform\", min = -1, max = 3 }"), 52,
       "disputes.months", "uniform(min=-1, max=3)", "can take negative values"},
      {"negative dispute rate", medit("base_rate = 0.01", "base_rate = -0.01"), 51, "disputes.base_rate", "-0.01", "must be >= 0"},

      // --- [capacity]
      {"attrition above 1", medit("attrition = 0.01", "attrition = 1.5"), 55, "capacity.attrition", "1.5",
       "must be between 0 and 1"},
      {"negative hiring lag", medit("hiring_lag_months = 4", "hiring_lag_months = -1"), 54, "capacity.hiring_lag_months", "-1",
       "must be between 0 and 60 (time.horizon_months)"},
      {"negative cost per FTE", medit("attrition = 0.01", "cost_per_fte_month = -0.006"), 55, "capacity.cost_per_fte_month",
       "-0.006", "must be >= 0"},

      // --- [costs] and [funding]
      {"capital of an unknown type, with did-you-mean", medit("capital = { school =", "capital = { shcool ="), 57,
       "costs.capital.shcool", "{...}", "unknown project type (did you mean 'school'?)"},
      {"capital that can be negative", medit("min = 15, mode = 19", "min = -15, mode = 19"), 57, "costs.capital.school",
       "pert(min=-15, mode=19, max=30)", "can take negative values"},
      {"capital as a number", medit("capital = { school = { dist = \"pert\", min = 15, mode = 19, max = 30 } }", "capital = 19"),
       57, "costs.capital", "19", "must be a table of project_type = distribution"},
      {"lep_setup that can be negative", medit("min = 6.5, max = 10", "min = -6.5, max = 10"), 58, "costs.lep_setup",
       "uniform(min=-6.5, max=10)", "can take negative values"},
      {"[costs] without spend_stage", medit("spend_stage = \"c\"", "#"), 56, "costs.spend_stage", "", "required string is missing"},
      {"spend_stage unknown", medit("spend_stage = \"c\"", "spend_stage = \"cc\""), 59, "costs.spend_stage", "\"cc\"",
       "unknown stage (did you mean 'c'?)"},
      {"funding without costs",
       medit("[costs]\ncapital = { school = { dist = \"pert\", min = 15, mode = 19, max = 30 } }\n"
             "lep_setup = { dist = \"uniform\", min = 6.5, max = 10 }\nspend_stage = \"c\"",
             "#\n#\n#\n#"),
       60, "funding", "", "[funding] needs [costs]: the envelope is spent on project capital; add a [costs] table"},
      {"envelope below a type's largest capital x premium x market cap", medit("annual_envelope = 2500", "annual_envelope = 40"), 61,
       "funding.annual_envelope", "40",
       "is less than what one 'school' project may need (capital up to 30 x (1 + exclusivity.single_cost_premium 0.1) x "
       "market.max_factor 1.5 = 49.5 GBP m): such a project could never start"},
      {"envelope and unbounded capital",
       medit("{ dist = \"pert\", min = 15, mode = 19, max = 30 }", "{ dist = \"exponential\", mean = 20 }"), 61,
       "funding.annual_envelope", "2500", "give costs.capital.school a bounded distribution"},
      {"envelope of 0", medit("annual_envelope = 2500", "annual_envelope = 0"), 61, "funding.annual_envelope", "0",
       "must be > 0 GBP m per programme year"},
      {"envelope missing", medit("annual_envelope = 2500", "#"), 60, "funding.annual_envelope", "", "required number is missing"},
      {"funding with no stages", medit("annual_envelope = 2500\nstages = [\"c\"]", "annual_envelope = 2500\nstages = []"), 62,
       "funding.stages", "[...]", "must list at least one stage"},

      // --- [market], [transformation]
      {"market max_factor below 1", medit("max_factor = 1.5", "max_factor = 0.9"), 65, "market.max_factor", "0.9", "must be >= 1"},
      {"market without stages", medit("[market]\nstages = [\"c\"]", "[market]\n#"), 63, "market.stages", "",
       "required list of strings is missing"},
      {"market reference workload 0", medit("max_factor = 1.5", "reference_workload = 0"), 65, "market.reference_workload", "0",
       "must be > 0"},
      {"transformation weight negative", medit("leadership_weight = 0.5", "health_weight = -0.1"), 67,
       "transformation.health_weight", "-0.1", "must be between 0 and 1.9"},
      {"slowed stage unknown", medit("slowed_stages = [\"c\"]", "slowed_stages = [\"x\"]"), 68, "transformation.slowed_stages[0]",
       "\"x\"", "unknown stage"},

      // --- [exclusivity]
      {"unknown scorecard weight, with did-you-mean", medit("cost = 0.25, quality", "cots = 0.25, quality"), 70,
       "exclusivity.weights.cots", "0.25", "unknown weight (did you mean 'cost'?); weights: cost, quality, time, volume"},
      {"scorecard weights all 0",
       medit("weights = { cost = 0.25, quality = 0.25, time = 0.25, volume = 0.25 }", "weights = { cost = 0, quality = 0 }"), 70,
       "exclusivity.weights", "", "weights must add up to more than 0"},
      {"negative scorecard weight", medit("cost = 0.25, quality", "cost = -0.25, quality"), 70, "exclusivity.weights.cost",
       "-0.25", "must be >= 0"},
      {"exclusivity years 0", medit("years = 2", "years = 0"), 71, "exclusivity.years", "0", "must be between 1 and 1000000"},
      {"exclusivity years not an integer", medit("years = 2", "years = 2.5"), 71, "exclusivity.years", "2.5",
       "must be an integer, not floating"},
      {"threshold above 1", medit("years = 2", "threshold = 1.2"), 71, "exclusivity.threshold", "1.2", "must be between 0 and 1"},
      {"act probability negative", medit("years = 2", "act_probability = -0.5"), 71, "exclusivity.act_probability", "-0.5",
       "must be between 0 and 1"},
      {"single procurement months that can be negative", medit("min = 3, max = 9", "min = -3, max = 9"), 72,
       "exclusivity.single_procurement_months", "uniform(min=-3, max=9)", "can take negative values"},

      // --- [authorities.setup]
      {"two ways of giving the shared vision",
       medit("shadow_board = 0.7", "self_assessment = [true, true, true, true, true, true, true, true, true, true]"), 32,
       "authorities[0].setup.self_assessment", "[...]", "give only one of vision_activities, self_assessment and vision_count"},
      {"self-assessment of the wrong length", medit("vision_activities = [1, 2, 5]", "self_assessment = [true, false, true]"), 31,
       "authorities[0].setup.self_assessment", "[...]", "must have exactly 10 answers (PN3's ten questions), got 3"},
      {"self-assessment answer that is not a boolean",
       medit("vision_activities = [1, 2, 5]", "self_assessment = [true, false, 1, true, true, true, true, true, true, true]"), 31,
       "authorities[0].setup.self_assessment[2]", "1", "must be true or false, not integer"},
      {"vision activity 11", medit("vision_activities = [1, 2, 5]", "vision_activities = [1, 2, 11]"), 31,
       "authorities[0].setup.vision_activities[2]", "11", "must be an activity number between 1 and 10"},
      {"vision activity listed twice", medit("vision_activities = [1, 2, 5]", "vision_activities = [1, 2, 2]"), 31,
       "authorities[0].setup.vision_activities[2]", "2", "duplicate activity"},
      {"vision activity as a string", medit("vision_activities = [1, 2, 5]", "vision_activities = [\"1\"]"), 31,
       "authorities[0].setup.vision_activities[0]", "\"1\"", "must be an integer, not string"},
      {"vision count that can exceed 10",
       medit("vision_activities = [1, 2, 5]", "vision_count = { dist = \"uniform\", min = 3, max = 12 }"), 31,
       "authorities[0].setup.vision_count", "uniform(min=3, max=12)", "can take values outside [0, 10] (lowest 3, highest 12)"},
      {"planning quality outside [0, 1]", medit("max = 0.8 }", "max = 1.2 }"), 30, "authorities[0].setup.planning_quality",
       "uniform(min=0.2, max=1.2)", "can take values outside [0, 1]"},
      {"leadership as an untruncated normal",
       medit("shadow_board = 0.7", "leadership = { dist = \"normal\", mean = 0.5, sd = 0.1 }"), 32,
       "authorities[0].setup.leadership", "normal(mean=0.5, sd=0.1)", "outside [0, 1] (lowest -inf, highest inf); truncate it"},
      {"probability above 1", medit("shadow_board = 0.7", "shadow_board = 1.5"), 32, "authorities[0].setup.shadow_board", "1.5",
       "must be a probability between 0 and 1 (or true / false)"},
      {"probability as a string", medit("shadow_board = 0.7", "co_location = \"yes\""), 32, "authorities[0].setup.co_location",
       "\"yes\"", "must be a probability between 0 and 1, or true / false, not string"},
      {"unknown practice of a group, with did-you-mean", medit("vision_review = 0.5, strategic", "vision_reveiw = 0.5, strategic"),
       33, "authorities[0].setup.practices.vision_reveiw", "0.5", "unknown practice (did you mean 'vision_review'?)"},
      {"practice probability out of range", medit("strategic_review = true }", "strategic_review = 2 }"), 33,
       "authorities[0].setup.practices.strategic_review", "2", "must be a probability between 0 and 1"},
      {"unknown set-up key, with did-you-mean", medit("shadow_board = 0.7", "shadow_bord = 0.7"), 32,
       "authorities[0].setup.shadow_bord", "0.7", "unknown key (did you mean 'shadow_board'?)"},

      // --- [[authorities.capacity_plan]]
      {"plan step with an unknown discipline", medit("team = { client = 3, design = 1 }", "team = { clent = 3, design = 1 }"), 36,
       "authorities[0].capacity_plan[0].team.clent", "3", "unknown discipline (did you mean 'client'?)"},
      {"plan step with a negative month", medit("month = 0", "month = -1"), 35, "authorities[0].capacity_plan[0].month", "-1",
       "must be >= 0"},
      {"plan steps of a kind out of time order", medit({{"month = 6", "month = 0"}, {"after_lep = true", "after_lep = false"}}),
       38, "authorities[0].capacity_plan[1].month", "0",
       "must be later than the previous entry-relative step's month (0): list each kind of step in time order"},
      {"after_lep as a number", medit("after_lep = true", "after_lep = 1"), 39, "authorities[0].capacity_plan[1].after_lep", "1",
       "must be true or false"},
      {"plan step without a team", medit("team = { client = 1, design = 2 }", "#"), 37, "authorities[0].capacity_plan[1].team", "",
       "required: the team to aim for"},
      {"unknown plan step key, with did-you-mean", medit("after_lep = true", "after_lp = true"), 39,
       "authorities[0].capacity_plan[1].after_lp", "true", "unknown key (did you mean 'after_lep'?)"},
      {"capacity_plan as an inline table", BASE + "capacity_plan = { month = 0 }\n", 29, "authorities[0].capacity_plan", "{...}",
       "must be one or more [[authorities.capacity_plan]] tables"},
      {"a discipline only the plan supplies, with [capacity] off",
       edit("team = { client = 2, design = 1 }", "team = { client = 2 }") +
           "[[authorities.capacity_plan]]\nteam = { client = 2, design = 1 }\n",
       28, "authorities[0].team.design", "0",
       "has no design FTE in its team, and its capacity_plan applies only with [capacity] on: its projects would never finish"},
  };
}

std::string describe(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += "  line " + std::to_string(d.line) + " [" + d.key + "] [" + d.value + "] [" + d.rule + "]\n";
  return out;
}

}  // namespace

TEST_CASE("every broken rule is reported with its file, line, key, value and rule", "[scenario]") {
  const auto cases = bad_cases();
  REQUIRE(cases.size() >= 35);
  // The bases themselves are valid, or every row would pass for the wrong reason.
  REQUIRE_NOTHROW(parse_scenario(BASE, "bad.toml"));
  REQUIRE_NOTHROW(parse_scenario(MECH, "bad.toml"));

  for (const auto& c : cases) {
    INFO("case: " << c.what);
    bool threw = false;
    try {
      parse_scenario(c.text, "bad.toml");
    } catch (const ScenarioError& e) {
      threw = true;
      const auto& ds = e.diagnostics();
      INFO("expected: line " << c.line << " [" << c.key << "] [" << c.value << "] [" << c.rule << "]\ngot:\n" << describe(ds));
      CHECK(!ds.empty());
      const bool found = std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
        return d.file == "bad.toml" && d.line == c.line && d.key == c.key &&
               d.value.find(c.value) != std::string::npos && d.rule.find(c.rule) != std::string::npos;
      });
      CHECK(found);
      CHECK(e.code() == ExitCode::INVALID_SCENARIO);
      // Every message is one line: FILE:LINE: KEY = VALUE: RULE.
      for (const auto& d : ds) CHECK(d.format().find('\n') == std::string::npos);
    } catch (const std::exception& e) {
      FAIL_CHECK("threw something other than ScenarioError: " << e.what());
      threw = true;
    }
    CHECK(threw);
  }
}

TEST_CASE("a minimal scenario gets the documented defaults", "[scenario]") {
  const Scenario s = parse_scenario(R"(
[scenario]
name = "minimal"
[time]
start = "2005-04"
horizon_months = 24.5
[stages.only]
work = 2
[project_types.t]
stages = ["only"]
[[authorities]]
name = "la"
schools = 2
)",
                                    "minimal.toml");
  CHECK(s.description.empty());
  CHECK(s.time.start_year == 2005);
  CHECK(s.time.start_month == 4);
  CHECK(s.time.step_months == 1.0);
  CHECK(s.time.steps == 25);  // ceil(24.5 / 1)
  CHECK(s.replications == 100);
  CHECK(s.seed == 1);
  CHECK(s.durations == DurationBasis::ACTUAL);
  CHECK(s.per_project_output);
  CHECK(s.chunk_replications == 0);
  CHECK(s.disciplines.empty());
  CHECK(s.pools.empty());
  REQUIRE(s.stages.size() == 1);
  CHECK(!s.stages[0].planned);
  CHECK(s.stages[0].earliest_month == 0.0);
  CHECK(s.stages[0].national_pool == -1);
  CHECK(s.stages[0].authority_milestone == -1);
  REQUIRE(s.groups.size() == 1);
  const AuthorityGroup& g = s.groups[0];
  CHECK(g.count == 1);
  CHECK(g.entry_month == Distribution::fixed(0.0));
  CHECK(g.schools == Distribution::fixed(2.0));
  CHECK(!g.arrivals);
  CHECK(g.release_interval_months == 0.0);
  CHECK(g.mix == std::vector<double>{1.0});
  CHECK(g.first_type == -1);
  CHECK(s.authority_names == std::vector<std::string>{"la"});
}

TEST_CASE("predecessors: the listed order by default, 'after' for parallel stages, outside stages ignored",
          "[scenario]") {
  const Scenario s = parse_scenario(R"(
[scenario]
name = "graph"
[time]
start = "2005-04"
horizon_months = 24
[stages.a]
work = 1
[stages.b]
work = 1
after = ["a"]
[stages.c]
work = 1
after = ["a", "x"]
[stages.d]
work = 1
[stages.x]
work = 1
[project_types.t]
stages = ["a", "b", "c", "d"]
[project_types.u]
stages = ["x", "c"]
[[authorities]]
name = "la"
count = 3
schools = 1
mix = { t = 3, u = 1 }
)",
                                    "graph.toml");
  REQUIRE(s.types.size() == 2);
  const auto& t = s.types[0].stages;  // a b c d
  REQUIRE(t.size() == 4);
  CHECK(t[0].predecessors == 0);      // first listed: none
  CHECK(t[1].predecessors == 0b1);    // b after a
  CHECK(t[2].predecessors == 0b1);    // c after a (x is not in t): parallel with b
  CHECK(t[3].predecessors == 0b100);  // d follows c, the stage listed before it
  const auto& u = s.types[1].stages;  // x c
  REQUIRE(u.size() == 2);
  CHECK(u[0].predecessors == 0);
  CHECK(u[1].predecessors == 0b1);    // c after x (a is not in u)
  CHECK(s.groups[0].mix == std::vector<double>{0.75, 0.25});
  CHECK(s.authority_names == std::vector<std::string>{"la-1", "la-2", "la-3"});
}

TEST_CASE("every problem of a file is reported in one pass, sorted by line", "[scenario]") {
  const std::string text = edit({
      {"step_months = 1", "step_months = 0"},                                  // line 6
      {"seed = 1", "seed = -1"},                                               // line 10
      {"min = 2, mode = 3", "min = 4, mode = 3"},                              // line 17
      {"demand = { design = 1 }", "demand = { desgn = 1 }"},                   // line 21
      {"count = 2", "count = 0"},                                              // line 26
  });
  try {
    parse_scenario(text, "several.toml");
    FAIL("accepted a scenario with five problems");
  } catch (const ScenarioError& e) {
    const auto& ds = e.diagnostics();
    INFO(describe(ds));
    REQUIRE(ds.size() >= 5);
    CHECK(std::is_sorted(ds.begin(), ds.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; }));
    std::vector<std::string> keys;
    for (const auto& d : ds) keys.push_back(d.key);
    for (const char* k : {"time.step_months", "run.seed", "stages.b.work.mode", "stages.c.demand.desgn", "authorities[0].count"})
      CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
    // The message lists them all, one per line, in the documented form.
    const std::string what = e.what();
    CHECK(what.find("error: several.toml:6: time.step_months = 0: must be > 0 and <= 12") != std::string::npos);
    CHECK(what.find("error: several.toml:10: run.seed = -1: must be >= 0") != std::string::npos);
    CHECK(static_cast<std::size_t>(std::count(what.begin(), what.end(), '\n')) == ds.size() - 1);
  }
}

TEST_CASE("every scenario shipped in scenarios/ validates", "[scenario]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(LEPSIM_SOURCE_DIR) / "scenarios";
  REQUIRE(fs::is_directory(dir));
  int seen = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {  // policy/ variants too
    if (entry.path().extension() != ".toml") continue;
    ++seen;
    INFO("scenario: " << entry.path().string());
    if (entry.path().parent_path().filename() == "record") {  // observed records (docs/calibration.md)
      CHECK_NOTHROW(load_record(entry.path().string()));
      continue;
    }
    if (entry.path().parent_path().filename() == "calibration") {  // calibration and fitted files (docs/calibration.md)
      std::string why;
      if (entry.path().stem().string().ends_with("-fitted"))
        CHECK_NOTHROW(fitted_is_current(entry.path().string(), why));
      else
        CHECK_NOTHROW(load_calibration(entry.path().string()));
      continue;
    }
    if (entry.path().parent_path().filename() == "experiments") {  // experiment files (docs/experiments.md)
      CHECK_NOTHROW(load_experiment(entry.path().string()));
      continue;
    }
    try {
      const Scenario s = load_scenario(entry.path().string());
      CHECK(!s.name.empty());
      CHECK(s.authority_count() >= 1);
      CHECK(s.source_path == entry.path().string());
    } catch (const ScenarioError& e) {
      FAIL_CHECK(e.what());
    }
  }
  CHECK(seen >= 1);
}

TEST_CASE("the resolved TOML of example.toml re-parses to the same scenario and the same numbers", "[scenario]") {
  const Scenario original = load_scenario(std::string(LEPSIM_SOURCE_DIR) + "/scenarios/example.toml");
  const std::string resolved = original.resolved_toml();
  const Scenario again = parse_scenario(resolved, "resolved.toml");
  CHECK(again.resolved_toml() == resolved);  // idempotent

  CHECK(again.time.steps == original.time.steps);
  CHECK(again.seed == original.seed);
  CHECK(again.authority_names == original.authority_names);

  ReplicationResult a, b;
  Simulator(original).run(0u, a);
  Simulator(again).run(0u, b);
  REQUIRE(a.projects > 0);
  CHECK(a.completion_step == b.completion_step);
  CHECK(a.project_type == b.project_type);
  CHECK(a.arrival_step == b.arrival_step);
}

TEST_CASE("[scenario] plan: optional, kept as written, in the resolved form and inherited by variants", "[scenario]") {
  CHECK(parse_scenario(BASE, "s.toml").plan.empty());
  const Scenario s = parse_scenario(plan_of("[[12, 0], [30.5, 2.5], [60, 6]]"), "s.toml");
  using P = std::array<double, 2>;
  CHECK(s.plan == std::vector<P>{P{12, 0}, P{30.5, 2.5}, P{60, 6}});
  const std::string resolved = s.resolved_toml();
  CHECK(resolved.find("plan = [[12.0, 0.0], [30.5, 2.5], [60.0, 6.0]]") != std::string::npos);
  const Scenario again = parse_scenario(resolved, "resolved.toml");
  CHECK(again.plan == s.plan);
  CHECK(again.resolved_toml() == resolved);
  // Without a plan the resolved form has none (and is as before plans existed).
  CHECK(parse_scenario(BASE, "s.toml").resolved_toml().find("plan =") == std::string::npos);

  // The national default states one within its horizon; a policy variant inherits it.
  const std::string dir = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/";
  const Scenario bsf = load_scenario(dir + "bsf.toml");
  REQUIRE(!bsf.plan.empty());
  CHECK(bsf.plan.back()[0] <= bsf.time.horizon_months);
  // The Department's trajectory (docs/model.md, section 21): 200 by Dec 2008 (month 45),
  // then 250 a year from 2011 (250 by month 69) to all 3,500 by the end of 2023.
  const auto at = [&](double month) {
    for (const auto& p : bsf.plan)
      if (p[0] == month) return p[1];
    return -1.0;
  };
  CHECK(at(45) == 200);
  CHECK(at(69) == 250);
  CHECK(bsf.plan.back()[1] == Approx(250 + 250.0 * (120 - 69) / 12).margin(1));
  CHECK(load_scenario(dir + "policy/practices-mandated.toml").plan == bsf.plan);
}

TEST_CASE("load_scenario names a path it cannot read", "[scenario]") {
  const std::string missing = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/no-such-scenario.toml";
  try {
    load_scenario(missing);
    FAIL("loaded a missing file");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].file == missing);
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
    CHECK(e.code() == ExitCode::INVALID_SCENARIO);
  }
  // A directory opens on Linux and reads as nothing; it must not pass for an empty scenario.
  try {
    load_scenario(LEPSIM_SOURCE_DIR "/scenarios");
    FAIL("loaded a directory");
  } catch (const ScenarioError& e) {
    CHECK(std::string(e.what()).find("is a directory") != std::string::npos);
  }
  // A device reads forever: refused before reading.
  try {
    load_scenario("/dev/zero");
    FAIL("loaded /dev/zero");
  } catch (const ScenarioError& e) {
    CHECK(std::string(e.what()).find("is not a regular file") != std::string::npos);
  }
}

// --- Partnership mechanisms -------------------------------------------------

namespace {

// Every mechanism on, every key given (most away from its default), two groups.
const std::string FULL = R"(disciplines = ["client", "design", "build"]
[scenario]
name = "full"
[time]
start = "2005-04"
horizon_months = 96
[run]
replications = 2
seed = 7
[stages.strategy]
work = 4
demand = { client = 1 }
[stages.procurement]
work = { dist = "pert", min = 8, mode = 12, max = 20 }
demand = { client = 1, design = 0.5 }
[stages.mobilisation]
work = 2
demand = { client = 0.5 }
[stages.construction]
work = { dist = "uniform", min = 10, max = 16 }
demand = { build = 1 }
[project_types.rebuild]
stages = ["strategy", "procurement", "mobilisation", "construction"]
[project_types.remodel]
stages = ["strategy", "construction"]
[lep]
formed_at = "procurement"
[setup]
strategy_stages = ["strategy"]
procurement_stages = ["procurement"]
mobilisation_stages = ["mobilisation"]
planning_effect = 0.7
vision_effect = 0.4
mobilisation_effect = 0.5
[partnering]
long_run = 0.6
practice_level = { vision_review = 0.35, strategic_review = 0.25, partnering_protocols = 0.3, external_facilitation = 0.15 }
recovery = 0.05
practice_recovery = 0.02
volatility = 0.1
start_level = 0.45
start_vision = 1.2
start_governance = 0.5
start_mobilisation = 0.7
delay_shock = 0.55
overrun_shock = 0.75
ontime_boost = 0.12
productivity = 0.25
[disputes]
base_rate = 0.02
health_sensitivity = 3.5
months = { dist = "pert", min = 1, mode = 3, max = 9 }
[capacity]
hiring_lag_months = 3
attrition = 0.015
cost_per_fte_month = 0.007
[costs]
capital = { rebuild = { dist = "pert", min = 15, mode = 19, max = 30 }, remodel = 11.06 }
delay_overrun = 0.45
health_overrun = 0.35
lep_setup = { dist = "uniform", min = 6.5, max = 10 }
spend_stage = "construction"
[funding]
annual_envelope = 2500
stages = ["construction"]
[market]
stages = ["construction"]
reference_workload = 40
price_elasticity = 0.35
duration_elasticity = 0.25
max_factor = 1.4
[transformation]
base = 1.5
leadership_weight = 0.6
vision_weight = 0.35
health_weight = 0.25
target_bonus = 0.3
target_slowdown = 0.04
slowed_stages = ["construction"]
[exclusivity]
weights = { cost = 2, quality = 1, time = 1 }
threshold = 0.45
years = 3
act_probability = 0.6
single_procurement_months = { dist = "uniform", min = 3, max = 9 }
single_cost_premium = 0.12
[[authorities]]
name = "wave1"
count = 3
entry_month = { dist = "uniform", min = 0, max = 12 }
schools = { dist = "pert", min = 2, mode = 4, max = 8 }
release_interval_months = 2
mix = { rebuild = 0.7, remodel = 0.3 }
first = { type = "rebuild", count = 1 }
team = { client = 2, design = 1 }
[authorities.setup]
planning_quality = { dist = "uniform", min = 0.2, max = 0.8 }
vision_activities = [1, 2, 5, 6, 7]
shadow_board = 0.7
independent_chair = true
transition_team = false
co_location = 0.4
leadership = { dist = "triangular", min = 0.3, mode = 0.6, max = 0.9 }
practices = { vision_review = 0.5, strategic_review = true, partnering_protocols = 0.6, external_facilitation = 0.2 }
transformation_targets = 0.5
[[authorities.capacity_plan]]
month = 0
team = { client = 3, design = 2 }
[[authorities.capacity_plan]]
month = 6
after_lep = true
team = { client = 2, design = 1, build = 4 }
[[authorities.capacity_plan]]
month = 18
team = { client = 3, design = 3 }
[[authorities]]
name = "wave2"
count = 2
entry_month = 24
schools = 3
mix = { remodel = 1 }
team = { client = 1, design = 1, build = 2 }
[authorities.setup]
self_assessment = [true, true, false, true, false, false, true, true, false, true]
shadow_board = false
)";

//! Every parameter the registry addresses, path by path (a key the resolved text forgot
//! would come back as its default), then the structure keys the path API does not address.
void check_same_mechanisms(const Scenario& a, const Scenario& b) {
  // The mechanisms' own tables and each group's [authorities.setup], value by value (a
  // default-built Scenario's group has no name, so groups are keyed by their place).
  const auto mechanism_values = [](const Scenario& s) {
    std::vector<std::pair<std::string, ParamValue>> out;
    for (const std::string& p : parameter_paths(s)) {
      const std::string table = p.substr(0, p.find('.'));
      const bool mechanism = mechanism_enabled(s.mechanisms, table).has_value();
      const auto setup = p.find(".setup.");
      if (mechanism) out.emplace_back(p, get_parameter(s, p));
      else if (table == "authorities" && setup != std::string::npos) out.emplace_back(p.substr(setup), get_parameter(s, p));
    }
    return out;
  };
  const auto va = mechanism_values(a), vb = mechanism_values(b);
  REQUIRE(va.size() == vb.size());
  for (std::size_t i = 0; i < va.size(); ++i) {
    INFO(va[i].first);
    CHECK(va[i].first == vb[i].first);
    CHECK(va[i].second == vb[i].second);
  }
  const Mechanisms &x = a.mechanisms, &y = b.mechanisms;
  CHECK(x.lep_stage == y.lep_stage);
  CHECK(x.setup.enabled == y.setup.enabled);
  CHECK(x.setup.strategy_stages == y.setup.strategy_stages);
  CHECK(x.setup.procurement_stages == y.setup.procurement_stages);
  CHECK(x.setup.mobilisation_stages == y.setup.mobilisation_stages);
  CHECK(x.partnering.enabled == y.partnering.enabled);
  CHECK(x.partnering.mandated == y.partnering.mandated);
  CHECK(x.disputes.enabled == y.disputes.enabled);
  CHECK(x.capacity.enabled == y.capacity.enabled);
  CHECK(x.costs.enabled == y.costs.enabled);
  CHECK(x.costs.capital == y.costs.capital);
  CHECK(x.costs.spend_stage == y.costs.spend_stage);
  CHECK(x.funding.enabled == y.funding.enabled);
  CHECK(x.funding.stages == y.funding.stages);
  CHECK(x.market.enabled == y.market.enabled);
  CHECK(x.market.stages == y.market.stages);
  CHECK(x.transformation.enabled == y.transformation.enabled);
  CHECK(x.transformation.slowed_stages == y.transformation.slowed_stages);
  CHECK(x.exclusivity.enabled == y.exclusivity.enabled);
  REQUIRE(a.groups.size() == b.groups.size());
  for (std::size_t gi = 0; gi < a.groups.size(); ++gi) {
    INFO("group " << gi);
    const auto &p = a.groups[gi].capacity_plan, &q = b.groups[gi].capacity_plan;
    REQUIRE(p.size() == q.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      CHECK(p[i].month == q[i].month);
      CHECK(p[i].after_lep == q[i].after_lep);
      CHECK(p[i].team == q[i].team);
    }
  }
}

std::string first_problem(const std::string& text) {
  try {
    parse_scenario(text, "s.toml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a scenario with every partnership mechanism parses to the values written", "[scenario]") {
  const Scenario s = parse_scenario(FULL, "full.toml");
  const Mechanisms& m = s.mechanisms;
  // stages: strategy 0, procurement 1, mobilisation 2, construction 3; types: rebuild 0, remodel 1
  CHECK(m.lep_stage == 1);

  CHECK(m.setup.enabled);
  CHECK(m.setup.strategy_stages == std::vector<int>{0});
  CHECK(m.setup.procurement_stages == std::vector<int>{1});
  CHECK(m.setup.mobilisation_stages == std::vector<int>{2});
  CHECK(m.setup.planning_effect == 0.7);
  CHECK(m.setup.vision_effect == 0.4);
  CHECK(m.setup.mobilisation_effect == 0.5);

  CHECK(m.partnering.enabled);
  CHECK(m.partnering.long_run == 0.6);
  CHECK(m.partnering.practice_level[0] == 0.35);
  CHECK(m.partnering.practice_level[1] == 0.25);
  CHECK(m.partnering.practice_level[3] == 0.15);
  CHECK(m.partnering.recovery == 0.05);
  CHECK(m.partnering.practice_recovery == 0.02);
  CHECK(m.partnering.start_level == 0.45);
  CHECK(m.partnering.start_vision == 1.2);
  CHECK(m.partnering.ontime_boost == 0.12);
  CHECK(m.partnering.productivity == 0.25);

  CHECK(m.disputes.enabled);
  CHECK(m.disputes.base_rate == 0.02);
  CHECK(m.disputes.health_sensitivity == 3.5);
  CHECK(m.disputes.months == Distribution::pert(1, 3, 9));

  CHECK(m.capacity.enabled);
  CHECK(m.capacity.hiring_lag_months == 3);
  CHECK(m.capacity.attrition == 0.015);
  CHECK(m.capacity.cost_per_fte_month == 0.007);

  CHECK(m.costs.enabled);
  REQUIRE(m.costs.capital.size() == 2);
  CHECK(m.costs.capital[0] == Distribution::pert(15, 19, 30));
  CHECK(m.costs.capital[1] == Distribution::fixed(11.06));
  CHECK(m.costs.delay_overrun == 0.45);
  CHECK(m.costs.health_overrun == 0.35);
  CHECK(m.costs.lep_setup == Distribution::uniform(6.5, 10));
  CHECK(m.costs.spend_stage == 3);

  CHECK(m.funding.enabled);
  CHECK(m.funding.annual_envelope == 2500);
  CHECK(m.funding.stages == std::vector<int>{3});

  CHECK(m.market.enabled);
  CHECK(m.market.stages == std::vector<int>{3});
  CHECK(m.market.reference_workload == 40);
  CHECK(m.market.price_elasticity == 0.35);
  CHECK(m.market.duration_elasticity == 0.25);
  CHECK(m.market.max_factor == 1.4);

  CHECK(m.transformation.enabled);
  CHECK(m.transformation.base == 1.5);
  CHECK(m.transformation.leadership_weight == 0.6);
  CHECK(m.transformation.target_slowdown == 0.04);
  CHECK(m.transformation.slowed_stages == std::vector<int>{3});

  CHECK(m.exclusivity.enabled);
  // { cost = 2, quality = 1, time = 1 }: volume not listed is 0; normalised to sum 1.
  CHECK(m.exclusivity.weight_cost == 0.5);
  CHECK(m.exclusivity.weight_quality == 0.25);
  CHECK(m.exclusivity.weight_time == 0.25);
  CHECK(m.exclusivity.weight_volume == 0.0);
  CHECK(m.exclusivity.threshold == 0.45);
  CHECK(m.exclusivity.years == 3);
  CHECK(m.exclusivity.act_probability == 0.6);
  CHECK(m.exclusivity.single_procurement == Distribution::uniform(3, 9));
  CHECK(m.exclusivity.single_cost_premium == 0.12);

  REQUIRE(s.groups.size() == 2);
  const AuthoritySetup& w1 = s.groups[0].setup;
  CHECK(w1.planning_quality == Distribution::uniform(0.2, 0.8));
  CHECK(w1.vision_count == Distribution::fixed(5));  // activities 1, 2, 5, 6, 7
  CHECK(w1.shadow_board == 0.7);
  CHECK(w1.independent_chair == 1.0);  // true
  CHECK(w1.transition_team == 0.0);    // false
  CHECK(w1.co_location == 0.4);
  CHECK(w1.leadership == Distribution::triangular(0.3, 0.6, 0.9));
  CHECK(w1.practices[0] == 0.5);
  CHECK(w1.practices[1] == 1.0);
  CHECK(w1.practices[2] == 0.6);
  CHECK(w1.practices[3] == 0.2);
  CHECK(w1.transformation_targets == 0.5);
  // Canonical order: entry-relative steps by month, then the after_lep ones.
  const auto& plan = s.groups[0].capacity_plan;
  REQUIRE(plan.size() == 3);
  CHECK((plan[0].month == 0 && !plan[0].after_lep && plan[0].team == std::vector<double>{3, 2, 0}));
  CHECK((plan[1].month == 18 && !plan[1].after_lep && plan[1].team == std::vector<double>{3, 3, 0}));
  CHECK((plan[2].month == 6 && plan[2].after_lep && plan[2].team == std::vector<double>{2, 1, 4}));

  const AuthoritySetup& w2 = s.groups[1].setup;
  CHECK(w2.vision_count == Distribution::fixed(6));  // six of the ten answers are yes
  CHECK(w2.shadow_board == 0.0);
  CHECK(w2.independent_chair == 0.5);  // not given: default
  CHECK(w2.planning_quality == Distribution::fixed(0.5));
  CHECK(s.groups[1].capacity_plan.empty());
}

TEST_CASE("a discipline only a capacity plan supplies is staffed when [capacity] is on", "[scenario]") {
  // wave1 in FULL has no build FTE in its team; its plan hires some after the LEP forms.
  REQUIRE_NOTHROW(parse_scenario(FULL, "full.toml"));
  const std::string off = edit_of(FULL, {{"[capacity]\n", "[capacity]\nenabled = false\n"}});
  CHECK(first_problem(off).find("authorities[0].team.build = 0: stage 'construction' of project type 'rebuild' demands build") !=
        std::string::npos);
}

TEST_CASE("absent mechanism tables leave every mechanism off and the scenario as before", "[scenario]") {
  const Scenario s = parse_scenario(BASE, "base.toml");
  const Mechanisms& m = s.mechanisms;
  CHECK(m.lep_stage == -1);
  CHECK(!m.setup.enabled);
  CHECK(!m.partnering.enabled);
  CHECK(!m.disputes.enabled);
  CHECK(!m.capacity.enabled);
  CHECK(!m.costs.enabled);
  CHECK(!m.funding.enabled);
  CHECK(!m.market.enabled);
  CHECK(!m.transformation.enabled);
  CHECK(!m.exclusivity.enabled);
  CHECK(m.costs.capital.empty());
  CHECK(m.costs.spend_stage == -1);
  CHECK(m.funding.annual_envelope == 0.0);
  Scenario defaults = s;  // the same programme with every mechanism field as scenario.hpp declares it
  defaults.mechanisms = Mechanisms{};
  for (AuthorityGroup& g : defaults.groups) g.setup = AuthoritySetup{}, g.capacity_plan.clear();
  check_same_mechanisms(s, defaults);
  // The resolved text has no mechanism either (and so reads back the same).
  const std::string r = s.resolved_toml();
  for (const char* header : {"[lep]", "[setup]", "[partnering]", "[disputes]", "[capacity]", "[costs]", "[funding]",
                             "[market]", "[transformation]", "[exclusivity]", "[authorities.setup]", "capacity_plan"})
    CHECK(r.find(header) == std::string::npos);
}

TEST_CASE("a mechanism table present but empty takes the documented defaults", "[scenario]") {
  const Scenario s = parse_scenario(BASE + "[lep]\nformed_at = \"b\"\n[setup]\n[partnering]\n[disputes]\n[capacity]\n"
                                           "[transformation]\n[exclusivity]\n[authorities.setup]\n",
                                    "empty.toml");
  // (the [authorities.setup] header above is after [exclusivity]: it still belongs to the group)
  Scenario expected = parse_scenario(BASE, "base.toml");  // the documented defaults are scenario.hpp's
  expected.mechanisms = Mechanisms{};
  for (AuthorityGroup& g : expected.groups) g.setup = AuthoritySetup{}, g.capacity_plan.clear();
  expected.mechanisms.lep_stage = 1;
  for (bool* on : {&expected.mechanisms.setup.enabled, &expected.mechanisms.partnering.enabled,
                   &expected.mechanisms.disputes.enabled, &expected.mechanisms.capacity.enabled,
                   &expected.mechanisms.transformation.enabled, &expected.mechanisms.exclusivity.enabled})
    *on = true;
  check_same_mechanisms(s, expected);

  // Costs, funding and market need a few keys; the others default.
  const Scenario c = parse_scenario(BASE + "[costs]\nspend_stage = \"c\"\n[funding]\nannual_envelope = 10\nstages = [\"c\"]\n"
                                           "[market]\nstages = [\"c\"]\n",
                                    "costs.toml");
  CHECK(c.mechanisms.lep_stage == -1);  // lep_setup 0: no LEP needed
  CHECK(c.mechanisms.costs.enabled);
  CHECK(c.mechanisms.costs.capital == std::vector<Distribution>{Distribution::fixed(0)});
  CHECK(c.mechanisms.costs.delay_overrun == CostMechanism{}.delay_overrun);
  CHECK(c.mechanisms.costs.health_overrun == CostMechanism{}.health_overrun);
  CHECK(c.mechanisms.costs.lep_setup == Distribution::fixed(0));
  CHECK(c.mechanisms.costs.spend_stage == 2);
  CHECK(c.mechanisms.funding.enabled);
  CHECK(c.mechanisms.funding.annual_envelope == 10);
  CHECK(c.mechanisms.funding.stages == std::vector<int>{2});
  CHECK(c.mechanisms.market.enabled);
  CHECK(c.mechanisms.market.reference_workload == MarketMechanism{}.reference_workload);
  CHECK(c.mechanisms.market.max_factor == MarketMechanism{}.max_factor);

  // Tables that cannot be empty say what they need.
  CHECK(first_problem(BASE + "[lep]\n").find("s.toml:29: lep.formed_at: required string is missing") != std::string::npos);
  CHECK(first_problem(BASE + "[costs]\n").find("costs.spend_stage: required string is missing") != std::string::npos);
  CHECK(first_problem(BASE + "[market]\n").find("market.stages: required list of strings is missing") != std::string::npos);
}

TEST_CASE("enabled = false switches a mechanism off and keeps its values", "[scenario]") {
  const std::string text = edit_of(FULL, {{"[partnering]\n", "[partnering]\nenabled = false\n"},
                                          {"[disputes]\n", "[disputes]\nenabled = false\n"},
                                          {"[market]\n", "[market]\nenabled = true\n"}});
  const Scenario s = parse_scenario(text, "off.toml");
  CHECK(!s.mechanisms.partnering.enabled);
  CHECK(s.mechanisms.partnering.long_run == 0.6);
  CHECK(s.mechanisms.partnering.productivity == 0.25);
  CHECK(!s.mechanisms.disputes.enabled);
  CHECK(s.mechanisms.disputes.base_rate == 0.02);
  CHECK(s.mechanisms.market.enabled);
  // Written back with enabled = false, and read back the same.
  const std::string r = s.resolved_toml();
  CHECK(r.find("[partnering]\nenabled = false\nlong_run = 0.6\n") != std::string::npos);
  const Scenario again = parse_scenario(r, "resolved.toml");
  check_same_mechanisms(s, again);
  CHECK(again.resolved_toml() == r);
  // Off and at its defaults, a mechanism is not written at all.
  const Scenario d = parse_scenario(BASE + "[capacity]\nenabled = false\n", "d.toml");
  CHECK(d.resolved_toml() == parse_scenario(BASE, "d.toml").resolved_toml());
}

// Every table the flow core reads, with the keys written only in some cases: `arrivals`
// (so no `schools`), `first`, `planned`, overrides, a capacity plan, `durations`, `seed`.
const char* const FLOW_TABLES = R"(
disciplines = ["design", "legal"]
[scenario]
name = "flow"
description = "every flow table"
plan = [[12, 1], [48, 5]]
[time]
start = "2005-01"
horizon_months = 60
step_months = 2
[run]
durations = "planned"
seed = 7
replications = 3
[output]
per_project = false
chunk_replications = 2
[national.approvals]
capacity = 2
[stages.a]
work = { dist = "triangular", min = 1, mode = 2, max = 4 }
demand = { design = 1 }
earliest_month = 3
[stages.b]
work = 3
planned = 3
national = "approvals"
after_authority = "a"
[project_types.p]
stages = ["a", "b"]
[project_types.q]
stages = ["a"]
[project_types.q.overrides.a]
work = 5
planned = 4
demand = { legal = 0.5 }
[[authorities]]
name = "g1"
count = 3
arrivals = { rate_per_month = 0.5, start_month = 2, end_month = 40 }
mix = { p = 1, q = 2 }
team = { design = 2, legal = 1 }
[[authorities.capacity_plan]]
month = 6
team = { design = 3, legal = 1 }
[[authorities]]
name = "g2"
schools = 4
mix = { p = 1 }
first = { type = "q", count = 1 }
team = { design = 1, legal = 1 }
entry_month = { dist = "uniform", min = 0, max = 6 }
release_interval_months = 2
[capacity]
enabled = true
)";

TEST_CASE("the resolved TOML writes every key of the flow tables from the registry", "[scenario]") {
  const Scenario original = parse_scenario(FLOW_TABLES, "flow.toml");
  const std::string resolved = original.resolved_toml();
  INFO(resolved);
  const Scenario again = parse_scenario(resolved, "resolved.toml");
  CHECK(again.resolved_toml() == resolved);
  // Every addressable parameter, path by path (a key the writer forgot would come back as its default).
  const std::vector<std::string> paths = parameter_paths(original);
  REQUIRE(paths == parameter_paths(again));
  for (const std::string& p : paths) {
    INFO(p);
    CHECK(get_parameter(original, p) == get_parameter(again, p));
  }
  // The structure keys, as their write functions give them.
  for (const char* line :
       {"disciplines = [\"design\", \"legal\"]\n", "description = \"every flow table\"\n", "plan = [[12.0, 1.0], [48.0, 5.0]]\n",
        "start = \"2005-01\"\n", "horizon_months = 60.0  # 30 steps\n", "durations = \"planned\"\n", "seed = 7\n",
        "chunk_replications = 2\n", "national = \"approvals\"\n", "after_authority = \"a\"\n",
        "[project_types.q.overrides.a]\nwork = { dist = \"fixed\", value = 5.0 }\nplanned = 4.0\ndemand = { legal = 0.5 }\n",
        "arrivals = { rate_per_month = 0.5, start_month = 2.0, end_month = 40.0 }\n",
        "mix = { p = 0.3333333333333333, q = 0.6666666666666666 }\n", "first = { type = \"q\", count = 1 }\n",
        "[[authorities.capacity_plan]]\nmonth = 6.0\nafter_lep = false\nteam = { design = 3.0, legal = 1.0 }\n"})
    CHECK(resolved.find(line) != std::string::npos);
  // Keys whose write gives no text are left out: g1 has arrivals (no schools), stage a no pool.
  const auto g1 = resolved.find("name = \"g1\""), g2 = resolved.find("name = \"g2\"");
  REQUIRE(g1 < g2);
  CHECK(resolved.substr(g1, g2 - g1).find("schools") == std::string::npos);
  CHECK(resolved.substr(g2).find("schools = { dist = \"fixed\", value = 4.0 }") != std::string::npos);
  const auto a = resolved.find("[stages.a]"), b = resolved.find("[stages.b]");
  CHECK(resolved.substr(a, b - a).find("national") == std::string::npos);
  CHECK(again.durations == DurationBasis::PLANNED);
  CHECK(again.seed == 7u);
  CHECK(again.groups[1].first_type == 1);
  CHECK(again.stages[1].authority_milestone == 0);
}

TEST_CASE("the resolved TOML of a scenario with every mechanism re-parses to the same scenario", "[scenario]") {
  const Scenario original = parse_scenario(FULL, "full.toml");
  const std::string resolved = original.resolved_toml();
  INFO(resolved);
  const Scenario again = parse_scenario(resolved, "resolved.toml");
  CHECK(again.resolved_toml() == resolved);  // idempotent
  check_same_mechanisms(original, again);    // and nothing lost on the way
  for (const char* header : {"[lep]", "[setup]", "[partnering]", "[disputes]", "[capacity]", "[costs]", "[funding]",
                             "[market]", "[transformation]", "[exclusivity]", "[authorities.setup]",
                             "[[authorities.capacity_plan]]"})
    CHECK(resolved.find(header) != std::string::npos);
  CHECK(resolved.find("enabled = false") == std::string::npos);

  ReplicationResult a, b;
  Simulator(original).run(0u, a);
  Simulator(again).run(0u, b);
  REQUIRE(a.projects > 0);
  CHECK(a.completion_step == b.completion_step);
  CHECK(a.project_type == b.project_type);
  CHECK(a.arrival_step == b.arrival_step);
}

// --- Inheriting from a base scenario (`base = "FILE"`) -----------------------------------

namespace {

std::filesystem::path base_dir() {
  const auto dir = test::scratch_dir("base");
  std::filesystem::create_directories(dir / "sub");
  return dir;
}

std::string write_file(const std::string& name, const std::string& text) {
  const auto p = base_dir() / name;
  std::ofstream(p) << text;
  return p.string();
}

std::vector<Diagnostic> diagnostics_of_file(const std::string& path) {
  try {
    load_scenario(path);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

std::vector<Diagnostic> diagnostics(const std::string& text) {
  try {
    parse_scenario(text, "text.toml");
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

}  // namespace

TEST_CASE("a policy variant is its base with only the keys it gives changed", "[scenario][base]") {
  const std::string dir = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/";
  const Scenario bsf = load_scenario(dir + "bsf.toml");
  const Scenario doubled = load_scenario(dir + "policy/national-capacity-doubled.toml");
  REQUIRE(doubled.base_files.size() == 1);
  CHECK(doubled.base_files[0].second == bsf.source_text);  // kept verbatim for the run file
  CHECK(doubled.name == "bsf-national-capacity-doubled");
  REQUIRE(doubled.pools.size() == bsf.pools.size());
  CHECK(doubled.pools[0].capacity == 2 * bsf.pools[0].capacity);
  // Everything else, stage order included, is the base's: put the two changed values back
  // and the resolved scenarios are identical.
  Scenario back = doubled;
  back.name = bsf.name;
  back.description = bsf.description;
  back.pools[0].capacity = bsf.pools[0].capacity;
  back.pools[0].cost_per_token_month = 0, back.pools[0].funded_capacity = 0;  // its lever cost
  CHECK(back.resolved_toml() == bsf.resolved_toml());

  // A nested table merges key by key: [stages.procurement] keeps its demand and gates.
  const Scenario fast = load_scenario(dir + "policy/streamlined-procurement.toml");
  const int p = static_cast<int>(std::find_if(bsf.stages.begin(), bsf.stages.end(),
                                              [](const Stage& st) { return st.name == "procurement"; }) -
                                 bsf.stages.begin());
  REQUIRE(p < static_cast<int>(bsf.stages.size()));
  CHECK(fast.stages[static_cast<std::size_t>(p)].demand == bsf.stages[static_cast<std::size_t>(p)].demand);
  CHECK(fast.stages[static_cast<std::size_t>(p)].work.mean() < bsf.stages[static_cast<std::size_t>(p)].work.mean());

  const Scenario mandated = load_scenario(dir + "policy/practices-mandated.toml");
  CHECK(mandated.mechanisms.partnering.mandated == 0xF);
  CHECK(bsf.mechanisms.partnering.mandated == 0);
  // The resolved form stands alone: no base, same scenario.
  const Scenario again = parse_scenario(mandated.resolved_toml(), "resolved.toml");
  CHECK(again.base_files.empty());
  CHECK(again.resolved_toml() == mandated.resolved_toml());
}

TEST_CASE("base: a variant adds stages after its base's and arrays replace", "[scenario][base]") {
  write_file("parent.toml", BASE);
  const std::string child = write_file("sub/child.toml",
                                       "base = \"../parent.toml\"\n"
                                       "[stages.d]\n"
                                       "work = 1\n"
                                       "[stages.b]\n"
                                       "work = { dist = \"uniform\", min = 1, max = 2 }\n"
                                       "[project_types.school]\n"
                                       "stages = [\"a\", \"d\"]\n");
  const Scenario s = load_scenario(child);
  std::vector<std::string> names;
  for (const auto& st : s.stages) names.push_back(st.name);
  CHECK(names == std::vector<std::string>{"a", "b", "c", "d"});
  REQUIRE(s.types.size() == 1);
  CHECK(s.types[0].stages.size() == 2);
  // A distribution is replaced whole (the base's PERT mode would not fit a uniform).
  CHECK(s.stages[1].work.kind() == DistKind::Uniform);
  CHECK(s.stages[1].work.mean() == 1.5);
  REQUIRE(s.base_files.size() == 1);
  CHECK(s.base_files[0].first == (base_dir() / "parent.toml").lexically_normal().string());
}

TEST_CASE("base: each problem names the file it is in, and bad bases are refused", "[scenario][base]") {
  std::string broken_base = BASE;
  broken_base.replace(broken_base.find("capacity = 2"), 12, "capacity = 0");  // line 12
  write_file("broken-parent.toml", broken_base);
  const std::string child = write_file("child-of-broken.toml",
                                       "base = \"broken-parent.toml\"\n"
                                       "[stages.a]\n"
                                       "work = -1\n");
  auto d = diagnostics_of_file(child);
  REQUIRE(d.size() == 2);
  // Base file problems first, then the variant's own.
  CHECK(d[0].file == (base_dir() / "broken-parent.toml").string());
  CHECK(d[0].line == 12);
  CHECK(d[0].key == "national.approvals.capacity");
  CHECK(d[1].file == child);
  CHECK(d[1].line == 3);
  CHECK(d[1].key == "stages.a.work");

  struct Bad {
    std::string text, rule;
  };
  write_file("loop-a.toml", "base = \"loop-b.toml\"\n");
  write_file("loop-b.toml", "base = \"loop-a.toml\"\n");
  const std::vector<Bad> bad = {
      {"base = 3\n", "must be a string naming the base scenario file, not integer"},
      {"base = \"no-such.toml\"\n", "base scenario: cannot open"},
      {"base = \"/dev/zero\"\n", "is not a regular file"},
      {"base = \"sub\"\n", "is a directory, not a scenario file"},
      {"base = \"loop-a.toml\"\n", "base files form a cycle"},
      {"base = \"self.toml\"\n", "base files form a cycle"},
  };
  for (const auto& b : bad) {
    const std::string path = write_file("self.toml", b.text);
    INFO(b.text);
    d = diagnostics_of_file(path);
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "base");
    CHECK(d[0].line == 1);
    CHECK(d[0].rule.find(b.rule) != std::string::npos);
  }
  // A base that is not TOML: the base file is named.
  write_file("garbage.toml", "[[[\n");
  d = diagnostics_of_file(write_file("on-garbage.toml", "base = \"garbage.toml\"\n"));
  REQUIRE(d.size() == 1);
  CHECK(d[0].file == (base_dir() / "garbage.toml").string());
}

TEST_CASE("mandated_practices names practices and is written in the resolved form", "[scenario][base]") {
  std::string text = MECH;
  text.replace(text.find("[partnering]\n"), 13, "[partnering]\nmandated_practices = [\"strategic_review\", \"facilitation\"]\n");
  const auto d = diagnostics(text);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "partnering.mandated_practices[1]");
  CHECK(d[0].value == "\"facilitation\"");
  CHECK(d[0].rule.find("unknown practice") != std::string::npos);
  text.replace(text.find("\"facilitation\""), 14, "\"external_facilitation\"");
  const Scenario s = parse_scenario(text, "mandated.toml");
  CHECK(s.mechanisms.partnering.mandated == 0b1010);
  CHECK(parse_scenario(s.resolved_toml(), "r.toml").mechanisms.partnering.mandated == 0b1010);
}
