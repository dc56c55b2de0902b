#include "lepsim/design.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <boost/random/sobol.hpp>

#include "lepsim/error.hpp"
#include "lepsim/rng.hpp"

namespace lepsim::design {
namespace {

// Purpose word of every design stream: 0xFFFF, never used by the model's Purpose enum
// (docs/random-streams.md, "Design and bootstrap streams"). The substream names the design.
constexpr Purpose DESIGN_PURPOSE = static_cast<Purpose>(0xFFFF);

// Substreams of DESIGN_PURPOSE, one per design: append-only, like Purpose.
enum class DesignStream : std::uint16_t {
  LatinHypercube = 1,
  SobolShift = 2,
  SaltelliRandom = 3,
  Morris = 4,
  SobolOwen = 5
};

RandomStream stream(std::uint64_t seed, DesignStream which, std::uint32_t replication, std::uint32_t entity) {
  return RandomStream(seed, replication, entity, DESIGN_PURPOSE, static_cast<std::uint16_t>(which));
}

// Uniform integer in [0, n): x mod n; the bias, < n / 2^64, is far below anything a design can show.
std::size_t below(RandomStream& r, std::size_t n) { return static_cast<std::size_t>(r.next_u64() % n); }

// Fisher-Yates over 0..n-1.
std::vector<std::size_t> permutation(RandomStream& r, std::size_t n) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[below(r, i)]);
  return p;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("design: " + what);
}

std::uint32_t id32(std::size_t v, const char* what) {
  require(v <= std::numeric_limits<std::uint32_t>::max(), std::string(what) + " beyond 2^32");
  return static_cast<std::uint32_t>(v);
}

Design make(Kind kind, std::size_t factors, std::size_t points) {
  Design d;
  d.kind = kind;
  d.factors = factors;
  d.unit.assign(points * factors, 0.0);
  d.info.resize(points);
  for (std::size_t p = 0; p < points; ++p) d.info[p].group = d.info[p].stream = static_cast<std::int64_t>(p);
  return d;
}

// Owen's nested uniform scrambling of the top 53 bits of x (the bits a double keeps): bit
// 63 - d is flipped by a random bit drawn for the node of the binary tree reached by the d bits
// above it, so points sharing their first d digits see the same flip. The random bit of a
// node is the low bit of the first word of stream (seed, prefix low 32 bits, prefix high 20
// bits | d << 20, design purpose, substream 5) at block `dim`: a pure function of
// (seed, dimension, node).
std::uint64_t owen_scramble(std::uint64_t x, std::uint64_t seed, std::uint32_t dim) {
  std::uint64_t out = x;
  for (unsigned d = 0; d < 53; ++d) {
    const std::uint64_t prefix = d == 0 ? 0 : x >> (64 - d);
    RandomStream r(seed, static_cast<std::uint32_t>(prefix), static_cast<std::uint32_t>(prefix >> 32) | (d << 20),
                   DESIGN_PURPOSE, static_cast<std::uint16_t>(DesignStream::SobolOwen), dim);
    if (r.next_u64() & 1) out ^= std::uint64_t{1} << (63 - d);
  }
  return out;
}

// Sobol' points 0..n-1 in `dims` dimensions, row-major, 64-bit words before conversion.
std::vector<std::uint64_t> sobol_words(std::size_t n, std::size_t dims, std::uint64_t seed, Scramble scramble) {
  require(dims >= 1 && dims <= sobol_max_dimension(),
          "Sobol' dimension must be 1.." + std::to_string(sobol_max_dimension()));
  std::vector<std::uint64_t> w(n * dims, 0);
  if (n > 1) {
    // Boost skips the origin (its first output is point 1): point 0 is added here.
    boost::random::sobol_engine<std::uint64_t, 64> engine(dims);
    for (std::size_t i = dims; i < n * dims; ++i) w[i] = engine();
  }
  if (scramble == Scramble::Owen) {
    for (std::size_t i = 0; i < n * dims; ++i) w[i] = owen_scramble(w[i], seed, static_cast<std::uint32_t>(i % dims));
  } else if (scramble == Scramble::DigitalShift) {
    RandomStream r = stream(seed, DesignStream::SobolShift, 0, 0);
    std::vector<std::uint64_t> shift(dims);
    for (auto& s : shift) s = r.next_u64();
    for (std::size_t i = 0; i < n * dims; ++i) w[i] ^= shift[i % dims];
  }
  return w;
}

