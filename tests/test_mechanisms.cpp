// Partnership mechanisms (docs/model.md, sections 11-18), each isolated on a small
// deterministic scenario whose core timeline is computed by hand:
//
//   sample school: strategy 0-9, procurement 10-15 (the LEP forms at the end of 15),
//                  build 16-27                                        -> done at 27
//   two follow-ons (arrive at 0, wait for the LEP): followon 16-19, build 20-31 -> 31
//
// Mechanisms are switched on programmatically, so these tests do not depend on the
// scenario parser (tests/test_scenario.cpp covers that).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <numeric>

#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"
#include "lepsim/simulator_probe.hpp"

using namespace lepsim;

namespace {

const char* BASE = R"(
disciplines = ["client"]
[scenario]
name = "mechanisms"
[time]
start = "2010-01"
step_months = 1
horizon_months = 120
[run]
replications = 1
seed = 7
[stages.strategy]
work = 10
demand = { client = 1 }
[stages.procurement]
work = 6
demand = { client = 1 }
[stages.followon]
work = 4
demand = { client = 1 }
after_authority = "procurement"
[stages.build]
work = 12
[project_types.sample]
stages = ["strategy", "procurement", "build"]
[project_types.follow]
stages = ["followon", "build"]
[[authorities]]
name = "la"
schools = 3
first = { type = "sample", count = 1 }
mix = { follow = 1 }
team = { client = 3 }
)";

int stage_index(const Scenario& sc, const std::string& name) {
  for (std::size_t i = 0; i < sc.stages.size(); ++i)
    if (sc.stages[i].name == name) return static_cast<int>(i);
  FAIL("no stage " << name);
  return -1;
}

Scenario base(const std::string& text = BASE) {
  Scenario sc = parse_scenario(text, "mechanisms.toml");
  sc.mechanisms.lep_stage = stage_index(sc, "procurement");
  return sc;
}

ReplicationResult run_one(const Scenario& sc, std::uint32_t rep = 0) {
  Simulator sim(sc);
  ReplicationResult r;
  sim.run(rep, r);
  return r;
}

void same_core(const ReplicationResult& a, const ReplicationResult& b) {
  CHECK(a.stage_active == b.stage_active);
  CHECK(a.stage_queued == b.stage_queued);
  CHECK(a.stage_completions == b.stage_completions);
  CHECK(a.project_state == b.project_state);
  CHECK(a.completion_step == b.completion_step);
  CHECK(a.arrival_step == b.arrival_step);
  CHECK(a.pool_queue == b.pool_queue);
  REQUIRE(a.utilisation.size() == b.utilisation.size());
  CHECK(std::memcmp(a.utilisation.data(), b.utilisation.data(), a.utilisation.size() * sizeof(double)) == 0);
}

//! E[logistic(X)], X ~ N(mu, s^2), by the trapezoid rule over +-8 sd.
double expected_logistic(double mu, double s) {
  const int n = 4000;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double z = -8.0 + 16.0 * i / n;
    const double w = (i == 0 || i == n) ? 0.5 : 1.0;
    sum += w * std::exp(-0.5 * z * z) / (1.0 + std::exp(-(mu + s * z)));
  }
  return sum * (16.0 / n) / std::sqrt(2 * std::numbers::pi);
}

}  // namespace

TEST_CASE("the hand-computed core timeline of the mechanism scenario", "[mechanisms]") {
  const ReplicationResult r = run_one(base());
  CHECK(r.completion_step == std::vector<std::int32_t>{27, 31, 31});
  CHECK(r.lep_formed_step == std::vector<std::int32_t>{15});
  CHECK(r.leps_formed[14] == 0);
  CHECK(r.leps_formed[15] == 1);
}

