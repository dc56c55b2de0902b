#include "lepsim/analysis/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <sstream>

#include "lepsim/error.hpp"

namespace lepsim::analysis {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string grid_text(const RunMetadata& m) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld steps of %g month%s", static_cast<long long>(m.steps), m.step_months,
                m.step_months == 1 ? "" : "s");
  return buf;
}

std::string outputs_text(const RunMetadata& m) {
  std::string out;
  for (const auto& s : m.series) out += (out.empty() ? "" : ",") + s.name;
  for (const auto& l : m.leps) out += ",leps/" + l;
  return out;
}

void add_warnings(Comparison& c) {
  // (ostringstream: GCC 12 warns falsely on "literal" + string chains)
  const RunMetadata& a = c.runs[0];
  for (std::size_t i = 1; i < c.runs.size(); ++i) {
    const RunMetadata& b = c.runs[i];
    const char who[] = {'[', static_cast<char>('A' + std::min<std::size_t>(i, 25)), ']', ' ', '\0'};
    std::ostringstream w;
    if (b.start != a.start) {
      w << who << b.path << " starts in " << b.start << ", [A] in " << a.start
        << ": 'by month M' counts from different calendar months";
      c.warnings.push_back(w.str()), w.str("");
    }
    if (b.steps != a.steps || b.step_months != a.step_months) {
      w << who << b.path << " has " << grid_text(b) << ", [A] " << grid_text(a)
        << ": the horizons differ, so figures 'by the horizon' are not like for like, and the runs are not paired";
      c.warnings.push_back(w.str()), w.str("");
    }
    if (outputs_text(b) != outputs_text(a)) {
      w << who << b.path << " records other outputs than [A]: only the figures both have are compared";
      c.warnings.push_back(w.str()), w.str("");
    }
    if (c.paired[i - 1] && b.replications != a.replications) {
      w << who << b.path << " has " << b.replications << " replications, [A] " << a.replications
        << ": paired over the first " << c.pairs[i - 1] << " (same seed: replication r shares its random numbers)";
      c.warnings.push_back(w.str()), w.str("");
    }
  }
}

//! P(B better than A) and P(equal) over the pairs, by the figure's direction.
void better_share(const std::vector<double>& a, const std::vector<double>& b, std::int64_t pairs, int direction,
                  double level, Difference& d) {
  d.better = d.same = Estimate{NaN, NaN, NaN, level, 0};
  if (direction == 0 || pairs == 0) return;
  std::int64_t better = 0, same = 0, n = 0;
  for (std::int64_t r = 0; r < pairs; ++r) {
    const double x = a[static_cast<std::size_t>(r)], y = b[static_cast<std::size_t>(r)];
    if (std::isnan(x) || std::isnan(y)) continue;
    ++n;
    if (x == y)
      ++same;  // (both after the horizon: +inf == +inf, a tie)
    else if (direction > 0 ? y > x : y < x)
      ++better;
  }
  d.better = proportion_interval(better, n, level);
  d.same = proportion_interval(same, n, level);
}

