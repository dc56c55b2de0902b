#include "lepsim/run.hpp"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <libdeflate.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <boost/math/distributions/students_t.hpp>

#include "journal_io.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/uncertainty.hpp"
#include "lepsim/version.hpp"
#include "run_units.hpp"

namespace lepsim {

int thread_count(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

//! "77.1 KB", "7.7 TB": sizes for messages, in powers of 1000 as disks are sold.
std::string bytes_text(double b) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1000 && u < 6) b /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

//! Memory this process may still use: the least of MemAvailable, the cgroup's limit and
//! the address-space rlimit; infinity when none is known.
double available_memory() {
  double avail = std::numeric_limits<double>::infinity();
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemAvailable:", 0) == 0) avail = std::min(avail, 1024.0 * std::stod(line.substr(13)));
  for (const char* limit : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(limit);
    std::string v;
    if (in >> v && !v.empty() && std::isdigit(static_cast<unsigned char>(v[0]))) avail = std::min(avail, std::stod(v));
  }
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit rl{};
    if (getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) avail = std::min(avail, static_cast<double>(rl.rlim_cur));
  }
  return avail;
}

namespace {

constexpr double CHUNK_BUDGET_BYTES = 16.0 * 1024 * 1024;  // results held per chunk (three chunks in flight)
constexpr double BASE_MEMORY_BYTES = 64.0 * 1024 * 1024;   // the process, libraries, HDF5 caches
constexpr double SIMULATOR_BYTES_PER_PROJECT = 96;          // a simulator's per-project state and work items
//! The disk check refuses only when the file would not fit even if compression saved 90%.
//! lepsim's series usually compress 2-7x (bsf.toml: 6.8x), so a run that passes can still
//! fill the disk; that is then reported as exit code 4 with nothing left behind.
constexpr double BEST_COMPRESSION = 10.0;

//! Bytes of one replication, by part, from the output registry (the same declarations
//! that size ReplicationResult and write the run file; tests/test_run.cpp compares the
//! estimate with a written file).
struct ReplicationSize {
  double series = 0;           //!< per-step series (/series, completed_cumulative included), bytes
  double series_cells = 0;     //!< values per step and component of all series (their summaries' cells)
  double per_lep = 0;          //!< per-LEP outcomes (/leps), bytes
  double per_replication = 0;  //!< /replications columns, bytes
  double projects = 0;         //!< expected projects
  double per_project = 0;      //!< bytes per project in the results (and in /projects when written)
};

ReplicationSize replication_size(const Scenario& sc) {
  OutputShape shape = output_shape(sc);
  shape.per_project = true;  // the results hold per-project values whether written or not
  const double T = sc.time.steps, A = sc.authority_count();
  ReplicationSize r;
  for (const OutputSpec& spec : output_registry()) {
    if (!present(spec, shape)) continue;
    const auto bytes = static_cast<double>(spec.value_bytes());
    switch (spec.scope) {
      case OutputScope::Series:
        r.series += T * axis_size(spec.axis, shape) * bytes;
        r.series_cells += T * axis_size(spec.axis, shape);
        break;
      case OutputScope::Lep:
        r.per_lep += A * 8;
        break;  // as chunked: 8 bytes a value
      case OutputScope::Replication:
        r.per_replication += bytes;
        break;
      case OutputScope::Project:
        r.per_project += bytes;
        break;
    }
  }
  for (int a = 0; a < sc.authority_count(); ++a) {
    const auto& g = sc.groups[static_cast<std::size_t>(sc.authority_group[static_cast<std::size_t>(a)])];
    r.projects += g.arrivals ? g.arrivals->rate_per_month * std::max(0.0, g.arrivals->end_month - g.arrivals->start_month)
                             : g.schools.mean();
  }
  return r;
}

//! Half-width of the t interval of the mean over |mean| (infinite until it can be computed).
double relative_half_width(const RunningMoments& w, double level) {
  if (w.n < 2) return std::numeric_limits<double>::infinity();
  const double half =
      boost::math::quantile(boost::math::students_t_distribution<double>(static_cast<double>(w.n - 1)), 0.5 + level / 2) *
      std::sqrt(w.m2 / static_cast<double>(w.n - 1) / static_cast<double>(w.n));
  if (half == 0) return 0;
  return w.mean == 0 ? std::numeric_limits<double>::infinity() : half / std::abs(w.mean);
}

//! Refuses, before anything is written, a run whose output cannot fit the disk or whose
//! memory cannot fit the machine, with the estimate in the message.
void check_resources(const Scenario& sc, const std::string& output_path, std::int64_t replications, const RunEstimate& e,
                     double journal_bytes) {
  const std::string reps = std::to_string(replications) + " replication" + (replications == 1 ? "" : "s");
  const auto parent = std::filesystem::path(output_path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  struct statvfs fs {};
  // A missing directory is reported by the writer; pseudo file systems (/proc) report no blocks.
  if (statvfs(dir.c_str(), &fs) == 0 && fs.f_blocks > 0) {
    const double free_bytes = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
    if (e.file_bytes / BEST_COMPRESSION > free_bytes)
      throw OutputError("cannot write " + output_path + ": " + reps + " of scenario '" + sc.name +
                        "' make a run file of about " + bytes_text(e.file_bytes) + " before compression (" +
                        bytes_text(e.file_bytes / static_cast<double>(replications)) + " per replication), and the file system holding " + dir +
                        " has " + bytes_text(free_bytes) +
                        " free, too little even if compression saved 90%: run fewer replications (-r), write "
                        "elsewhere (-o) or turn off [output] per_project");
  }
  const double avail = available_memory();
  if (e.memory_bytes > avail) {
    char projects[32];
    std::snprintf(projects, sizeof projects, "%.0f", e.projects);
    throw ResourceError("not enough memory for " + reps + " of scenario '" + sc.name + "': the run needs about " +
                        bytes_text(e.memory_bytes) + " and about " + bytes_text(avail) + " is available (a replication has about " +
                        projects + " projects; simulating one takes about " + bytes_text(e.simulator_bytes) +
                        " per thread, its results " + bytes_text(e.replication_bytes) + " with " +
                        std::to_string(e.chunk_replications) + " held at once; the summaries read back " +
                        bytes_text(e.summary_bytes) + " at a time): reduce the projects, the horizon or the replications, "
                        "lengthen step_months, or use fewer threads (-t)");
  }
  // The checkpoint holds the results uncompressed until the file is complete (checked
  // after memory, so a run too big for the machine is still refused as such).
  if (journal_bytes > 0 && statvfs(dir.c_str(), &fs) == 0 && fs.f_blocks > 0) {
    const double free_bytes = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
    if (e.file_bytes / BEST_COMPRESSION + journal_bytes > free_bytes)
      throw OutputError("cannot write " + output_path + ": " + reps + " of scenario '" + sc.name + "' need about " +
                        bytes_text(journal_bytes) + " for the checkpoint " + output_path +
                        ".partial (removed when the run is complete) besides the run file, and the file system "
                        "holding " +
                        dir + " has " + bytes_text(free_bytes) +
                        " free: pass --no-checkpoint (an interrupted run then cannot be resumed), run fewer "
                        "replications (-r) or write elsewhere (-o)");
  }
}

}  // namespace

//! Replications per engine chunk. Small enough that a run has about 32 chunks: the caller
//! writes one while the workers simulate the next two, and only the last one's write is not
//! overlapped (one chunk of a whole run of bsf was 22% of a 2-thread run's time at 256
//! replications, 1/32 of it is under 1%). At least 4 per thread to balance the load, and
//! within CHUNK_BUDGET_BYTES of results unless one per thread needs more. Output is not
//! affected: results are appended in replication order whatever the chunking.
static int chunk_for(double replication_bytes, double replications, int threads) {
  const double fit = std::floor(CHUNK_BUDGET_BYTES / replication_bytes);
  const double want = std::max(std::ceil(replications / 32.0), 4.0 * threads);
  return static_cast<int>(std::clamp(std::min(want, std::max<double>(fit, threads)), 1.0, 4096.0));
}

RunEstimate estimate_run(const Scenario& sc, std::int64_t replications, int threads) {
  threads = std::max(1, threads);
  const ReplicationSize size = replication_size(sc);
  RunEstimate e;
  e.projects = size.projects;
  e.replication_bytes = size.series + size.per_lep + size.projects * size.per_project + 64;
  if (sc.chunk_replications > 0) {
    e.chunk_replications = sc.chunk_replications;
  } else {
    e.chunk_replications = chunk_for(e.replication_bytes, static_cast<double>(replications), threads);
  }
  const double R = static_cast<double>(replications);
  // The file: per replication its series, per-LEP values, /projects rows when written and
  // /replications; once, the summaries (8 float64 statistics per series cell) and the
  // scenario twice (verbatim and resolved).
  const double file_replication =
      size.series + size.per_lep + (sc.per_project_output ? size.projects * size.per_project : 0) + size.per_replication;
  e.file_bytes = R * file_replication + 8.0 * std::size(dataset::SUMMARY_STATISTICS) * size.series_cells +
                 2.0 * static_cast<double>(sc.source_text.size());
  // The summaries read one step of the widest series back for every replication at once.
  double widest = 1;
  for (const OutputSpec& spec : output_registry())
    if (spec.is_series() && present(spec, output_shape(sc)))
      widest = std::max(widest, static_cast<double>(axis_size(spec.axis, output_shape(sc))));
  e.summary_bytes = R * (widest + 1) * 8;
  // Simulating: three chunks of results (one being written while the next two are
  // simulated), the writer's pending chunks, and a simulator per worker (result-sized
  // scratch plus per-project state).
  const auto workers = std::min(threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  e.simulator_bytes = e.replication_bytes + SIMULATOR_BYTES_PER_PROJECT * size.projects;
  const double simulating = 3.5 * e.chunk_replications * e.replication_bytes + workers * e.simulator_bytes;
  e.memory_bytes = BASE_MEMORY_BYTES + std::max(simulating, e.summary_bytes);
  return e;
}

int choose_chunk_replications(const Scenario& sc, std::int64_t replications, int threads) {
  return estimate_run(sc, replications, threads).chunk_replications;
}

namespace {

//! Runs body(i, worker) for every i in [0, n) on a fixed set of workers, worker in
//! [0, size()), in the background while the caller does other work: start into one of
//! SLOTS slots, then wait on it; slots run side by side. TBB's scheduler normally; under
//! ThreadSanitizer plain std::threads taking indices from a counter, because Debian's
//! libtbb is not instrumented and TSan would report its internal hand-offs as races in our
//! code (docs/robustness.md).
class Workers {
 public:
  static constexpr int SLOTS = 2;

  explicit Workers(int threads) : threads_(threads)
#ifndef LEPSIM_TSAN
                                  , arena_(threads)
#endif
  {
#ifndef LEPSIM_TSAN
    arena_.initialize();
    threads_ = arena_.max_concurrency();  // worker indices are the arena's slots, [0, this)
#endif
  }
  ~Workers() {
    for (int slot = 0; slot < SLOTS; ++slot) {
      try {
        wait(slot);
      } catch (...) {  // an error of abandoned work: the caller is already handling another
      }
    }
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  //! Worker indices are in [0, size()); a worker runs one body call at a time.
#ifndef LEPSIM_TSAN
  int size() const noexcept { return threads_; }
#else
  int size() const noexcept { return SLOTS * threads_; }  // each slot has its own threads
#endif

  //! Runs body(i, worker) for i in [0, n) in the background in `slot`; `body` must outlive
  //! wait(slot). One run per slot at a time.
  template <class Body>
  void start(int slot, std::uint32_t n, const Body& body) {
#ifndef LEPSIM_TSAN
    arena_.execute([&] { groups_[slot].run([n, &body] { parallel(n, body); }); });
#else
    next_[slot] = 0;
    work_[slot] = [this, slot, n, &body](int w) {
      for (std::uint32_t i; (i = next_[slot].fetch_add(1)) < n;) body(i, slot * threads_ + w);
    };
    for (int w = 1; w < threads_; ++w) pool_[slot].emplace_back([this, slot, w] { guarded(slot, w); });
#endif
  }

  //! Finishes what start began in `slot` (the calling thread joins in); rethrows its error.
  void wait(int slot) {
#ifndef LEPSIM_TSAN
    arena_.execute([&] { groups_[slot].wait(); });
#else
    if (work_[slot]) guarded(slot, 0);
    for (auto& t : pool_[slot]) t.join();
    pool_[slot].clear();
    work_[slot] = nullptr;
    if (errors_[slot]) std::rethrow_exception(std::exchange(errors_[slot], nullptr));
#endif
  }

 private:
#ifndef LEPSIM_TSAN
  template <class Body>
  static void parallel(std::uint32_t n, const Body& body) {
    tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, n, 1), [&](const tbb::blocked_range<std::uint32_t>& r) {
      const int worker = tbb::this_task_arena::current_thread_index();
      for (std::uint32_t i = r.begin(); i != r.end(); ++i) body(i, worker);
    });
  }
#endif

  int threads_;
#ifndef LEPSIM_TSAN
  tbb::task_arena arena_;
  tbb::task_group groups_[SLOTS];
#else
  //! Worker w of `slot` takes indices until none is left; the first error is kept.
  void guarded(int slot, int w) {
    try {
      work_[slot](w);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex_);
      if (!errors_[slot]) errors_[slot] = std::current_exception();
    }
  }
  std::atomic<std::uint32_t> next_[SLOTS];
  std::function<void(int)> work_[SLOTS];
  std::vector<std::thread> pool_[SLOTS];
  std::exception_ptr errors_[SLOTS];
  std::mutex error_mutex_;
#endif
};

}  // namespace