// The top 53 bits: a double in [0, 1).
double to_unit(std::uint64_t w) { return static_cast<double>(w >> 11) * 0x1p-53; }

}  // namespace

std::string_view role_name(Role role) noexcept {
  switch (role) {
    case Role::Point:
      return "point";
    case Role::Base:
      return "base";
    case Role::Low:
      return "low";
    case Role::High:
      return "high";
    case Role::A:
      return "A";
    case Role::B:
      return "B";
    case Role::AB:
      return "AB";
    case Role::BA:
      return "BA";
    case Role::MorrisStart:
      return "morris_start";
    case Role::MorrisStep:
      return "morris_step";
  }
  return "role(?)";
}

double grid_value(int level, int levels) noexcept {
  return levels <= 1 ? 0.5 : static_cast<double>(level) / static_cast<double>(levels - 1);
}

Design full_factorial(std::span<const int> levels) {
  require(!levels.empty(), "a factorial needs at least one factor");
  std::size_t n = 1;
  for (int l : levels) {
    require(l >= 1, "every factor needs at least one level");
    require(n <= std::numeric_limits<std::int32_t>::max() / static_cast<std::size_t>(l),
            "factorial of more than 2^31 points");
    n *= static_cast<std::size_t>(l);
  }
  const std::size_t k = levels.size();
  Design d = make(Kind::FullFactorial, k, n);
  d.level.assign(n * k, 0);
  for (std::size_t p = 0; p < n; ++p) {
    std::size_t rest = p;
    for (std::size_t f = k; f-- > 0;) {  // the last factor varies fastest
      const auto l = static_cast<std::size_t>(levels[f]);
      const auto j = static_cast<std::int32_t>(rest % l);
      rest /= l;
      d.level[p * k + f] = j;
      d.unit[p * k + f] = (j + 0.5) / static_cast<double>(l);
    }
  }
  return d;
}

Design one_at_a_time(std::span<const double> base, std::span<const double> low, std::span<const double> high) {
  const std::size_t k = base.size();
  require(k >= 1 && low.size() == k && high.size() == k, "base, low and high need one value per factor");
  for (std::size_t f = 0; f < k; ++f)
    for (double v : {base[f], low[f], high[f]}) require(v >= 0 && v <= 1, "one-at-a-time coordinates must lie in [0, 1]");
  Design d = make(Kind::OneAtATime, k, 1 + 2 * k);
  d.level.assign(d.points() * k, 1);
  for (std::size_t p = 0; p < d.points(); ++p) std::copy(base.begin(), base.end(), d.unit.begin() + p * k);
  d.info[0].role = Role::Base;
  for (std::size_t f = 0; f < k; ++f) {
    const std::size_t lo = 1 + 2 * f, hi = lo + 1;
    d.unit[lo * k + f] = low[f];
    d.unit[hi * k + f] = high[f];
    d.level[lo * k + f] = 0;
    d.level[hi * k + f] = 2;
    d.info[lo].role = Role::Low;
    d.info[hi].role = Role::High;
    d.info[lo].factor = d.info[hi].factor = static_cast<std::int32_t>(f);
  }
  return d;
}

Design latin_hypercube(std::size_t n, std::size_t factors, std::uint64_t seed, const LatinHypercubeOptions& options) {
  require(n >= 1 && factors >= 1, "a Latin hypercube needs n >= 1 and k >= 1");
  require(!options.maximin || options.candidates >= 1, "maximin needs at least one candidate");
  const int candidates = options.maximin ? options.candidates : 1;
  Design best;
  double best_distance = -1;
  for (int c = 0; c < candidates; ++c) {
    Design d = make(Kind::LatinHypercube, factors, n);
    for (std::size_t f = 0; f < factors; ++f) {
      // One stream per (candidate, factor): candidate c is the same whatever `candidates` is.
      RandomStream r = stream(seed, DesignStream::LatinHypercube, static_cast<std::uint32_t>(c), id32(f, "factor"));
      const std::vector<std::size_t> strata = permutation(r, n);
      for (std::size_t p = 0; p < n; ++p)
        d.unit[p * factors + f] = (static_cast<double>(strata[p]) + r.uniform()) / static_cast<double>(n);
      // (s + u) / n < (s + 1) / n always: u < 1 - 2^-53 and the division rounds monotonically.
    }
    if (candidates == 1) return d;
    const double dist = min_pairwise_distance(d);
    if (dist > best_distance) best_distance = dist, best = std::move(d);
  }
  return best;
}

