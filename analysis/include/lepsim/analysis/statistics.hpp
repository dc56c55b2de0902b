#pragma once
// Statistics across replications, each with its confidence interval and the level
// stated (docs/analysis.md gives the methods and their coverage tests).

#include <cstdint>
#include <span>
#include <vector>

namespace lepsim::analysis {

//! An estimate and its two-sided confidence interval at `level` (e.g. 0.95).
//! Bounds may be +-infinity (a percentile beyond the horizon) or NaN (no data).
struct Estimate {
  double value = 0;
  double lo = 0;
  double hi = 0;
  double level = 0.95;
  std::int64_t n = 0;  //!< observations used
};

//! Quantile of the standard normal and of Student's t with `dof` degrees of freedom.
double normal_quantile(double p);
double t_quantile(double p, double dof);

//! Mean with the Student-t interval (exact for normal data, asymptotically for any
//! finite variance). NaN values are left out; n = 0 gives NaNs, n = 1 an infinite interval.
Estimate mean_interval(std::span<const double> x, double level);

//! Sample percentile p (0-100) by linear interpolation (Hyndman-Fan type 7, numpy's
//! default) with the distribution-free interval from order statistics: the ranks l < u
//! nearest the percentile with P(X(l) <= xi_p <= X(u)) >= level under Binomial(n, p/100).
//! +infinity is allowed (a replication that never reached the event: censored above).
//! `sorted` must be sorted ascending, without NaN.
Estimate percentile_interval(std::span<const double> sorted, double p, double level);

//! Type-7 percentile alone, on sorted data.
double percentile(std::span<const double> sorted, double p);

//! Proportion k/n with the Wilson score interval (close to nominal coverage even for
//! small n or p near 0 or 1, unlike the Wald interval).
Estimate proportion_interval(std::int64_t k, std::int64_t n, double level);

//! Difference of means b - a. Paired (common random numbers: a[i] and b[i] from the
//! same replication): the t interval of the per-replication differences. Independent:
//! Welch's interval. NaN pairs are left out.
Estimate difference_paired(std::span<const double> a, std::span<const double> b, double level);
Estimate difference_independent(std::span<const double> a, std::span<const double> b, double level);

//! Ratio of means sum(num) / sum(den) over the pairs (both finite) with the delta-method
//! (linearised) t interval. Unbounded (-inf, +inf) when the denominator's mean is not
//! distinguishable from 0 at `level` (the ratio could then take any value); NaN when it is 0.
//! Cost per school: num = cost, den = schools. Extra cost per extra school (paired runs):
//! num = cost_B - cost_A, den = schools_B - schools_A, replication by replication.
Estimate ratio_interval(std::span<const double> num, std::span<const double> den, double level);

//! (mean num_b - mean num_a) / (mean den_b - mean den_a) for independent runs, delta-method
//! normal interval; unbounded or NaN as ratio_interval.
Estimate ratio_of_differences_independent(std::span<const double> num_a, std::span<const double> den_a,
                                          std::span<const double> num_b, std::span<const double> den_b, double level);

}  // namespace lepsim::analysis
