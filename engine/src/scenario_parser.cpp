// Scenario files: TOML -> validated, resolved, immutable Scenario.
// One pass collects every problem; nothing is half-accepted. The format is
// documented in docs/scenario-format.md; keep the two in step.

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "lepsim/copula.hpp"
#include "lepsim/error.hpp"
#include "lepsim/parameters.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/text.hpp"
#include "lepsim/uncertainty.hpp"
#include "scenario_internal.hpp"
#include "toml_value.hpp"

namespace lepsim {
namespace {

using TValue = detail::TomlValue;
using TTable = TValue::table_type;

using detail::did_you_mean;

std::string value_text(const TValue& v) {
  switch (v.type()) {
    case toml::value_t::string: return quoted_string(v.as_string().str);
    case toml::value_t::table: return "{...}";
    case toml::value_t::array: return "[...]";
    case toml::value_t::floating: return toml_float(v.as_floating());  // 0.3, not 0.29999999999999999; 2.0 stays a float
    default: {
      std::ostringstream os;
      os << toml::format(v);
      std::string s = os.str();
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
      return s;
    }
  }
}

std::string type_name(const TValue& v) {
  std::ostringstream os;
  os << v.type();
  return os.str();
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

//! The "NN |" line numbers in a toml11 formatted message, in order (its own
//! location object points at where parsing stopped, not where the problem is).
std::vector<int> lines_in_toml_message(const std::string& what) {
  std::vector<int> out;
  std::istringstream is(what);
  std::string l;
  while (std::getline(is, l)) {
    std::size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    std::size_t j = i;
    while (j < l.size() && std::isdigit(static_cast<unsigned char>(l[j]))) ++j;
    if (j > i && j - i < 9 && l.find(" |", j) == j) out.push_back(std::stoi(l.substr(i, j - i)));
  }
  return out;
}

//! toml11's message as one diagnostic. When toml11 shows two places (a key or
//! table defined twice, an inline table extended later), the second one is the
//! offending line and the first is named in the rule.
Diagnostic toml_diagnostic(const std::string& path, const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));
  const auto tag = first.find("[error] ");
  if (tag != std::string::npos) first = first.substr(tag + 8);
  // Drop the toml11 function name ("toml::parse_key: ", "parse_ml_basic_string: ").
  const auto colon = first.find(": ");
  if (colon != std::string::npos && colon > 0 &&
      std::all_of(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(colon),
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }))
    first = first.substr(colon + 2);
  const std::vector<int> lines = lines_in_toml_message(what);
  std::string rule = "invalid TOML: " + first;
  if (lines.size() >= 2 && lines.front() != lines.back())
    rule += " (conflicts with line " + std::to_string(lines.front()) + ")";
  return {path, lines.empty() ? 0 : lines.back(), "", "", rule};
}

//! Line (1-based) and byte offset of the first byte that is not well-formed
//! UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF); nullopt if
//! the text is valid. TOML files must be UTF-8, and toml11 does not check
//! every context (an invalid byte in a 'literal string' can crash it).
std::optional<std::pair<int, std::size_t>> invalid_utf8(const std::string& text) {
  int line = 1;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) n = 2;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else return std::make_pair(line, i);
    if (i + n >= text.size()) return std::make_pair(line, i);  // truncated sequence
    if (byte(i + 1) < lo || byte(i + 1) > hi) return std::make_pair(line, i);
    for (std::size_t k = 2; k <= n; ++k)
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return std::make_pair(line, i);
    i += n + 1;
  }
  return std::nullopt;
}

