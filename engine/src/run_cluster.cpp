// `lepsim run` at cluster scale (docs/cluster.md): replications in blocks over MPI ranks
// (through a UnitExecutor), `--shard K/N` into run shard files, and the merge of run shards
// into the run file. Results are stored by replication and written in replication order, so
// ranks, shards and threads cannot change a bit of the run file: every path ends in the same
// RunFileWriter fed the same replications in the same order as one process feeds it.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "experiment_file.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/run.hpp"
#include "lepsim/run_file.hpp"
#include "lepsim/uncertainty.hpp"
#include "lepsim/version.hpp"
#include "run_units.hpp"

namespace lepsim {

namespace {

//! "replications 30-59" of a range of replications.
std::string replications_text(std::uint64_t first, std::uint64_t count) {
  if (count == 0) return "no replications";
  return "replications " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

//! A run shard file being written: every replication's journal bytes, deflated, and each one's
//! offset. Under a temporary name until finish(); the destructor removes an unfinished one.
class RunShardWriter {
 public:
  RunShardWriter(const std::string& path, const Scenario& sc, const RunInfo& info, const Shard& shard, std::uint64_t blocks,
                 const UnitRange& block_range, bool force)
      : path_(path), temp_(path + ".tmp-" + std::to_string(::getpid())) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(path, ec) && !force)
      throw OutputError("shard file " + path +
                        " already exists; choose another name with -o or pass --force to overwrite it");
    try {
      file_ = h5::File::create(temp_);
      h5::Group root = file_.root();
      root.set_attr("file_type", RUN_SHARD_FILE_TYPE);
      const std::int32_t version[2] = {RUN_SHARD_FORMAT_MAJOR, 0};
      root.set_attr("format_version", version);
      root.set_attr("engine_version", engine_version());
      root.set_attr("git_revision", git_revision());
      root.set_attr("created", utc_now());
      root.set_attr("shard", format_shard(shard));
      root.set_attr("shard_index", shard.index);
      root.set_attr("shard_count", shard.count);
      root.set_attr("block", static_cast<std::int64_t>(info.block));
      root.set_attr("blocks", blocks);
      root.set_attr("block_first", block_range.first);
      root.set_attr("block_count", block_range.count);
      root.set_attr("replication_first", info.first_replication);
      root.set_attr("replication_count", info.shard_replications);
      root.set_attr("replications", info.replications);
      root.set_attr("seed", info.seed);
      root.set_attr("fingerprint", detail::hex(detail::run_identity(sc, info.seed, info.replications)));
      root.set_attr("scenario_digest", detail::hex(detail::scenario_digest(sc)));
      root.set_attr("scenario_name", sc.name);
      root.set_attr("scenario_path", sc.source_path);
      root.set_attr("scenario_path_absolute", fs::absolute(sc.source_path, ec).string());
      root.write_text("scenario_text", sc.source_text);
      results_ = root.create_appendable<std::uint8_t>("results", {}, 1u << 20, h5::Filters{false, 1, true, false});
      offsets_.push_back(0);
    } catch (const h5::Error& e) {
      discard();
      fail(e);
    }
  }
  ~RunShardWriter() {
    if (!finished_) discard();
  }
  RunShardWriter(const RunShardWriter&) = delete;
  RunShardWriter& operator=(const RunShardWriter&) = delete;

