// The flow core: projects through their stages under each authority's capacity and the
// national pools (docs/model.md, "Core dynamics"). The partnership mechanisms are modules
// (mechanisms/*.cpp) the core calls only through their hooks (flow.hpp).

#include "lepsim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "flow.hpp"
#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"

namespace lepsim {
namespace detail {
namespace {

// Less work than this (steps) is none: a zero-work stage, or what rounding leaves.
constexpr double WORK_EPSILON = 1e-9;
// A completion this close after a step's end (steps) belongs to that step: it is the
// rounding of a time that is exactly the boundary (e.g. 0.1 + 0.9).
constexpr double TIME_EPSILON = 1e-10;
constexpr double NEVER = std::numeric_limits<double>::infinity();

//! A project handed over within 10% of its planned path counts as on time (docs/model.md, 17).
constexpr double ON_TIME_TOLERANCE = 0.10;

}  // namespace

Flow::Flow(const Scenario& scenario) : sc_(scenario) {
  const std::size_t D = sc_.disciplines.size(), S = sc_.stages.size();
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
    // Pipeline priority: stages still to go after each stage, on the longest chain to the
    // type's last stage. Predecessors point backwards only, so one backward pass suffices.
    const auto base = static_cast<std::size_t>(cls_base_.back());
    for (std::size_t l = type.stages.size(); l-- > 0;)
      for (std::size_t j = l + 1; j < type.stages.size(); ++j)
        if (type.stages[j].predecessors >> l & 1u)
          cls_[base + l].to_go = std::max(cls_[base + l].to_go, cls_[base + j].to_go + 1);
  }
  for (const auto& st : sc_.stages) earliest_step_.push_back(sc_.time.step_at_or_after(st.earliest_month));
  // The planned path of each type: the on-time yardstick of a handover.
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
  const std::size_t A = authorities();
  a_entry_step_.resize(A);
  a_lep_step_.resize(A);
  a_close_step_.resize(A);
  a_projects_.resize(A);
  a_active_.resize(A);
  a_milestone_waiters_.resize(A);
  a_milestone_done_.assign(A, std::vector<std::uint8_t>(S, 0));
  avail_.resize(D);
  allocated_.resize(D);
  capacity_.resize(D);
  pool_free_.resize(sc_.pools.size());
  pool_queue_.resize(sc_.pools.size());
  pool_head_.resize(sc_.pools.size());
  earliest_calendar_.resize(static_cast<std::size_t>(sc_.time.steps));
  gate_waiting_.resize(S);
  stage_running_.resize(S);
  stage_blocked_.resize(S);
  a_next_.resize(A);
  a_heap_pos_.resize(A);
  a_touched_.resize(A);
  a_from_.assign(A, NOT_TOUCHED);
  a_watched_running_.resize(A);
  a_seen_stalled_.resize(A);
  a_seen_prod_.resize(A);
  a_seen_team_.resize(A * D);
  a_alloc_.resize(A * D);
  signals_.attributes.resize(A);
  signals_.health.resize(A);
  signals_.productivity.resize(A);
  signals_.stalled_until.resize(A);
  signals_.team.resize(A);
  signals_.no_lep.resize(A);

