// Validation against queueing theory: a one-stage flow with Poisson arrivals,
// exponential work and c servers is an M/M/c queue, and the engine must agree
// with Erlang C for the mean queue length (hence, by Little's law, the mean
// wait) and the server utilisation, within Monte Carlo error.
//
// Stage times are exact (docs/model.md, "Time steps"): arrivals join at their own
// time and a service ends at its exact time, when the next in the queue starts. The
// series are the state at each step's start, samples of the queue at fixed times,
// whose mean is the time-average queue length. So the check runs at a step of one
// month against the plain Erlang C figures, with no allowance for discretisation:
// only 4 standard errors.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"

using namespace lepsim;

namespace {

struct ErlangC {
  double utilisation, lq;
};

ErlangC erlang_c(double lambda, double mean_service, int c) {
  const double a = lambda * mean_service, rho = a / c;
  double term = 1, sum = 0;  // a^k / k!
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double tail = term / (1 - rho);
  const double p_wait = tail / (sum + tail);
  return {rho, p_wait * rho / (1 - rho)};
}

struct Estimate {
  double mean, se;
};

Estimate mean_se(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  const double m = s / static_cast<double>(x.size());
  double d = 0;
  for (double v : x) d += (v - m) * (v - m);
  return {m, std::sqrt(d / static_cast<double>(x.size() - 1) / static_cast<double>(x.size()))};
}

std::string mmc_scenario(double lambda, double mean_service, int servers, double dt, double horizon) {
  return R"(
disciplines = ["server"]
[scenario]
name = "mmc"
[time]
start = "2000-01"
step_months = )" + std::to_string(dt) + R"(
horizon_months = )" + std::to_string(horizon) + R"(
[stages.service]
work = { dist = "exponential", mean = )" + std::to_string(mean_service) + R"( }
demand = { server = 1 }
[project_types.customer]
stages = ["service"]
[[authorities]]
name = "queue"
arrivals = { rate_per_month = )" + std::to_string(lambda) + R"( }
team = { server = )" + std::to_string(servers) + " }\n";
}

void check_against_erlang_c(double lambda, int servers) {
  const double m = 1.0, dt = 1.0, horizon = 600, warmup = 50;
  const Scenario sc = parse_scenario(mmc_scenario(lambda, m, servers, dt, horizon), "mmc.toml");
  const int first = static_cast<int>(warmup / dt);
  std::vector<double> lq, util, wait_total;
  simulate_range(sc, 2024, 0, 480, 0, 32, [&](std::span<const ReplicationResult> chunk) {
    for (const auto& r : chunk) {
      double q = 0, u = 0;
      for (int t = first; t < r.steps; ++t) {
        q += r.stage_queued[static_cast<std::size_t>(t)];
        u += r.utilisation[static_cast<std::size_t>(t)];
      }
      lq.push_back(q / (r.steps - first));
      util.push_back(u / (r.steps - first));
    }
  });
  const ErlangC theory = erlang_c(lambda, m, servers);
  const Estimate q = mean_se(lq), u = mean_se(util);
  std::printf("Erlang C check, lambda %.2f c %d: Lq %.4f +- %.4f (theory %.4f), utilisation %.4f +- %.4f (theory %.4f)\n",
              lambda, servers, q.mean, q.se, theory.lq, u.mean, u.se, theory.utilisation);
  INFO("lambda " << lambda << " c " << servers << ": Lq sim " << q.mean << " +- " << q.se << " theory " << theory.lq
                 << "; utilisation sim " << u.mean << " +- " << u.se << " theory " << theory.utilisation);
  CHECK(std::abs(q.mean - theory.lq) <= 4 * q.se);
  CHECK(std::abs(u.mean - theory.utilisation) <= 4 * u.se);
  // The test must be able to fail: the theory with the wrong server count, or with the
  // service rounded up to whole months as the time-stepped core did, is far off.
  const ErlangC wrong = erlang_c(lambda, m, servers + 1);
  CHECK(std::abs(q.mean - wrong.lq) > 4 * q.se);
  if (servers == 1) {  // rounded up, the mean service is 1.58 months: load 95%, Lq 17.7
    const ErlangC rounded = erlang_c(lambda, dt / (1 - std::exp(-dt / m)), servers);
    CHECK(std::abs(q.mean - rounded.lq) > 4 * q.se);
  }
}

}  // namespace

TEST_CASE("M/M/3 at 80% load agrees with Erlang C", "[validation][queueing]") { check_against_erlang_c(2.4, 3); }

TEST_CASE("M/M/1 at 60% load agrees with Erlang C (M/M/1 formulas)", "[validation][queueing]") {
  check_against_erlang_c(0.6, 1);
}
