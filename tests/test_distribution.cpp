#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lepsim/distribution.hpp"
#include "lepsim/rng.hpp"

using lepsim::DistKind;
using lepsim::Distribution;
using lepsim::Purpose;
using lepsim::RandomStream;

namespace {

constexpr double INF = std::numeric_limits<double>::infinity();
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr double PI = 3.14159265358979323846;

// Draws n samples and checks them against the analytic moments and support.
void check_sampling(const Distribution& d, std::uint32_t entity, int n = 200'000) {
  INFO(d.describe());
  REQUIRE(d.is_valid());
  RandomStream s(777, 0, entity, Purpose::StageWork);
  std::vector<double> xs(static_cast<std::size_t>(n));
  const double lo = d.min_value(), hi = d.max_value();
  bool in_support = true;
  for (double& x : xs) {
    x = d.sample(s);
    in_support = in_support && x >= lo && x <= hi;
  }
  CHECK(in_support);

  double m = 0.0;
  for (const double x : xs) m += x;
  m /= n;
  double m2 = 0.0, m4 = 0.0;
  for (const double x : xs) {
    const double c = (x - m) * (x - m);
    m2 += c;
    m4 += c * c;
  }
  m4 /= n;
  const double var = m2 / (n - 1);
  const double se_mean = std::sqrt(d.variance() / n);
  const double se_var = std::sqrt(std::max(m4 - var * var, 0.0) / n);
  INFO("sample mean " << m << " analytic " << d.mean() << " se " << se_mean);
  INFO("sample var " << var << " analytic " << d.variance() << " se " << se_var);
  CHECK(std::fabs(m - d.mean()) <= 5 * se_mean + 1e-12 * std::fabs(d.mean()));
  CHECK(std::fabs(var - d.variance()) <= 5 * se_var + 1e-12 * d.variance());
}

bool has_error(const Distribution& d, const std::string& param) {
  const auto errs = d.validate();
  return std::any_of(errs.begin(), errs.end(), [&](const lepsim::ParamError& e) { return e.param == param; });
}

double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * PI); }

// Composite Simpson of f * phi on [a, b]; independent of the analytic code under test.
double simpson(const std::function<double(double)>& f, double a, double b, int intervals = 4000) {
  const double h = (b - a) / intervals;
  double acc = f(a) * phi(a) + f(b) * phi(b);
  for (int i = 1; i < intervals; ++i) {
    const double x = a + i * h;
    acc += (i % 2 ? 4.0 : 2.0) * f(x) * phi(x);
  }
  return acc * h / 3.0;
}

// Mean and variance of N(mu, sd) truncated to [lo, hi] by quadrature (infinite bounds cut at 12 sd).
std::pair<double, double> truncated_normal_moments(double mu, double sd, double lo, double hi) {
  const double a = std::isinf(lo) ? -12.0 : (lo - mu) / sd, b = std::isinf(hi) ? 12.0 : (hi - mu) / sd;
  const double z0 = simpson([](double) { return 1.0; }, a, b);
  const double z1 = simpson([](double x) { return x; }, a, b) / z0;
  const double z2 = simpson([](double x) { return x * x; }, a, b) / z0;
  return {mu + sd * z1, sd * sd * (z2 - z1 * z1)};
}

}  // namespace

