#include "lepsim/history_matching.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "lepsim/rng.hpp"

namespace lepsim {

namespace {
constexpr double INF = std::numeric_limits<double>::infinity();
constexpr std::uint16_t LHS_SUBSTREAM = 0;  // Purpose::Calibration substreams: docs/calibration.md
constexpr std::uint64_t HM_STAGE = 0;       // call_seed's stage word for history matching
constexpr const char* CHECKPOINT_MAGIC = "lepsim-hm-checkpoint";

std::uint64_t fingerprint(const std::vector<Target>& targets, const Box& prior, const HistoryMatchingOptions& o) {
  return checkpoint_fingerprint(o.seed,
                                {static_cast<double>(o.points_per_wave), static_cast<double>(o.replications), o.cutoff,
                                 static_cast<double>(o.rank), o.margin},
                                prior, targets);
}
}  // namespace

std::string history_checkpoint_text(const std::vector<Wave>& waves, const std::vector<Target>& targets, const Box& prior,
                                    const HistoryMatchingOptions& o) {
  std::ostringstream os;
  os << CHECKPOINT_MAGIC << " 1\nconfig " << std::hex << fingerprint(targets, prior, o) << std::dec << "\n";
  for (std::size_t w = 0; w < waves.size(); ++w) {
    os << "wave " << w << " " << waves[w].simulations << " " << waves[w].points.size();
    for (std::size_t j = 0; j < prior.dims(); ++j)
      os << " " << exact_text(waves[w].box.lo[j]) << " " << exact_text(waves[w].box.hi[j]);
    os << "\n";
    for (const WavePoint& p : waves[w].points) {
      os << "q";
      for (double x : p.params) os << " " << exact_text(x);
      for (double x : p.implausibility) os << " " << exact_text(x);
      os << " " << exact_text(p.combined) << " " << (p.plausible ? 1 : 0) << "\n";
    }
  }
  os << "end\n";
  return os.str();
}

std::vector<Wave> read_history_checkpoint(const std::string& text, const std::string& path,
                                          const std::vector<Target>& targets, const Box& prior,
                                          const HistoryMatchingOptions& o) {
  const auto bad = [&](const std::string& why) {
    return RunFileError(path + ": not a usable history-matching checkpoint: " + why);
  };
  std::istringstream is(text);
  std::string word, fp;
  int version = 0;
  if (!(is >> word >> version) || word != CHECKPOINT_MAGIC || version != 1) throw bad("wrong file type or version");
  std::ostringstream want;
  want << std::hex << fingerprint(targets, prior, o);
  if (!(is >> word >> fp) || word != "config" || fp != want.str())
    throw bad(
        "written by a different calibration (seed, points, replications, cut-off, prior or targets differ); "
        "remove it to start again");
  const auto number = [&](std::istream& in) {
    std::string v;
    if (!(in >> v)) throw bad("truncated");
    if (auto x = read_exact(v)) return *x;
    throw bad("not a number: " + v);
  };
  std::vector<Wave> waves;
  while (is >> word) {
    if (word == "end") return waves;
    std::size_t index = 0, n = 0;
    Wave w;
    if (word != "wave" || !(is >> index >> w.simulations >> n) || index != waves.size()) throw bad("bad wave header");
    for (std::size_t j = 0; j < prior.dims(); ++j) w.box.lo.push_back(number(is)), w.box.hi.push_back(number(is));
    for (std::size_t i = 0; i < n; ++i) {
      if (!(is >> word) || word != "q") throw bad("truncated wave " + std::to_string(index));
      WavePoint p;
      for (std::size_t j = 0; j < prior.dims(); ++j) p.params.push_back(number(is));
      for (std::size_t k = 0; k < targets.size(); ++k) p.implausibility.push_back(number(is));
      p.combined = number(is);
      p.plausible = number(is) != 0;
      w.points.push_back(std::move(p));
    }
    waves.push_back(std::move(w));
  }
  throw bad("truncated (no end line)");
}

double implausibility(const Target& target, const MetricMatrix& runs, std::size_t k) {
  double mean = 0, m2 = 0;
  std::size_t n = 0;
  for (std::size_t r = 0; r < runs.replications; ++r) {
    const double x = runs.at(r, k);
    if (std::isnan(x)) continue;
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
  }
  if (n < 2) return INF;
  const double nn = static_cast<double>(n), v_rep = m2 / (nn - 1);
  const double v = target.var_obs + target.var_disc + v_rep * (1 + 1 / nn);
  const double gap = std::abs(target.observed - mean);
  if (v <= 0) return gap == 0 ? 0 : INF;
  return gap / std::sqrt(v);
}

double combined_implausibility(const std::vector<double>& per_target, ImplausibilityRank rank) {
  if (per_target.empty()) return 0;
  std::vector<double> s = per_target;
  std::sort(s.begin(), s.end(), std::greater<>());
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(rank) - 1, s.size() - 1);
  return s[i];
}

