#include "lepsim/sizing.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/normal.hpp>

#include "lepsim/run.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim {

double clopper_pearson_lower(int k, int n, double confidence) {
  if (k <= 0) return 0.0;
  if (k >= n) return std::pow(1.0 - confidence, 1.0 / n);  // the k = n closed form
  return boost::math::quantile(boost::math::beta_distribution<double>(k, n - k + 1), 1.0 - confidence);
}

double clopper_pearson_upper(int k, int n, double confidence) {
  if (k >= n) return 1.0;
  if (k <= 0) return 1.0 - std::pow(1.0 - confidence, 1.0 / n);
  return boost::math::quantile(boost::math::beta_distribution<double>(k + 1, n - k), confidence);
}

SizingPhases resolve_phases(const Scenario& sc, SizingPhases phases) {
  if (phases != SizingPhases::AUTO) return phases;
  return sc.mechanisms.capacity.enabled && sc.mechanisms.lep_stage >= 0 ? SizingPhases::LEP : SizingPhases::SINGLE;
}

int sizing_group(const Scenario& sc, const std::string& name) {
  if (name.empty()) {
    if (sc.groups.size() == 1) return 0;
    std::string names;
    for (const auto& g : sc.groups) names += (names.empty() ? "" : ", ") + g.name;
    throw UsageError("the scenario has " + std::to_string(sc.groups.size()) +
                     " authority groups; name the one to size with --group (" + names + ")");
  }
  for (std::size_t i = 0; i < sc.groups.size(); ++i)
    if (sc.groups[i].name == name) return static_cast<int>(i);
  throw UsageError("--group " + name + ": no such authority group in the scenario");
}

Scenario apply_capacity_plan(const Scenario& scenario, int group, SizingPhases phases, const std::vector<double>& fte) {
  Scenario sc = scenario;
  const std::size_t D = sc.disciplines.size();
  AuthorityGroup& g = sc.groups[static_cast<std::size_t>(group)];
  g.team.assign(fte.begin(), fte.begin() + static_cast<std::ptrdiff_t>(D));
  g.capacity_plan.clear();
  if (resolve_phases(scenario, phases) == SizingPhases::LEP)
    g.capacity_plan.push_back(
        CapacityPlanStep{0.0, true, std::vector<double>(fte.begin() + static_cast<std::ptrdiff_t>(D), fte.end())});
  return sc;
}

namespace {

//! Which projects of a replication count: all, one authority's, or one type's.
struct ProjectFilter {
  int authority = -1, type = -1;
  bool operator()(const ReplicationResult& r, std::size_t p) const {
    return (authority < 0 || r.project_authority[p] == authority) && (type < 0 || r.project_type[p] == type);
  }
};

ProjectFilter parse_projects(const Scenario& sc, const std::string& which) {
  ProjectFilter f;
  if (which == "all") return f;
  auto find = [&](const std::string& name, const auto& list, auto get) {
    for (std::size_t i = 0; i < list.size(); ++i)
      if (get(list[i]) == name) return static_cast<int>(i);
    throw UsageError("--projects " + which + ": no such name in the scenario");
  };
  if (which.rfind("authority:", 0) == 0)
    f.authority = find(which.substr(10), sc.authority_names, [](const std::string& s) { return s; });
  else if (which.rfind("type:", 0) == 0)
    f.type = find(which.substr(5), sc.types, [](const ProjectType& t) { return t.name; });
  else
    throw UsageError("--projects " + which + ": give all, authority:NAME or type:NAME");
  return f;
}

double cost_per_fte_month(const Scenario& sc) {
  return sc.mechanisms.capacity.enabled ? sc.mechanisms.capacity.cost_per_fte_month : CapacityMechanism{}.cost_per_fte_month;
}

void check_options(const Scenario& sc, const SizingOptions& o) {
  if (!(o.by_month > 0) || o.by_month > sc.time.horizon_months)
    throw UsageError("--by " + std::to_string(o.by_month) + ": must be in (0, " + std::to_string(sc.time.horizon_months) +
                     "], the scenario's horizon");
  if (!(o.probability > 0 && o.probability < 1)) throw UsageError("--probability must be in (0, 1)");
  if (!(o.confidence > 0.5 && o.confidence < 1)) throw UsageError("--confidence must be in (0.5, 1)");
  if (!(o.step > 0)) throw UsageError("--step must be > 0 FTE");
  if (o.search_replications < 10 || o.certify_replications < 10)
    throw UsageError("--search-replications and --certify-replications must be at least 10");
  if (o.max_certify_replications < o.certify_replications)
    throw UsageError("--max-certify-replications must be at least --certify-replications");
  if (resolve_phases(sc, o.phases) == SizingPhases::LEP && (sc.mechanisms.lep_stage < 0 || !sc.mechanisms.capacity.enabled))
    throw UsageError(
        "--phases lep needs a scenario with [lep] formed_at and [capacity] (after-LEP plans are a capacity plan)");
}

}  // namespace

