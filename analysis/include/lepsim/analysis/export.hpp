#pragma once
// `lepsim export`: a run's series, per-replication and per-LEP outcomes as CSV files for
// spreadsheets (docs/analysis.md, "Exporting to CSV").

#include <string>
#include <vector>

#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

//! Writes DIR/replications.csv, DIR/series/NAME.csv, DIR/summary/NAME.csv, DIR/leps.csv
//! (when /leps is present) and DIR/projects.csv (when /projects is present); each header
//! cell names its unit, "name (unit)". Existing files are not overwritten unless `force`;
//! each file is written under a temporary name and renamed when whole. Returns the files
//! written. Throws OutputError, RunFileError.
std::vector<std::string> export_csv(const RunReader& run, const std::string& dir, bool force);

//! One CSV cell (RFC 4180): quoted when it holds a comma, quote or newline.
std::string csv_cell(const std::string& s);

}  // namespace lepsim::analysis
