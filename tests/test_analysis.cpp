// Commands that read run files, through lepsim::analysis as a user's script would:
// headline figures, compare (common random numbers), CSV export and convergence runs.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "test_support.hpp"
#include "lepsim/analysis/compare.hpp"
#include "lepsim/analysis/export.hpp"
#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/report.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"

using namespace lepsim;
using namespace lepsim::analysis;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("analysis"); }

const Scenario& example() {
  static const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  return sc;
}

std::string run(const Scenario& sc, const std::string& name, int replications, std::uint64_t seed, int threads = 2) {
  RunOptions o;
  o.output_path = (temp_dir() / name).string();
  o.replications = replications;
  o.seed = seed;
  o.threads = threads;
  o.force = true;
  run_scenario(sc, o);
  return o.output_path;
}

const Figure& figure(const std::vector<Figure>& figs, const std::string& key) {
  for (const auto& f : figs)
    if (f.key == key) return f;
  FAIL("no figure " << key);
  return figs.front();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("headline figures agree with the run's own per-replication data", "[analysis]") {
  const std::string path = run(example(), "figures.h5", 40, 11);
  const RunReader reader(path);
  FigureOptions fo;
  fo.targets = {{20, 120}, {-1, 120}};
  const auto figs = headline_figures(reader, fo);
  // The horizon figure is /replications/completed.
  const auto completed = reader.file().root().open_group("replications").read_array<double>("completed");
  const Figure& horizon = figure(figs, "completed_month120");
  REQUIRE(horizon.per_replication == completed);
  double mean = 0;
  for (double c : completed) mean += c / static_cast<double>(completed.size());
  CHECK(horizon.estimate.value == Approx(mean));
  CHECK(horizon.estimate.lo < mean);
  CHECK(horizon.estimate.hi > mean);
  CHECK(horizon.percentiles.size() == 4);
  // P(every project done by the horizon) equals the share with a finish step, and the
  // "all:120" target says the same.
  const auto finish = reader.file().root().open_group("replications").read_array<std::int32_t>("finish_step");
  double finished = 0;
  for (auto f : finish) finished += f >= 0;
  CHECK(figure(figs, "finish_within_horizon").estimate.value == Approx(finished / 40));
  CHECK(figure(figs, "target_2").estimate.value == Approx(finished / 40));
  double at_least_20 = 0;
  for (double c : completed) at_least_20 += c >= 20;
  CHECK(figure(figs, "target_1").estimate.value == Approx(at_least_20 / 40));
  // example.toml has no mechanisms: no partnership figures.
  for (const auto& f : figs) CHECK(f.key.find("health") == std::string::npos);
}

TEST_CASE("compare: the same seed and scenario shows zero difference; CRN narrows the interval", "[analysis][compare]") {
  const std::string a = run(example(), "cmp-a.h5", 60, 5), b = run(example(), "cmp-b.h5", 60, 5, 1);
  const RunReader ra(a), rb(b);
  const Comparison same = compare_runs({&ra, &rb}, {});
  REQUIRE(same.paired == std::vector<bool>{true});
  for (const auto& f : same.figures) {
    INFO(f.key);
    if (!f.differences[0].defined) {  // both after the horizon, or no extra school: no value, not +0
      CHECK((f.kind == FigureKind::Percentile || f.kind == FigureKind::Ratio));
      continue;
    }
    CHECK(f.differences[0].estimate.value == 0);
    if (f.differences[0].has_interval) {
      CHECK(f.differences[0].estimate.lo == 0);
      CHECK(f.differences[0].estimate.hi == 0);
    }
  }
  // A change of capacity under the same seed: paired, narrower than independent runs.
  Scenario more = example();
  for (auto& g : more.groups)
    for (double& fte : g.team) fte *= 1.5;
  const std::string c = run(more, "cmp-c.h5", 60, 5);
  const std::string d = run(more, "cmp-d.h5", 60, 6);
  const RunReader rc(c), rd(d);
  const Comparison crn = compare_runs({&ra, &rc}, {}), indep = compare_runs({&ra, &rd}, {});
  CHECK(crn.paired[0]);
  CHECK_FALSE(indep.paired[0]);
  // Month 60: by month 120 the extra staff finish every school in nearly every replication
  // (stage times exact, docs/model.md §1), leaving the paired difference no variance of its own.
  const auto& f_crn = crn.figures[0], &f_ind = indep.figures[0];
  REQUIRE(f_crn.key == "completed_month60");
  const double w_crn = f_crn.differences[0].estimate.hi - f_crn.differences[0].estimate.lo;
  const double w_ind = f_ind.differences[0].estimate.hi - f_ind.differences[0].estimate.lo;
  INFO("paired width " << w_crn << ", independent width " << w_ind);
  CHECK(w_crn < w_ind);
  CHECK(f_crn.differences[0].independent_half_width * 2 > w_crn);
}

TEST_CASE("compare refuses runs of different format majors", "[analysis][compare]") {
  const std::string a = run(example(), "fmt-a.h5", 3, 5);
  // A future major is refused by the reader itself, naming the file.
  const std::string newer = (temp_dir() / "fmt-newer.h5").string();
  fs::copy_file(a, newer, fs::copy_options::overwrite_existing);
  {
    h5::File f = h5::File::open_write(newer);
    const std::int32_t v[2] = {2, 0};
    f.root().set_attr("format_version", v);
  }
  try {
    const RunReader r(newer);
    FAIL("read a newer-format file");
  } catch (const RunFileError& e) {
    CHECK(std::string(e.what()).find(newer) != std::string::npos);
  }
}

TEST_CASE("export writes snake_case CSV, month_end, a data dictionary, and keeps files", "[analysis][export]") {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/authority-capacity.toml");
  const std::string path = run(sc, "export.h5", 3, 9);
  const RunReader reader(path);
  const std::string dir = (temp_dir() / "csv").string();
  fs::remove_all(dir);
  const auto files = export_csv(reader, dir, false);
  CHECK(files.size() == 3 + 2 * reader.metadata().series.size() + (reader.metadata().per_project ? 1 : 0));
  const auto reps = lines_of(dir + "/replications.csv");
  REQUIRE(reps.size() == 4);
  CHECK(reps[0] == "replication,projects,completed,finish_step,finish_month");
  const auto series = lines_of(dir + "/series/completed_cumulative.csv");
  CHECK(series.size() == 1 + 3 * static_cast<std::size_t>(sc.time.steps));
  CHECK(series[0] == "replication,step,month_end,completed_cumulative");
  // month_end is the end of the step: the first step ends at step_months, the last at the horizon.
  std::string first_row = "0,0,", horizon = ",";  // append(), not operator+: GCC 12 warns falsely (-Wrestrict)
  first_row.append(std::to_string(static_cast<int>(sc.time.step_months))).append(",");
  horizon.append(std::to_string(static_cast<int>(sc.time.horizon_months))).append(",");
  CHECK(series[1].rfind(first_row, 0) == 0);
  CHECK(series.back().find(horizon) != std::string::npos);
  const auto util = lines_of(dir + "/series/utilisation.csv");
  CHECK(util[0].find("utilisation_" + snake_case(sc.disciplines[0])) != std::string::npos);
  CHECK(util[0].find('(') == std::string::npos);  // no units in the header
  const auto leps = lines_of(dir + "/leps.csv");
  CHECK(leps.size() == 1 + 3 * static_cast<std::size_t>(sc.authority_count()));
  CHECK(leps[0].find(",capacity_cost") != std::string::npos);
  // Units and meanings live in the dictionary, one row per column of every file written.
  const auto dict = lines_of(dir + "/data-dictionary.csv");
  CHECK(dict[0] == "file,column,unit,description");
  CHECK(
      std::find(dict.begin(), dict.end(),
                "series/completed_cumulative.csv,completed_cumulative,projects,projects finished by the end of the step") !=
      dict.end());
  CHECK(std::any_of(dict.begin(), dict.end(),
                    [](const std::string& l) { return l.rfind("leps.csv,capacity_cost,GBP m,", 0) == 0; }));
  const auto summary = lines_of(dir + "/summary/completed_cumulative.csv");
  CHECK(summary[0] == "step,month_end,component,mean,sd,p10,p50,p90,replications");
  CHECK(summary.size() == 1 + static_cast<std::size_t>(sc.time.steps));
  // The last row of the summary is the mean of the replications' completions.
  const auto last = summary.back();
  const auto completed = reader.file().root().open_group("replications").read_array<double>("completed");
  std::stringstream ss(last);
  std::string step, month, comp, mean;
  std::getline(ss, step, ',');
  std::getline(ss, month, ',');
  std::getline(ss, comp, ',');
  std::getline(ss, mean, ',');
  CHECK(std::stod(month) == Approx(sc.time.horizon_months));
  CHECK(std::stod(mean) == Approx((completed[0] + completed[1] + completed[2]) / 3));
  // Nothing is overwritten without force, and no temporary is left.
  CHECK_THROWS_AS(export_csv(reader, dir, false), OutputError);
  CHECK_NOTHROW(export_csv(reader, dir, true));
  for (const auto& e : fs::recursive_directory_iterator(dir)) CHECK(e.path().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("export --outputs writes only the outputs named and refuses unknown ones", "[analysis][export]") {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/authority-capacity.toml");
  const std::string path = run(sc, "export-some.h5", 2, 9);
  const RunReader reader(path);
  const std::string dir = (temp_dir() / "csv-some").string();
  fs::remove_all(dir);
  ExportOptions o;
  o.outputs = {"completed_cumulative", "capacity_cost"};
  const auto files = export_csv(reader, dir, o);
  CHECK(files.size() == 4);  // series and summary of one series, leps.csv, the dictionary
  CHECK(fs::exists(dir + "/series/completed_cumulative.csv"));
  CHECK(fs::exists(dir + "/summary/completed_cumulative.csv"));
  CHECK(!fs::exists(dir + "/replications.csv"));
  CHECK(!fs::exists(dir + "/series/stage_active.csv"));
  CHECK(lines_of(dir + "/leps.csv")[0] == "replication,authority,capacity_cost");
  o.outputs = {"schools"};
  fs::remove_all(dir);
  try {
    export_csv(reader, dir, o);
    FAIL("an unknown output was accepted");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("unknown output 'schools'") != std::string::npos);
  }
  o.outputs = {"funding_queue"};  // a registry output whose mechanism is off in this run
  CHECK_THROWS_WITH(export_csv(reader, dir, o), Catch::Contains("is not in"));
  CHECK(!fs::exists(dir));
}

TEST_CASE("an interrupted export or report writes nothing and leaves no temporary", "[analysis][faults]") {
  const std::string path = run(example(), "interrupted.h5", 5, 3);
  const RunReader reader(path);
  const fs::path dir = temp_dir() / "interrupted";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ReportOptions o;
  o.output_path = (dir / "r.html").string();
  // What the executable's SIGINT/SIGTERM handler does: set the flag.
  interrupt_flag() = true;
  CHECK_THROWS_AS(export_csv(reader, (dir / "csv").string(), false), InterruptedError);
  CHECK_THROWS_AS(write_report(reader, o), InterruptedError);
  CHECK_THROWS_AS(reader.verify(), InterruptedError);
  interrupt_flag() = false;
  CHECK(fs::is_empty(dir));  // no export folder, no report, no temporaries
  for (const auto& e : fs::directory_iterator(temp_dir())) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  CHECK_NOTHROW(export_csv(reader, (dir / "csv").string(), false));
}

TEST_CASE("convergence: replications are added until the rule is met, the same for any thread count",
          "[analysis][convergence][threads]") {
  auto converge = [&](int threads, double precision, std::int64_t max) {
    RunOptions o;
    o.output_path = (temp_dir() / ("conv-" + std::to_string(threads) + ".h5")).string();
    o.threads = threads;
    o.force = true;
    ConvergenceRule rule;
    rule.outputs = {"completed", "completed_month84"};
    rule.precision = precision;
    rule.max_replications = max;
    rule.check_every = 20;
    o.convergence = rule;
    return std::pair(run_scenario(example(), o), o.output_path);
  };
  const auto [one, path1] = converge(1, 0.03, 2000);
  const auto [two, path2] = converge(2, 0.03, 2000);
  REQUIRE(one.converged);
  CHECK(one.replications == two.replications);
  CHECK(one.replications % 20 == 0);
  CHECK(one.replications < 2000);
  for (double w : one.relative_half_width) CHECK(w <= 0.03);
  // The file records the rule, the outcome and the replications actually run.
  const RunReader r(path1);
  CHECK(r.metadata().replications == one.replications);
  const h5::Group root = r.file().root();
  CHECK(root.attr<std::int32_t>("convergence_met") == 1);
  CHECK(root.attr_string("convergence_outputs") == "completed,completed_month84");
  CHECK(root.attr_string("convergence_rule").find("within 3% of the mean") != std::string::npos);
  // And the interval the analysis computes from the file agrees with the rule being met.
  const auto figs = headline_figures(r, {});
  const Figure& f = figure(figs, "completed_month120");
  CHECK((f.estimate.hi - f.estimate.lo) / 2 / f.estimate.value <= 0.03 + 1e-12);
  // A precision out of reach stops at the maximum, recorded as not met.
  const auto [capped, path3] = converge(2, 1e-6, 60);
  CHECK_FALSE(capped.converged);
  CHECK(capped.replications == 60);
  CHECK(RunReader(path3).file().root().attr<std::int32_t>("convergence_met") == 0);
  // Unknown outputs are refused before anything runs.
  RunOptions bad;
  bad.output_path = (temp_dir() / "conv-bad.h5").string();
  bad.convergence = ConvergenceRule{{"schools"}, 0.01, 0.95, 100, 100};
  CHECK_THROWS_AS(run_scenario(example(), bad), UsageError);
  CHECK_FALSE(fs::exists(bad.output_path));
}