TEST_CASE("Every kind samples with the analytic mean and variance", "[distribution]") {
  std::uint32_t entity = 0;
  check_sampling(Distribution::uniform(2, 5), ++entity);
  check_sampling(Distribution::uniform(-1e6, 1e6), ++entity);
  check_sampling(Distribution::triangular(1, 2, 6), ++entity);
  check_sampling(Distribution::triangular(0, 0, 1), ++entity);  // mode at min
  check_sampling(Distribution::triangular(0, 1, 1), ++entity);  // mode at max
  check_sampling(Distribution::pert(6, 12, 30), ++entity);
  check_sampling(Distribution::pert(0, 10, 10), ++entity);  // mode at max: beta = 1
  check_sampling(Distribution::pert(0, 1, 10, 2.0), ++entity);
  check_sampling(Distribution::pert(0, 3, 10, 40.0), ++entity);
  check_sampling(Distribution::normal(10, 2), ++entity);
  check_sampling(Distribution::normal(0, 1, 0, INF), ++entity);
  check_sampling(Distribution::normal(3, 2, -INF, 1), ++entity);
  check_sampling(Distribution::normal(0, 1, -1, 2), ++entity);
  check_sampling(Distribution::normal(0, 1, 5, 6), ++entity);     // far upper tail
  check_sampling(Distribution::normal(0, 1, -INF, -5), ++entity);  // far lower tail
  check_sampling(Distribution::lognormal(10, 5), ++entity);
  check_sampling(Distribution::lognormal(1, 0.1), ++entity);
  check_sampling(Distribution::exponential(3), ++entity);
  check_sampling(Distribution::discrete({3, 1, 2}, {0.2, 0.5, 0.3}), ++entity);
  check_sampling(Distribution::discrete({5, 7, 9}, {1, 0, 1}), ++entity);
  check_sampling(Distribution::discrete({42}, {1}), ++entity);
  check_sampling(Distribution::empirical({4, 1, 2}), ++entity);
  check_sampling(Distribution::empirical({10, 3, 7, 7, 1, 20, 15, 2}), ++entity);
  check_sampling(Distribution::fixed(3.5), ++entity);
}

TEST_CASE("Analytic moments match closed forms", "[distribution]") {
  SECTION("fixed") {
    const auto d = Distribution::fixed(-2.5);
    CHECK(d.mean() == -2.5);
    CHECK(d.variance() == 0.0);
  }
  SECTION("uniform") {
    const auto d = Distribution::uniform(2, 8);
    CHECK(d.mean() == Approx(5.0));
    CHECK(d.variance() == Approx(3.0));
  }
  SECTION("triangular") {
    const auto d = Distribution::triangular(1, 2, 6);
    CHECK(d.mean() == Approx(3.0));
    CHECK(d.variance() == Approx((1 + 4 + 36 - 2 - 6 - 12) / 18.0));
  }
  SECTION("PERT, lambda = 4: mean = (min + 4 mode + max) / 6") {
    for (const auto& [a, m, b] : {std::tuple{6.0, 12.0, 30.0}, std::tuple{0.0, 0.0, 1.0}, std::tuple{-5.0, 7.0, 9.0}}) {
      const auto d = Distribution::pert(a, m, b);
      const double mean = (a + 4 * m + b) / 6;
      CHECK(d.mean() == Approx(mean));
      CHECK(d.variance() == Approx((mean - a) * (b - mean) / 7));
    }
    // Beta form: alpha = 1 + 4*(12-6)/24 = 2, beta = 1 + 4*(30-12)/24 = 4.
    const double alpha = 2, beta = 4, range = 24;
    const auto d = Distribution::pert(6, 12, 30);
    CHECK(d.mean() == Approx(6 + range * alpha / (alpha + beta)));
    CHECK(d.variance() == Approx(range * range * alpha * beta / ((alpha + beta) * (alpha + beta) * (alpha + beta + 1))));
  }
  SECTION("PERT, general lambda") {
    const auto d = Distribution::pert(0, 1, 10, 2.0);
    CHECK(d.mean() == Approx((0 + 2 * 1 + 10) / 4.0));
  }
  SECTION("normal, untruncated and half-normal") {
    CHECK(Distribution::normal(3, 2).mean() == 3);
    CHECK(Distribution::normal(3, 2).variance() == 4);
    const auto h = Distribution::normal(0, 1, 0, INF);
    CHECK(h.mean() == Approx(std::sqrt(2 / PI)).epsilon(1e-12));
    CHECK(h.variance() == Approx(1 - 2 / PI).epsilon(1e-12));
  }
  SECTION("truncated normal against quadrature") {
    for (const auto& [mu, sd, lo, hi] : {std::tuple{0.0, 1.0, 5.0, 6.0}, std::tuple{0.0, 1.0, -6.0, -5.0},
                                          std::tuple{0.0, 1.0, -1.0, 2.0}, std::tuple{10.0, 3.0, 4.0, INF},
                                          std::tuple{10.0, 3.0, -INF, 4.0}, std::tuple{1.0, 0.5, 0.9, 1.1}}) {
      const auto d = Distribution::normal(mu, sd, lo, hi);
      INFO(d.describe());
      const auto [qm, qv] = truncated_normal_moments(mu, sd, lo, hi);
      CHECK(d.mean() == Approx(qm).epsilon(1e-9));
      CHECK(d.variance() == Approx(qv).epsilon(1e-7));
    }
  }
  SECTION("lognormal is parameterised by the variable's own mean and sd") {
    const auto d = Distribution::lognormal(10, 5);
    CHECK(d.mean() == 10);
    CHECK(d.variance() == 25);
  }
  SECTION("exponential") {
    const auto d = Distribution::exponential(4);
    CHECK(d.mean() == 4);
    CHECK(d.variance() == 16);
  }
  SECTION("discrete") {
    const auto d = Distribution::discrete({3, 1, 2}, {0.2, 0.5, 0.3});
    CHECK(d.mean() == Approx(0.6 + 0.5 + 0.6));
    CHECK(d.variance() == Approx(0.2 * 9 + 0.5 * 1 + 0.3 * 4 - 1.7 * 1.7));
    CHECK(d.min_value() == 1);
    CHECK(d.max_value() == 3);
    const auto z = Distribution::discrete({0, 5, 10}, {0, 1, 0});  // support ignores zero weights
    CHECK(z.min_value() == 5);
    CHECK(z.max_value() == 5);
  }
  SECTION("empirical: segments of equal probability, uniform within") {
    const auto d = Distribution::empirical({4, 1, 2});
    CHECK(d.mean() == Approx(2.25));
    CHECK(d.variance() == Approx(35.0 / 6.0 - 2.25 * 2.25));
    CHECK(d.min_value() == 1);
    CHECK(d.max_value() == 4);
  }
}

