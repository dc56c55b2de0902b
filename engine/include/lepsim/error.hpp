#pragma once
// One error channel: typed exceptions thrown by the library, caught once in
// main and mapped to the exit codes documented in README.md.

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepsim {

//! Exit codes of the `lepsim` executable (README.md, "Exit codes").
enum class ExitCode : int {
  OK = 0,
  INTERNAL = 1,          //!< a bug: an invariant failed
  USAGE = 2,             //!< bad command line
  INVALID_SCENARIO = 3,  //!< the scenario file is unreadable or breaks a rule
  OUTPUT = 4,            //!< the run file could not be written
  RUN_FILE = 5,          //!< a run file could not be read (missing, corrupt, wrong format)
  RESOURCES = 6,         //!< the run would need more memory than the machine has available
  UNREACHABLE = 7,       //!< `lepsim size`: no plan within the bounds reaches the target
  NOT_CERTIFIED = 8,     //!< `lepsim size`: a plan was found but fresh streams did not certify it
  INTERRUPTED = 130,     //!< SIGINT/SIGTERM during a run
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& m) : Error(ExitCode::USAGE, m) {}
};

class OutputError : public Error {
 public:
  explicit OutputError(const std::string& m) : Error(ExitCode::OUTPUT, m) {}
};

class RunFileError : public Error {
 public:
  explicit RunFileError(const std::string& m) : Error(ExitCode::RUN_FILE, m) {}
};

class ResourceError : public Error {
 public:
  explicit ResourceError(const std::string& m) : Error(ExitCode::RESOURCES, m) {}
};

class InterruptedError : public Error {
 public:
  explicit InterruptedError(const std::string& m) : Error(ExitCode::INTERRUPTED, m) {}
};

//! Set by the `lepsim` executable's SIGINT/SIGTERM handler. Work that writes files checks
//! it (a run before every replication, an export or report before every write) and stops
//! by throwing InterruptedError, so the stack unwinds and every temporary is removed.
std::atomic<bool>& interrupt_flag() noexcept;

//! Throws InterruptedError("interrupted; " + what) once interrupt_flag() is set.
void throw_if_interrupted(const std::string& what);

//! One broken rule in a scenario file, located as precisely as the parser can.
struct Diagnostic {
  std::string file;
  int line = 0;       //!< 1-based; 0 when the rule concerns the file as a whole
  std::string key;    //!< dotted path, e.g. "stages.procurement.work.mode"
  std::string value;  //!< the offending value as written, or "" when absent
  std::string rule;   //!< what must hold, e.g. "must be > 0"

  //! `file:line: key = value: rule`, the form of every scenario message.
  std::string format() const;
};

//! All the problems found in one pass over a scenario.
class ScenarioError : public Error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace lepsim
