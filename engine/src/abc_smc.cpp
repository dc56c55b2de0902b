#include "lepsim/abc_smc.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "lepsim/copula.hpp"
#include "lepsim/rng.hpp"

namespace lepsim {

namespace {

constexpr double INF = std::numeric_limits<double>::infinity();
constexpr std::uint16_t PARTICLE_SUBSTREAM = 1;  // Purpose::Calibration substreams: docs/calibration.md
//! Proposals drawn per simulated attempt at most, before a particle gives up (a box the kernel
//! almost always leaves).
constexpr std::int64_t PROPOSALS_PER_ATTEMPT = 100;
constexpr std::uint64_t ABC_STAGE = 1;  // call_seed's stage word for ABC-SMC
constexpr const char* CHECKPOINT_MAGIC = "lepsim-abc-checkpoint";
constexpr int CHECKPOINT_VERSION = 1;

double log_prior_of(const AbcOptions& o, const std::vector<double>& x) { return o.log_prior ? o.log_prior(x) : 0.0; }

//! What a checkpoint must have been written by: everything the results depend on (not the
//! budget or the generation count, which may be raised to continue a finished run).
std::uint64_t fingerprint(const std::vector<Target>& targets, const Box& box, const AbcOptions& o) {
  return checkpoint_fingerprint(
      o.seed,
      {static_cast<double>(o.particles), static_cast<double>(o.replications), o.quantile, o.final_tolerance,
       o.min_acceptance, static_cast<double>(o.max_attempts), o.noisy ? 1.0 : 0.0},
      box, targets);
}

struct Kernel {
  Eigen::MatrixXd chol;  // lower factor of the perturbation covariance
};

Kernel make_kernel(const Generation& g, const Box& box) {
  const std::size_t d = box.dims(), n = g.particles.size();
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[static_cast<Eigen::Index>(j)] += g.weights[i] * g.particles[i][j];
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  for (std::size_t i = 0; i < n; ++i) {
    Eigen::VectorXd x(static_cast<Eigen::Index>(d));
    for (std::size_t j = 0; j < d; ++j) x[static_cast<Eigen::Index>(j)] = g.particles[i][j];
    x -= mean;
    cov += g.weights[i] * x * x.transpose();
  }
  cov *= 2.0;  // Beaumont et al. 2009: twice the weighted covariance
  for (int tries = 0;; ++tries) {
    Eigen::LLT<Eigen::MatrixXd> llt(cov);
    if (llt.info() == Eigen::Success) return {llt.matrixL()};
    // A degenerate population (all particles equal in some direction): a small ridge.
    for (std::size_t j = 0; j < d; ++j) {
      const double w = box.hi[j] - box.lo[j];
      cov(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j)) += 1e-8 * w * w * std::pow(10.0, tries);
    }
  }
}

//! log sum_j w_j N(x; theta_j, Sigma), up to the constant shared by every particle.
double log_mixture(const Generation& prev, const Kernel& k, const std::vector<double>& x) {
  const auto d = static_cast<Eigen::Index>(x.size());
  std::vector<double> terms(prev.particles.size());
  double top = -INF;
  for (std::size_t j = 0; j < prev.particles.size(); ++j) {
    Eigen::VectorXd diff(d);
    for (Eigen::Index i = 0; i < d; ++i)
      diff[i] = x[static_cast<std::size_t>(i)] - prev.particles[j][static_cast<std::size_t>(i)];
    const Eigen::VectorXd z = k.chol.triangularView<Eigen::Lower>().solve(diff);
    terms[j] = prev.weights[j] > 0 ? std::log(prev.weights[j]) - 0.5 * z.squaredNorm() : -INF;
    top = std::max(top, terms[j]);
  }
  if (top == -INF) return -INF;
  double s = 0;
  for (double t : terms) s += std::exp(t - top);
  return top + std::log(s);
}

std::vector<double> summaries_of(const MetricMatrix& m) {
  std::vector<double> s(m.metrics, 0.0);
  for (std::size_t k = 0; k < m.metrics; ++k) {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t r = 0; r < m.replications; ++r)
      if (!std::isnan(m.at(r, k))) sum += m.at(r, k), ++n;
    s[k] = n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  }
  return s;
}

void normalise(std::vector<double>& log_w, std::vector<double>& w) {
  const double top = *std::max_element(log_w.begin(), log_w.end());
  w.resize(log_w.size());
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) s += (w[i] = std::exp(log_w[i] - top));
  for (double& x : w) x /= s;
}

}  // namespace

double Generation::ess() const {
  double s = 0;
  for (double w : weights) s += w * w;
  return s > 0 ? 1 / s : 0;
}

double abc_distance(const std::vector<Target>& targets, const std::vector<double>& s) {
  double sum = 0;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    if (std::isnan(s[k])) return INF;
    double v = targets[k].var_obs + targets[k].var_disc;
    if (!(v > 0)) v = 1;
    const double g = s[k] - targets[k].observed;
    sum += g * g / v;
  }
  return std::sqrt(sum);
}