std::size_t Wave::survivors() const {
  return static_cast<std::size_t>(
      std::count_if(points.begin(), points.end(), [](const WavePoint& p) { return p.plausible; }));
}

std::vector<std::vector<double>> HistoryMatchResult::survivors() const {
  std::vector<std::vector<double>> out;
  if (!waves.empty())
    for (const WavePoint& p : waves.back().points)
      if (p.plausible) out.push_back(p.params);
  return out;
}

std::vector<std::vector<double>> latin_hypercube(const Box& box, int n, std::uint64_t seed, std::uint32_t round) {
  const std::size_t d = box.dims(), nn = static_cast<std::size_t>(n);
  std::vector<std::vector<double>> pts(nn, std::vector<double>(d));
  for (std::size_t j = 0; j < d; ++j) {
    RandomStream s(seed, round, static_cast<std::uint32_t>(j), Purpose::Calibration, LHS_SUBSTREAM);
    std::vector<std::size_t> perm(nn);
    for (std::size_t i = 0; i < nn; ++i) perm[i] = i;
    for (std::size_t i = nn; i > 1; --i) {  // Fisher-Yates
      const auto k = std::min(static_cast<std::size_t>(s.uniform() * static_cast<double>(i)), i - 1);
      std::swap(perm[i - 1], perm[k]);
    }
    for (std::size_t i = 0; i < nn; ++i) {
      const double u = (static_cast<double>(perm[i]) + s.uniform()) / static_cast<double>(nn);
      pts[i][j] = std::clamp(box.lo[j] + u * (box.hi[j] - box.lo[j]), box.lo[j], box.hi[j]);
    }
  }
  return pts;
}

