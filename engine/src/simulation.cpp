#include "lepsim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"

namespace lepsim {
namespace {


// A stage is complete when less than this much work (in steps) is left: sums of
// step fractions such as 10 x 0.1 must not leave a phantom extra step.
constexpr double WORK_EPSILON = 1e-9;

enum AuthoritySubstream : std::uint16_t { ENTRY_MONTH = 0, SCHOOL_COUNT = 1 };

}  // namespace

std::uint32_t Simulator::project_stream_entity(int project) const {
  return project_entity(p_authority_[static_cast<std::size_t>(project)], p_ordinal_[static_cast<std::size_t>(project)]);
}

// ReplicationResult::resize: engine/src/outputs.cpp, from the output registry.

Simulator::Simulator(const Scenario& scenario) : sc_(scenario) {
  const std::size_t D = sc_.disciplines.size();
  for (const auto& type : sc_.types) {
    cls_base_.push_back(static_cast<std::int32_t>(cls_.size()));
    for (const auto& ts : type.stages) {
      StageClass c{ts.stage, 0, static_cast<std::int32_t>(cls_k_.size()), 0, 0};
      for (std::size_t k = 0; k < D; ++k)
        if (ts.demand[k] > 0) {
          cls_k_.push_back(static_cast<std::int32_t>(k));
          cls_d_.push_back(ts.demand[k]);
          ++c.count;
          c.needs = 1;
          // Past 64 disciplines the exhausted-discipline shortcut is off (mask 0): rates are
          // then always computed, which gives the same result.
          if (k < 64) c.mask |= std::uint64_t{1} << k;
        }
      cls_.push_back(c);
    }
  }
  for (const auto& st : sc_.stages) earliest_step_.push_back(sc_.time.step_at_or_after(st.earliest_month));
  const auto A = static_cast<std::size_t>(sc_.authority_count());
  a_entry_step_.resize(A);
  a_active_.resize(A);
  a_milestone_waiters_.resize(A);
  a_milestone_done_.assign(A, std::vector<std::uint8_t>(sc_.stages.size(), 0));
  avail_.resize(D);
  allocated_.resize(D);
  capacity_.resize(D);
  pool_free_.resize(sc_.pools.size());
  pool_queue_.resize(sc_.pools.size());
  pool_head_.resize(sc_.pools.size());
  earliest_calendar_.resize(static_cast<std::size_t>(sc_.time.steps));
  gate_waiting_.resize(sc_.stages.size());
  blocked_.resize(sc_.stages.size());

  // Partnership mechanisms: which stages each one touches, and the planned path of each type.
  const Mechanisms& m = sc_.mechanisms;
  const std::size_t S = sc_.stages.size();
  auto flags = [&](bool on, const std::vector<int>& stages) {
    std::vector<std::uint8_t> f(S, 0);
    if (on)
      for (int st : stages) f[static_cast<std::size_t>(st)] = 1;
    return f;
  };
  stage_is_market_ = flags(m.market.enabled, m.market.stages);
  stage_is_funded_ = flags(m.funding.enabled, m.funding.stages);
  stage_is_slowed_ = flags(m.transformation.enabled, m.transformation.slowed_stages);
  stage_setup_kind_.assign(S, 0);  // 1 strategy, 2 procurement, 3 mobilisation
  if (m.setup.enabled) {
    for (int st : m.setup.strategy_stages) stage_setup_kind_[static_cast<std::size_t>(st)] = 1;
    for (int st : m.setup.procurement_stages) stage_setup_kind_[static_cast<std::size_t>(st)] = 2;
    for (int st : m.setup.mobilisation_stages) stage_setup_kind_[static_cast<std::size_t>(st)] = 3;
  }
  for (const auto& type : sc_.types) {
    std::vector<double> finish(type.stages.size(), 0.0);
    double longest = 0;
    for (std::size_t l = 0; l < type.stages.size(); ++l) {
      double start = 0;
      for (std::size_t j = 0; j < l; ++j)
        if (type.stages[l].predecessors >> j & 1u) start = std::max(start, finish[j]);
      const auto& ts = type.stages[l];
      finish[l] = start + (ts.planned ? *ts.planned : ts.work.mean());
      longest = std::max(longest, finish[l]);
    }
    planned_path_.push_back(longest);
  }
  steps_per_year_ = std::max(1, static_cast<int>(std::lround(12.0 / sc_.time.step_months)));
  lag_steps_ = m.capacity.enabled ? static_cast<int>(std::lround(m.capacity.hiring_lag_months / sc_.time.step_months)) : 0;
  a_setup_.resize(A);
  a_lep_step_.resize(A);
  a_health_logit_.resize(A);
  a_health_mu_.resize(A);
  a_health_kappa_.resize(A);
  a_health_value_.resize(A);
  a_stalled_until_.resize(A);
  a_exclusive_.resize(A);
  a_failing_years_.resize(A);
  a_projects_.resize(A);
  a_year_overrun_.resize(A);
  a_year_handovers_.resize(A);
  a_year_ontime_.resize(A);
  a_target_.resize(A);
  a_target_until_.resize(A);
  team_.resize(A * D);
  pipeline_.resize(A * D * static_cast<std::size_t>(lag_steps_ + 1));
  pipeline_total_.resize(A * D);
}

void Simulator::generate_projects(std::uint64_t seed, std::uint32_t rep, ReplicationResult& out) {
  p_authority_.clear();
  p_type_.clear();
  p_ordinal_.clear();
  std::fill(a_projects_.begin(), a_projects_.end(), 0);
  for (int a = 0; a < sc_.authority_count(); ++a) {
    const AuthorityGroup& g = sc_.groups[static_cast<std::size_t>(sc_.authority_group[static_cast<std::size_t>(a)])];
    RandomStream entry_stream(seed, rep, authority_entity(a), Purpose::AuthorityEntry, ENTRY_MONTH);
    const double entry = g.entry_month.sample(entry_stream);
    traced(authority_entity(a), Purpose::AuthorityEntry, ENTRY_MONTH, &g.entry_month);
    a_entry_step_[static_cast<std::size_t>(a)] = sc_.time.step_at_or_after(entry);

    auto add_project = [&](int ordinal, double month) {
      if (ordinal >= MAX_PROJECTS_PER_AUTHORITY)
        throw Error(ExitCode::INVALID_SCENARIO,
                    "authority '" + sc_.authority_names[static_cast<std::size_t>(a)] + "' drew more than " +
                        std::to_string(MAX_PROJECTS_PER_AUTHORITY - 1) + " projects in replication " +
                        std::to_string(rep) + "; lower its arrival rate");
      int type = g.first_type;
      if (ordinal >= g.first_count || g.first_type < 0) {
        RandomStream ts(seed, rep, project_entity(a, ordinal), Purpose::ProjectType, 0);
        const double u = ts.uniform();
        traced(project_entity(a, ordinal), Purpose::ProjectType, 0, nullptr);
        double cum = 0;
        type = -1;
        for (std::size_t t = 0; t < g.mix.size(); ++t) {
          if (g.mix[t] <= 0) continue;
          cum += g.mix[t];
          type = static_cast<int>(t);
          if (u < cum) break;
        }
      }
      p_authority_.push_back(a);
      p_type_.push_back(type);
      p_ordinal_.push_back(ordinal);
      ++a_projects_[static_cast<std::size_t>(a)];
      out.project_authority.push_back(a);
      out.project_type.push_back(type);
      // Steps are [k dt, (k+1) dt): a project arriving mid-step joins at the next boundary.
      out.arrival_step.push_back(sc_.time.step_at_or_after(month));
      out.completion_step.push_back(-1);
    };

    if (g.arrivals) {
      RandomStream as(seed, rep, authority_entity(a), Purpose::ProjectArrival, 0);
      const double rate = g.arrivals->rate_per_month;
      double t = entry + g.arrivals->start_month;
      int ordinal = 0;
      for (;;) {
        t += -std::log(as.uniform()) / rate;
        if (t >= g.arrivals->end_month) break;
        add_project(ordinal++, t);
      }
      traced(authority_entity(a), Purpose::ProjectArrival, 0, nullptr, static_cast<std::uint32_t>(ordinal + 1));
    } else {
      RandomStream cs(seed, rep, authority_entity(a), Purpose::AuthorityEntry, SCHOOL_COUNT);
      const double x = g.schools.sample(cs);
      traced(authority_entity(a), Purpose::AuthorityEntry, SCHOOL_COUNT, &g.schools);
      const int n = static_cast<int>(std::floor(std::max(0.0, x) + 0.5));
      for (int k = 0; k < n; ++k) add_project(k, entry + k * g.release_interval_months);
    }
  }
  const auto P = p_authority_.size();
  p_done_mask_.assign(P, 0);
  p_active_step_.assign(P, -1);
  p_start_step_.assign(P, -1);
  p_capital_.assign(P, -1.0);
  p_spent_.assign(P, 0.0);
  p_single_.assign(P, 0);
  if (sc_.mechanisms.costs.enabled) out.project_cost.assign(P, 0.0);
  // Projects in order of arrival step, ties in creation order: a stable counting sort
  // (the same order std::stable_sort gives), into reused scratch.
  arrival_order_.resize(P);
  const auto T1 = static_cast<std::size_t>(sc_.time.steps) + 2;
  bucket_.assign(T1, 0);
  auto key = [&](std::size_t i) {  // arrival steps are >= 0; beyond the horizon share the last key
    return std::min(static_cast<std::size_t>(std::max(0, out.arrival_step[i])), T1 - 2) + 1;
  };
  for (std::size_t i = 0; i < P; ++i) ++bucket_[key(i)];
  for (std::size_t b = 1; b < T1; ++b) bucket_[b] += bucket_[b - 1];
  for (std::size_t i = 0; i < P; ++i) arrival_order_[static_cast<std::size_t>(bucket_[key(i) - 1]++)] = static_cast<std::int32_t>(i);
  out.projects = static_cast<std::int32_t>(P);
}

void Simulator::make_ready(const Item& base, int step) {
  (void)step;
  const int p = base.project;
  const TypeStage& ts = sc_.types[static_cast<std::size_t>(p_type_[static_cast<std::size_t>(p)])]
                            .stages[static_cast<std::size_t>(base.local_stage)];
  double work;
  if (sc_.durations == DurationBasis::PLANNED) {
    work = ts.planned ? *ts.planned : ts.work.mean();
  } else {
    RandomStream ws(seed_, replication_,
                    project_entity(p_authority_[static_cast<std::size_t>(p)], p_ordinal_[static_cast<std::size_t>(p)]),
                    Purpose::StageWork, static_cast<std::uint16_t>(ts.stage));
    work = ts.work.sample(ws);
    traced(ws.entity(), Purpose::StageWork, ws.substream(), &ts.work);
  }
  ++events_.ready;
  Item item = base;
  item.cls = cls_base_[static_cast<std::size_t>(p_type_[static_cast<std::size_t>(p)])] + base.local_stage;
  item.remaining = adjusted_work(p, ts.stage, std::max(0.0, work)) / sc_.time.step_months;
  item.total = item.remaining;
  item.gate = GATE_EARLIEST;
  ++gate_waiting_[static_cast<std::size_t>(ts.stage)];
  pass_gates(item, step);
}

//! Moves an item through its remaining gates; it stops at the first closed one.
void Simulator::pass_gates(Item item, int step) {
  const int p = item.project;
  const int a = p_authority_[static_cast<std::size_t>(p)];
  const int s = sc_.types[static_cast<std::size_t>(p_type_[static_cast<std::size_t>(p)])]
                    .stages[static_cast<std::size_t>(item.local_stage)].stage;
  const Stage& st = sc_.stages[static_cast<std::size_t>(s)];
  if (item.gate == GATE_EARLIEST) {
    const int es = earliest_step_[static_cast<std::size_t>(s)];
    if (step < es) {
      if (es < sc_.time.steps) earliest_calendar_[static_cast<std::size_t>(es)].push_back(item);
      return;  // beyond the horizon: it simply waits to the end
    }
    item.gate = GATE_MILESTONE;
  }
  if (item.gate == GATE_MILESTONE) {
    if (st.authority_milestone >= 0 &&
        !a_milestone_done_[static_cast<std::size_t>(a)][static_cast<std::size_t>(st.authority_milestone)]) {
      a_milestone_waiters_[static_cast<std::size_t>(a)].push_back(item);
      return;
    }
    item.gate = GATE_NATIONAL;
  }
  if (item.gate == GATE_NATIONAL) {
    if (st.national_pool >= 0) {
      const auto pool = static_cast<std::size_t>(st.national_pool);
      // First come, first served: a newcomer takes a token only when nobody queues.
      if (pool_free_[pool] == 0 || pool_head_[pool] < pool_queue_[pool].size()) {
        pool_queue_[pool].push_back(item);
        return;
      }
      --pool_free_[pool];
    }
    item.gate = GATE_FUNDING;
  }
  if (item.gate == GATE_FUNDING) {
    if (stage_is_funded_[static_cast<std::size_t>(s)] && !funding_gate(item, step)) return;
    item.gate = GATE_CAPACITY;
  }
  --gate_waiting_[static_cast<std::size_t>(s)];
  ++events_.started;
  item.started = step;
  if (p_start_step_[static_cast<std::size_t>(p)] < 0) p_start_step_[static_cast<std::size_t>(p)] = step;
  if (sc_.mechanisms.costs.enabled && s == sc_.mechanisms.costs.spend_stage) commit_capital(p, step);
  a_active_[static_cast<std::size_t>(a)].push_back(item);
}

void Simulator::complete(const Item& item, int step, ReplicationResult& out) {
  const auto p = static_cast<std::size_t>(item.project);
  const int a = p_authority_[p];
  const ProjectType& type = sc_.types[static_cast<std::size_t>(p_type_[p])];
  const int s = type.stages[static_cast<std::size_t>(item.local_stage)].stage;
  const Stage& st = sc_.stages[static_cast<std::size_t>(s)];
  ++out.stage_completions[static_cast<std::size_t>(step) * sc_.stages.size() + static_cast<std::size_t>(s)];
  ++events_.completed;
  if (st.national_pool >= 0) ++pool_free_[static_cast<std::size_t>(st.national_pool)];

  if (s == sc_.mechanisms.lep_stage && a_lep_step_[static_cast<std::size_t>(a)] < 0) form_lep(a, step, out);
  auto& milestones = a_milestone_done_[static_cast<std::size_t>(a)];
  if (!milestones[static_cast<std::size_t>(s)]) {
    milestones[static_cast<std::size_t>(s)] = 1;
    // Release this authority's items that waited for this milestone; keep the rest in order.
    auto& waiters = a_milestone_waiters_[static_cast<std::size_t>(a)];
    std::size_t kept = 0;
    for (std::size_t i = 0; i < waiters.size(); ++i) {
      const Item& w = waiters[i];
      const int ws = sc_.types[static_cast<std::size_t>(p_type_[static_cast<std::size_t>(w.project)])]
                         .stages[static_cast<std::size_t>(w.local_stage)].stage;
      if (sc_.stages[static_cast<std::size_t>(ws)].authority_milestone == s) {
        Item released = w;
        released.gate = GATE_NATIONAL;
        ready_next_.push_back(released);
      } else {
        waiters[kept++] = w;
      }
    }
    waiters.resize(kept);
  }

  const std::uint64_t bit = std::uint64_t{1} << item.local_stage;
  p_done_mask_[p] |= bit;
  const std::uint64_t done = p_done_mask_[p];
  const auto n = type.stages.size();
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t pred = type.stages[j].predecessors;
    if ((pred & bit) && (pred & ~done) == 0)
      ready_next_.push_back(Item{item.project, static_cast<std::int32_t>(j), 0.0, -1});
  }
  if (done == (n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1)) {
    out.completion_step[p] = step;
    ++out.completions[static_cast<std::size_t>(step)];
    ++out.completed;
    finish_project(item.project, step, out);
  }
}

