#include "lepsim/analysis/export.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <unistd.h>

#include "atomic_file.hpp"
#include "lepsim/error.hpp"
#include "lepsim/outputs.hpp"

namespace lepsim::analysis {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t BLOCK_BYTES = 16ull << 20;

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
    std::vector<std::string> written;
    for (const auto& f : files) {
      fs::create_directories((dir_ / f).parent_path(), ec);  // series/, summary/ only when written
      if (ec) throw OutputError("cannot create " + (dir_ / f).parent_path().string() + ": " + ec.message());
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

//! The name of a series' component axis ("stage"), from its dims attribute.
std::string axis_of(const h5::Dataset& d) {
  const std::string dims = attr_or(d, "dims", "");
  return dims.substr(dims.rfind(',') + 1);
}

}  // namespace

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string snake_case(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c))
      out += static_cast<char>(std::tolower(c));
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "x" : out;
}

namespace {

//! One row of data-dictionary.csv.
struct Entry {
  std::string file, column, unit, description;
};

//! The unit and description of a dataset: the registry's, or its attributes for an output
//! this build does not declare (a newer minor).
std::pair<std::string, std::string> unit_and_description(const OutputSpec* spec, const h5::Dataset& d) {
  if (spec) return {spec->unit, spec->description};
  return {attr_or(d, "units", ""), attr_or(d, "description", "")};
}

//! What --outputs chose: every name is a registry output of this file or a group.
class Selection {
 public:
  Selection(const RunReader& run, const std::vector<std::string>& names) : all_(names.empty()) {
    const RunMetadata& m = run.metadata();
    std::vector<std::string> valid = {"replications", "series", "summary", "leps", "projects"};
    for (const auto& s : m.series) valid.push_back(s.name);
    for (const auto& l : m.leps) valid.push_back(l);
    const auto known = [&](const std::string& n) { return std::find(valid.begin(), valid.end(), n) != valid.end(); };
    for (const auto& n : names) {
      if (known(n)) {
        chosen_.push_back(n);
        continue;
      }
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      if (find_output(n))
        throw UsageError("output '" + n + "' is not in " + m.path + " (written only when " +
                         presence_text(find_output(n)->presence) + "); outputs of this file: " + list);
      throw UsageError("unknown output '" + n + "'; outputs of this file: " + list);
    }
  }
  bool has(const std::string& n) const { return all_ || std::find(chosen_.begin(), chosen_.end(), n) != chosen_.end(); }
  bool series(const std::string& name) const { return has("series") || has(name); }
  bool summary(const std::string& name) const { return has("summary") || has(name); }
  bool lep(const std::string& name) const { return has("leps") || has(name); }

 private:
  bool all_;
  std::vector<std::string> chosen_;
};

}  // namespace

