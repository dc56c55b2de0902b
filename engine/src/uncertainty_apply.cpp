// Uncertain inputs applied by parameter path (no HDF5: the scenario parser uses these for
// fitted files and its path checks; the fuzz target compiles this file).

#include <cmath>

#include "lepsim/parameters.hpp"
#include "lepsim/uncertainty.hpp"

namespace lepsim {

const char* uncertainty_draw_name(UncertaintyDraw draw) {
  switch (draw) {
    case UncertaintyDraw::OFF: return "off";
    case UncertaintyDraw::INPUTS: return "inputs";
    case UncertaintyDraw::POSTERIOR: return "posterior";
  }
  return "off";
}

std::optional<UncertaintyDraw> uncertainty_draw_named(const std::string& name) {
  for (UncertaintyDraw d : {UncertaintyDraw::OFF, UncertaintyDraw::INPUTS, UncertaintyDraw::POSTERIOR})
    if (name == uncertainty_draw_name(d)) return d;
  return std::nullopt;
}

std::string uncertain_path_problem(const Scenario& s, const std::string& path, bool scale) {
  try {
    (void)parameter_spec(s, path);
    const ParamValue v = get_parameter(s, path);
    if (std::holds_alternative<bool>(v)) return "a yes/no parameter cannot carry an uncertain value";
    (void)scale;
  } catch (const ScenarioError& e) {
    const auto& d = e.diagnostics();
    return d.empty() || d.front().rule.empty() ? e.what() : d.front().rule;
  }
  return "";
}

Scenario apply_parameter_vector(const Scenario& s, const std::vector<std::string>& paths, const std::vector<bool>& scale,
                                const std::vector<double>& points, const std::vector<double>& values) {
  std::vector<ParameterChange> changes;
  changes.reserve(paths.size());
  for (std::size_t k = 0; k < paths.size(); ++k) {
    ParameterChange c;
    c.path = paths[k];
    c.scale = scale[k];
    if (c.scale) {
      const double point = k < points.size() && std::isfinite(points[k]) ? points[k] : 1.0;
      c.value = values[k] / point;
    } else {
      const ParamValue now = get_parameter(s, paths[k]);
      if (std::holds_alternative<std::int64_t>(now))
        c.value = static_cast<std::int64_t>(std::llround(values[k]));
      else
        c.value = values[k];  // a distribution becomes fixed(value) (with_parameter's rule)
    }
    changes.push_back(std::move(c));
  }
  return with_parameters(s, changes);
}

}  // namespace lepsim
