#include "lepsim/rng.hpp"

#include <string>

namespace lepsim {

std::string_view purpose_name(Purpose purpose) noexcept {
  const auto i = static_cast<std::size_t>(purpose);
  return i < std::size(PURPOSE_NAMES) ? PURPOSE_NAMES[i] : "Purpose(?)";
}

void RandomStream::refill_() {
  // Never wrap the block counter: that would silently repeat the stream.
  if (next_block_ >= BLOCK_COUNT) throw_exhausted_();
  ctr_[3] = static_cast<std::uint32_t>(next_block_);
  ++next_block_;
  const Philox::ctr_type r = Philox{}(ctr_, key_);
  buf_[0] = (static_cast<std::uint64_t>(r[1]) << 32) | r[0];
  buf_[1] = (static_cast<std::uint64_t>(r[3]) << 32) | r[2];
  buffered_ = 2;
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
