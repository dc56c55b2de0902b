// MPI in the `lepsim` executable (docs/cluster.md, "MPI jobs"): a lepsim::mpi::Session when
// the process was started by an MPI launcher, and the experiment's units over the ranks.
// In a build without LEPSIM_MPI every function here says "one process".

#include "mpi_cli.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#ifdef LEPSIM_HAVE_MPI
#include "lepsim/mpi_units.hpp"
#endif

namespace lepsim::cli {

#ifdef LEPSIM_HAVE_MPI

namespace {

std::unique_ptr<mpi::Session>& session() {
  static std::unique_ptr<mpi::Session> s;
  return s;
}

//! Started by mpirun/mpiexec or srun with PMI: OpenMPI, PMIx and MPICH/Hydra set these.
bool under_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

class MpiExecutor final : public UnitExecutor {
 public:
  MpiExecutor(const mpi::Session& s, const std::atomic<bool>* cancel) : session_(s), cancel_(cancel) {}
  bool writer() const override { return session_.rank() == 0; }
  std::vector<std::uint64_t> share(std::vector<std::uint64_t> units) override {
    return mpi::broadcast(session_, std::move(units));
  }
  void run_bytes(std::uint64_t count, const std::function<std::vector<std::byte>(std::uint64_t)>& compute,
                 const std::function<void(std::uint64_t, std::span<const std::byte>)>& write) override {
    mpi::DistributeOptions o;
    o.cancel = cancel_;
    mpi::distribute_units(session_, {0, count}, compute, write, o);
  }

 private:
  const mpi::Session& session_;
  const std::atomic<bool>* cancel_;
};

}  // namespace

void start_mpi(int* argc, char*** argv) {
  if (under_mpi_launcher()) session() = std::make_unique<mpi::Session>(argc, argv);
}

int mpi_rank() { return session() ? session()->rank() : 0; }
int mpi_size() { return session() ? session()->size() : 1; }

std::unique_ptr<UnitExecutor> mpi_executor(const std::atomic<bool>* cancel) {
  if (!session() || session()->size() == 1) return nullptr;  // one rank: the threads path, same bits
  return std::make_unique<MpiExecutor>(*session(), cancel);
}

int mpi_end(int code, bool coordinated) {
  if (code != 0 && !coordinated && session() && session()->size() > 1) {
    // Another rank waits a moment, so that rank 0's report of the same failure (the ranks read
    // the same files) is printed before MPI_Abort ends the job.
    if (session()->rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    session()->abort(static_cast<ExitCode>(code));
  }
  session().reset();  // MPI_Finalize
  return code;
}

bool is_coordinated_failure(const std::exception& e) { return dynamic_cast<const mpi::JobFailed*>(&e) != nullptr; }

#else

void start_mpi(int*, char***) {}
int mpi_rank() { return 0; }
int mpi_size() { return 1; }
std::unique_ptr<UnitExecutor> mpi_executor(const std::atomic<bool>*) { return nullptr; }
int mpi_end(int code, bool) { return code; }
bool is_coordinated_failure(const std::exception&) { return false; }

#endif

}  // namespace lepsim::cli
