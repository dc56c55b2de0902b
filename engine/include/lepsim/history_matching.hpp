#pragma once
// History matching by waves (docs/calibration.md, "History matching"): each wave samples
// a Latin hypercube in the current box, runs the simulator `replications` times at each
// point, and keeps the points whose implausibility against every target is at most the
// cut-off; the next wave's box is the survivors' bounding box (widened by a margin and
// clipped to the current box). Stops on the simulation budget, a wave count, or when the box
// stops shrinking.

#include <cstdint>
#include <functional>
#include <vector>

#include "lepsim/calibration.hpp"

namespace lepsim {

//! How the per-target implausibilities of a point are combined.
enum class ImplausibilityRank { Max = 1, SecondMax = 2 };

//! Implausibility of one target: |z - mean| / sqrt(V_obs + V_disc + V_rep (1 + 1/n)) with
//! mean and V_rep the sample mean and variance of the n non-NaN replications; +inf when
//! fewer than 2 replications are defined.
double implausibility(const Target& target, const MetricMatrix& runs, std::size_t k);
//! The combined implausibility of a point: the largest (or second largest) over targets.
double combined_implausibility(const std::vector<double>& per_target, ImplausibilityRank rank);

struct WavePoint {
  std::vector<double> params;
  std::vector<double> implausibility;  //!< per target
  double combined = 0;
  bool plausible = false;
};

struct Wave {
  Box box;  //!< where the wave's points were drawn
  std::vector<WavePoint> points;
  std::int64_t simulations = 0;  //!< replications run in the wave
  std::size_t survivors() const;
};

struct HistoryMatchingOptions {
  int points_per_wave = 100;
  int replications = 10;  //!< n at each point: E[f] and V_rep are estimated from them
  double cutoff = 3.0;
  ImplausibilityRank rank = ImplausibilityRank::Max;
  int max_waves = 5;
  std::int64_t budget = 100000;  //!< simulator replications in all; a wave that would exceed it is not run
  //! The survivors' box is widened per side by this fraction of its width, and at least by
  //! the wave's point spacing (wave box width / points^(1/dims)).
  double margin = 0.1;
  double min_shrink = 0.05;  //!< stop when a wave shrinks the box's volume by less than this fraction
  std::uint64_t seed = 1;
  int threads = 1;  //!< points simulated at once (the simulator must then be thread-safe)
  //! "" for none; rewritten (atomically) after each wave. A run that finds one replays its
  //! waves instead of simulating them, then continues: the same result as an unbroken run.
  std::string checkpoint_path;
  int stop_after_wave = -1;  //!< tests: return after this wave is checkpointed
  //! Called on the calling thread after each wave, simulated or replayed from the checkpoint,
  //! with the waves so far (progress displays).
  std::function<void(const std::vector<Wave>&, std::int64_t simulations)> on_wave;
};

struct HistoryMatchResult {
  std::vector<Wave> waves;
  Box final_box;                 //!< the box ABC-SMC samples in (the last survivors', widened)
  std::int64_t simulations = 0;  //!< replications run in all
  std::string stop_reason;       //!< "budget", "max_waves", "converged", "no survivors", "stopped"
  bool resumed = false;          //!< some waves were read from the checkpoint
  //! The last wave's non-implausible points.
  std::vector<std::vector<double>> survivors() const;
};

//! A Latin hypercube of `n` points in `box`, from the Calibration stream (seed, round,
//! entity = dimension).
std::vector<std::vector<double>> latin_hypercube(const Box& box, int n, std::uint64_t seed, std::uint32_t round);

//! The checkpoint text of `waves` (doubles exact), and back (RunFileError when it was written
//! by another configuration: seed, points, replications, cut-off, rank, margin, prior, targets).
std::string history_checkpoint_text(const std::vector<Wave>& waves, const std::vector<Target>& targets, const Box& prior,
                                    const HistoryMatchingOptions& options);
std::vector<Wave> read_history_checkpoint(const std::string& text, const std::string& path,
                                          const std::vector<Target>& targets, const Box& prior,
                                          const HistoryMatchingOptions& options);

//! Runs the waves. Throws std::invalid_argument for empty targets, an empty or inverted
//! prior box, or options out of range.
HistoryMatchResult history_match(const SimulatorFn& f, const std::vector<Target>& targets, const Box& prior,
                                 const HistoryMatchingOptions& options);

}  // namespace lepsim
