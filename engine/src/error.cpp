#include "lepsim/error.hpp"

namespace lepsim {

std::atomic<bool>& interrupt_flag() noexcept {
  static std::atomic<bool> flag{false};
  static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler sets this flag");
  return flag;
}

void throw_if_interrupted(const std::string& what) {
  if (interrupt_flag().load(std::memory_order_relaxed)) throw InterruptedError("interrupted; " + what);
}

std::string Diagnostic::format() const {
  // append() rather than operator+: GCC 12 warns falsely (-Wrestrict) on the latter here.
  std::string out = file;
  if (line > 0) out.append(":").append(std::to_string(line));
  out.append(": ");
  if (!key.empty()) {
    out.append(key);
    if (!value.empty()) out.append(" = ").append(value);
    out.append(": ");
  }
  out.append(rule);
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
