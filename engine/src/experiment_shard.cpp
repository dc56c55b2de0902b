// Shard files of an experiment (one share of its units, `lepsim experiment --shard K/N`)
// and their merge into the experiment file (docs/cluster.md, "Job arrays").

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "experiment_file.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/version.hpp"

namespace lepsim {

namespace {

using detail::hex;
using detail::scenario_digest;

std::string units_text(const UnitRange& r) {
  if (r.count == 0) return "no units";
  return "units " + std::to_string(r.first) + "-" + std::to_string(r.end() - 1);
}

struct ShardFile {
  std::string path;
  h5::File file;
  Shard shard;
  UnitRange range;
  std::uint64_t units = 0, fingerprint = 0, seed = 0;
  std::int64_t block = 0, replications = 0, lhs_points = 0, rows = 0;
  std::string engine, experiment_digest, base_digest, experiment_text, experiment_path, experiment_absolute;
};

ShardFile open_shard(const std::string& path) {
  ShardFile s;
  s.path = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw RunFileError("shard " + path + " does not exist");
  try {
    s.file = h5::File::open_read(path);
    const h5::Group root = s.file.root();
    if (!root.has_attr("file_type") || root.attr_string("file_type") != EXPERIMENT_SHARD_FILE_TYPE)
      throw RunFileError(path + " is not a lepsim experiment shard (written by lepsim experiment --shard K/N)");
    const auto version = root.attr_array<std::int32_t>("format_version");
    if (version.empty() || version[0] != EXPERIMENT_SHARD_FORMAT_MAJOR)
      throw RunFileError(path + ": shard format " + (version.empty() ? "?" : std::to_string(version[0])) +
                         ".x is not read by this lepsim (reads " + std::to_string(EXPERIMENT_SHARD_FORMAT_MAJOR) + ".x)");
    s.shard = {root.attr<std::uint64_t>("shard_index"), root.attr<std::uint64_t>("shard_count")};
    s.range = {root.attr<std::uint64_t>("unit_first"), root.attr<std::uint64_t>("unit_count")};
    s.units = root.attr<std::uint64_t>("units");
    s.fingerprint = std::stoull(root.attr_string("fingerprint"), nullptr, 16);
    s.seed = root.attr<std::uint64_t>("seed");
    s.block = root.attr<std::int64_t>("block");
    s.replications = root.attr<std::int64_t>("replications");
    s.lhs_points = root.attr<std::int64_t>("design_points_option");
    s.engine = root.attr_string("engine_version");
    s.experiment_digest = root.attr_string("experiment_digest");
    s.base_digest = root.attr_string("base_scenario_digest");
    s.experiment_text = root.read_text("experiment_text");
    s.experiment_path = root.attr_string("experiment_path");
    s.experiment_absolute = root.attr_string("experiment_path_absolute");
    const auto dims = root.open_dataset("rows").dims();
    s.rows = dims.empty() ? 0 : static_cast<std::int64_t>(dims[0]);
  } catch (const h5::Error& e) {
    throw RunFileError(path + " cannot be read as a shard: " + e.what());
  }
  return s;
}

}  // namespace

namespace detail {

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::uint64_t scenario_digest(const Scenario& sc) {
  std::string all = sc.source_text;
  for (const auto& [p, t] : sc.base_files) all += "\n--\n" + t;
  all += "\n--\n" + sc.resolved_toml();
  return fnv1a(all);
}

void write_experiment_shard(const std::string& path, const Experiment& ex, const ShardSpec& spec,
                            const std::function<std::uint32_t(std::size_t)>& unit_count,
                            const std::function<void(std::size_t, double*, std::size_t)>& read_unit, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec) && !force)
    throw OutputError("shard file " + path + " already exists; choose another name with -o or pass --force to overwrite it");
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  try {
    {
      h5::File file = h5::File::create(temp);
      h5::Group root = file.root();
      root.set_attr("file_type", EXPERIMENT_SHARD_FILE_TYPE);
      const std::int32_t version[2] = {EXPERIMENT_SHARD_FORMAT_MAJOR, 0};
      root.set_attr("format_version", version);
      root.set_attr("engine_version", engine_version());
      root.set_attr("git_revision", git_revision());
      root.set_attr("created", utc_now());
      root.set_attr("shard", format_shard(spec.shard));
      root.set_attr("shard_index", spec.shard.index);
      root.set_attr("shard_count", spec.shard.count);
      root.set_attr("unit_first", spec.range.first);
      root.set_attr("unit_count", spec.range.count);
      root.set_attr("units", spec.units);
      root.set_attr("block", static_cast<std::int64_t>(spec.block));
      root.set_attr("seed", ex.seed);
      root.set_attr("replications", ex.replications);
      root.set_attr("design_points_option", ex.lhs_points);
      root.set_attr("fingerprint", hex(spec.fingerprint));
      root.set_attr("experiment_digest", hex(fnv1a(ex.source_text)));
      root.set_attr("base_scenario_digest", hex(scenario_digest(ex.base)));
      root.set_attr("experiment_name", ex.name);
      root.set_attr("experiment_path", ex.source_path);
      root.set_attr("experiment_path_absolute", fs::absolute(ex.source_path, ec).string());
      root.write_text("experiment_text", ex.source_text);
      const std::size_t row = std::max<std::size_t>(spec.row_values, 1);
      const h5::Filters filters{true, 4, false, false};
      auto rows = root.create_appendable<double>(
          "rows", {spec.row_values}, static_cast<std::uint64_t>(std::clamp<std::size_t>(65536 / row, 1, 4096)), filters);
      std::vector<double> buf;
      for (std::size_t u = spec.range.first; u < spec.range.end(); ++u) {
        const std::size_t values = static_cast<std::size_t>(unit_count(u)) * spec.row_values;
        buf.resize(values);
        read_unit(u, buf.data(), values);
        rows.append(buf);
      }
      rows.close();
      file.close();
    }
    fs::rename(temp, path);
  } catch (const h5::Error& e) {
    fs::remove(temp, ec);
    throw OutputError("cannot write the shard " + path + ": " + e.what());
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
}

}  // namespace detail

