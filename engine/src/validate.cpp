// validate(const Scenario&): every rule and cross-check of docs/scenario-format.md on a
// scenario however it was made. Ranges come from the parameter registry; the rest are
// the rules below. Each check is linear in what it looks at (names through hash maps, the
// predecessor graph by an iterative search), so a scenario of megabytes is judged at once.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "lepsim/parameters.hpp"
#include "lepsim/text.hpp"
#include "scenario_internal.hpp"

namespace lepsim {
namespace detail {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& choices) {
  std::string best;
  std::size_t best_d = 3;  // suggest only close matches
  // Case does not count: `dist = "PERT"` suggests 'pert'.
  const auto lower = [](std::string x) {
    for (char& ch : x) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return x;
  };
  const std::string w = lower(word);
  for (const auto& c : choices) {
    // Lengths further apart than the best distance so far cannot beat it.
    const std::size_t gap = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (gap >= best_d) continue;
    const std::size_t d = edit_distance(w, lower(c));
    if (d < best_d) best_d = d, best = c;
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

double steps_of(double horizon_months, double step_months) {
  return std::max(1.0, std::ceil(horizon_months / step_months - 1e-9));
}

void refresh_derived(Scenario& s) {
  if (s.time.step_months > 0 && s.time.horizon_months > 0) {
    const double steps = steps_of(s.time.horizon_months, s.time.step_months);
    s.time.steps = steps > 1e9 ? 1'000'000'000 : static_cast<int>(steps);
  }
  s.authority_group.clear();
  s.authority_names.clear();
  long long total = 0;
  for (const auto& g : s.groups) total += std::max(0, g.count);
  if (total > MAX_AUTHORITIES) return;  // validate() says so
  for (std::size_t gi = 0; gi < s.groups.size(); ++gi)
    for (int i = 0; i < s.groups[gi].count; ++i) {
      s.authority_group.push_back(static_cast<int>(gi));
      s.authority_names.push_back(s.groups[gi].count == 1 ? s.groups[gi].name
                                                          : s.groups[gi].name + "-" + std::to_string(i + 1));
    }
}

namespace {

std::string num(double x) { return shortest_number(x); }
std::string idx(std::size_t i) { return "[" + std::to_string(i) + "]"; }

class Checker {
 public:
  Checker(const Scenario& s, const ValidateContext& ctx) : s_(s), ctx_(ctx) {}

  std::vector<Problem> run() {
    names();
    time_and_plan();
    registry_ranges();
    pools();
    stages();
    types();
    groups();
    mechanisms();
    if (ctx_.cross_checks && out_.empty()) cross_checks();
    return std::move(out_);
  }

 private:
  const Scenario& s_;
  const ValidateContext& ctx_;
  std::vector<Problem> out_;

  void add(std::vector<std::string> keys, std::string value, std::string rule, bool earliest = false) {
    out_.push_back({std::move(keys), std::move(value), std::move(rule), earliest, "", {}});
  }
  void add(std::string key, std::string value, std::string rule) {
    add(std::vector<std::string>{std::move(key)}, std::move(value), std::move(rule));
  }
  bool given(const std::string& table, bool enabled) const { return ctx_.table_given ? ctx_.table_given(table) : enabled; }
  std::string stage_name(int k) const { return s_.stages[static_cast<std::size_t>(k)].name; }
  bool stage_ok(int k) const { return k >= 0 && k < static_cast<int>(s_.stages.size()); }
  std::string group_path(std::size_t gi) const { return "authorities" + idx(gi); }

  void name_rule(const std::string& key, const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!ok) add(key, quoted_string(name), "names use 1-64 letters, digits, '_' or '-'");
  }
  template <class T, class Name>
  void unique_names(const std::vector<T>& items, const std::string& what, Name name, const std::string& dup_rule) {
    std::unordered_set<std::string> seen;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string& n = name(items[i]);
      const std::string key =
          what == "authorities" ? group_path(i) + ".name" : what + (what == "disciplines" ? idx(i) : "." + n);
      name_rule(key, n);
      if (!seen.insert(n).second) add(key, quoted_string(n), dup_rule);
    }
  }

  void names() {
    unique_names(
        s_.disciplines, "disciplines", [](const std::string& d) -> const std::string& { return d; }, "duplicate entry");
    unique_names(
        s_.pools, "national", [](const NationalPool& p) -> const std::string& { return p.name; }, "duplicate pool");
    unique_names(
        s_.stages, "stages", [](const Stage& st) -> const std::string& { return st.name; }, "duplicate stage");
    unique_names(
        s_.types, "project_types", [](const ProjectType& t) -> const std::string& { return t.name; }, "duplicate type");
    unique_names(
        s_.groups, "authorities", [](const AuthorityGroup& g) -> const std::string& { return g.name; },
        "duplicate group name");
  }

  void time_and_plan() {
    const TimeGrid& t = s_.time;
    if (t.start_year < 1900 || t.start_year > 2200 || t.start_month < 1 || t.start_month > 12)
      add("time.start", std::to_string(t.start_year) + "-" + std::to_string(t.start_month),
          "must be a year-month like \"2005-04\" (year 1900-2200)");
    const bool grid_ok = t.step_months > 0 && t.step_months <= 12 && t.horizon_months > 0;
    if (grid_ok) {
      const double steps = steps_of(t.horizon_months, t.step_months);
      if (steps > 1e6)
        add("time.horizon_months", num(t.horizon_months),
            "gives " + std::to_string(static_cast<long long>(std::min(steps, 9e15))) + " steps of " + num(t.step_months) +
                " months; at most 1000000 steps");
      else if (t.steps != static_cast<int>(steps))
        add("time.horizon_months", num(t.horizon_months), "time.steps must be ceil(horizon_months / step_months)");
    }
    for (std::size_t i = 0; i < s_.plan.size(); ++i) {
      const std::string pk = "scenario.plan" + idx(i);
      const double month = s_.plan[i][0], count = s_.plan[i][1];
      if (!std::isfinite(month) || !(month > 0) || (grid_ok && month > t.horizon_months))
        add(pk + "[0]", num(month),
            grid_ok ? "must be > 0 and <= time.horizon_months (" + num(t.horizon_months) + "): months from the start"
                    : "must be > 0: months from the start");
      else if (i > 0 && !(month > s_.plan[i - 1][0]))
        add(pk + "[0]", num(month),
            "must be later than the previous point's month (" + num(s_.plan[i - 1][0]) + "): list the plan in time order");
      if (!std::isfinite(count) || count < 0)
        add(pk + "[1]", num(count), "must be >= 0 projects");
      else if (i > 0 && count < s_.plan[i - 1][1])
        add(pk + "[1]", num(count),
            "must be >= the previous point's count (" + num(s_.plan[i - 1][1]) +
                "): the plan counts projects completed so far, so it never falls");
    }
  }

  //! Every number and distribution the registry declares, at every place it occurs.
  void registry_ranges() {
    Scenario& m = const_cast<Scenario&>(s_);  // slots are only read
    for (const ParamSpec& p : parameter_registry()) {
      if (!p.addressable()) continue;
      // A mechanism's values are judged when it is on or its table is given (the defaults of
      // one that is off, such as funding's envelope of 0, need not make sense).
      const std::string top = p.path.substr(0, p.path.find('.'));
      if (const auto on = mechanism_enabled(s_.mechanisms, top); on && !given(top, *on)) continue;
      const bool override_key = p.path.rfind("project_types.{type}.overrides.{tstage}.", 0) == 0;
      expand(s_, p, [&](const ParamIndex& ix) {
        const auto key = [&] { return path_of(s_, p, ix, true); };  // built only for a problem
        if (override_key && inherited(p, ix)) return;               // the stage's own value, judged there
        const ParamSlot slot = p.slot(m, ix);
        double x;
        if (const auto* d = std::get_if<double*>(&slot))
          x = **d;
        else if (const auto* n = std::get_if<int*>(&slot))
          x = **n;
        else if (const auto* o = std::get_if<std::optional<double>*>(&slot)) {
          if (!(*o)->has_value()) return;
          x = ***o;
        } else if (const auto* dist = std::get_if<Distribution*>(&slot)) {
          distribution(p, key(), **dist);
          return;
        } else
          return;
        if (!std::isfinite(x)) return add(key(), num(x), "must be a finite number");
        if (p.unit == "FTE") {
          if (x < 0)
            add(key(), num(x), "must be >= 0 FTE");
          else if (x > p.range.hi)
            add(key(), num(x), "must be <= 1e6 FTE");
          return;
        }
        if (p.range.holds(x, s_)) return;
        if (p.type == ParamType::Probability)
          return add(key(), num(x), "must be a probability between 0 and 1 (or true / false)");
        add(key(), num(x), p.range.rule(p.range.upper(s_)) + p.why);
      });
    }
  }

  //! Whether a type's value of a stage is the stage's own (not an override).
  bool inherited(const ParamSpec& p, const ParamIndex& ix) const {
    const TypeStage& ts = s_.types[static_cast<std::size_t>(ix[0])].stages[static_cast<std::size_t>(ix[1])];
    const Stage& st = s_.stages[static_cast<std::size_t>(ts.stage)];
    const std::string leaf = p.path.substr(p.path.rfind("{tstage}.") + 9);
    if (leaf == "work") return ts.work == st.work;
    if (leaf == "planned") return ts.planned == st.planned;
    const auto k = static_cast<std::size_t>(ix[2]);
    return k < st.demand.size() && ts.demand[k] == st.demand[k];
  }

  void distribution(const ParamSpec& p, const std::string& key, const Distribution& d) {
    const auto problems = d.validate();
    for (const auto& e : problems) add(key + "." + e.param, "", e.rule);
    if (!problems.empty()) return;
    if (p.within) {
      if (d.min_value() < p.range.lo || d.max_value() > p.range.hi)
        add(key, d.describe(),
            "can take values outside [" + num(p.range.lo) + ", " + num(p.range.hi) + "] (lowest " + num(d.min_value()) +
                ", highest " + num(d.max_value()) + ")" +
                (d.kind() == DistKind::Normal ? "; truncate it with min and max" : ""));
      return;
    }
    const std::string text = d.kind() == DistKind::Fixed ? num(d.params()[0]) : d.describe();
    if (d.min_value() < 0.0)
      add(key, text,
          "can take negative values (lowest " + num(d.min_value()) + "); durations, counts and months must be >= 0" +
              (d.kind() == DistKind::Normal ? " (truncate with min = 0)" : ""));
    else if (p.positive && !(d.max_value() > 0.0))
      add(key, text, "must be > 0");
    else if (d.max_value() > p.range.hi)
      add(key, text, "can exceed " + num(p.range.hi) + " projects per authority");
  }

  void stage_list(const std::string& key, const std::vector<int>& list, bool at_least_one) {
    std::unordered_set<int> seen;
    if (at_least_one && list.empty()) add(key, "[...]", "must list at least one stage");
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!stage_ok(list[i]))
        add(key + idx(i), std::to_string(list[i]), "unknown stage (no stage has this index)");
      else if (!seen.insert(list[i]).second)
        add(key + idx(i), quoted_string(stage_name(list[i])), "duplicate entry");
    }
  }