//! Line of the first '[' or '{' nested deeper than `limit`, outside strings and
//! comments; 0 if none. toml11 parses nesting recursively and overflows the
//! stack on a few thousand levels; no scenario needs more than three.
int too_deep(const std::string& t, int limit) {
  int line = 1, depth = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') ++line;
    else if (c == '#') {
      while (i + 1 < t.size() && t[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool multi = t.compare(i, 3, std::string(3, c)) == 0;
      const std::string close = multi ? std::string(3, c) : std::string(1, c);
      i += close.size();
      while (i < t.size() && t.compare(i, close.size(), close) != 0) {
        if (t[i] == '\n') {
          if (!multi) break;  // unterminated: toml11 reports it
          ++line;
        }
        if (c == '"' && t[i] == '\\' && i + 1 < t.size() && t[i + 1] != '\n') ++i;  // escaped character
        ++i;
      }
      if (i < t.size() && t[i] == '\n') --i;  // let the loop count the line
      else i += close.size() - 1;
      // (closing quotes beyond the delimiter, as in """a"""", are plain characters here)
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return line;
    } else if (c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    }
  }
  return 0;
}


const std::vector<std::string> TOP_LEVEL_KEYS = table_keys("");

const std::vector<std::string> PRACTICE_LIST(PRACTICE_NAMES, PRACTICE_NAMES + PRACTICES);
const std::vector<std::string> SCORECARD_WEIGHTS = {"cost", "quality", "time", "volume"};

class Parser {
 public:
  Parser(std::string path, bool unfitted = false) : path_(std::move(path)), unfitted_(unfitted) {}

  Scenario parse(const std::string& text);

 private:
  std::string path_;
  bool unfitted_;  //!< parse_unfitted_scenario: no fitted file applied, no input drawn
  std::vector<Diagnostic> diags_;
  const TValue* root_ = nullptr;  //!< problems located at the root concern the whole file: line 0

  //! Files read, each with its rank: the bases named by `base` (deepest first), then this file.
  std::map<std::string, int> file_rank_;

  //! Where a value was written: file, line and column (1-based). toml11's location() counts
  //! the lines from the start of the file on every call; this looks the offset up in a
  //! table of the file's line starts, built once per file, so locating is O(log n).
  struct Place {
    std::string file;
    int line = 0, column = 0;
  };
  mutable std::unordered_map<const std::vector<char>*, std::vector<std::size_t>> newlines_;
  Place place_of(const TValue& v) const {
    const auto* r = dynamic_cast<const toml::detail::region*>(toml::detail::get_region(v));
    if (!r || !r->source()) {
      const auto loc = v.location();
      return {loc.file_name(), static_cast<int>(loc.line()), static_cast<int>(loc.column())};
    }
    const std::vector<char>& src = *r->source();
    auto& nl = newlines_[&src];
    if (nl.empty()) {
      nl.push_back(0);  // (a sentinel: the table is never empty once built)
      for (std::size_t i = 0; i < src.size(); ++i)
        if (src[i] == '\n') nl.push_back(i + 1);  // offsets of line starts after the first
    }
    const auto offset = static_cast<std::size_t>(r->first() - src.cbegin());
    const auto it = std::upper_bound(nl.begin() + 1, nl.end(), offset);  // line starts <= offset, after the first
    const int line = static_cast<int>(it - nl.begin());
    const std::size_t start = line == 1 ? 0 : *(it - 1);
    return {r->name(), line, static_cast<int>(offset - start + 1)};
  }
  int line_of(const TValue& v) const { return &v == root_ ? 0 : place_of(v).line; }
  //! The file a value was written in: with `base`, a value may come from a base file.
  std::string file_of(const TValue& v) const {
    if (&v == root_) return path_;
    std::string f = place_of(v).file;
    return file_rank_.count(f) ? f : path_;
  }
  int rank_of(const TValue& v) const { return file_rank_.count(file_of(v)) ? file_rank_.at(file_of(v)) : 0; }
  void error(const TValue& at, const std::string& key, const std::string& value, const std::string& rule) {
    diags_.push_back({file_of(at), line_of(at), key, value, rule});
  }
  TValue read_toml(const std::string& text, const std::string& path) const;
  TValue with_bases(TValue root, const std::string& path, std::vector<std::string>& chain, Scenario& s);
  void merge_groups(TValue& base, const TValue& over);
  void error_at(const TValue& v, const std::string& key, const std::string& rule) {
    error(v, key, value_text(v), rule);
  }

  const TValue* find(const TValue& table, const std::string& key) const {
    const auto& t = table.as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
  }

  //! Rejects keys not in `allowed`, naming the closest allowed one.
  void check_keys(const TValue& table, const std::string& path, const std::vector<std::string>& allowed) {
    for (const auto& [k, v] : table.as_table()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        // A top-level key written below a header: `disciplines`, or a table-valued top-level key
        // (a plain value named like a mechanism, `capacity = 3`, is just a wrong key here).
        const bool top_level = !path.empty() &&
                               std::find(TOP_LEVEL_KEYS.begin(), TOP_LEVEL_KEYS.end(), k) != TOP_LEVEL_KEYS.end() &&
                               (k == "disciplines" || v.is_table());
        error(v, join_key(path, k), value_text(v),
              top_level ? "unknown key here; '" + k + "' is a top-level key: in TOML every key after a [table] header "
                              "belongs to that table, so move it above the first [header]"
                        : "unknown key" + did_you_mean(k, allowed) + "; allowed here: " + join(allowed));
      }
    }
  }

  static std::string join_key(const std::string& path, const std::string& k) {
    return path.empty() ? k : path + "." + k;
  }

  //! Keys of a table in the order they were written (toml11 keeps them sorted); keys a
  //! file adds to its base's table come after the base's own.
  std::vector<std::string> keys_in_file_order(const TValue& table) const {
    std::vector<std::pair<std::array<int, 3>, std::string>> keyed;
    for (const auto& [k, v] : table.as_table())
      keyed.push_back({{rank_of(v), line_of(v), place_of(v).column}, k});
    std::stable_sort(keyed.begin(), keyed.end());
    std::vector<std::string> out;
    for (auto& kv : keyed) out.push_back(kv.second);
    return out;
  }

  const TValue* table(const TValue& parent, const std::string& key, const std::string& path, bool required) {
    const TValue* v = find(parent, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (required) error(parent, full, "", "required table is missing");
      return nullptr;
    }
    if (!v->is_table()) {
      error_at(*v, full, "must be a table, not " + type_name(*v));
      return nullptr;
    }
    return v;
  }

  std::optional<double> number(const TValue& parent, const std::string& key, const std::string& path,
                               bool required) {
    const TValue* v = find(parent, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (required) error(parent, full, "", "required number is missing");
      return std::nullopt;
    }
    return number_value(*v, full);
  }

  std::optional<double> number_value(const TValue& v, const std::string& full) {
    double x;
    if (v.is_integer()) x = static_cast<double>(v.as_integer());
    else if (v.is_floating()) x = v.as_floating();
    else {
      error_at(v, full, "must be a number, not " + type_name(v));
      return std::nullopt;
    }
    if (!std::isfinite(x)) {
      error_at(v, full, "must be a finite number");
      return std::nullopt;
    }
    return x;
  }

  std::optional<std::int64_t> integer(const TValue& parent, const std::string& key, const std::string& path,
                                      bool required) {
    const TValue* v = find(parent, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (required) error(parent, full, "", "required integer is missing");
      return std::nullopt;
    }
    if (!v->is_integer()) {
      error_at(*v, full, "must be an integer, not " + type_name(*v));
      return std::nullopt;
    }
    return v->as_integer();
  }

  std::optional<std::string> string(const TValue& parent, const std::string& key, const std::string& path,
                                    bool required) {
    const TValue* v = find(parent, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (required) error(parent, full, "", "required string is missing");
      return std::nullopt;
    }
    if (!v->is_string()) {
      // A bare TOML date (start = 2009-04-01) is a date value, not text: say how to write it.
      const bool date = v->is_local_date() || v->is_local_datetime() || v->is_offset_datetime();
      error_at(*v, full, "must be a string, not " + type_name(*v) +
                             (date ? " (write the year and month in quotes, e.g. \"2009-04\")" : ""));
      return std::nullopt;
    }
    return v->as_string().str;
  }

  std::optional<std::vector<std::string>> string_list(const TValue& parent, const std::string& key,
                                                      const std::string& path, bool required) {
    const TValue* v = find(parent, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (required) error(parent, full, "", "required list of strings is missing");
      return std::nullopt;
    }
    if (!v->is_array()) {
      error_at(*v, full, "must be a list of strings, not " + type_name(*v));
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::set<std::string> seen;
    bool ok = true;
    for (std::size_t i = 0; i < v->as_array().size(); ++i) {
      const TValue& e = v->as_array()[i];
      const std::string ek = full + "[" + std::to_string(i) + "]";
      if (!e.is_string()) {
        error_at(e, ek, "must be a string, not " + type_name(e));
        ok = false;
        continue;
      }
      if (!seen.insert(e.as_string().str).second) {
        error_at(e, ek, "duplicate entry");
        ok = false;
      }
      out.push_back(e.as_string().str);
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<Distribution> distribution(const TValue& v, const std::string& full);
  std::vector<double> discipline_table(const TValue& v, const std::string& full, const Scenario& s);

  void parse_meta(const TValue& root, Scenario& s);
  void parse_time(const TValue& root, Scenario& s);
  void parse_plan(const TValue& root, Scenario& s);
  void parse_run(const TValue& root, Scenario& s);
  void parse_disciplines(const TValue& root, Scenario& s);
  void parse_pools(const TValue& root, Scenario& s);
  void parse_stages(const TValue& root, Scenario& s);
  void parse_types(const TValue& root, Scenario& s);
  void parse_authorities(const TValue& root, Scenario& s);

  // Partnership mechanisms (docs/scenario-format.md, "Partnership mechanisms").
  void registry_values(const TValue& t, const std::string& pattern, const std::string& path, const ParamIndex& idx,
                       Scenario& s);
  void probability(const TValue& v, const std::string& full, double& out);
  const std::unordered_map<std::string, int>& stage_index(const Scenario& s);
  std::string unknown_stage(const std::string& name, const Scenario& s) const;
  std::optional<int> stage_ref(const TValue& t, const std::string& key, const std::string& path, bool required,
                               const Scenario& s);
  std::vector<int> stage_refs(const TValue& t, const std::string& key, const std::string& path, bool required,
                              const Scenario& s);
  void named_numbers(const TValue& t, const std::string& key, const std::string& path,
                     const std::vector<std::string>& names, const std::string& what, double* out, bool nonnegative);
  const TValue* mechanism(const TValue& root, const std::string& name, bool& enabled);
  void parse_group_setup(const TValue& v, const std::string& path, std::size_t gi, Scenario& s);
  void parse_capacity_plan(const TValue& v, const std::string& path, std::size_t gi, Scenario& s);
  void parse_mechanisms(const TValue& root, Scenario& s);
  void report(const Scenario& s);
  const TValue* locate(const std::string& key, bool& exact) const;

  // Second-order Monte Carlo: [uncertainty], [[uncertainty.input]] and [scenario] fitted
  // (docs/scenario-format.md, "[uncertainty]"; docs/calibration.md, "Fitted file").
  void parse_uncertainty(const TValue& root, Scenario& s);
  void parse_fitted(const TValue& root, Scenario& s);
  void finish_uncertainty(Scenario& s);
  std::optional<Distribution> input_distribution(const TValue& v, const std::string& full);
  std::optional<UncertainInput> uncertain_input(const TValue& e, const std::string& key, bool fitted);
  std::optional<std::vector<double>> square_matrix(const TValue& v, const std::string& key, std::size_t d);
  void check_correlation(const TValue& v, const std::string& key, const std::vector<double>& m,
                         const std::vector<UncertainInput>& inputs, std::size_t first);
  struct InputPlace {
    const TValue* entry = nullptr;  //!< the input's table
    std::string key;                //!< "uncertainty.input[2]", "fitted.input[0]"
  };
  std::vector<InputPlace> input_places_;  //!< parallel to s.uncertainty.inputs
  std::vector<double> fitted_values_;     //!< the fitted inputs' `value`s (they come first in the inputs)
  std::optional<TValue> fitted_root_;     //!< the fitted file, kept for locating its problems

  std::unordered_map<std::string, int> stage_index_, discipline_index_;  //!< stage name -> index, once the stages are read
  //! validate() names capacity-plan steps in canonical order; the file in its own: (from, to) key prefixes.
  std::vector<std::pair<std::string, std::string>> alias_;
  std::map<std::string, const TValue*> mechanism_values_;  //!< top-level mechanism tables present

  // Lines of named things, for messages from cross-checks.
  std::map<std::string, const TValue*> stage_values_;
  std::vector<std::vector<std::string>> stage_after_names_;  // parallel to s.stages
  std::vector<std::string> stage_milestone_names_;
  std::vector<std::string> stage_pool_names_;
};

std::optional<Distribution> Parser::distribution(const TValue& v, const std::string& full) {
  if (v.is_integer() || v.is_floating()) {
    auto x = number_value(v, full);
    if (!x) return std::nullopt;
    return Distribution::fixed(*x);
  }
  if (!v.is_table()) {
    error_at(v, full, "must be a number or a distribution table like { dist = \"pert\", min = 6, mode = 12, max = 30 }");
    return std::nullopt;
  }
  auto name = string(v, "dist", full, true);
  if (!name) return std::nullopt;
  const auto kind = Distribution::kind_from_name(*name);
  const std::vector<std::string> kinds = {"fixed", "uniform", "triangular", "pert", "normal",
                                          "lognormal", "exponential", "discrete", "empirical"};
  if (!kind) {
    error(*find(v, "dist"), full + ".dist", quoted_string(*name),
          "unknown distribution" + did_you_mean(*name, kinds) + "; one of: " + join(kinds));
    return std::nullopt;
  }
  auto num = [&](const char* k, bool req) { return number(v, k, full, req); };
  auto list = [&](const char* k) -> std::optional<std::vector<double>> {
    const TValue* a = find(v, k);
    if (!a) {
      error(v, full + "." + k, "", "required list of numbers is missing");
      return std::nullopt;
    }
    if (!a->is_array()) {
      error_at(*a, full + "." + k, "must be a list of numbers");
      return std::nullopt;
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < a->as_array().size(); ++i) {
      auto x = number_value(a->as_array()[i], full + "." + k + "[" + std::to_string(i) + "]");
      if (!x) return std::nullopt;
      out.push_back(*x);
    }
    return out;
  };

  std::optional<Distribution> d;
  std::vector<std::string> allowed = {"dist"};
  switch (*kind) {
    case DistKind::Fixed: {
      allowed.insert(allowed.end(), {"value"});
      auto x = num("value", true);
      if (x) d = Distribution::fixed(*x);
      break;
    }
    case DistKind::Uniform: {
      allowed.insert(allowed.end(), {"min", "max"});
      auto a = num("min", true), b = num("max", true);
      if (a && b) d = Distribution::uniform(*a, *b);
      break;
    }
    case DistKind::Triangular:
    case DistKind::Pert: {
      allowed.insert(allowed.end(), {"min", "mode", "max"});
      if (*kind == DistKind::Pert) allowed.push_back("lambda");
      auto a = num("min", true), m = num("mode", true), b = num("max", true);
      auto l = *kind == DistKind::Pert ? num("lambda", false) : std::nullopt;
      if (a && m && b)
        d = *kind == DistKind::Pert ? Distribution::pert(*a, *m, *b, l.value_or(4.0))
                                    : Distribution::triangular(*a, *m, *b);
      break;
    }
    case DistKind::Normal: {
      allowed.insert(allowed.end(), {"mean", "sd", "min", "max"});
      auto m = num("mean", true), sd = num("sd", true);
      auto lo = num("min", false), hi = num("max", false);
      if (m && sd)
        d = Distribution::normal(*m, *sd, lo.value_or(-std::numeric_limits<double>::infinity()),
                                 hi.value_or(std::numeric_limits<double>::infinity()));
      break;
    }
    case DistKind::Lognormal: {
      allowed.insert(allowed.end(), {"mean", "sd"});
      auto m = num("mean", true), sd = num("sd", true);
      if (m && sd) d = Distribution::lognormal(*m, *sd);
      break;
    }
    case DistKind::Exponential: {
      allowed.insert(allowed.end(), {"mean"});
      auto m = num("mean", true);
      if (m) d = Distribution::exponential(*m);
      break;
    }
    case DistKind::Discrete: {
      allowed.insert(allowed.end(), {"values", "weights"});
      auto vals = list("values"), ws = list("weights");
      if (vals && ws) d = Distribution::discrete(*vals, *ws);
      break;
    }
    case DistKind::Empirical: {
      allowed.insert(allowed.end(), {"values"});
      auto vals = list("values");
      if (vals) d = Distribution::empirical(*vals);
      break;
    }
  }
  check_keys(v, full, allowed);
  if (!d) return std::nullopt;
  const auto problems = d->validate();
  for (const auto& p : problems) {
    // Distribution names some parameters differently from the file: normal's
    // lower/upper are min/max here, empirical's observations are values.
    std::string param = p.param, index;
    if (const auto b = param.find('['); b != std::string::npos) index = param.substr(b), param.resize(b);
    if (*kind == DistKind::Normal && param == "lower") param = "min";
    if (*kind == DistKind::Normal && param == "upper") param = "max";
    if (*kind == DistKind::Empirical && param == "observations") param = "values";
    const TValue* pv = find(v, param);
    if (pv && !index.empty() && pv->is_array()) {
      const std::size_t i = std::stoul(index.substr(1));
      pv = i < pv->as_array().size() ? &pv->as_array()[i] : pv;
    }
    error(pv ? *pv : v, full + "." + param + index, pv ? value_text(*pv) : "", p.rule);
  }
  if (!problems.empty()) return std::nullopt;
  return d;
}

//! Durations, counts and months: every value the distribution can produce must be >= 0.
std::vector<double> Parser::discipline_table(const TValue& v, const std::string& full, const Scenario& s) {
  std::vector<double> out(s.disciplines.size(), 0.0);
  if (!v.is_table()) {
    error_at(v, full, "must be a table of discipline = FTE, e.g. { client = 2, design = 1.5 }");
    return out;
  }
  if (discipline_index_.size() != s.disciplines.size()) {
    discipline_index_.clear();
    for (std::size_t k = 0; k < s.disciplines.size(); ++k) discipline_index_.emplace(s.disciplines[k], static_cast<int>(k));
  }
  for (const auto& [k, fte] : v.as_table()) {
    const auto it = discipline_index_.find(k);
    if (it == discipline_index_.end()) {
      error(fte, full + "." + k, value_text(fte),
            "unknown discipline" + did_you_mean(k, s.disciplines) +
                (s.disciplines.empty() ? "; no disciplines are declared (disciplines = [...] goes above the first [table] header)"
                                       : "; declared: " + join(s.disciplines)));
      continue;
    }
    if (auto x = number_value(fte, full + "." + k)) out[static_cast<std::size_t>(it->second)] = *x;  // range: validate()
  }
  return out;
}

void Parser::parse_meta(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "scenario", "", true);
  if (!t) return;
  check_keys(*t, "scenario", table_keys("scenario"));
  s.name = string(*t, "name", "scenario", true).value_or("");
  s.description = string(*t, "description", "scenario", false).value_or("");
}

void Parser::parse_time(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "time", "", true);
  if (!t) return;
  check_keys(*t, "time", table_keys("time"));
  if (auto start = string(*t, "start", "time", true)) {
    // Exactly YYYY-MM: four digits, a dash, two digits.
    const std::string& d = *start;
    const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(d[i])) != 0; };
    const bool form = d.size() == 7 && digit(0) && digit(1) && digit(2) && digit(3) && d[4] == '-' && digit(5) && digit(6);
    const int y = form ? std::stoi(d.substr(0, 4)) : 0, m = form ? std::stoi(d.substr(5, 2)) : 0;
    const bool ok = form && y >= 1900 && y <= 2200 && m >= 1 && m <= 12;
    if (!ok) error_at(*find(*t, "start"), "time.start", "must be a year-month like \"2005-04\" (year 1900-2200)");
    s.time.start_year = y;
    s.time.start_month = m;
  }
  registry_values(*t, "time", "time", {}, s);  // steps: refresh_derived(); the grid's rules: validate()
}