TEST_CASE("Empirical sampling is numpy's linear inverse ECDF", "[distribution]") {
  // numpy.quantile([1, 2, 4], p): p = 0.25 -> 1.5, p = 0.5 -> 2, p = 0.75 -> 3.
  const auto d = Distribution::empirical({4, 1, 2});
  RandomStream s(1, 0, 0, Purpose::StageWork);
  constexpr int N = 200'000;
  int below[3] = {0, 0, 0};
  for (int i = 0; i < N; ++i) {
    const double x = d.sample(s);
    below[0] += x <= 1.5;
    below[1] += x <= 2.0;
    below[2] += x <= 3.0;
  }
  for (int k = 0; k < 3; ++k) {
    const double p = 0.25 * (k + 1);
    CHECK(std::fabs(below[k] / double(N) - p) < 5 * std::sqrt(p * (1 - p) / N));
  }
}

TEST_CASE("Single-uniform kinds are inverse CDFs: one uniform each, monotone in it", "[distribution]") {
  // Layout 2: every kind but PERT, the untruncated normal and the lognormal.
  const Distribution dists[] = {Distribution::uniform(1, 3),
                                Distribution::triangular(0, 2, 3),
                                Distribution::normal(0, 1, 5, 6),
                                Distribution::normal(0, 1, -3, 1),
                                Distribution::normal(1, 2, 0, INF),
                                Distribution::exponential(2),
                                Distribution::discrete({2, 0, 1}, {1, 2, 3}),
                                Distribution::empirical({5, 1, 3, 2})};
  std::uint32_t entity = 0;
  for (const auto& d : dists) {
    INFO(d.describe());
    RandomStream us(5, 0, ++entity, Purpose::ProjectType), xs(5, 0, entity, Purpose::ProjectType);
    std::vector<std::pair<double, double>> pairs;
    for (int i = 0; i < 2000; ++i) {
      const double u = us.uniform();
      pairs.emplace_back(u, d.sample(xs));
    }
    CHECK(us.next_u64() == xs.next_u64());  // streams still in step: exactly one uniform per draw
    std::sort(pairs.begin(), pairs.end());
    bool monotone = true;
    for (std::size_t i = 1; i < pairs.size(); ++i) monotone = monotone && pairs[i - 1].second <= pairs[i].second;
    CHECK(monotone);
  }
  // fixed consumes nothing.
  RandomStream s(5, 0, 0, Purpose::ProjectType);
  for (int i = 0; i < 10; ++i) Distribution::fixed(1).sample(s);
  CHECK(s.blocks_used() == 0);
}

