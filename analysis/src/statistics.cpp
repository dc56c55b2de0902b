#include "lepsim/analysis/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "lepsim/outputs.hpp"
#include "lepsim/percentile.hpp"

namespace lepsim::analysis {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr double INF = std::numeric_limits<double>::infinity();

// Running moments and the type-7 percentile have one home, in the engine's public headers.
using Moments = RunningMoments;

Estimate t_interval(const Moments& m, double level) {
  Estimate e;
  e.level = level;
  e.n = m.n;
  if (m.n == 0) return e.value = e.lo = e.hi = NaN, e;
  e.value = m.mean;
  if (m.n == 1) return e.lo = -INF, e.hi = INF, e;
  const double half = t_quantile(0.5 + level / 2, static_cast<double>(m.n - 1)) *
                      std::sqrt(m.variance() / static_cast<double>(m.n));
  e.lo = m.mean - half;
  e.hi = m.mean + half;
  return e;
}

}  // namespace

double normal_quantile(double p) { return boost::math::quantile(boost::math::normal_distribution<double>(), p); }

double t_quantile(double p, double dof) {
  return boost::math::quantile(boost::math::students_t_distribution<double>(dof), p);
}

Estimate mean_interval(std::span<const double> x, double level) {
  Moments m;
  for (double v : x)
    if (!std::isnan(v)) m.add(v);
  return t_interval(m, level);
}

double percentile(std::span<const double> sorted, double p) {
  return sorted.empty() ? NaN : detail::percentile_sorted(sorted, p);
}

Estimate percentile_interval(std::span<const double> sorted, double p, double level) {
  Estimate e;
  e.level = level;
  e.n = static_cast<std::int64_t>(sorted.size());
  e.value = percentile(sorted, p);
  const auto n = static_cast<std::int64_t>(sorted.size());
  if (n == 0) return e.lo = e.hi = NaN, e;
  // Ranks (1-based) l and u with P(l <= K < u) >= level, K ~ Binomial(n, q) the number of
  // observations below the true percentile; widened symmetrically in probability from
  // the centre until the coverage is reached (or the sample's ends).
  const double q = p / 100.0;
  const boost::math::binomial_distribution<double> K(static_cast<double>(n), q);
  auto cdf = [&](std::int64_t k) {  // P(K <= k)
    if (k < 0) return 0.0;
    if (k >= n) return 1.0;
    return boost::math::cdf(K, static_cast<double>(k));
  };
  const double alpha = 1 - level;
  // l: the largest rank with P(K <= l - 1) <= alpha / 2; u: the smallest with P(K <= u - 1) >= 1 - alpha / 2.
  std::int64_t l = static_cast<std::int64_t>(std::floor(q * static_cast<double>(n)));
  while (l > 0 && cdf(l - 1) > alpha / 2) --l;
  std::int64_t u = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(n))) + 1;
  while (u <= n && cdf(u - 1) < 1 - alpha / 2) ++u;
  // Rank 0 or n + 1 means the interval is open on that side.
  e.lo = l >= 1 ? sorted[static_cast<std::size_t>(l - 1)] : -INF;
  e.hi = u <= n ? sorted[static_cast<std::size_t>(u - 1)] : INF;
  return e;
}

Estimate proportion_interval(std::int64_t k, std::int64_t n, double level) {
  Estimate e;
  e.level = level;
  e.n = n;
  if (n <= 0) return e.value = e.lo = e.hi = NaN, e;
  const double z = normal_quantile(0.5 + level / 2), nn = static_cast<double>(n);
  const double ph = static_cast<double>(k) / nn;
  const double denom = 1 + z * z / nn;
  const double centre = (ph + z * z / (2 * nn)) / denom;
  const double half = z * std::sqrt(ph * (1 - ph) / nn + z * z / (4 * nn * nn)) / denom;
  e.value = ph;
  e.lo = k == 0 ? 0.0 : std::max(0.0, centre - half);  // (exact at the ends, not rounding residue)
  e.hi = k == n ? 1.0 : std::min(1.0, centre + half);
  return e;
}

Estimate difference_paired(std::span<const double> a, std::span<const double> b, double level) {
  Moments m;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isnan(a[i]) && !std::isnan(b[i])) m.add(b[i] - a[i]);
  return t_interval(m, level);
}

