// `lepsim calibrate CALIBRATION.toml -o POSTERIOR.h5`: history matching, then ABC-SMC, against
// the record's fitted milestones (docs/calibration.md, "The calibrate command"); --report
// writes the diagnostics page, --fitted the scenario's fitted inputs, --check says whether a
// fitted file is current.

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "lepsim/analysis/calibration_report.hpp"
#include "lepsim/calibrate.hpp"
#include "lepsim/error.hpp"
#include "lepsim/progress.hpp"
#include "lepsim/run.hpp"
#include "progress_display.hpp"

namespace lepsim::cli {

namespace {

void calibrate_options(po::options_description& opts) {
  opts.add_options()("output,o", po::value<std::string>(), "the posterior file (HDF5) to write")(
      "resume", "continue a killed or interrupted calibration from its checkpoints (identical result)")(
      "force", "overwrite the output, or start again discarding a checkpoint")(
      "threads,t", po::value<int>()->default_value(0), "threads (0: every core)")(
      "report", po::value<std::string>(), "also write the diagnostics page (self-contained HTML)")(
      "fitted", po::value<std::string>(), "also write the fitted inputs (TOML) a scenario reads with [scenario] fitted")(
      "check", po::value<std::string>(), "say whether FITTED.toml is current (exit 0) or stale (exit 9); runs nothing");
}

int cmd_calibrate(const po::variables_map& vm) {
  if (vm.count("check")) {
    std::string why;
    const bool current = fitted_is_current(vm["check"].as<std::string>(), why);
    std::cout << vm["check"].as<std::string>() << ": " << why << "\n";
    return current ? 0 : 9;
  }
  const auto files = operands(vm, CALIBRATE);
  if (files.size() != 1)
    throw UsageError("calibrate needs one calibration file: lepsim calibrate CALIBRATION.toml -o POSTERIOR.h5");
  if (!vm.count("output")) throw UsageError("calibrate needs -o POSTERIOR.h5");
  CalibrateOptions co;
  co.output_path = vm["output"].as<std::string>();
  co.resume = vm.count("resume") > 0;
  co.force = vm.count("force") > 0;
  if (co.resume && co.force) throw UsageError("give --resume or --force, not both");
  const int t = vm["threads"].as<int>();
  if (t < 0) throw UsageError("--threads must be 0 (all cores) or more, got " + std::to_string(t));
  co.threads = thread_count(t);
  const CalibrationSpec spec = load_calibration(files[0]);
  std::fprintf(stderr, "calibrating %zu factor%s against %zu milestone%s of %s (%zu held out", spec.factors.size(),
               spec.factors.size() == 1 ? "" : "s", spec.targets.size(), spec.targets.size() == 1 ? "" : "s",
               spec.record.name.c_str(), spec.held_out.size());
  if (!spec.skipped.empty()) {
    std::fprintf(stderr, "; skipped, not yet in the model:");
    for (const auto& [id, m] : spec.skipped) std::fprintf(stderr, " %s", id.c_str());
  }
  std::fprintf(stderr, "), budget %lld replications\n", static_cast<long long>(spec.budget));

  Progress progress(spec.budget, "replications");
  std::optional<ProgressDisplay> display;
  display.emplace(progress);
  co.replications = [&](std::int64_t n) { progress.reached(n); };
  co.progress = [&](const std::string& stage, std::int64_t done, std::int64_t) {
    progress.reached(done);
    progress.set_phase(stage);
  };
  co.note = [](const std::string& s) { std::cerr << s << "\n"; };
  install_signal_handlers();
  const CalibrationOutcome out = run_calibration(spec, co);
  progress.finish_at(out.hm.simulations + out.abc.simulations);
  display->close(true);

  std::printf(
      "wrote %s: %zu waves of history matching (%s), %zu ABC-SMC generations (%s), %zu particles; %lld of %lld "
      "replications in %.1f s on %d thread%s\n",
      co.output_path.c_str(), out.hm.waves.size(), out.hm.stop_reason.c_str(), out.abc.generations.size(),
      out.abc.stop_reason.c_str(), out.abc.posterior().particles.size(),
      static_cast<long long>(out.hm.simulations + out.abc.simulations), static_cast<long long>(spec.budget), out.seconds,
      co.threads, co.threads == 1 ? "" : "s");
  if (out.hm.resumed || out.abc.resumed)
    std::printf("resumed from the checkpoints: %s%s\n", out.hm.resumed ? "history matching's waves" : "",
                out.abc.resumed ? (out.hm.resumed ? " and ABC-SMC's generations" : "ABC-SMC's generations") : "");
  if (out.invalid_points > 0)
    std::printf("note: %lld points broke a scenario rule and were treated as implausible\n",
                static_cast<long long>(out.invalid_points));
  std::printf("%s", analysis::calibration_summary_text(co.output_path).c_str());
  if (vm.count("fitted")) {
    write_fitted(co.output_path, vm["fitted"].as<std::string>(), spec);
    std::printf("wrote %s\n", vm["fitted"].as<std::string>().c_str());
  }
  if (vm.count("report")) {
    analysis::write_calibration_report(co.output_path, vm["report"].as<std::string>());
    std::printf("wrote %s\n", vm["report"].as<std::string>().c_str());
  }
  return 0;
}

}  // namespace

const Command CALIBRATE{"calibrate",
                        "calibrate CALIBRATION.toml -o POSTERIOR.h5 [options]",
                        "fit factors to the observed record: history matching, then ABC-SMC",
                        R"(lepsim calibrate CALIBRATION.toml -o POSTERIOR.h5 [--resume] [--threads T]
                [--report REPORT.html] [--fitted FITTED.toml]
lepsim calibrate --check FITTED.toml

Fits the calibration file's factors (parameter paths with prior ranges) to the fitted
milestones of its record (docs/calibration.md): history matching by waves rules out the
implausible part of the prior box (cut-off 3, observation error + model discrepancy +
the simulator's replication variance), then ABC-SMC samples the posterior inside what
survives, stopping on the simulation budget. The posterior sample, each wave, each
generation and the posterior predictive check of every milestone go to POSTERIOR.h5.
A killed or interrupted run (exit 130) keeps its checkpoints beside the output
(POSTERIOR.h5.hm-partial, .abc-partial); --resume finishes it with the same result.

Examples:
  lepsim calibrate scenarios/calibration/bsf-default.toml -o build/bsf-posterior.h5 \
      --fitted scenarios/calibration/bsf-fitted.toml --report build/bsf-calibration.html
  lepsim calibrate --check scenarios/calibration/bsf-fitted.toml

Exit codes: 0 ok (--check: current), 2 bad command line, 3 invalid calibration file,
scenario or record, 4 cannot write the output (or a checkpoint exists without --resume),
5 a checkpoint from another configuration, 7 no point survives history matching or
ABC-SMC finished no generation, 9 (--check) the fitted file is stale, 130 interrupted.
)",
                        "calibration",
                        1,
                        calibrate_options,
                        cmd_calibrate};

}  // namespace lepsim::cli
