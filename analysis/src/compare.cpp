#include "lepsim/analysis/compare.hpp"

#include <cmath>

#include "lepsim/error.hpp"

namespace lepsim::analysis {

Comparison compare_runs(const std::vector<const RunReader*>& runs, const FigureOptions& options) {
  if (runs.size() < 2) throw UsageError("compare needs at least two run files");
  Comparison c;
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
                         std::to_string(a.format_minor) + ") with " + b.path + " (format " +
                         std::to_string(b.format_major) + "." + std::to_string(b.format_minor) +
                         "): different format majors are not comparable");
    c.paired.push_back(b.seed == a.seed && b.replications == a.replications && b.steps == a.steps &&
                       b.step_months == a.step_months);
  }
  for (const Figure& f : figs[0]) {
    ComparedFigure cf{f.key, f.label, f.unit, f.kind, {f.estimate}, {}};
    bool everywhere = true;
    for (std::size_t i = 1; i < runs.size() && everywhere; ++i) {
      const Figure* g = nullptr;
      for (const Figure& x : figs[i])
        if (x.key == f.key) g = &x;
      if (!g) {
        everywhere = false;
        break;
      }
      cf.estimates.push_back(g->estimate);
      Difference d;
      d.paired = c.paired[i - 1];
      if (f.kind == FigureKind::Percentile) {
        // No distribution-free interval for a difference of percentiles: shown alone.
        d.estimate.value = g->estimate.value - f.estimate.value;
        if (std::isnan(d.estimate.value)) d.estimate.value = 0;  // both after the horizon: no difference seen
        d.estimate.lo = d.estimate.hi = std::nan("");
        d.estimate.level = options.level;
      } else {
        const Estimate indep = difference_independent(f.per_replication, g->per_replication, options.level);
        d.independent_half_width = (indep.hi - indep.lo) / 2;
        d.has_interval = true;
        d.estimate = d.paired ? difference_paired(f.per_replication, g->per_replication, options.level) : indep;
      }
      cf.differences.push_back(d);
    }
    if (everywhere) c.figures.push_back(std::move(cf));
  }
  if (c.figures.empty()) throw RunFileError("the runs have no headline figure in common: nothing to compare");
  return c;
}

}  // namespace lepsim::analysis
