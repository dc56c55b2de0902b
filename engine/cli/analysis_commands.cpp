// `lepsim summary | report | compare | export`: commands that read run files through
// lepsim::analysis (never engine internals), which also formats what they print.
// Everything is computed before the first line goes to stdout, so a failing command
// prints nothing there.

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lepsim/analysis/compare.hpp"
#include "lepsim/analysis/experiment_reader.hpp"
#include "lepsim/analysis/export.hpp"
#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/format.hpp"
#include "lepsim/analysis/report.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/analysis/uncertainty.hpp"
#include "lepsim/error.hpp"

namespace lepsim::cli {
namespace {

//! Options shared by the commands that compute figures.
void add_figure_options(po::options_description& opts) {
  opts.add_options()("level", po::value<double>()->default_value(0.95, "0.95"),
                     "confidence level of every interval, in (0, 1)")(
      "target", po::value<std::vector<std::string>>()->composing(),
      "also give P(N schools done by month M), as N:M; N may be 'all' (repeatable)");
}

void add_format_option(po::options_description& opts) {
  opts.add_options()("format", po::value<std::string>()->default_value("text"), "text, csv or json");
}

analysis::FigureOptions figure_options(const po::variables_map& vm) {
  analysis::FigureOptions o;
  o.level = vm["level"].as<double>();
  if (!(o.level > 0 && o.level < 1))
    throw UsageError("--level must be between 0 and 1 (e.g. 0.95), got " + std::to_string(o.level));
  if (vm.count("target"))
    for (const auto& t : vm["target"].as<std::vector<std::string>>()) {
      const auto colon = t.find(':');
      analysis::Target target;
      try {
        if (colon == std::string::npos) throw std::invalid_argument("no colon");
        const std::string n = t.substr(0, colon), m = t.substr(colon + 1);
        std::size_t used = 0;
        target.count = n == "all" ? -1 : std::stod(n, &used);
        if (n != "all" && (used != n.size() || target.count < 0)) throw std::invalid_argument("count");
        target.month = std::stod(m, &used);
        if (used != m.size() || !(target.month > 0)) throw std::invalid_argument("month");
      } catch (const std::exception&) {
        throw UsageError("--target " + t + ": expected N:M, N schools (or 'all') done by month M > 0, e.g. 500:120");
      }
      o.targets.push_back(target);
    }
  return o;
}

analysis::Format format_choice(const po::variables_map& vm) {
  try {
    return analysis::format_named(vm["format"].as<std::string>());
  } catch (const std::invalid_argument&) {
    throw UsageError("--format must be text, csv or json, got '" + vm["format"].as<std::string>() + "'");
  }
}

//! Every run file named, opened (and checked) in order; `runs` points at them.
struct OpenRuns {
  std::vector<std::unique_ptr<analysis::RunReader>> readers;
  std::vector<const analysis::RunReader*> runs;
  OpenRuns(const std::vector<std::string>& files, const po::variables_map& vm) {
    for (const auto& f : files) {
      readers.push_back(open_run(f, vm));
      runs.push_back(readers.back().get());
    }
  }
};

void summary_options(po::options_description& opts) {
  opts.add_options()("observed", po::value<std::string>(),
                     "a record file (scenarios/record/): each milestone against the model's P10-P90 (text or csv)");
  add_figure_options(opts);
  add_format_option(opts);
  add_quick_option(opts);
}

int cmd_summary(const po::variables_map& vm) {
  const auto files = operands(vm, SUMMARY);
  if (files.size() != 1) throw UsageError("summary needs a run file: lepsim summary RUN.h5");
  const analysis::Format format = format_choice(vm);
  const analysis::FigureOptions fo = figure_options(vm);
  if (analysis::is_experiment_file(files[0])) {  // experiment files: docs/experiments.md
    const std::string stored = stored_sensitivity(files[0], format);
    if (format == analysis::Format::Json && !stored.empty()) return std::cout << stored, 0;
    const auto ex = analysis::read_experiment(files[0]);
    std::cout << (format == analysis::Format::Csv ? analysis::experiment_csv(ex, fo.level)
                                                  : analysis::experiment_summary_text(ex, fo.level));
    if (format == analysis::Format::Text) std::cout << stored;  // the ranked indices, when computed
    return 0;
  }
  const auto run = open_run(files[0], vm);
  const std::vector<analysis::Figure> figs = analysis::headline_figures(*run, fo);
  const analysis::DrawnInputs drawn = analysis::read_drawn_inputs(*run);
  std::string out;
  if (vm.count("observed")) {
    if (format == analysis::Format::Json) throw UsageError("--observed prints text or csv (--format text or csv)");
    const std::string record = vm["observed"].as<std::string>();
    const auto checks = analysis::check_observed(*run, record);
    out = format == analysis::Format::Csv
              ? analysis::observed_csv(checks)
              : analysis::render_summary(format, run->metadata(), figs, fo.level) +
                    analysis::uncertainty_text(figs, drawn, fo.level) + analysis::observed_text(*run, record, checks, drawn);
  } else {
    out = analysis::render_summary(format, run->metadata(), figs, fo.level);
    if (format == analysis::Format::Text) out += analysis::uncertainty_text(figs, drawn, fo.level);
  }
  std::cout << out;
  return 0;
}

void report_options(po::options_description& opts) {
  opts.add_options()("output,o", po::value<std::string>(), "HTML file to write (default: the first RUN's name with .html)")(
      "force,f", "overwrite the output file if it exists");
  add_figure_options(opts);
  add_quick_option(opts);
}

int cmd_report(const po::variables_map& vm) {
  const auto files = operands(vm, REPORT);
  if (files.empty()) throw UsageError("report needs a run file: lepsim report RUN.h5 [B.h5 ...]");
  analysis::ReportOptions ro;
  ro.figures = figure_options(vm);
  ro.output_path =
      vm.count("output") ? vm["output"].as<std::string>() : std::filesystem::path(files[0]).stem().string() + ".html";
  std::error_code ec;
  if (!vm.count("force") && std::filesystem::exists(ro.output_path, ec))
    throw OutputError(ro.output_path + " exists; use --force to overwrite it");
  install_signal_handlers();
  if (files.size() == 1 && analysis::is_experiment_file(files[0])) {  // experiment files: docs/experiments.md
    analysis::write_text_file(
        ro.output_path,
        with_sensitivity(analysis::experiment_report_html(analysis::read_experiment(files[0]), ro.figures.level), files[0]));
    std::cout << "wrote " << ro.output_path << "\n";
    return 0;
  }
  const OpenRuns opened(files, vm);
  const std::vector<const analysis::RunReader*>& runs = opened.runs;
  if (runs.size() == 1)
    analysis::write_report(*runs[0], ro);
  else
    analysis::write_comparison_report(runs, ro);
  std::cout << "wrote " << ro.output_path << "\n";
  return 0;
}

int cmd_compare(const po::variables_map& vm) {
  const auto files = operands(vm, COMPARE);
  if (files.size() < 2) throw UsageError("compare needs at least two run files: lepsim compare A.h5 B.h5");
  const analysis::Format format = format_choice(vm);
  const analysis::FigureOptions fo = figure_options(vm);
  const OpenRuns opened(files, vm);
  const std::vector<const analysis::RunReader*>& runs = opened.runs;
  std::string out = analysis::render_comparison(format, analysis::compare_runs(runs, fo));
  if (format == analysis::Format::Text) out += analysis::uncertainty_comparison_text(runs, fo.level);
  std::cout << out;
  return 0;
}

void export_options(po::options_description& opts) {
  opts.add_options()("to", po::value<std::string>(), "folder to write the CSV files in (created if missing)")(
      "outputs", po::value<std::string>(), "comma-separated outputs to write (default: all)")(
      "force,f", "overwrite existing CSV files");
  add_quick_option(opts);
}

int cmd_export(const po::variables_map& vm) {
  const auto files = operands(vm, EXPORT);
  if (files.size() != 1) throw UsageError("export needs a run file: lepsim export RUN.h5 --to DIR");
  if (!vm.count("to")) throw UsageError("export needs --to DIR: the folder for the CSV files");
  install_signal_handlers();
  if (analysis::is_experiment_file(files[0])) {  // experiment files: docs/experiments.md
    const std::string dir = vm["to"].as<std::string>();
    const std::string file = (std::filesystem::path(dir) / "points.csv").string();
    std::filesystem::create_directories(dir);
    if (!vm.count("force") && std::filesystem::exists(file))
      throw OutputError(file + " exists; use --force to overwrite it");
    analysis::write_text_file(file, analysis::experiment_csv(analysis::read_experiment(files[0]), 0.95));
    std::cout << "wrote " << file << "\n";
    return 0;
  }
  const auto run = open_run(files[0], vm);
  analysis::ExportOptions eo;
  eo.force = vm.count("force") > 0;
  if (vm.count("outputs")) {
    std::stringstream list(vm["outputs"].as<std::string>());
    for (std::string name; std::getline(list, name, ',');)
      if (!name.empty()) eo.outputs.push_back(name);
    if (eo.outputs.empty()) throw UsageError("--outputs needs at least one name, e.g. --outputs completed_cumulative");
  }
  const auto written = analysis::export_csv(*run, vm["to"].as<std::string>(), eo);
  std::cout << "wrote " << written.size() << " CSV files in " << vm["to"].as<std::string>() << "\n";
  return 0;
}

}  // namespace

const Command SUMMARY{"summary",
                      "summary RUN.h5",
                      "headline figures with confidence intervals",
                      R"(lepsim summary RUN.h5 [options]

Headline figures of a run, each with its confidence interval: schools completed
by year 5 and 10 (and by the horizon), programme finish P50 and P80, the
probability that every project is done within the horizon, spend, programme
cost (capital and lever costs) and cost per school delivered by years 5 and 10,
peak capacity utilisation and, when the run has them, the partnership outputs
(health, disputes, exclusivity, transformation). Means carry a Student-t
interval, percentiles a distribution-free order-statistic interval,
probabilities a Wilson interval, ratios a delta-method interval
(docs/analysis.md). Under the table (text): the completions' total P10-P90
(inputs drawn and chance, for a run that draws its uncertain inputs), the
chance-only P10-P90 (inputs fixed) and the Monte Carlo error of the mean,
each labelled (docs/analysis.md, "Total and chance-only intervals").
With --observed RECORD.toml: each milestone of the record against the model's
P10/P50/P90 at its month, whether the interval covers the record (and the
looser +-2 sd test); milestones the run cannot evaluate are listed as not
expressible, with the reason (--format csv: one row per milestone).
Of an experiment file (docs/experiments.md): a table of points x metrics with
intervals (--format csv: one row per point), then the ranked indices of
`lepsim sensitivity` when the file holds them (--format json: those indices).

Examples:
  lepsim summary bsf.h5
  lepsim summary bsf.h5 --target 500:120 --target all:180 --level 0.9
  lepsim summary bsf.h5 --format json > bsf-summary.json
  lepsim summary bsf.h5 --observed scenarios/record/bsf-2008-12.toml
)",
                      "run-file",
                      1,
                      summary_options,
                      cmd_summary};