  mechanisms_ = make_mechanisms(*this);
  index_mechanisms();
}

//! For each phase and each per-stage hook, the mechanisms it calls, in registry order.
void Flow::index_mechanisms() {
  const std::size_t S = sc_.stages.size();
  adjusters_.resize(S);
  watchers_.resize(S);
  watched_.assign(S, 0);
  for (auto& list : phase_)
    for (const auto& m : mechanisms_) list.push_back(m.get());
  for (const auto& m : mechanisms_) {
    if (m->bench_steps_leps()) lep_steppers_.push_back(m.get());
    bool gate = false;
    std::vector<std::uint8_t> gated(S, 0);
    for (StageId s : ids<StageId>(S)) {
      if (m->adjusts(s)) adjusters_[ix(s)].push_back(m.get());
      if (m->watches(s)) watchers_[ix(s)].push_back(m.get()), watched_[ix(s)] = 1;
      if (m->gates(s)) gated[ix(s)] = 1, gate = true;
    }
    if (gate) {
      m->set_gate_index(GATE_MECHANISMS + static_cast<int>(gates_.size()));
      gates_.push_back(m.get());
      gated_.push_back(std::move(gated));
    }
  }
  gate_capacity_ = GATE_MECHANISMS + static_cast<std::int32_t>(gates_.size());
}

Flow::~Flow() = default;

void Flow::prune_phases() {
  for (int phase = 0; phase < PHASE_COUNT; ++phase)
    std::erase_if(phase_[phase], [&](const Mechanism* m) { return m->is_default(static_cast<Phase>(phase)); });
}

void Flow::generate_projects(ReplicationResult& out) {
  p_authority_.clear();
  p_type_.clear();
  p_ordinal_.clear();
  p_arrival_time_.clear();
  a_projects_.fill(0);
  for (AuthorityId a : ids<AuthorityId>(authorities())) {
    const AuthorityGroup& g = group(a);
    const double entry = draws_.sample(stream_of(a, Purpose::AuthorityEntry, ENTRY_MONTH), g.entry_month);
    a_entry_step_[a] = sc_.time.step_at_or_after(entry);

    // First phase: schools first_count .. phase_end - 1 arrive at entry, held to financial close.
    int phase_end = 0;
    if (g.first_phase_type >= 0) {
      const double x = draws_.sample(stream_of(a, Purpose::AuthorityEntry, FIRST_PHASE), g.first_phase_schools);
      phase_end = std::max(g.first_count, static_cast<int>(std::floor(std::max(0.0, x) + 0.5)));
    }
    auto add_project = [&](int ordinal, double month) {
      if (ordinal >= MAX_PROJECTS_PER_AUTHORITY)
        throw Error(ExitCode::INVALID_SCENARIO, "authority '" + sc_.authority_names[ix(a)] + "' drew more than " +
                                                    std::to_string(MAX_PROJECTS_PER_AUTHORITY - 1) +
                                                    " projects in replication " + std::to_string(replication_) +
                                                    "; lower its arrival rate");
      int type = g.first_type;
      if (ordinal >= g.first_count && ordinal < phase_end) {
        type = g.first_phase_type;  // the first phase's other schools (docs/model.md, section 21)
      } else if (ordinal >= g.first_count || g.first_type < 0) {
        const double u = draws_.uniform({project_entity(static_cast<int>(a), ordinal), Purpose::ProjectType});
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
      ++a_projects_[a];
      out.project_authority.push_back(static_cast<std::int32_t>(a));
      out.project_type.push_back(type);
      // It arrives at its exact time; arrival_step is the first step whose start finds it
      // arrived (a month on a step's start, within rounding, is that step's start).
      const int k = sc_.time.step_at_or_after(month);
      out.arrival_step.push_back(k);
      const double at = month / sc_.time.step_months;
      p_arrival_time_.push_back(k == 0 || at >= k - 1e-9 ? static_cast<double>(k) : at);
      out.completion_step.push_back(-1);
      out.completion_month.push_back(std::numeric_limits<double>::quiet_NaN());
    };

    if (g.arrivals) {
      const StreamId id = stream_of(a, Purpose::ProjectArrival);
      RandomStream as = draws_.open(id);
      const double rate = g.arrivals->rate_per_month;
      double t = entry + g.arrivals->start_month;
      int ordinal = 0;
      for (;;) {
        t += -std::log(as.uniform()) / rate;
        if (t >= g.arrivals->end_month) break;
        add_project(ordinal++, t);
      }
      draws_.note(id, nullptr, static_cast<std::uint32_t>(ordinal + 1));
    } else {
      const double x = draws_.sample(stream_of(a, Purpose::AuthorityEntry, SCHOOL_COUNT), g.schools);
      const int n = static_cast<int>(std::floor(std::max(0.0, x) + 0.5));
      // The first phase takes no release slot: later schools are released as without one.
      const int phase = std::max(0, phase_end - g.first_count);
      for (int k = 0; k < n; ++k)
        add_project(k, k >= g.first_count && k < phase_end ? entry
                       : k >= phase_end && phase > 0       ? entry + (k - phase) * g.release_interval_months
                                                           : entry + k * g.release_interval_months);
    }
  }
  const auto P = p_authority_.size();
  p_done_mask_.assign(P, 0);
  p_active_step_.assign(P, -1);
  p_start_step_.assign(P, -1);
  p_start_time_.assign(P, 0.0);
  p_running_.assign(P, 0);
  signals_.capital_factor.assign(P, 1.0);
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
  for (std::size_t i = 0; i < P; ++i)
    arrival_order_[static_cast<std::size_t>(bucket_[key(i) - 1]++)] = static_cast<ProjectId>(i);
  // Within a step, in order of exact time (ties in creation order): insertion sort, as each
  // step holds a few arrivals and they are mostly in order already.
  for (std::size_t i = 1; i < P; ++i) {
    const ProjectId x = arrival_order_[i];
    std::size_t j = i;
    for (; j > 0; --j) {
      const ProjectId y = arrival_order_[j - 1];
      if (out.arrival_step[ix(y)] != out.arrival_step[ix(x)] || p_arrival_time_[y] <= p_arrival_time_[x]) break;
      arrival_order_[j] = y;
    }
    arrival_order_[j] = x;
  }
  out.projects = static_cast<std::int32_t>(P);
}

void Flow::make_ready(const Item& base, int step) {
  const ProjectId p = base.project;
  const TypeStage& ts = type_stage(p, base.local_stage);
  const auto s = static_cast<StageId>(ts.stage);
  double work;
  if (sc_.durations == DurationBasis::PLANNED)
    work = ts.planned ? *ts.planned : ts.work.mean();
  else
    work = draws_.sample({entity_of(p), Purpose::StageWork, static_cast<std::uint16_t>(ts.stage)}, ts.work);
  ++events_.ready;
  Item item = base;
  item.cls = cls_base_[static_cast<std::size_t>(p_type_[p])] + base.local_stage;
  work = std::max(0.0, work);
  for (Mechanism* m : adjusters_[ix(s)]) work = m->adjust_work(p, s, work);
  item.remaining = work / sc_.time.step_months;
  item.total = item.remaining;
  item.gate = GATE_EARLIEST;
  ++gate_waiting_[ix(s)];
  pass_gates(item, step);
}

void Flow::pass_gates(Item item, int step) {
  const ProjectId p = item.project;
  const AuthorityId a = p_authority_[p];
  const int s = type_stage(p, item.local_stage).stage;
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
    if (st.authority_milestone >= 0 && !a_milestone_done_[a][static_cast<std::size_t>(st.authority_milestone)]) {
      a_milestone_waiters_[a].push_back(item);
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
    item.gate = GATE_MECHANISMS;
  }
  for (; item.gate < gate_capacity_; ++item.gate) {
    const auto g = static_cast<std::size_t>(item.gate - GATE_MECHANISMS);
    if (gated_[g][static_cast<std::size_t>(s)] && !gates_[g]->gate(item, step)) return;
  }
  --gate_waiting_[static_cast<std::size_t>(s)];
  ++events_.started;
  if (p_start_step_[p] < 0) p_start_step_[p] = step, p_start_time_[p] = now_;
  for (Mechanism* m : watchers_[static_cast<std::size_t>(s)]) m->on_stage_start(item, static_cast<StageId>(s), step);
  // ALLOCATION RULE (docs/model.md, "Capacity allocation"): the authority's list is kept in
  // priority order, work nearest to handover first (fewest stages still to go after it),
  // and within equal priority first come, first served (the order items passed their
  // gates). allocate() serves the list in this order, so a new start never takes the staff
  // that work further along needs. With one stage every item has to_go 0 and this is a
  // plain append: the FIFO of the M/M/c queue. Scanning from the back makes the common
  // case (a new start, the largest to_go) O(1).
  auto& list = a_active_[a];
  const std::int32_t rank = cls_[static_cast<std::size_t>(item.cls)].to_go;
  auto pos = list.end();
  while (pos != list.begin() && cls_[static_cast<std::size_t>((pos - 1)->cls)].to_go > rank) --pos;
  touch(a, static_cast<std::size_t>(pos - list.begin()));  // re-allocated from here on
  // Queued until allocate_touched() serves it, at this same time; no work: done now.
  item.rate = item.speed = 0;
  item.since = now_;
  item.finish = item.remaining <= WORK_EPSILON ? now_ : NEVER;
  count_item(item, +1);
  list.insert(pos, item);
}

void Flow::form_lep(AuthorityId a, int step) {
  a_lep_step_[a] = step;
  out_->lep_formed_step[ix(a)] = step;
  ++events_.leps;
  for (Mechanism* m : phase_[PHASE_LEP_FORMED]) m->on_lep_formed(a, step);
}

//! Financial close (the LEP stage's first completion): the close hooks, then the LEP
//! forms unless the authority took the non-LEP route (docs/model.md, section 21).
void Flow::close_procurement(AuthorityId a, int step) {
  a_close_step_[a] = step;
  for (Mechanism* m : phase_[PHASE_CLOSE]) m->on_close(a, step);
  if (!signals_.no_lep[a]) form_lep(a, step);
}

//! A project's last stage is done: its delay against the planned path, then the
//! mechanisms' handover hooks in registry order (each sees what the earlier ones set).
void Flow::hand_over(ProjectId p, int step) {
  const AuthorityId a = p_authority_[p];
  if (!out_->lep_schools_completed.empty()) ++out_->lep_schools_completed[ix(a)];
  const double start = p_start_step_[p] >= 0 ? p_start_time_[p] : now_;
  const double planned = planned_path_[static_cast<std::size_t>(p_type_[p])];
  const double delay = planned > 0 ? std::max(0.0, (now_ - start) * sc_.time.step_months / planned - 1.0) : 0.0;
  Handover h{p, a, step, delay, delay <= ON_TIME_TOLERANCE, signals_.health[a], 0.0};
  for (Mechanism* m : phase_[PHASE_HANDOVER]) m->on_handover(h);
}

void Flow::complete(const Item& item, int step) {
  ReplicationResult& out = *out_;
  const ProjectId p = item.project;
  const AuthorityId a = p_authority_[p];
  const ProjectType& type = sc_.types[static_cast<std::size_t>(p_type_[p])];
  const int s = type.stages[static_cast<std::size_t>(item.local_stage)].stage;
  const Stage& st = sc_.stages[static_cast<std::size_t>(s)];
  ++out.stage_completions[static_cast<std::size_t>(step) * sc_.stages.size() + static_cast<std::size_t>(s)];
  ++events_.completed;
  if (st.national_pool >= 0) {
    // The freed token goes at once to the instance that has queued longest.
    const auto q = static_cast<std::size_t>(st.national_pool);
    ++pool_free_[q];
    while (pool_free_[q] > 0 && pool_head_[q] < pool_queue_[q].size()) {
      Item next = pool_queue_[q][pool_head_[q]++];
      --pool_free_[q];
      next.gate = GATE_MECHANISMS;
      pass_gates(next, step);
    }
    if (pool_head_[q] == pool_queue_[q].size()) pool_queue_[q].clear(), pool_head_[q] = 0;
  }

  if (s == sc_.mechanisms.lep_stage && a_close_step_[a] < 0) close_procurement(a, step);
  auto& milestones = a_milestone_done_[a];
  if (!milestones[static_cast<std::size_t>(s)]) {
    const std::size_t released_from = released_.size();  // released in order, after the scan
    milestones[static_cast<std::size_t>(s)] = 1;
    // Release this authority's items that waited for this milestone; keep the rest in order.
    auto& waiters = a_milestone_waiters_[a];
    std::size_t kept = 0;
    for (std::size_t i = 0; i < waiters.size(); ++i) {
      const Item& w = waiters[i];
      if (sc_.stages[static_cast<std::size_t>(type_stage(w.project, w.local_stage).stage)].authority_milestone == s) {
        released_.push_back(w);
      } else {
        waiters[kept++] = w;
      }
    }
    waiters.resize(kept);
    for (std::size_t i = released_from; i < released_.size(); ++i) {
      Item released = released_[i];
      released.gate = GATE_NATIONAL;
      pass_gates(released, step);
    }
    released_.resize(released_from);
  }

  const std::uint64_t bit = std::uint64_t{1} << item.local_stage;
  p_done_mask_[p] |= bit;
  const std::uint64_t done = p_done_mask_[p];
  const auto n = type.stages.size();
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t pred = type.stages[j].predecessors;
    if ((pred & bit) && (pred & ~done) == 0) make_ready(Item{p, static_cast<std::int32_t>(j), 0.0, -1}, step);
  }
  if (done == (n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1)) {
    out.completion_step[ix(p)] = step;
    out.completion_month[ix(p)] = now_ * sc_.time.step_months;
    ++out.completions[static_cast<std::size_t>(step)];
    ++out.completed;
    hand_over(p, step);
  }
}

void Flow::count_item(const Item& item, int sign) {
  const auto s = static_cast<std::size_t>(cls_[static_cast<std::size_t>(item.cls)].stage);
  if (item.rate > 0) {
    stage_running_[s] += sign;
    std::int32_t& running = p_running_[item.project];
    if (sign > 0 && running++ == 0) ++active_projects_;
    if (sign < 0 && --running == 0) --active_projects_;
  } else {
    stage_blocked_[s] += sign;
  }
}

//! One authority's capacity shared in priority order (pass_gates keeps the list ordered:
//! nearest to handover first, then first come, first served); the scarcest discipline sets
//! a stage's rate (docs/model.md, "Capacity allocation"). The rates hold until the
//! authority's next event, at which this runs again; its next completion is scheduled.
void Flow::allocate(AuthorityId a, bool book) {
  const std::size_t D = sc_.disciplines.size();
  auto& list = a_active_[a];
  // Hoisted: allocation calls no hook but on_progress, which changes no list or table here.
  Item* const items = list.data();
  const std::size_t n = list.size();
  const StageClass* const cls = cls_.data();
  const std::int32_t* const cls_k = cls_k_.data();
  const double* const cls_d = cls_d_.data();
  double* const avail = avail_.data();
  const double* team = signals_.team[a];
  // A stall (dispute) stops all of the LEP's work; productivity scales its staffed stages.
  const bool stalled = signals_.stalled_until[a] > step_;
  const double prod = signals_.productivity[a];
  const std::uint8_t* watched = watched_.data();
  // Disciplines with nothing left (avail exactly 0): a stage demanding one of them gets
  // rate min(..., 0 / d) = 0 without dividing.
  std::uint64_t exhausted = 0;
  for (std::size_t k = 0; k < D; ++k) {
    avail[k] = team[k];
    if (avail[k] <= 0 && k < 64) exhausted |= std::uint64_t{1} << k;
  }
  double next = NEVER;
  std::int32_t watched_running = 0;
  // INCREMENTAL: an item's rate depends only on the inputs and the items before it (priority
  // order), so when neither changed before position `from` those items keep their rates;
  // their allocation is replayed (the same subtractions, hence the same bits) to give the
  // FTE left for the rest.
  std::size_t from = 0;
  if (book) {
    from = a_from_[a];
    a_from_[a] = NOT_TOUCHED;
    if (from > 0 && inputs_changed(a)) from = 0;
  }
  // The FTE an item at `rate` takes from what is left.
  auto take = [&](const StageClass& c, double rate) {
    const std::int32_t* ks = cls_k + c.first;
    const double* ds = cls_d + c.first;
    for (std::int32_t j = 0; j < c.count; ++j) {
      const auto k = static_cast<std::size_t>(ks[j]);
      avail[k] = std::max(0.0, avail[k] - rate * ds[j]);
      if (avail[k] <= 0 && k < 64) exhausted |= std::uint64_t{1} << k;
    }
  };
  const std::size_t replayed = std::min(from, n);
  for (std::size_t i = 0; i < replayed; ++i) {
    const Item& item = items[i];
    const StageClass& c = cls[item.cls];
    if (item.rate > 0) {
      if (c.needs) take(c, item.rate);
      if (watched[static_cast<std::size_t>(c.stage)]) ++watched_running;
    }
    next = std::min(next, item.finish);
  }
  for (std::size_t i = replayed; i < n; ++i) {
    Item& item = items[i];
    const StageClass& c = cls[item.cls];
    double rate = stalled ? 0.0 : 1.0;
    if (c.needs && !stalled) {
      if (c.mask & exhausted) {
        rate = 0.0;
      } else {
        const std::int32_t* ks = cls_k + c.first;
        const double* ds = cls_d + c.first;
        // A discipline with at least the demand left gives a quotient >= 1 (division is
        // correctly rounded, hence monotone), which cannot lower min(1, ...): no division.
        for (std::int32_t j = 0; j < c.count; ++j) {
          const double left = avail[static_cast<std::size_t>(ks[j])];
          if (left < ds[j]) rate = std::min(rate, left / ds[j]);
        }
        if (rate < 1e-12) rate = 0.0;
        if (rate > 0) take(c, rate);
      }
    }
    if (book && (rate > 0) != (item.rate > 0)) {
      count_item(item, -1);
      item.rate = rate;
      count_item(item, +1);
    }
    item.rate = rate;
    const double speed = rate > 0 ? (c.needs ? rate * prod : rate) : 0.0;
    if (!book) {
      item.speed = speed;
      continue;
    }
    // A changed speed: the work done at the old one is taken and the rest re-timed. An
    // unchanged speed keeps its completion time (and its work is taken only when needed).
    if (speed != item.speed) {
      progress(item);
      item.speed = speed;
      item.finish = item.remaining <= WORK_EPSILON ? now_ : speed > 0 ? now_ + item.remaining / speed : NEVER;
    }
    if (rate > 0 && watched[static_cast<std::size_t>(c.stage)]) ++watched_running;
    next = std::min(next, item.finish);
  }
  if (!book) return;
  a_watched_running_[a] = watched_running;
  a_seen_stalled_[a] = stalled ? 1 : 0;
  a_seen_prod_[a] = prod;
  double* seen = a_seen_team_.data() + ix(a) * D;
  double* alloc = a_alloc_.data() + ix(a) * D;
  for (std::size_t k = 0; k < D; ++k) {
    seen[k] = team[k];
    const double used = team[k] - avail[k];
    allocated_[k] += used - alloc[k];
    alloc[k] = used;
  }
  schedule(a, next <= sc_.time.steps + TIME_EPSILON ? next : NEVER);
}

void Flow::heap_up(std::size_t i) {
  const AuthorityId a = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!sooner(a, heap_[parent])) break;
    heap_[i] = heap_[parent];
    a_heap_pos_[heap_[i]] = static_cast<std::int32_t>(i);
    i = parent;
  }
  heap_[i] = a;
  a_heap_pos_[a] = static_cast<std::int32_t>(i);
}

