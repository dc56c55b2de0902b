#include "lepsim/analysis/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"

namespace lepsim::analysis {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

//! Purpose word of bootstrap streams (docs/random-streams.md): outside the model's enum.
constexpr Purpose BOOTSTRAP_PURPOSE = static_cast<Purpose>(0xFFFE);
enum class BootstrapStream : std::uint16_t { Sobol = 1, Morris = 2 };

void require(bool ok, const std::string& what) {
  if (!ok) throw UsageError("sensitivity: " + what);
}

void check_finite(std::span<const double> y, std::size_t replications) {
  for (std::size_t i = 0; i < y.size(); ++i)
    require(std::isfinite(y[i]), "the output of row " + std::to_string(i / replications) + ", replication " +
                                     std::to_string(i % replications) + " is not finite");
}

void check_bootstrap(const BootstrapOptions& o) {
  require(o.resamples >= 1, "the bootstrap needs at least one resample");
  require(o.level > 0 && o.level < 1, "the interval level must lie in (0, 1)");
}

// Percentile interval of `draws` (sorted in place) around the full-sample estimate.
Estimate percentile_estimate(double value, std::vector<double>& draws, double level, std::size_t n) {
  Estimate e;
  e.value = value;
  e.level = level;
  e.n = static_cast<std::int64_t>(n);
  std::erase_if(draws, [](double v) { return std::isnan(v); });
  if (draws.empty() || std::isnan(value)) return e.lo = e.hi = NaN, e;
  std::sort(draws.begin(), draws.end());
  e.lo = percentile(draws, 50 * (1 - level));
  e.hi = percentile(draws, 50 * (1 + level));
  return e;
}

// Per-base-row sums from which every Sobol' estimate is a ratio of totals, so that a
// bootstrap resample only adds up rows.
struct SobolSums {
  std::size_t columns = 0;
  double centre = 0;  // subtracted from every value
  // Per base row: [0] sum (y - c), [1] sum (y - c)^2 over A and B, [2] sum of within-row
  // variances, then per column i: [3 + 2i] first-order terms, [4 + 2i] total terms.
  std::vector<double> rows;
  std::size_t width() const { return 3 + 2 * columns; }
};

struct SobolCounts {
  double values = 0;        // A and B values per base row
  double pairs = 0;         // pick-freeze pairs per base row and column
  double within_rows = 0;   // rows per base row with a within-row variance
  double within_scale = 1;  // 1, or 1 / R for the replication mean
};

struct PointIndices {
  std::vector<double> first, total;
  double aleatory = NaN, mean = NaN, variance = NaN;
};

PointIndices indices_from(const SobolSums& s, const SobolCounts& c, std::span<const double> totals, std::size_t n) {
  PointIndices p;
  const double nn = static_cast<double>(n);
  const double values = c.values * nn;
  const double m = totals[0] / values;
  p.mean = s.centre + m;
  p.variance = (totals[1] - totals[0] * m) / (values - 1);
  for (std::size_t i = 0; i < s.columns; ++i) {
    p.first.push_back(totals[3 + 2 * i] / (c.pairs * nn) / p.variance);
    p.total.push_back(totals[4 + 2 * i] / (2 * c.pairs * nn) / p.variance);
  }
  if (c.within_rows > 0) p.aleatory = totals[2] / (c.within_rows * nn) * c.within_scale / p.variance;
  return p;
}

std::vector<double> totals_of(const SobolSums& s, std::size_t count) {
  std::vector<double> t(s.width(), 0.0);
  for (std::size_t j = 0; j < count; ++j)
    for (std::size_t w = 0; w < s.width(); ++w) t[w] += s.rows[j * s.width() + w];
  return t;
}

// The per-base-row sums of the first `n` base rows, centred at the mean of their A and B
// values: the Saltelli 2010 first-order term f(B)(f(AB_i) - f(A)) has a variance growing with
// the mean squared otherwise, and subtracting a constant leaves its expectation unchanged.
SobolSums sums_of(const design::SaltelliLayout& layout, std::span<const double> target, std::size_t reps,
                  std::span<const double> within, std::size_t n) {
  const std::size_t k = layout.columns();
  auto at = [&](std::size_t row, std::size_t r) { return target[row * reps + r]; };
  SobolSums sums;
  sums.columns = k;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t r = 0; r < reps; ++r) sums.centre += at(layout.a(j), r) + at(layout.b(j), r);
  sums.centre /= static_cast<double>(2 * n * reps);
  const double c = sums.centre;
  sums.rows.assign(n * sums.width(), 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    double* s = &sums.rows[j * sums.width()];
    for (std::size_t r = 0; r < reps; ++r) {
      const double ya = at(layout.a(j), r) - c, yb = at(layout.b(j), r) - c;
      s[0] += ya + yb;
      s[1] += ya * ya + yb * yb;
      for (std::size_t i = 0; i < k; ++i) {
        const double yab = at(layout.ab(j, i), r) - c;
        s[3 + 2 * i] += yb * (yab - ya);          // Saltelli 2010
        s[4 + 2 * i] += (ya - yab) * (ya - yab);  // Jansen 1999
        if (layout.ba) {
          const double yba = at(layout.ba_row(j, i), r) - c;
          s[3 + 2 * i] += ya * (yba - yb);
          s[4 + 2 * i] += (yb - yba) * (yb - yba);
        }
      }
    }
    if (!within.empty())
      for (std::size_t p = layout.a(j); p < layout.a(j) + layout.rows_per_base(); ++p) s[2] += within[p];
  }
  return sums;
}

