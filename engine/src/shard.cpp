#include "lepsim/shard.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "lepsim/error.hpp"

namespace lepsim {

namespace {

// Whole-token non-negative integer, or nothing.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void check_shard(std::uint64_t k, std::uint64_t n, const std::string& where) {
  if (n == 0 || n > MAX_SHARDS)
    throw UsageError(where + ": the number of shards must be between 1 and " + std::to_string(MAX_SHARDS) + ", not " +
                     std::to_string(n));
  if (k >= n)
    throw UsageError(where + ": shard " + std::to_string(k) + " of " + std::to_string(n) +
                     " does not exist (shards count from 0: 0.." + std::to_string(n - 1) + ")");
}

// A Slurm variable: nullopt when unset and optional, a UsageError when malformed.
std::optional<std::uint64_t> slurm_variable(const EnvLookup& env, const char* name, bool required) {
  const char* value = env(name);
  if (value == nullptr) {
    if (required)
      throw UsageError(std::string("--shard slurm: ") + name + " is not set: not inside a Slurm job array (sbatch --array)");
    return std::nullopt;
  }
  auto parsed = parse_count(value);
  if (!parsed) throw UsageError(std::string("--shard slurm: ") + name + " = '" + value + "': not a whole number");
  return parsed;
}

}  // namespace

UnitRange shard_units(std::uint64_t units, std::uint64_t k, std::uint64_t n) {
  check_shard(k, n, "shard");
  const std::uint64_t base = units / n, extra = units % n;
  // Shares 0..extra-1 hold base + 1 units; no product k * units, so no overflow.
  const std::uint64_t first = k * base + (k < extra ? k : extra);
  return {first, base + (k < extra ? 1 : 0)};
}

Shard shard_from_slurm(const EnvLookup& env) {
  const std::uint64_t id = *slurm_variable(env, "SLURM_ARRAY_TASK_ID", true);
  const std::uint64_t count = *slurm_variable(env, "SLURM_ARRAY_TASK_COUNT", true);
  const std::uint64_t min = slurm_variable(env, "SLURM_ARRAY_TASK_MIN", false).value_or(0);
  const std::uint64_t step = slurm_variable(env, "SLURM_ARRAY_TASK_STEP", false).value_or(1);
  const auto max = slurm_variable(env, "SLURM_ARRAY_TASK_MAX", false);
  const std::string ids = "SLURM_ARRAY_TASK_ID = " + std::to_string(id) + ", _MIN = " + std::to_string(min) +
                          ", _STEP = " + std::to_string(step) + ", _COUNT = " + std::to_string(count);
  if (step == 0) throw UsageError("--shard slurm: SLURM_ARRAY_TASK_STEP = 0: must be at least 1");
  if (count == 0) throw UsageError("--shard slurm: SLURM_ARRAY_TASK_COUNT = 0: must be at least 1");
  if (id < min || (id - min) % step != 0)
    throw UsageError("--shard slurm: " + ids + ": the task ID is not on the array's range");
  if (max && *max != min + (count - 1) * step)
    throw UsageError("--shard slurm: " + ids + ", _MAX = " + std::to_string(*max) +
                     ": the array is not an evenly spaced range (e.g. --array=1,4,9), so task IDs cannot be "
                     "mapped onto shares; use --array=0-N or --shard K/N");
  const Shard shard{(id - min) / step, count};
  check_shard(shard.index, shard.count, "--shard slurm (" + ids + ")");
  return shard;
}

Shard parse_shard(std::string_view text, const EnvLookup& env) {
  if (text == "slurm") return shard_from_slurm(env);
  const auto slash = text.find('/');
  const std::string quoted = "--shard '" + std::string(text) + "'";
  if (slash == std::string_view::npos)
    throw UsageError(quoted + ": expected K/N (the K-th of N shares, K from 0) or 'slurm'");
  const auto k = parse_count(text.substr(0, slash)), n = parse_count(text.substr(slash + 1));
  if (!k || !n) throw UsageError(quoted + ": K and N must be whole non-negative numbers, as in 0/8");
  check_shard(*k, *n, quoted);
  return {*k, *n};
}

std::string format_shard(const Shard& s) { return std::to_string(s.index) + "/" + std::to_string(s.count); }

std::string foreign_shard_message(const std::string& path, const std::string& first_path, const std::string& what,
                                  const std::string& mine, const std::string& theirs) {
  return "shard " + path + " is foreign: " + what + " " + theirs + " differs from " + first_path + "'s " + mine +
         "; shards of one job only can be merged";
}

std::vector<std::size_t> check_shard_tiling(const std::vector<ShardPiece>& pieces, std::uint64_t units,
                                            const std::function<std::string(const UnitRange&)>& describe,
                                            const std::string& of) {
  std::vector<std::size_t> order(pieces.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    const UnitRange &a = pieces[x].range, &b = pieces[y].range;
    return a.first != b.first ? a.first < b.first : a.count < b.count;
  });
  std::map<std::pair<std::uint64_t, std::uint64_t>, const ShardPiece*> seen;
  for (const ShardPiece& s : pieces) {
    const auto [it, fresh] = seen.emplace(std::pair{s.shard.index, s.shard.count}, &s);
    if (!fresh)
      throw RunFileError("duplicate shard: " + it->second->path + " and " + s.path + " are both shard " +
                         format_shard(s.shard) + "; give each shard once");
  }
  if (pieces.empty()) return order;
  const std::uint64_t n = pieces.front().shard.count;
  // The shares of N = n (the first piece's) holding any of [from, to).
  const auto shares = [&](std::uint64_t from, std::uint64_t to) {
    std::string which;
    for (std::uint64_t k = 0; k < n; ++k) {
      const UnitRange r = shard_units(units, k, n);
      if (r.count > 0 && r.first < to && from < r.end()) which += (which.empty() ? "" : ", ") + format_shard({k, n});
    }
    return which;
  };
  const auto named = [&](const ShardPiece& p) {
    return p.path + " (shard " + format_shard(p.shard) + ", " + describe(p.range) + ")";
  };
  std::uint64_t at = 0;
  for (const std::size_t i : order) {
    const ShardPiece& s = pieces[i];
    if (s.range.count == 0) continue;
    if (s.range.first < at) {
      const ShardPiece* prev = nullptr;
      for (const std::size_t j : order) {
        const ShardPiece& q = pieces[j];
        if (j != i && q.range.count > 0 && q.range.first < s.range.end() && s.range.first < q.range.end()) prev = &q;
      }
      throw RunFileError("overlapping shards: " + (prev ? named(*prev) : std::string("an earlier shard")) + " and " +
                         named(s) + " hold the same units");
    }
    if (s.range.first > at) {
      const std::string which = shares(at, s.range.first);
      throw RunFileError("missing shard: " + describe({at, s.range.first - at}) + of + " are in none of the files given" +
                         (which.empty() ? "" : " (shard " + which + ")"));
    }
    at = s.range.end();
  }
  if (at < units)
    throw RunFileError("missing shard: " + describe({at, units - at}) + of + " are in none of the files given (shard " +
                       shares(at, units) + ")");
  return order;
}

}  // namespace lepsim
