// Regression references (house style 17): small stored results for example.toml, a reduced
// bsf.toml and a policy variant — the headline figures `lepsim summary` prints and the
// per-step means of every series at each whole year — printed to 12 significant digits in
// tests/data/references/. A change that moves a number fails here, naming the number.
//
// Tolerance: |new - stored| <= 1e-9 x max(|new|, |stored|) + 1e-12. The stored text
// rounds to 12 digits (5e-13 relative); the rest allows for another libm's last bits. A
// model change moves results far more than that.
//
// Updating is deliberate: LEPSIM_UPDATE_REFERENCES=1 build/ci/tests/lepsim_tests "[references]"
// rewrites the files; review the diff (git diff tests/data/references) and commit it with
// the change that moved the numbers, saying why.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/run.hpp"
#include "lepsim/scenario.hpp"
#include "test_support.hpp"

using namespace lepsim;

namespace {

constexpr double RELATIVE_TOLERANCE = 1e-9, ABSOLUTE_TOLERANCE = 1e-12;

std::string text12(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", x);
  return buf;
}

double parse_number(const std::string& s) {
  if (s == "nan") return std::nan("");
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  return std::stod(s);
}

//! The reference values of a run: name -> value, in a stable order.
std::map<std::string, double> reference_values(const std::string& run_path) {
  const analysis::RunReader run(run_path);
  const analysis::RunMetadata& m = run.metadata();
  std::map<std::string, double> v;
  for (const analysis::Figure& f : analysis::headline_figures(run, {})) {
    v["figure." + f.key + ".estimate"] = f.estimate.value;
    v["figure." + f.key + ".lo"] = f.estimate.lo;
    v["figure." + f.key + ".hi"] = f.estimate.hi;
  }
  const h5::Group summary = run.file().root().open_group(dataset::SUMMARY);
  const auto year = static_cast<std::size_t>(std::llround(12 / m.step_months));
  for (const analysis::SeriesInfo& s : m.series) {
    const auto mean = summary.open_group(s.name).read_array<double>("mean");
    const std::size_t K = std::max<std::uint64_t>(1, s.inner);
    for (std::size_t t = year - 1; t < static_cast<std::size_t>(m.steps); t += year)
      for (std::size_t k = 0; k < K; ++k) {
        char key[160];
        std::snprintf(key, sizeof key, "mean.%s[%zu].month_end=%s", s.name.c_str(), k,
                      text12(static_cast<double>(t + 1) * m.step_months).c_str());
        v[key] = mean[t * K + k];
      }
  }
  return v;
}

void check_reference(const std::string& name, const std::string& scenario_path, int replications) {
  const Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/" + scenario_path);
  RunOptions o;
  o.output_path = (test::scratch_dir("references") / (name + ".h5")).string();
  o.replications = replications;
  o.threads = 2;
  o.force = true;
  run_scenario(sc, o);
  const auto now = reference_values(o.output_path);
  const std::string ref_path = LEPSIM_SOURCE_DIR "/tests/data/references/" + name + ".txt";
  const char* update = std::getenv("LEPSIM_UPDATE_REFERENCES");
  if (update && std::string(update) == "1") {
    std::ofstream out(ref_path);
    out << "# lepsim regression reference: " << scenario_path << ", " << replications
        << " replications, the scenario's seed, 2 threads (tolerances: tests/test_references.cpp).\n"
        << "# Regenerate: LEPSIM_UPDATE_REFERENCES=1 build/ci/tests/lepsim_tests \"[references]\"\n";
    for (const auto& [key, value] : now) out << key << " " << text12(value) << "\n";
    REQUIRE(out.good());
    WARN("rewrote " << ref_path << ": review the diff before committing it");
    return;
  }
  std::ifstream in(ref_path);
  INFO("reference " << ref_path << " (regenerate with LEPSIM_UPDATE_REFERENCES=1 if the change is meant)");
  REQUIRE(in.good());
  std::map<std::string, double> stored;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key, value;
    ls >> key >> value;
    stored[key] = parse_number(value);
  }
  std::size_t moved = 0;
  std::ostringstream report;
  for (const auto& [key, want] : stored) {
    const auto it = now.find(key);
    if (it == now.end()) {
      report << "  " << key << ": stored " << text12(want) << ", no longer computed\n";
      ++moved;
      continue;
    }
    const double got = it->second;
    const bool same =
        (std::isnan(want) && std::isnan(got)) || want == got ||
        std::fabs(got - want) <= RELATIVE_TOLERANCE * std::max(std::fabs(got), std::fabs(want)) + ABSOLUTE_TOLERANCE;
    if (!same && moved++ < 20) report << "  " << key << ": stored " << text12(want) << ", now " << text12(got) << "\n";
  }
  for (const auto& [key, got] : now)
    if (!stored.count(key) && moved++ < 20) report << "  " << key << ": new, " << text12(got) << "\n";
  INFO(moved << " of " << stored.size() << " values moved:\n" << report.str());
  CHECK(moved == 0);
  CHECK(stored.size() > 50);  // the reference is not empty
}

}  // namespace

TEST_CASE("regression reference: example.toml", "[references]") {
  check_reference("example", "scenarios/example.toml", 200);
}

TEST_CASE("regression reference: bsf.toml, 8 replications", "[references]") {
  check_reference("bsf", "scenarios/bsf.toml", 8);
}

TEST_CASE("regression reference: the streamlined-procurement policy variant, 8 replications", "[references]") {
  check_reference("streamlined-procurement", "scenarios/policy/streamlined-procurement.toml", 8);
}
