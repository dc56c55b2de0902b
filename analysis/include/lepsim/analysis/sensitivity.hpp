#pragma once
// Sensitivity of a stochastic model's output to its inputs (docs/analysis.md,
// "Sensitivity analysis"): Sobol' indices from a Saltelli pick-freeze design, Morris
// elementary effects, one-at-a-time swings; every figure with its interval.
//
// Outputs come as `rows x replications`, row-major (row p, replication r at p * R + r), rows
// in the design's order (lepsim/design.hpp). Replication r of every row uses the r-th
// replication of the row's stream (PointInfo::stream), so rows that share a stream share the
// model's randomness replication by replication.

#include <cstdint>
#include <span>
#include <vector>

#include "lepsim/analysis/statistics.hpp"
#include "lepsim/design.hpp"

namespace lepsim::analysis {

//! Seeded percentile bootstrap. Resamples are drawn from Philox streams keyed by `seed`
//! (purpose word 0xFFFE, docs/random-streams.md), so intervals are reproducible bit for bit.
struct BootstrapOptions {
  int resamples = 1000;  //!< B; below 1000 only for tests that repeat the whole estimate many times
  double level = 0.95;
  std::uint64_t seed = 1;
};

enum class SobolTarget : std::uint8_t {
  //! Every (row, replication) is one evaluation of Y = f(X, omega): the model's randomness is
  //! a factor of its own, and the variance of Y splits into the inputs' shares and the aleatory one.
  Outputs,
  //! The replication mean of each row, Ybar(X) = mean_r f(X, omega_r): indices of the averaged
  //! output; `aleatory` is then the share of Var(Ybar) that is residual noise.
  ReplicationMean,
};

struct SobolOptions {
  BootstrapOptions bootstrap;
  SobolTarget target = SobolTarget::Outputs;
};

struct SobolIndices {
  //! First-order (Saltelli 2010) and total (Jansen 1999) indices, one per column of the
  //! layout: the factors, then the noise when the layout has noise rows. With BA rows each is
  //! the mean of the A-based and the B-based estimate. Intervals: bootstrap over base rows.
  std::vector<Estimate> first;
  std::vector<Estimate> total;
  //! Outputs: E[Var(Y | X)] / Var(Y), the model's randomness's total share, from the spread
  //! between replications of each row. ReplicationMean: E[Var(Y | X)] / R / Var(Ybar).
  //! NaN with one replication.
  Estimate aleatory;
  double mean = 0;      //!< of the target over the A and B rows
  double variance = 0;  //!< Var of the target over the A and B rows (the indices' denominator)
  std::size_t base_rows = 0;
  std::size_t replications = 0;
  //! Convergence check: the point estimates from the first N/2 base rows, and the largest
  //! |index(N) - index(N/2)| over every first and total index.
  std::vector<double> first_half;
  std::vector<double> total_half;
  double max_change = 0;
};

//! Sobol' indices from the outputs of a Saltelli design (`layout.rows()` rows, each with
//! `replications` values). Every value must be finite (UsageError otherwise).
SobolIndices sobol_indices(const design::SaltelliLayout& layout, std::span<const double> y, std::size_t replications,
                           const SobolOptions& options = {});

//! Morris statistics of one factor's elementary effects EE = dy / dx over the trajectories:
//! mean mu, mean of absolute values mu*, standard deviation sigma; bootstrap intervals over
//! trajectories.
struct MorrisEffects {
  Estimate mu;
  Estimate mu_star;
  Estimate sigma;
};

//! Elementary effects from a Morris design: `x` holds the points (points x factors, in unit
//! coordinates or in parameter values: effects are per unit of x), `trajectories` of
//! factors + 1 consecutive points each, each step moving exactly one factor, every factor once
//! per trajectory (UsageError otherwise). y is points x replications; the replications of a
//! point are averaged first (with common random numbers along a trajectory, the difference of
//! means is paired). One MorrisEffects per factor.
std::vector<MorrisEffects> morris_effects(std::span<const double> x, std::size_t factors, std::size_t trajectories,
                                          std::span<const double> y, std::size_t replications,
                                          const BootstrapOptions& options = {});

//! The same from a design::morris design (its unit coordinates: effects per unit of the cube).
std::vector<MorrisEffects> morris_effects(const design::Design& morris, std::span<const double> y, std::size_t replications,
                                          const BootstrapOptions& options = {});

//! One-at-a-time swings of one factor, each a paired difference over replications (common
//! random numbers: replication r of every point shares its streams): mean and t interval.
struct Swing {
  Estimate low;    //!< low - base
  Estimate high;   //!< high - base
  Estimate swing;  //!< high - low
};

//! Swings from a one-at-a-time design (rows: base, then low and high of each factor, as
//! design::one_at_a_time). One Swing per factor.
std::vector<Swing> oat_swings(std::size_t factors, std::span<const double> y, std::size_t replications, double level = 0.95);

}  // namespace lepsim::analysis