Estimate difference_independent(std::span<const double> a, std::span<const double> b, double level) {
  Moments ma, mb;
  for (double v : a)
    if (!std::isnan(v)) ma.add(v);
  for (double v : b)
    if (!std::isnan(v)) mb.add(v);
  Estimate e;
  e.level = level;
  e.n = ma.n + mb.n;
  if (ma.n < 2 || mb.n < 2) {
    e.value = ma.n && mb.n ? mb.mean - ma.mean : NaN;
    e.lo = ma.n && mb.n ? -INF : NaN;
    e.hi = ma.n && mb.n ? INF : NaN;
    return e;
  }
  const double va = ma.variance() / static_cast<double>(ma.n), vb = mb.variance() / static_cast<double>(mb.n);
  e.value = mb.mean - ma.mean;
  const double se = std::sqrt(va + vb);
  if (!std::isfinite(se)) return e.lo = e.hi = NaN, e;  // (infinite values: no interval)
  if (se == 0) return e.lo = e.hi = e.value, e;
  // Welch-Satterthwaite degrees of freedom.
  const double dof = (va + vb) * (va + vb) /
                     (va * va / static_cast<double>(ma.n - 1) + vb * vb / static_cast<double>(mb.n - 1));
  const double half = t_quantile(0.5 + level / 2, dof) * se;
  e.lo = e.value - half;
  e.hi = e.value + half;
  return e;
}

namespace {

//! Linearised variance of sum(num) / sum(den) over the pairs: z = (num - R den) / mean(den).
struct RatioParts {
  Moments num, den, z;
  double ratio = NaN;
};

RatioParts ratio_parts(std::span<const double> num, std::span<const double> den) {
  RatioParts p;
  const std::size_t n = std::min(num.size(), den.size());
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(num[i]) && std::isfinite(den[i])) p.num.add(num[i]), p.den.add(den[i]);
  if (p.den.n == 0 || p.den.mean == 0) return p;
  p.ratio = p.num.mean / p.den.mean;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(num[i]) && std::isfinite(den[i])) p.z.add((num[i] - p.ratio * den[i]) / p.den.mean);
  return p;
}

}  // namespace

Estimate ratio_interval(std::span<const double> num, std::span<const double> den, double level) {
  const RatioParts p = ratio_parts(num, den);
  Estimate e;
  e.level = level;
  e.n = p.den.n;
  e.value = p.ratio;
  if (std::isnan(p.ratio)) return e.lo = e.hi = NaN, e;
  if (p.den.n < 2) return e.lo = -INF, e.hi = INF, e;
  // A denominator not distinguishable from 0 leaves the ratio unbounded (Fieller's case).
  const double z = normal_quantile(0.5 + level / 2);
  const double den_se = std::sqrt(p.den.variance() / static_cast<double>(p.den.n));
  if (std::abs(p.den.mean) <= z * den_se) return e.lo = -INF, e.hi = INF, e;
  const double half = t_quantile(0.5 + level / 2, static_cast<double>(p.den.n - 1)) *
                      std::sqrt(p.z.variance() / static_cast<double>(p.z.n));
  e.lo = p.ratio - half;
  e.hi = p.ratio + half;
  return e;
}

Estimate ratio_of_differences_independent(std::span<const double> num_a, std::span<const double> den_a,
                                          std::span<const double> num_b, std::span<const double> den_b, double level) {
  RatioParts a = ratio_parts(num_a, den_a), b = ratio_parts(num_b, den_b);
  Estimate e;
  e.level = level;
  e.n = a.den.n + b.den.n;
  const double dn = b.num.mean - a.num.mean, dd = b.den.mean - a.den.mean;
  if (a.den.n == 0 || b.den.n == 0 || dd == 0) return e.value = e.lo = e.hi = NaN, e;
  e.value = dn / dd;
  if (a.den.n < 2 || b.den.n < 2) return e.lo = -INF, e.hi = INF, e;
  const double z = normal_quantile(0.5 + level / 2);
  const double dd_se = std::sqrt(a.den.variance() / static_cast<double>(a.den.n) + b.den.variance() / static_cast<double>(b.den.n));
  if (std::abs(dd) <= z * dd_se) return e.lo = -INF, e.hi = INF, e;
  // Var of (num_b - R den_b) mean minus (num_a - R den_a) mean, each run's own covariance kept.
  Moments za, zb;
  for (std::size_t i = 0; i < std::min(num_a.size(), den_a.size()); ++i)
    if (std::isfinite(num_a[i]) && std::isfinite(den_a[i])) za.add(num_a[i] - e.value * den_a[i]);
  for (std::size_t i = 0; i < std::min(num_b.size(), den_b.size()); ++i)
    if (std::isfinite(num_b[i]) && std::isfinite(den_b[i])) zb.add(num_b[i] - e.value * den_b[i]);
  const double se = std::sqrt(za.variance() / static_cast<double>(za.n) + zb.variance() / static_cast<double>(zb.n)) / std::abs(dd);
  e.lo = e.value - z * se;
  e.hi = e.value + z * se;
  return e;
}

}  // namespace lepsim::analysis
