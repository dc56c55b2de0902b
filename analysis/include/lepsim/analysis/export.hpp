#pragma once
// `lepsim export`: a run's series, per-replication and per-LEP outcomes as CSV files for
// spreadsheets (docs/analysis.md, "Exporting to CSV").

#include <string>
#include <vector>

#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

//! The dictionary of every column written: file, column, unit, description.
inline constexpr const char* DATA_DICTIONARY = "data-dictionary.csv";

struct ExportOptions {
  bool force = false;  //!< overwrite existing files
  //! Outputs to write (registry names of series and LEP outputs, or the groups
  //! replications, series, summary, leps, projects); empty: all. Unknown names are refused.
  std::vector<std::string> outputs;
};

//! Writes DIR/replications.csv, DIR/series/NAME.csv, DIR/summary/NAME.csv, DIR/leps.csv
//! (when /leps is present), DIR/projects.csv (when /projects is present) and
//! DIR/data-dictionary.csv. Column names are plain snake_case; units and meanings are in
//! the dictionary; time is `step` and `month_end` (docs/analysis.md, "Exporting to CSV").
//! Existing files are not overwritten unless `force`; the export is staged and moved into
//! place whole. Returns the files written. Throws OutputError, RunFileError, UsageError.
std::vector<std::string> export_csv(const RunReader& run, const std::string& dir, const ExportOptions& options);
inline std::vector<std::string> export_csv(const RunReader& run, const std::string& dir, bool force) {
  return export_csv(run, dir, ExportOptions{force, {}});
}

//! "Stage 2: design" -> "stage_2_design": a column name from a component's name.
std::string snake_case(const std::string& s);

//! One CSV cell (RFC 4180): quoted when it holds a comma, quote or newline.
std::string csv_cell(const std::string& s);

}  // namespace lepsim::analysis