void Flow::heap_down(std::size_t i) {
  const AuthorityId a = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n) child += sooner(heap_[child + 1], heap_[child]) ? 1 : 0;
    if (!sooner(heap_[child], a)) break;
    heap_[i] = heap_[child];
    a_heap_pos_[heap_[i]] = static_cast<std::int32_t>(i);
    i = child;
  }
  heap_[i] = a;
  a_heap_pos_[a] = static_cast<std::int32_t>(i);
}

//! Sets (or, with NEVER, removes) authority a's next completion event.
void Flow::schedule(AuthorityId a, double time) {
  const std::int32_t pos = a_heap_pos_[a];
  if (time == NEVER) {
    if (pos < 0) return;
    a_heap_pos_[a] = -1;
    const AuthorityId last = heap_.back();
    heap_.pop_back();
    if (last == a) return;
    heap_[static_cast<std::size_t>(pos)] = last;
    a_next_[a] = NEVER;
    heap_up(static_cast<std::size_t>(pos));
    heap_down(static_cast<std::size_t>(a_heap_pos_[last]));
    return;
  }
  const double before = pos < 0 ? NEVER : a_next_[a];
  if (pos >= 0 && time == before) return;  // often: the event that changed nothing of its timing
  a_next_[a] = time;
  if (pos < 0) {
    heap_.push_back(a);
    heap_up(heap_.size() - 1);
  } else if (time < before) {
    heap_up(static_cast<std::size_t>(pos));
  } else {
    heap_down(static_cast<std::size_t>(pos));
  }
}

