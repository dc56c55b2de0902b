#pragma once
// MPI in the `lepsim` executable (mpi_cli.cpp): stubs for one process without LEPSIM_MPI.

#include <atomic>
#include <exception>
#include <memory>

#include "lepsim/experiment.hpp"

namespace lepsim::cli {

//! Starts MPI (MPI_Init_thread) when an MPI launcher started this process; first thing in main.
void start_mpi(int* argc, char*** argv);
int mpi_rank();  //!< 0 without MPI
int mpi_size();  //!< 1 without MPI
//! The experiment's units over the ranks (lepsim::mpi::distribute_units); nullptr for one process.
std::unique_ptr<UnitExecutor> mpi_executor(const std::atomic<bool>* cancel);
//! Ends MPI with `code`. A failure the ranks did not agree on (`coordinated` false) ends the
//! whole job with MPI_Abort(code), since the other ranks would wait for this one forever.
int mpi_end(int code, bool coordinated);
//! A failure every rank throws (lepsim::mpi::JobFailed).
bool is_coordinated_failure(const std::exception& e);

}  // namespace lepsim::cli
