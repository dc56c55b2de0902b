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

#include "lepsim/scenario.hpp"

namespace lepsim {

//! Project states, one per project at every step (conservation holds over them).
enum class ProjectState : int { PENDING = 0, WAITING = 1, ACTIVE = 2, DONE = 3 };
inline constexpr int PROJECT_STATE_COUNT = 4;

//! Everything one replication writes. Series are row-major [step][k].
struct ReplicationResult {
  int steps = 0, stages = 0, disciplines = 0, pools = 0;

  std::vector<std::int32_t> stage_active;       //!< [T*S] stage instances progressing during the step
  std::vector<std::int32_t> stage_queued;       //!< [T*S] ready but held by a gate or by capacity
  std::vector<std::int32_t> stage_completions;  //!< [T*S] stage instances finished in the step
  std::vector<std::int32_t> completions;        //!< [T] projects finished in the step
  std::vector<std::int32_t> project_state;      //!< [T*4] projects per ProjectState during the step
  std::vector<double> utilisation;              //!< [T*D] allocated / available FTE of entered authorities
  std::vector<std::int32_t> pool_in_use;        //!< [T*P] national tokens held
  std::vector<std::int32_t> pool_queue;         //!< [T*P] stage instances waiting for a token

  // Per project, in creation order (authority by authority, then ordinal).
  std::vector<std::int32_t> project_authority;
  std::vector<std::int32_t> project_type;
  std::vector<std::int32_t> arrival_step;       //!< first step the project is in the programme
  std::vector<std::int32_t> completion_step;    //!< step its last stage finished; -1 if not by the horizon

  std::int32_t projects = 0;                    //!< projects generated (arrived or not)
  std::int32_t completed = 0;                   //!< finished within the horizon
  std::int32_t finish_step = -1;                //!< step the last project finished; -1 if any is unfinished

  void resize(int steps, int stages, int disciplines, int pools);
};

class Simulator {
 public:
  explicit Simulator(const Scenario& scenario);
  //! Runs replication `replication` with the scenario's seed (or `seed`).
  void run(std::uint32_t replication, ReplicationResult& out);
  void run(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);

 private:
  struct Item {                 // one stage instance of one project
    std::int32_t project;
    std::int32_t local_stage;   // index into the project's type's stages
    double remaining;           //!< steps of work left at full rate
    std::int32_t gate;          // next gate to pass (Gate enum in simulation.cpp)
  };

  void generate_projects(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);
  void make_ready(const Item& item, int step);
  void pass_gates(Item item, int step);
  void complete(const Item& item, int step, ReplicationResult& out);

  const Scenario& sc_;
  std::uint64_t seed_ = 0;
  std::uint32_t replication_ = 0;

  // Per-type flattened demand: demand_[type][local * D + k], FTE.
  std::vector<std::vector<double>> demand_;
  std::vector<std::vector<std::uint8_t>> needs_capacity_;  // [type][local]: any demand > 0
  std::vector<int> earliest_step_;                          // [stage]

  // Projects (structure of arrays, index = creation order).
  std::vector<std::int32_t> p_authority_, p_type_, p_ordinal_;
  std::vector<std::uint64_t> p_done_mask_;   // bit per local stage
  std::vector<std::int32_t> p_active_step_;  // last step with an item progressing
  std::vector<std::int32_t> arrival_order_;  // projects sorted by arrival step

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

  std::vector<std::int32_t> gate_waiting_;  // [stage] items held by a gate right now
  std::vector<std::int32_t> blocked_;       // [stage] scratch: capacity-blocked this step
  int active_projects_ = 0;                  // scratch: projects progressing this step
};

}  // namespace lepsim
