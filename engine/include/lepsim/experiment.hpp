#pragma once
// Experiments: many scenario variants (points) x replications in one run and one file.
// An experiment file (docs/experiments.md) names a base scenario, factors (parameter
// paths), a design, replications per point, metrics and a seed. The work is split into
// (point, block of replications) units whose results depend only on (experiment, seed,
// point, replication ids), so the file's datasets are the same bits whatever the thread
// count or block size. Completed units are journalled to FILE.partial as they finish, so
// a killed experiment resumes (--resume); the HDF5 file (docs/experiment-file-format.md)
// is assembled from the journal point by point, under a temporary name, then renamed.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lepsim/distribution.hpp"
#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/shard.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim {

inline constexpr const char* EXPERIMENT_FILE_TYPE = "lepsim-experiment";
inline constexpr int EXPERIMENT_FORMAT_MAJOR = 1;  //!< readers refuse other majors
inline constexpr int EXPERIMENT_FORMAT_MINOR = 2;  //!< additions that old readers may ignore
//! Percentiles of every summarised series, per point and step.
inline constexpr double EXPERIMENT_PERCENTILES[] = {10.0, 50.0, 90.0};
inline constexpr std::int64_t MAX_EXPERIMENT_POINTS = 10'000'000;
//! A distribution factor's grid levels (and one-at-a-time ends: the first and last), as probabilities.
inline constexpr double DEFAULT_FACTOR_QUANTILES[] = {0.1, 0.5, 0.9};

//! One factor: a parameter path and the values it may take.
struct Factor {
  std::string name;  //!< column name in the design and the CSV plan
  std::string path;  //!< parameter path, e.g. "national.approvals.capacity"
  std::string unit;  //!< for tables and charts ("" when none)
  //! true: the value multiplies a whole distribution (or a team) at `path` ("x s");
  //! false: the value replaces the parameter.
  bool scale = false;
  std::vector<double> levels;                  //!< discrete values (grid, one-at-a-time ends, LHS strata)
  std::optional<std::array<double, 2>> range;  //!< [low, high] for continuous designs
  //! A distribution for the design's unit coordinate u: the value is its quantile(u).
  std::optional<Distribution> distribution;
  //! Grid levels and one-at-a-time ends of a distribution factor, as probabilities (the
  //! values are their quantiles); default DEFAULT_FACTOR_QUANTILES.
  std::vector<double> quantiles;
  double base = 0;                             //!< the base scenario's value (1 for a scale): one-at-a-time centre
  bool whole = false;                          //!< the parameter is a whole number: design values are rounded
  int line = 0;                                //!< where the factor is declared, for messages
};

enum class DesignKind { GRID, ONE_AT_A_TIME, LHS, SOBOL, SALTELLI, MORRIS, PLAN };
enum class StreamPolicy { COMMON, INDEPENDENT };

struct Experiment {
  std::string name;
  std::string description;
  std::string source_path;  //!< the experiment file as given
  std::string source_text;  //!< verbatim, stored in the file
  Scenario base;            //!< the base scenario, loaded and validated
  std::vector<Factor> factors;
  DesignKind design = DesignKind::GRID;
  std::int64_t lhs_points = 0;  //!< LHS and Sobol': points; Saltelli: base rows; Morris: trajectories
  bool maximin = false;         //!< LHS: best of `maximin_candidates` by the smallest pairwise distance
  int maximin_candidates = 32;
  int morris_levels = 4;           //!< Morris: grid levels p (even)
  bool saltelli_ba = false;        //!< Saltelli: also the BA rows
  //! Saltelli: also the noise rows (A's inputs with B's streams), so the model's randomness
  //! gets pick-freeze indices like an input (sensitivity, docs/analysis.md).
  bool saltelli_noise = true;
  std::string plan_path;           //!< PLAN: CSV run plan, relative to the experiment file
  std::int64_t replications = 10;  //!< per point
  std::uint64_t seed = 1;
  StreamPolicy streams = StreamPolicy::COMMON;
  int block = 0;                     //!< replications per work unit; 0: chosen (depends on replications only)
  std::vector<std::string> metrics;  //!< per-replication scalars, [points, replications]
  std::vector<std::string> series;   //!< series summarised per point and step
};