double min_pairwise_distance(const Design& d) {
  double best = std::numeric_limits<double>::infinity();
  const std::size_t k = d.factors;
  for (std::size_t p = 0; p < d.points(); ++p)
    for (std::size_t q = p + 1; q < d.points(); ++q) {
      double s = 0;
      for (std::size_t f = 0; f < k; ++f) {
        const double diff = d.unit[p * k + f] - d.unit[q * k + f];
        s += diff * diff;
      }
      best = std::min(best, s);
    }
  return std::sqrt(best);
}

std::size_t sobol_max_dimension() noexcept { return boost::random::default_sobol_table::max_dimension; }

Design sobol_sequence(std::size_t n, std::size_t factors, std::uint64_t seed, Scramble scramble) {
  require(n >= 1, "a Sobol' design needs n >= 1");
  Design d = make(Kind::Sobol, factors, n);
  const std::vector<std::uint64_t> w = sobol_words(n, factors, seed, scramble);
  for (std::size_t i = 0; i < w.size(); ++i) d.unit[i] = to_unit(w[i]);
  return d;
}

Design saltelli(const SaltelliLayout& layout, std::uint64_t seed, BaseSample sample) {
  const std::size_t n = layout.base_rows, k = layout.factors;
  require(n >= 2 && k >= 1, "a Saltelli design needs N >= 2 and k >= 1");
  require(k <= std::numeric_limits<std::int32_t>::max() - 1, "too many factors");
  // Base rows: A_j = columns 0..k-1, B_j = columns k..2k-1.
  std::vector<double> base(n * 2 * k);
  if (sample == BaseSample::Sobol) {
    const std::vector<std::uint64_t> w = sobol_words(n, 2 * k, seed, Scramble::Owen);
    for (std::size_t i = 0; i < w.size(); ++i) base[i] = to_unit(w[i]);
  } else {
    for (std::size_t j = 0; j < n; ++j) {
      RandomStream r = stream(seed, DesignStream::SaltelliRandom, id32(j, "base row"), 0);
      for (std::size_t c = 0; c < 2 * k; ++c) base[j * 2 * k + c] = r.uniform();
    }
  }
  Design d = make(Kind::Saltelli, k, layout.rows());
  auto put = [&](std::size_t row, Role role, std::size_t j, std::size_t factor_or_k1, std::size_t inputs_of,
                 std::size_t other_column, std::size_t stream_row) {
    // inputs_of: 0 = A, 1 = B; other_column: the column taken from the other matrix (k or more: none).
    const double* own = &base[j * 2 * k + inputs_of * k];
    const double* other = &base[j * 2 * k + (1 - inputs_of) * k];
    for (std::size_t f = 0; f < k; ++f) d.unit[row * k + f] = f == other_column ? other[f] : own[f];
    PointInfo& info = d.info[row];
    info.role = role;
    info.group = static_cast<std::int64_t>(j);
    info.factor = factor_or_k1 == SIZE_MAX ? -1 : static_cast<std::int32_t>(factor_or_k1);
    info.stream = static_cast<std::int64_t>(stream_row);
  };
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t a = layout.a(j), b = layout.b(j);
    put(a, Role::A, j, SIZE_MAX, 0, SIZE_MAX, a);
    put(b, Role::B, j, SIZE_MAX, 1, SIZE_MAX, b);
    for (std::size_t i = 0; i < k; ++i) put(layout.ab(j, i), Role::AB, j, i, 0, i, a);
    if (layout.noise) put(layout.ab(j, k), Role::AB, j, k, 0, SIZE_MAX, b);
    if (layout.ba) {
      for (std::size_t i = 0; i < k; ++i) put(layout.ba_row(j, i), Role::BA, j, i, 1, i, b);
      if (layout.noise) put(layout.ba_row(j, k), Role::BA, j, k, 1, SIZE_MAX, a);
    }
  }
  return d;
}

double morris_delta(int levels) noexcept { return static_cast<double>(levels) / (2.0 * static_cast<double>(levels - 1)); }

