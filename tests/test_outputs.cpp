// The output registry (lepsim/outputs.hpp): result shapes, the run file's datasets and
// attributes, every output the same bits across thread counts, and the per-replication
// metrics, named and parsed, with one definition for a result in memory and a run file.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <string>

#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/percentile.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

//! bsf.toml: every mechanism on, national pools and disciplines, per-project rows.
const Scenario& bsf() {
  static const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/bsf.toml");
  return sc;
}

std::vector<ReplicationResult> simulate(const Scenario& sc, int replications, int threads, int chunk) {
  std::vector<ReplicationResult> all;
  simulate_range(sc, sc.seed, 0, static_cast<std::uint32_t>(replications), threads, chunk,
                 [&](std::span<const ReplicationResult> c) { all.insert(all.end(), c.begin(), c.end()); });
  return all;
}

//! Writes a run file of bsf.toml; returns its path.
std::string run_bsf(const std::string& name, int replications, int threads) {
  RunOptions o;
  o.output_path = (test::scratch_dir("outputs") / name).string();
  o.replications = replications;
  o.threads = threads;
  o.force = true;
  run_scenario(bsf(), o);
  return o.output_path;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("every registry output is present in bsf.toml and shaped by resize as declared", "[outputs]") {
  const Scenario& sc = bsf();
  const OutputShape shape = output_shape(sc);
  ReplicationResult r;
  Simulator(sc).run(0, r);
  const auto T = static_cast<std::size_t>(sc.time.steps), A = static_cast<std::size_t>(sc.authority_count());
  std::set<std::string> names;
  for (const OutputSpec& spec : output_registry()) {
    INFO(spec.name);
    CHECK(names.insert(std::string(spec.group()) + "/" + spec.name).second);  // unique within its group
    CHECK(present(spec, shape));  // so the determinism test below covers every output
    const std::size_t n = output_values(spec, r).size();
    switch (spec.scope) {
      case OutputScope::Series:
        if (!spec.derived) CHECK(n == T * static_cast<std::size_t>(axis_size(spec.axis, shape)));
        break;
      case OutputScope::Lep:
        CHECK(n == A);
        break;
      case OutputScope::Project:
        CHECK(n == static_cast<std::size_t>(r.projects));
        break;
      case OutputScope::Replication:
        CHECK(n == (spec.derived ? 0u : 1u));
        break;
    }
  }
  // With a mechanism off, its outputs are empty.
  Scenario off = sc;
  off.mechanisms.partnering.enabled = false;
  off.mechanisms.disputes.enabled = false;
  ReplicationResult q;
  q.resize(off.time.steps, 1, 1, 1, off.authority_count(), off.mechanisms);
  CHECK(q.health.empty());
  CHECK(q.lep_final_health.empty());
  CHECK(q.lep_disputes.empty());
  CHECK(q.leps_formed.size() == T);
  CHECK(q.finish_step == -1);
}

TEST_CASE("every output: same bits for 1, 2 and 4 threads and any chunk", "[outputs][determinism][threads]") {
  const Scenario& sc = bsf();
  const auto one = simulate(sc, 6, 1, 1), two = simulate(sc, 6, 2, 4), four = simulate(sc, 6, 4, 6);
  REQUIRE(one.size() == 6);
  for (const auto* other : {&two, &four}) {
    REQUIRE(other->size() == one.size());
    for (std::size_t i = 0; i < one.size(); ++i)
      for (const OutputSpec& spec : output_registry()) {
        INFO("replication " << i << ", output " << spec.group() << "/" << spec.name);
        CHECK(same_bits(output_values(spec, one[i]), output_values(spec, (*other)[i])));
      }
  }
  // The replications differ from one another, so the comparison can fail.
  CHECK(one[0].completion_step != one[1].completion_step);
}

TEST_CASE("the run file holds exactly the registry's datasets, with its attributes", "[outputs][run_file]") {
  const Scenario& sc = bsf();
  const analysis::RunReader run(run_bsf("bsf.h5", 3, 1));
  const h5::Group root = run.file().root();
  const OutputShape shape = output_shape(sc);
  std::size_t declared = 0;
  for (const OutputSpec& spec : output_registry()) {
    if (!present(spec, shape)) continue;
    ++declared;
    const std::string path = std::string(spec.group()) + "/" + spec.name;
    INFO(path);
    REQUIRE(root.is_dataset(path));
    const h5::Dataset d = root.open_dataset(path);
    CHECK(d.attr_string("description") == spec.description);
    if (*spec.unit) CHECK(d.attr_string("units") == spec.unit);
    if (!spec.dims().empty()) CHECK(d.attr_string("dims") == spec.dims());
    if (spec.is_series()) CHECK(root.is_group(std::string(dataset::SUMMARY) + "/" + spec.name));
  }
  std::size_t written = 0;
  for (const char* g : {dataset::SERIES, dataset::LEPS, dataset::PROJECTS, dataset::REPLICATIONS})
    written += root.open_group(g).list().size();
  CHECK(written == declared);  // nothing undeclared
}

TEST_CASE("metrics parse by name, with @MONTH, and refuse unknown names clearly", "[outputs][metrics]") {
  CHECK(parse_metric("completed_cumulative@60").name() == "completed_cumulative@60");
  CHECK(parse_metric("completed_cumulative@60").month == 60);
  CHECK(parse_metric("completed_month84").name() == "completed_cumulative@84");  // the older spelling
  CHECK(parse_metric("spend_total").month < 0);
  CHECK(parse_metric("leps_formed@24").description() == "LEPs formed by month 24");
  CHECK(parse_metric("leps_formed").description() == "LEPs formed by the horizon");
  CHECK_THROWS_WITH(parse_metric("schools"), Catch::Contains("unknown output 'schools'") && Catch::Contains("finish_month"));
  CHECK_THROWS_WITH(parse_metric("spend_total@12"), Catch::Contains("takes no @MONTH"));
  CHECK_THROWS_WITH(parse_metric("completed_cumulative@"), Catch::Contains("a number of months > 0"));
  CHECK_THROWS_WITH(parse_metric("completed_cumulative@-5"), Catch::Contains("a number of months > 0"));
  CHECK_THROWS_WITH(parse_metric("completed_cumulative@6x"), Catch::Contains("a number of months > 0"));
  const Scenario example = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  const OutputShape shape = output_shape(example);
  CHECK_THROWS_WITH(parse_metric("health_final", shape), Catch::Contains("[partnering] on"));
  const double horizon = example.time.horizon_months;
  CHECK_THROWS_WITH(parse_metric("completed_cumulative@" + std::to_string(static_cast<int>(horizon) + 12), shape),
                    Catch::Contains("after the horizon"));
  CHECK_THROWS_AS(parse_metric("x"), UsageError);
}

TEST_CASE("a metric has one value whether computed in memory or from the run file", "[outputs][metrics]") {
  const Scenario& sc = bsf();
  const auto results = simulate(sc, 4, 1, 4);
  const analysis::RunReader run(run_bsf("metrics.h5", 4, 2));
  const OutputShape shape = output_shape(sc);
  for (const MetricSpec& spec : metric_registry()) {
    std::vector<std::string> names = {spec.name};
    if (spec.month != MetricMonth::None)
      names.push_back(std::string(spec.name) + "@60"), names.push_back(std::string(spec.name) + "@61.5");
    for (const std::string& name : names) {
      INFO(name);
      const Metric m = parse_metric(name, shape);
      const std::vector<double> from_file = analysis::metric_values(run, m);
      REQUIRE(from_file.size() == results.size());
      for (std::size_t r = 0; r < results.size(); ++r) {
        const double here = m.value(results[r], sc.time.step_months);
        CHECK((std::memcmp(&here, &from_file[r], sizeof here) == 0));
      }
    }
  }
  // completed_cumulative at the horizon is the replication's completed count.
  const Metric all = parse_metric("completed_cumulative");
  for (const auto& r : results) CHECK(all.value(r, sc.time.step_months) == r.completed);
  // By month 60 = the sum of completions over the steps ending by month 60.
  const Metric by60 = parse_metric("completed_cumulative@60");
  const auto steps60 = static_cast<std::size_t>(60 / sc.time.step_months);
  double done = 0;
  for (std::size_t t = 0; t < steps60; ++t) done += results[0].completions[t];
  CHECK(by60.value(results[0], sc.time.step_months) == done);
}

TEST_CASE("the type-7 percentile has one home", "[outputs][percentile]") {
  const std::vector<double> x = {1, 2, 3, 4};
  CHECK(detail::percentile_sorted(x, 50) == 2.5);
  CHECK(detail::percentile_sorted(x, 0) == 1);
  CHECK(detail::percentile_sorted(x, 100) == 4);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> censored = {1, inf, inf};
  CHECK(detail::percentile_sorted(censored, 90) == inf);  // not NaN
  RunningMoments m;
  for (double v : {1.0, 2.0, std::nan(""), 3.0}) m.add(v);
  CHECK(m.n == 3);
  CHECK(m.mean == 2);
  CHECK(m.variance() == 1);
}

TEST_CASE("docs/run-file-format.md lists exactly the registry's metrics", "[outputs][metrics][docs]") {
  std::ifstream in(LEPSIM_SOURCE_DIR "/docs/run-file-format.md");
  REQUIRE(in.good());
  std::set<std::string> documented, declared;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Per-replication metrics";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::string name = line.substr(3, line.find('`', 3) - 3);
    if (const auto at = name.find('['); at != std::string::npos) name.resize(at);
    documented.insert(name);
  }
  for (const MetricSpec& m : metric_registry()) declared.insert(m.name);
  CHECK(documented == declared);
}
