#pragma once
// The flow core of one replication (docs/model.md, "Core dynamics") and what the
// partnership mechanisms see of it. The core knows no mechanism by name: it calls the
// hooks of the modules the registry (mechanisms/registry.cpp) built for the scenario, at
// the phases docs/extending.md ("Adding a mechanism") lists.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "lepsim/rng.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

namespace lepsim::detail {

// Typed indices: an authority, a project (creation order) and a (global) stage are not
// interchangeable integers. ix() is the one conversion to a vector position.
enum class AuthorityId : std::int32_t {};
enum class ProjectId : std::int32_t {};
enum class StageId : std::int32_t {};

template <class Id>
constexpr std::size_t ix(Id id) noexcept {
  return static_cast<std::size_t>(id);
}

//! 0, 1, ..., n-1 as typed indices: `for (AuthorityId a : ids<AuthorityId>(n))`.
template <class Id>
class IdRange {
 public:
  class iterator {
   public:
    explicit iterator(std::int32_t i) : i_(i) {}
    Id operator*() const { return static_cast<Id>(i_); }
    iterator& operator++() { return ++i_, *this; }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }

   private:
    std::int32_t i_;
  };
  explicit IdRange(std::size_t n) : n_(static_cast<std::int32_t>(n)) {}
  iterator begin() const { return iterator(0); }
  iterator end() const { return iterator(n_); }

 private:
  std::int32_t n_;
};
template <class Id>
IdRange<Id> ids(std::size_t n) {
  return IdRange<Id>(n);
}

//! A column of structure-of-arrays state indexed by one kind of typed index only.
template <class Id, class T>
class IdVector {
 public:
  T& operator[](Id id) { return v_[ix(id)]; }
  const T& operator[](Id id) const { return v_[ix(id)]; }
  void assign(std::size_t n, const T& x) { v_.assign(n, x); }
  void resize(std::size_t n) { v_.resize(n); }
  void fill(const T& x) { std::fill(v_.begin(), v_.end(), x); }
  void clear() { v_.clear(); }
  void push_back(const T& x) { v_.push_back(x); }
  template <class... Args>
  void emplace_back(Args&&... args) {
    v_.emplace_back(std::forward<Args>(args)...);
  }
  std::size_t size() const { return v_.size(); }
  T* data() { return v_.data(); }

 private:
  std::vector<T> v_;
};

inline std::uint32_t entity(AuthorityId a) { return authority_entity(static_cast<int>(a)); }

//! A random stream's identity (docs/random-streams.md), stated once per draw site.
struct StreamId {
  std::uint32_t entity;
  Purpose purpose;
  std::uint16_t substream = 0;
};
inline StreamId stream_of(AuthorityId a, Purpose purpose, std::uint16_t substream = 0) {
  return {entity(a), purpose, substream};
}
//! Substreams of Purpose::AuthorityEntry (docs/random-streams.md): one per draw, so adding one shifts none.
enum AuthoritySubstream : std::uint16_t { ENTRY_MONTH = 0, SCHOOL_COUNT = 1, FIRST_PHASE = 2, NON_LEP = 3 };

//! Every draw of a replication goes through here: the stream is built from its identity
//! and, when a trace is set (SimulatorProbe), the draw recorded with the same identity.
class Draws {
 public:
  void start(std::uint64_t seed, std::uint32_t replication) { seed_ = seed, replication_ = replication; }
  void set_trace(std::vector<DrawRecord>* trace) noexcept { trace_ = trace; }
  bool tracing() const noexcept { return trace_ != nullptr; }

  //! The stream, untraced: for sites that draw an unknown number of variates (see note()).
  RandomStream open(const StreamId& id) const {
    return RandomStream(seed_, replication_, id.entity, id.purpose, id.substream);
  }
  //! One variate of `dist` from a fresh stream `id`.
  double sample(const StreamId& id, const Distribution& dist) {
    RandomStream s = open(id);
    note(id, &dist);
    return dist.sample(s);
  }
  //! One uniform from a fresh stream `id`.
  double uniform(const StreamId& id) {
    RandomStream s = open(id);
    note(id, nullptr);
    return s.uniform();
  }
  //! Records `count` draws from stream `id` (dist null: uniforms) in the trace, if any.
  void note(const StreamId& id, const Distribution* dist, std::uint32_t count = 1) {
    if (trace_) trace_->push_back(DrawRecord{id.entity, id.purpose, id.substream, dist, count});
  }

