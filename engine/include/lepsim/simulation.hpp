#pragma once
// One replication of the programme: projects flow through their stages under
// each authority's limited capacity and the shared national pools. The rules
// are in docs/model.md ("Core dynamics"); keep the two in step.
//
// A Simulator is a per-thread workspace: it owns scratch sized for the
// largest replication seen and reuses it, so the hot loop does not allocate
// once warm. A replication's result depends only on (scenario, seed,
// replication index), never on which thread or in which order it ran.

#include <cstdint>
#include <vector>

#include "lepsim/outputs.hpp"
#include "lepsim/rng.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {

//! Random-stream entities (docs/random-streams.md): authorities are 0..2^15-1;
//! projects set the top bit. Fixed per (authority, ordinal), so two scenarios that
//! share a seed give the same draws to the same project (common random numbers).
inline std::uint32_t authority_entity(int authority) { return static_cast<std::uint32_t>(authority); }
inline std::uint32_t project_entity(int authority, int ordinal) {
  return 0x80000000u | (static_cast<std::uint32_t>(authority) << 16) | static_cast<std::uint32_t>(ordinal);
}

//! One random draw site's use in a replication: `count` draws from the stream
//! (entity, purpose, substream), each `dist->sample` or, when dist is null, one uniform.
//! Replaying a replication's records draws exactly the variates it consumed (bench/).
struct DrawRecord {
  std::uint32_t entity;
  Purpose purpose;
  std::uint16_t substream;
  const Distribution* dist;
  std::uint32_t count;
};

//! N(0, 1): the partnering-health innovations (Purpose::Health).
const Distribution& standard_normal();

//! What happened in a replication, counted as events (docs/performance.md defines them).
struct EventCounts {
  std::int64_t arrivals = 0;     //!< projects entering the programme
  std::int64_t ready = 0;        //!< stage instances made ready (work drawn)
  std::int64_t started = 0;      //!< stage instances through their gates
  std::int64_t completed = 0;    //!< stage instances finished
  std::int64_t leps = 0;         //!< LEPs formed
  std::int64_t disputes = 0;     //!< disputes started
  std::int64_t total() const { return arrivals + ready + started + completed + leps + disputes; }
};

class Simulator {
 public:
  explicit Simulator(const Scenario& scenario);
  //! Runs replication `replication` with the scenario's seed (or `seed`).
  void run(std::uint32_t replication, ReplicationResult& out);
  void run(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);

  //! Events of the last replication run.
  const EventCounts& events() const noexcept { return events_; }
  //! When set, each replication appends its draws to *trace (cleared by the caller).
  void set_draw_trace(std::vector<DrawRecord>* trace) noexcept { trace_ = trace; }

  //! Benchmark hooks (bench/): run replication `replication` up to the start of step
  //! `step`, then time one step of one LEP on that state with step_lep(), which runs its
  //! capacity allocation and stage progress, partnering health and scorecard and then
  //! restores the state, so it can be repeated.
  void prepare(std::uint32_t replication, int step, ReplicationResult& out);
  double step_lep(int authority, int step, ReplicationResult& out);

 private:
  void run_steps(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out, int stop_step);
  void allocate(std::size_t authority, int step, ReplicationResult& out, int& active_projects);
  void update_health_one(std::size_t authority, double dt, double sq);
  void score_one(int authority, int step, int year, ReplicationResult& out);
  void traced(std::uint32_t entity, Purpose purpose, std::uint16_t substream, const Distribution* dist,
              std::uint32_t count = 1) {
    if (trace_) trace_->push_back(DrawRecord{entity, purpose, substream, dist, count});
  }

  // Gates a ready stage instance passes, in this order, before it competes for capacity.
  enum Gate : std::int32_t { GATE_EARLIEST = 0, GATE_MILESTONE = 1, GATE_NATIONAL = 2, GATE_FUNDING = 3, GATE_CAPACITY = 4 };

  struct Item {                 // one stage instance of one project
    std::int32_t project;
    std::int32_t local_stage;   // index into the project's type's stages
    double remaining;           //!< steps of work left at full rate
    std::int32_t gate;          // next gate to pass (Gate enum in simulation.cpp)
    std::int32_t cls = 0;       //!< (type, local stage) class, index into cls_; set by make_ready
    double total = 0;           //!< steps of work at the start
    std::int32_t started = -1;  //!< step it passed its gates
  };

  void generate_projects(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);
  void make_ready(const Item& item, int step);
  void pass_gates(Item item, int step);
  void complete(const Item& item, int step, ReplicationResult& out);

  // Partnership mechanisms (mechanisms.cpp).
  void draw_setups();
  double adjusted_work(int project, int stage, double work);
  void form_lep(int authority, int step, ReplicationResult& out);
  void start_disputes(int step, ReplicationResult& out);
  double health(int authority) const;
  //! Sets a LEP's health on the logit scale and the cached health, logistic(logit), with it.
  void set_health_logit(std::size_t authority, double x);
  double capital_of(int project, int step);
  const double* team_target(int authority, int step);
  double productivity(int authority) const;
  bool funding_gate(Item& item, int step);
  void new_programme_year(int step);
  void commit_capital(int project, int step);
  void spend_progress(const Item& item, double progress, int step, ReplicationResult& out);
  void finish_project(int project, int step, ReplicationResult& out);
  void update_teams(int step, ReplicationResult& out);
  void update_health(int step);
  void score_year(int step, ReplicationResult& out);
  void record_mechanisms(int step, ReplicationResult& out);
  void finish_mechanisms(ReplicationResult& out);
  std::uint32_t project_stream_entity(int project) const;

