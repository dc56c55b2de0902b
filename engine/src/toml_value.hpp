#pragma once
// The one TOML value type lepsim's readers use (tables kept in key order) and the one place
// that instantiates toml11's parser: toml_value.cpp. The parser is most of a reader's
// compile time and, unoptimised, most of a sanitized run's start-up, so it is compiled once,
// optimised in every build (LEPSIM_ALWAYS_OPTIMISED, CMakeLists.txt).

#include <istream>
#include <map>
#include <string>
#include <toml.hpp>
#include <vector>

namespace lepsim::detail {

using TomlValue = toml::basic_value<toml::discard_comments, std::map, std::vector>;

//! toml::parse of `in`, named `path` in its messages; throws what toml11 throws.
TomlValue parse_toml(std::istream& in, const std::string& path);

}  // namespace lepsim::detail