//! An item's work done since its `since` at its speed is taken (watchers see it). The
//! common case, no watcher, is inlined in the hot loops; the watchers' calls are not.
inline void Flow::progress(Item& item) {
  const double elapsed = now_ - item.since;
  item.since = now_;
  if (elapsed <= 0 || item.speed == 0) return;
  const double done = item.speed * elapsed;
  const auto s = static_cast<std::size_t>(cls_[static_cast<std::size_t>(item.cls)].stage);
  if (watched_[s]) notify_progress(item, s, std::min(done, item.remaining));
  item.remaining -= done;
}

void Flow::notify_progress(const Item& item, std::size_t stage, double done) {
  for (Mechanism* m : watchers_[stage]) m->on_progress(item, done, step_);
}

//! The progress to now of authority a's running items that a watcher follows (spend).
void Flow::advance(AuthorityId a) {
  const std::uint8_t* watched = watched_.data();
  for (Item& item : a_active_[a])
    if (item.speed != 0 && watched[static_cast<std::size_t>(cls_[static_cast<std::size_t>(item.cls)].stage)]) progress(item);
}

//! Authority a is re-allocated after the current event (at the same time).
inline void Flow::touch(AuthorityId a, std::size_t from) {
  a_from_[a] = std::min(a_from_[a], from);
  if (!a_touched_[a]) a_touched_[a] = 1, touched_.push_back(a);
}

