#include "lepsim/calibration.hpp"

#include <algorithm>
#include <exception>
#include <thread>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <sstream>
#include <stdexcept>

#include "percentile.hpp"

namespace lepsim {

std::vector<Target> record_targets(const ObservedRecord& record, MilestoneUse use, double discrepancy_fraction) {
  std::vector<Target> out;
  for (const Milestone* m : record.expressible(use)) {
    const double sd = m->effective_sd(record.secondary_sd_factor), disc = discrepancy_fraction * std::abs(m->value);
    out.push_back({m->metric, m->value, sd * sd, disc * disc});
  }
  return out;
}

bool Box::contains(const std::vector<double>& x) const {
  for (std::size_t i = 0; i < dims(); ++i)
    if (!(x[i] >= lo[i] && x[i] <= hi[i])) return false;
  return true;
}

double Box::volume() const {
  double v = 1;
  for (std::size_t i = 0; i < dims(); ++i) v *= hi[i] - lo[i];
  return v;
}

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

void parallel_indices(int threads, std::size_t n, const std::function<void(std::size_t)>& fn) {
#ifndef LEPSIM_TSAN
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] { tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) { fn(i); }); });
#else
  const std::size_t t = std::max<std::size_t>(1, threads > 0 ? static_cast<std::size_t>(threads)
                                                             : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> pool;
  for (std::size_t k = 0; k < t; ++k)
    pool.emplace_back([&, k] {
      try {
        for (std::size_t i = k; i < n; i += t) fn(i);
      } catch (...) {
        errors[k] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
#endif
}

std::uint64_t call_seed(std::uint64_t seed, std::uint64_t stage, std::uint64_t round, std::uint64_t index,
                        std::uint64_t attempt) {
  std::uint64_t h = splitmix64(seed);
  for (std::uint64_t w : {stage, round, index, attempt}) h = splitmix64(h ^ w);
  return h;
}

std::vector<MilestoneCheck> check_milestones(const std::vector<Target>& targets, const MetricMatrix& runs, double lo_q,
                                             double hi_q) {
  std::vector<MilestoneCheck> out;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    MilestoneCheck c;
    c.name = targets[k].name;
    c.observed = targets[k].observed;
    std::vector<double> x;
    for (std::size_t r = 0; r < runs.replications; ++r)
      if (!std::isnan(runs.at(r, k))) x.push_back(runs.at(r, k));
    c.defined = x.size();
    if (x.empty()) {
      c.lo = c.median = c.hi = std::numeric_limits<double>::quiet_NaN();
    } else {
      const double h = static_cast<double>(x.size() - 1);
      std::size_t from = 0;  // increasing ranks share the selection
      c.lo = detail::percentile_selected(x, h * lo_q, from);
      c.median = detail::percentile_selected(x, h * 0.5, from);
      c.hi = detail::percentile_selected(x, h * hi_q, from);
      const double sd = std::sqrt(targets[k].var_obs);
      c.covers = c.lo <= c.observed && c.observed <= c.hi;
      c.covers_with_error = c.observed + 2 * sd >= c.lo && c.observed - 2 * sd <= c.hi;
    }
    out.push_back(c);
  }
  return out;
}

std::string exact_text(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", x);
  return buf;
}

std::optional<double> read_exact(const std::string& s) {
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return x;
}

std::uint64_t checkpoint_fingerprint(std::uint64_t seed, const std::vector<double>& numbers, const Box& box,
                                     const std::vector<Target>& targets) {
  std::uint64_t h = splitmix64(seed);
  const auto mix = [&h](double x) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = splitmix64(h ^ bits);
  };
  for (double x : numbers) mix(x);
  for (std::size_t j = 0; j < box.dims(); ++j) mix(box.lo[j]), mix(box.hi[j]);
  for (const Target& t : targets) {
    for (unsigned char c : t.name) h = splitmix64(h ^ c);
    mix(t.observed), mix(t.var_obs), mix(t.var_disc);
  }
  return h;
}

void write_checkpoint(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw OutputError("cannot write the checkpoint " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw OutputError("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

std::optional<std::string> read_checkpoint(const std::string& path) {
  if (path.empty() || !std::filesystem::exists(path)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RunFileError("cannot read the checkpoint " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double weighted_quantile(std::vector<double> values, std::vector<double> weights, double q) {
  if (values.empty() || values.size() != weights.size()) throw std::invalid_argument("weighted_quantile: sizes");
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double cum = 0;
  for (std::size_t i : order) {
    cum += weights[i] / total;
    if (cum >= q - 1e-12) return values[i];
  }
  return values[order.back()];
}

}  // namespace lepsim
