// Distribution::quantile: the sampler's own inverse CDF for every single-uniform kind,
// Boost's inverse incomplete beta for PERT; checked against closed forms and against
// sampled empirical quantiles.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>

#include "lepsim/distribution.hpp"
#include "lepsim/rng.hpp"

using lepsim::Distribution;
using lepsim::Purpose;
using lepsim::RandomStream;

namespace {

constexpr double INF = std::numeric_limits<double>::infinity();

std::vector<Distribution> every_kind() {
  return {Distribution::fixed(3),
          Distribution::uniform(2, 5),
          Distribution::triangular(0.7, 1, 1.3),
          Distribution::pert(6, 12, 30),
          Distribution::pert(0, 1, 4, 2.5),
          Distribution::normal(10, 2),
          Distribution::normal(10, 2, 9, 16),      // window in the lower form
          Distribution::normal(0, 1, 4, INF),      // upper tail
          Distribution::normal(0, 1, -INF, -3.5),  // lower tail
          Distribution::lognormal(8, 3),
          Distribution::exponential(5),
          Distribution::discrete({3, 1, 2}, {2, 1, 1}),
          Distribution::empirical({4, 0, 1, 3})};
}

}  // namespace

TEST_CASE("quantile: a single-uniform kind's sample is its quantile of the stream's uniform, bit for bit",
          "[distribution][quantile]") {
  for (const Distribution& d : every_kind()) {
    if (d.kind() == lepsim::DistKind::Pert) continue;       // sampled by gammas
    if (d.kind() == lepsim::DistKind::Lognormal) continue;  // the ziggurat's normal (layout 2)
    if (d.kind() == lepsim::DistKind::Normal && std::isinf(d.min_value()) && std::isinf(d.max_value())) continue;
    INFO(d.describe());
    RandomStream a(11, 0, 3, Purpose::StageWork), b(11, 0, 3, Purpose::StageWork);
    bool same = true;
    for (int i = 0; i < 2000; ++i) {
      const double x = d.sample(a);
      const double u = d.kind() == lepsim::DistKind::Fixed ? 0.5 : b.uniform();
      same = same && x == d.quantile(u);
    }
    CHECK(same);
  }
}

