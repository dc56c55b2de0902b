#pragma once
// The `lepsim` commands as one table: name, one-line help, long help, options, handler.
// main.cpp looks a command up, parses its options and calls its handler; the top-level
// help is written from the table. Handlers call the libraries and print what
// lepsim::analysis formats.

#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "lepsim/analysis/format.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::cli {

namespace po = boost::program_options;

struct Command {
  const char* name;                           //!< "run"
  const char* synopsis;                       //!< "run SCENARIO.toml [options]"
  const char* summary;                        //!< one line for `lepsim --help`
  const char* help;                           //!< the command's --help text, before its options
  const char* operand;                        //!< the positional operand's name ("scenario", "run-files")
  int max_operands;                           //!< how many operands it takes (-1: any)
  void (*options)(po::options_description&);  //!< adds the command's options (--help is added for all)
  int (*handler)(const po::variables_map&);   //!< operands under `operand`, as std::vector<std::string>
};

//! Every command, in the order `lepsim --help` lists them.
const std::vector<Command>& commands();

//! Parses one command's arguments; a malformed command line throws UsageError (exit 2).
po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const po::positional_options_description& pos);

//! Runs `command` with `args`: parses (UsageError on a bad line), prints --help, or calls the handler.
int run_command(const Command& command, const std::vector<std::string>& args);

//! The operands given (empty when none).
std::vector<std::string> operands(const po::variables_map& vm, const Command& command);

//! SIGINT and SIGTERM set lepsim::interrupt_flag() instead of killing the process, for
//! commands that write files: they stop at their next check and remove their temporaries.
void install_signal_handlers();

//! Adds --quick, shared by every command that reads run files.
void add_quick_option(po::options_description& opts);

//! Opens a run file and, unless --quick was given, reads every dataset back and checks
//! it (RunReader::verify) before anything is answered: a corrupted chunk or summary is
//! reported (exit 5), never summarised. Costs ≈0.4 s per 1,000 bsf replications.
std::unique_ptr<analysis::RunReader> open_run(const std::string& path, const po::variables_map& vm);

// The table's entries, by source file.
extern const Command RUN, VALIDATE, INFO;               // commands.cpp
extern const Command SUMMARY, REPORT, COMPARE, EXPORT;  // analysis_commands.cpp
extern const Command SIZE;                              // size_command.cpp
extern const Command EXPERIMENT;                        // experiment_command.cpp
extern const Command SENSITIVITY;                       // sensitivity_command.cpp
extern const Command CALIBRATE;                         // calibrate_command.cpp

extern const Command MERGE;                             // merge_command.cpp (shards of an experiment)
//! `lepsim validate` of an experiment file: located errors, every problem listed.
int validate_experiment_file(const std::string& path);
//! Whether a TOML file is an experiment file (it has an [experiment] table).
bool is_experiment_file(const std::string& path);

//! `summary` of an experiment file: its stored /sensitivity as `format` (text: the ranked
//! tables after a blank line; json), or "" when the file holds none.
std::string stored_sensitivity(const std::string& path, analysis::Format format);
//! `report` of an experiment file: the page with the sensitivity charts inserted before
//! </body> when the file holds /sensitivity, unchanged otherwise.
std::string with_sensitivity(std::string html, const std::string& path);

}  // namespace lepsim::cli
