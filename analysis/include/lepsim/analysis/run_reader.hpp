#pragma once
// The validating reader of run files: every command that reads a run file goes
// through it. It reads only what docs/run-file-format.md documents, only through
// lepsim::h5, and refuses anything else with a RunFileError (exit code 5) whose
// message names the file and what is wrong with it.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lepsim/h5.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/run_file.hpp"

namespace lepsim::analysis {

//! The run-file format major this reader understands; it accepts any minor of it
//! (minors only add, docs/run-file-format.md "Versioning").
inline constexpr int READER_FORMAT_MAJOR = 1;

//! One per-replication series: /series/NAME, [R, T] (inner = 0) or [R, T, inner].
struct SeriesInfo {
  std::string name;
  std::uint64_t inner = 0;
};

//! What a run file says about itself: root attributes, dimension names, what it holds.
struct RunMetadata {
  std::string path;                 //!< as given to the reader
  int format_major = 0;
  int format_minor = 0;
  std::string engine_version;
  std::string git_revision;
  std::string created;              //!< UTC, ISO 8601
  std::string scenario_name;
  std::string scenario_source;      //!< the scenario path given to `lepsim run`
  std::uint64_t seed = 0;
  std::int64_t replications = 0;    //!< R
  std::string start;                //!< year-month of step 0
  double step_months = 0;           //!< months per step
  std::int64_t steps = 0;           //!< T
  std::string durations;            //!< "actual" or "planned"
  std::vector<std::string> stages, disciplines, pools, project_types, authorities;
  std::vector<SeriesInfo> series;   //!< every dataset of /series, in name order
  std::vector<std::string> leps;    //!< datasets of /leps ([R, A]), in name order; empty when absent
  //! /scenario/plan (format 1.1): [month from start, cumulative projects] points; empty when
  //! the scenario stated no plan (or the file is format 1.0).
  std::vector<std::array<double, 2>> plan;
  //! Lever-cost rates, GBP m (format 1.2; 0 before): once at the start, per month, per
  //! LEP-month from each LEP's formation (docs/model.md, "Lever costs").
  double lever_cost_once = 0, lever_cost_per_month = 0, lever_cost_per_lep_month = 0;
  //! [funding] annual_envelope, GBP m per programme year (format 1.2; 0: none or unknown).
  double annual_envelope = 0;
  bool per_project = false;         //!< /projects is present
  std::int64_t project_rows = 0;    //!< N, rows of /projects (0 when absent)
};

//! Headline figures across replications (the end-of-run summary and `lepsim info`).
struct Headline {
  double projects_mean = 0;         //!< projects per replication
  double completed_mean = 0;        //!< projects completed within the horizon, per replication
  double finished_fraction = 0;     //!< replications in which every project finished
  double finish_p50_months = -1;    //!< programme finish, months from the start; -1: after the horizon
  double finish_p90_months = -1;
};

class RunReader {
 public:
  //! Opens `path` and checks it is a whole lepsim run file of a format this reader
  //! understands: file type, format version, every required attribute and dataset,
  //! and shapes that agree with each other. Reads no series data. Throws RunFileError.
  explicit RunReader(const std::string& path);

  const RunMetadata& metadata() const noexcept { return meta_; }
  //! The open file, for reading the datasets metadata() lists (read-only).
  const h5::File& file() const noexcept { return file_; }
  //! Throws RunFileError naming the file: for readers built on this one.
  [[noreturn]] void fail(const std::string& problem) const;

  //! Streams /replications a block at a time (memory does not grow with R).
  //! Throws RunFileError if the data cannot be read or breaks the format's rules.
  Headline headline() const;

  //! Reads back every dataset the format documents, a block at a time, and checks
  //! the invariants that tie them together (conservation of projects, cumulative
  //! counts, /projects rows, summaries recomputed from the series): finds corruption
  //! in compressed data and in the summaries. Throws RunFileError.
  void verify() const;

 private:
  void check_structure();

  h5::File file_;
  RunMetadata meta_;
};

//! Calls `f(r, row, n)` for each replication's row of /GROUP/NAME (its n = T x inner values,
//! or the A values of a /leps dataset), in replication order, reading a block of
//! replications at a time so memory stays bounded whatever R. HDF5 converts the stored type
//! to T (int32 or double). Throws h5::Error.
template <typename T>
void for_each_row(const RunReader& run, const std::string& group, const std::string& name,
                  const std::function<void(std::uint64_t, const T*, std::uint64_t)>& f);
extern template void for_each_row<std::int32_t>(const RunReader&, const std::string&, const std::string&,
                                                const std::function<void(std::uint64_t, const std::int32_t*, std::uint64_t)>&);
extern template void for_each_row<double>(const RunReader&, const std::string&, const std::string&,
                                          const std::function<void(std::uint64_t, const double*, std::uint64_t)>&);

//! A per-replication metric (lepsim/outputs.hpp) by name, e.g. "completed_cumulative@60",
//! checked against the run: throws UsageError for an unknown name, one whose outputs the
//! file does not hold (its mechanism was off) or a month after the horizon.
Metric run_metric(const RunReader& run, const std::string& name);
void check_metric(const RunReader& run, const Metric& metric);
//! The metric's value in every replication, in replication order, by the engine's own
//! definition (Metric::value on a ReplicationResult filled from the datasets it needs), a
//! block of replications at a time. Throws RunFileError.
std::vector<double> metric_values(const RunReader& run, const Metric& metric);

}  // namespace lepsim::analysis