TEST_CASE("quantile: closed forms, ends and domain", "[distribution][quantile]") {
  CHECK(Distribution::uniform(2, 5).quantile(0.25) == 2.75);
  const Distribution tri = Distribution::triangular(0, 1, 2);
  CHECK(tri.quantile(0.5) == 1.0);
  CHECK(tri.quantile(0.1) == Approx(std::sqrt(0.2)).epsilon(1e-14));
  CHECK(tri.quantile(0.9) == Approx(2 - std::sqrt(0.2)).epsilon(1e-14));
  CHECK(Distribution::exponential(5).quantile(0.5) == Approx(5 * std::log(2.0)).epsilon(1e-14));
  CHECK(Distribution::normal(0, 1).quantile(0.975) == Approx(1.959963984540054).epsilon(1e-13));
  // Truncated normal: Phi^-1(Phi(a) + u (Phi(b) - Phi(a))) (Boost's normal as the reference).
  const boost::math::normal z;
  for (const auto& [mean, sd, lo, hi] :
       {std::tuple{10.0, 2.0, 9.0, 16.0}, std::tuple{0.0, 1.0, 4.0, 30.0}, std::tuple{0.0, 1.0, -30.0, -3.5}}) {
    const Distribution d = Distribution::normal(mean, sd, lo, hi);
    const double pa = boost::math::cdf(z, (lo - mean) / sd), pb = boost::math::cdf(z, (hi - mean) / sd);
    for (double u : {0.01, 0.3, 0.5, 0.8, 0.99}) {
      INFO(d.describe() << " u=" << u);
      // In the far tails Phi is tiny: compare in the complement where Boost keeps precision.
      const double ref = (lo - mean) / sd > 0
                             ? mean + sd * boost::math::quantile(boost::math::complement(
                                               z, boost::math::cdf(boost::math::complement(z, (lo - mean) / sd)) * (1 - u) +
                                                      boost::math::cdf(boost::math::complement(z, (hi - mean) / sd)) * u))
                             : mean + sd * boost::math::quantile(z, pa + u * (pb - pa));
      CHECK(d.quantile(u) == Approx(ref).epsilon(1e-10));
    }
  }
  const Distribution ln = Distribution::lognormal(8, 3);
  const double s2 = std::log1p(9.0 / 64.0);
  CHECK(ln.quantile(0.5) == Approx(std::exp(std::log(8.0) - 0.5 * s2)).epsilon(1e-14));
  // PERT: the regularised incomplete beta undoes it; symmetric PERT's median is the mode.
  const Distribution pe = Distribution::pert(6, 12, 30);  // alpha = 2, beta = 4
  for (double u : {0.05, 0.5, 0.95})
    CHECK(boost::math::ibeta(2.0, 4.0, (pe.quantile(u) - 6) / 24) == Approx(u).epsilon(1e-12));
  CHECK(Distribution::pert(0, 5, 10).quantile(0.5) == Approx(5).epsilon(1e-14));
  // Discrete: the first value whose cumulative weight exceeds u * total (values sorted).
  const Distribution di = Distribution::discrete({3, 1, 2}, {2, 1, 1});
  CHECK(di.quantile(0.0) == 1);
  CHECK(di.quantile(0.2) == 1);
  CHECK(di.quantile(0.3) == 2);
  CHECK(di.quantile(0.6) == 3);
  CHECK(di.quantile(1.0) == 3);
  // Empirical: numpy.quantile's linear method through the sorted sample (0, 1, 3, 4).
  const Distribution em = Distribution::empirical({4, 0, 1, 3});
  CHECK(em.quantile(0.5) == 2);
  CHECK(em.quantile(1.0 / 6) == Approx(0.5).epsilon(1e-14));
  // The ends are the support's; outside [0, 1] is refused.
  for (const Distribution& d : every_kind()) {
    INFO(d.describe());
    CHECK(d.quantile(0.0) == d.min_value());
    CHECK(d.quantile(1.0) == d.max_value());
    CHECK_THROWS_AS(d.quantile(-0.01), std::domain_error);
    CHECK_THROWS_AS(d.quantile(std::nan("")), std::domain_error);
    double last = -INF;
    bool monotone = true;
    for (int i = 0; i <= 1000; ++i) {
      const double x = d.quantile(i / 1000.0);
      monotone = monotone && x >= last;
      last = x;
    }
    CHECK(monotone);
  }
  CHECK_THROWS_AS(Distribution::uniform(2, 1).quantile(0.5), std::logic_error);
}

TEST_CASE("quantile: the quantile on a probability grid matches the sampled empirical quantiles",
          "[distribution][quantile]") {
  constexpr int N = 100'000;
  for (const Distribution& d : every_kind()) {
    if (d.kind() == lepsim::DistKind::Discrete) continue;  // a step function: checked exactly above
    INFO(d.describe());
    RandomStream s(5, 0, 9, Purpose::StageWork);
    std::vector<double> xs(N);
    for (double& x : xs) x = d.sample(s);
    std::sort(xs.begin(), xs.end());
    for (int k = 1; k < 20; ++k) {
      const double u = k / 20.0;
      const double sampled = xs[static_cast<std::size_t>(u * N)];
      INFO("u=" << u << " sampled " << sampled << " quantile " << d.quantile(u));
      // The sample quantile's sd is sqrt(u (1 - u) / N) / f(x), the density estimated from
      // the quantile itself: f ~ 2h / (Q(u + h) - Q(u - h)). Five sd's tolerance.
      const double h = 0.01, slope = (d.quantile(u + h) - d.quantile(u - h)) / (2 * h);
      CHECK(std::fabs(sampled - d.quantile(u)) <= 5 * std::sqrt(u * (1 - u) / N) * slope + 1e-12);
    }
  }
}
