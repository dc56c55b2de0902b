// The partnership mechanisms of the LEP Toolkit, as hooks the flow core calls
// (simulation.cpp). Equations, defaults and their reasons: docs/model.md,
// sections 11-18. Every mechanism is off unless its scenario table is present,
// and when off it draws nothing and multiplies by exactly 1, so the core's
// numbers are reproduced bit for bit.

#include <algorithm>
#include <cmath>
#include <limits>

#include "lepsim/simulation.hpp"
#include "percentile.hpp"

namespace lepsim {
namespace {

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1.0 - p)); }

//! Substreams of Purpose::AuthoritySetup: one per attribute, so adding one shifts none.
enum SetupSubstream : std::uint16_t {
  PLANNING = 0, VISION = 1, SHADOW_BOARD = 2, INDEPENDENT_CHAIR = 3, TRANSITION_TEAM = 4,
  CO_LOCATION = 5, LEADERSHIP = 6, TARGETS = 7, PRACTICE_FIRST = 8,  // 8 .. 8 + PRACTICES - 1
};

//! A project handed over within 10% of its planned path counts as on time (docs/model.md, 17).
constexpr double ON_TIME_TOLERANCE = 0.10;
//! Exclusivity runs for ten years (NAO09 para 1.20): a tenth of the schools a year is full volume.
constexpr double EXCLUSIVITY_YEARS = 10.0;

}  // namespace

const Distribution& standard_normal() {
  static const Distribution d = Distribution::normal(0.0, 1.0);
  return d;
}

void Simulator::draw_setups() {
  const Mechanisms& m = sc_.mechanisms;
  const std::size_t D = sc_.disciplines.size();
  a_health_stream_.clear();
  a_dispute_stream_.clear();
  const bool draws = m.setup.enabled || m.partnering.enabled || m.transformation.enabled;
  for (int a = 0; a < sc_.authority_count(); ++a) {
    const auto au = static_cast<std::size_t>(a);
    const AuthorityGroup& g = sc_.groups[static_cast<std::size_t>(sc_.authority_group[au])];
    AuthoritySetupDraw& d = a_setup_[au];
    d = AuthoritySetupDraw{};
    if (draws) {
      const AuthoritySetup& set = g.setup;
      auto stream = [&](std::uint16_t sub) {
        return RandomStream(seed_, replication_, authority_entity(a), Purpose::AuthoritySetup, sub);
      };
      auto draw = [&](const Distribution& dist, std::uint16_t sub) {
        RandomStream r = stream(sub);
        traced(authority_entity(a), Purpose::AuthoritySetup, sub, &dist);
        return dist.sample(r);
      };
      auto flip = [&](double p, std::uint16_t sub) {
        RandomStream r = stream(sub);
        traced(authority_entity(a), Purpose::AuthoritySetup, sub, nullptr);
        return r.uniform() < p ? 1.0 : 0.0;
      };
      d.planning = std::clamp(draw(set.planning_quality, PLANNING), 0.0, 1.0);
      d.vision = std::clamp(draw(set.vision_count, VISION) / VISION_ACTIVITIES, 0.0, 1.0);
      d.governance = 0.5 * (flip(set.shadow_board, SHADOW_BOARD) + flip(set.independent_chair, INDEPENDENT_CHAIR));
      d.mobilisation = 0.5 * (flip(set.transition_team, TRANSITION_TEAM) + flip(set.co_location, CO_LOCATION));
      d.leadership = std::clamp(draw(set.leadership, LEADERSHIP), 0.0, 1.0);
      d.targets = flip(set.transformation_targets, TARGETS) > 0;
      for (int i = 0; i < PRACTICES; ++i)
        if (flip(set.practices[i], static_cast<std::uint16_t>(PRACTICE_FIRST + i)) > 0 || (m.partnering.mandated >> i & 1u))
          d.practices |= static_cast<std::uint8_t>(1u << i);
    }
    a_lep_step_[au] = -1;
    a_target_until_[au] = 0;  // team_target recomputes
    a_stalled_until_[au] = 0;
    a_exclusive_[au] = 0;
    a_failing_years_[au] = 0;
    a_year_overrun_[au] = 0;
    a_year_handovers_[au] = a_year_ontime_[au] = 0;
    if (m.partnering.enabled) {
      const PartneringMechanism& pm = m.partnering;
      set_health_logit(au, logit(pm.start_level) + pm.start_vision * (d.vision - 0.5) +
                               pm.start_governance * (d.governance - 0.5) + pm.start_mobilisation * (d.mobilisation - 0.5));
      double mu = logit(pm.long_run), kappa = pm.recovery;
      for (int i = 0; i < PRACTICES; ++i)
        if (d.practices >> i & 1u) mu += pm.practice_level[i], kappa += pm.practice_recovery;
      a_health_mu_[au] = mu;
      a_health_kappa_[au] = kappa;
      a_health_stream_.emplace_back(seed_, replication_, authority_entity(a), Purpose::Health);
    }
    if (m.disputes.enabled) a_dispute_stream_.emplace_back(seed_, replication_, authority_entity(a), Purpose::Dispute);
    if (m.capacity.enabled) {
      // At entry the authority has its declared team; its plan then drives hiring.
      std::copy(g.team.begin(), g.team.end(), team_.begin() + static_cast<std::ptrdiff_t>(au * D));
    }
  }
  std::fill(pipeline_.begin(), pipeline_.end(), 0.0);
  std::fill(pipeline_total_.begin(), pipeline_total_.end(), 0.0);
  year_committed_ = 0;
  funding_queue_.clear();
  funding_head_ = 0;
  workload_ = 0;
  transformation_total_ = 0;
}

