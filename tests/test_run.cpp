// Running replications: the up-front estimate of a run's file and memory (and the
// refusals it drives), prompt cancellation, and the replication limit. Determinism
// across thread counts is in test_dynamics.cpp and test_run_file.cpp.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "test_support.hpp"

using namespace lepsim;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("run"); }

Scenario scenario(const char* name) { return load_scenario(std::string(LEPSIM_SOURCE_DIR "/scenarios/") + name); }

//! Bytes of every numeric dataset of a run file, uncompressed.
double uncompressed_bytes(const std::string& path) {
  h5::File f = h5::File::open_read(path);
  double total = 0;
  std::function<void(const h5::Group&)> walk = [&](const h5::Group& g) {
    for (const auto& name : g.list()) {
      if (g.is_group(name)) {
        walk(g.open_group(name));
        continue;
      }
      const h5::Dataset d = g.open_dataset(name);
      const auto e = d.element();
      if (e.kind != h5::Dataset::ElementClass::Integer && e.kind != h5::Dataset::ElementClass::Float) continue;
      double n = 1;
      for (auto k : d.dims()) n *= static_cast<double>(k);
      total += n * static_cast<double>(e.bytes);
    }
  };
  walk(f.root());
  return total;
}

}  // namespace

TEST_CASE("the estimate of a run file's size is close to what is written", "[run][resources]") {
  for (const char* name : {"example.toml", "bsf.toml"}) {
    INFO("scenario " << name);
    const Scenario sc = scenario(name);
    RunOptions o;
    o.output_path = (temp_dir() / (std::string(name) + ".h5")).string();
    o.replications = 30;
    o.threads = 2;
    o.force = true;
    run_scenario(sc, o);
    const RunEstimate e = estimate_run(sc, 30, 2);
    const double actual = uncompressed_bytes(o.output_path);
    INFO("estimated " << e.file_bytes << " bytes, written " << actual);
    CHECK(e.file_bytes > 0.75 * actual);
    CHECK(e.file_bytes < 1.35 * actual);
    CHECK(e.memory_bytes > e.replication_bytes * e.chunk_replications);
  }
}

