// The command table, the helpers every command shares, and `run`, `validate`, `info`.

#include "commands.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "lepsim/analysis/format.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/progress.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/uncertainty.hpp"
#include "lepsim/version.hpp"
#include "mpi_cli.hpp"
#include "progress_display.hpp"

namespace lepsim::cli {

po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

int run_command(const Command& command, const std::vector<std::string>& args) {
  po::options_description opts;
  if (command.options) command.options(opts);
  opts.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()(command.operand, po::value<std::vector<std::string>>(), command.operand);
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add(command.operand, command.max_operands);
  const po::variables_map vm = parse_command(args, all, pos);
  if (vm.count("help")) {
    // "Options:" on a line of its own, then boost's two-column list.
    std::cout << command.help << "\nOptions:\n" << opts << "\n";
    return 0;
  }
  return command.handler(vm);
}

std::vector<std::string> operands(const po::variables_map& vm, const Command& command) {
  return vm.count(command.operand) ? vm[command.operand].as<std::vector<std::string>>() : std::vector<std::string>{};
}

namespace {
extern "C" void on_signal(int) { interrupt_flag().store(true); }
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void add_quick_option(po::options_description& opts) {
  opts.add_options()("quick,q",
                     "check the file's structure only, not every dataset (faster on very large files, "
                     "but corrupted data may then go unnoticed)");
}

std::unique_ptr<analysis::RunReader> open_run(const std::string& path, const po::variables_map& vm) {
  auto run = std::make_unique<analysis::RunReader>(path);
  if (!vm.count("quick")) run->verify();
  return run;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {RUN,  VALIDATE, EXPERIMENT, MERGE,  SENSITIVITY, CALIBRATE,
                                             SIZE, INFO,     SUMMARY,    REPORT, COMPARE,     EXPORT};
  return table;
}

// ---- validate ---------------------------------------------------------------------------

namespace {

int cmd_validate(const po::variables_map& vm) {
  const auto files = operands(vm, VALIDATE);
  if (files.size() != 1) throw UsageError("validate needs a scenario file: lepsim validate SCENARIO.toml");
  if (is_experiment_file(files[0])) return validate_experiment_file(files[0]);  // docs/experiments.md
  const Scenario sc = load_scenario(files[0]);
  int projects = 0;
  for (const auto& g : sc.groups) projects += g.arrivals ? 0 : static_cast<int>(g.count * g.schools.mean() + 0.5);
  std::cout << sc.source_path << ": valid scenario '" << sc.name << "': " << sc.stages.size() << " stages, "
            << sc.types.size() << " project types, " << sc.authority_count() << " authorities, about " << projects
            << " projects (excluding random arrivals), " << sc.time.steps << " steps of "
            << analysis::count_text(sc.time.step_months, "month", "months") << "\n";
  return 0;
}

// ---- run --------------------------------------------------------------------------------

void run_options(po::options_description& opts) {
  opts.add_options()("output,o", po::value<std::string>(),
                     "run file to write (default: SCENARIO's name with .h5, in the current directory)")(
      "replications,r", po::value<int>(), "number of replications (default: the scenario's [run] replications)")(
      "seed,s", po::value<std::uint64_t>(), "master seed (default: the scenario's [run] seed)")(
      "threads,t", po::value<int>()->default_value(0), "worker threads; 0 uses every core")(
      "force,f", "overwrite the output file if it exists (and drop its checkpoint)")(
      "resume", "continue from OUT.h5.partial, the checkpoint of an interrupted or killed run")(
      "no-checkpoint", "keep no checkpoint (OUT.h5.partial) while running: an interrupted run cannot be resumed")(
      "precision", po::value<double>(),
      "add replications until each --on output's interval half-width is within "
      "this fraction of its mean (e.g. 0.01)")("on", po::value<std::vector<std::string>>()->composing(),
                                               "an output the precision applies to (repeatable; "
                                               "e.g. completed, completed_cumulative@60, spend_total)")(
      "max-replications", po::value<std::int64_t>(), "with --precision: stop here even if not met (default 100000)")(
      "check-every", po::value<std::int64_t>()->default_value(100), "with --precision: replications between checks")(
      "level", po::value<double>()->default_value(0.95, "0.95"), "with --precision: confidence level of the interval")(
      "shard", po::value<std::string>(),
      "run only share K/N of the replications (K from 0), or 'slurm' for this array task's share, into a shard "
      "file (default SCENARIO.shard-K-of-N.h5); join the shards with lepsim merge")(
      "block", po::value<int>(), "replications per block, the unit of shards and of MPI ranks (default: from the scenario)")(
      "uncertainty", po::value<std::string>(),
      "off, inputs or posterior: overrides [uncertainty] draw (second-order Monte Carlo, docs/calibration.md)");
}

//! The flags checked here, by their names; the library checks the values again in its own terms.
std::optional<ConvergenceRule> convergence_rule(const po::variables_map& vm, const Scenario& sc) {
  if (!vm.count("precision")) {
    if (vm.count("on") || vm.count("max-replications"))
      throw UsageError("--on and --max-replications go with --precision REL");
    return std::nullopt;
  }
  if (vm.count("replications")) throw UsageError("give --replications or --precision, not both (use --max-replications)");
  ConvergenceRule rule;
  rule.precision = vm["precision"].as<double>();
  if (vm.count("on")) rule.outputs = vm["on"].as<std::vector<std::string>>();
  rule.max_replications = vm.count("max-replications") ? vm["max-replications"].as<std::int64_t>() : 100000;
  rule.check_every = vm["check-every"].as<std::int64_t>();
  rule.level = vm["level"].as<double>();
  const auto valid = convergence_outputs(sc);
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  if (rule.outputs.empty()) throw UsageError("--precision needs --on OUTPUT; outputs of this scenario: " + list);
  for (const auto& o : rule.outputs) {
    try {
      parse_metric(o, output_shape(sc));
    } catch (const UsageError& e) {
      throw UsageError(std::string("--on: ") + e.what() + "; choose from: " + list);
    }
  }
  if (!(rule.precision > 0)) throw UsageError("--precision must be > 0, e.g. 0.01 for 1%");
  if (!(rule.level > 0 && rule.level < 1)) throw UsageError("--level must be between 0 and 1");
  if (rule.check_every < 2) throw UsageError("--check-every must be at least 2 replications");
  if (rule.max_replications < 1 || rule.max_replications > MAX_REPLICATIONS)
    throw UsageError("--max-replications must be between 1 and " + std::to_string(MAX_REPLICATIONS));
  return rule;
}

int cmd_run(const po::variables_map& vm) {
  const auto files = operands(vm, RUN);
  if (files.size() != 1) throw UsageError("run needs a scenario file: lepsim run SCENARIO.toml");
  const std::string& path = files[0];
  Scenario sc = load_scenario(path);
  if (vm.count("uncertainty")) {
    const std::string d = vm["uncertainty"].as<std::string>();
    const auto draw = uncertainty_draw_named(d);
    if (!draw) throw UsageError("--uncertainty must be off, inputs or posterior, got '" + d + "'");
    if (*draw == UncertaintyDraw::INPUTS && sc.uncertainty.inputs.empty())
      throw UsageError("--uncertainty inputs: " + path +
                       " has no uncertain inputs ([[uncertainty.input]] or [scenario] fitted)");
    if (*draw == UncertaintyDraw::POSTERIOR && sc.uncertainty.posterior.empty())
      throw UsageError("--uncertainty posterior: " + path +
                       " names no posterior file ([uncertainty] posterior = \"FILE.h5\")");
    sc.uncertainty.draw = *draw;  // the run file's resolved scenario says so
  }

  RunOptions ro;
  ro.output_path = vm.count("output") ? vm["output"].as<std::string>() : std::filesystem::path(path).stem().string() + ".h5";
  if (vm.count("shard") && !vm.count("output")) {
    const Shard k = parse_shard(vm["shard"].as<std::string>(), [](const char* name) { return std::getenv(name); });
    ro.output_path = std::filesystem::path(path).stem().string() + ".shard-" + std::to_string(k.index) + "-of-" +
                     std::to_string(k.count) + ".h5";
  }
  if (vm.count("replications")) {
    const int r = vm["replications"].as<int>();
    if (r < 1 || r > MAX_REPLICATIONS)
      throw UsageError("--replications must be between 1 and " + std::to_string(MAX_REPLICATIONS) + ", got " +
                       std::to_string(r));
    ro.replications = r;
  }
  if (vm.count("seed")) ro.seed = vm["seed"].as<std::uint64_t>();
  ro.threads = vm["threads"].as<int>();
  if (ro.threads < 0) throw UsageError("--threads must be 0 (all cores) or more, got " + std::to_string(ro.threads));
  ro.force = vm.count("force") > 0;
  ro.resume = vm.count("resume") > 0;
  ro.checkpoint = vm.count("no-checkpoint") == 0;
  if (ro.force && ro.resume) throw UsageError("give --resume or --force, not both");
  if (ro.resume && !ro.checkpoint) throw UsageError("give --resume or --no-checkpoint, not both");
  if (ro.resume && vm.count("precision"))
    throw UsageError("--resume cannot continue a --precision run (it keeps no checkpoint); run it again");
  std::error_code ec;
  if (!ro.force && std::filesystem::exists(ro.output_path, ec))
    throw OutputError("output file " + ro.output_path +
                      " already exists; choose another name with -o or pass --force to overwrite it");
  ro.convergence = convergence_rule(vm, sc);
  std::int64_t total = ro.convergence ? ro.convergence->max_replications : ro.replications.value_or(sc.replications);
  if (vm.count("block")) {
    const int b = vm["block"].as<int>();
    if (b < 1) throw UsageError("--block must be at least 1, got " + std::to_string(b));
    ro.block = b;
  }
  if (vm.count("shard")) {
    if (ro.convergence) throw UsageError("give --shard or --precision, not both (a --precision run runs in one process)");
    if (ro.resume) throw UsageError("--resume: a run shard keeps no checkpoint; run the shard again with --force");
    ro.shard = parse_shard(vm["shard"].as<std::string>(), [](const char* name) { return std::getenv(name); });
    total = static_cast<std::int64_t>(
        shard_replications(total, *ro.shard, ro.block.value_or(run_block_replications(sc, total))).count);
  }
  const std::unique_ptr<UnitExecutor> ranks = mpi_executor(&lepsim::interrupt_flag());  // mpirun -n N (N > 1)
  if (ranks && ro.convergence) throw UsageError("--precision runs in one process, not over MPI ranks");
  ro.executor = ranks.get();
  if (ranks && !ranks->writer()) {  // this rank only computes blocks; rank 0 writes and reports
    ro.cancel = &lepsim::interrupt_flag();
    install_signal_handlers();
    run_scenario(sc, ro);
    return 0;
  }
  Progress progress(total, "replications");
  ro.progress = [&](std::int64_t done, std::int64_t) {
    progress.reached(done);
    // Every replication simulated: the rest is the writer's (chunks in flight, then summaries).
    if (done == total) progress.set_phase("writing the run file");
  };
  ro.phase = [&](const std::string& phase) { progress.set_phase(phase); };
  ro.note = [](const std::string& line) { std::cerr << "lepsim: " << line << "\n"; };
  ro.cancel = &lepsim::interrupt_flag();
  install_signal_handlers();

  RunInfo info;
  {
    ProgressDisplay display(progress);  // cleared if the run throws
    info = run_scenario(sc, ro);
    progress.finish_at(ro.shard ? static_cast<std::int64_t>(info.shard_replications) : info.replications);
    display.close(true);
  }
  if (ro.shard) {
    const auto first = static_cast<unsigned long long>(info.first_replication);
    std::printf("wrote shard %s to %s: replications [%llu, %llu) of %lld (blocks of %d) in %.2f s on %d thread%s\n",
                format_shard(*ro.shard).c_str(), info.output_path.c_str(), first, first + info.shard_replications,
                static_cast<long long>(info.replications), info.block, info.seconds, info.threads,
                info.threads == 1 ? "" : "s");
    return 0;
  }
  const analysis::Headline h = analysis::RunReader(info.output_path).headline();
  std::printf("lepsim %s: %s ('%s'), %lld replications, seed %llu, %d threads\n", engine_version(), path.c_str(),
              sc.name.c_str(), static_cast<long long>(info.replications), static_cast<unsigned long long>(info.seed),
              info.threads);
  std::printf("wrote %s in %.2f s (%.0f replications/s)", info.output_path.c_str(), info.seconds,
              static_cast<double>(info.replications - info.resumed_replications) / info.seconds);
  if (info.resumed_replications > 0)
    std::printf(" (%lld replications resumed from the checkpoint)", static_cast<long long>(info.resumed_replications));
  std::printf("\n");
  if (ro.convergence) {
    std::printf("precision %g on", ro.convergence->precision);
    for (std::size_t k = 0; k < ro.convergence->outputs.size(); ++k)
      std::printf(" %s (reached %.4f)", ro.convergence->outputs[k].c_str(), info.relative_half_width[k]);
    std::printf(": %s after %lld replications\n", info.converged ? "met" : "NOT met",
                static_cast<long long>(info.replications));
  }
  std::cout << analysis::headline_text(h, sc.time.horizon_months);
  return 0;
}

// ---- info -------------------------------------------------------------------------------

int cmd_info(const po::variables_map& vm) {
  const auto files = operands(vm, INFO);
  if (files.size() != 1) throw UsageError("info needs a run file: lepsim info RUN.h5");
  const auto run = open_run(files[0], vm);
  // Everything is read and checked before the first line goes to stdout.
  const std::string text = analysis::info_text(run->metadata(), run->headline(), vm.count("quick") > 0);
  std::cout << text;
  return 0;
}

}  // namespace

const Command RUN{"run",
                  "run SCENARIO.toml [options]",
                  "simulate and write an HDF5 run file",
                  R"(lepsim run SCENARIO.toml [options]

Simulates the scenario's replications in parallel and writes every one of them
to an HDF5 run file: per-replication monthly series, per-project completion
steps and a summary across replications (mean, sd, P10/P50/P90). The file is
written under a temporary name and appears under its final name only when
complete. Same seed, same numbers, whatever the thread count. On a terminal a
progress line counts the replications finished (docs/analysis.md, "Progress").

With --precision the run keeps adding replications (--check-every at a time)
until the confidence interval of the mean of each --on output is within that
fraction of the mean, or --max-replications is reached; the rule and whether
it was met are recorded in the file. Checks happen at fixed counts, so the
replications reached do not depend on the thread count.

While it runs, every finished chunk of replications is journalled (with a
checksum) to OUT.h5.partial. A run stopped by Ctrl-C or SIGTERM (exit 130),
killed (SIGKILL) or failed keeps that checkpoint; the same command with
--resume replays it and simulates only the rest, and the file is the same,
bit for bit, as an uninterrupted run's. A checkpoint of another run (other
scenario, seed, replications or engine) is refused with exit code 4, as is
starting over it without --resume or --force. --no-checkpoint keeps none;
--precision runs keep none and cannot be resumed (docs/robustness.md).

At cluster scale (docs/cluster.md): under `mpirun -n N` (the MPI build) blocks
of replications are handed out to whichever rank is free and rank 0 journals
and writes them in order: the same file as one process, resumable with
--resume. --shard K/N (or --shard slurm in a Slurm job array) runs the K-th
of N contiguous shares of the blocks into a shard file; `lepsim merge` joins
the shards into the run file one process would write, bit for bit.

Examples:
  lepsim run scenarios/example.toml
  lepsim run scenarios/bsf.toml -o bsf.h5 --replications 500 --threads 2
  lepsim run scenarios/bsf.toml -o bsf-seed7.h5 --seed 7 --force
  lepsim run scenarios/bsf.toml -o bsf.h5 --replications 500 --resume
  lepsim run scenarios/bsf.toml --precision 0.005 --on completed --on spend_total --max-replications 20000
  lepsim run scenarios/bsf.toml -r 2000 --shard 3/8 -o bsf.shard-3.h5
  mpirun -n 4 --bind-to none lepsim run scenarios/bsf.toml -r 20000 -t 16 -o bsf.h5
)",
                  "scenario",
                  1,
                  run_options,
                  cmd_run};

