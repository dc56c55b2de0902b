// The `lepsim` executable: parses the command line, calls the engine library,
// maps errors to the exit codes documented in README.md. Nothing else.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/version.hpp"

using namespace lepsim;
using lepsim::cli::add_quick_option;
using lepsim::cli::install_signal_handlers;
using lepsim::cli::open_run;
using lepsim::cli::parse_command;
namespace po = boost::program_options;

namespace {

const char* MAIN_HELP = R"(lepsim - Monte Carlo simulation of programmes delivered through local partnerships

Usage:
  lepsim run SCENARIO.toml [options]     simulate and write an HDF5 run file
  lepsim validate SCENARIO.toml          check a scenario (or experiment) file without running it
  lepsim experiment EXPERIMENT.toml      many scenario variants x replications into one file
  lepsim sensitivity EXPERIMENT.h5       which inputs matter: Sobol', Morris, tornado, with intervals
  lepsim info RUN.h5                     check a run file and print what it holds
  lepsim summary RUN.h5                  headline figures with confidence intervals
  lepsim report RUN.h5 [-o FILE.html]    an HTML report with charts
  lepsim compare A.h5 B.h5 [...]         figures side by side and their differences
  lepsim export RUN.h5 --to DIR          CSV files for spreadsheets
  lepsim COMMAND --help                  options and examples of one command
  lepsim --version                       engine version and git revision

Examples:
  lepsim validate scenarios/bsf.toml
  lepsim run scenarios/example.toml -o example.h5
  lepsim run scenarios/bsf.toml --replications 2000 --seed 7 --threads 2 -o bsf.h5
  lepsim info bsf.h5

Exit codes: 0 ok, 1 internal error, 2 bad command line, 3 invalid scenario,
4 output could not be written, 5 run file unreadable, 130 interrupted.
Documentation: README.md, docs/scenario-format.md, docs/model.md, docs/run-file-format.md.
)";

const char* RUN_HELP = R"(lepsim run SCENARIO.toml [options]

Simulates the scenario's replications in parallel and writes every one of them
to an HDF5 run file: per-replication monthly series, per-project completion
steps and a summary across replications (mean, sd, P10/P50/P90). The file is
written under a temporary name and appears under its final name only when
complete. Same seed, same numbers, whatever the thread count.

With --precision the run keeps adding replications (--check-every at a time)
until the confidence interval of the mean of each --on output is within that
fraction of the mean, or --max-replications is reached; the rule and whether
it was met are recorded in the file. Checks happen at fixed counts, so the
replications reached do not depend on the thread count.

Examples:
  lepsim run scenarios/example.toml
  lepsim run scenarios/bsf.toml -o bsf.h5 --replications 500 --threads 2
  lepsim run scenarios/bsf.toml -o bsf-seed7.h5 --seed 7 --force
  lepsim run scenarios/bsf.toml --precision 0.005 --on completed --on spend_total --max-replications 20000

Options)";

const char* VALIDATE_HELP = R"(lepsim validate SCENARIO.toml

Reads and checks a scenario file without running it. Every problem is listed,
each as FILE:LINE: KEY = VALUE: RULE. Exit code 0 when valid, 3 when not.

Example:
  lepsim validate scenarios/bsf.toml

Options)";

const char* INFO_HELP = R"(lepsim info RUN.h5 [--quick]

Checks a run file and prints its metadata (format, engine, scenario, seed,
replications, time grid) and headline figures (projects, completions,
programme finish P50/P90). The check reads every dataset back and tests the
format's invariants, so a truncated, corrupted, foreign or newer-format file
is refused with exit code 5 and a message naming the file and the problem;
nothing is printed on stdout then. --quick checks the structure only.

Examples:
  lepsim info bsf.h5
  lepsim info big-run.h5 --quick

Options)";

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 60) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(seconds) / 3600, (static_cast<int>(seconds) % 3600) / 60);
  return buf;
}

//! A progress bar with ETA on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  void update(std::int64_t done, std::int64_t total) {
    if (!enabled_ || closed_) return;
    // Redraw at most ten times a second, and always at the end.
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int width = 30, filled = static_cast<int>(frac * width);
    const std::string eta = done > 0 && done < total ? " ETA " + format_duration(elapsed / frac * (1 - frac)) : "";
    std::fprintf(stderr, "\r[%s%s] %3.0f%% %lld/%lld replications%s   ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), frac * 100, static_cast<long long>(done),
                 static_cast<long long>(total), eta.c_str());
    if (done >= total) std::fputc('\n', stderr), closed_ = true;
    std::fflush(stderr);
  }

 private:
  bool enabled_, closed_ = false;
  std::chrono::steady_clock::time_point start_, last_{};
};

//! A programme-finish month for the summaries ("after the horizon" when not reached).
std::string finish_text(double months) {
  return months < 0 ? std::string("after the horizon") : "month " + std::to_string(static_cast<int>(months));
}