  //! A pool's funded (not costed) tokens are some of its tokens.
  void pools() {
    for (const NationalPool& p : s_.pools)
      if (p.funded_capacity > p.capacity)
        add("national." + p.name + ".funded_capacity", std::to_string(p.funded_capacity),
            "must be between 0 and the pool's capacity (" + std::to_string(p.capacity) + " tokens)");
  }

  void stages() {
    bool after_ok = true;
    const std::size_t nd = s_.disciplines.size();
    for (std::size_t i = 0; i < s_.stages.size(); ++i) {
      const Stage& st = s_.stages[i];
      const std::string path = "stages." + st.name;
      if (st.demand.size() != nd) add(path + ".demand", "{...}", "must have one entry per discipline");
      std::unordered_set<int> seen;
      for (int p : st.after) {
        if (!stage_ok(p))
          add(path + ".after", std::to_string(p), "unknown predecessor stage"), after_ok = false;
        else if (p == static_cast<int>(i))
          add(path + ".after", quoted_string(st.name), "a stage cannot follow itself");
        else if (!seen.insert(p).second)
          add(path + ".after", quoted_string(stage_name(p)), "duplicate entry");
      }
      if (st.national_pool >= static_cast<int>(s_.pools.size()) || st.national_pool < -1)
        add(path + ".national", std::to_string(st.national_pool), "unknown national capacity pool");
      if (st.authority_milestone >= static_cast<int>(s_.stages.size()) || st.authority_milestone < -1)
        add(path + ".after_authority", std::to_string(st.authority_milestone), "unknown stage");
      else if (st.authority_milestone == static_cast<int>(i))
        add(path + ".after_authority", quoted_string(st.name),
            "a stage cannot wait for itself: no project could ever complete it first");
    }
    if (after_ok) cycles();
  }

