// Prototype (docs/cluster.md, "One writer or parallel HDF5"): U units of K doubles each, in
// static contiguous shares per rank (collective writes need every rank in every write call, so
// no dynamic hand-out), written with parallel HDF5 (Debian's libhdf5-openmpi) collective
// MPI-IO writes to one [U, K] dataset, in rounds of at most ROWS rows per rank (bounded memory,
// as the writer's window). Prints the wall time and the write rate. Links only the parallel
// HDF5 (never with lepsim's serial one); HDF5 calls here directly since this is a prototype
// outside the engine.
//
//   mpirun -n 4 lepsim_mpi_write_collective UNITS K FILE.h5 [ROWS]

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 4) {
    if (rank == 0) std::cerr << "usage: lepsim_mpi_write_collective UNITS K FILE.h5 [ROWS]\n";
    MPI_Finalize();
    return 2;
  }
  const hsize_t units = std::stoull(argv[1]), k = std::stoull(argv[2]);
  const hsize_t round_rows = argc > 4 ? std::stoull(argv[4]) : 64;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = std::chrono::steady_clock::now();

  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  hid_t file = H5Fcreate(argv[3], H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  hsize_t dims[2] = {units, k};
  hid_t space = H5Screate_simple(2, dims, nullptr);
  hid_t dset = H5Dcreate2(file, "values", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t xfer = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE);

  // This rank's share: units [first, first + count), balanced as lepsim::shard_units does.
  const hsize_t base = units / size, extra = units % size, r = static_cast<hsize_t>(rank);
  const hsize_t first = r * base + std::min(r, extra), count = base + (r < extra ? 1 : 0);
  const hsize_t rounds = (base + (extra ? 1 : 0) + round_rows - 1) / round_rows;  // the same on every rank
  std::vector<double> buffer(round_rows * k);
  for (hsize_t round = 0; round < rounds; ++round) {
    const hsize_t row0 = std::min(round * round_rows, count);
    const hsize_t n = std::min(round_rows, count - row0);
    for (hsize_t i = 0; i < n; ++i)
      for (hsize_t j = 0; j < k; ++j)
        buffer[i * k + j] = static_cast<double>(first + row0 + i) + static_cast<double>(j) * 1e-6;
    hsize_t start[2] = {first + row0, 0}, block[2] = {n, k};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, block, nullptr);
    hid_t mem = H5Screate_simple(2, block, nullptr);
    if (n == 0) {  // a rank out of rows still takes part in the collective call
      H5Sselect_none(space);
      H5Sselect_none(mem);
    }
    H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem, space, xfer, buffer.data());
    H5Sclose(mem);
  }
  H5Pclose(xfer);
  H5Dclose(dset);
  H5Sclose(space);
  H5Fclose(file);
  H5Pclose(fapl);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = static_cast<double>(units * k * sizeof(double)) / 1e6;
    std::cout << "collective ranks " << size << " units " << units << " k " << k << " MB " << mb << " seconds " << s
              << " MB/s " << mb / s << "\n";
  }
  MPI_Finalize();
  return 0;
}