 private:
  std::uint64_t seed_ = 0;
  std::uint32_t replication_ = 0;
  std::vector<DrawRecord>* trace_ = nullptr;
};

//! One stream per authority drawn once a step (Purpose::Health, Purpose::Dispute): opened
//! at the replication's start, its draws counted while tracing and recorded at the end.
class AuthorityStreams {
 public:
  //! `dist` null: the stream gives uniforms.
  void open(const Draws& draws, std::size_t authorities, Purpose purpose, const Distribution* dist) {
    purpose_ = purpose, dist_ = dist, counting_ = draws.tracing();
    streams_.clear();
    for (AuthorityId a : ids<AuthorityId>(authorities)) streams_.emplace_back(draws.open(stream_of(a, purpose)));
    counts_.assign(counting_ ? authorities : 0, 0);
  }
  double uniform(AuthorityId a) {
    if (counting_) ++counts_[a];
    return streams_[a].uniform();
  }
  double sample(AuthorityId a) {
    if (counting_) ++counts_[a];
    return dist_->sample(streams_[a]);
  }
  RandomStream& stream(AuthorityId a) { return streams_[a]; }
  //! One trace record per authority that drew, with its count.
  void flush(Draws& draws) {
    for (AuthorityId a : ids<AuthorityId>(counts_.size()))
      if (counts_[a] > 0) draws.note(stream_of(a, purpose_), dist_, counts_[a]);
  }

 private:
  Purpose purpose_ = Purpose::Health;
  const Distribution* dist_ = nullptr;
  bool counting_ = false;
  IdVector<AuthorityId, RandomStream> streams_;
  IdVector<AuthorityId, std::uint32_t> counts_;
};

//! One stage instance of one project: 64 bytes, one cache line (the lists are scanned at
//! every allocation and completion, and items are copied through the gates).
struct alignas(64) Item {
  ProjectId project;
  std::int32_t local_stage;  //!< index into the project's type's stages
  double remaining;          //!< steps of work left at full rate, as of `since`
  std::int32_t gate;         //!< next gate to pass (Gate); -1: work not drawn yet
  std::int32_t cls = 0;      //!< (type, local stage) class, index into Flow::cls_; set by make_ready
  double total = 0;          //!< steps of work at the start
  // Set by the capacity allocation (Flow::allocate), constant until the authority's next
  // re-allocation: the rate (share of full resourcing) and the speed (steps of work done
  // per step, rate x productivity for a staffed stage); 0 while queued for capacity.
  double rate = 0;
  double speed = 0;
  double since = 0;   //!< time `remaining` is at (steps)
  double finish = 0;  //!< completion time at this speed; +inf while it does not progress
};
static_assert(sizeof(Item) == 64);

//! Gates a ready stage instance passes, in this order, before it competes for capacity:
//! the mechanisms' gates (registry order) come between the national pools and capacity.
enum Gate : std::int32_t { GATE_EARLIEST = 0, GATE_MILESTONE = 1, GATE_NATIONAL = 2, GATE_MECHANISMS = 3 };

//! An authority's set-up attributes, drawn at the replication's start (docs/model.md, 11).
struct AuthorityAttributes {
  double planning = 0.5, vision = 0.5, governance = 0.5, mobilisation = 0.5, leadership = 0.5;
  std::uint8_t practices = 0;  //!< bit i: practice i adopted
  bool targets = false;        //!< transformation targets in contracts
};

//! A project's capital, drawn once: the cost mechanism provides it, the funding envelope asks.
class CapitalSource {
 public:
  virtual ~CapitalSource() = default;
  virtual double capital(ProjectId project) = 0;
};

//! What mechanisms tell the core and each other, reset to the neutral values (those of a
//! scenario without the mechanism) at every replication's start. Multiplying by a neutral
//! 1.0 is exact, so a mechanism that is off leaves the core's numbers bit for bit.
struct Signals {
  IdVector<AuthorityId, AuthorityAttributes> attributes;  //!< set-up draws (default: average)
  IdVector<AuthorityId, double> health;                   //!< partnering health seen by others: 0.5 before the LEP
  IdVector<AuthorityId, double> productivity;             //!< progress multiplier of staffed stages, 1
  IdVector<AuthorityId, std::int32_t> stalled_until;      //!< the LEP's work stalls while step < this, 0
  IdVector<AuthorityId, const double*> team;              //!< [D] FTE available now: the group's team
  IdVector<ProjectId, double> capital_factor;             //!< capital multiplier (procured on its own), 1
  IdVector<AuthorityId, std::uint8_t> no_lep;             //!< 1: financial close forms no LEP (non-LEP route), 0
  double price_factor = 1.0;                              //!< capital multiplier of the market, 1
  CapitalSource* capital = nullptr;                       //!< null without the cost mechanism
};

