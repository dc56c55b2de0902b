// Second-order Monte Carlo: the posterior file's reader and the plan that draws one
// parameter vector per draw index (docs/calibration.md, "Runs that carry the whole
// uncertainty"; the stream: docs/random-streams.md, Purpose::Uncertainty).

#include "lepsim/uncertainty.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "lepsim/h5.hpp"
#include "lepsim/rng.hpp"

namespace lepsim {

// From lepsim/calibration.hpp, whose `Simulator` callback type would clash with the class here.
void parallel_indices(int threads, std::size_t n, const std::function<void(std::size_t)>& fn);

PosteriorSample load_posterior(const std::string& path) {
  const auto fail = [&](const std::string& why) -> void {
    throw RunFileError("posterior file " + path + ": " + why + " (docs/calibration.md, \"Posterior file\")");
  };
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("no such file");
  PosteriorSample p;
  p.path = path;
  try {
    const h5::File f = h5::File::open_read(path);
    const h5::Group root = f.root();
    if (!root.is_group("posterior")) fail("has no /posterior group: not a posterior file");
    const h5::Group g = root.open_group("posterior");
    if (!g.has_attr("format") || g.attr_string("format") != "lepsim-posterior")
      fail("/posterior has no format = \"lepsim-posterior\" attribute");
    if (g.has_attr("format_version")) {
      const std::string v = g.attr_string("format_version");
      if (v.rfind("1.", 0) != 0) fail("format_version " + v + ": this lepsim reads 1.x");
    }
    for (const char* name : {"parameters", "weights", "factor_paths", "factor_modes"})
      if (!g.is_dataset(name)) fail(std::string("/posterior/") + name + " is missing");
    std::vector<std::uint64_t> dims;
    p.parameters = g.read_array<double>("parameters", &dims);
    if (dims.size() != 2 || dims[0] == 0 || dims[1] == 0) fail("/posterior/parameters must be a non-empty [n, d] array");
    p.n = dims[0], p.d = dims[1];
    p.weights = g.read_array<double>("weights");
    p.paths = g.read_strings("factor_paths");
    const std::vector<std::string> modes = g.read_strings("factor_modes");
    if (p.weights.size() != p.n)
      fail("/posterior/weights has " + std::to_string(p.weights.size()) + " values for " + std::to_string(p.n) +
           " particles");
    if (p.paths.size() != p.d || modes.size() != p.d)
      fail("/posterior/factor_paths and factor_modes must have one entry per column of parameters (" + std::to_string(p.d) +
           ")");
    double sum = 0;
    for (std::size_t i = 0; i < p.n; ++i) {
      if (!(std::isfinite(p.weights[i]) && p.weights[i] >= 0))
        fail("/posterior/weights[" + std::to_string(i) + "] must be a finite number >= 0");
      sum += p.weights[i];
      for (std::size_t k = 0; k < p.d; ++k)
        if (!std::isfinite(p.parameters[i * p.d + k]))
          fail("/posterior/parameters[" + std::to_string(i) + "][" + std::to_string(k) + "] is not a finite number");
    }
    if (!(sum > 0)) fail("/posterior/weights sum to 0");
    for (std::size_t k = 0; k < p.d; ++k) {
      if (modes[k] != "set" && modes[k] != "scale")
        fail("/posterior/factor_modes[" + std::to_string(k) + "] = \"" + modes[k] + "\": must be \"set\" or \"scale\"");
      p.scale.push_back(modes[k] == "scale");
    }
  } catch (const h5::Error& e) {
    fail(std::string("cannot be read: ") + e.what());
  }
  return p;
}

UncertaintyPlan::UncertaintyPlan(const Scenario& s) {
  const Uncertainty& u = s.uncertainty;
  draw_ = u.draw;
  per_draw_ = std::max(1, u.replications_per_draw);
  if (draw_ == UncertaintyDraw::INPUTS) {
    std::vector<std::string> names;
    std::vector<Diagnostic> bad;  // (a parsed scenario was checked already; one made in code is checked here)
    for (const UncertainInput& in : u.inputs)
      if (const std::string why = uncertain_path_problem(s, in.path, in.scale); !why.empty())
        bad.push_back({s.source_path, 0, "uncertainty.input", "\"" + in.path + "\"", why});
    if (!bad.empty()) throw ScenarioError(std::move(bad));
    for (const UncertainInput& in : u.inputs) {
      paths_.push_back(in.path);
      scale_.push_back(in.scale);
      points_.push_back(in.point);
      marginals_.push_back(in.distribution);
      names.push_back(in.path);
    }
    if (paths_.empty())
      throw ScenarioError({{s.source_path, 0, "uncertainty.draw", "\"inputs\"",
                            "draws from the uncertain inputs, and the scenario has none: add [[uncertainty.input]] tables "
                            "or [scenario] fitted"}});
    std::vector<double> r = u.rank_correlation;
    const std::size_t d = paths_.size();
    if (r.empty()) {
      r.assign(d * d, 0.0);
      for (std::size_t i = 0; i < d; ++i) r[i * d + i] = 1.0;
    }
    copula_.emplace(r, names, "uncertainty.rank_correlation", s.source_path);
  } else if (draw_ == UncertaintyDraw::POSTERIOR) {
    if (u.posterior.empty())
      throw ScenarioError({{s.source_path, 0, "uncertainty.posterior", "",
                            "draw = \"posterior\" needs a posterior file: posterior = \"FILE.h5\""}});
    const PosteriorSample p = load_posterior(u.posterior);
    posterior_path_ = p.path;
    std::vector<Diagnostic> bad;
    for (std::size_t k = 0; k < p.d; ++k) {
      if (const std::string why = uncertain_path_problem(s, p.paths[k], p.scale[k]); !why.empty())
        bad.push_back({p.path, 0, "/posterior/factor_paths[" + std::to_string(k) + "]", "\"" + p.paths[k] + "\"", why});
      paths_.push_back(p.paths[k]);
      scale_.push_back(p.scale[k]);
      // A fitted input's point value is already in the scenario: a posterior scale is relative to the base.
      double point = std::numeric_limits<double>::quiet_NaN();
      for (const UncertainInput& in : u.inputs)
        if (in.path == p.paths[k] && in.scale) point = in.point;
      points_.push_back(point);
    }
    if (!bad.empty()) throw ScenarioError(std::move(bad));
    particles_ = p.n;
    parameters_ = p.parameters;
    double sum = 0;
    for (double w : p.weights) sum += w, cumulative_.push_back(sum);
    for (double& c : cumulative_) c /= sum;
  }
}

std::vector<double> UncertaintyPlan::vector(std::uint64_t seed, std::uint64_t index) const {
  RandomStream stream(seed, static_cast<std::uint32_t>(index), 0, Purpose::Uncertainty);
  std::vector<double> out;
  if (draw_ == UncertaintyDraw::INPUTS) {
    out = copula_->uniforms(stream);
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = marginals_[k].quantile(out[k]);
  } else if (draw_ == UncertaintyDraw::POSTERIOR) {
    // One uniform picks a particle by weight (the first whose cumulative weight exceeds it).
    const double x = stream.uniform();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
    const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_.begin()), particles_ - 1);
    const std::size_t d = paths_.size();
    out.assign(parameters_.begin() + static_cast<std::ptrdiff_t>(i * d),
               parameters_.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
  }
  return out;
}

