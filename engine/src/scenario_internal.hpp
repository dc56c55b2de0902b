#pragma once
// Shared by the parser, validate(), the registry and the resolved writer; not public API.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lepsim/parameters.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim::detail {

//! Resolved-TOML text of values (engine/src/scenario_resolved.cpp).
std::string toml_distribution(const Distribution& d);
std::string toml_stage_names(const std::vector<int>& idx, const Scenario& s);
std::string toml_named(const char* const* names, const double* values, int n);
std::string toml_disciplines(const std::vector<double>& fte, const std::vector<std::string>& names);

//! The `key = value` lines of a table, from the registry's specs of its direct keys, in
//! registry order (engine/src/parameters.cpp). `enabled` is left out.
std::string table_body(const Scenario& s, std::string_view table_pattern, const ParamIndex& idx);
//! The same keys as an inline table, `{ a = 1.0, b = 2.0 }`.
std::string inline_table(const Scenario& s, std::string_view table_pattern, const ParamIndex& idx);

//! A partnership mechanism's top-level table: the one list of them that the parser, validate()
//! and the resolved writer iterate (in this order the writer writes them). Adding a mechanism
//! adds one entry in engine/src/parameters.cpp (docs/extending.md, "Adding a mechanism").
struct MechanismTable {
  const char* name;                 //!< the table, also the `Mechanisms` member's name
  bool& (*enabled)(Mechanisms& m);  //!< its `enabled` flag
  void (*reset)(Mechanisms& m);     //!< restores the mechanism's defaults
  bool needs_lep;                   //!< acts on formed LEPs, so needs `[lep]` when on
  bool on(const Mechanisms& m) const { return enabled(const_cast<Mechanisms&>(m)); }  // only read
};
const std::vector<MechanismTable>& mechanism_tables();

//! Fields derived from others: the number of steps, the authorities expanded from groups.
void refresh_derived(Scenario& s);
//! ceil(horizon / step), at least 1 (a sliver of a step is a step); may exceed int.
double steps_of(double horizon_months, double step_months);

//! A broken rule found by validate(). `keys` are the places it may be reported at, best
//! first (a parser reports it at the first one its file has, else at the nearest table
//! above the first); `earliest` reports it at whichever of `keys` comes first in the file.
struct Problem {
  std::vector<std::string> keys;
  std::string value;
  std::string rule;  //!< may hold "{names}": `names` (one per key) joined with ", ", in the order reported
  bool earliest = false;
  std::string report_key;          //!< the key named in the message when it is none of `keys`
  std::vector<std::string> names;  //!< parallel to keys
};

//! The rule with "{names}" filled in from `names` in the order given.
std::string fill_names(const std::string& rule, const std::vector<std::string>& names);

struct ValidateContext {
  //! Whether a mechanism's table is given (present but maybe off); null: when it is on.
  std::function<bool(const std::string&)> table_given;
  //! Rules that span sections are judged only once each section is valid on its own.
  bool cross_checks = true;
};

std::vector<Problem> find_problems(const Scenario& s, const ValidateContext& ctx);

//! Every instance of `spec` in `s`, as its wildcard values.
void expand(const Scenario& s, const ParamSpec& spec, const std::function<void(const ParamIndex&)>& f);
//! An instance's path by name ("authorities.wave1.team.design") or, `by_index`, as messages
//! give it ("authorities[1].team.design").
std::string path_of(const Scenario& s, const ParamSpec& spec, const ParamIndex& idx, bool by_index);

//! Closest of `choices` within edit distance 2, as " (did you mean 'x'?)", or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& choices);

}  // namespace lepsim::detail
