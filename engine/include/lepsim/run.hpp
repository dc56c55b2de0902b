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

#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim {

struct RunOptions {
  std::string output_path;                 //!< final run file name
  std::optional<int> replications;         //!< overrides the scenario's [run] replications
  std::optional<std::uint64_t> seed;       //!< overrides the scenario's [run] seed
  int threads = 0;                         //!< 0: all hardware threads
  bool force = false;                      //!< overwrite an existing output file
  //! Called after each chunk with (replications done, total), from the calling thread.
  std::function<void(std::int64_t, std::int64_t)> progress;
  //! Polled between chunks; when set the run stops with InterruptedError, leaving no file.
  const std::atomic<bool>* cancel = nullptr;
};

struct RunInfo {
  std::string output_path;
  std::int64_t replications = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  double seconds = 0;
};

//! Replications per chunk: bounded memory whatever the replication count.
int choose_chunk_replications(const Scenario& scenario, int threads);

//! Runs replications [first, first + count) on `threads` threads, handing each
//! finished chunk (in replication order) to `sink`. Memory is one chunk of results.
//! `progress`, if given, is called on the calling thread with the number of
//! replications finished so far (never from a worker, so it needs no locking).
void simulate_range(const Scenario& scenario, std::uint64_t seed, std::uint32_t first, std::uint32_t count,
                    int threads, int chunk_replications,
                    const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel = nullptr,
                    const std::function<void(std::uint32_t)>& progress = {});

//! The `lepsim run` job: every replication, written to options.output_path.
RunInfo run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace lepsim