TEST_CASE("Normal inverse CDF (AS241) is accurate to full double precision", "[distribution]") {
  const auto d = Distribution::normal(0, 1);
  // AS241 is the normal's quantile (and the truncated normal's sampler) in layout 2.
  RandomStream us(8, 0, 0, Purpose::AuthorityEntry);
  double worst = 0.0;
  for (int i = 0; i < 100'000; ++i) {
    const double u = us.uniform();
    const double z = d.quantile(u);
    // Compare in the tail the value lies in; 1 - u is exact for the uniform grid.
    const double tail = std::min(u, 1 - u);
    const double err = std::fabs(0.5 * std::erfc(std::fabs(z) / std::sqrt(2.0)) - tail);  // Phi(-|z|)
    // Convert the probability error to a relative error in z (dPhi = phi dz).
    worst = std::max(worst, err / (phi(z) * std::max(1.0, std::fabs(z))));
  }
  INFO("worst relative error in z: " << worst);  // ~7e-16 with glibc's erfc
  CHECK(worst < 4e-15);
}

TEST_CASE("Truncated normal in a far tail samples the right window", "[distribution]") {
  const auto d = Distribution::normal(0, 1, 5, 6);
  REQUIRE(d.is_valid());
  CHECK(d.min_value() == 5);
  CHECK(d.max_value() == 6);
  const double expected = (phi(5) - phi(6)) / (0.5 * std::erfc(5 / std::sqrt(2.0)) - 0.5 * std::erfc(6 / std::sqrt(2.0)));
  CHECK(d.mean() == Approx(expected).epsilon(1e-12));
  RandomStream s(3, 0, 0, Purpose::StageWork);
  double sum = 0.0;
  double lo = INF, hi = -INF;
  constexpr int N = 200'000;
  for (int i = 0; i < N; ++i) {
    const double x = d.sample(s);
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  CHECK(std::fabs(sum / N - expected) < 5 * std::sqrt(d.variance() / N));
  CHECK(lo >= 5.0);
  CHECK(hi <= 6.0);
  CHECK(lo < 5.001);  // the whole window is reached, not just one point
  CHECK(hi > 5.9);
}

TEST_CASE("validate() rejects invalid parameters", "[distribution]") {
  CHECK(Distribution::uniform(1, 2).validate().empty());
  CHECK(Distribution::uniform(2, 2).validate().empty());  // degenerate but allowed
  CHECK(has_error(Distribution::uniform(3, 2), "min"));

  CHECK(Distribution::triangular(1, 1, 2).validate().empty());
  CHECK(has_error(Distribution::triangular(3, 2, 5), "mode"));  // min > mode
  CHECK(has_error(Distribution::triangular(1, 6, 5), "mode"));  // mode > max
  CHECK(has_error(Distribution::triangular(2, 2, 2), "max"));   // min == max
  const auto errs = Distribution::triangular(1, 13, 12).validate();
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == lepsim::ParamError{"mode", "must be <= max (12)"});

  CHECK(Distribution::pert(0, 0, 1).validate().empty());
  CHECK(has_error(Distribution::pert(3, 2, 5), "mode"));
  CHECK(has_error(Distribution::pert(1, 6, 5), "mode"));
  CHECK(has_error(Distribution::pert(2, 2, 2), "max"));
  CHECK(has_error(Distribution::pert(0, 1, 2, 0.0), "lambda"));
  CHECK(has_error(Distribution::pert(0, 1, 2, -1.0), "lambda"));

  CHECK(has_error(Distribution::normal(0, 0), "sd"));
  CHECK(has_error(Distribution::normal(0, -1), "sd"));
  CHECK(has_error(Distribution::normal(0, 1, 2, 1), "upper"));
  CHECK(has_error(Distribution::normal(0, 1, 1, 1), "upper"));
  CHECK(has_error(Distribution::normal(0, 1, 40, 41), "lower"));  // window probability ~ 0
  CHECK(has_error(Distribution::normal(0, 1, -41, -40), "upper"));
  CHECK(Distribution::normal(0, 1, 5, 6).validate().empty());
  CHECK(Distribution::normal(0, 1, -INF, INF).validate().empty());

  CHECK(has_error(Distribution::lognormal(0, 1), "mean"));
  CHECK(has_error(Distribution::lognormal(-1, 1), "mean"));
  CHECK(has_error(Distribution::lognormal(1, 0), "sd"));
  CHECK(has_error(Distribution::exponential(0), "mean"));
  CHECK(has_error(Distribution::exponential(-2), "mean"));

  CHECK(has_error(Distribution::discrete({1, 2}, {1, -1}), "weights[1]"));
  CHECK(has_error(Distribution::discrete({1, 2}, {1}), "weights"));
  CHECK(has_error(Distribution::discrete({1, 2}, {0, 0}), "weights"));
  CHECK(has_error(Distribution::discrete({}, {}), "values"));
  CHECK(Distribution::discrete({1, 2}, {0, 1}).validate().empty());

  CHECK(has_error(Distribution::empirical({1}), "observations"));
  CHECK(has_error(Distribution::empirical({}), "observations"));
  CHECK(Distribution::empirical({1, 1}).validate().empty());
}

