#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/run.hpp"
#include "lepsim/shard.hpp"

using lepsim::Shard;
using lepsim::UnitRange;
using lepsim::UsageError;

namespace {

// An environment of exactly these variables.
lepsim::EnvLookup environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::string usage_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

}  // namespace

TEST_CASE("shard_units: contiguous shares in order, covering every unit once, balanced", "[shard]") {
  for (std::uint64_t units : {0, 1, 2, 3, 7, 10, 100, 1001}) {
    for (std::uint64_t n : {1, 2, 3, 4, 7, 13, 2000}) {
      std::uint64_t next = 0, smallest = UINT64_MAX, largest = 0;
      for (std::uint64_t k = 0; k < n; ++k) {
        const UnitRange r = lepsim::shard_units(units, k, n);
        CHECK(r.first == next);  // contiguous, in shard order, no gap and no overlap
        next = r.end();
        smallest = std::min(smallest, r.count);
        largest = std::max(largest, r.count);
      }
      CHECK(next == units);            // every unit in exactly one shard
      CHECK(largest - smallest <= 1);  // balanced
      CHECK(largest == (units + n - 1) / n);
    }
  }
}

TEST_CASE("shard_units: known answers", "[shard]") {
  // 10 units in 3 shares: 4, 3, 3 (the first 10 % 3 shares take one more).
  CHECK(lepsim::shard_units(10, 0, 3) == UnitRange{0, 4});
  CHECK(lepsim::shard_units(10, 1, 3) == UnitRange{4, 3});
  CHECK(lepsim::shard_units(10, 2, 3) == UnitRange{7, 3});
  // More shares than units: the last ones are empty, placed at the end.
  CHECK(lepsim::shard_units(2, 1, 5) == UnitRange{1, 1});
  CHECK(lepsim::shard_units(2, 4, 5) == UnitRange{2, 0});
  // No overflow near the top of the range.
  const std::uint64_t huge = UINT64_MAX - 5;
  const UnitRange last = lepsim::shard_units(huge, 999'999, 1'000'000);
  CHECK(last.end() == huge);
}

TEST_CASE("shard_units refuses shards that do not exist", "[shard]") {
  CHECK_THROWS_AS(lepsim::shard_units(10, 3, 3), UsageError);
  CHECK_THROWS_AS(lepsim::shard_units(10, 0, 0), UsageError);
  CHECK_THROWS_AS(lepsim::shard_units(10, 0, lepsim::MAX_SHARDS + 1), UsageError);
  CHECK_NOTHROW(lepsim::shard_units(10, 0, lepsim::MAX_SHARDS));
}

TEST_CASE("parse_shard reads K/N whole tokens and says what is wrong", "[shard]") {
  const auto none = environment({});
  CHECK(lepsim::parse_shard("0/1", none) == Shard{0, 1});
  CHECK(lepsim::parse_shard("6/7", none) == Shard{6, 7});
  CHECK(lepsim::format_shard(Shard{6, 7}) == "6/7");
  for (const char* bad : {"", "3", "1/", "/3", "a/3", "1/3x", "-1/3", "1/-3", "1 /3", "1/3/4", "+1/3"})
    CHECK_THROWS_AS(lepsim::parse_shard(bad, none), UsageError);
  CHECK_THAT(usage_message([&] { lepsim::parse_shard("3/3", none); }), Catch::Contains("shards count from 0: 0..2"));
  CHECK_THAT(usage_message([&] { lepsim::parse_shard("0/0", none); }), Catch::Contains("between 1 and"));
}

TEST_CASE("Slurm array variables map onto shares 0..N-1", "[shard]") {
  // --array=0-2 (what the Slurm test submits)
  for (std::uint64_t id = 0; id < 3; ++id)
    CHECK(lepsim::parse_shard("slurm", environment({{"SLURM_ARRAY_TASK_ID", std::to_string(id)},
                                                    {"SLURM_ARRAY_TASK_COUNT", "3"},
                                                    {"SLURM_ARRAY_TASK_MIN", "0"},
                                                    {"SLURM_ARRAY_TASK_MAX", "2"},
                                                    {"SLURM_ARRAY_TASK_STEP", "1"}})) == Shard{id, 3});
  // --array=1-8: IDs from 1, shares from 0
  CHECK(lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "1"},
                                              {"SLURM_ARRAY_TASK_COUNT", "8"},
                                              {"SLURM_ARRAY_TASK_MIN", "1"},
                                              {"SLURM_ARRAY_TASK_MAX", "8"}})) == Shard{0, 8});
  CHECK(lepsim::shard_from_slurm(environment(
            {{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}})) == Shard{7, 8});
  // --array=10-20:5 is tasks 10, 15, 20
  CHECK(lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "15"},
                                              {"SLURM_ARRAY_TASK_COUNT", "3"},
                                              {"SLURM_ARRAY_TASK_MIN", "10"},
                                              {"SLURM_ARRAY_TASK_MAX", "20"},
                                              {"SLURM_ARRAY_TASK_STEP", "5"}})) == Shard{1, 3});
  // Without MIN (older Slurm or a hand-set environment) IDs count from 0.
  CHECK(lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "3"}})) ==
        Shard{2, 3});
}

