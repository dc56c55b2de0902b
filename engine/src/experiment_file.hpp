#pragma once
// The HDF5 experiment file (docs/experiment-file-format.md), written point by point:
// memory is one point's rows whatever the number of points. Created under
// `<final>.tmp-<pid>`, renamed by finish(); the destructor removes an unfinished one.

#include <cstdint>
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

}  // namespace lepsim::detail