std::vector<std::string> export_csv(const RunReader& run, const std::string& dir, const ExportOptions& options) {
  const bool force = options.force;
  const RunMetadata& m = run.metadata();
  const Selection chosen(run, options.outputs);
  // Re-running an export is the common clash: refuse it before doing the work.
  std::error_code ec;
  if (!force && fs::exists(fs::path(dir) / DATA_DICTIONARY, ec))
    throw OutputError((fs::path(dir) / DATA_DICTIONARY).string() + " exists; use --force to overwrite it");
  Staging staging{fs::path(dir)};
  const fs::path& out = staging.path();
  const h5::Group root = run.file().root();
  std::vector<Entry> dictionary;
  const std::string month_end_text =
      "months from the start to the end of the step (step + 1) x step_months; the step covers (month_end - " +
      number(m.step_months) + ", month_end]: a value 'by month 60' is the row month_end == 60";
  const auto time_columns = [&](const std::string& file) {
    dictionary.push_back(
        {file, "step", "step", "step index from 0; step t covers months [t x step_months, (t + 1) x step_months)"});
    dictionary.push_back({file, "month_end", "months from start", month_end_text});
  };
  try {
    const auto T = static_cast<std::uint64_t>(m.steps);
    std::vector<std::string> month_end(T);
    for (std::uint64_t t = 0; t < T; ++t) month_end[t] = number(static_cast<double>(t + 1) * m.step_months);
    const auto R = static_cast<std::uint64_t>(m.replications);
    // Per replication.
    if (chosen.has("replications")) {
      const std::string file = "replications.csv";
      CsvFile f(out / file);
      f.row({"replication", "projects", "completed", "finish_step", "finish_month"});
      dictionary.push_back({file, "replication", "index", "replication index from 0 (the random streams' replication)"});
      for (const char* col : {"projects", "completed", "finish_step"}) {
        const OutputSpec* spec = find_output(col, OutputScope::Replication);
        dictionary.push_back({file, col, spec->unit, spec->description});
      }
      const Metric finish = parse_metric("finish_month");
      dictionary.push_back(
          {file, "finish_month", finish.spec->unit,
           "months from the start to the end of the step the last project finished; empty if after the horizon"});
      const std::vector<double> finish_month = metric_values(run, finish);
      const h5::Group reps = root.open_group(dataset::REPLICATIONS);
      for (std::uint64_t r0 = 0; r0 < R; r0 += 1u << 18) {
        const std::uint64_t n = std::min<std::uint64_t>(1u << 18, R - r0);
        const auto p = reps.read_rows<std::int32_t>("projects", r0, n);
        const auto c = reps.read_rows<std::int32_t>("completed", r0, n);
        const auto s = reps.read_rows<std::int32_t>("finish_step", r0, n);
        for (std::uint64_t i = 0; i < n; ++i) {
          const double fm = finish_month[static_cast<std::size_t>(r0 + i)];
          f.row({std::to_string(r0 + i), std::to_string(p[i]), std::to_string(c[i]), std::to_string(s[i]),
                 std::isfinite(fm) ? number(fm) : ""});
        }
      }
      f.commit();
    }
    const h5::Group series = root.open_group(dataset::SERIES);
    const h5::Group summary = root.open_group(dataset::SUMMARY);
    const h5::Group dims = root.open_group(dataset::DIMENSIONS);
    for (const SeriesInfo& s : m.series) {
      if (!chosen.series(s.name) && !chosen.summary(s.name)) continue;
      const h5::Dataset d = series.open_dataset(s.name);
      const OutputSpec* spec = find_output(s.name, OutputScope::Series);
      const auto [unit, description] = unit_and_description(spec, d);
      std::vector<std::string> comps;  // component names as the file has them
      if (s.inner > 0) {
        const std::string dims_attr = attr_or(d, "dims", "");
        const std::string axis = dims_attr.substr(dims_attr.rfind(',') + 1);
        for (Axis a : {Axis::Stage, Axis::Discipline, Axis::Pool, Axis::State, Axis::HealthStatistic, Axis::SpendKind})
          if (axis == axis_name(a) && dims.exists(axis_dimension(a))) comps = dims.read_strings(axis_dimension(a));
        if (comps.size() != s.inner) {
          comps.clear();
          for (std::uint64_t k = 0; k < s.inner; ++k) comps.push_back(std::to_string(k));
        }
      }
      const std::uint64_t K = std::max<std::uint64_t>(1, s.inner);
      // Per replication and step, one column per component: NAME_COMPONENT, snake_case.
      if (chosen.series(s.name)) {
        const std::string file = "series/" + s.name + ".csv";
        CsvFile f(out / "series" / (s.name + ".csv"));
        std::vector<std::string> head = {"replication", "step", "month_end"};
        dictionary.push_back({file, "replication", "index", "replication index from 0"});
        time_columns(file);
        if (comps.empty()) {
          head.push_back(s.name);
          dictionary.push_back({file, s.name, unit, description});
        }
        for (const auto& c : comps) {
          std::string col = s.name + "_" + snake_case(c);
          while (std::find(head.begin(), head.end(), col) != head.end()) col += "_";  // two names alike once snake_cased
          head.push_back(col);
          dictionary.push_back({file, col, unit, description + "; " + axis_of(d) + " '" + c + "'"});
        }
        f.row(head);
        const std::uint64_t block = std::max<std::uint64_t>(1, BLOCK_BYTES / (8 * T * K));
        for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
          const std::uint64_t n = std::min(block, R - r0);
          const auto v = d.read_rows<double>(r0, n);  // (HDF5 converts integers exactly)
          for (std::uint64_t i = 0; i < n; ++i)
            for (std::uint64_t t = 0; t < T; ++t) {
              std::vector<std::string> cells = {std::to_string(r0 + i), std::to_string(t), month_end[t]};
              for (std::uint64_t k = 0; k < K; ++k) cells.push_back(number(v[(i * T + t) * K + k]));
              f.row(cells);
            }
        }
        f.commit();
      }
      // Across replications: one row per step and component.
      if (chosen.summary(s.name) && summary.exists(s.name)) {
        const std::string file = "summary/" + s.name + ".csv";
        const h5::Group g = summary.open_group(s.name);
        CsvFile f(out / "summary" / (s.name + ".csv"));
        f.row({"step", "month_end", "component", "mean", "sd", "p10", "p50", "p90", "replications"});
        time_columns(file);
        dictionary.push_back(
            {file, "component", "",
             comps.empty() ? "the series' name (it has one component)" : axis_of(d) + " name, as in the scenario"});
        const std::string of = " of " + s.name + " across replications (" + description + ")";
        dictionary.push_back({file, "mean", unit, "mean" + of});
        dictionary.push_back({file, "sd", unit, "standard deviation (n - 1)" + of});
        for (const char* p : {"p10", "p50", "p90"})
          dictionary.push_back({file, p, unit, std::string("percentile ") + (p + 1) + " (type 7, numpy's default)" + of});
        dictionary.push_back({file, "replications", "count", "replications with a value (NaN values left out)"});
        const auto mean = g.read_array<double>("mean"), sd = g.read_array<double>("sd"), p10 = g.read_array<double>("p10"),
                   p50 = g.read_array<double>("p50"), p90 = g.read_array<double>("p90");
        const std::vector<double> count = g.exists("count") ? g.read_array<double>("count")
                                                             : std::vector<double>(mean.size(), static_cast<double>(R));
        for (std::uint64_t t = 0; t < T; ++t)
          for (std::uint64_t k = 0; k < K; ++k) {
            const std::size_t i = static_cast<std::size_t>(t * K + k);
            f.row({std::to_string(t), month_end[t], comps.empty() ? s.name : csv_cell(comps[k]), number(mean[i]),
                   number(sd[i]), number(p10[i]), number(p50[i]), number(p90[i]), number(count[i])});
          }
        f.commit();
      }
    }
    // Per LEP (authority) per replication.
    std::vector<std::string> lep_names;
    for (const auto& name : m.leps)
      if (chosen.lep(name)) lep_names.push_back(name);
    if (!lep_names.empty()) {
      const std::string file = "leps.csv";
      const h5::Group leps = root.open_group(dataset::LEPS);
      CsvFile f(out / file);
      std::vector<std::string> head = {"replication", "authority"};
      dictionary.push_back({file, "replication", "index", "replication index from 0"});
      dictionary.push_back({file, "authority", "", "authority (LEP) name, as in the scenario"});
      std::vector<h5::Dataset> ds;
      for (const auto& name : lep_names) {
        ds.push_back(leps.open_dataset(name));
        head.push_back(name);
        const auto [unit, description] = unit_and_description(find_output(name, OutputScope::Lep), ds.back());
        dictionary.push_back({file, name, unit, description});
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
    if (m.per_project && chosen.has("projects")) {
      const std::string file = "projects.csv";
      const h5::Group proj = root.open_group(dataset::PROJECTS);
      const h5::Group reps = root.open_group(dataset::REPLICATIONS);
      CsvFile f(out / file);
      const bool cost = proj.exists("cost");
      std::vector<std::string> head = {"replication", "authority", "project_type", "arrival_step", "completion_step"};
      if (cost) head.push_back("cost");
      dictionary.push_back({file, "replication", "index", "replication index from 0"});
      dictionary.push_back({file, "authority", "", "authority name, as in the scenario"});
      dictionary.push_back({file, "project_type", "", "project type name, as in the scenario"});
      for (const char* col : {"arrival_step", "completion_step"}) {
        const OutputSpec* spec = find_output(col, OutputScope::Project);
        dictionary.push_back(
            {file, col, spec->unit, std::string(spec->description) + " (its month_end is (step + 1) x step_months)"});
      }
      if (cost) dictionary.push_back({file, "cost", "GBP m", find_output("cost", OutputScope::Project)->description});
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
    // The data dictionary: every column of every file written, with its unit and meaning.
    CsvFile f(out / DATA_DICTIONARY);
    f.row({"file", "column", "unit", "description"});
    for (const Entry& e : dictionary)
      f.row({csv_cell(e.file), csv_cell(e.column), csv_cell(e.unit), csv_cell(e.description)});
    f.commit();
  } catch (const h5::Error& e) {
    run.fail(std::string("corrupted: ") + e.what());
  }
  return staging.commit(force);
}

}  // namespace lepsim::analysis