TEST_CASE("turning mechanisms off reproduces the core numbers bit for bit", "[mechanisms][determinism]") {
  const Scenario plain = parse_scenario(BASE, "plain.toml");
  const ReplicationResult core = run_one(plain);
  SECTION("every mechanism configured but switched off") {
    Scenario sc = plain;
    Mechanisms& m = sc.mechanisms;
    m.setup.strategy_stages = {stage_index(sc, "strategy")};
    m.partnering.productivity = 0.9;
    m.disputes.base_rate = 5;
    m.capacity.attrition = 0.2;
    m.costs.capital.assign(sc.types.size(), Distribution::fixed(10));
    m.funding.annual_envelope = 11;
    m.market.stages = {stage_index(sc, "build")};
    m.transformation.slowed_stages = {stage_index(sc, "build")};
    m.exclusivity.threshold = 1;
    CHECK(Simulator(sc).mechanism_names().empty());  // no module built, no hook called
    same_core(core, run_one(sc));
  }
  SECTION("health simulated but with no effect on the flow: its own random stream disturbs nothing") {
    Scenario sc = base();
    sc.mechanisms.partnering.enabled = true;
    sc.mechanisms.partnering.productivity = 0;
    for (std::uint32_t rep = 0; rep < 5; ++rep) same_core(run_one(plain, rep), run_one(sc, rep));
  }
}

TEST_CASE("set-up: planning quality scales strategy work as documented", "[mechanisms][setup]") {
  Scenario sc = base();
  sc.mechanisms.setup.enabled = true;
  sc.mechanisms.setup.strategy_stages = {stage_index(sc, "strategy")};
  SECTION("best planning: 10 x (1 + 0.8 x (0.5 - 1)) = 6 months") {
    sc.groups[0].setup.planning_quality = Distribution::fixed(1.0);
    CHECK(run_one(sc).completion_step == std::vector<std::int32_t>{23, 27, 27});
  }
  SECTION("worst planning: 10 x 1.4 = 14 months") {
    sc.groups[0].setup.planning_quality = Distribution::fixed(0.0);
    CHECK(run_one(sc).completion_step == std::vector<std::int32_t>{31, 35, 35});
  }
  SECTION("vision shortens procurement: 6 x (1 + 0.5 x (0.5 - 1)) = 4.5 -> 5 steps") {
    sc.mechanisms.setup.procurement_stages = {stage_index(sc, "procurement")};
    sc.groups[0].setup.vision_count = Distribution::fixed(10);
    CHECK(run_one(sc).completion_step == std::vector<std::int32_t>{26, 30, 30});
  }
}

TEST_CASE("partnering health: practices raise its long-run level, matching the stationary law", "[mechanisms][partnering]") {
  // One LEP whose building never ends: no handovers, so health is the pure process.
  std::string text = BASE;
  text.replace(text.find("work = 12"), 9, "work = 1000");
  text.replace(text.find("horizon_months = 120"), 20, "horizon_months = 240");
  text.replace(text.find("schools = 3"), 11, "schools = 1");
  auto stationary = [&](bool practices) {
    Scenario sc = base(text);
    PartneringMechanism& pm = sc.mechanisms.partnering;
    pm.enabled = true;
    for (double& p : sc.groups[0].setup.practices) p = practices ? 1.0 : 0.0;
    std::vector<double> h;
    simulate_range(sc, 11, 0, 3000, 0, 500, [&](std::span<const ReplicationResult> c) {
      for (const auto& r : c) h.push_back(r.lep_final_health[0]);
    });
    double mean = std::accumulate(h.begin(), h.end(), 0.0) / static_cast<double>(h.size());
    double var = 0;
    for (double x : h) var += (x - mean) * (x - mean);
    const double se = std::sqrt(var / static_cast<double>(h.size() - 1) / static_cast<double>(h.size()));
    // Euler-discretised OU: AR(1) with phi = 1 - kappa dt, stationary variance sigma^2 / (kappa (2 - kappa dt)).
    double mu = std::log(pm.long_run / (1 - pm.long_run)), kappa = pm.recovery;
    if (practices)
      for (int i = 0; i < PRACTICES; ++i) mu += pm.practice_level[i], kappa += pm.practice_recovery;
    const double theory = expected_logistic(mu, pm.volatility / std::sqrt(kappa * (2 - kappa)));
    INFO("practices " << practices << ": mean final health " << mean << " +- " << se << ", theory " << theory);
    CHECK(std::abs(mean - theory) < 4 * se + 1e-3);
    return mean;
  };
  const double none = stationary(false), all = stationary(true);
  CHECK(all > none + 0.1);  // documented direction: with all four practices about 0.75 against 0.55
}

