#pragma once
// Shards: the K-th of N deterministic shares of a job's units (docs/cluster.md, "Job arrays").
// A share is a contiguous range of unit indices, a pure function of (units, K, N), so a
// Slurm array task, a re-run of it and the merge all agree on which units it holds.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lepsim {

//! Units [first, first + count).
struct UnitRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::uint64_t end() const noexcept { return first + count; }
  bool operator==(const UnitRange&) const = default;
};

//! Share `index` of `count` (0 <= index < count): `--shard K/N` counts K from 0, as Slurm
//! arrays do by default (`--array=0-N`).
struct Shard {
  std::uint64_t index = 0;
  std::uint64_t count = 1;
  bool operator==(const Shard&) const = default;
};

//! The most shares a job may be split into (far beyond any Slurm MaxArraySize).
inline constexpr std::uint64_t MAX_SHARDS = 1'000'000;

//! The units of share k of n, out of `units`: contiguous, in order, disjoint, covering
//! [0, units) over k = 0..n-1; sizes differ by at most one (the first `units % n` shares
//! hold one more). With more shares than units the last shares are empty.
//! Throws UsageError unless 0 <= k < n <= MAX_SHARDS.
UnitRange shard_units(std::uint64_t units, std::uint64_t k, std::uint64_t n);
inline UnitRange shard_units(std::uint64_t units, const Shard& s) { return shard_units(units, s.index, s.count); }

//! Looks an environment variable up: nullptr when unset (std::getenv in the executable,
//! a map in the tests).
using EnvLookup = std::function<const char*(const char*)>;

//! The share of this Slurm array task: K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
//! SLURM_ARRAY_TASK_STEP, N = SLURM_ARRAY_TASK_COUNT (MIN defaults to 0, STEP to 1). So
//! `--array=1-8`, `--array=0-14:2` and `--array=0-7%2` all give shares 0..N-1. Throws
//! UsageError naming the variable when one is missing or malformed, or when the array is not
//! an evenly spaced range (`--array=1,4,9`: SLURM_ARRAY_TASK_MAX disagrees), where task IDs
//! cannot be mapped onto shares.
Shard shard_from_slurm(const EnvLookup& env);

//! `--shard` text: "K/N" (whole non-negative integers, K < N), or "slurm" for
//! shard_from_slurm(env). Throws UsageError saying what is wrong.
Shard parse_shard(std::string_view text, const EnvLookup& env);

//! "K/N", the form parse_shard reads.
std::string format_shard(const Shard& s);

//! The merge's refusal of a foreign shard: "shard B.h5 is foreign: its seed 7 differs from
//! A.h5's 20050401; shards of one job only can be merged" (`what` "its seed", `theirs` "7",
//! `mine` the first file's "20050401").
std::string foreign_shard_message(const std::string& path, const std::string& first_path, const std::string& what,
                                  const std::string& mine, const std::string& theirs);

//! One shard file of a job, as the merge sees it: its share and the units it holds.
struct ShardPiece {
  std::string path;
  Shard shard;
  UnitRange range;
};

//! Checks that `pieces` hold every unit of [0, units) exactly once, and throws RunFileError
//! (exit 5) naming the files otherwise: the same share K/N twice ("duplicate shard"), two
//! pieces holding the same units ("overlapping shards"; shares of different N that tile
//! exactly are fine), units in none ("missing shard", naming the shares of the first piece's
//! N that hold them). `describe` names a range of units in the messages ("units 3-5",
//! "replications 30-59"), `of` follows a missing range (" of 10"). Returns the pieces'
//! indices in unit order (empty pieces included).
std::vector<std::size_t> check_shard_tiling(const std::vector<ShardPiece>& pieces, std::uint64_t units,
                                            const std::function<std::string(const UnitRange&)>& describe,
                                            const std::string& of);

}  // namespace lepsim
