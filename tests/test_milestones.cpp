// The first procurement's structure and the record's milestone series (docs/model.md,
// section 21), on a small deterministic scenario whose timeline is computed by hand. Stage
// times are exact (docs/model.md section 1) and a milestone series holds the state at the
// step's END (the snapshot the record counts; step t ends at month t + 1):
//
//   authorities a-1, a-2 (entry 0): strategy [0, 2), procurement [2, 5) (preferred bidder at
//     half its work, month 3.5; close at month 5); two first-phase schools arrive at 0, held
//     to the close, built [5, 9) with the sample's build; no gap between close and
//     construction, so no school is ever "in follow-on"           -> all done in step 8
//   authority b (entry 5): strategy [5, 7), procurement [7, 10), build [10, 14) -> step 13
//
// and on the national default for conservation and the switches.

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "lepsim/outputs.hpp"
#include "lepsim/scenario.hpp"
#include "lepsim/simulation.hpp"

using namespace lepsim;

namespace {

const std::string HAND = R"(
[scenario]
name = "milestones"
[time]
start = "2010-01"
step_months = 1
horizon_months = 20
[run]
replications = 1
seed = 11
[stages.strategy]
work = 2
[stages.procurement]
work = 3
[stages.build]
work = 4
[project_types.sample]
stages = ["strategy", "procurement", "build"]
[project_types.phase]
stages = ["build"]
[lep]
formed_at = "procurement"
[milestones]
construction_stages = ["build"]
partner_selected = 0.5
[[authorities]]
name = "a"
count = 2
schools = 3
first = { type = "sample", count = 1 }
first_phase = { type = "phase", schools = 3 }
mix = { phase = 1 }
[[authorities]]
name = "b"
entry_month = 5
schools = 1
first = { type = "sample", count = 1 }
mix = { phase = 1 }
)";

//! The same values bit for bit (NaN equal to NaN).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

ReplicationResult run_one(const Scenario& sc, std::uint32_t rep = 0) {
  ReplicationResult r;
  Simulator(sc).run(rep, r);
  return r;
}

//! The series over steps 0 .. n-1.
std::vector<std::int32_t> head(const std::vector<std::int32_t>& x, std::size_t n) { return {x.begin(), x.begin() + n}; }

std::string with(std::string text, const std::string& after, const std::string& add) {
  const auto at = text.find(after);
  REQUIRE(at != std::string::npos);
  return text.insert(at + after.size(), add);
}

Scenario bsf() { return load_scenario(LEPSIM_SOURCE_DIR "/scenarios/bsf.toml"); }

}  // namespace

