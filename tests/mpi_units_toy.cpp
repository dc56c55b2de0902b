// A toy job for lepsim::mpi::distribute_units (tests/mpi_units.sh, docs/cluster.md): unit u's
// result is 8 + u % 3 doubles, a pure function of u computed on TBB threads after a busy wait
// of (1 + u % 4) * --work-us microseconds (uneven on purpose, so units finish out of order).
// Rank 0 writes every result, in unit order, to --output (under a temporary name, renamed once
// complete) and prints the distribution's figures on stderr. Exit codes as lepsim's (README).
//
//   mpirun -n 4 lepsim_mpi_toy --units 100 --output toy.bin
//   --fail-unit U      the unit's compute throws (a job failure coordinated by rank 0)
//   --fail-write U     rank 0's write of the unit throws
//   --pid-dir DIR      each rank writes DIR/rank-R.pid once it has computed a unit
//   --window N --depth D --rank0-idle --poll-us P --threads T --work-us W --first F (units F..F+units-1)

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include "lepsim/error.hpp"
#include "lepsim/mpi_units.hpp"

namespace {

struct Options {
  std::uint64_t first = 0, units = 100;
  std::int64_t work_us = 0, fail_unit = -1, fail_write = -1;
  int threads = 2, poll_us = 50;
  std::uint64_t window = 0;
  int depth = 2;
  bool rank0_idle = false;
  std::string output, pid_dir;
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<std::byte> compute_unit(const Options& o, std::uint64_t unit) {
  if (static_cast<std::int64_t>(unit) == o.fail_unit)
    throw lepsim::OutputError("toy: unit " + std::to_string(unit) + " fails on purpose");
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::microseconds(o.work_us * static_cast<std::int64_t>(1 + unit % 4));
  while (std::chrono::steady_clock::now() < until) lepsim::throw_if_interrupted("toy unit " + std::to_string(unit));
  std::vector<double> values(8 + unit % 3);
  tbb::parallel_for(std::size_t{0}, values.size(),
                    [&](std::size_t j) { values[j] = static_cast<double>(splitmix(unit * 1000 + j) >> 11) * 0x1.0p-53; });
  std::vector<std::byte> out(values.size() * sizeof(double));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw lepsim::UsageError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--units")
      o.units = std::stoull(value());
    else if (a == "--first")
      o.first = std::stoull(value());
    else if (a == "--work-us")
      o.work_us = std::stoll(value());
    else if (a == "--fail-unit")
      o.fail_unit = std::stoll(value());
    else if (a == "--fail-write")
      o.fail_write = std::stoll(value());
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--poll-us")
      o.poll_us = std::stoi(value());
    else if (a == "--window")
      o.window = std::stoull(value());
    else if (a == "--depth")
      o.depth = std::stoi(value());
    else if (a == "--rank0-idle")
      o.rank0_idle = true;
    else if (a == "--output")
      o.output = value();
    else if (a == "--pid-dir")
      o.pid_dir = value();
    else
      throw lepsim::UsageError("unknown option " + a);
  }
  if (o.output.empty()) throw lepsim::UsageError("--output FILE is required");
  return o;
}

void on_signal(int) { lepsim::interrupt_flag().store(true); }

// Rank 0's output: a temporary beside the final name, renamed only when every unit is in.
class OutputFile {
 public:
  explicit OutputFile(std::string path)
      : path_(std::move(path)), temp_(path_ + ".tmp-" + std::to_string(getpid())), out_(temp_, std::ios::binary) {
    if (!out_) throw lepsim::OutputError("cannot write " + temp_);
  }
  ~OutputFile() {
    if (!committed_) std::filesystem::remove(temp_);
  }
  void write(std::span<const std::byte> bytes) {
    out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  void commit() {
    out_.close();
    if (!out_) throw lepsim::OutputError("cannot write " + temp_);
    std::filesystem::rename(temp_, path_);
    committed_ = true;
  }

 private:
  std::string path_, temp_;
  std::ofstream out_;
  bool committed_ = false;
};

int run(const lepsim::mpi::Session& session, const Options& o) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(o.threads));
  bool pid_written = false;
  auto compute = [&](std::uint64_t unit) {
    auto result = compute_unit(o, unit);
    if (!o.pid_dir.empty() && !pid_written) {
      std::ofstream(o.pid_dir + "/rank-" + std::to_string(session.rank()) + ".pid") << getpid() << "\n";
      pid_written = true;
    }
    return result;
  };
  lepsim::mpi::DistributeOptions d;
  d.window = o.window;
  d.depth = o.depth;
  d.rank0_computes = !o.rank0_idle;
  d.poll_us = o.poll_us;
  d.cancel = &lepsim::interrupt_flag();
  std::optional<OutputFile> file;
  if (session.rank() == 0) file.emplace(o.output);
  const auto stats = lepsim::mpi::distribute_units(
      session, {o.first, o.units}, compute,
      [&](std::uint64_t unit, std::span<const std::byte> r) {
        if (static_cast<std::int64_t>(unit) == o.fail_write)
          throw lepsim::OutputError("toy: writing unit " + std::to_string(unit) + " fails on purpose");
        file->write(r);
      },
      d);
  if (session.rank() != 0) return 0;
  file->commit();
  std::cerr << "units " << o.units << " ranks " << session.size() << " seconds " << stats.seconds << " units/s "
            << (stats.seconds > 0 ? static_cast<double>(o.units) / stats.seconds : 0) << " max_buffered "
            << stats.max_buffered << " per_rank";
  for (auto n : stats.computed_per_rank) std::cerr << " " << n;
  std::cerr << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  lepsim::mpi::Session session(&argc, &argv);
  try {
    return run(session, parse(argc, argv));
  } catch (const lepsim::mpi::JobFailed& e) {
    // Every rank knows: end normally with the failure's code.
    std::cerr << "error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const lepsim::Error& e) {
    // Anything else (an interrupt, a failure outside distribute_units) leaves the other ranks
    // out of step: take the whole job down with this code.
    std::cerr << "error: rank " << session.rank() << ": " << e.what() << "\n";
    if (session.size() > 1) session.abort(e.code());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "error: rank " << session.rank() << ": " << e.what() << "\n";
    if (session.size() > 1) session.abort(lepsim::ExitCode::INTERNAL);
    return 1;
  }
}
