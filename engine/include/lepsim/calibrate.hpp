#pragma once
// `lepsim calibrate`: a calibration file (docs/calibration.md, "The calibration file") wired
// to the libraries — the base scenario with each factor applied by parameter path as the
// simulator, the record's fitted milestones as the targets, history matching, then ABC-SMC
// inside the surviving box, the posterior predictive check — and the files it writes: the
// posterior (HDF5, docs/calibration.md "The posterior file") and the fitted inputs (TOML).

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/abc_smc.hpp"
#include "lepsim/calibration.hpp"
#include "lepsim/distribution.hpp"
#include "lepsim/history_matching.hpp"
#include "lepsim/record.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {

//! The posterior file's format (docs/calibration.md): /posterior's `format` and `format_version`.
inline constexpr const char* POSTERIOR_FORMAT = "lepsim-posterior";
inline constexpr const char* POSTERIOR_FORMAT_VERSION = "1.0";
//! Part of the fitted file's fingerprint: a new version makes every fitted file stale.
inline constexpr const char* FITTED_FORMAT_VERSION = "1";

//! One calibrated input: a parameter path, how the value applies, and its prior.
struct CalibrationFactor {
  std::string name;       //!< for tables and plots (default: the path)
  std::string path;       //!< parameter registry path
  bool scale = false;     //!< "scale": multiplies (with_scaled_parameter); "set": replaces (with_parameter)
  double lo = 0, hi = 1;  //!< prior range (uniform), or the prior's support (quantiles of U_EDGE, 1 - U_EDGE)
  //! A prior distribution: calibration works on u = F(x) in [0, 1] (uniform) and x = Q(u).
  std::optional<Distribution> prior;
  bool integer = false;  //!< the parameter is an integer: values are rounded
  int line = 0;

  //! The value of internal coordinate c (x itself for a range prior, Q(c) for a distribution).
  double value(double c) const;
  //! The internal coordinates' box side: [lo, hi], or [U_EDGE, 1 - U_EDGE] for a distribution.
  double coord_lo() const;
  double coord_hi() const;
};

struct CalibrationSpec {
  std::string source_path, source_text;  //!< the calibration file
  std::string name;
  std::string scenario_path, record_path;  //!< as resolved (relative to the calibration file)
  Scenario base;
  ObservedRecord record;
  double discrepancy = 0.1;
  std::uint64_t seed = 1;
  std::int64_t budget = 0;              //!< simulator replications, history matching and ABC-SMC together
  std::vector<std::string> milestones;  //!< ids to fit (empty: every expressible `use = "fit"`)
  HistoryMatchingOptions hm;
  AbcOptions abc;
  int predictive_draws = 200;  //!< posterior predictive replications (one particle each), not in the budget
  std::vector<CalibrationFactor> factors;
  //! The fitted targets and their milestones; the held-out (`validate`) ones checked only.
  std::vector<Target> targets, held_out;
  std::vector<std::string> target_ids, held_out_ids;
  //! Milestones left out: the model cannot express their metric yet (id, metric).
  std::vector<std::pair<std::string, std::string>> skipped;
};

//! Reads and checks a calibration file: every problem listed at once as a ScenarioError
//! (exit 3), each `file:line: key = value: rule`; factor paths are checked against the base
//! scenario's parameter registry (with_parameter at each end of the range).
CalibrationSpec load_calibration(const std::string& path);

//! The simulator of `spec`: the base scenario with the factors applied at internal coordinates
//! `params`, `replications` replications with run seed `seed`, each target's metric per
//! replication (`metrics` = the full names, e.g. "completed_cumulative@45"). Pure and
//! thread-safe. A point whose scenario breaks a rule gives NaN rows (counted in `invalid`).
//! `cancel` (if set) throws InterruptedError between replications.
SimulatorFn lepsim_simulator(const CalibrationSpec& spec, const std::vector<std::string>& metrics,
                             std::atomic<std::int64_t>* replications_done = nullptr,
                             std::atomic<std::int64_t>* invalid = nullptr);

struct CalibrateOptions {
  std::string output_path;
  bool resume = false;
  bool force = false;
  int threads = 1;
  //! (stage text, replications so far, budget) after each wave / generation (calling thread).
  std::function<void(const std::string&, std::int64_t, std::int64_t)> progress;
  //! Live count of replications (any thread).
  std::function<void(std::int64_t)> replications;
  std::function<void(const std::string&)> note;
};

struct PosteriorPredictive {
  std::vector<std::string> ids, metrics;
  std::vector<bool> fitted;
  std::vector<double> observed, sd_obs;
  std::vector<MilestoneCheck> checks;
};

struct CalibrationOutcome {
  HistoryMatchResult hm;
  AbcResult abc;
  PosteriorPredictive predictive;
  std::int64_t invalid_points = 0;
  double seconds = 0;
};

//! Runs the calibration and writes options.output_path atomically (under OUT.tmp-PID, renamed).
//! Checkpoints: OUT.hm-partial (waves) and OUT.abc-partial (generations), removed on success;
//! an existing one without `resume` is refused (OutputError) unless `force`.
CalibrationOutcome run_calibration(const CalibrationSpec& spec, const CalibrateOptions& options);

//! The checkpoint paths beside the output.
std::string hm_checkpoint_path(const std::string& output);
std::string abc_checkpoint_path(const std::string& output);

//! The fitted file's fingerprint: sha256 over the calibration file's text, the base scenario's
//! resolved TOML without its `fitted` key, the record file's text and FITTED_FORMAT_VERSION.
std::string calibration_fingerprint(const CalibrationSpec& spec);

//! Writes the fitted file (docs/calibration.md, "The fitted file") from a posterior file.
void write_fitted(const std::string& posterior_path, const std::string& fitted_path, const CalibrationSpec& spec);

//! `lepsim calibrate --check FITTED.toml`: whether the fitted file's fingerprint is the one its
//! calibration file gives today. `why` says what differs.
bool fitted_is_current(const std::string& fitted_path, std::string& why);

//! SHA-256 of `data`, lowercase hex.
std::string sha256_hex(std::string_view data);

}  // namespace lepsim
