// Scenario files: TOML -> validated, resolved, immutable Scenario.
// One pass collects every problem; nothing is half-accepted. The format is
// documented in docs/scenario-format.md; keep the two in step.

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <toml.hpp>

#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"

namespace lepsim {
namespace {

using TValue = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using TTable = TValue::table_type;

//! A string as a one-line TOML basic string, for messages.
std::string quote(const std::string& str) {
  std::string out = "\"";
  for (char c : str) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += b;
    } else out += c;
  }
  return out + "\"";
}

std::string value_text(const TValue& v) {
  switch (v.type()) {
    case toml::value_t::string: return quote(v.as_string().str);
    case toml::value_t::table: return "{...}";
    case toml::value_t::array: return "[...]";
    case toml::value_t::floating: {  // shortest text that reads back the same: 0.3, not 0.29999999999999999
      const double x = v.as_floating();
      char buf[32];
      const auto res = std::to_chars(buf, buf + sizeof buf, x);
      std::string s(buf, res.ptr);
      if (std::isfinite(x) && s.find_first_of(".e") == std::string::npos) s += ".0";  // still a float: 2.0
      return s;
    }
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

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& choices) {
  std::string best;
  std::size_t best_d = 3;  // suggest only close matches
  // Case does not count: `dist = "PERT"` suggests 'pert'.
  auto lower = [](std::string x) {
    for (char& ch : x) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return x;
  };
  for (const auto& c : choices) {
    const std::size_t d = edit_distance(lower(word), lower(c));
    if (d < best_d) best_d = d, best = c;
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
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

//! Shortest text that reads back as the same double ("2", "-0.5", "-inf").
std::string num_text(double x) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

//! A large whole number in plain digits ("6000000", not "6e+06").
std::string count_text(double x) {
  return std::fabs(x) < 9e15 ? std::to_string(static_cast<long long>(std::round(x))) : num_text(x);
}

//! A distribution for messages: a bare number as written, a table as the distribution it makes.
std::string dist_text(const TValue& v, const Distribution& d) {
  return v.is_table() ? d.describe() : value_text(v);
}

const std::vector<std::string> TOP_LEVEL_KEYS = {
    "scenario", "time",    "run",     "output",  "disciplines", "national", "stages",         "project_types", "authorities", "lep",
    "setup",    "partnering", "disputes", "capacity", "costs",     "funding",  "market", "transformation", "exclusivity"};

//! An allowed range for a number; rule text like "must be >= 0" or "must be between 0 and 1".
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  bool holds(double x) const {
    return (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
  }
  std::string rule() const {
    const bool bounded_lo = std::isfinite(lo), bounded_hi = std::isfinite(hi);
    if (bounded_lo && !bounded_hi) return std::string("must be ") + (lo_open ? "> " : ">= ") + num_text(lo);
    if (!bounded_lo && bounded_hi) return std::string("must be ") + (hi_open ? "< " : "<= ") + num_text(hi);
    if (!lo_open && !hi_open) return "must be between " + num_text(lo) + " and " + num_text(hi);
    return std::string("must be ") + (lo_open ? "> " : ">= ") + num_text(lo) + " and " + (hi_open ? "< " : "<= ") +
           num_text(hi);
  }
};

constexpr double INF = std::numeric_limits<double>::infinity();
const Range ANY{};                            // finite is checked for every number
const Range NONNEG{0, INF};
const Range POSITIVE{0, INF, true};
const Range UNIT{0, 1};                       // probabilities, thresholds
const Range OPEN_UNIT{0, 1, true, true};      // levels that go through a logit
const Range EFFECT{0, 1.9};                   // multipliers 1 + e x (x - 0.5) with x in [0, 1] stay > 0
const Range AT_LEAST_ONE{1, INF};
const std::string EFFECT_WHY = " (so that the multiplier 1 + e x (0.5 - q) stays > 0 for q in [0, 1])";

// ---- Lever costs (issue 18; docs/model.md, "Lever costs") --------------------------------
// Accounting only: they change no simulated number. Keys allowed in their tables:
//   national.POOL.cost_per_token_month   GBP m per token-month above funded_capacity, >= 0, default 0
//   national.POOL.funded_capacity        tokens (integer) not costed, 0..capacity, default 0
//   stages.STAGE.cost_per_authority      GBP m per authority, once at the start, >= 0, default 0
//   partnering.practice_cost_per_lep_year  GBP m per mandated practice per LEP-year, >= 0, default 0
const char* const LEVER_COST_KEYS[] = {"cost_per_token_month", "funded_capacity", "cost_per_authority",
                                       "practice_cost_per_lep_year"};
const Range LEVER_COST{0, 1e6};

const std::vector<std::string> PRACTICE_LIST(PRACTICE_NAMES, PRACTICE_NAMES + PRACTICES);
const std::vector<std::string> SCORECARD_WEIGHTS = {"cost", "quality", "time", "volume"};

class Parser {
 public:
  Parser(std::string path) : path_(std::move(path)) {}

  Scenario parse(const std::string& text);

 private:
  std::string path_;
  std::vector<Diagnostic> diags_;
  const TValue* root_ = nullptr;  //!< problems located at the root concern the whole file: line 0

  //! Files read, each with its rank: the bases named by `base` (deepest first), then this file.
  std::map<std::string, int> file_rank_;

  int line_of(const TValue& v) const { return &v == root_ ? 0 : static_cast<int>(v.location().line()); }
  //! The file a value was written in: with `base`, a value may come from a base file.
  std::string file_of(const TValue& v) const {
    if (&v == root_) return path_;
    std::string f = v.location().file_name();  // (location() is a temporary)
    return file_rank_.count(f) ? f : path_;
  }
  int rank_of(const TValue& v) const { return file_rank_.count(file_of(v)) ? file_rank_.at(file_of(v)) : 0; }
  void error(const TValue& at, const std::string& key, const std::string& value, const std::string& rule) {
    diags_.push_back({file_of(at), line_of(at), key, value, rule});
  }
  TValue read_toml(const std::string& text, const std::string& path) const;
  TValue with_bases(TValue root, const std::string& path, std::vector<std::string>& chain, Scenario& s);
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
      keyed.push_back({{rank_of(v), line_of(v), static_cast<int>(v.location().column())}, k});
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

  //! A name used as a key or reference: letters, digits, '_' and '-'.
  void check_name(const TValue& at, const std::string& key, const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 64 &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                    });
    if (!ok) error(at, key, quote(name), "names use 1-64 letters, digits, '_' or '-'");
  }

  std::optional<Distribution> distribution(const TValue& v, const std::string& full);
  void check_nonnegative_support(const TValue& v, const std::string& full, const Distribution& d,
                                 bool positive_mean);
  std::vector<double> discipline_table(const TValue& v, const std::string& full, const Scenario& s);

  void parse_meta(const TValue& root, Scenario& s);
  void parse_time(const TValue& root, Scenario& s);
  void parse_plan(const TValue& root, Scenario& s);
  void parse_run(const TValue& root, Scenario& s);
  void parse_disciplines(const TValue& root, Scenario& s);
  void parse_pools(const TValue& root, Scenario& s);
  void parse_lever_costs(const TValue& root, Scenario& s);
  void parse_stages(const TValue& root, Scenario& s);
  void parse_types(const TValue& root, Scenario& s);
  void parse_authorities(const TValue& root, Scenario& s);
  void cross_check(const TValue& root, Scenario& s);

  // Partnership mechanisms (docs/scenario-format.md, "Partnership mechanisms").
  bool number_in(const TValue& t, const std::string& key, const std::string& path, double& out, const Range& r,
                 const std::string& why = "", bool required = false);
  void probability(const TValue& v, const std::string& full, double& out);
  std::optional<int> stage_ref(const TValue& t, const std::string& key, const std::string& path, bool required,
                               const Scenario& s);
  std::vector<int> stage_refs(const TValue& t, const std::string& key, const std::string& path, bool required,
                              const Scenario& s);
  void support_within(const TValue& t, const std::string& key, const std::string& path, Distribution& out, double lo,
                      double hi);
  void nonnegative_distribution(const TValue& t, const std::string& key, const std::string& path, Distribution& out,
                                bool positive);
  void named_numbers(const TValue& t, const std::string& key, const std::string& path,
                     const std::vector<std::string>& names, const std::string& what, double* out, const Range& r);
  const TValue* mechanism(const TValue& root, const std::string& name, std::vector<std::string> keys, bool& enabled);
  void parse_group_setup(const TValue& v, const std::string& path, AuthoritySetup& a);
  void parse_capacity_plan(const TValue& v, const std::string& path, AuthorityGroup& g, const Scenario& s);
  void parse_mechanisms(const TValue& root, Scenario& s);
  void check_funding(Scenario& s);

  std::map<std::string, const TValue*> mechanism_values_;  //!< top-level mechanism tables present
  bool horizon_known_ = false;  //!< [time] gave a valid horizon (the plan is checked against it)
  std::vector<std::pair<const TValue*, std::string>> after_lep_steps_;  //!< plan steps with after_lep = true

  // Lines of named things, for messages from cross-checks.
  std::map<std::string, const TValue*> stage_values_, type_values_;
  std::vector<const TValue*> group_values_;
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
    error(*find(v, "dist"), full + ".dist", quote(*name),
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
void Parser::check_nonnegative_support(const TValue& v, const std::string& full, const Distribution& d,
                                       bool positive_mean) {
  if (d.min_value() < 0.0)
    error(v, full, dist_text(v, d), "can take negative values (lowest " + num_text(d.min_value()) +
                                     "); durations, counts and months must be >= 0" +
                                     (d.kind() == DistKind::Normal ? " (truncate with min = 0)" : ""));
  else if (positive_mean && !(d.max_value() > 0.0))
    error(v, full, dist_text(v, d), "must be > 0");
}

std::vector<double> Parser::discipline_table(const TValue& v, const std::string& full, const Scenario& s) {
  std::vector<double> out(s.disciplines.size(), 0.0);
  if (!v.is_table()) {
    error_at(v, full, "must be a table of discipline = FTE, e.g. { client = 2, design = 1.5 }");
    return out;
  }
  for (const auto& [k, fte] : v.as_table()) {
    const auto it = std::find(s.disciplines.begin(), s.disciplines.end(), k);
    if (it == s.disciplines.end()) {
      error(fte, full + "." + k, value_text(fte),
            "unknown discipline" + did_you_mean(k, s.disciplines) +
                (s.disciplines.empty() ? "; no disciplines are declared (disciplines = [...] goes above the first [table] header)"
                                       : "; declared: " + join(s.disciplines)));
      continue;
    }
    auto x = number_value(fte, full + "." + k);
    if (!x) continue;
    if (*x < 0) {
      error_at(fte, full + "." + k, "must be >= 0 FTE");
      continue;
    }
    if (*x > 1e6) {
      error_at(fte, full + "." + k, "must be <= 1e6 FTE");
      continue;
    }
    out[static_cast<std::size_t>(it - s.disciplines.begin())] = *x;
  }
  return out;
}

void Parser::parse_meta(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "scenario", "", true);
  if (!t) return;
  check_keys(*t, "scenario", {"name", "description", "plan"});
  s.name = string(*t, "name", "scenario", true).value_or("");
  s.description = string(*t, "description", "scenario", false).value_or("");
}

void Parser::parse_time(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "time", "", true);
  if (!t) return;
  check_keys(*t, "time", {"start", "step_months", "horizon_months"});
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
  // step_months defaults to one month (docs/model.md, "Time steps").
  const auto step = find(*t, "step_months") ? number(*t, "step_months", "time", true) : std::optional<double>(1.0);
  const auto horizon = number(*t, "horizon_months", "time", true);
  if (step && !(*step > 0 && *step <= 12)) error_at(*find(*t, "step_months"), "time.step_months", "must be > 0 and <= 12");
  if (horizon && !(*horizon > 0)) error_at(*find(*t, "horizon_months"), "time.horizon_months", "must be > 0");
  if (step && horizon && *step > 0 && *horizon > 0) {
    const double steps = std::max(1.0, std::ceil(*horizon / *step - 1e-9));  // a sliver of a step is a step
    if (steps > 1e6)
      error_at(*find(*t, "horizon_months"), "time.horizon_months",
               "gives " + count_text(steps) + " steps of " + num_text(*step) + " months; at most 1000000 steps");
    else {
      s.time.step_months = *step;
      s.time.horizon_months = *horizon;
      s.time.steps = static_cast<int>(steps);
      horizon_known_ = true;
    }
  }
}

//! `[scenario] plan = [[month, cumulative_projects], ...]`: the stated plan the runs are
//! drawn against (docs/scenario-format.md). Checked after [time], for the horizon.
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
    if (month) {
      if (!(*month > 0) || (horizon_known_ && *month > s.time.horizon_months))
        error_at(mv, pk + "[0]",
                 horizon_known_ ? "must be > 0 and <= time.horizon_months (" + num_text(s.time.horizon_months) +
                                      "): months from the start"
                                : "must be > 0: months from the start");
      else if (!plan.empty() && !(*month > plan.back()[0]))
        error_at(mv, pk + "[0]",
                 "must be later than the previous point's month (" + num_text(plan.back()[0]) + "): list the plan in time order");
    }
    if (count) {
      if (*count < 0) error_at(cv, pk + "[1]", "must be >= 0 projects");
      else if (!plan.empty() && *count < plan.back()[1])
        error_at(cv, pk + "[1]",
                 "must be >= the previous point's count (" + num_text(plan.back()[1]) +
                     "): the plan counts projects completed so far, so it never falls");
    }
    if (month && count) plan.push_back({*month, *count});
  }
  if (diags_.size() == before) s.plan = std::move(plan);
}

