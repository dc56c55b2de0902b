#pragma once
// The HDF5 experiment file (docs/experiment-file-format.md), written point by point:
// memory is one point's rows whatever the number of points. Created under
// `<final>.tmp-<pid>`, renamed by finish(); the destructor removes an unfinished one.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lepsim/experiment.hpp"

namespace lepsim::detail {

class ExperimentFileWriter {
 public:
  ExperimentFileWriter(const std::string& final_path, const Experiment& ex, const std::vector<DesignPoint>& points,
                       bool force);
  ~ExperimentFileWriter();
  ExperimentFileWriter(const ExperimentFileWriter&) = delete;
  ExperimentFileWriter& operator=(const ExperimentFileWriter&) = delete;

  //! The next point's rows, [replications][metrics + series x steps] (metrics first).
  void append_point(const std::vector<double>& rows);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

//! FNV-1a 64 of `text`.
std::uint64_t fnv1a(std::string_view text);
//! 16 lower-case hex digits (the digests and fingerprints of shard files).
std::string hex(std::uint64_t v);
//! A scenario as its results see it: FNV-1a of its text, the files it inherits and its
//! resolved form (shard files' scenario digests).
std::uint64_t scenario_digest(const Scenario& sc);
//! Everything an experiment's unit results depend on (engine version, texts, seed, streams,
//! replications, metrics, series, the design): equal fingerprints, equal results.
std::uint64_t experiment_fingerprint(const Experiment& ex, const std::vector<DesignPoint>& pts);

//! What a shard file holds besides its rows (experiment_shard.cpp).
struct ShardSpec {
  Shard shard;
  UnitRange range;
  std::uint64_t units = 0;
  int block = 0;
  std::size_t row_values = 0;  //!< metrics + series x steps per replication
  std::uint64_t fingerprint = 0;
};
//! Writes a shard file under a temporary name and renames it: the rows of units
//! range.first .. range.end()-1 in unit order, read through `read_unit(unit, rows, values)`.
void write_experiment_shard(const std::string& path, const Experiment& ex, const ShardSpec& spec,
                            const std::function<std::uint32_t(std::size_t)>& unit_count,
                            const std::function<void(std::size_t, double*, std::size_t)>& read_unit, bool force);

}  // namespace lepsim::detail
