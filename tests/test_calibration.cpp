#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lepsim/abc_smc.hpp"
#include "lepsim/copula.hpp"
#include "lepsim/history_matching.hpp"
#include "lepsim/rng.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

//! Toy stochastic simulator: y1 = a + e1, y2 = a + b + e2, e ~ N(0, 1) per replication.
MetricMatrix gaussian_toy(const std::vector<double>& p, int reps, std::uint64_t seed) {
  MetricMatrix m(static_cast<std::size_t>(reps), 2);
  for (int r = 0; r < reps; ++r) {
    RandomStream s(seed, static_cast<std::uint32_t>(r), 0, Purpose::Health);
    m.at(static_cast<std::size_t>(r), 0) = p[0] + standard_normal(s);
    m.at(static_cast<std::size_t>(r), 1) = p[0] + p[1] + standard_normal(s);
  }
  return m;
}

//! y1 = a + 0.5 e1, y2 = b + 0.5 e2: a small non-implausible region around the truth.
MetricMatrix precise_toy(const std::vector<double>& p, int reps, std::uint64_t seed) {
  MetricMatrix m(static_cast<std::size_t>(reps), 2);
  for (int r = 0; r < reps; ++r) {
    RandomStream s(seed, static_cast<std::uint32_t>(r), 0, Purpose::Health);
    m.at(static_cast<std::size_t>(r), 0) = p[0] + 0.5 * standard_normal(s);
    m.at(static_cast<std::size_t>(r), 1) = p[1] + 0.5 * standard_normal(s);
  }
  return m;
}

//! k successes of 20 trials with probability p[0].
MetricMatrix binomial_toy(const std::vector<double>& p, int reps, std::uint64_t seed) {
  MetricMatrix m(static_cast<std::size_t>(reps), 1);
  for (int r = 0; r < reps; ++r) {
    RandomStream s(seed, static_cast<std::uint32_t>(r), 0, Purpose::Dispute);
    int k = 0;
    for (int i = 0; i < 20; ++i) k += s.uniform() < p[0] ? 1 : 0;
    m.at(static_cast<std::size_t>(r), 0) = k;
  }
  return m;
}

//! One realisation of `f` at `truth` as the record, each target with observation variance `var`.
std::vector<Target> toy_targets(const SimulatorFn& f, const std::vector<double>& truth, std::uint64_t seed, double var) {
  const MetricMatrix obs = f(truth, 1, seed);
  return {{"y1", obs.at(0, 0), var, 0}, {"y2", obs.at(0, 1), var, 0}};
}

//! `run(o)` stopped after round `at` (the option `stop`) with a checkpoint at `path`, then run
//! again on `threads` threads without the stop: (the killed run, the resumed run).
template <typename Options, typename Run>
auto killed_then_resumed(const Run& run, Options o, int Options::*stop, int at, const std::string& path, int threads) {
  o.checkpoint_path = path;
  o.*stop = at;
  auto part = run(o);
  CHECK(part.stop_reason == "stopped");
  o.*stop = -1;
  o.threads = threads;
  return std::make_pair(std::move(part), run(o));
}

double weighted_mean(const Generation& g, std::size_t j) {
  double s = 0;
  for (std::size_t i = 0; i < g.particles.size(); ++i) s += g.weights[i] * g.particles[i][j];
  return s;
}

std::vector<double> column(const Generation& g, std::size_t j) {
  std::vector<double> out;
  for (const auto& p : g.particles) out.push_back(p[j]);
  return out;
}

void require_same(const AbcResult& a, const AbcResult& b) {
  REQUIRE(a.generations.size() == b.generations.size());
  REQUIRE(a.simulations == b.simulations);
  REQUIRE(a.stop_reason == b.stop_reason);
  for (std::size_t g = 0; g < a.generations.size(); ++g) {
    REQUIRE(a.generations[g].tolerance == b.generations[g].tolerance);
    REQUIRE(a.generations[g].particles == b.generations[g].particles);
    REQUIRE(a.generations[g].weights == b.generations[g].weights);
    REQUIRE(a.generations[g].distances == b.generations[g].distances);
    REQUIRE(a.generations[g].attempts == b.generations[g].attempts);
  }
}

}  // namespace

