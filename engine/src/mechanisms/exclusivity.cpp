// PN9 (docs/model.md, section 17): the annual balanced scorecard of each LEP and the
// withdrawal of exclusivity; after a withdrawal each project not yet started is procured
// on its own (more months, a capital premium through Signals::capital_factor).

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

//! Exclusivity runs for ten years (NAO09 para 1.20): a tenth of the schools a year is full volume.
constexpr double EXCLUSIVITY_YEARS = 10.0;

class Exclusivity final : public Mechanism {
 public:
  explicit Exclusivity(Flow& flow) : Mechanism(flow), em_(flow.scenario().mechanisms.exclusivity) {
    const std::size_t A = flow.authorities();
    exclusive_.resize(A), failing_years_.resize(A), year_overrun_.resize(A), year_handovers_.resize(A),
        year_ontime_.resize(A);
  }
  const char* name() const override { return "exclusivity"; }
  bool adjusts(StageId) const override { return true; }

  void on_replication_start() override {
    exclusive_.fill(0), failing_years_.fill(0), year_overrun_.fill(0.0), year_handovers_.fill(0), year_ontime_.fill(0);
    single_.assign(flow_.projects(), 0);
  }
  void on_lep_formed(AuthorityId a, int /*step*/) override { exclusive_[a] = 1; }
  //! After a withdrawal each project not yet started is procured on its own.
  double adjust_work(ProjectId p, StageId, double work) override {
    const AuthorityId a = flow_.authority_of(p);
    if (flow_.start_step(p) < 0 && !single_[p] && flow_.lep_step(a) >= 0 && !exclusive_[a]) {
      single_[p] = 1;
      flow_.signals().capital_factor[p] = 1.0 + em_.single_cost_premium;
      work += std::max(0.0, flow_.draws().sample({flow_.entity_of(p), Purpose::SingleProcurement}, em_.single_procurement));
    }
    return work;
  }
  void on_handover(Handover& h) override {
    ++year_handovers_[h.authority];
    year_ontime_[h.authority] += h.on_time ? 1 : 0;
    year_overrun_[h.authority] += std::max(0.0, h.overrun);
  }
  void on_year_end(int step, int year) override {
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) score(a, step, year);
  }
  //! Formed LEPs still holding exclusivity.
  void record(int step) override {
    std::int32_t n = 0;
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities()))
      if (flow_.lep_step(a) >= 0) n += exclusive_[a];
    flow_.out().exclusive_leps[static_cast<std::size_t>(step)] = n;
  }

  bool bench_steps_leps() const override { return true; }
  void bench_step_lep(AuthorityId a, int step) override { score(a, step, (step + 1) / flow_.steps_per_year()); }
  void bench_save(AuthorityId a) override {
    saved_ = {exclusive_[a], failing_years_[a], year_handovers_[a], year_ontime_[a], year_overrun_[a]};
  }
  void bench_restore(AuthorityId a) override {
    exclusive_[a] = saved_.exclusive, failing_years_[a] = saved_.failing, year_handovers_[a] = saved_.handovers;
    year_ontime_[a] = saved_.ontime, year_overrun_[a] = saved_.overrun;
  }

 private:
  void score(AuthorityId a, int step, int year) {
    // Score only LEPs that have held exclusivity for a whole year.
    if (exclusive_[a] && flow_.lep_step(a) <= step + 1 - flow_.steps_per_year()) {
      const int n = year_handovers_[a];
      const double time = n > 0 ? static_cast<double>(year_ontime_[a]) / n : 0.5;
      const double cost = n > 0 ? 1.0 / (1.0 + year_overrun_[a] / n) : 0.5;
      const double quality = flow_.signals().health[a];
      const double expected = flow_.projects_of(a) / EXCLUSIVITY_YEARS;
      const double volume = expected > 0 ? std::min(1.0, n / expected) : 1.0;
      const double s =
          em_.weight_cost * cost + em_.weight_quality * quality + em_.weight_time * time + em_.weight_volume * volume;
      failing_years_[a] = s < em_.threshold ? failing_years_[a] + 1 : 0;
      if (failing_years_[a] >= em_.years &&
          flow_.draws().uniform(stream_of(a, Purpose::Exclusivity, static_cast<std::uint16_t>(year))) < em_.act_probability)
        exclusive_[a] = 0, flow_.out().lep_exclusivity_lost_step[ix(a)] = step;
    }
    year_overrun_[a] = 0;
    year_handovers_[a] = year_ontime_[a] = 0;
  }

  struct Saved {
    std::uint8_t exclusive;
    std::int32_t failing, handovers, ontime;
    double overrun;
  };
  const ExclusivityMechanism& em_;
  IdVector<AuthorityId, std::uint8_t> exclusive_;
  IdVector<AuthorityId, std::int32_t> failing_years_;
  // This scorecard year's record.
  IdVector<AuthorityId, double> year_overrun_;
  IdVector<AuthorityId, std::int32_t> year_handovers_, year_ontime_;
  IdVector<ProjectId, std::uint8_t> single_;  // procured on its own after a withdrawal
  Saved saved_{};
};

}  // namespace

std::unique_ptr<Mechanism> make_exclusivity(Flow& flow) {
  if (!flow.scenario().mechanisms.exclusivity.enabled) return nullptr;
  return std::make_unique<Exclusivity>(flow);
}

}  // namespace lepsim::detail
