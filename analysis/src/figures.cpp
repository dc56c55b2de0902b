#include "lepsim/analysis/figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "lepsim/error.hpp"

namespace lepsim::analysis {
namespace {

bool has(const std::vector<SeriesInfo>& v, const std::string& name) {
  return std::any_of(v.begin(), v.end(), [&](const SeriesInfo& s) { return s.name == name; });
}
bool has(const std::vector<std::string>& v, const std::string& name) {
  return std::find(v.begin(), v.end(), name) != v.end();
}

Figure mean_figure(std::string key, std::string label, std::string unit, std::vector<double> values, double level) {
  Figure f{std::move(key), std::move(label), std::move(unit), FigureKind::Mean, {}, {}, std::move(values), {}};
  f.estimate = mean_interval(f.per_replication, level);
  std::vector<double> sorted;
  sorted.reserve(f.per_replication.size());
  for (double v : f.per_replication)
    if (!std::isnan(v)) sorted.push_back(v);
  std::sort(sorted.begin(), sorted.end());
  for (double p : {10.0, 50.0, 80.0, 90.0}) f.percentiles.push_back({p, percentile_interval(sorted, p, level)});
  return f;
}

Figure percentile_figure(std::string key, std::string label, const std::vector<double>& values, double p, double level) {
  Figure f{std::move(key), std::move(label), "month", FigureKind::Percentile, {}, {}, values, {}};
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  f.estimate = percentile_interval(sorted, p, level);
  return f;
}

Figure probability_figure(std::string key, std::string label, std::vector<double> indicator, double level) {
  std::int64_t k = 0;
  for (double v : indicator) k += v > 0.5;
  Figure f{std::move(key), std::move(label), "probability", FigureKind::Probability, {}, {}, std::move(indicator), {}};
  f.estimate = proportion_interval(k, static_cast<std::int64_t>(f.per_replication.size()), level);
  return f;
}

std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// ---- Cost-effectiveness (docs/analysis.md, "Cost-effectiveness") -------------------------
//! Programme cost by month M per replication: capital spend (series spend) in the steps
//! ending by M, plus the lever costs (once at the start, per month, per LEP-month formed);
//! and cost per school delivered by M (ratio of means). Months: 60 and 120 when reached.
void add_cost_figures(const RunReader& run, const std::vector<double>& months, const std::vector<std::vector<double>>& done,
                      std::vector<Figure>& out, double level) {
  const RunMetadata& m = run.metadata();
  const bool levers = m.lever_cost_once > 0 || m.lever_cost_per_month > 0 || m.lever_cost_per_lep_month > 0;
  if (!has(m.series, "spend") && !levers) return;
  const auto R = static_cast<std::size_t>(m.replications);
  const auto T = static_cast<std::size_t>(m.steps);
  const double dt = m.step_months;
  std::vector<std::size_t> ks;  // indices into months of 60 and 120
  for (std::size_t k = 0; k < months.size(); ++k)
    if (std::abs(months[k] - 60) < 1e-9 || std::abs(months[k] - 120) < 1e-9) ks.push_back(k);
  if (ks.empty()) return;
  auto steps_by = [&](double month) { return std::min<std::size_t>(T, static_cast<std::size_t>(std::floor(month / dt + 1e-9))); };
  std::vector<std::vector<double>> cost(ks.size(), std::vector<double>(R, 0.0));
  if (has(m.series, "spend"))
    for_each_row<double>(run, "series", "spend", [&](std::uint64_t r, const double* row, std::uint64_t n) {
      const std::size_t K = n / std::max<std::size_t>(1, T);  // kinds of spend per step ([T] or [T, K])
      for (std::size_t j = 0; j < ks.size(); ++j) {
        double s = 0;
        for (std::size_t i = 0; i < steps_by(months[ks[j]]) * K; ++i) s += row[i];
        cost[j][r] += s;
      }
    });
  if (m.lever_cost_per_lep_month > 0 && has(m.series, "leps_formed"))
    for_each_row<std::int32_t>(run, "series", "leps_formed", [&](std::uint64_t r, const std::int32_t* row, std::uint64_t) {
      for (std::size_t j = 0; j < ks.size(); ++j) {
        double lep_months = 0;
        for (std::size_t t = 0; t < steps_by(months[ks[j]]); ++t) lep_months += row[t] * dt;
        cost[j][r] += m.lever_cost_per_lep_month * lep_months;
      }
    });
  for (std::size_t j = 0; j < ks.size(); ++j) {
    const double mo = months[ks[j]];
    for (double& c : cost[j]) c += m.lever_cost_once + m.lever_cost_per_month * static_cast<double>(steps_by(mo)) * dt;
    const std::string t = number_text(mo);
    Figure ratio{"cost_per_school_month" + t, "cost per school delivered by month " + t, "GBP m per school",
                 FigureKind::Ratio, {}, {}, cost[j], done[ks[j]]};
    ratio.estimate = ratio_interval(ratio.per_replication, ratio.denominator, level);
    out.push_back(mean_figure("cost_month" + t, "programme cost by month " + t + " (capital and levers)", "GBP m",
                              std::move(cost[j]), level));
    out.push_back(std::move(ratio));
  }
}

}  // namespace

std::string month_text(double months) {
  if (std::isnan(months)) return "n/a";
  if (std::isinf(months)) return months > 0 ? "after the horizon" : "before the start";
  return "month " + number_text(months);
}

std::vector<Figure> headline_figures(const RunReader& run, const FigureOptions& options) {
  const RunMetadata& m = run.metadata();
  const double level = options.level, dt = m.step_months;
  const auto R = static_cast<std::size_t>(m.replications);
  const auto T = static_cast<std::uint64_t>(m.steps);
  const double horizon = static_cast<double>(T) * dt;
  std::vector<Figure> out;
  try {
    // Per-replication values by the metrics' one definition (lepsim/outputs.hpp), shared
    // with the engine's convergence rules and the experiments.
    const auto values = [&](const std::string& name, double month = -1) {
      Metric metric = parse_metric(name);
      metric.month = month;
      return metric_values(run, metric);
    };
    std::vector<double> months;
    for (double mo : {60.0, 120.0})
      if (mo <= horizon + 1e-9) months.push_back(mo);
    if (months.empty() || std::abs(months.back() - horizon) > 1e-9) months.push_back(horizon);
    std::vector<std::vector<double>> done_by;  // per month, per replication: the cost figures divide by these
    for (double mo : months) {
      done_by.push_back(values("completed_cumulative", mo));
      out.push_back(mean_figure("completed_month" + number_text(mo), "schools completed by month " + number_text(mo),
                                "projects", done_by.back(), level));
    }
    // Programme finish: the end of the step its last project finished, +inf if after the horizon.
    const std::vector<double> finish = values("finish_month");
    out.push_back(percentile_figure("finish_p50", "programme finish, P50", finish, 50, level));
    out.push_back(percentile_figure("finish_p80", "programme finish, P80", finish, 80, level));
    {
      std::vector<double> done(R);
      for (std::size_t r = 0; r < R; ++r) done[r] = std::isfinite(finish[r]) ? 1.0 : 0.0;
      out.push_back(probability_figure("finish_within_horizon", "P(every project done by month " + number_text(horizon) + ")",
                                       std::move(done), level));
    }
    if (!options.targets.empty()) {
      const std::vector<double> projects = values("projects");
      for (std::size_t k = 0; k < options.targets.size(); ++k) {
        const Target& target = options.targets[k];
        // A target after the horizon is never met within the run.
        const bool within = target.month <= horizon + 1e-9;
        const std::vector<double> done =
            within && target.month > 0 ? values("completed_cumulative", target.month) : std::vector<double>(R, 0.0);
        std::vector<double> met(R);
        for (std::size_t r = 0; r < R; ++r)
          met[r] = within && done[r] >= (target.count < 0 ? projects[r] : target.count) ? 1.0 : 0.0;
        const std::string what = target.count < 0 ? "every project" : number_text(target.count) + " schools";
        out.push_back(probability_figure("target_" + std::to_string(k + 1),
                                         "P(" + what + " done by month " + number_text(target.month) + ")", std::move(met),
                                         level));
      }
    }
    if (has(m.series, "spend"))
      out.push_back(mean_figure("spend_total", "spend over the horizon", "GBP m", values("spend_total"), level));
    if (has(m.series, "utilisation")) {
      // Peak of the trailing 12-month mean, per discipline: a single month's peak is 1 as soon
      // as the first authority's team is busy, which says nothing about the programme.
      const std::size_t D = m.disciplines.size();
      const auto window = static_cast<std::uint64_t>(std::max(1.0, std::round(12.0 / dt)));
      std::vector<std::vector<double>> peak(D, std::vector<double>(R));
      for_each_row<double>(run, "series", "utilisation", [&](std::uint64_t r, const double* row, std::uint64_t) {
        for (std::size_t k = 0; k < D; ++k) {
          double sum = 0, best = std::numeric_limits<double>::quiet_NaN();
          for (std::uint64_t t = 0; t < T; ++t) {
            const double x = row[t * D + k];
            sum += std::isnan(x) ? 0.0 : x;
            if (t >= window) {
              const double old = row[(t - window) * D + k];
              sum -= std::isnan(old) ? 0.0 : old;
            }
            const double mean = sum / static_cast<double>(std::min<std::uint64_t>(t + 1, window));
            if (t + 1 >= std::min(window, T) && !(mean <= best)) best = mean;
          }
          peak[k][r] = best;
        }
      });
      for (std::size_t k = 0; k < D; ++k)
        out.push_back(mean_figure("peak_utilisation_" + m.disciplines[k],
                                  "peak utilisation, " + m.disciplines[k] + " (12-month mean)", "fraction of FTE",
                                  std::move(peak[k]), level));
    }
    const auto metric_figure = [&](bool on, const std::string& name, std::string label, std::string unit) {
      if (on) out.push_back(mean_figure(name, std::move(label), std::move(unit), values(name), level));
    };
    metric_figure(has(m.series, "health"), "health_final", "partnering health at the horizon (mean over LEPs)", "0-1");
    metric_figure(has(m.leps, "disputes"), "disputes", "disputes started", "disputes");
    metric_figure(has(m.leps, "exclusivity_lost_step"), "exclusivity_withdrawn", "LEPs whose exclusivity was withdrawn",
                  "LEPs");
    add_cost_figures(run, months, done_by, out, level);
    metric_figure(has(m.series, "leps_formed"), "leps_formed", "LEPs formed by the horizon", "LEPs");
    metric_figure(has(m.series, "exclusive_leps"), "exclusive_leps", "LEPs holding exclusivity at the horizon", "LEPs");
    metric_figure(has(m.series, "transformation_cumulative"), "transformation", "transformation score at the horizon",
                  "score");
  } catch (const h5::Error& e) {
    run.fail(std::string("corrupted: ") + e.what());
  }
  return out;
}

}  // namespace lepsim::analysis
