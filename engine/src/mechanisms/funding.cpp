// The funding envelope (docs/model.md, section 14): a programme-wide annual envelope for the
// capital committed at the start of funded stages. It is never exceeded: a project passes
// the gate only when its capital fits what is left this programme year, first come first
// served; the queue is served in strict order at each new year.

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Funding final : public Mechanism {
 public:
  explicit Funding(Flow& flow)
      : Mechanism(flow),
        envelope_(flow.scenario().mechanisms.funding.annual_envelope),
        funded_(stage_flags(flow.scenario().stages.size(), flow.scenario().mechanisms.funding.stages)) {}
  const char* name() const override { return "funding"; }
  bool gates(StageId s) const override { return funded_[ix(s)] != 0; }

  void on_replication_start() override {
    committed_ = 0;
    queue_.clear();
    head_ = 0;
  }
  bool gate(const Item& item, int /*step*/) override {
    const double cost = flow_.signals().capital->capital(item.project);
    if (head_ == queue_.size() && committed_ + cost <= envelope_) {
      committed_ += cost;
      return true;
    }
    queue_.push_back(item);
    return false;
  }
  //! A new programme year: the queue is served in order while capital fits.
  void on_step_start(int step) override {
    if (step == 0 || step % flow_.steps_per_year() != 0) return;
    committed_ = 0;
    while (head_ < queue_.size()) {
      Item item = queue_[head_];
      const double cost = flow_.signals().capital->capital(item.project);
      if (committed_ + cost > envelope_) break;  // strict order: big projects are not starved
      committed_ += cost;
      ++head_;
      item.gate = gate_index() + 1;  // past this gate
      flow_.pass_gates(item, step);
    }
    if (head_ == queue_.size()) queue_.clear(), head_ = 0;
  }
  void record(int step) override {
    const auto t = static_cast<std::size_t>(step);
    flow_.out().funding_queue[t] = static_cast<std::int32_t>(queue_.size() - head_);
    flow_.out().funding_committed[t] = committed_;
  }

 private:
  const double envelope_;                   // GBP m per programme year
  const std::vector<std::uint8_t> funded_;  // [stage]
  double committed_ = 0;                    // GBP m committed this programme year
  std::vector<Item> queue_;                 // FIFO, read from head_
  std::size_t head_ = 0;
};

}  // namespace

std::unique_ptr<Mechanism> make_funding(Flow& flow) {
  if (!flow.scenario().mechanisms.funding.enabled) return nullptr;
  return std::make_unique<Funding>(flow);  // after costs: the parser requires [costs]
}

}  // namespace lepsim::detail
