// The fully resolved scenario as canonical TOML: every default filled in and
// every type override applied. It is itself a valid scenario file that runs to
// the same numbers (tests/test_scenario.cpp checks both).

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "lepsim/scenario.hpp"

namespace lepsim {
namespace {

//! Shortest text that reads back as the same double.
std::string num(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else out += c;
  }
  return out + "\"";
}

std::string list(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + num(v[i]);
  return out + "]";
}

std::string dist(const Distribution& d) {
  std::string out = "{ dist = \"" + std::string(Distribution::kind_name(d.kind())) + "\"";
  const auto names = Distribution::param_names(d.kind());
  const auto params = d.params();
  for (std::size_t i = 0; i < params.size() && i < names.size(); ++i) {
    std::string name(names[i]);
    if (d.kind() == DistKind::Normal) {
      if (!std::isfinite(params[i])) continue;  // untruncated side
      if (name == "lower") name = "min";
      if (name == "upper") name = "max";
    }
    out += ", " + name + " = " + num(params[i]);
  }
  if (d.kind() == DistKind::Discrete) out += ", values = " + list(d.values()) + ", weights = " + list(d.weights());
  if (d.kind() == DistKind::Empirical) out += ", values = " + list(d.observations());
  return out + " }";
}

std::string disciplines_table(const std::vector<double>& fte, const std::vector<std::string>& names) {
  std::string out = "{";
  bool first = true;
  for (std::size_t k = 0; k < fte.size(); ++k) {
    if (fte[k] == 0) continue;
    out += (first ? " " : ", ") + names[k] + " = " + num(fte[k]);
    first = false;
  }
  return out + (first ? "}" : " }");
}

}  // namespace

std::string Scenario::resolved_toml() const {
  std::ostringstream o;
  o << "# Fully resolved by lepsim: defaults filled in, type overrides applied.\n";
  // Top-level keys first: after a [table] header TOML would put them inside that table.
  o << "disciplines = [";
  for (std::size_t k = 0; k < disciplines.size(); ++k) o << (k ? ", " : "") << quoted(disciplines[k]);
  o << "]\n\n";
  o << "[scenario]\nname = " << quoted(name) << "\ndescription = " << quoted(description) << "\n\n";
  char start[16];
  std::snprintf(start, sizeof start, "%04d-%02d", time.start_year, time.start_month);
  o << "[time]\nstart = \"" << start << "\"\nstep_months = " << num(time.step_months)
    << "\nhorizon_months = " << num(time.horizon_months) << "  # " << time.steps << " steps\n\n";
  o << "[run]\nreplications = " << replications << "\nseed = " << seed << "\ndurations = \""
    << (durations == DurationBasis::PLANNED ? "planned" : "actual") << "\"\n\n";
  o << "[output]\nper_project = " << (per_project_output ? "true" : "false")
    << "\nchunk_replications = " << chunk_replications << "\n\n";
  for (const auto& p : pools) o << "[national." << p.name << "]\ncapacity = " << p.capacity << "\n\n";
  for (const auto& st : stages) {
    o << "[stages." << st.name << "]\nwork = " << dist(st.work) << "\n";
    if (st.planned) o << "planned = " << num(*st.planned) << "\n";
    o << "demand = " << disciplines_table(st.demand, disciplines) << "\n";
    if (st.after_given) {
      o << "after = [";
      for (std::size_t i = 0; i < st.after.size(); ++i) o << (i ? ", " : "") << quoted(stages[static_cast<std::size_t>(st.after[i])].name);
      o << "]\n";
    }
    if (st.national_pool >= 0) o << "national = " << quoted(pools[static_cast<std::size_t>(st.national_pool)].name) << "\n";
    o << "earliest_month = " << num(st.earliest_month) << "\n";
    if (st.authority_milestone >= 0)
      o << "after_authority = " << quoted(stages[static_cast<std::size_t>(st.authority_milestone)].name) << "\n";
    o << "\n";
  }
  for (const auto& t : types) {
    o << "[project_types." << t.name << "]\nstages = [";
    for (std::size_t i = 0; i < t.stages.size(); ++i) o << (i ? ", " : "") << quoted(stages[static_cast<std::size_t>(t.stages[i].stage)].name);
    o << "]\n";
    for (const auto& ts : t.stages) {
      o << "[project_types." << t.name << ".overrides." << stages[static_cast<std::size_t>(ts.stage)].name << "]\n";
      o << "work = " << dist(ts.work) << "\n";
      if (ts.planned) o << "planned = " << num(*ts.planned) << "\n";
      o << "demand = " << disciplines_table(ts.demand, disciplines) << "\n";
    }
    o << "\n";
  }
  for (const auto& g : groups) {
    o << "[[authorities]]\nname = " << quoted(g.name) << "\ncount = " << g.count << "\nentry_month = " << dist(g.entry_month) << "\n";
    if (g.arrivals)
      o << "arrivals = { rate_per_month = " << num(g.arrivals->rate_per_month) << ", start_month = " << num(g.arrivals->start_month)
        << ", end_month = " << num(g.arrivals->end_month) << " }\n";
    else
      o << "schools = " << dist(g.schools) << "\n";
    o << "release_interval_months = " << num(g.release_interval_months) << "\n";
    o << "mix = {";
    bool first = true;
    for (std::size_t i = 0; i < g.mix.size(); ++i) {
      if (g.mix[i] == 0) continue;
      o << (first ? " " : ", ") << types[i].name << " = " << num(g.mix[i]);
      first = false;
    }
    o << (first ? "}" : " }") << "\n";
    if (g.first_type >= 0) o << "first = { type = " << quoted(types[static_cast<std::size_t>(g.first_type)].name) << ", count = " << g.first_count << " }\n";
    o << "team = " << disciplines_table(g.team, disciplines) << "\n\n";
  }
  return o.str();
}

}  // namespace lepsim
