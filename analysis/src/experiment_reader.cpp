#include "lepsim/analysis/experiment_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "atomic_file.hpp"
#include "lepsim/error.hpp"
#include "lepsim/text.hpp"
#include "lepsim/h5.hpp"

namespace lepsim::analysis {

namespace {

constexpr const char* FILE_TYPE = "lepsim-experiment";
constexpr int KNOWN_MAJOR = 1;

std::string num(double x, int digits = 4) {
  if (std::isnan(x)) return "NA";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}

std::string csv_num(double x) {
  if (std::isnan(x)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

std::string column_name(std::string s) {
  for (std::size_t i; (i = s.find('@')) != std::string::npos;) s.replace(i, 1, "_at_");
  return s;
}


}  // namespace

bool is_experiment_file(const std::string& path) {
  try {
    const h5::File f = h5::File::open_read(path);
    const h5::Group root = f.root();
    return root.has_attr("file_type") && root.attr_string("file_type") == FILE_TYPE;
  } catch (const std::exception&) {
    return false;
  }
}

ExperimentData read_experiment(const std::string& path) {
  ExperimentData e;
  e.path = path;
  try {
    const h5::File f = h5::File::open_read(path);
    const h5::Group root = f.root();
    if (!root.has_attr("file_type") || root.attr_string("file_type") != FILE_TYPE)
      throw RunFileError(path + ": not a lepsim experiment file");
    const auto version = root.attr_array<std::int32_t>("format_version");
    if (version.size() != 2 || version[0] != KNOWN_MAJOR)
      throw RunFileError(path + ": experiment file format " +
                         (version.empty() ? std::string("?") : std::to_string(version[0])) +
                         ".x; this lepsim reads major version " + std::to_string(KNOWN_MAJOR));
    e.name = root.attr_string("experiment_name");
    e.design = root.attr_string("design");
    e.streams = root.attr_string("streams");
    e.engine_version = root.attr_string("engine_version");
    e.git_revision = root.attr_string("git_revision");
    e.created = root.attr_string("created");
    e.seed = root.attr<std::uint64_t>("seed");
    e.points = root.attr<std::int64_t>("points");
    e.replications = root.attr<std::int64_t>("replications");
    const h5::Group d = root.open_group("design");
    e.factor_names = d.read_strings("factor_names");
    e.factor_units = d.read_strings("factor_units");
    e.factor_paths = d.read_strings("factor_paths");
    e.overrides = d.read_strings("overrides");
    std::vector<std::uint64_t> dims;
    e.values = d.read_array<double>("values", &dims);
    e.ids = d.read_array<std::int64_t>("point_id");
    const auto P = static_cast<std::size_t>(e.points), F = e.factor_names.size();
    if (e.values.size() != P * F || e.ids.size() != P)
      throw RunFileError(path + ": /design does not match its points and factors");
    const h5::Group m = root.open_group("metrics");
    e.metrics = m.list();
    for (const auto& name : e.metrics) {
      e.metric_values.push_back(m.read_array<double>(name));
      if (e.metric_values.back().size() != P * static_cast<std::size_t>(e.replications))
        throw RunFileError(path + ": /metrics/" + name + " is not [points, replications]");
    }
  } catch (const h5::Error& x) {
    throw RunFileError(path + ": cannot read the experiment file: " + x.what());
  }
  return e;
}

PointStats point_stats(const ExperimentData& e, std::size_t metric, std::size_t point, double level) {
  const auto R = static_cast<std::size_t>(e.replications);
  std::vector<double> x;
  for (std::size_t r = 0; r < R; ++r) {
    const double v = e.metric_values[metric][point * R + r];
    if (!std::isnan(v)) x.push_back(v);
  }
  PointStats s;
  s.n = static_cast<std::int64_t>(x.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (x.empty()) {
    s.mean = {nan, nan, nan, level, 0};
    s.sd = s.p10 = s.p50 = s.p90 = nan;
    return s;
  }
  s.mean = mean_interval(x, level);
  double ss = 0;
  for (double v : x) ss += (v - s.mean.value) * (v - s.mean.value);
  s.sd = x.size() > 1 ? std::sqrt(ss / static_cast<double>(x.size() - 1)) : nan;
  std::sort(x.begin(), x.end());
  s.p10 = percentile(x, 10), s.p50 = percentile(x, 50), s.p90 = percentile(x, 90);
  return s;
}

std::string experiment_summary_text(const ExperimentData& e, double level) {
  std::string o = e.path + ": lepsim experiment '" + e.name + "', design " + e.design + ", " + std::to_string(e.points) +
                  " points x " + std::to_string(e.replications) + " replications, seed " + std::to_string(e.seed) + ", " +
                  e.streams + " random numbers\n";
  o += "means with " + num(100 * level, 3) + "% confidence intervals (NaN replications left out: n shown when fewer)\n\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"point"};
  for (std::size_t j = 0; j < e.factor_names.size(); ++j)
    head.push_back(e.factor_names[j] + (e.factor_units[j].empty() ? "" : " (" + e.factor_units[j] + ")"));
  for (const auto& m : e.metrics) head.push_back(m);
  rows.push_back(head);
  const auto F = e.factor_names.size();
  for (std::size_t p = 0; p < static_cast<std::size_t>(e.points); ++p) {
    std::vector<std::string> row = {std::to_string(e.ids[p])};
    for (std::size_t j = 0; j < F; ++j) row.push_back(num(e.values[p * F + j], 6));
    for (std::size_t k = 0; k < e.metrics.size(); ++k) {
      const PointStats s = point_stats(e, k, p, level);
      std::string cell = s.n == 0 ? "NA" : num(s.mean.value, 5) + " [" + num(s.mean.lo, 5) + ", " + num(s.mean.hi, 5) + "]";
      if (s.n > 0 && s.n < e.replications) cell += " n=" + std::to_string(s.n);
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  std::vector<std::size_t> width(head.size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) {
      o += r[c];
      if (c + 1 < r.size()) o += std::string(width[c] - r[c].size() + 2, ' ');
    }
    o += "\n";
  }
  return o;
}

std::string experiment_csv(const ExperimentData& e, double level) {
  std::string o = "point";
  for (const auto& f : e.factor_names) o.append(1, ',').append(column_name(f));
  for (const auto& m : e.metrics)
    for (const char* s : {"mean", "ci_low", "ci_high", "sd", "p10", "p50", "p90", "n"})
      o.append(1, ',').append(column_name(m)).append(1, '_').append(s);
  o += "\n";
  const auto F = e.factor_names.size();
  for (std::size_t p = 0; p < static_cast<std::size_t>(e.points); ++p) {
    o += std::to_string(e.ids[p]);
    for (std::size_t j = 0; j < F; ++j) o.append(1, ',').append(csv_num(e.values[p * F + j]));
    for (std::size_t k = 0; k < e.metrics.size(); ++k) {
      const PointStats s = point_stats(e, k, p, level);
      for (double v : {s.mean.value, s.mean.lo, s.mean.hi, s.sd, s.p10, s.p50, s.p90}) o.append(1, ',').append(csv_num(v));
      o.append(1, ',').append(std::to_string(s.n));
    }
    o += "\n";
  }
  return o;
}

std::string experiment_report_html(const ExperimentData& e, double level) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(e.name) +
      " - lepsim experiment</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#1f2933}"
      "figure{display:inline-block;margin:0 1em 1.5em 0}svg text{font-size:11px;fill:#3e4c59}"
      "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}</style>"
      "</head><body>\n<h1>Experiment " +
      html_escape(e.name) + "</h1>\n<p>" + html_escape(e.path) + ": design " + html_escape(e.design) + ", " +
      std::to_string(e.points) + " points &times; " + std::to_string(e.replications) + " replications, seed " +
      std::to_string(e.seed) + ", " + html_escape(e.streams) + " random numbers; lepsim " + html_escape(e.engine_version) +
      " (git " + html_escape(e.git_revision) + "), " + html_escape(e.created) +
      ". Each dot is a point's mean, its bar the " + num(100 * level, 3) + "% confidence interval of the mean.</p>\n";
  const auto F = e.factor_names.size();
  const auto P = static_cast<std::size_t>(e.points);
  const double W = 320, H = 220, L = 55, Rm = 10, Tm = 22, B = 36;
  for (std::size_t k = 0; k < e.metrics.size(); ++k) {
    o += "<h2>" + html_escape(e.metrics[k]) + "</h2>\n";
    std::vector<PointStats> st;
    for (std::size_t p = 0; p < P; ++p) st.push_back(point_stats(e, k, p, level));
    double ylo = INFINITY, yhi = -INFINITY;
    for (const auto& s : st)
      if (s.n > 0)
        ylo = std::min(ylo, std::isfinite(s.mean.lo) ? s.mean.lo : s.mean.value),
        yhi = std::max(yhi, std::isfinite(s.mean.hi) ? s.mean.hi : s.mean.value);
    if (!(ylo <= yhi)) {
      o += "<p>No replication has a value.</p>\n";
      continue;
    }
    if (ylo == yhi) ylo -= 1, yhi += 1;
    for (std::size_t j = 0; j < F; ++j) {
      double xlo = INFINITY, xhi = -INFINITY;
      for (std::size_t p = 0; p < P; ++p) xlo = std::min(xlo, e.values[p * F + j]), xhi = std::max(xhi, e.values[p * F + j]);
      if (xlo == xhi) xlo -= 1, xhi += 1;
      auto X = [&](double x) { return L + (x - xlo) / (xhi - xlo) * (W - L - Rm); };
      auto Y = [&](double y) { return H - B - (y - ylo) / (yhi - ylo) * (H - B - Tm); };
      o += "<figure><svg width=\"" + num(W) + "\" height=\"" + num(H) + "\" viewBox=\"0 0 " + num(W) + " " + num(H) +
           "\" role=\"img\" aria-label=\"" + html_escape(e.metrics[k] + " against " + e.factor_names[j]) + "\">";
      o += "<rect x=\"" + num(L) + "\" y=\"" + num(Tm) + "\" width=\"" + num(W - L - Rm) + "\" height=\"" + num(H - B - Tm) +
           "\" fill=\"none\" stroke=\"#cbd2d9\"/>";
      for (int t = 0; t <= 2; ++t) {
        const double xv = xlo + (xhi - xlo) * t / 2, yv = ylo + (yhi - ylo) * t / 2;
        o += "<text x=\"" + num(X(xv)) + "\" y=\"" + num(H - B + 14) + "\" text-anchor=\"middle\">" + num(xv, 4) + "</text>";
        o += "<text x=\"" + num(L - 4) + "\" y=\"" + num(Y(yv) + 4) + "\" text-anchor=\"end\">" + num(yv, 4) + "</text>";
      }
      o += "<text x=\"" + num((L + W) / 2) + "\" y=\"" + num(H - 6) + "\" text-anchor=\"middle\">" +
           html_escape(e.factor_names[j] + (e.factor_units[j].empty() ? "" : " (" + e.factor_units[j] + ")")) + "</text>";
      o += "<text x=\"" + num(L) + "\" y=\"14\">" + html_escape(e.metrics[k]) + "</text>";
      for (std::size_t p = 0; p < P; ++p) {
        const auto& s = st[p];
        if (s.n == 0) continue;
        const double x = X(e.values[p * F + j]);
        if (std::isfinite(s.mean.lo) && std::isfinite(s.mean.hi))
          o += "<line x1=\"" + num(x, 6) + "\" x2=\"" + num(x, 6) + "\" y1=\"" + num(Y(s.mean.lo), 6) + "\" y2=\"" +
               num(Y(s.mean.hi), 6) + "\" stroke=\"#9aa5b1\"/>";
        o += "<circle cx=\"" + num(x, 6) + "\" cy=\"" + num(Y(s.mean.value), 6) +
             "\" r=\"2.5\" fill=\"#2f6fb0\"><title>point " + std::to_string(e.ids[p]) + ": " + html_escape(e.overrides[p]) +
             " - mean " + num(s.mean.value, 6) + "</title></circle>";
      }
      o += "</svg></figure>\n";
    }
  }
  o += "</body></html>\n";
  return o;
}

void write_text_file(const std::string& path, const std::string& text) {
  detail::AtomicFile out(path);
  out.write(text);
  out.commit();
}

}  // namespace lepsim::analysis
