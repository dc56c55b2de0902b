#include "commands.hpp"

#include <csignal>

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

po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts, const char* name,
                                const char* what) {
  po::options_description hidden;
  hidden.add_options()(name, po::value<std::string>(), what);
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add(name, 1);
  return parse_command(args, all, pos);
}

namespace {
extern "C" void on_signal(int) { interrupt_flag().store(true); }
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void add_quick_option(po::options_description& opts) {
  opts.add_options()("quick,q",
                     "check the file's structure only, not every dataset (faster on very large files, "
                     "but corrupted data may then go unnoticed)");
}

std::unique_ptr<analysis::RunReader> open_run(const std::string& path, const po::variables_map& vm) {
  auto run = std::make_unique<analysis::RunReader>(path);
  if (!vm.count("quick")) run->verify();
  return run;
}

}  // namespace lepsim::cli
