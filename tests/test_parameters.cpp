// The parameter registry and the path API (lepsim/parameters.hpp), validate() on scenarios
// built in code, variants that change part of a base, and the registry kept in step with
// docs/scenario-format.md and tests/fuzz/scenario.dict.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/scenario.hpp"
#include "big_scenario.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

const std::string DIR = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/";

const Scenario& bsf() {
  static const Scenario s = load_scenario(DIR + "bsf.toml");
  return s;
}

double number_at(const Scenario& s, const std::string& path) { return std::get<double>(get_parameter(s, path)); }

//! The diagnostics of a ScenarioError thrown by `f`; fails when it does not throw one.
template <class F>
std::vector<Diagnostic> problems_of(F f) {
  try {
    f();
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  FAIL("no ScenarioError thrown");
  return {};
}

std::size_t group_index(const Scenario& s, const std::string& name) {
  return static_cast<std::size_t>(
      std::find_if(s.groups.begin(), s.groups.end(), [&](const AuthorityGroup& g) { return g.name == name; }) -
      s.groups.begin());
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

std::string write_file(const std::string& name, const std::string& text) {
  const auto p = test::scratch_dir("params") / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}

}  // namespace

TEST_CASE("the path API reads every kind of parameter by name", "[parameters]") {
  const Scenario& s = bsf();
  CHECK(std::get<std::int64_t>(get_parameter(s, "national.approvals.capacity")) == s.pools[0].capacity);
  CHECK(number_at(s, "partnering.long_run") == s.mechanisms.partnering.long_run);
  const std::size_t w = group_index(s, "waves4-6");
  REQUIRE(w < s.groups.size());
  const std::size_t design = 2;  // client, procurement, design, construction
  REQUIRE(s.disciplines[design] == "design");
  CHECK(number_at(s, "authorities.waves4-6.team.design") == s.groups[w].team[design]);
  CHECK(number_at(s, "authorities[" + std::to_string(w) + "].team.design") == s.groups[w].team[design]);
  CHECK(number_at(s, "authorities.waves4-6.capacity_plan[1].team.design") == s.groups[w].capacity_plan[1].team[design]);
  CHECK(std::get<bool>(get_parameter(s, "authorities.waves4-6.capacity_plan[1].after_lep")));
  const auto work = std::get<Distribution>(get_parameter(s, "stages.procurement.work"));
  CHECK(work.kind() == DistKind::Pert);
  CHECK(number_at(s, "stages.procurement.work.mode") == *work.param("mode"));
  CHECK(std::get<bool>(get_parameter(s, "partnering.enabled")));
}

TEST_CASE("parameter_paths lists every addressable parameter, and each reads and writes back unchanged", "[parameters]") {
  const Scenario& s = bsf();
  const auto paths = parameter_paths(s);
  for (const char* p : {"stages.procurement.work", "national.approvals.capacity", "authorities.waves4-6.team.design",
                        "authorities.waves4-6.capacity_plan[1].team.design", "partnering.long_run",
                        "project_types.remodel.overrides.construction.work", "costs.capital.rebuild",
                        "authorities.wave1.setup.practices.vision_review", "exclusivity.weights.cost", "run.seed"})
    CHECK(std::find(paths.begin(), paths.end(), p) != paths.end());
  CHECK(std::set<std::string>(paths.begin(), paths.end()).size() == paths.size());
  // Setting each parameter to the value it has gives the same scenario (a sample of every
  // 7th path keeps this fast; each with_parameter validates the whole scenario).
  for (std::size_t i = 0; i < paths.size(); i += 7) {
    INFO(paths[i]);
    CHECK(with_parameter(s, paths[i], get_parameter(s, paths[i])).resolved_toml() == s.resolved_toml());
  }
}

TEST_CASE("with_parameter derives a new validated scenario; the original stands", "[parameters]") {
  const Scenario& s = bsf();
  const Scenario more = with_parameter(s, "national.approvals.capacity", std::int64_t{60});
  CHECK(more.pools[0].capacity == 60);
  CHECK(s.pools[0].capacity == 30);
  const Scenario team = with_parameter(s, "authorities.waves4-6.team.design", 5.0);
  CHECK(team.groups[group_index(s, "waves4-6")].team[2] == 5.0);
  CHECK(team.groups[group_index(s, "wave1")].team[2] == s.groups[group_index(s, "wave1")].team[2]);
  // Derived fields follow: the number of steps, the authorities expanded from groups.
  const Scenario longer = with_parameter(s, "time.horizon_months", 180.0);
  CHECK(longer.time.steps == 180);
  const Scenario fewer = with_parameter(s, "authorities.waves9-15.count", std::int64_t{3});
  CHECK(fewer.authority_count() == s.authority_count() - 50);
  // A distribution's own parameter.
  const Scenario mode = with_parameter(s, "stages.procurement.work.mode", 20.0);
  CHECK(*mode.stages[2].work.param("mode") == 20.0);
}

TEST_CASE("authorities.*.KEY changes every group's own value and reads the first group's", "[parameters]") {
  const Scenario& s = bsf();
  const Scenario set = with_parameter(s, "authorities.*.non_lep", 0.25);
  for (const AuthorityGroup& g : set.groups) CHECK(g.non_lep == 0.25);
  CHECK(std::get<double>(get_parameter(set, "authorities.*.non_lep")) == 0.25);
  // A scale multiplies each group's own value, which may differ.
  const Scenario teams = with_parameter(s, "authorities.wave1.team.design", 3.0);
  const Scenario twice = with_scaled_parameter(teams, "authorities.*.team.design", 2.0);
  for (std::size_t g = 0; g < s.groups.size(); ++g) CHECK(twice.groups[g].team[2] == 2.0 * teams.groups[g].team[2]);
  // Several changes at once, one validation: the same as one at a time.
  const Scenario both = with_parameters(s, {{"authorities.*.non_lep", false, 0.25}, {"authorities.*.team.design", true, 2.0}});
  CHECK(both.resolved_toml() == with_scaled_parameter(set, "authorities.*.team.design", 2.0).resolved_toml());
  CHECK(parameter_spec(s, "authorities.*.non_lep").type == parameter_spec(s, "authorities.wave1.non_lep").type);
  // A rule broken in any group names that group's path.
  const auto d = problems_of([&] { with_parameter(s, "authorities.*.non_lep", 1.5); });
  REQUIRE(!d.empty());
  CHECK(d[0].key.rfind("authorities.", 0) == 0);
  CHECK(d[0].key.find("non_lep") != std::string::npos);
}

TEST_CASE("with_parameter names the path of an unknown, mistyped or out-of-range value", "[parameters]") {
  const Scenario& s = bsf();
  auto d = problems_of([&] { with_parameter(s, "partnering.long_rn", 0.5); });
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "partnering.long_rn");
  CHECK(d[0].rule.find("unknown parameter (did you mean 'partnering.long_run'?)") != std::string::npos);
  d = problems_of([&] { with_parameter(s, "partnering.long_run", 1.5); });
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "partnering.long_run");
  CHECK(d[0].rule == "must be > 0 and < 1");
  d = problems_of([&] { with_parameter(s, "authorities.waves4-6.team.design", -1.0); });
  REQUIRE(!d.empty());
  CHECK(d[0].key == "authorities.waves4-6.team.design");
  CHECK(d[0].rule == "must be >= 0 FTE");
  d = problems_of([&] { with_parameter(s, "national.approvals.capacity", 2.5); });
  CHECK(d[0].rule == "must be an integer");
  d = problems_of([&] { with_parameter(s, "authorities.nope.count", std::int64_t{2}); });
  CHECK(d[0].rule.find("unknown parameter") != std::string::npos);
  // Cross-checks hold too: no design FTE anywhere for a group whose types demand it.
  d = problems_of([&] {
    Scenario x = with_parameter(s, "authorities.wave1.capacity_plan[0].team.design", 0.0);
    x = with_parameter(x, "authorities.wave1.capacity_plan[1].team.design", 0.0);
    with_parameter(x, "authorities.wave1.team.design", 0.0);
  });
  REQUIRE(!d.empty());
  CHECK(d[0].key == "authorities.wave1.team.design");
  CHECK(d[0].rule.find("has no design FTE") != std::string::npos);
}

