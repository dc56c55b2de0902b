// Scenario files: every rule of the parser is reported with its file, line,
// key, value and rule (a table of broken files), all at once, and the shipped
// scenarios and the resolved form are valid. The rules are listed in
// docs/scenario-format.md.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

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

//! BASE with each `from` (which must occur exactly once) replaced by `to`, in order.
std::string edit(std::initializer_list<std::pair<std::string, std::string>> edits) {
  std::string s = BASE;
  for (const auto& [from, to] : edits) {
    const auto at = s.find(from);
    if (at == std::string::npos || s.find(from, at + 1) != std::string::npos)
      throw std::logic_error("test table: '" + from + "' must occur exactly once in BASE");
    s.replace(at, from.size(), to);
  }
  return s;
}
std::string edit(const std::string& from, const std::string& to) { return edit({{from, to}}); }

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
  // The base itself is valid, or every row would pass for the wrong reason.
  REQUIRE_NOTHROW(parse_scenario(BASE, "bad.toml"));

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
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    ++seen;
    INFO("scenario: " << entry.path().string());
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
}
