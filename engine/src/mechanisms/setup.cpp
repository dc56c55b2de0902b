// PN1, PN3, PN4, PN5 (docs/model.md, section 11): each authority's set-up attributes, drawn
// at the replication's start, lengthen or shorten its strategy, procurement and
// mobilisation stages. The attributes are drawn whenever a mechanism reads them (set-up,
// partnering, transformation) and published in Signals::attributes.

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

//! Substreams of Purpose::AuthoritySetup: one per attribute, so adding one shifts none.
enum SetupSubstream : std::uint16_t {
  PLANNING = 0,
  VISION = 1,
  SHADOW_BOARD = 2,
  INDEPENDENT_CHAIR = 3,
  TRANSITION_TEAM = 4,
  CO_LOCATION = 5,
  LEADERSHIP = 6,
  TARGETS = 7,
  PRACTICE_FIRST = 8,  // 8 .. 8 + PRACTICES - 1
};

enum StageKind : std::uint8_t { OTHER = 0, STRATEGY = 1, PROCUREMENT = 2, MOBILISATION = 3 };

class Setup final : public Mechanism {
 public:
  explicit Setup(Flow& flow) : Mechanism(flow), m_(flow.scenario().mechanisms) {
    kind_.assign(flow.scenario().stages.size(), OTHER);
    if (m_.setup.enabled) {
      for (int s : m_.setup.strategy_stages) kind_[static_cast<std::size_t>(s)] = STRATEGY;
      for (int s : m_.setup.procurement_stages) kind_[static_cast<std::size_t>(s)] = PROCUREMENT;
      for (int s : m_.setup.mobilisation_stages) kind_[static_cast<std::size_t>(s)] = MOBILISATION;
    }
  }
  const char* name() const override { return "setup"; }
  bool adjusts(StageId s) const override { return kind_[ix(s)] != OTHER; }

  void on_replication_start() override {
    Draws& draws = flow_.draws();
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      const AuthoritySetup& set = flow_.group(a).setup;
      AuthorityAttributes& d = flow_.signals().attributes[a];
      auto draw = [&](const Distribution& dist, std::uint16_t sub) {
        return draws.sample(stream_of(a, Purpose::AuthoritySetup, sub), dist);
      };
      auto flip = [&](double p, std::uint16_t sub) {
        return draws.uniform(stream_of(a, Purpose::AuthoritySetup, sub)) < p ? 1.0 : 0.0;
      };
      d.planning = std::clamp(draw(set.planning_quality, PLANNING), 0.0, 1.0);
      d.vision = std::clamp(draw(set.vision_count, VISION) / VISION_ACTIVITIES, 0.0, 1.0);
      d.governance = 0.5 * (flip(set.shadow_board, SHADOW_BOARD) + flip(set.independent_chair, INDEPENDENT_CHAIR));
      d.mobilisation = 0.5 * (flip(set.transition_team, TRANSITION_TEAM) + flip(set.co_location, CO_LOCATION));
      d.leadership = std::clamp(draw(set.leadership, LEADERSHIP), 0.0, 1.0);
      d.targets = flip(set.transformation_targets, TARGETS) > 0;
      for (int i = 0; i < PRACTICES; ++i)
        if (flip(set.practices[i], static_cast<std::uint16_t>(PRACTICE_FIRST + i)) > 0 || (m_.partnering.mandated >> i & 1u))
          d.practices |= static_cast<std::uint8_t>(1u << i);
    }
  }

  double adjust_work(ProjectId p, StageId s, double work) override {
    const AuthorityAttributes& d = flow_.signals().attributes[flow_.authority_of(p)];
    switch (kind_[ix(s)]) {
      case STRATEGY:
        return work * (1.0 + m_.setup.planning_effect * (0.5 - d.planning));
      case PROCUREMENT:
        return work * (1.0 + m_.setup.vision_effect * (0.5 - d.vision));
      case MOBILISATION:
        return work * (1.0 + m_.setup.mobilisation_effect * (0.5 - d.mobilisation));
      default:
        return work;
    }
  }

 private:
  const Mechanisms& m_;
  std::vector<std::uint8_t> kind_;  // [stage] StageKind
};

}  // namespace

std::unique_ptr<Mechanism> make_setup(Flow& flow) {
  const Mechanisms& m = flow.scenario().mechanisms;
  if (!m.setup.enabled && !m.partnering.enabled && !m.transformation.enabled) return nullptr;
  return std::make_unique<Setup>(flow);
}

}  // namespace lepsim::detail
