// Sensitivity of a lepsim experiment whose variance decomposition is known by
// construction: one project of three stages, two of fixed durations set by the factors
// and one exponential, so finish = d1 + d2 + E with independent parts. Saltelli design
// through the experiment layer (pick-freeze rows share their A or B row's streams), indices
// from the file by the code `lepsim sensitivity` runs, stored and read back.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lepsim/analysis/sensitivity_file.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/h5.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

std::string write(const std::string& name, const std::string& text) {
  const auto p = test::scratch_dir("sensitivity-experiment") / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

// d1 = 12 s1, s1 ~ U(0.5, 1.5): Var 12.  d2 = 12 s2, s2 ~ U(0.5, 1): Var 3.  E ~ Exp(mean 3):
// Var 9.  A fourth factor scales a stage no project uses: no effect.  Var(Y) = 24, so
// S = ST = (0.5, 0.125, 0, 0.375 for the noise); quarter-month steps keep the rounding of
// each stage's end to its step (variance 0.25^2 / 12 each) negligible.
const char* SCENARIO = R"(disciplines = ["client"]
[scenario]
name = "decomposition"
[time]
start = "2008-01"
step_months = 0.25
horizon_months = 80
[run]
replications = 1
seed = 1
[stages.first]
work = { dist = "fixed", value = 12 }
planned = 12
[stages.second]
work = { dist = "fixed", value = 12 }
planned = 12
[stages.random]
work = { dist = "exponential", mean = 3 }
planned = 3
[stages.unused]
work = { dist = "fixed", value = 5 }
planned = 5
[project_types.only]
stages = ["first", "second", "random"]
[[authorities]]
name = "one"
count = 1
entry_month = 0
schools = 1
first = { type = "only", count = 1 }
mix = { only = 1.0 }
team = { client = 1.0 }
)";

std::string experiment(const std::string& streams, int base_rows) {
  return "[experiment]\nbase = \"decomposition.toml\"\ndesign = \"saltelli\"\nbase_rows = " + std::to_string(base_rows) +
         "\nreplications = 4\nseed = 3\nstreams = \"" + streams +
         "\"\n"
         "[[factor]]\nname = \"s1\"\npath = \"stages.first.work\"\nscale = true\nrange = [0.5, 1.5]\n"
         "[[factor]]\nname = \"s2\"\npath = \"stages.second.work\"\nscale = true\nrange = [0.5, 1.0]\n"
         "[[factor]]\nname = \"dead\"\npath = \"stages.unused.work\"\nscale = true\nrange = [0.5, 2.0]\n"
         "[output]\nmetrics = [\"finish_month\"]\n";
}

analysis::SensitivityResult run_and_analyse(const std::string& streams, int base_rows, const std::string& out) {
  write("decomposition.toml", SCENARIO);
  const Experiment ex = load_experiment(write("decomposition-" + streams + ".toml", experiment(streams, base_rows)));
  ExperimentOptions o;
  o.output_path = out;
  o.threads = 2;
  o.force = true;
  run_experiment(ex, o);
  analysis::SensitivityOptions so;
  so.bootstrap.resamples = 1000;
  return analysis::compute_sensitivity(out, so);
}

}  // namespace

TEST_CASE("sensitivity of a lepsim scenario with a known decomposition", "[sensitivity][experiment]") {
  const std::string out = (test::scratch_dir("sensitivity-experiment") / "design.h5").string();
  const auto r = run_and_analyse("independent", 1024, out);
  REQUIRE(r.design == "saltelli");
  REQUIRE(r.metrics.size() == 1);
  const auto& m = r.metrics[0];
  REQUIRE(m.skipped.empty());
  REQUIRE(m.columns == std::vector<std::string>{"s1", "s2", "dead", "noise"});
  const double exact[] = {0.5, 0.125, 0.0, 0.375};
  for (const char* stat : {"first", "total"}) {
    const auto* s = m.stat(stat);
    REQUIRE(s);
    for (std::size_t i = 0; i < 4; ++i) {
      INFO(stat << " " << m.columns[i] << " = " << s->values[i].value << " [" << s->values[i].lo << ", " << s->values[i].hi
                << "]");
      CHECK(std::abs(s->values[i].value - exact[i]) < 0.06);
      CHECK(s->values[i].lo <= exact[i] + 0.02);  // the interval covers (up to the quarter-month rounding)
      CHECK(s->values[i].hi >= exact[i] - 0.02);
    }
  }
  // The aleatory share from the spread between replications: Var(E) / Var(Y) = 9 / 24.
  CHECK(std::abs(m.scalar("aleatory")->value.value - 0.375) < 0.05);
  // Indices of the mean of R = 4 replications: Var(Ybar) = 15 + 9/4; s1's share 12/17.25.
  CHECK(std::abs(m.stat("total_mean")->values[0].value - 12 / 17.25) < 0.07);
  CHECK(std::abs(m.scalar("aleatory_mean")->value.value - 2.25 / 17.25) < 0.04);
  CHECK(m.ranking() == std::vector<std::size_t>{0, 3, 1, 2});

  // Stored in the file and read back unchanged.
  analysis::store_sensitivity(out, r);
  REQUIRE(analysis::has_sensitivity(out));
  const auto back = analysis::load_sensitivity(out);
  REQUIRE(back.metrics.size() == 1);
  CHECK(back.metrics[0].stat("total")->values[3].value == m.stat("total")->values[3].value);
  CHECK(back.metrics[0].stat("first")->values[0].hi == m.stat("first")->values[0].hi);
  CHECK(analysis::sensitivity_text(back) == analysis::sensitivity_text(r));
}

TEST_CASE("a Saltelli experiment needs its own streams and ranges", "[sensitivity][experiment]") {
  write("decomposition.toml", SCENARIO);
  CHECK_THROWS_AS(load_experiment(write("common.toml", experiment("common", 8))), ScenarioError);
  std::string no_rows = experiment("independent", 8);
  no_rows.replace(no_rows.find("base_rows = 8\n"), 14, "");
  CHECK_THROWS_AS(load_experiment(write("norows.toml", no_rows)), ScenarioError);
  // The file's design layout: A, B, AB_0..2, AB_noise per base row; AB rows use A's streams.
  const Experiment ex = load_experiment(write("ok.toml", experiment("independent", 8)));
  const auto pts = expand_design(ex);
  REQUIRE(pts.size() == 8 * 6);
  CHECK(point_seed(ex, pts[2], 2) == point_seed(ex, pts[0], 0));  // AB_{0,0} runs A_0's streams
  CHECK(point_seed(ex, pts[5], 5) == point_seed(ex, pts[1], 1));  // AB_{0,noise} runs B_0's streams
  CHECK(point_seed(ex, pts[0], 0) != point_seed(ex, pts[1], 1));
  CHECK(point_seed(ex, pts[6], 6) != point_seed(ex, pts[0], 0));  // the next base row: streams of its own
}