//! Work content of a stage instance after the mechanisms that lengthen or shorten it.
double Simulator::adjusted_work(int project, int stage, double work) {
  const Mechanisms& m = sc_.mechanisms;
  const auto p = static_cast<std::size_t>(project);
  const auto a = static_cast<std::size_t>(p_authority_[p]);
  const auto s = static_cast<std::size_t>(stage);
  const AuthoritySetupDraw& d = a_setup_[a];
  switch (stage_setup_kind_[s]) {  // PN1, PN3, PN5 (section 11)
    case 1: work *= 1.0 + m.setup.planning_effect * (0.5 - d.planning); break;
    case 2: work *= 1.0 + m.setup.vision_effect * (0.5 - d.vision); break;
    case 3: work *= 1.0 + m.setup.mobilisation_effect * (0.5 - d.mobilisation); break;
    default: break;
  }
  if (stage_is_market_[s]) {  // section 15
    const double excess = std::max(0.0, workload_ / m.market.reference_workload - 1.0);
    work *= std::min(m.market.max_factor, 1.0 + m.market.duration_elasticity * excess);
  }
  if (stage_is_slowed_[s] && d.targets) work *= 1.0 + m.transformation.target_slowdown;  // section 16
  // After a withdrawal of exclusivity each project not yet started is procured on its own (section 17).
  if (m.exclusivity.enabled && p_start_step_[p] < 0 && !p_single_[p] && a_lep_step_[a] >= 0 && !a_exclusive_[a]) {
    p_single_[p] = 1;
    RandomStream r(seed_, replication_, project_stream_entity(project), Purpose::SingleProcurement);
    traced(r.entity(), Purpose::SingleProcurement, 0, &m.exclusivity.single_procurement);
    work += std::max(0.0, m.exclusivity.single_procurement.sample(r));
  }
  return work;
}

void Simulator::set_health_logit(std::size_t authority, double x) {
  a_health_logit_[authority] = x;
  a_health_value_[authority] = logistic(x);
}

double Simulator::health(int authority) const {
  const auto a = static_cast<std::size_t>(authority);
  return sc_.mechanisms.partnering.enabled && a_lep_step_[a] >= 0 ? a_health_value_[a] : 0.5;
}

double Simulator::productivity(int authority) const {
  if (!sc_.mechanisms.partnering.enabled || a_lep_step_[static_cast<std::size_t>(authority)] < 0) return 1.0;
  return 1.0 + sc_.mechanisms.partnering.productivity * (health(authority) - 0.5);
}

void Simulator::form_lep(int authority, int step, ReplicationResult& out) {
  const auto a = static_cast<std::size_t>(authority);
  const Mechanisms& m = sc_.mechanisms;
  a_lep_step_[a] = step;
  a_target_until_[a] = 0;  // plan steps after the LEP now apply: team_target recomputes
  a_exclusive_[a] = 1;
  out.lep_formed_step[a] = step;
  ++events_.leps;
  if (m.costs.enabled) {
    RandomStream r(seed_, replication_, authority_entity(authority), Purpose::LepSetup);
    traced(r.entity(), Purpose::LepSetup, 0, &m.costs.lep_setup);
    const double cost = std::max(0.0, m.costs.lep_setup.sample(r));
    out.lep_setup_cost[a] = cost;
    out.spend[static_cast<std::size_t>(step) * 3 + 1] += cost;
  }
}

