#pragma once
// `lepsim report`: one self-contained HTML file (inline SVG, no network) of a run.

#include <string>
#include <vector>

#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

struct ReportOptions {
  std::string output_path;  //!< the HTML file; written under a temporary name, renamed when whole
  FigureOptions figures;    //!< confidence level and targets of the headline table
};

//! The report's HTML text (every chart inline SVG; no scripts, fonts or images fetched).
std::string render_report(const RunReader& run, const ReportOptions& options);

//! render_report written to options.output_path atomically; throws OutputError.
void write_report(const RunReader& run, const ReportOptions& options);

//! The comparison page of several runs, the first as the reference [A]
//! (docs/analysis.md, "Comparison report"): the variants with intervals and
//! cost-effectiveness, the differences from [A], overlaid fan charts and S-curves with the
//! target and P80 months, distributions of the paired differences, spend against the envelope.
std::string render_comparison_report(const std::vector<const RunReader*>& runs, const ReportOptions& options);
void write_comparison_report(const std::vector<const RunReader*>& runs, const ReportOptions& options);

}  // namespace lepsim::analysis
