// `lepsim summary | report | compare | export`: commands that read run files through
// lepsim::analysis (never engine internals). Everything is computed before the first
// line goes to stdout, so a failing command prints nothing there.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lepsim/analysis/compare.hpp"
#include "lepsim/analysis/experiment_reader.hpp"
#include "lepsim/analysis/export.hpp"
#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/report.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"

namespace lepsim::cli {
namespace {

using analysis::csv_cell;
using analysis::Estimate;
using analysis::Figure;
using analysis::FigureKind;

const char* SUMMARY_HELP = R"(lepsim summary RUN.h5 [options]

Headline figures of a run, each with its confidence interval: schools completed
by year 5 and 10 (and by the horizon), programme finish P50 and P80, the
probability that every project is done within the horizon, spend, peak capacity
utilisation and, when the run has them, the partnership outputs (health,
disputes, exclusivity, transformation). Means carry a Student-t interval,
percentiles a distribution-free order-statistic interval, probabilities a
Wilson interval (docs/analysis.md).

Examples:
  lepsim summary bsf.h5
  lepsim summary bsf.h5 --target 500:120 --target all:180 --level 0.9
  lepsim summary bsf.h5 --format json > bsf-summary.json

Options)";

const char* REPORT_HELP = R"(lepsim report RUN.h5 [-o report.html] [options]

One self-contained HTML page (inline SVG charts, no scripts or network): the
headline table, a fan chart of cumulative completions (with the scenario's
plan when it states one), the probability of finishing by each month, stage
occupancy, capacity utilisation by discipline, partnering health and
exclusivity (when present) and spend by year (docs/analysis.md, "Report").

Examples:
  lepsim report bsf.h5                   # writes bsf.html
  lepsim report bsf.h5 -o bsf-report.html --force

Options)";

const char* COMPARE_HELP = R"(lepsim compare A.h5 B.h5 [C.h5 ...] [options]

Headline figures side by side, and the difference of each run from the first
with its interval. Runs made with the same seed and replication count share
their random numbers (common random numbers): their differences are taken
replication by replication, which gives a much narrower interval than for
independent runs (shown alongside). Percentile differences have no interval.

Examples:
  lepsim run scenarios/bsf.toml -o bsf.h5
  lepsim run scenarios/policy/practices-mandated.toml -o mandated.h5
  lepsim compare bsf.h5 mandated.h5
  lepsim compare bsf.h5 mandated.h5 --format csv > diff.csv

Options)";

const char* EXPORT_HELP = R"(lepsim export RUN.h5 --to DIR [--outputs NAME,...] [--force]

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

Examples:
  lepsim export bsf.h5 --to bsf-csv
  lepsim export bsf.h5 --to bsf-csv --outputs summary,completed_cumulative

Options)";

//! Options shared by the commands that compute figures.
void add_figure_options(po::options_description& opts) {
  opts.add_options()
      ("level", po::value<double>()->default_value(0.95, "0.95"), "confidence level of every interval, in (0, 1)")
      ("target", po::value<std::vector<std::string>>()->composing(),
       "also give P(N schools done by month M), as N:M; N may be 'all' (repeatable)");
}

analysis::FigureOptions figure_options(const po::variables_map& vm) {
  analysis::FigureOptions o;
  o.level = vm["level"].as<double>();
  if (!(o.level > 0 && o.level < 1)) throw UsageError("--level must be between 0 and 1 (e.g. 0.95), got " + std::to_string(o.level));
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

std::string format_choice(const po::variables_map& vm) {
  const std::string f = vm["format"].as<std::string>();
  if (f != "text" && f != "csv" && f != "json") throw UsageError("--format must be text, csv or json, got '" + f + "'");
  return f;
}

std::string fixed(double x, int digits) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

//! Digits for a figure's unit: counts to 1 decimal, probabilities and 0-1 to 3.
int digits_for(const std::string& unit) {
  if (unit == "probability" || unit == "0-1" || unit == "fraction of FTE") return 3;
  return 1;
}

std::string value_text(double x, const std::string& unit) {
  if (unit == "month" && std::isinf(x)) return x > 0 ? "after horizon" : "before start";
  return fixed(x, digits_for(unit));
}

std::string interval_text(const Estimate& e, const std::string& unit) {
  if (std::isnan(e.lo) && std::isnan(e.hi)) return "";
  std::string out = "[";  // (appends: GCC 12 warns falsely on "literal" + string chains)
  out += value_text(e.lo, unit);
  out += ", ";
  out += value_text(e.hi, unit);
  out += "]";
  return out;
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += c;
  }
  return out + "\"";
}