void Simulator::start_disputes(int step, ReplicationResult& out) {
  const DisputeMechanism& dm = sc_.mechanisms.disputes;
  for (int a = 0; a < sc_.authority_count(); ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (a_lep_step_[au] < 0 || a_lep_step_[au] >= step || a_stalled_until_[au] > step) continue;
    const double hazard = dm.base_rate * std::exp(-dm.health_sensitivity * (health(a) - 0.5));
    const double p = 1.0 - std::exp(-hazard * sc_.time.step_months);
    if (trace_) ++a_dispute_draws_[au];
    if (a_dispute_stream_[au].uniform() >= p) continue;
    RandomStream r(seed_, replication_, authority_entity(a), Purpose::DisputeLength,
                   static_cast<std::uint16_t>(out.lep_disputes[au] & 0xFFFF));
    traced(r.entity(), Purpose::DisputeLength, r.substream(), &dm.months);
    ++events_.disputes;
    const double months = std::max(0.0, dm.months.sample(r));
    const int steps = static_cast<int>(std::ceil(months / sc_.time.step_months - 1e-9));
    ++out.lep_disputes[au];
    if (steps > 0) a_stalled_until_[au] = step + steps;  // stalls steps [step, step + steps)
  }
}

//! A project's capital, drawn once (at its funding gate or when its spend stage starts).
double Simulator::capital_of(int project, int step) {
  (void)step;
  const auto p = static_cast<std::size_t>(project);
  if (p_capital_[p] >= 0) return p_capital_[p];
  const Mechanisms& m = sc_.mechanisms;
  RandomStream r(seed_, replication_, project_stream_entity(project), Purpose::Capital);
  traced(r.entity(), Purpose::Capital, 0, &m.costs.capital[static_cast<std::size_t>(p_type_[p])]);
  double cost = std::max(0.0, m.costs.capital[static_cast<std::size_t>(p_type_[p])].sample(r));
  if (p_single_[p]) cost *= 1.0 + m.exclusivity.single_cost_premium;
  if (m.market.enabled) {
    const double excess = std::max(0.0, workload_ / m.market.reference_workload - 1.0);
    cost *= std::min(m.market.max_factor, 1.0 + m.market.price_elasticity * excess);
  }
  p_capital_[p] = cost;
  return cost;
}

//! The annual envelope is never exceeded: a project starts a funded stage only when its
//! capital fits what is left this programme year, first come first served.
bool Simulator::funding_gate(Item& item, int step) {
  const double cost = capital_of(item.project, step);
  if (funding_head_ == funding_queue_.size() && year_committed_ + cost <= sc_.mechanisms.funding.annual_envelope) {
    year_committed_ += cost;
    return true;
  }
  funding_queue_.push_back(item);
  return false;
}

void Simulator::new_programme_year(int step) {
  year_committed_ = 0;
  const double envelope = sc_.mechanisms.funding.annual_envelope;
  while (funding_head_ < funding_queue_.size()) {
    Item item = funding_queue_[funding_head_];
    const double cost = p_capital_[static_cast<std::size_t>(item.project)];
    if (year_committed_ + cost > envelope) break;  // strict order: big projects are not starved
    year_committed_ += cost;
    ++funding_head_;
    item.gate = GATE_CAPACITY;  // past the funding gate
    pass_gates(item, step);
  }
  if (funding_head_ == funding_queue_.size()) funding_queue_.clear(), funding_head_ = 0;
}

void Simulator::commit_capital(int project, int step) { capital_of(project, step); }

void Simulator::spend_progress(const Item& item, double progress, int step, ReplicationResult& out) {
  if (item.total <= 0) return;
  const auto p = static_cast<std::size_t>(item.project);
  const double amount = p_capital_[p] * progress / item.total;
  p_spent_[p] += amount;
  out.spend[static_cast<std::size_t>(step) * 3] += amount;
}