void simulate_range(const Scenario& sc, std::uint64_t seed, std::uint32_t first, std::uint32_t count, int threads,
                    int chunk, const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel, const std::function<void(std::uint32_t)>& progress) {
  threads = thread_count(threads);
  if (chunk <= 0) chunk = choose_chunk_replications(sc, count, threads);
  if (count == 0) return;
  const auto interrupted = [&](std::uint32_t done) {
    return InterruptedError("interrupted after " + std::to_string(done) + " of " + std::to_string(count) + " replications");
  };
  if (cancel && cancel->load()) throw interrupted(0);
  // One simulator per worker, built by that worker on first use and reused for every chunk.
  std::vector<std::optional<Simulator>> simulators;
  // Progress: each worker reports the count it brought the range to.
  std::atomic<std::uint32_t> finished{0};
  std::atomic<bool> abandon{false};  // set when the sink fails: the chunks in flight are dropped
  const auto stopped = [&] { return (cancel && cancel->load(std::memory_order_relaxed)) || abandon.load(std::memory_order_relaxed); };
  // Chunks in flight: while the calling thread hands chunk k to the sink (the run file),
  // the workers simulate chunks k+1 and k+2, so no worker waits at a chunk's end for the
  // slowest replication of it. Each replication writes only its own slot, so a chunk is the
  // same whatever the thread count. With one thread the caller simulates while it waits.
  struct Chunk {
    std::uint32_t start = 0, n = 0;
    std::vector<ReplicationResult> results;
    std::function<void(std::uint32_t, int)> body;
  };
  constexpr int IN_FLIGHT = Workers::SLOTS + 1;  // being simulated (2) and being written (1)
  Chunk chunks[IN_FLIGHT];
  const auto chunk_u = static_cast<std::uint32_t>(chunk);
  // Second-order Monte Carlo: each replication's scenario carries its draw's vector
  // (lepsim/uncertainty.hpp). Declared before the workers so that it outlives them: after
  // an interruption ~Workers waits for the chunks still in flight, which use it.
  std::optional<DrawnSimulators> drawn;
  Workers workers(threads);
  simulators.resize(static_cast<std::size_t>(workers.size()));
  if (sc.uncertainty.draw != UncertaintyDraw::OFF) drawn.emplace(sc, workers.size());
  std::uint32_t next_start = 0;
  std::uint64_t launched = 0;  // chunks started so far; chunk k uses buffer k % IN_FLIGHT, slot k % SLOTS
  const auto launch = [&] {
    if (next_start >= count) return;
    Chunk& c = chunks[launched % IN_FLIGHT];
    c.start = next_start;
    c.n = std::min(chunk_u, count - next_start);
    next_start += c.n;
    if (c.results.size() < c.n) c.results.resize(c.n);
    c.body = [&, mine = &c](std::uint32_t i, int worker) {  // `mine`: the buffer, not launch's local reference
      // Checked per replication, so a signal stops the run within one replication.
      if (stopped()) return;
      if (drawn) {
        drawn->run(worker, seed, first + mine->start + i, mine->results[i]);
      } else {
        auto& sim = simulators[static_cast<std::size_t>(worker)];
        if (!sim) sim.emplace(sc);
        sim->run(seed, first + mine->start + i, mine->results[i]);
      }
      const std::uint32_t n_done = finished.fetch_add(1, std::memory_order_relaxed) + 1;
      if (progress) progress(n_done);  // from this worker: counts may arrive out of order
    };
    workers.start(static_cast<int>(launched % Workers::SLOTS), c.n, c.body);
    ++launched;
  };
  for (int k = 0; k < Workers::SLOTS; ++k) launch();
  for (std::uint64_t k = 0; k < launched; ++k) {
    workers.wait(static_cast<int>(k % Workers::SLOTS));
    // A cancelled chunk is incomplete: it must never reach the sink.
    if (cancel && cancel->load()) throw interrupted(finished.load());
    const Chunk& c = chunks[k % IN_FLIGHT];
    launch();  // into the slot just freed and the buffer written two chunks ago
    try {
      sink(std::span<const ReplicationResult>(c.results.data(), c.n));
    } catch (...) {
      abandon = true;  // ~Workers waits for the chunks in flight, which stop at once
      throw;
    }
  }
}