TEST_CASE("validate() rejects NaN and infinite parameters", "[distribution]") {
  for (const double bad : {NaN, INF, -INF}) {
    INFO(bad);
    CHECK(has_error(Distribution::fixed(bad), "value"));
    CHECK(has_error(Distribution::uniform(bad, 1), "min"));
    CHECK(has_error(Distribution::uniform(0, bad), "max"));
    CHECK(has_error(Distribution::triangular(0, bad, 1), "mode"));
    CHECK(has_error(Distribution::pert(0, 1, bad), "max"));
    CHECK(has_error(Distribution::pert(0, 1, 2, bad), "lambda"));
    CHECK(has_error(Distribution::normal(bad, 1), "mean"));
    CHECK(has_error(Distribution::normal(0, bad), "sd"));
    CHECK(has_error(Distribution::lognormal(bad, 1), "mean"));
    CHECK(has_error(Distribution::lognormal(1, bad), "sd"));
    CHECK(has_error(Distribution::exponential(bad), "mean"));
    CHECK(has_error(Distribution::discrete({1, bad}, {1, 1}), "values[1]"));
    CHECK(has_error(Distribution::discrete({1, 2}, {bad, 1}), "weights[0]"));
    CHECK(has_error(Distribution::empirical({1, bad, 3}), "observations[1]"));
  }
  // Normal bounds may be infinite, but not NaN.
  CHECK(has_error(Distribution::normal(0, 1, NaN, 1), "lower"));
  CHECK(has_error(Distribution::normal(0, 1, 0, NaN), "upper"));
  // Overflowing ranges are rejected rather than sampled as inf.
  CHECK(has_error(Distribution::uniform(-1e308, 1e308), "max"));
  CHECK(has_error(Distribution::lognormal(1e-200, 1e200), "sd"));
}

TEST_CASE("Invalid distributions are inert: factories never throw, use does", "[distribution]") {
  CHECK_NOTHROW(Distribution::empirical({NaN, 1, NaN, 2}));
  CHECK_NOTHROW(Distribution::discrete({1, 2, 3}, {1}));
  CHECK_NOTHROW(Distribution::discrete({}, {}));
  const auto d = Distribution::triangular(3, 2, 1);
  CHECK_FALSE(d.is_valid());
  RandomStream s(1, 0, 0, Purpose::StageWork);
  CHECK_THROWS_AS(d.sample(s), std::logic_error);
  CHECK_THROWS_AS(d.mean(), std::logic_error);
  CHECK_THROWS_AS(d.variance(), std::logic_error);
  CHECK(Distribution().is_valid());
  CHECK(Distribution().describe() == "fixed(value=0)");
}