//! A project handed over (its last stage done), as the handover hooks see it in turn.
struct Handover {
  ProjectId project;
  AuthorityId authority;
  int step;
  double delay;    //!< relative to its type's planned path, >= 0
  bool on_time;    //!< delay within the on-time tolerance
  double health;   //!< the LEP's health before this handover moves it
  double overrun;  //!< relative cost overrun; 0 until the cost mechanism sets it
};

//! [stage] 1 for the stages listed (a mechanism's scenario list of stage indices).
inline std::vector<std::uint8_t> stage_flags(std::size_t stages, const std::vector<int>& listed) {
  std::vector<std::uint8_t> f(stages, 0);
  for (int s : listed) f[static_cast<std::size_t>(s)] = 1;
  return f;
}

class Flow;

//! The phases whose hooks every mechanism gets (the per-stage ones are listed by stage).
enum Phase : int {
  PHASE_REPLICATION_START,
  PHASE_STEP_START,
  PHASE_LEP_FORMED,
  PHASE_CLOSE,
  PHASE_HANDOVER,
  PHASE_STEP_END,
  PHASE_YEAR_END,
  PHASE_RECORD,
  PHASE_FINISH,
  PHASE_COUNT
};

//! A partnership mechanism: its own state, hooks the core calls at named phases. Every hook
//! defaults to nothing; the per-stage ones are called only for the stages the mechanism
//! claims (adjusts, gates, watches), so the hot loops pay only where a mechanism acts.
class Mechanism {
 public:
  explicit Mechanism(Flow& flow) : flow_(flow) {}
  virtual ~Mechanism() = default;
  Mechanism(const Mechanism&) = delete;
  Mechanism& operator=(const Mechanism&) = delete;
  virtual const char* name() const = 0;

  // Stages whose instances get adjust_work / gate / on_stage_start and on_progress.
  virtual bool adjusts(StageId) const { return false; }
  virtual bool gates(StageId) const { return false; }
  virtual bool watches(StageId) const { return false; }

  //! After the projects are generated, before step 0: reset state, draw per-authority values.
  virtual void on_replication_start() { defaulted(PHASE_REPLICATION_START); }
  //! Start of every step (time `step`), before its earliest-month releases and boundary
  //! arrivals. Changes to Signals::team / productivity / stalled_until are found by the core.
  virtual void on_step_start(int /*step*/) { defaulted(PHASE_STEP_START); }
  //! A stage instance's work (months) when it becomes ready, in registry order.
  virtual double adjust_work(ProjectId, StageId, double work) { return work; }
  //! The mechanism's gate: false holds the item (the mechanism keeps it and later calls
  //! Flow::pass_gates with item.gate = gate_index() + 1).
  virtual bool gate(const Item&, int /*step*/) { return true; }
  //! An item passed every gate (it now competes for capacity).
  virtual void on_stage_start(const Item&, StageId, int /*step*/) {}
  //! An item progressed by `progress` steps of work within step `step`: called when the
  //! core takes its progress, at its authority's events and at every step's end (hot).
  virtual void on_progress(const Item&, double /*progress*/, int /*step*/) {}
  virtual void on_lep_formed(AuthorityId, int /*step*/) { defaulted(PHASE_LEP_FORMED); }
  //! The authority's first completion of the LEP stage (financial close), before its LEP
  //! forms (if it does: Signals::no_lep). docs/model.md, section 21.
  virtual void on_close(AuthorityId, int /*step*/) { defaulted(PHASE_CLOSE); }
  virtual void on_handover(Handover&) { defaulted(PHASE_HANDOVER); }
  //! At the step's end, after its completions (time step + 1).
  virtual void on_step_end(int /*step*/) { defaulted(PHASE_STEP_END); }
  //! After on_step_end at the last step of a programme year (year = years completed).
  virtual void on_year_end(int /*step*/, int /*year*/) { defaulted(PHASE_YEAR_END); }
  //! The mechanism's series for the step.
  virtual void record(int /*step*/) { defaulted(PHASE_RECORD); }
  //! After the last step: per-LEP outputs, trace records of per-step streams.
  virtual void finish() { defaulted(PHASE_FINISH); }