Design morris(std::size_t trajectories, std::size_t factors, int levels, std::uint64_t seed) {
  require(trajectories >= 1 && factors >= 1, "Morris needs r >= 1 trajectories and k >= 1 factors");
  require(levels >= 2 && levels % 2 == 0, "Morris needs an even number of levels p >= 2");
  const std::size_t k = factors;
  const auto p = static_cast<std::size_t>(levels);
  const std::size_t h = p / 2;  // delta in grid steps: delta * (p - 1) = p / 2
  const double delta = morris_delta(levels);
  Design d = make(Kind::Morris, k, trajectories * (k + 1));
  d.level.assign(d.points() * k, 0);
  for (std::size_t t = 0; t < trajectories; ++t) {
    RandomStream r = stream(seed, DesignStream::Morris, id32(t, "trajectory"), 0);
    std::vector<std::int32_t> lv(k);
    std::vector<int> dir(k);
    for (std::size_t f = 0; f < k; ++f) {
      dir[f] = (r.next_u64() >> 63) ? 1 : -1;
      // Up: start among levels 0..p-h-1; down: among h..p-1 (p/2 choices either way).
      lv[f] = static_cast<std::int32_t>((dir[f] > 0 ? 0 : h) + below(r, p - h));
    }
    const std::vector<std::size_t> order = permutation(r, k);
    const std::size_t first = t * (k + 1);
    for (std::size_t m = 0; m <= k; ++m) {
      const std::size_t pt = first + m;
      PointInfo& info = d.info[pt];
      info.group = static_cast<std::int64_t>(t);
      if (m == 0) {
        info.role = Role::MorrisStart;
      } else {
        const std::size_t f = order[m - 1];
        lv[f] += dir[f] * static_cast<std::int32_t>(h);
        info.role = Role::MorrisStep;
        info.factor = static_cast<std::int32_t>(f);
        info.step = dir[f] * delta;
      }
      for (std::size_t f = 0; f < k; ++f) {
        d.level[pt * k + f] = lv[f];
        d.unit[pt * k + f] = static_cast<double>(lv[f]) / static_cast<double>(p - 1);
      }
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------
// CSV run plan

namespace {

struct Cell {
  std::string text;
  bool quoted = false;
  bool bad_quote = false;
};

// Splits one line into cells: commas separate; a cell may be double-quoted ("" inside for a
// quote); spaces and tabs around a cell are dropped.
std::vector<Cell> split_line(std::string_view line) {
  std::vector<Cell> cells;
  std::size_t i = 0;
  auto trim_ws = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  while (true) {
    Cell c;
    trim_ws();
    if (i < line.size() && line[i] == '"') {
      c.quoted = true;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            c.text += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        c.text += line[i++];
      }
      trim_ws();
      if (!closed || (i < line.size() && line[i] != ',')) c.bad_quote = true;
      while (i < line.size() && line[i] != ',') ++i;
    } else {
      const std::size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      std::size_t end = i;
      while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
      c.text = std::string(line.substr(start, end - start));
    }
    cells.push_back(std::move(c));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return cells;
}

bool valid_id(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
           ch == '.';
  });
}

std::string column_key(const std::string& name, std::size_t column) {
  return "column " + std::to_string(column + 1) + " (" + (name.empty() ? std::string("unnamed") : name) + ")";
}

}  // namespace

Plan read_plan(std::string_view text, const std::string& file, std::span<const std::string> expected_factors) {
  std::vector<Diagnostic> errors;
  auto fail = [&](int line, std::string key, std::string value, std::string rule) {
    errors.push_back(Diagnostic{file, line, std::move(key), std::move(value), std::move(rule)});
  };
  Plan plan;
  plan.factors.assign(expected_factors.begin(), expected_factors.end());

  // Lines; a final line break and trailing empty lines are allowed, \r\n as well as \n.
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    pos = end + 1;
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string_view::npos) lines.pop_back();
  if (lines.empty()) {
    fail(0, "", "", "the run plan is empty: it needs a header `point,<factors>` and at least one row");
    throw ScenarioError(std::move(errors));
  }

  // Header: `point` once, each expected factor once, nothing else.
  const std::vector<Cell> header = split_line(lines[0]);
  std::unordered_map<std::string, std::size_t> expected_index;
  for (std::size_t f = 0; f < expected_factors.size(); ++f) expected_index.emplace(expected_factors[f], f);
  std::vector<std::ptrdiff_t> target(header.size(), -2);  // -1: the id column, -2: none
  std::unordered_map<std::string, std::size_t> seen;
  std::ptrdiff_t id_column = -1;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string& name = header[c].text;
    if (header[c].bad_quote) {
      fail(1, column_key(name, c), name, "unterminated or misplaced quote");
      continue;
    }
    if (name.empty()) {
      fail(1, column_key(name, c), "", "empty column name");
      continue;
    }
    if (auto [it, fresh] = seen.emplace(name, c); !fresh) {
      fail(1, column_key(name, c), name, "duplicate column (also column " + std::to_string(it->second + 1) + ")");
      continue;
    }
    if (name == "point") {
      id_column = static_cast<std::ptrdiff_t>(c);
      target[c] = -1;
    } else if (auto it = expected_index.find(name); it != expected_index.end()) {
      target[c] = static_cast<std::ptrdiff_t>(it->second);
    } else {
      std::string known = "point";
      for (const std::string& f : expected_factors) known += ", " + f;
      fail(1, column_key(name, c), name, "unknown column (expected: " + known + ")");
    }
  }
  if (id_column < 0) fail(1, "point", "", "missing column: the point id");
  for (const std::string& f : expected_factors)
    if (!seen.count(f)) fail(1, f, "", "missing column: a factor of the experiment");

  const std::size_t k = expected_factors.size();
  std::unordered_map<std::string, int> id_line;
  for (std::size_t l = 1; l < lines.size(); ++l) {
    const int line = static_cast<int>(l + 1);
    if (lines[l].find_first_not_of(" \t") == std::string_view::npos) {
      fail(line, "", "", "empty row");
      continue;
    }
    const std::vector<Cell> cells = split_line(lines[l]);
    if (cells.size() != header.size()) {
      fail(line, "", "",
           "wrong number of cells: " + std::to_string(cells.size()) + " where the header has " +
               std::to_string(header.size()));
      continue;
    }
    std::string id;
    std::vector<double> row(k, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string key = column_key(header[c].text, c);
      const std::string& v = cells[c].text;
      if (cells[c].bad_quote) {
        fail(line, key, v, "unterminated or misplaced quote");
        continue;
      }
      if (v.empty()) {
        fail(line, key, "", "empty cell");
        continue;
      }
      if (target[c] == -1) {
        if (!valid_id(v)) {
          fail(line, key, v, "a point id is letters, digits, '_', '-' or '.'");
        } else if (auto [it, fresh] = id_line.emplace(v, line); !fresh) {
          fail(line, key, v, "duplicate point id (first on line " + std::to_string(it->second) + ")");
        }
        id = v;
      } else if (target[c] >= 0) {
        double x = 0;
        const char* first = v.data();
        const char* last = v.data() + v.size();
        if (*first == '+') ++first;  // from_chars refuses a leading '+'
        const auto [ptr, ec] = std::from_chars(first, last, x, std::chars_format::general);
        if (cells[c].quoted || ec != std::errc() || ptr != last || first == last) {
          fail(line, key, v, "not a number");
        } else if (!std::isfinite(x)) {
          fail(line, key, v, "must be a finite number");
        } else {
          row[static_cast<std::size_t>(target[c])] = x;
        }
      }
    }
    plan.ids.push_back(id);
    plan.values.insert(plan.values.end(), row.begin(), row.end());
  }
  if (lines.size() == 1) fail(1, "", "", "the run plan has a header but no rows");
  if (!errors.empty()) throw ScenarioError(std::move(errors));
  return plan;
}