//! Step 5 for one authority: its capacity shared first come, first served; the scarcest
//! discipline sets a stage's rate (docs/model.md, "Capacity allocation"); stages progress.
void Simulator::allocate(std::size_t a, int t, ReplicationResult& out, int& active_projects) {
  const Mechanisms& mech = sc_.mechanisms;
  const std::size_t D = sc_.disciplines.size();
  const bool costs_on = mech.costs.enabled;
  const int spend_stage = mech.costs.spend_stage;
  std::int32_t* stage_active = &out.stage_active[static_cast<std::size_t>(t) * sc_.stages.size()];
  auto& items = a_active_[a];
  const double* team = mech.capacity.enabled ? &team_[a * D]
                                             : sc_.groups[static_cast<std::size_t>(sc_.authority_group[a])].team.data();
  std::copy(team, team + D, avail_.begin());
  // A dispute stalls all of the LEP's work; health scales the progress of its staffed stages.
  const bool stalled = a_stalled_until_[a] > t;
  const double prod = productivity(static_cast<int>(a));
  // Disciplines with nothing left (avail exactly 0): a stage demanding one of them gets
  // rate min(..., 0 / d) = 0 without dividing.
  std::uint64_t exhausted = 0;
  for (std::size_t k = 0; k < D && k < 64; ++k)
    if (avail_[k] <= 0) exhausted |= std::uint64_t{1} << k;
  std::size_t kept = 0;
  const std::size_t n_items = items.size();
  Item* it = items.data();
  for (std::size_t i = 0; i < n_items; ++i) {
    Item& item = it[i];
    const StageClass& c = cls_[static_cast<std::size_t>(item.cls)];
    // Bit-identical to taking rate * demand from every discipline: disciplines the stage
    // does not demand lose exactly 0, and a blocked stage (rate 0) takes exactly 0.
    double rate = stalled ? 0.0 : 1.0;
    if (c.needs && !stalled) {
      if (c.mask & exhausted) {
        rate = 0.0;
      } else {
        const std::int32_t* ks = &cls_k_[static_cast<std::size_t>(c.first)];
        const double* ds = &cls_d_[static_cast<std::size_t>(c.first)];
        for (std::int32_t j = 0; j < c.count; ++j) rate = std::min(rate, avail_[static_cast<std::size_t>(ks[j])] / ds[j]);
        if (rate < 1e-12) rate = 0.0;
        if (rate > 0)
          for (std::int32_t j = 0; j < c.count; ++j) {
            const auto k = static_cast<std::size_t>(ks[j]);
            const double take = rate * ds[j];
            avail_[k] = std::max(0.0, avail_[k] - take);
            allocated_[k] += take;
            if (avail_[k] <= 0 && k < 64) exhausted |= std::uint64_t{1} << k;
          }
      }
    }
    const int s = c.stage;
    if (rate > 0) {
      const auto p = static_cast<std::size_t>(item.project);
      ++stage_active[s];
      if (p_active_step_[p] != t) p_active_step_[p] = t, ++active_projects;
      const double progress = c.needs ? rate * prod : rate;
      if (costs_on && s == spend_stage) spend_progress(item, std::min(progress, item.remaining), t, out);
      item.remaining -= progress;
    } else {
      ++blocked_[static_cast<std::size_t>(s)];  // progress 0: remaining unchanged, nothing spent
    }
    if (item.remaining <= WORK_EPSILON) completed_.push_back(item);
    else {
      if (kept != i) it[kept] = item;
      ++kept;
    }
  }
  items.resize(kept);
}