TEST_CASE("Names, describe() and serialiser accessors", "[distribution]") {
  for (int k = 0; k <= static_cast<int>(DistKind::Empirical); ++k) {
    const auto kind = static_cast<DistKind>(k);
    CHECK(Distribution::kind_from_name(Distribution::kind_name(kind)) == kind);
  }
  CHECK(Distribution::kind_name(DistKind::Pert) == "pert");
  CHECK_FALSE(Distribution::kind_from_name("PERT").has_value());
  CHECK_FALSE(Distribution::kind_from_name("gamma").has_value());

  CHECK(Distribution::pert(6, 12, 30).describe() == "pert(min=6, mode=12, max=30)");
  CHECK(Distribution::pert(6, 12, 30, 3).describe() == "pert(min=6, mode=12, max=30, lambda=3)");
  CHECK(Distribution::normal(1.5, 0.1).describe() == "normal(mean=1.5, sd=0.1)");
  CHECK(Distribution::normal(1.5, 0.1, 0, INF).describe() == "normal(mean=1.5, sd=0.1, lower=0)");
  CHECK(Distribution::discrete({1, 2}, {0.25, 0.75}).describe() == "discrete(values=[1, 2], weights=[0.25, 0.75])");
  CHECK(Distribution::empirical({3, 1}).describe() == "empirical(observations=[3, 1])");
  CHECK(Distribution::exponential(1e-7).describe() == "exponential(mean=1e-07)");

  const auto p = Distribution::pert(6, 12, 30);
  REQUIRE(p.params().size() == 4);
  CHECK(p.params()[1] == 12);
  CHECK(Distribution::param_names(DistKind::Pert).size() == 4);
  CHECK(Distribution::param_names(DistKind::Pert)[3] == "lambda");
  CHECK(p.param("lambda") == 4.0);
  CHECK_FALSE(p.param("sd").has_value());
  for (int k = 0; k <= static_cast<int>(DistKind::Empirical); ++k) {
    const auto kind = static_cast<DistKind>(k);
    if (kind == DistKind::Discrete || kind == DistKind::Empirical) {
      CHECK(Distribution::param_names(kind).empty());
    }
  }
  const auto e = Distribution::empirical({3, 1, 2});
  CHECK(e.observations() == std::vector<double>{3, 1, 2});  // kept as given
  CHECK(e.params().empty());
  const auto d = Distribution::discrete({2, 1}, {1, 3});
  CHECK(d.values() == std::vector<double>{2, 1});
  CHECK(d.weights() == std::vector<double>{1, 3});

  CHECK(Distribution::pert(6, 12, 30) == Distribution::pert(6, 12, 30, 4.0));
  CHECK_FALSE(Distribution::pert(6, 12, 30) == Distribution::triangular(6, 12, 30));
}