TEST_CASE("mandated practices: every LEP runs them, and no other draw moves", "[mechanisms][partnering]") {
  // Mandating all four practices must give exactly what certain practices give: the
  // authority's own draws are still made, so the other streams keep their numbers.
  Scenario certain = base(), mandated = base(), free = base();
  for (Scenario* sc : {&certain, &mandated, &free}) {
    sc->mechanisms.partnering.enabled = true;
    sc->mechanisms.disputes.enabled = true;
    sc->mechanisms.disputes.base_rate = 0.05;
  }
  for (double& p : certain.groups[0].setup.practices) p = 1.0;
  for (double& p : mandated.groups[0].setup.practices) p = 0.3;
  for (double& p : free.groups[0].setup.practices) p = 0.3;
  mandated.mechanisms.partnering.mandated = 0xF;
  bool differs = false;
  for (std::uint32_t rep = 0; rep < 20; ++rep) {
    const ReplicationResult a = run_one(certain, rep), b = run_one(mandated, rep), c = run_one(free, rep);
    same_core(a, b);
    CHECK(std::memcmp(a.lep_final_health.data(), b.lep_final_health.data(), a.lep_final_health.size() * sizeof(double)) == 0);
    CHECK(a.lep_disputes == b.lep_disputes);
    differs = differs || a.lep_final_health != c.lep_final_health;
  }
  CHECK(differs);  // and the mandate does change something when practices are not certain
}

TEST_CASE("partnering health scales the progress of staffed stages", "[mechanisms][partnering]") {
  std::string text = BASE;
  text.replace(text.find("work = 4"), 8, "work = 20");
  Scenario sc = base(text);
  PartneringMechanism& pm = sc.mechanisms.partnering;
  pm.enabled = true;
  pm.volatility = 0;
  pm.long_run = pm.start_level = 0.75;  // constant health 0.75 (no practices, average set-up)
  for (double& p : sc.groups[0].setup.practices) p = 0;
  pm.ontime_boost = pm.delay_shock = pm.overrun_shock = 0;
  // followon: 20 months at 1 + 0.3 x 0.25 = 1.075 per step -> 19 steps (16-34), build 35-46.
  const ReplicationResult r = run_one(sc);
  CHECK(r.completion_step == std::vector<std::int32_t>{27, 46, 46});
  CHECK(r.lep_final_health[0] == Approx(0.75));
}

TEST_CASE("disputes stall all of the LEP's work for exactly the drawn months", "[mechanisms][disputes]") {
  Scenario sc = base();
  sc.mechanisms.disputes.enabled = true;
  sc.mechanisms.disputes.base_rate = 1e9;  // a dispute starts whenever none is running
  SECTION("two-month disputes back to back from the step after the LEP forms") {
    sc.mechanisms.disputes.months = Distribution::fixed(2);
    const ReplicationResult r = run_one(sc);
    for (int t = 0; t < 16; ++t) CHECK(r.disputes_active[static_cast<std::size_t>(t)] == 0);
    for (int t = 16; t < 120; ++t) CHECK(r.disputes_active[static_cast<std::size_t>(t)] == 1);
    CHECK(r.lep_disputes[0] == 52);  // starting at 16, 18, ..., 118
    CHECK(r.completion_step == std::vector<std::int32_t>{-1, -1, -1});  // nothing progresses
  }
  SECTION("zero-month disputes stall nothing") {
    sc.mechanisms.disputes.months = Distribution::fixed(0);
    const ReplicationResult r = run_one(sc);
    CHECK(r.completion_step == std::vector<std::int32_t>{27, 31, 31});
    CHECK(r.lep_disputes[0] == 104);
  }
  SECTION("a healthy LEP has fewer disputes than an unhealthy one") {
    sc.mechanisms.partnering.enabled = true;
    sc.mechanisms.disputes.base_rate = 0.05;
    sc.mechanisms.disputes.months = Distribution::fixed(1);
    auto disputes = [&](double level) {
      Scenario s = sc;
      s.mechanisms.partnering.long_run = s.mechanisms.partnering.start_level = level;
      s.mechanisms.partnering.volatility = 0;
      for (double& p : s.groups[0].setup.practices) p = 0;
      long n = 0;
      simulate_range(s, 3, 0, 400, 0, 400, [&](std::span<const ReplicationResult> c) {
        for (const auto& r : c) n += r.lep_disputes[0];
      });
      return n;
    };
    CHECK(disputes(0.8) < disputes(0.2));
  }
}

