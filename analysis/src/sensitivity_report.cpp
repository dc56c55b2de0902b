// The sensitivity results as text (ranked tables), JSON and an HTML page of inline SVG
// charts: a tornado (one-at-a-time swings), Sobol' first-order and total bars, Morris mu*
// bars, each with its interval, and the indices over time of every series.

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lepsim/analysis/format.hpp"
#include "lepsim/analysis/sensitivity_file.hpp"
#include "lepsim/text.hpp"

namespace lepsim::analysis {

namespace {

std::string fixed(double x, int digits = 3) {
  if (std::isnan(x)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

//! Digits for values of this magnitude: indices (|x| <= ~1) get 3, larger effects fewer.
int digits_for(const std::vector<Estimate>& v) {
  double m = 0;
  for (const auto& e : v)
    if (std::isfinite(e.value)) m = std::max(m, std::abs(e.value));
  return m >= 100 ? 1 : m >= 10 ? 2 : 3;
}

std::string with_interval(const Estimate& e, int digits) {
  if (std::isnan(e.lo)) return fixed(e.value, digits);
  return fixed(e.value, digits) + " [" + fixed(e.lo, digits) + ", " + fixed(e.hi, digits) + "]";
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string jest(const Estimate& e) { return "[" + json_number(e.value) + ", " + json_number(e.lo) + ", " + json_number(e.hi) + "]"; }

const char* method_title(const std::string& m) {
  return m == "sobol"    ? "Sobol' indices (every replication a sample; 'noise' = the model's own randomness)"
         : m == "morris" ? "Morris elementary effects (change of the metric across each factor's whole range)"
                         : "one-at-a-time swings (paired differences under common random numbers)";
}

//! The table's columns per method: (stat, heading).
std::vector<std::pair<std::string, std::string>> table_columns(const std::string& m) {
  if (m == "sobol") return {{"first", "S1"}, {"total", "ST"}, {"first_mean", "S1 of mean"}, {"total_mean", "ST of mean"}};
  if (m == "morris") return {{"mu_star", "mu*"}, {"mu", "mu"}, {"sigma", "sigma"}};
  return {{"swing", "high - low"}, {"low", "low - base"}, {"high", "high - base"}};
}

}  // namespace

std::string sensitivity_text(const SensitivityResult& r) {
  std::string o = "Sensitivity of " + r.experiment_name + " (" + r.design + " design, " + std::to_string(r.points) +
                  " points x " + std::to_string(r.replications) + " replications; " + fixed(100 * r.level, 0) +
                  "% intervals, bootstrap B = " + std::to_string(r.resamples) + ")\n";
  for (const auto& m : r.metrics) {
    o += "\n" + m.metric + ": " + method_title(m.method) + "\n";
    if (!m.skipped.empty()) {
      o += "  no indices: " + m.skipped + "\n";
      continue;
    }
    const auto cols = table_columns(m.method);
    std::vector<std::string> head = {"rank", "factor"};
    for (const auto& c : cols) head.push_back(c.second);
    std::vector<std::vector<std::string>> rows = {head};
    const auto order = m.ranking();
    for (std::size_t k = 0; k < order.size(); ++k) {
      std::vector<std::string> row = {std::to_string(k + 1), m.columns[order[k]]};
      for (const auto& c : cols) {
        const IndexColumn* s = m.stat(c.first);
        row.push_back(s ? with_interval(s->values[order[k]], digits_for(s->values)) : "-");
      }
      rows.push_back(row);
    }
    std::vector<std::size_t> w(head.size(), 0);
    for (const auto& row : rows)
      for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
    for (const auto& row : rows) {
      o += " ";
      for (std::size_t i = 0; i < row.size(); ++i) o.append(" ").append(pad(row[i], w[i]));
      while (!o.empty() && o.back() == ' ') o.pop_back();
      o += "\n";
    }
    if (m.method == "sobol") {
      if (const auto* a = m.scalar("aleatory"))
        o += "  aleatory share E[Var(Y|X)]/Var(Y): " + with_interval(a->value, 3) + "\n";
      if (const auto* a = m.scalar("aleatory_mean"))
        o += "  residual noise in the replication mean: " + with_interval(a->value, 3) + "\n";
      if (const auto* c = m.scalar("max_change"))
        o += "  convergence: largest change of an index from N/2 to N base rows " + fixed(c->value.value, 3) + "\n";
    }
  }
  for (const auto& s : r.series) {
    if (s.months.empty()) continue;
    o += "\n" + s.series + " over time (" + (s.method == "sobol" ? "ST" : "mu*") + " of the per-point mean, yearly):\n";
    const std::size_t stat = s.stat_names.size() - 1;  // total (Sobol') or mu* (Morris) is the last stat
    std::string line = "  " + pad("month", 7);
    for (const auto& c : s.columns) line.append(" ").append(pad(c.substr(0, 14), 14));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o += line + "\n";
    const std::size_t stride = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(12 / (s.months[0]))));
    for (std::size_t t = stride - 1; t < s.months.size(); t += stride) {
      line = "  " + pad(fixed(s.months[t], 0), 7);
      for (const auto& e : s.stats[stat][t]) line.append(" ").append(pad(fixed(e.value, digits_for(s.stats[stat][t])), 14));
      while (!line.empty() && line.back() == ' ') line.pop_back();
      o += line + "\n";
    }
  }
  return o;
}

std::string sensitivity_json(const SensitivityResult& r) {
  std::string o =
      "{\n  \"experiment\": " + json_string(r.experiment_name) + ",\n  \"design\": " + json_string(r.design) +
      ",\n  \"points\": " + std::to_string(r.points) + ",\n  \"replications\": " + std::to_string(r.replications) +
      ",\n  \"level\": " + json_number(r.level) + ",\n  \"resamples\": " + std::to_string(r.resamples) +
      ",\n  \"bootstrap_seed\": " + std::to_string(r.seed) + ",\n  \"seconds\": " + json_number(r.seconds) + ",\n  \"metrics\": [";
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& m = r.metrics[i];
    o += std::string(i ? "," : "") + "\n    {\"metric\": " + json_string(m.metric) + ", \"method\": " + json_string(m.method);
    if (!m.skipped.empty()) o += ", \"skipped\": " + json_string(m.skipped);
    o += ", \"ranking\": [";
    const auto order = m.ranking();
    for (std::size_t k = 0; k < order.size(); ++k) o += (k ? ", " : "") + json_string(m.columns[order[k]]);
    o += "],\n     \"columns\": [";
    for (std::size_t c = 0; c < m.columns.size(); ++c) {
      o += std::string(c ? "," : "") + "\n       {\"name\": " + json_string(m.columns[c]);
      for (const auto& s : m.stats) o += ", " + json_string(s.name) + ": " + jest(s.values[c]);
      o += "}";
    }
    o += "]";
    for (const auto& s : m.scalars) o += ",\n     " + json_string(s.name) + ": " + jest(s.value);
    o += "}";
  }
  o += "\n  ],\n  \"series\": [";
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const auto& s = r.series[i];
    o += std::string(i ? "," : "") + "\n    {\"series\": " + json_string(s.series) + ", \"method\": " + json_string(s.method) +
         ", \"columns\": [";
    for (std::size_t c = 0; c < s.columns.size(); ++c) o += (c ? ", " : "") + json_string(s.columns[c]);
    o += "], \"months\": [";
    for (std::size_t t = 0; t < s.months.size(); ++t) o += (t ? ", " : "") + json_number(s.months[t]);
    o += "]";
    for (std::size_t k = 0; k < s.stat_names.size(); ++k) {
      o += ", " + json_string(s.stat_names[k]) + ": [";
      for (std::size_t t = 0; t < s.months.size(); ++t) {
        o += t ? ", [" : "[";
        for (std::size_t c = 0; c < s.columns.size(); ++c) o += (c ? ", " : "") + json_number(s.stats[k][t][c].value);
        o += "]";
      }
      o += "]";
    }
    o += "}";
  }
  return o + "\n  ]\n}\n";
}