void Parser::parse_run(const TValue& root, Scenario& s) {
  if (const TValue* t = table(root, "run", "", false)) {
    check_keys(*t, "run", {"replications", "seed", "durations"});
    if (auto r = integer(*t, "replications", "run", false)) {
      if (*r < 1 || *r > 100'000'000) error_at(*find(*t, "replications"), "run.replications", "must be between 1 and 100000000");
      else s.replications = static_cast<int>(*r);
    }
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
    check_keys(*t, "output", {"per_project", "chunk_replications"});
    if (const TValue* v = find(*t, "per_project")) {
      if (!v->is_boolean()) error_at(*v, "output.per_project", "must be true or false");
      else s.per_project_output = v->as_boolean();
    }
    if (auto c = integer(*t, "chunk_replications", "output", false)) {
      if (*c < 0 || *c > 1'000'000) error_at(*find(*t, "chunk_replications"), "output.chunk_replications", "must be between 0 and 1000000");
      else s.chunk_replications = static_cast<int>(*c);
    }
  }
}

void Parser::parse_disciplines(const TValue& root, Scenario& s) {
  auto names = string_list(root, "disciplines", "", false);
  if (!names) return;
  for (std::size_t i = 0; i < names->size(); ++i) check_name(find(root, "disciplines")->as_array()[i], "disciplines[" + std::to_string(i) + "]", (*names)[i]);
  s.disciplines = *names;
}

void Parser::parse_pools(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "national", "", false);
  if (!t) return;
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& pv = *find(*t, name);
    const std::string path = "national." + name;
    check_name(pv, path, name);
    if (!pv.is_table()) {
      error_at(pv, path, "must be a table like [national." + name + "] capacity = 8");
      continue;
    }
    check_keys(pv, path, {"capacity", LEVER_COST_KEYS[0], LEVER_COST_KEYS[1]});
    NationalPool pool{name, 0};
    if (auto c = integer(pv, "capacity", path, true)) {
      if (*c < 1 || *c > 1'000'000) error_at(*find(pv, "capacity"), path + ".capacity", "must be between 1 and 1000000 tokens");
      else pool.capacity = static_cast<int>(*c);
    }
    s.pools.push_back(pool);
  }
}

