// Core dynamics: hand-computed deterministic cases, conservation of projects,
// Little's law on the output series, and bit-identical results across threads.

#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>
#include <string>

#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

using namespace lepsim;

namespace {

// One authority, fixed durations, monthly steps. `extra` is appended verbatim.
std::string deterministic(const std::string& stages, const std::string& types, const std::string& authority,
                          const std::string& extra = "") {
  return R"(
disciplines = ["client"]
[scenario]
name = "deterministic"
[time]
start = "2010-01"
step_months = 1
horizon_months = 60
[run]
replications = 1
seed = 1
)" + extra + stages + types +
         "[[authorities]]\nname = \"la\"\n" + authority;
}

ReplicationResult run_toml(const std::string& toml) {
  const Scenario sc = parse_scenario(toml, "test.toml");
  Simulator sim(sc);
  ReplicationResult r;
  sim.run(0, r);
  return r;
}

std::vector<std::int32_t> completions_of(const std::string& toml) { return run_toml(toml).completion_step; }

const std::string THREE_STAGES = R"(
[stages.a]
work = 6
[stages.b]
work = 12
[stages.c]
work = 3
demand = { client = 1 }
)";
const std::string ONE_TYPE = "[project_types.school]\nstages = [\"a\", \"b\", \"c\"]\n";

}  // namespace

TEST_CASE("fixed durations and ample capacity give hand-computed completion steps", "[dynamics]") {
  // a: steps 0-5, b: 6-17, c: 18-20 -> step 20; the second school arrives at month 2 -> step 22.
  const auto done = completions_of(deterministic(THREE_STAGES, ONE_TYPE,
                                                 "schools = 2\nrelease_interval_months = 2\nteam = { client = 5 }\n"));
  CHECK(done == std::vector<std::int32_t>{20, 22});
}

TEST_CASE("stage times are exact: a chain of non-integer stages finishes at the exact sum", "[dynamics][exact]") {
  const std::string stages = R"(
[stages.a]
work = 1.3
[stages.b]
work = 2.45
demand = { client = 1 }
[stages.c]
work = 0.75
)";
  // Ample capacity: 1.3 + 2.45 + 0.75 = 4.5 months, so the first finishes at month 4.5 (in
  // step 4); the second arrives at 0.4 and finishes at 4.9, still in step 4. Rounded up to
  // whole months (the time-stepped core) it was 2 + 3 + 1 = 6 months.
  const ReplicationResult r =
      run_toml(deterministic(stages, ONE_TYPE, "schools = 2\nrelease_interval_months = 0.4\nteam = { client = 5 }\n"));
  REQUIRE(r.completion_month.size() == 2);
  CHECK(r.completion_month[0] == Approx(4.5).margin(1e-9));
  CHECK(r.completion_month[1] == Approx(4.9).margin(1e-9));
  CHECK(r.completion_step == std::vector<std::int32_t>{4, 4});
  CHECK(r.arrival_step == std::vector<std::int32_t>{0, 1});
  // Six fixed stages of 0.1 months each end at 0.6, in step 0.
  std::string six = "[stages.s1]\nwork = 0.1\n";
  std::string names = "\"s1\"";
  for (int i = 2; i <= 6; ++i) {
    six += "[stages.s" + std::to_string(i) + "]\nwork = 0.1\n";
    names += ", \"s" + std::to_string(i) + "\"";
  }
  const ReplicationResult q = run_toml(
      deterministic(six, "[project_types.school]\nstages = [" + names + "]\n", "schools = 1\nteam = { client = 1 }\n"));
  CHECK(q.completion_month[0] == Approx(0.6).margin(1e-9));
  CHECK(q.completion_step[0] == 0);
}

TEST_CASE("the next queued instance starts on the freed capacity at the completion's exact time", "[dynamics][exact]") {
  const std::string type = "[project_types.school]\nstages = [\"c\"]\n";
  SECTION("one FTE: the second starts when the first ends") {
    const ReplicationResult r = run_toml(
        deterministic("[stages.c]\nwork = 1.5\ndemand = { client = 1 }\n", type, "schools = 2\nteam = { client = 1 }\n"));
    CHECK(r.completion_month[0] == Approx(1.5).margin(1e-9));
    CHECK(r.completion_month[1] == Approx(3.0).margin(1e-9));
    CHECK(r.completion_step == std::vector<std::int32_t>{1, 2});
  }
  SECTION("1.5 FTE: remaining work is re-timed when the allocated rate changes mid-stage") {
    // p1 runs at rate 0.5 until p0 ends at 2.5 (1.25 done), then at rate 1: 1.25 more, 3.75.
    const ReplicationResult r = run_toml(
        deterministic("[stages.c]\nwork = 2.5\ndemand = { client = 1 }\n", type, "schools = 2\nteam = { client = 1.5 }\n"));
    CHECK(r.completion_month[0] == Approx(2.5).margin(1e-9));
    CHECK(r.completion_month[1] == Approx(3.75).margin(1e-9));
  }
  SECTION("a national token passes at the exact time it is freed") {
    std::string stages = THREE_STAGES;
    stages.replace(stages.find("work = 12"), 9, "work = 11.5\nnational = \"approvals\"");
    // p0: a 0-6, b 6-17.5, c 17.5-20.5. p1 (arrives at 2): a 2-8, b waits for the token to
    // 17.5, b 17.5-29, c 29-32.
    const ReplicationResult r =
        run_toml(deterministic(stages, ONE_TYPE, "schools = 2\nrelease_interval_months = 2\nteam = { client = 5 }\n",
                               "[national.approvals]\ncapacity = 1\n"));
    CHECK(r.completion_month[0] == Approx(20.5).margin(1e-9));
    CHECK(r.completion_month[1] == Approx(32.0).margin(1e-9));
  }
}