std::string csv_number(double x) {
  if (std::isnan(x)) return "";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return json_number(x);
}

const char* kind_name(FigureKind k) {
  switch (k) {
    case FigureKind::Mean: return "mean";
    case FigureKind::Percentile: return "percentile";
    default: return "probability";
  }
}

std::string pad(const std::string& s, std::size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }

std::string level_text(double level) {
  std::ostringstream o;
  o << level * 100 << "%";
  return o.str();
}

std::string summary_text(const analysis::RunMetadata& m, const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << m.path << ": scenario '" << m.scenario_name << "', seed " << m.seed << ", " << m.replications
    << " replications, lepsim " << m.engine_version << "\n";
  o << "intervals: " << level_text(level) << " confidence (mean: Student t; percentiles: order statistics; "
    << "probabilities: Wilson)\n\n";
  const std::string ci = level_text(level) + " CI";
  o << pad("figure", 54) << pad("unit", 16) << pad("estimate", 15) << pad(ci, 30) << pad("P10", 10) << pad("P50", 10)
    << pad("P80", 10) << "P90\n";
  for (const Figure& f : figs) {
    o << pad(f.label, 54) << pad(f.unit, 16) << pad(value_text(f.estimate.value, f.unit), 15)
      << pad(interval_text(f.estimate, f.unit), 30);
    for (const auto& [p, e] : f.percentiles) o << pad(value_text(e.value, f.unit), 10);
    o << "\n";
  }
  return o.str();
}

std::string summary_csv(const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << "key,label,unit,kind,level,n,estimate,lo,hi,p10,p10_lo,p10_hi,p50,p50_lo,p50_hi,p80,p80_lo,p80_hi,p90,p90_lo,p90_hi\n";
  for (const Figure& f : figs) {
    o << f.key << "," << csv_cell(f.label) << "," << csv_cell(f.unit) << "," << kind_name(f.kind) << "," << level << ","
      << f.estimate.n << "," << csv_number(f.estimate.value) << "," << csv_number(f.estimate.lo) << ","
      << csv_number(f.estimate.hi);
    for (std::size_t i = 0; i < 4; ++i) {
      if (i < f.percentiles.size()) {
        const Estimate& e = f.percentiles[i].second;
        o << "," << csv_number(e.value) << "," << csv_number(e.lo) << "," << csv_number(e.hi);
      } else o << ",,,";
    }
    o << "\n";
  }
  return o.str();
}

std::string figure_json(const Figure& f) {
  std::ostringstream o;
  o << "{\"key\": " << json_string(f.key) << ", \"label\": " << json_string(f.label) << ", \"unit\": " << json_string(f.unit)
    << ", \"kind\": \"" << kind_name(f.kind) << "\", \"n\": " << f.estimate.n
    << ", \"estimate\": " << json_number(f.estimate.value) << ", \"lo\": " << json_number(f.estimate.lo)
    << ", \"hi\": " << json_number(f.estimate.hi);
  if (f.unit == "month") o << ", \"after_horizon\": " << (std::isinf(f.estimate.value) ? "true" : "false");
  if (!f.percentiles.empty()) {
    o << ", \"percentiles\": {";
    for (std::size_t i = 0; i < f.percentiles.size(); ++i) {
      const auto& [p, e] = f.percentiles[i];
      o << (i ? ", " : "") << "\"p" << p << "\": {\"estimate\": " << json_number(e.value) << ", \"lo\": " << json_number(e.lo)
        << ", \"hi\": " << json_number(e.hi) << "}";
    }
    o << "}";
  }
  return o.str() + "}";
}

