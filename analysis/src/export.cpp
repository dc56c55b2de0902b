#include "lepsim/analysis/export.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include <unistd.h>

#include "atomic_file.hpp"
#include "lepsim/error.hpp"

namespace lepsim::analysis {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t BLOCK_BYTES = 16ull << 20;

//! The /dimensions list naming the last axis of a dataset, from its "dims" attribute.
const std::map<std::string, std::string> AXIS_NAMES = {
    {"stage", "stages"},      {"discipline", "disciplines"},   {"pool", "pools"},
    {"state", "project_states"}, {"statistic", "health_statistics"}, {"kind", "spend_kinds"}};

std::string number(double x) {
  if (std::isnan(x)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

//! One CSV file of the staging folder (export_csv moves the folder's files into place).
class CsvFile {
 public:
  explicit CsvFile(const fs::path& path) : file_(path.string()) {}

  void row(const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + cells[i];
    line += "\n";
    file_.write(line);
  }
  void commit() { file_.commit(); }

 private:
  detail::AtomicFile file_;
};

//! The export is written whole into `DIR.tmp-PID` beside DIR, then moved into place, so
//! a failure (a full disk, a bad chunk met halfway) leaves DIR as it was and nothing behind.
class Staging {
 public:
  explicit Staging(const fs::path& dir) : dir_(dir) {
    fs::path full = fs::absolute(dir_).lexically_normal();
    if (full.filename().empty()) full = full.parent_path();  // "csv/" or "."
    path_ = full.parent_path() / (full.filename().string() + ".tmp-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::create_directories(path_ / "series", ec);
    if (!ec) fs::create_directories(path_ / "summary", ec);
    if (ec) {
      fs::remove_all(path_, ec);
      throw OutputError("cannot create " + dir_.string() + ": " + ec.message());
    }
  }
  ~Staging() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const fs::path& path() const noexcept { return path_; }

  //! Moves every staged file to DIR: all of them or, if one exists and !force, none.
  std::vector<std::string> commit(bool force) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(path_))
      if (e.is_regular_file()) files.push_back(e.path().lexically_relative(path_));
    std::sort(files.begin(), files.end());
    std::error_code ec;
    for (const auto& f : files)
      if (!force && fs::exists(dir_ / f, ec)) throw OutputError((dir_ / f).string() + " exists; use --force to overwrite it");
    fs::create_directories(dir_ / "series", ec);
    if (!ec) fs::create_directories(dir_ / "summary", ec);
    if (ec) throw OutputError("cannot create " + dir_.string() + ": " + ec.message());
    std::vector<std::string> written;
    for (const auto& f : files) {
      fs::rename(path_ / f, dir_ / f, ec);
      if (ec) throw OutputError("cannot write " + (dir_ / f).string() + ": " + ec.message());
      written.push_back((dir_ / f).string());
    }
    return written;
  }

 private:
  fs::path dir_, path_;
};

std::string attr_or(const h5::Dataset& d, const char* name, const std::string& fallback) {
  return d.has_attr(name) ? d.attr_string(name) : fallback;
}

}  // namespace

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> export_csv(const RunReader& run, const std::string& dir, bool force) {
  const RunMetadata& m = run.metadata();
  // Re-running an export is the common clash: refuse it before doing the work.
  std::error_code ec;
  if (!force && fs::exists(fs::path(dir) / "replications.csv", ec))
    throw OutputError((fs::path(dir) / "replications.csv").string() + " exists; use --force to overwrite it");
  Staging staging{fs::path(dir)};
  const fs::path& out = staging.path();
  const h5::Group root = run.file().root();
  try {
    const auto months = root.open_group("dimensions").read_array<double>("step_start_month");
    const auto R = static_cast<std::uint64_t>(m.replications);
    // Per replication.
    {
      CsvFile f(out / "replications.csv");
      f.row({"replication", "projects (projects)", "completed (projects)", "finish_step (step; -1 after the horizon)",
             "finish_month (months from start; empty after the horizon)"});
      const h5::Group reps = root.open_group("replications");
      for (std::uint64_t r0 = 0; r0 < R; r0 += 1u << 18) {
        const std::uint64_t n = std::min<std::uint64_t>(1u << 18, R - r0);
        const auto p = reps.read_rows<std::int32_t>("projects", r0, n);
        const auto c = reps.read_rows<std::int32_t>("completed", r0, n);
        const auto s = reps.read_rows<std::int32_t>("finish_step", r0, n);
        for (std::uint64_t i = 0; i < n; ++i)
          f.row({std::to_string(r0 + i), std::to_string(p[i]), std::to_string(c[i]), std::to_string(s[i]),
                 s[i] < 0 ? "" : number((s[i] + 1) * m.step_months)});
      }
      f.commit();
    }
    const h5::Group series = root.open_group("series");
    const h5::Group summary = root.open_group("summary");
    for (const SeriesInfo& s : m.series) {
      const h5::Dataset d = series.open_dataset(s.name);
      const std::string unit = attr_or(d, "units", "");
      std::vector<std::string> comps;
      if (s.inner > 0) {
        const std::string dims = attr_or(d, "dims", "");
        const std::string axis = dims.substr(dims.rfind(',') + 1);
        const auto it = AXIS_NAMES.find(axis);
        if (it != AXIS_NAMES.end() && root.open_group("dimensions").exists(it->second))
          comps = root.open_group("dimensions").read_strings(it->second);
        if (comps.size() != s.inner) {
          comps.clear();
          for (std::uint64_t k = 0; k < s.inner; ++k) comps.push_back(std::to_string(k));
        }
      }
      const std::uint64_t K = std::max<std::uint64_t>(1, s.inner), T = static_cast<std::uint64_t>(m.steps);
      // Per replication and step, one column per component.
      {
        CsvFile f(out / "series" / (s.name + ".csv"));
        std::vector<std::string> head = {"replication", "step", "month (months from start)"};
        if (comps.empty()) head.push_back(csv_cell(s.name + " (" + unit + ")"));
        for (const auto& c : comps) head.push_back(csv_cell(s.name + "[" + c + "] (" + unit + ")"));
        f.row(head);
        const std::uint64_t block = std::max<std::uint64_t>(1, BLOCK_BYTES / (8 * T * K));
        for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
          const std::uint64_t n = std::min(block, R - r0);
          const auto v = d.read_rows<double>(r0, n);  // (HDF5 converts integers exactly)
          for (std::uint64_t i = 0; i < n; ++i)
            for (std::uint64_t t = 0; t < T; ++t) {
              std::vector<std::string> cells = {std::to_string(r0 + i), std::to_string(t), number(months[t])};
              for (std::uint64_t k = 0; k < K; ++k) cells.push_back(number(v[(i * T + t) * K + k]));
              f.row(cells);
            }
        }
        f.commit();
      }
      // Across replications: one row per step and component.
      if (summary.exists(s.name)) {
        const h5::Group g = summary.open_group(s.name);
        CsvFile f(out / "summary" / (s.name + ".csv"));
        const std::string u = " (" + unit + ")";
        f.row({"step", "month (months from start)", "component", csv_cell("mean" + u), csv_cell("sd" + u),
               csv_cell("p10" + u), csv_cell("p50" + u), csv_cell("p90" + u), "replications (count)"});
        const auto mean = g.read_array<double>("mean"), sd = g.read_array<double>("sd"), p10 = g.read_array<double>("p10"),
                   p50 = g.read_array<double>("p50"), p90 = g.read_array<double>("p90");
        const std::vector<double> count = g.exists("count") ? g.read_array<double>("count")
                                                             : std::vector<double>(mean.size(), static_cast<double>(R));
        for (std::uint64_t t = 0; t < T; ++t)
          for (std::uint64_t k = 0; k < K; ++k) {
            const std::size_t i = static_cast<std::size_t>(t * K + k);
            f.row({std::to_string(t), number(months[t]), comps.empty() ? s.name : csv_cell(comps[k]), number(mean[i]),
                   number(sd[i]), number(p10[i]), number(p50[i]), number(p90[i]), number(count[i])});
          }
        f.commit();
      }
    }
    // Per LEP (authority) per replication.
    if (!m.leps.empty()) {
      const h5::Group leps = root.open_group("leps");
      CsvFile f(out / "leps.csv");
      std::vector<std::string> head = {"replication", "authority"};
      std::vector<h5::Dataset> ds;
      for (const auto& name : m.leps) {
        ds.push_back(leps.open_dataset(name));
        head.push_back(csv_cell(name + " (" + attr_or(ds.back(), "units", "") + ")"));
      }
      f.row(head);
      const std::uint64_t A = m.authorities.size();
      const std::uint64_t block = std::max<std::uint64_t>(1, BLOCK_BYTES / (8 * A * ds.size()));
      for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
        const std::uint64_t n = std::min(block, R - r0);
        std::vector<std::vector<double>> cols;
        for (const auto& d : ds) cols.push_back(d.read_rows<double>(r0, n));
        for (std::uint64_t i = 0; i < n; ++i)
          for (std::uint64_t a = 0; a < A; ++a) {
            std::vector<std::string> cells = {std::to_string(r0 + i), csv_cell(m.authorities[a])};
            for (const auto& c : cols) cells.push_back(number(c[i * A + a]));
            f.row(cells);
          }
      }
      f.commit();
    }
    // Per project.
    if (m.per_project) {
      const h5::Group proj = root.open_group("projects");
      const h5::Group reps = root.open_group("replications");
      CsvFile f(out / "projects.csv");
      const bool cost = proj.exists("cost");
      std::vector<std::string> head = {"replication", "authority", "project_type", "arrival_step (step)",
                                       "completion_step (step; -1 not within the horizon)"};
      if (cost) head.push_back("cost (GBP m)");
      f.row(head);
      for (std::uint64_t r = 0; r < R; ++r) {
        const auto first = reps.read_rows<std::int64_t>("first_project", r, 1)[0];
        const auto n = static_cast<std::uint64_t>(reps.read_rows<std::int32_t>("projects", r, 1)[0]);
        if (n == 0) continue;
        const auto a = proj.read_rows<std::int32_t>("authority", static_cast<std::uint64_t>(first), n);
        const auto ty = proj.read_rows<std::int32_t>("type", static_cast<std::uint64_t>(first), n);
        const auto ar = proj.read_rows<std::int32_t>("arrival_step", static_cast<std::uint64_t>(first), n);
        const auto cs = proj.read_rows<std::int32_t>("completion_step", static_cast<std::uint64_t>(first), n);
        std::vector<double> co;
        if (cost) co = proj.read_rows<double>("cost", static_cast<std::uint64_t>(first), n);
        for (std::uint64_t i = 0; i < n; ++i) {
          const auto au = static_cast<std::size_t>(a[i]), tu = static_cast<std::size_t>(ty[i]);
          if (au >= m.authorities.size() || tu >= m.project_types.size())
            run.fail("corrupted: /projects row " + std::to_string(first + static_cast<std::int64_t>(i)) +
                     " names authority " + std::to_string(a[i]) + ", type " + std::to_string(ty[i]));
          std::vector<std::string> cells = {std::to_string(r), csv_cell(m.authorities[au]), csv_cell(m.project_types[tu]),
                                            std::to_string(ar[i]), std::to_string(cs[i])};
          if (cost) cells.push_back(number(co[i]));
          f.row(cells);
        }
      }
      f.commit();
    }
  } catch (const h5::Error& e) {
    run.fail(std::string("corrupted: ") + e.what());
  }
  return staging.commit(force);
}

}  // namespace lepsim::analysis