  // Benchmarks (SimulatorProbe::step_lep): one LEP's per-step work, and saving and
  // restoring that LEP's state so the step can be repeated. Only mechanisms with per-LEP
  // work in on_step_end / on_year_end need them, and say so with bench_steps_leps().
  virtual bool bench_steps_leps() const { return false; }
  virtual void bench_step_lep(AuthorityId, int /*step*/) {}
  virtual void bench_save(AuthorityId) {}
  virtual void bench_restore(AuthorityId) {}

  int gate_index() const noexcept { return gate_index_; }
  void set_gate_index(int g) noexcept { gate_index_ = g; }
  //! Whether the mechanism's hook of `phase` was found to be the default (it does nothing):
  //! the core then stops calling it (Flow::prune_phases), so a phase costs only its users.
  bool is_default(Phase phase) const noexcept { return defaulted_ >> phase & 1u; }

 protected:
  Flow& flow_;

 private:
  void defaulted(Phase phase) noexcept { defaulted_ |= 1u << phase; }
  int gate_index_ = -1;
  std::uint32_t defaulted_ = 0;  // bit per Phase: its default hook ran
};

using MechanismList = std::vector<std::unique_ptr<Mechanism>>;
//! The scenario's mechanisms, in hook order (mechanisms/registry.cpp).
MechanismList make_mechanisms(Flow& flow);

class Flow {
 public:
  explicit Flow(const Scenario& scenario);
  ~Flow();
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;

  //! Runs replication `replication` up to the start of step `stop_step` (all steps: finished).
  void run_steps(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out, int stop_step);

  // What mechanisms read and drive.
  const Scenario& scenario() const noexcept { return sc_; }
  Draws& draws() noexcept { return draws_; }
  Signals& signals() noexcept { return signals_; }
  ReplicationResult& out() noexcept { return *out_; }
  EventCounts& events() noexcept { return events_; }
  const EventCounts& events() const noexcept { return events_; }
  std::size_t authorities() const noexcept { return sc_.authority_group.size(); }
  std::size_t projects() const noexcept { return p_authority_.size(); }
  std::size_t disciplines() const noexcept { return sc_.disciplines.size(); }
  const AuthorityGroup& group(AuthorityId a) const {
    return sc_.groups[static_cast<std::size_t>(sc_.authority_group[ix(a)])];
  }
  AuthorityId authority_of(ProjectId p) const { return p_authority_[p]; }
  std::int32_t type_of(ProjectId p) const { return p_type_[p]; }
  std::uint32_t entity_of(ProjectId p) const { return project_entity(static_cast<int>(p_authority_[p]), p_ordinal_[p]); }
  int start_step(ProjectId p) const { return p_start_step_[p]; }  //!< first step a stage started; -1 before
  int entry_step(AuthorityId a) const { return a_entry_step_[a]; }
  int lep_step(AuthorityId a) const { return a_lep_step_[a]; }  //!< step the LEP formed; -1 before
  int close_step(AuthorityId a) const { return a_close_step_[a]; }  //!< step of financial close (LEP or not); -1 before
  int projects_of(AuthorityId a) const { return a_projects_[a]; }
  int steps_per_year() const noexcept { return steps_per_year_; }
  //! FTE per discipline of the authorities entered so far (a mechanism may restate it).
  std::vector<double>& programme_capacity() noexcept { return capacity_; }
  //! Moves an item through its remaining gates, from item.gate; it stops at the first closed one.
  //! It passes them at the current time (now()), within step `step`.
  void pass_gates(Item item, int step);
  //! The exact time of the event being processed, in steps from the programme's start
  //! (docs/model.md, "Time steps"): within [step, step + 1] while step `step` runs.
  double now() const noexcept { return now_; }

  const MechanismList& mechanisms() const noexcept { return mechanisms_; }

  // SimulatorProbe (benchmarks): one authority's capacity allocation on the current state.
  std::vector<Item>& active_items(AuthorityId a) { return a_active_[a]; }
  std::vector<Item>& saved_items() { return bench_items_; }
  const std::vector<Mechanism*>& lep_steppers() const noexcept { return lep_steppers_; }
  //! Re-allocates authority a's capacity at now() (docs/model.md, "Capacity allocation"):
  //! sets each item's rate and speed and, when `book`, re-times the items whose speed changed
  //! and sets the counts, the FTE allocated and the authority's next completion event.
  void allocate(AuthorityId a, bool book);

