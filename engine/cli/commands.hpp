#pragma once
// The `lepsim` commands, one function each: main.cpp dispatches to them.

#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::cli {

namespace po = boost::program_options;

//! Parses one command's arguments; a malformed command line throws UsageError (exit 2).
po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const po::positional_options_description& pos);

//! SIGINT and SIGTERM set lepsim::interrupt_flag() instead of killing the process, for
//! commands that write files: they stop at their next check and remove their temporaries.
void install_signal_handlers();

//! Adds --quick, shared by every command that reads run files.
void add_quick_option(po::options_description& opts);

//! Opens a run file and, unless --quick was given, reads every dataset back and checks
//! it (RunReader::verify) before anything is answered: a corrupted chunk or summary is
//! reported (exit 5), never summarised. Costs ≈0.4 s per 1,000 bsf replications.
std::unique_ptr<analysis::RunReader> open_run(const std::string& path, const po::variables_map& vm);

// Commands that read run files (analysis_commands.cpp).
int cmd_summary(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);

// Experiments (experiment_command.cpp).
int cmd_experiment(const std::vector<std::string>& args);
//! `lepsim validate` of an experiment file: located errors, every problem listed.
int validate_experiment_file(const std::string& path);
//! Whether a TOML file is an experiment file (it has an [experiment] table).
bool is_experiment_file(const std::string& path);

// Sensitivity (sensitivity_command.cpp).
int cmd_sensitivity(const std::vector<std::string>& args);
//! `summary` of an experiment file: its stored /sensitivity as `format` (text: the ranked
//! tables after a blank line; json), or "" when the file holds none.
std::string stored_sensitivity(const std::string& path, const std::string& format);
//! `report` of an experiment file: the page with the sensitivity charts inserted before
//! </body> when the file holds /sensitivity, unchanged otherwise.
std::string with_sensitivity(std::string html, const std::string& path);

}  // namespace lepsim::cli