void Simulator::finish_project(int project, int step, ReplicationResult& out) {
  const Mechanisms& m = sc_.mechanisms;
  const auto p = static_cast<std::size_t>(project);
  const int a = p_authority_[p];
  const auto au = static_cast<std::size_t>(a);
  if (!out.lep_schools_completed.empty()) ++out.lep_schools_completed[au];
  const int start = p_start_step_[p] >= 0 ? p_start_step_[p] : step;
  const double planned = planned_path_[static_cast<std::size_t>(p_type_[p])];
  const double delay = planned > 0 ? std::max(0.0, (step - start + 1) * sc_.time.step_months / planned - 1.0) : 0.0;
  const double h = health(a);
  double overrun = 0;
  if (m.costs.enabled) {  // section 14
    const double capital = capital_of(project, step);
    const double factor = std::max(0.0, (1.0 + m.costs.delay_overrun * delay) * (1.0 + m.costs.health_overrun * (0.5 - h)));
    const double final_cost = capital * factor;
    overrun = factor - 1.0;
    out.spend[static_cast<std::size_t>(step) * 3] += final_cost - p_spent_[p];
    p_spent_[p] = final_cost;
    out.project_cost[p] = final_cost;
    out.lep_capital_cost[au] += final_cost;
  }
  const bool on_time = delay <= ON_TIME_TOLERANCE;
  if (m.partnering.enabled && a_lep_step_[au] >= 0) {  // section 12: handovers move health
    const PartneringMechanism& pm = m.partnering;
    set_health_logit(au, a_health_logit_[au] + (-pm.delay_shock * delay - pm.overrun_shock * std::max(0.0, overrun) +
                                                 (on_time ? pm.ontime_boost : 0.0)));
  }
  if (m.exclusivity.enabled) {
    ++a_year_handovers_[au];
    a_year_ontime_[au] += on_time ? 1 : 0;
    a_year_overrun_[au] += std::max(0.0, overrun);
  }
  if (m.transformation.enabled) {  // section 16
    const TransformationMechanism& tm = m.transformation;
    const AuthoritySetupDraw& d = a_setup_[au];
    const double score = tm.base * (1.0 + tm.leadership_weight * (d.leadership - 0.5)) *
                         (1.0 + tm.vision_weight * (d.vision - 0.5)) * (1.0 + tm.health_weight * (h - 0.5)) *
                         (d.targets ? 1.0 + tm.target_bonus : 1.0);
    transformation_total_ += score;
    out.lep_transformation[au] += score;
  }
}

//! The team an authority aims for at `step`: its latest applicable plan step, else its team.
//! The answer holds until a plan month can next be reached (or the LEP forms, which resets
//! it), so the plan is searched a few times per replication, not every step.
const double* Simulator::team_target(int authority, int step) {
  const auto a = static_cast<std::size_t>(authority);
  if (step < a_target_until_[a]) return a_target_[a];
  const AuthorityGroup& g = sc_.groups[static_cast<std::size_t>(sc_.authority_group[a])];
  const double dt = sc_.time.step_months;
  const double* target = g.team.data();
  const double since_entry = (step - a_entry_step_[a]) * dt;
  const double since_lep = a_lep_step_[a] >= 0 ? (step - a_lep_step_[a]) * dt : -1.0;
  double best_entry = -1, best_lep = -1;
  const double* lep_target = nullptr;
  // The earliest step at which a plan month not yet reached could be: one step before the
  // exact crossing, so rounding can only make the search run early, never late.
  double until = std::numeric_limits<double>::infinity();
  for (const CapacityPlanStep& st : g.capacity_plan) {
    if (!st.after_lep && st.month <= since_entry && st.month >= best_entry) best_entry = st.month, target = st.team.data();
    if (st.after_lep && since_lep >= 0 && st.month <= since_lep && st.month >= best_lep) best_lep = st.month, lep_target = st.team.data();
    if (!st.after_lep && st.month > since_entry) until = std::min(until, a_entry_step_[a] + std::floor(st.month / dt) - 1);
    if (st.after_lep && since_lep >= 0 && st.month > since_lep) until = std::min(until, a_lep_step_[a] + std::floor(st.month / dt) - 1);
  }
  a_target_until_[a] = static_cast<std::int32_t>(std::clamp(until, step + 1.0, static_cast<double>(std::numeric_limits<std::int32_t>::max())));
  a_target_[a] = lep_target ? lep_target : target;
  return a_target_[a];
}