// Lever costs, read after every table they live in is parsed (see LEVER_COST_KEYS).
void Parser::parse_lever_costs(const TValue& root, Scenario& s) {
  if (const TValue* t = table(root, "national", "", false))
    for (NationalPool& pool : s.pools) {
      const TValue* pv = find(*t, pool.name);
      if (!pv || !pv->is_table()) continue;
      const std::string path = "national." + pool.name;
      number_in(*pv, LEVER_COST_KEYS[0], path, pool.cost_per_token_month, LEVER_COST);
      if (auto c = integer(*pv, LEVER_COST_KEYS[1], path, false)) {
        if (*c < 0 || *c > pool.capacity)
          error_at(*find(*pv, LEVER_COST_KEYS[1]), path + "." + LEVER_COST_KEYS[1],
                   "must be between 0 and the pool's capacity (" + std::to_string(pool.capacity) + " tokens)");
        else pool.funded_capacity = static_cast<int>(*c);
      }
    }
  if (const TValue* t = table(root, "stages", "", false))
    for (Stage& st : s.stages)
      if (const TValue* sv = find(*t, st.name); sv && sv->is_table())
        number_in(*sv, LEVER_COST_KEYS[2], "stages." + st.name, st.cost_per_authority, LEVER_COST);
  if (auto it = mechanism_values_.find("partnering"); it != mechanism_values_.end())
    number_in(*it->second, LEVER_COST_KEYS[3], "partnering", s.mechanisms.partnering.practice_cost_per_lep_year, LEVER_COST);
}

void Parser::parse_stages(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "stages", "", true);
  if (!t) return;
  if (t->as_table().empty()) error(*t, "stages", "", "at least one stage is required");
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& sv = *find(*t, name);
    const std::string path = "stages." + name;
    check_name(sv, path, name);
    if (!sv.is_table()) {
      error_at(sv, path, "must be a table ([stages." + name + "])");
      continue;
    }
    check_keys(sv, path, {"work", "planned", "demand", "after", "national", "earliest_month", "after_authority", LEVER_COST_KEYS[2]});
    Stage st;
    st.name = name;
    stage_values_[name] = &sv;
    if (const TValue* w = find(sv, "work")) {
      if (auto d = distribution(*w, path + ".work")) {
        check_nonnegative_support(*w, path + ".work", *d, true);
        st.work = *d;
      }
    } else {
      error(sv, path + ".work", "", "required: the stage's work content in months at full resourcing");
    }
    if (auto p = number(sv, "planned", path, false)) {
      if (!(*p > 0)) error_at(*find(sv, "planned"), path + ".planned", "must be > 0 months");
      st.planned = *p;
    }
    if (const TValue* d = find(sv, "demand")) st.demand = discipline_table(*d, path + ".demand", s);
    else st.demand.assign(s.disciplines.size(), 0.0);
    auto after = string_list(sv, "after", path, false);
    st.after_given = after.has_value() || find(sv, "after") != nullptr;
    stage_after_names_.push_back(after.value_or(std::vector<std::string>{}));
    stage_pool_names_.push_back(string(sv, "national", path, false).value_or(""));
    stage_milestone_names_.push_back(string(sv, "after_authority", path, false).value_or(""));
    if (auto e = number(sv, "earliest_month", path, false)) {
      if (*e < 0) error_at(*find(sv, "earliest_month"), path + ".earliest_month", "must be >= 0");
      st.earliest_month = *e;
    }
    s.stages.push_back(std::move(st));
  }
  // References among stages, now that every name is known.
  std::vector<std::string> stage_names;
  for (const auto& st : s.stages) stage_names.push_back(st.name);
  auto index_of = [&](const std::string& n) {
    return static_cast<int>(std::find(stage_names.begin(), stage_names.end(), n) - stage_names.begin());
  };
  for (std::size_t i = 0; i < s.stages.size(); ++i) {
    Stage& st = s.stages[i];
    const TValue& sv = *stage_values_[st.name];
    const std::string path = "stages." + st.name;
    for (const auto& p : stage_after_names_[i]) {
      const int j = index_of(p);
      if (j == static_cast<int>(stage_names.size()))
        error(*find(sv, "after"), path + ".after", quote(p),
              "unknown predecessor stage" + did_you_mean(p, stage_names) + "; stages: " + join(stage_names));
      else if (j == static_cast<int>(i))
        error(*find(sv, "after"), path + ".after", quote(p), "a stage cannot follow itself");
      else st.after.push_back(j);
    }
    if (const auto& pn = stage_pool_names_[i]; !pn.empty()) {
      auto it = std::find_if(s.pools.begin(), s.pools.end(), [&](const NationalPool& p) { return p.name == pn; });
      if (it == s.pools.end()) {
        std::vector<std::string> pools;
        for (const auto& p : s.pools) pools.push_back(p.name);
        error(*find(sv, "national"), path + ".national", quote(pn),
              "unknown national capacity pool" + did_you_mean(pn, pools) +
                  (pools.empty() ? "; declare it as [national." + pn + "] capacity = N" : "; pools: " + join(pools)));
      } else {
        st.national_pool = static_cast<int>(it - s.pools.begin());
      }
    }
    if (const auto& mn = stage_milestone_names_[i]; !mn.empty()) {
      const int j = index_of(mn);
      if (j == static_cast<int>(stage_names.size()))
        error(*find(sv, "after_authority"), path + ".after_authority", quote(mn),
              "unknown stage" + did_you_mean(mn, stage_names) + "; stages: " + join(stage_names));
      else if (j == static_cast<int>(i))
        error(*find(sv, "after_authority"), path + ".after_authority", quote(mn),
              "a stage cannot wait for itself: no project could ever complete it first");
      else st.authority_milestone = j;
    }
  }
  // Cycles among predecessors: depth-first search, reporting the cycle's path.
  std::vector<int> colour(s.stages.size(), 0);
  std::vector<int> stack;
  std::function<bool(int)> visit = [&](int u) -> bool {
    colour[static_cast<std::size_t>(u)] = 1;
    stack.push_back(u);
    for (int v : s.stages[static_cast<std::size_t>(u)].after) {
      if (colour[static_cast<std::size_t>(v)] == 1) {
        std::string cycle;
        auto from = std::find(stack.begin(), stack.end(), v);
        for (auto it = from; it != stack.end(); ++it) cycle += s.stages[static_cast<std::size_t>(*it)].name + " -> ";
        cycle += s.stages[static_cast<std::size_t>(v)].name;
        const auto& name = s.stages[static_cast<std::size_t>(u)].name;
        error(*find(*stage_values_[name], "after"), "stages." + name + ".after", "",
              "predecessors form a cycle: " + cycle + " (each stage waits for the one after it)");
        return true;
      }
      if (colour[static_cast<std::size_t>(v)] == 0 && visit(v)) return true;
    }
    stack.pop_back();
    colour[static_cast<std::size_t>(u)] = 2;
    return false;
  };
  for (std::size_t i = 0; i < s.stages.size(); ++i)
    if (colour[i] == 0 && visit(static_cast<int>(i))) break;  // one cycle report is enough
}