PlanEvaluation evaluate_plan(const Scenario& scenario, const SizingOptions& o, const std::vector<double>& fte,
                             std::uint64_t seed, int replications) {
  PlanEvaluation e;
  e.fte = fte;
  e.seed = seed;
  extend_evaluation(scenario, o, e, replications);
  return e;
}

void extend_evaluation(const Scenario& scenario, const SizingOptions& o, PlanEvaluation& e, int replications) {
  const int group = sizing_group(scenario, o.group);
  const SizingPhases phases = resolve_phases(scenario, o.phases);
  const Scenario sc = apply_capacity_plan(scenario, group, phases, e.fte);
  const ProjectFilter keep = parse_projects(sc, o.projects);
  const double dt = sc.time.step_months, by = o.by_month;
  const std::size_t D = sc.disciplines.size(), n_phases = e.fte.size() / D;
  const double entry = std::clamp(sc.groups[static_cast<std::size_t>(group)].entry_month.mean(), 0.0, by);
  const int first = e.replications;
  if (replications <= first) return;
  std::vector<double> per_phase(n_phases, 0.0);
  for (std::size_t ph = 0; ph < n_phases; ++ph)
    for (std::size_t k = 0; k < D; ++k) per_phase[ph] += e.fte[ph * D + k];
  int members = 0;
  for (int a : sc.authority_group) members += a == group ? 1 : 0;
  // Sums over the replications so far (the means times their count), then the new ones.
  std::vector<double> sums(n_phases, 0.0);
  for (std::size_t ph = 0; ph < n_phases && ph < e.phase_months.size(); ++ph)
    sums[ph] = e.phase_months[ph] * first * std::max(1, members);
  const int threads = o.threads, count = replications - first;
  simulate_range(sc, e.seed, static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(count), threads,
                 choose_chunk_replications(sc, count, threads > 0 ? threads : 1),
                 [&](std::span<const ReplicationResult> chunk) {
                   for (const ReplicationResult& r : chunk) {
                     bool all = true;
                     for (std::size_t p = 0; p < r.completion_step.size() && all; ++p)
                       if (keep(r, p)) all = r.completion_step[p] >= 0 && r.completion_month[p] <= by + 1e-9;
                     e.successes += all ? 1 : 0;
                     // Planned FTE-months of the group's authorities from entry to the target month.
                     for (std::size_t a = 0; a < sc.authority_group.size(); ++a) {
                       if (sc.authority_group[a] != group) continue;
                       if (n_phases == 1) {
                         sums[0] += by - entry;
                       } else {
                         const int lep = r.lep_formed_step.empty() ? -1 : r.lep_formed_step[a];
                         const double formed = std::clamp(lep >= 0 ? lep * dt : by, entry, by);
                         sums[0] += formed - entry;
                         sums[1] += by - formed;
                       }
                     }
                   }
                 });
  e.replications = replications;
  e.phase_months.assign(n_phases, 0.0);
  e.fte_months = 0;
  for (std::size_t ph = 0; ph < n_phases; ++ph) {
    e.phase_months[ph] = sums[ph] / (static_cast<double>(replications) * std::max(1, members));
    e.fte_months += per_phase[ph] * e.phase_months[ph] * members;
  }
  e.cost = e.fte_months * cost_per_fte_month(sc);
  e.probability = static_cast<double>(e.successes) / replications;
  e.lower = clopper_pearson_lower(e.successes, replications, o.confidence);
  e.upper = clopper_pearson_upper(e.successes, replications, o.confidence);
}

