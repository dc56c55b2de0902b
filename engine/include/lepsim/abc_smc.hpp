#pragma once
// ABC-SMC: population Monte Carlo ABC (Beaumont et al. 2009) with an adaptive tolerance
// (each generation's tolerance is a quantile of the previous generation's distances, as in
// Del Moral et al. 2012 and Drovandi & Pettitt 2011), a Gaussian perturbation kernel with
// twice the weighted covariance of the population, and importance weights prior / mixture
// (docs/calibration.md, "ABC-SMC"). Seeded and deterministic whatever the thread count;
// each completed generation is checkpointed, so a killed run resumes to identical results.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/calibration.hpp"

namespace lepsim {

struct Generation {
  int index = 0;
  double tolerance = 0;  //!< +inf for generation 0 (every prior draw accepted)
  std::vector<std::vector<double>> particles;
  std::vector<double> weights;    //!< normalised, sum 1
  std::vector<double> distances;  //!< of each particle's accepted attempt
  std::int64_t attempts = 0;      //!< simulator calls in the generation
  std::int64_t simulations = 0;   //!< replications in the generation
  double ess() const;             //!< effective sample size, 1 / sum w^2
};

struct AbcOptions {
  int particles = 500;
  int replications = 1;        //!< simulator replications per attempt (summaries are their mean)
  double quantile = 0.5;       //!< next tolerance = this weighted quantile of the current distances
  double final_tolerance = 0;  //!< stop once the tolerance is at most this
  int max_generations = 20;
  double min_acceptance = 0.01;   //!< stop when a generation accepts fewer of its attempts than this
  std::int64_t budget = 1000000;  //!< simulator replications in all (history matching's excluded)
  int max_attempts = 0;           //!< per particle per generation; 0: ceil(1 / min_acceptance) x 10
  //! Noisy ABC (Wilkinson 2013): add N(0, V_obs + V_disc) to each simulated summary, so that
  //! as the tolerance falls the sample tends to the posterior under that error model.
  bool noisy = true;
  std::uint64_t seed = 1;
  int threads = 1;
  //! Log prior density up to a constant, on the box (default: uniform, 0). -inf: excluded.
  std::function<double(const std::vector<double>&)> log_prior;
  std::string checkpoint_path;     //!< "" for none; written after each generation (atomically)
  int stop_after_generation = -1;  //!< tests: return after this generation is checkpointed
  //! Called on the calling thread after each generation (and once for those read from the
  //! checkpoint) with the generations so far and the replications they took (progress displays).
  std::function<void(const std::vector<Generation>&, std::int64_t simulations)> on_generation;
};

struct AbcResult {
  std::vector<Generation> generations;  //!< every completed generation; the last is the posterior
  std::int64_t simulations = 0;
  std::string stop_reason;  //!< "tolerance", "max_generations", "acceptance", "budget", "stopped"
  bool resumed = false;
  const Generation& posterior() const { return generations.back(); }
};

//! Distance of simulated summaries s to the targets: sqrt(sum_k (s_k - z_k)^2 / (V_obs + V_disc)),
//! each term scaled by 1 when both variances are 0. NaN summaries give +inf.
double abc_distance(const std::vector<Target>& targets, const std::vector<double>& summaries);

//! Runs ABC-SMC in `box` (the history-matching survivors' box, or the prior box). With a
//! checkpoint that exists, resumes from its last generation after checking it was written by
//! the same configuration (RunFileError when it is not, or is corrupt).
AbcResult abc_smc(const SimulatorFn& f, const std::vector<Target>& targets, const Box& box, const AbcOptions& options);

//! The checkpoint as text (one block per generation, doubles as hex floats: exact), and back.
std::string abc_checkpoint_text(const AbcResult& result, const std::vector<Target>& targets, const Box& box,
                                const AbcOptions& options);
AbcResult read_abc_checkpoint(const std::string& text, const std::string& path, const std::vector<Target>& targets,
                              const Box& box, const AbcOptions& options);

}  // namespace lepsim
