// Second-order Monte Carlo (docs/calibration.md, "Runs that carry the whole uncertainty"):
// [uncertainty] parsed and checked, vectors drawn per replication through the Gaussian copula
// or from a posterior file, the fitted file, the run file's /uncertainty, the split intervals
// and `summary --observed`.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/analysis/uncertainty.hpp"
#include "lepsim/copula.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/percentile.hpp"
#include "lepsim/record.hpp"
#include "lepsim/run.hpp"
#include "lepsim/simulation.hpp"
#include "lepsim/uncertainty.hpp"
#include "test_support.hpp"

using namespace lepsim;
namespace fs = std::filesystem;

namespace {

const std::string DIR = std::string(LEPSIM_SOURCE_DIR) + "/tests/data/uncertainty/";
const std::string EXAMPLE = std::string(LEPSIM_SOURCE_DIR) + "/scenarios/example.toml";

fs::path temp_dir() { return test::scratch_dir("uncertainty"); }

//! scenarios/example.toml's text with `extra` appended (its own [run] replaced by `run`).
std::string example_with(const std::string& extra, const std::string& name = "u.toml") {
  const fs::path p = temp_dir() / name;
  std::ofstream(p) << "base = \"" << EXAMPLE << "\"\n" << extra;
  return p.string();
}

const std::string THREE_INPUTS = R"(
[scenario]
name = "example-three-inputs"
[uncertainty]
draw = "inputs"
rank_correlation = [[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]]
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { type = "pert", min = 0.8, mode = 1.0, max = 1.5 }
[[uncertainty.input]]
path = "stages.construction.work"
mode = "scale"
distribution = { dist = "lognormal", mean = 1.0, sd = 0.15 }
[[uncertainty.input]]
path = "national.approvals.capacity"
distribution = { dist = "uniform", min = 1, max = 4 }
)";