TEST_CASE("Implausibility: observation, discrepancy and replication variance (one realisation and the mean's)",
          "[calibration]") {
  MetricMatrix m(4, 2);
  const double xs[] = {1, 2, 3, 4};  // mean 2.5, sample variance 5/3
  for (std::size_t r = 0; r < 4; ++r) m.at(r, 0) = xs[r], m.at(r, 1) = std::nan("");
  const Target t{"x", 6.5, 0.5, 0.25};
  CHECK(implausibility(t, m, 0) == Approx(4.0 / std::sqrt(0.5 + 0.25 + (5.0 / 3) * 1.25)));
  CHECK(std::isinf(implausibility(t, m, 1)));  // no defined replication
  m.at(0, 1) = 1, m.at(1, 1) = 2;              // two of four defined: n = 2
  CHECK(implausibility(t, m, 1) == Approx(5.0 / std::sqrt(0.75 + 0.5 * 1.5)));
  CHECK(combined_implausibility({1, 5, 2}, ImplausibilityRank::Max) == 5);
  CHECK(combined_implausibility({1, 5, 2}, ImplausibilityRank::SecondMax) == 2);
  CHECK(combined_implausibility({4}, ImplausibilityRank::SecondMax) == 4);
}

TEST_CASE("Milestone checks: the model's P10-P90 against the record, with and without its error", "[calibration]") {
  MetricMatrix m(11, 3);
  for (std::size_t r = 0; r < 11; ++r)
    m.at(r, 0) = static_cast<double>(r), m.at(r, 1) = 10.0 + static_cast<double>(r), m.at(r, 2) = std::nan("");
  const std::vector<Target> t = {{"a", 5, 1, 0}, {"b", 9, 1, 0}, {"c", 0, 1, 0}};
  const auto c = check_milestones(t, m);
  REQUIRE(c.size() == 3);
  CHECK(c[0].lo == Approx(1.0));  // type 7: rank 0.1 x 10 = 1
  CHECK(c[0].median == Approx(5.0));
  CHECK(c[0].hi == Approx(9.0));
  CHECK(c[0].covers);
  CHECK(c[1].lo == Approx(11.0));
  CHECK(!c[1].covers);
  CHECK(c[1].covers_with_error);  // 9 + 2 x 1 reaches 11
  CHECK(c[2].defined == 0);
  CHECK(std::isnan(c[2].median));
  CHECK(!c[2].covers);
}

TEST_CASE("Latin hypercube: one point in each of n strata per dimension, within the box, seeded", "[calibration]") {
  const Box box{{0, 10}, {1, 20}};
  const auto pts = latin_hypercube(box, 50, 7, 0);
  REQUIRE(pts.size() == 50);
  for (std::size_t j = 0; j < 2; ++j) {
    std::vector<int> strata(50, 0);
    for (const auto& p : pts) ++strata[static_cast<std::size_t>((p[j] - box.lo[j]) / (box.hi[j] - box.lo[j]) * 50)];
    for (int c : strata) CHECK(c == 1);
  }
  CHECK(latin_hypercube(box, 50, 7, 0) == pts);
  CHECK(latin_hypercube(box, 50, 7, 1) != pts);
}

TEST_CASE("History matching shrinks the box around the truth, stops on the budget, same bits at any thread count",
          "[calibration][threads]") {
  const std::vector<double> truth = {3.0, 6.0};
  const std::vector<Target> targets = toy_targets(precise_toy, truth, 99, 0);
  const Box prior{{0, 0}, {10, 10}};
  HistoryMatchingOptions o;
  o.points_per_wave = 200;
  o.replications = 10;
  o.max_waves = 4;
  o.seed = 5;
  const HistoryMatchResult r = history_match(precise_toy, targets, prior, o);
  REQUIRE(r.waves.size() >= 2);
  CHECK(r.simulations == static_cast<std::int64_t>(r.waves.size()) * 2000);
  CHECK(r.final_box.volume() < 0.25 * prior.volume());
  CHECK(r.final_box.contains(truth));
  for (std::size_t w = 1; w < r.waves.size(); ++w) CHECK(r.waves[w].box.volume() <= r.waves[w - 1].box.volume());
  // Every survivor's implausibility is within the cut-off; every other point's above it.
  for (const WavePoint& p : r.waves[0].points) CHECK(p.plausible == (p.combined <= 3.0));

  o.threads = 3;
  const HistoryMatchResult r3 = history_match(precise_toy, targets, prior, o);
  REQUIRE(r3.waves.size() == r.waves.size());
  for (std::size_t w = 0; w < r.waves.size(); ++w)
    for (std::size_t i = 0; i < r.waves[w].points.size(); ++i)
      REQUIRE(r3.waves[w].points[i].implausibility == r.waves[w].points[i].implausibility);

  o.threads = 1;
  o.budget = 5000;    // two waves of 2,000 fit, a third does not
  o.min_shrink = -1;  // never "converged"
  const HistoryMatchResult rb = history_match(precise_toy, targets, prior, o);
  CHECK(rb.waves.size() == 2);
  CHECK(rb.stop_reason == "budget");
  CHECK(rb.simulations == 4000);
}