std::string abc_checkpoint_text(const AbcResult& r, const std::vector<Target>& targets, const Box& box,
                                const AbcOptions& o) {
  std::ostringstream os;
  os << CHECKPOINT_MAGIC << " " << CHECKPOINT_VERSION << "\n";
  os << "config " << std::hex << fingerprint(targets, box, o) << std::dec << "\n";
  os << "dims " << box.dims() << "\n";
  for (const Generation& g : r.generations) {
    os << "generation " << g.index << " " << exact_text(g.tolerance) << " " << g.attempts << " " << g.simulations << " "
       << g.particles.size() << "\n";
    for (std::size_t i = 0; i < g.particles.size(); ++i) {
      os << "p";
      for (double x : g.particles[i]) os << " " << exact_text(x);
      os << " " << exact_text(g.weights[i]) << " " << exact_text(g.distances[i]) << "\n";
    }
  }
  os << "end\n";
  return os.str();
}

AbcResult read_abc_checkpoint(const std::string& text, const std::string& path, const std::vector<Target>& targets,
                              const Box& box, const AbcOptions& o) {
  const auto bad = [&](const std::string& why) -> RunFileError {
    return RunFileError(path + ": not a usable ABC checkpoint: " + why);
  };
  std::istringstream is(text);
  std::string word;
  int version = 0;
  if (!(is >> word >> version) || word != CHECKPOINT_MAGIC) throw bad("wrong file type");
  if (version != CHECKPOINT_VERSION) throw bad("version " + std::to_string(version) + " (this build reads 1)");
  std::string fp;
  if (!(is >> word >> fp) || word != "config") throw bad("no config line");
  std::ostringstream want;
  want << std::hex << fingerprint(targets, box, o);
  if (fp != want.str())
    throw bad(
        "written by a different calibration (seed, particles, box, targets or options differ); "
        "remove it to start again");
  std::size_t dims = 0;
  if (!(is >> word >> dims) || word != "dims" || dims != box.dims()) throw bad("wrong dimension count");
  AbcResult r;
  r.resumed = true;
  const auto number = [&](const std::string& s) {
    if (auto x = read_exact(s)) return *x;
    throw bad("not a number: " + s);
  };
  while (is >> word) {
    if (word == "end") {
      if (r.generations.empty()) throw bad("no generation");
      for (const Generation& g : r.generations) r.simulations += g.simulations;
      return r;
    }
    if (word != "generation") throw bad("unexpected " + word);
    Generation g;
    std::string tol;
    std::size_t n = 0;
    if (!(is >> g.index >> tol >> g.attempts >> g.simulations >> n) || g.index != static_cast<int>(r.generations.size()) ||
        n != static_cast<std::size_t>(o.particles))
      throw bad("bad generation header");
    g.tolerance = number(tol);
    for (std::size_t i = 0; i < n; ++i) {
      if (!(is >> word) || word != "p") throw bad("truncated generation " + std::to_string(g.index));
      std::vector<double> x(dims);
      std::string v;
      for (std::size_t j = 0; j < dims; ++j) {
        if (!(is >> v)) throw bad("truncated particle");
        x[j] = number(v);
      }
      std::string w, d;
      if (!(is >> w >> d)) throw bad("truncated particle");
      g.particles.push_back(std::move(x));
      g.weights.push_back(number(w));
      g.distances.push_back(number(d));
    }
    r.generations.push_back(std::move(g));
  }
  throw bad("truncated (no end line)");
}