//! `[scenario] plan = [[month, cumulative_projects], ...]`: the stated plan the runs are
//! drawn against (docs/scenario-format.md).
void Parser::parse_plan(const TValue& root, Scenario& s) {
  const TValue* t = find(root, "scenario");
  if (!t || !t->is_table()) return;
  const TValue* v = find(*t, "plan");
  if (!v) return;
  const std::string key = "scenario.plan";
  if (!v->is_array()) {
    error_at(*v, key, "must be a list of [month, cumulative_projects] points, e.g. [[60, 1000], [120, 2300]], not " +
                          type_name(*v));
    return;
  }
  const auto& points = v->as_array();
  if (points.empty()) {
    error_at(*v, key, "must have at least one [month, cumulative_projects] point");
    return;
  }
  const std::size_t before = diags_.size();
  std::vector<std::array<double, 2>> plan;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const TValue& p = points[i];
    const std::string pk = key + "[" + std::to_string(i) + "]";
    if (!p.is_array() || p.as_array().size() != 2) {
      error_at(p, pk, "must be a [month, cumulative_projects] pair, e.g. [60, 1000]");
      continue;
    }
    const TValue &mv = p.as_array()[0], &cv = p.as_array()[1];
    const auto month = number_value(mv, pk + "[0]");
    const auto count = number_value(cv, pk + "[1]");
    if (month && count) plan.push_back({*month, *count});  // months and counts in order: validate()
  }
  if (diags_.size() == before) s.plan = std::move(plan);
}

void Parser::parse_run(const TValue& root, Scenario& s) {
  if (const TValue* t = table(root, "run", "", false)) {
    check_keys(*t, "run", table_keys("run"));
    registry_values(*t, "run", "run", {}, s);  // (the seed, which no int holds, is read here)
    if (auto seed = integer(*t, "seed", "run", false)) {
      if (*seed < 0) error_at(*find(*t, "seed"), "run.seed", "must be >= 0");
      else s.seed = static_cast<std::uint64_t>(*seed);
    }
    if (auto d = string(*t, "durations", "run", false)) {
      if (*d == "actual") s.durations = DurationBasis::ACTUAL;
      else if (*d == "planned") s.durations = DurationBasis::PLANNED;
      else error_at(*find(*t, "durations"), "run.durations", "must be \"actual\" or \"planned\"");
    }
  }
  if (const TValue* t = table(root, "output", "", false)) {
    check_keys(*t, "output", table_keys("output"));
    registry_values(*t, "output", "output", {}, s);
  }
}

void Parser::parse_disciplines(const TValue& root, Scenario& s) {
  auto names = string_list(root, "disciplines", "", false);
  if (!names) return;
  s.disciplines = *names;
}

void Parser::parse_pools(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "national", "", false);
  if (!t) return;
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& pv = *find(*t, name);
    const std::string path = "national." + name;
    if (!pv.is_table()) {
      error_at(pv, path, "must be a table like [national." + name + "] capacity = 8");
      continue;
    }
    check_keys(pv, path, table_keys("national.{pool}"));
    s.pools.push_back({name, 0});
    registry_values(pv, "national.{pool}", path, {static_cast<int>(s.pools.size() - 1)}, s);
  }
}

void Parser::parse_stages(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "stages", "", true);
  if (!t) return;
  if (t->as_table().empty()) error(*t, "stages", "", "at least one stage is required");
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& sv = *find(*t, name);
    const std::string path = "stages." + name;
    if (!sv.is_table()) {
      error_at(sv, path, "must be a table ([stages." + name + "])");
      continue;
    }
    check_keys(sv, path, table_keys("stages.{stage}"));
    s.stages.push_back({});
    Stage& st = s.stages.back();
    st.name = name;
    stage_values_[name] = &sv;
    registry_values(sv, "stages.{stage}", path, {static_cast<int>(s.stages.size() - 1)}, s);  // work, planned, earliest_month
    if (!find(sv, "work")) error(sv, path + ".work", "", "required: the stage's work content in months at full resourcing");
    if (const TValue* d = find(sv, "demand")) st.demand = discipline_table(*d, path + ".demand", s);
    else st.demand.assign(s.disciplines.size(), 0.0);
    auto after = string_list(sv, "after", path, false);
    st.after_given = after.has_value() || find(sv, "after") != nullptr;
    stage_after_names_.push_back(after.value_or(std::vector<std::string>{}));
    stage_pool_names_.push_back(string(sv, "national", path, false).value_or(""));
    stage_milestone_names_.push_back(string(sv, "after_authority", path, false).value_or(""));
  }
  // References among stages, now that every name is known (a stage following or waiting
  // for itself is stored as written: validate() says so).
  const auto& index = stage_index(s);
  std::unordered_map<std::string, int> pool_index;
  for (std::size_t i = 0; i < s.pools.size(); ++i) pool_index.emplace(s.pools[i].name, static_cast<int>(i));
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    Stage& st = s.stages[i];
    const TValue& sv = *stage_values_[st.name];
    const std::string path = "stages." + st.name;
    for (const auto& p : stage_after_names_[i]) {
      const auto it = index.find(p);
      if (it == index.end()) {
        std::vector<std::string> names;
        for (const auto& x : s.stages) names.push_back(x.name);
        error(*find(sv, "after"), path + ".after", quoted_string(p),
              "unknown predecessor stage" + did_you_mean(p, names) + "; stages: " + join(names));
      } else st.after.push_back(it->second);
    }
    if (const auto& pn = stage_pool_names_[i]; !pn.empty()) {
      const auto it = pool_index.find(pn);
      if (it == pool_index.end()) {
        std::vector<std::string> pools;
        for (const auto& p : s.pools) pools.push_back(p.name);
        error(*find(sv, "national"), path + ".national", quoted_string(pn),
              "unknown national capacity pool" + did_you_mean(pn, pools) +
                  (pools.empty() ? "; declare it as [national." + pn + "] capacity = N" : "; pools: " + join(pools)));
      } else {
        st.national_pool = it->second;
      }
    }
    if (const auto& mn = stage_milestone_names_[i]; !mn.empty()) {
      const auto it = index.find(mn);
      if (it == index.end()) error(*find(sv, "after_authority"), path + ".after_authority", quoted_string(mn), unknown_stage(mn, s));
      else st.authority_milestone = it->second;
    }
  }
}