namespace {

// ---- The run's checkpoint journal (docs/run-file-format.md, "The checkpoint journal") ----

// Version 2: chunks are checked by CRC-32 (libdeflate, ≈10 GB/s) instead of byte-wise FNV-1a,
// whose multiply chain cost ≈0.15 ms per bsf replication (docs/performance.md, "Writing").
constexpr char RUN_JOURNAL_MAGIC[8] = {'L', 'E', 'P', 'R', 'J', 'N', 'L', '2'};
constexpr std::uint32_t CHUNK_MAGIC = 0x4B4E4843u;  // "CHNK"

struct RunJournalHeader {
  char magic[8];
  std::uint64_t fingerprint;  //!< FNV-1a of the run's identity (run_fingerprint)
  std::uint64_t seed;
  std::uint64_t replications;
  std::uint64_t checksum;  //!< FNV-1a of the fields above
};
static_assert(sizeof(RunJournalHeader) == 40);

struct ChunkHead {
  std::uint32_t magic, first, count, reserved;
  std::uint64_t payload_bytes;
};
static_assert(sizeof(ChunkHead) == 24);

//! A chunk's checksum: CRC-32 (zlib's) of its head and then its payload, zero-extended.
std::uint64_t chunk_checksum(const void* head, const void* payload, std::size_t payload_bytes) {
  const std::uint32_t crc = libdeflate_crc32(0, head, sizeof(ChunkHead));
  return libdeflate_crc32(crc, payload, payload_bytes);
}

std::uint64_t run_header_checksum(const RunJournalHeader& h) {
  detail::Fnv f;
  f.add(&h, offsetof(RunJournalHeader, checksum));
  return f.h;
}

//! Everything a run file's contents depend on but the replications simulated.
std::uint64_t run_fingerprint(const Scenario& sc, std::uint64_t seed, std::int64_t replications) {
  detail::Fnv f;
  f.add(std::string(engine_version()));
  f.add_value(RUN_FORMAT_MAJOR);
  f.add_value(RUN_FORMAT_MINOR);
  f.add(sc.source_text);
  for (const auto& [path, text] : sc.base_files) f.add(text);
  f.add(sc.resolved_toml());
  f.add_value(seed);
  f.add_value(replications);
  return f.h;
}

//! The fields of ReplicationResult the run file is written from: every field the output
//! registry names, and those the writer derives outputs from (completions, projects).
struct ResultFields {
  std::vector<std::vector<std::int32_t> ReplicationResult::*> ints;
  std::vector<std::vector<double> ReplicationResult::*> reals;
  std::vector<std::int32_t ReplicationResult::*> scalars;
};

const ResultFields& result_fields() {
  static const ResultFields fields = [] {
    ResultFields f;
    auto add = [](auto& list, auto member) {
      if (member && std::find(list.begin(), list.end(), member) == list.end()) list.push_back(member);
    };
    for (const OutputSpec& spec : output_registry()) {
      add(f.ints, spec.ints);
      add(f.reals, spec.reals);
      add(f.scalars, spec.scalar);
    }
    add(f.ints, &ReplicationResult::completions);
    for (auto m :
         {&ReplicationResult::steps, &ReplicationResult::stages, &ReplicationResult::disciplines, &ReplicationResult::pools,
          &ReplicationResult::projects, &ReplicationResult::completed, &ReplicationResult::finish_step})
      add(f.scalars, m);
    return f;
  }();
  return fields;
}

template <class T>
void put(std::vector<char>& out, const T* data, std::size_t n) {
  const auto* b = reinterpret_cast<const char*>(data);
  out.insert(out.end(), b, b + static_cast<std::ptrdiff_t>(n * sizeof(T)));
}

//! A chunk's results as bytes: per replication its scalars, then each vector as its
//! length (uint64) and values, in result_fields() order.
void serialise(std::span<const ReplicationResult> chunk, std::vector<char>& out) {
  const ResultFields& f = result_fields();
  for (const ReplicationResult& r : chunk) {
    for (auto m : f.scalars) put(out, &(r.*m), 1);
    auto vec = [&](const auto& v) {
      const std::uint64_t n = v.size();
      put(out, &n, 1);
      put(out, v.data(), v.size());
    };
    for (auto m : f.ints) vec(r.*m);
    for (auto m : f.reals) vec(r.*m);
  }
}

//! The inverse of serialise; false if the bytes do not hold `count` results exactly.
bool deserialise(const std::vector<char>& in, std::uint32_t count, std::vector<ReplicationResult>& out) {
  const ResultFields& f = result_fields();
  std::size_t at = 0;
  auto take = [&](void* dst, std::size_t bytes) {
    if (in.size() - at < bytes) return false;
    if (bytes == 0) return true;  // an empty vector's data() may be null: memcpy must not see it
    std::memcpy(dst, in.data() + at, bytes);
    at += bytes;
    return true;
  };
  out.assign(count, ReplicationResult{});
  for (ReplicationResult& r : out) {
    for (auto m : f.scalars)
      if (!take(&(r.*m), sizeof(std::int32_t))) return false;
    auto vec = [&](auto& v) {
      std::uint64_t n = 0;
      if (!take(&n, sizeof n) || n > (in.size() - at) / sizeof(v[0])) return false;
      v.resize(n);
      return take(v.data(), n * sizeof(v[0]));
    };
    for (auto m : f.ints)
      if (!vec(r.*m)) return false;
    for (auto m : f.reals)
      if (!vec(r.*m)) return false;
  }
  return at == in.size();
}

//! The append-only journal of a run's finished chunks, in replication order; holds an
//! exclusive lock while open. Opening it with `resume` checks its identity and replays
//! every whole chunk (a chunk torn by a kill, and everything after it, is dropped).
class RunJournal {
 public:
  RunJournal(const std::string& path, const RunJournalHeader& want, bool resume,
             const std::function<void(std::span<const ReplicationResult>)>& replay)
      : path_(path) {
    std::error_code ec;
    const bool existed = std::filesystem::exists(path, ec);
    if (existed && !resume) std::filesystem::remove(path, ec);
    fd_ = detail::open_journal(path);
    RunJournalHeader h{};
    std::uint64_t end = sizeof h;
    if (resume && existed && detail::read_at(fd_, &h, sizeof h, 0)) {
      if (std::memcmp(h.magic, RUN_JOURNAL_MAGIC, 8) != 0 || h.checksum != run_header_checksum(h))
        fail("is not the checkpoint of a lepsim run (or its header is damaged); remove it or pass --force");
      if (h.fingerprint != want.fingerprint || h.seed != want.seed || h.replications != want.replications)
        fail("belongs to a different run (seed " + std::to_string(h.seed) + ", " + std::to_string(h.replications) +
             " replications; this one: seed " + std::to_string(want.seed) + ", " + std::to_string(want.replications) +
             "; or the scenario or engine version differ): run the command that started it, or pass --force to start "
             "again");
      std::vector<char> buf;
      std::vector<ReplicationResult> results;
      for (;;) {
        ChunkHead ch{};
        if (!detail::read_at(fd_, &ch, sizeof ch, end) || ch.magic != CHUNK_MAGIC ||
            ch.first != static_cast<std::uint64_t>(done_) || ch.count == 0 ||
            ch.first + static_cast<std::uint64_t>(ch.count) > want.replications)
          break;
        buf.resize(ch.payload_bytes);
        std::uint64_t sum = 0;
        if (!detail::read_at(fd_, buf.data(), buf.size(), end + sizeof ch) ||
            !detail::read_at(fd_, &sum, sizeof sum, end + sizeof ch + buf.size()))
          break;
        if (chunk_checksum(&ch, buf.data(), buf.size()) != sum || !deserialise(buf, ch.count, results))
          break;  // torn by a kill: redone
        replay(std::span<const ReplicationResult>(results.data(), results.size()));
        done_ += ch.count;
        end += sizeof ch + buf.size() + sizeof sum;
      }
      resumed_ = true;
    } else {
      h = want;
      if (::ftruncate(fd_, 0) != 0) fail(std::string("cannot be truncated: ") + std::strerror(errno));
      detail::write_all(fd_, &h, sizeof h, path_);
    }
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) fail(std::string("cannot be truncated: ") + std::strerror(errno));
    if (::lseek(fd_, static_cast<off_t>(end), SEEK_SET) < 0)
      fail(std::string("cannot be positioned: ") + std::strerror(errno));
  }
  ~RunJournal() {
    if (fd_ >= 0) ::close(fd_);
  }
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  bool resumed() const { return resumed_; }
  std::int64_t done() const { return done_; }