TEST_CASE("History matching resumes from its wave checkpoint to identical results", "[calibration][threads]") {
  const auto dir = test::scratch_dir("calibration");
  const std::vector<Target> targets = toy_targets(precise_toy, {3, 6}, 99, 0);
  const Box prior{{0, 0}, {10, 10}};
  HistoryMatchingOptions o;
  o.points_per_wave = 100;
  o.max_waves = 3;
  o.min_shrink = -1;
  o.seed = 6;
  o.checkpoint_path = (dir / "hm-whole.ckpt").string();
  const HistoryMatchResult whole = history_match(precise_toy, targets, prior, o);
  REQUIRE(whole.waves.size() == 3);
  const auto [part, resumed] =
      killed_then_resumed([&](const HistoryMatchingOptions& x) { return history_match(precise_toy, targets, prior, x); }, o,
                          &HistoryMatchingOptions::stop_after_wave, 0, (dir / "hm-killed.ckpt").string(), 2);
  REQUIRE(part.waves.size() == 1);
  CHECK(resumed.resumed);
  CHECK(resumed.stop_reason == whole.stop_reason);
  CHECK(resumed.simulations == whole.simulations);
  CHECK(resumed.final_box.lo == whole.final_box.lo);
  CHECK(resumed.final_box.hi == whole.final_box.hi);
  REQUIRE(resumed.waves.size() == whole.waves.size());
  for (std::size_t w = 0; w < whole.waves.size(); ++w)
    for (std::size_t i = 0; i < whole.waves[w].points.size(); ++i) {
      REQUIRE(resumed.waves[w].points[i].params == whole.waves[w].points[i].params);
      REQUIRE(resumed.waves[w].points[i].implausibility == whole.waves[w].points[i].implausibility);
    }
  HistoryMatchingOptions other = o;
  other.cutoff = 2.5;
  CHECK_THROWS_AS(history_match(precise_toy, targets, prior, other), RunFileError);
}

TEST_CASE("ABC-SMC matches the exact Beta-binomial posterior", "[calibration]") {
  // Prior Beta(2, 3), 7 successes in 20 trials: posterior Beta(9, 16), mean 0.36, sd 0.0941.
  // Discrete data: the tolerance reaches 0, where ABC is exact; what remains is Monte Carlo
  // error of ~1,000 effective particles (sd/sqrt(1000) = 0.003). Tolerance stated: mean and
  // sd within 0.01, the 10/50/90% quantiles within 0.015.
  const std::vector<Target> targets = {{"k", 7, 0, 0}};
  AbcOptions o;
  o.particles = 2000;
  o.noisy = false;
  o.final_tolerance = 0;
  o.seed = 11;
  o.log_prior = [](const std::vector<double>& x) { return std::log(x[0]) + 2 * std::log(1 - x[0]); };
  const AbcResult r = abc_smc(binomial_toy, targets, Box{{0}, {1}}, o);
  CHECK(r.stop_reason == "tolerance");
  const Generation& g = r.posterior();
  REQUIRE(g.tolerance == 0);
  CHECK(g.ess() > 800);
  const double mean = weighted_mean(g, 0);
  double var = 0;
  for (std::size_t i = 0; i < g.particles.size(); ++i) var += g.weights[i] * std::pow(g.particles[i][0] - mean, 2);
  CHECK(mean == Approx(0.36).margin(0.01));
  CHECK(std::sqrt(var) == Approx(std::sqrt(9.0 * 16 / (25.0 * 25 * 26))).margin(0.01));
  // Beta(9, 16) quantiles (numerical integration of x^8 (1-x)^15): 0.2406, 0.3562, 0.4845.
  CHECK(weighted_quantile(column(g, 0), g.weights, 0.1) == Approx(0.2406).margin(0.015));
  CHECK(weighted_quantile(column(g, 0), g.weights, 0.5) == Approx(0.3562).margin(0.015));
  CHECK(weighted_quantile(column(g, 0), g.weights, 0.9) == Approx(0.4845).margin(0.015));
  // Tolerances fall strictly, every generation.
  for (std::size_t t = 1; t < r.generations.size(); ++t) CHECK(r.generations[t].tolerance < r.generations[t - 1].tolerance);
}

