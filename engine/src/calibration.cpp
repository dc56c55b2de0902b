#include "lepsim/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

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

std::uint64_t call_seed(std::uint64_t seed, std::uint64_t stage, std::uint64_t round, std::uint64_t index,
                        std::uint64_t attempt) {
  std::uint64_t h = splitmix64(seed);
  for (std::uint64_t w : {stage, round, index, attempt}) h = splitmix64(h ^ w);
  return h;
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
