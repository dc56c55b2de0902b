#pragma once
// Text, CSV and JSON renderings of what the commands print: the figures of a run
// (`summary`), a comparison (`compare`), a run file's description (`info`) and the lines
// after a run. The command line only chooses one and prints it (docs/analysis.md).

#include <string>
#include <vector>

#include "lepsim/analysis/compare.hpp"
#include "lepsim/analysis/figures.hpp"
#include "lepsim/analysis/run_reader.hpp"

namespace lepsim::analysis {

enum class Format { Text, Csv, Json };
//! "text", "csv" or "json"; anything else throws std::invalid_argument.
Format format_named(const std::string& name);

//! x with `digits` decimals; never "-0.0" (a value that rounds to zero has no sign);
//! `sign`: a leading "+" for positive values (differences). NaN: "n/a".
std::string fixed_text(double x, int digits, bool sign = false);
//! Decimals for a unit: probabilities and 0-1 values 3, everything else 1.
int digits_for(const std::string& unit);
//! A value in its unit for people; months beyond the horizon read "after horizon".
std::string value_text(double x, const std::string& unit, bool sign = false);
//! "[lo, hi]", "" when both are NaN; unbounded ends read "-inf" / "+inf".
std::string interval_text(const Estimate& e, const std::string& unit, bool sign = false);

std::string json_number(double x);  //!< null when not finite; 0 never "-0"
std::string json_string(const std::string& s);
std::string csv_number(double x);  //!< "" for NaN

//! "95%".
std::string level_text(double level);

std::string summary_text(const RunMetadata& m, const std::vector<Figure>& figs, double level);
std::string summary_csv(const std::vector<Figure>& figs, double level);
std::string summary_json(const RunMetadata& m, const std::vector<Figure>& figs, double level);
std::string render_summary(Format f, const RunMetadata& m, const std::vector<Figure>& figs, double level);

//! One block per run after the first, at most 100 columns wide (docs/analysis.md).
std::string comparison_text(const Comparison& c);
std::string comparison_csv(const Comparison& c);
std::string comparison_json(const Comparison& c);
std::string render_comparison(Format f, const Comparison& c);

//! The headline lines shared by `lepsim run` and `lepsim info`.
std::string headline_text(const Headline& h, double horizon_months);
//! `lepsim info`: metadata and headline lines.
std::string info_text(const RunMetadata& m, const Headline& h, bool quick);

//! "1 month", "3 months"; "0.5 months".
std::string count_text(double n, const char* one, const char* many);

}  // namespace lepsim::analysis