Scenario UncertaintyPlan::apply(const Scenario& s, const std::vector<double>& values) const {
  return apply_parameter_vector(s, paths_, scale_, points_, values);
}

struct DrawnSimulators::Slot {
  std::uint64_t draw = ~std::uint64_t{0};
  std::unique_ptr<Scenario> sc;
  std::unique_ptr<Simulator> sim;
};

DrawnSimulators::DrawnSimulators(const Scenario& s, int workers) : base_(s), plan_(s) {
  for (int w = 0; w < workers; ++w) slots_.push_back(std::make_unique<Slot>());
}
DrawnSimulators::~DrawnSimulators() = default;

void DrawnSimulators::run(int worker, std::uint64_t seed, std::uint32_t replication, ReplicationResult& out) {
  Slot& slot = *slots_.at(static_cast<std::size_t>(worker));
  const std::uint64_t draw = plan_.draw_of(replication);
  if (!slot.sim || slot.draw != draw) {
    slot.sim.reset();
    slot.sc = std::make_unique<Scenario>(plan_.apply(base_, plan_.vector(seed, draw)));
    slot.sim = std::make_unique<Simulator>(*slot.sc);
    slot.draw = draw;
  }
  slot.sim->run(seed, replication, out);
}

std::vector<double> drawn_vectors(const UncertaintyPlan& plan, std::uint64_t seed, std::int64_t replications, int threads) {
  const std::size_t d = plan.dims(), R = static_cast<std::size_t>(replications);
  const auto M = static_cast<std::size_t>(plan.replications_per_draw());
  std::vector<double> out(R * d);
  // One vector per draw (each draw's rows written by one index: the same bits on any thread count).
  parallel_indices(threads, (R + M - 1) / M, [&](std::size_t k) {
    const std::vector<double> v = plan.vector(seed, k);
    for (std::size_t r = k * M; r < std::min(R, (k + 1) * M); ++r)
      std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(r * d));
  });
  return out;
}

}  // namespace lepsim