void Parser::parse_types(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "project_types", "", true);
  if (!t) return;
  if (t->as_table().empty()) error(*t, "project_types", "", "at least one project type is required");
  const auto& index = stage_index(s);
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& tv = *find(*t, name);
    const std::string path = "project_types." + name;
    if (!tv.is_table()) {
      error_at(tv, path, "must be a table ([project_types." + name + "])");
      continue;
    }
    check_keys(tv, path, table_keys("project_types.{type}"));
    ProjectType pt;
    pt.name = name;
    auto listed = string_list(tv, "stages", path, true);
    if (listed && listed->empty()) error_at(*find(tv, "stages"), path + ".stages", "must list at least one stage");
    if (listed && listed->size() > MAX_STAGES_PER_TYPE)
      error_at(*find(tv, "stages"), path + ".stages", "lists more than " + std::to_string(MAX_STAGES_PER_TYPE) + " stages");
    std::vector<int> global;  // local index -> stage index
    if (listed && listed->size() <= MAX_STAGES_PER_TYPE) {
      for (std::size_t i = 0; i < listed->size(); ++i) {
        const auto& sn = (*listed)[i];
        const auto it = index.find(sn);
        if (it == index.end()) {
          error(find(tv, "stages")->as_array()[i], path + ".stages[" + std::to_string(i) + "]", quoted_string(sn), unknown_stage(sn, s));
          continue;
        }
        global.push_back(it->second);
      }
    }
    // Predecessors, as local bits: for each pair of the type's stages, whether one is in the
    // other's `after` (at most 64 x 64 lookups, however long the lists are).
    std::vector<std::unordered_set<int>> after_sets(global.size());
    for (std::size_t li = 0; li < global.size(); ++li) {
      const Stage& st = s.stages[static_cast<std::size_t>(global[li])];
      if (st.after_given) after_sets[li].insert(st.after.begin(), st.after.end());
    }
    for (std::size_t li = 0; li < global.size(); ++li) {
      const Stage& st = s.stages[static_cast<std::size_t>(global[li])];
      TypeStage ts{global[li], st.work, st.planned, st.demand, 0};
      if (!st.after_given) {
        if (li > 0) ts.predecessors = std::uint64_t{1} << (li - 1);
      } else {
        for (std::size_t pj = 0; pj < global.size(); ++pj) {
          if (pj == li || !after_sets[li].count(global[pj])) continue;  // predecessors outside the type do not apply to it
          if (pj > li)
            error(*find(tv, "stages"), path + ".stages", "",
                  "stage '" + st.name + "' is listed before its predecessor '" + s.stages[static_cast<std::size_t>(global[pj])].name +
                      "'; list stages in an order that respects 'after'");
          else ts.predecessors |= std::uint64_t{1} << pj;
        }
      }
      pt.stages.push_back(std::move(ts));
    }
    s.types.push_back(std::move(pt));
    if (const TValue* ov = table(tv, "overrides", path, false)) {
      for (const auto& [sn, o] : ov->as_table()) {
        const std::string opath = path + ".overrides." + sn;
        const auto gi = index.find(sn);
        const auto it = gi == index.end() ? global.end() : std::find(global.begin(), global.end(), gi->second);
        if (it == global.end()) {
          error(o, opath, "", "overrides a stage that this type does not list" + did_you_mean(sn, listed.value_or(std::vector<std::string>{})));
          continue;
        }
        if (!o.is_table()) {
          error_at(o, opath, "must be a table of work / planned / demand");
          continue;
        }
        check_keys(o, opath, table_keys("project_types.{type}.overrides.{tstage}"));
        const int li = static_cast<int>(it - global.begin());
        registry_values(o, "project_types.{type}.overrides.{tstage}", opath, {static_cast<int>(s.types.size() - 1), li}, s);
        if (const TValue* d = find(o, "demand"))
          s.types.back().stages[static_cast<std::size_t>(li)].demand = discipline_table(*d, opath + ".demand", s);
      }
    }
  }
}

void Parser::parse_authorities(const TValue& root, Scenario& s) {
  const TValue* a = find(root, "authorities");
  if (!a) {
    error(root, "authorities", "", "required: at least one [[authorities]] group");
    return;
  }
  if (!a->is_array() || a->as_array().empty()) {
    error_at(*a, "authorities", "must be one or more [[authorities]] tables");
    return;
  }
  std::vector<std::string> type_names;
  std::unordered_map<std::string, int> type_index;
  for (const auto& t : s.types) type_index.emplace(t.name, static_cast<int>(type_names.size())), type_names.push_back(t.name);
  for (std::size_t fi = 0; fi < a->as_array().size(); ++fi) {
    const TValue& gv = a->as_array()[fi];
    std::string path = "authorities[" + std::to_string(fi) + "]";
    if (!gv.is_table()) {
      error_at(gv, path, "must be a table");
      continue;
    }
    check_keys(gv, path, table_keys("authorities.{group}"));
    if (const TValue* add = find(gv, "add"))  // (a variant's entries have had it taken out)
      error_at(*add, path + ".add", "adds a group to a base's groups, and this file has no base with [[authorities]]");
    const std::size_t gi = s.groups.size();
    s.groups.push_back({});
    AuthorityGroup& g = s.groups.back();
    g.name = string(gv, "name", path, true).value_or("group" + std::to_string(fi));
    g.entry_month = Distribution::fixed(0.0);
    g.schools = Distribution::fixed(0.0);
    const TValue* sc = find(gv, "schools");
    const TValue* ar = find(gv, "arrivals");
    if (sc && ar) error(*ar, path + ".arrivals", "", "give either 'schools' (a count) or 'arrivals' (a Poisson process), not both");
    if (!sc && !ar) error(gv, path + ".schools", "", "required: 'schools' (projects per authority) or 'arrivals'");
    const ParamIndex idx{static_cast<int>(gi)};
    registry_values(gv, "authorities.{group}", path, idx, s);  // count, entry_month, schools, release_interval_months
    if (ar) {
      if (!ar->is_table()) error_at(*ar, path + ".arrivals", "must be a table like { rate_per_month = 0.5 }");
      else {
        const std::string apath = path + ".arrivals";
        check_keys(*ar, apath, table_keys("authorities.{group}.arrivals"));
        g.arrivals = ArrivalProcess{};
        g.arrivals->end_month = s.time.horizon_months;
        registry_values(*ar, "authorities.{group}.arrivals", apath, idx, s);
      }
    }
    g.mix.assign(s.types.size(), 0.0);
    if (const TValue* m = find(gv, "mix")) {
      if (!m->is_table()) error_at(*m, path + ".mix", "must be a table of project_type = share");
      else {
        double sum = 0;
        for (const auto& [tn, w] : m->as_table()) {
          const auto it = type_index.find(tn);
          if (it == type_index.end()) {
            error(w, path + ".mix." + tn, value_text(w), "unknown project type" + did_you_mean(tn, type_names) + "; types: " + join(type_names));
            continue;
          }
          auto x = number_value(w, path + ".mix." + tn);
          if (!x) continue;
          if (*x < 0) {  // (checked here: the shares are normalised below)
            error_at(w, path + ".mix." + tn, "must be >= 0");
            continue;
          }
          g.mix[static_cast<std::size_t>(it->second)] = *x;
          sum += *x;
        }
        if (sum > 0) for (auto& x : g.mix) x /= sum;
        else error(*m, path + ".mix", "", "shares must add up to more than 0");
      }
    } else if (s.types.size() == 1) {
      g.mix[0] = 1.0;  // one type: no need to say so
    } else {
      error(gv, path + ".mix", "", "required when there is more than one project type");
    }
    // `first` and `first_phase`: a table naming a project type, and its registry keys.
    const auto typed_table = [&](const char* key, const char* example, int& type) -> const TValue* {
      const TValue* f = find(gv, key);
      if (!f) return nullptr;
      const std::string fpath = path + "." + key;
      if (!f->is_table()) {
        error_at(*f, fpath, std::string("must be a table like ") + example);
        return nullptr;
      }
      check_keys(*f, fpath, table_keys(std::string("authorities.{group}.") + key));
      if (auto tn = string(*f, "type", fpath, true)) {
        const auto it = type_index.find(*tn);
        if (it == type_index.end())
          error(*find(*f, "type"), fpath + ".type", quoted_string(*tn), "unknown project type" + did_you_mean(*tn, type_names));
        else type = it->second;
      }
      registry_values(*f, std::string("authorities.{group}.") + key, fpath, idx, s);
      return f;
    };
    typed_table("first", "{ type = \"sample\", count = 2 }", g.first_type);
    if (const TValue* f = typed_table("first_phase", "{ type = \"first_phase\", schools = 5 }", g.first_phase_type); f && !find(*f, "schools"))
      error(*f, path + ".first_phase.schools", "", "required: schools in the first phase");
    if (const TValue* tm = find(gv, "team")) g.team = discipline_table(*tm, path + ".team", s);
    else g.team.assign(s.disciplines.size(), 0.0);
    if (const TValue* sv = find(gv, "setup")) parse_group_setup(*sv, path + ".setup", gi, s);
    if (const TValue* pv = find(gv, "capacity_plan")) parse_capacity_plan(*pv, path + ".capacity_plan", gi, s);
  }
}

// ---------------------------------------------------------------------------
// Partnership mechanisms: each is on when its top-level table is present
// (docs/scenario-format.md, "Partnership mechanisms"; docs/model.md, same title).

//! The values a table gives for the registry's addressable keys of `pattern` (numbers,
//! integers, booleans, probabilities, distributions), each read into its slot as written;
//! their ranges are judged by validate(). Structure keys are read by the callers.
void Parser::registry_values(const TValue& t, const std::string& pattern, const std::string& path, const ParamIndex& idx,
                             Scenario& s) {
  for (const ParamSpec& p : parameter_registry()) {
    if (!p.addressable() || p.path.size() <= pattern.size() || p.path.compare(0, pattern.size(), pattern) != 0 ||
        p.path[pattern.size()] != '.')
      continue;
    const std::string key = p.path.substr(pattern.size() + 1);
    if (key.find_first_of(".[{") != std::string::npos || key == "enabled") continue;
    const TValue* v = find(t, key);
    const std::string full = join_key(path, key);
    if (!v) {
      if (p.default_text == "required" && p.type != ParamType::Distribution)  // (a missing distribution says what it is)
        error(t, full, "", p.type == ParamType::Integer ? "required integer is missing" : "required number is missing");
      continue;
    }
    const ParamSlot slot = p.slot(s, idx);
    switch (p.type) {
      case ParamType::Number:
        if (auto x = number_value(*v, full)) {
          if (auto* d = std::get_if<double*>(&slot)) **d = *x;
          else if (auto* o = std::get_if<std::optional<double>*>(&slot)) **o = *x;
        }
        break;
      case ParamType::Integer:
        if (!v->is_integer()) error_at(*v, full, "must be an integer, not " + type_name(*v));
        else if (auto* n = std::get_if<int*>(&slot))
          **n = static_cast<int>(std::clamp<std::int64_t>(v->as_integer(), std::numeric_limits<int>::min(),
                                                          std::numeric_limits<int>::max()));
        break;
      case ParamType::Boolean:
        if (!v->is_boolean()) error_at(*v, full, "must be true or false");
        else if (auto* b = std::get_if<bool*>(&slot)) **b = v->as_boolean();
        break;
      case ParamType::Probability:
        if (auto* d = std::get_if<double*>(&slot)) probability(*v, full, **d);
        break;
      case ParamType::Distribution:
        if (auto d = distribution(*v, full))
          if (auto* out = std::get_if<Distribution*>(&slot)) **out = *d;
        break;
      case ParamType::Structure: break;
    }
  }
}

//! A probability: a number (its range is judged by validate()), or true (1) / false (0).
void Parser::probability(const TValue& v, const std::string& full, double& out) {
  if (v.is_boolean()) {
    out = v.as_boolean() ? 1.0 : 0.0;
    return;
  }
  if (!v.is_integer() && !v.is_floating()) {
    error_at(v, full, "must be a probability between 0 and 1, or true / false, not " + type_name(v));
    return;
  }
  if (const auto x = number_value(v, full)) out = *x;
}

