#pragma once

// Probability distributions for every uncertain model input.
//
// Distributions are small value types built by named factories. Factories never
// throw, so a scenario loader can build everything first and then report all
// problems at once via validate(). Sampling methods, parameterisations and the
// number of uniforms consumed are documented in docs/random-streams.md.

#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lepsim {

class RandomStream;

enum class DistKind { Fixed, Uniform, Triangular, Pert, Normal, Lognormal, Exponential, Discrete, Empirical };

// One violated rule, e.g. {"mode", "must be <= max (12)"}. Elements of vector
// parameters are named with an index, e.g. "weights[2]".
struct ParamError {
  std::string param;
  std::string rule;
  friend bool operator==(const ParamError&, const ParamError&) = default;
};

class Distribution {
 public:
  static constexpr double INF = std::numeric_limits<double>::infinity();
  static constexpr double DEFAULT_PERT_LAMBDA = 4.0;
  // A truncated normal whose window holds less mass than this is rejected:
  // below it the window cannot be sampled accurately in double precision.
  static constexpr double MIN_TRUNCATION_PROBABILITY = 1e-12;

  // fixed(0); exists so that Distribution can be a plain struct member.
  Distribution() = default;

  // Factories never throw; call validate() to get violations.
  static Distribution fixed(double value);
  static Distribution uniform(double min, double max);                  // min <= max
  static Distribution triangular(double min, double mode, double max);  // min <= mode <= max, min < max
  // beta-PERT; min <= mode <= max, min < max, lambda > 0
  static Distribution pert(double min, double mode, double max, double lambda = DEFAULT_PERT_LAMBDA);
  // sd > 0; lower < upper; truncated when a bound is finite; the window must have
  // probability >= MIN_TRUNCATION_PROBABILITY
  static Distribution normal(double mean, double sd, double lower = -INF, double upper = INF);
  // mean and sd OF THE VARIABLE (not of its log); mean > 0, sd > 0
  static Distribution lognormal(double mean, double sd);
  static Distribution exponential(double mean);  // mean > 0
  // same length >= 1, weights >= 0, sum > 0
  static Distribution discrete(std::vector<double> values, std::vector<double> weights);
  // >= 2 observations; continuous: piecewise-linear inverse ECDF through the
  // sorted sample (numpy.quantile method 'linear')
  static Distribution empirical(std::vector<double> observations);

  // Every parameter must also be finite (NaN/inf are errors, except that
  // normal's lower/upper may be -inf/+inf). Empty means valid.
  std::vector<ParamError> validate() const;
  bool is_valid() const noexcept { return valid_; }

  // Draws one value (random stream layout 2, docs/random-streams.md). Every kind but
  // PERT, the untruncated normal and the lognormal takes one uniform and is its inverse
  // CDF, monotone non-decreasing in it; the untruncated normal and the lognormal are
  // mean + sd z and exp(mu + sigma z) with z from the ziggurat (about 1.01 values a draw,
  // the same z whatever the parameters); PERT is a ratio of gammas. Either way common
  // random numbers stay positively correlated. Throws std::logic_error if !is_valid().
  double sample(RandomStream& s) const;

  // The quantile (inverse CDF) at probability u in [0, 1]: for every single-uniform
  // kind exactly the value sample() returns when its stream yields u (the same code);
  // the untruncated normal and the lognormal: mean + sd * AS241(u) and exp(mu + sigma *
  // AS241(u)), the same law as their ziggurat draws but not the same value for a stream;
  // PERT: min + (max - min) * I^-1(alpha, beta; u) (Boost's ibeta_inv). u = 0 and 1
  // give min_value() and max_value() (may be -inf/+inf). Discrete and empirical follow
  // the sampler: the first value whose cumulative weight exceeds u * total, and the
  // piecewise-linear inverse ECDF. Throws std::logic_error if !is_valid(),
  // std::domain_error if u is outside [0, 1] or NaN (docs/random-streams.md).
  double quantile(double u) const;

  // Analytic moments (truncated normal included). Throw std::logic_error if !is_valid().
  double mean() const;
  double variance() const;

  // Support bounds (may be +-inf). Discrete: smallest/largest value with positive weight.
  double min_value() const;
  double max_value() const;

  DistKind kind() const noexcept { return kind_; }

  // Human-readable, e.g. "pert(min=6, mode=12, max=30)". Numbers use the
  // shortest round-trip form; pert omits lambda when it is 4, normal omits
  // infinite bounds; lists longer than 16 entries are abbreviated (serialisers
  // should use the accessors below instead).
  std::string describe() const;

  // Names: fixed uniform triangular pert normal lognormal exponential discrete empirical
  static std::string_view kind_name(DistKind kind);
  static std::optional<DistKind> kind_from_name(std::string_view name);

  // --- Accessors for serialisers ---
  // Scalar parameters in factory-argument order (see param_names):
  //   fixed: value | uniform: min max | triangular: min mode max |
  //   pert: min mode max lambda | normal: mean sd lower upper |
  //   lognormal: mean sd | exponential: mean | discrete, empirical: none
  std::span<const double> params() const noexcept;
  static std::span<const std::string_view> param_names(DistKind kind) noexcept;
  // Scalar parameter by name, nullopt if this kind has no such parameter.
  std::optional<double> param(std::string_view name) const noexcept;
  // Discrete values / weights exactly as given (empty for other kinds).
  const std::vector<double>& values() const noexcept { return values_; }
  const std::vector<double>& weights() const noexcept { return weights_; }
  // Empirical observations exactly as given, unsorted (empty for other kinds).
  const std::vector<double>& observations() const noexcept { return observations_; }

  friend bool operator==(const Distribution&, const Distribution&) = default;

 private:
  // How a normal is inverted: plain, or restricted to [Phi(lo), Phi(hi)]
  // (Lower) or [Q(hi), Q(lo)] with Q = 1 - Phi (Upper, accurate in the upper tail).
  enum class NormalForm : unsigned char { Plain, Lower, Upper };

  static std::size_t param_count_(DistKind kind) noexcept;
  double inverse_(double u) const;  // inverse CDF of the single-uniform kinds (not PERT)
  void finish_();  // sets valid_ and the derived fields
  [[noreturn]] void throw_invalid_(const char* what) const;

  DistKind kind_ = DistKind::Fixed;
  std::array<double, 4> p_{};    // scalar params, factory order
  std::array<double, 6> aux_{};  // derived per kind; see finish_()
  NormalForm normal_form_ = NormalForm::Plain;
  bool valid_ = true;
  std::vector<double> values_;        // discrete values (as given)
  std::vector<double> weights_;       // discrete weights (as given)
  std::vector<double> observations_;  // empirical observations (as given)
  std::vector<double> table_x_;       // discrete: values sorted; empirical: sorted observations
  std::vector<double> table_c_;       // discrete: cumulative weights in table_x_ order
};

}  // namespace lepsim
