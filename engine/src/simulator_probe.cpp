#include "lepsim/simulator_probe.hpp"

#include <algorithm>

#include "flow.hpp"

namespace lepsim {

void SimulatorProbe::trace_draws(std::vector<DrawRecord>* trace) noexcept { sim_.flow_->draws().set_trace(trace); }

void SimulatorProbe::prepare(std::uint32_t replication, int step, ReplicationResult& out) {
  detail::Flow& flow = *sim_.flow_;
  flow.run_steps(flow.scenario().seed, replication, out, std::clamp(step, 0, flow.scenario().time.steps));
}

double SimulatorProbe::step_lep(int authority, int step) {
  detail::Flow& flow = *sim_.flow_;
  const auto a = static_cast<detail::AuthorityId>(authority);
  std::vector<detail::Item>& items = flow.active_items(a);
  std::vector<detail::Item>& saved_items = flow.saved_items();
  saved_items = items;
  const auto& mechanisms = flow.lep_steppers();
  for (detail::Mechanism* m : mechanisms) m->bench_save(a);
  if (!items.empty()) flow.allocate(a, false);  // rates only: no counts, no event scheduled
  std::size_t running = 0;
  for (const detail::Item& item : items) running += item.rate > 0 ? 1 : 0;
  for (detail::Mechanism* m : mechanisms) m->bench_step_lep(a, step);
  const double result = flow.signals().health[a] + static_cast<double>(items.size() + running);
  items.swap(saved_items);
  for (detail::Mechanism* m : mechanisms) m->bench_restore(a);
  return result;
}

}  // namespace lepsim
