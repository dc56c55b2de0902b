// The HDF5 run file: contents, same bits across thread counts and chunk sizes,
// summaries that agree with the per-replication data, safe writing, and a
// format document that matches what is written.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "test_support.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/rng.hpp"
#include "lepsim/run.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/scenario.hpp"

using namespace lepsim;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("run-file"); }

const Scenario& example() {
  static const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  return sc;
}

std::string run_example(const std::string& name, int threads, int replications = 23, int chunk = 0) {
  Scenario sc = example();
  sc.chunk_replications = chunk;
  RunOptions o;
  o.output_path = (temp_dir() / name).string();
  o.replications = replications;
  o.threads = threads;
  o.force = true;
  run_scenario(sc, o);
  return o.output_path;
}

//! Every dataset path in a file, recursively.
void list_datasets(const h5::Group& g, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& name : g.list()) {
    const std::string path = prefix + "/" + name;
    if (g.is_group(name)) list_datasets(g.open_group(name), path, out);
    else out.push_back(path);
  }
}

std::vector<std::string> datasets_of(const std::string& file) {
  h5::File f = h5::File::open_read(file);
  std::vector<std::string> out;
  list_datasets(f.root(), "", out);
  return out;
}

}  // namespace

TEST_CASE("the run file says what it is and keeps the scenario", "[run_file]") {
  const std::string path = run_example("attrs.h5", 2);
  h5::File f = h5::File::open_read(path);
  h5::Group root = f.root();
  CHECK(root.attr_string("file_type") == "lepsim-run");
  CHECK(root.attr_array<std::int32_t>("format_version") == std::vector<std::int32_t>{RUN_FORMAT_MAJOR, RUN_FORMAT_MINOR});
  CHECK(root.attr<std::uint64_t>("seed") == example().seed);
  CHECK(root.attr<std::int64_t>("replications") == 23);
  CHECK(!root.attr_string("engine_version").empty());
  CHECK(root.attr_string("allocation") == ALLOCATION_RULE);
  CHECK(root.attr<std::int32_t>("random_stream_layout") == lepsim::RANDOM_STREAM_LAYOUT);
  CHECK(!root.attr_string("git_revision").empty());
  CHECK(std::regex_match(root.attr_string("created"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(root.open_group("scenario").read_text("text") == example().source_text);
  // The resolved scenario is itself a valid scenario.
  CHECK_NOTHROW(parse_scenario(root.open_group("scenario").read_text("resolved"), "resolved.toml"));
  CHECK(root.open_group("series").dims("stage_active") ==
        std::vector<std::uint64_t>{23, static_cast<std::uint64_t>(example().time.steps), example().stages.size()});
  CHECK_FALSE(fs::exists(path + ".tmp-" + std::to_string(::getpid())));
}

TEST_CASE("same seed, same bits in the file for 1, 2 and 8 threads and any chunk size", "[run_file][determinism][threads]") {
  const std::string a = run_example("t1.h5", 1, 23, 4), b = run_example("t2.h5", 2, 23, 0), c = run_example("t8.h5", 8, 23, 23);
  const auto names = datasets_of(a);
  REQUIRE(names == datasets_of(b));
  REQUIRE(names == datasets_of(c));
  h5::File fa = h5::File::open_read(a), fb = h5::File::open_read(b), fc = h5::File::open_read(c);
  for (const auto& name : names) {
    if (name.rfind("/scenario", 0) == 0 || name.rfind("/dimensions", 0) == 0) continue;  // text: checked elsewhere
    const auto da = fa.root().read_array<double>(name), db = fb.root().read_array<double>(name),
               dc = fc.root().read_array<double>(name);
    INFO(name);
    REQUIRE(da.size() == db.size());
    REQUIRE(da.size() == dc.size());
    CHECK(std::memcmp(da.data(), db.data(), da.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(da.data(), dc.data(), da.size() * sizeof(double)) == 0);
  }
}

TEST_CASE("summaries agree with the per-replication series", "[run_file]") {
  const std::string path = run_example("summary.h5", 2, 41);
  h5::File f = h5::File::open_read(path);
  h5::Group root = f.root();
  std::vector<std::uint64_t> dims;
  const auto x = root.open_group("series").read_array<double>("completed_cumulative", &dims);
  const auto R = dims[0], T = dims[1];
  const auto mean = root.read_array<double>("summary/completed_cumulative/mean");
  const auto sd = root.read_array<double>("summary/completed_cumulative/sd");
  const auto p10 = root.read_array<double>("summary/completed_cumulative/p10");
  const auto p50 = root.read_array<double>("summary/completed_cumulative/p50");
  const auto p90 = root.read_array<double>("summary/completed_cumulative/p90");
  REQUIRE(mean.size() == T);
  for (std::uint64_t t = 0; t < T; t += 7) {
    std::vector<double> col;
    for (std::uint64_t r = 0; r < R; ++r) col.push_back(x[r * T + t]);
    double m = 0;
    for (double v : col) m += v;
    m /= static_cast<double>(R);
    double v2 = 0;
    for (double v : col) v2 += (v - m) * (v - m);
    std::sort(col.begin(), col.end());
    // R = 41: P10, P50, P90 fall exactly on order statistics 4, 20 and 36.
    CHECK(mean[t] == Approx(m));
    CHECK(sd[t] == Approx(std::sqrt(v2 / static_cast<double>(R - 1))));
    CHECK(p10[t] == col[4]);
    CHECK(p50[t] == col[20]);
    CHECK(p90[t] == col[36]);
  }
  // Sufficient statistics let files be merged exactly.
  CHECK(root.open_group("summary/completed_cumulative").attr<std::int64_t>("n") == 41);
  // Per-project rows add up to the per-replication counts.
  const auto first = root.read_array<std::int64_t>("replications/first_project");
  const auto projects = root.read_array<std::int32_t>("replications/projects");
  const auto completion = root.read_array<std::int32_t>("projects/completion_step");
  REQUIRE(first.size() == 41);
  CHECK(first.back() + projects.back() == static_cast<std::int64_t>(completion.size()));
}

TEST_CASE("summaries of integer and real series equal numpy's statistics of the series", "[run_file]") {
  // R = 38: the percentiles interpolate between order statistics (type 7, numpy's default).
  // Integer series are summarised from histograms kept while writing, real ones by reading
  // the series back: both must give the same order statistics a sort gives, bit for bit.
  const std::string path = run_example("summary-kinds.h5", 2, 38);
  h5::File f = h5::File::open_read(path);
  h5::Group root = f.root();
  for (const char* name : {"stage_queued", "project_state", "utilisation"}) {
    INFO("series " << name);
    std::vector<std::uint64_t> dims;
    const auto x = root.open_group("series").read_array<double>(name, &dims);
    const std::uint64_t R = dims[0], T = dims[1], K = dims.size() > 2 ? dims[2] : 1;
    const std::string g = std::string("summary/") + name + "/";
    const auto mean = root.read_array<double>(g + "mean"), sd = root.read_array<double>(g + "sd");
    const auto sum = root.read_array<double>(g + "sum");
    const std::vector<std::vector<double>> pct = {root.read_array<double>(g + "p10"), root.read_array<double>(g + "p50"),
                                                  root.read_array<double>(g + "p90")};
    for (std::uint64_t c = 0; c < T * K; c += 5) {
      std::vector<double> col;
      for (std::uint64_t r = 0; r < R; ++r) col.push_back(x[r * T * K + c]);
      double s = 0;
      for (double v : col) s += v;
      const double m = s / static_cast<double>(R);
      double dev = 0;
      for (double v : col) dev += (v - m) * (v - m);
      std::sort(col.begin(), col.end());
      CHECK(sum[c] == s);
      CHECK(mean[c] == m);
      CHECK(sd[c] == Approx(std::sqrt(dev / static_cast<double>(R - 1))).epsilon(1e-13));
      const double ps[] = {10, 50, 90};
      for (std::size_t q = 0; q < 3; ++q) {
        const double h = static_cast<double>(R - 1) * ps[q] / 100.0;
        const auto lo = static_cast<std::size_t>(std::floor(h));
        const std::size_t hi = std::min<std::size_t>(lo + 1, R - 1);
        CHECK(pct[q][c] == col[lo] + (h - static_cast<double>(lo)) * (col[hi] - col[lo]));
      }
    }
  }
}

TEST_CASE("an existing output is never overwritten without force; failures leave nothing behind", "[run_file][faults]") {
  const std::string path = run_example("exists.h5", 1, 3);
  const auto before = fs::last_write_time(path);
  RunOptions o;
  o.output_path = path;
  o.replications = 3;
  CHECK_THROWS_AS(run_scenario(example(), o), OutputError);
  CHECK(fs::last_write_time(path) == before);

  o.output_path = (temp_dir() / "no-such-dir" / "out.h5").string();
  try {
    run_scenario(example(), o);
    FAIL("expected an OutputError");
  } catch (const OutputError& e) {
    CHECK(std::string(e.what()).find("no-such-dir") != std::string::npos);
  }
  CHECK(fs::is_empty(temp_dir()) == false);
  for (const auto& entry : fs::directory_iterator(temp_dir()))
    CHECK(entry.path().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("a cancelled run leaves no file under the final name and no temporary", "[run_file][faults][threads]") {
  std::atomic<bool> stop{true};
  RunOptions o;
  o.output_path = (temp_dir() / "cancelled.h5").string();
  o.replications = 50;
  o.cancel = &stop;
  CHECK_THROWS_AS(run_scenario(example(), o), InterruptedError);
  CHECK_FALSE(fs::exists(o.output_path));
  for (const auto& entry : fs::directory_iterator(temp_dir()))
    CHECK(entry.path().filename().string().rfind("cancelled.h5.tmp", 0) != 0);
}

TEST_CASE("docs/run-file-format.md documents exactly what is written", "[run_file][docs]") {
  // Every dataset or group path in the doc's tables (`/series/NAME` in backticks) must be
  // written, and every dataset written must be documented.
  std::ifstream doc(LEPSIM_SOURCE_DIR "/docs/run-file-format.md");
  REQUIRE(doc.good());
  std::stringstream ss;
  ss << doc.rdbuf();
  const std::string text = ss.str();
  std::set<std::string> documented;
  const std::regex path_re(R"(\|\s*`(/[A-Za-z_0-9/]+)`)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), path_re); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1]);
  REQUIRE(documented.size() > 10);
  // A policy variant: every mechanism on, and a base file, so every optional dataset is written.
  Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/policy/practices-mandated.toml");
  REQUIRE(sc.base_files.size() == 1);
  // And uncertain inputs drawn per replication, so /uncertainty is written (format 1.4): the
  // default's fitted inputs, or one added here if the default stops drawing them.
  if (sc.uncertainty.inputs.empty()) {
    sc.uncertainty.draw = UncertaintyDraw::INPUTS;
    sc.uncertainty.inputs.push_back({"stages.procurement.work", true, Distribution::uniform(0.9, 1.1), NAN, ""});
  }
  REQUIRE(sc.uncertainty.draw == UncertaintyDraw::INPUTS);
  RunOptions o;
  o.output_path = (temp_dir() / "doc.h5").string();
  o.replications = 2;
  o.threads = 2;
  o.force = true;
  run_scenario(sc, o);
  const std::string path = o.output_path;
  std::set<std::string> written;
  for (auto name : datasets_of(path)) {
    // Summary groups repeat per series: the doc names them /summary/SERIES/STAT.
    static const std::regex summary_re(R"(/summary/[a-z_]+/([a-z0-9_]+))");
    std::smatch m;
    if (std::regex_match(name, m, summary_re)) name = "/summary/SERIES/" + m[1].str();
    written.insert(name);
  }
  for (const auto& w : written) {
    INFO("written but not documented: " << w);
    CHECK(documented.count(w) == 1);
  }
  for (const auto& d : documented) {
    if (d.find('/', 1) == std::string::npos) continue;  // a group row such as /series
    INFO("documented but not written: " << d);
    CHECK(written.count(d) == 1);
  }
  // And the version the doc states is the version written.
  CHECK(text.find("Format version: " + std::to_string(RUN_FORMAT_MAJOR) + "." + std::to_string(RUN_FORMAT_MINOR)) !=
        std::string::npos);
}