void Flow::allocate_touched() {
  // Allocation calls no hook but on_progress, which touches nothing, so the list holds.
  for (AuthorityId a : touched_) {
    a_touched_[a] = 0;
    allocate(a, true);
  }
  touched_.clear();
}

inline bool Flow::inputs_changed(AuthorityId a) const {
  if ((signals_.stalled_until[a] > step_ ? 1 : 0) != a_seen_stalled_[a] || signals_.productivity[a] != a_seen_prod_[a])
    return true;
  const std::size_t D = sc_.disciplines.size();
  const double* team = signals_.team[a];
  const double* seen = a_seen_team_.data() + ix(a) * D;
  for (std::size_t k = 0; k < D; ++k)
    if (team[k] != seen[k]) return true;
  return false;
}

//! A completion event of authority a at now: its items with no work left complete, in
//! list order, each with its consequences (successors, milestones, tokens, handover).
void Flow::complete_due(AuthorityId a) {
  auto& list = a_active_[a];
  // Hoisted: the watchers' on_progress changes no list.
  Item* const items = list.data();
  const std::size_t n = list.size();
  // Due: its completion time has come (within rounding, and a step-end time clamp).
  const double due = now_ + TIME_EPSILON;
  std::size_t i = 0;
  while (i < n && !(items[i].finish <= due)) ++i;
  if (i == n) return;
  completed_.clear();
  touch(a, i);  // re-allocated from the first one removed
  std::size_t kept = i;
  for (; i < n; ++i) {
    if (items[i].finish <= due) {
      progress(items[i]);  // the last of its work, for the watchers
      count_item(items[i], -1);
      completed_.push_back(items[i]);
    } else {
      items[kept++] = items[i];
    }
  }
  list.resize(kept);
  for (const Item& item : completed_) complete(item, step_);
}