HistoryMatchResult history_match(const SimulatorFn& f, const std::vector<Target>& targets, const Box& prior,
                                 const HistoryMatchingOptions& o) {
  if (targets.empty()) throw std::invalid_argument("history_match: no targets");
  if (prior.dims() == 0 || prior.lo.size() != prior.hi.size()) throw std::invalid_argument("history_match: empty box");
  for (std::size_t j = 0; j < prior.dims(); ++j)
    if (!(prior.lo[j] < prior.hi[j]))
      throw std::invalid_argument("history_match: box dimension " + std::to_string(j) + " has lo >= hi");
  if (o.points_per_wave < 1 || o.replications < 2 || !(o.cutoff > 0) || o.max_waves < 1 || o.threads < 1 || o.margin < 0)
    throw std::invalid_argument("history_match: options out of range");

  HistoryMatchResult res;
  Box box = prior;
  const std::int64_t wave_cost = static_cast<std::int64_t>(o.points_per_wave) * o.replications;
  res.stop_reason = "max_waves";
  const auto simulate_wave = [&](int w, const Box& box_w, HistoryMatchResult& out) {
    Wave wave;
    wave.box = box_w;
    const auto pts = latin_hypercube(box_w, o.points_per_wave, o.seed, static_cast<std::uint32_t>(w));
    wave.points.resize(pts.size());
    {
      parallel_indices(o.threads, pts.size(), [&](std::size_t i) {
        const MetricMatrix m = f(pts[i], o.replications, call_seed(o.seed, HM_STAGE, static_cast<std::uint64_t>(w), i, 0));
        if (m.metrics != targets.size() || m.replications != static_cast<std::size_t>(o.replications))
          throw std::invalid_argument("history_match: the simulator returned a matrix of the wrong shape");
        WavePoint& p = wave.points[i];
        p.params = pts[i];
        for (std::size_t k = 0; k < targets.size(); ++k) p.implausibility.push_back(implausibility(targets[k], m, k));
        p.combined = combined_implausibility(p.implausibility, o.rank);
        p.plausible = p.combined <= o.cutoff;
      });
    }
    wave.simulations = wave_cost;
    out.simulations += wave_cost;
    out.waves.push_back(std::move(wave));
  };
  std::vector<Wave> stored;
  if (auto text = read_checkpoint(o.checkpoint_path)) {
    stored = read_history_checkpoint(*text, o.checkpoint_path, targets, prior, o);
    res.resumed = !stored.empty();
  }
  for (int w = 0; w < o.max_waves; ++w) {
    const auto wi = static_cast<std::size_t>(w);
    if (wi < stored.size()) {  // replayed: the same wave the simulator gave before
      if (stored[wi].box.lo != box.lo || stored[wi].box.hi != box.hi)
        throw RunFileError(o.checkpoint_path + ": wave " + std::to_string(w) + " does not follow from the waves before it");
      res.simulations += stored[wi].simulations;
      res.waves.push_back(std::move(stored[wi]));
    } else {
      if (res.simulations + wave_cost > o.budget) {
        res.stop_reason = "budget";
        break;
      }
      simulate_wave(w, box, res);
      if (!o.checkpoint_path.empty())
        write_checkpoint(o.checkpoint_path, history_checkpoint_text(res.waves, targets, prior, o));
    }
    if (o.on_wave) o.on_wave(res.waves, res.simulations);
    const bool stop_here = o.stop_after_wave >= 0 && w >= o.stop_after_wave;

    const Wave& done = res.waves.back();
    if (done.survivors() == 0) {
      res.stop_reason = "no survivors";
      break;
    }
    Box next{std::vector<double>(box.dims(), INF), std::vector<double>(box.dims(), -INF)};
    for (const WavePoint& p : done.points)
      if (p.plausible)
        for (std::size_t j = 0; j < box.dims(); ++j)
          next.lo[j] = std::min(next.lo[j], p.params[j]), next.hi[j] = std::max(next.hi[j], p.params[j]);
    // Widen each side by the margin of the survivors' width, and by at least the wave's
    // typical point spacing (box width / n^(1/d)): the region's edge lies somewhere between
    // the outermost survivor and its nearest ruled-out neighbour, so a box drawn tight
    // around a few survivors would cut into the region it is meant to hold.
    const double spacing = std::pow(static_cast<double>(o.points_per_wave), -1.0 / static_cast<double>(box.dims()));
    for (std::size_t j = 0; j < box.dims(); ++j) {
      const double pad = std::max(o.margin * (next.hi[j] - next.lo[j]), spacing * (box.hi[j] - box.lo[j]));
      next.lo[j] = std::max(box.lo[j], next.lo[j] - pad);
      next.hi[j] = std::min(box.hi[j], next.hi[j] + pad);
    }
    const double shrink = 1 - next.volume() / box.volume();
    box = next;
    if (shrink < o.min_shrink) {
      res.stop_reason = "converged";
      break;
    }
    if (stop_here) {
      res.stop_reason = "stopped";
      break;
    }
  }
  res.final_box = box;
  return res;
}

}  // namespace lepsim
