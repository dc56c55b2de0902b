// Costs (docs/model.md, section 14): each project's capital, drawn once and spent evenly over
// its spend stage, with overruns from delay and health at handover; a LEP's set-up cost when
// it forms. The capital is the CapitalSource the funding envelope asks.

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Costs final : public Mechanism, public CapitalSource {
 public:
  explicit Costs(Flow& flow) : Mechanism(flow), cm_(flow.scenario().mechanisms.costs) { flow.signals().capital = this; }
  const char* name() const override { return "costs"; }
  bool watches(StageId s) const override { return static_cast<int>(s) == cm_.spend_stage; }

  void on_replication_start() override {
    const std::size_t P = flow_.projects();
    capital_.assign(P, -1.0);
    spent_.assign(P, 0.0);
    flow_.out().project_cost.assign(P, 0.0);
  }
  //! A project's capital, drawn once (at its funding gate or when its spend stage starts).
  double capital(ProjectId p) override {
    if (capital_[p] >= 0) return capital_[p];
    const auto& dist = cm_.capital[static_cast<std::size_t>(flow_.type_of(p))];
    double cost = std::max(0.0, flow_.draws().sample({flow_.entity_of(p), Purpose::Capital}, dist));
    cost *= flow_.signals().capital_factor[p];
    cost *= flow_.signals().price_factor;
    capital_[p] = cost;
    return cost;
  }
  void on_stage_start(const Item& item, StageId, int /*step*/) override { capital(item.project); }
  void on_progress(const Item& item, double progress, int step) override {
    if (item.total <= 0) return;
    const ProjectId p = item.project;
    const double amount = capital_[p] * progress / item.total;
    spent_[p] += amount;
    flow_.out().spend[static_cast<std::size_t>(step) * 3] += amount;
  }
  void on_lep_formed(AuthorityId a, int step) override {
    const double cost = std::max(0.0, flow_.draws().sample(stream_of(a, Purpose::LepSetup), cm_.lep_setup));
    flow_.out().lep_setup_cost[ix(a)] = cost;
    flow_.out().spend[static_cast<std::size_t>(step) * 3 + 1] += cost;
  }
  //! The final cost: capital x overrun factor; sets the handover's overrun for later hooks.
  void on_handover(Handover& h) override {
    ReplicationResult& out = flow_.out();
    const ProjectId p = h.project;
    const double cap = capital(p);
    const double factor = std::max(0.0, (1.0 + cm_.delay_overrun * h.delay) * (1.0 + cm_.health_overrun * (0.5 - h.health)));
    const double final_cost = cap * factor;
    h.overrun = factor - 1.0;
    out.spend[static_cast<std::size_t>(h.step) * 3] += final_cost - spent_[p];
    spent_[p] = final_cost;
    out.project_cost[ix(p)] = final_cost;
    out.lep_capital_cost[ix(h.authority)] += final_cost;
  }

 private:
  const CostMechanism& cm_;
  IdVector<ProjectId, double> capital_;  // GBP m drawn at commitment; -1 before
  IdVector<ProjectId, double> spent_;    // GBP m spent so far
};

}  // namespace

std::unique_ptr<Mechanism> make_costs(Flow& flow) {
  if (!flow.scenario().mechanisms.costs.enabled) return nullptr;
  return std::make_unique<Costs>(flow);
}

}  // namespace lepsim::detail