TEST_CASE("scaling a distribution scales every value it can take; types that inherit a stage follow it", "[parameters]") {
  const Scenario& s = bsf();
  const Scenario x = with_scaled_parameter(s, "stages.procurement.work", 1.5);
  const Distribution& before = s.stages[2].work;
  const Distribution& after = x.stages[2].work;
  CHECK(after.mean() == Approx(1.5 * before.mean()));
  CHECK(after.min_value() == Approx(1.5 * before.min_value()));
  CHECK(after.max_value() == Approx(1.5 * before.max_value()));
  // The sample type runs the stage's work and follows it; a type whose override differs
  // from the stage (remodel's construction) keeps its own.
  const auto type = [&](const Scenario& sc, const std::string& name) -> const ProjectType& {
    return *std::find_if(sc.types.begin(), sc.types.end(), [&](const ProjectType& t) { return t.name == name; });
  };
  const auto stage_of = [](const ProjectType& t, int stage) -> const TypeStage& {
    return *std::find_if(t.stages.begin(), t.stages.end(), [&](const TypeStage& ts) { return ts.stage == stage; });
  };
  CHECK(stage_of(type(x, "sample"), 2).work == after);
  const Scenario c = with_scaled_parameter(s, "stages.construction.work", 2.0);
  CHECK(stage_of(type(c, "rebuild"), 6).work == c.stages[6].work);
  CHECK(stage_of(type(c, "remodel"), 6).work == stage_of(type(s, "remodel"), 6).work);
  CHECK(stage_of(type(c, "remodel"), 6).work != c.stages[6].work);
  // Every kind scales.
  for (const Distribution& d :
       {Distribution::fixed(2), Distribution::uniform(1, 3), Distribution::triangular(1, 2, 4),
        Distribution::normal(5, 1, 0, 10), Distribution::lognormal(3, 1), Distribution::exponential(2),
        Distribution::discrete({1, 2}, {1, 3}), Distribution::empirical({1, 2, 5})}) {
    INFO(d.describe());
    CHECK(scaled(d, 2).mean() == Approx(2 * d.mean()));
    CHECK(scaled(d, 2).variance() == Approx(4 * d.variance()));
  }
  CHECK(with_scaled_parameter(s, "partnering.long_run", 0.5).mechanisms.partnering.long_run == Approx(0.275));
}