std::string run_json(const analysis::RunMetadata& m) {
  return "{\"file\": " + json_string(m.path) + ", \"scenario\": " + json_string(m.scenario_name) +
         ", \"seed\": " + std::to_string(m.seed) + ", \"replications\": " + std::to_string(m.replications) +
         ", \"engine_version\": " + json_string(m.engine_version) + ", \"format\": \"" + std::to_string(m.format_major) +
         "." + std::to_string(m.format_minor) + "\"}";
}

std::string summary_json(const analysis::RunMetadata& m, const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << "{\"run\": " << run_json(m) << ",\n \"level\": " << level << ",\n \"figures\": [\n";
  for (std::size_t i = 0; i < figs.size(); ++i) o << "  " << figure_json(figs[i]) << (i + 1 < figs.size() ? ",\n" : "\n");
  o << " ]}\n";
  return o.str();
}

//! The one positional run file and the --help handling shared by the commands.
struct Parsed {
  po::variables_map vm;
  bool help = false;
};

Parsed parse(const std::vector<std::string>& args, po::options_description& opts, const char* help,
             const char* positional, int max_positional) {
  opts.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()(positional, po::value<std::vector<std::string>>(), "run files");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add(positional, max_positional);
  Parsed p{parse_command(args, all, pos)};
  if (p.vm.count("help")) {
    std::cout << help << opts << "\n";
    p.help = true;
  }
  return p;
}

}  // namespace

int cmd_summary(const std::vector<std::string>& args) {
  po::options_description opts;
  add_figure_options(opts);
  opts.add_options()("format", po::value<std::string>()->default_value("text"), "text, csv or json");
  add_quick_option(opts);
  Parsed p = parse(args, opts, SUMMARY_HELP, "run-file", 1);
  if (p.help) return 0;
  if (!p.vm.count("run-file")) throw UsageError("summary needs a run file: lepsim summary RUN.h5");
  const std::string format = format_choice(p.vm);
  const analysis::FigureOptions fo = figure_options(p.vm);
  if (const std::string f = p.vm["run-file"].as<std::vector<std::string>>()[0]; analysis::is_experiment_file(f)) {
    if (const std::string s = stored_sensitivity(f, format); format == "json" && !s.empty()) return std::cout << s, 0;
    const auto ex = analysis::read_experiment(f);  // experiment files: docs/experiments.md
    std::cout << (format == "csv" ? analysis::experiment_csv(ex, fo.level) : analysis::experiment_summary_text(ex, fo.level));
    if (format == "text") std::cout << stored_sensitivity(f, format);  // the ranked indices, when computed
    return 0;
  }
  const auto run = open_run(p.vm["run-file"].as<std::vector<std::string>>()[0], p.vm);
  const auto figs = analysis::headline_figures(*run, fo);
  const std::string out = format == "json" ? summary_json(run->metadata(), figs, fo.level)
                          : format == "csv" ? summary_csv(figs, fo.level)
                                            : summary_text(run->metadata(), figs, fo.level);
  std::cout << out;
  return 0;
}

int cmd_report(const std::vector<std::string>& args) {
  po::options_description opts;
  opts.add_options()("output,o", po::value<std::string>(), "HTML file to write (default: RUN's name with .html)")(
      "force,f", "overwrite the output file if it exists");
  add_figure_options(opts);
  add_quick_option(opts);
  Parsed p = parse(args, opts, REPORT_HELP, "run-file", 1);
  if (p.help) return 0;
  if (!p.vm.count("run-file")) throw UsageError("report needs a run file: lepsim report RUN.h5");
  const std::string path = p.vm["run-file"].as<std::vector<std::string>>()[0];
  analysis::ReportOptions ro;
  ro.figures = figure_options(p.vm);
  ro.output_path = p.vm.count("output") ? p.vm["output"].as<std::string>()
                                        : std::filesystem::path(path).stem().string() + ".html";
  std::error_code ec;
  if (!p.vm.count("force") && std::filesystem::exists(ro.output_path, ec))
    throw OutputError(ro.output_path + " exists; use --force to overwrite it");
  install_signal_handlers();
  if (analysis::is_experiment_file(path)) {  // experiment files: docs/experiments.md
    analysis::write_text_file(ro.output_path, with_sensitivity(analysis::experiment_report_html(analysis::read_experiment(path), ro.figures.level), path));
    std::cout << "wrote " << ro.output_path << "\n";
    return 0;
  }
  const auto run = open_run(path, p.vm);
  analysis::write_report(*run, ro);
  std::cout << "wrote " << ro.output_path << "\n";
  return 0;
}

