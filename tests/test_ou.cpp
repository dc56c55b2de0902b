// Partnering health's Ornstein-Uhlenbeck process (docs/model.md, section 12): the transition
// the mechanism applies each step is exact over any interval, so the law of health at a month
// does not depend on the step length. Checked against the closed-form mean and variance on
// three grids (one jump, monthly, quarter-monthly); the Euler step it replaced fails the check.

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "../engine/src/mechanisms/ou.hpp"

using lepsim::detail::OuTransition;

namespace {

struct Moments {
  double mean, var;
};

//! Mean and variance of x(horizon) over n paths from x0, on steps of h (an exact divisor).
template <class Step>
Moments simulate(Step step, double x0, double horizon, double h, int n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int steps = static_cast<int>(std::lround(horizon / h));
  double s = 0, ss = 0;
  for (int i = 0; i < n; ++i) {
    double x = x0;
    for (int k = 0; k < steps; ++k) x = step(x, normal(g));
    s += x;
    ss += x * x;
  }
  const double mean = s / n;
  return {mean, (ss - n * mean * mean) / (n - 1)};
}

}  // namespace

TEST_CASE("partnering health: the OU transition is exact on any grid", "[mechanisms][partnering][ou]") {
  const double kappa = 0.15, sigma = 0.12, mu = 1.1, x0 = -0.4, horizon = 24;
  const int n = 40000;
  const double theory_mean = mu + (x0 - mu) * std::exp(-kappa * horizon);
  const double theory_var = sigma * sigma * (1 - std::exp(-2 * kappa * horizon)) / (2 * kappa);
  const double se_mean = std::sqrt(theory_var / n), se_var = theory_var * std::sqrt(2.0 / (n - 1));
  for (double h : {24.0, 1.0, 0.25}) {
    const OuTransition t(kappa, sigma, h);
    const Moments m = simulate([&](double x, double e) { return t(x, mu, e); }, x0, horizon, h, n, 99);
    INFO("step " << h << ": mean " << m.mean << " (theory " << theory_mean << "), variance " << m.var << " (theory "
                 << theory_var << ")");
    CHECK(std::abs(m.mean - theory_mean) < 4 * se_mean);
    CHECK(std::abs(m.var - theory_var) < 4 * se_var);
  }
  // The Euler step x + kappa (mu - x) h + sigma sqrt(h) eps, at a monthly step with fast
  // reversion: its variance tends to sigma^2 h / (1 - (1 - kappa h)^2), not sigma^2 / (2 kappa).
  const double fast = 0.9;
  const double fast_var = sigma * sigma * (1 - std::exp(-2 * fast * horizon)) / (2 * fast);
  const Moments euler =
      simulate([&](double x, double e) { return x + fast * (mu - x) * 1.0 + sigma * e; }, x0, horizon, 1.0, n, 99);
  CHECK(std::abs(euler.var - fast_var) > 4 * fast_var * std::sqrt(2.0 / (n - 1)));
  const OuTransition exact(fast, sigma, 1.0);
  const Moments good = simulate([&](double x, double e) { return exact(x, mu, e); }, x0, horizon, 1.0, n, 99);
  CHECK(std::abs(good.var - fast_var) < 4 * fast_var * std::sqrt(2.0 / (n - 1)));
  // No reversion: Brownian motion, variance sigma^2 t.
  const OuTransition still(0.0, sigma, 2.0);
  CHECK(still.decay() == 1.0);
  CHECK(still.sd() == Approx(sigma * std::sqrt(2.0)));
}
