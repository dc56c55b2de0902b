#pragma once
// Kept so that engine sources can include "percentile.hpp": the rule lives in
// engine/include/lepsim/percentile.hpp, its one home (analysis uses it too).
#include "lepsim/percentile.hpp"