  //! The next replications, in replication order.
  void append(std::span<const ReplicationResult> results) {
    bytes_.clear();
    for (std::size_t i = 0; i < results.size(); ++i) {
      detail::serialise_results(results.subspan(i, 1), bytes_);
      offsets_.push_back(written_ + bytes_.size());
    }
    try {
      results_.append(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes_.data()), bytes_.size()));
    } catch (const h5::Error& e) {
      fail(e);
    }
    written_ += bytes_.size();
  }

  void finish() {
    try {
      results_.close();
      file_.root().write_array("result_offsets", offsets_);
      file_.close();
      std::filesystem::rename(temp_, path_);
    } catch (const h5::Error& e) {
      fail(e);
    } catch (const std::filesystem::filesystem_error& e) {
      throw OutputError("cannot write the shard " + path_ + ": " + e.what());
    }
    finished_ = true;
  }

 private:
  void discard() {
    results_ = {};
    file_ = {};
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
  [[noreturn]] void fail(const h5::Error& e) { throw OutputError("cannot write the shard " + path_ + ": " + e.what()); }

  std::string path_, temp_;
  h5::File file_;
  h5::Appendable<std::uint8_t> results_;
  std::vector<std::uint64_t> offsets_;  // replication i's bytes are [offsets_[i], offsets_[i + 1])
  std::vector<char> bytes_;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

//! A run shard file opened for the merge.
struct RunShard {
  std::string path;
  h5::File file;
  Shard shard;
  UnitRange blocks_held;  // in blocks
  std::uint64_t blocks = 0, first = 0, count = 0, seed = 0;
  std::int64_t replications = 0, block = 0;
  std::string engine, fingerprint, digest, name, text, scenario_path, scenario_absolute;
};

RunShard open_run_shard(const std::string& path) {
  RunShard s;
  s.path = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw RunFileError("shard " + path + " does not exist");
  try {
    s.file = h5::File::open_read(path);
    const h5::Group root = s.file.root();
    const std::string type = root.has_attr("file_type") ? root.attr_string("file_type") : "";
    if (type != RUN_SHARD_FILE_TYPE)
      throw RunFileError(path + " is not a lepsim run shard (written by lepsim run --shard K/N)" +
                         (type == EXPERIMENT_SHARD_FILE_TYPE ? std::string(": it is an experiment's shard") : ""));
    const auto version = root.attr_array<std::int32_t>("format_version");
    if (version.empty() || version[0] != RUN_SHARD_FORMAT_MAJOR)
      throw RunFileError(path + ": run shard format " + (version.empty() ? "?" : std::to_string(version[0])) +
                         ".x is not read by this lepsim (reads " + std::to_string(RUN_SHARD_FORMAT_MAJOR) + ".x)");
    s.shard = {root.attr<std::uint64_t>("shard_index"), root.attr<std::uint64_t>("shard_count")};
    s.blocks_held = {root.attr<std::uint64_t>("block_first"), root.attr<std::uint64_t>("block_count")};
    s.blocks = root.attr<std::uint64_t>("blocks");
    s.first = root.attr<std::uint64_t>("replication_first");
    s.count = root.attr<std::uint64_t>("replication_count");
    s.replications = root.attr<std::int64_t>("replications");
    s.block = root.attr<std::int64_t>("block");
    s.seed = root.attr<std::uint64_t>("seed");
    s.engine = root.attr_string("engine_version");
    s.fingerprint = root.attr_string("fingerprint");
    s.digest = root.attr_string("scenario_digest");
    s.name = root.attr_string("scenario_name");
    s.scenario_path = root.attr_string("scenario_path");
    s.scenario_absolute = root.attr_string("scenario_path_absolute");
    s.text = root.read_text("scenario_text");
  } catch (const h5::Error& e) {
    throw RunFileError(path + " cannot be read as a run shard: " + e.what());
  }
  return s;
}

}  // namespace

UnitRange shard_replications(std::int64_t replications, const Shard& shard, int block) {
  if (block < 1) throw UsageError("a run's block must be at least 1 replication, got " + std::to_string(block));
  const auto R = static_cast<std::uint64_t>(std::max<std::int64_t>(replications, 0));
  const auto B = static_cast<std::uint64_t>(block);
  const UnitRange blocks = shard_units((R + B - 1) / B, shard);
  const std::uint64_t first = std::min(R, blocks.first * B), end = std::min(R, blocks.end() * B);
  return {first, end - first};
}

int run_block_replications(const Scenario& sc, std::int64_t replications) {
  return choose_chunk_replications(sc, replications, 1);
}

bool is_run_shard(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  try {
    const h5::File f = h5::File::open_read(path);
    const h5::Group root = f.root();
    return root.has_attr("file_type") && root.attr_string("file_type") == RUN_SHARD_FILE_TYPE;
  } catch (const h5::Error&) {
    return false;
  }
}