 private:
  // One entry per (type, local stage): what the capacity allocation needs of a stage
  // instance, flattened so the per-step loop reads one small record per item.
  struct StageClass {
    std::int32_t stage;         // global stage index
    std::int32_t needs;         // any demand > 0
    std::int32_t first, count;  // range in cls_k_ / cls_d_: disciplines with demand > 0
    std::uint64_t mask;         // bit k: demands discipline k (k < 64)
    //! Pipeline priority (docs/model.md, "Capacity allocation"): stages on the longest
    //! chain of the type's stages still to run after this one. Fewer goes first.
    std::int32_t to_go = 0;
  };
  //! Mechanisms acting on each stage, for one per-stage hook.
  using PerStage = std::vector<std::vector<Mechanism*>>;
  void index_mechanisms();
  //! Drops from each phase's list the mechanisms whose hook turned out to be the default.
  void prune_phases();

  const TypeStage& type_stage(ProjectId p, std::int32_t local) const {
    return sc_.types[static_cast<std::size_t>(p_type_[p])].stages[static_cast<std::size_t>(local)];
  }
  void start_replication(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);
  void step(int step);
  void generate_projects(ReplicationResult& out);
  void order_entries();
  void make_ready(const Item& item, int step);
  void complete(const Item& item, int step);
  void form_lep(AuthorityId a, int step);
  void close_procurement(AuthorityId a, int step);
  void hand_over(ProjectId p, int step);
  void record_step(int step, std::int32_t arrived, std::int32_t done, int active_projects);

  // The event core (docs/model.md, "Time steps"): each item progresses at the speed of its
  // authority's last allocation from its `since`, to its `finish`; an event that changes an
  // authority's list or inputs marks it (touch), and every authority so marked is
  // re-allocated once, after the event (allocate_touched): an item whose speed changed has
  // its work to now taken (progress) and is re-timed; the next completion is scheduled.
  void advance(AuthorityId a);
  void progress(Item& item);
  void notify_progress(const Item& item, std::size_t stage, double done);
  void touch(AuthorityId a, std::size_t from = 0);
  void allocate_touched();
  void arrive(ProjectId p);
  void complete_due(AuthorityId a);
  //! Item status for the counts: running (rate > 0) or queued for capacity.
  void count_item(const Item& item, int sign);
  //! Whether an authority's allocation inputs (team, productivity, stall) changed since its
  //! last allocation.
  bool inputs_changed(AuthorityId a) const;
  // The completion events: an indexed binary min-heap of the authorities with a next
  // completion, on (time, authority), at most one entry each, re-keyed in place.
  //! (Bitwise, not short-circuit: the heap's comparisons are unpredictable branches.)
  bool sooner(AuthorityId x, AuthorityId y) const {
    const double tx = a_next_[x], ty = a_next_[y];
    return (tx < ty) | ((tx == ty) & (x < y));
  }
  void schedule(AuthorityId a, double time);
  void heap_up(std::size_t i);
  void heap_down(std::size_t i);

  const Scenario& sc_;
  std::uint32_t replication_ = 0;  // named in messages
  Draws draws_;
  Signals signals_;
  EventCounts events_;
  ReplicationResult* out_ = nullptr;
  MechanismList mechanisms_;
  std::vector<Mechanism*> phase_[PHASE_COUNT];  // [phase] mechanisms called, in registry order
  PerStage adjusters_, watchers_;
  std::vector<Mechanism*> gates_;                 // [gate - GATE_MECHANISMS]
  std::vector<std::vector<std::uint8_t>> gated_;  // [gate - GATE_MECHANISMS][stage]
  std::vector<std::uint8_t> watched_;             // [stage] any watcher
  std::vector<Mechanism*> lep_steppers_;          // those with per-LEP step work (bench_steps_leps)
  std::vector<Item> bench_items_;                 // SimulatorProbe::step_lep's saved items
  std::int32_t gate_capacity_ = GATE_MECHANISMS;  // past every gate