//! PN7: hires arrive after the lag, staff leave at the attrition rate, surplus is released.
void Simulator::update_teams(int step, ReplicationResult& out) {
  const CapacityMechanism& cm = sc_.mechanisms.capacity;
  const std::size_t D = sc_.disciplines.size(), L = static_cast<std::size_t>(lag_steps_ + 1);
  const double dt = sc_.time.step_months;
  std::fill(capacity_.begin(), capacity_.end(), 0.0);
  double cost = 0;
  // Loop invariants, the same expressions as per discipline (same bits).
  const double keep = 1.0 - cm.attrition * dt;
  const std::size_t now_slot = static_cast<std::size_t>(step) % L, hire_slot = static_cast<std::size_t>(step + lag_steps_) % L;
  double* fte = &out.fte[static_cast<std::size_t>(step) * D];
  for (int a = 0; a < sc_.authority_count(); ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (a_entry_step_[au] > step) continue;
    const double* target = team_target(a, step);
    double a_cost = 0;
    for (std::size_t k = 0; k < D; ++k) {
      const std::size_t i = au * D + k;
      double& f = team_[i];
      double& arriving = pipeline_[i * L + now_slot];
      f = f * keep + arriving;
      pipeline_total_[i] -= arriving;
      arriving = 0;
      const double gap = target[k] - f - pipeline_total_[i];
      if (gap > 1e-12) {
        if (lag_steps_ == 0) f += gap;
        else {
          pipeline_[i * L + hire_slot] += gap;
          pipeline_total_[i] += gap;
        }
      } else if (f > target[k]) {
        f = target[k];
      }
      capacity_[k] += f;
      fte[k] += f;
      a_cost += f * cm.cost_per_fte_month * dt;
    }
    out.lep_capacity_cost[au] += a_cost;
    cost += a_cost;
  }
  out.spend[static_cast<std::size_t>(step) * 3 + 2] += cost;
}

//! PN6: x <- x + kappa (mu - x) dt + sigma sqrt(dt) eps on the logit scale.
void Simulator::update_health(int step) {
  const double dt = sc_.time.step_months, sq = std::sqrt(dt);
  for (std::size_t a = 0; a < a_lep_step_.size(); ++a) {
    if (a_lep_step_[a] < 0 || a_lep_step_[a] > step) continue;
    update_health_one(a, dt, sq);
  }
}

void Simulator::update_health_one(std::size_t a, double dt, double sq) {
  const PartneringMechanism& pm = sc_.mechanisms.partnering;
  if (trace_) ++a_health_draws_[a];
  const double eps = standard_normal().sample(a_health_stream_[a]);
  set_health_logit(a, a_health_logit_[a] + (a_health_kappa_[a] * (a_health_mu_[a] - a_health_logit_[a]) * dt + pm.volatility * sq * eps));
}

//! PN9: the annual balanced scorecard and the withdrawal rule (section 17).
void Simulator::score_year(int step, ReplicationResult& out) {
  const int year = (step + 1) / steps_per_year_;
  for (int a = 0; a < sc_.authority_count(); ++a) score_one(a, step, year, out);
}

void Simulator::score_one(int a, int step, int year, ReplicationResult& out) {
  const ExclusivityMechanism& em = sc_.mechanisms.exclusivity;
  const auto au = static_cast<std::size_t>(a);
  // Score only LEPs that have held exclusivity for a whole year.
  if (a_exclusive_[au] && a_lep_step_[au] <= step + 1 - steps_per_year_) {
    const int n = a_year_handovers_[au];
    const double time = n > 0 ? static_cast<double>(a_year_ontime_[au]) / n : 0.5;
    const double cost = n > 0 ? 1.0 / (1.0 + a_year_overrun_[au] / n) : 0.5;
    const double quality = health(a);
    const double expected = a_projects_[au] / EXCLUSIVITY_YEARS;
    const double volume = expected > 0 ? std::min(1.0, n / expected) : 1.0;
    const double score = em.weight_cost * cost + em.weight_quality * quality + em.weight_time * time + em.weight_volume * volume;
    a_failing_years_[au] = score < em.threshold ? a_failing_years_[au] + 1 : 0;
    if (a_failing_years_[au] >= em.years) {
      RandomStream r(seed_, replication_, authority_entity(a), Purpose::Exclusivity, static_cast<std::uint16_t>(year));
      traced(r.entity(), Purpose::Exclusivity, r.substream(), nullptr);
      if (r.uniform() < em.act_probability) a_exclusive_[au] = 0, out.lep_exclusivity_lost_step[au] = step;
    }
  }
  a_year_overrun_[au] = 0;
  a_year_handovers_[au] = a_year_ontime_[au] = 0;
}

