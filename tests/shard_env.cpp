// Prints this process's share of --units U as `--shard` would read it ("slurm" by default, or
// the K/N given): "K/N FIRST COUNT". tests/slurm_array.sh runs it inside real Slurm array tasks,
// so shard_from_slurm is checked against the variables Slurm actually sets.
#include <cstdlib>
#include <iostream>
#include <string>

#include "lepsim/error.hpp"
#include "lepsim/shard.hpp"

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw lepsim::UsageError("usage: lepsim_shard_env UNITS [K/N|slurm]");
    const std::uint64_t units = std::stoull(argv[1]);
    const lepsim::Shard s = lepsim::parse_shard(argc > 2 ? argv[2] : "slurm", [](const char* n) { return std::getenv(n); });
    const lepsim::UnitRange r = lepsim::shard_units(units, s);
    std::cout << lepsim::format_shard(s) << " " << r.first << " " << r.count << "\n";
    return 0;
  } catch (const lepsim::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
