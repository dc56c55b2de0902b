#pragma once
// Text helpers shared by the scenario parser, the resolved-scenario writer and the
// command line: one home for quoting and for numbers written as text.

#include <string>
#include <string_view>

namespace lepsim {

//! `s` as a one-line double-quoted string: `"` and `\` escaped, newline and tab as `\n` and
//! `\t`, other control characters (and DEL) as `\u00XX`. Valid as a TOML basic string and
//! as a JSON string.
std::string quoted_string(std::string_view s);

//! Shortest text that reads back as the same double ("2", "-0.5", "1e-05", "-inf").
std::string shortest_number(double x);

//! The same, always a TOML float: "2.0", not "2" (resolved scenarios keep their floats floats).
std::string toml_float(double x);

//! Text for HTML and SVG, element content or quoted attribute: & < > " ' escaped.
std::string html_escape(std::string_view s);

}  // namespace lepsim
