// Experiments: designs, the strict CSV plan, same bits whatever threads / blocks /
// interruptions, common random numbers, the file format kept in step with its doc.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lepsim/experiment.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/parameters.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

std::filesystem::path dir() { return lepsim::test::scratch_dir("experiment"); }

std::string write(const std::string& name, const std::string& text) {
  const auto p = dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

const std::string EXAMPLE = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/example.toml";

std::string grid_text(int reps, const std::string& streams = "common") {
  return "[experiment]\nbase = \"" + EXAMPLE + "\"\ndesign = \"grid\"\nreplications = " + std::to_string(reps) +
         "\nseed = 7\nstreams = \"" + streams +
         "\"\n"
         "[[factor]]\nname = \"cap\"\npath = \"national.approvals.capacity\"\nlevels = [1, 2, 4]\n"
         "[[factor]]\nname = \"proc\"\npath = \"stages.procurement.work\"\nscale = true\nlevels = [0.8, 1.2]\n"
         "[output]\nmetrics = [\"completed\", \"completed_cumulative@48\", \"finish_month\"]\n"
         "series = [\"completed_cumulative\", \"completions\"]\n";
}

//! Every dataset of an experiment file, by path (attributes such as `created` differ by design).
std::map<std::string, std::vector<double>> datasets(const std::string& path) {
  std::map<std::string, std::vector<double>> out;
  const h5::File f = h5::File::open_read(path);
  const h5::Group root = f.root();
  for (const std::string g : {"metrics", "design"})
    for (const auto& n : root.open_group(g).list())
      if (n != "factor_names" && n != "factor_paths" && n != "factor_units" && n != "factor_kinds" && n != "factor_distributions" && n != "overrides" &&
          n != "role")
        out[g + "/" + n] = root.open_group(g).read_array<double>(n);
  for (const auto& s : root.open_group("series").list())
    for (const auto& st : root.open_group("series/" + s).list())
      out["series/" + s + "/" + st] = root.open_group("series/" + s).read_array<double>(st);
  return out;
}

//! Bitwise equality (NaN equals NaN).
bool same_bits(const std::map<std::string, std::vector<double>>& a, const std::map<std::string, std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    const auto& w = b.at(k);
    if (v.size() != w.size() || std::memcmp(v.data(), w.data(), v.size() * sizeof(double)) != 0) return false;
  }
  return true;
}

ExperimentInfo run_to(const Experiment& ex, const std::string& out, int threads, std::optional<int> block = {},
                      bool resume = false, std::int64_t stop_after = -1) {
  ExperimentOptions o;
  o.output_path = out;
  o.threads = threads;
  o.block = block;
  o.resume = resume;
  o.force = !resume;
  o.stop_after_units = stop_after;
  return run_experiment(ex, o);
}

}  // namespace

TEST_CASE("experiment: grid design, last factor fastest, base point reproduces the base scenario", "[experiment]") {
  const Experiment ex = parse_experiment(grid_text(4), write("g.toml", grid_text(4)));
  const auto pts = expand_design(ex);
  REQUIRE(pts.size() == 6);
  CHECK(pts[0].values == std::vector<double>{1, 0.8});
  CHECK(pts[1].values == std::vector<double>{1, 1.2});
  CHECK(pts[5].values == std::vector<double>{4, 1.2});
  CHECK(overrides_text(ex, pts[1]) == "national.approvals.capacity = 1; stages.procurement.work x 1.2");
  const Scenario sc = scenario_at(ex, pts[5]);
  CHECK(sc.pools[0].capacity == 4);
  CHECK(sc.stages[2].work.params()[2] == Approx(36 * 1.2));
  // A point equal to the base gives the base scenario's replications bit for bit.
  Scenario base_like = scenario_at(ex, DesignPoint{0, {2, 1.0}});
  Simulator a(ex.base), b(base_like);
  ReplicationResult ra, rb;
  a.run(7, 3, ra);
  b.run(7, 3, rb);
  CHECK(ra.completion_step == rb.completion_step);
}

