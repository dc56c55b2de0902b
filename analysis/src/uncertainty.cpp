// Total and chance-only intervals (second-order Monte Carlo) and the model against an
// observed record: docs/analysis.md, "Total and chance-only intervals"; docs/model.md,
// "Validation: testing the default out of sample".

#include "lepsim/analysis/uncertainty.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "lepsim/analysis/format.hpp"
#include "lepsim/analysis/statistics.hpp"
#include "lepsim/calibration.hpp"
#include "lepsim/error.hpp"
#include "lepsim/percentile.hpp"
#include "lepsim/record.hpp"

namespace lepsim::analysis {
namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

double quantile_of(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  return detail::percentile_sorted(x, 100 * q);
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string range_text(double lo, double hi, int digits) { return fixed_text(lo, digits) + " - " + fixed_text(hi, digits); }

}  // namespace

DrawnInputs read_drawn_inputs(const RunReader& run) {
  DrawnInputs d;
  const h5::Group root = run.file().root();
  if (!root.is_group("uncertainty")) return d;
  try {
    const h5::Group g = root.open_group("uncertainty");
    d.present = true;
    d.draw = g.attr_string("draw");
    d.replications_per_draw = g.attr<std::int32_t>("replications_per_draw");
    if (g.has_attr("posterior")) d.posterior = g.attr_string("posterior");
    d.paths = g.read_strings("paths");
    d.modes = g.read_strings("modes");
    std::vector<std::uint64_t> dims;
    d.parameters = g.read_array<double>("parameters", &dims);
    if (dims.size() != 2 || dims[1] != d.paths.size() || d.modes.size() != d.paths.size() ||
        dims[0] != static_cast<std::uint64_t>(run.metadata().replications) || d.replications_per_draw < 1)
      run.fail("/uncertainty/parameters must be [replications, inputs] with one path and mode per input");
    d.replications = dims[0], d.dims = dims[1];
  } catch (const h5::Error& e) {
    run.fail(std::string("/uncertainty cannot be read: ") + e.what());
  }
  return d;
}

SplitInterval split_interval(const std::vector<double>& all, const DrawnInputs& drawn, double level) {
  SplitInterval s;
  const std::size_t M = drawn.present ? static_cast<std::size_t>(drawn.replications_per_draw) : 1;
  // Blocks of M consecutive replications share a vector (a first-order run: blocks of one).
  std::vector<double> values, block_means, deviations;
  double within_ss = 0;
  std::size_t within_dof = 0;
  for (std::size_t b = 0; b * M < all.size(); ++b) {
    std::vector<double> block;
    for (std::size_t r = b * M; r < std::min(all.size(), (b + 1) * M); ++r)
      if (std::isfinite(all[r])) block.push_back(all[r]);
    if (block.empty()) continue;
    double m = 0;
    for (double x : block) m += x;
    m /= static_cast<double>(block.size());
    block_means.push_back(m);
    values.insert(values.end(), block.begin(), block.end());
    if (block.size() >= 2) {
      // sqrt(m / (m - 1)): deviations from a block's own mean understate the spread around the true mean.
      const double c = std::sqrt(static_cast<double>(block.size()) / static_cast<double>(block.size() - 1));
      for (double x : block) deviations.push_back((x - m) * c), within_ss += (x - m) * (x - m);
      within_dof += block.size() - 1;
    }
  }
  s.n = static_cast<std::int64_t>(values.size());
  s.draws = static_cast<std::int64_t>(block_means.size());
  if (values.empty()) {
    s.mean = s.mc_half_width = s.total_lo = s.total_hi = s.chance_lo = s.chance_hi = s.input_share = NaN;
    s.chance_note = "no defined values";
    return s;
  }
  double mean = 0;
  for (double x : values) mean += x;
  s.mean = mean / static_cast<double>(values.size());
  const Estimate e = mean_interval(block_means, level);  // the draws' means are independent
  s.mc_half_width = (e.hi - e.lo) / 2;
  const double lo = quantile_of(values, 0.1), hi = quantile_of(values, 0.9);
  s.input_share = NaN;
  if (!drawn.present) {
    s.chance_available = true;
    s.chance_lo = lo, s.chance_hi = hi;
    s.chance_note = "inputs fixed at their point values: the whole spread is chance";
    return s;
  }
  s.total_available = true;
  s.total_lo = lo, s.total_hi = hi;
  if (deviations.size() >= 2 && within_dof > 0) {
    s.chance_available = true;
    // Inside what the run produced: a count's interval never goes below its smallest value.
    const auto [vmin, vmax] = std::minmax_element(values.begin(), values.end());
    s.chance_lo = std::clamp(s.mean + quantile_of(deviations, 0.1), *vmin, *vmax);
    s.chance_hi = std::clamp(s.mean + quantile_of(deviations, 0.9), *vmin, *vmax);
    double total_ss = 0;
    for (double x : values) total_ss += (x - s.mean) * (x - s.mean);
    const double total_var = values.size() > 1 ? total_ss / static_cast<double>(values.size() - 1) : NaN;
    const double within_var = within_ss / static_cast<double>(within_dof);
    s.input_share = total_var > 0 ? std::clamp(1 - within_var / total_var, 0.0, 1.0) : NaN;
    s.chance_note = "within-draw spread of " + std::to_string(M) + " replications per draw, around the mean";
  } else {
    s.chance_note =
        "not available: 1 replication per draw (set [uncertainty] replications_per_draw >= 2, or run "
        "with --uncertainty off for chance at the point values)";
  }
  return s;
}

std::string uncertainty_text(const std::vector<Figure>& figs, const DrawnInputs& drawn, double level) {
  std::ostringstream o;
  o << "\nuncertainty of the completions (docs/analysis.md, \"Total and chance-only intervals\"):\n";
  if (drawn.present) {
    o << "  inputs drawn (second-order Monte Carlo): " << drawn.dims << " input" << (drawn.dims == 1 ? "" : "s") << " from "
      << (drawn.draw == "posterior" ? "the posterior " + drawn.posterior : std::string("their distributions")) << ", "
      << drawn.replications_per_draw << " replication" << (drawn.replications_per_draw == 1 ? "" : "s") << " per draw\n";
    o << "  total = inputs drawn + chance; chance-only = inputs fixed (within a draw); MC error = " << level_text(level)
      << " interval of the mean, from the draws' means\n";
  } else {
    o << "  inputs fixed (a first-order run): every P10-P90 is chance only; the total interval needs a run that draws\n"
         "  its uncertain inputs ([uncertainty] draw = \"inputs\" or \"posterior\", or --uncertainty)\n";
  }
  o << "  " << pad("figure", 34) << pad("mean", 9) << pad("total P10 - P90", 18) << pad("chance-only P10 - P90", 23)
    << pad("MC error", 10) << "inputs' share\n";
  std::string notes;
  for (const Figure& f : figs) {
    if (f.kind != FigureKind::Mean || f.key.rfind("completed_month", 0) != 0) continue;
    const SplitInterval s = split_interval(f.per_replication, drawn, level);
    o << "  " << pad(f.label, 34) << pad(fixed_text(s.mean, 1), 9)
      << pad(s.total_available ? range_text(s.total_lo, s.total_hi, 1) : "n/a (inputs fixed)", 18)
      << pad(s.chance_available ? range_text(s.chance_lo, s.chance_hi, 1) : "n/a (see below)", 23)
      << pad("+-" + fixed_text(s.mc_half_width, 1), 10)
      << (std::isnan(s.input_share) ? std::string("n/a") : fixed_text(100 * s.input_share, 0) + "%") << "\n";
    if (!s.chance_available && notes.empty()) notes = "  chance-only: " + s.chance_note + "\n";
  }
  return o.str() + notes;
}

std::string uncertainty_comparison_text(const std::vector<const RunReader*>& runs, double level) {
  if (runs.size() < 2) return "";
  std::vector<DrawnInputs> drawn;
  bool any = false;
  for (const RunReader* r : runs) drawn.push_back(read_drawn_inputs(*r)), any = any || drawn.back().present;
  if (!any) return "";  // first-order runs: compare's own intervals are chance only (said in its text)
  std::ostringstream o;
  o << "\nuncertainty of the differences in completions (docs/analysis.md, \"Total and chance-only intervals\"):\n";
  FigureOptions fo;
  fo.level = level;
  const std::vector<Figure> a = headline_figures(*runs[0], fo);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const char who = static_cast<char>('A' + std::min<std::size_t>(i, 25));
    const DrawnInputs &da = drawn[0], &db = drawn[i];
    const bool same_seed = runs[i]->metadata().seed == runs[0]->metadata().seed;
    const bool common = da.present && db.present && same_seed && da.paths == db.paths && da.modes == db.modes &&
                        da.replications_per_draw == db.replications_per_draw && [&] {
                          const std::size_t n = std::min(da.parameters.size(), db.parameters.size());
                          return std::equal(da.parameters.begin(), da.parameters.begin() + static_cast<std::ptrdiff_t>(n),
                                            db.parameters.begin());
                        }();
    if (!common) {
      o << "  [" << who << "] and [A] do not share their draws ("
        << (!(da.present && db.present) ? "only one of them draws inputs"
            : !same_seed                ? "different seeds"
                                        : "other inputs or vectors")
        << "): B - A mixes the inputs' uncertainty with the difference; run both with the same [uncertainty] and seed\n";
      continue;
    }
    o << "  [" << who
      << "] - [A] under common draws: replication r ran the same parameter vector in both, so the paired\n"
         "  difference removes the inputs' shared uncertainty as common random numbers remove shared chance\n";
    const std::vector<Figure> b = headline_figures(*runs[i], fo);
    o << "  " << pad("figure", 34) << pad("mean B-A", 10) << pad("total P10 - P90", 18) << pad("chance-only P10 - P90", 23)
      << "MC error\n";
    for (const Figure& fa : a) {
      if (fa.kind != FigureKind::Mean || fa.key.rfind("completed_month", 0) != 0) continue;
      const auto fb = std::find_if(b.begin(), b.end(), [&](const Figure& f) { return f.key == fa.key; });
      if (fb == b.end()) continue;
      const std::size_t n = std::min(fa.per_replication.size(), fb->per_replication.size());
      std::vector<double> diff(n);
      for (std::size_t r = 0; r < n; ++r) diff[r] = fb->per_replication[r] - fa.per_replication[r];
      const SplitInterval s = split_interval(diff, da, level);
      o << "  " << pad(fa.label, 34) << pad(fixed_text(s.mean, 1, true), 10)
        << pad(range_text(s.total_lo, s.total_hi, 1), 18)
        << pad(s.chance_available ? range_text(s.chance_lo, s.chance_hi, 1) : "n/a (1 per draw)", 23) << "+-"
        << fixed_text(s.mc_half_width, 1) << "\n";
    }
  }
  return o.str();
}