const std::unordered_map<std::string, int>& Parser::stage_index(const Scenario& s) {
  if (stage_index_.size() != s.stages.size()) {
    stage_index_.clear();
    for (std::size_t i = 0; i < s.stages.size(); ++i) stage_index_.emplace(s.stages[i].name, static_cast<int>(i));
  }
  return stage_index_;
}

std::string Parser::unknown_stage(const std::string& name, const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& st : s.stages) names.push_back(st.name);
  return "unknown stage" + did_you_mean(name, names) + "; stages: " + join(names);
}

std::optional<int> Parser::stage_ref(const TValue& t, const std::string& key, const std::string& path, bool required,
                                     const Scenario& s) {
  const auto name = string(t, key, path, required);
  if (!name) return std::nullopt;
  const auto& index = stage_index(s);
  const auto it = index.find(*name);
  if (it == index.end()) {
    error(*find(t, key), join_key(path, key), quoted_string(*name), unknown_stage(*name, s));
    return std::nullopt;
  }
  return it->second;
}

//! A list of stage names (no duplicates) as stage indices (validate() wants at least one
//! where the mechanism needs it).
std::vector<int> Parser::stage_refs(const TValue& t, const std::string& key, const std::string& path, bool required,
                                    const Scenario& s) {
  const auto listed = string_list(t, key, path, required);
  std::vector<int> out;
  if (!listed) return out;
  const std::string full = join_key(path, key);
  const auto& index = stage_index(s);
  for (std::size_t i = 0; i < listed->size(); ++i) {
    const auto& n = (*listed)[i];
    const auto it = index.find(n);
    if (it == index.end()) error(find(t, key)->as_array()[i], full + "[" + std::to_string(i) + "]", quoted_string(n), unknown_stage(n, s));
    else out.push_back(it->second);
  }
  return out;
}

//! A table name = number over a fixed set of names (practices, scorecard weights); names not
//! listed keep their value in `out`. Ranges are judged by validate(), except `nonnegative`
//! ones that are normalised here.
void Parser::named_numbers(const TValue& t, const std::string& key, const std::string& path,
                           const std::vector<std::string>& names, const std::string& what, double* out, bool nonnegative) {
  const TValue* v = find(t, key);
  if (!v) return;
  const std::string full = join_key(path, key);
  if (!v->is_table()) {
    error_at(*v, full, "must be a table of " + what + " = number, e.g. { " + names[0] + " = " + (nonnegative ? "1" : "0.5") + " }");
    return;
  }
  for (const auto& [k, x] : v->as_table()) {
    const auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) {
      error(x, full + "." + k, value_text(x), "unknown " + what + did_you_mean(k, names) + "; " + what + "s: " + join(names));
      continue;
    }
    const auto n = number_value(x, full + "." + k);
    if (!n) continue;
    if (nonnegative && *n < 0) error_at(x, full + "." + k, "must be >= 0");
    else out[it - names.begin()] = *n;
  }
}

//! A mechanism's table: nullptr when absent (the mechanism stays off). `enabled = false`
//! in it switches the mechanism off while keeping (and checking) its values.
const TValue* Parser::mechanism(const TValue& root, const std::string& name, bool& enabled) {
  const TValue* t = table(root, name, "", false);
  if (!t) return nullptr;
  mechanism_values_[name] = t;
  check_keys(*t, name, table_keys(name));
  enabled = true;
  if (const TValue* e = find(*t, "enabled")) {
    if (!e->is_boolean()) error_at(*e, name + ".enabled", "must be true or false");
    else enabled = e->as_boolean();
  }
  return t;
}

void Parser::parse_group_setup(const TValue& v, const std::string& path, std::size_t gi, Scenario& s) {
  if (!v.is_table()) {
    error_at(v, path, "must be a table ([authorities.setup], after the group's [[authorities]])");
    return;
  }
  AuthoritySetup& a = s.groups[gi].setup;
  check_keys(v, path, table_keys("authorities.{group}.setup"));
  registry_values(v, "authorities.{group}.setup", path, {static_cast<int>(gi)}, s);

  // PN3's shared vision: one of three ways of saying how many activities are done
  // (vision_count, a distribution, is read with the registry's values).
  std::vector<std::pair<std::pair<int, int>, std::string>> given;
  for (const char* k : {"vision_activities", "self_assessment", "vision_count"})
    if (const TValue* x = find(v, k)) given.push_back({{line_of(*x), place_of(*x).column}, k});
  std::sort(given.begin(), given.end());
  for (std::size_t i = 1; i < given.size(); ++i)
    error_at(*find(v, given[i].second), path + "." + given[i].second,
             "give only one of vision_activities, self_assessment and vision_count (" + given[0].second + " is given)");
  if (given.size() == 1 && given[0].second != "vision_count") {
    const std::string& k = given[0].second;
    const TValue& x = *find(v, k);
    const std::string full = path + "." + k;
    if (!x.is_array()) {
      error_at(x, full, k == "vision_activities" ? "must be a list of activity numbers 1 to 10, e.g. [1, 2, 5]"
                                                 : "must be a list of 10 true / false answers");
    } else if (k == "vision_activities") {
      std::set<std::int64_t> seen;
      bool ok = true;
      for (std::size_t i = 0; i < x.as_array().size(); ++i) {
        const TValue& e = x.as_array()[i];
        const std::string ek = full + "[" + std::to_string(i) + "]";
        if (!e.is_integer()) error_at(e, ek, "must be an integer, not " + type_name(e)), ok = false;
        else if (e.as_integer() < 1 || e.as_integer() > VISION_ACTIVITIES)
          error_at(e, ek, "must be an activity number between 1 and " + std::to_string(VISION_ACTIVITIES)), ok = false;
        else if (!seen.insert(e.as_integer()).second) error_at(e, ek, "duplicate activity"), ok = false;
      }
      if (ok) a.vision_count = Distribution::fixed(static_cast<double>(seen.size()));
    } else {  // self_assessment
      const auto& answers = x.as_array();
      bool ok = answers.size() == static_cast<std::size_t>(VISION_ACTIVITIES);
      if (!ok)
        error_at(x, full, "must have exactly " + std::to_string(VISION_ACTIVITIES) + " answers (PN3's ten questions), got " +
                              std::to_string(answers.size()));
      int yes = 0;
      for (std::size_t i = 0; i < answers.size(); ++i) {
        if (!answers[i].is_boolean()) {
          error_at(answers[i], full + "[" + std::to_string(i) + "]", "must be true or false, not " + type_name(answers[i]));
          ok = false;
        } else yes += answers[i].as_boolean() ? 1 : 0;
      }
      if (ok) a.vision_count = Distribution::fixed(yes);
    }
  }
  if (const TValue* p = find(v, "practices")) {
    const std::string full = path + ".practices";
    if (!p->is_table()) error_at(*p, full, "must be a table of practice = probability, e.g. { vision_review = 0.5 }");
    else
      for (const auto& [k, x] : p->as_table()) {
        const auto it = std::find(PRACTICE_LIST.begin(), PRACTICE_LIST.end(), k);
        if (it == PRACTICE_LIST.end())
          error(x, full + "." + k, value_text(x), "unknown practice" + did_you_mean(k, PRACTICE_LIST) + "; practices: " + join(PRACTICE_LIST));
        else probability(x, full + "." + k, a.practices[it - PRACTICE_LIST.begin()]);
      }
  }
}

//! The steps in canonical order (entry-relative, then after_lep, each in the order given);
//! validate()'s messages name a step by its place in the file (alias_).
void Parser::parse_capacity_plan(const TValue& v, const std::string& path, std::size_t gi, Scenario& s) {
  if (!v.is_array() || v.as_array().empty()) {
    error_at(v, path, "must be one or more [[authorities.capacity_plan]] tables");
    return;
  }
  std::vector<std::pair<CapacityPlanStep, std::size_t>> steps[2];  // with the step's place in the file
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    const TValue& e = v.as_array()[i];
    const std::string spath = path + "[" + std::to_string(i) + "]";
    if (!e.is_table()) {
      error_at(e, spath, "must be a table like { month = 12, team = { client = 3 } }");
      continue;
    }
    check_keys(e, spath, table_keys("authorities.{group}.capacity_plan[{step}]"));
    AuthorityGroup& g = s.groups[gi];
    g.capacity_plan.push_back({});  // read through the registry's slots, then moved
    registry_values(e, "authorities.{group}.capacity_plan[{step}]", spath,
                    {static_cast<int>(gi), static_cast<int>(g.capacity_plan.size() - 1)}, s);
    CapacityPlanStep st = std::move(g.capacity_plan.back());
    g.capacity_plan.pop_back();
    if (const TValue* tm = find(e, "team")) st.team = discipline_table(*tm, spath + ".team", s);
    else {
      error(e, spath + ".team", "", "required: the team to aim for from this month, e.g. team = { client = 3 }");
      st.team.assign(s.disciplines.size(), 0.0);
    }
    steps[st.after_lep ? 1 : 0].push_back({std::move(st), i});
  }
  AuthorityGroup& g = s.groups[gi];
  for (auto& kind : steps)
    for (auto& [st, file_index] : kind) {
      const std::size_t k = g.capacity_plan.size();
      if (k != file_index)
        alias_.push_back({path + "[" + std::to_string(k) + "]", path + "[" + std::to_string(file_index) + "]"});
      g.capacity_plan.push_back(std::move(st));
    }
}

