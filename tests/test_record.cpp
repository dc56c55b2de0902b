#include <catch2/catch.hpp>

#include <string>

#include "lepsim/calibration.hpp"
#include "lepsim/record.hpp"

using namespace lepsim;

namespace {

const std::string HEADER = "[record]\nname = \"t\"\nstart = \"2005-04\"\n";

//! The diagnostics of a record that must fail.
std::vector<Diagnostic> problems(const std::string& text) {
  try {
    parse_record(text, "bad.toml");
  } catch (const ScenarioError& e) {
    for (const Diagnostic& d : e.diagnostics()) UNSCOPED_INFO(d.format());
    return e.diagnostics();
  }
  FAIL("the record was accepted");
  return {};
}

std::string milestone(const std::string& extra) {
  return "\n[[milestone]]\nid = \"m\"\nmetric = \"completed_cumulative\"\nvalue = 42\nevidence = \"audited\"\n"
         "source = \"NAO09\"\n" +
         extra;
}

}  // namespace

TEST_CASE("The shipped Dec 2008 record reads, with months from April 2005 and its sources", "[record]") {
  const ObservedRecord r = load_record(LEPSIM_SOURCE_DIR "/scenarios/record/bsf-2008-12.toml", MonthOrigin{2005, 4});
  REQUIRE(r.name == "bsf-2008-12");
  REQUIRE(r.milestones.size() == 15);
  const Milestone& open = r.milestones.front();
  CHECK(open.id == "schools_open_2008_12");
  CHECK(open.metric == "completed_cumulative@45");  // the end of December 2008
  CHECK(open.value == 42);
  CHECK(open.evidence == Evidence::Audited);
  for (const Milestone& m : r.milestones) {
    CHECK(!m.source.empty());
    CHECK(m.sd > 0);
  }
  // Every milestone is an output now ([milestones], docs/model.md section 21): the eight
  // fitted ones at Dec 2008, the three school-by-stage counts and the earlier points held out.
  const auto fit = r.expressible(MilestoneUse::Fit);
  REQUIRE(fit.size() == 8);
  CHECK(fit[0]->metric == "completed_cumulative@45");
  CHECK(fit[1]->metric == "schools_in_construction@45");
  CHECK(fit[2]->metric == "leps_formed@45");
  CHECK(fit[3]->metric == "authorities_past_procurement@45");
  CHECK(fit[4]->metric == "non_lep_deals@45");
  CHECK(r.expressible(MilestoneUse::Validate).size() == 7);
  const auto targets = record_targets(r, MilestoneUse::Fit, 0.1);
  REQUIRE(targets.size() == 8);
  CHECK(targets[0].var_obs == 16);
  CHECK(targets[0].var_disc == Approx(4.2 * 4.2));
  // Secondary evidence: widened; the Hansard figure at 16 Jan 2007 keeps its month.
  for (const Milestone& m : r.milestones) {
    if (m.id == "financial_close_2006_07") CHECK(m.effective_sd(r.secondary_sd_factor) == 2);
    if (m.id == "financial_close_2007_01") CHECK(m.metric == "authorities_past_procurement@21.5");
    if (m.id == "non_lep_deals_2008_12") CHECK(m.sd == 1);  // range [8, 12] = +-2 sd
  }
  // Every base name the record uses is in the one list, and every proposed one says what it needs.
  for (const Milestone& m : r.milestones) REQUIRE(find_record_metric(m.base) != nullptr);
  for (const RecordMetric& m : record_metrics())
    CHECK((m.status == RecordMetricStatus::Available) == (std::string(m.needs).empty()));
}

TEST_CASE("Dates are the end of the month, from the scenario's start", "[record]") {
  CHECK(*months_to_end_of("2005-04", {2005, 4}) == 1);
  CHECK(*months_to_end_of("2008-12", {2005, 4}) == 45);
  CHECK(*months_to_end_of("2006-07", {2005, 4}) == 16);
  CHECK(!months_to_end_of("2008-13", {2005, 4}));
  CHECK(!months_to_end_of("2008-1", {2005, 4}));
  // The scenario's start when the record has none; a record start that disagrees is refused.
  const ObservedRecord r =
      parse_record("[record]\nname = \"t\"\n" + milestone("sd = 1\ndate = \"2006-03\"\n"), "r.toml", MonthOrigin{2006, 1});
  CHECK(r.milestones[0].metric == "completed_cumulative@3");
  try {
    parse_record(HEADER + milestone("sd = 1\ndate = \"2008-12\"\n"), "r.toml", MonthOrigin{2006, 1});
    FAIL("a record start that disagrees with the scenario's was accepted");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].key == "record.start");
    CHECK_THAT(e.diagnostics()[0].rule, Catch::Contains("2006-01"));
  }
}

