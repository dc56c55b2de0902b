#pragma once
// Units of work over MPI ranks (built only with -DLEPSIM_MPI=ON; docs/cluster.md).
//
// A job is units [first, first + count) whose results are a pure function of the unit's
// identity (a byte buffer). Rank 0 coordinates: it hands units out one at a time to whichever
// rank returns one (a rank that finishes early gets more; each holds `depth` units so it never
// waits for the next), receives the results, and passes them to one writer callback in unit
// order, through a reorder buffer bounded by a window of units handed out but not yet written. Rank 0 also computes units on
// a thread beside its coordinator unless told not to. Each rank may run threads (TBB) inside its compute callback; only each
// rank's main thread calls MPI (MPI_THREAD_FUNNELED).
//
// Because results are stored by identity and written in identity order, the written bytes
// are the same for any number of ranks, any window and any arrival order.
//
// This header does not include <mpi.h>: callers see only lepsim types.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/shard.hpp"

namespace lepsim::mpi {

//! MPI for this process: MPI_Init_thread (MPI_THREAD_FUNNELED) on construction and
//! MPI_Finalize on destruction. One per process, made first thing in main.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

  //! MPI_Abort on the whole job with `code` (mpirun then exits with it): only for a failure
  //! on one rank outside distribute_units, which the other ranks cannot learn of any other
  //! way (they would wait for it forever). Called from main, never from the library.
  [[noreturn]] void abort(ExitCode code) const noexcept;

 private:
  int rank_ = 0;
  int size_ = 1;
};

//! A failure distribute_units coordinated: every rank of the job throws it, so each can end
//! normally with `code()` (the failure's own exit code) and no rank is left waiting. Its
//! message names the rank and unit where the failure happened.
class JobFailed : public Error {
 public:
  JobFailed(ExitCode code, const std::string& message) : Error(code, message) {}
};

//! Computes one unit's result; called on any rank, from one thread of that rank at a time
//! (it may run threads inside). Must be a pure function of `unit`. Results over 2 GiB - 1
//! bytes (one MPI message) are refused.
using ComputeUnit = std::function<std::vector<std::byte>(std::uint64_t unit)>;
//! Receives each unit's result on rank 0, in unit order, on rank 0's main thread.
using WriteUnit = std::function<void(std::uint64_t unit, std::span<const std::byte> result)>;

struct DistributeOptions {
  //! The most units handed out but not yet written (the reorder buffer holds fewer): bounds
  //! rank 0's memory to window results. 0: 4 per computing rank.
  std::uint64_t window = 0;
  //! Units each rank holds at once: one computing, the others already sent, so that a rank
  //! that finishes starts its next unit without waiting for a round trip to rank 0. 1: a rank
  //! asks only when it has finished (it then waits one round trip per unit).
  int depth = 2;
  //! Rank 0 computes units too, on a thread beside its coordinator. With one rank it always
  //! does. Off makes rank 0 a dedicated coordinator and writer (docs/cluster.md measures both).
  bool rank0_computes = true;
  //! How long rank 0's coordinator sleeps when a poll found nothing to do (microseconds): adds
  //! up to this (and the OS's wake-up) to a hand-out, hidden by `depth`, and keeps the
  //! coordinator off the cores the ranks compute on. 0 spins (docs/cluster.md: much slower
  //! wherever cores are shared).
  int poll_us = 50;
  //! Polled by rank 0 between messages: once set, rank 0 throws InterruptedError at once,
  //! without waiting for the other ranks (a signal reaches every rank: each one's compute
  //! should poll the same flag); the caller then ends the job with Session::abort.
  const std::atomic<bool>* cancel = nullptr;
  //! Called on rank 0 after each unit written with (units written, units in the job).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

//! What distribute_units did, as seen from this rank.
struct DistributeStats {
  std::uint64_t computed = 0;  //!< units this rank computed
  //! Rank 0 only: units computed by each rank (size() entries; its sum is the job's units).
  std::vector<std::uint64_t> computed_per_rank;
  std::uint64_t max_buffered = 0;  //!< rank 0 only: most results held waiting for an earlier unit
  double seconds = 0;              //!< wall time in distribute_units
};

//! Runs units `range` over every rank of MPI_COMM_WORLD: every rank calls it with the same
//! range and options. Rank 0 passes each result to `write` in unit order; on other ranks
//! `write` is never called. More ranks than units is fine (the extra ranks get none).
//!
//! Failures: an exception from `compute` (on any rank) or `write` stops the hand-out; rank 0
//! waits for the units in progress to come back (at most one per rank), then tells every rank,
//! and every rank throws JobFailed with the failure's exit code and message. Any other
//! exception (InterruptedError on rank 0, an MPI error) means the ranks are not in step: the
//! caller ends the job with Session::abort. A rank that dies is
//! not survivable in MPI: mpirun ends the whole job (docs/cluster.md, "Failures").
DistributeStats distribute_units(const Session& session, UnitRange range, const ComputeUnit& compute, const WriteUnit& write,
                                 const DistributeOptions& options = {});

//! Rank 0's `values`, on every rank (every rank calls it; other ranks' `values` are ignored).
std::vector<std::uint64_t> broadcast(const Session& session, std::vector<std::uint64_t> values);

}  // namespace lepsim::mpi
