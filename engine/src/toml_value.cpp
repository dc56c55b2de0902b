#include "toml_value.hpp"

namespace lepsim::detail {

TomlValue parse_toml(std::istream& in, const std::string& path) {
  return toml::parse<toml::discard_comments, std::map, std::vector>(in, path);
}

}  // namespace lepsim::detail
