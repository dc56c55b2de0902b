#pragma once
// Second-order Monte Carlo: one parameter vector per replication (or per block of
// replications) drawn from the scenario's uncertain inputs through a Gaussian copula, or
// resampled whole from a posterior file, and applied to the scenario by parameter path
// (docs/calibration.md, "Runs that carry the whole uncertainty").

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/copula.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim {

//! "off", "inputs", "posterior".
const char* uncertainty_draw_name(UncertaintyDraw draw);
//! The draw named by `name`; nullopt for anything else.
std::optional<UncertaintyDraw> uncertainty_draw_named(const std::string& name);

//! Why `path` cannot carry an uncertain value in `s` (unknown path, with the closest one
//! suggested; a yes/no parameter; a scaled whole number); "" when it can.
std::string uncertain_path_problem(const Scenario& s, const std::string& path, bool scale);

//! `s` with each value applied at its path: `scale[k]` multiplies the parameter (a number
//! or every value of a distribution) by values[k] / points[k] (points[k] NaN: by values[k]),
//! otherwise values[k] replaces it (a distribution becomes fixed(value), a whole number is
//! rounded). Validated as with_parameter is; throws ScenarioError naming the path.
Scenario apply_parameter_vector(const Scenario& s, const std::vector<std::string>& paths, const std::vector<bool>& scale,
                                const std::vector<double>& points, const std::vector<double>& values);

//! A posterior file (docs/calibration.md, "Posterior file"), as read.
struct PosteriorSample {
  std::string path;
  std::size_t n = 0, d = 0;
  std::vector<double> parameters;  //!< [n, d] row-major
  std::vector<double> weights;     //!< [n], sum 1
  std::vector<std::string> paths;
  std::vector<bool> scale;
};
//! Reads and checks a posterior file; throws RunFileError (exit 5) naming the file and the problem.
PosteriorSample load_posterior(const std::string& path);

//! What a run draws: the paths and modes, and the source of the vectors.
class UncertaintyPlan {
 public:
  //! From the scenario's [uncertainty] (the posterior file is read here). Throws ScenarioError
  //! (posterior paths the scenario lacks) or RunFileError (an unreadable posterior file).
  explicit UncertaintyPlan(const Scenario& s);

  UncertaintyDraw draw() const { return draw_; }
  bool active() const { return draw_ != UncertaintyDraw::OFF; }
  std::size_t dims() const { return paths_.size(); }
  int replications_per_draw() const { return per_draw_; }
  const std::vector<std::string>& paths() const { return paths_; }
  const std::vector<bool>& scale() const { return scale_; }
  const std::string& posterior_path() const { return posterior_path_; }

  //! The draw a replication belongs to: replication / replications_per_draw.
  std::uint64_t draw_of(std::uint64_t replication) const { return replication / static_cast<std::uint64_t>(per_draw_); }
  //! Draw `index`'s vector, a pure function of (plan, seed, index): from the stream
  //! (seed, index, entity 0, Purpose::Uncertainty) (docs/random-streams.md).
  std::vector<double> vector(std::uint64_t seed, std::uint64_t index) const;
  //! The scenario with a vector applied (apply_parameter_vector).
  Scenario apply(const Scenario& s, const std::vector<double>& values) const;

 private:
  UncertaintyDraw draw_ = UncertaintyDraw::OFF;
  int per_draw_ = 1;
  std::vector<std::string> paths_;
  std::vector<bool> scale_;
  std::vector<double> points_;
  std::string posterior_path_;
  // Inputs
  std::vector<Distribution> marginals_;
  std::optional<GaussianCopula> copula_;
  // Posterior
  std::size_t particles_ = 0;
  std::vector<double> parameters_, cumulative_;
};

//! A second-order run's per-worker simulators: worker w's scenario and Simulator are rebuilt
//! only when the draw its next replication belongs to differs from its last one's.
class DrawnSimulators {
 public:
  DrawnSimulators(const Scenario& s, int workers);
  ~DrawnSimulators();
  //! Replication `replication` (its chance streams exactly as in a first-order run) of the
  //! scenario with its draw's vector applied.
  void run(int worker, std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);
  const UncertaintyPlan& plan() const { return plan_; }

 private:
  struct Slot;
  const Scenario& base_;
  UncertaintyPlan plan_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

//! The vector of every replication in [0, replications), row-major [replications, dims],
//! one draw per index on `threads` threads (0: every core); the same bits on any count.
std::vector<double> drawn_vectors(const UncertaintyPlan& plan, std::uint64_t seed, std::int64_t replications,
                                  int threads = 1);

}  // namespace lepsim
