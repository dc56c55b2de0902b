// `lepsim report`: the HTML page of a run. Every chart is there under its id, text from
// the scenario is escaped, nothing is fetched, the plan line shows exactly when the
// scenario states a plan, odd runs (one replication, one step, nothing completed) give
// finite drawings, and the file is written whole or not at all.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "lepsim/analysis/report.hpp"
#include "lepsim/analysis/run_reader.hpp"
#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/run.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/scenario.hpp"
#include "test_support.hpp"

using namespace lepsim;
using namespace lepsim::analysis;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return test::scratch_dir("report"); }

std::string run(const Scenario& sc, const std::string& name, int replications) {
  RunOptions o;
  o.output_path = (temp_dir() / name).string();
  o.replications = replications;
  o.threads = 2;
  o.force = true;
  run_scenario(sc, o);
  return o.output_path;
}

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string scenario_text(const std::string& name) { return text_of(LEPSIM_SOURCE_DIR "/scenarios/" + name); }

std::string report_of(const std::string& run_path) {
  const RunReader reader(run_path);
  ReportOptions o;
  o.output_path = run_path + ".html";
  return render_report(reader, o);
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

//! The <svg> element with this id, whole.
std::string svg_of(const std::string& html, const std::string& id) {
  const auto at = html.find("<svg id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</svg>", at) + 6 - at);
}

const std::vector<std::string> ALWAYS = {"fan-completions", "s-curve", "stage-occupancy", "utilisation"};
const std::vector<std::string> WITH_MECHANISMS = {"health", "exclusivity", "spend"};

//! Nothing on the page can fetch anything or run anything.
void check_self_contained(const std::string& html) {
  const std::string l = lower(html);
  CHECK(l.find("<script") == std::string::npos);
  CHECK(l.find("http://") == std::string::npos);
  CHECK(l.find("https://") == std::string::npos);
  CHECK(l.find("src=") == std::string::npos);
  CHECK(l.find("href=") == std::string::npos);
  CHECK(l.find("<link") == std::string::npos);
  CHECK(l.find("<img") == std::string::npos);
  CHECK(l.find("@import") == std::string::npos);
  CHECK(l.find("@font-face") == std::string::npos);
  CHECK_FALSE(std::regex_search(l, std::regex(R"(\son[a-z]+\s*=)")));
  // Only same-document references: url(#id).
  CHECK_FALSE(std::regex_search(l, std::regex(R"(url\(\s*[^#\s])")));
}

//! Every drawn coordinate is a finite number (NaN leaves gaps, never "nan" in the SVG).
void check_finite_drawing(const std::string& html) {
  static const std::regex points(R"re(points="([^"]*)")re");
  std::size_t seen = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), points); it != std::sregex_iterator(); ++it, ++seen) {
    INFO("points: " << (*it)[1].str().substr(0, 200));
    CHECK(std::regex_match((*it)[1].str(), std::regex(R"([-0-9., ]*)")));
  }
  CHECK(seen > 0);
  static const std::regex attr(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), attr); it != std::sregex_iterator(); ++it) {
    INFO((*it)[1].str() << "=\"" << (*it)[2].str() << "\"");
    char* end = nullptr;
    const std::string v = (*it)[2].str();
    const double x = std::strtod(v.c_str(), &end);
    CHECK((end == v.c_str() + v.size() && std::isfinite(x)));
  }
}

}  // namespace

TEST_CASE("the report has every chart, escapes the scenario's text and fetches nothing", "[report]") {
  Scenario sc = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  sc.name = "A <b>&\"quoted\"</b> 'name'";
  const std::string html = report_of(run(sc, "escaped.h5", 12));

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  for (const auto& id : ALWAYS) {
    INFO("chart " << id);
    CHECK(count(html, "<svg id=\"" + id + "\"") == 1);
    CHECK(svg_of(html, id).find("<title") != std::string::npos);  // titled, for people and screen readers
  }
  // example.toml switches no partnership mechanism on: a one-line note for each missing chart.
  for (const auto& id : WITH_MECHANISMS) CHECK(html.find("<svg id=\"" + id + "\"") == std::string::npos);
  CHECK(count(html, "class=\"missing\"") == 3);
  // The name as the user wrote it, escaped wherever it appears, and never raw.
  CHECK(html.find("A &lt;b&gt;&amp;&quot;quoted&quot;&lt;/b&gt; &#39;name&#39;") != std::string::npos);
  CHECK(html.find("<b>&\"quoted\"</b>") == std::string::npos);
  CHECK(html.find("<title>A &lt;b&gt;") != std::string::npos);
  // The header and the headline table.
  const std::string version = ">" + std::to_string(RUN_FORMAT_MAJOR) + "." + std::to_string(RUN_FORMAT_MINOR) + "<";
  for (const std::string& what : {std::string("12345"), std::string("run-file format"), version,
                                 std::string("95% confidence interval"), std::string("schools completed by month 60")})
    CHECK(html.find(what) != std::string::npos);
  check_self_contained(html);
  check_finite_drawing(html);
}

