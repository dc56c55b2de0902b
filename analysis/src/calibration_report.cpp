// The posterior file read back for people: the text summary of `lepsim calibrate` and its
// diagnostics page (inline SVG, no scripts, no external resources).

#include "lepsim/analysis/calibration_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "atomic_file.hpp"
#include "lepsim/calibration.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/text.hpp"

namespace lepsim::analysis {

namespace {

struct WaveData {
  std::vector<double> box_lo, box_hi, points, implausibility, combined;
  std::vector<std::int8_t> plausible;
  std::size_t n = 0;
};

struct PosteriorData {
  std::string name, record, created, fingerprint, hm_stop, abc_stop;
  double cutoff = 3;
  std::size_t n = 0, d = 0, k = 0;
  std::vector<double> params, weights, prior_lo, prior_hi, final_lo, final_hi;
  std::vector<std::string> names, paths, modes, priors, target_ids;
  std::vector<WaveData> waves;
  std::vector<double> tolerance, acceptance, ess;
  std::vector<std::string> pp_ids, pp_metrics;
  std::vector<std::int8_t> pp_fitted, pp_covers, pp_covers_err;
  std::vector<double> pp_obs, pp_sd, pp_p10, pp_p50, pp_p90;
  std::int64_t simulations = 0, budget = 0;
  std::vector<std::string> skipped;
};

PosteriorData load(const std::string& path) {
  PosteriorData p;
  try {
    h5::File f = h5::File::open_read(path);
    const h5::Group root = f.root();
    if (!root.is_group("posterior")) throw RunFileError(path + ": not a posterior file (no /posterior)");
    const h5::Group g = root.open_group("posterior");
    if (!g.has_attr("format") || g.attr_string("format") != "lepsim-posterior")
      throw RunFileError(path + ": not a lepsim posterior file (/posterior format)");
    p.name = g.attr_string("calibration_name");
    p.record = g.attr_string("record_name");
    p.created = g.attr_string("created");
    p.fingerprint = g.attr_string("fingerprint");
    p.simulations = g.attr<std::int64_t>("simulations");
    p.budget = g.attr<std::int64_t>("budget");
    std::vector<std::uint64_t> dims;
    p.params = g.open_dataset("parameters").read<double>(&dims);
    p.n = dims.at(0), p.d = dims.at(1);
    p.weights = g.open_dataset("weights").read<double>();
    p.names = g.read_strings("factor_names");
    p.paths = g.read_strings("factor_paths");
    p.modes = g.read_strings("factor_modes");
    p.priors = g.read_strings("factor_priors");
    p.prior_lo = g.open_dataset("prior_lo").read<double>();
    p.prior_hi = g.open_dataset("prior_hi").read<double>();
    const h5::Group t = root.open_group("targets");
    p.target_ids = t.read_strings("ids");
    p.skipped = t.read_strings("skipped_ids");
    p.k = p.target_ids.size();
    const h5::Group hm = root.open_group("history_matching");
    p.hm_stop = hm.attr_string("stop_reason");
    p.cutoff = hm.attr<double>("cutoff");
    p.final_lo = hm.open_dataset("final_box_lo").read<double>();
    p.final_hi = hm.open_dataset("final_box_hi").read<double>();
    const auto waves = hm.attr<std::int64_t>("waves");
    for (std::int64_t w = 0; w < waves; ++w) {
      const h5::Group wg = hm.open_group("wave_" + std::to_string(w));
      WaveData wd;
      wd.box_lo = wg.open_dataset("box_lo").read<double>();
      wd.box_hi = wg.open_dataset("box_hi").read<double>();
      wd.points = wg.open_dataset("points").read<double>();
      wd.implausibility = wg.open_dataset("implausibility").read<double>();
      wd.combined = wg.open_dataset("combined").read<double>();
      wd.plausible = wg.open_dataset("plausible").read<std::int8_t>();
      wd.n = wd.combined.size();
      p.waves.push_back(std::move(wd));
    }
    const h5::Group abc = root.open_group("abc");
    p.abc_stop = abc.attr_string("stop_reason");
    p.tolerance = abc.open_dataset("tolerance").read<double>();
    p.acceptance = abc.open_dataset("acceptance").read<double>();
    p.ess = abc.open_dataset("ess").read<double>();
    const h5::Group pp = root.open_group("predictive");
    p.pp_ids = pp.read_strings("ids");
    p.pp_metrics = pp.read_strings("metrics");
    p.pp_fitted = pp.open_dataset("fitted").read<std::int8_t>();
    p.pp_covers = pp.open_dataset("covers").read<std::int8_t>();
    p.pp_covers_err = pp.open_dataset("covers_with_error").read<std::int8_t>();
    p.pp_obs = pp.open_dataset("observed").read<double>();
    p.pp_sd = pp.open_dataset("sd_obs").read<double>();
    p.pp_p10 = pp.open_dataset("p10").read<double>();
    p.pp_p50 = pp.open_dataset("p50").read<double>();
    p.pp_p90 = pp.open_dataset("p90").read<double>();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw RunFileError(path + ": cannot read the posterior file: " + e.what());
  }
  return p;
}

std::vector<double> column(const PosteriorData& p, std::size_t j) {
  std::vector<double> c(p.n);
  for (std::size_t i = 0; i < p.n; ++i) c[i] = p.params[i * p.d + j];
  return c;
}

std::string num(double x, int digits = 3) {
  if (!std::isfinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}
std::string px(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

const char* WAVE_COLOURS[] = {"#9aa5b1", "#f0b429", "#e12d39", "#2186eb", "#27ab83", "#8719e0", "#de3a11", "#0e7c86"};

std::string axis_frame(double x0, double y0, double w, double h) {
  return "<rect x=\"" + px(x0) + "\" y=\"" + px(y0) + "\" width=\"" + px(w) + "\" height=\"" + px(h) +
         "\" fill=\"none\" stroke=\"#cbd2d9\"/>";
}
std::string text(double x, double y, const std::string& s, const std::string& cls, const char* anchor = "middle") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" class=\"" + cls + "\" text-anchor=\"" + anchor + "\">" +
         html_escape(s) + "</text>";
}

//! Implausibility by wave: per factor, every wave's points (x = value, y = combined
//! implausibility, capped at 4 x the cut-off), the cut-off as a line.
std::string implausibility_svg(const PosteriorData& p) {
  const double W = 250, H = 170, L = 40, T = 24, PW = W - L - 10, PH = H - T - 30;
  const std::size_t ncols = 3;
  const double cols = 3, rows = std::ceil(static_cast<double>(p.d) / 3);
  const double ymax = 4 * p.cutoff;
  std::string o = "<svg class=\"cal\" viewBox=\"0 0 " + px(W * cols) + " " + px(H * rows + 20) + "\" width=\"" +
                  px(W * cols) + "\" height=\"" + px(H * rows + 20) +
                  "\" id=\"cal-waves\" role=\"img\"><title>implausibility by wave</title>";
  for (std::size_t j = 0; j < p.d; ++j) {
    const double ox = W * static_cast<double>(j % ncols), oy = H * static_cast<double>(j / ncols);
    const double lo = p.prior_lo[j], hi = p.prior_hi[j];
    o += axis_frame(ox + L, oy + T, PW, PH) + text(ox + L + PW / 2, oy + 15, p.names[j], "label");
    const double yc = oy + T + PH * (1 - p.cutoff / ymax);
    o += "<line x1=\"" + px(ox + L) + "\" x2=\"" + px(ox + L + PW) + "\" y1=\"" + px(yc) + "\" y2=\"" + px(yc) +
         "\" stroke=\"#1f2933\" stroke-dasharray=\"4 3\"/>" + text(ox + L - 4, yc + 4, num(p.cutoff), "tick", "end");
    o += text(ox + L, oy + T + PH + 14, num(lo), "tick", "start") +
         text(ox + L + PW, oy + T + PH + 14, num(hi), "tick", "end");
    for (std::size_t w = 0; w < p.waves.size(); ++w) {
      const WaveData& wd = p.waves[w];
      for (std::size_t i = 0; i < wd.n; ++i) {
        const double x = wd.points[i * p.d + j], y = std::min(ymax, wd.combined[i]);
        o += "<circle cx=\"" + px(ox + L + PW * (x - lo) / (hi - lo)) + "\" cy=\"" + px(oy + T + PH * (1 - y / ymax)) +
             "\" r=\"1.8\" fill=\"" + WAVE_COLOURS[w % 8] + "\" fill-opacity=\"0.7\"/>";
      }
    }
  }
  double lx = 10;
  for (std::size_t w = 0; w < p.waves.size(); ++w) {
    o += "<circle cx=\"" + px(lx) + "\" cy=\"" + px(H * rows + 10) + "\" r=\"4\" fill=\"" + WAVE_COLOURS[w % 8] + "\"/>" +
         text(lx + 8, H * rows + 14, "wave " + std::to_string(w + 1), "tick", "start");
    lx += 70;
  }
  return o + "</svg>\n";
}

//! Weighted histogram of each factor's posterior over its prior range, the surviving box shaded.
std::string marginals_svg(const PosteriorData& p) {
  const double W = 250, H = 150, L = 10, T = 24, PW = W - 2 * L, PH = H - T - 30;
  const std::size_t ncols = 3, bins = 20;
  const double cols = 3, rows = std::ceil(static_cast<double>(p.d) / 3), nb = 20;
  std::string o = "<svg class=\"cal\" viewBox=\"0 0 " + px(W * cols) + " " + px(H * rows) + "\" width=\"" + px(W * cols) +
                  "\" height=\"" + px(H * rows) + "\" id=\"cal-marginals\" role=\"img\"><title>marginal posteriors</title>";
  for (std::size_t j = 0; j < p.d; ++j) {
    const double ox = W * static_cast<double>(j % ncols), oy = H * static_cast<double>(j / ncols);
    const double lo = p.prior_lo[j], hi = p.prior_hi[j];
    std::vector<double> h(bins, 0.0);
    const auto c = column(p, j);
    for (std::size_t i = 0; i < p.n; ++i) {
      const auto b = std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, (c[i] - lo) / (hi - lo)) * nb));
      h[b] += p.weights[i];
    }
    const double hm = std::max(1e-12, *std::max_element(h.begin(), h.end()));
    const double fx0 = ox + L + PW * (p.final_lo[j] - lo) / (hi - lo), fx1 = ox + L + PW * (p.final_hi[j] - lo) / (hi - lo);
    o += "<rect x=\"" + px(fx0) + "\" y=\"" + px(oy + T) + "\" width=\"" + px(std::max(0.5, fx1 - fx0)) + "\" height=\"" +
         px(PH) + "\" fill=\"#f0f4f8\"/>";
    for (std::size_t b = 0; b < bins; ++b) {
      const double bh = PH * h[b] / hm;
      o += "<rect x=\"" + px(ox + L + PW * static_cast<double>(b) / nb) + "\" y=\"" + px(oy + T + PH - bh) + "\" width=\"" +
           px(PW / nb - 1) + "\" height=\"" + px(bh) + "\" fill=\"#2186eb\"/>";
    }
    const double med = weighted_quantile(c, p.weights, 0.5);
    const double mx = ox + L + PW * (med - lo) / (hi - lo);
    o += "<line x1=\"" + px(mx) + "\" x2=\"" + px(mx) + "\" y1=\"" + px(oy + T) + "\" y2=\"" + px(oy + T + PH) +
         "\" stroke=\"#e12d39\"/>";
    o += axis_frame(ox + L, oy + T, PW, PH) +
         text(ox + L + PW / 2, oy + 15, p.names[j] + " (median " + num(med) + ")", "label");
    o += text(ox + L, oy + T + PH + 14, num(lo), "tick", "start") +
         text(ox + L + PW, oy + T + PH + 14, num(hi), "tick", "end") +
         text(ox + L + PW / 2, oy + T + PH + 14, "prior range", "sub");
  }
  return o + "</svg>\n";
}