TEST_CASE("validate judges a scenario built in code like a file", "[parameters]") {
  Scenario s = bsf();
  CHECK(validate(s).empty());
  s.groups[0].count = 0;
  s.stages[1].earliest_month = -3;
  s.mechanisms.partnering.productivity = 2.5;
  s.stages[0].after = {0};
  const auto d = validate(s);
  std::vector<std::string> keys;
  for (const auto& x : d) keys.push_back(x.key);
  for (const char* k :
       {"authorities[0].count", "stages.obc_approval.earliest_month", "partnering.productivity", "stages.strategy.after"})
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
  for (const auto& x : d) CHECK(x.file.empty());
  CHECK_THROWS_AS(check_valid(s), ScenarioError);
}

TEST_CASE("a variant's [[authorities]] entry changes the base's group of that name only", "[parameters][base]") {
  const Scenario& base = bsf();
  const Scenario v = load_scenario(DIR + "policy/wave-brought-forward.toml");
  CHECK(v.authority_count() == 149);
  CHECK(v.authority_count() == base.authority_count());
  REQUIRE(v.groups.size() == base.groups.size());
  const std::size_t g = group_index(v, "waves9-15");
  REQUIRE(g < v.groups.size());
  CHECK(v.groups[g].entry_month.min_value() == 45);
  CHECK(v.groups[g].entry_month.max_value() == 98);
  // Everything else is the base's: put the entry month and the name back and the resolved
  // scenarios are identical.
  Scenario back = v;
  back.name = base.name;
  back.description = base.description;
  back.groups[g].entry_month = base.groups[g].entry_month;
  CHECK(back.resolved_toml() == base.resolved_toml());
}

TEST_CASE("variants: unknown group names are refused, add = true appends, replace gives a list whole",
          "[parameters][base]") {
  std::string copy = read(DIR + "bsf.toml");  // its fitted file stays where it is
  copy.replace(copy.find("fitted = \"calibration/"), 22, "fitted = \"" + DIR + "calibration/");
  const std::string base = write_file("bsf-copy.toml", copy);
  const auto load = [&](const std::string& text) { return load_scenario(write_file("variant.toml", text)); };
  const std::string head = "base = \"bsf-copy.toml\"\n";
  // A name the base does not have: an error, not a silent replacement of 149 authorities.
  auto d = problems_of([&] { load(head + "[[authorities]]\nname = \"waves9-16\"\ncount = 2\n"); });
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "authorities[0].name");
  CHECK(d[0].line == 3);
  CHECK(d[0].rule.find("no group of the base has this name (did you mean 'waves9-15'?)") != std::string::npos);
  // add = true: a new group after the base's.
  const Scenario added = load(head +
                              "[[authorities]]\nname = \"wave16\"\nadd = true\ncount = 4\nentry_month = 100\n"
                              "schools = 3\nmix = { rebuild = 1 }\nfirst = { type = \"sample\", count = 1 }\n"
                              "team = { client = 1, procurement = 1, design = 1, construction = 1 }\n");
  CHECK(added.authority_count() == 153);
  CHECK(added.groups.back().name == "wave16");
  d = problems_of([&] { load(head + "[[authorities]]\nname = \"wave1\"\nadd = true\n"); });
  CHECK(d[0].rule.find("is already a group of the base") != std::string::npos);
  // replace: the file's list is the whole list.
  const Scenario replaced = load(
      "base = \"bsf-copy.toml\"\nreplace = [\"authorities\"]\n[[authorities]]\nname = \"only\"\n"
      "count = 2\nschools = 3\nmix = { rebuild = 1 }\nfirst = { type = \"sample\", count = 1 }\n"
      "first_phase = { type = \"first_phase\", schools = 2 }\n"  // the fitted file's inputs address it
      "team = { client = 1, procurement = 1, design = 1, construction = 1 }\n");
  CHECK(replaced.authority_count() == 2);
  d = problems_of([&] { load("base = \"bsf-copy.toml\"\nreplace = [\"authoritie\"]\n"); });
  CHECK(d[0].key == "replace[0]");
  CHECK(d[0].rule.find("did you mean 'authorities'?") != std::string::npos);
  // add and replace belong to variants.
  const std::string plain = read(DIR + "example.toml");
  d = problems_of([&] { parse_scenario("replace = [\"authorities\"]\n" + plain, "p.toml"); });
  CHECK(d[0].key == "replace");
  CHECK(d[0].rule.find("needs a base") != std::string::npos);
  std::string with_add = plain;
  with_add.replace(with_add.find("count = 3"), 9, "count = 3\nadd = true");
  d = problems_of([&] { parse_scenario(with_add, "p.toml"); });
  CHECK(d[0].key == "authorities[0].add");
  // A stage and a type change only what they state.
  const Scenario st =
      load(head + "[stages.procurement]\nplanned = 20\n[project_types.remodel.overrides.construction]\nplanned = 15\n");
  CHECK(*st.stages[2].planned == 20);
  CHECK(st.stages[2].work == bsf().stages[2].work);
  CHECK(st.stages[2].demand == bsf().stages[2].demand);
  CHECK(st.types[3].name == "remodel");
  CHECK(*st.types[3].stages[2].planned == 15);
  CHECK(st.types[3].stages[2].work == bsf().types[3].stages[2].work);
}