const Command VALIDATE{"validate",
                       "validate SCENARIO.toml",
                       "check a scenario (or experiment) file without running it",
                       R"(lepsim validate SCENARIO.toml

Reads and checks a scenario file without running it. Every problem is listed,
each as FILE:LINE: KEY = VALUE: RULE. Exit code 0 when valid, 3 when not.
An experiment file (one with an [experiment] table, docs/experiments.md) is
checked as an experiment: its base scenario and the scenario of every point.

Examples:
  lepsim validate scenarios/bsf.toml
  lepsim validate scenarios/experiments/policy-grid.toml
)",
                       "scenario",
                       1,
                       nullptr,
                       cmd_validate};

const Command INFO{"info",
                   "info RUN.h5",
                   "check a run file and print what it holds",
                   R"(lepsim info RUN.h5 [--quick]

Checks a run file and prints its metadata (format, engine, scenario, seed,
replications, time grid) and headline figures (projects, completions,
programme finish P50/P90). The check reads every dataset back and tests the
format's invariants, so a truncated, corrupted, foreign or newer-format file
is refused with exit code 5 and a message naming the file and the problem;
nothing is printed on stdout then. --quick checks the structure only.

Examples:
  lepsim info bsf.h5
  lepsim info big-run.h5 --quick
)",
                   "run-file",
                   1,
                   add_quick_option,
                   cmd_info};

}  // namespace lepsim::cli