namespace {

constexpr double W = 760, LEFT = 190, RIGHT = 30, ROW = 26;
const char* const COLOURS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

//! Horizontal bars with interval whiskers, one group per ranked column; `bars` stats drawn
//! side by side; for a tornado the low and high swings from zero.
std::string bar_chart(const MetricSensitivity& m, const std::vector<std::string>& bars, bool tornado) {
  const auto order = m.ranking();
  const double per = ROW * static_cast<double>(std::max<std::size_t>(bars.size(), 1));
  const double H = 50 + per * static_cast<double>(order.size()) + 30;
  double lo = 0, hi = 0;
  for (const auto& b : bars)
    if (const IndexColumn* s = m.stat(b))
      for (const auto& e : s->values)
        for (double x : {e.value, e.lo, e.hi})
          if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!tornado && m.method == "sobol") hi = std::max(hi, 1.0);
  if (hi == lo) hi = lo + 1;
  auto X = [&](double v) { return LEFT + (v - lo) / (hi - lo) * (W - LEFT - RIGHT); };
  std::string o = "<svg class=\"sens\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\" width=\"" + num(W) + "\" height=\"" +
                  num(H) + "\" role=\"img\"><text class=\"title\" x=\"10\" y=\"20\">" + html_escape(m.metric) + "</text>";
  o += "<line x1=\"" + num(X(0)) + "\" y1=\"36\" x2=\"" + num(X(0)) + "\" y2=\"" + num(H - 28) + "\" stroke=\"#444\"/>";
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4;
    o += "<text class=\"tick\" x=\"" + num(X(v)) + "\" y=\"" + num(H - 10) + "\" text-anchor=\"middle\">" +
         fixed(v, std::abs(hi - lo) >= 10 ? 0 : 2) + "</text>";
  }
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t c = order[k];
    const double y0 = 40 + per * static_cast<double>(k);
    o += "<text class=\"label\" x=\"" + num(LEFT - 8) + "\" y=\"" + num(y0 + per / 2 + 4) + "\" text-anchor=\"end\">" +
         html_escape(m.columns[c]) + "</text>";
    for (std::size_t b = 0; b < bars.size(); ++b) {
      const IndexColumn* s = m.stat(bars[b]);
      if (!s) continue;
      const Estimate& e = s->values[c];
      if (!std::isfinite(e.value)) continue;
      const double y = y0 + ROW * static_cast<double>(b) + 4, h = ROW - 8;
      const double a = std::min(X(0), X(e.value)), w = std::abs(X(e.value) - X(0));
      o += "<rect x=\"" + num(a) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\" fill=\"" +
           COLOURS[b % 10] + "\" opacity=\"0.8\"><title>" + html_escape(m.columns[c] + " " + bars[b] + " " + with_interval(e, 3)) +
           "</title></rect>";
      if (std::isfinite(e.lo) && std::isfinite(e.hi)) {
        const double ym = y + h / 2;
        o += "<path d=\"M" + num(X(e.lo)) + " " + num(ym) + "H" + num(X(e.hi)) + "M" + num(X(e.lo)) + " " + num(ym - 5) +
             "V" + num(ym + 5) + "M" + num(X(e.hi)) + " " + num(ym - 5) + "V" + num(ym + 5) +
             "\" stroke=\"#111\" fill=\"none\"/>";
      }
    }
  }
  double lx = LEFT;
  for (std::size_t b = 0; b < bars.size(); ++b) {
    o += "<rect x=\"" + num(lx) + "\" y=\"26\" width=\"10\" height=\"10\" fill=\"" + COLOURS[b % 10] +
         "\"/><text class=\"sub\" x=\"" + num(lx + 14) + "\" y=\"35\">" + html_escape(bars[b]) + "</text>";
    lx += 120;
  }
  return o + "</svg>\n";
}

