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
#include "lepsim/simulator_probe.hpp"
#include "big_scenario.hpp"

using namespace lepsim;

namespace {

//! A scratch run file in the temporary directory, unique to this process.
std::string temp_run_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lepsim-bench-" + name + "-" + std::to_string(::getpid()) + ".h5")).string();
}

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

//! One draw from a stream made for it, as the engine draws a stage's work or a capital cost
//! (a fresh stream per draw: its first Philox block is always computed).
void BM_DrawFresh(benchmark::State& state, Distribution d) {
  std::uint32_t i = 0;
  for (auto _ : state) {
    RandomStream s(1, ++i, 7, Purpose::StageWork);
    benchmark::DoNotOptimize(d.sample(s));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_DrawFresh, uniform, Distribution::uniform(2, 4));
BENCHMARK_CAPTURE(BM_DrawFresh, pert, Distribution::pert(10.8, 20.55, 48));
BENCHMARK_CAPTURE(BM_DrawFresh, normal, Distribution::normal(10, 2));
BENCHMARK_CAPTURE(BM_DrawFresh, lognormal, Distribution::lognormal(20, 4));

const TypeStage& construction_stage() {
  for (const TypeStage& ts : bsf().types[0].stages)
    if (bsf().stages[static_cast<std::size_t>(ts.stage)].name == "construction") return ts;
  return bsf().types[0].stages.front();
}

// Draws per purpose: each as the engine makes it for bsf.toml (the stream built for the
// draw where the engine builds one, the distribution the scenario gives).
void BM_Purpose(benchmark::State& state, Purpose purpose) {
  const Scenario& sc = bsf();
  const AuthorityGroup& g = sc.groups[0];
  std::uint32_t i = 0;
  RandomStream persistent(sc.seed, 0, authority_entity(0), purpose);
  for (auto _ : state) {
    ++i;
    double x = 0;
    switch (purpose) {
      case Purpose::AuthorityEntry: {
        RandomStream s(sc.seed, i, authority_entity(0), purpose, 0);
        x = g.entry_month.sample(s);
        break;
      }
      case Purpose::ProjectType: {
        RandomStream s(sc.seed, i, project_entity(0, 1), purpose, 0);
        x = s.uniform();
        break;
      }
      case Purpose::StageWork: {  // the bsf construction stage's PERT
        const TypeStage& ts = construction_stage();
        RandomStream s(sc.seed, i, project_entity(0, 1), purpose, static_cast<std::uint16_t>(ts.stage));
        x = ts.work.sample(s);
        break;
      }
      case Purpose::AuthoritySetup: {
        RandomStream s(sc.seed, i, authority_entity(0), purpose, 0);
        x = g.setup.planning_quality.sample(s);
        break;
      }
      case Purpose::Health:  // one normal per step from the LEP's own stream
        x = standard_normal().sample(persistent);
        break;
      case Purpose::Dispute:  // one uniform per step from the LEP's own stream
        x = persistent.uniform();
        break;
      case Purpose::Capital: {
        RandomStream s(sc.seed, i, project_entity(0, 1), purpose, 0);
        x = sc.mechanisms.costs.capital[0].sample(s);
        break;
      }
      default: {
        RandomStream s(sc.seed, i, authority_entity(0), purpose, 0);
        x = s.uniform();
        break;
      }
    }
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Purpose, AuthorityEntry, Purpose::AuthorityEntry);
BENCHMARK_CAPTURE(BM_Purpose, ProjectType, Purpose::ProjectType);
BENCHMARK_CAPTURE(BM_Purpose, StageWork, Purpose::StageWork);
BENCHMARK_CAPTURE(BM_Purpose, AuthoritySetup, Purpose::AuthoritySetup);
BENCHMARK_CAPTURE(BM_Purpose, Health, Purpose::Health);
BENCHMARK_CAPTURE(BM_Purpose, Dispute, Purpose::Dispute);
BENCHMARK_CAPTURE(BM_Purpose, Capital, Purpose::Capital);
BENCHMARK_CAPTURE(BM_Purpose, Exclusivity, Purpose::Exclusivity);

//! One step of one LEP (capacity allocation and stage progress, partnering health,
//! scorecard) on the state of a bsf replication at month 60, summed over every authority
//! and reported per LEP.
void BM_LepStep(benchmark::State& state) {
  static Simulator sim(bsf());
  static ReplicationResult r;
  SimulatorProbe probe(sim);
  const int step = 59;
  probe.prepare(0, step, r);
  const int A = bsf().authority_count();
  for (auto _ : state)
    for (int a = 0; a < A; ++a) benchmark::DoNotOptimize(probe.step_lep(a, step));
  state.SetItemsProcessed(state.iterations() * A);
}
BENCHMARK(BM_LepStep)->Unit(benchmark::kMicrosecond);

//! One whole replication of the national default scenario on one core, with its events.
void BM_ReplicationBsf(benchmark::State& state) {
  Simulator sim(bsf());
  ReplicationResult r;
  std::uint32_t rep = 0;
  std::int64_t projects = 0, events = 0;
  for (auto _ : state) {
    sim.run(rep++, r);
    projects += r.projects;
    events += sim.events().total();
  }
  const auto n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["projects"] = benchmark::Counter(static_cast<double>(projects) / n);
  state.counters["events"] = benchmark::Counter(static_cast<double>(events) / n);
  state.counters["s_per_event"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReplicationBsf)->Unit(benchmark::kMillisecond);

//! The limit: only the random variates the replications above consume, drawn from the
//! same streams with the same distributions (recorded once per replication, replayed).
void BM_DrawsOnlyBsf(benchmark::State& state) {
  constexpr std::uint32_t REPS = 16;
  Simulator sim(bsf());
  ReplicationResult r;
  std::vector<std::vector<DrawRecord>> traces(REPS);
  std::int64_t draws = 0;
  SimulatorProbe probe(sim);
  for (std::uint32_t i = 0; i < REPS; ++i) {
    probe.trace_draws(&traces[i]);
    sim.run(i, r);
    for (const auto& d : traces[i]) draws += d.count;
  }
  const std::uint64_t seed = bsf().seed;
  std::uint32_t rep = 0;
  for (auto _ : state) {
    double acc = 0;
    for (const DrawRecord& d : traces[rep % REPS]) {
      RandomStream s(seed, rep % REPS, d.entity, d.purpose, d.substream);
      for (std::uint32_t k = 0; k < d.count; ++k) acc += d.dist ? d.dist->sample(s) : s.uniform();
    }
    benchmark::DoNotOptimize(acc);
    ++rep;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["draws"] = benchmark::Counter(static_cast<double>(draws) / REPS);
}
BENCHMARK(BM_DrawsOnlyBsf)->Unit(benchmark::kMillisecond);

//! Writing one chunk of 64 national replications to HDF5 (series and per-project rows).
void BM_WriteChunkBsf(benchmark::State& state) {
  std::vector<ReplicationResult> chunk(64);
  Simulator sim(bsf());
  for (std::uint32_t i = 0; i < chunk.size(); ++i) sim.run(i, chunk[i]);
  const std::string path = temp_run_file("chunk");
  for (auto _ : state) {
    RunFileWriter w(path, bsf(), 1, static_cast<int>(chunk.size()), true);
    w.append(chunk);
    state.PauseTiming();  // the summary and rename are measured by the whole-run figure
    w.finish();
    state.ResumeTiming();
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chunk.size()));
}
BENCHMARK(BM_WriteChunkBsf)->Unit(benchmark::kMillisecond);

//! Whole runs of the national default scenario through the engine's run path: 1,000
//! replications on `threads` threads, the results either written to a run file with the
//! default outputs (`write` = 1, as `lepsim run` does) or dropped (0). Their ratio is the
//! output's share of the wall time; 1 against 2 threads, the scaling (bench/run.sh).
void BM_RunBsf(benchmark::State& state) {
  constexpr std::uint32_t REPS = 1000;
  const int threads = static_cast<int>(state.range(0));
  const bool write = state.range(1) != 0;
  const std::string path = temp_run_file("run");
  for (auto _ : state) {
    if (write) {
      RunOptions opt;
      opt.output_path = path;
      opt.replications = static_cast<int>(REPS);
      opt.threads = threads;
      opt.force = true;
      run_scenario(bsf(), opt);
    } else {
      std::int64_t completed = 0;
      simulate_range(bsf(), bsf().seed, 0, REPS, threads, 0, [&](std::span<const ReplicationResult> results) {
        for (const auto& r : results) completed += r.completed;
      });
      benchmark::DoNotOptimize(completed);
    }
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(state.iterations() * REPS);
}
BENCHMARK(BM_RunBsf)->ArgNames({"threads", "write"})->Args({1, 0})->Args({1, 1})->Args({2, 0})->Args({2, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// A scenario of about a megabyte with very long lists (tests/big_scenario.hpp): reading and
// validating it must stay near-linear (docs/scenario-format.md, "validate"). Validation
// alone is the figure to watch; parsing includes toml11 reading the text.
void BM_ParseMegabyteScenario(benchmark::State& state) {
  const std::string text = lepsim::testing::megabyte_scenario();
  for (auto _ : state) benchmark::DoNotOptimize(parse_scenario(text, "big.toml"));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseMegabyteScenario)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_ValidateMegabyteScenario(benchmark::State& state) {
  const Scenario sc = parse_scenario(lepsim::testing::megabyte_scenario(), "big.toml");
  for (auto _ : state) benchmark::DoNotOptimize(validate(sc));
}
BENCHMARK(BM_ValidateMegabyteScenario)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
