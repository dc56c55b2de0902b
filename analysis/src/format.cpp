#include "lepsim/analysis/format.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "lepsim/analysis/export.hpp"
#include "lepsim/text.hpp"

namespace lepsim::analysis {
namespace {

const char* kind_name(FigureKind k) {
  switch (k) {
    case FigureKind::Mean:
      return "mean";
    case FigureKind::Percentile:
      return "percentile";
    case FigureKind::Ratio:
      return "ratio";
    default:
      return "probability";
  }
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string run_letter(std::size_t i) { return std::string(1, static_cast<char>('A' + std::min<std::size_t>(i, 25))); }

std::string run_json(const RunMetadata& m) {
  return "{\"file\": " + json_string(m.path) + ", \"scenario\": " + json_string(m.scenario_name) +
         ", \"seed\": " + std::to_string(m.seed) + ", \"replications\": " + std::to_string(m.replications) +
         ", \"start\": " + json_string(m.start) +
         ", \"horizon_months\": " + json_number(static_cast<double>(m.steps) * m.step_months) +
         ", \"engine_version\": " + json_string(m.engine_version) + ", \"format\": \"" + std::to_string(m.format_major) +
         "." + std::to_string(m.format_minor) + "\"}";
}

std::string estimate_json(const Estimate& e) {
  return "{\"estimate\": " + json_number(e.value) + ", \"lo\": " + json_number(e.lo) + ", \"hi\": " + json_number(e.hi) +
         "}";
}

}  // namespace

Format format_named(const std::string& name) {
  if (name == "text") return Format::Text;
  if (name == "csv") return Format::Csv;
  if (name == "json") return Format::Json;
  throw std::invalid_argument("the format must be text, csv or json, got '" + name + "'");
}

std::string fixed_text(double x, int digits, bool sign) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "+inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  std::string s = buf;
  // A value that rounds to zero is shown as 0, without a sign: no "-0.0", no "+0.0".
  if (s.find_first_of("123456789") == std::string::npos) {
    if (s[0] == '-') s.erase(0, 1);
    return s;
  }
  return sign && x > 0 ? "+" + s : s;
}

int digits_for(const std::string& unit) {
  if (unit == "probability" || unit == "0-1" || unit == "fraction of FTE") return 3;
  return 1;
}

std::string value_text(double x, const std::string& unit, bool sign) {
  if (unit == "month" && std::isinf(x) && !sign) return x > 0 ? "after horizon" : "before start";
  return fixed_text(x, digits_for(unit), sign);
}

std::string interval_text(const Estimate& e, const std::string& unit, bool sign) {
  if (std::isnan(e.lo) && std::isnan(e.hi)) return "";
  std::string out = "[";  // (appends: GCC 12 warns falsely on "literal" + string chains)
  out += value_text(e.lo, unit, sign);
  out += ", ";
  out += value_text(e.hi, unit, sign);
  out += "]";
  return out;
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  if (x == 0) return "0";  // never -0
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

//! A JSON string: the one quoting of lepsim/text.hpp (a TOML basic string is valid JSON).
std::string json_string(const std::string& s) { return quoted_string(s); }

std::string csv_number(double x) {
  if (std::isnan(x)) return "";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return json_number(x);
}

std::string level_text(double level) {
  std::ostringstream o;
  o << level * 100 << "%";
  return o.str();
}

std::string count_text(double n, const char* one, const char* many) {
  std::ostringstream o;
  o << n << " " << (n == 1 ? one : many);
  return o.str();
}

// ---- summary ----------------------------------------------------------------------------

std::string summary_text(const RunMetadata& m, const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << m.path << ": scenario '" << m.scenario_name << "', seed " << m.seed << ", " << m.replications
    << " replications, lepsim " << m.engine_version << "\n";
  o << "intervals: " << level_text(level) << " confidence (mean: Student t; percentiles: order statistics; "
    << "probabilities: Wilson; ratios: delta method)\n\n";
  const std::string ci = level_text(level) + " CI";
  o << pad("figure", 54) << pad("unit", 17) << pad("estimate", 15) << pad(ci, 30) << pad("P10", 10) << pad("P50", 10)
    << pad("P80", 10) << "P90\n";
  for (const Figure& f : figs) {
    o << pad(f.label, 54) << pad(f.unit, 17) << pad(value_text(f.estimate.value, f.unit), 15)
      << pad(interval_text(f.estimate, f.unit), 30);
    for (const auto& [p, e] : f.percentiles) o << pad(value_text(e.value, f.unit), 10);
    o << "\n";
  }
  return o.str();
}

std::string summary_csv(const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << "key,label,unit,kind,level,n,estimate,lo,hi,p10,p10_lo,p10_hi,p50,p50_lo,p50_hi,p80,p80_lo,p80_hi,p90,p90_lo,p90_"
       "hi\n";
  for (const Figure& f : figs) {
    o << f.key << "," << csv_cell(f.label) << "," << csv_cell(f.unit) << "," << kind_name(f.kind) << "," << level << ","
      << f.estimate.n << "," << csv_number(f.estimate.value) << "," << csv_number(f.estimate.lo) << ","
      << csv_number(f.estimate.hi);
    for (std::size_t i = 0; i < 4; ++i) {
      if (i < f.percentiles.size()) {
        const Estimate& e = f.percentiles[i].second;
        o << "," << csv_number(e.value) << "," << csv_number(e.lo) << "," << csv_number(e.hi);
      } else
        o << ",,,";
    }
    o << "\n";
  }
  return o.str();
}

namespace {
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
      o << (i ? ", " : "") << "\"p" << p << "\": " << estimate_json(e);
    }
    o << "}";
  }
  return o.str() + "}";
}
}  // namespace

