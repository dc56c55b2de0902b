// [milestones] (docs/model.md, section 21): the programme's state as the observed record
// counts it, per step. Counters change only at events (an entry, an arrival, a stage start,
// a preferred bidder, a close, a handover); record() copies them. Nothing here draws or
// feeds back, so the series never change the simulation.

#include <algorithm>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

//! An authority's phase: its first procurement not yet started, under way, or closed.
enum AuthorityPhase : std::uint8_t { NOT_ENTERED = 0, STRATEGY = 1, PROCUREMENT = 2, PAST = 3, PHASES = 4 };
//! A school's phase: not arrived, arrived and before construction, in construction, handed over.
enum SchoolPhase : std::uint8_t { NOT_ARRIVED = 0, BEFORE = 1, BUILDING = 2, OPEN = 3 };

constexpr double PROGRESS_EPSILON = 1e-9;

class Milestones final : public Mechanism {
 public:
  explicit Milestones(Flow& flow) : Mechanism(flow), mo_(flow.scenario().mechanisms.milestones) {
    const Scenario& sc = flow.scenario();
    lep_stage_ = sc.mechanisms.lep_stage;
    construction_.assign(sc.stages.size(), 0);
    for (int s : mo_.construction_stages) construction_[static_cast<std::size_t>(s)] = 1;
    const std::size_t A = flow.authorities();
    phase_.resize(A), before_.resize(A), selected_.resize(A);
  }
  const char* name() const override { return "milestones"; }
  bool watches(StageId s) const override { return static_cast<int>(ix(s)) == lep_stage_ || construction_[ix(s)] != 0; }

  //! Entries and arrivals bucketed by step (counting sort), so each step visits only its own.
  void on_replication_start() override {
    const int T = flow_.scenario().time.steps;
    const std::size_t A = flow_.authorities(), P = flow_.projects();
    phase_.fill(NOT_ENTERED), before_.fill(0), selected_.fill(0);
    school_.assign(P, NOT_ARRIVED);
    std::fill(std::begin(authorities_), std::end(authorities_), 0);
    std::fill(std::begin(schools_before_), std::end(schools_before_), 0);
    building_ = arrived_ = non_lep_ = partner_ = 0;
    bucket(entry_first_, entry_order_, A, T, [&](std::size_t a) { return flow_.entry_step(static_cast<AuthorityId>(a)); });
    const auto& arrival = flow_.out().arrival_step;
    bucket(arrival_first_, arrival_order_, P, T, [&](std::size_t p) { return arrival[p]; });
  }

  //! The step's entries, then its arrivals (the core lets them in this step).
  void on_step_start(int t) override {
    const auto tu = static_cast<std::size_t>(t);
    for (std::int32_t k = entry_first_[tu]; k < entry_first_[tu + 1]; ++k) {
      const auto a = static_cast<AuthorityId>(entry_order_[static_cast<std::size_t>(k)]);
      move_authority(a, STRATEGY);
    }
    for (std::int32_t k = arrival_first_[tu]; k < arrival_first_[tu + 1]; ++k) {
      const auto p = static_cast<ProjectId>(arrival_order_[static_cast<std::size_t>(k)]);
      const AuthorityId a = flow_.authority_of(p);
      school_[p] = BEFORE;
      ++before_[a], ++schools_before_[phase_[a]], ++arrived_;
    }
  }

  void on_stage_start(const Item& item, StageId s, int /*step*/) override {
    const ProjectId p = item.project;
    const AuthorityId a = flow_.authority_of(p);
    if (static_cast<int>(ix(s)) == lep_stage_) {
      if (phase_[a] == STRATEGY) move_authority(a, PROCUREMENT);
      if (mo_.partner_selected <= 0) select(a);
    }
    if (construction_[ix(s)] && school_[p] == BEFORE) {
      school_[p] = BUILDING;
      --before_[a], --schools_before_[phase_[a]], ++building_;
    }
  }

  //! Preferred bidder: the LEP stage's work done reaches the fraction (only that stage's items count).
  void on_progress(const Item& item, double progress, int /*step*/) override {
    const ProjectId p = item.project;
    const AuthorityId a = flow_.authority_of(p);
    if (selected_[a]) return;
    const auto& ts = flow_.scenario().types[static_cast<std::size_t>(flow_.type_of(p))].stages;
    if (ts[static_cast<std::size_t>(item.local_stage)].stage != lep_stage_) return;
    if (item.total - item.remaining + progress >= mo_.partner_selected * item.total - PROGRESS_EPSILON) select(a);
  }