void Simulator::run(std::uint32_t replication, ReplicationResult& out) { run(sc_.seed, replication, out); }

void Simulator::run(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out) {
  run_steps(seed, replication, out, sc_.time.steps);
}

void Simulator::prepare(std::uint32_t replication, int step, ReplicationResult& out) {
  run_steps(sc_.seed, replication, out, std::clamp(step, 0, sc_.time.steps));
}

void Simulator::run_steps(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out, int stop_step) {
  seed_ = seed;
  replication_ = replication;
  const int T = sc_.time.steps;
  const std::size_t S = sc_.stages.size(), D = sc_.disciplines.size(), P = sc_.pools.size();
  out.resize(T, static_cast<int>(S), static_cast<int>(D), static_cast<int>(P), sc_.authority_count(), sc_.mechanisms);

  for (auto& v : a_active_) v.clear();
  for (auto& v : a_milestone_waiters_) v.clear();
  for (auto& v : a_milestone_done_) std::fill(v.begin(), v.end(), 0);
  for (auto& v : earliest_calendar_) v.clear();
  for (std::size_t q = 0; q < P; ++q) {
    pool_free_[q] = sc_.pools[q].capacity;
    pool_queue_[q].clear();
    pool_head_[q] = 0;
  }
  std::fill(gate_waiting_.begin(), gate_waiting_.end(), 0);
  ready_next_.clear();
  std::fill(capacity_.begin(), capacity_.end(), 0.0);

  generate_projects(seed, replication, out);
  draw_setups();
  const Mechanisms& mech = sc_.mechanisms;

  // Authorities in order of entry, to add their teams to the programme's capacity.
  // (Stable counting sort by entry step, in reused scratch: the order std::stable_sort gives.)
  const auto n_auth = static_cast<std::size_t>(sc_.authority_count());
  std::vector<int>& entry_order = entry_order_;
  entry_order.resize(n_auth);
  bucket_.assign(static_cast<std::size_t>(T) + 2, 0);
  for (std::size_t a = 0; a < n_auth; ++a) ++bucket_[static_cast<std::size_t>(a_entry_step_[a]) + 1];
  for (std::size_t b = 1; b < bucket_.size(); ++b) bucket_[b] += bucket_[b - 1];
  for (std::size_t a = 0; a < n_auth; ++a)
    entry_order[static_cast<std::size_t>(bucket_[static_cast<std::size_t>(a_entry_step_[a])]++)] = static_cast<int>(a);
  std::size_t next_entry = 0, next_arrival = 0;
  std::int32_t arrived = 0, done = 0;

  events_ = EventCounts{};
  if (trace_) a_health_draws_.assign(a_lep_step_.size(), 0), a_dispute_draws_.assign(a_lep_step_.size(), 0);
  for (int t = 0; t < stop_step; ++t) {
    const auto tu = static_cast<std::size_t>(t);
    while (next_entry < entry_order.size() && a_entry_step_[static_cast<std::size_t>(entry_order[next_entry])] <= t) {
      const auto& team = sc_.groups[static_cast<std::size_t>(sc_.authority_group[static_cast<std::size_t>(entry_order[next_entry])])].team;
      for (std::size_t k = 0; k < D; ++k) capacity_[k] += team[k];
      ++next_entry;
    }
    // 0. Partnership mechanisms that act at the start of a step (mechanisms.cpp).
    if (mech.funding.enabled && t > 0 && t % steps_per_year_ == 0) new_programme_year(t);
    if (mech.capacity.enabled) update_teams(t, out);
    if (mech.disputes.enabled) start_disputes(t, out);
    // 1. Tokens freed last step go to those who queued longest.
    for (std::size_t q = 0; q < P; ++q) {
      while (pool_free_[q] > 0 && pool_head_[q] < pool_queue_[q].size()) {
        Item item = pool_queue_[q][pool_head_[q]++];
        --pool_free_[q];
        item.gate = GATE_FUNDING;
        pass_gates(item, t);
      }
      if (pool_head_[q] == pool_queue_[q].size()) pool_queue_[q].clear(), pool_head_[q] = 0;
    }
    // 2. Successors and milestone releases from last step's completions.
    ready_now_.swap(ready_next_);
    ready_next_.clear();
    for (const Item& item : ready_now_) {
      if (item.gate < 0) make_ready(item, t);
      else pass_gates(item, t);
    }
    // 3. Stages whose earliest month has come.
    for (const Item& item : earliest_calendar_[tu]) {
      Item next = item;
      next.gate = GATE_MILESTONE;
      pass_gates(next, t);
    }
    // 4. Projects arriving now start every stage without predecessors.
    while (next_arrival < arrival_order_.size() && out.arrival_step[static_cast<std::size_t>(arrival_order_[next_arrival])] <= t) {
      const int p = arrival_order_[next_arrival++];
      ++arrived;
      ++events_.arrivals;
      const auto& stages = sc_.types[static_cast<std::size_t>(p_type_[static_cast<std::size_t>(p)])].stages;
      for (std::size_t l = 0; l < stages.size(); ++l)
        if (stages[l].predecessors == 0) make_ready(Item{p, static_cast<std::int32_t>(l), 0.0, -1}, t);
    }

    // 5. Each authority shares its capacity first come, first served; the scarcest
    //    discipline sets a stage's rate (docs/model.md, "Capacity allocation").
    completed_.clear();
    std::fill(blocked_.begin(), blocked_.end(), 0);
    std::fill(allocated_.begin(), allocated_.end(), 0.0);
    int active_projects = 0;
    for (std::size_t a = 0; a < a_active_.size(); ++a)
      if (!a_active_[a].empty()) allocate(a, t, out, active_projects);

    // 6. The step's series, as the state during the step.
    for (std::size_t s = 0; s < S; ++s) out.stage_queued[tu * S + s] = gate_waiting_[s] + blocked_[s];
    for (std::size_t k = 0; k < D; ++k) out.utilisation[tu * D + k] = capacity_[k] > 0 ? allocated_[k] / capacity_[k] : 0.0;
    for (std::size_t q = 0; q < P; ++q) {
      out.pool_in_use[tu * P + q] = sc_.pools[q].capacity - pool_free_[q];
      out.pool_queue[tu * P + q] = static_cast<std::int32_t>(pool_queue_[q].size() - pool_head_[q]);
    }
    std::int32_t* state = &out.project_state[tu * PROJECT_STATE_COUNT];
    state[static_cast<int>(ProjectState::PENDING)] = out.projects - arrived;
    state[static_cast<int>(ProjectState::DONE)] = done;
    state[static_cast<int>(ProjectState::ACTIVE)] = active_projects;
    state[static_cast<int>(ProjectState::WAITING)] = arrived - done - active_projects;

    // 7. Completions take effect: successors, milestones and tokens from the next step.
    for (const Item& item : completed_) complete(item, t, out);
    done = out.completed;
    if (mech.partnering.enabled) update_health(t);
    if (mech.exclusivity.enabled && (t + 1) % steps_per_year_ == 0) score_year(t, out);
    record_mechanisms(t, out);
  }
  if (stop_step < T) return;  // prepare(): the state at the start of stop_step
  finish_mechanisms(out);
  if (trace_)  // the per-step streams, one record per authority with its draw count
    for (std::size_t a = 0; a < a_health_draws_.size(); ++a) {
      if (a_health_draws_[a] > 0) traced(authority_entity(static_cast<int>(a)), Purpose::Health, 0, &standard_normal(), a_health_draws_[a]);
      if (a_dispute_draws_[a] > 0) traced(authority_entity(static_cast<int>(a)), Purpose::Dispute, 0, nullptr, a_dispute_draws_[a]);
    }
  if (out.completed == out.projects) {
    out.finish_step = -1;
    for (auto c : out.completion_step) out.finish_step = std::max(out.finish_step, c);
  }
}

}  // namespace lepsim
