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
#include <memory>
#include <string>
#include <vector>

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

  // Partnership mechanisms (docs/model.md, sections 11-18); empty when the mechanism is off.
  std::vector<double> health;                   //!< [T*3] mean, P10, P90 of health over formed LEPs; NaN before any forms
  std::vector<std::int32_t> leps_formed;        //!< [T] LEPs formed by the step
  std::vector<std::int32_t> disputes_active;    //!< [T] LEPs whose work a dispute stalls during the step
  std::vector<std::int32_t> exclusive_leps;     //!< [T] formed LEPs still holding exclusivity
  std::vector<double> spend;                    //!< [T*3] GBP m in the step: capital, LEP set-up, capacity
  std::vector<double> transformation;           //!< [T] cumulative transformation score
  std::vector<double> fte;                      //!< [T*D] FTE employed by authorities that have entered
  std::vector<std::int32_t> funding_queue;      //!< [T] stage instances waiting for funds
  std::vector<double> funding_committed;        //!< [T] GBP m committed in the programme year so far

  // Per authority (LEP), at the end of the replication.
  std::vector<double> lep_final_health;         //!< NaN if the LEP never formed
  std::vector<std::int32_t> lep_formed_step;    //!< -1 if never
  std::vector<std::int32_t> lep_disputes;       //!< disputes started
  std::vector<std::int32_t> lep_exclusivity_lost_step;  //!< -1 if kept (or never formed)
  std::vector<double> lep_capital_cost;         //!< GBP m, capital incl. overruns, of its projects
  std::vector<double> lep_setup_cost;           //!< GBP m
  std::vector<double> lep_capacity_cost;        //!< GBP m
  std::vector<std::int32_t> lep_schools_completed;
  std::vector<double> lep_transformation;       //!< summed score of its completed schools

  std::vector<double> project_cost;             //!< per project, GBP m incl. overrun (0 if not costed)

  std::int32_t projects = 0;                    //!< projects generated (arrived or not)
  std::int32_t completed = 0;                   //!< finished within the horizon
  std::int32_t finish_step = -1;                //!< step the last project finished; -1 if any is unfinished

  void resize(int steps, int stages, int disciplines, int pools, int authorities, const Mechanisms& mechanisms);
};

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

namespace detail {
class Flow;
}

//! Runs replications of one scenario: the flow core and the scenario's partnership
//! mechanisms, each a module with its own state (engine/src/mechanisms/, docs/extending.md).
class Simulator {
 public:
  explicit Simulator(const Scenario& scenario);
  ~Simulator();
  Simulator(Simulator&&) noexcept;
  Simulator& operator=(Simulator&&) noexcept;

  //! Runs replication `replication` with the scenario's seed (or `seed`).
  void run(std::uint32_t replication, ReplicationResult& out);
  void run(std::uint64_t seed, std::uint32_t replication, ReplicationResult& out);

  //! Events of the last replication run.
  const EventCounts& events() const noexcept;
  //! The mechanisms this scenario runs, in the order their hooks are called.
  std::vector<std::string> mechanism_names() const;

 private:
  friend class SimulatorProbe;  // benchmarks and draw traces (lepsim/simulator_probe.hpp)
  std::unique_ptr<detail::Flow> flow_;
};

}  // namespace lepsim