TEST_CASE("an earliest month holds a stage until that month", "[dynamics]") {
  std::string stages = THREE_STAGES;
  stages.replace(stages.find("work = 12"), 9, "work = 12\nearliest_month = 10");
  // b may not start before step 10: 10-21, then c 22-24.
  CHECK(completions_of(deterministic(stages, ONE_TYPE, "schools = 1\nteam = { client = 5 }\n")) ==
        std::vector<std::int32_t>{24});
}

TEST_CASE("a national pool of one token serialises a stage across projects", "[dynamics]") {
  std::string stages = THREE_STAGES;
  stages.replace(stages.find("work = 12"), 9, "work = 12\nnational = \"approvals\"");
  // p0: b 6-17, c 18-20. p1 arrives at 2: a 2-7, b waits for the token until p0 frees it
  // at the end of 17, so b 18-29, c 30-32.
  CHECK(completions_of(deterministic(stages, ONE_TYPE, "schools = 2\nrelease_interval_months = 2\nteam = { client = 5 }\n",
                                     "[national.approvals]\ncapacity = 1\n")) == std::vector<std::int32_t>{20, 32});
}

TEST_CASE("capacity is shared first come, first served; the scarcest discipline sets the rate", "[dynamics]") {
  const std::string stage = "[stages.c]\nwork = 3\ndemand = { client = 1 }\n";
  const std::string type = "[project_types.school]\nstages = [\"c\"]\n";
  SECTION("one FTE: the second project waits for the first") {
    CHECK(completions_of(deterministic(stage, type, "schools = 2\nteam = { client = 1 }\n")) ==
          std::vector<std::int32_t>{2, 5});
  }
  SECTION("1.5 FTE: the second runs at half rate until the first finishes") {
    // p1: 0.5 per step for steps 0-2 (1.5 done), then full rate: 2.5 after step 3, 3.5 after step 4.
    CHECK(completions_of(deterministic(stage, type, "schools = 2\nteam = { client = 1.5 }\n")) ==
          std::vector<std::int32_t>{2, 4});
  }
  SECTION("two disciplines: the scarcer one limits progress") {
    const std::string two = R"(
[stages.c]
work = 3
demand = { client = 1, design = 2 }
[project_types.school]
stages = ["c"]
)";
    std::string toml = deterministic(two, "", "schools = 1\nteam = { client = 4, design = 1 }\n");
    toml.replace(toml.find("disciplines = [\"client\"]"), 24, "disciplines = [\"client\", \"design\"]");
    // design gives half of its demand: rate 0.5, so 3 months of work take 6 steps (0-5).
    CHECK(completions_of(toml) == std::vector<std::int32_t>{5});
  }
}

TEST_CASE("parallel stages join at their common successor; an authority milestone gates other projects", "[dynamics]") {
  const std::string stages = R"(
[stages.x]
work = 4
[stages.y]
work = 6
after = []
[stages.z]
work = 2
after = ["x", "y"]
[stages.w]
work = 1
after_authority = "z"
)";
  const std::string types = R"(
[project_types.lead]
stages = ["x", "y", "z"]
[project_types.follower]
stages = ["w"]
)";
  // lead: x 0-3 and y 0-5 in parallel, z from 6: 6-7. follower (arrives at 0) waits for the
  // authority's first z, done at the end of step 7, so w runs in step 8.
  CHECK(completions_of(deterministic(stages, types,
                                     "schools = 2\nfirst = { type = \"lead\", count = 1 }\nmix = { follower = 1 }\n"
                                     "team = { client = 1 }\n")) == std::vector<std::int32_t>{7, 8});
}

TEST_CASE("planned durations replace the drawn work content", "[dynamics]") {
  const std::string stages = R"(
[stages.a]
work = { dist = "uniform", min = 10, max = 30 }
planned = 4
[stages.b]
work = { dist = "triangular", min = 3, mode = 6, max = 9 }
)";
  const std::string types = "[project_types.school]\nstages = [\"a\", \"b\"]\n";
  std::string toml = deterministic(stages, types, "schools = 1\nteam = { client = 1 }\n");
  toml.replace(toml.find("seed = 1"), 8, "seed = 1\ndurations = \"planned\"");
  // a uses its planned 4 months (0-3); b has no plan and uses its mean, 6 (4-9).
  CHECK(completions_of(toml) == std::vector<std::int32_t>{9});
}