  //! Predecessors may not form a cycle: an iterative depth-first search (a chain of a
  //! million stages must not overflow the stack); the first cycle found is reported.
  void cycles() {
    const std::size_t n = s_.stages.size();
    std::vector<int> colour(n, 0);
    std::vector<std::pair<int, std::size_t>> stack;  // stage, next predecessor to visit
    for (std::size_t root = 0; root < n; ++root) {
      if (colour[root]) continue;
      stack.push_back({static_cast<int>(root), 0});
      colour[root] = 1;
      while (!stack.empty()) {
        auto& [u, next] = stack.back();
        const auto& after = s_.stages[static_cast<std::size_t>(u)].after;
        if (next == after.size()) {
          colour[static_cast<std::size_t>(u)] = 2;
          stack.pop_back();
          continue;
        }
        const int v = after[next++];
        if (colour[static_cast<std::size_t>(v)] == 1) {
          std::string cycle;
          auto from = std::find_if(stack.begin(), stack.end(), [v](const auto& e) { return e.first == v; });
          for (auto it = from; it != stack.end(); ++it) cycle += stage_name(it->first) + " -> ";
          cycle += stage_name(v);
          add("stages." + stage_name(u) + ".after", "",
              "predecessors form a cycle: " + cycle + " (each stage waits for the one after it)");
          return;
        }
        if (colour[static_cast<std::size_t>(v)] == 0) {
          colour[static_cast<std::size_t>(v)] = 1;
          stack.push_back({v, 0});
        }
      }
    }
  }