TEST_CASE("milestone series match the hand-computed timeline, step by step", "[milestones]") {
  const ReplicationResult r = run_one(parse_scenario(HAND, "hand.toml"));
  using V = std::vector<std::int32_t>;
  const std::size_t n = 15;
  //                                        step 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14
  CHECK(head(r.authorities_entered, n) == V{2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3});
  CHECK(head(r.authorities_in_strategy, n) == V{2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(head(r.authorities_in_procurement, n) == V{0, 2, 2, 2, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  CHECK(head(r.authorities_past_procurement, n) == V{0, 0, 0, 0, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3});
  CHECK(head(r.authorities_partner_selected, n) == V{0, 0, 0, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3});
  CHECK(head(r.non_lep_deals, n) == V(n, 0));
  CHECK(head(r.leps_formed, n) == head(r.authorities_past_procurement, n));
  CHECK(head(r.schools_in_programme, n) == V{6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
  CHECK(head(r.schools_in_strategy, n) == V{6, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(head(r.schools_in_procurement, n) == V{0, 6, 6, 6, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  CHECK(head(r.schools_in_followon, n) == V(n, 0));
  CHECK(head(r.schools_in_construction, n) == V{0, 0, 0, 0, 6, 6, 6, 6, 0, 1, 1, 1, 1, 0, 0});
  // The first-phase schools (ordinals 1, 2 of each a) waited for the close and finished
  // with their sample; nothing else was held.
  CHECK(r.completion_step == V{8, 8, 8, 8, 8, 8, 13});
  CHECK(r.arrival_step == V{0, 0, 0, 0, 0, 0, 5});
  // The metrics read the series at the month's last step.
  CHECK(parse_metric("schools_in_construction@6").value(r, 1.0) == 6);
  CHECK(parse_metric("authorities_past_procurement@10").value(r, 1.0) == 3);
  CHECK(parse_metric("authorities_in_strategy@1").value(r, 1.0) == 2);
}

TEST_CASE("without first_phase each first-phase school is built on its own, released as before", "[milestones]") {
  // first_phase removed: the two extra schools are ordinary `phase` projects released every
  // release interval (0 here: at entry) and built at once, not held for the close.
  std::string text = HAND;
  const std::string line = "first_phase = { type = \"phase\", schools = 3 }\n";
  text.erase(text.find(line), line.size());
  const ReplicationResult r = run_one(parse_scenario(text, "hand.toml"));
  CHECK(r.completion_step == std::vector<std::int32_t>{8, 3, 3, 8, 3, 3, 13});
  CHECK(r.schools_in_construction[0] == 4);
}

TEST_CASE("the non-LEP route: probability 1 forms no LEP, every close a deal, later schools still built", "[milestones]") {
  const std::string text = with(HAND, "first = { type = \"sample\", count = 1 }\n", "non_lep = 1\n");
  const ReplicationResult r = run_one(parse_scenario(text, "hand.toml"));
  for (std::size_t t = 0; t < 20; ++t) {  // b, without the key, forms its LEP at its close (step 9)
    CHECK(r.leps_formed[t] == (t >= 9 ? 1 : 0));
    CHECK(r.non_lep_deals[t] == (t >= 4 ? 2 : 0));
  }
  CHECK(r.non_lep_deals[19] == 2);  // group a only: b has no non_lep key
  CHECK(r.lep_formed_step == std::vector<std::int32_t>{-1, -1, 9});
  CHECK(r.completion_step == std::vector<std::int32_t>{8, 8, 8, 8, 8, 8, 13});  // the first phase as with a LEP

  // The national default with every authority on the route: no LEP, all its schools' phases go on.
  Scenario s = bsf();
  for (AuthorityGroup& g : s.groups) g.non_lep = 1;
  const ReplicationResult b = run_one(s, 3);
  CHECK(b.leps_formed.back() == 0);
  CHECK(b.non_lep_deals.back() == b.authorities_past_procurement.back());
  CHECK(b.authorities_past_procurement.back() > 50);
  CHECK(b.completed > 300);
}

TEST_CASE("switches off reproduce the old behaviour bit for bit", "[milestones]") {
  // non_lep = 0 draws nothing: every output the same bits as without the key.
  const Scenario plain = parse_scenario(HAND, "hand.toml");
  const Scenario zero_key =
      parse_scenario(with(HAND, "first = { type = \"sample\", count = 1 }\n", "non_lep = 0\n"), "h.toml");
  const ReplicationResult p0 = run_one(plain), p1 = run_one(zero_key);
  for (const OutputSpec& spec : output_registry()) {
    INFO(spec.name);
    CHECK(same_bits(output_values(spec, p0), output_values(spec, p1)));
  }
  // The national default with the route at 0 everywhere: every close forms a LEP.
  Scenario zero = bsf();
  for (AuthorityGroup& g : zero.groups) g.non_lep = 0;
  const ReplicationResult a = run_one(zero, 2);
  CHECK(a.non_lep_deals.back() == 0);
  CHECK(a.leps_formed == a.authorities_past_procurement);

  // [milestones] only counts: switched off, every other output is the same bits.
  Scenario off = bsf();
  off.mechanisms.milestones.enabled = false;
  const ReplicationResult on_r = run_one(bsf(), 5), off_r = run_one(off, 5);
  for (const OutputSpec& spec : output_registry()) {
    if (spec.presence == Presence::Milestones) {
      CHECK(output_values(spec, off_r).empty());
      continue;
    }
    INFO(spec.name);
    CHECK(same_bits(output_values(spec, on_r), output_values(spec, off_r)));
  }
}

TEST_CASE("milestone counts are conserved and match a recount from the per-project outputs", "[milestones]") {
  const Scenario s = bsf();
  for (std::uint32_t rep = 0; rep < 3; ++rep) {
    const ReplicationResult r = run_one(s, rep);
    std::int32_t done = 0;
    for (std::size_t t = 0; t < static_cast<std::size_t>(r.steps); ++t) {
      INFO("replication " << rep << ", step " << t);
      done += r.completions[t];
      CHECK(r.authorities_in_strategy[t] + r.authorities_in_procurement[t] + r.authorities_past_procurement[t] ==
            r.authorities_entered[t]);
      CHECK(r.leps_formed[t] + r.non_lep_deals[t] == r.authorities_past_procurement[t]);
      CHECK(r.schools_in_strategy[t] + r.schools_in_procurement[t] + r.schools_in_followon[t] +
                r.schools_in_construction[t] + done ==
            r.schools_in_programme[t]);
      CHECK(r.authorities_partner_selected[t] >= r.authorities_past_procurement[t]);
      CHECK(r.authorities_partner_selected[t] <= r.authorities_in_procurement[t] + r.authorities_past_procurement[t]);
      std::int32_t arrived = 0, formed = 0;
      for (auto a : r.arrival_step) arrived += a <= static_cast<std::int32_t>(t) ? 1 : 0;
      for (auto f : r.lep_formed_step) formed += f >= 0 && f <= static_cast<std::int32_t>(t) ? 1 : 0;
      CHECK(r.schools_in_programme[t] == arrived);
      CHECK(r.leps_formed[t] == formed);
    }
    CHECK(r.authorities_entered.back() == s.authority_count());
  }
}

TEST_CASE("bad first-phase, non-LEP and milestones keys get located errors", "[milestones]") {
  const auto keys_of = [](const std::string& text) {
    std::vector<std::string> keys;
    try {
      parse_scenario(text, "bad.toml");
    } catch (const ScenarioError& e) {
      for (const auto& d : e.diagnostics()) keys.push_back(d.key);
    }
    return keys;
  };
  const std::string phase = "first_phase = { type = \"phase\", schools = 3 }";
  std::string unknown = HAND;
  unknown.replace(unknown.find(phase), phase.size(), "first_phase = { type = \"nope\", schools = 3 }");
  CHECK(keys_of(unknown) == std::vector<std::string>{"authorities[0].first_phase.type"});
  std::string no_schools = HAND;
  no_schools.replace(no_schools.find(phase), phase.size(), "first_phase = { type = \"phase\" }");
  CHECK(keys_of(no_schools) == std::vector<std::string>{"authorities[0].first_phase.schools"});
  std::string bad_p = with(HAND, "first = { type = \"sample\", count = 1 }\n", "non_lep = 1.5\n");
  CHECK(keys_of(bad_p) == std::vector<std::string>{"authorities[0].non_lep"});
  std::string no_stage = HAND;
  no_stage.replace(no_stage.find("construction_stages = [\"build\"]"), 31, "construction_stages = [\"bild\"]");
  REQUIRE(!keys_of(no_stage).empty());
  CHECK(keys_of(no_stage)[0] == "milestones.construction_stages[0]");  // the unknown name, located
  CHECK(keys_of(HAND).empty());
}