TEST_CASE("teams flex: hires arrive after the lag, staff leave, capacity is costed", "[mechanisms][capacity]") {
  Scenario sc = base();
  sc.mechanisms.capacity.enabled = true;
  sc.mechanisms.capacity.hiring_lag_months = 3;
  sc.mechanisms.capacity.attrition = 0;
  sc.groups[0].team = {2.0};
  sc.groups[0].capacity_plan = {CapacityPlanStep{0.0, false, {4.0}}};
  SECTION("a hire ordered at entry arrives three months later") {
    const ReplicationResult r = run_one(sc);
    CHECK(r.fte[0] == 2.0);
    CHECK(r.fte[2] == 2.0);
    CHECK(r.fte[3] == 4.0);
    CHECK(r.fte[119] == 4.0);
    CHECK(r.spend[0 * 3 + 2] == Approx(2.0 * sc.mechanisms.capacity.cost_per_fte_month));
    CHECK(r.lep_capacity_cost[0] == Approx((3 * 2.0 + 117 * 4.0) * sc.mechanisms.capacity.cost_per_fte_month));
  }
  SECTION("a plan after the LEP forms replaces the entry plan") {
    sc.groups[0].capacity_plan.push_back(CapacityPlanStep{0.0, true, {1.0}});
    const ReplicationResult r = run_one(sc);
    CHECK(r.fte[15] == 4.0);
    CHECK(r.fte[16] == 1.0);  // surplus released at once
  }
  SECTION("later plan steps take over at their months, after entry and after the LEP") {
    sc.mechanisms.capacity.hiring_lag_months = 0;  // hires arrive at once: fte shows the target
    sc.groups[0].capacity_plan.push_back(CapacityPlanStep{7.5, false, {6.0}});
    sc.groups[0].capacity_plan.push_back(CapacityPlanStep{12.0, true, {9.0}});
    const ReplicationResult r = run_one(sc);
    CHECK(r.fte[7] == 4.0);
    CHECK(r.fte[8] == 6.0);   // 8 months after entry, the first step past month 7.5
    CHECK(r.fte[26] == 6.0);  // the LEP formed at step 15; its plan starts 12 months later
    CHECK(r.fte[27] == 9.0);
    CHECK(r.fte[119] == 9.0);
  }
  SECTION("attrition keeps the team below target between hires") {
    sc.mechanisms.capacity.attrition = 0.05;
    const ReplicationResult r = run_one(sc);
    CHECK(r.fte[0] == Approx(1.9));
    for (int t = 3; t < 120; ++t) CHECK(r.fte[static_cast<std::size_t>(t)] < 4.0);
    // Steady state: the pipeline holds lag x attrition x F, so F* = target / (1 + lag x attrition).
    CHECK(r.fte[60] == Approx(4.0 / (1.0 + 3 * 0.05)));
  }
}

