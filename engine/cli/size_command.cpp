// `lepsim size`: the cheapest capacity plan that reaches a target probability of finishing
// by a month (engine/include/lepsim/sizing.hpp, docs/sizing.md). Parses the command line,
// calls size_capacity, prints and writes the answer.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "lepsim/error.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/sizing.hpp"

namespace lepsim::cli {
namespace {

const char* SIZE_HELP = R"(lepsim size SCENARIO.toml --by MONTH [options] -o PLAN.toml

Finds the cheapest capacity plan - FTE by discipline, before and after the LEP
forms (or one team for the whole programme) - for one authority group such that
P(the chosen projects all finish by MONTH) >= --probability. The search runs on
common random numbers (--seed); a refinement on fresh selection streams
(--selection-seed) then moves to any cheaper one-step-smaller plan whose lower
bound reaches the target. The answer is certified on a third, independent set
of streams (--certify-seed), never used for a choice, with a one-sided
Clopper-Pearson lower bound, and each one-step-smaller plan is shown there to
fall short (its upper bound below the target). Undecided plans (bounds either
side of the target) get doubled replications up to --max-certify-replications. Writes PLAN.toml, a variant (base = SCENARIO) that `lepsim run` takes
as it is, and the search trace (every plan simulated) as CSV.

Exit codes: 0 certified plan written; 7 no plan within the bounds reaches the
target (nothing written); 8 a plan was found and written but the fresh streams
did not certify it (raise --search-replications or --certify-replications).

Examples:
  lepsim size scenarios/authority-capacity.toml --by 120 -o plan.toml
  lepsim size scenarios/authority-capacity.toml --by 120 --probability 0.9 --step 0.5 \
      --max design=20 --max client=12 -o plan90.toml --json
)";

//! DISC=V pairs into a per-discipline vector (defaults elsewhere).
std::vector<double> bounds(const std::vector<std::string>& pairs, const Scenario& sc, double fill, const char* flag) {
  std::vector<double> out(sc.disciplines.size(), fill);
  for (const std::string& p : pairs) {
    const auto eq = p.find('=');
    std::size_t k = 0;
    while (eq != std::string::npos && k < sc.disciplines.size() && sc.disciplines[k] != p.substr(0, eq)) ++k;
    if (eq == std::string::npos || k == sc.disciplines.size())
      throw UsageError(std::string(flag) + " " + p + ": give DISCIPLINE=FTE with a discipline of the scenario");
    try {
      std::size_t used = 0;
      out[k] = std::stod(p.substr(eq + 1), &used);
      if (used != p.size() - eq - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw UsageError(std::string(flag) + " " + p + ": the FTE must be a number");
    }
  }
  return out;
}

std::string plan_text(const SizingResult& r, const PlanEvaluation& e) {
  std::ostringstream o;
  const std::size_t D = r.disciplines.size();
  for (std::size_t ph = 0; ph < r.phase_names.size(); ++ph) {
    o << "  " << r.phase_names[ph] << ":";
    for (std::size_t k = 0; k < D; ++k) o << " " << r.disciplines[k] << " " << e.fte[ph * D + k];
    o << "\n";
  }
  return o.str();
}

std::string json_eval(const PlanEvaluation& e) {
  std::ostringstream o;
  o.precision(10);
  o << "{\"fte\": [";
  for (std::size_t i = 0; i < e.fte.size(); ++i) o << (i ? ", " : "") << e.fte[i];
  o << "], \"seed\": " << e.seed << ", \"replications\": " << e.replications << ", \"successes\": " << e.successes
    << ", \"probability\": " << e.probability << ", \"lower\": " << e.lower << ", \"upper\": " << e.upper
    << ", \"fte_months\": " << e.fte_months << ", \"cost\": " << e.cost << "}";
  return o.str();
}

std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

void size_options(po::options_description& opts) {
  opts.add_options()("by", po::value<double>(), "target month from the programme start (required)")(
      "probability,p", po::value<double>()->default_value(0.8, "0.8"), "target P(all chosen projects finish by --by)")(
      "projects", po::value<std::string>()->default_value("all"),
      "which projects must finish: all, authority:NAME or type:NAME")("output,o", po::value<std::string>(),
                                                                      "PLAN.toml to write (required)")(
      "group", po::value<std::string>(), "authority group to size (default: the scenario's only group)")(
      "phases", po::value<std::string>()->default_value("auto"), "auto, lep (before/after the LEP forms) or single")(
      "step", po::value<double>()->default_value(1.0, "1"), "FTE step of the search (e.g. 0.5)")(
      "min", po::value<std::vector<std::string>>()->composing(),
      "DISCIPLINE=FTE lower bound, each phase (repeatable; default 0)")(
      "max", po::value<std::vector<std::string>>()->composing(),
      "DISCIPLINE=FTE upper bound, each phase (repeatable; "
      "default max(30, 4 x the scenario's largest))")("search-replications", po::value<int>()->default_value(500),
                                                      "replications per plan in the search")(
      "certify-replications", po::value<int>()->default_value(2000),
      "first size of each fresh-stream evaluation (selection, certificate, neighbours)")(
      "max-certify-replications", po::value<int>()->default_value(16000),
      "cap of the doubling of undecided plans on fresh streams")(
      "seed,s", po::value<std::uint64_t>(), "seed of the search streams (default: the scenario's)")(
      "selection-seed", po::value<std::uint64_t>(), "seed of the refinement's streams (default: derived)")(
      "certify-seed", po::value<std::uint64_t>(), "seed of the certificate's streams (default: derived, never another's)")(
      "confidence", po::value<double>()->default_value(0.95, "0.95"), "one-sided level of the bounds")(
      "max-evaluations", po::value<int>()->default_value(400), "most plans the search simulates")(
      "trace", po::value<std::string>(), "search trace CSV (default: PLAN's name with .trace.csv)")(
      "threads,t", po::value<int>()->default_value(0), "worker threads; 0 uses every core")(
      "json", "print the answer as JSON on stdout instead of text")(
      "force,f", "overwrite PLAN.toml and the trace if they exist");
}

int cmd_size(const po::variables_map& vm) {
  const auto files = operands(vm, SIZE);
  if (files.size() != 1)
    throw UsageError("size needs a scenario file: lepsim size SCENARIO.toml --by MONTH -o PLAN.toml");
  if (!vm.count("by")) throw UsageError("size needs --by MONTH, the month by which the projects must finish");
  if (!vm.count("output")) throw UsageError("size needs -o PLAN.toml, the plan to write");
  const std::string path = files[0], out = vm["output"].as<std::string>();
  const std::string trace = vm.count("trace") ? vm["trace"].as<std::string>()
                                              : (std::filesystem::path(out).replace_extension("").string() + ".trace.csv");
  const bool force = vm.count("force") > 0;
  for (const std::string& f : {out, trace})
    if (!force && std::filesystem::exists(f)) throw OutputError(f + " exists; use --force to overwrite it");
  const Scenario sc = load_scenario(path);

  SizingOptions o;
  o.by_month = vm["by"].as<double>();
  o.probability = vm["probability"].as<double>();
  o.projects = vm["projects"].as<std::string>();
  if (vm.count("group")) o.group = vm["group"].as<std::string>();
  const std::string ph = vm["phases"].as<std::string>();
  if (ph == "auto")
    o.phases = SizingPhases::AUTO;
  else if (ph == "lep")
    o.phases = SizingPhases::LEP;
  else if (ph == "single")
    o.phases = SizingPhases::SINGLE;
  else
    throw UsageError("--phases " + ph + ": give auto, lep or single");
  o.step = vm["step"].as<double>();
  if (vm.count("min")) o.min_fte = bounds(vm["min"].as<std::vector<std::string>>(), sc, 0.0, "--min");
  if (vm.count("max")) {
    // Unnamed disciplines keep the default maximum.
    std::vector<double> dflt(sc.disciplines.size());
    const AuthorityGroup& g = sc.groups[static_cast<std::size_t>(sizing_group(sc, o.group))];
    for (std::size_t k = 0; k < dflt.size(); ++k) {
      double current = g.team[k];
      for (const auto& st : g.capacity_plan) current = std::max(current, st.team[k]);
      dflt[k] = std::max(30.0, 4 * current);
    }
    o.max_fte = bounds(vm["max"].as<std::vector<std::string>>(), sc, -1.0, "--max");
    for (std::size_t k = 0; k < dflt.size(); ++k)
      if (o.max_fte[k] < 0) o.max_fte[k] = dflt[k];
  }
  o.search_replications = vm["search-replications"].as<int>();
  o.certify_replications = vm["certify-replications"].as<int>();
  o.max_certify_replications = vm["max-certify-replications"].as<int>();
  if (vm.count("seed")) o.search_seed = vm["seed"].as<std::uint64_t>();
  if (vm.count("selection-seed")) o.selection_seed = vm["selection-seed"].as<std::uint64_t>();
  if (vm.count("certify-seed")) o.certify_seed = vm["certify-seed"].as<std::uint64_t>();
  o.confidence = vm["confidence"].as<double>();
  o.max_evaluations = vm["max-evaluations"].as<int>();
  o.threads = vm["threads"].as<int>();
  if (o.threads < 0) throw UsageError("--threads must be 0 (all cores) or more");

  const SizingResult r = size_capacity(sc, o);
  const std::size_t D = r.disciplines.size();
  const PlanEvaluation& c = r.certificate;

  // The trace: every plan simulated, in order.
  {
    std::ofstream t(trace);
    if (!t) throw OutputError("cannot write the trace " + trace);
    t << "index,purpose,seed,replications,successes,probability,lower,upper,fte_months,cost,feasible";
    for (const auto& pn : r.phase_names)
      for (const auto& d : r.disciplines) t << "," << d << " (" << pn << ")";
    t << "\n";
    t.precision(10);
    for (const auto& row : r.trace) {
      const PlanEvaluation& e = row.eval;
      t << row.index << "," << row.purpose << "," << e.seed << "," << e.replications << "," << e.successes << ","
        << e.probability << "," << e.lower << "," << e.upper << "," << e.fte_months << "," << e.cost << ","
        << (row.feasible ? 1 : 0);
      for (double f : e.fte) t << "," << f;
      t << "\n";
    }
    if (!t) throw OutputError("cannot write the trace " + trace);
  }
  // PLAN.toml: base names the scenario relative to the plan's folder.
  {
    std::error_code ec;
    const auto dir = std::filesystem::absolute(out).parent_path();
    std::filesystem::path base = std::filesystem::relative(std::filesystem::absolute(path), dir, ec);
    if (ec || base.empty()) base = std::filesystem::absolute(path);
    std::ostringstream note;
    note << "Capacity plan sized by: lepsim size " << path << " --by " << o.by_month << " --probability " << o.probability
         << " --projects " << o.projects << " --step " << o.step << "\n";
    note << "Group '" << r.group << "'; P(all by month " << o.by_month << ") on fresh streams " << c.successes << "/"
         << c.replications << " = " << c.probability << ", one-sided " << o.confidence * 100 << "% bounds [" << c.lower
         << ", " << c.upper << "]" << (r.certified ? ", certified" : ", NOT certified") << "\n";
    note << "Cost " << c.fte_months << " FTE-months x " << r.cost_per_fte_month << " GBP m = " << c.cost << " GBP m\n"
         << plan_text(r, c);
    const std::string text =
        plan_toml(apply_capacity_plan(sc, sizing_group(sc, o.group), o.phases, c.fte), base.string(), note.str());
    const std::string tmp = out + ".tmp";
    {
      std::ofstream f(tmp);
      f << text;
      if (!f) throw OutputError("cannot write " + out);
    }
    std::filesystem::rename(tmp, out, ec);
    if (ec) throw OutputError("cannot write " + out + ": " + ec.message());
  }

  if (vm.count("json")) {
    std::ostringstream j;
    j.precision(10);
    j << "{\"scenario\": " << quoted(path) << ", \"group\": " << quoted(r.group) << ", \"by_month\": " << r.by_month
      << ", \"probability\": " << r.probability << ", \"confidence\": " << r.confidence
      << ", \"projects\": " << quoted(r.projects) << ", \"step\": " << r.step << ", \"phases\": [";
    for (std::size_t i = 0; i < r.phase_names.size(); ++i) j << (i ? ", " : "") << quoted(r.phase_names[i]);
    j << "], \"disciplines\": [";
    for (std::size_t i = 0; i < D; ++i) j << (i ? ", " : "") << quoted(r.disciplines[i]);
    j << "], \"cost_per_fte_month\": " << r.cost_per_fte_month << ", \"certified\": " << (r.certified ? "true" : "false")
      << ", \"search\": " << json_eval(r.search) << ", \"selection\": " << json_eval(r.selection)
      << ", \"selection_target\": " << r.selection_target << ", \"refinement_moves\": " << r.refinement_moves << ", \"certificate\": " << json_eval(c) << ", \"neighbours\": [";
    for (std::size_t i = 0; i < r.neighbours.size(); ++i) {
      const auto& n = r.neighbours[i];
      j << (i ? ", " : "") << "{\"phase\": " << quoted(r.phase_names[static_cast<std::size_t>(n.phase)])
        << ", \"discipline\": " << quoted(r.disciplines[static_cast<std::size_t>(n.discipline)])
        << ", \"at_bound\": " << (n.at_bound ? "true" : "false")
        << ", \"shown_short\": " << (n.shown_short ? "true" : "false")
        << ", \"shown_enough\": " << (n.shown_enough ? "true" : "false")
        << ", \"undecided\": " << (n.undecided() ? "true" : "false");
      if (!n.at_bound) j << ", \"eval\": " << json_eval(n.eval);
      j << "}";
    }
    j << "], \"evaluations\": " << r.evaluations << ", \"budget_hit\": " << (r.budget_hit ? "true" : "false")
      << ", \"replications_used\": " << r.replications_used << ", \"seconds\": " << r.seconds
      << ", \"plan\": " << quoted(out) << ", \"trace\": " << quoted(trace) << "}\n";
    std::cout << j.str();
  } else {
    std::printf("lepsim size: %s, group '%s', P(every project [%s] done by month %g) >= %g\n", path.c_str(), r.group.c_str(),
                o.projects.c_str(), o.by_month, o.probability);
    std::printf("plan (FTE, step %g):\n%s", o.step, plan_text(r, c).c_str());
    std::printf("cost:        %.1f FTE-months x %g GBP m = %.3f GBP m (planned team from entry to month %g, mean)\n",
                c.fte_months, r.cost_per_fte_month, c.cost, o.by_month);
    std::printf("search:      %d/%d = %.4f, %g%% bounds [%.4f, %.4f] (seed %llu, common random numbers)\n",
                r.search.successes, r.search.replications, r.search.probability, o.confidence * 100, r.search.lower,
                r.search.upper, static_cast<unsigned long long>(r.search.seed));
    std::printf(
        "selection:   %d/%d = %.4f, %g%% bounds [%.4f, %.4f] (fresh seed %llu, lower bound must reach %.4f, %d "
        "refinement move%s)\n",
        r.selection.successes, r.selection.replications, r.selection.probability, o.confidence * 100, r.selection.lower,
        r.selection.upper, static_cast<unsigned long long>(r.selection.seed), r.selection_target, r.refinement_moves,
        r.refinement_moves == 1 ? "" : "s");
    std::printf("certificate: %d/%d = %.4f, %g%% bounds [%.4f, %.4f] (fresh seed %llu): %s\n", c.successes, c.replications,
                c.probability, o.confidence * 100, c.lower, c.upper, static_cast<unsigned long long>(c.seed),
                r.certified ? "CERTIFIED, lower bound >= target" : "NOT certified, lower bound < target");
    std::printf("one step smaller (certificate streams):\n");
    for (const auto& n : r.neighbours) {
      const std::string name =
          r.disciplines[static_cast<std::size_t>(n.discipline)] + " " + r.phase_names[static_cast<std::size_t>(n.phase)];
      if (n.at_bound)
        std::printf("  %-28s at its lower bound\n", name.c_str());
      else
        std::printf("  %-28s %d/%d = %.4f, bounds [%.4f, %.4f]: %s\n",
                    (name + " -" + std::to_string(o.step).substr(0, 3)).c_str(), n.eval.successes, n.eval.replications,
                    n.eval.probability, n.eval.lower, n.eval.upper,
                    n.shown_short    ? "falls short (upper < target)"
                    : n.shown_enough ? "REACHES the target (lower >= target): the answer may not be the cheapest"
                                     : "undecided at the replication cap");
    }
    std::printf("replications: %lld (%d plans searched%s), %.1f s\n", static_cast<long long>(r.replications_used),
                r.evaluations, r.budget_hit ? ", budget hit" : "", r.seconds);
    std::printf("wrote %s and %s\n", out.c_str(), trace.c_str());
  }
  return r.certified ? 0 : static_cast<int>(ExitCode::NOT_CERTIFIED);
}

}  // namespace

const Command SIZE{"size",
                   "size SCENARIO.toml --by MONTH -o PLAN.toml",
                   "cheapest capacity plan to finish by MONTH",
                   SIZE_HELP,
                   "scenario",
                   1,
                   size_options,
                   cmd_size};

}  // namespace lepsim::cli
