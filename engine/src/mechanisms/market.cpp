// The construction market (docs/model.md, section 15): the national workload of market
// stages last step raises the work of market stages starting now and the price of capital
// drawn now (Signals::price_factor).

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Market final : public Mechanism {
 public:
  explicit Market(Flow& flow)
      : Mechanism(flow),
        mm_(flow.scenario().mechanisms.market),
        market_(stage_flags(flow.scenario().stages.size(), mm_.stages)) {}
  const char* name() const override { return "market"; }
  bool adjusts(StageId s) const override { return market_[ix(s)] != 0; }

  void on_replication_start() override {
    workload_ = 0;
    publish();
  }
  double adjust_work(ProjectId, StageId, double work) override {
    return work * std::min(mm_.max_factor, 1.0 + mm_.duration_elasticity * excess());
  }
  //! The national workload seen by the next step's starts.
  void record(int step) override {
    const std::size_t S = market_.size();
    const std::int32_t* active = &flow_.out().stage_active[static_cast<std::size_t>(step) * S];
    workload_ = 0;
    for (std::size_t s = 0; s < S; ++s)
      if (market_[s]) workload_ += active[s];
    publish();
  }

 private:
  double excess() const { return std::max(0.0, workload_ / mm_.reference_workload - 1.0); }
  void publish() { flow_.signals().price_factor = std::min(mm_.max_factor, 1.0 + mm_.price_elasticity * excess()); }

  const MarketMechanism& mm_;
  const std::vector<std::uint8_t> market_;  // [stage]
  double workload_ = 0;                     // market stage instances active last step
};

}  // namespace

std::unique_ptr<Mechanism> make_market(Flow& flow) {
  if (!flow.scenario().mechanisms.market.enabled) return nullptr;
  return std::make_unique<Market>(flow);
}

}  // namespace lepsim::detail