TEST_CASE("experiment: a scaled stage's work scales every type's copy of it, overrides too; a wildcard team every group",
          "[experiment]") {
  const std::string bsf = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/bsf.toml";
  const std::string text = "[experiment]\nbase = \"" + bsf +
                           "\"\nreplications = 1\n"
                           "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\nlevels = [1.25]\n"
                           "[[factor]]\npath = \"authorities.*.team.design\"\nscale = true\nlevels = [0.5]\n";
  const Experiment ex = parse_experiment(text, write("scale.toml", text));
  const Scenario sc = scenario_at(ex, expand_design(ex)[0]);
  int copies = 0;
  for (std::size_t t = 0; t < sc.types.size(); ++t)
    for (std::size_t k = 0; k < sc.types[t].stages.size(); ++k)
      if (sc.stages[static_cast<std::size_t>(sc.types[t].stages[k].stage)].name == "procurement") {
        CHECK(sc.types[t].stages[k].work == scaled(ex.base.types[t].stages[k].work, 1.25));
        ++copies;
      }
  CHECK(copies == 3);  // sample, sample_early and sample_pathfinder (whose procurement is an override)
  for (std::size_t g = 0; g < sc.groups.size(); ++g) {
    CHECK(sc.groups[g].team[2] == ex.base.groups[g].team[2] * 0.5);
    for (std::size_t i = 0; i < sc.groups[g].capacity_plan.size(); ++i)
      CHECK(sc.groups[g].capacity_plan[i].team[2] == ex.base.groups[g].capacity_plan[i].team[2] * 0.5);
  }
}

TEST_CASE("experiment: one-at-a-time and LHS designs", "[experiment]") {
  const std::string oat = "[experiment]\nbase = \"" + EXAMPLE +
                          "\"\ndesign = \"one_at_a_time\"\nreplications = 2\n"
                          "[[factor]]\npath = \"national.approvals.capacity\"\nrange = [1, 4]\n"
                          "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\nrange = [0.5, 1.5]\n";
  const auto p = expand_design(parse_experiment(oat, write("oat.toml", oat)));
  REQUIRE(p.size() == 5);
  CHECK(p[0].values == std::vector<double>{2, 1});  // the base values
  CHECK(p[1].values == std::vector<double>{1, 1});
  CHECK(p[4].values == std::vector<double>{2, 1.5});

  const std::string lhs = "[experiment]\nbase = \"" + EXAMPLE +
                          "\"\ndesign = \"lhs\"\npoints = 20\nmaximin = true\nreplications = 2\n"
                          "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\nrange = [0.5, 1.5]\n"
                          "[[factor]]\npath = \"stages.strategy.work\"\nscale = true\nrange = [0.5, 1]\n";
  const Experiment ex = parse_experiment(lhs, write("lhs.toml", lhs));
  const auto pts = expand_design(ex);
  REQUIRE(pts.size() == 20);
  // One point in each of the 20 strata of every factor.
  for (std::size_t j = 0; j < 2; ++j) {
    std::set<int> strata;
    for (const auto& q : pts) strata.insert(static_cast<int>(std::floor((q.values[j] - 0.5) / (j == 0 ? 1.0 : 0.5) * 20)));
    CHECK(strata.size() == 20);
  }
  CHECK(expand_design(ex)[7].values == pts[7].values);  // a pure function of the seed

  // --plan-only's CSV reads back to the same points, bit for bit.
  const std::string csv = plan_csv(ex, pts);
  const auto back = read_plan_csv(csv, "plan.csv", ex.factors);
  REQUIRE(back.size() == pts.size());
  for (std::size_t i = 0; i < pts.size(); ++i) CHECK((back[i].id == pts[i].id && back[i].values == pts[i].values));
}

