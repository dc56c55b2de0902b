// `lepsim experiment EXPERIMENT.toml -o FILE.h5`: many scenario variants x replications.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/progress.hpp"
#include "mpi_cli.hpp"
#include "progress_display.hpp"

namespace lepsim::cli {

namespace {

const char* EXPERIMENT_HELP = R"(lepsim experiment EXPERIMENT.toml -o FILE.h5 [options]

Runs every point of the experiment's design (a base scenario with factors changed)
for the experiment's replications and writes one HDF5 experiment file: the design,
every replication's metrics as [points, replications] and per-point summaries of the
chosen series (docs/experiments.md, docs/experiment-file-format.md). Points share
random numbers by default (common random numbers). The results are the same bits
whatever --threads or --block.

Finished work is checkpointed in FILE.h5.partial as it goes: after a kill, a crash
or Ctrl-C (which stops cleanly, exit 130), the same command with --resume carries on
and ends with the file an uninterrupted run writes. The file appears under its final
name only when complete.

With --shard K/N only the K-th (from 0) of N deterministic shares of the work
units runs, into its own shard file (default EXPERIMENT.shard-K-of-N.h5); `lepsim
merge` joins the N shard files into the file one process writes, bit for bit.
--shard slurm takes K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN,
_STEP, _COUNT). In the MPI build, `mpirun -n N lepsim experiment ...` hands the
units out over N ranks (each running --threads threads), rank 0 writing the file:
the same bits as one process. See docs/cluster.md.

Examples:
  lepsim validate scenarios/experiments/policy-grid.toml
  lepsim experiment scenarios/experiments/policy-grid.toml -o grid.h5 --threads 2
  lepsim experiment scenarios/experiments/bsf-lhs.toml -o lhs.h5 --resume
  lepsim experiment scenarios/experiments/bsf-lhs.toml --plan-only -o lhs-plan.csv
  lepsim experiment scenarios/experiments/policy-grid.toml --shard 0/3 -o s0.h5
  lepsim merge s0.h5 s1.h5 s2.h5 -o grid.h5
  lepsim summary grid.h5

Exit codes: 0 done, 2 bad command line, 3 invalid experiment, scenario or plan,
4 output cannot be written (including: too big for the disk), 6 not enough memory,
130 interrupted (resumable with --resume).
)";

void experiment_options(po::options_description& opts) {
  opts.add_options()("output,o", po::value<std::string>(),
                     "experiment file to write (default: EXPERIMENT's name with .h5); with "
                     "--plan-only the CSV plan (default: stdout)")("threads,t", po::value<int>()->default_value(0),
                                                                   "worker threads; 0 uses every core")(
      "resume", "continue from FILE.h5.partial, the checkpoint of an interrupted run")(
      "force,f", "overwrite the output and discard any checkpoint")(
      "plan-only", "write the expanded design as a CSV run plan and run nothing")(
      "replications,r", po::value<std::int64_t>(), "replications per point (default: the experiment's)")(
      "points", po::value<std::int64_t>(),
      "lhs/sobol points, saltelli base rows, morris trajectories (default: the experiment's)")(
      "block", po::value<int>(),
      "replications per work unit (default: the experiment's, or up to 16); "
      "results do not depend on it")(
      "shard", po::value<std::string>(),
      "K/N: run only share K (0..N-1) of N of the work units into a shard file for `lepsim merge`; "
      "slurm: K and N from the Slurm array task");
}

