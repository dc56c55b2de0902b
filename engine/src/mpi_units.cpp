#include "lepsim/mpi_units.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

namespace lepsim::mpi {

namespace {

// Messages between rank 0 (the coordinator) and the other ranks. Workers send READY once,
// then RESULT (which asks for the next unit) or FAILED; rank 0 answers with ASSIGN, STOP
// (no units left) or ABORT (the job failed elsewhere).
enum Tag : int {
  READY = 1,    //!< worker -> 0: empty
  RESULT = 2,   //!< worker -> 0: u64 unit, then the result's bytes
  FAILED = 3,   //!< worker -> 0: i32 exit code, then the message
  ASSIGN = 10,  //!< 0 -> worker: u64 unit
  STOP = 11,    //!< 0 -> worker: empty
  ABORT = 12,   //!< 0 -> worker: i32 exit code, then the message
};

constexpr int COORDINATOR = 0;
constexpr std::size_t UNIT_BYTES = sizeof(std::uint64_t);

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(ExitCode::INTERNAL, std::string("MPI: ") + what + " failed");
}

struct Message {
  int source = 0;
  int tag = 0;
  std::vector<std::byte> bytes;
};

// A unit's result travels as one MPI message (an int count of bytes), whichever rank computed it,
// so the same job fails the same way on any rank count.
void check_result_size(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX) - UNIT_BYTES)
    throw Error(ExitCode::RESOURCES, "a unit's result of " + std::to_string(bytes) +
                                         " bytes exceeds one MPI message (2 GiB - 9): use smaller units");
}

void send(int dest, Tag tag, std::span<const std::byte> bytes) {
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD), "MPI_Send");
}

// The message `status` announced (from MPI_Probe or MPI_Iprobe).
Message receive(const MPI_Status& status) {
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  Message m{status.MPI_SOURCE, status.MPI_TAG, std::vector<std::byte>(static_cast<std::size_t>(count))};
  check(MPI_Recv(m.bytes.data(), count, MPI_BYTE, m.source, m.tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  return m;
}

std::vector<std::byte> encode_unit(std::uint64_t unit, std::span<const std::byte> payload = {}) {
  std::vector<std::byte> out(UNIT_BYTES + payload.size());
  std::memcpy(out.data(), &unit, UNIT_BYTES);
  if (!payload.empty()) std::memcpy(out.data() + UNIT_BYTES, payload.data(), payload.size());
  return out;
}

std::uint64_t decode_unit(const std::vector<std::byte>& bytes) {
  if (bytes.size() < UNIT_BYTES) throw Error(ExitCode::INTERNAL, "MPI: a unit message is too short");
  std::uint64_t unit = 0;
  std::memcpy(&unit, bytes.data(), UNIT_BYTES);
  return unit;
}

// A failure as it travels between ranks: the exit code and the message.
struct Failure {
  ExitCode code = ExitCode::INTERNAL;
  std::string message;
};

Failure describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return {err.code(), err.what()};
  } catch (const std::bad_alloc&) {
    return {ExitCode::RESOURCES, "out of memory"};
  } catch (const std::exception& err) {
    return {ExitCode::INTERNAL, err.what()};
  } catch (...) {
    return {ExitCode::INTERNAL, "unknown exception"};
  }
}

std::vector<std::byte> encode_failure(const Failure& f) {
  const auto code = static_cast<std::int32_t>(f.code);
  std::vector<std::byte> out(sizeof code + f.message.size());
  std::memcpy(out.data(), &code, sizeof code);
  std::memcpy(out.data() + sizeof code, f.message.data(), f.message.size());
  return out;
}