//! Every pair of factors: the particles, opacity by weight, axes the prior ranges.
std::string pairs_svg(const PosteriorData& p) {
  if (p.d < 2) return "<p>One factor: no pairs.</p>\n";
  const double S = 150, L = 6, T = 30;
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < p.d; ++a)
    for (std::size_t b = a + 1; b < p.d; ++b) pairs.emplace_back(a, b);
  const std::size_t ncols = 5;
  const double cols = 5, rows = std::ceil(static_cast<double>(pairs.size()) / 5);
  const double wmax = std::max(1e-12, *std::max_element(p.weights.begin(), p.weights.end()));
  std::string o = "<svg class=\"cal\" viewBox=\"0 0 " + px(S * cols) + " " + px((S + T) * rows) + "\" width=\"" +
                  px(S * cols) + "\" height=\"" + px((S + T) * rows) +
                  "\" id=\"cal-pairs\" role=\"img\"><title>pairwise posterior</title>";
  for (std::size_t q = 0; q < pairs.size(); ++q) {
    const auto [a, b] = pairs[q];
    const double ox = S * static_cast<double>(q % ncols), oy = (S + T) * static_cast<double>(q / ncols);
    const double PW = S - 2 * L;
    o += axis_frame(ox + L, oy + T, PW, PW) + text(ox + S / 2, oy + 12, p.names[a] + " (x)", "sub") +
         text(ox + S / 2, oy + 24, p.names[b] + " (y)", "sub");
    for (std::size_t i = 0; i < p.n; ++i) {
      const double x = (p.params[i * p.d + a] - p.prior_lo[a]) / (p.prior_hi[a] - p.prior_lo[a]);
      const double y = (p.params[i * p.d + b] - p.prior_lo[b]) / (p.prior_hi[b] - p.prior_lo[b]);
      o += "<circle cx=\"" + px(ox + L + PW * x) + "\" cy=\"" + px(oy + T + PW * (1 - y)) +
           "\" r=\"1.6\" fill=\"#2186eb\" " + "fill-opacity=\"" + num(0.15 + 0.85 * p.weights[i] / wmax, 2) + "\"/>";
    }
  }
  return o + "</svg>\n";
}

