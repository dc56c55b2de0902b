// PN7 (docs/model.md, section 13): each authority's team flexes towards its capacity plan,
// with a hiring lag and attrition; the FTE employed is costed. The core allocates from
// Signals::team, which points into this mechanism's teams.

#include <cmath>
#include <limits>

#include "../flow.hpp"

namespace lepsim::detail {
namespace {

class Capacity final : public Mechanism {
 public:
  explicit Capacity(Flow& flow)
      : Mechanism(flow),
        cm_(flow.scenario().mechanisms.capacity),
        D_(flow.disciplines()),
        lag_steps_(static_cast<int>(std::lround(cm_.hiring_lag_months / flow.scenario().time.step_months))) {
    const std::size_t A = flow.authorities();
    team_.resize(A * D_);
    pipeline_.resize(A * D_ * static_cast<std::size_t>(lag_steps_ + 1));
    pipeline_total_.resize(A * D_);
    target_.resize(A);
    target_until_.resize(A);
  }
  const char* name() const override { return "capacity"; }

  void on_replication_start() override {
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      // At entry the authority has its declared team; its plan then drives hiring.
      const auto& team = flow_.group(a).team;
      double* mine = team_.data() + ix(a) * D_;
      std::copy(team.begin(), team.end(), mine);
      flow_.signals().team[a] = mine;
      target_until_[a] = 0;  // team_target recomputes
    }
    std::fill(pipeline_.begin(), pipeline_.end(), 0.0);
    std::fill(pipeline_total_.begin(), pipeline_total_.end(), 0.0);
  }
  //! Plan steps `after_lep` count from financial close: the LEP's formation, or a non-LEP
  //! deal's close (docs/model.md, section 21), which is the same step where a LEP forms.
  void on_close(AuthorityId a, int /*step*/) override { target_until_[a] = 0; }
  //! Hires arrive after the lag, staff leave at the attrition rate, surplus is released.
  void on_step_start(int step) override {
    ReplicationResult& out = flow_.out();
    std::vector<double>& capacity = flow_.programme_capacity();
    const std::size_t L = static_cast<std::size_t>(lag_steps_ + 1);
    const double dt = flow_.scenario().time.step_months;
    std::fill(capacity.begin(), capacity.end(), 0.0);
    double cost = 0;
    // Loop invariants, the same expressions as per discipline (same bits).
    const double keep = 1.0 - cm_.attrition * dt;
    const std::size_t now_slot = static_cast<std::size_t>(step) % L,
                      hire_slot = static_cast<std::size_t>(step + lag_steps_) % L;
    double* fte = &out.fte[static_cast<std::size_t>(step) * D_];
    double* cap = capacity.data();
    double* pipeline = pipeline_.data();
    const double cost_per_fte = cm_.cost_per_fte_month;
    const bool lagged = lag_steps_ != 0;
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      if (flow_.entry_step(a) > step) continue;
      const double* target = team_target(a, step);
      // The authority's rows, updated in locals and stored once (the same operations in
      // the same order as per element, so the same bits).
      double* team = team_.data() + ix(a) * D_;
      double* total = pipeline_total_.data() + ix(a) * D_;
      double a_cost = 0;
      for (std::size_t k = 0; k < D_; ++k) {
        const std::size_t i = ix(a) * D_ + k;
        const double arriving = pipeline[i * L + now_slot];
        pipeline[i * L + now_slot] = 0;
        double f = team[k] * keep + arriving;
        double in_pipe = total[k] - arriving;
        const double gap = target[k] - f - in_pipe;
        if (gap > 1e-12) {
          if (!lagged)
            f += gap;
          else {
            pipeline[i * L + hire_slot] += gap;
            in_pipe += gap;
          }
        } else if (f > target[k]) {
          f = target[k];
        }
        team[k] = f;
        total[k] = in_pipe;
        cap[k] += f;
        fte[k] += f;
        a_cost += f * cost_per_fte * dt;
      }
      out.lep_capacity_cost[ix(a)] += a_cost;
      cost += a_cost;
    }
    out.spend[static_cast<std::size_t>(step) * 3 + 2] += cost;
  }

 private:
  //! The team an authority aims for at `step`: its latest applicable plan step, else its team.
  //! The answer holds until a plan month can next be reached (or the LEP forms, which resets
  //! it), so the plan is searched a few times per replication, not every step.
  const double* team_target(AuthorityId a, int step) {
    if (step < target_until_[a]) return target_[a];
    const AuthorityGroup& g = flow_.group(a);
    const double dt = flow_.scenario().time.step_months;
    const int entry = flow_.entry_step(a), lep = flow_.close_step(a);
    const double* target = g.team.data();
    const double since_entry = (step - entry) * dt;
    const double since_lep = lep >= 0 ? (step - lep) * dt : -1.0;
    double best_entry = -1, best_lep = -1;
    const double* lep_target = nullptr;
    // The earliest step at which a plan month not yet reached could be: one step before the
    // exact crossing, so rounding can only make the search run early, never late.
    double until = std::numeric_limits<double>::infinity();
    for (const CapacityPlanStep& st : g.capacity_plan) {
      if (!st.after_lep && st.month <= since_entry && st.month >= best_entry) best_entry = st.month, target = st.team.data();
      if (st.after_lep && since_lep >= 0 && st.month <= since_lep && st.month >= best_lep)
        best_lep = st.month, lep_target = st.team.data();
      if (!st.after_lep && st.month > since_entry) until = std::min(until, entry + std::floor(st.month / dt) - 1);
      if (st.after_lep && since_lep >= 0 && st.month > since_lep)
        until = std::min(until, lep + std::floor(st.month / dt) - 1);
    }
    target_until_[a] = static_cast<std::int32_t>(
        std::clamp(until, step + 1.0, static_cast<double>(std::numeric_limits<std::int32_t>::max())));
    target_[a] = lep_target ? lep_target : target;
    return target_[a];
  }

  const CapacityMechanism& cm_;
  const std::size_t D_;
  const int lag_steps_;
  std::vector<double> team_;                     // [A*D] FTE employed now
  std::vector<double> pipeline_;                 // [A*D*lag] FTE hired, arriving by step modulo lag
  std::vector<double> pipeline_total_;           // [A*D]
  IdVector<AuthorityId, const double*> target_;  // team_target's last answer, valid for steps < target_until_
  IdVector<AuthorityId, std::int32_t> target_until_;
};

}  // namespace

std::unique_ptr<Mechanism> make_capacity(Flow& flow) {
  if (!flow.scenario().mechanisms.capacity.enabled) return nullptr;
  return std::make_unique<Capacity>(flow);
}

}  // namespace lepsim::detail