//! One step of one LEP for benchmarks: its capacity allocation and stage progress, its
//! health update and its scorecard, then the state is put back so the call can be repeated.
double Simulator::step_lep(int authority, int step, ReplicationResult& out) {
  const auto a = static_cast<std::size_t>(authority);
  const Mechanisms& m = sc_.mechanisms;
  bench_items_ = a_active_[a];
  const std::size_t n_completed = completed_.size();
  const double logit = a_health_logit_[a], value = a_health_value_[a];
  const std::int32_t failing = a_failing_years_[a], handovers = a_year_handovers_[a], ontime = a_year_ontime_[a];
  const double overrun = a_year_overrun_[a];
  const std::uint8_t exclusive = a_exclusive_[a];
  const RandomStream health_stream = m.partnering.enabled ? a_health_stream_[a] : RandomStream(0, 0, 0, Purpose::Health);
  int active = 0;
  if (!a_active_[a].empty()) allocate(a, step, out, active);
  const double dt = sc_.time.step_months;
  if (m.partnering.enabled && a_lep_step_[a] >= 0) update_health_one(a, dt, std::sqrt(dt));
  if (m.exclusivity.enabled) score_one(authority, step, (step + 1) / steps_per_year_, out);
  const double result = a_health_value_[a] + static_cast<double>(a_active_[a].size() + static_cast<std::size_t>(active));
  a_active_[a].swap(bench_items_);
  completed_.resize(n_completed);
  a_health_logit_[a] = logit, a_health_value_[a] = value;
  a_failing_years_[a] = failing, a_year_handovers_[a] = handovers, a_year_ontime_[a] = ontime;
  a_year_overrun_[a] = overrun, a_exclusive_[a] = exclusive;
  if (m.partnering.enabled) a_health_stream_[a] = health_stream;
  return result;
}

void Simulator::record_mechanisms(int step, ReplicationResult& out) {
  const Mechanisms& m = sc_.mechanisms;
  const auto t = static_cast<std::size_t>(step);
  if (m.market.enabled) {
    workload_ = 0;  // national workload seen by the next step's starts
    for (std::size_t s = 0; s < stage_is_market_.size(); ++s)
      if (stage_is_market_[s]) workload_ += out.stage_active[t * stage_is_market_.size() + s];
  }
  if (m.lep_stage >= 0) {
    std::int32_t formed = 0, exclusive = 0, disputes = 0;
    health_scratch_.clear();
    for (int a = 0; a < sc_.authority_count(); ++a) {
      const auto au = static_cast<std::size_t>(a);
      if (a_lep_step_[au] < 0) continue;
      ++formed;
      exclusive += a_exclusive_[au];
      disputes += a_stalled_until_[au] > step ? 1 : 0;
      if (m.partnering.enabled) health_scratch_.push_back(health(a));
    }
    out.leps_formed[t] = formed;
    if (m.exclusivity.enabled) out.exclusive_leps[t] = exclusive;
    if (m.disputes.enabled) out.disputes_active[t] = disputes;
    if (!health_scratch_.empty()) {
      double sum = 0;
      for (double h : health_scratch_) sum += h;
      out.health[t * 3] = sum / static_cast<double>(health_scratch_.size());
      const double last = static_cast<double>(health_scratch_.size()) - 1;
      std::size_t from = 0;
      out.health[t * 3 + 1] = detail::percentile_selected(health_scratch_, last * 0.1, from);
      out.health[t * 3 + 2] = detail::percentile_selected(health_scratch_, last * 0.9, from);
    }
  }
  if (m.transformation.enabled) out.transformation[t] = transformation_total_;
  if (m.funding.enabled) {
    out.funding_queue[t] = static_cast<std::int32_t>(funding_queue_.size() - funding_head_);
    out.funding_committed[t] = year_committed_;
  }
}

void Simulator::finish_mechanisms(ReplicationResult& out) {
  if (!sc_.mechanisms.partnering.enabled) return;
  for (int a = 0; a < sc_.authority_count(); ++a)
    if (a_lep_step_[static_cast<std::size_t>(a)] >= 0) out.lep_final_health[static_cast<std::size_t>(a)] = health(a);
}

}  // namespace lepsim
