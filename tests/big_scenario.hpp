#pragma once
// A scenario of about a megabyte with very long lists, shared by the test that it is judged
// correctly (tests/test_parameters.cpp) and the benchmark that times parsing and validating
// it (bench/bench_main.cpp, BM_ParseMegabyteScenario / BM_ValidateMegabyteScenario).

#include <string>

namespace lepsim::testing {

inline constexpr int BIG_STAGES = 10000, BIG_GROUPS = 1000;

//! TOML text: 10,000 stages in one chain of predecessors, [funding] and [market] listing all
//! of them, 1,000 groups, a plan of 5,000 points, a distribution of 5,000 values, 200 disciplines.
inline std::string megabyte_scenario() {
  const int stages = BIG_STAGES, groups = BIG_GROUPS, disciplines = 200, points = 5000;

  std::string t = "disciplines = [";
  for (int k = 0; k < disciplines; ++k) t += (k ? ", \"d" : "\"d") + std::to_string(k) + "\"";
  t += "]\n[scenario]\nname = \"big\"\nplan = [";
  // Long lists one entry a line, as a person writes them: toml11 scans a value's whole line
  // for comments, so one list of 10,000 entries on a single line takes it seconds to read.
  for (int i = 1; i <= points; ++i)
    t += (i > 1 ? ",\n  [" : "[") + std::to_string(i * 0.02) + ", " + std::to_string(i) + "]";
  t += "]\n[time]\nstart = \"2005-04\"\nhorizon_months = 120\n";
  std::string all = "[";
  for (int i = 0; i < stages; ++i) all += (i ? ",\n  \"s" : "\"s") + std::to_string(i) + "\"";
  all += "]";
  t += "[costs]\nspend_stage = \"s0\"\n[funding]\nannual_envelope = 1000\nstages = " + all + "\n[market]\nstages = " + all +
       "\n";
  for (int i = 0; i < stages; ++i)
    t += "[stages.s" + std::to_string(i) + "]\nwork = 1\n" + (i ? "after = [\"s" + std::to_string(i - 1) + "\"]\n" : "");
  t += "[project_types.p]\nstages = [";
  for (int i = 0; i < 64; ++i) t += (i ? ", \"s" : "\"s") + std::to_string(i) + "\"";
  t += "]\n";
  std::string values = "[";
  for (int i = 0; i < points; ++i) values += (i ? (i % 20 ? ", " : ",\n  ") : "") + std::to_string(i % 60);
  values += "]";
  for (int g = 0; g < groups; ++g) {
    t += "[[authorities]]\nname = \"g" + std::to_string(g) + "\"\nteam = { d0 = 1";
    for (int k = 1; k < 20; ++k) t += ", d" + std::to_string(k) + " = 1";
    t += " }\nschools = " + (g ? std::string("2") : "{ dist = \"empirical\", values = " + values + " }") + "\n";
  }
  return t;
}

}  // namespace lepsim::testing