SobolCounts counts_of(const design::SaltelliLayout& layout, std::size_t reps, std::size_t replications, SobolTarget target) {
  SobolCounts counts;
  counts.values = static_cast<double>(2 * reps);
  counts.pairs = static_cast<double>(reps * (layout.ba ? 2 : 1));
  counts.within_rows = replications >= 2 ? static_cast<double>(layout.rows_per_base()) : 0;
  counts.within_scale = target == SobolTarget::ReplicationMean ? 1.0 / static_cast<double>(replications) : 1.0;
  return counts;
}

}  // namespace

SobolIndices sobol_indices(const design::SaltelliLayout& layout, std::span<const double> y, std::size_t replications,
                           const SobolOptions& options) {
  const std::size_t n = layout.base_rows, k = layout.columns(), rows = layout.rows();
  require(n >= 2 && layout.factors >= 1, "a Saltelli design needs N >= 2 base rows and k >= 1 factors");
  require(replications >= 1, "at least one replication per row");
  require(y.size() == rows * replications, "expected " + std::to_string(rows) + " rows x " + std::to_string(replications) +
                                               " replications of output, got " + std::to_string(y.size()) + " values");
  check_finite(y, replications);
  check_bootstrap(options.bootstrap);

  // Within-row variances (from the raw replications, whatever the target).
  std::vector<double> within;
  if (replications >= 2) {
    within.assign(rows, NaN);
    for (std::size_t p = 0; p < rows; ++p) {
      const double* v = &y[p * replications];
      double mean = 0;
      for (std::size_t r = 0; r < replications; ++r) mean += v[r];
      mean /= static_cast<double>(replications);
      double ss = 0;
      for (std::size_t r = 0; r < replications; ++r) ss += (v[r] - mean) * (v[r] - mean);
      within[p] = ss / static_cast<double>(replications - 1);
    }
  }

  // The target: the values themselves, or each row's replication mean.
  std::vector<double> target;
  std::size_t reps = replications;
  if (options.target == SobolTarget::ReplicationMean) {
    target.resize(rows);
    for (std::size_t p = 0; p < rows; ++p) {
      double s = 0;
      for (std::size_t r = 0; r < replications; ++r) s += y[p * replications + r];
      target[p] = s / static_cast<double>(replications);
    }
    reps = 1;
  } else {
    target.assign(y.begin(), y.end());
  }

  const SobolCounts counts = counts_of(layout, reps, replications, options.target);
  const SobolSums sums = sums_of(layout, target, reps, within, n);
  const SobolSums half_sums = sums_of(layout, target, reps, within, n / 2);
  const PointIndices full = indices_from(sums, counts, totals_of(sums, n), n);
  const PointIndices half = indices_from(half_sums, counts, totals_of(half_sums, n / 2), n / 2);

  // Bootstrap: resample base rows with replacement, each carrying its pick-freeze rows and
  // replications (they are not independent of one another).
  const BootstrapOptions& bo = options.bootstrap;
  const auto b_count = static_cast<std::size_t>(bo.resamples);
  std::vector<std::vector<double>> first_draws(k), total_draws(k);
  std::vector<double> aleatory_draws;
  std::vector<double> totals(sums.width());
  for (std::size_t b = 0; b < b_count; ++b) {
    RandomStream r(bo.seed, static_cast<std::uint32_t>(b), 0, BOOTSTRAP_PURPOSE,
                   static_cast<std::uint16_t>(BootstrapStream::Sobol));
    std::fill(totals.begin(), totals.end(), 0.0);
    for (std::size_t d = 0; d < n; ++d) {
      const std::size_t j = static_cast<std::size_t>(r.next_u64() % n);
      const double* s = &sums.rows[j * sums.width()];
      for (std::size_t w = 0; w < sums.width(); ++w) totals[w] += s[w];
    }
    const PointIndices p = indices_from(sums, counts, totals, n);
    for (std::size_t i = 0; i < k; ++i) {
      first_draws[i].push_back(p.first[i]);
      total_draws[i].push_back(p.total[i]);
    }
    aleatory_draws.push_back(p.aleatory);
  }

  SobolIndices out;
  out.base_rows = n;
  out.replications = replications;
  out.mean = full.mean;
  out.variance = full.variance;
  out.first_half = half.first;
  out.total_half = half.total;
  for (std::size_t i = 0; i < k; ++i) {
    out.first.push_back(percentile_estimate(full.first[i], first_draws[i], bo.level, n));
    out.total.push_back(percentile_estimate(full.total[i], total_draws[i], bo.level, n));
    out.max_change =
        std::max({out.max_change, std::abs(full.first[i] - half.first[i]), std::abs(full.total[i] - half.total[i])});
  }
  out.aleatory = percentile_estimate(full.aleatory, aleatory_draws, bo.level, n);
  return out;
}

