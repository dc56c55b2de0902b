#include <catch2/catch.hpp>

#include <boost/math/distributions/lognormal.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "lepsim/copula.hpp"
#include "lepsim/rng.hpp"

using namespace lepsim;

namespace {
std::vector<Diagnostic> refused(const std::vector<double>& m, std::size_t d) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < d; ++i) names.push_back(std::string("x").append(std::to_string(i)));
  try {
    GaussianCopula c(m, names, "uncertain.correlation", "s.toml", 12);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  FAIL("the matrix was accepted");
  return {};
}
}  // namespace

TEST_CASE("Spearman to Pearson for the normal copula: rho = 2 sin(pi r / 6)", "[copula]") {
  CHECK(spearman_to_pearson(0) == 0);
  CHECK(spearman_to_pearson(1) == Approx(1));
  CHECK(spearman_to_pearson(-1) == Approx(-1));
  CHECK(spearman_to_pearson(0.5) == Approx(0.517638).epsilon(1e-6));
}

TEST_CASE("Copula samples have the target rank correlations, through any marginals", "[copula]") {
  const std::vector<double> r = {1, 0.6, -0.3, 0.6, 1, 0.2, -0.3, 0.2, 1};
  const GaussianCopula c(r, {"procurement", "construction", "capacity"});
  // Marginals: uniform(10, 20), exponential(mean 3), lognormal: ranks do not depend on them.
  const boost::math::lognormal_distribution<double> ln(0.0, 0.5);
  const std::vector<std::function<double(double)>> q = {[](double u) { return 10 + 10 * u; },
                                                        [](double u) { return -3 * std::log1p(-u); },
                                                        [&](double u) { return boost::math::quantile(ln, u); }};
  const int n = 20000;
  std::vector<std::vector<double>> cols(3);
  for (int i = 0; i < n; ++i) {
    RandomStream s(42, static_cast<std::uint32_t>(i), 0, Purpose::Calibration, 7);
    const auto x = c.sample(s, q);
    for (std::size_t j = 0; j < 3; ++j) cols[j].push_back(x[j]);
  }
  // Sampling sd of a Spearman coefficient at n = 20,000 is below 0.007: tolerance 0.02.
  CHECK(spearman(cols[0], cols[1]) == Approx(0.6).margin(0.02));
  CHECK(spearman(cols[0], cols[2]) == Approx(-0.3).margin(0.02));
  CHECK(spearman(cols[1], cols[2]) == Approx(0.2).margin(0.02));
  // Marginals kept: the uniform's mean, the exponential's mean.
  double m0 = 0, m1 = 0;
  for (int i = 0; i < n; ++i) m0 += cols[0][static_cast<std::size_t>(i)] / n, m1 += cols[1][static_cast<std::size_t>(i)] / n;
  CHECK(m0 == Approx(15).margin(0.1));
  CHECK(m1 == Approx(3).margin(0.1));
  // Seeded: the same stream gives the same sample.
  RandomStream a(1, 2, 3, Purpose::Calibration, 7), b(1, 2, 3, Purpose::Calibration, 7);
  CHECK(c.uniforms(a) == c.uniforms(b));
}

TEST_CASE("Invalid correlation matrices are refused, naming the entry or the property", "[copula]") {
  SECTION("asymmetric") {
    const auto d = refused({1, 0.5, 0.4, 1}, 2);
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "uncertain.correlation[0][1]");
    CHECK(d[0].value == "0.5");
    CHECK(d[0].file == "s.toml");
    CHECK(d[0].line == 12);
    CHECK_THAT(d[0].rule, Catch::Contains("symmetric") && Catch::Contains("x0 with x1"));
  }
  SECTION("diagonal, range and finiteness, all at once") {
    const auto d = refused({0.9, 1.5, 0, 1.5, 1, NAN, 0, NAN, 1}, 3);
    REQUIRE(d.size() == 5);
    CHECK(d[0].key == "uncertain.correlation[0][0]");
    CHECK_THAT(d[0].rule, Catch::Contains("must be 1"));
    CHECK(d[1].key == "uncertain.correlation[0][1]");
    CHECK_THAT(d[1].rule, Catch::Contains("between -1 and 1"));
    CHECK(d[2].key == "uncertain.correlation[1][0]");
    CHECK(d[3].key == "uncertain.correlation[1][2]");
    CHECK_THAT(d[3].rule, Catch::Contains("finite"));
  }
  SECTION("not positive definite") {
    const auto d = refused({1, 0.9, -0.9, 0.9, 1, 0.9, -0.9, 0.9, 1}, 3);
    REQUIRE(d.size() == 1);
    CHECK(d[0].key == "uncertain.correlation");
    CHECK_THAT(d[0].rule, Catch::Contains("positive definite") && Catch::Contains("smallest eigenvalue -"));
  }
  SECTION("wrong shape") {
    const auto p = check_rank_correlation({1, 0, 0}, 2);
    REQUIRE(p.size() == 1);
    CHECK(p[0].row == -1);
  }
  CHECK(check_rank_correlation({1, 0.3, 0.3, 1}, 2).empty());
}
