// Disputes (docs/model.md, section 12a): each formed LEP may start a dispute every step, more
// likely the lower its health; a dispute stalls all its work (Signals::stalled_until).

#include <cmath>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Disputes final : public Mechanism {
 public:
  explicit Disputes(Flow& flow) : Mechanism(flow), dm_(flow.scenario().mechanisms.disputes) {}
  const char* name() const override { return "disputes"; }

  void on_replication_start() override { streams_.open(flow_.draws(), flow_.authorities(), Purpose::Dispute, nullptr); }
  void on_step_start(int step) override {
    Signals& sig = flow_.signals();
    const double dt = flow_.scenario().time.step_months;
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      const int formed = flow_.lep_step(a);
      if (formed < 0 || formed >= step || sig.stalled_until[a] > step) continue;
      const double hazard = dm_.base_rate * std::exp(-dm_.health_sensitivity * (sig.health[a] - 0.5));
      const double p = 1.0 - std::exp(-hazard * dt);
      if (streams_.uniform(a) >= p) continue;
      std::int32_t& disputes = flow_.out().lep_disputes[ix(a)];
      ++flow_.events().disputes;
      const double months = std::max(
          0.0, flow_.draws().sample(stream_of(a, Purpose::DisputeLength, static_cast<std::uint16_t>(disputes & 0xFFFF)),
                                    dm_.months));
      const int steps = static_cast<int>(std::ceil(months / dt - 1e-9));
      ++disputes;
      if (steps > 0) sig.stalled_until[a] = step + steps;  // stalls steps [step, step + steps)
    }
  }
  //! LEPs whose work a dispute stalls during the step.
  void record(int step) override {
    std::int32_t n = 0;
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities()))
      if (flow_.lep_step(a) >= 0 && flow_.signals().stalled_until[a] > step) ++n;
    flow_.out().disputes_active[static_cast<std::size_t>(step)] = n;
  }
  void finish() override { streams_.flush(flow_.draws()); }

 private:
  const DisputeMechanism& dm_;
  AuthorityStreams streams_;
};

}  // namespace

std::unique_ptr<Mechanism> make_disputes(Flow& flow) {
  if (!flow.scenario().mechanisms.disputes.enabled) return nullptr;
  return std::make_unique<Disputes>(flow);
}

}  // namespace lepsim::detail
