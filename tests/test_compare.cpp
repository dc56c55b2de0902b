// Reading results as a programme director would (issue 18): the progress count, compare's
// paired spreads and P(better), undefined differences and signed zeros, warnings, the
// formats, lever costs and cost-effectiveness.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "lepsim/analysis/compare.hpp"
#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/format.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/analysis/statistics.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/progress.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "test_support.hpp"

using namespace lepsim;
using namespace lepsim::analysis;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("compare"); }

std::string run(const Scenario& sc, const std::string& name, int replications, std::uint64_t seed) {
  RunOptions o;
  o.output_path = (temp_dir() / name).string();
  o.replications = replications;
  o.seed = seed;
  o.threads = 2;
  o.force = true;
  run_scenario(sc, o);
  return o.output_path;
}

std::string example_text() {
  std::ifstream in(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const ComparedFigure& figure(const Comparison& c, const std::string& key) {
  for (const auto& f : c.figures)
    if (f.key == key) return f;
  FAIL("no figure " << key);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("progress: one count that only goes up and ends at exactly 100%", "[progress]") {
  Progress p(2000, "replications");
  p.reached(10);
  p.reached(7);  // a worker's late report: ignored
  CHECK(p.snapshot().done == 10);
  p.reached(5000);  // never past the total
  CHECK(p.snapshot().done == 2000);
  Progress q(2000, "replications");
  q.reached(1999);
  auto s = q.snapshot();
  CHECK(Progress::line(s, 200).find(" 99% 1999/2000 replications") != std::string::npos);  // never a rounded 100%
  q.reached(2000);
  q.set_phase("writing summaries");
  CHECK(Progress::line(q.snapshot(), 200).find("100% 2000/2000 replications, writing summaries") != std::string::npos);
  q.finish();
  CHECK(std::regex_search(Progress::line(q.snapshot(), 200), std::regex(R"(100% 2000/2000 replications in \d+s$)")));
  CHECK(Progress::line(q.snapshot(), 20).size() == 20);  // cut to the terminal's width

  // Many threads reporting out of order: the count is the largest reported.
  Progress t(8000, "units");
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (int i = 1; i <= 2000; ++i) t.reached(4 * i - w);
    });
  for (auto& th : threads) th.join();
  CHECK(t.snapshot().done == 8000);

  // A run that meets its precision early ends at its own count, 100% of it.
  Progress c(100000, "replications");
  c.reached(700);
  c.finish_at(700);
  CHECK(Progress::line(c.snapshot(), 200).find("100% 700/700") != std::string::npos);
}

TEST_CASE("progress: the ETA waits for evidence and excludes the start-up", "[progress]") {
  Progress p(100, "replications");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // start-up: no replication yet
  p.reached(10);
  CHECK(p.snapshot().eta_s < 0);  // not yet half a second of evidence
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  p.reached(20);
  const auto s = p.snapshot();
  // 10 replications in ~0.6 s since the first report: ~80 left takes ~4.8 s (the 0.3 s start-up
  // would have made it ~6.6 s counted from the start).
  REQUIRE(s.eta_s > 0);
  CHECK(s.eta_s == Approx(4.8).margin(1.2));
  CHECK(duration_text(59.4) == "59s");
  CHECK(duration_text(125) == "2m05s");
  CHECK(duration_text(3 * 3600 + 600) == "3h10m");
}

TEST_CASE("numbers for people: no signed zeros, '+' on differences, undefined as such", "[compare][format]") {
  CHECK(fixed_text(-0.04, 1) == "0.0");
  CHECK(fixed_text(0.04, 1, true) == "0.0");
  CHECK(fixed_text(-0.0, 1, true) == "0.0");
  CHECK(fixed_text(0.06, 1, true) == "+0.1");
  CHECK(fixed_text(-0.06, 1, true) == "-0.1");
  CHECK(fixed_text(std::nan(""), 1) == "n/a");
  CHECK(json_number(-0.0) == "0");
  CHECK(interval_text({0, -0.04, -0.001, 0.95, 3}, "projects", true) == "[0.0, 0.0]");
  CHECK(value_text(INFINITY, "month") == "after horizon");
}

TEST_CASE("ratios: cost per school and extra cost per extra school with delta-method intervals", "[compare][statistics]") {
  // cost = 2 x schools + noise: the ratio is about 2 and its interval holds it.
  std::vector<double> schools, cost;
  for (int i = 0; i < 400; ++i) schools.push_back(50 + i % 17), cost.push_back(2 * (50 + i % 17) + (i % 5 - 2));
  const Estimate r = ratio_interval(cost, schools, 0.95);
  CHECK(r.value == Approx(2.0).epsilon(0.01));
  CHECK(r.lo < 2.0);
  CHECK(r.hi > 2.0);
  CHECK(r.hi - r.lo < 0.05);
  // A denominator around 0: the ratio is unbounded, not a huge number with a narrow interval.
  std::vector<double> d = {-1, 1, -1, 1, 0, 1, -1}, n = {5, 5, 5, 5, 5, 5, 5};
  const Estimate u = ratio_interval(n, d, 0.95);
  CHECK(std::isinf(u.lo));
  CHECK(std::isinf(u.hi));
  CHECK(std::isnan(ratio_interval(n, std::vector<double>(7, 0.0), 0.95).value));
}

TEST_CASE("compare: paired over the common replications, with spreads, P(better) and warnings", "[compare]") {
  const Scenario ex = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  const std::string a = run(ex, "a.h5", 60, 11), b = run(ex, "b.h5", 40, 11), c = run(ex, "c.h5", 40, 12);
  // The same scenario started a year later, same seed and grid.
  std::string text = example_text();
  const std::regex start(R"re(start\s*=\s*"(\d{4})-(\d{2})")re");
  std::smatch m;
  REQUIRE(std::regex_search(text, m, start));
  text = std::regex_replace(text, start, "start = \"" + std::to_string(std::stoi(m[1]) + 1) + "-" + m[2].str() + "\"",
                            std::regex_constants::format_first_only);
  const std::string later = run(parse_scenario(text, LEPSIM_SOURCE_DIR "/scenarios/example.toml"), "later.h5", 40, 11);
  const RunReader ra(a), rb(b), rc(c), rl(later);
  const Comparison cmp = compare_runs({&ra, &rb, &rc, &rl}, FigureOptions{});
  REQUIRE(cmp.paired == std::vector<bool>{true, false, true});
  CHECK(cmp.pairs == std::vector<std::int64_t>{40, 0, 40});
  // 60 against 40 replications of one seed: the first 40 are the same replications, so the
  // paired differences are exactly zero, with no spread, and never "better".
  const ComparedFigure& done = figure(cmp, "completed_month120");
  const Difference& same = done.differences[0];
  CHECK(same.pairs == 40);
  CHECK(same.estimate.value == 0);
  CHECK(same.estimate.lo == 0);
  CHECK(same.estimate.hi == 0);
  REQUIRE(same.spread.size() == 3);
  for (const auto& [p, e] : same.spread) CHECK(e.value == 0);
  CHECK(same.better.value == 0);
  CHECK(same.same.value == 1);
  // Another seed: independent, no per-replication spread or P(better).
  const Difference& indep = done.differences[1];
  CHECK_FALSE(indep.paired);
  CHECK(indep.spread.empty());
  CHECK(std::isnan(indep.better.value));
  CHECK(indep.has_interval);
  // Warnings: the replication counts of the paired run, the start of the later one.
  auto warned = [&](const std::string& what) {
    return std::any_of(cmp.warnings.begin(), cmp.warnings.end(),
                       [&](const std::string& w) { return w.find(what) != std::string::npos; });
  };
  CHECK(warned("paired over the first 40"));
  CHECK(warned("starts in"));
  // Every figure in JSON, every difference with its spread and P(better).
  const std::string json = comparison_json(cmp);
  std::size_t keys = 0;
  for (auto at = json.find("{\"key\": "); at != std::string::npos; at = json.find("{\"key\": ", at + 1)) ++keys;
  CHECK(keys == cmp.figures.size());
  CHECK(json.find("\"p_better\"") != std::string::npos);
  CHECK(json.find("\"spread\": {\"p10\"") != std::string::npos);
  CHECK(json.find("-0,") == std::string::npos);
  // The text stays within 100 columns for many variants, and shows no signed zero.
  const std::string txt = comparison_text(cmp);
  std::istringstream lines(txt);
  for (std::string l; std::getline(lines, l);) {
    INFO(l);
    CHECK(l.size() <= 100);
  }
  CHECK_FALSE(std::regex_search(txt, std::regex(R"([-+]0\.0+([^0-9]|$))")));  // no "-0.0", no "+0.0"
  CHECK(txt.find("(projects)") != std::string::npos);                         // units
}

TEST_CASE("compare: a difference of two values after the horizon is undefined, not +0", "[compare]") {
  // example.toml's programme does not finish within a 12-month horizon.
  std::string text = example_text();
  text = std::regex_replace(text, std::regex(R"(horizon_months\s*=\s*\d+)"), "horizon_months = 12");
  const Scenario short_run = parse_scenario(text, LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  const std::string a = run(short_run, "s1.h5", 20, 3), b = run(short_run, "s2.h5", 20, 4);
  const RunReader ra(a), rb(b);
  const Comparison cmp = compare_runs({&ra, &rb}, FigureOptions{});
  const ComparedFigure& p50 = figure(cmp, "finish_p50");
  REQUIRE(std::isinf(p50.estimates[0].value));
  CHECK_FALSE(p50.differences[0].defined);
  CHECK(comparison_text(cmp).find("B - A undefined (both after the horizon)") != std::string::npos);
  CHECK(comparison_json(cmp).find("\"difference\": null, \"lo\": null, \"hi\": null, \"defined\": false") !=
        std::string::npos);
}

TEST_CASE("lever costs: read from the scenario, kept in the run file, counted in the cost figures", "[compare][costs]") {
  const std::string dir = LEPSIM_SOURCE_DIR "/scenarios/";
  const Scenario doubled = load_scenario(dir + "policy/national-capacity-doubled.toml");
  const auto d = doubled.lever_cost_rates();
  CHECK(d.per_month == Approx(30 * 0.015));  // only the 30 tokens above the funded 30
  CHECK(d.once == 0);
  const Scenario mandated = load_scenario(dir + "policy/practices-mandated.toml");
  CHECK(mandated.lever_cost_rates().per_lep_month == Approx(4 * 0.04 / 12));
  const Scenario fast = load_scenario(dir + "policy/streamlined-procurement.toml");
  CHECK(fast.lever_cost_rates().once == Approx(0.3 * fast.authority_count()));
  const Scenario bsf = load_scenario(dir + "bsf.toml");
  CHECK(bsf.lever_cost_rates().once + bsf.lever_cost_rates().per_month + bsf.lever_cost_rates().per_lep_month == 0);
  // Only written back when set: the base's resolved text has no lever-cost key.
  for (const char* key : {"cost_per_token_month", "funded_capacity", "cost_per_authority", "practice_cost_per_lep_year"})
    CHECK(bsf.resolved_toml().find(key) == std::string::npos);
  CHECK(doubled.resolved_toml().find("cost_per_token_month = 0.015") != std::string::npos);
  CHECK(parse_scenario(doubled.resolved_toml(), "resolved.toml").lever_cost_rates().per_month == Approx(d.per_month));

  // Out of range: named by path.
  auto problem = [&](const std::string& extra) {
    try {
      parse_scenario("base = \"" + dir + "bsf.toml\"\n" + extra, "t.toml");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(problem("[national.approvals]\ncost_per_token_month = -1\n").find("national.approvals.cost_per_token_month") !=
        std::string::npos);
  CHECK(problem("[national.approvals]\nfunded_capacity = 31\n").find("between 0 and the pool's capacity") !=
        std::string::npos);
  CHECK(problem("[partnering]\npractice_cost_per_lep_year = -0.1\n").find("partnering.practice_cost_per_lep_year") !=
        std::string::npos);

  // In a run: cost by month 120 = capital spend + GBP 0.45m a month x 120 months, exactly.
  Scenario small = doubled;
  const std::string path = run(small, "doubled.h5", 3, 5);
  const RunReader r(path);
  CHECK(r.metadata().lever_cost_per_month == Approx(d.per_month));
  CHECK(r.metadata().annual_envelope == Approx(2500));
  const auto figs = headline_figures(r, FigureOptions{});
  const Figure* cost = nullptr;
  const Figure* spend = nullptr;
  const Figure* ratio = nullptr;
  for (const auto& f : figs) {
    if (f.key == "cost_month120") cost = &f;
    if (f.key == "spend_total") spend = &f;
    if (f.key == "cost_per_school_month120") ratio = &f;
  }
  REQUIRE(cost);
  REQUIRE(spend);
  REQUIRE(ratio);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(cost->per_replication[i] == Approx(spend->per_replication[i] + 120 * d.per_month));
  CHECK(ratio->kind == FigureKind::Ratio);
  CHECK(ratio->estimate.value > 0);
}
