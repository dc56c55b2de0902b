// `lepsim report`: one self-contained HTML page of a run (docs/analysis.md, "Report").
// Every chart is inline SVG drawn by the small Chart helper below (axes with nice ticks,
// lines, bands, stacked areas and bars, a legend); the page has no scripts, fonts,
// images or links to fetch, and a Content-Security-Policy that forbids them.

#include "lepsim/analysis/report.hpp"
#include "lepsim/analysis/uncertainty.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string_view>

#include "atomic_file.hpp"
#include "lepsim/analysis/compare.hpp"
#include "lepsim/error.hpp"
#include "lepsim/text.hpp"

namespace lepsim::analysis {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t BLOCK_BYTES = 16ull << 20;  // replications read at a time: memory bounded whatever R
constexpr std::size_t MAX_POINTS = 1500;            // points per drawn line: a long run is thinned, not bloated
constexpr double PLAN_DWARFS = 3;  // a plan above this multiple of the band's top gets its own panel

// ---------------------------------------------------------------------------------------
// Text

//! Text for HTML and SVG (format.hpp's html_escape; the short name reads better in markup).
std::string esc(std::string_view s) { return html_escape(s); }

//! x with `decimals` decimals and thousands separators; "n/a" for NaN.
std::string fixed(double x, int decimals) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "+\u221e" : "\u2212\u221e";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, decimals), std::abs(x));
  std::string digits = buf, frac;
  if (const auto dot = digits.find('.'); dot != std::string::npos) frac = digits.substr(dot), digits.resize(dot);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  const bool zero = std::all_of(buf, buf + std::char_traits<char>::length(buf), [](char c) { return c == '0' || c == '.'; });
  return (x < 0 && !zero ? "\u2212" : "") + grouped + frac;
}

//! About four significant digits, whole numbers from 1,000 up.
std::string sig(double x) {
  if (!std::isfinite(x) || x == 0) return fixed(x, 0);
  const int mag = static_cast<int>(std::floor(std::log10(std::abs(x))));
  std::string t = fixed(x, std::clamp(3 - mag, 0, 4));
  if (t.find('.') != std::string::npos) {
    while (t.back() == '0') t.pop_back();
    if (t.back() == '.') t.pop_back();
  }
  return t;
}

//! Decimals that tell ticks `step` apart.
int tick_decimals(double step) {
  if (!(step > 0) || step >= 1) return 0;
  return static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
}

//! An SVG coordinate or opacity: two decimals at most, trailing zeros dropped.
std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

const char* const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

//! The run's start, "2005-04", as year and month (1-12); month 0 when unreadable.
std::pair<int, int> start_of(const std::string& start) {
  int y = 0, m = 0;
  if (std::sscanf(start.c_str(), "%d-%d", &y, &m) != 2 || m < 1 || m > 12) return {0, 0};
  return {y, m};
}

//! "Apr 2010" for `months` from the start (whole months), "" when the start is unknown.
std::string calendar(const std::string& start, double months) {
  const auto [y, m] = start_of(start);
  if (m == 0 || !std::isfinite(months)) return "";
  const long k = static_cast<long>(std::floor(months + 1e-9)) + (m - 1);
  return std::string(MONTHS[k % 12]) + " " + std::to_string(y + k / 12);
}

// ---------------------------------------------------------------------------------------
// Charts: one SVG each, a plot area on the left and its legend on the right.

