// The mechanisms a scenario runs, in the order their hooks are called. The order matters
// where hooks of one phase read what an earlier one set: set-up draws before partnering
// reads them; costs sets a handover's overrun before partnering and exclusivity read it;
// the work adjustments multiply in this order; funding, capacity and disputes act at a
// step's start in this order; the first phase's gate (route) comes before funding's, so a
// school held for its financial close holds no funds; milestones, last, only counts.
// Adding a mechanism: docs/extending.md.

#include "../flow.hpp"

namespace lepsim::detail {

std::unique_ptr<Mechanism> make_setup(Flow&);
std::unique_ptr<Mechanism> make_route(Flow&);
std::unique_ptr<Mechanism> make_costs(Flow&);
std::unique_ptr<Mechanism> make_funding(Flow&);
std::unique_ptr<Mechanism> make_capacity(Flow&);
std::unique_ptr<Mechanism> make_disputes(Flow&);
std::unique_ptr<Mechanism> make_market(Flow&);
std::unique_ptr<Mechanism> make_partnering(Flow&);
std::unique_ptr<Mechanism> make_transformation(Flow&);
std::unique_ptr<Mechanism> make_exclusivity(Flow&);
std::unique_ptr<Mechanism> make_milestones(Flow&);

MechanismList make_mechanisms(Flow& flow) {
  using Factory = std::unique_ptr<Mechanism> (*)(Flow&);
  static constexpr Factory FACTORIES[] = {make_setup,          make_route,       make_costs,     make_funding,
                                          make_capacity,       make_disputes,    make_market,    make_partnering,
                                          make_transformation, make_exclusivity, make_milestones};
  MechanismList list;
  for (Factory make : FACTORIES)  // each returns null when its scenario table is absent
    if (auto m = make(flow)) list.push_back(std::move(m));
  return list;
}

}  // namespace lepsim::detail