TEST_CASE("costs: capital, delay overrun and the LEP set-up cost", "[mechanisms][costs]") {
  Scenario sc = base();
  CostMechanism& cm = sc.mechanisms.costs;
  cm.enabled = true;
  cm.capital.assign(sc.types.size(), Distribution::fixed(10));
  cm.spend_stage = stage_index(sc, "build");
  cm.lep_setup = Distribution::fixed(7);
  cm.delay_overrun = 0.5;
  sc.groups[0].team = {1.0};  // the second follow-on waits 4 months for the one FTE
  const ReplicationResult r = run_one(sc);
  // follow-ons: 16-19 / 20-31 on plan (16 months); 20-23 / 24-35: 20 months, d = 0.25.
  CHECK(r.completion_step == std::vector<std::int32_t>{27, 31, 35});
  CHECK(r.project_cost == std::vector<double>{10.0, 10.0, 11.25});
  CHECK(r.lep_setup_cost[0] == 7.0);
  CHECK(r.spend[15 * 3 + 1] == 7.0);
  double capital = 0;
  for (int t = 0; t < 120; ++t) capital += r.spend[static_cast<std::size_t>(t) * 3];
  CHECK(capital == Approx(31.25));
  CHECK(r.lep_capital_cost[0] == Approx(31.25));
}

TEST_CASE("funding: commitments never exceed the annual envelope", "[mechanisms][funding]") {
  std::string text = BASE;
  text.replace(text.find("schools = 3"), 11, "schools = 12");
  text.replace(text.find("team = { client = 3 }"), 21, "team = { client = 20 }");
  Scenario sc = base(text);
  sc.mechanisms.costs.enabled = true;
  sc.mechanisms.costs.capital.assign(sc.types.size(), Distribution::uniform(5, 15));
  sc.mechanisms.costs.spend_stage = stage_index(sc, "build");
  sc.mechanisms.funding.enabled = true;
  sc.mechanisms.funding.annual_envelope = 30;
  sc.mechanisms.funding.stages = {stage_index(sc, "build")};
  bool queued = false;
  for (std::uint32_t rep = 0; rep < 50; ++rep) {
    const ReplicationResult r = run_one(sc, rep);
    for (int t = 0; t < 120; ++t) {
      REQUIRE(r.funding_committed[static_cast<std::size_t>(t)] <= 30.0);
      queued = queued || r.funding_queue[static_cast<std::size_t>(t)] > 0;
    }
    // Every project is eventually funded: 12 projects of at most 15 fit in at most 12 years.
    CHECK(std::count(r.completion_step.begin(), r.completion_step.end(), -1) < 12);
  }
  CHECK(queued);  // the envelope binds, so the test is not vacuous
}

TEST_CASE("the construction market lengthens builds when national workload is high", "[mechanisms][market]") {
  Scenario sc = base();
  MarketMechanism& mm = sc.mechanisms.market;
  mm.enabled = true;
  mm.stages = {stage_index(sc, "build")};
  mm.reference_workload = 0.5;
  mm.duration_elasticity = 0.5;
  // The sample's build (16-27) is the workload when the follow-ons' builds start at 20:
  // 12 x min(1.5, 1 + 0.5 x (1/0.5 - 1)) = 18 months, 20-37.
  CHECK(run_one(sc).completion_step == std::vector<std::int32_t>{27, 37, 37});
}

TEST_CASE("transformation: each completed school earns the documented score", "[mechanisms][transformation]") {
  Scenario sc = base();
  TransformationMechanism& tm = sc.mechanisms.transformation;
  tm.enabled = true;
  tm.slowed_stages = {stage_index(sc, "build")};
  sc.groups[0].setup.leadership = Distribution::fixed(1.0);
  sc.groups[0].setup.vision_count = Distribution::fixed(10);
  sc.groups[0].setup.transformation_targets = 1.0;
  const ReplicationResult r = run_one(sc);
  // 1 x (1 + 0.5 x 0.5) x (1 + 0.3 x 0.5) x 1 x 1.25; builds take 12 x 1.03 -> 13 steps.
  const double score = 1.25 * 1.15 * 1.25;
  CHECK(r.completion_step == std::vector<std::int32_t>{28, 32, 32});
  CHECK(r.transformation[119] == Approx(3 * score));
  CHECK(r.transformation[27] == 0.0);
  CHECK(r.transformation[28] == Approx(score));
}