TEST_CASE("experiment: the CSV run plan is strict, every error located by row and column", "[experiment]") {
  Factor a, b;
  a.name = "cap", b.name = "proc";
  b.range = std::array<double, 2>{0.5, 1.5};
  const std::vector<Factor> fs = {a, b};
  const std::string bad = "point,cap,proc,extra\n1,2,1.0,9\n2,,1.1,9\n3,x,1.1,9\n1,2,0.9,9\n";
  try {
    read_plan_csv(bad, "plan.csv", fs);
    FAIL("no error");
  } catch (const ScenarioError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.format() + "\n";
    INFO(all);
    CHECK(e.diagnostics().size() == 4);
    CHECK(all.find("plan.csv:1: column 4 (extra) = extra: unknown column") != std::string::npos);
    CHECK(all.find("plan.csv:3: column 2 (cap): empty cell") != std::string::npos);
    CHECK(all.find("plan.csv:4: column 2 (cap) = x: not a number") != std::string::npos);
    CHECK(all.find("plan.csv:5: column 1 (point) = 1: duplicate point id (first on line 2)") != std::string::npos);
  }
  // Values outside a factor's range, and ids an experiment cannot use, once the CSV is well formed.
  try {
    read_plan_csv("point,cap,proc\n4,2,7\nx1,2,1\n", "plan.csv", fs);
    FAIL("no error");
  } catch (const ScenarioError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.format() + "\n";
    INFO(all);
    CHECK(e.diagnostics().size() == 2);
    CHECK(all.find("plan.csv:2: column proc = 7: outside the factor's range [0.5, 1.5]") != std::string::npos);
    CHECK(all.find("plan.csv:3: column point = x1: an experiment's point id is a whole number") != std::string::npos);
  }
  CHECK_THROWS_AS(read_plan_csv("point,cap\n1,2\n", "p.csv", fs), ScenarioError);  // missing column proc
  CHECK(read_plan_csv("point,proc,cap\n5,1.25,3\n", "p.csv", fs)[0].values == std::vector<double>{3, 1.25});
}

TEST_CASE("experiment: validation lists every problem, located", "[experiment]") {
  const std::string text = "[experiment]\nbase = \"" + EXAMPLE +
                           "\"\ndesign = \"grid\"\nreplications = 0\nbogus = 1\n"
                           "[[factor]]\npath = \"national.nowhere.capacity\"\nlevels = [1]\n"
                           "[[factor]]\npath = \"national.approvals.capacity\"\nlevels = [0, 2]\n"
                           "[output]\nmetrics = [\"completed\", \"no_such_metric\"]\n";
  try {
    parse_experiment(text, "e.toml");
    FAIL("no error");
  } catch (const ScenarioError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.format() + "\n";
    INFO(all);
    CHECK(e.diagnostics().size() == 5);
    CHECK(all.find("e.toml:4: experiment.replications = 0") != std::string::npos);
    CHECK(all.find("e.toml:5: experiment.bogus = 1: unknown key") != std::string::npos);
    CHECK(all.find("e.toml:6: factor[1].path = national.nowhere.capacity: unknown parameter") != std::string::npos);
    CHECK(all.find("e.toml:9: factor[2] = 0: national.approvals.capacity: must be between 1 and") != std::string::npos);
    CHECK(all.find("e.toml:13: output.metrics = no_such_metric: unknown output") != std::string::npos);
  }
}

TEST_CASE("experiment: same datasets for 1 and 2 threads, any block size, and after an interruption + resume",
          "[experiment][threads]") {
  const Experiment ex = parse_experiment(grid_text(13), write("same.toml", grid_text(13)));
  const std::string d = dir().string();
  run_to(ex, d + "/t1.h5", 1);
  run_to(ex, d + "/t2.h5", 2);
  run_to(ex, d + "/b3.h5", 2, 3);
  run_to(ex, d + "/b13.h5", 1, 13);
  const auto ref = datasets(d + "/t1.h5");
  CHECK(ref.at("metrics/completed").size() == 6 * 13);
  CHECK(same_bits(ref, datasets(d + "/t2.h5")));
  CHECK(same_bits(ref, datasets(d + "/b3.h5")));
  CHECK(same_bits(ref, datasets(d + "/b13.h5")));

  // Stopped after 7 units (of 6 x 5): the journal is left, no file under the final name.
  const std::string out = d + "/resumed.h5";
  CHECK_THROWS_AS(run_to(ex, out, 2, 3, false, 7), InterruptedError);
  CHECK(!std::filesystem::exists(out));
  CHECK(std::filesystem::exists(journal_path(out)));
  // A torn last record (as a SIGKILL mid-write leaves) is dropped and redone.
  std::filesystem::resize_file(journal_path(out), std::filesystem::file_size(journal_path(out)) - 5);
  ExperimentOptions o;
  o.output_path = out, o.threads = 2, o.block = 3;
  CHECK_THROWS_AS(run_experiment(ex, o), OutputError);  // neither --resume nor --force
  o.resume = true;
  std::vector<std::int64_t> seen;
  o.progress = [&](std::int64_t done, std::int64_t total) {
    CHECK(total == 78);
    seen.push_back(done);
  };
  const ExperimentInfo info = run_experiment(ex, o);
  CHECK(info.resumed_replications > 0);
  CHECK(info.resumed_replications < 78);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  REQUIRE(!seen.empty());
  CHECK(seen.back() == 78);
  CHECK(std::count(seen.begin(), seen.end(), 78) == 1);
  CHECK(!std::filesystem::exists(journal_path(out)));
  CHECK(same_bits(ref, datasets(out)));
  // A different block size cannot resume this journal.
  CHECK_THROWS_AS(run_to(ex, d + "/x.h5", 1, 3, false, 2), InterruptedError);
  o.output_path = d + "/x.h5", o.block = 4;
  CHECK_THROWS_WITH(run_experiment(ex, o), Catch::Contains("resume with --block 3"));
}