std::vector<ObservedCheck> check_observed(const RunReader& run, const std::string& record_path) {
  const RunMetadata& m = run.metadata();
  std::optional<MonthOrigin> origin;
  if (m.start.size() == 7) origin = MonthOrigin{std::stoi(m.start.substr(0, 4)), std::stoi(m.start.substr(5, 2))};
  const ObservedRecord record = load_record(record_path, origin);
  std::vector<ObservedCheck> out;
  for (const Milestone& ms : record.milestones) {
    ObservedCheck c;
    c.id = ms.id, c.metric = ms.metric, c.month = ms.month, c.observed = ms.value, c.source = ms.source;
    c.use = ms.use == MilestoneUse::Fit ? "fit" : "validate";
    c.evidence = ms.evidence == Evidence::Audited ? "audited" : "secondary";
    c.sd = ms.effective_sd(record.secondary_sd_factor);
    const RecordMetric* rm = find_record_metric(ms.base);
    if (rm && rm->status == RecordMetricStatus::Proposed) {
      c.why_not = std::string("the model does not write it yet: ") + rm->needs;
    } else {
      try {
        const Metric metric = run_metric(run, ms.metric);
        const std::vector<double> v = metric_values(run, metric);
        MetricMatrix mm(v.size(), 1);
        for (std::size_t r = 0; r < v.size(); ++r) mm.at(r, 0) = v[r];
        const MilestoneCheck k =
            check_milestones({lepsim::Target{ms.metric, ms.value, c.sd * c.sd, 0}}, mm, 0.1, 0.9).front();
        c.expressible = true;
        c.p10 = k.lo, c.p50 = k.median, c.p90 = k.hi, c.defined = k.defined;
        c.covers = k.covers, c.covers_with_error = k.covers_with_error;
        if (k.defined == 0) c.expressible = false, c.why_not = "undefined in every replication";
      } catch (const UsageError& e) {
        c.why_not = std::string("this run cannot evaluate it: ") + e.what();
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string observed_text(const RunReader& run, const std::string& record_path, const std::vector<ObservedCheck>& checks,
                          const DrawnInputs& drawn) {
  std::ostringstream o;
  o << "\nthe model against the record " << record_path << " (docs/model.md, \"Validation\"):\n";
  o << "  model interval: P10 - P90 of " << run.metadata().replications << " replications, "
    << (drawn.present ? "inputs drawn (total: inputs and chance)" : "inputs fixed (chance only: narrower than the total)")
    << "; covers: the record value inside it; +-2 sd: the record's own +-2 sd interval meets it\n";
  o << "  " << pad("milestone", 38) << pad("use", 9) << pad("month", 7) << pad("observed", 16) << pad("P10", 8)
    << pad("P50", 8) << pad("P90", 8) << pad("covers", 8) << "+-2 sd\n";
  int n = 0, covered = 0, loose = 0;
  std::string missing;
  for (const ObservedCheck& c : checks) {
    if (!c.expressible) {
      missing += "  " + pad(c.id, 38) + pad(c.use, 9) + c.metric + ": " + c.why_not + "\n";
      continue;
    }
    ++n, covered += c.covers, loose += c.covers_with_error;
    o << "  " << pad(c.id, 38) << pad(c.use, 9) << pad(fixed_text(c.month, 1), 7)
      << pad(fixed_text(c.observed, 1) + " +- " + fixed_text(c.sd, 1), 16) << pad(fixed_text(c.p10, 1), 8)
      << pad(fixed_text(c.p50, 1), 8) << pad(fixed_text(c.p90, 1), 8) << pad(c.covers ? "yes" : "NO", 8)
      << (c.covers_with_error ? "yes" : "NO") << "\n";
  }
  o << "  covered: " << covered << " of " << n << " expressible milestones inside P10 - P90 (about 80% expected when the "
    << "model is right), " << loose << " of " << n << " within +-2 sd\n";
  if (!missing.empty()) o << "  not expressible (listed, not dropped):\n" << missing;
  return o.str();
}

std::string observed_csv(const std::vector<ObservedCheck>& checks) {
  std::ostringstream o;
  o << "id,metric,use,evidence,month,observed,sd,expressible,p10,p50,p90,defined,covers,covers_with_error,reason\n";
  const auto cell = [](const std::string& s) {
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  for (const ObservedCheck& c : checks) {
    o << c.id << "," << c.metric << "," << c.use << "," << c.evidence << "," << csv_number(c.month) << ","
      << csv_number(c.observed) << "," << csv_number(c.sd) << "," << (c.expressible ? "true" : "false") << ",";
    if (c.expressible)
      o << csv_number(c.p10) << "," << csv_number(c.p50) << "," << csv_number(c.p90) << "," << c.defined << ","
        << (c.covers ? "true" : "false") << "," << (c.covers_with_error ? "true" : "false") << ",";
    else
      o << ",,,,,,";
    o << cell(c.why_not) << "\n";
  }
  return o.str();
}

}  // namespace lepsim::analysis
