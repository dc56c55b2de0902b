#pragma once

// Counter-based random streams (Random123 Philox4x32-10).
//
// Every stream is a pure function of (seed, replication, entity, purpose,
// substream): no shared generator state, so results are identical whatever the
// thread/rank that draws them, and scenarios that differ only in parameters see
// the same random numbers for the same entity (common random numbers).
// See docs/random-streams.md for the layout and its rationale.

// Random123 compiles cleanly with -Wall -Wextra -Wpedantic (checked with g++ 12
// and clang 14), so no diagnostic suppression is needed around it.
#include <Random123/philox.h>

#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string_view>

namespace lepsim {

//! The random-stream layout: how streams are keyed and how each distribution turns their
//! bits into values (docs/random-streams.md, "Layouts"). Recorded in every run file; a
//! change to either raises it. 1: inverse-CDF normals and AS241 normals inside the PERT
//! gammas (lepsim up to run-file format 1.3); 2: ziggurat normals.
inline constexpr int RANDOM_STREAM_LAYOUT = 2;

// Append-only: never reorder or remove; adding a purpose must not shift any other stream.
enum class Purpose : std::uint16_t {
  AuthorityEntry = 0,  // authority-level draws at entry (school count, attributes)
  ProjectArrival = 1,  // Poisson arrival times
  ProjectType = 2,     // choice of a project's type from the mix
  StageWork = 3,       // work content of a stage (substream = stage index)
  AuthoritySetup = 4,  // an authority's set-up attributes (substream = attribute, docs/model.md)
  Health = 5,          // partnering-health innovations, one normal per step
  Dispute = 6,         // whether a dispute starts, one uniform per step
  DisputeLength = 7,   // months a dispute stalls work
  Capital = 8,         // a project's capital cost
  LepSetup = 9,        // a LEP's set-up cost
  Exclusivity = 10,    // whether an authority acts on a failing scorecard
  SingleProcurement = 11,  // months added to a project procured on its own
  Calibration = 12,        // calibration draws (entity = particle/point; substream = docs/calibration.md)
  Uncertainty = 13,        // second-order Monte Carlo: a replication's parameter vector (replication = draw index)
};

//! Names used in messages, indexed by Purpose (beside the enum, so a purpose is added in one place).
inline constexpr std::string_view PURPOSE_NAMES[] = {
    "AuthorityEntry", "ProjectArrival", "ProjectType", "StageWork", "AuthoritySetup", "Health",
    "Dispute",        "DisputeLength",  "Capital",     "LepSetup",  "Exclusivity",    "SingleProcurement",
    "Calibration",    "Uncertainty",
};
static_assert(std::size(PURPOSE_NAMES) == static_cast<std::size_t>(Purpose::Uncertainty) + 1,
              "one name per Purpose, in order");

// Name used in messages, e.g. "StageWork"; "Purpose(?)" for values not listed above.
std::string_view purpose_name(Purpose purpose) noexcept;

class StreamExhausted : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

class RandomStream {
 public:
  // Number of Philox blocks available to one stream (the 32-bit block counter).
  static constexpr std::uint64_t BLOCK_COUNT = std::uint64_t{1} << 32;

  // The stream is a pure function of (seed, replication, entity, purpose, substream).
  RandomStream(std::uint64_t seed, std::uint32_t replication, std::uint32_t entity, Purpose purpose,
               std::uint16_t substream = 0) noexcept
      : RandomStream(seed, replication, entity, purpose, substream, 0) {}

  // Starts at block `first_block` instead of 0. Intended for tests (e.g. of
  // exhaustion); the bits drawn are exactly those the default stream would
  // produce after consuming `first_block` blocks.
  RandomStream(std::uint64_t seed, std::uint32_t replication, std::uint32_t entity, Purpose purpose,
               std::uint16_t substream, std::uint32_t first_block) noexcept
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        ctr_{{replication, entity,
              (static_cast<std::uint32_t>(purpose) << 16) | static_cast<std::uint32_t>(substream), 0}},
        next_block_(first_block) {}

  // Uniform in the OPEN interval (0,1): the midpoint of one of 2^52 equal cells,
  // ((x >> 12) + 0.5) * 2^-52. Every value is exactly representable, so the result
  // is never 0 or 1 and the set of values is symmetric under u -> 1-u.
  // (A 53-bit midpoint grid is not representable near 1 and would round to 1.0.)
  double uniform() {
    return (static_cast<double>(next_u64() >> 12) + 0.5) * 0x1p-52;
  }

  // Raw 64 bits. Each Philox block gives two values: words (0,1) then (2,3),
  // the lower-numbered word in the low half.
  std::uint64_t next_u64() {
    if (buffered_ == 0) refill_();
    return buf_[2 - buffered_--];
  }

  // Blocks consumed so far, counted from block 0 of the stream (includes any
  // `first_block` offset). Each block yields two u64 / two uniforms.
  std::uint64_t blocks_used() const noexcept { return next_block_; }

  std::uint64_t seed() const noexcept {
    return (static_cast<std::uint64_t>(key_[1]) << 32) | key_[0];
  }
  std::uint32_t replication() const noexcept { return ctr_[0]; }
  std::uint32_t entity() const noexcept { return ctr_[1]; }
  Purpose purpose() const noexcept { return static_cast<Purpose>(ctr_[2] >> 16); }
  std::uint16_t substream() const noexcept { return static_cast<std::uint16_t>(ctr_[2] & 0xFFFFu); }

 private:
  using Philox = r123::Philox4x32;

  // The next Philox block into buf_. Out of line (src/rng.cpp), one call per two draws
  // (< 0.5% of a replication), so that it is compiled optimised in every build: unoptimised,
  // Random123's rounds were most of a sanitized simulation's time.
  void refill_();

  [[noreturn]] void throw_exhausted_() const;

  Philox::key_type key_;
  Philox::ctr_type ctr_;
  std::uint64_t next_block_;  // 64-bit so that reaching 2^32 is detectable
  std::uint64_t buf_[2] = {0, 0};
  unsigned buffered_ = 0;
};

}  // namespace lepsim
