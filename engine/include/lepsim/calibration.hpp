#pragma once
// What history matching (lepsim/history_matching.hpp) and ABC-SMC (lepsim/abc_smc.hpp)
// share: the simulator callback, the targets it is fitted to and the parameter box
// (docs/calibration.md).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/record.hpp"

namespace lepsim {

//! Per-replication metrics of one parameter vector: row-major [replication][metric], the
//! metrics in the order of the targets. NaN marks a value undefined in that replication.
struct MetricMatrix {
  std::size_t replications = 0, metrics = 0;
  std::vector<double> values;

  MetricMatrix() = default;
  MetricMatrix(std::size_t reps, std::size_t m) : replications(reps), metrics(m), values(reps * m, 0.0) {}
  double& at(std::size_t r, std::size_t k) { return values[r * metrics + k]; }
  double at(std::size_t r, std::size_t k) const { return values[r * metrics + k]; }
};

//! f(params, replications, seed) -> [replications x targets]. Must be a pure function of
//! its arguments (the same seed gives the same matrix) and, when calibration runs on
//! several threads, safe to call concurrently.
using SimulatorFn = std::function<MetricMatrix(const std::vector<double>& params, int replications, std::uint64_t seed)>;

//! One observed milestone as calibration sees it.
struct Target {
  std::string name;     //!< the metric, e.g. "completed_cumulative@45"
  double observed = 0;  //!< z
  double var_obs = 0;   //!< observation error variance
  double var_disc = 0;  //!< model discrepancy variance
};

//! Targets from the record's expressible milestones of `use`: var_obs = effective sd^2,
//! var_disc = (discrepancy_fraction x |value|)^2 (docs/calibration.md, "Error terms").
std::vector<Target> record_targets(const ObservedRecord& record, MilestoneUse use, double discrepancy_fraction);

//! One uncertain input and its prior range.
struct Factor1D {
  std::string name;
  double lo = 0, hi = 1;
};

//! A box in parameter space.
struct Box {
  std::vector<double> lo, hi;
  std::size_t dims() const { return lo.size(); }
  bool contains(const std::vector<double>& x) const;
  double volume() const;
};

//! A seed for one simulator call, mixed from the calibration seed and the call's identity
//! (stage, generation or wave, particle or point, attempt): splitmix64 over the words.
//! fn(i) for i in [0, n) on `threads` threads (0: every core); each index writes only its own
//! slot, so results do not depend on the split. TBB, or std::threads under ThreadSanitizer
//! (TBB's own scheduler is not instrumented and reports false races), as run.cpp does.
void parallel_indices(int threads, std::size_t n, const std::function<void(std::size_t)>& fn);

std::uint64_t call_seed(std::uint64_t seed, std::uint64_t stage, std::uint64_t round, std::uint64_t index,
                        std::uint64_t attempt);

// ---- Checking the model against milestones (posterior predictive check, out-of-sample tests).

//! One milestone against the model's per-replication values (with a posterior, one
//! parameter vector per replication: the predictive distribution).
struct MilestoneCheck {
  std::string name;
  double observed = 0;
  double lo = 0, median = 0, hi = 0;  //!< the model's percentiles (type 7, as the run file's)
  std::size_t defined = 0;            //!< replications where the metric is defined
  bool covers = false;                //!< lo <= observed <= hi
  //! The record's own +-2 sd interval (sqrt(V_obs)) meets [lo, hi]: the looser test for
  //! figures with a large observation error.
  bool covers_with_error = false;
};

//! For each target (column k of `runs`): the model's percentiles `lo_q`, 0.5, `hi_q` over
//! the defined replications and whether they cover the record. A column with no defined
//! value gives NaN percentiles and covers nothing.
std::vector<MilestoneCheck> check_milestones(const std::vector<Target>& targets, const MetricMatrix& runs, double lo_q = 0.1,
                                             double hi_q = 0.9);

// ---- Checkpoints (history matching's waves, ABC-SMC's generations: docs/calibration.md).

//! A double as a C99 hex float ("%a"): exact, and read back by read_exact.
std::string exact_text(double x);
//! Reads exact_text's form (or any strtod number); nullopt when `s` is not one whole number.
std::optional<double> read_exact(const std::string& s);
//! A fingerprint of what a checkpoint's results depend on: the seed, numbers (by their bits),
//! the box and the targets.
std::uint64_t checkpoint_fingerprint(std::uint64_t seed, const std::vector<double>& numbers, const Box& box,
                                     const std::vector<Target>& targets);
//! Writes `text` to `path` through `path`.tmp and a rename, so a kill leaves the old or the new
//! checkpoint, never half of one. Throws OutputError.
void write_checkpoint(const std::string& path, const std::string& text);
//! The file's text, or nullopt when it does not exist.
std::optional<std::string> read_checkpoint(const std::string& path);

//! Weighted quantile (weights >= 0, sum > 0): the smallest value whose weighted ECDF
//! reaches q (numpy's 'inverted_cdf' method for equal weights).
double weighted_quantile(std::vector<double> values, std::vector<double> weights, double q);

}  // namespace lepsim
