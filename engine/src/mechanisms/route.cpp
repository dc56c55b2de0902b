// The first procurement's shape (docs/model.md, section 21): the first phase, a bundle of
// schools procured with the authority's first projects and released at its financial
// close; and the non-LEP route, an authority whose close is a conventional/PFI deal that
// forms no LEP, each of its later schools then procured on its own.

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

//! Purpose::SingleProcurement's substream for a non-LEP authority's later schools (0 is
//! exclusivity's withdrawal).
constexpr std::uint16_t NON_LEP_PROCUREMENT = 1;

class Route final : public Mechanism {
 public:
  explicit Route(Flow& flow) : Mechanism(flow), m_(flow.scenario().mechanisms) {
    const Scenario& sc = flow.scenario();
    gated_.assign(sc.stages.size(), 0);
    adjusted_.assign(sc.stages.size(), 0);
    for (const AuthorityGroup& g : sc.groups) {
      if (g.first_phase_type >= 0) {
        const auto& stages = sc.types[static_cast<std::size_t>(g.first_phase_type)].stages;
        for (const TypeStage& ts : stages)
          if (ts.predecessors == 0) gated_[static_cast<std::size_t>(ts.stage)] = 1;
      }
      if (g.non_lep > 0 && sc.mechanisms.lep_stage >= 0) adjusted_[static_cast<std::size_t>(sc.mechanisms.lep_stage)] = 1;
      if (g.non_lep > 0)
        for (std::size_t t = 0; t < sc.types.size(); ++t)
          if (later_type(g, static_cast<int>(t)) && !sc.types[t].stages.empty())
            adjusted_[static_cast<std::size_t>(sc.types[t].stages.front().stage)] = 1;
    }
    held_.resize(flow.authorities());
  }
  const char* name() const override { return "route"; }
  bool gates(StageId s) const override { return gated_[ix(s)] != 0; }
  bool adjusts(StageId s) const override { return adjusted_[ix(s)] != 0; }

  //! Which authorities take the non-LEP route: one uniform each where the chance is > 0.
  void on_replication_start() override {
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      held_[a].clear();
      const double p = flow_.group(a).non_lep;
      if (p > 0) flow_.signals().no_lep[a] = flow_.draws().uniform(stream_of(a, Purpose::AuthorityEntry, NON_LEP)) < p;
    }
  }

  //! A first-phase school's first stages wait for the authority's financial close.
  bool gate(const Item& item, int /*step*/) override {
    const ProjectId p = item.project;
    const AuthorityId a = flow_.authority_of(p);
    if (flow_.type_of(p) != flow_.group(a).first_phase_type || flow_.close_step(a) >= 0) return true;
    held_[a].push_back(item);
    return false;
  }
  //! Released at the close's exact time, as the core releases an authority milestone's waiters.
  void on_close(AuthorityId a, int step) override {
    std::vector<Item> released;
    released.swap(held_[a]);
    for (Item item : released) {
      item.gate = gate_index() + 1;
      flow_.pass_gates(item, step);
    }
  }

  //! A non-LEP authority: its first procurement's work x the factor (a conventional deal);
  //! each later school its own deal, on its first stage.
  double adjust_work(ProjectId p, StageId s, double work) override {
    const AuthorityId a = flow_.authority_of(p);
    const AuthorityGroup& g = flow_.group(a);
    if (!flow_.signals().no_lep[a]) return work;
    if (static_cast<int>(ix(s)) == flow_.scenario().mechanisms.lep_stage) work *= m_.non_lep_procurement_factor;
    if (!later_type(g, flow_.type_of(p))) return work;
    const auto& stages = flow_.scenario().types[static_cast<std::size_t>(flow_.type_of(p))].stages;
    if (stages.front().stage != static_cast<int>(ix(s))) return work;
    flow_.signals().capital_factor[p] = 1.0 + m_.non_lep_cost_premium;
    return work + std::max(0.0, flow_.draws().sample({flow_.entity_of(p), Purpose::SingleProcurement, NON_LEP_PROCUREMENT},
                                                     m_.non_lep_procurement));
  }

 private:
  //! A type of the group's later schools: any but its first projects' and first phase's.
  static bool later_type(const AuthorityGroup& g, int t) { return t != g.first_type && t != g.first_phase_type; }

  const Mechanisms& m_;
  std::vector<std::uint8_t> gated_, adjusted_;  // [stage]
  IdVector<AuthorityId, std::vector<Item>> held_;
};

}  // namespace

std::unique_ptr<Mechanism> make_route(Flow& flow) {
  for (const AuthorityGroup& g : flow.scenario().groups)
    if (g.first_phase_type >= 0 || g.non_lep > 0) return std::make_unique<Route>(flow);
  return nullptr;
}

}  // namespace lepsim::detail
