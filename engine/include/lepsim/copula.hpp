#pragma once
// Correlated uncertain inputs through a Gaussian copula (docs/calibration.md, "Correlated
// inputs"): a rank (Spearman) correlation matrix is turned into the normal copula's Pearson
// matrix, rho = 2 sin(pi r / 6), checked to be a valid correlation matrix, and samples are
// Z = L e (L its Cholesky factor, e standard normals) mapped to uniforms Phi(Z) and through
// each marginal's quantile function.

#include <functional>
#include <string>
#include <vector>

#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"

namespace lepsim {

//! One broken rule of a correlation matrix: the entry (row, col), or row = col = -1 for
//! the matrix as a whole.
struct CorrelationProblem {
  int row = -1, col = -1;
  std::string rule;
};

//! The normal copula's Pearson correlation for a Spearman rank correlation r.
double spearman_to_pearson(double r);

//! Checks a d x d row-major rank-correlation matrix: finite, symmetric, unit diagonal,
//! entries in [-1, 1], and its Pearson transform positive definite (Cholesky). Empty: valid.
std::vector<CorrelationProblem> check_rank_correlation(const std::vector<double>& matrix, std::size_t d);

class GaussianCopula {
 public:
  //! Throws ScenarioError listing every problem, keyed `KEY[i][j]` (names[i] and names[j] in
  //! the rule) and located at `file`:`line` when given.
  GaussianCopula(std::vector<double> rank_correlation, std::vector<std::string> names,
                 const std::string& key = "correlation", const std::string& file = "", int line = 0);

  std::size_t dims() const { return names_.size(); }
  const std::vector<double>& pearson() const { return pearson_; }

  //! d correlated uniforms in (0, 1) from d standard normals drawn from `stream`.
  std::vector<double> uniforms(RandomStream& stream) const;
  //! uniforms() mapped through each marginal's quantile function.
  std::vector<double> sample(RandomStream& stream, const std::vector<std::function<double(double)>>& quantiles) const;

 private:
  std::vector<std::string> names_;
  std::vector<double> pearson_;  //!< row-major
  std::vector<double> chol_;     //!< lower Cholesky factor, row-major
};

//! A standard normal deviate: the normal quantile of one uniform of `stream` (monotone in
//! it, no rejection, so a draw always takes one uniform).
double standard_normal(RandomStream& stream);

//! Spearman rank correlation of two equally long samples (average ranks for ties).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace lepsim