int cmd_validate(const std::vector<std::string>& args) {
  po::options_description opts;
  opts.add_options()("help,h", "show this help")("scenario", po::value<std::string>(), "scenario file");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  auto vm = parse_command(args, opts, pos);
  if (vm.count("help")) {
    std::cout << VALIDATE_HELP << ":\n  -h [ --help ]  show this help\n";
    return 0;
  }
  if (!vm.count("scenario")) throw UsageError("validate needs a scenario file: lepsim validate SCENARIO.toml");
  if (cli::is_experiment_file(vm["scenario"].as<std::string>()))
    return cli::validate_experiment_file(vm["scenario"].as<std::string>());
  const Scenario sc = load_scenario(vm["scenario"].as<std::string>());
  int projects = 0;
  for (const auto& g : sc.groups) projects += g.arrivals ? 0 : static_cast<int>(g.count * g.schools.mean() + 0.5);
  std::cout << sc.source_path << ": valid scenario '" << sc.name << "': " << sc.stages.size() << " stages, "
            << sc.types.size() << " project types, " << sc.authority_count() << " authorities, about " << projects
            << " projects (excluding random arrivals), " << sc.time.steps << " steps of " << sc.time.step_months
            << " months\n";
  return 0;
}

int cmd_run(const std::vector<std::string>& args) {
  po::options_description opts;
  opts.add_options()
      ("output,o", po::value<std::string>(), "run file to write (default: SCENARIO's name with .h5, in the current directory)")
      ("replications,r", po::value<int>(), "number of replications (default: the scenario's [run] replications)")
      ("seed,s", po::value<std::uint64_t>(), "master seed (default: the scenario's [run] seed)")
      ("threads,t", po::value<int>()->default_value(0), "worker threads; 0 uses every core")
      ("force,f", "overwrite the output file if it exists")
      ("precision", po::value<double>(), "add replications until each --on output's interval half-width is within "
                                         "this fraction of its mean (e.g. 0.01)")
      ("on", po::value<std::vector<std::string>>()->composing(), "an output the precision applies to (repeatable; "
                                                                  "e.g. completed, completed_cumulative@60, spend_total)")
      ("max-replications", po::value<std::int64_t>(), "with --precision: stop here even if not met (default 100000)")
      ("check-every", po::value<std::int64_t>()->default_value(100), "with --precision: replications between checks")
      ("level", po::value<double>()->default_value(0.95, "0.95"), "with --precision: confidence level of the interval")
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("scenario", po::value<std::string>(), "scenario file");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("scenario", 1);
  auto vm = parse_command(args, all, pos);
  if (vm.count("help")) {
    std::cout << RUN_HELP << opts << "\n";
    return 0;
  }
  if (!vm.count("scenario")) throw UsageError("run needs a scenario file: lepsim run SCENARIO.toml");
  const std::string path = vm["scenario"].as<std::string>();
  const Scenario sc = load_scenario(path);

  RunOptions ro;
  ro.output_path = vm.count("output") ? vm["output"].as<std::string>()
                                      : std::filesystem::path(path).stem().string() + ".h5";
  if (vm.count("replications")) {
    const int r = vm["replications"].as<int>();
    if (r < 1) throw UsageError("--replications must be at least 1, got " + std::to_string(r));
    ro.replications = r;
  }
  if (vm.count("seed")) ro.seed = vm["seed"].as<std::uint64_t>();
  ro.threads = vm["threads"].as<int>();
  if (ro.threads < 0) throw UsageError("--threads must be 0 (all cores) or more, got " + std::to_string(ro.threads));
  ro.force = vm.count("force") > 0;
  if (vm.count("precision")) {
    if (vm.count("replications")) throw UsageError("give --replications or --precision, not both (use --max-replications)");
    ConvergenceRule rule;
    rule.precision = vm["precision"].as<double>();
    if (vm.count("on")) rule.outputs = vm["on"].as<std::vector<std::string>>();
    rule.max_replications = vm.count("max-replications") ? vm["max-replications"].as<std::int64_t>() : 100000;
    rule.check_every = vm["check-every"].as<std::int64_t>();
    rule.level = vm["level"].as<double>();
    ro.convergence = rule;
  } else if (vm.count("on") || vm.count("max-replications")) {
    throw UsageError("--on and --max-replications go with --precision REL");
  }
  ProgressBar bar;
  ro.progress = [&](std::int64_t done, std::int64_t total) { bar.update(done, total); };
  ro.cancel = &lepsim::interrupt_flag();
  install_signal_handlers();

  const RunInfo info = run_scenario(sc, ro);
  const analysis::Headline h = analysis::RunReader(info.output_path).headline();
  std::printf("lepsim %s: %s ('%s'), %lld replications, seed %llu, %d threads\n", engine_version(), path.c_str(),
              sc.name.c_str(), static_cast<long long>(info.replications), static_cast<unsigned long long>(info.seed), info.threads);
  std::printf("wrote %s in %.2f s (%.0f replications/s)\n", info.output_path.c_str(), info.seconds,
              static_cast<double>(info.replications) / info.seconds);
  if (ro.convergence) {
    std::printf("precision %g on", ro.convergence->precision);
    for (std::size_t k = 0; k < ro.convergence->outputs.size(); ++k)
      std::printf(" %s (reached %.4f)", ro.convergence->outputs[k].c_str(), info.relative_half_width[k]);
    std::printf(": %s after %lld replications\n", info.converged ? "met" : "NOT met",
                static_cast<long long>(info.replications));
  }
  std::printf("projects per replication (mean):       %.1f\n", h.projects_mean);
  std::printf("completed within %.0f months (mean):    %.1f (%.1f%%)\n", sc.time.horizon_months, h.completed_mean,
              h.projects_mean > 0 ? 100 * h.completed_mean / h.projects_mean : 0.0);
  std::printf("replications finishing every project:  %.1f%%\n", 100 * h.finished_fraction);
  std::printf("programme finish P50 / P90:            %s / %s\n", finish_text(h.finish_p50_months).c_str(),
              finish_text(h.finish_p90_months).c_str());
  return 0;
}