Plan read_plan_file(const std::string& path, std::span<const std::string> expected_factors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError({Diagnostic{path, 0, "", "", "cannot open the run plan"}});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ScenarioError({Diagnostic{path, 0, "", "", "cannot read the run plan"}});
  return read_plan(text.str(), path, expected_factors);
}

std::string write_plan(const Plan& plan) {
  const std::size_t k = plan.factors.size();
  require(plan.values.size() == plan.ids.size() * k, "plan values must be points x factors");
  std::string out = "point";
  for (const std::string& f : plan.factors) {
    require(f.find_first_of(",\"\n\r") == std::string::npos && !f.empty() && f != "point",
            "a plan column name must be non-empty, not `point`, without commas, quotes or line breaks");
    out += "," + f;
  }
  out += "\n";
  char buf[64];
  for (std::size_t p = 0; p < plan.ids.size(); ++p) {
    require(valid_id(plan.ids[p]), "invalid point id `" + plan.ids[p] + "`");
    out += plan.ids[p];
    for (std::size_t f = 0; f < k; ++f) {
      const double v = plan.values[p * k + f];
      require(std::isfinite(v), "plan values must be finite");
      const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
      out += ',';
      out.append(buf, res.ptr);
    }
    out += "\n";
  }
  return out;
}

}  // namespace lepsim::design