std::vector<Diagnostic> problems_of(const std::string& path) {
  try {
    load_scenario(path);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

bool has_problem(const std::vector<Diagnostic>& ds, const std::string& key, const std::string& rule_part, int line = -1) {
  for (const auto& d : ds)
    if (d.key == key && d.rule.find(rule_part) != std::string::npos && (line < 0 || d.line == line)) return true;
  return false;
}

std::string dump(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.format() + "\n";
  return out;
}

RunInfo run_to(const Scenario& sc, const std::string& name, int replications, int threads = 1,
               std::optional<std::uint64_t> seed = std::nullopt) {
  RunOptions o;
  o.output_path = (temp_dir() / name).string();
  o.replications = replications;
  o.threads = threads;
  o.force = true;
  o.checkpoint = false;
  o.seed = seed;
  return run_scenario(sc, o);
}

std::vector<double> drawn_of(const std::string& path) {
  const analysis::RunReader run(path);
  return analysis::read_drawn_inputs(run).parameters;
}

}  // namespace

TEST_CASE("[uncertainty] is read, resolved self-contained and off by default", "[uncertainty]") {
  const Scenario plain = load_scenario(EXAMPLE);
  CHECK(plain.uncertainty.draw == UncertaintyDraw::OFF);
  CHECK(!plain.uncertainty.declared());
  CHECK(plain.resolved_toml().find("[uncertainty]") == std::string::npos);  // unchanged for every scenario without it

  const Scenario s = load_scenario(example_with(THREE_INPUTS));
  const Uncertainty& u = s.uncertainty;
  REQUIRE(u.inputs.size() == 3);
  CHECK(u.draw == UncertaintyDraw::INPUTS);
  CHECK(u.inputs[0].scale);
  CHECK(u.inputs[0].distribution == Distribution::pert(0.8, 1.0, 1.5));  // `type` stands for `dist`
  CHECK(!u.inputs[2].scale);
  CHECK(u.rank_correlation.size() == 9);
  CHECK(u.rank_correlation[1] == 0.6);
  // The resolved text is a scenario that resolves to itself.
  const Scenario again = parse_scenario(s.resolved_toml(), "resolved.toml");
  CHECK(again.resolved_toml() == s.resolved_toml());
  CHECK(again.uncertainty.inputs.size() == 3);
}

TEST_CASE("bad [uncertainty] tables get located errors", "[uncertainty]") {
  // Line numbers count the `base = ...` line written first and the blank line after it.
  auto d = problems_of(example_with(R"(
[uncertainty]
draw = "inputs"
[[uncertainty.input]]
path = "stages.procurment.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
[[uncertainty.input]]
path = "national.approvals.capacity"
mode = "multiply"
distribution = { dist = "uniform", min = 1, max = 3 }
)"));
  INFO(dump(d));
  CHECK(has_problem(d, "uncertainty.input[1].mode", "\"set\" or \"scale\"", 11));
  // (the unknown path is judged once the rest is valid)
  d = problems_of(example_with(R"(
[uncertainty]
draw = "inputs"
[[uncertainty.input]]
path = "stages.procurment.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
)"));
  INFO(dump(d));
  CHECK(has_problem(d, "uncertainty.input[0].path", "did you mean 'stages.procurement.work'", 6));

  // Not a valid correlation matrix: asymmetric, and a 2 x 2 with |r| > 1; located at the entry.
  d = problems_of(example_with(R"(
[uncertainty]
draw = "inputs"
rank_correlation = [[1.0, 0.5], [0.4, 1.0]]
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
[[uncertainty.input]]
path = "stages.construction.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
)"));
  INFO(dump(d));
  REQUIRE(!d.empty());
  CHECK(d[0].line == 5);
  CHECK(d[0].key.rfind("uncertainty.rank_correlation[", 0) == 0);
  CHECK(d[0].rule.find("stages.procurement.work") != std::string::npos);
  // Not positive definite (three inputs, pairwise consistent ranges but impossible together).
  d = problems_of(example_with(R"(
[uncertainty]
draw = "inputs"
rank_correlation = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
[[uncertainty.input]]
path = "stages.construction.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
[[uncertainty.input]]
path = "stages.design.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
)"));
  INFO(dump(d));
  REQUIRE(!d.empty());
  CHECK(d[0].key == "uncertainty.rank_correlation");
  CHECK(d[0].rule.find("positive definite") != std::string::npos);
  // Wrong shape.
  d = problems_of(example_with(R"(
[uncertainty]
rank_correlation = [[1.0, 0.5], [0.5, 1.0]]
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "uniform", min = 0.9, max = 1.1 }
)"));
  CHECK(has_problem(d, "uncertainty.rank_correlation", "1 x 1", 4));
  // Duplicate paths; draw = inputs with none; posterior without a file; a set value out of range.
  d = problems_of(example_with("[uncertainty]\ndraw = \"posterior\"\n"));
  CHECK(has_problem(d, "uncertainty.posterior", "needs the posterior file"));
  d = problems_of(example_with("[uncertainty]\ndraw = \"inputs\"\n"));
  CHECK(has_problem(d, "uncertainty.draw", "there are none"));
  d = problems_of(example_with(R"(
[uncertainty]
[[uncertainty.input]]
path = "national.approvals.capacity"
distribution = { dist = "uniform", min = 0, max = 3 }
[[uncertainty.input]]
path = "national.approvals.capacity"
distribution = { dist = "uniform", min = 1, max = 3 }
)"));
  INFO(dump(d));
  CHECK(has_problem(d, "uncertainty.input[1].path", "duplicate path", 8));
  d = problems_of(example_with(R"(
[uncertainty]
[[uncertainty.input]]
path = "national.approvals.capacity"
distribution = { dist = "uniform", min = 0, max = 3 }
)"));
  INFO(dump(d));
  CHECK(has_problem(d, "uncertainty.input[0].distribution", "breaks a rule", 6));
  d = problems_of(example_with(R"(
[uncertainty]
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "normal", mean = 1, sd = 0.2 }
)"));
  CHECK(has_problem(d, "uncertainty.input[0].distribution", "must not go below 0", 7));
}

TEST_CASE("a second-order run records vectors with the target rank correlations", "[uncertainty][copula]") {
  // Run level: the vectors the run file holds, through the copula and three non-normal
  // marginals. n = 3000: Spearman's sd is about 1/sqrt(n) = 0.018, the tolerance 0.06 (3.3 sd).
  Scenario s = load_scenario(example_with(THREE_INPUTS + "[time]\nhorizon_months = 6\n"));
  const int R = 3000;
  run_to(s, "copula.h5", R, 2);
  const analysis::RunReader run((temp_dir() / "copula.h5").string());
  const analysis::DrawnInputs d = analysis::read_drawn_inputs(run);
  REQUIRE(d.present);
  REQUIRE(d.replications == static_cast<std::size_t>(R));
  REQUIRE(d.dims == 3);
  CHECK(d.paths ==
        std::vector<std::string>{"stages.procurement.work", "stages.construction.work", "national.approvals.capacity"});
  CHECK(d.modes == std::vector<std::string>{"scale", "scale", "set"});
  std::vector<std::vector<double>> col(3);
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < 3; ++k)
      col[static_cast<std::size_t>(k)].push_back(d.parameters[static_cast<std::size_t>(r * 3 + k)]);
  const double target[3][3] = {{1, 0.6, -0.3}, {0.6, 1, 0.2}, {-0.3, 0.2, 1}};
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j) {
      INFO(i << "," << j);
      CHECK(std::abs(spearman(col[static_cast<std::size_t>(i)], col[static_cast<std::size_t>(j)]) - target[i][j]) < 0.06);
    }
  // The marginals are the stated ones: PERT(0.8, 1, 1.5) has mean (0.8 + 4 + 1.5) / 6 = 1.05.
  double m0 = 0;
  for (double x : col[0]) m0 += x / R;
  CHECK(m0 == Approx(1.05).margin(0.005));
  for (double x : col[0]) CHECK((x >= 0.8 && x <= 1.5));
}

TEST_CASE("second-order runs: same bits at any thread count, common draws, chance streams kept", "[uncertainty][threads]") {
  std::string text = THREE_INPUTS;
  text.replace(text.find("draw = \"inputs\""), 15, "draw = \"inputs\"\nreplications_per_draw = 3");
  const Scenario s = load_scenario(example_with(text));
  run_to(s, "t1.h5", 20, 1);
  run_to(s, "t3.h5", 20, 3);
  const analysis::RunReader a((temp_dir() / "t1.h5").string()), b((temp_dir() / "t3.h5").string());
  const auto values = [](const analysis::RunReader& r) {
    return analysis::metric_values(r, analysis::run_metric(r, "completed_cumulative@120"));
  };
  CHECK(values(a) == values(b));
  const std::vector<double> v = drawn_of((temp_dir() / "t1.h5").string());
  CHECK(v == drawn_of((temp_dir() / "t3.h5").string()));
  // Blocks of three replications share a vector; the next block draws another.
  for (int k = 0; k < 3; ++k) {
    CHECK(v[static_cast<std::size_t>(k)] == v[static_cast<std::size_t>(3 + k)]);
    CHECK(v[static_cast<std::size_t>(k)] == v[static_cast<std::size_t>(6 + k)]);
  }
  CHECK(v[0] != v[9]);

  // Common draws: another scenario with the same uncertain inputs (here a different team)
  // draws the same vector for the same replication.
  std::string other = text + "[[authorities]]\nname = \"town\"\nteam = { client = 3, design = 3 }\n";
  const Scenario s2 = load_scenario(example_with(other, "u2.toml"));
  run_to(s2, "other.h5", 20, 2);
  CHECK(drawn_of((temp_dir() / "other.h5").string()) == v);

  // The chance streams are a first-order run's: replication r with its vector applied by
  // hand gives the same result as in the second-order run.
  const UncertaintyPlan plan(s);
  for (std::uint32_t r : {0u, 4u, 17u}) {
    const std::vector<double> x(v.begin() + r * 3, v.begin() + r * 3 + 3);
    CHECK(x == plan.vector(s.seed, plan.draw_of(r)));
    const Scenario at = apply_parameter_vector(s, plan.paths(), plan.scale(), {NAN, NAN, NAN}, x);
    Simulator sim(at);
    ReplicationResult one;
    sim.run(s.seed, r, one);
    CHECK(one.completed == values(a)[r]);
  }
}

TEST_CASE("draw = \"posterior\" resamples whole vectors by weight; bad posteriors are refused", "[uncertainty]") {
  const fs::path post = temp_dir() / "posterior.h5";
  const auto write = [&](const std::vector<std::string>& paths, const std::vector<double>& weights) {
    h5::File f = h5::File::create(post.string());
    h5::Group g = f.root().create_group("posterior");
    g.set_attr("format", std::string("lepsim-posterior"));
    g.set_attr("format_version", std::string("1.0"));
    const std::vector<double> params = {1.0, 2, 1.3, 3, 1.6, 4};  // 3 particles x 2
    g.write_array("parameters", params, {3, 2});
    g.write_array("weights", weights);
    g.write_strings("factor_paths", paths);
    g.write_strings("factor_modes", {"scale", "set"});
  };
  write({"stages.procurement.work", "national.approvals.capacity"}, {0.2, 0.5, 0.3});
  const std::string sc = example_with("[uncertainty]\ndraw = \"posterior\"\nposterior = \"posterior.h5\"\n", "p.toml");
  const Scenario s = load_scenario(sc);
  run_to(s, "post.h5", 400, 2);
  const std::vector<double> v = drawn_of((temp_dir() / "post.h5").string());
  REQUIRE(v.size() == 800);
  int seen[3] = {0, 0, 0};
  for (std::size_t r = 0; r < 400; ++r) {
    const int i = v[2 * r] == 1.0 ? 0 : v[2 * r] == 1.3 ? 1 : v[2 * r] == 1.6 ? 2 : -1;
    REQUIRE(i >= 0);
    CHECK(v[2 * r + 1] == 2.0 + i);  // whole vectors: the particle's own second value
    ++seen[i];
  }
  // Weights 0.2, 0.5, 0.3: binomial sd at n = 400 is at most 10.
  CHECK(std::abs(seen[0] - 80) < 35);
  CHECK(std::abs(seen[1] - 200) < 40);
  CHECK(std::abs(seen[2] - 120) < 37);

  write({"stages.procurment.work", "national.approvals.capacity"}, {0.2, 0.5, 0.3});
  try {
    run_to(load_scenario(sc), "post2.h5", 4);
    FAIL("a posterior with an unknown path ran");
  } catch (const ScenarioError& e) {
    REQUIRE(!e.diagnostics().empty());
    CHECK(e.diagnostics()[0].file == fs::absolute(post).lexically_normal().string());
    CHECK(e.diagnostics()[0].key == "/posterior/factor_paths[0]");
    CHECK(e.diagnostics()[0].rule.find("did you mean 'stages.procurement.work'") != std::string::npos);
  }
  std::ofstream(post) << "not hdf5";
  CHECK_THROWS_AS(run_to(load_scenario(sc), "post3.h5", 4), RunFileError);
}

TEST_CASE("a fitted file: values applied on load, marginals drawn, resolved self-contained", "[uncertainty]") {
  const Scenario base = load_scenario(EXAMPLE);
  const Scenario s = load_scenario(DIR + "example-with-fitted.toml");
  // Point values: procurement work x 1.25, approvals capacity 3.
  CHECK(std::get<Distribution>(get_parameter(s, "stages.procurement.work")) ==
        scaled(std::get<Distribution>(get_parameter(base, "stages.procurement.work")), 1.25));
  CHECK(std::get<std::int64_t>(get_parameter(s, "national.approvals.capacity")) == 3);
  const Uncertainty& u = s.uncertainty;
  REQUIRE(u.inputs.size() == 3);  // the fitted two, then the scenario's own
  CHECK(u.inputs[0].path == "stages.procurement.work");
  CHECK(u.inputs[0].point == 1.25);
  CHECK(u.inputs[0].distribution.kind() == DistKind::Empirical);
  CHECK(u.inputs[2].path == "stages.construction.work");
  REQUIRE(u.rank_correlation.size() == 9);  // block-diagonal: the fitted block, then identity
  CHECK(u.rank_correlation[1] == -0.3);
  CHECK(u.rank_correlation[2] == 0.0);
  // Self-contained: the resolved text names no fitted file and runs the same scenario.
  const std::string resolved = s.resolved_toml();
  CHECK(resolved.find("fitted =") == std::string::npos);
  CHECK(resolved.find("point = 1.25") != std::string::npos);
  const Scenario again = parse_scenario(resolved, (temp_dir() / "resolved.toml").string());
  CHECK(again.resolved_toml() == resolved);
  // A drawn scale applies relative to the fitted point: factor 1.5 gives work x 1.5, not x 1.875.
  const UncertaintyPlan plan(s);
  const Scenario at = plan.apply(s, {1.5, 2, 1.0});
  CHECK(std::get<Distribution>(get_parameter(at, "stages.procurement.work")).max_value() ==
        Approx(std::get<Distribution>(get_parameter(base, "stages.procurement.work")).max_value() * 1.5));
  CHECK(std::get<std::int64_t>(get_parameter(at, "national.approvals.capacity")) == 2);

  // Errors located in the fitted file.
  const fs::path bad = temp_dir() / "bad-fitted.toml";
  std::ofstream(bad) << "[fitted]\ncalibration = \"x\"\n\n[[fitted.input]]\npath = \"stages.procurment.work\"\nmode = "
                        "\"scale\"\nvalue = 1.2\ndistribution = { type = \"uniform\", min = 1, max = 1.4 }\n";
  const auto d = problems_of(example_with("[scenario]\nname = \"x\"\nfitted = \"bad-fitted.toml\"\n", "f.toml"));
  INFO(dump(d));
  REQUIRE(!d.empty());
  CHECK(d[0].file == bad.lexically_normal().string());
  CHECK(d[0].line == 5);
  CHECK(d[0].key == "fitted.input[0].path");
  const auto missing = problems_of(example_with("[scenario]\nname = \"x\"\nfitted = \"none.toml\"\n", "g.toml"));
  CHECK(has_problem(missing, "scenario.fitted", "no such file", 4));
}

TEST_CASE("total, chance-only and Monte Carlo error intervals", "[uncertainty][analysis]") {
  analysis::DrawnInputs first_order;
  std::vector<double> x;
  for (int i = 0; i < 100; ++i) x.push_back(i);
  analysis::SplitInterval s = analysis::split_interval(x, first_order, 0.95);
  CHECK(!s.total_available);
  CHECK(s.chance_available);  // inputs fixed: the whole spread is chance
  CHECK(s.chance_lo == Approx(9.9));
  CHECK(s.chance_hi == Approx(89.1));
  CHECK(s.mc_half_width == Approx(1.984 * std::sqrt(841.6667 / 100)).epsilon(0.01));

  // Draws of four: the draw's level (0, 100, 200, ...) plus within-draw noise -1.5, -0.5, 0.5, 1.5.
  analysis::DrawnInputs drawn;
  drawn.present = true;
  drawn.replications_per_draw = 4;
  x.clear();
  for (int d = 0; d < 50; ++d)
    for (double e : {-1.5, -0.5, 0.5, 1.5}) x.push_back(100.0 * d + e);
  s = analysis::split_interval(x, drawn, 0.95);
  CHECK(s.total_available);
  CHECK(s.total_hi - s.total_lo > 3000);
  REQUIRE(s.chance_available);
  const double c = std::sqrt(4.0 / 3.0);
  CHECK(s.chance_lo == Approx(s.mean - 1.5 * c));  // the within-draw deviations, unbiased by sqrt(4 / 3)
  CHECK(s.chance_hi == Approx(s.mean + 1.5 * c));
  CHECK(s.input_share > 0.999);
  CHECK(s.draws == 50);
  // The mean's error is from the 50 draws' means, not from 200 "independent" replications.
  // (the draws' means are 0, 100, ..., 4900: sample variance 100^2 x 50 x 51 / 12; t(49) 0.975 = 2.0096)
  CHECK(s.mc_half_width == Approx(2.0096 * 100 * std::sqrt(50.0 * 51.0 / 12.0) / std::sqrt(50.0)).epsilon(0.001));
  drawn.replications_per_draw = 1;
  s = analysis::split_interval(x, drawn, 0.95);
  CHECK(!s.chance_available);
  CHECK(s.chance_note.find("replications_per_draw >= 2") != std::string::npos);
}

TEST_CASE("summary --observed: each milestone against the model's interval", "[uncertainty][analysis]") {
  const Scenario s = load_scenario(EXAMPLE);
  run_to(s, "observed.h5", 40, 2);
  const analysis::RunReader run((temp_dir() / "observed.h5").string());
  const auto checks = analysis::check_observed(run, DIR + "example-record.toml");
  REQUIRE(checks.size() == 4);
  const std::vector<double> done120 = analysis::metric_values(run, analysis::run_metric(run, "completed_cumulative@120"));
  std::vector<double> sorted = done120;
  std::sort(sorted.begin(), sorted.end());
  const auto& y10 = checks[0];
  CHECK(y10.expressible);
  CHECK(y10.use == "fit");
  CHECK(y10.p10 == Approx(detail::percentile_sorted(sorted, 10)));
  CHECK(y10.p90 == Approx(detail::percentile_sorted(sorted, 90)));
  CHECK(y10.covers == (y10.p10 <= 34 && 34 <= y10.p90));
  const auto& y5 = checks[1];
  CHECK(y5.expressible);
  CHECK(y5.month == 60);  // "2012-12" from a 2008-01 start: the end of month 60
  CHECK(!y5.covers);      // 30 by month 60 is far above the example's few schools
  CHECK(!y5.covers_with_error);
  const auto& construction = checks[2];
  if (find_record_metric("schools_in_construction")->status == RecordMetricStatus::Proposed) {
    CHECK(!construction.expressible);
    CHECK(construction.why_not.find("does not write it yet") != std::string::npos);
  }
  const auto& leps = checks[3];
  CHECK(!leps.expressible);  // example.toml has no [lep]: listed, not dropped
  CHECK(leps.why_not.find("cannot evaluate") != std::string::npos);
  const std::string text = analysis::observed_text(run, "rec.toml", checks, analysis::read_drawn_inputs(run));
  CHECK(text.find("not expressible") != std::string::npos);
  CHECK(text.find("leps_2012") != std::string::npos);
  CHECK(text.find("inputs fixed (chance only") != std::string::npos);
  const std::string csv = analysis::observed_csv(checks);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
  CHECK(csv.find("leps_2012,leps_formed@60,validate,audited,60,3,1,false,") != std::string::npos);
}

TEST_CASE("experiments draw per design point as lepsim run does", "[uncertainty][experiment]") {
  const std::string sc = example_with(THREE_INPUTS + "[time]\nhorizon_months = 48\n", "ex-base.toml");
  const fs::path exp = temp_dir() / "ex.toml";
  std::ofstream(exp) << "[experiment]\nname = \"u\"\nbase = \"ex-base.toml\"\ndesign = \"grid\"\nreplications = 6\n"
                        "seed = 7\n[[factor]]\nname = \"team\"\npath = \"authorities.town.team.client\"\nlevels = [1, 3]\n"
                        "[output]\nmetrics = [\"completed_cumulative@48\"]\n";
  const Experiment ex = load_experiment(exp.string());
  ExperimentOptions o;
  o.output_path = (temp_dir() / "ex.h5").string();
  o.force = true;
  o.threads = 2;
  run_experiment(ex, o);
  h5::File f = h5::File::open_read(o.output_path);
  std::vector<std::uint64_t> dims;
  const auto metrics = f.root().read_array<double>("metrics/completed_cumulative@48", &dims);
  REQUIRE(dims == std::vector<std::uint64_t>{2, 6});
  const auto points = expand_design(ex);
  for (std::size_t p = 0; p < points.size(); ++p) {
    const Scenario at = scenario_at(ex, points[p]);
    run_to(at, "point.h5", 6, 1, ex.seed);
    const analysis::RunReader run((temp_dir() / "point.h5").string());
    const auto v = analysis::metric_values(run, analysis::run_metric(run, "completed_cumulative@48"));
    for (std::size_t r = 0; r < 6; ++r) CHECK(metrics[p * 6 + r] == v[r]);
  }
}

TEST_CASE("the per-replication cost of drawing and applying a vector", "[.][bench-uncertainty]") {
  const Scenario bsf = load_scenario(std::string(LEPSIM_SOURCE_DIR) + "/scenarios/bsf.toml");
  std::string text = "base = \"" + std::string(LEPSIM_SOURCE_DIR) + "/scenarios/bsf.toml\"\n" + R"(
[uncertainty]
draw = "inputs"
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "pert", min = 0.7, mode = 1.0, max = 1.5 }
[[uncertainty.input]]
path = "stages.construction.work"
mode = "scale"
distribution = { dist = "pert", min = 0.8, mode = 1.0, max = 1.3 }
[[uncertainty.input]]
path = "setup.planning_effect"
distribution = { dist = "uniform", min = 0.4, max = 1.2 }
[[uncertainty.input]]
path = "partnering.long_run"
distribution = { dist = "uniform", min = 0.45, max = 0.65 }
)";
  const fs::path p = temp_dir() / "bsf-u.toml";
  std::ofstream(p) << text;
  const Scenario s = load_scenario(p.string());
  const UncertaintyPlan plan(s);
  using clock = std::chrono::steady_clock;
  const int n = 200;
  double draw = 0, apply = 0, build = 0, simulate = 0;
  ReplicationResult out;
  for (int r = 0; r < n; ++r) {
    const auto t0 = clock::now();
    const auto v = plan.vector(s.seed, static_cast<std::uint64_t>(r));
    const auto t1 = clock::now();
    const Scenario at = plan.apply(s, v);
    const auto t2 = clock::now();
    Simulator sim(at);
    const auto t3 = clock::now();
    sim.run(s.seed, static_cast<std::uint32_t>(r), out);
    const auto t4 = clock::now();
    draw += std::chrono::duration<double>(t1 - t0).count();
    apply += std::chrono::duration<double>(t2 - t1).count();
    build += std::chrono::duration<double>(t3 - t2).count();
    simulate += std::chrono::duration<double>(t4 - t3).count();
  }
  WARN("per replication (ms): draw " << 1e3 * draw / n << ", apply " << 1e3 * apply / n << ", build simulator "
                                     << 1e3 * build / n << ", simulate " << 1e3 * simulate / n);
  CHECK(simulate > 0);
}