namespace detail {

void run_over_ranks(UnitExecutor& executor, const Scenario& sc, std::uint64_t seed, std::int64_t first, std::int64_t end,
                    int block, int threads, const std::function<void(std::span<const ReplicationResult>)>& sink,
                    const std::atomic<bool>* cancel, const std::function<void(std::int64_t)>& progress) {
  // The writer's start (after its checkpoint) and block, the same on every process.
  const std::vector<std::uint64_t> agreed =
      executor.share({static_cast<std::uint64_t>(first), static_cast<std::uint64_t>(std::max(block, 1))});
  const auto start = static_cast<std::int64_t>(agreed.at(0));
  const auto B = static_cast<std::int64_t>(agreed.at(1));
  const std::int64_t todo = std::max<std::int64_t>(end - start, 0);
  const auto units = static_cast<std::uint64_t>((todo + B - 1) / B);
  const auto block_of = [&](std::uint64_t u) {
    const std::int64_t a = start + static_cast<std::int64_t>(u) * B;
    return std::pair{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(std::min(B, end - a))};
  };
  std::int64_t done = 0;
  std::vector<char> in;
  std::vector<ReplicationResult> results;
  executor.run_bytes(
      units,
      [&](std::uint64_t u) {
        const auto [a, n] = block_of(u);
        std::vector<char> bytes;
        simulate_range(
            sc, seed, a, n, threads, 0, [&](std::span<const ReplicationResult> r) { serialise_results(r, bytes); }, cancel);
        std::vector<std::byte> out(bytes.size());
        if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size());
        return out;
      },
      [&](std::uint64_t u, std::span<const std::byte> r) {
        const auto [a, n] = block_of(u);
        in.assign(reinterpret_cast<const char*>(r.data()), reinterpret_cast<const char*>(r.data()) + r.size());
        if (!deserialise_results(in, n, results))
          throw std::runtime_error("the results of " + replications_text(a, n) + " came back damaged from their rank");
        sink(std::span<const ReplicationResult>(results.data(), results.size()));
        done += n;
        if (progress) progress(done);
      });
}

void remove_stale_temporaries(const std::string& output_path) {
  namespace fs = std::filesystem;
  const fs::path out(output_path);
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".tmp-", mine = prefix + std::to_string(::getpid());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name != mine &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                    [](char c) { return c >= '0' && c <= '9'; }))
      fs::remove(entry.path(), ec);
  }
}

RunInfo run_shard(const Scenario& sc, const RunOptions& opt, RunInfo info) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.resume)
    throw UsageError("--resume: a run shard keeps no checkpoint; run the shard again (it replaces only its own file)");
  info.block = opt.block.value_or(run_block_replications(sc, info.replications));
  const UnitRange reps = shard_replications(info.replications, *opt.shard, info.block);
  const auto B = static_cast<std::uint64_t>(info.block);
  const std::uint64_t blocks = (static_cast<std::uint64_t>(info.replications) + B - 1) / B;
  info.first_replication = reps.first;
  info.shard_replications = reps.count;
  const bool writer = !opt.executor || opt.executor->writer();
  std::optional<RunShardWriter> out;
  if (writer) out.emplace(opt.output_path, sc, info, *opt.shard, blocks, shard_units(blocks, *opt.shard), opt.force);
  const auto sink = [&](std::span<const ReplicationResult> r) { out->append(r); };
  const auto end = static_cast<std::int64_t>(reps.end());
  if (opt.executor) {
    run_over_ranks(*opt.executor, sc, info.seed, static_cast<std::int64_t>(reps.first), end, info.block, info.threads,
                   writer ? std::function<void(std::span<const ReplicationResult>)>(sink) : nullptr, opt.cancel,
                   [&](std::int64_t done) {
                     if (opt.progress) opt.progress(done, static_cast<std::int64_t>(reps.count));
                   });
  } else {
    simulate_range(sc, info.seed, static_cast<std::uint32_t>(reps.first), static_cast<std::uint32_t>(reps.count),
                   info.threads, 0, sink, opt.cancel, [&](std::uint32_t done) {
                     if (opt.progress) opt.progress(done, static_cast<std::int64_t>(reps.count));
                   });
  }
  if (opt.cancel && opt.cancel->load())
    throw InterruptedError("interrupted: the shard " + opt.output_path + " was not written and no temporary file is left");
  if (out) out->finish();
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace detail

