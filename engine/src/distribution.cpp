#include "lepsim/distribution.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <utility>

#include <boost/math/special_functions/beta.hpp>

#include "lepsim/rng.hpp"

namespace lepsim {

namespace {

constexpr double SQRT1_2 = 0.70710678118654752440;    // 1/sqrt(2)
constexpr double INV_SQRT_2PI = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double SQRT_PI_2 = 1.25331413731550025121;     // sqrt(pi / 2)
constexpr std::size_t DESCRIBE_LIST_MAX = 16;

// Inverse standard normal CDF, Wichura (1988) Algorithm AS 241 (PPND16),
// relative accuracy about 1e-16. Returns -inf/+inf for p <= 0 / p >= 1.
double ppnd16(double p) {
  constexpr double SPLIT1 = 0.425, SPLIT2 = 5.0, CONST1 = 0.180625, CONST2 = 1.6;
  // Coefficients for p close to 0.5.
  constexpr double A0 = 3.3871328727963666080e0, A1 = 1.3314166789178437745e+2,
                   A2 = 1.9715909503065514427e+3, A3 = 1.3731693765509461125e+4,
                   A4 = 4.5921953931549871457e+4, A5 = 6.7265770927008700853e+4,
                   A6 = 3.3430575583588128105e+4, A7 = 2.5090809287301226727e+3;
  constexpr double B1 = 4.2313330701600911252e+1, B2 = 6.8718700749205790830e+2,
                   B3 = 5.3941960214247511077e+3, B4 = 2.1213794301586595867e+4,
                   B5 = 3.9307895800092710610e+4, B6 = 2.8729085735721942674e+4,
                   B7 = 5.2264952788528545610e+3;
  // Coefficients for p not close to 0, 0.5 or 1.
  constexpr double C0 = 1.42343711074968357734e0, C1 = 4.63033784615654529590e0,
                   C2 = 5.76949722146069140550e0, C3 = 3.64784832476320460504e0,
                   C4 = 1.27045825245236838258e0, C5 = 2.41780725177450611770e-1,
                   C6 = 2.27238449892691845833e-2, C7 = 7.74545014278341407640e-4;
  constexpr double D1 = 2.05319162663775882187e0, D2 = 1.67638483018380384940e0,
                   D3 = 6.89767334985100004550e-1, D4 = 1.48103976427480074590e-1,
                   D5 = 1.51986665636164571966e-2, D6 = 5.47593808499534494600e-4,
                   D7 = 1.05075007164441684324e-9;
  // Coefficients for p near 0 or 1.
  constexpr double E0 = 6.65790464350110377720e0, E1 = 5.46378491116411436990e0,
                   E2 = 1.78482653991729133580e0, E3 = 2.96560571828504891230e-1,
                   E4 = 2.65321895265761230930e-2, E5 = 1.24266094738807843860e-3,
                   E6 = 2.71155556874348757815e-5, E7 = 2.01033439929228813265e-7;
  constexpr double F1 = 5.99832206555887937690e-1, F2 = 1.36929880922735805310e-1,
                   F3 = 1.48753612908506148525e-2, F4 = 7.86869131145613259100e-4,
                   F5 = 1.84631831751005468180e-5, F6 = 1.42151175831644588870e-7,
                   F7 = 2.04426310338993978564e-15;

  const double q = p - 0.5;
  if (std::fabs(q) <= SPLIT1) {
    const double r = CONST1 - q * q;
    return q * (((((((A7 * r + A6) * r + A5) * r + A4) * r + A3) * r + A2) * r + A1) * r + A0) /
           (((((((B7 * r + B6) * r + B5) * r + B4) * r + B3) * r + B2) * r + B1) * r + 1.0);
  }
  double r = q < 0.0 ? p : 1.0 - p;
  if (!(r > 0.0)) return q < 0.0 ? -Distribution::INF : Distribution::INF;
  r = std::sqrt(-std::log(r));
  double z;
  if (r <= SPLIT2) {
    r -= CONST2;
    z = (((((((C7 * r + C6) * r + C5) * r + C4) * r + C3) * r + C2) * r + C1) * r + C0) /
        (((((((D7 * r + D6) * r + D5) * r + D4) * r + D3) * r + D2) * r + D1) * r + 1.0);
  } else {
    r -= SPLIT2;
    z = (((((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2) * r + E1) * r + E0) /
        (((((((F7 * r + F6) * r + F5) * r + F4) * r + F3) * r + F2) * r + F1) * r + 1.0);
  }
  return q < 0.0 ? -z : z;
}

// Phi(x) and Q(x) = 1 - Phi(x), each accurate in its own small tail.
double norm_cdf(double x) { return 0.5 * std::erfc(-x * SQRT1_2); }
double norm_sf(double x) { return 0.5 * std::erfc(x * SQRT1_2); }
double norm_pdf(double x) { return std::isinf(x) ? 0.0 : INV_SQRT_2PI * std::exp(-0.5 * x * x); }
// x * phi(x), taken as 0 at +-inf.
double x_norm_pdf(double x) { return std::isinf(x) ? 0.0 : x * norm_pdf(x); }

// Probabilities that define a (possibly truncated) standard-normal window [a, b].
struct NormalWindow {
  int form;      // 0 plain, 1 lower (Phi), 2 upper (Q)
  double lo_p;   // form 1: Phi(a); form 2: Q(a)
  double hi_p;   // form 1: Phi(b); form 2: Q(b)
  double mass;   // P(a <= Z <= b), computed without cancellation where possible
};

NormalWindow normal_window(double a, double b) {
  if (std::isinf(a) && std::isinf(b)) return {0, 0.0, 1.0, 1.0};
  // Work in whichever tail the window sits in, so small probabilities keep
  // full relative precision (Phi(5) - Phi(6) would cancel; Q(5) - Q(6) does not).
  if (a + b > 0.0 || std::isinf(b)) {
    const double qa = norm_sf(a), qb = norm_sf(b);
    return {2, qa, qb, qa - qb};
  }
  const double pa = norm_cdf(a), pb = norm_cdf(b);
  return {1, pa, pb, pb - pa};
}

// Standard normal by the ziggurat of Marsaglia & Tsang (2000) with 256 layers, with
// Doornik's (2005) correction: the layer, the sign and the abscissa come from disjoint bits
// of one 64-bit value (bits 0-7, bit 8 and bits 12-63). Exact: every layer has the same
// area V, a point uniform in the chosen layer is accepted when it lies under the density,
// and the base layer's part beyond R is Marsaglia's (1964) exact tail method.
struct Ziggurat {
  static constexpr int LAYERS = 256;
  static constexpr double R = 3.6541528853610088;  // right edge of the base rectangle (M&T 2000)
  double x[LAYERS + 1];                            // x[0] = V / f(R), x[1] = R > x[2] > ... > x[LAYERS] = 0
  double f[LAYERS + 1];                            // f[i] = exp(-x[i]^2 / 2), f[LAYERS] = 1

  Ziggurat() {
    const double fr = std::exp(-0.5 * R * R);
    // V, the area of every layer: the base rectangle R f(R) plus the tail's integral.
    const double v = R * fr + SQRT_PI_2 * std::erfc(R * SQRT1_2);
    x[0] = v / fr;
    f[0] = 0.0;  // unused: the base layer's excess beyond R is sampled from the tail
    x[1] = R;
    f[1] = fr;
    for (int i = 1; i < LAYERS - 1; ++i) {
      x[i + 1] = std::sqrt(-2.0 * std::log(v / x[i] + f[i]));
      f[i + 1] = std::exp(-0.5 * x[i + 1] * x[i + 1]);
    }
    x[LAYERS] = 0.0;
    f[LAYERS] = 1.0;
  }
};

// The 52-bit open-interval uniform of docs/random-streams.md from a 64-bit value's top bits.
double uniform_from_bits(std::uint64_t bits) { return (static_cast<double>(bits >> 12) + 0.5) * 0x1p-52; }

double ziggurat_normal(RandomStream& s) {
  static const Ziggurat z;  // built on first use: no static-initialisation order to rely on
  for (;;) {
    const std::uint64_t bits = s.next_u64();
    const auto i = static_cast<unsigned>(bits & 0xFFu);
    // The sign without a branch (a coin flip would be mispredicted half the time): bit 8
    // moved to the sign bit of the positive magnitude.
    const std::uint64_t sign = (bits & 0x100u) << 55;
    const auto with_sign = [sign](double m) { return std::bit_cast<double>(std::bit_cast<std::uint64_t>(m) | sign); };
    const double x = uniform_from_bits(bits) * z.x[i];
    if (x < z.x[i + 1]) return with_sign(x);  // inside the layer's rectangle: under the density
    if (i == 0) {
      // The base layer beyond R: the tail, by Marsaglia's method (two uniforms a try).
      for (;;) {
        const double t = -std::log(s.uniform()) / Ziggurat::R;
        const double e = -std::log(s.uniform());
        if (2.0 * e >= t * t) return with_sign(Ziggurat::R + t);
      }
    }
    // The wedge between the rectangle and the density: a uniform height in the layer.
    const double y = z.f[i] + s.uniform() * (z.f[i + 1] - z.f[i]);
    if (y < std::exp(-0.5 * x * x)) return with_sign(x);
  }
}

// Marsaglia & Tsang (2000) gamma(shape, 1) for shape >= 1, with d = shape - 1/3
// and c = 1/sqrt(9 d) precomputed. The normal deviate is the ziggurat's.
double gamma_mt(double d, double c, RandomStream& s) {
  for (;;) {
    double z, v;
    do {
      z = ziggurat_normal(s);
      v = 1.0 + c * z;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = s.uniform();
    const double z2 = z * z;
    if (u < 1.0 - 0.0331 * z2 * z2) return d * v;  // cheap squeeze
    if (std::log(u) < 0.5 * z2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

// gamma(shape, 1) for any shape > 0. For shape < 1 the boost/Marsaglia-Tsang
// trick gamma(a) = gamma(a + 1) * u^(1/a) is used (one extra uniform).
double gamma_any(double shape, double d, double c, RandomStream& s) {
  if (shape >= 1.0) return gamma_mt(d, c, s);
  const double g = gamma_mt(d, c, s);  // d, c were set up for shape + 1
  return g * std::exp(std::log(s.uniform()) / shape);
}

void gamma_setup(double shape, double& d, double& c) {
  d = (shape >= 1.0 ? shape : shape + 1.0) - 1.0 / 3.0;
  c = 1.0 / std::sqrt(9.0 * d);
}

std::string fmt(double x) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

std::string fmt_list(const std::vector<double>& xs) {
  std::string out = "[";
  const std::size_t shown = std::min(xs.size(), DESCRIBE_LIST_MAX);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += fmt(xs[i]);
  }
  if (xs.size() > shown) out += ", ... (" + std::to_string(xs.size()) + " in all)";
  return out + "]";
}

void check_finite_each(std::vector<ParamError>& errs, std::string_view name, const std::vector<double>& xs) {
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!std::isfinite(xs[i])) {
      errs.push_back({std::string(name) + "[" + std::to_string(i) + "]", "must be finite, got " + fmt(xs[i])});
    }
  }
}

// Rules shared by triangular and PERT.
void check_min_mode_max(std::vector<ParamError>& errs, double lo, double mode, double hi) {
  if (!(lo < hi)) errs.push_back({"max", "must be > min (" + fmt(lo) + ")"});
  if (!(mode >= lo)) errs.push_back({"mode", "must be >= min (" + fmt(lo) + ")"});
  if (!(mode <= hi)) errs.push_back({"mode", "must be <= max (" + fmt(hi) + ")"});
  if (lo < hi && !std::isfinite(hi - lo)) errs.push_back({"max", "max - min must be finite (overflows)"});
}

constexpr std::string_view KIND_NAMES[] = {"fixed",     "uniform",     "triangular", "pert",     "normal",
                                           "lognormal", "exponential", "discrete",   "empirical"};

constexpr std::string_view NAMES_FIXED[] = {"value"};
constexpr std::string_view NAMES_UNIFORM[] = {"min", "max"};
constexpr std::string_view NAMES_TRIANGULAR[] = {"min", "mode", "max"};
constexpr std::string_view NAMES_PERT[] = {"min", "mode", "max", "lambda"};
constexpr std::string_view NAMES_NORMAL[] = {"mean", "sd", "lower", "upper"};
constexpr std::string_view NAMES_LOGNORMAL[] = {"mean", "sd"};
constexpr std::string_view NAMES_EXPONENTIAL[] = {"mean"};

}  // namespace

// ---------------------------------------------------------------- factories

Distribution Distribution::fixed(double value) {
  Distribution d;
  d.kind_ = DistKind::Fixed;
  d.p_ = {value, 0, 0, 0};
  d.finish_();
  return d;
}

Distribution Distribution::uniform(double min, double max) {
  Distribution d;
  d.kind_ = DistKind::Uniform;
  d.p_ = {min, max, 0, 0};
  d.finish_();
  return d;
}

Distribution Distribution::triangular(double min, double mode, double max) {
  Distribution d;
  d.kind_ = DistKind::Triangular;
  d.p_ = {min, mode, max, 0};
  d.finish_();
  return d;
}

Distribution Distribution::pert(double min, double mode, double max, double lambda) {
  Distribution d;
  d.kind_ = DistKind::Pert;
  d.p_ = {min, mode, max, lambda};
  d.finish_();
  return d;
}

Distribution Distribution::normal(double mean, double sd, double lower, double upper) {
  Distribution d;
  d.kind_ = DistKind::Normal;
  d.p_ = {mean, sd, lower, upper};
  d.finish_();
  return d;
}

Distribution Distribution::lognormal(double mean, double sd) {
  Distribution d;
  d.kind_ = DistKind::Lognormal;
  d.p_ = {mean, sd, 0, 0};
  d.finish_();
  return d;
}

Distribution Distribution::exponential(double mean) {
  Distribution d;
  d.kind_ = DistKind::Exponential;
  d.p_ = {mean, 0, 0, 0};
  d.finish_();
  return d;
}

Distribution Distribution::discrete(std::vector<double> values, std::vector<double> weights) {
  Distribution d;
  d.kind_ = DistKind::Discrete;
  d.values_ = std::move(values);
  d.weights_ = std::move(weights);
  d.finish_();
  return d;
}

Distribution Distribution::empirical(std::vector<double> observations) {
  Distribution d;
  d.kind_ = DistKind::Empirical;
  d.observations_ = std::move(observations);
  d.finish_();
  return d;
}

// Derived fields (aux_) per kind, set only when valid:
//   Triangular: [0] F(mode) = (mode-min)/(max-min), [1] (max-min)(mode-min), [2] (max-min)(max-mode)
//   Pert:       [0] alpha, [1] beta, then gamma set-up d, c for alpha in [2]/[3]
//               and for beta in [4]/[5] (the same expressions, computed once, not per draw)
//   Normal:     [0] a = (lower-mean)/sd, [1] b = (upper-mean)/sd, [2]/[3] window
//               probabilities (see NormalWindow), normal_form_ chooses the form
//   Lognormal:  [0] mu, [1] sigma of the underlying normal
//   Discrete:   table_x_/table_c_ sorted values and cumulative weights,
//               [0] total weight, [1]/[2] smallest/largest value with positive weight
//   Empirical:  table_x_ sorted observations
void Distribution::finish_() {
  valid_ = validate().empty();
  if (!valid_) return;
  const double lo = p_[0], mid = p_[1], hi = p_[2];
  switch (kind_) {
    case DistKind::Fixed:
    case DistKind::Uniform:
    case DistKind::Exponential:
      break;
    case DistKind::Triangular:
      aux_ = {(mid - lo) / (hi - lo), (hi - lo) * (mid - lo), (hi - lo) * (hi - mid), 0};
      break;
    case DistKind::Pert: {
      const double lambda = p_[3];
      aux_[0] = 1.0 + lambda * (mid - lo) / (hi - lo);
      aux_[1] = 1.0 + lambda * (hi - mid) / (hi - lo);
      gamma_setup(aux_[0], aux_[2], aux_[3]);
      gamma_setup(aux_[1], aux_[4], aux_[5]);
      break;
    }
    case DistKind::Normal: {
      const double a = (p_[2] - p_[0]) / p_[1], b = (p_[3] - p_[0]) / p_[1];
      const NormalWindow w = normal_window(a, b);
      aux_ = {a, b, w.lo_p, w.hi_p};
      normal_form_ = w.form == 0 ? NormalForm::Plain : w.form == 1 ? NormalForm::Lower : NormalForm::Upper;
      break;
    }
    case DistKind::Lognormal: {
      const double s2 = std::log1p((p_[1] / p_[0]) * (p_[1] / p_[0]));
      aux_ = {std::log(p_[0]) - 0.5 * s2, std::sqrt(s2), 0, 0};
      break;
    }
    case DistKind::Discrete: {
      // Sort by value so that sampling is a true inverse CDF (monotone in u).
      std::vector<std::size_t> order(values_.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [this](std::size_t i, std::size_t j) { return values_[i] < values_[j]; });
      table_x_.clear();
      table_c_.clear();
      double cum = 0.0;
      bool seen = false;
      for (const std::size_t i : order) {
        cum += weights_[i];
        table_x_.push_back(values_[i]);
        table_c_.push_back(cum);
        if (weights_[i] > 0.0) {
          if (!seen) aux_[1] = values_[i];
          aux_[2] = values_[i];
          seen = true;
        }
      }
      aux_[0] = cum;
      break;
    }
    case DistKind::Empirical:
      table_x_ = observations_;
      std::sort(table_x_.begin(), table_x_.end());
      break;
  }
}

// ---------------------------------------------------------------- validation

std::vector<ParamError> Distribution::validate() const {
  std::vector<ParamError> errs;
  const auto names = param_names(kind_);
  const auto ps = params();
  // Finiteness first; relational rules on NaN/inf would only add noise.
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const bool is_bound = kind_ == DistKind::Normal && i >= 2;
    if (is_bound ? std::isnan(ps[i]) : !std::isfinite(ps[i])) {
      errs.push_back({std::string(names[i]), is_bound ? "must not be NaN" : "must be finite, got " + fmt(ps[i])});
    }
  }
  if (!errs.empty()) return errs;

  switch (kind_) {
    case DistKind::Fixed:
      break;
    case DistKind::Uniform:
      if (!(p_[0] <= p_[1])) errs.push_back({"min", "must be <= max (" + fmt(p_[1]) + ")"});
      else if (!std::isfinite(p_[1] - p_[0])) errs.push_back({"max", "max - min must be finite (overflows)"});
      break;
    case DistKind::Triangular:
      check_min_mode_max(errs, p_[0], p_[1], p_[2]);
      break;
    case DistKind::Pert:
      check_min_mode_max(errs, p_[0], p_[1], p_[2]);
      if (!(p_[3] > 0.0)) errs.push_back({"lambda", "must be > 0"});
      break;
    case DistKind::Normal: {
      if (!(p_[1] > 0.0)) errs.push_back({"sd", "must be > 0"});
      if (!(p_[2] < p_[3])) errs.push_back({"upper", "must be > lower (" + fmt(p_[2]) + ")"});
      if (!errs.empty()) break;
      const double a = (p_[2] - p_[0]) / p_[1], b = (p_[3] - p_[0]) / p_[1];
      const NormalWindow w = normal_window(a, b);
      if (!(w.mass >= MIN_TRUNCATION_PROBABILITY)) {
        // Blame the bound on the side of the tail the window sits in.
        errs.push_back({w.form == 2 ? "lower" : "upper",
                        "truncation window [lower, upper] has probability " + fmt(w.mass) + ", must be >= " +
                            fmt(MIN_TRUNCATION_PROBABILITY)});
      }
      break;
    }
    case DistKind::Lognormal:
      if (!(p_[0] > 0.0)) errs.push_back({"mean", "must be > 0"});
      if (!(p_[1] > 0.0)) errs.push_back({"sd", "must be > 0"});
      if (errs.empty() && !std::isfinite((p_[1] / p_[0]) * (p_[1] / p_[0]))) {
        errs.push_back({"sd", "sd/mean is too large (log-scale sigma overflows)"});
      }
      break;
    case DistKind::Exponential:
      if (!(p_[0] > 0.0)) errs.push_back({"mean", "must be > 0"});
      break;
    case DistKind::Discrete: {
      if (values_.empty()) errs.push_back({"values", "must have at least 1 entry"});
      if (weights_.size() != values_.size()) {
        errs.push_back({"weights", "must have the same length as values (" + std::to_string(values_.size()) +
                                       "), got " + std::to_string(weights_.size())});
      }
      check_finite_each(errs, "values", values_);
      check_finite_each(errs, "weights", weights_);
      for (std::size_t i = 0; i < weights_.size(); ++i) {
        if (weights_[i] < 0.0) errs.push_back({"weights[" + std::to_string(i) + "]", "must be >= 0"});
      }
      if (!errs.empty()) break;
      const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
      if (!(total > 0.0)) errs.push_back({"weights", "must have a positive sum"});
      else if (!std::isfinite(total)) errs.push_back({"weights", "sum must be finite (overflows)"});
      break;
    }
    case DistKind::Empirical: {
      if (observations_.size() < 2) {
        errs.push_back({"observations", "must have at least 2 entries, got " + std::to_string(observations_.size())});
      }
      check_finite_each(errs, "observations", observations_);
      if (!errs.empty()) break;
      const auto [lo, hi] = std::minmax_element(observations_.begin(), observations_.end());
      if (!std::isfinite(*hi - *lo)) errs.push_back({"observations", "max - min must be finite (overflows)"});
      break;
    }
  }
  return errs;
}

void Distribution::throw_invalid_(const char* what) const {
  std::string msg = std::string("Distribution::") + what + " on an invalid distribution " + describe() + ":";
  for (const ParamError& e : validate()) msg += " " + e.param + " " + e.rule + ";";
  throw std::logic_error(msg);
}

// ---------------------------------------------------------------- sampling

double Distribution::sample(RandomStream& s) const {
  if (!valid_) [[unlikely]]
    throw_invalid_("sample");
  switch (kind_) {
    case DistKind::Fixed:
      return p_[0];  // consumes nothing
    case DistKind::Pert: {
      const double alpha = aux_[0], beta = aux_[1];
      const double x = gamma_any(alpha, aux_[2], aux_[3], s);
      const double y = gamma_any(beta, aux_[4], aux_[5], s);
      // x + y > 0 with probability 1 for shapes >= 1 (always the case for PERT).
      return std::clamp(p_[0] + (p_[2] - p_[0]) * (x / (x + y)), p_[0], p_[2]);
    }
    case DistKind::Normal:
      // Untruncated: the ziggurat (random stream layout 2); a window: its inverse CDF.
      if (normal_form_ == NormalForm::Plain) return p_[0] + p_[1] * ziggurat_normal(s);
      return inverse_(s.uniform());
    case DistKind::Lognormal:
      return std::exp(aux_[0] + aux_[1] * ziggurat_normal(s));
    default:
      return inverse_(s.uniform());  // every other kind: one uniform, inverse CDF
  }
}

double Distribution::quantile(double u) const {
  if (!valid_) throw_invalid_("quantile");
  if (!(u >= 0.0 && u <= 1.0)) throw std::domain_error("Distribution::quantile: u must be in [0, 1], got " + fmt(u));
  if (kind_ == DistKind::Pert) {
    if (u == 0.0) return p_[0];
    if (u == 1.0) return p_[2];
    const double x = boost::math::ibeta_inv(aux_[0], aux_[1], u);
    return std::clamp(p_[0] + (p_[2] - p_[0]) * x, p_[0], p_[2]);
  }
  if (kind_ == DistKind::Empirical || kind_ == DistKind::Discrete || kind_ == DistKind::Fixed) return inverse_(u);
  if (u == 0.0) return min_value();
  if (u == 1.0) return max_value();
  return inverse_(u);
}

// The sampler's inverse CDF for u in [0, 1] (the stream gives [0, 1)).
double Distribution::inverse_(double u) const {
  switch (kind_) {
    case DistKind::Fixed:
      return p_[0];
    case DistKind::Uniform:
      return std::min(p_[0] + (p_[1] - p_[0]) * u, p_[1]);
    case DistKind::Triangular: {
      const double x = u < aux_[0] ? p_[0] + std::sqrt(u * aux_[1]) : p_[2] - std::sqrt((1.0 - u) * aux_[2]);
      return std::clamp(x, p_[0], p_[2]);
    }
    case DistKind::Pert:
      return quantile(u);  // not reached from sample(): PERT samples by gammas
    case DistKind::Normal: {
      switch (normal_form_) {
        case NormalForm::Plain:
          return p_[0] + p_[1] * ppnd16(u);
        case NormalForm::Lower: {
          const double z = ppnd16(aux_[2] + u * (aux_[3] - aux_[2]));
          return std::clamp(p_[0] + p_[1] * std::clamp(z, aux_[0], aux_[1]), p_[2], p_[3]);
        }
        case NormalForm::Upper: {
          // Q decreases in z, so use 1-u (exact) to keep x increasing in u; the sum
          // of two non-negative terms keeps q's relative precision near Q(b).
          const double z = -ppnd16(aux_[3] + (1.0 - u) * (aux_[2] - aux_[3]));
          return std::clamp(p_[0] + p_[1] * std::clamp(z, aux_[0], aux_[1]), p_[2], p_[3]);
        }
      }
      return 0.0;  // unreachable
    }
    case DistKind::Lognormal:
      return std::exp(aux_[0] + aux_[1] * ppnd16(u));
    case DistKind::Exponential:
      // -log(1-u) has the law of -log(u) (the uniform grid is symmetric) but is
      // increasing in u; 1-u is exact and > 0 for a stream's u, so the result is finite.
      return -p_[0] * std::log1p(-u);
    case DistKind::Discrete: {
      const double target = u * aux_[0];
      // First cumulative weight strictly above target: never a zero-weight entry.
      auto it = std::upper_bound(table_c_.begin(), table_c_.end(), target);
      if (it == table_c_.end()) {  // rounding put target at the total
        return aux_[2];
      }
      return table_x_[static_cast<std::size_t>(it - table_c_.begin())];
    }
    case DistKind::Empirical: {
      const std::size_t n = table_x_.size();
      const double h = static_cast<double>(n - 1) * u;
      std::size_t i = static_cast<std::size_t>(h);
      if (i > n - 2) i = n - 2;
      const double t = h - static_cast<double>(i);
      const double a = table_x_[i], b = table_x_[i + 1];
      // numpy's lerp: interpolate from the nearer end so the result stays in [a, b].
      const double x = t < 0.5 ? a + (b - a) * t : b - (b - a) * (1.0 - t);
      return std::clamp(x, a, b);
    }
  }
  return 0.0;  // unreachable
}

// ---------------------------------------------------------------- moments

double Distribution::mean() const {
  if (!valid_) throw_invalid_("mean");
  switch (kind_) {
    case DistKind::Fixed:
      return p_[0];
    case DistKind::Uniform:
      return 0.5 * (p_[0] + p_[1]);
    case DistKind::Triangular:
      return (p_[0] + p_[1] + p_[2]) / 3.0;
    case DistKind::Pert:
      return (p_[0] + p_[3] * p_[1] + p_[2]) / (p_[3] + 2.0);
    case DistKind::Normal: {
      if (normal_form_ == NormalForm::Plain) return p_[0];
      const double a = aux_[0], b = aux_[1];
      const double mass = normal_window(a, b).mass;
      return p_[0] + p_[1] * (norm_pdf(a) - norm_pdf(b)) / mass;
    }
    case DistKind::Lognormal:
    case DistKind::Exponential:
      return p_[0];
    case DistKind::Discrete: {
      double acc = 0.0;
      for (std::size_t i = 0; i < values_.size(); ++i) acc += weights_[i] * values_[i];
      return acc / aux_[0];
    }
    case DistKind::Empirical: {
      // Each of the n-1 segments carries probability 1/(n-1), uniform within it.
      double acc = 0.0;
      for (std::size_t i = 0; i + 1 < table_x_.size(); ++i) acc += 0.5 * (table_x_[i] + table_x_[i + 1]);
      return acc / static_cast<double>(table_x_.size() - 1);
    }
  }
  return 0.0;  // unreachable
}

double Distribution::variance() const {
  if (!valid_) throw_invalid_("variance");
  switch (kind_) {
    case DistKind::Fixed:
      return 0.0;
    case DistKind::Uniform: {
      const double r = p_[1] - p_[0];
      return r * r / 12.0;
    }
    case DistKind::Triangular: {
      const double a = p_[0], c = p_[1], b = p_[2];
      return (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0;
    }
    case DistKind::Pert: {
      const double m = mean();
      return (m - p_[0]) * (p_[2] - m) / (p_[3] + 3.0);
    }
    case DistKind::Normal: {
      const double sd2 = p_[1] * p_[1];
      if (normal_form_ == NormalForm::Plain) return sd2;
      const double a = aux_[0], b = aux_[1];
      const double mass = normal_window(a, b).mass;
      const double r = (norm_pdf(a) - norm_pdf(b)) / mass;
      return sd2 * (1.0 + (x_norm_pdf(a) - x_norm_pdf(b)) / mass - r * r);
    }
    case DistKind::Lognormal:
      return p_[1] * p_[1];
    case DistKind::Exponential:
      return p_[0] * p_[0];
    case DistKind::Discrete: {
      const double m = mean();
      double acc = 0.0;
      for (std::size_t i = 0; i < values_.size(); ++i) acc += weights_[i] * (values_[i] - m) * (values_[i] - m);
      return acc / aux_[0];
    }
    case DistKind::Empirical: {
      // Segment [a, b] uniform: E[(X-m)^2] = (a'^2 + a'b' + b'^2)/3 with a' = a-m, b' = b-m.
      const double m = mean();
      double acc = 0.0;
      for (std::size_t i = 0; i + 1 < table_x_.size(); ++i) {
        const double a = table_x_[i] - m, b = table_x_[i + 1] - m;
        acc += (a * a + a * b + b * b) / 3.0;
      }
      return acc / static_cast<double>(table_x_.size() - 1);
    }
  }
  return 0.0;  // unreachable
}

double Distribution::min_value() const {
  switch (kind_) {
    case DistKind::Fixed:
    case DistKind::Uniform:
    case DistKind::Triangular:
    case DistKind::Pert:
      return p_[0];
    case DistKind::Normal:
      return p_[2];
    case DistKind::Lognormal:
    case DistKind::Exponential:
      return 0.0;
    case DistKind::Discrete:
      return valid_ ? aux_[1] : std::numeric_limits<double>::quiet_NaN();
    case DistKind::Empirical:
      return valid_ ? table_x_.front() : std::numeric_limits<double>::quiet_NaN();
  }
  return 0.0;  // unreachable
}

double Distribution::max_value() const {
  switch (kind_) {
    case DistKind::Fixed:
      return p_[0];
    case DistKind::Uniform:
      return p_[1];
    case DistKind::Triangular:
    case DistKind::Pert:
      return p_[2];
    case DistKind::Normal:
      return p_[3];
    case DistKind::Lognormal:
    case DistKind::Exponential:
      return INF;
    case DistKind::Discrete:
      return valid_ ? aux_[2] : std::numeric_limits<double>::quiet_NaN();
    case DistKind::Empirical:
      return valid_ ? table_x_.back() : std::numeric_limits<double>::quiet_NaN();
  }
  return 0.0;  // unreachable
}

// ---------------------------------------------------------------- names, accessors

std::string Distribution::describe() const {
  std::string out(kind_name(kind_));
  out += "(";
  switch (kind_) {
    case DistKind::Discrete:
      out += "values=" + fmt_list(values_) + ", weights=" + fmt_list(weights_);
      break;
    case DistKind::Empirical:
      out += "observations=" + fmt_list(observations_);
      break;
    default: {
      const auto names = param_names(kind_);
      const auto ps = params();
      bool first = true;
      for (std::size_t i = 0; i < ps.size(); ++i) {
        // Omit defaults so the common forms read naturally.
        if (kind_ == DistKind::Pert && i == 3 && ps[i] == DEFAULT_PERT_LAMBDA) continue;
        if (kind_ == DistKind::Normal && i == 2 && ps[i] == -INF) continue;
        if (kind_ == DistKind::Normal && i == 3 && ps[i] == INF) continue;
        if (!first) out += ", ";
        out += std::string(names[i]) + "=" + fmt(ps[i]);
        first = false;
      }
      break;
    }
  }
  return out + ")";
}

std::string_view Distribution::kind_name(DistKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(KIND_NAMES) ? KIND_NAMES[i] : std::string_view("unknown");
}

std::optional<DistKind> Distribution::kind_from_name(std::string_view name) {
  for (std::size_t i = 0; i < std::size(KIND_NAMES); ++i) {
    if (KIND_NAMES[i] == name) return static_cast<DistKind>(i);
  }
  return std::nullopt;
}

std::size_t Distribution::param_count_(DistKind kind) noexcept { return param_names(kind).size(); }

std::span<const std::string_view> Distribution::param_names(DistKind kind) noexcept {
  switch (kind) {
    case DistKind::Fixed: return NAMES_FIXED;
    case DistKind::Uniform: return NAMES_UNIFORM;
    case DistKind::Triangular: return NAMES_TRIANGULAR;
    case DistKind::Pert: return NAMES_PERT;
    case DistKind::Normal: return NAMES_NORMAL;
    case DistKind::Lognormal: return NAMES_LOGNORMAL;
    case DistKind::Exponential: return NAMES_EXPONENTIAL;
    case DistKind::Discrete:
    case DistKind::Empirical: return {};
  }
  return {};
}

std::span<const double> Distribution::params() const noexcept {
  return std::span<const double>(p_.data(), param_count_(kind_));
}

std::optional<double> Distribution::param(std::string_view name) const noexcept {
  const auto names = param_names(kind_);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return p_[i];
  }
  return std::nullopt;
}

}  // namespace lepsim