//! A project arrives (at now): every stage without predecessors becomes ready.
void Flow::arrive(ProjectId p) {
  ++cursor_.arrived;
  ++events_.arrivals;
  const auto& stages = sc_.types[static_cast<std::size_t>(p_type_[p])].stages;
  for (std::size_t l = 0; l < stages.size(); ++l)
    if (stages[l].predecessors == 0) make_ready(Item{p, static_cast<std::int32_t>(l), 0.0, -1}, step_);
}

//! Authorities in order of entry, to add their teams to the programme's capacity.
//! (Stable counting sort by entry step, in reused scratch: the order std::stable_sort gives.)
void Flow::order_entries() {
  const std::size_t A = authorities();
  entry_order_.resize(A);
  bucket_.assign(static_cast<std::size_t>(sc_.time.steps) + 2, 0);
  for (AuthorityId a : ids<AuthorityId>(A)) ++bucket_[static_cast<std::size_t>(a_entry_step_[a]) + 1];
  for (std::size_t b = 1; b < bucket_.size(); ++b) bucket_[b] += bucket_[b - 1];
  for (AuthorityId a : ids<AuthorityId>(A))
    entry_order_[static_cast<std::size_t>(bucket_[static_cast<std::size_t>(a_entry_step_[a])]++)] = a;
}

