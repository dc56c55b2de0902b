#pragma once
// What the strict TOML readers of calibration's files share (the record, lepsim/record.hpp;
// the calibration file, lepsim/calibrate.hpp): parsing with invalid TOML located, and every
// problem collected as a Diagnostic `file:line: key = value: rule`, thrown at once.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "scenario_internal.hpp"
#include "toml_value.hpp"

namespace lepsim::detail {

class TomlReader {
 protected:
  using V = TomlValue;

  explicit TomlReader(std::string path) : path_(std::move(path)) {}

  std::string path_;
  std::vector<Diagnostic> diags_;

  //! Parses `text`; invalid TOML is one located ScenarioError.
  V parse(const std::string& text) {
    try {
      std::istringstream is(text);
      return parse_toml(is, path_);
    } catch (const toml::syntax_error& e) {
      const std::string what = e.what();
      static const std::regex line(R"(\n *([0-9]+) \|)");
      std::smatch m;
      std::string first = what.substr(0, what.find('\n'));
      if (const auto tag = first.find("[error] "); tag != std::string::npos) first = first.substr(tag + 8);
      throw ScenarioError(
          {{path_, std::regex_search(what, m, line) ? std::stoi(m[1]) : 0, "", "", "invalid TOML: " + first}});
    }
  }
  //! Throws every problem found so far, by line.
  void finish() {
    if (diags_.empty()) return;
    std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    throw ScenarioError(diags_);
  }

  static int line_of(const V& v) { return static_cast<int>(v.location().line()); }
  static std::string text_of(const V& v) {
    if (v.is_string()) return "\"" + v.as_string().str + "\"";
    std::ostringstream os;
    os << v;
    std::string s = os.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }
  void fail(int line, const std::string& key, const std::string& value, const std::string& rule) {
    diags_.push_back({path_, line, key, value, rule});
  }
  void fail_at(const V& v, const std::string& key, const std::string& rule) { fail(line_of(v), key, text_of(v), rule); }

  //! Unknown keys of `table`, each with the allowed ones and the closest of them.
  void check_keys(const V& table, const std::string& prefix, const std::vector<std::string>& allowed) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    for (const auto& [k, v] : table.as_table())
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        fail(line_of(v), prefix + k, "", "unknown key (allowed: " + list + ")" + did_you_mean(k, allowed));
  }
  static const V* find(const V& t, const std::string& k) {
    const auto& tab = t.as_table();
    const auto it = tab.find(k);
    return it == tab.end() ? nullptr : &it->second;
  }
  std::optional<std::string> string(const V& t, const std::string& k, const std::string& key) {
    const V* v = find(t, k);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      fail_at(*v, key, "must be a string");
      return std::nullopt;
    }
    return v->as_string().str;
  }
  //! The index of the string at `k` among `names`; a message naming them when it is none.
  std::optional<std::size_t> choice(const V& t, const std::string& k, const std::string& key,
                                    const std::vector<std::string>& names) {
    const auto v = string(t, k, key);
    if (!v) return std::nullopt;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (*v == names[i]) return i;
    std::string list;
    for (std::size_t i = 0; i < names.size(); ++i)
      list += (i == 0 ? "\"" : i + 1 == names.size() ? " or \"" : ", \"") + names[i] + "\"";
    fail_at(*find(t, k), key, "must be " + list + did_you_mean(*v, names));
    return std::nullopt;
  }
  std::optional<double> number(const V& t, const std::string& k, const std::string& key) {
    const V* v = find(t, k);
    if (!v) return std::nullopt;
    double x;
    if (v->is_integer())
      x = static_cast<double>(v->as_integer());
    else if (v->is_floating())
      x = v->as_floating();
    else {
      fail_at(*v, key, "must be a number");
      return std::nullopt;
    }
    if (!std::isfinite(x)) {
      fail_at(*v, key, "must be finite");
      return std::nullopt;
    }
    return x;
  }
};

}  // namespace lepsim::detail