//! Colour-blind-aware categorical palette (Tableau 10), cycled.
const char* const PALETTE[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* colour(std::size_t i) { return PALETTE[i % std::size(PALETTE)]; }

//! `count` ticks at most from 0 (or lo) with a 1-2-2.5-5 step; `hi` is raised to the last tick.
std::vector<double> nice_ticks(double lo, double& hi, int count) {
  if (!(hi > lo) || !std::isfinite(hi)) hi = lo + 1;
  const double raw = (hi - lo) / count, mag = std::pow(10.0, std::floor(std::log10(raw))), norm = raw / mag;
  const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  hi = lo + std::ceil((hi - lo) / step - 1e-9) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-6; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

//! Month ticks: a step of 1, 2, 3, 6 months or whole years, at most 12 ticks over [0, horizon].
std::vector<double> month_ticks(double horizon) {
  double step = 1;
  for (double s : {1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 36.0, 60.0, 120.0, 240.0, 600.0, 1200.0, 2400.0, 6000.0, 12000.0}) {
    step = s;
    if (horizon / s <= 11) break;
  }
  while (horizon / step > 11) step *= 10;
  std::vector<double> t;
  for (double v = 0; v <= horizon + 1e-9; v += step) t.push_back(v);
  return t;
}

class Chart {
 public:
  static constexpr double WIDTH = 960, LEFT = 80, RIGHT = 716, TOP = 50, PLOT_H = 300, LEGEND_X = 740;

  Chart(std::string id, std::string title) : id_(std::move(id)), title_(std::move(title)) {}

  //! A time axis in months from the start over [0, horizon]; ticks also name the calendar month.
  void month_axis(double horizon, const std::string& start) {
    x_lo_ = 0;
    x_hi_ = horizon > 0 ? horizon : 1;
    const auto ticks = month_ticks(x_hi_);
    const bool room = ticks.size() < 2 || sx(ticks[1]) - sx(ticks[0]) >= 58;
    for (double t : ticks) x_ticks_.push_back({t, fixed(t, tick_decimals(ticks.size() > 1 ? ticks[1] - ticks[0] : 1)),
                                               room ? calendar(start, t) : ""});
    const std::string when = calendar(start, 0);
    x_label_ = "months from the start" + (when.empty() ? std::string() : " (month 0 = " + when + ")");
  }

  //! Categories along x (one band each), for bars.
  void category_axis(const std::vector<std::string>& names, std::string label) {
    categories_ = names.size();
    x_lo_ = 0;
    x_hi_ = static_cast<double>(std::max<std::size_t>(1, categories_));
    const double band = (RIGHT - LEFT) / x_hi_;
    const std::size_t every = static_cast<std::size_t>(std::ceil(56.0 / band));
    for (std::size_t i = 0; i < names.size(); i += std::max<std::size_t>(1, every))
      x_ticks_.push_back({static_cast<double>(i) + 0.5, names[i], ""});
    x_label_ = std::move(label);
    x_gridlines_ = false;
  }

  //! y from 0 to the data's maximum rounded up to a nice tick (1 when there is nothing above 0);
  //! `fixed_max` > 0 fixes the top instead. `suffix` follows each tick label ("%").
  void y_axis(double data_max, std::string label, double fixed_max = 0, std::string suffix = "") {
    y_hi_ = fixed_max > 0 ? fixed_max : (std::isfinite(data_max) && data_max > 0 ? data_max * 1.04 : 1.0);
    const auto ticks = nice_ticks(0, y_hi_, 5);
    const int dec = tick_decimals(ticks.size() > 1 ? ticks[1] - ticks[0] : 1);
    for (double t : ticks) y_ticks_.push_back({t, fixed(t, dec) + suffix, ""});
    y_label_ = std::move(label);
  }

  //! A numeric x axis over [lo, hi] (rounded out to nice ticks), e.g. differences B - A.
  void value_axis(double lo, double hi, std::string label) {
    if (!(hi > lo)) lo -= 0.5, hi += 0.5;
    double span = hi - lo;
    const auto probe = nice_ticks(0, span, 6);
    const double step = probe.size() > 1 ? probe[1] - probe[0] : 1;
    x_lo_ = std::floor(lo / step + 1e-9) * step;
    x_hi_ = std::ceil(hi / step - 1e-9) * step;
    if (!(x_hi_ > x_lo_)) x_hi_ = x_lo_ + step;
    for (double v = x_lo_; v <= x_hi_ + step * 1e-6; v += step)
      x_ticks_.push_back({std::abs(v) < step * 1e-9 ? 0.0 : v, fixed(std::abs(v) < step * 1e-9 ? 0.0 : v, tick_decimals(step)), ""});
    x_label_ = std::move(label);
  }

  //! A vertical line across the plot at x, labelled at its top (a target month, zero).
  void vline(double x, const char* col, const std::string& label, const std::string& css_class) {
    if (!(x >= x_lo_ && x <= x_hi_)) return;
    overlay_ += "<line class=\"" + css_class + "\" x1=\"" + coord(sx(x)) + "\" x2=\"" + coord(sx(x)) + "\" y1=\"" +
                coord(TOP) + "\" y2=\"" + coord(TOP + PLOT_H) + "\" stroke=\"" + col +
                "\" stroke-width=\"1.6\" stroke-dasharray=\"4 4\"><title>" + esc(label) + "</title></line>";
    const bool right = sx(x) > (LEFT + RIGHT) / 2;  // label on the inner side, clear of the legend
    overlay_ += "<text x=\"" + coord(sx(x) + (right ? -4 : 4)) + "\" y=\"" + coord(TOP + 12) + "\" text-anchor=\"" +
                (right ? "end" : "start") + "\" class=\"value\">" + esc(label) + "</text>";
  }

  //! A horizontal line across the plot at y (an envelope), with its legend entry.
  void hline(double y, const char* col, const std::string& legend, const std::string& css_class) {
    overlay_ += "<line class=\"" + css_class + "\" x1=\"" + coord(LEFT) + "\" x2=\"" + coord(RIGHT) + "\" y1=\"" +
                coord(sy(y)) + "\" y2=\"" + coord(sy(y)) + "\" stroke=\"" + col +
                "\" stroke-width=\"2\" stroke-dasharray=\"7 4\"><title>" + esc(legend) + "</title></line>";
    legend_.push_back({legend, col, Swatch::Dashed, 1.0});
  }

  //! A dot at (x, y) with a short label beside it (a run's P80 month).
  void dot(double x, double y, const char* col, const std::string& label, const std::string& css_class) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    overlay_ += "<circle class=\"" + css_class + "\" cx=\"" + coord(sx(x)) + "\" cy=\"" + coord(sy(y)) +
                "\" r=\"5\" fill=\"" + col + "\" stroke=\"#fff\" stroke-width=\"1.5\"><title>" + esc(label) +
                "</title></circle>";
  }

  //! A line through (x, y); NaN values leave gaps.
  void line(const std::vector<double>& x, const std::vector<double>& y, const char* col, const std::string& legend,
            double width = 2.2, bool dashed = false, const std::string& css_class = "") {
    const std::string cls = css_class.empty() ? "" : " class=\"" + css_class + "\"";
    for (const auto& seg : segments(x, y, y)) {
      if (seg.size() == 1) {
        body_ += "<circle" + cls + " cx=\"" + coord(sx(x[seg[0]])) + "\" cy=\"" + coord(sy(y[seg[0]])) + "\" r=\"" +
                 coord(width) + "\" fill=\"" + col + "\"/>";
        continue;
      }
      body_ += "<polyline" + cls + " fill=\"none\" stroke=\"" + std::string(col) + "\" stroke-width=\"" + coord(width) +
               "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" + (dashed ? " stroke-dasharray=\"7 5\"" : "") +
               " points=\"";
      for (std::size_t i : seg) body_ += coord(sx(x[i])) + "," + coord(sy(y[i])) + " ";
      body_ += "\"><title>" + esc(legend) + "</title></polyline>";
    }
    legend_.push_back({legend, col, dashed ? Swatch::Dashed : Swatch::Line, 1.0});
  }

  //! Points marked with rings (a plan's stated points).
  void markers(const std::vector<double>& x, const std::vector<double>& y, const char* col, const std::string& what,
               const std::string& css_class) {
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (std::isfinite(x[i]) && std::isfinite(y[i]))
        body_ += "<circle class=\"" + css_class + "\" cx=\"" + coord(sx(x[i])) + "\" cy=\"" + coord(sy(y[i])) +
                 "\" r=\"4\" fill=\"#fff\" stroke=\"" + col + "\" stroke-width=\"2\"><title>" + esc(what) + ": " +
                 sig(y[i]) + " by month " + sig(x[i]) + "</title></circle>";
  }

  //! The area between lo and hi; NaN in either leaves a gap.
  void band(const std::vector<double>& x, const std::vector<double>& lo, const std::vector<double>& hi, const char* col,
            double opacity, const std::string& legend, bool no_legend = false) {
    for (const auto& seg : segments(x, lo, hi)) {
      std::string pts;
      for (std::size_t i : seg) pts += coord(sx(x[i])) + "," + coord(sy(lo[i])) + " ";
      for (auto it = seg.rbegin(); it != seg.rend(); ++it) pts += coord(sx(x[*it])) + "," + coord(sy(hi[*it])) + " ";
      if (seg.size() == 1) pts += coord(sx(x[seg[0]]) + 1) + "," + coord(sy(hi[seg[0]])) + " ";
      body_ += "<polygon fill=\"" + std::string(col) + "\" fill-opacity=\"" + coord(opacity) +
               "\" stroke=\"none\" points=\"" + pts + "\"><title>" + esc(legend) + "</title></polygon>";
    }
    if (!no_legend) legend_.push_back({legend, col, Swatch::Area, opacity});
  }

  //! Layers stacked upwards (NaN counts as 0), one colour each.
  void stacked_area(const std::vector<double>& x, const std::vector<std::vector<double>>& layers,
                    const std::vector<std::string>& names) {
    std::vector<double> below(x.size(), 0.0), above(x.size(), 0.0);
    for (std::size_t k = 0; k < layers.size(); ++k) {
      for (std::size_t i = 0; i < x.size(); ++i)
        above[i] = below[i] + (i < layers[k].size() && std::isfinite(layers[k][i]) ? layers[k][i] : 0.0);
      std::string pts;
      const auto idx = thinned(x.size());
      for (std::size_t i : idx) pts += coord(sx(x[i])) + "," + coord(sy(below[i])) + " ";
      for (auto it = idx.rbegin(); it != idx.rend(); ++it) pts += coord(sx(x[*it])) + "," + coord(sy(above[*it])) + " ";
      body_ += "<polygon fill=\"" + std::string(colour(k)) + "\" fill-opacity=\"0.88\" stroke=\"#fff\" stroke-width=\"0.6\" points=\"" +
               pts + "\"><title>" + esc(names[k]) + "</title></polygon>";
      legend_.push_back({names[k], colour(k), Swatch::Area, 0.88});
      std::swap(below, above);  // (not `below = above`: GCC 12 warns falsely, -Wfree-nonheap-object)
    }
  }

  //! One bar per category, layers stacked upwards; `unit` goes in each bar's tooltip.
  void stacked_bars(const std::vector<std::vector<double>>& layers, const std::vector<std::string>& names,
                    const std::vector<std::string>& categories, const std::string& unit) {
    const double band = (RIGHT - LEFT) / x_hi_, w = std::min(56.0, band * 0.66);
    std::vector<double> total(categories.size(), 0.0);
    for (std::size_t k = 0; k < layers.size(); ++k) {
      for (std::size_t c = 0; c < categories.size() && c < layers[k].size(); ++c) {
        const double v = std::isfinite(layers[k][c]) ? std::max(0.0, layers[k][c]) : 0.0;
        const double y0 = sy(total[c]), y1 = sy(total[c] + v);
        total[c] += v;
        if (!(y0 - y1 > 0.05)) continue;
        body_ += "<rect x=\"" + coord(sx(static_cast<double>(c) + 0.5) - w / 2) + "\" y=\"" + coord(y1) + "\" width=\"" +
                 coord(w) + "\" height=\"" + coord(y0 - y1) + "\" fill=\"" + colour(k) + "\"><title>" + esc(names[k]) + ", " +
                 esc(categories[c]) + ": " + sig(v) + " " + esc(unit) + "</title></rect>";
      }
      legend_.push_back({names[k], colour(k), Swatch::Area, 1.0});
    }
    if (band >= 40)
      for (std::size_t c = 0; c < categories.size(); ++c)
        if (total[c] > 0)
          overlay_ += "<text x=\"" + coord(sx(static_cast<double>(c) + 0.5)) + "\" y=\"" + coord(sy(total[c]) - 5) +
                      "\" text-anchor=\"middle\" class=\"value\">" + (total[c] >= 100 ? fixed(total[c], 0) : sig(total[c] >= 10 ? std::round(total[c] * 10) / 10 : total[c])) + "</text>";
  }

  std::string svg() const {
    const double bottom = TOP + PLOT_H;
    const double legend_bottom = TOP + 8 + 22 * static_cast<double>(legend_.size());
    const double height = std::max(bottom + 64, legend_bottom + 12);
    std::string o = "<svg id=\"" + id_ + "\" viewBox=\"0 0 " + coord(WIDTH) + " " + coord(height) + "\" width=\"" +
                    coord(WIDTH) + "\" height=\"" + coord(height) + "\" role=\"img\" aria-labelledby=\"" + id_ +
                    "-title\" font-size=\"13\">";
    o += "<title id=\"" + id_ + "-title\">" + esc(title_) + "</title>";
    o += "<text x=\"16\" y=\"26\" class=\"title\">" + esc(title_) + "</text>";
    // Grid and ticks.
    o += "<g class=\"grid\">";
    for (const auto& t : y_ticks_)
      o += "<line x1=\"" + coord(LEFT) + "\" x2=\"" + coord(RIGHT) + "\" y1=\"" + coord(sy(t.at)) + "\" y2=\"" +
           coord(sy(t.at)) + "\"/>";
    if (x_gridlines_)
      for (const auto& t : x_ticks_)
        o += "<line x1=\"" + coord(sx(t.at)) + "\" x2=\"" + coord(sx(t.at)) + "\" y1=\"" + coord(TOP) + "\" y2=\"" +
             coord(bottom) + "\"/>";
    o += "</g>";
    o += "<defs><clipPath id=\"" + id_ + "-clip\"><rect x=\"" + coord(LEFT - 4) + "\" y=\"" + coord(TOP - 4) +
         "\" width=\"" + coord(RIGHT - LEFT + 8) + "\" height=\"" + coord(PLOT_H + 8) + "\"/></clipPath></defs>";
    o += "<g clip-path=\"url(#" + id_ + "-clip)\">" + body_ + "</g>";
    o += overlay_;
    // Axes.
    o += "<g class=\"axis\"><line x1=\"" + coord(LEFT) + "\" x2=\"" + coord(RIGHT) + "\" y1=\"" + coord(bottom) +
         "\" y2=\"" + coord(bottom) + "\"/><line x1=\"" + coord(LEFT) + "\" x2=\"" + coord(LEFT) + "\" y1=\"" + coord(TOP) +
         "\" y2=\"" + coord(bottom) + "\"/></g>";
    for (const auto& t : y_ticks_)
      o += "<text x=\"" + coord(LEFT - 8) + "\" y=\"" + coord(sy(t.at) + 4.5) + "\" text-anchor=\"end\" class=\"tick\">" +
           esc(t.text) + "</text>";
    for (const auto& t : x_ticks_) {
      o += "<line class=\"tickmark\" x1=\"" + coord(sx(t.at)) + "\" x2=\"" + coord(sx(t.at)) + "\" y1=\"" + coord(bottom) +
           "\" y2=\"" + coord(bottom + 5) + "\"/>";
      o += "<text x=\"" + coord(sx(t.at)) + "\" y=\"" + coord(bottom + 19) + "\" text-anchor=\"middle\" class=\"tick\">" +
           esc(t.text) + "</text>";
      if (!t.sub.empty())
        o += "<text x=\"" + coord(sx(t.at)) + "\" y=\"" + coord(bottom + 33) + "\" text-anchor=\"middle\" class=\"sub\">" +
             esc(t.sub) + "</text>";
    }
    const bool subs = std::any_of(x_ticks_.begin(), x_ticks_.end(), [](const Tick& t) { return !t.sub.empty(); });
    o += "<text x=\"" + coord((LEFT + RIGHT) / 2) + "\" y=\"" + coord(bottom + (subs ? 54 : 42)) + "\" text-anchor=\"middle\" class=\"label\">" +
         esc(x_label_) + "</text>";
    o += "<text transform=\"translate(20 " + coord(TOP + PLOT_H / 2) + ") rotate(-90)\" text-anchor=\"middle\" class=\"label\">" +
         esc(y_label_) + "</text>";
    // Legend, one entry a row.
    double y = TOP + 8;
    for (const auto& e : legend_) {
      const std::string yc = coord(y);
      if (e.swatch == Swatch::Area)
        o += "<rect x=\"" + coord(LEGEND_X) + "\" y=\"" + coord(y - 6) + "\" width=\"20\" height=\"12\" rx=\"2\" fill=\"" + e.colour +
             "\" fill-opacity=\"" + coord(std::max(0.25, e.opacity)) + "\"/>";
      else
        o += "<line x1=\"" + coord(LEGEND_X) + "\" x2=\"" + coord(LEGEND_X + 20) + "\" y1=\"" + yc + "\" y2=\"" + yc +
             "\" stroke=\"" + e.colour + "\" stroke-width=\"2.5\"" + (e.swatch == Swatch::Dashed ? " stroke-dasharray=\"6 3\"" : "") +
             "/>";
      std::string label = e.label;
      const bool cut = utf8_length(label) > 30;
      if (cut) label = utf8_prefix(label, 29) + "\u2026";
      o += "<text x=\"" + coord(LEGEND_X + 28) + "\" y=\"" + coord(y + 4.5) + "\" class=\"legend\">" + esc(label) +
           (cut ? "<title>" + esc(e.label) + "</title>" : "") + "</text>";
      y += 22;
    }
    return o + "</svg>";
  }

 private:
  enum class Swatch { Line, Dashed, Area };
  struct Tick {
    double at;
    std::string text, sub;
  };
  struct LegendEntry {
    std::string label;
    const char* colour;
    Swatch swatch;
    double opacity;
  };

  double sx(double x) const { return LEFT + (x - x_lo_) / (x_hi_ - x_lo_) * (RIGHT - LEFT); }
  double sy(double y) const { return TOP + PLOT_H - y / y_hi_ * PLOT_H; }

  static std::size_t utf8_length(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  }
  static std::string utf8_prefix(const std::string& s, std::size_t chars) {
    std::size_t n = 0, i = 0;
    for (; i < s.size(); ++i)
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == chars) break;
    return s.substr(0, i);
  }

  //! Indices 0..n-1, thinned to about MAX_POINTS, always keeping the last.
  static std::vector<std::size_t> thinned(std::size_t n) {
    const std::size_t stride = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < n; i += stride) idx.push_back(i);
    if (n > 0 && idx.back() != n - 1) idx.push_back(n - 1);
    return idx;
  }

  //! Runs of (thinned) indices where x, a and b are all finite.
  static std::vector<std::vector<std::size_t>> segments(const std::vector<double>& x, const std::vector<double>& a,
                                                        const std::vector<double>& b) {
    std::vector<std::vector<std::size_t>> out(1);
    const std::size_t n = std::min({x.size(), a.size(), b.size()});
    for (std::size_t i : thinned(n)) {
      if (std::isfinite(x[i]) && std::isfinite(a[i]) && std::isfinite(b[i])) out.back().push_back(i);
      else if (!out.back().empty()) out.emplace_back();
    }
    if (out.back().empty()) out.pop_back();
    return out;
  }

  std::string id_, title_, x_label_, y_label_;
  double x_lo_ = 0, x_hi_ = 1, y_hi_ = 1;
  std::size_t categories_ = 0;
  bool x_gridlines_ = true;
  std::vector<Tick> x_ticks_, y_ticks_;
  std::vector<LegendEntry> legend_;
  std::string body_, overlay_;
};

