// PN2 (docs/model.md, section 16): each completed school earns a transformation score from
// its authority's leadership, vision, health and contract targets; targets slow some stages.

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Transformation final : public Mechanism {
 public:
  explicit Transformation(Flow& flow)
      : Mechanism(flow),
        tm_(flow.scenario().mechanisms.transformation),
        slowed_(stage_flags(flow.scenario().stages.size(), tm_.slowed_stages)) {}
  const char* name() const override { return "transformation"; }
  bool adjusts(StageId s) const override { return slowed_[ix(s)] != 0; }

  void on_replication_start() override { total_ = 0; }
  double adjust_work(ProjectId p, StageId, double work) override {
    return flow_.signals().attributes[flow_.authority_of(p)].targets ? work * (1.0 + tm_.target_slowdown) : work;
  }
  void on_handover(Handover& h) override {
    const AuthorityAttributes& d = flow_.signals().attributes[h.authority];
    const double score = tm_.base * (1.0 + tm_.leadership_weight * (d.leadership - 0.5)) *
                         (1.0 + tm_.vision_weight * (d.vision - 0.5)) * (1.0 + tm_.health_weight * (h.health - 0.5)) *
                         (d.targets ? 1.0 + tm_.target_bonus : 1.0);
    total_ += score;
    flow_.out().lep_transformation[ix(h.authority)] += score;
  }
  void record(int step) override { flow_.out().transformation[static_cast<std::size_t>(step)] = total_; }

 private:
  const TransformationMechanism& tm_;
  const std::vector<std::uint8_t> slowed_;  // [stage]
  double total_ = 0;                        // cumulative score
};

}  // namespace

std::unique_ptr<Mechanism> make_transformation(Flow& flow) {
  if (!flow.scenario().mechanisms.transformation.enabled) return nullptr;
  return std::make_unique<Transformation>(flow);
}

}  // namespace lepsim::detail
