#pragma once

namespace lepsim {
const char* engine_version();  //!< semantic version of the engine, e.g. "0.1.0"
const char* git_revision();    //!< short commit hash at build time, "-dirty" if modified, or "unknown"
}  // namespace lepsim
