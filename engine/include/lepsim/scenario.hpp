#pragma once
// The scenario: what is simulated. Parsed from TOML, validated in one pass,
// resolved (defaults filled, groups expanded) and then never changed. The
// engine receives it as `const Scenario&`; there are no mutable globals.
// The file format is documented in docs/scenario-format.md.

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "lepsim/distribution.hpp"
#include "lepsim/error.hpp"

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
  // Lever cost (accounting only; docs/model.md, "Lever costs"):
  double cost_per_token_month = 0;  //!< GBP m per token per month, for tokens above funded_capacity
  int funded_capacity = 0;          //!< tokens already paid for elsewhere (not costed)
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
  double cost_per_authority = 0;     //!< lever cost, GBP m per authority, once at the start (docs/model.md)
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

// ---------------------------------------------------------------------------
// Partnership mechanisms (docs/model.md, sections 11-18). Each is switched on by
// its own table in the scenario; absent, it is off and the engine reproduces the
// core numbers bit for bit.

inline constexpr int VISION_ACTIVITIES = 10;  //!< PN3's ten shared-vision activities
inline constexpr int PRACTICES = 4;            //!< PN6/PN3 partnering practices
inline constexpr const char* PRACTICE_NAMES[PRACTICES] = {"vision_review", "strategic_review", "partnering_protocols",
                                                          "external_facilitation"};

//! How an authority sets up its partnership (PN1, PN2, PN3, PN4, PN5, PN6), per group.
//! Each quality is a distribution on [0, 1] drawn per authority and replication; each
//! yes/no practice is the probability that an authority of the group has it.
struct AuthoritySetup {
  Distribution planning_quality = Distribution::fixed(0.5);  //!< PN1, 0..1
  //! PN3: how many of the ten shared-vision activities are carried out, 0..10 (V = count / 10).
  //! Given in the file as a list of activity numbers, as answers to PN3's ten
  //! self-assessment questions, or as a distribution of the number done.
  Distribution vision_count = Distribution::fixed(5.0);
  double shadow_board = 0.5;        //!< PN4, probability
  double independent_chair = 0.5;   //!< PN4, probability
  double transition_team = 0.5;     //!< PN5, probability
  double co_location = 0.5;         //!< PN5, probability
  Distribution leadership = Distribution::fixed(0.5);  //!< PN2, 0..1
  double practices[PRACTICES] = {0.5, 0.5, 0.5, 0.5};  //!< PN6/PN3, probability of each
  double transformation_targets = 0.5;                 //!< PN2, probability targets sit in contracts
};

//! PN1/PN3/PN4/PN5: set-up quality shapes early stage durations and starting health.
struct SetupMechanism {
  bool enabled = false;
  std::vector<int> strategy_stages;      //!< work x (1 + planning_effect x (0.5 - P))
  std::vector<int> procurement_stages;   //!< work x (1 + vision_effect x (0.5 - V))
  std::vector<int> mobilisation_stages;  //!< work x (1 + mobilisation_effect x (0.5 - M))
  double planning_effect = 0.8;
  double vision_effect = 0.5;
  double mobilisation_effect = 0.6;
};

//! PN6: partnering health, a mean-reverting process on the logit scale per LEP.
struct PartneringMechanism {
  bool enabled = false;
  double long_run = 0.55;                 //!< long-run health with no practices, 0..1
  double practice_level[PRACTICES] = {0.3, 0.3, 0.3, 0.2};  //!< logit added to the long-run level per practice
  double recovery = 0.06;                 //!< per month: mean-reversion rate kappa with no practices
  double practice_recovery = 0.03;        //!< per month added to kappa per practice
  double volatility = 0.12;               //!< logit per sqrt(month)
  double start_level = 0.5;               //!< starting health with average set-up, 0..1
  double start_vision = 1.0;              //!< logit per unit of (V - 0.5)
  double start_governance = 0.6;          //!< logit per unit of (G - 0.5)
  double start_mobilisation = 0.6;        //!< logit per unit of (M - 0.5)
  double delay_shock = 0.6;               //!< logit drop per unit of relative delay at a stage's end
  double overrun_shock = 0.8;             //!< logit drop per unit of relative cost overrun at a handover
  double ontime_boost = 0.1;              //!< logit rise per project handed over on time
  double productivity = 0.3;              //!< progress x (1 + productivity x (H - 0.5))
  //! Practices every LEP must run whatever its authority's set-up (bit i = PRACTICE_NAMES[i]):
  //! a national policy lever. The authority's own draw is still made, so other streams keep their numbers.
  std::uint8_t mandated = 0;
  double practice_cost_per_lep_year = 0;  //!< lever cost, GBP m per mandated practice per LEP-year (docs/model.md)
};

//! Disputes stall all of a LEP's work for a drawn number of months.
struct DisputeMechanism {
  bool enabled = false;
  double base_rate = 0.01;                //!< per LEP per month at H = 0.5
  double health_sensitivity = 4.0;        //!< hazard x exp(-s x (H - 0.5))
  Distribution months = Distribution::fixed(3.0);  //!< stall length
};