  std::vector<StageClass> cls_;
  std::vector<std::int32_t> cls_base_;  // [type] index of its first class
  std::vector<std::int32_t> cls_k_;     // discipline index
  std::vector<double> cls_d_;           // its demand, FTE
  std::vector<int> earliest_step_;      // [stage]
  std::vector<double> planned_path_;    // [type] months along the longest planned path
  int steps_per_year_ = 12;

  // Projects (structure of arrays, index = creation order).
  IdVector<ProjectId, AuthorityId> p_authority_;
  IdVector<ProjectId, std::int32_t> p_type_, p_ordinal_;
  IdVector<ProjectId, std::uint64_t> p_done_mask_;   // bit per local stage
  IdVector<ProjectId, std::int32_t> p_active_step_;  // last step with an item progressing
  IdVector<ProjectId, std::int32_t> p_start_step_;   // first step any of its stages passed its gates
  IdVector<ProjectId, double> p_start_time_;         // ... and the exact time, in steps
  IdVector<ProjectId, double> p_arrival_time_;       // exact arrival, steps (the step boundary if on it)
  IdVector<ProjectId, std::int32_t> p_running_;      // its items with rate > 0
  std::vector<ProjectId> arrival_order_;             // projects sorted by arrival step
  std::vector<std::int32_t> bucket_;                 // scratch: counting sort by step
  std::vector<AuthorityId> entry_order_;             // authorities in order of entry step
  struct Cursor {                                    // where the replication has got to
    std::size_t next_entry = 0, next_arrival = 0;    // into entry_order_, arrival_order_
    std::int32_t arrived = 0, done = 0;              // projects arrived, finished
  } cursor_;

  // Authorities.
  IdVector<AuthorityId, int> a_entry_step_;
  IdVector<AuthorityId, std::int32_t> a_lep_step_;
  IdVector<AuthorityId, std::int32_t> a_close_step_;   // financial close, LEP or not
  IdVector<AuthorityId, std::int32_t> a_projects_;     // projects generated
  IdVector<AuthorityId, std::vector<Item>> a_active_;  // items competing for capacity, in priority order (§4)
  IdVector<AuthorityId, std::vector<Item>> a_milestone_waiters_;
  IdVector<AuthorityId, std::vector<std::uint8_t>> a_milestone_done_;  // [authority][stage]
  std::vector<double> avail_;                                          // scratch: FTE left, per discipline
  std::vector<double> allocated_;                                      // FTE allocated now, per discipline
  std::vector<double> capacity_;                                       // FTE of authorities entered so far, per discipline
  IdVector<AuthorityId, double> a_next_;                               // its next completion (heap key)
  IdVector<AuthorityId, std::int32_t> a_heap_pos_;                     // its place in heap_; -1 if none
  IdVector<AuthorityId, std::uint8_t> a_touched_;                      // in touched_
  IdVector<AuthorityId, std::size_t> a_from_;                          // first list position to re-allocate
  static constexpr std::size_t NOT_TOUCHED = static_cast<std::size_t>(-1);
  IdVector<AuthorityId, std::int32_t> a_watched_running_;  // running items a watcher follows
  // The inputs of its last allocation (inputs_changed): stalled, productivity, team [A*D].
  IdVector<AuthorityId, std::uint8_t> a_seen_stalled_;
  IdVector<AuthorityId, double> a_seen_prod_;
  std::vector<double> a_seen_team_, a_alloc_;  // [A*D]; a_alloc_: FTE it has allocated now
  std::vector<AuthorityId> touched_;           // to re-allocate after the current event
  std::vector<AuthorityId> heap_;              // completion events (schedule)
  double now_ = 0;                             // time of the current event, steps
  int step_ = 0;                               // step being run
  std::int32_t active_projects_ = 0;           // projects with an item running
  std::vector<std::int32_t> stage_running_;    // [stage] items with rate > 0 now
  std::vector<std::int32_t> stage_blocked_;    // [stage] items in the lists with rate 0 now

  // National pools.
  std::vector<int> pool_free_;
  std::vector<std::vector<Item>> pool_queue_;  // FIFO, read from pool_head_
  std::vector<std::size_t> pool_head_;

  // Events.
  std::vector<std::vector<Item>> earliest_calendar_;  // [step] items waiting for a stage's earliest month
  std::vector<Item> completed_;                       // scratch: the items of one completion event
  std::vector<Item> released_;                        // scratch: milestone waiters released

  std::vector<std::int32_t> gate_waiting_;  // [stage] items held by a gate right now
};

}  // namespace lepsim::detail