RunMergeInfo merge_run_shards(const std::vector<std::string>& shard_paths, const std::string& output_path, bool force,
                              int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  if (shard_paths.empty()) throw UsageError("merge needs shard files: lepsim merge SHARD.h5... -o FILE.h5");
  std::vector<RunShard> shards;
  for (const auto& p : shard_paths) shards.push_back(open_run_shard(p));

  // Foreign shards: everything the run's results depend on must agree with the first shard.
  const RunShard& a = shards.front();
  for (const RunShard& s : shards) {
    auto foreign = [&](const std::string& what, const std::string& mine, const std::string& theirs) {
      throw RunFileError(foreign_shard_message(s.path, a.path, what, mine, theirs));
    };
    if (s.engine != a.engine) foreign("its engine version", a.engine, s.engine);
    if (s.digest != a.digest)
      foreign("it is another scenario ('" + s.name + "', digest", "('" + a.name + "', " + a.digest + ")", s.digest + ")");
    if (s.seed != a.seed) foreign("its seed", std::to_string(a.seed), std::to_string(s.seed));
    if (s.replications != a.replications)
      foreign("its replication count", std::to_string(a.replications), std::to_string(s.replications));
    if (s.block != a.block || s.blocks != a.blocks)
      foreign("its block size", std::to_string(a.block), std::to_string(s.block));
    if (s.fingerprint != a.fingerprint) foreign("its run identity (fingerprint", a.fingerprint + ")", s.fingerprint + ")");
  }
  const auto R = static_cast<std::uint64_t>(a.replications),
             B = static_cast<std::uint64_t>(std::max<std::int64_t>(a.block, 1));
  std::vector<ShardPiece> pieces;
  for (const RunShard& s : shards) pieces.push_back({s.path, s.shard, s.blocks_held});
  const auto describe = [&](const UnitRange& blocks) {
    const std::uint64_t first = std::min(R, blocks.first * B), end = std::min(R, blocks.end() * B);
    return replications_text(first, end - first);
  };
  const std::vector<std::size_t> order = check_shard_tiling(pieces, a.blocks, describe, " of " + std::to_string(R));

  // The scenario, read again as the shards ran it; it must still be the same run.
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string where = fs::exists(a.scenario_path, ec) ? a.scenario_path : a.scenario_absolute;
  Scenario sc;
  try {
    sc = parse_scenario(a.text, where);
  } catch (const ScenarioError& e) {
    throw RunFileError("the shards' scenario " + where + " cannot be read again to merge them: " + e.what());
  }
  sc.source_path = a.scenario_path;
  if (detail::hex(detail::run_identity(sc, a.seed, a.replications)) != a.fingerprint)
    throw RunFileError("the shards' scenario (or a file it inherits) changed on disk since the shards ran (" + where +
                       "): merge refuses to label the shards' results with other inputs");

  // Every shard's replications, in replication order, into one writer: as one process writes them.
  const int T = thread_count(threads);
  RunFileWriter writer(output_path, sc, a.seed, static_cast<int>(a.replications), force);
  std::vector<char> bytes;
  std::vector<ReplicationResult> results;
  for (const std::size_t i : order) {
    const RunShard& s = shards[i];
    try {
      const h5::Group root = s.file.root();
      const auto offsets = root.open_dataset("result_offsets").read<std::uint64_t>();
      const auto dims = root.open_dataset("results").dims();
      const std::uint64_t stored = dims.empty() ? 0 : dims[0];
      const UnitRange want = shard_replications(a.replications, s.shard, static_cast<int>(a.block));
      if (offsets.size() != s.count + 1 || s.first != want.first || s.count != want.count || offsets.front() != 0 ||
          offsets.back() != stored || !std::is_sorted(offsets.begin(), offsets.end()))
        throw RunFileError(s.path + " is damaged: its replications' offsets do not match its " +
                           replications_text(s.first, s.count));
      for (std::uint64_t r = 0; r < s.count; r += B) {
        const std::uint64_t n = std::min(B, s.count - r);
        const auto raw = root.open_dataset("results").read_rows<std::uint8_t>(offsets[r], offsets[r + n] - offsets[r]);
        bytes.assign(reinterpret_cast<const char*>(raw.data()), reinterpret_cast<const char*>(raw.data()) + raw.size());
        if (!detail::deserialise_results(bytes, static_cast<std::uint32_t>(n), results))
          throw RunFileError(s.path + " is damaged: " + replications_text(s.first + r, n) + " cannot be read back");
        writer.append(results, T);
      }
    } catch (const h5::Error& e) {
      throw RunFileError(s.path + " cannot be read: " + e.what());
    }
  }
  // A second-order run's drawn vectors: a function of the scenario and seed alone, as one process writes them.
  if (sc.uncertainty.draw != UncertaintyDraw::OFF) {
    const UncertaintyPlan plan(sc);
    writer.set_uncertainty(plan, drawn_vectors(plan, a.seed, a.replications, T));
  }
  writer.finish(T);
  RunMergeInfo info;
  info.output_path = output_path;
  info.shards = static_cast<std::int64_t>(shards.size());
  info.replications = a.replications;
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace lepsim