const Command REPORT{"report",
                     "report RUN.h5 [B.h5 ...] [-o FILE.html]",
                     "an HTML report with charts (one run or several)",
                     R"(lepsim report RUN.h5 [B.h5 ...] [-o report.html] [options]

One self-contained HTML page (inline SVG charts, no scripts or network).

With one run: the headline table, a fan chart of cumulative completions (with
the scenario's plan when it states one), the probability of finishing by each
month, stage occupancy, capacity utilisation by discipline, partnering health
and exclusivity (when present) and spend by year against the annual envelope.

With several runs: the policies side by side (docs/analysis.md, "Comparison
report"): a table of the variants with intervals and cost-effectiveness,
overlaid fan charts, the S-curves of finishing with the target month and each
run's P80 month, and the distributions of the paired differences from the first.

With one experiment file (docs/experiments.md): a chart of each metric against each
factor, and the sensitivity charts of `lepsim sensitivity` when the file holds them.

Examples:
  lepsim report bsf.h5                   # writes bsf.html
  lepsim report bsf.h5 -o bsf-report.html --force
  lepsim report bsf.h5 doubled.h5 mandated.h5 -o policies.html --target all:120
)",
                     "run-files",
                     -1,
                     report_options,
                     cmd_report};

const Command COMPARE{"compare",
                      "compare A.h5 B.h5 [C.h5 ...]",
                      "figures of runs side by side and their differences",
                      R"(lepsim compare A.h5 B.h5 [C.h5 ...] [options]

For each run after the first, one block: every headline figure of A and of
the run with its unit, the difference from A with its interval and, for runs
paired with A, the P10/P50/P90 of the per-replication differences and the
probability that the run does better than A in a replication. Runs made with
the same seed share their random numbers (common random numbers) and are
paired over their common replications, which gives much narrower intervals
than for independent runs (shown alongside). Cost figures give the extra cost
per extra school delivered. Mismatched start, horizon or outputs are warned
about. --format json keeps every figure (docs/analysis.md, "Comparing runs").

Examples:
  lepsim run scenarios/bsf.toml -o bsf.h5
  lepsim run scenarios/policy/practices-mandated.toml -o mandated.h5
  lepsim compare bsf.h5 mandated.h5
  lepsim compare bsf.h5 mandated.h5 --format csv > diff.csv
)",
                      "run-files",
                      -1,
                      summary_options,
                      cmd_compare};

