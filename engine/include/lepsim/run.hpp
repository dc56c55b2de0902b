#pragma once
// Running replications in parallel (oneTBB) and streaming them to a run file.
// Any contiguous range of replications can run anywhere: replication r's
// result depends only on (scenario, seed, r).

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lepsim/scenario.hpp"
#include "lepsim/shard.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim {

class UnitExecutor;  // lepsim/experiment.hpp: units over MPI ranks

//! The most replications one run may have (docs/scenario-format.md, "Limits").
inline constexpr std::int64_t MAX_REPLICATIONS = 100'000'000;

//! `lepsim run --precision REL --on OUTPUT --max-replications N`: add replications until
//! every output's confidence-interval half-width is within REL of its mean (docs/analysis.md).
struct ConvergenceRule {
  std::vector<std::string> outputs;  //!< metric names (parse_metric), e.g. completed_cumulative@60
  double precision = 0.01;           //!< relative half-width wanted, > 0
  double level = 0.95;               //!< confidence level of the interval
  std::int64_t max_replications = 0; //!< stop here whether met or not
  //! Checked after every `check_every` replications (never fewer than `check_every`), a
  //! fixed schedule so that the count reached is the same for any thread count.
  std::int64_t check_every = 100;
};

//! Outputs a convergence rule can watch: per-replication scalars of the run.
std::vector<std::string> convergence_outputs(const Scenario& scenario);

struct RunOptions {
  std::string output_path;                 //!< final run file name
  std::optional<int> replications;         //!< overrides the scenario's [run] replications
  std::optional<std::uint64_t> seed;       //!< overrides the scenario's [run] seed
  int threads = 0;                         //!< 0: all hardware threads
  bool force = false;                      //!< overwrite an existing output file
  //! Called as replications finish with (replications simulated, total), from the worker
  //! that finished one: calls may be concurrent and their counts out of order, so keep the
  //! largest (lepsim::Progress::reached does). With a convergence rule the total is the maximum.
  std::function<void(std::int64_t, std::int64_t)> progress;
  //! Called on the calling thread when the run enters work that finishes no replication
  //! ("writing summaries", after the last replication is written).
  std::function<void(const std::string&)> phase;
  //! Polled before every replication; when set the workers take no new replication and
  //! the run stops with InterruptedError, leaving no file.
  const std::atomic<bool>* cancel = nullptr;
  //! When set, replications are added until the rule is met (options.replications is ignored).
  std::optional<ConvergenceRule> convergence;
  //! Journal every chunk to `<output>.partial` (removed on success) so that an interrupted
  //! or killed run can be resumed; not with a convergence rule (docs/robustness.md).
  bool checkpoint = true;
  //! Continue from `<output>.partial`: its chunks are replayed, the rest simulated.
  bool resume = false;
  //! Called on the calling thread with a line for the user (resuming from a checkpoint).
  std::function<void(const std::string&)> note;
  //! Runs blocks of replications over processes (MPI ranks, docs/cluster.md); nullptr: this
  //! process's threads. Every process calls run_scenario with the same scenario and options;
  //! only the writer journals and writes the file. Not with a convergence rule.
  UnitExecutor* executor = nullptr;
  //! Run only this share of the run's blocks (contiguous replications) into a run shard
  //! file (`lepsim run --shard K/N`), merged by merge_run_shards. Not with a convergence rule.
  std::optional<Shard> shard;
  //! Replications per block (the unit of shards and MPI hand-out): default run_block_replications.
  std::optional<int> block;
};

struct RunInfo {
  std::string output_path;
  std::int64_t replications = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  double seconds = 0;
  std::int64_t resumed_replications = 0;    //!< replayed from the checkpoint (--resume)
  bool converged = false;                   //!< with a convergence rule: was it met
  std::vector<double> relative_half_width;  //!< with a convergence rule: per output, at the end
  std::uint64_t first_replication = 0;      //!< a shard: its first replication
  std::uint64_t shard_replications = 0;     //!< a shard: its replications (info.replications is the run's)
  int block = 0;                            //!< replications per block (shards, MPI)
};