int cmd_compare(const std::vector<std::string>& args) {
  po::options_description opts;
  add_figure_options(opts);
  opts.add_options()("format", po::value<std::string>()->default_value("text"), "text, csv or json");
  add_quick_option(opts);
  Parsed p = parse(args, opts, COMPARE_HELP, "run-files", -1);
  if (p.help) return 0;
  const auto files = p.vm.count("run-files") ? p.vm["run-files"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (files.size() < 2) throw UsageError("compare needs at least two run files: lepsim compare A.h5 B.h5");
  const std::string format = format_choice(p.vm);
  const analysis::FigureOptions fo = figure_options(p.vm);
  std::vector<std::unique_ptr<analysis::RunReader>> readers;
  std::vector<const analysis::RunReader*> runs;
  for (const auto& f : files) {
    readers.push_back(open_run(f, p.vm));
    runs.push_back(readers.back().get());
  }
  const analysis::Comparison c = analysis::compare_runs(runs, fo);
  std::ostringstream o;
  if (format == "text") {
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      const auto& m = c.runs[i];
      o << "[" << static_cast<char>('A' + std::min<std::size_t>(i, 25)) << "] " << m.path << ": scenario '"
        << m.scenario_name << "', seed " << m.seed << ", " << m.replications << " replications";
      if (i > 0) o << (c.paired[i - 1] ? "; paired with A (common random numbers)" : "; independent of A");
      o << "\n";
    }
    o << "differences from A with " << level_text(fo.level) << " intervals; for paired runs the interval "
      << "independent runs would give is shown as 'indep. +-'\n\n";
    o << pad("figure", 50);
    for (std::size_t i = 0; i < c.runs.size(); ++i) o << pad(std::string(1, static_cast<char>('A' + std::min<std::size_t>(i, 25))), 15);
    for (std::size_t i = 1; i < c.runs.size(); ++i)
      o << pad(std::string(1, static_cast<char>('A' + std::min<std::size_t>(i, 25))) + " - A", 48);
    o << "\n";
    for (const auto& f : c.figures) {
      o << pad(f.label, 50);
      for (const auto& e : f.estimates) o << pad(value_text(e.value, f.unit), 15);
      for (const auto& d : f.differences) {
        std::string cell = d.estimate.value >= 0 ? "+" : "";
        cell += value_text(d.estimate.value, f.unit);
        if (d.has_interval) {
          cell += ' ';
          cell += interval_text(d.estimate, f.unit);
          if (d.paired) {
            cell += " indep. +-";
            cell += fixed(d.independent_half_width, digits_for(f.unit));
          }
        }
        o << pad(cell, 48);
      }
      o << "\n";
    }
  } else if (format == "csv") {
    o << "key,label,unit,kind,level,run,file,estimate,lo,hi,difference,difference_lo,difference_hi,paired,"
         "independent_half_width\n";
    for (const auto& f : c.figures)
      for (std::size_t i = 0; i < c.runs.size(); ++i) {
        o << f.key << "," << csv_cell(f.label) << "," << csv_cell(f.unit) << "," << kind_name(f.kind) << "," << fo.level << ","
          << i << "," << csv_cell(c.runs[i].path) << "," << csv_number(f.estimates[i].value) << ","
          << csv_number(f.estimates[i].lo) << "," << csv_number(f.estimates[i].hi);
        if (i == 0) o << ",,,,,\n";
        else {
          const auto& d = f.differences[i - 1];
          o << "," << csv_number(d.estimate.value) << "," << csv_number(d.estimate.lo) << "," << csv_number(d.estimate.hi)
            << "," << (d.paired ? 1 : 0) << "," << csv_number(d.independent_half_width) << "\n";
        }
      }
  } else {
    o << "{\"level\": " << fo.level << ",\n \"runs\": [";
    for (std::size_t i = 0; i < c.runs.size(); ++i) o << (i ? ", " : "") << run_json(c.runs[i]);
    o << "],\n \"figures\": [\n";
    for (std::size_t k = 0; k < c.figures.size(); ++k) {
      const auto& f = c.figures[k];
      o << "  {\"key\": " << json_string(f.key) << ", \"label\": " << json_string(f.label) << ", \"unit\": "
        << json_string(f.unit) << ", \"kind\": \"" << kind_name(f.kind) << "\", \"estimates\": [";
      for (std::size_t i = 0; i < f.estimates.size(); ++i)
        o << (i ? ", " : "") << "{\"estimate\": " << json_number(f.estimates[i].value) << ", \"lo\": "
          << json_number(f.estimates[i].lo) << ", \"hi\": " << json_number(f.estimates[i].hi) << "}";
      o << "], \"differences\": [";
      for (std::size_t i = 0; i < f.differences.size(); ++i) {
        const auto& d = f.differences[i];
        o << (i ? ", " : "") << "{\"difference\": " << json_number(d.estimate.value) << ", \"lo\": "
          << json_number(d.estimate.lo) << ", \"hi\": " << json_number(d.estimate.hi)
          << ", \"paired\": " << (d.paired ? "true" : "false")
          << ", \"independent_half_width\": " << json_number(d.independent_half_width) << "}";
      }
      o << "]}" << (k + 1 < c.figures.size() ? ",\n" : "\n");
    }
    o << " ]}\n";
  }
  std::cout << o.str();
  return 0;
}

