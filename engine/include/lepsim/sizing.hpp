#pragma once
// `lepsim size`: the cheapest capacity plan (FTE by discipline and phase) for one
// authority group such that P(the chosen projects all finish by a target month) >= P.
// The search runs under common random numbers; a refinement phase on a selection
// stream (fresh seed S1) moves to cheaper one-step-smaller plans that it shows reach
// the target; the answer and its neighbours' shortfall are then certified on a third,
// independent stream (S2) with one-sided Clopper-Pearson bounds. Method, cost rule and limits:
// docs/sizing.md. Uses only the public Scenario and run API: a plan is a modified
// copy of the scenario (the group's team and capacity plan), simulated as any other.

#include <cstdint>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {

//! No plan within the bounds reaches the target (exit code 7, ExitCode::UNREACHABLE).
class UnreachableError : public Error {
 public:
  explicit UnreachableError(const std::string& m) : Error(ExitCode::UNREACHABLE, m) {}
};

//! How the plan is divided in time (docs/sizing.md, "Phases").
enum class SizingPhases {
  AUTO,    //!< LEP when the scenario has [capacity] and [lep], else SINGLE
  SINGLE,  //!< one team for the whole programme (capacity plan cleared)
  LEP,     //!< a team before the LEP forms (the group's `team`) and one after (plan step month 0, after_lep)
};

struct SizingOptions {
  double by_month = 0;           //!< target month from the programme start, in (0, horizon]
  double probability = 0.8;      //!< target P(all chosen projects finish by by_month)
  std::string projects = "all";  //!< all | authority:NAME | type:NAME
  std::string group;             //!< authority group sized; "" = the scenario's only group
  SizingPhases phases = SizingPhases::AUTO;
  double step = 1.0;                     //!< FTE step of the search (e.g. 1 or 0.5)
  std::vector<double> min_fte, max_fte;  //!< per discipline; empty = 0 and the default maximum
  int search_replications = 500;         //!< common random numbers of the search
  int certify_replications = 2000;  //!< first size of every fresh-stream evaluation (selection, certificate, neighbours)
  int max_certify_replications = 16000;  //!< cap of the adaptive doubling of undecided plans
  std::uint64_t search_seed = 0;         //!< 0 = the scenario's seed
  std::uint64_t selection_seed = 0;      //!< S1, the refinement's streams; 0 = derived from the search seed
  std::uint64_t certify_seed = 0;        //!< S2, the certificate's streams; 0 = derived (never equal to the others)
  double confidence = 0.95;              //!< one-sided level of the bounds
  int max_evaluations = 400;             //!< search budget (plans simulated); the trace says if it was hit
  int threads = 0;                       //!< 0 = every core
};

//! One plan simulated on one set of streams.
struct PlanEvaluation {
  std::vector<double> fte;  //!< [phase * D + discipline] FTE
  std::uint64_t seed = 0;
  int replications = 0, successes = 0;
  double probability = 0, lower = 0, upper = 1;  //!< estimate and one-sided Clopper-Pearson bounds
  double fte_months = 0;                         //!< mean planned FTE-months of the group up to by_month
  double cost = 0;                               //!< fte_months x cost per FTE-month, GBP m
  std::vector<double> phase_months;              //!< mean months of each phase up to by_month, per authority of the group
};

struct SizingNeighbour {
  int phase = 0, discipline = 0;
  bool at_bound = false;      //!< no smaller value within the bounds
  bool shown_short = false;   //!< certificate streams: upper bound < target
  bool shown_enough = false;  //!< certificate streams: lower bound >= target (the answer is then not the cheapest)
  PlanEvaluation eval;        //!< when !at_bound, on the certificate streams after the adaptive doubling
  bool undecided() const { return !at_bound && !shown_short && !shown_enough; }
};

struct SizingTraceRow {
  int index = 0;
  std::string purpose;  //!< "search", "select", "certify" or "neighbour"
  PlanEvaluation eval;
  bool feasible = false;  //!< search rows: lower bound >= target
};

struct SizingResult {
  std::vector<std::string> phase_names;
  std::vector<std::string> disciplines;
  std::string group;
  double by_month = 0, probability = 0, confidence = 0, step = 0, cost_per_fte_month = 0;
  std::string projects;
  PlanEvaluation search;     //!< the search's plan on the search streams
  PlanEvaluation selection;  //!< the chosen plan on the selection streams S1
  double selection_target =
      0;                       //!< what S1's lower bound must reach: the target plus the certificate's half-width at the cap
  PlanEvaluation certificate;  //!< the chosen plan on the certificate streams S2
  bool certified = false;      //!< certificate.lower >= probability
  int refinement_moves = 0;    //!< one-step-smaller moves the refinement made on S1
  std::vector<SizingNeighbour> neighbours;
  std::vector<SizingTraceRow> trace;
  int evaluations = 0;  //!< distinct plans simulated by the search
  bool budget_hit = false;
  std::int64_t replications_used = 0;  //!< all replications simulated: search, selection and certificate
  double seconds = 0;
};

//! One-sided Clopper-Pearson bounds at `confidence` for k successes in n trials:
//! lower = Beta^-1(1 - c; k, n - k + 1) (0 when k = 0), upper = Beta^-1(c; k + 1, n - k) (1 when k = n).
double clopper_pearson_lower(int k, int n, double confidence);
double clopper_pearson_upper(int k, int n, double confidence);

//! The scenario with the group's capacity set to `fte` ([phase * D + k]) in the given phases.
Scenario apply_capacity_plan(const Scenario& scenario, int group, SizingPhases phases, const std::vector<double>& fte);

//! Resolves AUTO against the scenario.
SizingPhases resolve_phases(const Scenario& scenario, SizingPhases phases);

//! Index of the group `options.group` names (or the only group); UsageError otherwise.
int sizing_group(const Scenario& scenario, const std::string& name);

//! Evaluates one plan: `replications` replications from `seed`.
PlanEvaluation evaluate_plan(const Scenario& scenario, const SizingOptions& options, const std::vector<double>& fte,
                             std::uint64_t seed, int replications);

//! Adds replications [e.replications, replications) of e's plan on e's seed (the same
//! streams as evaluating `replications` from the start), updating the counts and bounds.
void extend_evaluation(const Scenario& scenario, const SizingOptions& options, PlanEvaluation& e, int replications);

//! Runs the search, the refinement and the certificate. Throws UnreachableError when even the upper
//! bounds do not reach the target on the search streams, UsageError for bad options.
SizingResult size_capacity(const Scenario& scenario, const SizingOptions& options);

//! PLAN.toml: `base = base_path`, `replace = ["authorities"]` and the sized scenario's
//! [[authorities]] (all groups, the whole array), with a comment block giving the answer.
std::string plan_toml(const Scenario& sized, const std::string& base_path, const std::string& comment);

}  // namespace lepsim
