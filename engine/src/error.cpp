#include "lepsim/error.hpp"

namespace lepsim {

std::string Diagnostic::format() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) {
    out += key;
    if (!value.empty()) out += " = " + value;
    out += ": ";
  }
  out += rule;
  return out;
}

namespace {
std::string join_diagnostics(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) {
    if (!out.empty()) out += "\n";
    out += "error: " + d.format();
  }
  return out;
}
}  // namespace

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : Error(ExitCode::INVALID_SCENARIO, join_diagnostics(diagnostics)),
      diagnostics_(std::move(diagnostics)) {}

}  // namespace lepsim