TEST_CASE("Slurm array variables that cannot name a share are refused, naming the variable", "[shard]") {
  CHECK_THAT(usage_message([] {
               lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_COUNT", "3"}}));
             }),
             Catch::Contains("SLURM_ARRAY_TASK_ID is not set"));
  CHECK_THAT(usage_message([] {
               lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "0"}}));
             }),
             Catch::Contains("SLURM_ARRAY_TASK_COUNT is not set"));
  CHECK_THAT(usage_message([] {
               lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "x1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}));
             }),
             Catch::Contains("SLURM_ARRAY_TASK_ID = 'x1'"));
  // --array=1,4,9: COUNT 3, MIN 1, MAX 9 is not a range of step 1
  CHECK_THAT(usage_message([] {
               lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "4"},
                                                     {"SLURM_ARRAY_TASK_COUNT", "3"},
                                                     {"SLURM_ARRAY_TASK_MIN", "1"},
                                                     {"SLURM_ARRAY_TASK_MAX", "9"},
                                                     {"SLURM_ARRAY_TASK_STEP", "1"}}));
             }),
             Catch::Contains("not an evenly spaced range"));
  // An ID off the step, or beyond the count
  CHECK_THROWS_AS(lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "12"},
                                                        {"SLURM_ARRAY_TASK_COUNT", "3"},
                                                        {"SLURM_ARRAY_TASK_MIN", "10"},
                                                        {"SLURM_ARRAY_TASK_STEP", "5"}})),
                  UsageError);
  CHECK_THROWS_AS(lepsim::shard_from_slurm(environment({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "3"}})),
                  UsageError);
  CHECK_THROWS_AS(lepsim::shard_from_slurm(environment(
                      {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "3"}, {"SLURM_ARRAY_TASK_STEP", "0"}})),
                  UsageError);
}

TEST_CASE("check_shard_tiling: shares in any order tile the units, and gaps, overlaps and duplicates are refused",
          "[shard]") {
  using lepsim::check_shard_tiling;
  using lepsim::ShardPiece;
  const auto describe = [](const UnitRange& r) {
    std::string text = "units ";
    text.append(std::to_string(r.first)).append("-").append(std::to_string(r.end() - 1));
    return text;
  };
  const auto piece = [](std::uint64_t k, std::uint64_t n, std::uint64_t units) {
    std::string name = "s";  // append(), not operator+: GCC 12 warns falsely (-Wrestrict)
    name.append(std::to_string(k)).append("-").append(std::to_string(n));
    return ShardPiece{name, {k, n}, lepsim::shard_units(units, k, n)};
  };
  // 10 units in 3 shares given in reverse, and shares of different N that tile exactly.
  CHECK(check_shard_tiling({piece(2, 3, 10), piece(1, 3, 10), piece(0, 3, 10)}, 10, describe, " of 10") ==
        std::vector<std::size_t>{2, 1, 0});
  CHECK(check_shard_tiling({piece(0, 2, 10), piece(1, 2, 10)}, 10, describe, " of 10").size() == 2);
  const auto refused = [&](const std::vector<ShardPiece>& pieces, const std::string& text) {
    try {
      check_shard_tiling(pieces, 10, describe, " of 10");
      FAIL("accepted: " << text);
    } catch (const lepsim::RunFileError& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains(text));
    }
  };
  refused({piece(0, 3, 10), piece(2, 3, 10)}, "missing shard: units 4-6 of 10 are in none of the files given (shard 1/3)");
  refused({piece(0, 3, 10), piece(1, 3, 10)}, "missing shard: units 7-9 of 10 are in none of the files given (shard 2/3)");
  refused({piece(0, 3, 10), piece(1, 3, 10), piece(1, 3, 10), piece(2, 3, 10)},
          "duplicate shard: s1-3 and s1-3 are both shard 1/3");
  refused({piece(0, 3, 10), piece(1, 3, 10), piece(2, 3, 10), piece(1, 2, 10)}, "overlapping shards:");
}

TEST_CASE("shard_replications: a run's shares are whole blocks, in order, covering every replication once", "[shard]") {
  for (const std::int64_t R : {1, 7, 30, 100})
    for (const int B : {1, 4, 7})
      for (const std::uint64_t N : {1u, 3u, 7u, 12u}) {
        std::uint64_t at = 0;
        for (std::uint64_t k = 0; k < N; ++k) {
          const UnitRange r = lepsim::shard_replications(R, {k, N}, B);
          CHECK(r.first == at);
          if (r.count > 0) CHECK(r.first % static_cast<std::uint64_t>(B) == 0);
          if (r.end() < static_cast<std::uint64_t>(R)) CHECK(r.count % static_cast<std::uint64_t>(B) == 0);
          at = r.end();
        }
        CHECK(at == static_cast<std::uint64_t>(R));
      }
  CHECK(lepsim::shard_replications(30, {1, 3}, 4) == UnitRange{12, 12});  // blocks 3-5 of 8
  CHECK(lepsim::shard_replications(30, {2, 3}, 4) == UnitRange{24, 6});   // blocks 6-7, the last of 2
  CHECK_THROWS_AS(lepsim::shard_replications(30, {0, 3}, 0), UsageError);
}