  const Scenario& sc_;
  std::uint64_t seed_ = 0;
  std::uint32_t replication_ = 0;

  // One entry per (type, local stage): what the capacity allocation needs of a stage
  // instance, flattened so the per-step loop reads one small record per item.
  struct StageClass {
    std::int32_t stage;          // global stage index
    std::int32_t needs;          // any demand > 0
    std::int32_t first, count;   // range in cls_k_ / cls_d_: disciplines with demand > 0
    std::uint64_t mask;          // bit k: demands discipline k (k < 64)
  };
  std::vector<StageClass> cls_;
  std::vector<std::int32_t> cls_base_;  // [type] index of its first class
  std::vector<std::int32_t> cls_k_;     // discipline index
  std::vector<double> cls_d_;           // its demand, FTE
  std::vector<int> earliest_step_;                          // [stage]

  // Projects (structure of arrays, index = creation order).
  std::vector<std::int32_t> p_authority_, p_type_, p_ordinal_;
  std::vector<std::uint64_t> p_done_mask_;   // bit per local stage
  std::vector<std::int32_t> p_active_step_;  // last step with an item progressing
  std::vector<std::int32_t> arrival_order_;  // projects sorted by arrival step
  std::vector<std::int32_t> bucket_;         // scratch: counting sort by step
  std::vector<int> entry_order_;             // authorities in order of entry step

  // Authorities.
  std::vector<int> a_entry_step_;
  std::vector<std::vector<Item>> a_active_;      // FCFS lists of items competing for capacity
  std::vector<std::vector<Item>> a_milestone_waiters_;
  std::vector<std::vector<std::uint8_t>> a_milestone_done_;  // [authority][stage]
  std::vector<double> avail_;                    // scratch: FTE left this step, per discipline
  std::vector<double> allocated_;                // scratch: FTE allocated this step, per discipline
  std::vector<double> capacity_;                 // FTE of authorities entered so far, per discipline

  // National pools.
  std::vector<int> pool_free_;
  std::vector<std::vector<Item>> pool_queue_;     // FIFO, read from pool_head_
  std::vector<std::size_t> pool_head_;

  // Events.
  std::vector<std::vector<Item>> earliest_calendar_;  // [step] items waiting for a stage's earliest month
  std::vector<Item> ready_next_;                      // readied by this step's completions
  std::vector<Item> ready_now_;
  std::vector<Item> completed_;

  // Per-authority partnership state (structure of arrays, index = authority).
  struct AuthoritySetupDraw {
    double planning = 0.5, vision = 0.5, governance = 0.5, mobilisation = 0.5, leadership = 0.5;
    std::uint8_t practices = 0;  // bit i: practice i adopted
    bool targets = false;        // transformation targets in contracts
  };
  std::vector<AuthoritySetupDraw> a_setup_;
  std::vector<std::int32_t> a_lep_step_;        // step the LEP formed, -1 before
  std::vector<double> a_health_logit_, a_health_mu_, a_health_kappa_;
  std::vector<double> a_health_value_;          // logistic(a_health_logit_), kept in step by set_health_logit
  std::vector<RandomStream> a_health_stream_, a_dispute_stream_;
  std::vector<std::int32_t> a_stalled_until_;   // work stalled while step < this
  std::vector<std::uint8_t> a_exclusive_;
  std::vector<std::int32_t> a_failing_years_;
  std::vector<std::int32_t> a_projects_;        // projects generated
  // This scorecard year's record, per authority.
  std::vector<double> a_year_overrun_;
  std::vector<std::int32_t> a_year_handovers_, a_year_ontime_;
  std::vector<const double*> a_target_;         // team_target's last answer, valid for steps < a_target_until_
  std::vector<std::int32_t> a_target_until_;
  std::vector<double> team_;                    // [A*D] FTE employed now
  std::vector<double> pipeline_;                // [A*D*lag] FTE hired, arriving by step modulo lag
  std::vector<double> pipeline_total_;          // [A*D]
  int lag_steps_ = 0;

  // Per project.
  std::vector<std::int32_t> p_start_step_;      // first step any of its stages passed its gates
  std::vector<double> p_capital_;               // GBP m drawn at commitment; -1 before
  std::vector<double> p_spent_;                 // GBP m spent so far
  std::vector<std::uint8_t> p_single_;          // procured on its own after a withdrawal
  std::vector<double> planned_path_;            // [type] months along the longest planned path

  // Programme-wide.
  double year_committed_ = 0;                   // GBP m committed this programme year
  std::vector<Item> funding_queue_;
  std::size_t funding_head_ = 0;
  double workload_ = 0;                         // market stage instances active last step
  double transformation_total_ = 0;
  std::vector<double> health_scratch_;
  std::vector<std::uint8_t> stage_is_market_, stage_is_funded_, stage_is_slowed_, stage_setup_kind_;
  int steps_per_year_ = 12;

  EventCounts events_;
  std::vector<DrawRecord>* trace_ = nullptr;
  std::vector<std::uint32_t> a_health_draws_, a_dispute_draws_;  // with a trace: draws per stream
  std::vector<Item> bench_items_;                                 // step_lep's saved state

  std::vector<std::int32_t> gate_waiting_;  // [stage] items held by a gate right now
  std::vector<std::int32_t> blocked_;       // [stage] scratch: capacity-blocked this step
};

}  // namespace lepsim