Failure decode_failure(const std::vector<std::byte>& bytes) {
  std::int32_t code = static_cast<std::int32_t>(ExitCode::INTERNAL);
  if (bytes.size() >= sizeof code) std::memcpy(&code, bytes.data(), sizeof code);
  const std::size_t skip = std::min(bytes.size(), sizeof code);
  return {static_cast<ExitCode>(code), std::string(reinterpret_cast<const char*>(bytes.data()) + skip, bytes.size() - skip)};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Ranks other than 0: ask, compute, return, until told to stop.
DistributeStats run_worker(int rank, const ComputeUnit& compute) {
  const auto t0 = std::chrono::steady_clock::now();
  DistributeStats stats;
  send(COORDINATOR, READY, {});
  for (;;) {
    MPI_Status status;
    check(MPI_Probe(COORDINATOR, MPI_ANY_TAG, MPI_COMM_WORLD, &status), "MPI_Probe");
    const Message m = receive(status);
    if (m.tag == STOP) break;
    if (m.tag == ABORT) {
      const Failure f = decode_failure(m.bytes);
      throw JobFailed(f.code, "rank " + std::to_string(rank) + " stopped, the job failed: " + f.message);
    }
    if (m.tag != ASSIGN) throw Error(ExitCode::INTERNAL, "MPI: unexpected message tag " + std::to_string(m.tag));
    const std::uint64_t unit = decode_unit(m.bytes);
    std::vector<std::byte> reply;
    try {
      const std::vector<std::byte> result = compute(unit);
      check_result_size(result.size());
      reply = encode_unit(unit, result);
    } catch (...) {
      Failure f = describe(std::current_exception());
      f.message = "rank " + std::to_string(rank) + ", unit " + std::to_string(unit) + ": " + f.message;
      send(COORDINATOR, FAILED, encode_failure(f));
      throw JobFailed(f.code, f.message);
    }
    send(COORDINATOR, RESULT, reply);
    ++stats.computed;
  }
  stats.seconds = seconds_since(t0);
  return stats;
}

// Rank 0's own computing, on a thread beside the coordinator (which alone calls MPI): units
// queue up to the depth, results wait until the coordinator takes them.
class LocalWorker {
 public:
  explicit LocalWorker(const ComputeUnit& compute) : compute_(compute), thread_([this] { loop(); }) {}
  ~LocalWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      queue_.clear();
    }
    wake_.notify_one();
    thread_.join();
  }
  LocalWorker(const LocalWorker&) = delete;
  LocalWorker& operator=(const LocalWorker&) = delete;

  void assign(std::uint64_t unit) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(unit);
    }
    wake_.notify_one();
  }

  struct Done {
    std::uint64_t unit = 0;
    std::vector<std::byte> result;
    std::exception_ptr failure;
  };
  //! The units it finished since the last call, in the order it finished them.
  std::deque<Done> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(done_, {});
  }

 private:
  void loop() {
    for (;;) {
      std::uint64_t unit = 0;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty() || stop_; });
        if (queue_.empty()) return;
        unit = queue_.front();
        queue_.pop_front();
      }
      Done d{unit, {}, nullptr};
      try {
        d.result = compute_(unit);
        check_result_size(d.result.size());
      } catch (...) {
        d.failure = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      done_.push_back(std::move(d));
    }
  }

  const ComputeUnit& compute_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::uint64_t> queue_;
  std::deque<Done> done_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