const Command EXPORT{"export",
                     "export RUN.h5 --to DIR [--outputs NAME,...]",
                     "CSV files for pandas, R and spreadsheets",
                     R"(lepsim export RUN.h5 --to DIR [--outputs NAME,...] [--force]

CSV files for pandas, R and spreadsheets, with plain snake_case column names:
  DIR/replications.csv      one row per replication
  DIR/series/NAME.csv       one row per replication and step, a column per component
  DIR/summary/NAME.csv      mean, sd, P10, P50, P90 per step and component
  DIR/leps.csv              per LEP per replication (partnership runs)
  DIR/projects.csv          per project (when the run kept per-project rows)
  DIR/data-dictionary.csv   file, column, unit, description of every column written
Time is `step` (from 0) and `month_end`, the months from the start to the end of the
step: "completed by month 60" is the row with month_end == 60.
--outputs picks what to write: series names (both its files), LEP outputs (columns of
leps.csv) or the groups replications, series, summary, leps, projects.
Existing files are kept unless --force.
Of an experiment file (docs/experiments.md): DIR/points.csv, one row per point
(factor values, each metric's mean and interval).

Examples:
  lepsim export bsf.h5 --to bsf-csv
  lepsim export bsf.h5 --to bsf-csv --outputs summary,completed_cumulative
)",
                     "run-file",
                     1,
                     export_options,
                     cmd_export};

}  // namespace lepsim::cli