//! A point of the design: its id and one value per factor.
struct DesignPoint {
  std::int64_t id = 0;
  std::vector<double> values;
  std::string role = "point";  //!< design::role_name: point, base, low, high, A, B, AB, BA, morris_start, ...
  std::int64_t group = 0;      //!< Saltelli base row, Morris trajectory, else the point
  std::int32_t factor = -1;    //!< the factor changed from the reference point (-1 none)
  std::int64_t stream = -1;    //!< the point whose streams it uses under independent streams (-1: itself)
  double step = 0;             //!< Morris: signed change of `factor`, in the unit cube
  std::vector<double> unit{};  //!< unit-cube designs: the point's unit coordinates (sensitivity's Morris effects)
};

//! True when the TOML text is an experiment file (it has an [experiment] table).
bool is_experiment_text(const std::string& text);
//! Reads and checks an experiment file and its base scenario; every problem is listed
//! (ScenarioError, exit 3), each located by file and line.
Experiment load_experiment(const std::string& path);
Experiment parse_experiment(const std::string& text, const std::string& path);

//! The expanded design, in point order (throws ScenarioError for a bad CSV plan).
std::vector<DesignPoint> expand_design(const Experiment& ex);
//! Writes the plan as CSV (header `point,<factor names>`, values round-trip exactly).
std::string plan_csv(const Experiment& ex, const std::vector<DesignPoint>& points);
//! Reads a strict CSV run plan: one column per factor plus `point`; an unknown or missing
//! column, an empty cell, a non-number or a duplicate point id is an error naming row and
//! column. Every problem is listed (ScenarioError).
std::vector<DesignPoint> read_plan_csv(const std::string& text, const std::string& path, const std::vector<Factor>& factors);

//! The base scenario with one point's factor values applied and checked.
Scenario scenario_at(const Experiment& ex, const DesignPoint& point);
//! "national.approvals.capacity = 60; stages.procurement.work x 1.2"
std::string overrides_text(const Experiment& ex, const DesignPoint& point);
//! The seed a point runs with: the experiment's seed under common random numbers, a
//! seed mixed from (seed, the point's stream index) under independent streams (a Saltelli
//! pick-freeze row shares the streams of its A or B row).
std::uint64_t point_seed(const Experiment& ex, const DesignPoint& point, std::size_t point_index);

//! Metric and series names the experiment layer knows (docs/experiments.md).
std::vector<std::string> known_metrics(const Scenario& sc);
std::vector<std::string> known_series(const Scenario& sc);
//! Why `name` is not a metric of the output registry for this scenario; "" when it is.
std::string metric_problem(const Scenario& sc, const std::string& name);
//! One replication's value of a metric (NaN when undefined, e.g. the programme unfinished).
double metric_value(const Scenario& sc, const ReplicationResult& r, const std::string& name);
//! One replication's series, one value per step (NaN where undefined).
void series_values(const Scenario& sc, const ReplicationResult& r, const std::string& name, double* out);

struct ExperimentEstimate {
  std::int64_t points = 0, replications = 0, units = 0;
  int block = 0;
  double file_bytes = 0;     //!< the experiment file before compression
  double journal_bytes = 0;  //!< the checkpoint journal at its largest
  double memory_bytes = 0;   //!< peak memory, roughly
};
ExperimentEstimate estimate_experiment(const Experiment& ex, std::int64_t points, int threads);

