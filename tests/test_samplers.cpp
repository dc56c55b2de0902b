// The samplers of random stream layout 2 (docs/random-streams.md, "Layouts"): every kind's
// draws against its exact CDF (Kolmogorov-Smirnov; chi-square for discrete), the ziggurat
// normal's tail and layers, and the common-random-number property the ziggurat keeps.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/special_functions/beta.hpp>

#include "lepsim/distribution.hpp"
#include "lepsim/rng.hpp"

using lepsim::Distribution;
using lepsim::Purpose;
using lepsim::RandomStream;

namespace {

// sqrt(n) D of the Kolmogorov-Smirnov statistic exceeds this with probability 0.001.
constexpr double KS_CRITICAL_0001 = 1.949;

double phi_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// sqrt(n) times the two-sided Kolmogorov-Smirnov distance of n draws from the CDF.
double ks_statistic(const Distribution& d, const std::function<double(double)>& cdf, std::uint32_t entity, int n = 20'000) {
  RandomStream s(2026, 0, entity, Purpose::StageWork);
  std::vector<double> xs(static_cast<std::size_t>(n));
  for (double& x : xs) x = d.sample(s);
  std::sort(xs.begin(), xs.end());
  double dmax = 0.0;
  for (int i = 0; i < n; ++i) {
    const double f = cdf(xs[static_cast<std::size_t>(i)]);
    dmax = std::max({dmax, (i + 1.0) / n - f, f - static_cast<double>(i) / n});
  }
  return std::sqrt(static_cast<double>(n)) * dmax;
}

}  // namespace

TEST_CASE("samplers: every continuous kind passes Kolmogorov-Smirnov against its exact CDF", "[distribution][samplers]") {
  struct Case {
    Distribution d;
    std::function<double(double)> cdf;
  };
  const double s2 = std::log(1.25), mu = std::log(10.0) - 0.5 * s2;  // lognormal(10, 5)
  const double pa = phi_cdf(-1.0), pb = phi_cdf(2.0);
  const std::vector<Case> cases = {
      {Distribution::uniform(2, 5), [](double x) { return (x - 2) / 3; }},
      {Distribution::triangular(1, 2, 6),
       [](double x) { return x <= 2 ? (x - 1) * (x - 1) / 5 : 1 - (6 - x) * (6 - x) / 20; }},
      {Distribution::pert(6, 12, 30), [](double x) { return boost::math::ibeta(2.0, 4.0, (x - 6) / 24); }},
      {Distribution::pert(0, 10, 10), [](double x) { return boost::math::ibeta(5.0, 1.0, x / 10); }},  // beta = 1
      {Distribution::pert(0, 3, 10, 40.0), [](double x) { return boost::math::ibeta(13.0, 29.0, x / 10); }},
      {Distribution::pert(10.8, 20.55, 48),  // bsf's construction: alpha = 1 + 4 * 9.75 / 37.2
       [](double x) { return boost::math::ibeta(1 + 39.0 / 37.2, 1 + 109.8 / 37.2, (x - 10.8) / 37.2); }},
      {Distribution::normal(10, 2), [](double x) { return phi_cdf((x - 10) / 2); }},
      {Distribution::normal(0, 1, -1, 2), [=](double x) { return (phi_cdf(x) - pa) / (pb - pa); }},
      {Distribution::lognormal(10, 5), [=](double x) { return phi_cdf((std::log(x) - mu) / std::sqrt(s2)); }},
      {Distribution::exponential(3), [](double x) { return -std::expm1(-x / 3); }},
      {Distribution::empirical({4, 1, 2}), [](double x) { return x <= 2 ? (x - 1) / 2 : 0.5 + (x - 2) / 4; }},
  };
  std::uint32_t entity = 0;
  for (const Case& c : cases) {
    INFO(c.d.describe());
    const double ks = ks_statistic(c.d, c.cdf, ++entity);
    INFO("sqrt(n) D = " << ks);
    CHECK(ks < KS_CRITICAL_0001);
  }
}