TEST_CASE("exclusivity is withdrawn exactly when the scorecard rule says", "[mechanisms][exclusivity]") {
  std::string text = BASE;
  text.replace(text.find("schools = 3"), 11, "schools = 4\nrelease_interval_months = 20");
  Scenario sc = base(text);
  ExclusivityMechanism& em = sc.mechanisms.exclusivity;
  em.enabled = true;
  em.single_procurement = Distribution::fixed(6);
  em.act_probability = 1;
  // The LEP forms at 15; the first whole year it holds exclusivity ends at step 35, the
  // second at 47. Scores: 0.875 (three handovers on time) then 0.375 (none).
  SECTION("threshold 1: two failing years, withdrawn at the end of the second (step 47)") {
    em.threshold = 1.0;
    em.years = 2;
    const ReplicationResult r = run_one(sc);
    CHECK(r.lep_exclusivity_lost_step[0] == 47);
    CHECK(r.exclusive_leps[46] == 1);
    CHECK(r.exclusive_leps[47] == 0);
    // Projects started before keep their timeline; the one arriving at 60 is procured on
    // its own: followon 4 + 6 months (60-69), build 70-81 instead of 60-63, 64-75.
    CHECK(r.completion_step == std::vector<std::int32_t>{27, 35, 55, 81});
  }
  SECTION("three years required: withdrawn a year later") {
    em.threshold = 1.0;
    em.years = 3;
    CHECK(run_one(sc).lep_exclusivity_lost_step[0] == 59);
  }
  SECTION("a threshold the scores pass: kept") {
    em.threshold = 0.3;
    const ReplicationResult r = run_one(sc);
    CHECK(r.lep_exclusivity_lost_step[0] == -1);
    CHECK(r.completion_step == std::vector<std::int32_t>{27, 35, 55, 75});
  }
  SECTION("an authority that never acts keeps the LEP") {
    em.threshold = 1.0;
    em.act_probability = 0;
    CHECK(run_one(sc).lep_exclusivity_lost_step[0] == -1);
  }
}

namespace {

//! base() with every mechanism on, capital spent and funded at "build" (envelope GBP m a year).
Scenario every_mechanism_on(double envelope) {
  Scenario sc = base();
  Mechanisms& m = sc.mechanisms;
  m.setup.enabled = m.partnering.enabled = m.disputes.enabled = m.capacity.enabled = true;
  m.costs.enabled = m.funding.enabled = m.market.enabled = m.transformation.enabled = m.exclusivity.enabled = true;
  m.setup.strategy_stages = {stage_index(sc, "strategy")};
  m.costs.capital.assign(sc.types.size(), Distribution::pert(5, 10, 20));
  m.costs.spend_stage = m.funding.stages.emplace_back(stage_index(sc, "build"));
  m.funding.annual_envelope = envelope;
  m.market.stages = m.funding.stages;
  return sc;
}

}  // namespace