//! The step's series: the state at the step's start, after its boundary events.
void Flow::record_step(int t, std::int32_t arrived, std::int32_t done, int active_projects) {
  ReplicationResult& out = *out_;
  const auto tu = static_cast<std::size_t>(t);
  const std::size_t S = sc_.stages.size(), D = sc_.disciplines.size(), P = sc_.pools.size();
  for (std::size_t s = 0; s < S; ++s) {
    out.stage_active[tu * S + s] = stage_running_[s];
    out.stage_queued[tu * S + s] = gate_waiting_[s] + stage_blocked_[s];
  }
  for (std::size_t k = 0; k < D; ++k)
    out.utilisation[tu * D + k] = capacity_[k] > 0 ? std::max(0.0, allocated_[k]) / capacity_[k] : 0.0;
  for (std::size_t q = 0; q < P; ++q) {
    out.pool_in_use[tu * P + q] = sc_.pools[q].capacity - pool_free_[q];
    out.pool_queue[tu * P + q] = static_cast<std::int32_t>(pool_queue_[q].size() - pool_head_[q]);
  }
  std::int32_t* state = &out.project_state[tu * PROJECT_STATE_COUNT];
  state[static_cast<int>(ProjectState::PENDING)] = out.projects - arrived;
  state[static_cast<int>(ProjectState::DONE)] = done;
  state[static_cast<int>(ProjectState::ACTIVE)] = active_projects;
  state[static_cast<int>(ProjectState::WAITING)] = arrived - done - active_projects;
}

//! Everything a replication starts from: the core reset, the projects generated, and the
//! mechanisms' on_replication_start.
void Flow::start_replication(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out) {
  draws_.start(seed, replication);
  replication_ = replication;
  out_ = &out;
  const int T = sc_.time.steps;
  const std::size_t S = sc_.stages.size(), D = sc_.disciplines.size(), P = sc_.pools.size();
  out.resize(T, static_cast<int>(S), static_cast<int>(D), static_cast<int>(P), sc_.authority_count(), sc_.mechanisms);

  for (AuthorityId a : ids<AuthorityId>(authorities())) {
    a_active_[a].clear();
    a_milestone_waiters_[a].clear();
    std::fill(a_milestone_done_[a].begin(), a_milestone_done_[a].end(), 0);
    a_lep_step_[a] = -1;
    a_close_step_[a] = -1;
    signals_.no_lep[a] = 0;
    signals_.attributes[a] = AuthorityAttributes{};
    signals_.health[a] = 0.5;
    signals_.productivity[a] = 1.0;
    signals_.stalled_until[a] = 0;
    signals_.team[a] = group(a).team.data();
  }
  signals_.price_factor = 1.0;
  for (auto& v : earliest_calendar_) v.clear();
  for (std::size_t q = 0; q < P; ++q) {
    pool_free_[q] = sc_.pools[q].capacity;
    pool_queue_[q].clear();
    pool_head_[q] = 0;
  }
  std::fill(gate_waiting_.begin(), gate_waiting_.end(), 0);
  std::fill(stage_running_.begin(), stage_running_.end(), 0);
  std::fill(stage_blocked_.begin(), stage_blocked_.end(), 0);
  std::fill(capacity_.begin(), capacity_.end(), 0.0);
  std::fill(allocated_.begin(), allocated_.end(), 0.0);
  std::fill(a_alloc_.begin(), a_alloc_.end(), 0.0);
  a_touched_.fill(0);
  a_from_.fill(NOT_TOUCHED);
  a_watched_running_.fill(0);
  touched_.clear();
  heap_.clear();
  a_heap_pos_.fill(-1);
  a_next_.fill(NEVER);
  now_ = 0;
  step_ = 0;
  active_projects_ = 0;

  generate_projects(out);
  for (Mechanism* m : phase_[PHASE_REPLICATION_START]) m->on_replication_start();
  order_entries();
  cursor_ = Cursor{};

  events_ = EventCounts{};
}

