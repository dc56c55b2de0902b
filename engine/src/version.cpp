#include "lepsim/version.hpp"

namespace lepsim {
const char* engine_version() { return LEPSIM_VERSION; }
}  // namespace lepsim
