#pragma once
// The exact transition of an Ornstein-Uhlenbeck process dx = kappa (mu - x) dt + sigma dW over
// an interval of any length (docs/model.md, section 12): x(t + h) given x(t) is normal with
//   mean mu + (x - mu) e^(-kappa h),  variance sigma^2 (1 - e^(-2 kappa h)) / (2 kappa),
// so the process sampled on any grid has the law of the continuous one, with no step error.

#include <cmath>

namespace lepsim::detail {

class OuTransition {
 public:
  OuTransition() = default;
  //! kappa >= 0 per unit time, sigma >= 0 per square root of unit time, over interval h.
  OuTransition(double kappa, double sigma, double h) {
    if (kappa * h < 1e-12) {  // no reversion: Brownian motion, the limit of the formulas
      decay_ = 1.0;
      sd_ = sigma * std::sqrt(h);
    } else {
      decay_ = std::exp(-kappa * h);
      sd_ = sigma * std::sqrt(-std::expm1(-2.0 * kappa * h) / (2.0 * kappa));
    }
  }
  //! x after the interval, eps ~ N(0, 1).
  double operator()(double x, double mu, double eps) const { return mu + (x - mu) * decay_ + sd_ * eps; }
  double decay() const noexcept { return decay_; }
  double sd() const noexcept { return sd_; }

 private:
  double decay_ = 1.0, sd_ = 0.0;
};

}  // namespace lepsim::detail
