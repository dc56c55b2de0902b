#pragma once
// What run.cpp shares with run_cluster.cpp (runs over MPI ranks and as shards,
// docs/cluster.md): the checkpoint journal's serialisation of replication results, and
// replications run as blocks over a UnitExecutor.

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "lepsim/run.hpp"

namespace lepsim::detail {

//! Appends the results' bytes as the run's checkpoint journal holds them (run.cpp's serialise).
void serialise_results(std::span<const ReplicationResult> results, std::vector<char>& out);
//! The inverse; false unless `in` holds exactly `count` results.
bool deserialise_results(const std::vector<char>& in, std::uint32_t count, std::vector<ReplicationResult>& out);

//! Everything a run file's contents depend on but the replications simulated (the
//! checkpoint journal's fingerprint: engine and format versions, texts, seed, replications).
std::uint64_t run_identity(const Scenario& sc, std::uint64_t seed, std::int64_t replications);

//! Replications [first, end) in blocks of `block` over `executor`'s processes, each block
//! simulated on `threads` threads; on the writer, `sink` gets every block's results in
//! replication order and `progress` the replications done (of [first, end)). Every process
//! calls it with the same `end` and `threads`; `first` and `block` are the writer's
//! (broadcast), so the other processes may pass anything.
void run_over_ranks(UnitExecutor& executor, const Scenario& sc, std::uint64_t seed, std::int64_t first, std::int64_t end,
                    int block, int threads, const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel, const std::function<void(std::int64_t)>& progress);

//! Removes `<output>.tmp-PID` files of earlier writers of `output_path` but this process's
//! own. Called by --resume once it holds the checkpoint's exclusive lock, which every writer
//! of that output holds while it runs: a temporary of a writer that died without unwinding
//! (SIGKILL, or OpenMPI aborting rank 0 when a peer dies mid-message) is nobody's any more.
void remove_stale_temporaries(const std::string& output_path);

//! `lepsim run --shard K/N`: the share's replications into a run shard file; `info` as
//! run_scenario filled it (replications, seed, threads).
RunInfo run_shard(const Scenario& sc, const RunOptions& options, RunInfo info);

}  // namespace lepsim::detail