AbcResult abc_smc(const SimulatorFn& f, const std::vector<Target>& targets, const Box& box, const AbcOptions& o) {
  if (targets.empty()) throw std::invalid_argument("abc_smc: no targets");
  if (box.dims() == 0 || box.lo.size() != box.hi.size()) throw std::invalid_argument("abc_smc: empty box");
  for (std::size_t j = 0; j < box.dims(); ++j)
    if (!(box.lo[j] <= box.hi[j]))
      throw std::invalid_argument("abc_smc: box dimension " + std::to_string(j) + " has lo > hi");
  if (o.particles < 2 || o.replications < 1 || !(o.quantile > 0 && o.quantile < 1) || o.threads < 1 ||
      o.max_generations < 1 || !(o.min_acceptance > 0 && o.min_acceptance <= 1))
    throw std::invalid_argument("abc_smc: options out of range");
  const int max_attempts = o.max_attempts > 0 ? o.max_attempts : static_cast<int>(std::ceil(10 / o.min_acceptance));
  const auto n = static_cast<std::size_t>(o.particles), d = box.dims();

  AbcResult r;
  if (auto text = read_checkpoint(o.checkpoint_path)) r = read_abc_checkpoint(*text, o.checkpoint_path, targets, box, o);
  if (o.on_generation && !r.generations.empty()) o.on_generation(r.generations, r.simulations);

  // One particle of generation t: accepted (params, distance), or none after max_attempts.
  struct Draw {
    std::vector<double> x;
    double distance = INF, log_weight = -INF;
    std::int64_t attempts = 0, simulations = 0;
    bool accepted = false;
  };

  for (;;) {
    const int t = static_cast<int>(r.generations.size());
    if (t > 0) {
      const Generation& last = r.generations.back();
      if (last.tolerance <= o.final_tolerance) return r.stop_reason = "tolerance", r;
      if (t >= o.max_generations) return r.stop_reason = "max_generations", r;
      if (t > 1 && static_cast<double>(n) / static_cast<double>(last.attempts) < o.min_acceptance)
        return r.stop_reason = "acceptance", r;
    }
    if (r.simulations + static_cast<std::int64_t>(n) * o.replications > o.budget) return r.stop_reason = "budget", r;

    // The tolerance: a quantile of the last distances, strictly below the last tolerance
    // (with discrete summaries the quantile may repeat it: then the next distance value down).
    double eps = INF;
    Kernel kernel;
    if (t > 0) {
      const Generation& last = r.generations.back();
      eps = std::max(o.final_tolerance, weighted_quantile(last.distances, last.weights, o.quantile));
      if (eps >= last.tolerance) {
        double below = -INF;
        for (double x : last.distances)
          if (x < last.tolerance) below = std::max(below, x);
        if (below == -INF) return r.stop_reason = "tolerance", r;
        eps = std::max(o.final_tolerance, below);
      }
      kernel = make_kernel(last, box);
    }
    std::vector<double> cum;
    if (t > 0) {
      const Generation& last = r.generations.back();
      cum.resize(n);
      std::partial_sum(last.weights.begin(), last.weights.end(), cum.begin());
    }

    std::vector<Draw> draws(n);
    {
      parallel_indices(o.threads, n, [&](std::size_t i) {
        RandomStream s(o.seed, static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(i), Purpose::Calibration,
                       PARTICLE_SUBSTREAM);
        Draw& dr = draws[i];
        std::vector<double> x(d);
        // `a` counts simulated attempts: a proposal outside the box or the prior's support costs
        // no simulation and is drawn again (at most PROPOSALS_PER_ATTEMPT x max_attempts in all).
        for (std::int64_t a = 0, proposals = 0; a < max_attempts && proposals < PROPOSALS_PER_ATTEMPT * max_attempts;
             ++proposals) {
          if (t == 0) {
            for (std::size_t j = 0; j < d; ++j) x[j] = box.lo[j] + (box.hi[j] - box.lo[j]) * s.uniform();
          } else {
            const double u = s.uniform() * cum.back();
            const auto j0 = std::min<std::size_t>(
                static_cast<std::size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin()), n - 1);
            Eigen::VectorXd z(static_cast<Eigen::Index>(d));
            for (std::size_t j = 0; j < d; ++j) z[static_cast<Eigen::Index>(j)] = standard_normal(s);
            const Eigen::VectorXd step = kernel.chol * z;
            for (std::size_t j = 0; j < d; ++j)
              x[j] = r.generations.back().particles[j0][j] + step[static_cast<Eigen::Index>(j)];
          }
          const double lp = box.contains(x) ? log_prior_of(o, x) : -INF;
          if (lp == -INF) continue;  // outside the support: no simulation
          ++dr.attempts;
          const MetricMatrix m =
              f(x, o.replications,
                call_seed(o.seed, ABC_STAGE, static_cast<std::uint64_t>(t), i, static_cast<std::uint64_t>(a++)));
          if (m.metrics != targets.size() || m.replications != static_cast<std::size_t>(o.replications))
            throw std::invalid_argument("abc_smc: the simulator returned a matrix of the wrong shape");
          dr.simulations += o.replications;
          std::vector<double> sum = summaries_of(m);
          if (o.noisy)
            for (std::size_t k = 0; k < targets.size(); ++k)
              sum[k] += std::sqrt(targets[k].var_obs + targets[k].var_disc) * standard_normal(s);
          const double dist = abc_distance(targets, sum);
          if (dist <= eps) {
            dr.x = x;
            dr.distance = dist;
            dr.log_weight = t == 0 ? lp : lp - log_mixture(r.generations.back(), kernel, x);
            dr.accepted = true;
            return;
          }
        }
      });
    }

    Generation g;
    g.index = t;
    g.tolerance = eps;
    std::vector<double> log_w;
    bool complete = true;
    for (Draw& dr : draws) {
      g.attempts += dr.attempts;
      g.simulations += dr.simulations;
      complete = complete && dr.accepted;
      g.particles.push_back(std::move(dr.x));
      g.distances.push_back(dr.distance);
      log_w.push_back(dr.log_weight);
    }
    if (!complete) return r.stop_reason = "acceptance", r;  // a particle found nothing within max_attempts
    if (r.simulations + g.simulations > o.budget) return r.stop_reason = "budget", r;
    normalise(log_w, g.weights);
    r.simulations += g.simulations;
    r.generations.push_back(std::move(g));
    if (!o.checkpoint_path.empty()) write_checkpoint(o.checkpoint_path, abc_checkpoint_text(r, targets, box, o));
    if (o.on_generation) o.on_generation(r.generations, r.simulations);
    if (o.stop_after_generation >= 0 && t >= o.stop_after_generation) return r.stop_reason = "stopped", r;
  }
}

}  // namespace lepsim