  void types() {
    const std::size_t nd = s_.disciplines.size();
    for (const ProjectType& t : s_.types) {
      const std::string path = "project_types." + t.name;
      if (t.stages.empty()) add(path + ".stages", "[...]", "must list at least one stage");
      if (t.stages.size() > MAX_STAGES_PER_TYPE)
        add(path + ".stages", "[...]", "lists more than " + std::to_string(MAX_STAGES_PER_TYPE) + " stages");
      std::unordered_set<int> seen;
      for (std::size_t li = 0; li < t.stages.size(); ++li) {
        const TypeStage& ts = t.stages[li];
        if (!stage_ok(ts.stage)) {
          add(path + ".stages" + idx(li), std::to_string(ts.stage), "unknown stage");
          continue;
        }
        if (!seen.insert(ts.stage).second)
          add(path + ".stages" + idx(li), quoted_string(stage_name(ts.stage)), "duplicate entry");
        if (li < 64 && (ts.predecessors >> li) != 0)
          add(path + ".stages", "",
              "stage '" + stage_name(ts.stage) + "' has a predecessor listed after it; predecessors point backwards only");
        if (ts.demand.size() != nd)
          add(path + ".overrides." + stage_name(ts.stage) + ".demand", "{...}", "must have one entry per discipline");
      }
    }
  }