SizingResult size_capacity(const Scenario& sc, const SizingOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  check_options(sc, o);
  const int group = sizing_group(sc, o.group);
  const SizingPhases phases = resolve_phases(sc, o.phases);
  (void)parse_projects(sc, o.projects);  // refuse a bad --projects before any simulation
  const std::size_t D = sc.disciplines.size(), n_phases = phases == SizingPhases::LEP ? 2 : 1, V = D * n_phases;
  const AuthorityGroup& g = sc.groups[static_cast<std::size_t>(group)];
  if (!o.min_fte.empty() && o.min_fte.size() != D) throw UsageError("--min: one value per discipline");
  if (!o.max_fte.empty() && o.max_fte.size() != D) throw UsageError("--max: one value per discipline");

  SizingResult res;
  res.disciplines = sc.disciplines;
  res.group = g.name;
  res.by_month = o.by_month, res.probability = o.probability, res.confidence = o.confidence, res.step = o.step;
  res.projects = o.projects;
  res.cost_per_fte_month = cost_per_fte_month(sc);
  res.phase_names =
      n_phases == 2 ? std::vector<std::string>{"before LEP", "after LEP"} : std::vector<std::string>{"programme"};

  // The grid: variable v = phase * D + k takes lo_v + i * step, i = 0 .. top_v. A discipline
  // no stage demands cannot change any outcome: it is held at its minimum.
  std::vector<bool> demanded(D, false);
  for (const auto& t : sc.types)
    for (const auto& ts : t.stages)
      for (std::size_t k = 0; k < D; ++k) demanded[k] = demanded[k] || ts.demand[k] > 0;
  std::vector<double> lo(V), hi(V);
  std::vector<int> top(V);
  for (std::size_t v = 0; v < V; ++v) {
    const std::size_t k = v % D;
    double current = g.team[k];
    for (const auto& st : g.capacity_plan) current = std::max(current, st.team[k]);
    lo[v] = o.min_fte.empty() ? 0.0 : o.min_fte[k];
    hi[v] = o.max_fte.empty() ? std::max(30.0, 4 * current) : o.max_fte[k];
    if (lo[v] < 0 || hi[v] < lo[v])
      throw UsageError("bounds of " + sc.disciplines[k] + ": need 0 <= min <= max, got " + std::to_string(lo[v]) + ".." +
                       std::to_string(hi[v]));
    top[v] = demanded[k] ? static_cast<int>(std::floor((hi[v] - lo[v]) / o.step + 1e-9)) : 0;
  }
  auto fte_of = [&](const std::vector<int>& x) {
    std::vector<double> f(V);
    for (std::size_t v = 0; v < V; ++v) f[v] = lo[v] + x[v] * o.step;
    return f;
  };

  const std::uint64_t search_seed = o.search_seed ? o.search_seed : sc.seed;
  // Fresh streams: a different master seed gives independent Philox streams (docs/random-streams.md).
  // S1 (selection) chooses among plans; S2 (certificate) is never used for a choice.
  const std::uint64_t selection_seed = o.selection_seed ? o.selection_seed : search_seed ^ 0xD1B54A32D192ED03ull;
  const std::uint64_t certify_seed = o.certify_seed ? o.certify_seed : search_seed ^ 0x9E3779B97F4A7C15ull;
  if (selection_seed == search_seed || certify_seed == search_seed || certify_seed == selection_seed)
    throw UsageError("the search, selection and certificate seeds must all differ");

  std::map<std::vector<int>, PlanEvaluation> cache;
  auto record = [&](const char* purpose, const PlanEvaluation& e, bool feasible) {
    res.trace.push_back(SizingTraceRow{static_cast<int>(res.trace.size()), purpose, e, feasible});
    res.replications_used += e.replications;
  };
  auto search = [&](const std::vector<int>& x) -> const PlanEvaluation& {
    auto it = cache.find(x);
    if (it != cache.end()) return it->second;
    if (res.evaluations >= o.max_evaluations) res.budget_hit = true;
    ++res.evaluations;
    PlanEvaluation e = evaluate_plan(sc, o, fte_of(x), search_seed, o.search_replications);
    record("search", e, e.lower >= o.probability);
    return cache.emplace(x, std::move(e)).first->second;
  };
  // Feasible on the search streams: the lower bound, not the estimate, reaches the target,
  // so the fresh-stream certificate is expected to pass rather than to fail half the time.
  auto feasible = [&](const std::vector<int>& x) { return search(x).lower >= o.probability; };

  std::vector<int> x = top;
  if (!feasible(x)) {
    const PlanEvaluation& e = search(x);
    std::ostringstream m;
    m << "no plan within the bounds reaches P(all by month " << o.by_month << ") >= " << o.probability
      << ": with every discipline at its maximum the search streams give " << e.successes << "/" << e.replications << " = "
      << e.probability << " (one-sided " << o.confidence * 100 << "% lower bound " << e.lower
      << "); raise --max, move --by later or lower --probability";
    throw UnreachableError(m.str());
  }
  // Cheapest variables last: reduce the expensive ones (long phases) first.
  std::vector<std::size_t> order(V);
  for (std::size_t v = 0; v < V; ++v) order[v] = v;
  const std::vector<double> months = search(x).phase_months;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return months[a / D] > months[b / D]; });

  // 1. Descent: each variable in turn to the smallest value still feasible (binary search,
  //    which relies on the monotone response tested in tests/test_monotonicity.cpp), until a
  //    whole pass changes nothing.
  // The smallest value of variable v, others as in y (feasible), still feasible: bisection.
  auto lowest = [&](const std::vector<int>& y, std::size_t v) {
    int a = 0, b = y[v];  // b feasible
    while (a < b && !res.budget_hit) {
      std::vector<int> z = y;
      z[v] = (a + b) / 2;
      if (feasible(z))
        b = z[v];
      else
        a = z[v] + 1;
    }
    return b;
  };
  auto descend = [&]() {
    for (bool changed = true; changed && !res.budget_hit;) {
      changed = false;
      for (std::size_t v : order) {
        const int b = lowest(x, v);
        if (b < x[v]) x[v] = b, changed = true;
      }
    }
  };
  descend();
  // 2. Exchanges: one step more of u may allow less of v, and be cheaper. Accept the first
  //    cheaper feasible exchange, descend again, repeat until none is cheaper.
  for (bool improved = true; improved && !res.budget_hit;) {
    improved = false;
    for (std::size_t u = 0; u < V && !improved && !res.budget_hit; ++u) {
      if (x[u] >= top[u]) continue;
      for (std::size_t v = 0; v < V && !improved && !res.budget_hit; ++v) {
        if (v == u || x[v] == 0) continue;
        std::vector<int> y = x;
        ++y[u];
        --y[v];
        if (!feasible(y)) continue;
        y[v] = lowest(y, v);
        if (search(y).cost < search(x).cost - 1e-12) x = y, improved = true;
      }
    }
    if (improved) descend();
  }
  res.search = search(x);

  // Adaptive doubling: a plan whose bounds straddle the target (upper >= P > lower) gets
  // twice the replications on the same streams, up to the cap, until it is decided.
  auto adapt = [&](PlanEvaluation& e, double target) {
    while (e.lower < target && e.upper >= target && e.replications < o.max_certify_replications)
      extend_evaluation(sc, o, e, std::min(o.max_certify_replications, 2 * e.replications));
  };
  // S1 accepts a plan only when its lower bound reaches the target plus the certificate's
  // one-sided half-width at the cap (normal approximation at P): a plan S1 accepts by a hair
  // would fail its certificate about half the time (docs/sizing.md, "The refinement").
  const boost::math::normal_distribution<double> normal;
  const double margin = boost::math::quantile(normal, o.confidence) *
                        std::sqrt(o.probability * (1 - o.probability) / o.max_certify_replications);
  const double select_target = std::min(1.0, o.probability + margin);
  res.selection_target = select_target;

  // 3. Refinement on the selection streams S1: evaluate every one-step-smaller neighbour,
  //    move to the cheapest whose lower bound reaches the target (plus the margin), repeat
  //    until none does.
  //    The choices here pick the luckiest plans on S1; S2 below is independent of them.
  std::map<std::vector<int>, PlanEvaluation> selected;
  auto on_selection = [&](const std::vector<int>& y) -> const PlanEvaluation& {
    auto it = selected.find(y);
    if (it != selected.end()) return it->second;
    PlanEvaluation e = evaluate_plan(sc, o, fte_of(y), selection_seed, o.certify_replications);
    adapt(e, select_target);
    record("select", e, e.lower >= select_target);
    return selected.emplace(y, std::move(e)).first->second;
  };
  for (;;) {
    const double current = on_selection(x).cost;
    std::vector<int> best;
    double best_cost = current;
    for (std::size_t v = 0; v < V; ++v) {
      if (!demanded[v % D] || x[v] == 0) continue;
      std::vector<int> y = x;
      --y[v];
      const PlanEvaluation& e = on_selection(y);
      if (e.lower >= select_target && e.cost < best_cost - 1e-12) best = y, best_cost = e.cost;
    }
    if (best.empty()) break;
    x = best;
    ++res.refinement_moves;
  }
  res.selection = on_selection(x);

  // 4. Certificate on S2. Its size is fixed by S1 alone (so the bound keeps its coverage):
  //    the starting size when S1 decided the plan there, else one doubling more than S1 needed
  //    (a plan S1 needed more replications for lies near the target), within the cap.
  const int n_cert = res.selection.replications <= o.certify_replications
                         ? o.certify_replications
                         : std::min(o.max_certify_replications, 2 * res.selection.replications);
  res.certificate = evaluate_plan(sc, o, fte_of(x), certify_seed, n_cert);
  record("certify", res.certificate, res.certificate.lower >= o.probability);
  res.certified = res.certificate.lower >= o.probability;
  // Each one-step-smaller neighbour on S2 too, doubled while undecided.
  for (std::size_t v = 0; v < V; ++v) {
    if (!demanded[v % D]) continue;
    SizingNeighbour nb;
    nb.phase = static_cast<int>(v / D);
    nb.discipline = static_cast<int>(v % D);
    if (x[v] == 0) {
      nb.at_bound = true;
    } else {
      std::vector<int> y = x;
      --y[v];
      nb.eval = evaluate_plan(sc, o, fte_of(y), certify_seed, o.certify_replications);
      adapt(nb.eval, o.probability);
      nb.shown_short = nb.eval.upper < o.probability;
      nb.shown_enough = nb.eval.lower >= o.probability;
      record("neighbour", nb.eval, !nb.shown_short);
    }
    res.neighbours.push_back(nb);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

std::string plan_toml(const Scenario& sized, const std::string& base_path, const std::string& comment) {
  const std::string resolved = sized.resolved_toml();
  const std::size_t at = resolved.find("[[authorities]]");
  std::ostringstream o;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) o << "# " << line << "\n";
  std::string escaped;
  for (char c : base_path) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  // A variant's [[authorities]] changes the base's groups by name, key by key; `replace`
  // gives the whole list instead, so the sized plan stands as written (a group's capacity
  // plan that the sizing cleared does not come back from the base).
  o << "base = \"" << escaped << "\"\nreplace = [\"authorities\"]\n\n";
  o << "# Every authority group: replace = [\"authorities\"] gives the base's whole array.\n";
  if (at != std::string::npos) o << resolved.substr(at);
  return o.str();
}

}  // namespace lepsim