void Parser::parse_mechanisms(const TValue& root, Scenario& s) {
  Mechanisms& m = s.mechanisms;
  if (const TValue* t = table(root, "lep", "", false)) {
    mechanism_values_["lep"] = t;
    check_keys(*t, "lep", table_keys("lep"));
    if (auto st = stage_ref(*t, "formed_at", "lep", true, s)) m.lep_stage = *st;
    registry_values(*t, "lep", "lep", {}, s);  // the non-LEP route's numbers
  }
  // Every mechanism's numbers and distributions through the registry; its other keys below.
  if (find(root, "costs")) m.costs.capital.assign(s.types.size(), Distribution::fixed(0.0));
  for (const detail::MechanismTable& mt : detail::mechanism_tables())
    if (const TValue* t = mechanism(root, mt.name, mt.enabled(m))) registry_values(*t, mt.name, mt.name, {}, s);

  if (const TValue* t = find(root, "setup"); t && t->is_table()) {
    SetupMechanism& x = m.setup;
    x.strategy_stages = stage_refs(*t, "strategy_stages", "setup", false, s);
    x.procurement_stages = stage_refs(*t, "procurement_stages", "setup", false, s);
    x.mobilisation_stages = stage_refs(*t, "mobilisation_stages", "setup", false, s);
  }
  if (const TValue* t = find(root, "partnering"); t && t->is_table()) {
    PartneringMechanism& x = m.partnering;
    const std::string p = "partnering";
    named_numbers(*t, "practice_level", p, PRACTICE_LIST, "practice", x.practice_level, false);
    if (const auto listed = string_list(*t, "mandated_practices", p, false))
      for (std::size_t i = 0; i < listed->size(); ++i) {
        const auto& n = (*listed)[i];
        const auto it = std::find(PRACTICE_LIST.begin(), PRACTICE_LIST.end(), n);
        if (it == PRACTICE_LIST.end())
          error(find(*t, "mandated_practices")->as_array()[i], p + ".mandated_practices[" + std::to_string(i) + "]",
                quoted_string(n), "unknown practice" + did_you_mean(n, PRACTICE_LIST) + "; practices: " + join(PRACTICE_LIST));
        else x.mandated |= static_cast<std::uint8_t>(1u << (it - PRACTICE_LIST.begin()));
      }
  }
  if (const TValue* t = find(root, "costs"); t && t->is_table()) {
    CostMechanism& x = m.costs;
    if (const TValue* c = find(*t, "capital")) {
      std::vector<std::string> type_names;
      for (const auto& pt : s.types) type_names.push_back(pt.name);
      if (!c->is_table())
        error_at(*c, "costs.capital", "must be a table of project_type = distribution (GBP m)");
      else
        for (const auto& [tn, d] : c->as_table()) {
          const auto it = std::find(type_names.begin(), type_names.end(), tn);
          if (it == type_names.end())
            error(d, "costs.capital." + tn, value_text(d),
                  "unknown project type" + did_you_mean(tn, type_names) + "; types: " + join(type_names));
          else if (auto dist = distribution(d, "costs.capital." + tn))
            x.capital[static_cast<std::size_t>(it - type_names.begin())] = *dist;
        }
    }
    if (auto st = stage_ref(*t, "spend_stage", "costs", true, s)) x.spend_stage = *st;
  }
  if (const TValue* t = find(root, "funding"); t && t->is_table()) m.funding.stages = stage_refs(*t, "stages", "funding", true, s);
  if (const TValue* t = find(root, "market"); t && t->is_table()) m.market.stages = stage_refs(*t, "stages", "market", true, s);
  if (const TValue* t = find(root, "milestones"); t && t->is_table())
    m.milestones.construction_stages = stage_refs(*t, "construction_stages", "milestones", true, s);
  if (const TValue* t = find(root, "transformation"); t && t->is_table())
    m.transformation.slowed_stages = stage_refs(*t, "slowed_stages", "transformation", false, s);
  if (const TValue* t = find(root, "exclusivity"); t && t->is_table() && find(*t, "weights")) {
    // Weights not listed are 0; the rest are normalised to sum 1 (like a group's mix).
    ExclusivityMechanism& x = m.exclusivity;
    double given[4] = {0, 0, 0, 0};
    const std::size_t before = diags_.size();
    named_numbers(*t, "weights", "exclusivity", SCORECARD_WEIGHTS, "weight", given, true);
    const double sum = given[0] + given[1] + given[2] + given[3];
    if (diags_.size() == before && find(*t, "weights")->is_table()) {
      const double by = sum > 0 ? sum : 1.0;  // all zero: validate() says so
      x.weight_cost = given[0] / by;
      x.weight_quality = given[1] / by;
      x.weight_time = given[2] / by;
      x.weight_volume = given[3] / by;
    }
  }
}


//! The value at a diagnostic's key ("authorities[0].team.design"), or the deepest table
//! above it that the file has; `exact` says which.
const TValue* Parser::locate(const std::string& key, bool& exact) const {
  const TValue* at = root_;
  exact = false;
  std::size_t i = 0;
  while (i < key.size()) {
    if (key[i] == '.') ++i;
    if (key[i] == '[') {
      const std::size_t close = key.find(']', i);
      if (close == std::string::npos || !at->is_array()) return at;
      std::size_t k = 0;
      const auto res = std::from_chars(key.data() + i + 1, key.data() + close, k);
      if (res.ptr != key.data() + close || k >= at->as_array().size()) return at;
      at = &at->as_array()[k];
      i = close + 1;
      continue;
    }
    std::size_t end = key.find_first_of(".[", i);
    if (end == std::string::npos) end = key.size();
    if (!at->is_table()) return at;
    const TValue* next = find(*at, key.substr(i, end - i));
    if (!next) return at;
    at = next;
    i = end;
  }
  exact = true;
  return at;
}

//! validate()'s problems, located in the file: at the first of a problem's keys the file
//! has (or at the earliest, when the problem says so), else at the nearest table above it.
//! A key the parser already reported is not reported twice.
void Parser::report(const Scenario& s) {
  detail::ValidateContext ctx;
  ctx.table_given = [this](const std::string& t) { return mechanism_values_.count(t) > 0; };
  ctx.cross_checks = diags_.empty();
  std::unordered_set<std::string> reported;
  for (const auto& d : diags_) reported.insert(d.key);
  for (detail::Problem& p : detail::find_problems(s, ctx)) {
    for (std::string& k : p.keys)
      for (const auto& [from, to] : alias_)
        if (k.compare(0, from.size(), from) == 0 && (k.size() == from.size() || k[from.size()] == '.'))
          k = to + k.substr(from.size());
    if (p.earliest) {  // the places in file order; the message names them in that order
      std::vector<std::pair<std::pair<int, int>, std::size_t>> order;
      for (std::size_t i = 0; i < p.keys.size(); ++i) {
        bool ex = false;
        const TValue* n = locate(p.keys[i], ex);
        order.push_back({ex ? std::pair(rank_of(*n), line_of(*n)) : std::pair(INT_MAX, INT_MAX), i});
      }
      std::stable_sort(order.begin(), order.end());
      std::vector<std::string> keys, names;
      for (const auto& [where, i] : order) keys.push_back(p.keys[i]), names.push_back(i < p.names.size() ? p.names[i] : "");
      p.keys = std::move(keys), p.names = std::move(names);
    }
    const TValue* node = nullptr;
    std::string key;
    bool exact = false;
    for (const std::string& k : p.keys) {
      bool ex = false;
      const TValue* n = locate(k, ex);
      if (ex) {
        node = n, key = k, exact = true;
        break;
      }
    }
    if (!node) node = locate(key = p.keys.front(), exact);
    if (!p.report_key.empty()) key = p.report_key, exact = false;
    if (!reported.insert(key).second) continue;
    error(*node, key, exact && !node->is_table() && !node->is_array() ? value_text(*node) : p.value,
          detail::fill_names(p.rule, p.names));
  }
}

//! Reads a scenario file whole; returns what is wrong ("" when read). Only regular files
//! up to MAX_SCENARIO_BYTES: a device or FIFO named by mistake (/dev/zero) must not hang.
std::string read_scenario_text(const std::string& path, std::string& text) {
  constexpr std::uintmax_t MAX_SCENARIO_BYTES = 16u << 20;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return "cannot open '" + path + "' for reading: no such file";
  if (fs::is_directory(st)) return "'" + path + "' is a directory, not a scenario file";
  if (!fs::is_regular_file(st)) return "'" + path + "' is not a regular file (a device, FIFO or socket)";
  if (const auto size = fs::file_size(path, ec); !ec && size > MAX_SCENARIO_BYTES)
    return "'" + path + "' is " + std::to_string(size) + " bytes; scenario files are at most 16 MiB (" +
           std::to_string(MAX_SCENARIO_BYTES) + " bytes)";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open '" + path + "' for reading";
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return "cannot read '" + path + "'";
  text = buf.str();
  return "";
}

//! One file's text as TOML, refusing what toml11 would mishandle; problems name `path`.
TValue Parser::read_toml(const std::string& text, const std::string& path) const {
  if (text.find('\0') != std::string::npos)
    throw ScenarioError({{path, 0, "", "", "not a text file (contains NUL bytes)"}});
  if (const auto bad = invalid_utf8(text)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[bad->second])));
    throw ScenarioError({{path, bad->first, "", "",
                          std::string("not UTF-8 text (byte ") + hex + " at offset " + std::to_string(bad->second) +
                              " is not valid UTF-8); TOML files must be UTF-8"}});
  }
  if (const int line = too_deep(text, 32))
    throw ScenarioError({{path, line, "", "", "arrays or inline tables nested more than 32 deep"}});
  try {
    std::istringstream is(text);
    return detail::parse_toml(is, path);
  } catch (const toml::exception& e) {
    throw ScenarioError({toml_diagnostic(path, e.what())});
  } catch (const std::exception& e) {  // toml11 failing inside, on input it should have rejected
    throw ScenarioError({{path, 0, "", "", std::string("invalid TOML: the TOML reader failed (") + e.what() + ")"}});
  }
}

//! Tables of `over` merged into `into` recursively; any other value of `over`, and any
//! distribution, replaces.
void merge_over(TValue& into, const TValue& over) {
  for (const auto& [k, v] : over.as_table()) {
    auto& t = into.as_table();
    const auto it = t.find(k);
    // A distribution ({ dist = ... }) is one value: the variant's replaces the base's whole,
    // so a variant can change its kind.
    if (it != t.end() && it->second.is_table() && v.is_table() && !v.as_table().count("dist")) merge_over(it->second, v);
    else t[k] = v;
  }
}