// Rank 0: hand out, reorder, write; see the header for the protocol's guarantees. Each rank
// holds up to `depth` units (one computing, the rest queued in MPI's buffers, which keep a
// pair of ranks' messages in order, so a STOP or ABORT is read after the units before it).
DistributeStats run_coordinator(const Session& session, UnitRange range, const ComputeUnit& compute, const WriteUnit& write,
                                const DistributeOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const int ranks = session.size();
  const bool local = options.rank0_computes || ranks == 1;
  const std::uint64_t computing = static_cast<std::uint64_t>(ranks - 1) + (local ? 1 : 0);
  const int depth = std::max(1, options.depth);
  const std::uint64_t window = options.window > 0 ? options.window : 4 * computing;

  DistributeStats stats;
  stats.computed_per_rank.assign(static_cast<std::size_t>(ranks), 0);
  std::uint64_t next_unit = range.first, next_write = range.first;
  std::map<std::uint64_t, std::vector<std::byte>> buffer;  // received, waiting for an earlier unit
  struct RankState {
    int credits = 0;                //!< units it can take now (depth - outstanding, once READY)
    std::uint64_t outstanding = 0;  //!< handed out, not yet returned
    bool stopped = false;           //!< sent STOP or ABORT, or it failed itself
  };
  std::vector<RankState> state(static_cast<std::size_t>(ranks));
  auto at = [&](int rank) -> RankState& { return state[static_cast<std::size_t>(rank)]; };
  std::optional<Failure> failure;
  std::optional<LocalWorker> worker;
  if (local) {
    worker.emplace(compute);
    at(COORDINATOR).credits = depth;
  } else {
    at(COORDINATOR).stopped = true;
  }
  auto fail = [&](Failure f) {
    if (!failure) failure = std::move(f);
  };
  auto accept = [&](int rank, std::uint64_t unit, std::vector<std::byte> result) {
    ++stats.computed_per_rank[static_cast<std::size_t>(rank)];
    --at(rank).outstanding;
    ++at(rank).credits;
    if (!failure) buffer.emplace(unit, std::move(result));
  };
  auto finished = [&] {
    return std::all_of(state.begin(), state.end(), [](const RankState& s) { return s.stopped && s.outstanding == 0; });
  };

  int first_rank = 0;  // where the hand-out starts, rotated so no rank is always served first
  while (!finished()) {
    bool progressed = false;
    int flag = 0;
    MPI_Status status;
    while (check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe"), flag) {
      Message m = receive(status);
      progressed = true;
      if (m.tag == READY) {
        at(m.source).credits = depth;
      } else if (m.tag == RESULT) {
        const std::uint64_t unit = decode_unit(m.bytes);
        m.bytes.erase(m.bytes.begin(), m.bytes.begin() + UNIT_BYTES);
        accept(m.source, unit, std::move(m.bytes));
      } else if (m.tag == FAILED) {
        // It throws after this: the units queued for it are never computed nor returned.
        at(m.source) = {0, 0, true};
        fail(decode_failure(m.bytes));
      } else {
        throw Error(ExitCode::INTERNAL, "MPI: unexpected message tag " + std::to_string(m.tag));
      }
    }
    if (worker) {
      for (auto& d : worker->take()) {
        progressed = true;
        if (d.failure) {
          Failure f = describe(d.failure);
          f.message = "rank 0, unit " + std::to_string(d.unit) + ": " + f.message;
          fail(std::move(f));
          --at(COORDINATOR).outstanding;
          ++at(COORDINATOR).credits;
        } else {
          accept(COORDINATOR, d.unit, std::move(d.result));
        }
      }
    }
    // Interrupted: the other ranks got the signal too (mpirun and srun pass it to every rank),
    // so rank 0 does not wait for them; its caller ends the job (Session::abort).
    if (options.cancel && options.cancel->load(std::memory_order_relaxed))
      throw InterruptedError("interrupted; " + std::to_string(next_write - range.first) + " of " +
                             std::to_string(range.count) + " units written");

    while (!failure && !buffer.empty() && buffer.begin()->first == next_write) {
      try {
        write(next_write, buffer.begin()->second);
      } catch (...) {
        fail(describe(std::current_exception()));
        break;
      }
      buffer.erase(buffer.begin());
      ++next_write;
      if (options.progress) options.progress(next_write - range.first, range.count);
    }
    stats.max_buffered = std::max<std::uint64_t>(stats.max_buffered, buffer.size());

    // Hand out, one unit per rank per turn while the window allows; STOP once none are left,
    // ABORT after a failure (each sent once, when the rank has asked: it is then listening).
    for (bool more = true; more;) {
      more = false;
      for (int i = 0; i < ranks; ++i) {
        const int rank = (first_rank + i) % ranks;
        RankState& s = at(rank);
        if (s.stopped || s.credits == 0) continue;
        if (failure || next_unit >= range.end()) {
          if (rank != COORDINATOR)
            send(rank, failure ? ABORT : STOP, failure ? encode_failure(*failure) : std::vector<std::byte>{});
          s.stopped = true;
          progressed = true;
        } else if (next_unit - next_write < window) {
          if (rank == COORDINATOR)
            worker->assign(next_unit);
          else
            send(rank, ASSIGN, encode_unit(next_unit));
          ++next_unit;
          --s.credits;
          ++s.outstanding;
          progressed = more = true;
        }
      }
    }
    first_rank = (first_rank + 1) % ranks;
    if (!progressed && options.poll_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(options.poll_us));
  }
  worker.reset();  // joins the local thread (idle by now)

  if (failure) throw JobFailed(failure->code, failure->message);
  stats.computed = stats.computed_per_rank[COORDINATOR];
  stats.seconds = seconds_since(t0);
  return stats;
}

}  // namespace

Session::Session(int* argc, char*** argv) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw Error(ExitCode::INTERNAL, "MPI: this MPI library does not provide MPI_THREAD_FUNNELED");
  }
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

Session::~Session() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void Session::abort(ExitCode code) const noexcept {
  MPI_Abort(MPI_COMM_WORLD, static_cast<int>(code));
  std::_Exit(static_cast<int>(code));  // MPI_Abort does not return; this satisfies [[noreturn]]
}

std::vector<std::uint64_t> broadcast(const Session& session, std::vector<std::uint64_t> values) {
  std::uint64_t n = values.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, COORDINATOR, MPI_COMM_WORLD), "MPI_Bcast");
  if (session.rank() != COORDINATOR) values.assign(n, 0);
  for (std::uint64_t at = 0; at < n;) {  // in pieces an int counts
    const int piece = static_cast<int>(std::min<std::uint64_t>(n - at, 1u << 28));
    check(MPI_Bcast(values.data() + at, piece, MPI_UINT64_T, COORDINATOR, MPI_COMM_WORLD), "MPI_Bcast");
    at += static_cast<std::uint64_t>(piece);
  }
  return values;
}

DistributeStats distribute_units(const Session& session, UnitRange range, const ComputeUnit& compute, const WriteUnit& write,
                                 const DistributeOptions& options) {
  if (session.rank() == COORDINATOR) return run_coordinator(session, range, compute, write, options);
  return run_worker(session.rank(), compute);
}

}  // namespace lepsim::mpi
