// Running an experiment: (point, block) units on worker threads, each journalled to
// `<output>.partial` as it finishes, then the HDF5 file assembled from the journal.
// docs/experiments.md ("Checkpoint and resume") describes the journal.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "experiment_file.hpp"
#include "journal_io.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/run.hpp"
#include "lepsim/uncertainty.hpp"
#include "lepsim/version.hpp"

namespace lepsim {

namespace {

using detail::Fnv;
using detail::read_at;
using detail::write_all;

constexpr char JOURNAL_MAGIC[8] = {'L', 'E', 'P', 'X', 'J', 'N', 'L', '1'};
constexpr std::uint32_t RECORD_MAGIC = 0x5245434Bu;  // "KCER"

struct JournalHeader {
  char magic[8];
  std::uint64_t fingerprint;
  std::uint64_t points;
  std::uint64_t replications;
  std::uint32_t block;
  std::uint32_t row_doubles;
  std::uint64_t checksum;  // FNV-1a of the fields above
};
static_assert(sizeof(JournalHeader) == 48);

struct RecordHead {
  std::uint32_t magic, point, first, count;
};

std::uint64_t header_checksum(const JournalHeader& h) {
  Fnv f;
  f.add(&h, offsetof(JournalHeader, checksum));
  return f.h;
}

//! Everything a unit's results depend on, so a journal is never resumed into another experiment.
std::uint64_t fingerprint_of(const Experiment& ex, const std::vector<DesignPoint>& pts) {
  Fnv f;
  f.add(std::string(engine_version()));
  f.add(ex.source_text);
  f.add(ex.base.source_text);
  for (const auto& [p, t] : ex.base.base_files) f.add(t);
  f.add(ex.base.resolved_toml());
  f.add_value(ex.seed);
  f.add_value(static_cast<int>(ex.streams));
  f.add_value(ex.replications);
  for (const auto& m : ex.metrics) f.add(m);
  for (const auto& s : ex.series) f.add(s);
  for (const auto& p : pts) {
    f.add_value(p.id);
    for (double v : p.values) f.add_value(v);
  }
  return f.h;
}

//! The append-only journal of finished units; holds an exclusive lock while open.
class Journal {
 public:
  Journal(const std::string& path, const JournalHeader& want, bool resume, std::size_t units,
          const std::function<std::int64_t(std::uint32_t, std::uint32_t, std::uint32_t)>& unit_of,
          std::size_t record_bytes_per_rep)
      : path_(path), offsets_(units, NONE) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool existed = fs::exists(path, ec);
    if (existed && !resume) fs::remove(path, ec);
    fd_ = detail::open_journal(path);
    JournalHeader h{};
    std::uint64_t end = 0;
    if (resume && existed && read_at(fd_, &h, sizeof h, 0)) {
      if (std::memcmp(h.magic, JOURNAL_MAGIC, 8) != 0 || h.checksum != header_checksum(h))
        fail("is not a lepsim experiment checkpoint (or its header is damaged); remove it or pass --force");
      if (h.fingerprint != want.fingerprint || h.points != want.points || h.replications != want.replications ||
          h.row_doubles != want.row_doubles)
        fail(
            "belongs to a different experiment (its text, base scenario, design, seed, metrics or engine version "
            "differ); pass --force to start again");
      if (h.block != want.block)
        fail("was written with blocks of " + std::to_string(h.block) + " replications; resume with --block " +
             std::to_string(h.block));
      std::uint64_t off = sizeof h;
      std::vector<char> buf;
      for (;;) {
        RecordHead rh{};
        if (!read_at(fd_, &rh, sizeof rh, off) || rh.magic != RECORD_MAGIC) break;
        const std::int64_t u = unit_of(rh.point, rh.first, rh.count);
        if (u < 0) break;
        const std::size_t payload = rh.count * record_bytes_per_rep;
        buf.resize(sizeof rh + payload);
        std::uint64_t sum = 0;
        if (!read_at(fd_, buf.data(), buf.size(), off) || !read_at(fd_, &sum, sizeof sum, off + buf.size())) break;
        Fnv f;
        f.add(buf.data(), buf.size());
        if (f.h != sum) break;  // a record torn by a kill: everything from here is redone
        if (offsets_[static_cast<std::size_t>(u)] == NONE) ++done_units_, done_reps_ += rh.count;
        offsets_[static_cast<std::size_t>(u)] = off;
        off += buf.size() + sizeof sum;
      }
      end = off;
      resumed_ = true;
    } else {
      h = want;
      if (::ftruncate(fd_, 0) != 0) fail(std::string("cannot be truncated: ") + std::strerror(errno));
      write_all(fd_, &h, sizeof h, path_);
      end = sizeof h;
    }
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) fail(std::string("cannot be truncated: ") + std::strerror(errno));
    if (::lseek(fd_, static_cast<off_t>(end), SEEK_SET) < 0)
      fail(std::string("cannot be positioned: ") + std::strerror(errno));
    end_ = end;
  }
  ~Journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  bool done(std::size_t unit) const { return offsets_[unit] != NONE; }
  bool resumed() const { return resumed_; }
  std::int64_t done_replications() const { return done_reps_; }

