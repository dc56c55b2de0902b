#include "lepsim/rng.hpp"

#include <string>

namespace lepsim {

std::string_view purpose_name(Purpose purpose) noexcept {
  switch (purpose) {
    case Purpose::AuthorityEntry: return "AuthorityEntry";
    case Purpose::ProjectArrival: return "ProjectArrival";
    case Purpose::ProjectType: return "ProjectType";
    case Purpose::StageWork: return "StageWork";
    case Purpose::AuthoritySetup: return "AuthoritySetup";
    case Purpose::Health: return "Health";
    case Purpose::Dispute: return "Dispute";
    case Purpose::DisputeLength: return "DisputeLength";
    case Purpose::Capital: return "Capital";
    case Purpose::LepSetup: return "LepSetup";
    case Purpose::Exclusivity: return "Exclusivity";
    case Purpose::SingleProcurement: return "SingleProcurement";
    case Purpose::Calibration: return "Calibration";
  }
  return "Purpose(?)";
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
