#pragma once
// What benchmarks (bench/) and diagnostics need of a Simulator beyond running
// replications: a trace of its draws, and one LEP's step timed on a prepared state.

#include <cstdint>
#include <vector>

#include "lepsim/simulation.hpp"

namespace lepsim {

class SimulatorProbe {
 public:
  explicit SimulatorProbe(Simulator& simulator) : sim_(simulator) {}

  //! When set, each replication appends its draws to *trace (cleared by the caller);
  //! null stops tracing. Takes effect from the next replication.
  void trace_draws(std::vector<DrawRecord>* trace) noexcept;

  //! Runs replication `replication` up to the start of step `step`; step_lep() then times
  //! one step of one LEP on that state: its capacity allocation and stage progress and the
  //! mechanisms' per-LEP work of a step (partnering health, scorecard), after which the
  //! state is put back, so it can be repeated.
  void prepare(std::uint32_t replication, int step, ReplicationResult& out);
  double step_lep(int authority, int step);

 private:
  Simulator& sim_;
};

}  // namespace lepsim