TEST_CASE("a run whose file cannot fit the disk is refused at once, with the estimate", "[run][resources][faults]") {
  const Scenario sc = scenario("bsf.toml");
  RunOptions o;
  o.output_path = (temp_dir() / "absurd.h5").string();
  o.replications = MAX_REPLICATIONS;  // about 7.5 TB before compression
  const auto t0 = std::chrono::steady_clock::now();
  try {
    run_scenario(sc, o);
    FAIL("a run of " << MAX_REPLICATIONS << " bsf replications was started");
  } catch (const OutputError& e) {
    const std::string what = e.what();
    CHECK(what.find(o.output_path) != std::string::npos);
    CHECK(what.find("TB before compression") != std::string::npos);
    CHECK(what.find("free") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK_FALSE(fs::exists(o.output_path));
  for (const auto& entry : fs::directory_iterator(temp_dir()))
    CHECK(entry.path().filename().string().find("absurd.h5.tmp") == std::string::npos);
}

TEST_CASE("a run whose memory cannot fit the machine is refused with exit code 6", "[run][resources][faults]") {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/tests/data/giant.toml");
  const RunEstimate e = estimate_run(sc, 100, 2);
  CHECK(e.projects == Approx(32768.0 * 65535.0));
  CHECK(e.memory_bytes > 100e9);
  RunOptions o;
  o.output_path = (temp_dir() / "giant.h5").string();
  o.threads = 2;
  try {
    run_scenario(sc, o);
    FAIL("a run needing " << e.memory_bytes << " bytes was started");
  } catch (const ResourceError& ex) {
    CHECK(ex.code() == ExitCode::RESOURCES);
    const std::string what = ex.what();
    CHECK(what.find("'giant'") != std::string::npos);
    CHECK(what.find("needs about") != std::string::npos);
    CHECK(what.find("2147450880 projects") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(o.output_path));
}

TEST_CASE("a replication count beyond the limit is a usage error", "[run][faults]") {
  RunOptions o;
  o.output_path = (temp_dir() / "too-many.h5").string();
  o.replications = static_cast<int>(MAX_REPLICATIONS + 1);
  CHECK_THROWS_AS(run_scenario(scenario("example.toml"), o), UsageError);
  o.replications = 0;
  CHECK_THROWS_AS(run_scenario(scenario("example.toml"), o), UsageError);
}

TEST_CASE("cancelling stops the workers within a replication, not at the end of the chunk", "[run][faults][threads]") {
  // One chunk of 400 replications: polled only between chunks, a cancel would wait for all of them.
  Scenario sc = scenario("example.toml");
  sc.chunk_replications = 400;
  auto run = [&](bool cancel_early) {
    std::atomic<bool> stop{false};
    int chunks = 0;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      simulate_range(sc, 1, 0, 400, 2, 400, [&](auto) { ++chunks; }, &stop, [&](std::uint32_t done) {
        if (cancel_early && done >= 2) stop = true;
      });
      CHECK_FALSE(cancel_early);
    } catch (const InterruptedError& e) {
      CHECK(cancel_early);
      CHECK(std::string(e.what()).find("interrupted after") != std::string::npos);
    }
    CHECK(chunks == (cancel_early ? 0 : 1));  // a cancelled chunk never reaches the sink
    return std::chrono::steady_clock::now() - t0;
  };
  const auto whole = run(false), cancelled = run(true);
  INFO("whole chunk " << std::chrono::duration<double>(whole).count() << " s, cancelled "
                      << std::chrono::duration<double>(cancelled).count() << " s");
  CHECK(cancelled * 4 < whole);
}

TEST_CASE("a run cancelled midway leaves no file and no temporary", "[run][faults][threads]") {
  std::atomic<bool> stop{false};
  RunOptions o;
  o.output_path = (temp_dir() / "cancelled-midway.h5").string();
  o.replications = 100000;  // minutes of work: the cancel must cut it short
  o.threads = 2;
  o.cancel = &stop;
  o.progress = [&](std::int64_t done, std::int64_t) {
    if (done >= 50) stop = true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  try {
    run_scenario(scenario("example.toml"), o);
    FAIL("not interrupted");
  } catch (const InterruptedError& e) {
    CHECK(e.code() == ExitCode::INTERRUPTED);
    CHECK(std::string(e.what()).find("was not written") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  CHECK_FALSE(fs::exists(o.output_path));
  for (const auto& entry : fs::directory_iterator(temp_dir()))
    CHECK(entry.path().filename().string().find("cancelled-midway.h5.tmp") == std::string::npos);
  // Stopped inside its first chunk (3,125 replications): nothing to resume, so no checkpoint
  // (docs/robustness.md, "Resuming a run").
  CHECK_FALSE(fs::exists(o.output_path + ".partial"));
}

namespace {

//! Every numeric dataset of a run file, as doubles, by path.
std::map<std::string, std::vector<double>> datasets(const std::string& path) {
  h5::File f = h5::File::open_read(path);
  std::map<std::string, std::vector<double>> out;
  std::function<void(const h5::Group&, const std::string&)> walk = [&](const h5::Group& g, const std::string& at) {
    for (const auto& name : g.list()) {
      if (g.is_group(name)) {
        walk(g.open_group(name), at + "/" + name);
        continue;
      }
      const h5::Dataset d = g.open_dataset(name);
      const auto e = d.element();
      if (e.kind == h5::Dataset::ElementClass::Integer || e.kind == h5::Dataset::ElementClass::Float)
        out[at + "/" + name] = d.read<double>();
    }
  };
  walk(f.root(), "");
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("an interrupted run resumes from its checkpoint to the same datasets", "[run][faults][resume]") {
  const Scenario sc = scenario("example.toml");
  RunOptions ref;
  ref.output_path = (temp_dir() / "resume-ref.h5").string();
  ref.replications = 60;
  ref.threads = 2;
  ref.force = true;
  run_scenario(sc, ref);
  CHECK_FALSE(fs::exists(ref.output_path + ".partial"));  // removed on success

  RunOptions o = ref;
  o.force = false;  // --force would start again over the checkpoint
  o.output_path = (temp_dir() / "resume.h5").string();
  fs::remove(o.output_path);
  fs::remove(o.output_path + ".partial");
  std::atomic<bool> stop{false};
  o.cancel = &stop;
  o.progress = [&](std::int64_t done, std::int64_t) {
    if (done >= 30) stop = true;
  };
  try {
    run_scenario(sc, o);
    FAIL("not interrupted");
  } catch (const InterruptedError& e) {
    CHECK(std::string(e.what()).find("--resume") != std::string::npos);
  }
  REQUIRE(fs::exists(o.output_path + ".partial"));
  CHECK_FALSE(fs::exists(o.output_path));

  // Another seed's run refuses the checkpoint and keeps it.
  RunOptions other = o;
  other.cancel = nullptr;
  other.progress = nullptr;
  other.resume = true;
  other.seed = 99;
  try {
    run_scenario(sc, other);
    FAIL("a foreign checkpoint was accepted");
  } catch (const OutputError& e) {
    CHECK(e.code() == ExitCode::OUTPUT);
    CHECK(std::string(e.what()).find("belongs to a different run") != std::string::npos);
  }
  CHECK(fs::exists(o.output_path + ".partial"));
  // Without --resume (or --force) it is not overwritten either.
  other.resume = false;
  other.seed.reset();
  CHECK_THROWS_AS(run_scenario(sc, other), OutputError);

  other.resume = true;
  other.threads = 1;  // other chunks from here: the datasets do not depend on them
  const RunInfo info = run_scenario(sc, other);
  CHECK(info.resumed_replications >= 8);
  CHECK(info.resumed_replications < 60);
  CHECK_FALSE(fs::exists(o.output_path + ".partial"));
  const auto a = datasets(ref.output_path), b = datasets(o.output_path);
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 10);
  for (const auto& [name, values] : a) {
    INFO(name);
    REQUIRE(b.count(name) == 1);
    CHECK(same_bits(values, b.at(name)));
  }
}