//! Per milestone: the model's P10-P90 under posterior draws (bar, P50 tick) against the
//! record value and its +-2 sd, each row on its own scale.
std::string predictive_svg(const PosteriorData& p) {
  const double W = 760, RH = 34, L = 280, PW = W - L - 20;
  const std::size_t m = p.pp_ids.size();
  std::string o = "<svg class=\"cal\" viewBox=\"0 0 " + px(W) + " " + px(RH * static_cast<double>(m) + 30) + "\" width=\"" +
                  px(W) + "\" height=\"" + px(RH * static_cast<double>(m) + 30) +
                  "\" id=\"cal-predictive\" role=\"img\"><title>posterior predictive check</title>";
  for (std::size_t k = 0; k < m; ++k) {
    const double y = 10 + RH * static_cast<double>(k);
    double lo = std::min(p.pp_p10[k], p.pp_obs[k] - 2 * p.pp_sd[k]),
           hi = std::max(p.pp_p90[k], p.pp_obs[k] + 2 * p.pp_sd[k]);
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = p.pp_obs[k] - 1, hi = p.pp_obs[k] + 1;
    const double pad = std::max(1e-9, 0.08 * (hi - lo));
    lo -= pad, hi += pad;
    const auto X = [&](double v) { return L + PW * (v - lo) / (hi - lo); };
    o += text(L - 8, y + 14, p.pp_ids[k] + (p.pp_fitted[k] ? " (fitted)" : " (held out)"), "label", "end");
    if (std::isfinite(p.pp_p10[k]))
      o += "<rect x=\"" + px(X(p.pp_p10[k])) + "\" y=\"" + px(y + 4) + "\" width=\"" +
           px(std::max(1.0, X(p.pp_p90[k]) - X(p.pp_p10[k]))) + "\" height=\"14\" fill=\"" +
           (p.pp_covers[k] ? "#8bc7f5" : "#f5a3a8") + "\"/><line x1=\"" + px(X(p.pp_p50[k])) + "\" x2=\"" +
           px(X(p.pp_p50[k])) + "\" y1=\"" + px(y + 2) + "\" y2=\"" + px(y + 20) + "\" stroke=\"#1f2933\"/>";
    o += "<line x1=\"" + px(X(p.pp_obs[k] - 2 * p.pp_sd[k])) + "\" x2=\"" + px(X(p.pp_obs[k] + 2 * p.pp_sd[k])) +
         "\" y1=\"" + px(y + 11) + "\" y2=\"" + px(y + 11) + "\" stroke=\"#e12d39\" stroke-width=\"1.5\"/>" +
         "<circle cx=\"" + px(X(p.pp_obs[k])) + "\" cy=\"" + px(y + 11) + "\" r=\"4\" fill=\"#e12d39\"/>";
    o += text(L, y + 30, num(lo), "tick", "start") + text(L + PW, y + 30, num(hi), "tick", "end") +
         text(L + PW / 2, y + 30,
              "P10-P90 " + num(p.pp_p10[k]) + "-" + num(p.pp_p90[k]) + ", record " + num(p.pp_obs[k]) + " ± " +
                  num(2 * p.pp_sd[k]) +
                  (p.pp_covers[k]       ? ": covered"
                   : p.pp_covers_err[k] ? ": within error"
                                        : ": missed"),
              "sub");
  }
  return o + "</svg>\n";
}

}  // namespace