std::string summary_json(const RunMetadata& m, const std::vector<Figure>& figs, double level) {
  std::ostringstream o;
  o << "{\"run\": " << run_json(m) << ",\n \"level\": " << level << ",\n \"figures\": [\n";
  for (std::size_t i = 0; i < figs.size(); ++i) o << "  " << figure_json(figs[i]) << (i + 1 < figs.size() ? ",\n" : "\n");
  o << " ]}\n";
  return o.str();
}

std::string render_summary(Format f, const RunMetadata& m, const std::vector<Figure>& figs, double level) {
  return f == Format::Json  ? summary_json(m, figs, level)
         : f == Format::Csv ? summary_csv(figs, level)
                            : summary_text(m, figs, level);
}

// ---- compare ----------------------------------------------------------------------------

namespace {

//! The pieces of "B - A ..." of one figure in one block, each with the separator before it.
using Pieces = std::vector<std::pair<std::string, std::string>>;
Pieces difference_pieces(const ComparedFigure& f, const Difference& d, const std::string& b) {
  const bool ratio = f.kind == FigureKind::Ratio;
  std::ostringstream head;  // (ostringstream: GCC 12 warns falsely on "literal" + string chains)
  if (ratio)
    head << "extra cost per extra school (" << b << " vs A) ";
  else
    head << b << " - A ";
  if (!d.defined) {
    head << "undefined (" << d.undefined_why << ")";
    return {{"   ", head.str()}};
  }
  head << value_text(d.estimate.value, f.unit, !ratio);
  Pieces out = {{"   ", head.str()}};
  if (ratio && d.extra_denominator < 0)
    out.push_back({" ", d.extra_numerator < 0 ? "(fewer schools: saved per school forgone)"
                                              : "(dominated: costs more for fewer schools)"});
  if (!d.has_interval)
    out.push_back({" ", "(a difference of percentiles has no interval)"});
  else if (std::isinf(d.estimate.lo) && std::isinf(d.estimate.hi))
    out.push_back({" ", std::string("[unbounded: ") + (ratio ? "the extra schools are" : "the difference is") +
                            " not distinguishable from 0]"});
  else {
    out.push_back({" ", interval_text(d.estimate, f.unit, !ratio)});
    if (d.paired && std::isfinite(d.independent_half_width))
      out.push_back({" ", "(independent runs: +-" + fixed_text(d.independent_half_width, digits_for(f.unit)) + ")"});
  }
  return out;
}

//! The line of the per-replication spread and P(B better), for paired runs.
std::string spread_line(const ComparedFigure& f, const Difference& d, const std::string& b) {
  std::ostringstream o;
  if (!d.spread.empty()) {
    o << "per replication " << b << " - A: ";
    for (std::size_t i = 0; i < d.spread.size(); ++i)
      o << (i ? ", P" : "P") << fixed_text(d.spread[i].first, 0) << " "
        << value_text(d.spread[i].second.value, f.unit, true);
  }
  return o.str();
}

//! "P(B better) 0.925 [0.880, 0.954], same 0.060", or "" without a direction or pairing.
std::string better_text(const Difference& d, const std::string& b) {
  if (std::isnan(d.better.value)) return "";
  std::ostringstream o;
  o << "P(" << b << " better) " << fixed_text(d.better.value, 3) << " " << interval_text(d.better, "probability");
  if (d.same.value > 0) o << ", same " << fixed_text(d.same.value, 3);
  return o.str();
}

//! Pieces (each with the separator before it) on indented lines of at most WIDTH columns.
constexpr std::size_t WIDTH = 100;
std::string lines(const Pieces& pieces, const std::string& indent) {
  std::string out, line;
  for (const auto& [sep, p] : pieces) {
    if (p.empty()) continue;
    if (!line.empty() && indent.size() + line.size() + sep.size() + p.size() > WIDTH) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : sep) + p;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

}  // namespace

std::string comparison_text(const Comparison& c) {
  std::ostringstream o;
  for (std::size_t i = 0; i < c.runs.size(); ++i) {
    const auto& m = c.runs[i];
    o << "[" << run_letter(i) << "] " << m.path << ": '" << m.scenario_name << "', seed " << m.seed << ", " << m.replications
      << " replications\n";
    if (i > 0)
      o << "    "
        << (c.paired[i - 1] ? "paired with [A] over " + std::to_string(c.pairs[i - 1]) +
                                  " replications (same seed: common random numbers)"
                            : std::string("independent of [A] (another seed or time grid)"))
        << "\n";
  }
  for (const auto& w : c.warnings) {  // wrapped at word boundaries within WIDTH
    Pieces words;
    std::istringstream in("warning: " + w);
    for (std::string word; in >> word;) words.push_back({" ", word});
    o << lines(words, "");
  }
  o << "intervals: " << level_text(c.level) << "; 'better' means more schools, earlier, cheaper or healthier\n";
  for (std::size_t i = 1; i < c.runs.size(); ++i) {
    const std::string b = run_letter(i);
    o << "\n[" << b << "] " << c.runs[i].scenario_name << " vs [A] " << c.runs[0].scenario_name << "\n";
    for (const auto& f : c.figures) {
      const Difference& d = f.differences[i - 1];
      o << "  " << f.label << " (" << f.unit << ")\n";
      Pieces first = {{"", "A " + value_text(f.estimates[0].value, f.unit)},
                      {"   ", b + " " + value_text(f.estimates[i].value, f.unit)}};
      for (auto& p : difference_pieces(f, d, b)) first.push_back(std::move(p));
      o << lines(first, "      ") << lines({{"", spread_line(f, d, b)}, {"; ", better_text(d, b)}}, "      ");
    }
  }
  return o.str();
}

std::string comparison_csv(const Comparison& c) {
  std::ostringstream o;
  o << "key,label,unit,kind,level,run,file,estimate,lo,hi,difference,difference_lo,difference_hi,defined,paired,pairs,"
       "independent_half_width,diff_p10,diff_p10_lo,diff_p10_hi,diff_p50,diff_p50_lo,diff_p50_hi,diff_p90,diff_p90_lo,"
       "diff_p90_hi,p_better,p_better_lo,p_better_hi,p_same\n";
  for (const auto& f : c.figures)
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      o << f.key << "," << csv_cell(f.label) << "," << csv_cell(f.unit) << "," << kind_name(f.kind) << "," << c.level << ","
        << i << "," << csv_cell(c.runs[i].path) << "," << csv_number(f.estimates[i].value) << ","
        << csv_number(f.estimates[i].lo) << "," << csv_number(f.estimates[i].hi);
      if (i == 0) {
        o << std::string(23, ',') << "\n";
        continue;
      }
      const auto& d = f.differences[i - 1];
      o << "," << (d.defined ? csv_number(d.estimate.value) : "") << "," << csv_number(d.estimate.lo) << ","
        << csv_number(d.estimate.hi) << "," << (d.defined ? 1 : 0) << "," << (d.paired ? 1 : 0) << "," << d.pairs << ","
        << csv_number(d.independent_half_width);
      for (std::size_t k = 0; k < 3; ++k) {
        if (k < d.spread.size()) {
          const Estimate& e = d.spread[k].second;
          o << "," << csv_number(e.value) << "," << csv_number(e.lo) << "," << csv_number(e.hi);
        } else
          o << ",,,";
      }
      o << "," << csv_number(d.better.value) << "," << csv_number(d.better.lo) << "," << csv_number(d.better.hi) << ","
        << csv_number(d.same.value) << "\n";
    }
  return o.str();
}