//! Runs an experiment's units over several processes instead of this process's threads
//! (the MPI build: engine/cli/mpi_cli.cpp over lepsim::mpi::distribute_units). Every process
//! calls run_experiment with the same experiment and options; only the writer journals,
//! writes the file and reports.
class UnitExecutor {
 public:
  virtual ~UnitExecutor() = default;
  //! This process journals, writes the file and reports (MPI rank 0).
  virtual bool writer() const = 0;
  //! The units to run: the writer's list (the units its checkpoint lacks), the same on every process.
  virtual std::vector<std::uint64_t> share(std::vector<std::uint64_t> units) = 0;
  //! compute(i) for every i in [0, count) on any process (it runs `threads` threads inside);
  //! write(i, result) on the writer, in order of i. Results are bytes (a run's replications,
  //! serialised as its checkpoint journal holds them).
  virtual void run_bytes(std::uint64_t count, const std::function<std::vector<std::byte>(std::uint64_t)>& compute,
                         const std::function<void(std::uint64_t, std::span<const std::byte>)>& write) = 0;
  //! run_bytes for results that are rows of doubles (an experiment's units).
  void run(std::uint64_t count, const std::function<std::vector<double>(std::uint64_t)>& compute,
           const std::function<void(std::uint64_t, const std::vector<double>&)>& write) {
    run_bytes(
        count,
        [&](std::uint64_t i) {
          const std::vector<double> rows = compute(i);
          std::vector<std::byte> bytes(rows.size() * sizeof(double));
          if (!bytes.empty()) std::memcpy(bytes.data(), rows.data(), bytes.size());
          return bytes;
        },
        [&](std::uint64_t i, std::span<const std::byte> r) {
          std::vector<double> rows(r.size() / sizeof(double));
          if (!rows.empty()) std::memcpy(rows.data(), r.data(), rows.size() * sizeof(double));
          write(i, rows);
        });
  }
};

struct ExperimentOptions {
  std::string output_path;
  int threads = 0;  //!< 0: all hardware threads
  bool force = false;
  bool resume = false;
  std::optional<int> block;  //!< overrides the experiment's block (tests: results must not change)
  //! (replications done, total) over the whole experiment, from the calling thread;
  //! only increasing, and the last call is (total, total).
  std::function<void(std::int64_t, std::int64_t)> progress;
  //! Said before the work starts (the estimate), and on resume what was found.
  std::function<void(const std::string&)> note;
  const std::atomic<bool>* cancel = nullptr;
  //! Tests: stop (as if cancelled) once this many units are journalled in this process.
  std::int64_t stop_after_units = -1;
  //! Run only this share of the units (shard_units over all units, in unit order) and write
  //! a shard file (docs/cluster.md, "Job arrays") instead of the experiment file.
  std::optional<Shard> shard;
  //! Runs the units over processes (MPI); nullptr: this process's threads.
  UnitExecutor* executor = nullptr;
};

struct ExperimentInfo {
  std::string output_path;
  std::int64_t points = 0, replications = 0, resumed_replications = 0;
  int threads = 0;
  double seconds = 0;
  std::uint64_t units = 0;  //!< all units of the experiment
  UnitRange unit_range;     //!< the units this process ran (all of them without a shard)
};

//! Runs the experiment and writes options.output_path. Refuses up front what will not fit
//! (OutputError: disk, exit 4; ResourceError: memory, exit 6); stops on cancel with
//! InterruptedError (exit 130) leaving the journal to resume from.
ExperimentInfo run_experiment(const Experiment& ex, const ExperimentOptions& options);

//! Shard files: one share of an experiment's units, merged by merge_experiment_shards.
inline constexpr const char* EXPERIMENT_SHARD_FILE_TYPE = "lepsim-experiment-shard";
inline constexpr int EXPERIMENT_SHARD_FORMAT_MAJOR = 1;

struct MergeInfo {
  std::string output_path;
  std::int64_t shards = 0, points = 0, replications = 0;
  double seconds = 0;
};

//! Merges shard files of one experiment into the experiment file the unsharded run writes
//! (the same datasets, bit for bit). Refuses with RunFileError (exit 5), naming the files,
//! what is not a shard, foreign shards (another experiment text, seed, base scenario, engine
//! version, design, replications or block), duplicate and overlapping shards and missing
//! units; OutputError (exit 4) when the output exists (unless `force`) or cannot be written.
MergeInfo merge_experiment_shards(const std::vector<std::string>& shard_paths, const std::string& output_path, bool force);

//! The checkpoint journal next to the output: `<output>.partial`.
std::string journal_path(const std::string& output_path);

}  // namespace lepsim