namespace {

struct MorrisPoint {
  double mu = 0, mu_star = 0, sigma = NaN;
};

MorrisPoint morris_stats(std::span<const double> ee, std::span<const std::size_t> pick) {
  MorrisPoint m;
  const double r = static_cast<double>(pick.size());
  for (std::size_t t : pick) m.mu += ee[t], m.mu_star += std::abs(ee[t]);
  m.mu /= r;
  m.mu_star /= r;
  if (pick.size() >= 2) {
    double ss = 0;
    for (std::size_t t : pick) ss += (ee[t] - m.mu) * (ee[t] - m.mu);
    m.sigma = std::sqrt(ss / (r - 1));
  }
  return m;
}

}  // namespace

std::vector<MorrisEffects> morris_effects(std::span<const double> x, std::size_t factors, std::size_t trajectories,
                                          std::span<const double> y, std::size_t replications,
                                          const BootstrapOptions& options) {
  const std::size_t k = factors, points = trajectories * (factors + 1);
  require(k >= 1 && trajectories >= 1, "Morris needs k >= 1 factors and r >= 1 trajectories");
  require(replications >= 1, "at least one replication per point");
  require(x.size() == points * k, "expected " + std::to_string(points) + " points x " + std::to_string(k) +
                                      " factors of design, got " + std::to_string(x.size()) + " values");
  require(y.size() == points * replications, "expected " + std::to_string(points) + " points x " +
                                                 std::to_string(replications) + " replications of output, got " +
                                                 std::to_string(y.size()) + " values");
  check_finite(y, replications);
  check_bootstrap(options);

  std::vector<double> mean(points, 0.0);
  for (std::size_t p = 0; p < points; ++p) {
    for (std::size_t r = 0; r < replications; ++r) mean[p] += y[p * replications + r];
    mean[p] /= static_cast<double>(replications);
  }
  // ee[f * trajectories + t]: the elementary effect of factor f in trajectory t.
  std::vector<double> ee(k * trajectories, NaN);
  for (std::size_t t = 0; t < trajectories; ++t) {
    const std::size_t first = t * (k + 1);
    std::vector<bool> moved(k, false);
    for (std::size_t m = 1; m <= k; ++m) {
      const std::size_t p = first + m;
      std::size_t changed = k, count = 0;
      for (std::size_t f = 0; f < k; ++f)
        if (x[p * k + f] != x[(p - 1) * k + f]) changed = f, ++count;
      require(count == 1, "Morris point " + std::to_string(p) + " changes " + std::to_string(count) +
                              " factors from the previous point (one expected)");
      require(!moved[changed], "trajectory " + std::to_string(t) + " moves factor " + std::to_string(changed) + " twice");
      moved[changed] = true;
      const double dx = x[p * k + changed] - x[(p - 1) * k + changed];
      ee[changed * trajectories + t] = (mean[p] - mean[p - 1]) / dx;
    }
  }

  std::vector<std::size_t> all(trajectories);
  for (std::size_t t = 0; t < trajectories; ++t) all[t] = t;
  std::vector<MorrisPoint> full(k);
  for (std::size_t f = 0; f < k; ++f) full[f] = morris_stats({&ee[f * trajectories], trajectories}, all);

  const auto b_count = static_cast<std::size_t>(options.resamples);
  std::vector<std::vector<double>> mu(k), mu_star(k), sigma(k);
  std::vector<std::size_t> pick(trajectories);
  for (std::size_t b = 0; b < b_count; ++b) {
    RandomStream r(options.seed, static_cast<std::uint32_t>(b), 0, BOOTSTRAP_PURPOSE,
                   static_cast<std::uint16_t>(BootstrapStream::Morris));
    for (auto& t : pick) t = static_cast<std::size_t>(r.next_u64() % trajectories);
    for (std::size_t f = 0; f < k; ++f) {  // the same trajectories for every factor
      const MorrisPoint m = morris_stats({&ee[f * trajectories], trajectories}, pick);
      mu[f].push_back(m.mu);
      mu_star[f].push_back(m.mu_star);
      sigma[f].push_back(m.sigma);
    }
  }
  std::vector<MorrisEffects> out(k);
  for (std::size_t f = 0; f < k; ++f) {
    out[f].mu = percentile_estimate(full[f].mu, mu[f], options.level, trajectories);
    out[f].mu_star = percentile_estimate(full[f].mu_star, mu_star[f], options.level, trajectories);
    out[f].sigma = percentile_estimate(full[f].sigma, sigma[f], options.level, trajectories);
  }
  return out;
}

