#include "commands.hpp"

#include "lepsim/error.hpp"

namespace lepsim::cli {

po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

}  // namespace lepsim::cli