TEST_CASE("Bad record files get located errors: file, line, key, value, rule", "[record]") {
  SECTION("unknown key") {
    const auto d = problems(HEADER + milestone("sd = 1\ndate = \"2008-12\"\nsdd = 2\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].file == "bad.toml");
    CHECK(d[0].line == 13);
    CHECK(d[0].key == "milestone[0].sdd");
    CHECK_THAT(d[0].rule, Catch::Contains("unknown key"));
  }
  SECTION("no error given") {
    const auto d = problems(HEADER + milestone("date = \"2008-12\"\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "milestone[0].sd");
    CHECK_THAT(d[0].rule, Catch::Contains("range"));
  }
  SECTION("every problem at once, in line order") {
    const auto d = problems(HEADER + milestone("sd = -1\ndate = \"2008-14\"\n") +
                            "\n[[milestone]]\nid = \"m\"\nmetric = \"schools_opn\"\nvalue = 1\nsd = 1\nmonth = 3\n"
                            "evidence = \"rumour\"\nsource = \"x\"\n");
    REQUIRE(d.size() == 5);
    CHECK(d[0].key == "milestone[0].sd");
    CHECK(d[0].value == "-1");
    CHECK(d[0].line == 11);
    CHECK(d[1].key == "milestone[0].date");
    CHECK(d[1].value == "\"2008-14\"");
    CHECK(d[2].key == "milestone[1].id");
    CHECK_THAT(d[2].rule, Catch::Contains("unique"));
    CHECK(d[3].key == "milestone[1].metric");
    CHECK_THAT(d[3].rule, Catch::Contains("unknown metric schools_opn"));
    CHECK(d[4].key == "milestone[1].evidence");
    CHECK(d[4].line == 20);
  }
  SECTION("metric shape and its month against the date") {
    auto d = problems(HEADER + milestone("sd = 1\n") +
                      "\n[[milestone]]\nid = \"n\"\nmetric = \"leps_formed@40\"\ndate = \"2008-12\"\nvalue = 1\nsd = 1\n"
                      "evidence = \"audited\"\nsource = \"x\"\n");
    REQUIRE(d.size() == 2);
    CHECK(d[0].key == "milestone[0].metric");
    CHECK_THAT(d[0].rule, Catch::Contains("needs a month"));
    CHECK(d[1].key == "milestone[1].metric");
    CHECK_THAT(d[1].rule, Catch::Contains("names month 40"));
    d = problems(HEADER +
                 "\n[[milestone]]\nid = \"n\"\nmetric = \"Leps formed\"\nmonth = 4\nvalue = 1\nsd = 1\n"
                 "evidence = \"audited\"\nsource = \"x\"\n");
    REQUIRE(d.size() == 1);
    CHECK_THAT(d[0].rule, Catch::Contains("NAME@MONTH"));
  }
  SECTION("range must hold the value; sd and range not both") {
    auto d = problems(HEADER + milestone("range = [50, 60]\nmonth = 4\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "milestone[0].range");
    CHECK_THAT(d[0].rule, Catch::Contains("contain the value"));
    d = problems(HEADER + milestone("range = [40, 60]\nsd = 2\nmonth = 4\n"));
    REQUIRE(d.size() == 1);
    CHECK_THAT(d[0].rule, Catch::Contains("not both"));
  }
  SECTION("header rules") {
    auto d = problems("[record]\nstart = \"2005\"\nsecondary_sd_factor = 0.5\n" + milestone("sd = 1\nmonth = 3\n"));
    REQUIRE(d.size() == 3);
    CHECK(d[0].key == "record.name");
    CHECK(d[1].key == "record.start");
    CHECK(d[2].key == "record.secondary_sd_factor");
    d = problems(HEADER + "[[milestone]]\nid = \"a\"\n" + "value = \n");
    REQUIRE(d.size() == 1);
    CHECK(d[0].line == 6);
    CHECK_THAT(d[0].rule, Catch::Contains("invalid TOML"));
  }
  SECTION("a date without an origin") {
    const auto d = problems("[record]\nname = \"t\"\n" + milestone("sd = 1\ndate = \"2008-12\"\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "milestone[0].date");
    CHECK_THAT(d[0].rule, Catch::Contains("origin"));
  }
  SECTION("missing file") { REQUIRE_THROWS_AS(load_record("/nonexistent/record.toml"), ScenarioError); }
}