//! A chart with its caption, as a figure of the page.
std::string figure(const Chart& c, const std::string& caption_html) {
  return "<figure>" + c.svg() + "<figcaption>" + caption_html + "</figcaption></figure>\n";
}

//! A chart the run cannot draw: a one-line note in its place.
std::string missing(const std::string& title, const std::string& why) {
  return "<p class=\"missing\"><strong>" + esc(title) + ":</strong> " + esc(why) + "</p>\n";
}

double max_of(std::initializer_list<const std::vector<double>*> vs) {
  double m = NaN;
  for (const auto* v : vs)
    for (double x : *v)
      if (std::isfinite(x) && !(x <= m)) m = x;
  return m;
}

// ---------------------------------------------------------------------------------------
// Data, from the run file

bool has_series(const RunMetadata& m, const std::string& name) {
  return std::any_of(m.series.begin(), m.series.end(), [&](const SeriesInfo& s) { return s.name == name; });
}

//! /summary/NAME/STAT as K columns of T values (K = 1 for a [T] dataset).
std::vector<std::vector<double>> summary(const RunReader& run, const std::string& name, const std::string& stat) {
  std::vector<std::uint64_t> dims;
  const auto v = run.file().root().open_group("summary").open_group(name).read_array<double>(stat, &dims);
  const std::size_t T = dims.empty() ? 0 : static_cast<std::size_t>(dims[0]);
  const std::size_t K = dims.size() > 1 ? static_cast<std::size_t>(dims[1]) : 1;
  if (v.size() != T * K) run.fail("inconsistent: /summary/" + name + "/" + stat + " does not hold T x K values");
  std::vector<std::vector<double>> cols(K, std::vector<double>(T));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < K; ++k) cols[k][t] = v[t * K + k];
  return cols;
}

//! Months at which each step's values are drawn: its end ("by the end of the step")
//! or its middle ("during the step").
std::vector<double> step_months(const RunMetadata& m, double offset) {
  std::vector<double> x(static_cast<std::size_t>(m.steps));
  for (std::size_t t = 0; t < x.size(); ++t) x[t] = (static_cast<double>(t) + offset) * m.step_months;
  return x;
}

std::vector<double> scaled(std::vector<double> v, double f) {
  for (double& x : v) x *= f;
  return v;
}

//! Probability that the programme, and that 25%, 50%, 75% of its projects, are done by the
//! end of each step: from /replications/finish_step and /series/completed_cumulative read a
//! block of replications at a time.
struct Finishing {
  std::vector<double> all;                   //!< P(every project done), per step
  std::vector<std::vector<double>> share;    //!< per threshold in SHARES, per step
};
constexpr double SHARES[] = {0.25, 0.5, 0.75};

Finishing finishing(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const auto R = static_cast<std::uint64_t>(m.replications), T = static_cast<std::uint64_t>(m.steps);
  std::vector<std::int64_t> all(T, 0);  // replications first reaching the mark at step t
  std::vector<std::vector<std::int64_t>> share(std::size(SHARES), std::vector<std::int64_t>(T, 0));
  const h5::Group reps = run.file().root().open_group("replications"), series = run.file().root().open_group("series");
  const std::uint64_t block = std::max<std::uint64_t>(1, BLOCK_BYTES / (4 * std::max<std::uint64_t>(1, T)));
  for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
    const std::uint64_t n = std::min(block, R - r0);
    const auto finish = reps.read_rows<std::int32_t>("finish_step", r0, n);
    const auto projects = reps.read_rows<std::int32_t>("projects", r0, n);
    const auto done = series.read_rows<std::int32_t>("completed_cumulative", r0, n);
    if (finish.size() != n || projects.size() != n || done.size() != n * T)
      run.fail("inconsistent: /replications and /series/completed_cumulative disagree in length");
    for (std::uint64_t i = 0; i < n; ++i) {
      if (finish[i] >= 0 && static_cast<std::uint64_t>(finish[i]) < T) ++all[static_cast<std::size_t>(finish[i])];
      const std::int32_t* row = done.data() + i * T;
      for (std::size_t q = 0; q < std::size(SHARES); ++q) {
        const double need = SHARES[q] * projects[i];
        const auto it = std::find_if(row, row + T, [&](std::int32_t c) { return c >= need; });
        if (it != row + T) ++share[q][static_cast<std::size_t>(it - row)];
      }
    }
  }
  auto cumulative_share = [&](const std::vector<std::int64_t>& first) {
    std::vector<double> p(T);
    std::int64_t c = 0;
    for (std::uint64_t t = 0; t < T; ++t) p[t] = static_cast<double>(c += first[t]) / static_cast<double>(R);
    return p;
  };
  Finishing f;
  f.all = cumulative_share(all);
  for (const auto& s : share) f.share.push_back(cumulative_share(s));
  return f;
}