  void groups() {
    long long total = 0;
    const std::size_t nt = s_.types.size(), nd = s_.disciplines.size();
    for (std::size_t gi = 0; gi < s_.groups.size(); ++gi) {
      const AuthorityGroup& g = s_.groups[gi];
      const std::string path = group_path(gi);
      total += g.count;
      if (g.arrivals) {
        const ArrivalProcess& p = *g.arrivals;
        const double mean = p.rate_per_month * std::max(0.0, p.end_month);
        if (mean + 10 * std::sqrt(mean) > MAX_PROJECTS_PER_AUTHORITY - 1)
          add(path + ".arrivals", "",
              "expects about " + std::to_string(static_cast<long long>(std::min(mean, 9e15))) +
                  " projects per authority (rate_per_month x end_month); the expected count plus 10 sd must stay below " +
                  std::to_string(MAX_PROJECTS_PER_AUTHORITY - 1));
      }
      if (g.mix.size() != nt)
        add(path + ".mix", "{...}", "must have one share per project type");
      else {
        double sum = 0;
        for (std::size_t k = 0; k < nt; ++k) {
          if (!(g.mix[k] >= 0)) add(path + ".mix." + s_.types[k].name, num(g.mix[k]), "must be >= 0");
          sum += g.mix[k];
        }
        if (!(std::fabs(sum - 1.0) < 1e-9))
          add(path + ".mix", "", "shares must add up to 1 (the parser normalises a file's shares)");
      }
      if (g.first_type >= static_cast<int>(nt) || g.first_type < -1)
        add(path + ".first.type", std::to_string(g.first_type), "unknown project type");
      if (g.first_phase_type >= static_cast<int>(nt) || g.first_phase_type < -1)
        add(path + ".first_phase.type", std::to_string(g.first_phase_type), "unknown project type");
      if (g.first_phase_type >= 0 && s_.mechanisms.lep_stage < 0)
        add(path + ".first_phase", "", "needs [lep] formed_at: the first phase is released at financial close");
      if (g.non_lep > 0 && s_.mechanisms.lep_stage < 0)
        add(path + ".non_lep", num(g.non_lep), "needs [lep] formed_at: the non-LEP route is a financial close");
      if (g.team.size() != nd) add(path + ".team", "{...}", "must have one entry per discipline");
      double last[2] = {-1.0, -1.0};
      for (std::size_t k = 0; k < g.capacity_plan.size(); ++k) {
        const CapacityPlanStep& st = g.capacity_plan[k];
        if (st.team.size() != nd)
          add(path + ".capacity_plan" + idx(k) + ".team", "{...}", "must have one entry per discipline");
        double& prev = last[st.after_lep ? 1 : 0];
        if (st.month <= prev)
          add(path + ".capacity_plan" + idx(k) + ".month", num(st.month),
              std::string("must be later than the previous ") + (st.after_lep ? "after_lep" : "entry-relative") +
                  " step's month (" + num(prev) + "): list each kind of step in time order");
        prev = std::max(prev, st.month);
        if (k > 0 && !st.after_lep && g.capacity_plan[k - 1].after_lep)
          add(path + ".capacity_plan" + idx(k), "", "entry-relative steps come before the after_lep ones");
      }
    }
    if (total > MAX_AUTHORITIES)
      add("authorities", std::to_string(total), "more than " + std::to_string(MAX_AUTHORITIES) + " authorities in all");
  }

  void mechanisms() {
    const Mechanisms& m = s_.mechanisms;
    if (m.lep_stage >= static_cast<int>(s_.stages.size()) || m.lep_stage < -1)
      add("lep.formed_at", std::to_string(m.lep_stage), "unknown stage");
    // A stage takes one set-up effect.
    std::unordered_map<int, std::string> taken;
    const std::pair<const char*, const std::vector<int>*> lists[] = {{"strategy_stages", &m.setup.strategy_stages},
                                                                     {"procurement_stages", &m.setup.procurement_stages},
                                                                     {"mobilisation_stages", &m.setup.mobilisation_stages}};
    for (const auto& [k, list] : lists) {
      stage_list(std::string("setup.") + k, *list, false);
      for (int st : *list)
        if (auto [it, fresh] = taken.insert({st, k}); !fresh && stage_ok(st))
          add(std::string("setup.") + k, quoted_string(stage_name(st)),
              "stage already listed in setup." + it->second + "; a stage takes one set-up effect");
    }
    const PartneringMechanism& p = m.partnering;
    const double kappa = p.recovery + PRACTICES * p.practice_recovery;
    if (p.recovery >= 0 && p.practice_recovery >= 0 && kappa > 1.0 / s_.time.step_months)
      add(std::vector<std::string>{"partnering.recovery", "partnering.practice_recovery"}, num(p.recovery),
          "recovery + 4 x practice_recovery = " + num(kappa) + " per month must be <= 1 / step_months = " +
              num(1.0 / s_.time.step_months) + ", or health would overshoot its long-run level each step");
    if (m.disputes.enabled && !p.enabled)
      add("disputes", "",
          std::string("[disputes] needs [partnering]: the dispute hazard depends on partnering health; ") +
              (given("partnering", p.enabled) ? "[partnering] is switched off (enabled = false)"
                                              : "add a [partnering] table"));
    if (m.costs.enabled) {
      if (m.costs.capital.size() != s_.types.size())
        add("costs.capital", "{...}", "must have one distribution per project type");
      if (m.costs.spend_stage < 0)
        add("costs.spend_stage", "", "required string is missing");
      else if (!stage_ok(m.costs.spend_stage))
        add("costs.spend_stage", std::to_string(m.costs.spend_stage), "unknown stage");
    }
    if (m.funding.enabled) {
      stage_list("funding.stages", m.funding.stages, true);
      if (!m.costs.enabled)
        add("funding", "",
            std::string("[funding] needs [costs]: the envelope is spent on project capital; ") +
                (given("costs", m.costs.enabled) ? "[costs] is switched off (enabled = false)" : "add a [costs] table"));
    }
    if (m.market.enabled) stage_list("market.stages", m.market.stages, true);
    if (m.milestones.enabled) stage_list("milestones.construction_stages", m.milestones.construction_stages, true);
    stage_list("transformation.slowed_stages", m.transformation.slowed_stages, false);
    const ExclusivityMechanism& x = m.exclusivity;
    if (!(x.weight_cost + x.weight_quality + x.weight_time + x.weight_volume > 0))
      add("exclusivity.weights", "", "weights must add up to more than 0");
    lep_needed();
  }

