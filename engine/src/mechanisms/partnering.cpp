// PN6 (docs/model.md, section 12): partnering health, a mean-reverting process on the logit
// scale per LEP, moved by handovers. Others see it through Signals::health (0.5 before the
// LEP forms) and Signals::productivity.

#include <array>
#include <cmath>

#include "../flow.hpp"
#include "../percentile.hpp"
#include "ou.hpp"

namespace lepsim::detail {
namespace {

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1.0 - p)); }

class Partnering final : public Mechanism {
 public:
  explicit Partnering(Flow& flow)
      : Mechanism(flow), pm_(flow.scenario().mechanisms.partnering), dt_(flow.scenario().time.step_months) {
    const std::size_t A = flow.authorities();
    logit_.resize(A), value_.resize(A), mu_.resize(A), step_.resize(A);
  }
  const char* name() const override { return "partnering"; }

  void on_replication_start() override {
    streams_.open(flow_.draws(), flow_.authorities(), Purpose::Health, &standard_normal());
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      const AuthorityAttributes& d = flow_.signals().attributes[a];
      set_logit(a, logit(pm_.start_level) + pm_.start_vision * (d.vision - 0.5) +
                       pm_.start_governance * (d.governance - 0.5) + pm_.start_mobilisation * (d.mobilisation - 0.5));
      double mu = logit(pm_.long_run), kappa = pm_.recovery;
      for (int i = 0; i < PRACTICES; ++i)
        if (d.practices >> i & 1u) mu += pm_.practice_level[i], kappa += pm_.practice_recovery;
      mu_[a] = mu;
      step_[a] = OuTransition(kappa, pm_.volatility, dt_);
    }
  }
  void on_lep_formed(AuthorityId a, int /*step*/) override { publish(a); }
  void on_handover(Handover& h) override {
    if (flow_.lep_step(h.authority) < 0) return;
    const AuthorityId a = h.authority;
    set_logit(a, logit_[a] + (-pm_.delay_shock * h.delay - pm_.overrun_shock * std::max(0.0, h.overrun) +
                              (h.on_time ? pm_.ontime_boost : 0.0)));
  }
  //! The exact OU transition over the step (ou.hpp), for every LEP formed by the step.
  void on_step_end(int step) override {
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities())) {
      const int formed = flow_.lep_step(a);
      if (formed < 0 || formed > step) continue;
      update(a);
    }
  }
  //! Mean, P10 and P90 over the formed LEPs.
  void record(int step) override {
    scratch_.clear();
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities()))
      if (flow_.lep_step(a) >= 0) scratch_.push_back(value_[a]);
    if (scratch_.empty()) return;
    double* health = &flow_.out().health[static_cast<std::size_t>(step) * 3];
    double sum = 0;
    for (double h : scratch_) sum += h;
    health[0] = sum / static_cast<double>(scratch_.size());
    const double last = static_cast<double>(scratch_.size()) - 1;
    std::size_t from = 0;
    health[1] = percentile_selected(scratch_, last * 0.1, from);
    health[2] = percentile_selected(scratch_, last * 0.9, from);
  }
  void finish() override {
    for (AuthorityId a : ids<AuthorityId>(flow_.authorities()))
      if (flow_.lep_step(a) >= 0) flow_.out().lep_final_health[ix(a)] = value_[a];
    streams_.flush(flow_.draws());
  }

  bool bench_steps_leps() const override { return true; }
  void bench_step_lep(AuthorityId a, int /*step*/) override {
    if (flow_.lep_step(a) >= 0) update(a);
  }
  void bench_save(AuthorityId a) override {
    saved_ = {logit_[a], value_[a], flow_.signals().health[a], flow_.signals().productivity[a]};
    saved_stream_ = streams_.stream(a);
  }
  void bench_restore(AuthorityId a) override {
    logit_[a] = saved_[0], value_[a] = saved_[1];
    flow_.signals().health[a] = saved_[2], flow_.signals().productivity[a] = saved_[3];
    streams_.stream(a) = saved_stream_;
  }

 private:
  void update(AuthorityId a) { set_logit(a, step_[a](logit_[a], mu_[a], streams_.sample(a))); }
  //! The logit and the health, logistic(logit), set together so they cannot drift apart.
  void set_logit(AuthorityId a, double x) {
    logit_[a] = x;
    value_[a] = logistic(x);
    if (flow_.lep_step(a) >= 0) publish(a);
  }
  void publish(AuthorityId a) {
    flow_.signals().health[a] = value_[a];
    flow_.signals().productivity[a] = 1.0 + pm_.productivity * (value_[a] - 0.5);
  }

  const PartneringMechanism& pm_;
  const double dt_;
  IdVector<AuthorityId, double> logit_, value_, mu_;
  IdVector<AuthorityId, OuTransition> step_;  // the step's transition at the LEP's kappa
  AuthorityStreams streams_;
  std::vector<double> scratch_;
  std::array<double, 4> saved_{};
  RandomStream saved_stream_{0, 0, 0, Purpose::Health};
};

}  // namespace

std::unique_ptr<Mechanism> make_partnering(Flow& flow) {
  if (!flow.scenario().mechanisms.partnering.enabled) return nullptr;
  return std::make_unique<Partnering>(flow);
}

}  // namespace lepsim::detail
