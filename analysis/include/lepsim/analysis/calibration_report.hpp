#pragma once
// A posterior file (`lepsim calibrate`, docs/calibration.md "The posterior file") read back:
// the summary printed after a calibration and the diagnostics page (self-contained HTML,
// inline SVG): implausibility by wave, marginal and pairwise posterior plots, and the
// posterior predictive check of every milestone.

#include <string>

namespace lepsim::analysis {

//! Posterior medians and 90% intervals per factor, and the predictive check per milestone.
//! Throws RunFileError when the file is not a posterior file.
std::string calibration_summary_text(const std::string& posterior_path);

//! The diagnostics page.
std::string calibration_report_html(const std::string& posterior_path);

//! Writes the page atomically (OutputError on failure).
void write_calibration_report(const std::string& posterior_path, const std::string& html_path);

}  // namespace lepsim::analysis