namespace {
ReplicationResult run_example(std::uint32_t rep) {
  static const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  Simulator sim(sc);
  ReplicationResult r;
  sim.run(rep, r);
  return r;
}
}  // namespace

TEST_CASE("projects are conserved: exactly one state per project at every step", "[dynamics][property]") {
  for (std::uint32_t rep = 0; rep < 20; ++rep) {
    const ReplicationResult r = run_example(rep);
    REQUIRE(r.projects > 0);
    std::int32_t done_before = 0;
    for (int t = 0; t < r.steps; ++t) {
      const std::int32_t* s = &r.project_state[static_cast<std::size_t>(t) * PROJECT_STATE_COUNT];
      for (int k = 0; k < PROJECT_STATE_COUNT; ++k) REQUIRE(s[k] >= 0);
      REQUIRE(s[0] + s[1] + s[2] + s[3] == r.projects);
      REQUIRE(s[static_cast<int>(ProjectState::DONE)] == done_before);
      done_before += r.completions[static_cast<std::size_t>(t)];
    }
    REQUIRE(done_before == r.completed);
    const auto finished = std::count_if(r.completion_step.begin(), r.completion_step.end(), [](auto c) { return c >= 0; });
    REQUIRE(finished == r.completed);
  }
}

TEST_CASE("Little's law holds exactly on the output series", "[dynamics][property]") {
  // Over a finite horizon, the area under the number-in-system curve equals the
  // sum of the (horizon-censored) times in system: L * T = lambda * T * W.
  for (std::uint32_t rep = 0; rep < 20; ++rep) {
    const ReplicationResult r = run_example(rep);
    long long area = 0, sojourn = 0;
    for (int t = 0; t < r.steps; ++t) {
      const std::int32_t* s = &r.project_state[static_cast<std::size_t>(t) * PROJECT_STATE_COUNT];
      area += s[static_cast<int>(ProjectState::WAITING)] + s[static_cast<int>(ProjectState::ACTIVE)];
    }
    for (std::size_t p = 0; p < r.arrival_step.size(); ++p) {
      if (r.arrival_step[p] >= r.steps) continue;
      const int end = r.completion_step[p] >= 0 ? r.completion_step[p] : r.steps - 1;
      sojourn += end - r.arrival_step[p] + 1;
    }
    REQUIRE(area == sojourn);
  }
}

TEST_CASE("same seed, same bits for 1, 2 and 8 threads", "[dynamics][determinism][threads]") {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  auto collect = [&](int threads, int chunk) {
    std::vector<ReplicationResult> all;
    simulate_range(sc, 99, 0, 37, threads, chunk, [&](std::span<const ReplicationResult> c) {
      all.insert(all.end(), c.begin(), c.end());
    });
    return all;
  };
  const auto one = collect(1, 5), two = collect(2, 8), eight = collect(8, 37);
  REQUIRE(one.size() == 37);
  for (const auto* other : {&two, &eight}) {
    REQUIRE(other->size() == one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      CHECK(one[i].stage_active == (*other)[i].stage_active);
      CHECK(one[i].stage_queued == (*other)[i].stage_queued);
      CHECK(one[i].project_state == (*other)[i].project_state);
      CHECK(one[i].completion_step == (*other)[i].completion_step);
      CHECK(one[i].pool_queue == (*other)[i].pool_queue);
      // Bitwise, not approximately: memcmp the doubles.
      REQUIRE(one[i].utilisation.size() == (*other)[i].utilisation.size());
      CHECK(std::memcmp(one[i].utilisation.data(), (*other)[i].utilisation.data(),
                        one[i].utilisation.size() * sizeof(double)) == 0);
    }
  }
  // And a replication does not depend on its neighbours: run #20 alone.
  std::vector<ReplicationResult> alone;
  simulate_range(sc, 99, 20, 1, 1, 1, [&](std::span<const ReplicationResult> c) { alone.assign(c.begin(), c.end()); });
  CHECK(alone[0].completion_step == one[20].completion_step);
  CHECK(alone[0].stage_active == one[20].stage_active);
}

TEST_CASE("different seeds differ; common random numbers keep a project's draws across scenarios", "[dynamics][rng]") {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  Simulator sim(sc);
  ReplicationResult a, b;
  sim.run(1, 0, a);
  sim.run(2, 0, b);
  CHECK(a.completion_step != b.completion_step);
  // Doubling the national pool changes the flow but not the projects or their types.
  std::string text = sc.source_text;
  text.replace(text.find("capacity = 2"), 12, "capacity = 4");
  const Scenario more = parse_scenario(text, "more.toml");
  Simulator sim2(more);
  ReplicationResult c;
  sim2.run(1, 0, c);
  CHECK(c.project_type == a.project_type);
  CHECK(c.arrival_step == a.arrival_step);
}
