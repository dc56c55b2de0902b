// `lepsim sensitivity EXPERIMENT.h5`: Sobol' indices, Morris effects or one-at-a-time
// swings of an experiment's metrics, stored in the file (/sensitivity) and printed;
// `summary` and `report` of an experiment file with /sensitivity show them.

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "lepsim/analysis/experiment_reader.hpp"
#include "lepsim/analysis/sensitivity_file.hpp"
#include "lepsim/error.hpp"

namespace lepsim::cli {

namespace {

void sensitivity_options(po::options_description& opts) {
  opts.add_options()("metric,m", po::value<std::vector<std::string>>()->multitoken(),
                     "metrics to analyse (default: every metric in the file)")("json", "print JSON instead of tables")(
      "resamples,B", po::value<int>()->default_value(1000), "bootstrap resamples (>= 1000 for reported intervals)")(
      "level", po::value<double>()->default_value(0.95, "0.95"), "interval level")(
      "seed", po::value<std::uint64_t>()->default_value(1), "bootstrap seed")(
      "no-series", "skip the indices over time of the file's series")("no-store", "do not write /sensitivity into the file");
}

int cmd_sensitivity(const po::variables_map& vm) {
  const auto files = operands(vm, SENSITIVITY);
  if (files.size() != 1) throw UsageError("sensitivity needs one experiment file: lepsim sensitivity EXPERIMENT.h5");
  const std::string& path = files[0];
  analysis::SensitivityOptions so;
  if (vm.count("metric")) so.metrics = vm["metric"].as<std::vector<std::string>>();
  so.bootstrap.resamples = vm["resamples"].as<int>();
  so.bootstrap.level = vm["level"].as<double>();
  so.bootstrap.seed = vm["seed"].as<std::uint64_t>();
  so.series = !vm.count("no-series");
  if (so.bootstrap.resamples < 10) throw UsageError("--resamples must be at least 10 (1000 or more for reported intervals)");
  if (!(so.bootstrap.level > 0 && so.bootstrap.level < 1)) throw UsageError("--level must be in (0, 1)");
  if (!std::filesystem::exists(path)) throw UsageError("no such file: " + path);
  const auto result = analysis::compute_sensitivity(path, so);
  if (!vm.count("no-store")) {
    try {
      analysis::store_sensitivity(path, result);
    } catch (const UsageError&) {
      throw;
    } catch (const std::exception& e) {
      throw OutputError("cannot write the indices into " + path + ": " + e.what());
    }
  }
  std::cout << (vm.count("json") ? analysis::sensitivity_json(result) : analysis::sensitivity_text(result));
  return 0;
}

}  // namespace

std::string stored_sensitivity(const std::string& path, analysis::Format format) {
  if (!analysis::is_experiment_file(path) || !analysis::has_sensitivity(path)) return "";
  const auto r = analysis::load_sensitivity(path);
  if (format == analysis::Format::Json) return analysis::sensitivity_json(r);
  std::string out = "\n";  // (not "\n" + text: GCC 12's -Wrestrict misfires on it)
  return out += analysis::sensitivity_text(r);
}

std::string with_sensitivity(std::string html, const std::string& path) {
  if (!analysis::is_experiment_file(path) || !analysis::has_sensitivity(path)) return html;
  const std::string section = analysis::sensitivity_html_section(analysis::load_sensitivity(path));
  const auto at = html.rfind("</body>");
  html.insert(at == std::string::npos ? html.size() : at, section);
  return html;
}

const Command SENSITIVITY{"sensitivity",
                          "sensitivity EXPERIMENT.h5",
                          "which inputs matter: Sobol', Morris, tornado, with intervals",
                          R"(lepsim sensitivity EXPERIMENT.h5 [--metric NAME ...] [--json] [options]

Which inputs matter, each figure with its interval (docs/analysis.md, "Sensitivity
analysis"), from an experiment file whose design is made for it:
  design = "saltelli"       Sobol' first-order (Saltelli 2010) and total (Jansen)
                            indices, the model's randomness as a factor of its own
                            ('noise') and the aleatory share; also the indices of the
                            replication mean; convergence check (N/2 vs N base rows)
  design = "morris"         elementary effects mu, mu*, sigma (screening)
  design = "one_at_a_time"  low/high swings, paired under common random numbers (tornado)
Intervals: seeded percentile bootstrap (B = --resamples), t intervals for swings.
Every series in the file also gets its indices at every step (indices over time).
The results are written into the experiment file under /sensitivity (unless
--no-store) and printed as ranked tables; `lepsim summary EXPERIMENT.h5` prints them
after the per-point figures and `lepsim report EXPERIMENT.h5` adds their charts.

Examples:
  lepsim experiment scenarios/experiments/bsf-morris.toml -o morris.h5
  lepsim sensitivity morris.h5
  lepsim sensitivity sobol.h5 --metric completed_cumulative@120 --json

Exit codes: 0 ok, 2 bad command line or a file/design without indices, 4 cannot write the file.
)",
                          "experiment-file",
                          1,
                          sensitivity_options,
                          cmd_sensitivity};

}  // namespace lepsim::cli