std::string series_chart(const SeriesSensitivity& s) {
  const std::size_t stat = s.stat_names.size() - 1;
  const double H = std::max(300.0, 70 + 14 * static_cast<double>(s.columns.size())), top = 40, bottom = H - 40;
  double hi = s.method == "sobol" ? 1.0 : 0;
  for (const auto& step : s.stats[stat])
    for (const auto& e : step)
      if (std::isfinite(e.value)) hi = std::max(hi, e.value);
  if (hi <= 0) hi = 1;
  const double m0 = 0, m1 = s.months.back();
  auto X = [&](double m) { return 60 + (m - m0) / (m1 - m0) * (W - 60 - 160); };
  auto Y = [&](double v) { return bottom - std::clamp(v, 0.0, hi) / hi * (bottom - top); };
  std::string o = "<svg class=\"sens\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\" width=\"" + num(W) + "\" height=\"" +
                  num(H) + "\" role=\"img\"><text class=\"title\" x=\"10\" y=\"20\">" + html_escape(s.series) + ": " +
                  html_escape(s.stat_names[stat]) + " by month</text>";
  o += "<path d=\"M60 " + num(top) + "V" + num(bottom) + "H" + num(X(m1)) + "\" stroke=\"#444\" fill=\"none\"/>";
  for (int t = 0; t <= 4; ++t) {
    o += "<text class=\"tick\" x=\"54\" y=\"" + num(Y(hi * t / 4) + 4) + "\" text-anchor=\"end\">" + fixed(hi * t / 4, 2) +
         "</text>";
    const double m = m0 + (m1 - m0) * t / 4;
    o += "<text class=\"tick\" x=\"" + num(X(m)) + "\" y=\"" + num(bottom + 16) + "\" text-anchor=\"middle\">" +
         fixed(m, 0) + "</text>";
  }
  for (std::size_t c = 0; c < s.columns.size(); ++c) {
    std::string d;
    for (std::size_t t = 0; t < s.months.size(); ++t) {
      const double v = s.stats[stat][t][c].value;
      if (!std::isfinite(v)) continue;
      d.append(d.empty() ? "M" : "L").append(num(X(s.months[t]))).append(" ").append(num(Y(v)));
    }
    o += "<path d=\"" + d + "\" stroke=\"" + COLOURS[c % 10] + "\" fill=\"none\" stroke-width=\"2\"/>";
    o += "<text class=\"sub\" x=\"" + num(X(m1) + 8) + "\" y=\"" + num(top + 14 * static_cast<double>(c)) + "\" fill=\"" +
         COLOURS[c % 10] + "\">" + html_escape(s.columns[c]) + "</text>";
  }
  return o + "</svg>\n";
}

}  // namespace