  //! Mechanisms that start when an authority's LEP forms need to know when that is.
  void lep_needed() {
    const Mechanisms& m = s_.mechanisms;
    if (m.lep_stage >= 0 || given("lep", false)) return;
    std::vector<std::string> keys, names;
    for (const MechanismTable& t : mechanism_tables())
      if (t.needs_lep && t.on(m)) keys.push_back(t.name), names.push_back("[" + std::string(t.name) + "]");
    if (m.costs.enabled && m.costs.lep_setup.is_valid() && m.costs.lep_setup.max_value() > 0)
      keys.push_back("costs.lep_setup"), names.push_back("costs.lep_setup");
    if (m.capacity.enabled)
      for (std::size_t gi = 0; gi < s_.groups.size(); ++gi)
        for (std::size_t k = 0; k < s_.groups[gi].capacity_plan.size(); ++k)
          if (s_.groups[gi].capacity_plan[k].after_lep) {
            keys.push_back(group_path(gi) + ".capacity_plan" + idx(k) + ".after_lep");
            names.push_back(keys.back());
          }
    if (keys.empty()) return;
    add(keys, "",
        "required by {names}: they start when an authority's LEP forms; name the stage whose first completion forms it, "
        "e.g. [lep] formed_at = \"procurement\"",
        true);
    out_.back().report_key = "lep.formed_at";
    out_.back().names = std::move(names);
  }

  void cross_checks() {
    staffing_and_milestones();
    const int ls = s_.mechanisms.lep_stage;
    if (ls >= 0 && !runs_anywhere_[static_cast<std::size_t>(ls)])
      add("lep.formed_at", quoted_string(stage_name(ls)), "no project type runs that stage, so no LEP would ever form");
    funding_envelope();
  }

  std::vector<bool> runs_anywhere_;

  //! Every demanded discipline is staffed; authority milestones can be reached. Per group,
  //! each type it uses is looked at once (its demanded disciplines precomputed).
  void staffing_and_milestones() {
    const std::size_t nd = s_.disciplines.size(), ns = s_.stages.size();
    runs_anywhere_.assign(ns, false);
    for (const ProjectType& t : s_.types)
      for (const TypeStage& ts : t.stages) runs_anywhere_[static_cast<std::size_t>(ts.stage)] = true;
    std::vector<std::vector<std::pair<std::size_t, int>>> demands(
        s_.types.size());  // (discipline, first stage demanding it)
    for (std::size_t ti = 0; ti < s_.types.size(); ++ti) {
      std::vector<int> first(nd, -1);
      for (const TypeStage& ts : s_.types[ti].stages)
        for (std::size_t k = 0; k < nd; ++k)
          if (ts.demand[k] > 0 && first[k] < 0) first[k] = ts.stage;
      for (std::size_t k = 0; k < nd; ++k)
        if (first[k] >= 0) demands[ti].push_back({k, first[k]});
    }
    std::vector<int> runs_mark(ns, -1);  // group index that runs the stage
    for (std::size_t gi = 0; gi < s_.groups.size(); ++gi) {
      const AuthorityGroup& g = s_.groups[gi];
      std::vector<bool> reported(nd, false), supplied(nd, false), planned(nd, false);
      for (std::size_t k = 0; k < nd; ++k) {
        for (const CapacityPlanStep& st : g.capacity_plan) planned[k] = planned[k] || st.team[k] > 0;
        supplied[k] = g.team[k] > 0 || (planned[k] && s_.mechanisms.capacity.enabled);
      }
      std::vector<std::size_t> used;
      for (std::size_t ti = 0; ti < s_.types.size(); ++ti)
        if (g.mix[ti] > 0 || (g.first_type == static_cast<int>(ti) && g.first_count > 0) ||
            g.first_phase_type == static_cast<int>(ti))
          used.push_back(ti);
      for (std::size_t ti : used) {
        for (const TypeStage& ts : s_.types[ti].stages) runs_mark[static_cast<std::size_t>(ts.stage)] = static_cast<int>(gi);
        for (const auto& [k, stage] : demands[ti]) {
          if (supplied[k] || reported[k]) continue;
          reported[k] = true;
          add({group_path(gi) + ".team." + s_.disciplines[k]}, "0",
              "stage '" + stage_name(stage) + "' of project type '" + s_.types[ti].name + "' demands " + s_.disciplines[k] +
                  " but authority group '" + g.name + "' has no " + s_.disciplines[k] + " FTE" +
                  (planned[k] ? " in its team, and its capacity_plan applies only with [capacity] on" : "") +
                  ": its projects would never finish");
        }
      }
      // An authority milestone opens only when a project of the same authority completes
      // that stage, so the group's own project types must run it.
      std::unordered_set<int> reported_milestones;
      for (std::size_t ti : used)
        for (const TypeStage& ts : s_.types[ti].stages) {
          const int m = s_.stages[static_cast<std::size_t>(ts.stage)].authority_milestone;
          if (m < 0 || runs_mark[static_cast<std::size_t>(m)] == static_cast<int>(gi) ||
              !runs_anywhere_[static_cast<std::size_t>(m)] || !reported_milestones.insert(m).second)
            continue;
          add("stages." + stage_name(ts.stage) + ".after_authority", quoted_string(stage_name(m)),
              "authority group '" + g.name + "' (" + group_path(gi) + ") runs stage '" + stage_name(ts.stage) +
                  "' but none of its project types runs '" + stage_name(m) + "', so the gate would never open for it");
        }
    }
    for (const Stage& st : s_.stages)
      if (st.authority_milestone >= 0 && !runs_anywhere_[static_cast<std::size_t>(st.authority_milestone)])
        add("stages." + st.name + ".after_authority", quoted_string(stage_name(st.authority_milestone)),
            "no project type runs that stage, so the gate would never open");
  }

