#pragma once
// The `lepsim` commands, one function each: main.cpp dispatches to them.

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace lepsim::cli {

namespace po = boost::program_options;

//! Parses one command's arguments; a malformed command line throws UsageError (exit 2).
po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const po::positional_options_description& pos);

// Commands that read run files (analysis_commands.cpp).
int cmd_summary(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);

}  // namespace lepsim::cli