std::string sensitivity_html(const SensitivityResult& r) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sensitivity: " + html_escape(r.experiment_name) +
         "</title><style>body{font-family:system-ui,sans-serif;max-width:820px;margin:2em auto;color:#1f2933}</style>"
         "</head><body>\n" +
         sensitivity_html_section(r) + "</body></html>\n";
}

std::string sensitivity_html_section(const SensitivityResult& r) {
  std::string o =
      "<section id=\"sensitivity\"><style>svg.sens{max-width:100%;height:auto}svg.sens text{fill:#3e4c59}"
      "svg.sens .title{font-size:15px;font-weight:700}svg.sens .tick{font-size:11px}svg.sens .sub{font-size:11px}"
      "svg.sens .label{font-size:12.5px}#sensitivity pre{font-size:12px;overflow-x:auto}</style>\n";
  o += "<h1>Sensitivity: " + html_escape(r.experiment_name) + "</h1>\n<p>" + html_escape(r.design) + " design, " +
       std::to_string(r.points) + " points &times; " + std::to_string(r.replications) + " replications; bars show " +
       fixed(100 * r.level, 0) + "% bootstrap intervals (B = " + std::to_string(r.resamples) + ").</p>\n";
  for (const auto& m : r.metrics) {
    if (!m.skipped.empty()) continue;
    o += "<h2>" + html_escape(m.metric) + "</h2>\n<p>" + html_escape(method_title(m.method)) + "</p>\n";
    if (m.method == "sobol")
      o += bar_chart(m, {"first", "total"}, false);
    else if (m.method == "morris")
      o += bar_chart(m, {"mu_star"}, false);
    else
      o += bar_chart(m, {"low", "high"}, true);
  }
  for (const auto& s : r.series)
    if (!s.months.empty()) o.append("<h2>").append(html_escape(s.series)).append(" over time</h2>\n").append(series_chart(s));
  o += "<h2>Sensitivity tables</h2>\n<pre>" + html_escape(sensitivity_text(r)) + "</pre>\n</section>\n";
  return o;
}

}  // namespace lepsim::analysis