Difference difference_of(const Figure& f, const Figure& g, bool paired, std::int64_t pairs, int direction, double level) {
  Difference d;
  d.paired = paired;
  d.pairs = paired ? pairs : 0;
  const auto n = static_cast<std::size_t>(pairs);
  const std::span<const double> fa(f.per_replication.data(), paired ? n : f.per_replication.size());
  const std::span<const double> gb(g.per_replication.data(), paired ? n : g.per_replication.size());
  if (paired) {
    d.per_replication.resize(n);
    for (std::size_t r = 0; r < n; ++r) {
      const double x = fa[r], y = gb[r];
      d.per_replication[r] = std::isinf(x) && std::isinf(y) && x == y ? NaN : y - x;  // inf - inf: undefined
    }
  }
  if (f.kind == FigureKind::Percentile) {
    // No distribution-free interval for a difference of percentiles: shown alone.
    d.estimate = {g.estimate.value - f.estimate.value, NaN, NaN, level, 0};
    if (std::isinf(f.estimate.value) && std::isinf(g.estimate.value)) {
      d.defined = false;
      d.undefined_why = "both after the horizon";
    }
  } else if (f.kind == FigureKind::Ratio) {
    // Extra cost per extra school: the difference of costs over the difference of schools.
    d.has_interval = true;
    if (paired) {
      std::vector<double> dn(n), dd(n);
      for (std::size_t r = 0; r < n; ++r) dn[r] = gb[r] - fa[r], dd[r] = g.denominator[r] - f.denominator[r];
      d.estimate = ratio_interval(dn, dd, level);
      const Estimate indep = ratio_of_differences_independent(fa, std::span(f.denominator.data(), n), gb,
                                                              std::span(g.denominator.data(), n), level);
      d.independent_half_width = (indep.hi - indep.lo) / 2;
    } else {
      d.estimate =
          ratio_of_differences_independent(f.per_replication, f.denominator, g.per_replication, g.denominator, level);
    }
    d.per_replication.clear();
    d.extra_numerator = difference_independent(f.per_replication, g.per_replication, level).value;
    d.extra_denominator = difference_independent(f.denominator, g.denominator, level).value;
    if (std::isnan(d.estimate.value)) {
      d.defined = false;
      d.undefined_why = "no extra school delivered";
    }
  } else {
    const Estimate indep = difference_independent(fa, gb, level);
    d.independent_half_width = (indep.hi - indep.lo) / 2;
    d.has_interval = true;
    d.estimate = paired ? difference_paired(fa, gb, level) : indep;
    if (std::isnan(d.estimate.value)) {
      d.defined = false;
      d.undefined_why = "no replication where both are defined";
    }
  }
  if (paired && f.kind != FigureKind::Ratio) {
    std::vector<double> sorted;
    for (double x : d.per_replication)
      if (!std::isnan(x)) sorted.push_back(x);
    std::sort(sorted.begin(), sorted.end());
    // A spread with infinite members (one run after the horizon) is left out: no percentile of it is a number.
    if (!sorted.empty() && std::isfinite(sorted.front()) && std::isfinite(sorted.back()))
      for (double p : {10.0, 50.0, 90.0}) d.spread.push_back({p, percentile_interval(sorted, p, level)});
    better_share(f.per_replication, g.per_replication, pairs, direction, level, d);
  } else {
    better_share({}, {}, 0, 0, level, d);
  }
  return d;
}

}  // namespace

int better_direction(const std::string& key) {
  if (starts_with(key, "completed_") || starts_with(key, "target_") || key == "finish_within_horizon" ||
      key == "health_final" || key == "leps_formed" || key == "exclusive_leps" || key == "transformation")
    return +1;
  if (starts_with(key, "finish_p") || key == "spend_total" || key == "disputes" || key == "exclusivity_withdrawn" ||
      starts_with(key, "cost_"))
    return -1;
  return 0;  // utilisation: neither (busy teams are not better or worse in themselves)
}

Comparison compare_runs(const std::vector<const RunReader*>& runs, const FigureOptions& options) {
  if (runs.size() < 2) throw UsageError("a comparison needs at least two runs");
  Comparison c;
  c.level = options.level;
  std::vector<std::vector<Figure>> figs;
  for (const RunReader* r : runs) {
    c.runs.push_back(r->metadata());
    figs.push_back(headline_figures(*r, options));
  }
  const RunMetadata& a = c.runs[0];
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const RunMetadata& b = c.runs[i];
    if (b.format_major != a.format_major)
      throw RunFileError("cannot compare " + a.path + " (run-file format " + std::to_string(a.format_major) + "." +
                         std::to_string(a.format_minor) + ") with " + b.path + " (format " + std::to_string(b.format_major) +
                         "." + std::to_string(b.format_minor) + "): different format majors are not comparable");
    const bool paired = b.seed == a.seed && b.steps == a.steps && b.step_months == a.step_months;
    c.paired.push_back(paired);
    c.pairs.push_back(paired ? std::min(a.replications, b.replications) : 0);
  }
  add_warnings(c);
  for (const Figure& f : figs[0]) {
    ComparedFigure cf{f.key, f.label, f.unit, f.kind, better_direction(f.key), {f.estimate}, {}};
    bool everywhere = true;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      const auto g = std::find_if(figs[i].begin(), figs[i].end(), [&](const Figure& x) { return x.key == f.key; });
      if (g == figs[i].end()) {
        everywhere = false;
        break;
      }
      cf.estimates.push_back(g->estimate);
      cf.differences.push_back(difference_of(f, *g, c.paired[i - 1], c.pairs[i - 1], cf.better, options.level));
    }
    if (everywhere) c.figures.push_back(std::move(cf));
  }
  if (c.figures.empty()) throw RunFileError("the runs have no headline figure in common: nothing to compare");
  return c;
}

}  // namespace lepsim::analysis