std::string calibration_summary_text(const std::string& path) {
  const PosteriorData p = load(path);
  std::string o = "Posterior of " + p.name + " (" + std::to_string(p.n) + " particles; history matching: " + p.hm_stop +
                  ", ABC-SMC: " + p.abc_stop + ", " + std::to_string(p.tolerance.size()) + " generations):\n";
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-36s %-6s %10s %10s %10s   %s\n", "factor", "mode", "P5", "median", "P95", "prior");
  o += buf;
  for (std::size_t j = 0; j < p.d; ++j) {
    const auto c = column(p, j);
    std::snprintf(buf, sizeof buf, "  %-36s %-6s %10s %10s %10s   %s\n", p.names[j].c_str(), p.modes[j].c_str(),
                  num(weighted_quantile(c, p.weights, 0.05), 4).c_str(),
                  num(weighted_quantile(c, p.weights, 0.5), 4).c_str(),
                  num(weighted_quantile(c, p.weights, 0.95), 4).c_str(), p.priors[j].c_str());
    o += buf;
  }
  o += "Posterior predictive check (model P10-P90 under posterior draws vs the record):\n";
  for (std::size_t k = 0; k < p.pp_ids.size(); ++k) {
    std::snprintf(buf, sizeof buf, "  %-36s %-9s record %8s +- %-6s model P10 %8s P50 %8s P90 %8s  %s\n",
                  p.pp_ids[k].c_str(), p.pp_fitted[k] ? "fitted" : "held out", num(p.pp_obs[k], 4).c_str(),
                  num(p.pp_sd[k], 3).c_str(), num(p.pp_p10[k], 4).c_str(), num(p.pp_p50[k], 4).c_str(),
                  num(p.pp_p90[k], 4).c_str(),
                  p.pp_covers[k]       ? "covered"
                  : p.pp_covers_err[k] ? "within error"
                                       : "MISSED");
    o += buf;
  }
  if (!p.skipped.empty()) {
    o += "Not fitted (metric not in the model yet):";
    for (const auto& s : p.skipped) o += " " + s;
    o += "\n";
  }
  return o;
}

