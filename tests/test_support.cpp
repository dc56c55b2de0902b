#include "test_support.hpp"

#include <map>
#include <system_error>

#include <unistd.h>

namespace lepsim::test {
namespace {

//! The folders made by this process, removed when it exits.
struct Scratch {
  std::map<std::string, std::filesystem::path> dirs;
  ~Scratch() {
    std::error_code ec;
    for (const auto& [name, dir] : dirs) std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

std::filesystem::path scratch_dir(const std::string& name) {
  static Scratch scratch;
  auto it = scratch.dirs.find(name);
  if (it == scratch.dirs.end()) {
    const auto dir = std::filesystem::temp_directory_path() / ("lepsim-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    it = scratch.dirs.emplace(name, dir).first;
  }
  return it->second;
}

}  // namespace lepsim::test