  //! One unit's results, written with a single write() and a checksum (thread-safe).
  void append(std::size_t unit, std::uint32_t point, std::uint32_t first, std::uint32_t count,
              const std::vector<double>& rows) {
    const RecordHead rh{RECORD_MAGIC, point, first, count};
    const std::size_t bytes = rows.size() * sizeof(double);
    std::vector<char> buf(sizeof rh + bytes + sizeof(std::uint64_t));
    std::memcpy(buf.data(), &rh, sizeof rh);
    std::copy_n(reinterpret_cast<const char*>(rows.data()), bytes, buf.data() + sizeof rh);
    Fnv f;
    f.add(buf.data(), buf.size() - sizeof(std::uint64_t));
    std::memcpy(buf.data() + buf.size() - sizeof(std::uint64_t), &f.h, sizeof f.h);
    std::lock_guard lock(mutex_);
    write_all(fd_, buf.data(), buf.size(), path_);
    offsets_[unit] = end_;
    end_ += buf.size();
  }

  //! A unit's rows back from the journal.
  void read(std::size_t unit, double* rows, std::size_t values) const {
    if (!read_at(fd_, rows, values * sizeof(double), offsets_[unit] + sizeof(RecordHead)))
      throw OutputError("cannot read the checkpoint " + path_ + " back: " + std::strerror(errno));
  }

 private:
  static constexpr std::uint64_t NONE = ~std::uint64_t{0};
  [[noreturn]] void fail(const std::string& why) { detail::journal_failed(fd_, path_, why); }
  std::string path_;
  int fd_ = -1;
  std::vector<std::uint64_t> offsets_;
  std::uint64_t end_ = 0;
  std::int64_t done_units_ = 0, done_reps_ = 0;
  bool resumed_ = false;
  std::mutex mutex_;
};

}  // namespace

namespace detail {
std::uint64_t fnv1a(std::string_view text) {
  Fnv f;
  f.add(text.data(), text.size());
  return f.h;
}
std::uint64_t experiment_fingerprint(const Experiment& ex, const std::vector<DesignPoint>& pts) {
  return fingerprint_of(ex, pts);
}
}  // namespace detail

namespace {

int default_block(std::int64_t replications) { return static_cast<int>(std::min<std::int64_t>(replications, 16)); }

}  // namespace

std::string journal_path(const std::string& output_path) { return output_path + ".partial"; }

ExperimentEstimate estimate_experiment(const Experiment& ex, std::int64_t points, int threads) {
  ExperimentEstimate e;
  e.points = points;
  e.replications = ex.replications;
  e.block = ex.block > 0 ? ex.block : default_block(ex.replications);
  const std::int64_t blocks = (ex.replications + e.block - 1) / e.block;
  e.units = points * blocks;
  const double P = static_cast<double>(points), R = static_cast<double>(ex.replications);
  const double T = ex.base.time.steps, M = static_cast<double>(ex.metrics.size()), S = static_cast<double>(ex.series.size());
  const double row = 8 * (M + S * T);
  e.file_bytes = P * R * M * 8 + P * S * T * 8 * 8 + P * (8.0 * static_cast<double>(ex.factors.size()) + 120) + 64e3;
  e.journal_bytes = 48 + static_cast<double>(e.units) * 24 + P * R * row;
  const RunEstimate one = estimate_run(ex.base, 1, 1);
  e.memory_bytes = threads * (one.simulator_bytes + one.replication_bytes + e.block * row) + 2 * R * row +
                   static_cast<double>(e.units) * 8 + P * (8.0 * static_cast<double>(ex.factors.size()) + 200) +
                   20e6;  // the process itself: libraries, HDF5 and its caches (22 MB RSS measured on bsf)
  return e;
}