std::string comparison_json(const Comparison& c) {
  std::ostringstream o;
  o << "{\"level\": " << c.level << ",\n \"runs\": [";
  for (std::size_t i = 0; i < c.runs.size(); ++i) o << (i ? ", " : "") << run_json(c.runs[i]);
  o << "],\n \"pairing\": [";
  for (std::size_t i = 0; i < c.paired.size(); ++i)
    o << (i ? ", " : "") << "{\"paired\": " << (c.paired[i] ? "true" : "false") << ", \"pairs\": " << c.pairs[i] << "}";
  o << "],\n \"warnings\": [";
  for (std::size_t i = 0; i < c.warnings.size(); ++i) o << (i ? ", " : "") << json_string(c.warnings[i]);
  o << "],\n \"figures\": [\n";
  for (std::size_t k = 0; k < c.figures.size(); ++k) {
    const auto& f = c.figures[k];
    o << "  {\"key\": " << json_string(f.key) << ", \"label\": " << json_string(f.label)
      << ", \"unit\": " << json_string(f.unit) << ", \"kind\": \"" << kind_name(f.kind) << "\", \"better\": "
      << (f.better > 0   ? "\"higher\""
          : f.better < 0 ? "\"lower\""
                         : "null")
      << ", \"estimates\": [";
    for (std::size_t i = 0; i < f.estimates.size(); ++i)
      o << (i ? ", " : "") << "{\"estimate\": " << json_number(f.estimates[i].value)
        << ", \"lo\": " << json_number(f.estimates[i].lo) << ", \"hi\": " << json_number(f.estimates[i].hi)
        << ", \"n\": " << f.estimates[i].n
        << (f.unit == "month" ? std::string(", \"after_horizon\": ") + (std::isinf(f.estimates[i].value) ? "true" : "false")
                              : "")
        << "}";
    o << "],\n   \"differences\": [";
    for (std::size_t i = 0; i < f.differences.size(); ++i) {
      const auto& d = f.differences[i];
      o << (i ? ",\n    " : "") << "{\"difference\": " << (d.defined ? json_number(d.estimate.value) : "null")
        << ", \"lo\": " << json_number(d.estimate.lo) << ", \"hi\": " << json_number(d.estimate.hi)
        << ", \"defined\": " << (d.defined ? "true" : "false");
      if (!d.defined) o << ", \"undefined_why\": " << json_string(d.undefined_why);
      if (std::isinf(d.estimate.value)) o << ", \"infinite\": \"" << (d.estimate.value > 0 ? "+" : "-") << "\"";
      o << ", \"paired\": " << (d.paired ? "true" : "false") << ", \"pairs\": " << d.pairs
        << ", \"independent_half_width\": " << json_number(d.independent_half_width) << ", \"spread\": {";
      for (std::size_t q = 0; q < d.spread.size(); ++q)
        o << (q ? ", " : "") << "\"p" << d.spread[q].first << "\": " << estimate_json(d.spread[q].second);
      o << "}, \"p_better\": " << estimate_json(d.better) << ", \"p_same\": " << estimate_json(d.same) << "}";
    }
    o << "]}" << (k + 1 < c.figures.size() ? ",\n" : "\n");
  }
  o << " ]}\n";
  return o.str();
}

