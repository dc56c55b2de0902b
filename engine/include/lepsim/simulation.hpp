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

//! The capacity allocation rule the engine implements (docs/model.md, "Capacity allocation"),
//! recorded in every run file as the root attribute `allocation` (format 1.2). Files of
//! format 1.0 and 1.1 were made under first come, first served ("fcfs").
inline constexpr const char* ALLOCATION_RULE = "pipeline-priority";

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
