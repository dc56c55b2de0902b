#pragma once
// Reading TOML shared by the experiment and calibration files: a value's line and text for
// located messages, and a distribution table in the scenario syntax
// (docs/scenario-format.md), each problem reported through `err(line, key, value, rule)`.

#include <array>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "lepsim/distribution.hpp"
#include "toml_value.hpp"

namespace lepsim::detail {

inline int line_of(const TomlValue& v) { return static_cast<int>(v.location().line()); }

inline std::string value_text(const TomlValue& v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

//! Reads a factor's `distribution = { dist = "...", ... }`, in the scenario syntax
//! (docs/scenario-format.md): each problem located at `key`.<param>.
template <class Err>
std::optional<Distribution> read_distribution(const TomlValue& v, const std::string& key, Err&& err) {
  if (!v.is_table()) {
    err(line_of(v), key, value_text(v),
        "must be a distribution table like { dist = \"triangular\", min = 0.7, mode = 1, max = 1.3 }");
    return std::nullopt;
  }
  const auto& t = v.as_table();
  if (!t.count("dist") || !t.at("dist").is_string()) {
    err(line_of(v), key + ".dist", "", "a distribution needs dist = \"<kind>\" (a string)");
    return std::nullopt;
  }
  const std::string name = t.at("dist").as_string().str;
  const auto kind = Distribution::kind_from_name(name);
  if (!kind) {
    err(line_of(t.at("dist")), key + ".dist", name,
        "unknown distribution; one of: fixed, uniform, triangular, pert, normal, lognormal, exponential, discrete, "
        "empirical");
    return std::nullopt;
  }
  bool ok = true, unknown = false;
  std::vector<std::string> allowed = {"dist"};
  auto number = [&](const std::string& k, bool required, double fallback) {
    allowed.push_back(k);
    if (!t.count(k)) {
      if (required) err(line_of(v), key + "." + k, "", "required number is missing"), ok = false;
      return fallback;
    }
    const TomlValue& x = t.at(k);
    if (x.is_integer()) return static_cast<double>(x.as_integer());
    if (x.is_floating()) return x.as_floating();
    err(line_of(x), key + "." + k, value_text(x), "must be a number");
    ok = false;
    return fallback;
  };
  auto list = [&](const std::string& k) {
    allowed.push_back(k);
    std::vector<double> out;
    if (!t.count(k)) return err(line_of(v), key + "." + k, "", "required list of numbers is missing"), ok = false, out;
    const TomlValue& a = t.at(k);
    if (!a.is_array()) return err(line_of(a), key + "." + k, value_text(a), "must be a list of numbers"), ok = false, out;
    for (const auto& x : a.as_array()) {
      if (x.is_integer())
        out.push_back(static_cast<double>(x.as_integer()));
      else if (x.is_floating())
        out.push_back(x.as_floating());
      else
        err(line_of(x), key + "." + k, value_text(x), "must be a number"), ok = false;
    }
    return out;
  };
  Distribution d;
  switch (*kind) {
    case DistKind::Discrete: {
      auto values = list("values");
      auto weights = list("weights");
      d = Distribution::discrete(std::move(values), std::move(weights));
      break;
    }
    case DistKind::Empirical: d = Distribution::empirical(list("observations")); break;
    default: {
      std::array<double, 4> p{};
      const auto names = Distribution::param_names(*kind);
      for (std::size_t i = 0; i < names.size(); ++i) {
        const bool optional = (*kind == DistKind::Pert && i == 3) || (*kind == DistKind::Normal && i >= 2);
        const double fallback = *kind == DistKind::Pert ? Distribution::DEFAULT_PERT_LAMBDA
                                : i == 2                ? -Distribution::INF
                                                        : Distribution::INF;
        p[i] = number(std::string(names[i]), !optional, fallback);
      }
      d = *kind == DistKind::Fixed        ? Distribution::fixed(p[0])
          : *kind == DistKind::Uniform    ? Distribution::uniform(p[0], p[1])
          : *kind == DistKind::Triangular ? Distribution::triangular(p[0], p[1], p[2])
          : *kind == DistKind::Pert       ? Distribution::pert(p[0], p[1], p[2], p[3])
          : *kind == DistKind::Normal     ? Distribution::normal(p[0], p[1], p[2], p[3])
          : *kind == DistKind::Lognormal  ? Distribution::lognormal(p[0], p[1])
                                          : Distribution::exponential(p[0]);
      break;
    }
  }
  for (const auto& [k, x] : t)
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string all;
      for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
      err(line_of(x), key + "." + k, value_text(x), "unknown key for a " + name + " distribution (allowed: " + all + ")");
      unknown = true;
    }
  if (!ok) return std::nullopt;  // a parameter missing or not a number: its rules would only add noise
  bool valid = !unknown;
  for (const ParamError& e : d.validate()) {
    const TomlValue& at = t.count(e.param) ? t.at(e.param) : v;
    err(line_of(at), key + "." + e.param, t.count(e.param) ? value_text(t.at(e.param)) : "", e.rule);
    valid = false;
  }
  if (!valid) return std::nullopt;
  return d;
}

}  // namespace lepsim::detail
