#pragma once

#include <string>

namespace lepsim {
const char* engine_version();  //!< semantic version of the engine, e.g. "0.1.0"
const char* git_revision();    //!< short commit hash at build time, "-dirty" if modified, or "unknown"
//! The current UTC time, ISO 8601 to the second ("2026-12-01T14:06:06Z"): files' `created`.
std::string utc_now();
}  // namespace lepsim