  //! The next chunk (replications done() onwards), written with one write() and a checksum.
  void append(std::span<const ReplicationResult> chunk) {
    buf_.assign(sizeof(ChunkHead), 0);
    serialise(chunk, buf_);
    const ChunkHead ch{CHUNK_MAGIC, static_cast<std::uint32_t>(done_), static_cast<std::uint32_t>(chunk.size()), 0,
                       buf_.size() - sizeof(ChunkHead)};
    std::memcpy(buf_.data(), &ch, sizeof ch);
    const std::uint64_t sum = chunk_checksum(buf_.data(), buf_.data() + sizeof ch, buf_.size() - sizeof ch);
    put(buf_, &sum, 1);
    detail::write_all(fd_, buf_.data(), buf_.size(), path_);
    done_ += static_cast<std::int64_t>(chunk.size());
  }

  //! Closes and deletes the journal (the run file is complete).
  void remove() {
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

 private:
  [[noreturn]] void fail(const std::string& why) { detail::journal_failed(fd_, path_, why); }
  std::string path_;
  int fd_ = -1;
  std::int64_t done_ = 0;
  bool resumed_ = false;
  std::vector<char> buf_;
};

}  // namespace

std::vector<std::string> convergence_outputs(const Scenario& sc) { return metric_names(output_shape(sc)); }