MergeInfo merge_experiment_shards(const std::vector<std::string>& shard_paths, const std::string& output_path, bool force) {
  const auto t0 = std::chrono::steady_clock::now();
  if (shard_paths.empty()) throw UsageError("merge needs shard files: lepsim merge SHARD.h5... -o FILE.h5");
  std::vector<ShardFile> shards;
  for (const auto& p : shard_paths) shards.push_back(open_shard(p));

  // Foreign shards: everything the results depend on must agree with the first shard.
  const ShardFile& a = shards.front();
  for (const ShardFile& s : shards) {
    auto foreign = [&](const std::string& what, const std::string& mine, const std::string& theirs) {
      throw RunFileError(foreign_shard_message(s.path, a.path, what, mine, theirs));
    };
    if (s.engine != a.engine) foreign("its engine version", a.engine, s.engine);
    if (s.experiment_digest != a.experiment_digest)
      foreign("it is another experiment (experiment text digest", a.experiment_digest + ")", s.experiment_digest + ")");
    if (s.seed != a.seed) foreign("its seed", std::to_string(a.seed), std::to_string(s.seed));
    if (s.base_digest != a.base_digest) foreign("its base scenario (digest", a.base_digest + ")", s.base_digest + ")");
    if (s.replications != a.replications)
      foreign("its replications per point", std::to_string(a.replications), std::to_string(s.replications));
    if (s.block != a.block) foreign("its block size", std::to_string(a.block), std::to_string(s.block));
    if (s.fingerprint != a.fingerprint || s.units != a.units)
      foreign("its design (fingerprint", hex(a.fingerprint) + ")", hex(s.fingerprint) + ")");
  }
  // Duplicates, overlaps and gaps, over the unit ranges in order.
  std::vector<ShardPiece> pieces;
  for (const auto& s : shards) pieces.push_back({s.path, s.shard, s.range});
  std::vector<const ShardFile*> order;
  for (const std::size_t i : check_shard_tiling(pieces, a.units, units_text, " of " + std::to_string(a.units)))
    order.push_back(&shards[i]);

  // The experiment, read again as the shards ran it; it must still be the same job.
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string where = fs::exists(a.experiment_path, ec) ? a.experiment_path : a.experiment_absolute;
  Experiment ex;
  try {
    ex = parse_experiment(a.experiment_text, where);
  } catch (const ScenarioError& e) {
    throw RunFileError("the shards' experiment " + where + " cannot be read again to merge them: " + e.what());
  }
  ex.source_path = a.experiment_path;
  ex.replications = a.replications;
  ex.lhs_points = a.lhs_points;
  ex.block = static_cast<int>(a.block);
  const std::vector<DesignPoint> pts = expand_design(ex);
  if (detail::experiment_fingerprint(ex, pts) != a.fingerprint || hex(scenario_digest(ex.base)) != a.base_digest)
    throw RunFileError(
        "the experiment's base scenario (or a file it inherits or its run plan) changed on disk since the "
        "shards ran (" +
        where + "): merge refuses to label the shards' results with other inputs");
  const std::size_t P = pts.size(), R = static_cast<std::size_t>(ex.replications);
  const std::size_t row = ex.metrics.size() + ex.series.size() * static_cast<std::size_t>(ex.base.time.steps);
  const std::size_t B = static_cast<std::size_t>(a.block), blocks = (R + B - 1) / B;
  if (P * blocks != a.units) throw RunFileError(a.path + ": its unit count does not match its experiment's design");
  for (const ShardFile* s : order) {
    std::uint64_t want = 0;
    for (std::uint64_t u = s->range.first; u < s->range.end(); ++u) want += std::min<std::uint64_t>(B, R - (u % blocks) * B);
    if (static_cast<std::uint64_t>(s->rows) != want)
      throw RunFileError(s->path + " is damaged: it holds " + std::to_string(s->rows) + " replications, its units " +
                         std::to_string(want));
  }

  // Rows in unit order are rows in (point, replication) order: stream them point by point.
  detail::ExperimentFileWriter writer(output_path, ex, pts, force);
  std::size_t cur = 0;
  std::uint64_t taken = 0;  // rows read from order[cur]
  std::vector<double> rows(R * row);
  try {
    for (std::size_t p = 0; p < P; ++p) {
      std::size_t filled = 0;
      while (filled < R) {
        while (taken == static_cast<std::uint64_t>(order[cur]->rows)) ++cur, taken = 0;
        const std::uint64_t n = std::min<std::uint64_t>(R - filled, static_cast<std::uint64_t>(order[cur]->rows) - taken);
        const auto part = order[cur]->file.root().open_dataset("rows").read_rows<double>(taken, n);
        std::copy(part.begin(), part.end(), rows.begin() + static_cast<std::ptrdiff_t>(filled * row));
        filled += n, taken += n;
      }
      writer.append_point(rows);
    }
  } catch (const h5::Error& e) {
    throw RunFileError(order[cur]->path + " cannot be read: " + e.what());
  }
  writer.finish();
  MergeInfo info;
  info.output_path = output_path;
  info.shards = static_cast<std::int64_t>(shards.size());
  info.points = static_cast<std::int64_t>(P);
  info.replications = ex.replications;
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace lepsim