std::vector<MorrisEffects> morris_effects(const design::Design& morris, std::span<const double> y, std::size_t replications,
                                          const BootstrapOptions& options) {
  require(morris.kind == design::Kind::Morris, "not a Morris design");
  return morris_effects(morris.unit, morris.factors, morris.points() / (morris.factors + 1), y, replications, options);
}

std::vector<Swing> oat_swings(std::size_t factors, std::span<const double> y, std::size_t replications, double level) {
  require(factors >= 1 && replications >= 1, "one-at-a-time needs k >= 1 factors and R >= 1 replications");
  require(y.size() == (1 + 2 * factors) * replications, "expected " + std::to_string(1 + 2 * factors) + " points x " +
                                                            std::to_string(replications) + " replications of output, got " +
                                                            std::to_string(y.size()) + " values");
  require(level > 0 && level < 1, "the interval level must lie in (0, 1)");
  auto point = [&](std::size_t p) { return y.subspan(p * replications, replications); };
  std::vector<Swing> out(factors);
  for (std::size_t f = 0; f < factors; ++f) {
    const auto base = point(0), low = point(1 + 2 * f), high = point(2 + 2 * f);
    out[f].low = difference_paired(base, low, level);
    out[f].high = difference_paired(base, high, level);
    out[f].swing = difference_paired(low, high, level);
  }
  return out;
}

}  // namespace lepsim::analysis