//! A variant's [[authorities]] laid over its base's: an entry named like a base group changes
//! that group (key by key, as tables merge); one with `add = true` is a new group, after the
//! base's; any other name is an error, so a variant cannot drop the base's groups by accident
//! (docs/scenario-format.md, "Changing part of a list").
void Parser::merge_groups(TValue& base, const TValue& over) {
  std::unordered_map<std::string, std::size_t> by_name;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < base.as_array().size(); ++i) {
    const TValue& g = base.as_array()[i];
    if (g.is_table() && g.as_table().count("name") && g.as_table().at("name").is_string())
      by_name.emplace(g.as_table().at("name").as_string().str, i), names.push_back(g.as_table().at("name").as_string().str);
  }
  for (std::size_t i = 0; i < over.as_array().size(); ++i) {
    TValue e = over.as_array()[i];
    const std::string path = "authorities[" + std::to_string(i) + "]";
    if (!e.is_table()) {
      base.as_array().push_back(e);  // reported by the parser
      continue;
    }
    bool add = false;
    if (const TValue* a = find(e, "add")) {
      if (!a->is_boolean()) error_at(*a, path + ".add", "must be true or false");
      else add = a->as_boolean();
      e.as_table().erase("add");
    }
    const TValue* n = find(e, "name");
    if (!n || !n->is_string()) {
      error(n ? *n : e, path + ".name", n ? value_text(*n) : "",
            "a variant's [[authorities]] entry needs the name of the base's group it changes (or add = true and a new name)");
      continue;
    }
    const auto it = by_name.find(n->as_string().str);
    if (add && it != by_name.end()) {
      error_at(*n, path + ".name", "is already a group of the base; leave out add = true to change that group");
    } else if (add) {
      base.as_array().push_back(std::move(e));
    } else if (it == by_name.end()) {
      error_at(*n, path + ".name",
               "no group of the base has this name" + did_you_mean(n->as_string().str, names) + "; groups: " + join(names) +
                   ". Write add = true in the entry to add a group, or replace = [\"authorities\"] above the first [header] "
                   "to give the whole list");
    } else {
      merge_over(base.as_array()[it->second], e);
    }
  }
}

//! `base = "FILE"`: the file named (relative to this one) is read first and this one's
//! values are laid over it (docs/scenario-format.md, "Inheriting from a base scenario").
//! `replace = ["authorities", ...]` names top-level tables and lists the file gives whole.
TValue Parser::with_bases(TValue root, const std::string& path, std::vector<std::string>& chain, Scenario& s) {
  if (!root.is_table() || !root.as_table().count("base")) return root;
  file_rank_.emplace(path, 0);  // (its rank is set once its own base is read)
  const TValue& b = root.as_table().at("base");
  const auto fail = [&](const std::string& rule) {
    throw ScenarioError({{path, static_cast<int>(b.location().line()), "base", value_text(b), rule}});
  };
  if (!b.is_string()) fail("must be a string naming the base scenario file, not " + type_name(b));
  namespace fs = std::filesystem;
  const fs::path named = b.as_string().str;
  const std::string file = (named.is_absolute() ? named : fs::path(path).parent_path() / named).lexically_normal().string();
  std::error_code ec;
  const std::string key = fs::weakly_canonical(file, ec).string();
  chain.push_back(fs::weakly_canonical(path, ec).string());
  if (std::find(chain.begin(), chain.end(), key) != chain.end()) {
    std::string cycle;
    for (const auto& c : chain) cycle += c + " -> ";
    fail("base files form a cycle: " + cycle + key);
  }
  if (chain.size() > 8) fail("more than 8 levels of base files");
  std::string text;
  if (const std::string problem = read_scenario_text(file, text); !problem.empty()) fail("base scenario: " + problem);
  TValue merged = with_bases(read_toml(text, file), file, chain, s);
  file_rank_[file] = static_cast<int>(s.base_files.size());
  s.base_files.push_back({file, text});
  TValue over = std::move(root);
  over.as_table().erase("base");
  std::set<std::string> whole;
  if (const TValue* r = find(over, "replace")) {
    const auto listed = string_list(over, "replace", "", false);
    const std::vector<std::string> tops = table_keys("");
    for (std::size_t i = 0; listed && i < listed->size(); ++i) {
      const std::string& k = (*listed)[i];
      const TValue& at = r->as_array()[i];
      if (k == "base" || k == "replace" || std::find(tops.begin(), tops.end(), k) == tops.end())
        error_at(at, "replace[" + std::to_string(i) + "]", "not a top-level table or list" + did_you_mean(k, tops));
      else if (!find(over, k))
        error_at(at, "replace[" + std::to_string(i) + "]", "this file gives no '" + k + "' to replace the base's with");
      else whole.insert(k);
    }
    over.as_table().erase("replace");
  }
  for (const std::string& k : whole) merged.as_table()[k] = over.as_table().at(k), over.as_table().erase(k);
  if (const TValue* a = find(over, "authorities"); a && a->is_array()) {
    if (TValue* into = merged.as_table().count("authorities") ? &merged.as_table().at("authorities") : nullptr;
        into && into->is_array()) {
      merge_groups(*into, *a);
      over.as_table().erase("authorities");
    }
  }
  merge_over(merged, over);
  return merged;
}

// ---------------------------------------------------------------------------
// Second-order Monte Carlo (docs/scenario-format.md, "[uncertainty]").

//! A distribution in the scenario's syntax, also accepting the fitted file's spelling:
//! `type` for `dist`, and `observations` for an empirical's `values`.
std::optional<Distribution> Parser::input_distribution(const TValue& v, const std::string& full) {
  if (!v.is_table()) return distribution(v, full);
  TValue t = v;
  auto& tt = t.as_table();
  if (tt.count("type") && !tt.count("dist")) tt["dist"] = tt.at("type"), tt.erase("type");
  if (tt.count("observations") && !tt.count("values")) tt["values"] = tt.at("observations"), tt.erase("observations");
  return distribution(t, full);
}

//! One [[uncertainty.input]] or [[fitted.input]] table.
std::optional<UncertainInput> Parser::uncertain_input(const TValue& e, const std::string& key, bool fitted) {
  if (!e.is_table()) {
    error_at(e, key, "must be a table with path, mode and distribution");
    return std::nullopt;
  }
  if (!fitted) check_keys(e, key, table_keys("uncertainty.input"));  // (a fitted file may carry more: it is machine-written)
  const std::size_t before = diags_.size();
  UncertainInput in;
  in.path = string(e, "path", key, true).value_or("");
  if (const auto mode = string(e, "mode", key, false)) {
    if (*mode == "scale")
      in.scale = true;
    else if (*mode != "set")
      error_at(*find(e, "mode"), key + ".mode", "must be \"set\" or \"scale\"");
  }
  if (const TValue* d = find(e, "distribution")) {
    if (auto dist = input_distribution(*d, key + ".distribution")) {
      in.distribution = *dist;
      if (in.scale && !(dist->min_value() >= 0))
        error_at(*d, key + ".distribution", "a scale multiplies the parameter: its distribution must not go below 0");
    }
  } else {
    error(e, key + ".distribution", "", "required distribution is missing");
  }
  if (!fitted) {
    if (const auto point = number(e, "point", key, false)) in.point = *point;
  }
  in.source = file_of(e) + ":" + std::to_string(line_of(e));
  if (diags_.size() != before) return std::nullopt;
  return in;
}

//! A d x d list of lists of numbers, row-major.
std::optional<std::vector<double>> Parser::square_matrix(const TValue& v, const std::string& key, std::size_t d) {
  const std::string shape = std::to_string(d) + " x " + std::to_string(d);
  if (!v.is_array() || v.as_array().size() != d) {
    error_at(
        v, key,
        "must be a " + shape + " matrix (a list of " + std::to_string(d) + " rows), one row and column per input in order");
    return std::nullopt;
  }
  std::vector<double> m;
  for (std::size_t i = 0; i < d; ++i) {
    const TValue& row = v.as_array()[i];
    const std::string rk = key + "[" + std::to_string(i) + "]";
    if (!row.is_array() || row.as_array().size() != d) {
      error_at(row, rk, "must be a row of " + std::to_string(d) + " numbers (the matrix is " + shape + ")");
      return std::nullopt;
    }
    for (std::size_t j = 0; j < d; ++j) {
      const auto x = number_value(row.as_array()[j], rk + "[" + std::to_string(j) + "]");
      if (!x) return std::nullopt;
      m.push_back(*x);
    }
  }
  return m;
}

//! check_rank_correlation's problems, each located at its entry and naming the two inputs.
void Parser::check_correlation(const TValue& v, const std::string& key, const std::vector<double>& m,
                               const std::vector<UncertainInput>& inputs, std::size_t first) {
  const std::size_t d = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(m.size()))));
  for (const CorrelationProblem& p : check_rank_correlation(m, d)) {
    if (p.row < 0) {
      error(v, key, "", p.rule);
      continue;
    }
    const auto i = static_cast<std::size_t>(p.row), j = static_cast<std::size_t>(p.col);
    const TValue& at = v.as_array()[i].as_array()[j];
    const std::string a = first + i < inputs.size() ? inputs[first + i].path : "?";
    const std::string b = first + j < inputs.size() ? inputs[first + j].path : "?";
    error(at, key + "[" + std::to_string(i) + "][" + std::to_string(j) + "]", value_text(at),
          p.rule + " (inputs " + a + " and " + b + ")");
  }
}

//! `[scenario] fitted = "FILE"`: a calibration's fitted file (docs/calibration.md, "Fitted
//! file"), relative to the file that names it. Its inputs become the first uncertain inputs;
//! their values are applied once the scenario is valid (finish_uncertainty).
void Parser::parse_fitted(const TValue& root, Scenario& s) {
  const TValue* t = find(root, "scenario");
  if (!t || !t->is_table()) return;
  const TValue* v = find(*t, "fitted");
  if (!v) return;
  const auto named = string(*t, "fitted", "scenario", false);
  if (!named) return;
  namespace fs = std::filesystem;
  const fs::path p = *named;
  const std::string file = (p.is_absolute() ? p : fs::path(file_of(*v)).parent_path() / p).lexically_normal().string();
  std::string text;
  if (const std::string problem = read_scenario_text(file, text); !problem.empty()) {
    error_at(*v, "scenario.fitted", "fitted file: " + problem);
    return;
  }
  try {
    fitted_root_ = read_toml(text, file);
  } catch (const ScenarioError& e) {
    for (const Diagnostic& d : e.diagnostics()) diags_.push_back(d);
    return;
  }
  file_rank_.emplace(file, -1);  // its problems are located in it (and listed first)
  s.uncertainty.fitted = *named;
  const TValue& f = *fitted_root_;
  const TValue* ft = f.is_table() ? find(f, "fitted") : nullptr;
  if (!ft || !ft->is_table()) {
    diags_.push_back({file, 0, "fitted", "", "a fitted file needs a [fitted] table (written by lepsim calibrate --fitted)"});
    return;
  }
  const TValue* inputs = find(*ft, "input");
  if (!inputs || !inputs->is_array() || inputs->as_array().empty()) {
    error(inputs ? *inputs : *ft, "fitted.input", "", "a fitted file needs at least one [[fitted.input]]");
    return;
  }
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < inputs->as_array().size(); ++i) {
    const TValue& e = inputs->as_array()[i];
    const std::string key = "fitted.input[" + std::to_string(i) + "]";
    auto in = uncertain_input(e, key, true);
    const auto value = e.is_table() ? number(e, "value", key, true) : std::nullopt;
    if (!in || !value) {
      ok = false;
      continue;
    }
    if (!seen.insert(in->path).second) {
      error(*find(e, "path"), key + ".path", quoted_string(in->path), "duplicate path: each input once");
      ok = false;
      continue;
    }
    if (in->scale) in->point = *value;
    fitted_values_.push_back(*value);
    input_places_.push_back({&e, key});
    s.uncertainty.inputs.push_back(std::move(*in));
  }
  if (!ok) return;
  if (const TValue* rc = find(*ft, "rank_correlation")) {
    const TValue* m = rc->is_table() ? find(*rc, "matrix") : nullptr;
    if (!m) {
      error_at(*rc, "fitted.rank_correlation", "must be a table with matrix = [[...], ...]");
      return;
    }
    if (auto mat = square_matrix(*m, "fitted.rank_correlation.matrix", s.uncertainty.inputs.size())) {
      const std::size_t before = diags_.size();
      check_correlation(*m, "fitted.rank_correlation.matrix", *mat, s.uncertainty.inputs, 0);
      if (diags_.size() == before) s.uncertainty.rank_correlation = *mat;
    }
  }
}

