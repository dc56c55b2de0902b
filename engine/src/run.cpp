#include "lepsim/run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "lepsim/error.hpp"
#include "lepsim/run_file.hpp"

namespace lepsim {

int choose_chunk_replications(const Scenario& sc, int threads) {
  if (sc.chunk_replications > 0) return sc.chunk_replications;
  // Size a replication's output roughly, then keep a chunk near 32 MiB but give
  // every thread several replications to balance the load.
  const double T = sc.time.steps;
  const double per_step = 3.0 * static_cast<double>(sc.stages.size()) + 2 + PROJECT_STATE_COUNT +
                          2.0 * static_cast<double>(sc.pools.size()) + 2.0 * static_cast<double>(sc.disciplines.size());
  double projects = 0;
  for (int a = 0; a < sc.authority_count(); ++a) {
    const auto& g = sc.groups[static_cast<std::size_t>(sc.authority_group[static_cast<std::size_t>(a)])];
    projects += g.arrivals ? g.arrivals->rate_per_month * g.arrivals->end_month : g.schools.mean();
  }
  const double bytes = 4.0 * T * per_step + 16.0 * projects + 1024;
  const double fit = (32.0 * 1024 * 1024) / bytes;
  const int floor_for_threads = 8 * std::max(1, threads);
  return static_cast<int>(std::clamp(fit, static_cast<double>(std::min(floor_for_threads, 64)), 4096.0));
}

void simulate_range(const Scenario& sc, std::uint64_t seed, std::uint32_t first, std::uint32_t count, int threads,
                    int chunk, const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel, const std::function<void(std::uint32_t)>& progress) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (chunk <= 0) chunk = choose_chunk_replications(sc, threads);
  tbb::task_arena arena(threads);
  tbb::enumerable_thread_specific<Simulator> simulators([&] { return Simulator(sc); });
  // Progress within a chunk: workers bump a counter; only the calling thread reports it.
  const auto caller = std::this_thread::get_id();
  std::atomic<std::uint32_t> finished{0};
  std::vector<ReplicationResult> results(static_cast<std::size_t>(std::min<std::uint32_t>(count, static_cast<std::uint32_t>(chunk))));
  for (std::uint32_t start = 0; start < count; start += static_cast<std::uint32_t>(chunk)) {
    if (cancel && cancel->load()) throw InterruptedError("interrupted: stopped before replication " + std::to_string(first + start));
    const std::uint32_t n = std::min<std::uint32_t>(static_cast<std::uint32_t>(chunk), count - start);
    // Each replication writes only its own slot, so the chunk is the same whatever the thread count.
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, n, 1), [&](const tbb::blocked_range<std::uint32_t>& r) {
        Simulator& sim = simulators.local();
        for (std::uint32_t i = r.begin(); i != r.end(); ++i) {
          sim.run(seed, first + start + i, results[i]);
          const std::uint32_t n_done = finished.fetch_add(1, std::memory_order_relaxed) + 1;
          if (progress && std::this_thread::get_id() == caller) progress(n_done);
        }
      });
    });
    sink(std::span<const ReplicationResult>(results.data(), n));
  }
}

RunInfo run_scenario(const Scenario& sc, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  RunInfo info;
  info.output_path = opt.output_path;
  info.replications = opt.replications.value_or(sc.replications);
  info.seed = opt.seed.value_or(sc.seed);
  info.threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (info.replications < 1) throw UsageError("--replications must be at least 1");
  const int chunk = choose_chunk_replications(sc, info.threads);

  RunFileWriter writer(opt.output_path, sc, info.seed, static_cast<int>(info.replications), chunk, opt.force);
  std::int64_t done = 0;
  simulate_range(sc, info.seed, 0, static_cast<std::uint32_t>(info.replications), info.threads, chunk,
                 [&](std::span<const ReplicationResult> results) {
                   writer.append(results);
                   done += static_cast<std::int64_t>(results.size());
                   if (opt.progress) opt.progress(done, info.replications);
                 },
                 opt.cancel, [&](std::uint32_t finished) {
                   if (opt.progress) opt.progress(finished, info.replications);
                 });
  if (opt.cancel && opt.cancel->load()) throw InterruptedError("interrupted: the run file was not written");
  writer.finish();
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace lepsim
