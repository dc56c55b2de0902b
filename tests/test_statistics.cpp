// Intervals of lepsim::analysis checked against known distributions: over many simulated
// samples, each interval must cover the true value at its nominal rate (within Monte
// Carlo error), and the methods must agree with textbook values where those exist.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "lepsim/analysis/statistics.hpp"
#include "lepsim/distribution.hpp"
#include "lepsim/rng.hpp"

using namespace lepsim;
using namespace lepsim::analysis;

namespace {

constexpr int TRIALS = 4000;
// Coverage estimated from TRIALS samples: 4 binomial sd of the nominal 0.95.
const double TOLERANCE = 4 * std::sqrt(0.95 * 0.05 / TRIALS);

std::vector<double> sample(const Distribution& d, int n, std::uint32_t trial, std::uint32_t which = 0) {
  RandomStream r(2026, trial, which, Purpose::StageWork, 0);
  std::vector<double> x(static_cast<std::size_t>(n));
  for (double& v : x) v = d.sample(r);
  return x;
}

bool covers(const Estimate& e, double truth) { return e.lo <= truth && truth <= e.hi; }

}  // namespace

TEST_CASE("quantiles agree with tables", "[statistics]") {
  CHECK(normal_quantile(0.975) == Approx(1.959964).epsilon(1e-6));
  CHECK(t_quantile(0.975, 10) == Approx(2.228139).epsilon(1e-6));
  CHECK(t_quantile(0.95, 1) == Approx(6.313752).epsilon(1e-6));
}

TEST_CASE("mean interval: nominal coverage for normal data, and for skewed data at large n", "[statistics]") {
  for (double level : {0.90, 0.95}) {
    int hit = 0;
    for (int t = 0; t < TRIALS; ++t) hit += covers(mean_interval(sample(Distribution::normal(10, 3), 12, t), level), 10);
    const double coverage = static_cast<double>(hit) / TRIALS;
    INFO("normal, n = 12, level " << level << ": coverage " << coverage);
    CHECK(std::abs(coverage - level) < 4 * std::sqrt(level * (1 - level) / TRIALS));
  }
  int hit = 0;
  for (int t = 0; t < TRIALS; ++t) hit += covers(mean_interval(sample(Distribution::exponential(5), 200, t), 0.95), 5);
  const double coverage = static_cast<double>(hit) / TRIALS;
  INFO("exponential, n = 200: coverage " << coverage);
  CHECK(std::abs(coverage - 0.95) < TOLERANCE + 0.01);  // (t-interval slightly low for skewed data)
  // NaN values are left out; one value gives an unbounded interval.
  const std::vector<double> x = {1, std::nan(""), 3};
  const Estimate e = mean_interval(x, 0.95);
  CHECK(e.n == 2);
  CHECK(e.value == 2);
  const std::vector<double> one = {4};
  CHECK(std::isinf(mean_interval(one, 0.95).hi));
}

TEST_CASE("percentile interval: distribution-free, at least nominal coverage", "[statistics]") {
  // Exponential(1): the p-quantile is -ln(1 - p).
  for (double p : {10.0, 50.0, 80.0, 90.0}) {
    const double truth = -std::log(1 - p / 100);
    int hit = 0;
    for (int t = 0; t < TRIALS; ++t) {
      auto x = sample(Distribution::exponential(1), 150, t, 1);
      std::sort(x.begin(), x.end());
      hit += covers(percentile_interval(x, p, 0.95), truth);
    }
    const double coverage = static_cast<double>(hit) / TRIALS;
    INFO("P" << p << ", n = 150: coverage " << coverage);
    CHECK(coverage > 0.95 - TOLERANCE);  // order-statistic intervals are conservative by construction
    CHECK(coverage < 0.985);            // but not needlessly wide
  }
  // Type-7 percentiles as numpy computes them.
  const std::vector<double> v = {1, 2, 3, 4, 10};
  CHECK(percentile(v, 50) == 3);
  CHECK(percentile(v, 90) == Approx(7.6));
  // Too few observations for the level: the interval is open on that side.
  const std::vector<double> few = {1, 2, 3};
  CHECK(std::isinf(percentile_interval(few, 90, 0.95).hi));
  // Censored values (+inf: never happened within the horizon) are order statistics like any other.
  const std::vector<double> censored = {1, 2, 3, INFINITY, INFINITY};
  CHECK(std::isinf(percentile(censored, 90)));
  CHECK(percentile(censored, 25) == 2);
}

TEST_CASE("proportion interval (Wilson): near-nominal coverage, sensible at 0 and 1", "[statistics]") {
  for (double p : {0.05, 0.3, 0.5}) {
    int hit = 0;
    for (int t = 0; t < TRIALS; ++t) {
      RandomStream r(7, static_cast<std::uint32_t>(t), 3, Purpose::Dispute, 0);
      std::int64_t k = 0;
      for (int i = 0; i < 120; ++i) k += r.uniform() < p;
      hit += covers(proportion_interval(k, 120, 0.95), p);
    }
    const double coverage = static_cast<double>(hit) / TRIALS;
    INFO("p = " << p << ", n = 120: coverage " << coverage);
    CHECK(std::abs(coverage - 0.95) < TOLERANCE + 0.015);  // (Wilson oscillates a little around nominal)
  }
  const Estimate none = proportion_interval(0, 1000, 0.95);
  CHECK(none.value == 0);
  CHECK(none.lo == 0);
  CHECK(none.hi == Approx(0.00383).epsilon(0.01));  // the "rule of three" region: about 3.84 / n
  const Estimate all = proportion_interval(50, 50, 0.95);
  CHECK(all.hi == 1);
  CHECK(all.lo < 1);
}

TEST_CASE("differences: paired and Welch intervals cover the true difference", "[statistics]") {
  int paired_hit = 0, welch_hit = 0;
  double paired_width = 0, welch_width = 0;
  for (int t = 0; t < TRIALS / 2; ++t) {
    // Common random numbers: b = a + 0.5 + small noise, so the pairs are strongly correlated.
    const auto a = sample(Distribution::normal(10, 3), 40, t, 5);
    const auto noise = sample(Distribution::normal(0, 0.3), 40, t, 6);
    std::vector<double> b(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) b[i] = a[i] + 0.5 + noise[i];
    const Estimate p = difference_paired(a, b, 0.95), w = difference_independent(a, b, 0.95);
    paired_hit += covers(p, 0.5);
    paired_width += p.hi - p.lo;
    const auto c = sample(Distribution::normal(10.5, 3), 40, t, 7);  // independent of a
    const Estimate wi = difference_independent(a, c, 0.95);
    welch_hit += covers(wi, 0.5);
    welch_width += w.hi - w.lo;
  }
  const double n = TRIALS / 2;
  INFO("paired coverage " << paired_hit / n << ", Welch coverage " << welch_hit / n);
  CHECK(std::abs(paired_hit / n - 0.95) < 4 * std::sqrt(0.95 * 0.05 / n));
  CHECK(std::abs(welch_hit / n - 0.95) < 4 * std::sqrt(0.95 * 0.05 / n));
  CHECK(paired_width < welch_width / 5);  // what common random numbers buy
  // Identical runs: zero difference, zero width.
  const auto a = sample(Distribution::normal(10, 3), 30, 1, 8);
  const Estimate same = difference_paired(a, a, 0.95);
  CHECK(same.value == 0);
  CHECK(same.lo == 0);
  CHECK(same.hi == 0);
}
