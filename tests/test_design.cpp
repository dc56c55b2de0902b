// Experiment designs (lepsim/design.hpp): each design's defining property, determinism
// given the seed, and the strict CSV run plan (errors located, exact round trip).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "lepsim/design.hpp"
#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"
#include "test_support.hpp"

using namespace lepsim;
using namespace lepsim::design;

namespace {

bool in_unit(double v) { return v >= 0 && v < 1; }

// L2-star discrepancy by Warnock's formula (O(n^2 k)).
double l2_star_discrepancy(const std::vector<double>& x, std::size_t n, std::size_t k) {
  double a = std::pow(1.0 / 3.0, static_cast<double>(k)), b = 0, c = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double p = 1;
    for (std::size_t f = 0; f < k; ++f) p *= (1 - x[i * k + f] * x[i * k + f]) / 2;
    b += p;
    for (std::size_t j = 0; j < n; ++j) {
      double q = 1;
      for (std::size_t f = 0; f < k; ++f) q *= 1 - std::max(x[i * k + f], x[j * k + f]);
      c += q;
    }
  }
  const double nn = static_cast<double>(n);
  return std::sqrt(a - 2 * b / nn + c / (nn * nn));
}

// Which diagnostics a plan produces (empty when it reads).
std::vector<Diagnostic> plan_errors(const std::string& text, const std::vector<std::string>& factors) {
  try {
    read_plan(text, "plan.csv", factors);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

bool has_error(const std::vector<Diagnostic>& ds, int line, const std::string& key_part, const std::string& rule_part) {
  return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
    return d.line == line && d.key.find(key_part) != std::string::npos && d.rule.find(rule_part) != std::string::npos;
  });
}

}  // namespace

TEST_CASE("full factorial: every combination once, first factor slowest, levels at cell midpoints", "[design]") {
  const std::vector<int> levels{2, 3, 4};
  const Design d = full_factorial(levels);
  REQUIRE(d.points() == 24);
  REQUIRE(d.factors == 3);
  std::set<std::vector<int>> seen;
  for (std::size_t p = 0; p < d.points(); ++p) {
    std::vector<int> combo;
    for (std::size_t f = 0; f < 3; ++f) {
      const int j = d.level_of(p, f);
      REQUIRE(j >= 0);
      REQUIRE(j < levels[f]);
      CHECK(d.u(p, f) == (j + 0.5) / levels[f]);
      CHECK(in_unit(d.u(p, f)));
      combo.push_back(j);
    }
    seen.insert(combo);
    CHECK(d.info[p].role == Role::Point);
  }
  CHECK(seen.size() == 24);
  // Row-major order: point 1 differs from point 0 in the last factor only; point 12 starts factor 0's level 1.
  CHECK(d.level_of(1, 2) == 1);
  CHECK(d.level_of(1, 0) == 0);
  CHECK(d.level_of(12, 0) == 1);
  CHECK(d.level_of(12, 1) == 0);
  CHECK(grid_value(0, 5) == 0.0);
  CHECK(grid_value(4, 5) == 1.0);
  CHECK(grid_value(0, 1) == 0.5);
  CHECK_THROWS_AS(full_factorial(std::vector<int>{2, 0}), std::invalid_argument);
  CHECK_THROWS_AS(full_factorial(std::vector<int>{1 << 16, 1 << 16}), std::invalid_argument);
}

TEST_CASE("one-at-a-time: base, then each factor low and high with the others at base", "[design]") {
  const std::vector<double> base{0.5, 0.4, 0.6}, low{0.1, 0.0, 0.2}, high{0.9, 1.0, 0.8};
  const Design d = one_at_a_time(base, low, high);
  REQUIRE(d.points() == 7);
  CHECK(d.info[0].role == Role::Base);
  for (std::size_t f = 0; f < 3; ++f) CHECK(d.u(0, f) == base[f]);
  for (std::size_t f = 0; f < 3; ++f) {
    const std::size_t lo = 1 + 2 * f, hi = 2 + 2 * f;
    CHECK(d.info[lo].role == Role::Low);
    CHECK(d.info[hi].role == Role::High);
    CHECK(d.info[lo].factor == static_cast<int>(f));
    CHECK(d.info[hi].factor == static_cast<int>(f));
    for (std::size_t g = 0; g < 3; ++g) {
      CHECK(d.u(lo, g) == (g == f ? low[g] : base[g]));
      CHECK(d.u(hi, g) == (g == f ? high[g] : base[g]));
      CHECK(d.level_of(lo, g) == (g == f ? 0 : 1));
      CHECK(d.level_of(hi, g) == (g == f ? 2 : 1));
    }
  }
  CHECK_THROWS_AS(one_at_a_time(base, low, std::vector<double>{0.9, 1.1, 0.8}), std::invalid_argument);
}