ExperimentInfo run_experiment(const Experiment& ex, const ExperimentOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<DesignPoint> pts = expand_design(ex);
  // Every point's scenario is checked before anything runs.
  {
    std::vector<Diagnostic> diags;
    for (const auto& p : pts) try {
        (void)scenario_at(ex, p);
      } catch (const ScenarioError& e) {
        for (const auto& d : e.diagnostics()) diags.push_back(d);
        if (diags.size() > 50) break;
      }
    // A factor at a path an uncertain input sets would be overwritten by every draw.
    for (const Factor& f : ex.factors)
      for (const UncertainInput& in : ex.base.uncertainty.inputs)
        if (ex.base.uncertainty.draw == UncertaintyDraw::INPUTS && !in.scale && in.path == f.path)
          diags.push_back({ex.source_path, f.line, "factor." + f.name, "\"" + f.path + "\"",
                           "the base scenario draws this path as an uncertain input (mode \"set\"), which would replace "
                           "the factor's value in every replication: make the input a scale, or drop one of them"});
    if (!diags.empty()) throw ScenarioError(std::move(diags));
  }
  const int threads = thread_count(opt.threads);
  Experiment exb = ex;  // with the block chosen
  if (opt.block) exb.block = *opt.block;
  if (exb.block <= 0) exb.block = default_block(ex.replications);
  const int B = exb.block;
  const bool is_writer = !opt.executor || opt.executor->writer();
  const ExperimentEstimate est = estimate_experiment(exb, static_cast<std::int64_t>(pts.size()), threads);

  namespace fs = std::filesystem;
  std::error_code ec;
  if (is_writer && fs::exists(opt.output_path, ec) && !opt.force)  // (other ranks: rank 0 is creating them)
    throw OutputError("output file " + opt.output_path +
                      " already exists; choose another name with -o or pass --force to overwrite it");
  const std::string jpath = journal_path(opt.output_path);
  if (is_writer && fs::exists(jpath, ec) && !opt.resume && !opt.force)
    throw OutputError("an unfinished run of this output is checkpointed in " + jpath +
                      ": pass --resume to continue it or --force to start again");
  if (opt.note && is_writer) {
    opt.note("experiment '" + ex.name + "': " + std::to_string(pts.size()) + " points x " + std::to_string(ex.replications) +
             " replications = " + std::to_string(static_cast<std::int64_t>(pts.size()) * ex.replications) + " runs in " +
             std::to_string(est.units) + " units of up to " + std::to_string(B) + "; file about " +
             bytes_text(est.file_bytes) + " before compression, checkpoint up to " + bytes_text(est.journal_bytes) +
             ", memory about " + bytes_text(est.memory_bytes) + " on " + std::to_string(threads) + " thread" +
             (threads == 1 ? "" : "s"));
  }
  const auto parent = fs::path(opt.output_path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  struct statvfs vfs {};
  if (is_writer && statvfs(dir.c_str(), &vfs) == 0 && vfs.f_blocks > 0) {
    const double free_bytes = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
    if (est.file_bytes + est.journal_bytes > free_bytes)
      throw OutputError("cannot write " + opt.output_path + ": the experiment needs about " +
                        bytes_text(est.file_bytes + est.journal_bytes) + " (file " + bytes_text(est.file_bytes) +
                        ", checkpoint " + bytes_text(est.journal_bytes) + ") and " + dir + " has " + bytes_text(free_bytes) +
                        " free: fewer points, replications or series, or write elsewhere (-o)");
  }
  if (est.memory_bytes > available_memory())
    throw ResourceError("not enough memory for experiment '" + ex.name + "': it needs about " +
                        bytes_text(est.memory_bytes) + " and about " + bytes_text(available_memory()) +
                        " is available: use fewer threads (-t), "
                        "a smaller block or fewer replications per point");

  const std::size_t P = pts.size(), R = static_cast<std::size_t>(ex.replications);
  const std::size_t T = static_cast<std::size_t>(ex.base.time.steps), M = ex.metrics.size(), S = ex.series.size();
  const std::size_t row = M + S * T;
  const std::size_t blocks = (R + static_cast<std::size_t>(B) - 1) / static_cast<std::size_t>(B);
  const std::size_t units = P * blocks;
  auto unit_first = [&](std::size_t u) { return static_cast<std::uint32_t>((u % blocks) * static_cast<std::size_t>(B)); };
  auto unit_count = [&](std::size_t u) {
    return static_cast<std::uint32_t>(std::min<std::size_t>(static_cast<std::size_t>(B), R - unit_first(u)));
  };

  JournalHeader want{};
  std::memcpy(want.magic, JOURNAL_MAGIC, 8);
  const std::uint64_t fp = fingerprint_of(exb, pts);
  want.fingerprint = fp;
  const UnitRange range = opt.shard ? shard_units(units, *opt.shard) : UnitRange{0, units};
  if (opt.shard) {  // a shard's checkpoint is its own: never resumed as another share
    Fnv f;
    f.add_value(fp);
    f.add_value(range.first);
    f.add_value(range.count);
    want.fingerprint = f.h;
  }
  want.points = P;
  want.replications = R;
  want.block = static_cast<std::uint32_t>(B);
  want.row_doubles = static_cast<std::uint32_t>(row);
  want.checksum = header_checksum(want);
  std::optional<Journal> journal;
  if (is_writer)
    journal.emplace(
        jpath, want, opt.resume, units,
        [&](std::uint32_t p, std::uint32_t first, std::uint32_t count) -> std::int64_t {
          if (p >= P || first % static_cast<std::uint32_t>(B) != 0 || first >= R) return -1;
          const std::size_t u = p * blocks + first / static_cast<std::uint32_t>(B);
          return unit_count(u) == count ? static_cast<std::int64_t>(u) : -1;
        },
        row * sizeof(double));
  std::int64_t total = 0;
  for (std::size_t u = range.first; u < range.end(); ++u) total += unit_count(u);
  const std::int64_t resumed = is_writer ? journal->done_replications() : 0;
  if (opt.note && is_writer && journal->resumed())
    opt.note("resuming from " + jpath + ": " + std::to_string(resumed) + " of " + std::to_string(total) +
             " replications already done");

  // Workers take units in order; each unit's rows are a pure function of (point, replications).
  std::atomic<std::size_t> next{static_cast<std::size_t>(range.first)};
  std::atomic<std::int64_t> done{resumed};
  std::atomic<std::int64_t> journalled{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex mu;
  std::condition_variable cv;
  int running = threads;
  auto cancelled = [&] { return stop.load() || (opt.cancel && opt.cancel->load()); };
  // One thread's simulator, for one point at a time: a replication's row of metrics and series.
  struct PointState {
    std::size_t point = ~std::size_t{0};
    std::unique_ptr<Scenario> sc;
    std::unique_ptr<Simulator> sim;
    std::unique_ptr<DrawnSimulators> drawn;  //!< second-order Monte Carlo: the point's drawn vectors
    std::vector<Metric> metrics;
    ReplicationResult res;
  };
  auto replication_row = [&](PointState& st, std::size_t p, std::uint32_t replication, double* out) {
    if (st.point != p) {
      st.sim.reset();
      st.drawn.reset();
      st.sc = std::make_unique<Scenario>(scenario_at(ex, pts[p]));
      if (st.sc->uncertainty.draw != UncertaintyDraw::OFF)
        st.drawn = std::make_unique<DrawnSimulators>(*st.sc, 1);
      else
        st.sim = std::make_unique<Simulator>(*st.sc);
      st.metrics.clear();
      for (const auto& name : ex.metrics) st.metrics.push_back(parse_metric(name, output_shape(*st.sc)));
      st.point = p;
    }
    // Under common random numbers every point draws the same vectors for the same replication.
    if (st.drawn)
      st.drawn->run(0, point_seed(ex, pts[p], p), replication, st.res);
    else
      st.sim->run(point_seed(ex, pts[p], p), replication, st.res);
    for (std::size_t k = 0; k < M; ++k) out[k] = st.metrics[k].value(st.res, st.sc->time.step_months);
    for (std::size_t s = 0; s < S; ++s) series_values(*st.sc, st.res, ex.series[s], out + M + s * T);
  };
  auto worker = [&] {
    try {
      PointState st;
      std::vector<double> rows;
      for (;;) {
        const std::size_t u = next.fetch_add(1);
        if (u >= range.end() || cancelled()) break;
        if (journal->done(u)) continue;
        const std::size_t p = u / blocks;
        const std::uint32_t first = unit_first(u), count = unit_count(u);
        rows.assign(static_cast<std::size_t>(count) * row, 0.0);
        bool complete = true;
        for (std::uint32_t i = 0; i < count; ++i) {
          if (cancelled()) {
            complete = false;
            break;
          }
          replication_row(st, p, first + i, rows.data() + static_cast<std::size_t>(i) * row);
        }
        if (!complete) break;
        journal->append(u, static_cast<std::uint32_t>(p), first, count, rows);
        done.fetch_add(count);
        if (opt.stop_after_units >= 0 && journalled.fetch_add(1) + 1 >= opt.stop_after_units) stop.store(true);
      }
    } catch (...) {
      std::lock_guard lock(mu);
      if (!failure) failure = std::current_exception();
      stop.store(true);
    }
    std::lock_guard lock(mu);
    --running;
    cv.notify_all();
  };
  if (opt.executor) {
    // Units over processes: a unit's replications over this process's threads (TBB), its rows
    // journalled by the writer in unit order. The rows are the same function of the unit.
    std::vector<std::uint64_t> todo;
    if (is_writer)
      for (std::size_t u = range.first; u < range.end(); ++u)
        if (!journal->done(u)) todo.push_back(u);
    todo = opt.executor->share(std::move(todo));
    tbb::enumerable_thread_specific<PointState> states;
    tbb::task_arena arena(threads);
    auto compute = [&](std::uint64_t i) {
      const std::size_t u = static_cast<std::size_t>(todo.at(static_cast<std::size_t>(i)));
      const std::size_t p = u / blocks;
      const std::uint32_t first = unit_first(u), count = unit_count(u);
      std::vector<double> rows(static_cast<std::size_t>(count) * row);
      arena.execute([&] {
        tbb::parallel_for(std::uint32_t{0}, count, [&](std::uint32_t k) {
          if (opt.cancel && opt.cancel->load()) throw InterruptedError("interrupted");
          replication_row(states.local(), p, first + k, rows.data() + static_cast<std::size_t>(k) * row);
        });
      });
      return rows;
    };
    auto write = [&](std::uint64_t i, const std::vector<double>& rows) {
      const std::size_t u = static_cast<std::size_t>(todo[static_cast<std::size_t>(i)]);
      if (rows.size() != static_cast<std::size_t>(unit_count(u)) * row)
        throw Error(ExitCode::INTERNAL, "unit " + std::to_string(u) + ": a result of the wrong size");
      journal->append(u, static_cast<std::uint32_t>(u / blocks), unit_first(u), unit_count(u), rows);
      const std::int64_t d = done.fetch_add(unit_count(u)) + unit_count(u);
      if (opt.progress && d < total) opt.progress(d, total);
      if (opt.stop_after_units >= 0 && journalled.fetch_add(1) + 1 >= opt.stop_after_units)
        throw InterruptedError("stopped after " + std::to_string(opt.stop_after_units) + " units (test)");
    };
    opt.executor->run(todo.size(), compute, write);
    if (!is_writer) {
      ExperimentInfo info;
      info.points = static_cast<std::int64_t>(P);
      info.replications = ex.replications;
      info.threads = threads;
      info.units = units;
      info.unit_range = range;
      return info;
    }
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
    std::int64_t shown = -1;
    {
      std::unique_lock lock(mu);
      while (running > 0) {
        cv.wait_for(lock, std::chrono::milliseconds(100));
        const std::int64_t d = done.load();
        if (opt.progress && d != shown && d < total) {
          lock.unlock();
          opt.progress(d, total);
          lock.lock();
          shown = d;
        }
      }
    }
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
  }
  if (done.load() < total)
    throw InterruptedError("interrupted; " + std::to_string(done.load()) + " of " + std::to_string(total) +
                           " replications are checkpointed in " + jpath + ": run the same command with --resume to finish");
  if (opt.progress) opt.progress(total, total);

  if (opt.shard) {
    detail::ShardSpec spec{*opt.shard, range, units, B, row, fp};
    detail::write_experiment_shard(
        opt.output_path, exb, spec, [&](std::size_t u) { return unit_count(u); },
        [&](std::size_t u, double* rows, std::size_t values) { journal->read(u, rows, values); }, opt.force);
  } else {  // Assembly: point by point from the journal into the HDF5 file.
    detail::ExperimentFileWriter writer(opt.output_path, ex, pts, opt.force);
    std::vector<double> rows(R * row);
    for (std::size_t p = 0; p < P; ++p) {
      if (opt.cancel && opt.cancel->load())
        throw InterruptedError("interrupted while writing " + opt.output_path + "; every replication is checkpointed in " +
                               jpath + ": run the same command with --resume to write the file");
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t u = p * blocks + b;
        journal->read(u, rows.data() + static_cast<std::size_t>(unit_first(u)) * row,
                      static_cast<std::size_t>(unit_count(u)) * row);
      }
      writer.append_point(rows);
    }
    writer.finish();
  }
  fs::remove(jpath, ec);

  ExperimentInfo info;
  info.output_path = opt.output_path;
  info.points = static_cast<std::int64_t>(P);
  info.replications = ex.replications;
  info.resumed_replications = resumed;
  info.threads = threads;
  info.units = units;
  info.unit_range = range;
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace lepsim