TEST_CASE("Synthetic truth: 90% credible intervals cover the truth in >= 85 of 100 seeded repeats", "[calibration]") {
  // Each repeat: a truth drawn from the prior, one realisation of the toy simulator as the
  // record, history matching, then ABC-SMC in the surviving box.
  int covered[2] = {0, 0};
  const Box prior{{0, 0}, {10, 10}};
  for (int rep = 0; rep < 100; ++rep) {
    RandomStream s(2024, static_cast<std::uint32_t>(rep), 0, Purpose::Calibration, 99);
    const std::vector<double> truth = {10 * s.uniform(), 10 * s.uniform()};
    const std::vector<Target> targets = toy_targets(gaussian_toy, truth, 1000 + static_cast<std::uint64_t>(rep), 0);
    HistoryMatchingOptions h;
    h.points_per_wave = 100;
    h.replications = 10;
    h.max_waves = 2;
    h.seed = static_cast<std::uint64_t>(rep) + 1;
    const HistoryMatchResult hm = history_match(gaussian_toy, targets, prior, h);  // no survivors: the last box
    AbcOptions o;
    o.particles = 200;
    o.noisy = false;
    o.final_tolerance = 0.5;
    o.max_generations = 12;
    o.seed = static_cast<std::uint64_t>(rep) + 1;
    const AbcResult r = abc_smc(gaussian_toy, targets, hm.final_box, o);
    const Generation& g = r.posterior();
    for (std::size_t j = 0; j < 2; ++j) {
      const double lo = weighted_quantile(column(g, j), g.weights, 0.05);
      const double hi = weighted_quantile(column(g, j), g.weights, 0.95);
      covered[j] += lo <= truth[j] && truth[j] <= hi ? 1 : 0;
    }
  }
  INFO("covered " << covered[0] << " and " << covered[1] << " of 100");
  CHECK(covered[0] >= 85);
  CHECK(covered[1] >= 85);
  CHECK(covered[0] <= 99);  // not trivially wide
  CHECK(covered[1] <= 99);
}

TEST_CASE("ABC-SMC resumes from its checkpoint to identical results, at any thread count", "[calibration][threads]") {
  const auto dir = test::scratch_dir("calibration");
  const std::vector<Target> targets = toy_targets(gaussian_toy, {3, 6}, 5, 0.25);
  const Box box{{0, 0}, {10, 10}};
  AbcOptions o;
  o.particles = 150;
  o.max_generations = 6;
  o.seed = 3;
  o.checkpoint_path = (dir / "whole.ckpt").string();
  const AbcResult whole = abc_smc(gaussian_toy, targets, box, o);
  REQUIRE(whole.generations.size() == 6);
  CHECK(!whole.resumed);

  const auto [part, resumed] =
      killed_then_resumed([&](const AbcOptions& x) { return abc_smc(gaussian_toy, targets, box, x); }, o,
                          &AbcOptions::stop_after_generation, 2, (dir / "killed.ckpt").string(), 3);
  REQUIRE(part.generations.size() == 3);
  CHECK(resumed.resumed);
  require_same(whole, resumed);

  // The checkpoint is exact text: read back, it is the same result.
  std::ifstream in(dir / "whole.ckpt");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  o.threads = 1;
  require_same(whole, [&] {
    AbcResult r = read_abc_checkpoint(text, "whole.ckpt", targets, box, o);
    r.stop_reason = whole.stop_reason;
    return r;
  }());
  // One written by another configuration, or damaged, is refused rather than continued.
  AbcOptions other = o;
  other.seed = 4;
  CHECK_THROWS_AS(read_abc_checkpoint(text, "whole.ckpt", targets, box, other), RunFileError);
  CHECK_THROWS_AS(read_abc_checkpoint(text.substr(0, text.size() / 2), "whole.ckpt", targets, box, o), RunFileError);
  CHECK_THROWS_WITH(read_abc_checkpoint("junk", "x.ckpt", targets, box, o), Catch::Contains("x.ckpt"));
}

TEST_CASE("ABC-SMC stops on its simulation budget without exceeding it", "[calibration]") {
  const std::vector<Target> targets = toy_targets(gaussian_toy, {3, 6}, 5, 0.25);
  AbcOptions o;
  o.particles = 100;
  o.budget = 1000;
  o.seed = 8;
  const AbcResult r = abc_smc(gaussian_toy, targets, Box{{0, 0}, {10, 10}}, o);
  CHECK(r.stop_reason == "budget");
  CHECK(r.simulations <= 1000);
  CHECK(r.generations.size() >= 2);
  std::int64_t sum = 0;
  for (const Generation& g : r.generations) sum += g.simulations;
  CHECK(sum == r.simulations);
}
