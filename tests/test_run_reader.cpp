// The validating run-file reader (analysis/): it reads what the engine writes, and
// refuses every kind of broken file with a RunFileError that names the file and the
// problem. The CLI side (`lepsim info`, exit code 5) is in tests/cli_faults.sh.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/run.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/scenario.hpp"

using namespace lepsim;
using analysis::RunReader;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("run-reader"); }

//! A valid run file of example.toml, written once.
const std::string& valid_file() {
  static const std::string path = [] {
    const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
    RunOptions o;
    o.output_path = (temp_dir() / "valid.h5").string();
    o.replications = 40;
    o.threads = 2;
    o.force = true;
    run_scenario(sc, o);
    return o.output_path;
  }();
  return path;
}

//! A copy of the valid file, changed by `amend` through the h5 layer.
std::string amended(const std::string& name, const std::function<void(h5::Group&)>& amend) {
  const std::string path = (temp_dir() / name).string();
  fs::copy_file(valid_file(), path, fs::copy_options::overwrite_existing);
  h5::File f = h5::File::open_write(path);
  h5::Group root = f.root();
  amend(root);
  f.close();
  return path;
}

//! A copy of the valid file with its bytes changed by `edit`.
std::string edited_bytes(const std::string& name, const std::function<void(std::string&)>& edit) {
  std::ifstream in(valid_file(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  edit(bytes);
  const std::string path = (temp_dir() / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

//! Opening and verifying `path` fails with a RunFileError naming the file and saying `problem`.
void refused(const std::string& path, const std::string& problem) {
  INFO("file: " << path << ", expected problem: " << problem);
  try {
    RunReader r(path);
    r.verify();
    r.headline();
    FAIL("read without complaint");
  } catch (const RunFileError& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(what.rfind(path + ": ", 0) == 0);  // the message starts with the file
    CHECK(what.find(problem) != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
    CHECK(e.code() == ExitCode::RUN_FILE);
  }
}

}  // namespace

TEST_CASE("the reader reads what the engine writes", "[run_reader]") {
  const RunReader r(valid_file());
  const auto& m = r.metadata();
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  CHECK(m.path == valid_file());
  CHECK(m.format_major == RUN_FORMAT_MAJOR);
  CHECK(m.format_minor == RUN_FORMAT_MINOR);
  CHECK(m.replications == 40);
  CHECK(m.seed == sc.seed);
  CHECK(m.steps == sc.time.steps);
  CHECK(m.step_months == sc.time.step_months);
  CHECK(m.scenario_name == "example");
  CHECK(m.stages.size() == sc.stages.size());
  CHECK(m.authorities == sc.authority_names);
  CHECK(m.per_project);
  CHECK(m.project_rows > 0);
  CHECK(m.series.size() >= 6);
  CHECK_NOTHROW(r.verify());

  // The headline is computed from the per-replication datasets, as h5py would read them.
  const analysis::Headline h = r.headline();
  const h5::Group reps = r.file().root().open_group("replications");
  const auto projects = reps.read_array<double>("projects"), completed = reps.read_array<double>("completed"),
             finish = reps.read_array<double>("finish_step");
  double p = 0, c = 0, finished = 0;
  for (std::size_t i = 0; i < projects.size(); ++i) p += projects[i], c += completed[i], finished += finish[i] >= 0;
  const auto R = static_cast<double>(projects.size());
  CHECK(h.projects_mean == Approx(p / R));
  CHECK(h.completed_mean == Approx(c / R));
  CHECK(h.finished_fraction == Approx(finished / R));
  if (h.finish_p90_months >= 0) CHECK((h.finish_p50_months >= 0 && h.finish_p50_months <= h.finish_p90_months));
}

TEST_CASE("a missing path, a directory and files that are not HDF5 are refused", "[run_reader][faults]") {
  refused((temp_dir() / "no-such-file.h5").string(), "no such file");
  refused(temp_dir().string(), "is a directory");
  const std::string empty = (temp_dir() / "empty.h5").string();
  std::ofstream(empty).close();
  refused(empty, "is empty");
  const std::string zeros = (temp_dir() / "zeros.h5").string();
  std::ofstream(zeros, std::ios::binary) << std::string(100000, '\0');
  refused(zeros, "not an HDF5 file");
  const std::string text = (temp_dir() / "text.h5").string();
  std::ofstream(text) << "[scenario]\nname = \"a scenario, not a run file\"\n";
  refused(text, "not an HDF5 file");
}

TEST_CASE("a truncated file and one with bytes corrupted in the middle are refused", "[run_reader][faults]") {
  refused(edited_bytes("truncated.h5", [](std::string& b) { b.resize(b.size() / 2); }), "truncated");
  refused(edited_bytes("short-tail.h5", [](std::string& b) { b.resize(b.size() - 100); }), "truncated");
  // 64 bytes in the middle: inside compressed series data, whose checksum fails, or inside
  // summaries, which no longer agree with the series.
  refused(edited_bytes("corrupted.h5", [](std::string& b) { b.replace(b.size() / 2, 64, std::string(64, 'X')); }),
          "corrupted");
}

TEST_CASE("a valid HDF5 file that is not a lepsim run file is refused", "[run_reader][faults]") {
  const std::string other = (temp_dir() / "other.h5").string();
  {
    h5::File f = h5::File::create(other);
    f.root().create_group("data").write_array("x", std::vector<double>{1, 2, 3});
    f.close();
  }
  refused(other, "not a lepsim run file");
  refused(amended("wrong-type.h5", [](h5::Group& root) { root.set_attr("file_type", "someone-else"); }),
          "file_type = \"someone-else\"");
  refused(amended("numeric-type.h5", [](h5::Group& root) { root.set_attr("file_type", 7.0); }), "not a string");
}

TEST_CASE("format versions: a newer major is refused naming both, a newer minor is read", "[run_reader][faults]") {
  const std::string v2 = amended("v2.h5", [](h5::Group& root) {
    const std::int32_t v[2] = {2, 0};
    root.set_attr("format_version", v);
  });
  refused(v2, "run file format 2.0 is newer than this lepsim reads (1.x)");
  const std::string v0 = amended("v0.h5", [](h5::Group& root) {
    const std::int32_t v[2] = {0, 9};
    root.set_attr("format_version", v);
  });
  refused(v0, "run file format 0.9 is older");
  refused(amended("v-bad.h5", [](h5::Group& root) { root.set_attr("format_version", std::vector<std::int32_t>{1}); }),
          "format_version has 1 values");

  // A newer minor only adds: an extra attribute, group and dataset are ignored.
  const std::string v17 = amended("v1.7.h5", [](h5::Group& root) {
    const std::int32_t v[2] = {1, 7};
    root.set_attr("format_version", v);
    root.set_attr("added_in_1_7", "ignored");
    root.create_group("added").write_array("x", std::vector<double>{1});
  });
  const RunReader r(v17);
  CHECK(r.metadata().format_minor == 7);
  CHECK_NOTHROW(r.verify());
}

TEST_CASE("a missing required dataset, group or attribute is named", "[run_reader][faults]") {
  refused(amended("no-completed.h5", [](h5::Group& root) { root.remove("replications/completed"); }),
          "the dataset /replications/completed is missing");
  refused(amended("no-series.h5", [](h5::Group& root) { root.remove("series/stage_active"); }),
          "the dataset /series/stage_active is missing");
  refused(amended("no-summary.h5", [](h5::Group& root) { root.remove("summary"); }), "the group /summary is missing");
  refused(amended("no-stat.h5", [](h5::Group& root) { root.remove("summary/completions/p90"); }),
          "the dataset /summary/completions/p90 is missing");
  refused(amended("no-stages.h5", [](h5::Group& root) { root.remove("dimensions/stages"); }),
          "the dataset /dimensions/stages is missing");
}

TEST_CASE("shapes that disagree with each other are refused", "[run_reader][faults]") {
  refused(amended("bad-shape.h5",
                  [](h5::Group& root) {
                    const auto T = root.attr<std::int64_t>("steps");
                    root.remove("series/completions");
                    root.write_array("series/completions", std::vector<std::int32_t>(static_cast<std::size_t>(40 * (T + 1))),
                                     {40, static_cast<std::uint64_t>(T + 1)});
                  }),
          "inconsistent: /series/completions has shape [40, 121], expected");
  refused(amended("bad-reps.h5", [](h5::Group& root) { root.set_attr("replications", std::int64_t{41}); }), "inconsistent");
}

TEST_CASE("a dataset of the wrong type is refused", "[run_reader][faults]") {
  refused(amended("float-counts.h5",
                  [](h5::Group& root) {
                    std::vector<std::uint64_t> dims;
                    const auto x = root.read_array<double>("series/completions", &dims);
                    root.remove("series/completions");
                    root.write_array("series/completions", x, dims);
                  }),
          "wrong type: /series/completions holds floating-point values, the format has integer");
  refused(amended("numeric-names.h5",
                  [](h5::Group& root) {
                    root.remove("dimensions/stages");
                    root.write_array("dimensions/stages", std::vector<std::int32_t>{1, 2, 3, 4, 5});
                  }),
          "wrong type: /dimensions/stages holds integer values, the format has string");
}

TEST_CASE("verify finds data that breaks the format's invariants", "[run_reader][faults]") {
  // One replication's project states no longer sum to its projects.
  refused(amended("not-conserved.h5",
                  [](h5::Group& root) {
                    std::vector<std::uint64_t> dims;
                    auto x = root.read_array<std::int32_t>("series/project_state", &dims);
                    x[5] += 1;
                    root.remove("series/project_state");
                    root.write_array("series/project_state", x, dims);
                  }),
          "does not sum to its");
  // A summary that no longer agrees with the series it summarises.
  refused(amended("bad-summary.h5",
                  [](h5::Group& root) {
                    auto mean = root.read_array<double>("summary/completions/mean");
                    mean[3] += 0.5;
                    root.remove("summary/completions/mean");
                    root.write_array("summary/completions/mean", mean);
                  }),
          "corrupted: /summary/completions/mean at cell 3 does not agree");
  refused(amended("bad-first.h5",
                  [](h5::Group& root) {
                    auto first = root.read_array<std::int64_t>("replications/first_project");
                    first[7] += 1;
                    root.remove("replications/first_project");
                    root.write_array("replications/first_project", first);
                  }),
          "/replications/first_project[7]");
}