void Parser::parse_uncertainty(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "uncertainty", "", false);
  if (!t) return;
  Uncertainty& u = s.uncertainty;
  check_keys(*t, "uncertainty", table_keys("uncertainty"));
  if (const auto d = string(*t, "draw", "uncertainty", false)) {
    if (const auto draw = uncertainty_draw_named(*d))
      u.draw = *draw;
    else
      error_at(*find(*t, "draw"), "uncertainty.draw", "must be \"off\", \"inputs\" or \"posterior\"");
  }
  if (const auto p = string(*t, "posterior", "uncertainty", false)) {
    namespace fs = std::filesystem;
    const fs::path named = *p;
    std::error_code ec;
    const fs::path file = named.is_absolute() ? named : fs::path(file_of(*find(*t, "posterior"))).parent_path() / named;
    u.posterior = fs::absolute(file, ec).lexically_normal().string();
  }
  if (const auto m = integer(*t, "replications_per_draw", "uncertainty", false)) {
    if (*m < 1 || *m > 1'000'000)
      error_at(*find(*t, "replications_per_draw"), "uncertainty.replications_per_draw", "must be between 1 and 1000000");
    else
      u.replications_per_draw = static_cast<int>(*m);
  }
  const std::size_t first = u.inputs.size();  // the fitted file's inputs come first
  std::set<std::string> seen;
  for (const auto& in : u.inputs) seen.insert(in.path);
  bool ok = true;
  if (const TValue* list = find(*t, "input")) {
    if (!list->is_array()) {
      error_at(*list, "uncertainty.input", "must be an array of tables: [[uncertainty.input]]");
      ok = false;
    } else {
      for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const TValue& e = list->as_array()[i];
        const std::string key = "uncertainty.input[" + std::to_string(i) + "]";
        auto in = uncertain_input(e, key, false);
        if (!in) {
          ok = false;
          continue;
        }
        if (!seen.insert(in->path).second) {
          error(*find(e, "path"), key + ".path", quoted_string(in->path),
                "duplicate path: each input once (a fitted file's inputs included)");
          ok = false;
          continue;
        }
        input_places_.push_back({&e, key});
        u.inputs.push_back(std::move(*in));
      }
    }
  }
  if (u.draw == UncertaintyDraw::POSTERIOR && u.posterior.empty())
    error(*t, "uncertainty.posterior", "", "draw = \"posterior\" needs the posterior file: posterior = \"FILE.h5\"");
  if (u.draw == UncertaintyDraw::INPUTS && u.inputs.empty() && ok)
    error(*t, "uncertainty.draw", "\"inputs\"",
          "draws from the uncertain inputs, and there are none: add [[uncertainty.input]] tables or [scenario] fitted");
  const TValue* rc = find(*t, "rank_correlation");
  if (!rc || !ok) return;
  const std::size_t d = u.inputs.size() - first;
  auto m = square_matrix(*rc, "uncertainty.rank_correlation", d);
  if (!m) return;
  const std::size_t before = diags_.size();
  check_correlation(*rc, "uncertainty.rank_correlation", *m, u.inputs, first);
  if (diags_.size() != before) return;
  // Block-diagonal over all inputs: the fitted file's block (or identity), then this one.
  const std::size_t n = u.inputs.size();
  std::vector<double> all(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) all[i * n + i] = 1.0;
  if (!u.rank_correlation.empty())
    for (std::size_t i = 0; i < first; ++i)
      for (std::size_t j = 0; j < first; ++j) all[i * n + j] = u.rank_correlation[i * first + j];
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) all[(first + i) * n + first + j] = (*m)[i * d + j];
  u.rank_correlation = std::move(all);
}

//! Once the scenario is valid: every input's path checked against the registry (located at
//! the input), the ends of a bounded `set` distribution tried, and the fitted values applied.
void Parser::finish_uncertainty(Scenario& s) {
  Uncertainty& u = s.uncertainty;
  // A fitted block alone with scenario inputs but no scenario matrix: pad it to all inputs.
  const std::size_t n = u.inputs.size(), nf = fitted_values_.size();
  if (!u.rank_correlation.empty() && u.rank_correlation.size() == nf * nf && nf != n) {
    std::vector<double> all(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) all[i * n + i] = 1.0;
    for (std::size_t i = 0; i < nf; ++i)
      for (std::size_t j = 0; j < nf; ++j) all[i * n + j] = u.rank_correlation[i * nf + j];
    u.rank_correlation = std::move(all);
  }
  for (std::size_t k = 0; k < n && k < input_places_.size(); ++k) {
    const UncertainInput& in = u.inputs[k];
    const TValue& e = *input_places_[k].entry;
    const std::string& key = input_places_[k].key;
    const TValue& pv = *find(e, "path");
    if (const std::string why = uncertain_path_problem(s, in.path, in.scale); !why.empty()) {
      error(pv, key + ".path", quoted_string(in.path), why);
      continue;
    }
    // The support's finite ends must give a valid scenario (an infinite end is judged per draw).
    for (const double x : {in.distribution.min_value(), in.distribution.max_value()}) {
      if (!std::isfinite(x) || (in.scale && x == 0)) continue;
      try {
        // (a fitted input's point is not applied yet: its drawn factor is tried on the base)
        const double point = k < nf ? std::numeric_limits<double>::quiet_NaN() : in.point;
        (void)apply_parameter_vector(s, {in.path}, {in.scale}, {point}, {x});
      } catch (const ScenarioError& err) {
        const auto& d = err.diagnostics();
        error(*find(e, "distribution"), key + ".distribution", in.distribution.describe(),
              "its value " + shortest_number(x) + " at " + in.path +
                  " breaks a rule: " + (d.empty() ? std::string(err.what()) : d.front().rule));
        break;
      }
    }
  }
  if (!diags_.empty() || fitted_values_.empty()) return;
  // The fitted values (the posterior medians): what a point run uses.
  std::vector<std::string> paths;
  std::vector<bool> scale;
  for (std::size_t k = 0; k < nf; ++k) paths.push_back(u.inputs[k].path), scale.push_back(u.inputs[k].scale);
  try {
    s = apply_parameter_vector(s, paths, scale, std::vector<double>(nf, std::numeric_limits<double>::quiet_NaN()),
                               fitted_values_);
  } catch (const ScenarioError& err) {
    for (const Diagnostic& d : err.diagnostics()) {
      std::size_t k = 0;
      while (k + 1 < nf && d.key.rfind(paths[k], 0) != 0) ++k;
      const TValue& e = *input_places_[k].entry;
      error(*find(e, "value"), input_places_[k].key + ".value", value_text(*find(e, "value")),
            "applied at " + paths[k] + ": " + d.key + " " + d.rule);
    }
  }
}

Scenario Parser::parse(const std::string& text) {
  Scenario s;
  s.source_path = path_;
  s.source_text = text;
  file_rank_[path_] = 0;
  std::vector<std::string> chain;
  TValue root = with_bases(read_toml(text, path_), path_, chain, s);
  file_rank_[path_] = static_cast<int>(s.base_files.size());  // after its bases
  root_ = &root;
  if (!root.is_table() || root.as_table().empty())
    throw ScenarioError({{path_, 0, "", "", "the scenario is empty: it needs [scenario], [time], [stages.*], [project_types.*] and [[authorities]]"}});
  if (const TValue* r = find(root, "replace"))  // (a file with a base has had it taken out)
    error_at(*r, "replace", "needs a base: replace names what this file gives whole instead of changing its base's");
  check_keys(root, "", TOP_LEVEL_KEYS);
  parse_meta(root, s);
  parse_time(root, s);
  parse_plan(root, s);
  parse_run(root, s);
  parse_disciplines(root, s);
  parse_pools(root, s);
  parse_stages(root, s);
  parse_types(root, s);
  parse_authorities(root, s);
  parse_mechanisms(root, s);
  if (!unfitted_) {
    parse_fitted(root, s);
    parse_uncertainty(root, s);
  }
  detail::refresh_derived(s);
  report(s);
  if (diags_.empty()) finish_uncertainty(s);
  if (!diags_.empty()) {
    std::stable_sort(diags_.begin(), diags_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(file_rank_[a.file], a.line) < std::pair(file_rank_[b.file], b.line);
    });
    throw ScenarioError(std::move(diags_));
  }
  return s;
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& path) { return Parser(path).parse(text); }

Scenario parse_unfitted_scenario(const std::string& text, const std::string& path) {
  return Parser(path, true).parse(text);
}

Scenario load_scenario(const std::string& path) {
  std::string text;
  if (const std::string problem = read_scenario_text(path, text); !problem.empty())
    throw ScenarioError({{path, 0, "", "", problem}});
  return parse_scenario(text, path);
}

Scenario::LeverCostRates Scenario::lever_cost_rates() const {
  LeverCostRates r;
  for (const Stage& st : stages) r.once += st.cost_per_authority * authority_count();
  for (const NationalPool& p : pools) r.per_month += std::max(0, p.capacity - p.funded_capacity) * p.cost_per_token_month;
  const auto& pt = mechanisms.partnering;
  if (pt.enabled) r.per_lep_month = std::popcount(pt.mandated) * pt.practice_cost_per_lep_year / 12.0;
  return r;
}

int TimeGrid::step_at_or_after(double month) const {
  if (month <= 0) return 0;
  const double s = std::ceil(month / step_months - 1e-9);
  return s > steps ? steps : static_cast<int>(s);
}

}  // namespace lepsim
