#pragma once
// The parameter registry: every scenario key declared once (path, type, unit, default,
// allowed range, meaning), and the path API built on it. The one declaration drives the
// parser's known keys (and did-you-mean), the range checks of validate(), every key the
// resolved scenario writes, the key tables of docs/scenario-format.md and the fuzz
// dictionary (tests keep the last two in step). Design: docs/scenario-format.md,
// "The parameter registry"; how to add a key: docs/extending.md, "Adding a parameter".

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lepsim/distribution.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {

//! What a key holds. Addressable kinds (a value the path API reads and sets) come first.
enum class ParamType {
  Number,        //!< a finite double
  Integer,       //!< a whole number
  Boolean,       //!< true / false
  Probability,   //!< a number in [0, 1], or true (1) / false (0)
  Distribution,  //!< a bare number or a distribution table
  Structure,     //!< anything else: a name, a list of names, a table of entries (read by the parser's own code)
};

//! An allowed interval; `hi_is_horizon` makes the upper end `time.horizon_months`.
struct ParamRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  bool hi_is_horizon = false;

  double upper(const Scenario& s) const { return hi_is_horizon ? s.time.horizon_months : hi; }
  bool holds(double x, const Scenario& s) const {
    return (lo_open ? x > lo : x >= lo) && (hi_open ? x < upper(s) : x <= upper(s));
  }
  //! "must be >= 0", "must be between 0 and 1", "must be > 0 and < 1"; `hi` as given for the docs.
  std::string rule(double hi_value) const;
  bool bounded() const {
    return lo > -std::numeric_limits<double>::infinity() || hi < std::numeric_limits<double>::infinity() || hi_is_horizon;
  }
};

//! Wildcard values of a concrete path, in the order of the pattern's wildcards.
using ParamIndex = std::vector<int>;

//! Where a parameter lives in a Scenario (nothing for Structure keys).
using ParamSlot = std::variant<std::monostate, double*, int*, std::uint64_t*, bool*, Distribution*, std::optional<double>*>;

struct ParamSpec {
  //! Pattern: literal segments and wildcards `{stage}`, `{pool}`, `{type}`, `{group}`,
  //! `{discipline}`, `{practice}`, `{tstage}` (a stage the type lists), `[{step}]` (a
  //! capacity-plan step), e.g. "authorities.{group}.capacity_plan[{step}].team.{discipline}".
  std::string path;
  ParamType type = ParamType::Number;
  std::string unit;          //!< "months", "FTE", "" for none
  std::string default_text;  //!< as the docs show it: "0.55", "required", "none"
  ParamRange range;          //!< numbers: the value; distributions: the support
  std::string why;           //!< appended to the range's rule in messages and docs
  std::string meaning;       //!< one line
  std::string rule_text;     //!< docs rule for Structure keys (and extra rules of others)
  std::string type_text;     //!< docs type for Structure keys ("list of stage names")
  bool positive = false;     //!< distributions: must be able to exceed 0
  bool within = false;       //!< distributions: every value within the range (a quality), not just >= 0
  //! The resolved scenario leaves the key out when it has this value: for keys added after
  //! scenarios were run, so that their resolved text (stored in run files) stays the same.
  std::optional<double> omit_when;
  ParamSlot (*slot)(Scenario&, const ParamIndex&) = nullptr;  //!< addressable kinds only
  //! Resolved-TOML text of the value (Structure keys written by the registry-driven tables).
  std::string (*write)(const Scenario&, const ParamIndex&) = nullptr;
  bool addressable() const { return type != ParamType::Structure && slot != nullptr; }
};

//! Every key, in the order the docs list them and the resolved scenario writes them.
const std::vector<ParamSpec>& parameter_registry();

//! The keys allowed directly in a table, e.g. table_keys("stages.{stage}") = work, planned, ...;
//! table_keys("") = the top-level keys.
std::vector<std::string> table_keys(std::string_view table_pattern);

//! A value read or set by path.
using ParamValue = std::variant<double, std::int64_t, bool, Distribution>;

//! Every addressable parameter path of `s`, by name: "partnering.long_run",
//! "stages.procurement.work", "authorities.waves4-6.capacity_plan[1].team.design", ...
std::vector<std::string> parameter_paths(const Scenario& s);

//! The spec behind a path (names or `authorities[i]`; `authorities.*.KEY` is KEY of every
//! group: changes apply to each group, reads give the first group's); throws ScenarioError
//! naming the path when no parameter has it, with the closest path suggested.
const ParamSpec& parameter_spec(const Scenario& s, std::string_view path);

//! The value at `path` (numbers and probabilities as double, integers as int64).
ParamValue get_parameter(const Scenario& s, std::string_view path);

//! A new scenario: `s` with the value at `path` replaced, derived fields refreshed and the
//! whole validated. Throws ScenarioError naming the path for an unknown path, a value of
//! the wrong type, or one that breaks a rule. A stage's work, planned or demand also
//! changes the types that inherit it (docs/scenario-format.md, "The path API").
Scenario with_parameter(const Scenario& s, std::string_view path, const ParamValue& value);

//! `s` with the parameter at `path` multiplied by `factor`: a number, or every value a
//! distribution can take (min, mode, max, mean, sd, values: the distribution of factor x X).
Scenario with_scaled_parameter(const Scenario& s, std::string_view path, double factor);

//! One change of with_parameters: `value` replaces the parameter, or (`scale`) multiplies
//! it (`value` a double: a number, every value of a distribution, a whole number rounded).
struct ParameterChange {
  std::string path;
  bool scale = false;
  ParamValue value;
};
//! `s` with every change made in order, then refreshed and validated once: what a
//! second-order run applies per drawn vector (one copy of the scenario, not one per path).
//! Throws ScenarioError as with_parameter does.
Scenario with_parameters(const Scenario& s, const std::vector<ParameterChange>& changes);

//! The distribution of factor x X, for factor > 0 (factor 0 gives fixed(0)).
Distribution scaled(const Distribution& d, double factor);

//! The markdown key table of docs/scenario-format.md for one table, e.g.
//! parameter_table("partnering") (tests/test_parameters.cpp compares it with the docs).
std::string parameter_table(std::string_view table_pattern);

//! The key names a fuzzer should know (tests compare them with tests/fuzz/scenario.dict).
std::vector<std::string> parameter_key_names();

//! For a mechanism's table ("partnering", "funding", ...), whether the scenario has it on;
//! nullopt when `table` names no mechanism.
std::optional<bool> mechanism_enabled(const Mechanisms& m, std::string_view table);

}  // namespace lepsim
