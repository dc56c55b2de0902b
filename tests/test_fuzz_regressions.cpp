// Inputs the scenario fuzzer (tests/fuzz/) found or is seeded with, replayed through the
// ordinary build: each must parse or be refused with a ScenarioError, never crash or
// throw anything else, and within a time bound (a hang is a finding too).

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"

using namespace lepsim;
namespace fs = std::filesystem;

TEST_CASE("fuzzer regressions and seeds parse or are refused cleanly, quickly", "[scenario][fuzz]") {
  // Generous enough for sanitizer builds; a regression of the quadratic kind takes minutes.
  constexpr auto BOUND = std::chrono::seconds(10);
  int files = 0;
  for (const char* dir : {"tests/fuzz/regressions", "tests/fuzz/corpus"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(LEPSIM_SOURCE_DIR) / dir)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      INFO("input: " << entry.path().string());
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const auto t0 = std::chrono::steady_clock::now();
      try {
        const Scenario sc = parse_scenario(ss.str(), "fuzz.toml");
        CHECK_NOTHROW(parse_scenario(sc.resolved_toml(), "resolved.toml"));
      } catch (const ScenarioError& e) {
        CHECK(!e.diagnostics().empty());
      } catch (const std::exception& e) {
        FAIL_CHECK("threw something other than ScenarioError: " << e.what());
      }
      CHECK(std::chrono::steady_clock::now() - t0 < BOUND);
    }
  }
  CHECK(files >= 4);
}