TEST_CASE("the plan line shows exactly when the scenario states a plan", "[report]") {
  const Scenario example = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  REQUIRE(example.plan.empty());
  const std::string without = svg_of(report_of(run(example, "no-plan.h5", 5)), "fan-completions");
  REQUIRE(!without.empty());
  CHECK(without.find("class=\"plan\"") == std::string::npos);
  CHECK(without.find("plan (scenario)") == std::string::npos);

  // The same scenario with a plan of three points.
  std::string text = scenario_text("example.toml");
  const std::string name_line = "name = \"example\"";
  REQUIRE(text.find(name_line) != std::string::npos);
  text.replace(text.find(name_line), name_line.size(), name_line + "\nplan = [[36, 5], [72, 20], [120, 36]]");
  const Scenario planned = parse_scenario(text, LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  REQUIRE(planned.plan.size() == 3);
  const std::string path = run(planned, "plan.h5", 5);
  CHECK(RunReader(path).metadata().plan == planned.plan);
  const std::string with = svg_of(report_of(path), "fan-completions");
  CHECK(count(with, "<polyline class=\"plan\"") == 1);
  CHECK(count(with, "class=\"plan-point\"") == 3);
  CHECK(with.find("plan (scenario)") != std::string::npos);

  // A plan far above the band (more than 3x its top) gets a second panel, with its points;
  // the band keeps its own scale.
  std::string big = scenario_text("example.toml");
  big.replace(big.find(name_line), name_line.size(), name_line + "\nplan = [[36, 500], [72, 2000], [120, 3600]]");
  const std::string html =
      report_of(run(parse_scenario(big, LEPSIM_SOURCE_DIR "/scenarios/example.toml"), "big-plan.h5", 5));
  CHECK(count(svg_of(html, "fan-completions"), "class=\"plan-point\"") == 0);
  CHECK(count(svg_of(html, "fan-plan"), "class=\"plan-point\"") == 3);
  CHECK(html.find("on its own scale") != std::string::npos);
}

TEST_CASE("the national default: every chart, partnership ones included, and its plan", "[report]") {
  const Scenario bsf = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/bsf.toml");
  REQUIRE(!bsf.plan.empty());
  const std::string path = run(bsf, "bsf.h5", 3);
  // The file keeps the plan, and its resolved scenario keeps it too and parses back.
  {
    h5::File f = h5::File::open_read(path);
    const h5::Group scen = f.root().open_group("scenario");
    std::vector<std::uint64_t> dims;
    const auto plan = scen.read_array<double>("plan", &dims);
    CHECK(dims == std::vector<std::uint64_t>{bsf.plan.size(), 2});
    for (std::size_t i = 0; i < bsf.plan.size(); ++i) {
      CHECK(plan[2 * i] == bsf.plan[i][0]);
      CHECK(plan[2 * i + 1] == bsf.plan[i][1]);
    }
    const Scenario again = parse_scenario(scen.read_text("resolved"), "resolved.toml");
    CHECK(again.plan == bsf.plan);
  }
  const std::string html = report_of(path);
  for (const auto& v : {ALWAYS, WITH_MECHANISMS})
    for (const auto& id : v) {
      INFO("chart " << id);
      CHECK(count(html, "<svg id=\"" + id + "\"") == 1);
    }
  CHECK(html.find("class=\"missing\"") == std::string::npos);
  // The Department's plan (1,312 schools by month 120) and the simulated band (about 760)
  // share a scale: the plan's points are drawn on the fan itself, with no second panel.
  const std::string fan = svg_of(html, "fan-completions");
  CHECK(count(fan, "class=\"plan-point\"") == bsf.plan.size());
  CHECK(count(html, "<svg id=\"fan-plan\"") == 0);
  CHECK(html.find("on its own scale") == std::string::npos);
  // The S-curve marks the plan's last month as the target; nothing finishes, so a count the
  // run reaches is drawn and the P80 month is said to be after the horizon.
  const std::string s_curve = svg_of(html, "s-curve");
  CHECK(count(s_curve, "class=\"target-marker\"") == 1);
  CHECK(s_curve.find("schools done (median)") != std::string::npos);
  CHECK(html.find("its P80 month is after the horizon") != std::string::npos);
  // Spend against the envelope, and what the envelope caps.
  CHECK(count(svg_of(html, "spend"), "class=\"envelope\"") == 1);
  CHECK(html.find("not the cash spent in it") != std::string::npos);
  // Health is NaN before the first LEP forms: the line starts later, it is not drawn at 0.
  const std::string health = svg_of(html, "health");
  CHECK(health.find("<polyline") != std::string::npos);
  // Ten programme years of spend, each a stacked bar of capital, LEP set-up and staff.
  const std::string spend = svg_of(html, "spend");
  CHECK(spend.find("2005/06") != std::string::npos);
  CHECK(spend.find("2014/15") != std::string::npos);
  CHECK(spend.find("capital") != std::string::npos);
  check_self_contained(html);
  check_finite_drawing(html);
}

TEST_CASE("the comparison report sets the variants side by side", "[report][compare]") {
  const Scenario bsf = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/bsf.toml");
  const Scenario mandated = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/policy/practices-mandated.toml");
  const std::string a = run(bsf, "cmp-a.h5", 8), b = run(mandated, "cmp-b.h5", 6);
  const RunReader ra(a), rb(b);
  ReportOptions o;
  o.output_path = (temp_dir() / "cmp.html").string();
  o.figures.targets = {{400, 120}};
  const std::string html = render_comparison_report({&ra, &rb}, o);
  for (const char* id : {"cmp-fan", "cmp-s-curve", "diff-completed_month120", "cmp-spend"}) {
    INFO("chart " << id);
    CHECK(count(html, std::string("<svg id=\"") + id + "\"") == 1);
  }
  // Same seed, 8 and 6 replications: paired over the 6 in common, and said so.
  CHECK(html.find("yes, over 6 replications") != std::string::npos);
  CHECK(html.find("paired over the first 6") != std::string::npos);
  // The variants table with cost-effectiveness, the lever cost of the variant stated.
  CHECK(html.find("cost per school delivered by month 120") != std::string::npos);
  CHECK(html.find("extra cost per extra school") != std::string::npos);
  CHECK(html.find("GBP 0.16m per LEP-year") != std::string::npos);
  // The S-curve of the target's count, its month marked, a P80 dot per run that reaches 80%.
  const std::string s = svg_of(html, "cmp-s-curve");
  CHECK(s.find("at least 400 schools") != std::string::npos);
  CHECK(count(s, "class=\"target-marker\"") == 1);
  CHECK(count(s, "class=\"envelope\"") == 0);
  CHECK(count(svg_of(html, "cmp-spend"), "class=\"envelope\"") == 1);
  check_self_contained(html);
  check_finite_drawing(html);
}

TEST_CASE("one replication, one step and nothing completed still draw finite charts", "[report]") {
  // One replication: every percentile is the value itself, every interval unbounded.
  const Scenario example = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  const std::string one = report_of(run(example, "r1.h5", 1));
  for (const auto& id : ALWAYS) CHECK(one.find("<svg id=\"" + id + "\"") != std::string::npos);
  check_finite_drawing(one);

  // A one-month horizon: one step, nothing completes (all-zero series, zero axes).
  std::string text = scenario_text("example.toml");
  const std::regex horizon(R"(horizon_months\s*=\s*120)");
  REQUIRE(std::regex_search(text, horizon));
  text = std::regex_replace(text, horizon, "horizon_months = 1");
  const Scenario short_run = parse_scenario(text, LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  REQUIRE(short_run.time.steps == 1);
  const std::string path = run(short_run, "t1.h5", 4);
  REQUIRE(RunReader(path).headline().completed_mean == 0);
  const std::string html = report_of(path);
  for (const auto& id : ALWAYS) CHECK(html.find("<svg id=\"" + id + "\"") != std::string::npos);
  check_finite_drawing(html);
  check_self_contained(html);
}

TEST_CASE("write_report writes the file whole, leaves no temporary and refuses what it cannot write", "[report][faults]") {
  const Scenario example = load_scenario(LEPSIM_SOURCE_DIR "/scenarios/example.toml");
  const std::string run_path = run(example, "write.h5", 4);
  const RunReader reader(run_path);
  const fs::path dir = temp_dir() / "out";
  fs::create_directories(dir);
  ReportOptions o;
  o.output_path = (dir / "report.html").string();
  write_report(reader, o);
  CHECK(text_of(o.output_path) == render_report(reader, o));
  write_report(reader, o);  // over an existing file (the command line asks for --force first)
  CHECK(text_of(o.output_path) == render_report(reader, o));
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename() == "report.html");

  // A directory that does not exist, and a "directory" that is a file: OutputError naming the path.
  for (const fs::path& bad : {dir / "no-such-dir" / "r.html", dir / "report.html" / "r.html"}) {
    o.output_path = bad.string();
    try {
      write_report(reader, o);
      FAIL("expected an OutputError for " << bad);
    } catch (const OutputError& e) {
      CHECK(std::string(e.what()).find(bad.string()) != std::string::npos);
      CHECK(e.code() == ExitCode::OUTPUT);
    }
    CHECK_FALSE(fs::exists(bad));
  }
  // A directory without write permission (root writes anywhere, so only as another user).
  const fs::path locked = temp_dir() / "locked";
  fs::create_directories(locked);
  ::chmod(locked.c_str(), 0555);
  if (::access(locked.c_str(), W_OK) != 0) {
    o.output_path = (locked / "r.html").string();
    CHECK_THROWS_AS(write_report(reader, o), OutputError);
    CHECK(fs::is_empty(locked));
  } else {
    WARN("running as root: the permission check of write_report is covered by the other refusals only");
  }
  ::chmod(locked.c_str(), 0755);
  for (const auto& e : fs::recursive_directory_iterator(temp_dir()))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
}
