#include "lepsim/copula.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numbers>
#include <numeric>
#include <sstream>

namespace lepsim {

double spearman_to_pearson(double r) { return 2 * std::sin(std::numbers::pi * r / 6); }

double standard_normal(RandomStream& stream) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), stream.uniform());
}

namespace {
std::string number_text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}
}  // namespace

std::vector<CorrelationProblem> check_rank_correlation(const std::vector<double>& m, std::size_t d) {
  std::vector<CorrelationProblem> out;
  if (d == 0 || m.size() != d * d) {
    out.push_back({-1, -1,
                   "must be a square matrix: " + std::to_string(d) + " rows of " + std::to_string(d) + " entries (" +
                       std::to_string(m.size()) + " given)"});
    return out;
  }
  const auto at = [&](std::size_t i, std::size_t j) { return m[i * d + j]; };
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const int r = static_cast<int>(i), c = static_cast<int>(j);
      const double x = at(i, j);
      if (!std::isfinite(x))
        out.push_back({r, c, "must be a finite number"});
      else if (i == j && x != 1)
        out.push_back({r, c, "must be 1 (a diagonal entry: a variable's correlation with itself), not " + number_text(x)});
      else if (x < -1 || x > 1)
        out.push_back({r, c, "must be between -1 and 1, not " + number_text(x)});
      else if (j > i && std::isfinite(at(j, i)) && x != at(j, i))
        out.push_back({r, c,
                       "must equal entry [" + std::to_string(j) + "][" + std::to_string(i) + "] (" + number_text(at(j, i)) +
                           "): the matrix must be symmetric"});
    }
  if (!out.empty()) return out;
  Eigen::MatrixXd p(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j)
      p(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = i == j ? 1.0 : spearman_to_pearson(at(i, j));
  Eigen::LLT<Eigen::MatrixXd> llt(p);
  if (llt.info() != Eigen::Success) {
    const double smallest = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(p).eigenvalues().minCoeff();
    out.push_back({-1, -1,
                   "must be positive definite (its normal-copula Pearson matrix 2 sin(pi r / 6) has smallest eigenvalue " +
                       number_text(smallest) + "): the correlations contradict one another"});
  }
  return out;
}

GaussianCopula::GaussianCopula(std::vector<double> rank, std::vector<std::string> names, const std::string& key,
                               const std::string& file, int line)
    : names_(std::move(names)) {
  const std::size_t d = names_.size();
  const auto problems = check_rank_correlation(rank, d);
  if (!problems.empty()) {
    std::vector<Diagnostic> ds;
    for (const CorrelationProblem& p : problems) {
      if (p.row < 0) {
        ds.push_back({file, line, key, "", p.rule});
      } else {
        const auto i = static_cast<std::size_t>(p.row), j = static_cast<std::size_t>(p.col);
        ds.push_back({file, line, key + "[" + std::to_string(i) + "][" + std::to_string(j) + "]",
                      number_text(rank[i * d + j]), p.rule + " (" + names_[i] + " with " + names_[j] + ")"});
      }
    }
    throw ScenarioError(std::move(ds));
  }
  pearson_.resize(d * d);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) pearson_[i * d + j] = i == j ? 1.0 : spearman_to_pearson(rank[i * d + j]);
  Eigen::MatrixXd p = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      pearson_.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  const Eigen::MatrixXd l = Eigen::LLT<Eigen::MatrixXd>(p).matrixL();
  chol_.resize(d * d);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) chol_[i * d + j] = l(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
}

std::vector<double> GaussianCopula::uniforms(RandomStream& stream) const {
  const std::size_t d = dims();
  std::vector<double> e(d), u(d);
  for (double& x : e) x = standard_normal(stream);
  const boost::math::normal_distribution<double> phi;
  for (std::size_t i = 0; i < d; ++i) {
    double z = 0;
    for (std::size_t j = 0; j <= i; ++j) z += chol_[i * d + j] * e[j];
    // Keep u inside (0, 1): a quantile function may be infinite at the ends.
    u[i] = std::clamp(boost::math::cdf(phi, z), 0x1p-53, 1 - 0x1p-53);
  }
  return u;
}

std::vector<double> GaussianCopula::sample(RandomStream& stream,
                                           const std::vector<std::function<double(double)>>& quantiles) const {
  std::vector<double> u = uniforms(stream);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = quantiles.at(i)(u[i]);
  return u;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> o(v.size());
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < o.size();) {
      std::size_t j = i;
      while (j + 1 < o.size() && v[o[j + 1]] == v[o[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) r[o[k]] = 0.5 * static_cast<double>(i + j);  // average rank of ties
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace lepsim