void Parser::parse_types(const TValue& root, Scenario& s) {
  const TValue* t = table(root, "project_types", "", true);
  if (!t) return;
  if (t->as_table().empty()) error(*t, "project_types", "", "at least one project type is required");
  std::vector<std::string> stage_names;
  for (const auto& st : s.stages) stage_names.push_back(st.name);
  for (const auto& name : keys_in_file_order(*t)) {
    const TValue& tv = *find(*t, name);
    const std::string path = "project_types." + name;
    check_name(tv, path, name);
    type_values_[name] = &tv;
    if (!tv.is_table()) {
      error_at(tv, path, "must be a table ([project_types." + name + "])");
      continue;
    }
    check_keys(tv, path, {"stages", "overrides"});
    ProjectType pt;
    pt.name = name;
    auto listed = string_list(tv, "stages", path, true);
    if (listed && listed->empty()) error_at(*find(tv, "stages"), path + ".stages", "must list at least one stage");
    if (listed && listed->size() > MAX_STAGES_PER_TYPE)
      error_at(*find(tv, "stages"), path + ".stages", "lists more than " + std::to_string(MAX_STAGES_PER_TYPE) + " stages");
    std::vector<int> global;  // local index -> stage index
    if (listed) {
      for (std::size_t i = 0; i < listed->size(); ++i) {
        const auto& sn = (*listed)[i];
        auto it = std::find(stage_names.begin(), stage_names.end(), sn);
        if (it == stage_names.end()) {
          error(find(tv, "stages")->as_array()[i], path + ".stages[" + std::to_string(i) + "]", quote(sn),
                "unknown stage" + did_you_mean(sn, stage_names) + "; stages: " + join(stage_names));
          continue;
        }
        global.push_back(static_cast<int>(it - stage_names.begin()));
      }
    }
    if (global.size() > MAX_STAGES_PER_TYPE) global.clear();
    for (std::size_t li = 0; li < global.size(); ++li) {
      const Stage& st = s.stages[static_cast<std::size_t>(global[li])];
      TypeStage ts{global[li], st.work, st.planned, st.demand, 0};
      if (!st.after_given) {
        if (li > 0) ts.predecessors = std::uint64_t{1} << (li - 1);
      } else {
        for (int p : st.after) {
          auto pos = std::find(global.begin(), global.end(), p);
          if (pos == global.end()) continue;  // predecessors outside the type do not apply to it
          const auto pj = static_cast<std::size_t>(pos - global.begin());
          if (pj > li)
            error(*find(tv, "stages"), path + ".stages", "",
                  "stage '" + st.name + "' is listed before its predecessor '" + s.stages[static_cast<std::size_t>(p)].name +
                      "'; list stages in an order that respects 'after'");
          else ts.predecessors |= std::uint64_t{1} << pj;
        }
      }
      pt.stages.push_back(std::move(ts));
    }
    if (const TValue* ov = table(tv, "overrides", path, false)) {
      for (const auto& [sn, o] : ov->as_table()) {
        const std::string opath = path + ".overrides." + sn;
        auto it = std::find(global.begin(), global.end(),
                            static_cast<int>(std::find(stage_names.begin(), stage_names.end(), sn) - stage_names.begin()));
        if (it == global.end()) {
          error(o, opath, "", "overrides a stage that this type does not list" + did_you_mean(sn, listed.value_or(std::vector<std::string>{})));
          continue;
        }
        if (!o.is_table()) {
          error_at(o, opath, "must be a table of work / planned / demand");
          continue;
        }
        check_keys(o, opath, {"work", "planned", "demand"});
        TypeStage& ts = pt.stages[static_cast<std::size_t>(it - global.begin())];
        if (const TValue* w = find(o, "work"))
          if (auto d = distribution(*w, opath + ".work")) {
            check_nonnegative_support(*w, opath + ".work", *d, true);
            ts.work = *d;
          }
        if (auto p = number(o, "planned", opath, false)) {
          if (!(*p > 0)) error_at(*find(o, "planned"), opath + ".planned", "must be > 0 months");
          ts.planned = *p;
        }
        if (const TValue* d = find(o, "demand")) ts.demand = discipline_table(*d, opath + ".demand", s);
      }
    }
    s.types.push_back(std::move(pt));
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
  for (const auto& t : s.types) type_names.push_back(t.name);
  std::set<std::string> group_names;
  long long total = 0;
  for (std::size_t gi = 0; gi < a->as_array().size(); ++gi) {
    const TValue& gv = a->as_array()[gi];
    std::string path = "authorities[" + std::to_string(gi) + "]";
    group_values_.push_back(&gv);
    if (!gv.is_table()) {
      error_at(gv, path, "must be a table");
      continue;
    }
    check_keys(gv, path, {"name", "count", "entry_month", "schools", "arrivals", "release_interval_months", "mix",
                          "first", "team", "setup", "capacity_plan"});
    AuthorityGroup g;
    g.name = string(gv, "name", path, true).value_or("group" + std::to_string(gi));
    check_name(gv, path + ".name", g.name);
    if (!group_names.insert(g.name).second) {
      const TValue* nv = find(gv, "name");  // absent when the name was defaulted
      error(nv ? *nv : gv, path + ".name", quote(g.name), "duplicate group name");
    }
    if (auto c = integer(gv, "count", path, false)) {
      if (*c < 1 || *c > MAX_AUTHORITIES) error_at(*find(gv, "count"), path + ".count", "must be between 1 and " + std::to_string(MAX_AUTHORITIES));
      else g.count = static_cast<int>(*c);
    }
    total += g.count;
    g.entry_month = Distribution::fixed(0.0);
    if (const TValue* e = find(gv, "entry_month"))
      if (auto d = distribution(*e, path + ".entry_month")) {
        check_nonnegative_support(*e, path + ".entry_month", *d, false);
        g.entry_month = *d;
      }
    const TValue* sc = find(gv, "schools");
    const TValue* ar = find(gv, "arrivals");
    if (sc && ar) error(*ar, path + ".arrivals", "", "give either 'schools' (a count) or 'arrivals' (a Poisson process), not both");
    if (!sc && !ar) error(gv, path + ".schools", "", "required: 'schools' (projects per authority) or 'arrivals'");
    g.schools = Distribution::fixed(0.0);
    if (sc)
      if (auto d = distribution(*sc, path + ".schools")) {
        check_nonnegative_support(*sc, path + ".schools", *d, false);
        if (d->max_value() > MAX_PROJECTS_PER_AUTHORITY - 1)
          error(*sc, path + ".schools", dist_text(*sc, *d), "can exceed " + std::to_string(MAX_PROJECTS_PER_AUTHORITY - 1) + " projects per authority");
        g.schools = *d;
      }
    if (ar) {
      if (!ar->is_table()) error_at(*ar, path + ".arrivals", "must be a table like { rate_per_month = 0.5 }");
      else {
        const std::string apath = path + ".arrivals";
        check_keys(*ar, apath, {"rate_per_month", "start_month", "end_month"});
        ArrivalProcess p;
        p.end_month = s.time.horizon_months;
        if (auto r = number(*ar, "rate_per_month", apath, true)) {
          if (!(*r > 0)) error_at(*find(*ar, "rate_per_month"), apath + ".rate_per_month", "must be > 0");
          p.rate_per_month = *r;
        }
        if (auto v = number(*ar, "start_month", apath, false)) {
          if (*v < 0) error_at(*find(*ar, "start_month"), apath + ".start_month", "must be >= 0");
          p.start_month = *v;
        }
        if (auto v = number(*ar, "end_month", apath, false)) {
          if (*v < 0) error_at(*find(*ar, "end_month"), apath + ".end_month", "must be >= 0");
          p.end_month = *v;
        }
        // Expected count plus 10 sd must stay far below the per-authority entity limit.
        const double mean = p.rate_per_month * std::max(0.0, p.end_month);
        if (mean + 10 * std::sqrt(mean) > MAX_PROJECTS_PER_AUTHORITY - 1)
          error(*ar, apath, "", "expects about " + count_text(mean) +
                                    " projects per authority (rate_per_month x end_month); the expected count plus 10 sd must stay below " +
                                    std::to_string(MAX_PROJECTS_PER_AUTHORITY - 1));
        g.arrivals = p;
      }
    }
    if (auto r = number(gv, "release_interval_months", path, false)) {
      if (*r < 0) error_at(*find(gv, "release_interval_months"), path + ".release_interval_months", "must be >= 0");
      g.release_interval_months = *r;
    }
    g.mix.assign(s.types.size(), 0.0);
    if (const TValue* m = find(gv, "mix")) {
      if (!m->is_table()) error_at(*m, path + ".mix", "must be a table of project_type = share");
      else {
        double sum = 0;
        for (const auto& [tn, w] : m->as_table()) {
          auto it = std::find(type_names.begin(), type_names.end(), tn);
          if (it == type_names.end()) {
            error(w, path + ".mix." + tn, value_text(w), "unknown project type" + did_you_mean(tn, type_names) + "; types: " + join(type_names));
            continue;
          }
          auto x = number_value(w, path + ".mix." + tn);
          if (!x) continue;
          if (*x < 0) {
            error_at(w, path + ".mix." + tn, "must be >= 0");
            continue;
          }
          g.mix[static_cast<std::size_t>(it - type_names.begin())] = *x;
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
    if (const TValue* f = find(gv, "first")) {
      const std::string fpath = path + ".first";
      if (!f->is_table()) error_at(*f, fpath, "must be a table like { type = \"sample\", count = 2 }");
      else {
        check_keys(*f, fpath, {"type", "count"});
        if (auto tn = string(*f, "type", fpath, true)) {
          auto it = std::find(type_names.begin(), type_names.end(), *tn);
          if (it == type_names.end())
            error(*find(*f, "type"), fpath + ".type", quote(*tn), "unknown project type" + did_you_mean(*tn, type_names));
          else g.first_type = static_cast<int>(it - type_names.begin());
        }
        if (auto c = integer(*f, "count", fpath, true)) {
          if (*c < 0 || *c >= MAX_PROJECTS_PER_AUTHORITY) error_at(*find(*f, "count"), fpath + ".count", "must be between 0 and 65535");
          else g.first_count = static_cast<int>(*c);
        }
      }
    }
    if (const TValue* tm = find(gv, "team")) g.team = discipline_table(*tm, path + ".team", s);
    else g.team.assign(s.disciplines.size(), 0.0);
    if (const TValue* sv = find(gv, "setup")) parse_group_setup(*sv, path + ".setup", g.setup);
    if (const TValue* pv = find(gv, "capacity_plan")) parse_capacity_plan(*pv, path + ".capacity_plan", g, s);
    s.groups.push_back(std::move(g));
  }
  if (total > MAX_AUTHORITIES) error(*a, "authorities", std::to_string(total), "more than " + std::to_string(MAX_AUTHORITIES) + " authorities in all");
}

// ---------------------------------------------------------------------------
// Partnership mechanisms: each is on when its top-level table is present
// (docs/scenario-format.md, "Partnership mechanisms"; docs/model.md, same title).

//! An optional number checked against `r`; written to `out` only when valid.
bool Parser::number_in(const TValue& t, const std::string& key, const std::string& path, double& out, const Range& r,
                       const std::string& why, bool required) {
  const auto x = number(t, key, path, required);
  if (!x) return false;
  if (!r.holds(*x)) {
    error_at(*find(t, key), join_key(path, key), r.rule() + why);
    return false;
  }
  out = *x;
  return true;
}

//! A probability in [0, 1], or true (1) / false (0).
void Parser::probability(const TValue& v, const std::string& full, double& out) {
  if (v.is_boolean()) {
    out = v.as_boolean() ? 1.0 : 0.0;
    return;
  }
  if (!v.is_integer() && !v.is_floating()) {
    error_at(v, full, "must be a probability between 0 and 1, or true / false, not " + type_name(v));
    return;
  }
  const auto x = number_value(v, full);
  if (!x) return;
  if (!UNIT.holds(*x)) error_at(v, full, "must be a probability between 0 and 1 (or true / false)");
  else out = *x;
}

std::optional<int> Parser::stage_ref(const TValue& t, const std::string& key, const std::string& path, bool required,
                                     const Scenario& s) {
  const auto name = string(t, key, path, required);
  if (!name) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& st : s.stages) names.push_back(st.name);
  const auto it = std::find(names.begin(), names.end(), *name);
  if (it == names.end()) {
    error(*find(t, key), join_key(path, key), quote(*name), "unknown stage" + did_you_mean(*name, names) + "; stages: " + join(names));
    return std::nullopt;
  }
  return static_cast<int>(it - names.begin());
}

//! A list of stage names (no duplicates) as stage indices; `required` also means at least one.
std::vector<int> Parser::stage_refs(const TValue& t, const std::string& key, const std::string& path, bool required,
                                    const Scenario& s) {
  const auto listed = string_list(t, key, path, required);
  std::vector<int> out;
  if (!listed) return out;
  const std::string full = join_key(path, key);
  if (required && listed->empty()) error_at(*find(t, key), full, "must list at least one stage");
  std::vector<std::string> names;
  for (const auto& st : s.stages) names.push_back(st.name);
  for (std::size_t i = 0; i < listed->size(); ++i) {
    const auto& n = (*listed)[i];
    const auto it = std::find(names.begin(), names.end(), n);
    if (it == names.end())
      error(find(t, key)->as_array()[i], full + "[" + std::to_string(i) + "]", quote(n),
            "unknown stage" + did_you_mean(n, names) + "; stages: " + join(names));
    else out.push_back(static_cast<int>(it - names.begin()));
  }
  return out;
}

//! An optional distribution whose every value lies in [lo, hi] (a quality, a count of activities).
void Parser::support_within(const TValue& t, const std::string& key, const std::string& path, Distribution& out,
                            double lo, double hi) {
  const TValue* v = find(t, key);
  if (!v) return;
  const std::string full = join_key(path, key);
  const auto d = distribution(*v, full);
  if (!d) return;
  if (d->min_value() < lo || d->max_value() > hi) {
    error(*v, full, dist_text(*v, *d),
          "can take values outside [" + num_text(lo) + ", " + num_text(hi) + "] (lowest " + num_text(d->min_value()) +
              ", highest " + num_text(d->max_value()) + ")" + (d->kind() == DistKind::Normal ? "; truncate it with min and max" : ""));
    return;
  }
  out = *d;
}

//! An optional distribution of months or money: support >= 0 (and able to exceed 0 when `positive`).
void Parser::nonnegative_distribution(const TValue& t, const std::string& key, const std::string& path,
                                      Distribution& out, bool positive) {
  const TValue* v = find(t, key);
  if (!v) return;
  const std::string full = join_key(path, key);
  const auto d = distribution(*v, full);
  if (!d) return;
  const std::size_t before = diags_.size();
  check_nonnegative_support(*v, full, *d, positive);
  if (diags_.size() == before) out = *d;
}

//! A table name = number over a fixed set of names (practices, scorecard weights); names not
//! listed keep their value in `out`.
void Parser::named_numbers(const TValue& t, const std::string& key, const std::string& path,
                           const std::vector<std::string>& names, const std::string& what, double* out, const Range& r) {
  const TValue* v = find(t, key);
  if (!v) return;
  const std::string full = join_key(path, key);
  if (!v->is_table()) {
    error_at(*v, full, "must be a table of " + what + " = number, e.g. { " + names[0] + " = " + (r.holds(0.5) ? "0.5" : "1") + " }");
    return;
  }
  for (const auto& [k, x] : v->as_table()) {
    const auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) {
      error(x, full + "." + k, value_text(x), "unknown " + what + did_you_mean(k, names) + "; " + what + "s: " + join(names));
      continue;
    }
    number_in(*v, k, full, out[it - names.begin()], r);
  }
}

//! A mechanism's table: nullptr when absent (the mechanism stays off). `enabled = false`
//! in it switches the mechanism off while keeping (and checking) its values.
const TValue* Parser::mechanism(const TValue& root, const std::string& name, std::vector<std::string> keys,
                                bool& enabled) {
  const TValue* t = table(root, name, "", false);
  if (!t) return nullptr;
  mechanism_values_[name] = t;
  keys.push_back("enabled");
  check_keys(*t, name, keys);
  enabled = true;
  if (const TValue* e = find(*t, "enabled")) {
    if (!e->is_boolean()) error_at(*e, name + ".enabled", "must be true or false");
    else enabled = e->as_boolean();
  }
  return t;
}

void Parser::parse_group_setup(const TValue& v, const std::string& path, AuthoritySetup& a) {
  if (!v.is_table()) {
    error_at(v, path, "must be a table ([authorities.setup], after the group's [[authorities]])");
    return;
  }
  check_keys(v, path, {"planning_quality", "vision_activities", "self_assessment", "vision_count", "shadow_board",
                       "independent_chair", "transition_team", "co_location", "leadership", "practices",
                       "transformation_targets"});
  support_within(v, "planning_quality", path, a.planning_quality, 0.0, 1.0);
  support_within(v, "leadership", path, a.leadership, 0.0, 1.0);

  // PN3's shared vision: one of three ways of saying how many activities are done.
  std::vector<std::pair<std::pair<int, int>, std::string>> given;
  for (const char* k : {"vision_activities", "self_assessment", "vision_count"})
    if (const TValue* x = find(v, k)) given.push_back({{line_of(*x), static_cast<int>(x->location().column())}, k});
  std::sort(given.begin(), given.end());
  for (std::size_t i = 1; i < given.size(); ++i)
    error_at(*find(v, given[i].second), path + "." + given[i].second,
             "give only one of vision_activities, self_assessment and vision_count (" + given[0].second + " is given)");
  if (given.size() == 1) {
    const std::string& k = given[0].second;
    const TValue& x = *find(v, k);
    const std::string full = path + "." + k;
    if (k == "vision_count") {
      support_within(v, k, path, a.vision_count, 0.0, VISION_ACTIVITIES);
    } else if (!x.is_array()) {
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

  const std::pair<const char*, double*> chances[] = {{"shadow_board", &a.shadow_board},
                                                     {"independent_chair", &a.independent_chair},
                                                     {"transition_team", &a.transition_team},
                                                     {"co_location", &a.co_location},
                                                     {"transformation_targets", &a.transformation_targets}};
  for (const auto& [k, out] : chances)
    if (const TValue* x = find(v, k)) probability(*x, path + "." + k, *out);
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

void Parser::parse_capacity_plan(const TValue& v, const std::string& path, AuthorityGroup& g, const Scenario& s) {
  if (!v.is_array() || v.as_array().empty()) {
    error_at(v, path, "must be one or more [[authorities.capacity_plan]] tables");
    return;
  }
  double last[2] = {-1.0, -1.0};  // latest month so far: entry-relative, after_lep
  std::vector<CapacityPlanStep> steps[2];
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    const TValue& e = v.as_array()[i];
    const std::string spath = path + "[" + std::to_string(i) + "]";
    if (!e.is_table()) {
      error_at(e, spath, "must be a table like { month = 12, team = { client = 3 } }");
      continue;
    }
    check_keys(e, spath, {"month", "after_lep", "team"});
    CapacityPlanStep st;
    const bool month_ok = number_in(e, "month", spath, st.month, NONNEG);
    if (const TValue* b = find(e, "after_lep")) {
      if (!b->is_boolean()) error_at(*b, spath + ".after_lep", "must be true or false");
      else st.after_lep = b->as_boolean();
    }
    if (st.after_lep) after_lep_steps_.push_back({find(e, "after_lep"), spath + ".after_lep"});
    if (const TValue* tm = find(e, "team")) st.team = discipline_table(*tm, spath + ".team", s);
    else {
      error(e, spath + ".team", "", "required: the team to aim for from this month, e.g. team = { client = 3 }");
      st.team.assign(s.disciplines.size(), 0.0);
    }
    double& prev = last[st.after_lep ? 1 : 0];
    if (month_ok || !find(e, "month")) {
      if (st.month <= prev) {
        const TValue* m = find(e, "month");
        error(m ? *m : e, spath + ".month", num_text(st.month),
              std::string("must be later than the previous ") + (st.after_lep ? "after_lep" : "entry-relative") +
                  " step's month (" + num_text(prev) + "): list each kind of step in time order");
      }
      prev = std::max(prev, st.month);
    }
    steps[st.after_lep ? 1 : 0].push_back(std::move(st));
  }
  // Canonical order: the entry-relative steps by month, then the after_lep ones.
  g.capacity_plan = std::move(steps[0]);
  for (auto& st : steps[1]) g.capacity_plan.push_back(std::move(st));
}

void Parser::parse_mechanisms(const TValue& root, Scenario& s) {
  Mechanisms& m = s.mechanisms;
  if (const TValue* t = table(root, "lep", "", false)) {
    mechanism_values_["lep"] = t;
    check_keys(*t, "lep", {"formed_at"});
    if (auto st = stage_ref(*t, "formed_at", "lep", true, s)) m.lep_stage = *st;
  }

  if (const TValue* t = mechanism(root, "setup", {"strategy_stages", "procurement_stages", "mobilisation_stages",
                                                  "planning_effect", "vision_effect", "mobilisation_effect"},
                                  m.setup.enabled)) {
    SetupMechanism& x = m.setup;
    // A stage takes one set-up effect.
    std::map<int, std::string> taken;
    const std::pair<const char*, std::vector<int>*> lists[] = {{"strategy_stages", &x.strategy_stages},
                                                               {"procurement_stages", &x.procurement_stages},
                                                               {"mobilisation_stages", &x.mobilisation_stages}};
    for (const auto& [k, out] : lists) {
      *out = stage_refs(*t, k, "setup", false, s);
      for (int st : *out)
        if (auto [it, fresh] = taken.insert({st, k}); !fresh)
          error(*find(*t, k), std::string("setup.") + k, quote(s.stages[static_cast<std::size_t>(st)].name),
                "stage already listed in setup." + it->second + "; a stage takes one set-up effect");
    }
    number_in(*t, "planning_effect", "setup", x.planning_effect, EFFECT, EFFECT_WHY);
    number_in(*t, "vision_effect", "setup", x.vision_effect, EFFECT, EFFECT_WHY);
    number_in(*t, "mobilisation_effect", "setup", x.mobilisation_effect, EFFECT, EFFECT_WHY);
  }

  if (const TValue* t = mechanism(root, "partnering",
                                  {"long_run", "practice_level", "recovery", "practice_recovery", "volatility",
                                   "start_level", "start_vision", "start_governance", "start_mobilisation",
                                   "delay_shock", "overrun_shock", "ontime_boost", "productivity", "mandated_practices",
                                   LEVER_COST_KEYS[3]},
                                  m.partnering.enabled)) {
    PartneringMechanism& x = m.partnering;
    const std::string p = "partnering";
    number_in(*t, "long_run", p, x.long_run, OPEN_UNIT);
    named_numbers(*t, "practice_level", p, PRACTICE_LIST, "practice", x.practice_level, ANY);
    if (const auto listed = string_list(*t, "mandated_practices", p, false))
      for (std::size_t i = 0; i < listed->size(); ++i) {
        const auto& n = (*listed)[i];
        const auto it = std::find(PRACTICE_LIST.begin(), PRACTICE_LIST.end(), n);
        if (it == PRACTICE_LIST.end())
          error(find(*t, "mandated_practices")->as_array()[i], p + ".mandated_practices[" + std::to_string(i) + "]",
                quote(n), "unknown practice" + did_you_mean(n, PRACTICE_LIST) + "; practices: " + join(PRACTICE_LIST));
        else x.mandated |= static_cast<std::uint8_t>(1u << (it - PRACTICE_LIST.begin()));
      }
    const bool r_ok = number_in(*t, "recovery", p, x.recovery, NONNEG) || !find(*t, "recovery");
    const bool pr_ok = number_in(*t, "practice_recovery", p, x.practice_recovery, NONNEG) || !find(*t, "practice_recovery");
    number_in(*t, "volatility", p, x.volatility, NONNEG);
    number_in(*t, "start_level", p, x.start_level, OPEN_UNIT);
    number_in(*t, "start_vision", p, x.start_vision, ANY);
    number_in(*t, "start_governance", p, x.start_governance, ANY);
    number_in(*t, "start_mobilisation", p, x.start_mobilisation, ANY);
    number_in(*t, "delay_shock", p, x.delay_shock, NONNEG);
    number_in(*t, "overrun_shock", p, x.overrun_shock, NONNEG);
    number_in(*t, "ontime_boost", p, x.ontime_boost, NONNEG);
    number_in(*t, "productivity", p, x.productivity, EFFECT, " (so that progress x (1 + productivity x (H - 0.5)) stays > 0)");
    // Euler step of the mean reversion: kappa x dt above 1 overshoots the long-run level.
    const double kappa = x.recovery + PRACTICES * x.practice_recovery;
    if (r_ok && pr_ok && kappa > 1.0 / s.time.step_months) {
      const char* at = find(*t, "practice_recovery") && !find(*t, "recovery") ? "practice_recovery" : "recovery";
      const TValue* v = find(*t, at);
      error(v ? *v : *t, p + "." + at, v ? value_text(*v) : "",
            "recovery + 4 x practice_recovery = " + num_text(kappa) + " per month must be <= 1 / step_months = " +
                num_text(1.0 / s.time.step_months) + ", or health would overshoot its long-run level each step");
    }
  }

  if (const TValue* t = mechanism(root, "disputes", {"base_rate", "health_sensitivity", "months"}, m.disputes.enabled)) {
    DisputeMechanism& x = m.disputes;
    number_in(*t, "base_rate", "disputes", x.base_rate, NONNEG);
    number_in(*t, "health_sensitivity", "disputes", x.health_sensitivity, NONNEG);
    nonnegative_distribution(*t, "months", "disputes", x.months, true);
    if (x.enabled && !m.partnering.enabled)
      error(*t, "disputes", "",
            std::string("[disputes] needs [partnering]: the dispute hazard depends on partnering health; ") +
                (mechanism_values_.count("partnering") ? "[partnering] is switched off (enabled = false)"
                                                       : "add a [partnering] table"));
  }

  if (const TValue* t = mechanism(root, "capacity", {"hiring_lag_months", "attrition", "cost_per_fte_month"},
                                  m.capacity.enabled)) {
    CapacityMechanism& x = m.capacity;
    // A hire due after the horizon never arrives; the cap also bounds the hiring pipeline's memory.
    number_in(*t, "hiring_lag_months", "capacity", x.hiring_lag_months, Range{0, s.time.horizon_months},
              " (time.horizon_months)");
    number_in(*t, "attrition", "capacity", x.attrition, UNIT, " (a fraction per month)");
    number_in(*t, "cost_per_fte_month", "capacity", x.cost_per_fte_month, NONNEG);
  }

  if (const TValue* t = mechanism(root, "costs", {"capital", "delay_overrun", "health_overrun", "lep_setup", "spend_stage"},
                                  m.costs.enabled)) {
    CostMechanism& x = m.costs;
    x.capital.assign(s.types.size(), Distribution::fixed(0.0));
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
          else nonnegative_distribution(*c, tn, "costs.capital", x.capital[static_cast<std::size_t>(it - type_names.begin())], false);
        }
    }
    number_in(*t, "delay_overrun", "costs", x.delay_overrun, NONNEG);
    number_in(*t, "health_overrun", "costs", x.health_overrun, NONNEG);
    nonnegative_distribution(*t, "lep_setup", "costs", x.lep_setup, false);
    if (auto st = stage_ref(*t, "spend_stage", "costs", true, s)) x.spend_stage = *st;
  }

  if (const TValue* t = mechanism(root, "funding", {"annual_envelope", "stages"}, m.funding.enabled)) {
    FundingMechanism& x = m.funding;
    number_in(*t, "annual_envelope", "funding", x.annual_envelope, POSITIVE, " GBP m per programme year", true);
    x.stages = stage_refs(*t, "stages", "funding", true, s);
    if (x.enabled && !m.costs.enabled)
      error(*t, "funding", "",
            std::string("[funding] needs [costs]: the envelope is spent on project capital; ") +
                (mechanism_values_.count("costs") ? "[costs] is switched off (enabled = false)" : "add a [costs] table"));
  }

  if (const TValue* t = mechanism(root, "market", {"stages", "reference_workload", "price_elasticity",
                                                   "duration_elasticity", "max_factor"},
                                  m.market.enabled)) {
    MarketMechanism& x = m.market;
    x.stages = stage_refs(*t, "stages", "market", true, s);
    number_in(*t, "reference_workload", "market", x.reference_workload, POSITIVE);
    number_in(*t, "price_elasticity", "market", x.price_elasticity, NONNEG);
    number_in(*t, "duration_elasticity", "market", x.duration_elasticity, NONNEG);
    number_in(*t, "max_factor", "market", x.max_factor, AT_LEAST_ONE);
  }

  if (const TValue* t = mechanism(root, "transformation", {"base", "leadership_weight", "vision_weight", "health_weight",
                                                           "target_bonus", "target_slowdown", "slowed_stages"},
                                  m.transformation.enabled)) {
    TransformationMechanism& x = m.transformation;
    const std::string p = "transformation", why = " (so that the factor 1 + w x (q - 0.5) stays > 0)";
    number_in(*t, "base", p, x.base, NONNEG);
    number_in(*t, "leadership_weight", p, x.leadership_weight, EFFECT, why);
    number_in(*t, "vision_weight", p, x.vision_weight, EFFECT, why);
    number_in(*t, "health_weight", p, x.health_weight, EFFECT, why);
    number_in(*t, "target_bonus", p, x.target_bonus, NONNEG);
    number_in(*t, "target_slowdown", p, x.target_slowdown, NONNEG);
    x.slowed_stages = stage_refs(*t, "slowed_stages", p, false, s);
  }

  if (const TValue* t = mechanism(root, "exclusivity", {"weights", "threshold", "years", "act_probability",
                                                        "single_procurement_months", "single_cost_premium"},
                                  m.exclusivity.enabled)) {
    ExclusivityMechanism& x = m.exclusivity;
    const std::string p = "exclusivity";
    if (const TValue* w = find(*t, "weights")) {
      // Weights not listed are 0; the rest are normalised to sum 1 (like a group's mix).
      double given[4] = {0, 0, 0, 0};
      const std::size_t before = diags_.size();
      named_numbers(*t, "weights", p, SCORECARD_WEIGHTS, "weight", given, NONNEG);
      const double sum = given[0] + given[1] + given[2] + given[3];
      if (diags_.size() == before && w->is_table()) {
        if (!(sum > 0)) error(*w, p + ".weights", "", "weights must add up to more than 0");
        else {
          x.weight_cost = given[0] / sum;
          x.weight_quality = given[1] / sum;
          x.weight_time = given[2] / sum;
          x.weight_volume = given[3] / sum;
        }
      }
    }
    number_in(*t, "threshold", p, x.threshold, UNIT);
    if (auto y = integer(*t, "years", p, false)) {
      if (*y < 1 || *y > 1'000'000) error_at(*find(*t, "years"), p + ".years", "must be between 1 and 1000000");
      else x.years = static_cast<int>(*y);
    }
    number_in(*t, "act_probability", p, x.act_probability, UNIT);
    nonnegative_distribution(*t, "single_procurement_months", p, x.single_procurement, false);
    number_in(*t, "single_cost_premium", p, x.single_cost_premium, NONNEG);
  }

  // Mechanisms that start when an authority's LEP forms need to know when that is.
  if (m.lep_stage < 0 && !mechanism_values_.count("lep")) {
    std::vector<std::pair<const TValue*, std::string>> users;
    for (const char* k : {"partnering", "disputes", "exclusivity"}) {
      const bool on = (k == std::string("partnering") && m.partnering.enabled) ||
                      (k == std::string("disputes") && m.disputes.enabled) ||
                      (k == std::string("exclusivity") && m.exclusivity.enabled);
      if (on) users.push_back({mechanism_values_.at(k), "[" + std::string(k) + "]"});
    }
    if (m.costs.enabled && m.costs.lep_setup.max_value() > 0)
      users.push_back({find(*mechanism_values_.at("costs"), "lep_setup"), "costs.lep_setup"});
    if (m.capacity.enabled)
      for (const auto& [v, key] : after_lep_steps_) users.push_back({v, key});
    if (!users.empty()) {
      std::stable_sort(users.begin(), users.end(),
                       [&](const auto& a, const auto& b) { return line_of(*a.first) < line_of(*b.first); });
      std::vector<std::string> names;
      for (const auto& u : users) names.push_back(u.second);
      error(*users.front().first, "lep.formed_at", "",
            "required by " + join(names) +
                ": they start when an authority's LEP forms; name the stage whose first completion forms it, "
                "e.g. [lep] formed_at = \"procurement\"");
    }
  }
}

//! Every type's largest possible capital (with the exclusivity premium and the market cap)
//! must fit in one year's envelope, or a project of that type could never start.
void Parser::check_funding(Scenario& s) {
  const Mechanisms& m = s.mechanisms;
  if (!m.funding.enabled || !m.costs.enabled) return;
  const double premium = m.exclusivity.enabled ? 1.0 + m.exclusivity.single_cost_premium : 1.0;
  const double market = m.market.enabled ? m.market.max_factor : 1.0;
  const TValue* env = find(*mechanism_values_.at("funding"), "annual_envelope");
  for (std::size_t ti = 0; ti < s.types.size(); ++ti) {
    const Distribution& c = m.costs.capital[ti];
    const double need = c.max_value() * premium * market;
    if (need <= m.funding.annual_envelope) continue;
    std::string figure = "capital up to " + num_text(c.max_value());
    if (m.exclusivity.enabled) figure += " x (1 + exclusivity.single_cost_premium " + num_text(m.exclusivity.single_cost_premium) + ")";
    if (m.market.enabled) figure += " x market.max_factor " + num_text(m.market.max_factor);
    if (m.exclusivity.enabled || m.market.enabled) figure += " = " + num_text(need);
    error(*env, "funding.annual_envelope", num_text(m.funding.annual_envelope),
          "is less than what one '" + s.types[ti].name + "' project may need (" + figure +
              " GBP m): such a project could never start" +
              (std::isfinite(c.max_value()) ? "" : "; give costs.capital." + s.types[ti].name + " a bounded distribution"));
  }
}

//! Rules that span sections: every demanded discipline is staffed, milestones are reachable.
void Parser::cross_check(const TValue& root, Scenario& s) {
  (void)root;
  std::vector<bool> any_runs(s.stages.size(), false);  // stages some project type runs
  for (const ProjectType& t : s.types)
    for (const TypeStage& ts : t.stages) any_runs[static_cast<std::size_t>(ts.stage)] = true;
  for (std::size_t gi = 0; gi < s.groups.size(); ++gi) {
    const AuthorityGroup& g = s.groups[gi];
    const std::string gpath = "authorities[" + std::to_string(gi) + "]";
    std::vector<bool> reported(s.disciplines.size(), false);  // one message per missing discipline
    // A discipline is supplied by the team, or (with [capacity] on, which hires towards the
    // plan) by any step of the group's capacity plan.
    std::vector<bool> supplied(s.disciplines.size(), false), planned(s.disciplines.size(), false);
    for (std::size_t k = 0; k < s.disciplines.size(); ++k) {
      for (const CapacityPlanStep& st : g.capacity_plan) planned[k] = planned[k] || st.team[k] > 0;
      supplied[k] = g.team[k] > 0 || (planned[k] && s.mechanisms.capacity.enabled);
    }
    std::vector<bool> runs(s.stages.size(), false);           // stages some project of the group may run
    for (std::size_t ti = 0; ti < s.types.size(); ++ti) {
      const bool used = g.mix[ti] > 0 || (g.first_type == static_cast<int>(ti) && g.first_count > 0);
      if (!used) continue;
      for (const TypeStage& ts : s.types[ti].stages) {
        runs[static_cast<std::size_t>(ts.stage)] = true;
        for (std::size_t k = 0; k < s.disciplines.size(); ++k) {
          if (ts.demand[k] > 0 && !supplied[k] && !reported[k]) {
            reported[k] = true;
            const TValue* team = find(*group_values_[gi], "team");
            error(team ? *team : *group_values_[gi], gpath + ".team." + s.disciplines[k], team ? "0" : "",
                  "stage '" + s.stages[static_cast<std::size_t>(ts.stage)].name + "' of project type '" + s.types[ti].name +
                      "' demands " + s.disciplines[k] + " but authority group '" + g.name +
                      "' has no " + s.disciplines[k] + " FTE" +
                      (planned[k] ? " in its team, and its capacity_plan applies only with [capacity] on" : "") +
                      ": its projects would never finish");
          }
        }
      }
    }
    // An authority milestone opens only when a project of the same authority completes
    // that stage, so the group's own project types must run it.
    std::set<int> reported_milestones;
    for (std::size_t si = 0; si < s.stages.size(); ++si) {
      const int m = s.stages[si].authority_milestone;
      if (!runs[si] || m < 0 || runs[static_cast<std::size_t>(m)] || !any_runs[static_cast<std::size_t>(m)] ||
          !reported_milestones.insert(m).second)
        continue;  // (a stage no type runs at all is reported once, below)
      error(*find(*stage_values_[s.stages[si].name], "after_authority"), "stages." + s.stages[si].name + ".after_authority",
            quote(s.stages[static_cast<std::size_t>(m)].name),
            "authority group '" + g.name + "' (" + gpath + ") runs stage '" + s.stages[si].name +
                "' but none of its project types runs '" + s.stages[static_cast<std::size_t>(m)].name +
                "', so the gate would never open for it");
    }
  }
  // A stage gated on an authority milestone needs some type that runs the milestone stage.
  for (const Stage& st : s.stages) {
    if (st.authority_milestone < 0) continue;
    if (!any_runs[static_cast<std::size_t>(st.authority_milestone)])
      error(*find(*stage_values_[st.name], "after_authority"), "stages." + st.name + ".after_authority",
            quote(s.stages[static_cast<std::size_t>(st.authority_milestone)].name),
            "no project type runs that stage, so the gate would never open");
  }
  // The LEP forms when an authority first completes [lep] formed_at: some type must run it.
  if (const int ls = s.mechanisms.lep_stage; ls >= 0 && !any_runs[static_cast<std::size_t>(ls)])
    error(*find(*mechanism_values_.at("lep"), "formed_at"), "lep.formed_at", quote(s.stages[static_cast<std::size_t>(ls)].name),
          "no project type runs that stage, so no LEP would ever form");
  check_funding(s);
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
    return toml::parse<toml::discard_comments, std::map, std::vector>(is, path);
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

//! `base = "FILE"`: the file named (relative to this one) is read first and this one's
//! values are laid over it (docs/scenario-format.md, "Inheriting from a base scenario").
TValue Parser::with_bases(TValue root, const std::string& path, std::vector<std::string>& chain, Scenario& s) {
  if (!root.is_table() || !root.as_table().count("base")) return root;
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
  merge_over(merged, over);
  return merged;
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
  parse_lever_costs(root, s);
  if (diags_.empty()) cross_check(root, s);
  if (!diags_.empty()) {
    std::stable_sort(diags_.begin(), diags_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(file_rank_[a.file], a.line) < std::pair(file_rank_[b.file], b.line);
    });
    throw ScenarioError(std::move(diags_));
  }
  for (std::size_t gi = 0; gi < s.groups.size(); ++gi)
    for (int i = 0; i < s.groups[gi].count; ++i) {
      s.authority_group.push_back(static_cast<int>(gi));
      s.authority_names.push_back(s.groups[gi].count == 1 ? s.groups[gi].name
                                                          : s.groups[gi].name + "-" + std::to_string(i + 1));
    }
  return s;
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& path) { return Parser(path).parse(text); }

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
