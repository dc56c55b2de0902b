// Prototype (docs/cluster.md, "One writer or parallel HDF5"): U units of K doubles each,
// handed out by lepsim::mpi::distribute_units and written by rank 0 alone, in unit order, to a
// [U, K] HDF5 dataset through lepsim's serial HDF5 layer (appended, chunks of 64 rows, no
// compression). Prints rank 0's wall time and the write rate. Compare bench/mpi/write_collective.cpp.
//
//   mpirun -n 4 lepsim_mpi_write_writer UNITS K FILE.h5

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "lepsim/h5.hpp"
#include "lepsim/mpi_units.hpp"

int main(int argc, char** argv) {
  lepsim::mpi::Session session(&argc, &argv);
  if (argc != 4) {
    std::cerr << "usage: lepsim_mpi_write_writer UNITS K FILE.h5\n";
    return 2;
  }
  const std::uint64_t units = std::stoull(argv[1]), k = std::stoull(argv[2]);
  const auto t0 = std::chrono::steady_clock::now();
  lepsim::h5::File file;
  lepsim::h5::Appendable<double> rows;
  if (session.rank() == 0) {
    file = lepsim::h5::File::create(argv[3]);
    rows = file.root().create_appendable<double>("values", {k}, 64, lepsim::h5::Filters{});
  }
  auto compute = [&](std::uint64_t unit) {
    std::vector<double> v(k);
    for (std::uint64_t j = 0; j < k; ++j) v[j] = static_cast<double>(unit) + static_cast<double>(j) * 1e-6;
    std::vector<std::byte> out(k * sizeof(double));
    std::memcpy(out.data(), v.data(), out.size());
    return out;
  };
  auto write = [&](std::uint64_t, std::span<const std::byte> r) {
    rows.append(std::span<const double>(reinterpret_cast<const double*>(r.data()), r.size() / sizeof(double)));
  };
  lepsim::mpi::distribute_units(session, {0, units}, compute, write);
  if (session.rank() == 0) {
    rows.close();
    file = lepsim::h5::File();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = static_cast<double>(units * k * sizeof(double)) / 1e6;
    std::cout << "writer ranks " << session.size() << " units " << units << " k " << k << " MB " << mb << " seconds " << s
              << " MB/s " << mb / s << "\n";
  }
  return 0;
}