  //! Every type's largest possible capital (with the exclusivity premium and the market cap)
  //! must fit in one year's envelope, or a project of that type could never start.
  void funding_envelope() {
    const Mechanisms& m = s_.mechanisms;
    if (!m.funding.enabled || !m.costs.enabled) return;
    const double premium = m.exclusivity.enabled ? 1.0 + m.exclusivity.single_cost_premium : 1.0;
    const double market = m.market.enabled ? m.market.max_factor : 1.0;
    for (std::size_t ti = 0; ti < s_.types.size() && ti < m.costs.capital.size(); ++ti) {
      const Distribution& c = m.costs.capital[ti];
      const double need = c.max_value() * premium * market;
      if (need <= m.funding.annual_envelope) continue;
      std::string figure = "capital up to " + num(c.max_value());
      if (m.exclusivity.enabled)
        figure += " x (1 + exclusivity.single_cost_premium " + num(m.exclusivity.single_cost_premium) + ")";
      if (m.market.enabled) figure += " x market.max_factor " + num(m.market.max_factor);
      if (m.exclusivity.enabled || m.market.enabled) figure += " = " + num(need);
      add("funding.annual_envelope", num(m.funding.annual_envelope),
          "is less than what one '" + s_.types[ti].name + "' project may need (" + figure +
              " GBP m): such a project could never start" +
              (std::isfinite(c.max_value()) ? "" : "; give costs.capital." + s_.types[ti].name + " a bounded distribution"));
    }
  }
};

}  // namespace

std::vector<Problem> find_problems(const Scenario& s, const ValidateContext& ctx) { return Checker(s, ctx).run(); }

std::string fill_names(const std::string& rule, const std::vector<std::string>& names) {
  const auto at = rule.find("{names}");
  if (at == std::string::npos) return rule;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return rule.substr(0, at) + list + rule.substr(at + 7);
}

}  // namespace detail

std::vector<Diagnostic> validate(const Scenario& s) {
  std::vector<Diagnostic> out;
  for (auto& p : detail::find_problems(s, {}))
    out.push_back(
        {"", 0, p.report_key.empty() ? p.keys.front() : p.report_key, p.value, detail::fill_names(p.rule, p.names)});
  return out;
}

void check_valid(const Scenario& s) {
  auto problems = validate(s);
  if (!problems.empty()) throw ScenarioError(std::move(problems));
}

}  // namespace lepsim