//! One step (docs/model.md, "Time steps": the order of a step). The step's boundary
//! events at its start, its series, then its events in time order up to its end.
void Flow::step(int t) {
  ReplicationResult& out = *out_;
  const std::size_t D = sc_.disciplines.size();
  const int T = sc_.time.steps;
  step_ = t;
  now_ = t;
  while (cursor_.next_entry < entry_order_.size() && a_entry_step_[entry_order_[cursor_.next_entry]] <= t) {
    const auto& team = group(entry_order_[cursor_.next_entry]).team;
    for (std::size_t k = 0; k < D; ++k) capacity_[k] += team[k];
    ++cursor_.next_entry;
  }
  // 0. Mechanisms that act at the start of a step.
  for (Mechanism* m : phase_[PHASE_STEP_START]) m->on_step_start(t);
  // 1. Stages whose earliest month has come.
  for (const Item& item : earliest_calendar_[static_cast<std::size_t>(t)]) {
    Item next = item;
    next.gate = GATE_MILESTONE;
    pass_gates(next, t);
  }
  // 2. Projects arriving on the step's start.
  while (cursor_.next_arrival < arrival_order_.size() && out.arrival_step[ix(arrival_order_[cursor_.next_arrival])] <= t)
    arrive(arrival_order_[cursor_.next_arrival++]);
  // 3. Authorities whose team, productivity or stall changed since their last allocation
  //    (monthly mechanisms act on the grid) are re-allocated; the others keep their rates.
  for (AuthorityId a : ids<AuthorityId>(authorities()))
    if (!a_touched_[a] && !a_active_[a].empty() && inputs_changed(a)) touch(a);
  allocate_touched();

  // 4. The step's series: the state at its start.
  record_step(t, cursor_.arrived, cursor_.done, active_projects_);

  // 5. The step's events in time order: completions (due by the step's end) and arrivals
  //    (before it), a completion first at equal times. Each event re-allocates the
  //    authorities it touched, which schedules their next completions.
  const double end = t + 1.0;
  for (;;) {
    const double tc = heap_.empty() ? NEVER : a_next_[heap_.front()];
    double ta = NEVER;
    ProjectId next_project{};
    if (t + 1 < T && cursor_.next_arrival < arrival_order_.size()) {
      next_project = arrival_order_[cursor_.next_arrival];
      if (out.arrival_step[ix(next_project)] == t + 1 && p_arrival_time_[next_project] < end)
        ta = p_arrival_time_[next_project];
    }
    if (tc <= end + TIME_EPSILON && tc <= ta) {
      const AuthorityId a = heap_.front();
      now_ = std::max(now_, std::min(tc, end));
      complete_due(a);  // a is re-allocated below, which re-schedules it
    } else if (ta < end) {
      now_ = std::max(now_, ta);
      ++cursor_.next_arrival;
      arrive(next_project);
    } else {
      break;
    }
    allocate_touched();
  }
  now_ = end;
  cursor_.done = out.completed;
  // Watched work's progress is taken at the step's end, so each step sees its own.
  for (AuthorityId a : ids<AuthorityId>(authorities()))
    if (a_watched_running_[a] > 0) advance(a);

  // 6. Mechanisms that act at the end of a step (their changes take effect from the next).
  for (Mechanism* m : phase_[PHASE_STEP_END]) m->on_step_end(t);
  if ((t + 1) % steps_per_year_ == 0)
    for (Mechanism* m : phase_[PHASE_YEAR_END]) m->on_year_end(t, (t + 1) / steps_per_year_);
  if (!out.leps_formed.empty()) {
    std::int32_t formed = 0;
    for (AuthorityId a : ids<AuthorityId>(authorities())) formed += a_lep_step_[a] >= 0 ? 1 : 0;
    out.leps_formed[static_cast<std::size_t>(t)] = formed;
  }
  for (Mechanism* m : phase_[PHASE_RECORD]) m->record(t);
}

void Flow::run_steps(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out, int stop_step) {
  start_replication(seed, replication, out);
  for (int t = 0; t < stop_step; ++t) step(t);
  const int T = sc_.time.steps;
  if (stop_step < T) return;  // SimulatorProbe::prepare: the state at the start of stop_step
  for (Mechanism* m : phase_[PHASE_FINISH]) m->finish();
  if (out.completed == out.projects) {
    out.finish_step = -1;
    for (auto c : out.completion_step) out.finish_step = std::max(out.finish_step, c);
  }
  prune_phases();  // what the replication showed to be default is not called again
}

}  // namespace detail

// ReplicationResult::resize: engine/src/outputs.cpp, from the output registry.

const Distribution& standard_normal() {
  static const Distribution d = Distribution::normal(0.0, 1.0);
  return d;
}

Simulator::Simulator(const Scenario& scenario) : flow_(std::make_unique<detail::Flow>(scenario)) {}
Simulator::~Simulator() = default;
Simulator::Simulator(Simulator&&) noexcept = default;
Simulator& Simulator::operator=(Simulator&&) noexcept = default;

void Simulator::run(std::uint32_t replication, ReplicationResult& out) { run(flow_->scenario().seed, replication, out); }

void Simulator::run(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out) {
  flow_->run_steps(seed, replication, out, flow_->scenario().time.steps);
}

const EventCounts& Simulator::events() const noexcept { return flow_->events(); }

std::vector<std::string> Simulator::mechanism_names() const {
  std::vector<std::string> names;
  for (const auto& m : flow_->mechanisms()) names.emplace_back(m->name());
  return names;
}

}  // namespace lepsim