// ---------------------------------------------------------------------------------------
// The page

const char* const CSS = R"(
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2933;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 32px 40px}
h1{font-size:27px;line-height:1.2;margin:0 0 4px;word-break:break-word}
h1 .kicker{display:block;font-size:13px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:#4e79a7;margin-bottom:4px}
.lede{color:#52606d;margin:0 0 16px}
h2{font-size:19px;margin:30px 0 10px}
dl.meta{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px 22px;margin:0;background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 18px}
dl.meta dt{font-size:11.5px;letter-spacing:.05em;text-transform:uppercase;color:#7b8794}
dl.meta dd{margin:0;font-weight:600;word-break:break-word}
dl.meta .wide{grid-column:1/-1}
table{width:100%;table-layout:fixed;border-collapse:separate;border-spacing:0;background:#fff;border:1px solid #e1e4e8;border-radius:8px;overflow:hidden;font-variant-numeric:tabular-nums}
th,td{padding:7px 12px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
tr:last-child td{border-bottom:0}
th{background:#f0f2f5;font-size:12.5px;color:#3e4c59}
td.num,th.num{text-align:right}
td.unit{color:#616e7c;font-size:13.5px}
.kind{color:#7b8794;font-size:12.5px}
col.figure{width:30%}col.estimate{width:16%}col.interval{width:19%}col.spread{width:22%}col.unit{width:13%}
td.num strong{white-space:nowrap}
tbody tr:nth-child(even) td{background:#fafbfc}
figure{margin:0 0 22px;background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:10px 12px 12px}
figure svg{display:block;width:100%;height:auto}
figcaption{color:#3e4c59;font-size:14px;margin:2px 8px 0}
svg text{fill:#3e4c59}
svg .title{font-size:16px;font-weight:700;fill:#1f2933}
svg .tick{font-size:12.5px}
svg .sub{font-size:11px;fill:#7b8794}
svg .label{font-size:13px;font-weight:600}
svg .legend{font-size:12.5px}
svg .value{font-size:11.5px;fill:#52606d}
svg .grid line{stroke:#e9ecef;stroke-width:1}
svg .axis line,svg .tickmark{stroke:#9aa5b1;stroke-width:1}
p.note,p.missing{color:#52606d;font-size:14px}
p.missing{background:#fff;border:1px dashed #cbd2d9;border-radius:8px;padding:10px 14px;margin:0 0 22px}
footer{margin-top:26px;color:#7b8794;font-size:13px}
)";

std::string meta_item(const std::string& term, const std::string& value_html, bool wide = false) {
  return std::string("<div") + (wide ? " class=\"wide\"" : "") + "><dt>" + esc(term) + "</dt><dd>" + value_html + "</dd></div>";
}

std::string level_text(double level) { return fixed(level * 100, level * 100 == std::round(level * 100) ? 0 : 1) + "%"; }

//! How a figure's numbers are shown, by its unit: shares as percentages, months as
//! "month 57" (or "after the horizon"), anything else to about four significant digits.
struct Shown {
  double scale = 1;
  std::string suffix, unit;
  bool month = false;

  explicit Shown(const Figure& f) : unit(f.unit) {
    if (f.unit == "probability" || f.unit == "fraction of FTE") {
      scale = 100, suffix = "%";
      unit = f.unit == "probability" ? "% of replications" : "% of FTE";
    } else if (f.unit == "month") {
      month = true, unit = "months from the start";
    }
  }
  std::string bare(double v) const {
    if (std::isnan(v)) return "n/a";
    if (month && std::isinf(v)) return v > 0 ? "after the horizon" : "\u2212\u221e";
    if (scale == 100) return fixed(v * scale, 1);
    return unit == "0-1" ? fixed(v, 3) : sig(v);
  }
  std::string value(double v) const {
    if (month && std::isfinite(v)) return "month " + bare(v);
    return bare(v) + (std::isfinite(v) ? suffix : "");
  }
  std::string interval(const Estimate& e) const {
    if (std::isnan(e.lo) || std::isnan(e.hi)) return "n/a";
    if (month && std::isinf(e.lo) && std::isinf(e.hi) && e.lo > 0) return "after the horizon";
    return bare(e.lo) + " \u2013 " + value(e.hi);
  }
};

std::string headline_table(const std::vector<Figure>& figs, double level) {
  std::string o = "<table><colgroup><col class=\"figure\"><col class=\"estimate\"><col class=\"interval\">"
                  "<col class=\"spread\"><col class=\"unit\"></colgroup><thead><tr><th>figure</th><th class=\"num\">estimate</th>"
                  "<th class=\"num\">" + level_text(level) + " confidence interval</th><th class=\"num\">P10 / P50 / P90 of "
                  "replications</th><th>unit</th></tr></thead><tbody>";
  for (const auto& f : figs) {
    const Shown shown(f);
    std::string spread;
    if (f.kind == FigureKind::Mean)
      for (const auto& [p, e] : f.percentiles)
        if (p == 10 || p == 50 || p == 90) spread += (spread.empty() ? "" : " / ") + shown.bare(e.value);
    const char* kind = f.kind == FigureKind::Mean         ? "mean"
                       : f.kind == FigureKind::Percentile ? "percentile"
                       : f.kind == FigureKind::Ratio      ? "ratio of means"
                                                          : "probability";
    o += "<tr><td>" + esc(f.label) + " <span class=\"kind\">" + kind + "</span></td><td class=\"num\"><strong>" +
         esc(shown.value(f.estimate.value)) + "</strong></td><td class=\"num\">" + esc(shown.interval(f.estimate)) +
         "</td><td class=\"num\">" + esc(spread.empty() ? "\u2014" : spread) + "</td><td class=\"unit\">" + esc(shown.unit) +
         "</td></tr>";
  }
  return o + "</tbody></table>";
}

std::string fan_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const std::string s = "completed_cumulative";
  auto with_zero = [](std::vector<double> v) {  // nothing is complete at month 0
    v.insert(v.begin(), 0.0);
    return v;
  };
  const auto x = with_zero(step_months(m, 1));
  const auto mean = with_zero(summary(run, s, "mean")[0]), p10 = with_zero(summary(run, s, "p10")[0]),
             p50 = with_zero(summary(run, s, "p50")[0]), p90 = with_zero(summary(run, s, "p90")[0]);
  std::vector<double> px = {0}, py = {0};
  for (const auto& p : m.plan) px.push_back(p[0]), py.push_back(p[1]);
  // A plan far above the simulated band would flatten it into the axis: the band then gets
  // its own scale and the plan a second panel (docs/analysis.md, "Report").
  const bool dwarfed = !m.plan.empty() && max_of({&py}) > PLAN_DWARFS * max_of({&p90, &mean});
  auto draw = [&](Chart& c, bool with_plan) {
    c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
    c.y_axis(with_plan ? max_of({&p90, &mean, &py}) : max_of({&p90, &mean}), "projects completed (cumulative)");
    c.band(x, p10, p90, "#4e79a7", 0.22, "P10\u2013P90 of replications");
    c.line(x, p50, "#4e79a7", "median (P50)", 2.6);
    c.line(x, mean, "#1f2933", "mean", 1.6, true);
    if (with_plan) {
      c.line(px, py, "#e15759", "plan (scenario)", 2.2, false, "plan");
      c.markers(std::vector<double>(px.begin() + 1, px.end()), std::vector<double>(py.begin() + 1, py.end()), "#e15759",
                "plan", "plan-point");
    }
  };
  Chart c("fan-completions", "Projects completed over time");
  draw(c, !m.plan.empty() && !dwarfed);
  std::string out = figure(
      c, "Cumulative projects completed by each month, across " + fixed(static_cast<double>(m.replications), 0) +
             " replications: the shaded band holds the middle 80% of replications (P10 to P90), the solid line "
             "is the median and the dashed line the mean (<code>/summary/completed_cumulative</code>)." +
             (m.plan.empty() ? std::string(" The scenario states no plan.")
              : dwarfed      ? " The scenario's plan reaches " + sig(max_of({&py})) +
                              " projects, far above the simulated band: it is drawn in the next panel, on its own scale, "
                              "so that this one stays readable."
                             : std::string(" The red line is the scenario's stated plan (<code>[scenario] plan</code>), "
                                           "from 0 at the start through its points.")));
  if (dwarfed) {
    Chart p("fan-plan", "Plan against the simulation, on the plan's scale");
    draw(p, true);
    out += figure(p, "The scenario's stated plan (<code>[scenario] plan</code>, red) and the simulated band of the chart "
                     "above on one scale: the gap between them is the shortfall the simulation finds.");
  }
  return out;
}

std::vector<double> count_curve(const RunReader& run, double count);

//! The first month at which a cumulative probability reaches p (NaN when it never does).
double month_reaching(const std::vector<double>& x, const std::vector<double>& prob, double p) {
  for (std::size_t t = 0; t < prob.size() && t < x.size(); ++t)
    if (prob[t] >= p - 1e-12) return x[t];
  return NaN;
}

//! The month a target asks about, for the S-curves' marker: the first --target, else the
//! plan's last point, else none (NaN).
double target_month(const RunMetadata& m, const FigureOptions& o) {
  if (!o.targets.empty()) return o.targets.front().month;
  return m.plan.empty() ? NaN : m.plan.back()[0];
}

std::string s_curve(const RunReader& run, double target) {
  const RunMetadata& m = run.metadata();
  const Finishing f = finishing(run);
  const auto x = step_months(m, 1);
  Chart c("s-curve", "Probability of being done by each month");
  c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
  c.y_axis(100, "probability (% of replications)", 100, "%");
  if (std::isfinite(target)) c.vline(target, "#e15759", "target: month " + sig(target), "target-marker");
  c.vline(month_reaching(x, f.all, 0.8), "#1f2933", "P80: month " + sig(month_reaching(x, f.all, 0.8)), "p80-marker");
  const char* cols[] = {"#76b7b2", "#59a14f", "#f28e2b"};
  for (std::size_t q = 0; q < std::size(SHARES); ++q)
    c.line(x, scaled(f.share[q], 100), cols[q], "\u2265 " + fixed(SHARES[q] * 100, 0) + "% of projects done", 2.0);
  c.line(x, scaled(f.all, 100), "#4e79a7", "whole programme done", 3.0);
  auto last = [](const std::vector<double>& v) { return v.empty() ? 0.0 : v.back(); };
  std::string reached = "By the horizon: every project done in " + fixed(last(f.all) * 100, 1) + "% of replications";
  bool any = last(f.all) > 0;
  for (std::size_t q = 0; q < std::size(SHARES); ++q) {
    reached += ", \u2265 " + fixed(SHARES[q] * 100, 0) + "% done in " + fixed(last(f.share[q]) * 100, 1) + "%";
    any = any || last(f.share[q]) > 0;
  }
  if (!any) {
    // Every line above lies on 0%: add one the run does reach, at least its median count.
    const auto med = summary(run, "completed_cumulative", "p50")[0];
    const double n = med.empty() ? 0 : std::max(1.0, std::round(med.back()));
    c.line(x, scaled(count_curve(run, n), 100), "#e15759", "\u2265 " + sig(n) + " schools done (median)", 2.6);
    reached += ": no replication reaches even a quarter of its projects within the horizon, so those lines lie on 0%; the "
               "red line is the chance of at least " + sig(n) + " schools done (the median count at the horizon), "
               "which crosses 50% at the horizon by construction.";
  } else {
    reached += ".";
  }
  const double p80 = month_reaching(x, f.all, 0.8);
  reached += std::isfinite(p80) ? " The dashed black line marks the P80 month (month " + sig(p80) +
                                      "), by which 80% of replications have finished everything."
                                : std::string(" The whole programme is not done in 80% of replications by the horizon: "
                                              "its P80 month is after the horizon.");
  if (std::isfinite(target)) reached += " The dashed red line marks the target month (" + sig(target) + ").";
  return figure(c, "Share of replications in which the whole programme (every project) has finished by the end of each "
                   "month (from <code>/replications/finish_step</code>), and in which at least 25%, 50% and 75% of that "
                   "replication's projects have (<code>/series/completed_cumulative</code> against "
                   "<code>/replications/projects</code>). " + reached);
}

std::string stage_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const auto mean = summary(run, "stage_active", "mean");
  const auto x = step_months(m, 0.5);
  std::vector<double> total(x.size(), 0.0);
  for (const auto& col : mean)
    for (std::size_t t = 0; t < total.size() && t < col.size(); ++t) total[t] += std::isfinite(col[t]) ? col[t] : 0.0;
  Chart c("stage-occupancy", "Projects in progress, by stage");
  c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
  c.y_axis(max_of({&total}), "stage instances in progress (mean)");
  std::vector<std::string> names = m.stages;
  names.resize(mean.size());
  c.stacked_area(x, mean, names);
  return figure(c, "Mean number of projects progressing through each stage during each month, stacked: the top of the "
                   "stack is all work in progress (<code>/summary/stage_active/mean</code>). Projects held at a gate or "
                   "waiting for staff are not counted.");
}

std::string utilisation_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const std::string title = "Capacity utilisation, by discipline";
  if (!has_series(m, "utilisation")) return missing(title, "the scenario has no staff disciplines, so the run has no utilisation series.");
  const auto mean = summary(run, "utilisation", "mean");
  const auto x = step_months(m, 0.5);
  Chart c("utilisation", title);
  c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
  c.y_axis(100, "utilisation (% of FTE)", 100, "%");
  for (std::size_t k = 0; k < mean.size(); ++k)
    c.line(x, scaled(mean[k], 100), colour(k), k < m.disciplines.size() ? m.disciplines[k] : "discipline " + std::to_string(k));
  return figure(c, "Mean share of the authorities' staff (FTE) allocated to projects during each month, per discipline, "
                   "over the authorities that have entered the programme (<code>/summary/utilisation/mean</code>).");
}

std::string health_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const std::string title = "Partnering health";
  if (!has_series(m, "health")) return missing(title, "not in this run (the scenario has no [partnering] table).");
  const auto mean = summary(run, "health", "mean");
  const auto p10 = summary(run, "health", "p10"), p90 = summary(run, "health", "p90");
  if (mean.size() < 3 || p10.empty() || p90.empty()) run.fail("inconsistent: /summary/health is not [T, 3]");
  const auto x = step_months(m, 1);
  Chart c("health", title);
  c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
  c.y_axis(1, "partnering health (0\u20131)", 1);
  c.band(x, mean[1], mean[2], "#b07aa1", 0.18, "spread across LEPs (P10\u2013P90)");
  c.band(x, p10[0], p90[0], "#b07aa1", 0.45, "mean: P10\u2013P90 of replications");
  c.line(x, mean[0], "#7b4f73", "mean over LEPs", 2.4);
  return figure(c, "Partnering health of the formed LEPs at the end of each month (0 = broken down, 1 = excellent): "
                   "the line is the mean over LEPs, averaged over replications; the light band is the typical spread "
                   "between LEPs (the replications' mean P10 and P90 across LEPs) and the darker band the spread of the "
                   "programme mean across replications (<code>/summary/health</code>). The chart is blank until a LEP "
                   "forms.");
}

std::string exclusivity_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const std::string title = "LEPs, exclusivity and disputes";
  struct S {
    const char* name;
    const char* label;
    const char* colour;
    double offset;  // end of step (cumulative counts) or middle (during the step)
  };
  const S all[] = {{"leps_formed", "LEPs formed", "#4e79a7", 1.0},
                   {"exclusive_leps", "LEPs holding exclusivity", "#59a14f", 1.0},
                   {"disputes_active", "LEPs in a dispute", "#e15759", 0.5}};
  std::vector<const S*> present;
  for (const auto& s : all)
    if (has_series(m, s.name)) present.push_back(&s);
  if (present.empty()) return missing(title, "not in this run (the scenario has no [lep], [exclusivity] or [disputes] table).");
  Chart c("exclusivity", title);
  c.month_axis(static_cast<double>(m.steps) * m.step_months, m.start);
  std::vector<std::vector<double>> ys;
  for (const S* s : present) ys.push_back(summary(run, s->name, "mean")[0]);
  double top = NaN;
  for (const auto& y : ys) top = std::isfinite(top) ? std::max(top, max_of({&y})) : max_of({&y});
  c.y_axis(top, "LEPs (mean over replications)");
  std::string what;
  for (std::size_t i = 0; i < present.size(); ++i) {
    c.line(step_months(m, present[i]->offset), ys[i], present[i]->colour, present[i]->label, 2.4);
    what += std::string(i ? ", " : "") + "<code>/summary/" + present[i]->name + "/mean</code>";
  }
  return figure(c, "Mean number of LEPs formed and of LEPs still holding exclusivity at the end of each month, and of LEPs "
                   "whose work a dispute stalls during the month (" + what + "). Series the scenario does not switch on "
                   "are left out.");
}

std::string spend_chart(const RunReader& run) {
  const RunMetadata& m = run.metadata();
  const std::string title = "Spend per year, by kind";
  if (!has_series(m, "spend")) return missing(title, "not in this run (the scenario has no [costs] or [capacity] table).");
  const auto mean = summary(run, "spend", "mean");
  const double horizon = static_cast<double>(m.steps) * m.step_months;
  const auto years = static_cast<std::size_t>(std::max(1.0, std::ceil(horizon / 12 - 1e-9)));
  std::vector<std::vector<double>> per_year(mean.size(), std::vector<double>(years, 0.0));
  for (std::size_t k = 0; k < mean.size(); ++k)
    for (std::size_t t = 0; t < mean[k].size(); ++t) {
      const auto y = std::min(years - 1, static_cast<std::size_t>(std::floor(static_cast<double>(t) * m.step_months / 12 + 1e-9)));
      if (std::isfinite(mean[k][t])) per_year[k][y] += mean[k][t];
    }
  const auto [y0, m0] = start_of(m.start);
  std::vector<std::string> labels;
  for (std::size_t y = 0; y < years; ++y) {
    const int first = y0 + static_cast<int>(y);
    char buf[32];
    if (m0 == 0) std::snprintf(buf, sizeof buf, "year %zu", y + 1);
    else if (m0 == 1) std::snprintf(buf, sizeof buf, "%d", first);
    else std::snprintf(buf, sizeof buf, "%d/%02d", first, (first + 1) % 100);
    labels.push_back(buf);
  }
  const bool part = static_cast<double>(years) * 12 > horizon + 1e-9;
  const std::vector<std::string> kinds = {"capital", "LEP set-up", "capacity (staff)"};
  std::vector<std::string> names;
  for (std::size_t k = 0; k < mean.size(); ++k) names.push_back(k < kinds.size() ? kinds[k] : "kind " + std::to_string(k));
  std::vector<double> totals(years, 0.0);
  for (const auto& row : per_year)
    for (std::size_t y = 0; y < years; ++y) totals[y] += row[y];
  Chart c("spend", title);
  c.category_axis(labels, m0 == 0 ? "programme year" : m0 == 1 ? "calendar year" : "programme year (from " + calendar(m.start, 0) + ")");
  std::vector<double> envelope = {m.annual_envelope};
  c.y_axis(max_of({&totals, &envelope}), "GBP m per year (mean)");
  c.stacked_bars(per_year, names, labels, "GBP m");
  if (m.annual_envelope > 0) c.hline(m.annual_envelope, "#1f2933", "annual envelope", "envelope");
  double sum = 0;
  for (double t : totals) sum += t;
  const std::string envelope_note =
      m.annual_envelope > 0
          ? " The dashed line is the annual envelope (<code>[funding] annual_envelope</code>, GBP " + sig(m.annual_envelope) +
                "m). It caps the capital <em>committed</em> when funded stages (construction) start in a year, not the "
                "cash spent in it: a school's capital is spent over its build, so commitments made near a year's end are "
                "paid in the next, and overruns are paid later still, when they occur. Spend above the line in a year is "
                "therefore not a breach of the envelope."
          : "";
  return figure(c, "Mean spend in each 12-month year of the programme, GBP m, stacked by kind: capital (overruns "
                   "included), LEP set-up and the authorities' staff (<code>/summary/spend/mean</code> summed over "
                   "each year's months); the figure above each bar is its total. Over the horizon: GBP " +
                       sig(sum) + "m." + (part ? " The last year is part of a year (the horizon ends inside it)." : "") +
                       envelope_note);
}

// ---------------------------------------------------------------------------------------
// The comparison page (several runs): docs/analysis.md, "Comparison report"

//! "[A]", "[B]", ... (built by appends: GCC 12 warns falsely on "literal" + string chains).
std::string tag(std::size_t i) {
  std::string t(1, '[');
  t += static_cast<char>('A' + std::min<std::size_t>(i, 25));
  t += ']';
  return t;
}
std::string strong_tag(std::size_t i) {
  std::string t("<strong>");
  t += tag(i);
  t += "</strong>";
  return t;
}

const ComparedFigure* find_figure(const Comparison& c, const std::string& key) {
  for (const auto& f : c.figures)
    if (f.key == key) return &f;
  return nullptr;
}

Shown shown_for(const ComparedFigure& f) {
  Figure tmp;
  tmp.unit = f.unit;
  return Shown(tmp);
}

//! "value" and, below it, "[lo – hi]".
std::string cell(const Shown& shown, const Estimate& e, bool sign = false) {
  std::string v = shown.value(e.value), i = shown.interval(e);
  if (sign && e.value > 0 && v.rfind("0", 0) != 0) v = "+" + v;
  if (v == "-0" || v == "-0.0") v = v.substr(1);
  return "<strong>" + esc(v) + "</strong>" + (i == "n/a" ? "" : "<br><span class=\"kind\">" + esc(i) + "</span>");
}

//! What each run's P10 / P50 / P90 spread holds, total or chance only, and with drawn inputs
//! the split intervals of summary / compare (docs/analysis.md, "Total and chance-only intervals").
std::string spread_note(const std::vector<const RunReader*>& runs, double level) {
  std::string o = "\n<p class=\"note\">What the P10 / P50 / P90 spread holds: ";
  bool any = false;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const bool drawn = read_drawn_inputs(*runs[i]).present;
    any = any || drawn;
    if (runs.size() > 1)
      o += std::string(i ? "; " : "") + "[" + static_cast<char>('A' + std::min<std::size_t>(i, 25)) + "] ";
    o += drawn ? "the <strong>total</strong> uncertainty (its uncertain inputs drawn per replication, and chance)"
               : "<strong>chance only</strong> (inputs fixed at their point values; the judgement inputs' own uncertainty "
                 "is not in it)";
  }
  o += ". Confidence intervals are the Monte Carlo error of the estimate, not a spread (docs/analysis.md, \"Total and "
       "chance-only intervals\").</p>\n";
  if (any) {
    FigureOptions fo;
    fo.level = level;
    std::string text = runs.size() > 1
                           ? uncertainty_comparison_text(runs, level)
                           : uncertainty_text(headline_figures(*runs[0], fo), read_drawn_inputs(*runs[0]), level);
    o += "<pre>" + esc(text) + "</pre>\n";
  }
  return o;
}

std::string variants_table(const Comparison& c) {
  // The figures a director asks about first, where the runs have them.
  std::vector<const ComparedFigure*> cols;
  for (const char* key : {"completed_month60", "completed_month120", "finish_p80", "finish_within_horizon", "target_1",
                          "cost_month120", "cost_per_school_month60", "cost_per_school_month120"})
    if (const ComparedFigure* f = find_figure(c, key)) cols.push_back(f);
  std::string o = "<table class=\"variants\"><thead><tr><th>variant</th>";
  for (const auto* f : cols) o += "<th class=\"num\">" + esc(f->label) + " <span class=\"kind\">" + esc(shown_for(*f).unit) + "</span></th>";
  o += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < c.runs.size(); ++i) {
    o += "<tr><td>" + strong_tag(i) + " " + esc(c.runs[i].scenario_name) + "</td>";
    for (const auto* f : cols) o += "<td class=\"num\">" + cell(shown_for(*f), f->estimates[i]) + "</td>";
    o += "</tr>";
  }
  return o + "</tbody></table>";
}

std::string differences_table(const Comparison& c) {
  std::string o = "<table class=\"differences\"><colgroup><col class=\"figure\"><col class=\"estimate\"><col class=\"interval\">"
                  "<col class=\"spread\"><col class=\"unit\"></colgroup><thead><tr><th>figure, variant</th>"
                  "<th class=\"num\">difference from [A]</th><th class=\"num\">P10 / P50 / P90 of per-replication "
                  "differences</th><th class=\"num\">P(better than [A])</th><th>unit</th></tr></thead><tbody>";
  for (const char* key : {"completed_month60", "completed_month120", "finish_p80", "finish_within_horizon", "target_1",
                          "spend_total", "cost_per_school_month60", "cost_per_school_month120"}) {
    const ComparedFigure* f = find_figure(c, key);
    if (!f) continue;
    const Shown shown = shown_for(*f);
    const bool ratio = f->kind == FigureKind::Ratio;
    for (std::size_t i = 1; i < c.runs.size(); ++i) {
      const Difference& d = f->differences[i - 1];
      std::string diff = !d.defined ? "undefined (" + esc(d.undefined_why) + ")" : cell(shown, d.estimate, !ratio);
      if (d.defined && std::isinf(d.estimate.lo) && std::isinf(d.estimate.hi)) diff += "<br><span class=\"kind\">unbounded: not distinguishable from 0</span>";
      std::string spread;
      for (const auto& [p, e] : d.spread) spread += (spread.empty() ? "" : " / ") + shown.bare(e.value);
      std::string better = std::isnan(d.better.value) ? "\u2014"
                                                      : "<strong>" + fixed(d.better.value * 100, 1) + "%</strong><br><span class=\"kind\">" +
                                                            fixed(d.better.lo * 100, 1) + " \u2013 " + fixed(d.better.hi * 100, 1) + "%</span>";
      o += "<tr><td>" + esc(ratio ? "extra cost per extra school, by " + f->label.substr(f->label.rfind("month")) : f->label) +
           ", " + strong_tag(i) + " " + esc(c.runs[i].scenario_name) + "</td><td class=\"num\">" + diff +
           "</td><td class=\"num\">" + esc(spread.empty() ? "\u2014" : spread) + "</td><td class=\"num\">" + better +
           "</td><td class=\"unit\">" + esc(shown.unit) + "</td></tr>";
    }
  }
  return o + "</tbody></table>";
}

std::string overlaid_fans(const std::vector<const RunReader*>& runs) {
  const RunMetadata& a = runs[0]->metadata();
  const std::string s = "completed_cumulative";
  auto with_zero = [](std::vector<double> v) {
    v.insert(v.begin(), 0.0);
    return v;
  };
  std::vector<std::vector<double>> xs, p10s, p50s, p90s;
  double top = NaN;
  double horizon = 0;
  for (const RunReader* r : runs) {
    const RunMetadata& m = r->metadata();
    xs.push_back(with_zero(step_months(m, 1)));
    p10s.push_back(with_zero(summary(*r, s, "p10")[0]));
    p50s.push_back(with_zero(summary(*r, s, "p50")[0]));
    p90s.push_back(with_zero(summary(*r, s, "p90")[0]));
    const double t = max_of({&p90s.back()});
    top = std::isfinite(top) ? std::max(top, t) : t;
    horizon = std::max(horizon, static_cast<double>(m.steps) * m.step_months);
  }
  std::vector<double> px = {0}, py = {0};
  for (const auto& p : a.plan) px.push_back(p[0]), py.push_back(p[1]);
  const bool dwarfed = !a.plan.empty() && max_of({&py}) > PLAN_DWARFS * top;
  auto draw = [&](Chart& c, bool with_plan) {
    c.month_axis(horizon, a.start);
    std::vector<double> tops = {top};
    c.y_axis(with_plan ? max_of({&tops, &py}) : top, "projects completed (cumulative)");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::string who = tag(i) + " " + runs[i]->metadata().scenario_name;
      c.band(xs[i], p10s[i], p90s[i], colour(i), 0.22, who + ", P10\u2013P90", true);
      c.line(xs[i], p50s[i], colour(i), who, 2.4);
    }
    if (with_plan) c.line(px, py, "#1f2933", "plan ([A]'s scenario)", 2.0, true, "plan");
  };
  Chart c("cmp-fan", "Projects completed over time, by variant");
  draw(c, !a.plan.empty() && !dwarfed);
  std::string out = figure(c, "Cumulative projects completed by each month: for each variant the median (line, in the "
                              "legend) and the middle 80% of its replications (band of the same colour, P10 to P90)." +
                                  (dwarfed ? std::string(" [A]'s stated plan is far above every band: it is drawn in the next "
                                                         "panel, on its own scale, so that the variants stay apart here.")
                                           : std::string("")));
  if (dwarfed) {
    Chart p("cmp-fan-plan", "The variants against the plan, on the plan's scale");
    draw(p, true);
    out += figure(p, "The same medians and bands with [A]'s stated plan (dashed): the gap is the shortfall against the plan.");
  }
  return out;
}

//! P(at least `count` projects completed by the end of each step), per step.
std::vector<double> count_curve(const RunReader& run, double count) {
  const RunMetadata& m = run.metadata();
  const auto T = static_cast<std::size_t>(m.steps);
  std::vector<std::int64_t> first(T, 0);
  for_each_row<std::int32_t>(run, "series", "completed_cumulative", [&](std::uint64_t, const std::int32_t* row, std::uint64_t) {
    const auto it = std::find_if(row, row + T, [&](std::int32_t c) { return c >= count; });
    if (it != row + T) ++first[static_cast<std::size_t>(it - row)];
  });
  std::vector<double> p(T);
  std::int64_t c = 0;
  for (std::size_t t = 0; t < T; ++t) p[t] = static_cast<double>(c += first[t]) / static_cast<double>(m.replications);
  return p;
}

std::string overlaid_s_curves(const std::vector<const RunReader*>& runs, const FigureOptions& options) {
  const RunMetadata& a = runs[0]->metadata();
  const double target = target_month(a, options);
  std::vector<std::vector<double>> xs, curves;
  double horizon = 0;
  // What "done" means: the first --target's count when it names one, else every project.
  const double count = !options.targets.empty() ? options.targets.front().count : -1;
  for (const RunReader* r : runs) {
    xs.push_back(step_months(r->metadata(), 1));
    curves.push_back(count < 0 ? finishing(*r).all : count_curve(*r, count));
    horizon = std::max(horizon, static_cast<double>(r->metadata().steps) * r->metadata().step_months);
  }
  auto flat = [&] {
    return std::all_of(curves.begin(), curves.end(), [](const std::vector<double>& v) { return v.empty() || v.back() == 0; });
  };
  std::string what = count < 0 ? "every project done" : "at least " + sig(count) + " schools done";
  std::string fallback;
  if (flat()) {
    // No variant gets there in any replication: every curve would lie on 0%. Shown instead:
    // at least as many schools as [A]'s median at the horizon, which some variant reaches.
    const auto med = summary(*runs[0], "completed_cumulative", "p50")[0];
    const double n = med.empty() ? 0 : std::max(1.0, std::round(med.back()));
    fallback = " No variant has " + what + " by the horizon in any replication, so every such curve would lie on 0%; "
               "shown instead is the chance of at least " + sig(n) + " schools done ([A]'s median at the horizon).";
    what = "at least " + sig(n) + " schools done";
    for (std::size_t i = 0; i < runs.size(); ++i) curves[i] = count_curve(*runs[i], n);
  }
  Chart c("cmp-s-curve", "Probability of " + what + " by each month, by variant");
  c.month_axis(horizon, a.start);
  c.y_axis(100, "probability (% of replications)", 100, "%");
  if (std::isfinite(target)) c.vline(target, "#e15759", "target: month " + sig(target), "target-marker");
  std::string p80s;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string who = tag(i) + " " + runs[i]->metadata().scenario_name;
    c.line(xs[i], scaled(curves[i], 100), colour(i), who, 2.6);
    const double p80 = month_reaching(xs[i], curves[i], 0.8);
    c.dot(p80, 80, colour(i), who + ": P80 month " + sig(p80), "p80-marker");
    p80s += (i ? "; " : "") + esc(who) + ": " + (std::isfinite(p80) ? "month " + sig(p80) : std::string("after the horizon"));
  }
  return figure(c, "Share of each variant's replications with " + esc(what) + " by the end of each month." + esc(fallback) +
                       " Dots on the 80% level mark each variant's P80 month, by which 80% of its replications have got "
                       "there: " + p80s + "." +
                       (std::isfinite(target) ? " The dashed red line is the target month (" + sig(target) + ")." : std::string("")));
}

//! Histograms (as outlines) of the per-replication differences B - A of one figure, one per
//! paired variant, with a line at 0.
std::string difference_histogram(const Comparison& c, const std::string& key) {
  const ComparedFigure* f = find_figure(c, key);
  if (!f) return "";
  double lo = NaN, hi = NaN;
  for (const auto& d : f->differences)
    for (double x : d.per_replication)
      if (std::isfinite(x)) lo = std::isfinite(lo) ? std::min(lo, x) : x, hi = std::isfinite(hi) ? std::max(hi, x) : x;
  if (!std::isfinite(lo)) return missing("Distribution of the paired differences, " + f->label,
                                         "no variant is paired with [A] (same seed), so there are no per-replication differences.");
  int BINS = 30;
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  double w = (hi - lo) / BINS;
  if (f->unit == "projects") {  // whole schools: bins of whole numbers, centred on them, no empty gaps
    w = std::max(1.0, std::ceil(w));
    lo = std::floor(lo) - 0.5 * w;
    BINS = static_cast<int>(std::ceil((hi - lo) / w + 1e-9));
    hi = lo + BINS * w;
  }
  Chart ch("diff-" + key, "Paired differences from [A]: " + f->label);
  ch.value_axis(lo, hi, "difference from [A] per replication (" + f->unit + ")");
  std::vector<std::vector<double>> hx, hy;
  double top = 0;
  for (std::size_t i = 0; i < f->differences.size(); ++i) {
    const auto& d = f->differences[i];
    std::vector<double> count(BINS, 0.0);
    double n = 0;
    for (double x : d.per_replication)
      if (std::isfinite(x)) ++count[static_cast<std::size_t>(std::clamp(static_cast<int>((x - lo) / w), 0, BINS - 1))], ++n;
    std::vector<double> x, y;  // a step outline: share of replications per bin, in %
    for (int b = 0; b < BINS; ++b) {
      const double share = n > 0 ? 100 * count[static_cast<std::size_t>(b)] / n : 0;
      x.push_back(lo + b * w), y.push_back(share), x.push_back(lo + (b + 1) * w), y.push_back(share);
      top = std::max(top, share);
    }
    hx.push_back(std::move(x)), hy.push_back(std::move(y));
  }
  ch.y_axis(top, "share of paired replications (%)", 0, "%");
  for (std::size_t i = 0; i < hx.size(); ++i)
    if (f->differences[i].paired) {
      ch.band(hx[i], std::vector<double>(hx[i].size(), 0.0), hy[i], colour(i + 1), 0.3, "", true);
      ch.line(hx[i], hy[i], colour(i + 1), tag(i + 1) + " " + c.runs[i + 1].scenario_name, 2.0);
    }
  ch.vline(0, "#1f2933", "no difference", "zero-line");
  return figure(ch, "How the per-replication difference from [A] is spread, for each variant paired with [A] (same seed: "
                    "replication r of both runs shares its random numbers): the share of paired replications in each bin, "
                    "one shaded outline a variant. Mass to the " +
                        std::string(f->better < 0 ? "left" : "right") + " of the line at 0 is replications where the variant does better.");
}

std::string spend_against_envelope(const std::vector<const RunReader*>& runs) {
  const RunMetadata& a = runs[0]->metadata();
  std::vector<std::vector<double>> years;
  std::size_t n_years = 0;
  for (const RunReader* r : runs) {
    const RunMetadata& m = r->metadata();
    std::vector<double> per_year;
    if (has_series(m, "spend")) {
      const auto mean = summary(*r, "spend", "mean");
      const auto ny = static_cast<std::size_t>(std::max(1.0, std::ceil(static_cast<double>(m.steps) * m.step_months / 12 - 1e-9)));
      per_year.assign(ny, 0.0);
      for (const auto& col : mean)
        for (std::size_t t = 0; t < col.size(); ++t)
          if (std::isfinite(col[t]))
            per_year[std::min(ny - 1, static_cast<std::size_t>(std::floor(static_cast<double>(t) * m.step_months / 12 + 1e-9)))] += col[t];
    }
    n_years = std::max(n_years, per_year.size());
    years.push_back(std::move(per_year));
  }
  if (n_years == 0) return missing("Spend against the envelope", "no run has a spend series (no [costs] or [capacity] table).");
  std::vector<std::string> labels;
  for (std::size_t y = 0; y < n_years; ++y) labels.push_back("year " + std::to_string(y + 1));
  Chart c("cmp-spend", "Spend per programme year against the annual envelope, by variant");
  c.category_axis(labels, "programme year (12 months from " + (calendar(a.start, 0).empty() ? a.start : calendar(a.start, 0)) + ")");
  double top = a.annual_envelope;
  for (const auto& v : years) top = std::max(top, max_of({&v}));
  c.y_axis(top, "GBP m per year (mean)");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::vector<double> x;
    for (std::size_t y = 0; y < years[i].size(); ++y) x.push_back(static_cast<double>(y) + 0.5);
    if (!x.empty()) c.line(x, years[i], colour(i), tag(i) + " " + runs[i]->metadata().scenario_name, 2.4);
  }
  if (a.annual_envelope > 0) c.hline(a.annual_envelope, "#1f2933", "annual envelope ([A])", "envelope");
  return figure(c, "Mean spend in each programme year, GBP m (capital with overruns, LEP set-up, staff; lever costs are in "
                   "the table above, not here)." +
                       (a.annual_envelope > 0
                            ? " The dashed line is [A]'s annual envelope, GBP " + sig(a.annual_envelope) +
                                  "m. The envelope caps the capital <em>committed</em> when funded stages (construction) start "
                                  "in a year, not the cash spent in it: capital is paid out over the build, and overruns later "
                                  "still, so a year's spend can rise above the envelope without breaching it."
                            : std::string(" [A] has no funding envelope.")));
}

std::string lever_costs_text(const RunMetadata& m) {
  if (m.lever_cost_once == 0 && m.lever_cost_per_month == 0 && m.lever_cost_per_lep_month == 0) return "none stated";
  std::string s;
  if (m.lever_cost_once > 0) s += "GBP " + sig(m.lever_cost_once) + "m at the start";
  if (m.lever_cost_per_month > 0) s += (s.empty() ? "" : "; ") + std::string("GBP ") + sig(m.lever_cost_per_month) + "m a month";
  if (m.lever_cost_per_lep_month > 0)
    s += (s.empty() ? "" : "; ") + std::string("GBP ") + sig(m.lever_cost_per_lep_month * 12) + "m per LEP-year";
  return s;
}

}  // namespace

std::string render_comparison_report(const std::vector<const RunReader*>& runs, const ReportOptions& options) {
  std::string html;
  try {
    const Comparison c = compare_runs(runs, options.figures);
    const double level = options.figures.level;
    std::string list = "<table class=\"runs\"><thead><tr><th>variant</th><th>run file</th><th class=\"num\">seed</th>"
                       "<th class=\"num\">replications</th><th>paired with [A]</th><th>lever costs</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      const auto& m = c.runs[i];
      list += "<tr><td>" + strong_tag(i) + " " + esc(m.scenario_name) + "</td><td><code>" + esc(m.path) +
              "</code></td><td class=\"num\">" + esc(std::to_string(m.seed)) + "</td><td class=\"num\">" +
              fixed(static_cast<double>(m.replications), 0) + "</td><td>" +
              (i == 0 ? std::string("\u2014")
                      : c.paired[i - 1] ? "yes, over " + fixed(static_cast<double>(c.pairs[i - 1]), 0) + " replications"
                                        : std::string("no (independent)")) +
              "</td><td>" + esc(lever_costs_text(m)) + "</td></tr>";
    }
    list += "</tbody></table>";
    std::string warnings;
    for (const auto& w : c.warnings) warnings += "<li>" + esc(w) + "</li>";
    if (!warnings.empty()) warnings = "<ul class=\"warnings\">" + warnings + "</ul>";
    std::string charts = overlaid_fans(runs) + overlaid_s_curves(runs, options.figures);
    for (const auto& f : c.figures)
      if (f.key == "completed_month60" || f.key == "completed_month120") charts += difference_histogram(c, f.key);
    charts += spend_against_envelope(runs);
    const std::string title = "Policies compared: " + c.runs[0].scenario_name + " and " + std::to_string(c.runs.size() - 1) +
                              " variant" + (c.runs.size() == 2 ? "" : "s");
    html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"lepsim " + esc(c.runs[0].engine_version) + "\">\n"
           "<title>" + esc(title) + " \u2014 lepsim report</title>\n<style>" + CSS + "</style>\n</head>\n<body>\n<main>\n"
           "<header>\n<h1><span class=\"kicker\">lepsim comparison report</span>" + esc(title) + "</h1>\n"
           "<p class=\"lede\">Each variant against [A], the first run; every figure is computed from the run files alone, "
           "with " + level_text(level) + " intervals.</p>\n" + list + warnings + "\n</header>\n"
           "<section>\n<h2>The variants</h2>\n" + variants_table(c) + spread_note(runs, level) +
           "\n<p class=\"note\">Cost is capital spend (with overruns, LEP set-up and staff) plus the lever costs each "
           "scenario states (docs/model.md, \"Lever costs\"); cost per school is the ratio of the mean cost to the mean "
           "schools delivered, with a delta-method interval.</p>\n</section>\n"
           "<section>\n<h2>Charts</h2>\n" + charts + "</section>\n"
           "<section>\n<h2>Differences from [A]</h2>\n" + differences_table(c) +
           "\n<p class=\"note\">For variants paired with [A] the difference is taken replication by replication (common "
           "random numbers); P(better) is the share of paired replications in which the variant does better (more schools, "
           "earlier, cheaper), with a Wilson interval. The extra cost per extra school is the mean extra cost over the mean "
           "extra schools; it is unbounded when the extra schools are not distinguishable from 0.</p>\n</section>\n"
           "<footer>Written by lepsim " + esc(c.runs[0].engine_version) +
           ". This page is self-contained: no scripts, fonts, images or network requests.</footer>\n"
           "</main>\n</body>\n</html>\n";
  } catch (const h5::Error& e) {
    runs[0]->fail(std::string("corrupted: ") + e.what());
  }
  return html;
}

void write_comparison_report(const std::vector<const RunReader*>& runs, const ReportOptions& options) {
  const std::string html = render_comparison_report(runs, options);  // computed first: a failure writes nothing
  detail::AtomicFile f(options.output_path);
  f.write(html);
  f.commit();
}

namespace {
}  // namespace

std::string render_report(const RunReader& run, const ReportOptions& options) {
  const RunMetadata& m = run.metadata();
  const double level = options.figures.level;
  std::string html;
  try {
    const h5::Group root = run.file().root();
    const std::vector<Figure> figs = headline_figures(run, options.figures);
    const double horizon = static_cast<double>(m.steps) * m.step_months;

    std::string head = "<dl class=\"meta\">";
    head += meta_item("scenario", esc(m.scenario_name));
    head += meta_item("seed", esc(std::to_string(m.seed)));
    head += meta_item("replications", fixed(static_cast<double>(m.replications), 0));
    head += meta_item("time", esc(fixed(horizon, 0) + " months from " + (calendar(m.start, 0).empty() ? m.start : calendar(m.start, 0)) +
                                  ", steps of " + sig(m.step_months) + " month" + (m.step_months == 1 ? "" : "s")));
    head += meta_item("engine", esc("lepsim " + m.engine_version + " (" + m.git_revision + ")"));
    head += meta_item("created", esc(m.created));
    head += meta_item("run-file format", esc(std::to_string(m.format_major) + "." + std::to_string(m.format_minor)));
    head += meta_item("durations", esc(m.durations));
    if (root.has_attr("convergence_rule")) {
      std::string conv = esc(root.attr_string("convergence_rule"));
      if (root.has_attr("convergence_met"))
        conv += root.attr<std::int32_t>("convergence_met") != 0 ? " \u2014 <strong>met</strong>"
                                                                 : " \u2014 <strong>not met</strong> (stopped at the replication limit)";
      head += meta_item("convergence rule", conv, true);
    }
    head += meta_item("run file", "<code>" + esc(m.path) + "</code>" +
                                      (m.scenario_source.empty() ? "" : " from <code>" + esc(m.scenario_source) + "</code>"),
                      true);
    head += "</dl>";

    std::string charts;
    charts += fan_chart(run);
    charts += s_curve(run, target_month(m, options.figures));
    charts += stage_chart(run);
    charts += utilisation_chart(run);
    charts += health_chart(run);
    charts += exclusivity_chart(run);
    charts += spend_chart(run);

    html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"lepsim " + esc(m.engine_version) + "\">\n"
           "<title>" + esc(m.scenario_name) + " \u2014 lepsim report</title>\n<style>" + CSS + "</style>\n</head>\n<body>\n<main>\n"
           "<header>\n<h1><span class=\"kicker\">lepsim run report</span>" + esc(m.scenario_name) + "</h1>\n"
           "<p class=\"lede\">" + fixed(static_cast<double>(m.replications), 0) + " replications of " + fixed(horizon, 0) +
           " months; every figure below is computed from the run file alone.</p>\n" + head + "\n</header>\n"
           "<section>\n<h2>Headline figures</h2>\n" + headline_table(figs, level) + spread_note({&run}, level) +
           "\n<p class=\"note\">Means carry a Student-t interval, percentiles a distribution-free order-statistic "
           "interval and probabilities a Wilson interval, each at " + level_text(level) +
           " confidence; the spread column is the P10, P50 and P90 of the per-replication values, not an interval "
           "(docs/analysis.md).</p>\n</section>\n"
           "<section>\n<h2>Charts</h2>\n" + charts + "</section>\n"
           "<footer>Written by lepsim " + esc(m.engine_version) + " from <code>" + esc(m.path) +
           "</code>. This page is self-contained: no scripts, fonts, images or network requests.</footer>\n"
           "</main>\n</body>\n</html>\n";
  } catch (const h5::Error& e) {
    run.fail(std::string("corrupted: ") + e.what());
  }
  return html;
}

void write_report(const RunReader& run, const ReportOptions& options) {
  const std::string html = render_report(run, options);  // computed first: a failure writes nothing
  detail::AtomicFile f(options.output_path);
  f.write(html);
  f.commit();
}

}  // namespace lepsim::analysis