//! PN7: team sizes flex towards a plan, with hiring lag and attrition; capacity is costed.
struct CapacityMechanism {
  bool enabled = false;
  double hiring_lag_months = 4.0;         //!< from the decision to hire to the start
  double attrition = 0.01;                //!< fraction of FTE leaving per month
  double cost_per_fte_month = 0.006;      //!< GBP m
};

//! One step of a group's capacity plan: from `month` (relative to entry, or from the
//! LEP's formation when `after_lep`), the target team.
struct CapacityPlanStep {
  double month = 0.0;
  bool after_lep = false;
  std::vector<double> team;               //!< target FTE per discipline
};

//! Capital costs, overruns, LEP set-up cost.
struct CostMechanism {
  bool enabled = false;
  std::vector<Distribution> capital;      //!< per project type, GBP m (index = type); fixed(0) if not given
  double delay_overrun = 0.5;             //!< cost x (1 + delay_overrun x relative delay of the project)
  double health_overrun = 0.3;            //!< cost x (1 + health_overrun x (0.5 - H))
  Distribution lep_setup = Distribution::fixed(0.0);  //!< GBP m, spent when the LEP forms
  int spend_stage = -1;                   //!< capital is spent evenly over this stage (construction)
};

//! A programme-wide annual envelope for capital committed at the start of funded stages.
struct FundingMechanism {
  bool enabled = false;
  double annual_envelope = 0.0;           //!< GBP m per programme year
  std::vector<int> stages;                //!< stages that commit their project's capital before starting
};

//! Construction market: national workload raises prices and durations.
struct MarketMechanism {
  bool enabled = false;
  std::vector<int> stages;                //!< stages counted as workload and affected
  double reference_workload = 300.0;      //!< stage instances in progress nationally at which effects begin
  double price_elasticity = 0.3;
  double duration_elasticity = 0.2;
  double max_factor = 1.5;                //!< cap on either multiplier
};

//! PN2: each completed school earns a transformation score.
struct TransformationMechanism {
  bool enabled = false;
  double base = 1.0;
  double leadership_weight = 0.5;         //!< score x (1 + w x (L - 0.5))
  double vision_weight = 0.3;             //!< score x (1 + w x (V - 0.5))
  double health_weight = 0.3;             //!< score x (1 + w x (H - 0.5))
  double target_bonus = 0.25;             //!< score x (1 + bonus) with targets in contracts
  double target_slowdown = 0.03;          //!< their stages' work x (1 + slowdown)
  std::vector<int> slowed_stages;         //!< stages slowed by contract targets
};

//! PN9: annual balanced scorecard and the withdrawal of exclusivity.
struct ExclusivityMechanism {
  bool enabled = false;
  double weight_cost = 0.25, weight_quality = 0.25, weight_time = 0.25, weight_volume = 0.25;
  double threshold = 0.5;                 //!< scorecard below this counts as a failing year
  int years = 2;                          //!< consecutive failing years before the authority may act
  double act_probability = 0.5;           //!< chance the authority withdraws, each year the rule holds
  Distribution single_procurement = Distribution::fixed(6.0);  //!< months added per project after withdrawal
  double single_cost_premium = 0.1;       //!< capital x (1 + premium) after withdrawal
};

//! [milestones]: the programme's state per step as the record counts it (docs/model.md,
//! section 21): authorities by first-procurement phase, schools by phase, preferred bidders.
struct MilestonesOutput {
  bool enabled = false;
  std::vector<int> construction_stages;  //!< a school is "in construction" from the first of these starting
  double partner_selected = 0.7;         //!< preferred bidder: this fraction of the LEP stage's work done
};

struct Mechanisms {
  //! [lep] formed_at: the stage whose first completion in an authority forms its LEP
  //! (financial close). Partnering health, exclusivity, the set-up cost and capacity
  //! plans `after_lep` start there. -1 when no mechanism needs it.
  int lep_stage = -1;
  //! [lep] non-LEP route (docs/model.md, section 21): an authority whose group's
  //! `non_lep` draw comes up closes its first procurement as a conventional/PFI deal and
  //! forms no LEP; each of its later schools is procured on its own: this many months on
  //! its first stage and capital x (1 + premium).
  Distribution non_lep_procurement = Distribution::fixed(0.0);
  double non_lep_cost_premium = 0.0;
  double non_lep_procurement_factor = 1.0;  //!< the non-LEP deal's LEP-stage work x this
  MilestonesOutput milestones;
  SetupMechanism setup;
  PartneringMechanism partnering;
  DisputeMechanism disputes;
  CapacityMechanism capacity;
  CostMechanism costs;
  FundingMechanism funding;
  MarketMechanism market;
  TransformationMechanism transformation;
  ExclusivityMechanism exclusivity;
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
  //! First phase (docs/model.md, section 21): `first_phase_schools` schools in all (the
  //! first projects among them), the rest of type `first_phase_type`, arriving at entry
  //! and held until the authority's financial close. -1: no first phase (old behaviour).
  int first_phase_type = -1;
  Distribution first_phase_schools = Distribution::fixed(0.0);
  double non_lep = 0.0;                    //!< probability an authority closes without a LEP
  std::vector<double> team;                //!< FTE per discipline (at entry)
  AuthoritySetup setup;                    //!< [authorities.setup]
  std::vector<CapacityPlanStep> capacity_plan;  //!< [[authorities.capacity_plan]], in time order
};