TEST_CASE("every mechanism on: same seed, same bits for 1 and 2 threads", "[mechanisms][determinism][threads]") {
  Scenario sc = every_mechanism_on(40);
  Mechanisms& m = sc.mechanisms;
  m.disputes.months = Distribution::uniform(1, 4);
  sc.groups[0].setup.planning_quality = Distribution::uniform(0, 1);
  auto collect = [&](int threads) {
    std::vector<ReplicationResult> all;
    simulate_range(sc, 5, 0, 40, threads, 7, [&](std::span<const ReplicationResult> c) { all.insert(all.end(), c.begin(), c.end()); });
    return all;
  };
  const auto one = collect(1), two = collect(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    same_core(one[i], two[i]);
    CHECK(std::memcmp(one[i].health.data(), two[i].health.data(), one[i].health.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(one[i].spend.data(), two[i].spend.data(), one[i].spend.size() * sizeof(double)) == 0);
    CHECK(one[i].lep_disputes == two[i].lep_disputes);
  }
}

TEST_CASE("a scenario runs exactly the mechanisms it switches on, in hook order", "[mechanisms][modules]") {
  Scenario sc = base();
  Mechanisms& m = sc.mechanisms;
  CHECK(Simulator(sc).mechanism_names().empty());
  m.disputes.enabled = true;
  CHECK(Simulator(sc).mechanism_names() == std::vector<std::string>{"disputes"});
  m.partnering.enabled = true;  // reads the set-up attributes, so they are drawn
  CHECK(Simulator(sc).mechanism_names() == std::vector<std::string>{"setup", "disputes", "partnering"});
  m.setup.enabled = m.capacity.enabled = m.costs.enabled = m.funding.enabled = true;
  m.market.enabled = m.transformation.enabled = m.exclusivity.enabled = true;
  m.costs.capital.assign(sc.types.size(), Distribution::fixed(1));
  CHECK(Simulator(sc).mechanism_names() == std::vector<std::string>{"setup", "costs", "funding", "capacity", "disputes",
                                                                    "market", "partnering", "transformation",
                                                                    "exclusivity"});
}

TEST_CASE("the probe: a traced replication records every draw site; step_lep can be repeated", "[mechanisms][modules]") {
  Scenario sc = base();
  Mechanisms& m = sc.mechanisms;
  m.partnering.enabled = m.exclusivity.enabled = m.disputes.enabled = true;
  sc.types[0].stages[0].work = Distribution::uniform(8, 12);
  Simulator sim(sc);
  SimulatorProbe probe(sim);
  std::vector<DrawRecord> trace;
  probe.trace_draws(&trace);
  ReplicationResult r;
  sim.run(0u, r);
  // One StageWork record per stage instance made ready; one Health draw per LEP-step from formation.
  const auto count = [&](Purpose p) {
    std::int64_t n = 0;
    for (const DrawRecord& d : trace) n += d.purpose == p ? d.count : 0;
    return n;
  };
  CHECK(count(Purpose::StageWork) == sim.events().ready);
  CHECK(count(Purpose::Health) == sc.time.steps - r.lep_formed_step[0]);
  probe.trace_draws(nullptr);
  probe.prepare(0, 40, r);  // the LEP formed at 15: health moves every step
  const double first = probe.step_lep(0, 40);
  CHECK(probe.step_lep(0, 40) == first);  // the health stream and the scorecard were put back
  CHECK(probe.step_lep(0, 40) == first);
}

TEST_CASE("a reused simulator gives a replication the bits a fresh one gives", "[mechanisms][modules][determinism]") {
  // After its first replication a Simulator stops calling the hooks a mechanism left at
  // their default, and every mechanism resets its own state: neither may show in the numbers.
  Scenario sc = every_mechanism_on(15);
  Mechanisms& m = sc.mechanisms;
  m.market.reference_workload = 1;
  m.disputes.base_rate = 0.05;
  m.exclusivity.threshold = 0.9;
  m.exclusivity.years = 1;
  Simulator reused(sc);
  ReplicationResult warm;
  for (std::uint32_t rep = 0; rep < 6; ++rep) {
    reused.run(rep, warm);
    const ReplicationResult fresh = run_one(sc, rep);
    same_core(fresh, warm);
    auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
    };
    CHECK(same(fresh.health, warm.health));
    CHECK(same(fresh.spend, warm.spend));
    CHECK(same(fresh.fte, warm.fte));
    CHECK(same(fresh.transformation, warm.transformation));
    CHECK(same(fresh.funding_committed, warm.funding_committed));
    CHECK(same(fresh.project_cost, warm.project_cost));
    CHECK(same(fresh.lep_final_health, warm.lep_final_health));
    CHECK(fresh.funding_queue == warm.funding_queue);
    CHECK(fresh.disputes_active == warm.disputes_active);
    CHECK(fresh.exclusive_leps == warm.exclusive_leps);
    CHECK(fresh.lep_disputes == warm.lep_disputes);
    CHECK(fresh.lep_exclusivity_lost_step == warm.lep_exclusivity_lost_step);
  }
}