TEST_CASE("experiment: common random numbers narrow a paired comparison", "[experiment][crn]") {
  // Two points that differ in procurement speed, 300 replications each; the spread of the
  // per-replication difference of completions by month 72 under common random numbers
  // (same seed and replication ids at both points) against independent streams.
  auto text = [](const std::string& streams) {
    return "[experiment]\nbase = \"" + EXAMPLE + "\"\ndesign = \"grid\"\nreplications = 300\nseed = 11\nstreams = \"" +
           streams +
           "\"\n[[factor]]\npath = \"stages.procurement.work\"\nscale = true\nlevels = [1.0, 0.9]\n"
           "[output]\nmetrics = [\"completed_cumulative@72\"]\n";
  };
  double var[2], mean[2];
  int k = 0;
  for (const std::string s : {"common", "independent"}) {
    const Experiment ex = parse_experiment(text(s), write("crn-" + s + ".toml", text(s)));
    const std::string out = (dir() / ("crn-" + s + ".h5")).string();
    run_to(ex, out, 2);
    const auto m = h5::File::open_read(out).root().read_array<double>("metrics/completed_cumulative@72");
    double sum = 0, sq = 0;
    for (int r = 0; r < 300; ++r) sum += m[300 + r] - m[r];
    mean[k] = sum / 300;
    for (int r = 0; r < 300; ++r) sq += (m[300 + r] - m[r] - mean[k]) * (m[300 + r] - m[r] - mean[k]);
    var[k++] = sq / 299;
  }
  INFO("variance of the paired difference: common " << var[0] << ", independent " << var[1] << ", means " << mean[0] << " / "
                                                    << mean[1]);
  CHECK(mean[0] > 0);             // faster procurement completes more by month 72
  CHECK(var[0] < 0.25 * var[1]);  // measured 0.98 against 14.5, ratio 0.068 (docs/random-streams.md)
}