//! Second-order Monte Carlo (docs/calibration.md, "Runs that carry the whole uncertainty";
//! docs/scenario-format.md, "[uncertainty]"): what each replication's parameter vector is
//! drawn from. Off: every replication runs the scenario as written (first-order).
enum class UncertaintyDraw { OFF, INPUTS, POSTERIOR };

//! One uncertain input: a parameter path and its distribution. `scale`: the drawn value
//! multiplies the parameter (a number or a whole distribution), else it replaces it.
struct UncertainInput {
  std::string path;
  bool scale = false;
  Distribution distribution;
  //! The value the scenario already holds at `path` from a fitted file (its `value`, applied
  //! on load); a drawn scale is then applied relative to it (drawn / point). NaN: none.
  double point = std::numeric_limits<double>::quiet_NaN();
  std::string source;  //!< where it was declared, "file:line", for messages
};

struct Uncertainty {
  UncertaintyDraw draw = UncertaintyDraw::OFF;
  std::string posterior;          //!< posterior file (format: docs/calibration.md), as resolved from the scenario's folder
  int replications_per_draw = 1;  //!< M replications share one drawn vector
  std::vector<UncertainInput> inputs;  //!< a fitted file's inputs first, then [[uncertainty.input]]
  //! Rank (Spearman) correlation over `inputs`, row-major d x d; empty: independent inputs.
  std::vector<double> rank_correlation;
  std::string fitted;  //!< `[scenario] fitted` as written (its values are inlined: not in the resolved text)
  bool declared() const { return draw != UncertaintyDraw::OFF || !inputs.empty() || !posterior.empty(); }
};

struct Scenario {
  std::string name;
  std::string description;
  //! `[scenario] plan`: the programme's stated plan, [month from start, cumulative projects
  //! completed] points, months strictly increasing in (0, horizon], counts non-decreasing;
  //! empty when the scenario states none. Drawn against the runs, never simulated.
  std::vector<std::array<double, 2>> plan;
  std::string source_path;   //!< the file as given on the command line
  std::string source_text;   //!< verbatim, stored in the run file
  //! The files named by `base` (path as resolved, verbatim text), deepest first.
  std::vector<std::pair<std::string, std::string>> base_files;
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
  Mechanisms mechanisms;
  Uncertainty uncertainty;  //!< [uncertainty]: second-order Monte Carlo (off by default)

  //! Authorities are the groups expanded: authority i belongs to group authority_group[i].
  std::vector<int> authority_group;
  std::vector<std::string> authority_names;

  int authority_count() const { return static_cast<int>(authority_group.size()); }
  //! What the policy levers cost, GBP m (docs/model.md, "Lever costs"): once at the start
  //! (per-authority stage costs), per month (pool tokens above the funded capacity) and
  //! per LEP-month from each LEP's formation (mandated practices).
  struct LeverCostRates {
    double once = 0, per_month = 0, per_lep_month = 0;
  };
  LeverCostRates lever_cost_rates() const;
  //! Canonical TOML of the fully resolved scenario (what the engine actually ran).
  std::string resolved_toml() const;
};

//! Reads, validates and resolves a scenario file. Throws ScenarioError listing
//! every problem found, each located by file, line, key, value and rule.
Scenario load_scenario(const std::string& path);
//! Same, from text already in memory; `path` is used in messages.
Scenario parse_scenario(const std::string& text, const std::string& path);
//! The scenario before its calibration: `[scenario] fitted` is not applied and
//! `[uncertainty]` is not read (no input is drawn). What `lepsim calibrate` starts from, so a
//! scale factor multiplies the unfitted value and a default that draws its fitted inputs
//! can be calibrated again (docs/calibration.md, "Recalibrating the default").
Scenario parse_unfitted_scenario(const std::string& text, const std::string& path);

//! Every rule and cross-check of docs/scenario-format.md, judged on the scenario itself
//! however it was made (a file, code, the path API of lepsim/parameters.hpp). Each
//! problem names its key (`authorities[0].team.design`), value and rule; file and line are
//! empty (the parser adds them for files). Empty when the scenario is valid. Near-linear in
//! the scenario's size.
std::vector<Diagnostic> validate(const Scenario& s);
//! Throws ScenarioError with validate()'s problems, if any.
void check_valid(const Scenario& s);

}  // namespace lepsim
