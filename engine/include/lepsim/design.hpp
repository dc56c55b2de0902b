#pragma once
// Experiment designs over k factors (docs/designs.md): points in the unit cube, each with
// its role, that a later layer maps to parameter values; and the strict CSV run plan.
//
// A design is a pure function of its arguments and seed: its random draws come from the
// project's Philox streams (lepsim/rng.hpp) under a purpose word reserved for designs, never
// from <random> distributions (whose output differs between standard libraries).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lepsim::design {

enum class Kind : std::uint8_t { FullFactorial, OneAtATime, LatinHypercube, Sobol, Saltelli, Morris };

//! What a point is for; estimators read the layout from it.
enum class Role : std::uint8_t {
  Point,        //!< a point of a space-filling or factorial design
  Base,         //!< one-at-a-time: every factor at its base
  Low,          //!< one-at-a-time: `factor` at its low value, the others at base
  High,         //!< one-at-a-time: `factor` at its high value, the others at base
  A,            //!< Saltelli: row of matrix A
  B,            //!< Saltelli: row of matrix B
  AB,           //!< Saltelli: row of A with column `factor` taken from B
  BA,           //!< Saltelli: row of B with column `factor` taken from A
  MorrisStart,  //!< Morris: first point of a trajectory
  MorrisStep,   //!< Morris: previous point with `factor` moved by `step`
};

std::string_view role_name(Role role) noexcept;

struct PointInfo {
  Role role = Role::Point;
  std::int64_t group = 0;    //!< Saltelli: base row j; Morris: trajectory; otherwise the point itself
  std::int32_t factor = -1;  //!< the factor changed from the reference point (-1: none); in a
                             //!< Saltelli design with a noise column, `factors` means the noise
  std::int64_t stream = 0;   //!< the point whose random streams this point uses (itself, except
                             //!< Saltelli pick-freeze rows: docs/designs.md, "Streams")
  double step = 0;           //!< Morris: signed change of `factor` from the previous point (+-delta)
};

//! Points x factors in the unit cube, row-major, with one PointInfo per point.
struct Design {
  Kind kind = Kind::LatinHypercube;
  std::size_t factors = 0;
  std::vector<double> unit;         //!< points x factors: unit coordinates
  std::vector<std::int32_t> level;  //!< points x factors level indices; empty unless the design has levels
  std::vector<PointInfo> info;      //!< one per point

  std::size_t points() const noexcept { return info.size(); }
  double u(std::size_t point, std::size_t factor) const { return unit[point * factors + factor]; }
  std::int32_t level_of(std::size_t point, std::size_t factor) const { return level[point * factors + factor]; }
  std::span<const double> row(std::size_t point) const { return {unit.data() + point * factors, factors}; }
};

//! Full factorial grid: every combination of levels[f] levels (each >= 1), the first factor
//! varying slowest. Level j of L has unit coordinate (j + 0.5) / L (the middle of its cell, a
//! valid quantile); a range factor wanting its end points maps by grid_value(j, L).
Design full_factorial(std::span<const int> levels);

//! j / (L - 1): level j of L spread from 0 to 1 inclusive (0.5 for L = 1).
double grid_value(int level, int levels) noexcept;

//! One-at-a-time around a base point: point 0 is the base, then for each factor f the low
//! point (f at low[f]) and the high point (f at high[f]), every other factor at base. All
//! coordinates in [0, 1]. Levels: 0 = low, 1 = base, 2 = high. 1 + 2k points.
Design one_at_a_time(std::span<const double> base, std::span<const double> low, std::span<const double> high);

struct LatinHypercubeOptions {
  //! Maximin: of `candidates` independent hypercubes keep the one whose smallest pairwise
  //! Euclidean distance is largest (ties: the first).
  bool maximin = false;
  int candidates = 32;
};

//! Latin hypercube of n points: each factor has exactly one point in each stratum
//! [i/n, (i+1)/n), at a uniform position inside it.
Design latin_hypercube(std::size_t n, std::size_t factors, std::uint64_t seed, const LatinHypercubeOptions& options = {});

//! Smallest Euclidean distance between two points of the design (+inf with < 2 points).
double min_pairwise_distance(const Design& d);

enum class Scramble : std::uint8_t {
  None,          //!< the plain sequence, starting with the origin
  DigitalShift,  //!< random digital shift: each coordinate's 64 bits XOR a seeded word per factor
  Owen,          //!< Owen's nested uniform scrambling of the 53 bits a double keeps (the default)
};