TEST_CASE("samplers: discrete passes a chi-square test of its weights", "[distribution][samplers]") {
  const auto d = Distribution::discrete({3, 1, 2, 7}, {0.2, 0.5, 0.25, 0.05});
  const double values[] = {3, 1, 2, 7}, p[] = {0.2, 0.5, 0.25, 0.05};
  constexpr int N = 100'000;
  int counts[4] = {};
  RandomStream s(2026, 0, 99, Purpose::StageWork);
  for (int i = 0; i < N; ++i) {
    const double x = d.sample(s);
    for (int k = 0; k < 4; ++k) counts[k] += x == values[k];
  }
  double chi2 = 0.0;
  for (int k = 0; k < 4; ++k) chi2 += (counts[k] - N * p[k]) * (counts[k] - N * p[k]) / (N * p[k]);
  CHECK(chi2 < boost::math::quantile(boost::math::chi_squared(3), 0.999));
}

TEST_CASE("samplers: the ziggurat normal's layers, wedges and tail follow the normal law", "[distribution][samplers]") {
  // Two million standard normals in 100 bins of equal probability plus both tails beyond
  // the ziggurat's base edge R = 3.654 (mass 2.6e-4 each side), by chi-square.
  const auto d = Distribution::normal(0, 1);
  constexpr int N = 2'000'000, BINS = 100;
  constexpr double R = 3.6541528853610088;
  const double tail = phi_cdf(-R);
  std::vector<int> counts(BINS, 0);
  int below = 0, above = 0;
  RandomStream s(2026, 1, 0, Purpose::Health);
  for (int i = 0; i < N; ++i) {
    const double z = d.sample(s);
    below += z < -R;
    above += z > R;
    const int b = std::min(BINS - 1, static_cast<int>(phi_cdf(z) * BINS));
    ++counts[static_cast<std::size_t>(b)];
  }
  double chi2 = 0.0;
  for (const int c : counts) chi2 += (c - N / double(BINS)) * (c - N / double(BINS)) / (N / double(BINS));
  CHECK(chi2 < boost::math::quantile(boost::math::chi_squared(BINS - 1), 0.999));
  const double expected = N * tail, sd = std::sqrt(N * tail * (1 - tail));
  INFO("beyond -R " << below << ", beyond R " << above << ", expected " << expected << " +- " << sd);
  CHECK(std::fabs(below - expected) < 4 * sd);
  CHECK(std::fabs(above - expected) < 4 * sd);
}

TEST_CASE("samplers: the ziggurat keeps common random numbers exact across parameters", "[distribution][samplers]") {
  // The same stream gives the same standard deviate whatever the mean and sd, so a changed
  // parameter moves every draw monotonically and later draws stay aligned.
  RandomStream a(5, 0, 1, Purpose::Health), b(5, 0, 1, Purpose::Health), c(5, 0, 1, Purpose::Health);
  const auto z = Distribution::normal(0, 1), x = Distribution::normal(5, 3), l = Distribution::lognormal(2, 1);
  const double s2 = std::log(1.25), mu = std::log(2.0) - 0.5 * s2;
  bool linear = true, lognormal = true;
  for (int i = 0; i < 20'000; ++i) {
    const double zi = z.sample(a);
    linear = linear && x.sample(b) == 5 + 3 * zi;
    lognormal = lognormal && std::fabs(std::log(l.sample(c)) - (mu + std::sqrt(s2) * zi)) < 1e-12;
  }
  CHECK(linear);
  CHECK(lognormal);
  const std::uint64_t next = a.next_u64();  // the three streams are still in step
  CHECK(b.next_u64() == next);
  CHECK(c.next_u64() == next);
}

TEST_CASE("samplers: a normal draw takes one 64-bit value nearly always", "[distribution][samplers]") {
  // The ziggurat's rectangles are 98.5% of the area of its 256 layers; the rest (wedges,
  // tail) takes more values. 100,000 draws must use fewer than 1.03 values each.
  RandomStream s(5, 0, 2, Purpose::Health);
  const auto z = Distribution::normal(0, 1);
  for (int i = 0; i < 100'000; ++i) z.sample(s);
  const double values = 2.0 * static_cast<double>(s.blocks_used());
  CHECK(values >= 100'000);
  CHECK(values < 103'000);
  CHECK(lepsim::RANDOM_STREAM_LAYOUT == 2);
}
