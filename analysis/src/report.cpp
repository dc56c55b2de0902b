#include "lepsim/analysis/report.hpp"

#include "lepsim/error.hpp"

namespace lepsim::analysis {

// Placeholder until the report lands (being written now).
std::string render_report(const RunReader&, const ReportOptions&) { throw Error(ExitCode::INTERNAL, "report: not built yet"); }
void write_report(const RunReader& run, const ReportOptions& o) { render_report(run, o); }

}  // namespace lepsim::analysis