RunInfo run_scenario(const Scenario& sc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  RunInfo info;
  info.output_path = opt.output_path;
  const std::optional<ConvergenceRule>& rule = opt.convergence;
  std::vector<Metric> watched;  // the rule's outputs, parsed
  info.replications = rule ? rule->max_replications : opt.replications.value_or(sc.replications);
  info.seed = opt.seed.value_or(sc.seed);
  info.threads = thread_count(opt.threads);
  if (info.replications < 1 || info.replications > MAX_REPLICATIONS)
    throw UsageError(std::string(rule ? "the convergence rule's max_replications" : "replications") + " = " +
                     std::to_string(info.replications) + ": must be between 1 and " + std::to_string(MAX_REPLICATIONS));
  if (rule) {
    std::string list;
    for (const auto& v : convergence_outputs(sc)) list += (list.empty() ? "" : ", ") + v;
    if (rule->outputs.empty()) throw UsageError("a convergence rule needs an output; outputs of this scenario: " + list);
    for (const auto& o : rule->outputs) {
      try {
        parse_metric(o);
      } catch (const UsageError&) {
        throw UsageError("convergence output " + o + ": not an output of this scenario; choose from: " + list);
      }
      try {
        watched.push_back(parse_metric(o, output_shape(sc)));
      } catch (const UsageError& e) {
        throw UsageError(std::string("convergence output: ") + e.what() + "; choose from: " + list);
      }
    }
    if (!(rule->precision > 0)) throw UsageError("convergence precision must be > 0, e.g. 0.01 for 1%");
    if (!(rule->level > 0 && rule->level < 1)) throw UsageError("convergence level must be between 0 and 1");
    if (rule->check_every < 2) throw UsageError("convergence check_every must be at least 2 replications");
  }
  // The checkpoint journal (docs/robustness.md, "Resuming a run"): fixed-count runs only.
  if (opt.resume && rule)
    throw UsageError("--resume cannot continue a --precision run (its journal is not kept); run it again");
  // Over MPI ranks and as shards (run_cluster.cpp, docs/cluster.md): fixed-count runs only.
  if ((opt.executor || opt.shard) && rule)
    throw UsageError("a --precision run runs in one process: not over MPI ranks or as shards (--shard)");
  if (opt.shard) return detail::run_shard(sc, opt, info);
  if (opt.executor && !opt.executor->writer()) {  // a rank that only computes blocks
    detail::run_over_ranks(*opt.executor, sc, info.seed, 0, info.replications, 0, info.threads, {}, opt.cancel, {});
    return info;
  }
  const bool journalled = opt.checkpoint && !rule;
  const RunEstimate estimate = estimate_run(sc, info.replications, info.threads);
  check_resources(sc, opt.output_path, info.replications, estimate,
                  journalled ? static_cast<double>(info.replications) * estimate.replication_bytes : 0);
  const int chunk = estimate.chunk_replications;

  const std::string jpath = journal_path(opt.output_path);
  std::error_code ec;
  if (journalled && !opt.resume && !opt.force && std::filesystem::exists(jpath, ec))
    throw OutputError("an unfinished run of " + opt.output_path + " is checkpointed in " + jpath +
                      ": pass --resume to continue it or --force to start again");

  // The writer's destructor removes its temporary on any failure, before the handlers
  // below run, so their messages can say that nothing is left behind (but the journal).
  std::optional<RunJournal> journal;
  const auto not_written = [&] {
    std::string m = "; " + opt.output_path + " was not written and no temporary file is left";
    if (journal && journal->done() > 0)
      m += "; " + std::to_string(journal->done()) + " of " + std::to_string(info.replications) +
           " replications are checkpointed in " + jpath + ": run the same command with --resume to finish";
    return m;
  };
  // A second-order run's inputs or posterior are checked before anything is written.
  const std::optional<UncertaintyPlan> uncertainty =
      sc.uncertainty.draw != UncertaintyDraw::OFF ? std::optional<UncertaintyPlan>(UncertaintyPlan(sc)) : std::nullopt;
  try {
    RunFileWriter writer(opt.output_path, sc, info.seed, static_cast<int>(info.replications), opt.force);
    std::int64_t done = 0;
    std::vector<RunningMoments> watch(watched.size());
    if (journalled) {
      RunJournalHeader want{};
      std::memcpy(want.magic, RUN_JOURNAL_MAGIC, 8);
      want.fingerprint = run_fingerprint(sc, info.seed, info.replications);
      want.seed = info.seed;
      want.replications = static_cast<std::uint64_t>(info.replications);
      want.checksum = run_header_checksum(want);
      // Replayed chunks go to the writer exactly as they went the first time.
      journal.emplace(jpath, want, opt.resume, [&](std::span<const ReplicationResult> results) { writer.append(results, info.threads); });
      done = journal->done();
      info.resumed_replications = done;
      if (journal->resumed()) detail::remove_stale_temporaries(opt.output_path);  // run_cluster.cpp
      if (opt.note && journal->resumed())
        opt.note("resuming from " + jpath + ": " + std::to_string(done) + " of " + std::to_string(info.replications) +
                 " replications already done");
    }
    const std::int64_t resumed = done;
    auto sink = [&](std::span<const ReplicationResult> results) {
      if (journal) journal->append(results);
      writer.append(results, info.threads);
      for (const ReplicationResult& r : results)
        for (std::size_t k = 0; k < watch.size(); ++k) watch[k].add(watched[k].value(r, sc.time.step_months));
      done += static_cast<std::int64_t>(results.size());
    };
    // Without a rule: one range. With one: segments of check_every replications, checked
    // after each (the schedule depends on nothing but the rule, so neither do the bits).
    const std::int64_t segment = rule ? rule->check_every : info.replications - resumed;
    if (opt.executor) {  // blocks over MPI ranks, journalled and written here in order
      info.block = opt.block.value_or(chunk);
      detail::run_over_ranks(*opt.executor, sc, info.seed, resumed, info.replications, info.block, info.threads, sink,
                             opt.cancel, [&](std::int64_t reached) {
                               if (opt.progress) opt.progress(resumed + reached, info.replications);
                             });
    }
    for (std::int64_t first = opt.executor ? info.replications : resumed; first < info.replications; first += segment) {
      const auto n = static_cast<std::uint32_t>(std::min(segment, info.replications - first));
      simulate_range(sc, info.seed, static_cast<std::uint32_t>(first), n, info.threads, chunk, sink, opt.cancel,
                     [&](std::uint32_t finished) {
                       // Replications simulated: this segment's first plus those finished in it.
                       if (opt.progress) opt.progress(first + finished, info.replications);
                     });
      if (rule) {
        info.relative_half_width.clear();
        bool met = true;
        for (const RunningMoments& w : watch) {
          info.relative_half_width.push_back(relative_half_width(w, rule->level));
          met = met && info.relative_half_width.back() <= rule->precision;
        }
        info.converged = met;
        if (met) break;
      }
    }
    if (opt.cancel && opt.cancel->load()) throw InterruptedError("interrupted after the last replication");
    if (rule) {
      std::ostringstream text;
      text << "replications added " << rule->check_every << " at a time until the " << rule->level * 100
           << "% t-interval half-width of the mean of each output is within " << rule->precision * 100
           << "% of the mean, or " << rule->max_replications << " replications";
      writer.set_convergence(text.str(), info.converged, rule->outputs, info.relative_half_width);
      info.replications = done;
    }
    if (uncertainty) writer.set_uncertainty(*uncertainty, drawn_vectors(*uncertainty, info.seed, done, info.threads));
    if (opt.phase) opt.phase("writing summaries");
    writer.finish(info.threads);
    if (journal) journal->remove();
  } catch (const InterruptedError& e) {
    if (journal && journal->done() == 0) journal->remove();  // nothing to resume from
    throw InterruptedError(e.what() + not_written());
  } catch (const OutputError& e) {
    if (journal && journal->done() == 0) journal->remove();
    const std::string what = e.what();
    // An existing file refused without --force is still there, untouched: say nothing more.
    if (what.find("already exists") != std::string::npos || what.find("the checkpoint ") == 0) throw;
    throw OutputError(what + not_written());
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

namespace detail {

void serialise_results(std::span<const ReplicationResult> results, std::vector<char>& out) { serialise(results, out); }

bool deserialise_results(const std::vector<char>& in, std::uint32_t count, std::vector<ReplicationResult>& out) {
  return deserialise(in, count, out);
}

std::uint64_t run_identity(const Scenario& sc, std::uint64_t seed, std::int64_t replications) {
  return run_fingerprint(sc, seed, replications);
}

}  // namespace detail

}  // namespace lepsim
