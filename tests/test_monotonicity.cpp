// Property: under common random numbers (the same seed), adding FTE of any discipline at
// any time does not lower expected completions by any month beyond Monte Carlo noise
// (docs/model.md, "Capacity allocation", and "When more capacity can still hurt").
// Checked over a seeded family of generated small scenarios and on the shipped
// bsf.toml and authority-capacity.toml.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

using namespace lepsim;

namespace {

//! The worst month of one comparison: the paired mean difference in cumulative completions
//! (more - base) and its z score (difference / standard error; -inf when the standard error
//! is 0 and the difference negative).
struct Worst {
  double diff = 0, z = 0;
  int month = -1;
};

//! A difference counts as a drop beyond noise when it is below -NOISE_Z standard errors.
//! Several hundred months x cases are compared, so the threshold is set well past 2.
constexpr double NOISE_Z = 4.5;

Worst compare(const Scenario& base, const Scenario& more, int replications, std::uint64_t seed) {
  Simulator a(base), b(more);
  ReplicationResult ra, rb;
  const auto T = static_cast<std::size_t>(base.time.steps);
  std::vector<double> sum(T, 0.0), sq(T, 0.0);
  for (int r = 0; r < replications; ++r) {
    a.run(seed, static_cast<std::uint32_t>(r), ra);
    b.run(seed, static_cast<std::uint32_t>(r), rb);
    double ca = 0, cb = 0;
    for (std::size_t t = 0; t < T; ++t) {
      ca += ra.completions[t], cb += rb.completions[t];
      sum[t] += cb - ca, sq[t] += (cb - ca) * (cb - ca);
    }
  }
  Worst w;
  w.z = INFINITY;
  for (std::size_t t = 0; t < T; ++t) {
    const double n = replications, m = sum[t] / n;
    const double var = std::max(0.0, (sq[t] - n * m * m) / (n - 1));
    const double se = std::sqrt(var / n);
    const double z = se > 0 ? m / se : (m < 0 ? -INFINITY : INFINITY);
    if (z < w.z) w = Worst{m, z, static_cast<int>(t)};
  }
  return w;
}

//! Adds `extra` FTE of discipline k to a group's team and to every step of its capacity plan
//! (when `plan_step` < 0), or only to one plan step: "at any time".
Scenario add_fte(const Scenario& sc, std::size_t group, std::size_t k, double extra, int plan_step = -1) {
  Scenario s = sc;
  AuthorityGroup& g = s.groups[group];
  if (plan_step < 0) {
    g.team[k] += extra;
    for (auto& st : g.capacity_plan) st.team[k] += extra;
  } else {
    g.capacity_plan[static_cast<std::size_t>(plan_step)].team[k] += extra;
  }
  return s;
}

//! A small random scenario: 2-4 stages in a chain (sometimes a parallel branch), 1-3
//! disciplines, demands that overlap, and gates (a national pool, an authority milestone),
//! with or without a LEP and an after-LEP capacity plan.
std::string generated(std::mt19937_64& g, bool& has_plan) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(g); };
  const int D = pick(1, 3), S = pick(2, 4);
  const char* names[] = {"a", "b", "c"};
  std::ostringstream o;
  o << "disciplines = [";
  for (int k = 0; k < D; ++k) o << (k ? ", " : "") << "\"" << names[k] << "\"";
  o << "]\n[scenario]\nname = \"gen\"\n[time]\nstart = \"2008-04\"\nstep_months = 1\nhorizon_months = "
       "72\n[run]\nreplications = 10\n";
  const bool pool = pick(0, 1) == 1, lep = pick(0, 1) == 1;
  if (pool) o << "[national.p]\ncapacity = " << pick(1, 3) << "\n";
  if (lep) o << "[lep]\nformed_at = \"s0\"\n[capacity]\nhiring_lag_months = " << pick(0, 3) << "\nattrition = 0\n";
  for (int s = 0; s < S; ++s) {
    o << "[stages.s" << s << "]\nwork = { dist = \"uniform\", min = " << real(0.5, 3) << ", max = " << real(3.5, 9)
      << " }\n";
    o << "demand = {";
    bool any = false;
    for (int k = 0; k < D; ++k) {
      const int d = pick(0, 2);  // 0, 0.5 or 1 FTE
      if (d == 0) continue;
      o << (any ? ", " : " ") << names[k] << " = " << 0.5 * d;
      any = true;
    }
    o << (any ? " }\n" : "}\n");
    if (pool && s == S - 2) o << "national = \"p\"\n";
    if (s == 1 && pick(0, 2) == 0) o << "after_authority = \"s0\"\n";
    if (s == S - 1 && S >= 3 && pick(0, 2) == 0) o << "after = [\"s" << S - 3 << "\"]\n";  // a parallel branch
  }
  o << "[project_types.t]\nstages = [";
  for (int s = 0; s < S; ++s) o << (s ? ", " : "") << "\"s" << s << "\"";
  o << "]\n[[authorities]]\nname = \"x\"\nschools = " << pick(4, 12) << "\nrelease_interval_months = " << pick(0, 3)
    << "\nmix = { t = 1 }\nteam = {";
  for (int k = 0; k < D; ++k) o << (k ? ", " : " ") << names[k] << " = " << pick(1, 3);
  o << " }\n";
  has_plan = lep;
  if (lep) {
    o << "[[authorities.capacity_plan]]\nmonth = 0\nafter_lep = true\nteam = {";
    for (int k = 0; k < D; ++k) o << (k ? ", " : " ") << names[k] << " = " << pick(1, 4);
    o << " }\n";
  }
  return o.str();
}

}  // namespace

