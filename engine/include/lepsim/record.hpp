#pragma once
// The observed record: milestones of what actually happened (month, output metric, value,
// observation error, source, audited or secondary), read strictly from a TOML file
// (docs/calibration.md, "The record format"). Calibration fits the milestones marked
// `use = "fit"` and holds the others out for validation.

#include <optional>
#include <string>
#include <vector>

#include "lepsim/error.hpp"

namespace lepsim {

//! Audited figures (NAO, PAC, Hansard) or secondary ones (trade press): the latter get
//! their standard deviation widened by the record's `secondary_sd_factor`.
enum class Evidence { Audited, Secondary };
//! Fitted by calibration, or held out to test the fit out of sample.
enum class MilestoneUse { Fit, Validate };

//! Whether the model's outputs can give a record metric today.
enum class RecordMetricStatus { Available, Proposed };

//! A base metric name a milestone may use: the one list of allowed names. Available names
//! are the output registry's per-replication metrics (lepsim/outputs.hpp, metric_registry());
//! Proposed ones are outputs the record needs that the model does not write yet.
struct RecordMetric {
  const char* name;
  RecordMetricStatus status;
  const char* meaning;
  const char* needs;  //!< for Proposed: the output that would give it
};
const std::vector<RecordMetric>& record_metrics();
const RecordMetric* find_record_metric(const std::string& base);

struct Milestone {
  std::string id;                //!< unique in the record, e.g. "schools_open_2008_12"
  std::string metric;            //!< full metric name with its month, e.g. "completed_cumulative@45"
  std::string base;              //!< the metric's base name, e.g. "completed_cumulative"
  double month = 0;              //!< months from the scenario's start (the end of the step it names)
  double value = 0;              //!< the recorded figure
  double sd = 0;                 //!< observation sd as written (from `sd`, or a range's width / 4)
  std::optional<double> lo, hi;  //!< the range, when one was given
  Evidence evidence = Evidence::Audited;
  MilestoneUse use = MilestoneUse::Fit;
  std::string source;
  std::string note;
  int line = 0;  //!< where the milestone is declared

  //! The sd calibration uses: sd, times `secondary_sd_factor` for secondary evidence.
  double effective_sd(double secondary_sd_factor) const {
    return evidence == Evidence::Secondary ? sd * secondary_sd_factor : sd;
  }
};

struct ObservedRecord {
  std::string name;
  std::string description;
  std::string source_path;
  int start_year = 0, start_month = 0;  //!< the origin of months (the scenario's [time] start)
  double secondary_sd_factor = 2.0;
  std::vector<Milestone> milestones;

  //! Milestones whose metric the model writes today (RecordMetricStatus::Available).
  std::vector<const Milestone*> expressible(MilestoneUse use) const;
};

//! The origin of months when the record is read with a scenario (its [time] start).
struct MonthOrigin {
  int year = 0;
  int month = 0;  //!< 1..12
};

//! Months from `origin` to the END of the calendar month "YYYY-MM" (so "2005-04" from an
//! April 2005 start is 1); nullopt when `text` is not a valid year-month.
std::optional<double> months_to_end_of(const std::string& text, const MonthOrigin& origin);

//! Reads and checks a record; every problem is listed in one ScenarioError (exit 3), each
//! located by file, line, key, value and rule. `origin` (the scenario's start) must agree
//! with the record's own `start` when both are given; one of them is needed for dates.
ObservedRecord load_record(const std::string& path, std::optional<MonthOrigin> origin = std::nullopt);
ObservedRecord parse_record(const std::string& text, const std::string& path,
                            std::optional<MonthOrigin> origin = std::nullopt);

}  // namespace lepsim