std::string render_comparison(Format f, const Comparison& c) {
  return f == Format::Json ? comparison_json(c) : f == Format::Csv ? comparison_csv(c) : comparison_text(c);
}

// ---- run and info -----------------------------------------------------------------------

namespace {
std::string finish_text(double months) {
  return months < 0 ? std::string("after the horizon") : "month " + std::to_string(static_cast<int>(months));
}
}  // namespace

std::string headline_text(const Headline& h, double horizon_months) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "projects per replication (mean):       %.1f\n"
                "completed within %.0f months (mean):    %.1f (%.1f%%)\n"
                "replications finishing every project:  %.1f%%\n"
                "programme finish P50 / P90:            %s / %s\n",
                h.projects_mean, horizon_months, h.completed_mean,
                h.projects_mean > 0 ? 100 * h.completed_mean / h.projects_mean : 0.0, 100 * h.finished_fraction,
                finish_text(h.finish_p50_months).c_str(), finish_text(h.finish_p90_months).c_str());
  return buf;
}

std::string info_text(const RunMetadata& m, const Headline& h, bool quick) {
  auto count = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::ostringstream o;
  o << m.path << ": lepsim run file, format " << m.format_major << "." << m.format_minor << ", "
    << (quick ? "structure checked (--quick)" : "every dataset read back and checked") << "\n";
  o << "written by:          lepsim " << m.engine_version << " (git " << m.git_revision << ") at " << m.created << "\n";
  o << "scenario:            '" << m.scenario_name << "' (" << m.scenario_source << ")\n";
  o << "replications:        " << m.replications << "\n";
  o << "seed:                " << m.seed << "\n";
  o << "time:                " << m.steps << " steps of " << count_text(m.step_months, "month", "months") << " from "
    << m.start << ", " << m.durations << " durations\n";
  o << "dimensions:          " << count(m.stages.size(), "stage", "stages") << ", "
    << count(m.disciplines.size(), "discipline", "disciplines") << ", "
    << count(m.pools.size(), "national pool", "national pools") << ", "
    << count(m.project_types.size(), "project type", "project types") << ", "
    << count(m.authorities.size(), "authority", "authorities") << "\n";
  std::string series;
  for (const auto& s : m.series) series += (series.empty() ? "" : ", ") + s.name;
  o << "series:              " << series << "\n";
  o << "per-project rows:    " << (m.per_project ? std::to_string(m.project_rows) : std::string("not written")) << "\n";
  o << headline_text(h, static_cast<double>(m.steps) * m.step_months);
  return o.str();
}

}  // namespace lepsim::analysis