int cmd_info(const std::vector<std::string>& args) {
  po::options_description opts;
  add_quick_option(opts);
  opts.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("run-file", po::value<std::string>(), "run file");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("run-file", 1);
  auto vm = parse_command(args, all, pos);
  if (vm.count("help")) {
    std::cout << INFO_HELP << opts << "\n";
    return 0;
  }
  if (!vm.count("run-file")) throw UsageError("info needs a run file: lepsim info RUN.h5");
  const auto run = open_run(vm["run-file"].as<std::string>(), vm);
  const analysis::RunReader& reader = *run;
  const bool quick = vm.count("quick") > 0;
  const analysis::Headline h = reader.headline();
  // Everything is read and checked before the first line goes to stdout.
  const analysis::RunMetadata& m = reader.metadata();
  auto count = [](std::size_t n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); };
  std::printf("%s: lepsim run file, format %d.%d, %s\n", m.path.c_str(), m.format_major, m.format_minor,
              quick ? "structure checked (--quick)" : "every dataset read back and checked");
  std::printf("written by:          lepsim %s (git %s) at %s\n", m.engine_version.c_str(), m.git_revision.c_str(),
              m.created.c_str());
  std::printf("scenario:            '%s' (%s)\n", m.scenario_name.c_str(), m.scenario_source.c_str());
  std::printf("replications:        %lld\n", static_cast<long long>(m.replications));
  std::printf("seed:                %llu\n", static_cast<unsigned long long>(m.seed));
  std::printf("time:                %lld steps of %g month%s from %s, %s durations\n", static_cast<long long>(m.steps),
              m.step_months, m.step_months == 1 ? "" : "s", m.start.c_str(), m.durations.c_str());
  std::printf("dimensions:          %s, %s, %s, %s, %s\n", count(m.stages.size(), "stage", "stages").c_str(),
              count(m.disciplines.size(), "discipline", "disciplines").c_str(),
              count(m.pools.size(), "national pool", "national pools").c_str(),
              count(m.project_types.size(), "project type", "project types").c_str(),
              count(m.authorities.size(), "authority", "authorities").c_str());
  std::string series;
  for (const auto& s : m.series) series += (series.empty() ? "" : ", ") + s.name;
  std::printf("series:              %s\n", series.c_str());
  std::printf("per-project rows:    %s\n", m.per_project ? std::to_string(m.project_rows).c_str() : "not written");
  std::printf("projects per replication (mean):       %.1f\n", h.projects_mean);
  std::printf("completed within %.0f months (mean):    %.1f (%.1f%%)\n", static_cast<double>(m.steps) * m.step_months,
              h.completed_mean, h.projects_mean > 0 ? 100 * h.completed_mean / h.projects_mean : 0.0);
  std::printf("replications finishing every project:  %.1f%%\n", 100 * h.finished_fraction);
  std::printf("programme finish P50 / P90:            %s / %s\n", finish_text(h.finish_p50_months).c_str(),
              finish_text(h.finish_p90_months).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write should fail with EFBIG and be reported
  // like a full disk (exit 4, temporary removed), not kill the process mid-file.
  signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::cout << MAIN_HELP;
      return args.empty() ? static_cast<int>(ExitCode::USAGE) : 0;
    }
    if (args[0] == "--version" || args[0] == "-V") {
      std::cout << "lepsim " << engine_version() << " (git " << git_revision() << ")\n";
      return 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "run") return cmd_run(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "experiment") return cli::cmd_experiment(args);
    if (cmd == "sensitivity") return cli::cmd_sensitivity(args);
    if (cmd == "info") return cmd_info(args);
    if (cmd == "summary") return cli::cmd_summary(args);
    if (cmd == "report") return cli::cmd_report(args);
    if (cmd == "compare") return cli::cmd_compare(args);
    if (cmd == "export") return cli::cmd_export(args);
    throw UsageError("unknown command '" + cmd + "'; commands: run, experiment, sensitivity, validate, info, summary, report, compare, export "
                     "(see lepsim --help)");
  } catch (const ScenarioError& e) {
    std::cerr << e.what() << "\n" << e.diagnostics().size() << " problem" << (e.diagnostics().size() == 1 ? "" : "s")
              << " found; nothing was run.\n";
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::INTERNAL);
  }
}