TEST_CASE("Sampling is reproducible from the stream identity", "[distribution]") {
  const auto d = Distribution::pert(1, 4, 20);
  RandomStream a(99, 3, 4, Purpose::StageWork, 1), b(99, 3, 4, Purpose::StageWork, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(d.sample(a) == d.sample(b));
}

TEST_CASE("Single-uniform kinds equal their inverse CDF at the drawn uniform", "[distribution]") {
  RandomStream us(11, 0, 0, Purpose::StageWork), xs(11, 0, 0, Purpose::StageWork);
  const auto close = [](double x, double expected) { return std::fabs(x - expected) <= 1e-13 * std::max(1.0, std::fabs(expected)); };
  const auto uni = Distribution::uniform(2, 5);
  const auto tri = Distribution::triangular(1, 2, 6);
  const auto expo = Distribution::exponential(3);
  const auto emp = Distribution::empirical({4, 1, 2});
  const auto disc = Distribution::discrete({30, 10, 20}, {0.25, 0.5, 0.25});
  bool ok_uni = true, ok_tri = true, ok_expo = true, ok_emp = true, ok_disc = true;
  for (int i = 0; i < 20'000; ++i) {
    double u = us.uniform();
    ok_uni = ok_uni && close(uni.sample(xs), 2 + 3 * u);
    u = us.uniform();
    // F(x) = (x-1)^2 / 5 on [1, 2], 1 - (6-x)^2 / 20 on [2, 6].
    const double xt = tri.sample(xs);
    ok_tri = ok_tri && close(xt <= 2 ? (xt - 1) * (xt - 1) / 5 : 1 - (6 - xt) * (6 - xt) / 20, u);
    u = us.uniform();
    ok_expo = ok_expo && close(expo.sample(xs), -3 * std::log(1 - u));
    u = us.uniform();
    // numpy linear quantile of [1, 2, 4]: h = 2u.
    ok_emp = ok_emp && close(emp.sample(xs), u < 0.5 ? 1 + 2 * u : 2 + 2 * (2 * u - 1));
    u = us.uniform();
    ok_disc = ok_disc && disc.sample(xs) == (u < 0.5 ? 10 : u < 0.75 ? 20 : 30);
  }
  CHECK(ok_uni);
  CHECK(ok_tri);
  CHECK(ok_expo);
  CHECK(ok_emp);
  CHECK(ok_disc);
}

TEST_CASE("Truncated normal keeps full precision deep in either tail", "[distribution]") {
  // Windows of probability ~1.3e-12 reach AS241's outermost region (p < exp(-25)).
  const auto lower = Distribution::normal(0, 1, -INF, -7);
  const auto upper = Distribution::normal(0, 1, 7, INF);
  REQUIRE(lower.is_valid());
  REQUIRE(upper.is_valid());
  const double mass = 0.5 * std::erfc(7 / std::sqrt(2.0));
  RandomStream us(12, 0, 0, Purpose::StageWork), ls(12, 0, 0, Purpose::StageWork), hs(12, 0, 0, Purpose::StageWork);
  double worst_lower = 0.0, worst_upper = 0.0;
  for (int i = 0; i < 20'000; ++i) {
    const double u = us.uniform();
    const double xl = lower.sample(ls), xh = upper.sample(hs);
    // Phi(x) = u * Phi(-7) for the lower window; Q(x) = (1-u) * Q(7) for the upper one.
    worst_lower = std::max(worst_lower, std::fabs(0.5 * std::erfc(-xl / std::sqrt(2.0)) / mass - u) / u);
    worst_upper = std::max(worst_upper, std::fabs(0.5 * std::erfc(xh / std::sqrt(2.0)) / mass - (1 - u)) / (1 - u));
  }
  INFO("worst relative errors " << worst_lower << ", " << worst_upper);  // ~3e-14 each
  CHECK(worst_lower < 1e-13);
  CHECK(worst_upper < 1e-13);
}

TEST_CASE("PERT follows its beta CDF", "[distribution]") {
  // pert(6, 12, 30) is 6 + 24 * Beta(2, 4); I_x(2, 4) = sum_{j=2}^{5} C(5, j) x^j (1-x)^(5-j).
  const auto d = Distribution::pert(6, 12, 30);
  const auto cdf = [](double x) {
    const double c[] = {1, 5, 10, 10, 5, 1};
    double acc = 0.0;
    for (int j = 2; j <= 5; ++j) acc += c[j] * std::pow(x, j) * std::pow(1 - x, 5 - j);
    return acc;
  };
  RandomStream s(13, 0, 0, Purpose::StageWork);
  constexpr int N = 2'000'000;
  const double grid[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
  int below[7] = {};
  for (int i = 0; i < N; ++i) {
    const double b = (d.sample(s) - 6) / 24;
    for (int k = 0; k < 7; ++k) below[k] += b <= grid[k];
  }
  for (int k = 0; k < 7; ++k) {
    const double p = cdf(grid[k]);
    INFO("x=" << grid[k] << " F=" << p << " empirical=" << below[k] / double(N));
    CHECK(std::fabs(below[k] / double(N) - p) < 5 * std::sqrt(p * (1 - p) / N));
  }
}