TEST_CASE("the docs' key tables are the registry's", "[parameters][docs]") {
  const std::string path = std::string(LEPSIM_SOURCE_DIR) + "/docs/scenario-format.md";
  std::string doc = read(path);
  const bool update = std::getenv("LEPSIM_UPDATE_DOCS") != nullptr;
  // Each table sits between <!-- keys: PATTERN --> and <!-- /keys -->.
  std::size_t at = 0, tables = 0;
  while ((at = doc.find("<!-- keys: ", at)) != std::string::npos) {
    const std::size_t name_end = doc.find(" -->", at);
    const std::string pattern = doc.substr(at + 11, name_end - at - 11);
    const std::size_t body = name_end + 5, end = doc.find("<!-- /keys -->", body);
    REQUIRE(end != std::string::npos);
    const std::string want = parameter_table(pattern);
    INFO("table " << pattern << " (LEPSIM_UPDATE_DOCS=1 rewrites the docs from the registry)");
    if (update)
      doc.replace(body, end - body, want);
    else
      CHECK(doc.substr(body, end - body) == want);
    at = body;
    ++tables;
  }
  CHECK(tables >= 20);
  if (update) std::ofstream(path) << doc;
}

TEST_CASE("the fuzz dictionary knows every key of the registry", "[parameters]") {
  const std::string dict = read(std::string(LEPSIM_SOURCE_DIR) + "/tests/fuzz/scenario.dict");
  for (const std::string& k : parameter_key_names()) {
    INFO(k);
    CHECK(dict.find("\"" + k + "\"") != std::string::npos);
  }
}

TEST_CASE("table_keys are the keys the parser accepts", "[parameters]") {
  CHECK(table_keys("national.{pool}") == std::vector<std::string>{"capacity", "cost_per_token_month", "funded_capacity"});
  const auto top = table_keys("");
  CHECK(std::find(top.begin(), top.end(), "partnering") != top.end());
  const auto p = table_keys("partnering");
  CHECK(p.front() == "long_run");
  CHECK(p.back() == "enabled");
}

TEST_CASE("a scenario of about a megabyte, with very long lists, is judged", "[parameters][size]") {
  // How fast is measured by bench/ (BM_ParseMegabyteScenario, BM_ValidateMegabyteScenario):
  // validate about 0.09 s, parse 1.8 s (Release), where the quadratic locating this replaced
  // took 42 s. Here: every check runs to the end on it and finds what is there.
  const int stages = lepsim::testing::BIG_STAGES, groups = lepsim::testing::BIG_GROUPS;
  const std::string t = lepsim::testing::megabyte_scenario();
  REQUIRE(t.size() > 900'000);
  const Scenario s = parse_scenario(t, "big.toml");
  CHECK(validate(s).empty());
  CHECK(s.stages.size() == static_cast<std::size_t>(stages));
  CHECK(s.authority_count() == groups);
  CHECK(s.mechanisms.funding.stages.size() == static_cast<std::size_t>(stages));
  // A cycle through the whole chain is found without recursion (no stack overflow).
  Scenario loop = s;
  loop.stages[0].after = {stages - 1};
  const auto d = validate(loop);
  REQUIRE(!d.empty());
  CHECK(d[0].rule.find("predecessors form a cycle") != std::string::npos);
}
