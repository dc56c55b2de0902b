#include "lepsim/rng.hpp"

#include <string>

namespace lepsim {

std::string_view purpose_name(Purpose purpose) noexcept {
  const auto i = static_cast<std::size_t>(purpose);
  return i < std::size(PURPOSE_NAMES) ? PURPOSE_NAMES[i] : "Purpose(?)";
}

void RandomStream::throw_exhausted_() const {
  // Name the stream fully so the offending model component can be found.
  std::string msg = "random stream exhausted (all 2^32 Philox blocks used): seed=" +
                    std::to_string(seed()) + " replication=" + std::to_string(replication()) +
                    " entity=" + std::to_string(entity()) + " purpose=";
  const std::string_view name = purpose_name(purpose());
  if (name == "Purpose(?)") {
    msg += "Purpose(" + std::to_string(static_cast<unsigned>(purpose())) + ")";
  } else {
    msg += name;
  }
  msg += " substream=" + std::to_string(substream());
  throw StreamExhausted(msg);
}

}  // namespace lepsim