TEST_CASE("more FTE never lowers expected completions by any month: generated scenarios", "[monotonicity]") {
  std::mt19937_64 g(20260401);
  int cases = 0, comparisons = 0, drops = 0;
  Worst worst;
  worst.z = INFINITY;
  std::string worst_case;
  for (int c = 0; c < 60; ++c) {
    bool has_plan = false;
    const std::string text = generated(g, has_plan);
    const Scenario sc = parse_scenario(text, "generated-" + std::to_string(c));
    ++cases;
    for (std::size_t k = 0; k < sc.disciplines.size(); ++k)
      for (int when = -1; when < (has_plan ? 1 : 0); ++when) {
        // when -1: the whole team (before and after the LEP); 0: only after the LEP forms.
        const Worst w = compare(sc, add_fte(sc, 0, k, 1.0, when), 150, 1000 + static_cast<std::uint64_t>(c));
        ++comparisons;
        if (w.z < -NOISE_Z) ++drops;
        if (w.z < worst.z)
          worst = w, worst_case = "case " + std::to_string(c) + ", +1 " + sc.disciplines[k] +
                                  (when < 0 ? " throughout" : " after the LEP");
      }
  }
  std::printf(
      "monotonicity (generated): %d cases, %d comparisons, %d drops beyond %.1f s.e.; worst: %s, month %d, "
      "difference %.3f (z %.2f)\n",
      cases, comparisons, drops, NOISE_Z, worst_case.c_str(), worst.month + 1, worst.diff, worst.z);
  CHECK(comparisons >= 100);
  CHECK(drops == 0);
}

TEST_CASE("more FTE never lowers expected completions by any month: authority-capacity.toml", "[monotonicity]") {
  const Scenario sc = load_scenario(std::string(LEPSIM_SOURCE_DIR) + "/scenarios/authority-capacity.toml");
  for (std::size_t k = 0; k < sc.disciplines.size(); ++k)
    for (int when = -1; when < static_cast<int>(sc.groups[0].capacity_plan.size()); ++when) {
      const Worst w = compare(sc, add_fte(sc, 0, k, 2.0, when), 60, 77);
      INFO(sc.disciplines[k] << (when < 0 ? " throughout" : " after the LEP") << ": month " << w.month + 1 << " difference "
                             << w.diff << " z " << w.z);
      CHECK(w.z >= -NOISE_Z);
    }
}

TEST_CASE("more FTE never lowers expected completions by any month: bsf.toml", "[monotonicity]") {
  const Scenario sc = load_scenario(std::string(LEPSIM_SOURCE_DIR) + "/scenarios/bsf.toml");
  // +1 FTE of each discipline in every group (the largest national lever), 12 replications.
  for (std::size_t k = 0; k < sc.disciplines.size(); ++k) {
    Scenario more = sc;
    for (std::size_t gi = 0; gi < sc.groups.size(); ++gi) more = add_fte(more, gi, k, 1.0);
    const Worst w = compare(sc, more, 12, 5);
    INFO(sc.disciplines[k] << ": month " << w.month + 1 << " difference " << w.diff << " z " << w.z);
    CHECK(w.z >= -NOISE_Z);
  }
}