int cmd_export(const std::vector<std::string>& args) {
  po::options_description opts;
  opts.add_options()("to", po::value<std::string>(), "folder to write the CSV files in (created if missing)")(
      "outputs", po::value<std::string>(), "comma-separated outputs to write (default: all)")(
      "force,f", "overwrite existing CSV files");
  add_quick_option(opts);
  Parsed p = parse(args, opts, EXPORT_HELP, "run-file", 1);
  if (p.help) return 0;
  if (!p.vm.count("run-file")) throw UsageError("export needs a run file: lepsim export RUN.h5 --to DIR");
  if (!p.vm.count("to")) throw UsageError("export needs --to DIR: the folder for the CSV files");
  install_signal_handlers();
  if (const std::string f = p.vm["run-file"].as<std::vector<std::string>>()[0]; analysis::is_experiment_file(f)) {
    const std::string file = (std::filesystem::path(p.vm["to"].as<std::string>()) / "points.csv").string();
    std::filesystem::create_directories(p.vm["to"].as<std::string>());  // experiment files: docs/experiments.md
    if (!p.vm.count("force") && std::filesystem::exists(file)) throw OutputError(file + " exists; use --force to overwrite it");
    analysis::write_text_file(file, analysis::experiment_csv(analysis::read_experiment(f), 0.95));
    std::cout << "wrote " << file << "\n";
    return 0;
  }
  const auto run = open_run(p.vm["run-file"].as<std::vector<std::string>>()[0], p.vm);
  analysis::ExportOptions eo;
  eo.force = p.vm.count("force") > 0;
  if (p.vm.count("outputs")) {
    std::stringstream list(p.vm["outputs"].as<std::string>());
    for (std::string name; std::getline(list, name, ',');)
      if (!name.empty()) eo.outputs.push_back(name);
    if (eo.outputs.empty()) throw UsageError("--outputs needs at least one name, e.g. --outputs completed_cumulative");
  }
  const auto files = analysis::export_csv(*run, p.vm["to"].as<std::string>(), eo);
  std::cout << "wrote " << files.size() << " CSV files in " << p.vm["to"].as<std::string>() << "\n";
  return 0;
}

}  // namespace lepsim::cli