int cmd_experiment(const po::variables_map& vm) {
  const auto files = operands(vm, EXPERIMENT);
  if (files.size() != 1)
    throw UsageError("experiment needs an experiment file: lepsim experiment EXPERIMENT.toml -o FILE.h5");
  const std::string& path = files[0];
  Experiment ex = load_experiment(path);
  if (vm.count("replications")) {
    const auto r = vm["replications"].as<std::int64_t>();
    if (r < 1 || r > 100'000'000) throw UsageError("--replications must be in [1, 100000000], got " + std::to_string(r));
    ex.replications = r;
  }
  if (vm.count("points")) {
    const auto n = vm["points"].as<std::int64_t>();
    if (ex.design == DesignKind::GRID || ex.design == DesignKind::ONE_AT_A_TIME || ex.design == DesignKind::PLAN)
      throw UsageError("--points applies to lhs and sobol (points), saltelli (base rows) and morris (trajectories) designs");
    if (n < 2 || n > MAX_EXPERIMENT_POINTS) throw UsageError("--points must be in [2, 10000000], got " + std::to_string(n));
    ex.lhs_points = n;
  }
  if (vm.count("plan-only")) {
    const std::string csv = plan_csv(ex, expand_design(ex));
    if (!vm.count("output")) {
      std::cout << csv;
      return 0;
    }
    const std::string out = vm["output"].as<std::string>();
    if (std::filesystem::exists(out) && !vm.count("force"))
      throw OutputError("plan file " + out + " already exists; pass --force to overwrite it");
    const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
    {
      std::ofstream f(tmp, std::ios::binary);
      f << csv;
      if (!f) throw OutputError("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, out);
    return 0;
  }
  ExperimentOptions eo;
  eo.output_path = vm.count("output") ? vm["output"].as<std::string>() : std::filesystem::path(path).stem().string() + ".h5";
  eo.threads = vm["threads"].as<int>();
  if (eo.threads < 0) throw UsageError("--threads must be 0 (all cores) or more, got " + std::to_string(eo.threads));
  eo.force = vm.count("force") > 0;
  eo.resume = vm.count("resume") > 0;
  if (eo.force && eo.resume) throw UsageError("give --resume or --force, not both");
  if (vm.count("block")) {
    const int b = vm["block"].as<int>();
    if (b < 1) throw UsageError("--block must be at least 1, got " + std::to_string(b));
    eo.block = b;
  }
  if (vm.count("shard")) {
    eo.shard = parse_shard(vm["shard"].as<std::string>(), [](const char* name) { return std::getenv(name); });
    if (!vm.count("output"))
      eo.output_path = std::filesystem::path(path).stem().string() + ".shard-" + std::to_string(eo.shard->index) + "-of-" +
                       std::to_string(eo.shard->count) + ".h5";
  }
  std::optional<Progress> progress;        // over the whole experiment (or the shard), all points
  std::optional<ProgressDisplay> display;  // drawn from the first count on, after the estimate
  eo.progress = [&](std::int64_t done, std::int64_t total) {
    if (!progress) progress.emplace(total, "replications");
    if (!display) display.emplace(*progress);
    progress->reached(done);
    if (done == total) progress->set_phase(eo.shard ? "writing the shard file" : "writing the experiment file");
  };
  eo.note = [](const std::string& s) { std::cerr << s << "\n"; };
  eo.cancel = &interrupt_flag();
  install_signal_handlers();
  const std::unique_ptr<UnitExecutor> ranks = mpi_executor(&interrupt_flag());  // mpirun -n N (N > 1)
  eo.executor = ranks.get();
  const ExperimentInfo info = run_experiment(ex, eo);
  if (ranks && !ranks->writer()) return 0;  // rank 0 reports
  if (display) {
    progress->finish();
    display->close(true);
  }
  if (eo.shard) {
    const UnitRange& r = info.unit_range;
    std::printf("wrote shard %s to %s: units [%llu, %llu) of %llu in %.2f s on %d thread%s\n",
                format_shard(*eo.shard).c_str(), info.output_path.c_str(), static_cast<unsigned long long>(r.first),
                static_cast<unsigned long long>(r.end()), static_cast<unsigned long long>(info.units), info.seconds,
                info.threads, info.threads == 1 ? "" : "s");
    return 0;
  }
  std::printf("wrote %s: %lld points x %lld replications in %.2f s on %d thread%s", info.output_path.c_str(),
              static_cast<long long>(info.points), static_cast<long long>(info.replications), info.seconds, info.threads,
              info.threads == 1 ? "" : "s");
  if (info.resumed_replications > 0)
    std::printf(" (%lld replications resumed from the checkpoint)", static_cast<long long>(info.resumed_replications));
  std::printf("\n");
  return 0;
}

}  // namespace

int validate_experiment_file(const std::string& path) {
  const Experiment ex = load_experiment(path);
  const auto pts = expand_design(ex);
  std::vector<Diagnostic> diags;
  for (const auto& p : pts) try {
      (void)scenario_at(ex, p);
    } catch (const ScenarioError& e) {
      for (const auto& d : e.diagnostics()) diags.push_back(d);
    }
  if (!diags.empty()) throw ScenarioError(std::move(diags));
  std::cout << path << ": valid experiment '" << ex.name << "': " << ex.factors.size() << " factor"
            << (ex.factors.size() == 1 ? "" : "s") << ", " << pts.size() << " points x " << ex.replications
            << " replications, base scenario '" << ex.base.name << "', " << ex.metrics.size() << " metrics, "
            << ex.series.size() << " series\n";
  return 0;
}

bool is_experiment_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return is_experiment_text(text);
}

const Command EXPERIMENT{"experiment",
                         "experiment EXPERIMENT.toml [options]",
                         "many scenario variants x replications into one HDF5 file",
                         EXPERIMENT_HELP,
                         "experiment",
                         1,
                         experiment_options,
                         cmd_experiment};

}  // namespace lepsim::cli
