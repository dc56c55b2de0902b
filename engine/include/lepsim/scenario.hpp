#pragma once
// The scenario: what is simulated. Parsed from TOML, validated in one pass,
// resolved (defaults filled, groups expanded) and then never changed. The
// engine receives it as `const Scenario&`; there are no mutable globals.
// The file format is documented in docs/scenario-format.md.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/distribution.hpp"

namespace lepsim {

inline constexpr int MAX_STAGES_PER_TYPE = 64;      //!< a project's stages fit a 64-bit mask
inline constexpr int MAX_AUTHORITIES = 1 << 15;     //!< random-stream entity layout (docs/random-streams.md)
inline constexpr int MAX_PROJECTS_PER_AUTHORITY = 1 << 16;

//! Which duration figures drive the run (docs/model.md, "Planned and actual durations").
enum class DurationBasis { ACTUAL, PLANNED };

struct TimeGrid {
  int start_year = 2005;
  int start_month = 4;      //!< 1..12, month of step 0
  double step_months = 1.0; //!< months per step
  double horizon_months = 120.0;
  int steps = 120;          //!< horizon_months / step_months, rounded up

  //! First step that starts at or after `month` (months from the start).
  int step_at_or_after(double month) const;
};

struct NationalPool {
  std::string name;
  int capacity = 0;  //!< tokens: stages holding one at a time, programme-wide
};

//! A stage as declared under [stages.NAME]: its gates and default parameters.
struct Stage {
  std::string name;
  Distribution work;                 //!< months at full resourcing
  std::optional<double> planned;     //!< planned duration, months (the plan line)
  std::vector<double> demand;        //!< FTE per discipline while progressing at full rate
  std::vector<int> after;            //!< predecessor stages (indices into Scenario::stages)
  bool after_given = false;          //!< false: follows the stage listed before it in each type
  int national_pool = -1;            //!< index into Scenario::pools, -1 for none
  double earliest_month = 0.0;       //!< may not start before this programme month
  int authority_milestone = -1;      //!< stage that some project of the same authority must have completed
};

//! One stage as a given project type runs it (type overrides applied).
struct TypeStage {
  int stage = 0;                     //!< index into Scenario::stages
  Distribution work;                 //!< months at full resourcing
  std::optional<double> planned;     //!< months
  std::vector<double> demand;        //!< FTE per discipline
  std::uint64_t predecessors = 0;    //!< bit i: local stage i must be complete first
};

struct ProjectType {
  std::string name;
  std::vector<TypeStage> stages;     //!< in the order listed; predecessors point backwards only
};

//! Poisson arrival of projects to an authority (instead of a fixed school count).
struct ArrivalProcess {
  double rate_per_month = 0.0;
  double start_month = 0.0;          //!< relative to the authority's entry
  double end_month = 0.0;            //!< absolute programme month; defaults to the horizon
};

//! A group of authorities declared together ([[authorities]]): a wave, say.
struct AuthorityGroup {
  std::string name;
  int count = 1;
  Distribution entry_month;                //!< programme month the authority enters
  Distribution schools;                    //!< projects per authority (rounded, >= 0)
  std::optional<ArrivalProcess> arrivals;  //!< replaces `schools` when present
  double release_interval_months = 0.0;    //!< project k is released k * interval after entry
  std::vector<double> mix;                 //!< probability of each project type (sums to 1)
  int first_type = -1;                     //!< type of the first `first_count` projects, -1 none
  int first_count = 0;
  std::vector<double> team;                //!< FTE per discipline
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source_path;   //!< the file as given on the command line
  std::string source_text;   //!< verbatim, stored in the run file
  TimeGrid time;
  DurationBasis durations = DurationBasis::ACTUAL;
  int replications = 100;
  std::uint64_t seed = 1;
  bool per_project_output = true;
  int chunk_replications = 0;  //!< replications per output chunk; 0 = chosen by the engine

  std::vector<std::string> disciplines;
  std::vector<NationalPool> pools;
  std::vector<Stage> stages;
  std::vector<ProjectType> types;
  std::vector<AuthorityGroup> groups;

  //! Authorities are the groups expanded: authority i belongs to group authority_group[i].
  std::vector<int> authority_group;
  std::vector<std::string> authority_names;

  int authority_count() const { return static_cast<int>(authority_group.size()); }
  //! Canonical TOML of the fully resolved scenario (what the engine actually ran).
  std::string resolved_toml() const;
};

//! Reads, validates and resolves a scenario file. Throws ScenarioError listing
//! every problem found, each located by file, line, key, value and rule.
Scenario load_scenario(const std::string& path);
//! Same, from text already in memory; `path` is used in messages.
Scenario parse_scenario(const std::string& text, const std::string& path);

}  // namespace lepsim