TEST_CASE("experiment: docs/experiment-file-format.md names every dataset and attribute the writer makes", "[experiment]") {
  const Experiment ex = parse_experiment(grid_text(2), write("doc.toml", grid_text(2)));
  const std::string out = (dir() / "doc.h5").string();
  run_to(ex, out, 1);
  std::ifstream in(std::string(LEPSIM_SOURCE_DIR) + "/docs/experiment-file-format.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string version =
      "Format version: " + std::to_string(EXPERIMENT_FORMAT_MAJOR) + "." + std::to_string(EXPERIMENT_FORMAT_MINOR);
  CHECK(doc.find(version) != std::string::npos);
  const h5::File f = h5::File::open_read(out);
  const h5::Group root = f.root();
  CHECK(root.attr_string("file_type") == EXPERIMENT_FILE_TYPE);
  for (const auto& a : root.attr_names()) {
    INFO("root attribute " << a);
    CHECK(doc.find("`" + a + "`") != std::string::npos);
  }
  for (const std::string g : {"provenance", "design"})
    for (const auto& n : root.open_group(g).list()) {
      INFO(g << "/" << n);
      CHECK(doc.find("`/" + g + "/" + n + "`") != std::string::npos);
    }
  CHECK(doc.find("`/metrics/NAME`") != std::string::npos);
  for (const auto& n : root.open_group("series/completions").list()) {
    INFO("series statistic " << n);
    CHECK(doc.find("`/series/NAME/" + n + "`") != std::string::npos);
  }
}

TEST_CASE("experiment: Saltelli and Morris designs; pick-freeze rows share their A/B row's streams", "[experiment]") {
  auto text = [](const std::string& design) {
    return "[experiment]\nbase = \"" + EXAMPLE + "\"\n" + design +
           "replications = 2\nstreams = \"independent\"\n"
           "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\nrange = [0.8, 1.2]\n"
           "[[factor]]\npath = \"national.approvals.capacity\"\nrange = [1, 4]\n";
  };
  const std::string s = text("design = \"saltelli\"\nbase_rows = 4\n");
  const Experiment sal = parse_experiment(s, write("sal.toml", s));
  const auto pts = expand_design(sal);
  REQUIRE(pts.size() == 4 * (2 + 2 + 1));  // A, B, AB per factor, and the noise row (noise = true by default)
  CHECK(pts[0].role == "A");
  CHECK(pts[2].role == "AB");
  CHECK(pts[2].factor == 0);
  CHECK(pts[2].values[0] == pts[1].values[0]);  // AB_0 takes factor 0 from B ...
  CHECK(pts[2].values[1] == pts[0].values[1]);  // ... and the rest from A
  CHECK(point_seed(sal, pts[2], 2) == point_seed(sal, pts[0], 0));
  CHECK(point_seed(sal, pts[1], 1) != point_seed(sal, pts[0], 0));
  for (const auto& p : pts) CHECK(p.values[1] == std::round(p.values[1]));  // a whole-number parameter

  const std::string m = text("design = \"morris\"\ntrajectories = 3\nlevels = 4\n");
  const auto mp = expand_design(parse_experiment(m, write("mor.toml", m)));
  REQUIRE(mp.size() == 3 * 3);
  for (const auto& p : mp) CHECK((p.values[0] >= 0.8 && p.values[0] <= 1.2));
}

TEST_CASE("experiment: a distribution factor maps each design coordinate through its quantile", "[experiment]") {
  // LHS: each of the n strata of u holds one point, so each stratum of the distribution's
  // probability holds one value: F(value) falls in a different [k/n, (k+1)/n).
  const std::string lhs = "[experiment]\nbase = \"" + EXAMPLE +
                          "\"\ndesign = \"lhs\"\npoints = 16\nreplications = 2\n"
                          "[[factor]]\nname = \"proc\"\npath = \"stages.procurement.work\"\nscale = true\n"
                          "distribution = { dist = \"triangular\", min = 0.7, mode = 1, max = 1.3 }\n"
                          "[[factor]]\nname = \"strat\"\npath = \"stages.strategy.work\"\nscale = true\n"
                          "distribution = { dist = \"uniform\", min = 0.5, max = 1.5 }\n";
  const Experiment ex = parse_experiment(lhs, write("lhs-dist.toml", lhs));
  REQUIRE(ex.factors[0].distribution);
  const auto pts = expand_design(ex);
  REQUIRE(pts.size() == 16);
  std::set<int> tri, uni;
  for (const auto& q : pts) {
    // The value is exactly the quantile of the point's unit coordinate.
    CHECK(q.values[0] == ex.factors[0].distribution->quantile(q.unit[0]));
    CHECK(q.values[1] == Approx(0.5 + q.unit[1]).epsilon(1e-15));
    // Triangular CDF (closed form) puts each value in its own probability stratum.
    const double x = q.values[0];
    const double F = x < 1 ? (x - 0.7) * (x - 0.7) / (0.6 * 0.3) : 1 - (1.3 - x) * (1.3 - x) / (0.6 * 0.3);
    tri.insert(static_cast<int>(std::floor(F * 16 + 1e-9 * (F < 0.5 ? 1 : -1))));
    uni.insert(static_cast<int>(std::floor((q.values[1] - 0.5) * 16)));
  }
  CHECK(tri.size() == 16);
  CHECK(uni.size() == 16);

  // Grid and one-at-a-time: the levels are the quantiles at `quantiles` (default 0.1, 0.5, 0.9).
  const std::string grid = "[experiment]\nbase = \"" + EXAMPLE +
                           "\"\ndesign = \"grid\"\nreplications = 2\n"
                           "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\n"
                           "distribution = { dist = \"uniform\", min = 0.5, max = 1.5 }\nquantiles = [0, 0.25, 1]\n"
                           "[[factor]]\npath = \"stages.strategy.work\"\nscale = true\n"
                           "distribution = { dist = \"triangular\", min = 0.5, mode = 1, max = 1.5 }\n";
  const auto g = expand_design(parse_experiment(grid, write("grid-dist.toml", grid)));
  REQUIRE(g.size() == 9);
  CHECK(g[0].values == std::vector<double>{0.5, Distribution::triangular(0.5, 1, 1.5).quantile(0.1)});
  CHECK(g[1].values[1] == 1.0);  // the triangle's median
  CHECK(g[3].values[0] == 0.75);
  CHECK(g[8].values[0] == 1.5);
  CHECK(g[0].values[1] == Approx(0.5 + std::sqrt(0.05)).epsilon(1e-14));

  // The run plan refuses a value outside the distribution's support; the file keeps the distribution.
  CHECK_THROWS_AS(read_plan_csv("point,proc\n0,1.4\n", "p.csv", {ex.factors[0]}), ScenarioError);
  const std::string small = "[experiment]\nbase = \"" + EXAMPLE +
                            "\"\ndesign = \"lhs\"\npoints = 3\nreplications = 2\n"
                            "[[factor]]\nname = \"proc\"\npath = \"stages.procurement.work\"\nscale = true\n"
                            "distribution = { dist = \"pert\", min = 0.7, mode = 1, max = 1.6 }\n";
  const Experiment es = parse_experiment(small, write("small-dist.toml", small));
  const std::string out = (dir() / "dist.h5").string();
  run_to(es, out, 1);
  const h5::File f = h5::File::open_read(out);
  const auto dists = f.root().open_group("design").read_strings("factor_distributions");
  REQUIRE(dists.size() == 1);
  CHECK(dists[0] == "pert(min=0.7, mode=1, max=1.6)");
  const auto values = f.root().open_group("design").read_array<double>("values");
  const auto pe = expand_design(es);
  for (std::size_t i = 0; i < 3; ++i) CHECK(values[i] == es.factors[0].distribution->quantile(pe[i].unit[0]));
}

TEST_CASE("experiment: a bad distribution factor is a located error, every problem listed", "[experiment]") {
  const std::string text = "[experiment]\nbase = \"" + EXAMPLE +
                           "\"\ndesign = \"morris\"\ntrajectories = 2\nreplications = 2\n"
                           "[[factor]]\npath = \"stages.procurement.work\"\nscale = true\n"
                           "distribution = { dist = \"triangular\", min = 1, mode = 0.5, max = 2 }\n"
                           "[[factor]]\npath = \"stages.strategy.work\"\nscale = true\n"
                           "distribution = { dist = \"nromal\", mean = 1, sd = 0.1 }\n"
                           "[[factor]]\npath = \"stages.design.work\"\nscale = true\n"
                           "distribution = { dist = \"lognormal\", mean = 1, sd = 0.1 }\n"
                           "[[factor]]\npath = \"national.approvals.capacity\"\nrange = [1, 3]\n"
                           "distribution = { dist = \"uniform\", min = 1, max = 3, mode = 2 }\n";
  try {
    parse_experiment(text, "d.toml");
    FAIL("no error");
  } catch (const ScenarioError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.format() + "\n";
    INFO(all);
    CHECK(all.find("d.toml:9: factor[1].distribution.mode = 0.5: must be >= min (1)") != std::string::npos);
    CHECK(all.find("d.toml:13: factor[2].distribution.dist = nromal: unknown distribution") != std::string::npos);
    CHECK(all.find("factor[3].distribution = lognormal(mean=1, sd=0.1): Morris") != std::string::npos);
    CHECK(all.find("factor[4].distribution.mode = 2: unknown key for a uniform distribution") != std::string::npos);
    CHECK(all.find("factor[4]: give one of levels, range or distribution") != std::string::npos);
    CHECK(e.diagnostics().size() == 5);
  }
}
