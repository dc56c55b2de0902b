// The `lepsim` executable: finds the command in the table (commands.hpp), runs it, and
// maps errors to the exit codes documented in README.md. Nothing else.

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lepsim/error.hpp"
#include "lepsim/version.hpp"
#include "mpi_cli.hpp"

using namespace lepsim;

namespace {

//! A message to stderr in one write: under mpirun another process's output (the MPI_Abort
//! banner) can otherwise land between its pieces.
void say(const std::string& message) {
  std::cerr.write(message.data(), static_cast<std::streamsize>(message.size()));
  std::cerr.flush();
}

std::string main_help() {
  std::string out = "lepsim - Monte Carlo simulation of programmes delivered through local partnerships\n\nUsage:\n";
  auto line = [&](const std::string& left, const std::string& right) {
    out += "  lepsim " + left + std::string(left.size() < 42 ? 42 - left.size() : 1, ' ') + right + "\n";
  };
  for (const cli::Command& c : cli::commands()) line(c.synopsis, c.summary);
  line("COMMAND --help", "options and examples of one command");
  line("--version", "engine version and git revision");
  out += R"(
Examples:
  lepsim validate scenarios/bsf.toml
  lepsim run scenarios/example.toml -o example.h5
  lepsim run scenarios/bsf.toml --replications 2000 --seed 7 --threads 2 -o bsf.h5
  lepsim info bsf.h5

Exit codes: 0 ok, 1 internal error, 2 bad command line, 3 invalid scenario,
4 output could not be written, 5 run file unreadable, 6 not enough memory
for the run, 7 size: no plan within the bounds reaches the target (calibrate: the
record cannot be matched), 8 size: plan not certified, 9 calibrate --check: the fitted
file is stale, 130 interrupted.
Documentation: README.md, docs/scenario-format.md, docs/model.md, docs/run-file-format.md,
docs/analysis.md.
)";
  return out;
}

std::string command_names() {
  std::string out;
  for (const cli::Command& c : cli::commands()) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

//! Runs the command; `coordinated` false when the failure was this process's alone (MPI).
int dispatch(int argc, char** argv, bool& coordinated) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool quiet = cli::mpi_rank() != 0;  // other ranks report only what rank 0 cannot know
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::cout << main_help();
      return args.empty() ? static_cast<int>(ExitCode::USAGE) : 0;
    }
    if (args[0] == "--version" || args[0] == "-V") {
      std::cout << "lepsim " << engine_version() << " (git " << git_revision() << ")\n";
      return 0;
    }
    const std::string name = args[0];
    args.erase(args.begin());
    for (const cli::Command& c : cli::commands())
      if (name == c.name) {
        // Under mpirun with several ranks only `experiment` and `run` share their work; any
        // other command would run once per rank, every rank writing the same file.
        if (cli::mpi_size() > 1 && name != "experiment" && name != "run")
          throw UsageError("lepsim " + name + " does not run over MPI ranks (" + std::to_string(cli::mpi_size()) +
                           " here): run it as one process; `lepsim experiment` and `lepsim run` run over ranks "
                           "(docs/cluster.md)");
        return cli::run_command(c, args);
      }
    throw UsageError("unknown command '" + name + "'; commands: " + command_names() + " (see lepsim --help)");
  } catch (const ScenarioError& e) {
    coordinated = false;
    if (quiet) return static_cast<int>(e.code());  // every rank read the same files
    say(std::string(e.what()) + "\n" + std::to_string(e.diagnostics().size()) + " problem" +
        (e.diagnostics().size() == 1 ? "" : "s") + " found; nothing was run.\n");
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    coordinated = cli::is_coordinated_failure(e);
    if (!quiet || !coordinated)
      say((quiet ? "rank " + std::to_string(cli::mpi_rank()) + ": " : std::string()) + "error: " + e.what() + "\n");
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    coordinated = false;
    say(std::string("internal error: ") + e.what() + "\n");
    return static_cast<int>(ExitCode::INTERNAL);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write should fail with EFBIG and be reported
  // like a full disk (exit 4, temporary removed), not kill the process mid-file.
  signal(SIGXFSZ, SIG_IGN);
  // Under mpirun (MPI build only): MPI before anything else; a failure of one rank alone ends the job.
  try {
    cli::start_mpi(&argc, &argv);
  } catch (const std::exception& e) {
    say(std::string("error: ") + e.what() + "\n");
    return static_cast<int>(ExitCode::INTERNAL);
  }
  bool coordinated = true;
  const int code = dispatch(argc, argv, coordinated);
  return cli::mpi_end(code, coordinated);
}
