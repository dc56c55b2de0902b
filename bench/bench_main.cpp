// Benchmarks of the hot loops (Google Benchmark). Speed claims come from here,
// never from timed unit tests. See bench/README.md for the command that runs them.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <unistd.h>

#include "lepsim/distribution.hpp"
#include "lepsim/rng.hpp"
#include "lepsim/run.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

using namespace lepsim;

namespace {

const Scenario& bsf() {
  static const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/bsf.toml");
  return sc;
}

void BM_Uniform(benchmark::State& state) {
  RandomStream s(1, 0, 0, Purpose::StageWork);
  for (auto _ : state) benchmark::DoNotOptimize(s.uniform());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Uniform);

void BM_Draw(benchmark::State& state, Distribution d) {
  RandomStream s(1, 0, 0, Purpose::StageWork);
  for (auto _ : state) benchmark::DoNotOptimize(d.sample(s));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Draw, fixed, Distribution::fixed(1.0));
BENCHMARK_CAPTURE(BM_Draw, uniform, Distribution::uniform(2, 4));
BENCHMARK_CAPTURE(BM_Draw, triangular, Distribution::triangular(6, 9, 18));
BENCHMARK_CAPTURE(BM_Draw, pert, Distribution::pert(10.8, 20.55, 48));
BENCHMARK_CAPTURE(BM_Draw, normal, Distribution::normal(10, 2));
BENCHMARK_CAPTURE(BM_Draw, normal_truncated, Distribution::normal(10, 5, 0, 12));
BENCHMARK_CAPTURE(BM_Draw, lognormal, Distribution::lognormal(20, 4));
BENCHMARK_CAPTURE(BM_Draw, exponential, Distribution::exponential(1));
BENCHMARK_CAPTURE(BM_Draw, discrete, Distribution::discrete({0, 6, 12}, {1, 1, 1}));
BENCHMARK_CAPTURE(BM_Draw, empirical, Distribution::empirical({3, 5, 8, 9, 14}));

//! One whole replication of the national default scenario on one core.
void BM_ReplicationBsf(benchmark::State& state) {
  Simulator sim(bsf());
  ReplicationResult r;
  std::uint32_t rep = 0;
  std::int64_t projects = 0;
  for (auto _ : state) {
    sim.run(rep++, r);
    projects += r.projects;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["projects"] = benchmark::Counter(static_cast<double>(projects) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ReplicationBsf)->Unit(benchmark::kMillisecond);

//! Writing one chunk of 64 national replications to HDF5 (series and per-project rows).
void BM_WriteChunkBsf(benchmark::State& state) {
  std::vector<ReplicationResult> chunk(64);
  Simulator sim(bsf());
  for (std::uint32_t i = 0; i < chunk.size(); ++i) sim.run(i, chunk[i]);
  const std::string path = (std::filesystem::temp_directory_path() / ("lepsim-bench-" + std::to_string(::getpid()) + ".h5")).string();
  for (auto _ : state) {
    RunFileWriter w(path, bsf(), 1, static_cast<int>(chunk.size()), static_cast<int>(chunk.size()), true);
    w.append(chunk);
    state.PauseTiming();  // the summary and rename are measured by the whole-run figure
    w.finish();
    state.ResumeTiming();
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chunk.size()));
}
BENCHMARK(BM_WriteChunkBsf)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