std::string calibration_report_html(const std::string& path) {
  const PosteriorData p = load(path);
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Calibration: " + html_escape(p.name) +
      "</title><style>body{font-family:system-ui,sans-serif;max-width:820px;margin:2em auto;color:#1f2933}"
      "svg.cal{max-width:100%;height:auto}svg.cal text{fill:#3e4c59}svg.cal .label{font-size:12px}"
      "svg.cal .tick{font-size:10px}svg.cal .sub{font-size:10px}table{border-collapse:collapse;font-size:13px}"
      "td,th{padding:2px 8px;border-bottom:1px solid #e4e7eb;text-align:right}td:first-child,th:first-child{text-align:left}"
      "pre{font-size:11px;overflow-x:auto}</style></head><body>\n";
  o += "<h1>Calibration: " + html_escape(p.name) + "</h1>\n<p>Record <b>" + html_escape(p.record) + "</b>; " +
       std::to_string(p.simulations) + " of " + std::to_string(p.budget) + " simulated replications; created " +
       html_escape(p.created) + "; fingerprint <code>" + html_escape(p.fingerprint.substr(0, 16)) + "</code>.</p>\n";
  o += "<h2 id=\"waves\">History matching: implausibility by wave</h2>\n<p>Each wave's points against each factor "
       "(the combined implausibility, capped at 4&times; the cut-off " +
       num(p.cutoff) + "; points below the dashed line survive). Stopped: " + html_escape(p.hm_stop) + ".</p>\n";
  o += "<table><tr><th>wave</th><th>points</th><th>non-implausible</th>";
  for (std::size_t j = 0; j < p.d; ++j) o += "<th>" + html_escape(p.names[j]) + " box</th>";
  o += "</tr>";
  for (std::size_t w = 0; w < p.waves.size(); ++w) {
    const WaveData& wd = p.waves[w];
    std::size_t s = 0;
    for (auto x : wd.plausible) s += x ? 1 : 0;
    o += "<tr><td>" + std::to_string(w + 1) + "</td><td>" + std::to_string(wd.n) + "</td><td>" + std::to_string(s) + "</td>";
    for (std::size_t j = 0; j < p.d; ++j) o += "<td>" + num(wd.box_lo[j]) + "&ndash;" + num(wd.box_hi[j]) + "</td>";
    o += "</tr>";
  }
  o += "</table>\n" + implausibility_svg(p);
  o += "<h2 id=\"abc\">ABC-SMC generations</h2>\n<table><tr><th>generation</th><th>tolerance</th><th>acceptance</th>"
       "<th>effective particles</th></tr>";
  for (std::size_t t = 0; t < p.tolerance.size(); ++t)
    o += "<tr><td>" + std::to_string(t + 1) + "</td><td>" + num(p.tolerance[t]) + "</td><td>" + num(100 * p.acceptance[t]) +
         "%</td><td>" + num(p.ess[t], 4) + "</td></tr>";
  o += "</table><p>Stopped: " + html_escape(p.abc_stop) + ".</p>\n";
  o += "<h2 id=\"marginals\">Marginal posteriors</h2>\n<p>Weighted histograms over each factor's prior range (the "
       "box history matching left shaded, the median in red).</p>\n" +
       marginals_svg(p);
  o += "<h2 id=\"pairs\">Pairwise posterior</h2>\n<p>The final population, each axis its prior range; darker points "
       "carry more weight.</p>\n" +
       pairs_svg(p);
  o += "<h2 id=\"predictive\">Posterior predictive check</h2>\n<p>For every milestone the model's P10&ndash;P90 "
       "(bar, blue when it covers the record, red when not) and P50 (tick) under one posterior draw per replication, "
       "against the record value and its &plusmn;2 sd observation error (red).</p>\n" +
       predictive_svg(p);
  if (!p.skipped.empty()) {
    o += "<p>Not fitted (their metric is not in the model yet):";
    for (const auto& s : p.skipped) o += " <code>" + html_escape(s) + "</code>";
    o += ".</p>\n";
  }
  o += "<h2>Summary</h2><pre>" + html_escape(calibration_summary_text(path)) + "</pre>\n</body></html>\n";
  return o;
}

void write_calibration_report(const std::string& posterior_path, const std::string& html_path) {
  const std::string html = calibration_report_html(posterior_path);
  detail::AtomicFile f(html_path);
  f.write(html);
  f.commit();
}

}  // namespace lepsim::analysis