  void on_close(AuthorityId a, int /*step*/) override {
    select(a);
    move_authority(a, PAST);
    if (flow_.signals().no_lep[a]) ++non_lep_;
  }

  void on_handover(Handover& h) override {
    const ProjectId p = h.project;
    if (school_[p] == BUILDING)
      --building_;
    else if (school_[p] == BEFORE)  // handed over without a construction stage
      --before_[h.authority], --schools_before_[phase_[h.authority]];
    school_[p] = OPEN;
  }

  void record(int step) override {
    ReplicationResult& out = flow_.out();
    const auto t = static_cast<std::size_t>(step);
    out.authorities_entered[t] = authorities_[STRATEGY] + authorities_[PROCUREMENT] + authorities_[PAST];
    out.authorities_in_strategy[t] = authorities_[STRATEGY];
    out.authorities_in_procurement[t] = authorities_[PROCUREMENT];
    out.authorities_past_procurement[t] = authorities_[PAST];
    out.non_lep_deals[t] = non_lep_;
    out.authorities_partner_selected[t] = partner_;
    out.schools_in_programme[t] = arrived_;
    out.schools_in_strategy[t] = schools_before_[STRATEGY];
    out.schools_in_procurement[t] = schools_before_[PROCUREMENT];
    out.schools_in_followon[t] = schools_before_[PAST];
    out.schools_in_construction[t] = building_;
  }

 private:
  //! first[t] .. first[t + 1] index `order`, the n entities whose step (key) is t; keys
  //! outside [0, T) are left out.
  template <class Key>
  static void bucket(std::vector<std::int32_t>& first, std::vector<std::int32_t>& order, std::size_t n, int T, Key key) {
    const auto Tu = static_cast<std::size_t>(T);
    first.assign(Tu + 1, 0);
    for (std::size_t i = 0; i < n; ++i)
      if (const int k = key(i); k >= 0 && k < T) ++first[static_cast<std::size_t>(k) + 1];
    for (std::size_t t = 0; t < Tu; ++t) first[t + 1] += first[t];
    order.assign(static_cast<std::size_t>(first[Tu]), 0);
    std::vector<std::int32_t> next(first.begin(), first.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      if (const int k = key(i); k >= 0 && k < T)
        order[static_cast<std::size_t>(next[static_cast<std::size_t>(k)]++)] = static_cast<std::int32_t>(i);
  }
  //! The authority changes phase; its schools before construction move with it.
  void move_authority(AuthorityId a, AuthorityPhase to) {
    const AuthorityPhase from = static_cast<AuthorityPhase>(phase_[a]);
    if (from == to) return;
    --authorities_[from], ++authorities_[to];
    schools_before_[from] -= before_[a], schools_before_[to] += before_[a];
    phase_[a] = to;
  }
  void select(AuthorityId a) {
    if (!selected_[a]) selected_[a] = 1, ++partner_;
  }

  const MilestonesOutput& mo_;
  int lep_stage_ = -1;
  std::vector<std::uint8_t> construction_;  // [stage]
  IdVector<AuthorityId, std::uint8_t> phase_, selected_;
  IdVector<AuthorityId, std::int32_t> before_;  // its arrived schools before construction
  IdVector<ProjectId, std::uint8_t> school_;
  std::int32_t authorities_[PHASES] = {};  // by phase (NOT_ENTERED's count runs negative: unused)
  std::int32_t schools_before_[PHASES] = {};
  std::int32_t building_ = 0, arrived_ = 0, non_lep_ = 0, partner_ = 0;
  std::vector<std::int32_t> entry_first_, entry_order_, arrival_first_, arrival_order_;
};

}  // namespace

std::unique_ptr<Mechanism> make_milestones(Flow& flow) {
  if (!flow.scenario().mechanisms.milestones.enabled || flow.scenario().mechanisms.lep_stage < 0) return nullptr;
  return std::make_unique<Milestones>(flow);
}

}  // namespace lepsim::detail