TEST_CASE("Latin hypercube: exactly one point per stratum in every factor; seeded", "[design]") {
  const std::size_t n = 50, k = 4;
  for (bool maximin : {false, true}) {
    const Design d = latin_hypercube(n, k, 7, {maximin, 16});
    REQUIRE(d.points() == n);
    for (std::size_t f = 0; f < k; ++f) {
      std::vector<int> count(n, 0);
      for (std::size_t p = 0; p < n; ++p) {
        REQUIRE(in_unit(d.u(p, f)));
        ++count[static_cast<std::size_t>(std::floor(d.u(p, f) * static_cast<double>(n)))];
      }
      CHECK(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
    }
  }
  const Design a = latin_hypercube(n, k, 7), b = latin_hypercube(n, k, 7), c = latin_hypercube(n, k, 8);
  CHECK(a.unit == b.unit);
  CHECK(a.unit != c.unit);
  // Maximin keeps the best of its candidates, the first of which is the plain design.
  const Design m = latin_hypercube(n, k, 7, {true, 32});
  CHECK(min_pairwise_distance(m) > min_pairwise_distance(a));
  CHECK(latin_hypercube(n, k, 7, {true, 1}).unit == a.unit);
}

TEST_CASE("Sobol' sequence: Boost's points with the origin, balanced nets, lower discrepancy than random", "[design]") {
  const Design plain = sobol_sequence(4, 2, 0, Scramble::None);
  const std::vector<double> expected{0, 0, 0.5, 0.5, 0.75, 0.25, 0.25, 0.75};
  CHECK(plain.unit == expected);

  const std::size_t m = 8, n = std::size_t{1} << m, k = 5;
  for (Scramble s : {Scramble::None, Scramble::DigitalShift, Scramble::Owen}) {
    const Design d = sobol_sequence(n, k, 11, s);
    // Every dyadic interval [a/2^j, (a+1)/2^j), j <= m, holds n / 2^j points in every coordinate.
    for (std::size_t f = 0; f < k; ++f)
      for (std::size_t j = 1; j <= m; ++j) {
        std::vector<int> count(std::size_t{1} << j, 0);
        for (std::size_t p = 0; p < n; ++p) {
          REQUIRE(in_unit(d.u(p, f)));
          ++count[static_cast<std::size_t>(d.u(p, f) * static_cast<double>(std::size_t{1} << j))];
        }
        const int want = static_cast<int>(n >> j);
        CHECK(std::all_of(count.begin(), count.end(), [&](int c) { return c == want; }));
      }
  }
  const Design s1 = sobol_sequence(n, k, 11), s2 = sobol_sequence(n, k, 11), s3 = sobol_sequence(n, k, 12);
  CHECK(s1.unit == s2.unit);
  CHECK(s1.unit != s3.unit);
  // Discrepancy: the scrambled net beats i.i.d. uniform points of the same size (the
  // Latin hypercube's uniforms serve: its strata do not help the joint discrepancy much).
  std::vector<double> random(n * k);
  RandomStream r(5, 0, 0, Purpose::StageWork);
  for (double& v : random) v = r.uniform();
  const double d_sobol = l2_star_discrepancy(s1.unit, n, k), d_random = l2_star_discrepancy(random, n, k);
  CHECK(d_sobol < 0.5 * d_random);
  CHECK_THROWS_AS(sobol_sequence(4, sobol_max_dimension() + 1, 0), std::invalid_argument);
}

TEST_CASE("Sobol' scrambling: Owen's estimates of a smooth integral vary less than a digital shift's", "[design]") {
  // The mean of f(x) = prod (x_f + 0.5) (exact integral 1) over 256 points, for 40 seeds.
  const std::size_t n = 256, k = 4;
  auto spread = [&](Scramble s) {
    double sum = 0, sum2 = 0;
    const int seeds = 40;
    for (int seed = 0; seed < seeds; ++seed) {
      const Design d = sobol_sequence(n, k, static_cast<std::uint64_t>(seed), s);
      double mean = 0;
      for (std::size_t p = 0; p < n; ++p) {
        double f = 1;
        for (std::size_t j = 0; j < k; ++j) f *= d.u(p, j) + 0.5;
        mean += f / static_cast<double>(n);
      }
      sum += mean, sum2 += mean * mean;
    }
    const double m = sum / seeds;
    CHECK(m == Approx(1).margin(0.01));  // both unbiased
    return sum2 / seeds - m * m;
  };
  CHECK(spread(Scramble::Owen) < 0.5 * spread(Scramble::DigitalShift));
  // A digital shift keeps the XOR of two points' bits; Owen's scrambling does not.
  const Design plain = sobol_sequence(4, 1, 0, Scramble::None), shift = sobol_sequence(4, 1, 3, Scramble::DigitalShift),
               owen = sobol_sequence(4, 1, 3, Scramble::Owen);
  auto bits = [](double u) { return static_cast<std::uint64_t>(u * 0x1p53); };
  CHECK((bits(shift.u(1, 0)) ^ bits(shift.u(2, 0))) == (bits(plain.u(1, 0)) ^ bits(plain.u(2, 0))));
  CHECK((bits(owen.u(1, 0)) ^ bits(owen.u(2, 0))) != (bits(plain.u(1, 0)) ^ bits(plain.u(2, 0))));
}

TEST_CASE("Saltelli pick-freeze design: rows, shared columns, groups and streams", "[design]") {
  for (bool ba : {false, true})
    for (bool noise : {false, true})
      for (BaseSample sample : {BaseSample::Sobol, BaseSample::Random}) {
        const SaltelliLayout L{16, 3, ba, noise};
        const Design d = saltelli(L, 3, sample);
        const std::size_t k = 3;
        REQUIRE(d.points() == L.rows());
        REQUIRE(L.rows_per_base() == 2 + (k + (noise ? 1 : 0)) * (ba ? 2 : 1));
        for (std::size_t j = 0; j < L.base_rows; ++j) {
          const std::size_t a = L.a(j), b = L.b(j);
          CHECK(d.info[a].role == Role::A);
          CHECK(d.info[b].role == Role::B);
          CHECK(d.info[a].stream == static_cast<std::int64_t>(a));
          CHECK(d.info[b].stream == static_cast<std::int64_t>(b));
          for (std::size_t p = a; p < a + L.rows_per_base(); ++p) CHECK(d.info[p].group == static_cast<std::int64_t>(j));
          for (std::size_t f = 0; f < k; ++f) {
            CHECK(in_unit(d.u(a, f)));
            CHECK(d.u(a, f) != d.u(b, f));  // A and B independent (equal with probability ~0)
          }
          for (std::size_t i = 0; i < L.columns(); ++i) {
            const std::size_t ab = L.ab(j, i);
            CHECK(d.info[ab].role == Role::AB);
            CHECK(d.info[ab].factor == static_cast<int>(i));
            // Inputs: A's, with column i from B; the noise row keeps all of A's inputs and takes B's streams.
            for (std::size_t f = 0; f < k; ++f) CHECK(d.u(ab, f) == (f == i ? d.u(b, f) : d.u(a, f)));
            CHECK(d.info[ab].stream == static_cast<std::int64_t>(i < k ? a : b));
            if (ba) {
              const std::size_t r = L.ba_row(j, i);
              CHECK(d.info[r].role == Role::BA);
              CHECK(d.info[r].factor == static_cast<int>(i));
              for (std::size_t f = 0; f < k; ++f) CHECK(d.u(r, f) == (f == i ? d.u(a, f) : d.u(b, f)));
              CHECK(d.info[r].stream == static_cast<std::int64_t>(i < k ? b : a));
            }
          }
        }
        CHECK(saltelli(L, 3, sample).unit == d.unit);
        CHECK(saltelli(L, 4, sample).unit != d.unit);
      }
  // The Sobol' base sample: A | B is the 2k-dimensional scrambled sequence.
  const SaltelliLayout L{8, 2};
  const Design d = saltelli(L, 9);
  const Design s = sobol_sequence(8, 4, 9);
  for (std::size_t j = 0; j < 8; ++j)
    for (std::size_t f = 0; f < 2; ++f) {
      CHECK(d.u(L.a(j), f) == s.u(j, f));
      CHECK(d.u(L.b(j), f) == s.u(j, 2 + f));
    }
}

TEST_CASE("Morris trajectories: one factor per step by +-delta on the grid, each factor once", "[design]") {
  CHECK(morris_delta(4) == Approx(2.0 / 3.0));
  CHECK(morris_delta(6) == Approx(0.6));
  for (int p : {2, 4, 6}) {
    const std::size_t r = 20, k = 5;
    const Design d = morris(r, k, p, 13);
    REQUIRE(d.points() == r * (k + 1));
    const double delta = morris_delta(p);
    std::set<int> directions;
    for (std::size_t t = 0; t < r; ++t) {
      const std::size_t first = t * (k + 1);
      CHECK(d.info[first].role == Role::MorrisStart);
      std::vector<int> moved(k, 0);
      for (std::size_t m = 0; m <= k; ++m) {
        const std::size_t pt = first + m;
        CHECK(d.info[pt].group == static_cast<std::int64_t>(t));
        for (std::size_t f = 0; f < k; ++f) {
          const int lv = d.level_of(pt, f);
          REQUIRE(lv >= 0);
          REQUIRE(lv < p);
          CHECK(d.u(pt, f) == static_cast<double>(lv) / (p - 1));
        }
        if (m == 0) continue;
        const auto f = static_cast<std::size_t>(d.info[pt].factor);
        CHECK(d.info[pt].role == Role::MorrisStep);
        ++moved[f];
        for (std::size_t g = 0; g < k; ++g)
          if (g != f) CHECK(d.u(pt, g) == d.u(pt - 1, g));
        CHECK(d.u(pt, f) - d.u(pt - 1, f) == Approx(d.info[pt].step));
        CHECK(std::abs(d.info[pt].step) == Approx(delta));
        directions.insert(d.info[pt].step > 0 ? 1 : -1);
      }
      CHECK(std::all_of(moved.begin(), moved.end(), [](int c) { return c == 1; }));
    }
    CHECK(directions.size() == 2);
  }
  CHECK(morris(5, 3, 4, 1).unit == morris(5, 3, 4, 1).unit);
  CHECK(morris(5, 3, 4, 1).unit != morris(5, 3, 4, 2).unit);
  CHECK_THROWS_AS(morris(5, 3, 5, 1), std::invalid_argument);
}

TEST_CASE("CSV run plan: written and read back bit for bit, columns in any order", "[design][plan]") {
  Plan p;
  p.factors = {"capacity", "fte"};
  p.ids = {"0", "p-1", "base.2"};
  p.values = {1.0 / 3.0, -0.0, 1e-300, 4.9406564584124654e-324, 0.1, 1.7976931348623157e308};
  const std::string text = write_plan(p);
  CHECK(text.substr(0, text.find('\n')) == "point,capacity,fte");
  const Plan q = read_plan(text, "plan.csv", p.factors);
  CHECK(q.ids == p.ids);
  REQUIRE(q.values.size() == p.values.size());
  CHECK(std::memcmp(q.values.data(), p.values.data(), p.values.size() * sizeof(double)) == 0);

  // A design's points through a plan and back: the same doubles.
  const Design d = latin_hypercube(30, 2, 21);
  Plan from;
  from.factors = p.factors;
  for (std::size_t i = 0; i < d.points(); ++i) from.ids.push_back(std::to_string(i));
  from.values = d.unit;
  CHECK(read_plan(write_plan(from), "plan.csv", from.factors).values == d.unit);
}

TEST_CASE("CSV run plan: hexadecimal is not a number here", "[design][plan]") {
  const auto ds = plan_errors("point,capacity\na,0x1\n", {"capacity"});
  CHECK(has_error(ds, 2, "capacity", "not a number"));
}

TEST_CASE("CSV run plan: column order, CRLF, surrounding spaces and quoted names", "[design][plan]") {
  const Plan r = read_plan("fte , point,\"capacity\"\r\n 2.5e1 ,a, +3\r\n-1,b,0\r\n\r\n", "plan.csv",
                           std::vector<std::string>{"capacity", "fte"});
  REQUIRE(r.points() == 2);
  CHECK(r.ids == std::vector<std::string>{"a", "b"});
  CHECK(r.values == std::vector<double>{3, 25, 0, -1});
}

TEST_CASE("CSV run plan: every problem reported with its line and column", "[design][plan]") {
  const std::vector<std::string> factors{"capacity", "fte"};
  SECTION("unknown, duplicate and missing columns") {
    const auto ds = plan_errors("point,capacity,fte,colour,fte\n1,2,3,4,5\n", factors);
    CHECK(has_error(ds, 1, "column 4 (colour)", "unknown column"));
    CHECK(has_error(ds, 1, "column 5 (fte)", "duplicate column (also column 3)"));
    CHECK(plan_errors("point,capacity\n1,2\n", factors).size() == 1);
    CHECK(has_error(plan_errors("point,capacity\n1,2\n", factors), 1, "fte", "missing column"));
    CHECK(has_error(plan_errors("capacity,fte\n1,2\n", factors), 1, "point", "missing column"));
  }
  SECTION("cells: empty, non-number, non-finite, wrong count, ids") {
    const std::string text =
        "point,capacity,fte\n"
        "a,1,2\n"
        "b,,2\n"        // line 3: empty cell
        "c,1,two\n"     // line 4: not a number
        "d,1\n"         // line 5: wrong count
        "a,1,2\n"       // line 6: duplicate id
        "e,inf,1\n"     // line 7: not finite
        "f g,1,2\n"     // line 8: bad id
        "h,1.5x,2\n"    // line 9: trailing junk
        "i,\"1\",2\n";  // line 10: a quoted number is text
    const auto ds = plan_errors(text, factors);
    CHECK(has_error(ds, 3, "column 2 (capacity)", "empty cell"));
    CHECK(has_error(ds, 4, "column 3 (fte)", "not a number"));
    CHECK(has_error(ds, 5, "", "wrong number of cells: 2 where the header has 3"));
    CHECK(has_error(ds, 6, "column 1 (point)", "duplicate point id (first on line 2)"));
    CHECK(has_error(ds, 7, "column 2 (capacity)", "finite"));
    CHECK(has_error(ds, 8, "column 1 (point)", "point id"));
    CHECK(has_error(ds, 9, "column 2 (capacity)", "not a number"));
    CHECK(has_error(ds, 10, "column 2 (capacity)", "not a number"));
    CHECK(ds.size() == 8);
    // The message names file, line, column and value.
    try {
      read_plan(text, "plan.csv", factors);
      FAIL("no error");
    } catch (const ScenarioError& e) {
      CHECK(std::string(e.what()).find("plan.csv:4: column 3 (fte) = two: not a number") != std::string::npos);
      CHECK(e.code() == ExitCode::INVALID_SCENARIO);
    }
  }
  SECTION("empty plans and an empty row") {
    CHECK(has_error(plan_errors("", factors), 0, "", "empty"));
    CHECK(has_error(plan_errors("point,capacity,fte\n", factors), 1, "", "no rows"));
    CHECK(has_error(plan_errors("point,capacity,fte\n1,2,3\n\n2,3,4\n", factors), 3, "", "empty row"));
  }
  SECTION("a file that cannot be read") {
    CHECK_THROWS_AS(read_plan_file("/nonexistent/plan.csv", factors), ScenarioError);
    const auto path = lepsim::test::scratch_dir("design") / "plan.csv";
    std::ofstream(path) << "point,capacity,fte\n1,2,3\n";
    CHECK(read_plan_file(path.string(), factors).values == std::vector<double>{2, 3});
  }
}

TEST_CASE("Known answers: a design's points are frozen for a given seed", "[design]") {
  // A change here changes every published experiment of that design: update deliberately,
  // and say so in the change note (docs/designs.md).
  const Design l = latin_hypercube(10, 3, 42);
  CHECK(l.u(0, 0) == 0x1.f7006a767939ap-2);
  CHECK(l.u(9, 2) == 0x1.ee96d9ef26f0bp-1);
  const Design s = sobol_sequence(8, 3, 42);
  CHECK(s.u(1, 0) == 0x1.2234ddc54c438p-3);
  CHECK(s.u(7, 2) == 0x1.8246d5b48349dp-1);
  const Design sa = saltelli({4, 2}, 42, BaseSample::Random);
  CHECK(sa.u(0, 0) == 0x1.26c82adb5c93dp-1);
  CHECK(sa.u(sa.points() - 1, 1) == 0x1.6434d1f47265p-5);
  const Design m = morris(3, 3, 4, 42);
  CHECK(std::vector<std::int32_t>(m.level.begin(), m.level.begin() + 12) ==
        std::vector<std::int32_t>{1, 0, 3, 3, 0, 3, 3, 2, 3, 3, 2, 1});
}