//! What a run will take, estimated from the scenario before it starts.
struct RunEstimate {
  double projects = 0;           //!< expected projects per replication
  double replication_bytes = 0;  //!< one replication's results (series, per-LEP and per-project values)
  double simulator_bytes = 0;    //!< one worker's simulator (scratch and per-project state)
  double file_bytes = 0;         //!< the run file before compression
  double summary_bytes = 0;      //!< memory for reading one step of every replication back (summaries)
  double memory_bytes = 0;       //!< peak memory of the whole run, roughly
  int chunk_replications = 0;    //!< replications held in memory at once
};
RunEstimate estimate_run(const Scenario& scenario, std::int64_t replications, int threads);

//! `requested` threads, or every core (at least one) when it is 0 or less: what every
//! `--threads` option means.
int thread_count(int requested);

//! "77.1 KB", "7.7 TB": sizes for messages, in powers of 1000 as disks are sold.
std::string bytes_text(double bytes);
//! Memory this process may still use: the least of MemAvailable, the cgroup's limit and
//! the address-space rlimit; infinity when none is known.
double available_memory();

//! Replications per chunk of a run of `replications`: bounded memory whatever the count.
int choose_chunk_replications(const Scenario& scenario, std::int64_t replications, int threads);

//! Runs replications [first, first + count) on `threads` threads, handing each
//! finished chunk (in replication order) to `sink`. Memory is one chunk of results.
//! `cancel`, if given, is checked before every replication: once set, the workers take
//! no new replication and InterruptedError is thrown without passing the chunk on.
//! `progress`, if given, is called by the thread that finished a replication (a worker or
//! the caller) with the number finished so far in this range: calls may be concurrent and
//! arrive out of order, so it must be thread-safe and keep the largest count.
void simulate_range(const Scenario& scenario, std::uint64_t seed, std::uint32_t first, std::uint32_t count,
                    int threads, int chunk_replications,
                    const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel = nullptr,
                    const std::function<void(std::uint32_t)>& progress = {});

//! Replications per block of a run, the unit that shards split and MPI ranks are handed:
//! a pure function of the scenario and the replication count (the chunk size of one thread,
//! choose_chunk_replications(sc, replications, 1)), so every shard agrees on it.
int run_block_replications(const Scenario& scenario, std::int64_t replications);

//! The replications [first, first + count) of share `shard` of a run: the share's blocks
//! (shard_units over the run's ceil(replications / block) blocks), so whole blocks.
UnitRange shard_replications(std::int64_t replications, const Shard& shard, int block);

inline constexpr const char* RUN_SHARD_FILE_TYPE = "lepsim-run-shard";
inline constexpr int RUN_SHARD_FORMAT_MAJOR = 1;

//! Whether `path` is an HDF5 file written by `lepsim run --shard` (false when unreadable).
bool is_run_shard(const std::string& path);

struct RunMergeInfo {
  std::string output_path;
  std::int64_t shards = 0, replications = 0;
  double seconds = 0;
};

//! Merges the shard files of one run into the run file the unsharded run writes (the same
//! datasets and attributes, bit for bit, but `created` and `git_revision`): replays every
//! shard's replications in order into a fresh run file writer. Refuses with RunFileError
//! (exit 5), naming the files, what is not a run shard, foreign shards (another scenario,
//! seed, replication count, block or engine version), duplicate and overlapping shards
//! and missing replications; OutputError (exit 4) when the output exists (unless `force`).
RunMergeInfo merge_run_shards(const std::vector<std::string>& shard_paths, const std::string& output_path, bool force,
                              int threads = 0);

//! The `lepsim run` job: every replication, written to options.output_path.
//! Refuses up front (OutputError, ResourceError) a run whose file would not fit the
//! free disk space even compressed, or whose memory would not fit the machine.
RunInfo run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace lepsim
