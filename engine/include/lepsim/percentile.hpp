#pragma once
// Percentiles by linear interpolation between order statistics (Hyndman–Fan type 7,
// numpy's default): the one home of the rule, shared by the per-step health spread, the
// run file's summaries and analysis' estimates and programme-finish percentiles.
// Each caller computes the fractional rank h its own way ((n - 1)·q or (n - 1)·p / 100),
// so the bits of what it wrote before are kept.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace lepsim::detail {

//! The order statistics around fractional rank h ∈ [0, n − 1] of n values: lo = ⌊h⌋,
//! hi = min(lo + 1, n − 1); the percentile is x_(lo) + (h − lo)·(x_(hi) − x_(lo)).
struct Type7Rank {
  std::size_t lo, hi;
  double frac;  //!< h − lo
  double value(double x_lo, double x_hi) const { return x_lo + frac * (x_hi - x_lo); }
};

inline Type7Rank type7_rank(std::size_t n, double h) {
  const auto lo = static_cast<std::size_t>(std::floor(h));
  return {lo, std::min(lo + 1, n - 1), h - static_cast<double>(lo)};
}

//! The type-7 percentile at rank h of x (not empty) by selection, not a full sort: the two
//! order statistics are the values a sort would put there, so the same bits. Reorders x.
//! Elements before `from` must already be the smallest `from` values (an earlier call with
//! a smaller h); on return `from` is this call's lo, so increasing ranks share the work.
inline double percentile_selected(std::vector<double>& x, double h, std::size_t& from) {
  const Type7Rank r = type7_rank(x.size(), h);
  const auto nth = x.begin() + static_cast<std::ptrdiff_t>(r.lo);
  std::nth_element(x.begin() + static_cast<std::ptrdiff_t>(std::min(from, r.lo)), nth, x.end());
  if (r.hi != r.lo) std::iter_swap(nth + 1, std::min_element(nth + 1, x.end()));  // x[hi] in place too
  from = r.lo;
  return r.value(x[r.lo], x[r.hi]);
}

//! The type-7 percentile p (0-100) of sorted values (not empty). Equal neighbours give that
//! value, so +inf values (events after the horizon) give +inf, not NaN.
inline double percentile_sorted(std::span<const double> sorted, double p) {
  const Type7Rank r = type7_rank(sorted.size(), (static_cast<double>(sorted.size()) - 1) * p / 100.0);
  if (sorted[r.lo] == sorted[r.hi]) return sorted[r.lo];
  return r.value(sorted[r.lo], sorted[r.hi]);
}

}  // namespace lepsim::detail
