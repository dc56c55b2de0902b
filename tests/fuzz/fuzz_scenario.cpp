// libFuzzer target: scenario text -> parse, validate, resolve (docs/scenario-format.md).
// A ScenarioError is the expected answer to bad input. A crash, a hang, a sanitizer
// report, any other exception escaping, or a broken invariant below is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lepsim/error.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/scenario.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "lepsim fuzz finding: %s\n%s\n", what, detail.c_str());
  std::abort();  // libFuzzer saves the input as crash-*
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string resolved;
  try {
    const lepsim::Scenario s = lepsim::parse_scenario(text, "fuzz.toml");
    // The parser accepted it, so validate() on what it read must too (one set of rules),
    // and every parameter the path API lists must read back.
    if (const auto problems = lepsim::validate(s); !problems.empty()) finding("parsed but invalid", problems[0].format());
    for (const auto& path : lepsim::parameter_paths(s)) (void)lepsim::get_parameter(s, path);
    resolved = s.resolved_toml();
  } catch (const lepsim::ScenarioError& e) {
    // Every message names the file and is one line: FILE:LINE: KEY = VALUE: RULE.
    if (e.diagnostics().empty()) finding("ScenarioError without diagnostics", e.what());
    for (const auto& d : e.diagnostics())
      if (d.file != "fuzz.toml" || d.format().find('\n') != std::string::npos || d.rule.empty())
        finding("malformed diagnostic", d.format());
    return 0;
  }
  // A valid scenario's resolved form is itself valid and resolves to the same text.
  try {
    if (lepsim::parse_scenario(resolved, "resolved.toml").resolved_toml() != resolved)
      finding("resolved TOML does not resolve to itself", resolved);
  } catch (const lepsim::ScenarioError& e) {
    finding("resolved TOML of a valid scenario is invalid", std::string(e.what()) + "\n--- resolved:\n" + resolved);
  }
  return 0;
}