//! Largest dimension of the Sobol' sequence (Boost's Joe-Kuo table).
std::size_t sobol_max_dimension() noexcept;

//! The first n points of the Sobol' sequence in `factors` dimensions (Boost's direction
//! numbers, Gray-code order, the origin included as point 0 so that the first 2^m points are a
//! (t, m, s)-net), scrambled as asked. Use n a power of two for the net's balance.
Design sobol_sequence(std::size_t n, std::size_t factors, std::uint64_t seed, Scramble scramble = Scramble::Owen);

//! Row order of a Saltelli pick-freeze design, base row by base row (so the first N/2 base
//! rows are a design of their own, for the convergence check): for base row j,
//!   A_j, B_j, AB_{j,0..k-1}, [AB_{j,noise}], [BA_{j,0..k-1}, [BA_{j,noise}]].
struct SaltelliLayout {
  std::size_t base_rows = 0;  //!< N
  std::size_t factors = 0;    //!< k
  bool ba = false;            //!< also the BA_i rows (B with column i from A)
  bool noise = false;         //!< also pick-freeze rows for the model's randomness as a factor

  std::size_t columns() const noexcept { return factors + (noise ? 1 : 0); }  //!< factors with the noise
  std::size_t rows_per_base() const noexcept { return 2 + columns() * (ba ? 2 : 1); }
  std::size_t rows() const noexcept { return base_rows * rows_per_base(); }
  std::size_t a(std::size_t j) const noexcept { return j * rows_per_base(); }
  std::size_t b(std::size_t j) const noexcept { return a(j) + 1; }
  //! AB_{j,i}; i == factors is the noise row.
  std::size_t ab(std::size_t j, std::size_t i) const noexcept { return a(j) + 2 + i; }
  //! BA_{j,i} (needs ba).
  std::size_t ba_row(std::size_t j, std::size_t i) const noexcept { return a(j) + 2 + columns() + i; }
};

enum class BaseSample : std::uint8_t {
  Sobol,   //!< A | B from the 2k-dimensional Owen-scrambled Sobol' sequence (Saltelli 2010)
  Random,  //!< independent uniforms (i.i.d. base rows: what the bootstrap assumes)
};

//! Saltelli pick-freeze design. Streams: A_j and every AB_{j,i} share A_j's streams, B_j and
//! every BA_{j,i} share B_j's; the noise rows swap them (AB_{j,noise} = A_j's inputs with
//! B_j's streams, BA_{j,noise} = B_j's inputs with A_j's streams).
Design saltelli(const SaltelliLayout& layout, std::uint64_t seed, BaseSample sample = BaseSample::Sobol);

//! Morris's delta for p levels: p / (2 (p - 1)).
double morris_delta(int levels) noexcept;

//! Morris elementary-effects design: `trajectories` trajectories of k + 1 points on the grid
//! {0, 1/(p-1), ..., 1} (p even, >= 2; note 1 is included). Each trajectory starts at a random
//! grid point and moves each factor once, in a random order, by +-delta (direction random,
//! chosen so the point stays in [0, 1]). Levels are grid indices 0..p-1.
Design morris(std::size_t trajectories, std::size_t factors, int levels, std::uint64_t seed);

// ---------------------------------------------------------------------------------------
// CSV run plan: one row per point, the column `point` (an id) and one column per factor.

struct Plan {
  std::vector<std::string> factors;  //!< column names, in the caller's expected order
  std::vector<std::string> ids;      //!< point ids, in file order
  std::vector<double> values;        //!< points x factors, row-major, in `factors` order

  std::size_t points() const noexcept { return ids.size(); }
  double value(std::size_t point, std::size_t factor) const { return values[point * factors.size() + factor]; }
};

//! Reads a plan strictly (docs/designs.md, "CSV run plan"). `file` names the source in
//! messages. Every problem is collected and thrown at once as a ScenarioError whose
//! diagnostics give the line (1 = header) and the column: an unknown, duplicated or missing
//! column, a wrong number of cells, an empty cell, a non-number or non-finite value, an
//! invalid or duplicate point id, no rows.
Plan read_plan(std::string_view text, const std::string& file, std::span<const std::string> expected_factors);

//! Reads the file at `path` (a ScenarioError naming it when it cannot be read).
Plan read_plan_file(const std::string& path, std::span<const std::string> expected_factors);

//! The plan as CSV text: header `point,<factors>`, then one line per point, values in the
//! shortest form that reads back to the same double (std::to_chars), so read_plan(write_plan(p))
//! gives p bit for bit.
std::string write_plan(const Plan& plan);

}  // namespace lepsim::design
