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

// A stage is complete when less than this much work (in steps) is left: sums of
// step fractions such as 10 x 0.1 must not leave a phantom extra step.
constexpr double WORK_EPSILON = 1e-9;

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
  blocked_.resize(S);
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
      // Steps are [k dt, (k+1) dt): a project arriving mid-step joins at the next boundary.
      out.arrival_step.push_back(sc_.time.step_at_or_after(month));
      out.completion_step.push_back(-1);
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
  item.started = step;
  if (p_start_step_[p] < 0) p_start_step_[p] = step;
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
  const int start = p_start_step_[p] >= 0 ? p_start_step_[p] : step;
  const double planned = planned_path_[static_cast<std::size_t>(p_type_[p])];
  const double delay = planned > 0 ? std::max(0.0, (step - start + 1) * sc_.time.step_months / planned - 1.0) : 0.0;
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
  if (st.national_pool >= 0) ++pool_free_[static_cast<std::size_t>(st.national_pool)];

  if (s == sc_.mechanisms.lep_stage && a_close_step_[a] < 0) close_procurement(a, step);
  auto& milestones = a_milestone_done_[a];
  if (!milestones[static_cast<std::size_t>(s)]) {
    milestones[static_cast<std::size_t>(s)] = 1;
    // Release this authority's items that waited for this milestone; keep the rest in order.
    auto& waiters = a_milestone_waiters_[a];
    std::size_t kept = 0;
    for (std::size_t i = 0; i < waiters.size(); ++i) {
      const Item& w = waiters[i];
      if (sc_.stages[static_cast<std::size_t>(type_stage(w.project, w.local_stage).stage)].authority_milestone == s) {
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
    if ((pred & bit) && (pred & ~done) == 0) ready_next_.push_back(Item{p, static_cast<std::int32_t>(j), 0.0, -1});
  }
  if (done == (n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1)) {
    out.completion_step[ix(p)] = step;
    ++out.completions[static_cast<std::size_t>(step)];
    ++out.completed;
    hand_over(p, step);
  }
}

//! Step 5 for one authority: its capacity shared in priority order (pass_gates keeps the
//! list ordered: nearest to handover first, then first come, first served); the scarcest
//! discipline sets a stage's rate (docs/model.md, "Capacity allocation"); stages progress.
void Flow::allocate(AuthorityId a, int t, int& active_projects) {
  const std::size_t D = sc_.disciplines.size();
  std::int32_t* stage_active = &out_->stage_active[static_cast<std::size_t>(t) * sc_.stages.size()];
  auto& items = a_active_[a];
  const double* team = signals_.team[a];
  std::copy(team, team + D, avail_.begin());
  // A stall (dispute) stops all of the LEP's work; productivity scales its staffed stages.
  const bool stalled = signals_.stalled_until[a] > t;
  const double prod = signals_.productivity[a];
  const std::uint8_t* watched = watched_.data();
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
    const auto s = static_cast<std::size_t>(c.stage);
    if (rate > 0) {
      const ProjectId p = item.project;
      ++stage_active[s];
      if (p_active_step_[p] != t) p_active_step_[p] = t, ++active_projects;
      const double progress = c.needs ? rate * prod : rate;
      if (watched[s]) {
        const double done = std::min(progress, item.remaining);
        for (Mechanism* m : watchers_[s]) m->on_progress(item, done, t);
      }
      item.remaining -= progress;
    } else {
      ++blocked_[s];  // progress 0: remaining unchanged, nothing spent
    }
    if (item.remaining <= WORK_EPSILON)
      completed_.push_back(item);
    else {
      if (kept != i) it[kept] = item;
      ++kept;
    }
  }
  items.resize(kept);
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

//! Step 6: the step's series, as the state during the step.
void Flow::record_step(int t, std::int32_t arrived, std::int32_t done, int active_projects) {
  ReplicationResult& out = *out_;
  const auto tu = static_cast<std::size_t>(t);
  const std::size_t S = sc_.stages.size(), D = sc_.disciplines.size(), P = sc_.pools.size();
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
  ready_next_.clear();
  std::fill(capacity_.begin(), capacity_.end(), 0.0);

  generate_projects(out);
  for (Mechanism* m : phase_[PHASE_REPLICATION_START]) m->on_replication_start();
  order_entries();
  cursor_ = Cursor{};

  events_ = EventCounts{};
}

//! One step (docs/model.md, "Core dynamics": the order of a step).
void Flow::step(int t) {
  ReplicationResult& out = *out_;
  const std::size_t D = sc_.disciplines.size(), P = sc_.pools.size();
  while (cursor_.next_entry < entry_order_.size() && a_entry_step_[entry_order_[cursor_.next_entry]] <= t) {
    const auto& team = group(entry_order_[cursor_.next_entry]).team;
    for (std::size_t k = 0; k < D; ++k) capacity_[k] += team[k];
    ++cursor_.next_entry;
  }
  // 0. Mechanisms that act at the start of a step.
  for (Mechanism* m : phase_[PHASE_STEP_START]) m->on_step_start(t);
  // 1. Tokens freed last step go to those who queued longest.
  for (std::size_t q = 0; q < P; ++q) {
    while (pool_free_[q] > 0 && pool_head_[q] < pool_queue_[q].size()) {
      Item item = pool_queue_[q][pool_head_[q]++];
      --pool_free_[q];
      item.gate = GATE_MECHANISMS;
      pass_gates(item, t);
    }
    if (pool_head_[q] == pool_queue_[q].size()) pool_queue_[q].clear(), pool_head_[q] = 0;
  }
  // 2. Successors and milestone releases from last step's completions.
  ready_now_.swap(ready_next_);
  ready_next_.clear();
  for (const Item& item : ready_now_) {
    if (item.gate < 0)
      make_ready(item, t);
    else
      pass_gates(item, t);
  }
  // 3. Stages whose earliest month has come.
  for (const Item& item : earliest_calendar_[static_cast<std::size_t>(t)]) {
    Item next = item;
    next.gate = GATE_MILESTONE;
    pass_gates(next, t);
  }
  // 4. Projects arriving now start every stage without predecessors.
  while (cursor_.next_arrival < arrival_order_.size() && out.arrival_step[ix(arrival_order_[cursor_.next_arrival])] <= t) {
    const ProjectId p = arrival_order_[cursor_.next_arrival++];
    ++cursor_.arrived;
    ++events_.arrivals;
    const auto& stages = sc_.types[static_cast<std::size_t>(p_type_[p])].stages;
    for (std::size_t l = 0; l < stages.size(); ++l)
      if (stages[l].predecessors == 0) make_ready(Item{p, static_cast<std::int32_t>(l), 0.0, -1}, t);
  }

  // 5. Each authority shares its capacity in priority order (pass_gates: nearest to handover first,
  //    then first come, first served); the scarcest discipline sets a stage's rate (docs/model.md, "Capacity allocation").
  completed_.clear();
  std::fill(blocked_.begin(), blocked_.end(), 0);
  std::fill(allocated_.begin(), allocated_.end(), 0.0);
  int active_projects = 0;
  for (AuthorityId a : ids<AuthorityId>(authorities()))
    if (!a_active_[a].empty()) allocate(a, t, active_projects);

  // 6. The step's series, as the state during the step.
  record_step(t, cursor_.arrived, cursor_.done, active_projects);

  // 7. Completions take effect: successors, milestones and tokens from the next step.
  for (const Item& item : completed_) complete(item, t);
  cursor_.done = out.completed;
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
