#pragma once
// The HDF5 run file: layout and versions are documented in docs/run-file-format.md
// (a test keeps the two in step). Written under a temporary name in the target
// directory and renamed only when complete, so a file under the final name is
// always whole.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "lepsim/outputs.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {

class UncertaintyPlan;

inline constexpr const char* RUN_FILE_TYPE = "lepsim-run";
inline constexpr int RUN_FORMAT_MAJOR = 1;  //!< readers refuse other majors
inline constexpr int RUN_FORMAT_MINOR = 4;  //!< additions that old readers may ignore

class RunFileWriter {
 public:
  //! Creates `<final_path>.tmp-<pid>` next to the final name. Refuses an existing
  //! final file unless `force`. Throws OutputError.
  RunFileWriter(const std::string& final_path, const Scenario& scenario, std::uint64_t seed,
                int replications, bool force);
  ~RunFileWriter();  // removes the temporary file unless finish() succeeded
  RunFileWriter(const RunFileWriter&) = delete;
  RunFileWriter& operator=(const RunFileWriter&) = delete;

  //! Appends consecutive replications, in replication order; their encoding is shared out
  //! among `threads` threads (the file's bytes are the same whatever the count).
  void append(std::span<const ReplicationResult> chunk, int threads = 1);
  //! Computes the summaries (on `threads` threads; the same bits whatever the count),
  //! closes the file and renames it to the final name.
  void finish(int threads = 1);
  //! A run that stopped by a convergence rule: records the rule, whether it was met and
  //! the relative half-widths reached, and takes the replications appended as the count.
  void set_convergence(const std::string& rule, bool met, const std::vector<std::string>& outputs,
                       const std::vector<double>& relative_half_width);

  //! A second-order run (format 1.4): /uncertainty with each replication's drawn vector
  //! ([replications, d] row-major), its paths and modes, and the draw settings as attributes.
  void set_uncertainty(const UncertaintyPlan& plan, const std::vector<double>& vectors);

  const std::string& final_path() const noexcept;
  const std::string& temp_path() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lepsim
