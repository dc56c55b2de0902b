#include "lepsim/analysis/run_reader.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <new>
#include <stdexcept>
#include <system_error>

#include "lepsim/error.hpp"
#include "lepsim/percentile.hpp"

namespace lepsim::analysis {
namespace {

namespace fs = std::filesystem;
using Dims = std::vector<std::uint64_t>;

constexpr std::uint64_t BLOCK_BYTES = 16ull << 20;  // one read-back block: memory bounded whatever R
constexpr double INF = std::numeric_limits<double>::infinity();
const char* const FILE_TYPE = RUN_FILE_TYPE;
const char* const FORMAT_DOC = " (docs/run-file-format.md)";
//! `count` came later in format 1: optional; every other statistic of
//! dataset::SUMMARY_STATISTICS is required.
bool optional_statistic(const std::string& stat) { return stat == "count"; }

std::string dims_text(const Dims& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

const char* kind_name(h5::Dataset::ElementClass k) {
  switch (k) {
    case h5::Dataset::ElementClass::Integer: return "integer";
    case h5::Dataset::ElementClass::Float: return "floating-point";
    case h5::Dataset::ElementClass::String: return "string";
    default: return "other (not integer, floating-point or string)";
  }
}

std::uint64_t block_rows(std::uint64_t row_elems) {
  return std::max<std::uint64_t>(1, BLOCK_BYTES / (8 * std::max<std::uint64_t>(1, row_elems)));
}

//! Percentile (Hyndman-Fan type 7, numpy's default) of programme-finish months held as a
//! histogram: count[s] replications finished at step s, `unfinished` after the horizon
//! (+inf). Returns -1 when the percentile lies after the horizon.
double finish_percentile(const std::vector<std::int64_t>& count, std::int64_t unfinished, double step_months, double p) {
  std::int64_t n = unfinished;
  for (auto c : count) n += c;
  if (n == 0) return -1;
  auto order_stat = [&](std::int64_t k) {  // k-th smallest, 0-based
    for (std::size_t s = 0; s < count.size(); ++s) {
      if (k < count[s]) return static_cast<double>(s + 1) * step_months;
      k -= count[s];
    }
    return INF;
  };
  const detail::Type7Rank rank = detail::type7_rank(static_cast<std::size_t>(n), static_cast<double>(n - 1) * p / 100.0);
  const double x_lo = order_stat(static_cast<std::int64_t>(rank.lo));
  const double x_hi = rank.frac == 0 ? x_lo : order_stat(static_cast<std::int64_t>(rank.hi));
  const double v = x_lo == x_hi ? x_lo : rank.value(x_lo, x_hi);
  return std::isfinite(v) ? v : -1.0;
}

}  // namespace

template <typename T>
void for_each_row(const RunReader& run, const std::string& group, const std::string& name,
                  const std::function<void(std::uint64_t, const T*, std::uint64_t)>& f) {
  const h5::Group g = run.file().root().open_group(group);
  const auto dims = g.dims(name);
  std::uint64_t row = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) row *= dims[i];
  const std::uint64_t R = dims.empty() ? 0 : dims[0];
  const std::uint64_t block = std::max<std::uint64_t>(1, BLOCK_BYTES / (sizeof(T) * std::max<std::uint64_t>(1, row)));
  for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
    const std::uint64_t n = std::min(block, R - r0);
    const auto data = g.read_rows<T>(name, r0, n);
    for (std::uint64_t i = 0; i < n; ++i) f(r0 + i, data.data() + i * row, row);
  }
}
template void for_each_row<std::int32_t>(const RunReader&, const std::string&, const std::string&,
                                         const std::function<void(std::uint64_t, const std::int32_t*, std::uint64_t)>&);
template void for_each_row<double>(const RunReader&, const std::string&, const std::string&,
                                   const std::function<void(std::uint64_t, const double*, std::uint64_t)>&);

void RunReader::fail(const std::string& problem) const { throw RunFileError(meta_.path + ": " + problem); }

RunReader::RunReader(const std::string& path) {
  meta_.path = path;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) fail("no such file");
  if (fs::is_directory(st)) fail("is a directory, not a run file");
  if (!fs::is_regular_file(st)) fail("is not a regular file, so not a run file");
  const auto size = fs::file_size(path, ec);
  if (!ec && size == 0) fail("is empty (0 bytes), not a run file");
  try {
    file_ = h5::File::open_read(path);
  } catch (const h5::Error& e) {
    const std::string why = e.what();
    if (why.find("truncated file") != std::string::npos)
      fail("truncated: the file is " + std::to_string(size) +
           " bytes, shorter than its HDF5 header says (an interrupted copy or download?)");
    if (why.find("signature") != std::string::npos) fail("not an HDF5 file, so not a lepsim run file (no HDF5 signature)");
    fail("cannot be opened as an HDF5 file (corrupted?): " + why);
  }
  try {
    check_structure();
  } catch (const h5::Error& e) {
    fail(std::string("corrupted or not a whole lepsim run file: ") + e.what());
  } catch (const std::bad_alloc&) {
    fail("corrupted: a size recorded in the file is implausibly large");
  } catch (const std::length_error&) {
    fail("corrupted: a size recorded in the file is implausibly large");
  }
}

void RunReader::check_structure() {
  const h5::Group root = file_.root();
  // File type and version first: nothing else means anything until they check out.
  if (!root.has_attr("file_type"))
    fail(std::string("not a lepsim run file: it is HDF5 but has no file_type attribute (a run file has file_type = \"") +
         FILE_TYPE + "\")");
  std::string type;
  try {
    type = root.attr_string("file_type");
  } catch (const h5::Error&) {
    fail("not a lepsim run file: its file_type attribute is not a string");
  }
  if (type != FILE_TYPE) fail("not a lepsim run file: file_type = \"" + type + "\", expected \"" + FILE_TYPE + "\"");
  if (!root.has_attr("format_version")) fail("not a whole lepsim run file: the root attribute format_version is missing");
  std::vector<std::int32_t> version;
  try {
    version = root.attr_array<std::int32_t>("format_version");
  } catch (const h5::Error&) {
    fail("format_version is not a pair of integers [major, minor]");
  }
  if (version.size() != 2) fail("format_version has " + std::to_string(version.size()) + " values, expected [major, minor]");
  meta_.format_major = version[0];
  meta_.format_minor = version[1];
  const std::string theirs = std::to_string(version[0]) + "." + std::to_string(version[1]);
  const std::string ours = std::to_string(READER_FORMAT_MAJOR) + ".x";
  if (version[0] > READER_FORMAT_MAJOR)
    fail("run file format " + theirs + " is newer than this lepsim reads (" + ours +
         "): read it with the lepsim version that wrote it or a later one");
  if (version[0] < READER_FORMAT_MAJOR) fail("run file format " + theirs + " is older than this lepsim reads (" + ours + ")");

  for (const char* a : {"engine_version", "git_revision", "seed", "replications", "created", "scenario_name", "start",
                        "step_months", "steps", "durations"})
    if (!root.has_attr(a)) fail(std::string("not a whole lepsim run file: the root attribute ") + a + " is missing" + FORMAT_DOC);
  meta_.engine_version = root.attr_string("engine_version");
  meta_.git_revision = root.attr_string("git_revision");
  meta_.created = root.attr_string("created");
  meta_.scenario_name = root.attr_string("scenario_name");
  meta_.start = root.attr_string("start");
  meta_.durations = root.attr_string("durations");
  meta_.seed = root.attr<std::uint64_t>("seed");
  meta_.replications = root.attr<std::int64_t>("replications");
  meta_.step_months = root.attr<double>("step_months");
  meta_.steps = root.attr<std::int64_t>("steps");
  if (meta_.replications < 1) fail("replications = " + std::to_string(meta_.replications) + ": must be >= 1");
  if (meta_.steps < 1) fail("steps = " + std::to_string(meta_.steps) + ": must be >= 1");
  if (!(meta_.step_months > 0) || !std::isfinite(meta_.step_months))
    fail("step_months = " + std::to_string(meta_.step_months) + ": must be > 0");

  const auto R = static_cast<std::uint64_t>(meta_.replications), T = static_cast<std::uint64_t>(meta_.steps);
  auto need_group = [&](const std::string& path) {
    if (!root.is_group(path)) fail("not a whole lepsim run file: the group " + path + " is missing" + FORMAT_DOC);
  };
  auto need = [&](const std::string& path) {
    if (!root.is_dataset(path)) fail("not a whole lepsim run file: the dataset " + path + " is missing" + FORMAT_DOC);
    return root.dims(path);
  };
  auto need_shape = [&](const std::string& path, const Dims& want) {
    const Dims got = need(path);
    if (got != want) fail("inconsistent: " + path + " has shape " + dims_text(got) + ", expected " + dims_text(want));
  };
  using Kind = h5::Dataset::ElementClass;
  auto need_type = [&](const std::string& path, Kind want) {
    const h5::Dataset::Element e = root.open_dataset(path).element();
    if (e.kind != want)
      fail(std::string("wrong type: ") + path + " holds " + kind_name(e.kind) + " values, the format has " + kind_name(want) +
           FORMAT_DOC);
  };

  for (const char* g : {"/scenario", "/dimensions", "/series", "/replications", "/summary"}) need_group(g);
  for (const char* text : {"/scenario/text", "/scenario/resolved"}) need_shape(text, {}), need_type(text, Kind::String);
  const h5::Group scen = root.open_group("scenario");
  if (scen.has_attr("source_path")) meta_.scenario_source = scen.attr_string("source_path");
  // Format 1.2: lever-cost rates (absent before: the levers cost nothing).
  for (auto [name, out] : {std::pair{"lever_cost_once", &meta_.lever_cost_once},
                           std::pair{"lever_cost_per_month", &meta_.lever_cost_per_month},
                           std::pair{"lever_cost_per_lep_month", &meta_.lever_cost_per_lep_month},
                           std::pair{"annual_envelope", &meta_.annual_envelope}})
    if (scen.has_attr(name)) {
      *out = scen.attr<double>(name);
      if (!(std::isfinite(*out) && *out >= 0)) fail(std::string("corrupted: /scenario attribute ") + name + " is not a cost >= 0");
    }
  if (scen.exists("plan")) {  // format 1.1, optional: a small [K, 2] table
    const Dims d = need("/scenario/plan");
    if (d.size() != 2 || d[1] != 2 || d[0] == 0 || d[0] > 1'000'000)
      fail("inconsistent: /scenario/plan has shape " + dims_text(d) + ", expected [K, 2] with K >= 1");
    need_type("/scenario/plan", Kind::Float);
    const auto v = scen.read_array<double>("plan");
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      if (!std::isfinite(v[i]) || !std::isfinite(v[i + 1]) || (i > 0 && !(v[i] > v[i - 2])))
        fail("corrupted: /scenario/plan row " + std::to_string(i / 2) + " is not a later month with a finite count");
      meta_.plan.push_back({v[i], v[i + 1]});
    }
  }

  // Names of the indices. Each name takes at least a byte of the file, which bounds a
  // count before anything is allocated for it (a corrupted size could be anything).
  std::error_code ec;
  const auto file_bytes = fs::file_size(meta_.path, ec);
  auto names = [&](const char* name) {
    const std::string path = std::string("/dimensions/") + name;
    const Dims d = need(path);
    if (d.size() != 1) fail("inconsistent: " + path + " has shape " + dims_text(d) + ", expected one dimension");
    if (!ec && d[0] > file_bytes) fail("corrupted: " + path + " claims " + std::to_string(d[0]) + " names");
    need_type(path, Kind::String);
    return root.read_strings(path);
  };
  meta_.stages = names("stages");
  meta_.disciplines = names("disciplines");
  meta_.pools = names("pools");
  meta_.project_types = names("project_types");
  meta_.authorities = names("authorities");
  if (meta_.stages.empty()) fail("inconsistent: /dimensions/stages is empty; a scenario has at least one stage");
  if (names(axis_dimension(Axis::State)).size() != PROJECT_STATE_COUNT)
    fail("inconsistent: /dimensions/project_states must name 4 states");
  const std::string step_start = std::string("/") + dataset::DIMENSIONS + "/" + dataset::STEP_START_MONTH;
  need_shape(step_start, {T});
  need_type(step_start, Kind::Float);
  const auto S = meta_.stages.size(), D = meta_.disciplines.size(), P = meta_.pools.size(),
             A = meta_.authorities.size();

  // Series: the core ones are required with their documented shapes; any other (a
  // mechanism's, or a newer minor's) must still be per replication and step.
  // Which are core, and their shapes and types, is the output registry's (lepsim/outputs.hpp).
  OutputShape shape;
  shape.steps = static_cast<int>(T), shape.stages = static_cast<int>(S), shape.disciplines = static_cast<int>(D);
  shape.pools = static_cast<int>(P), shape.authorities = static_cast<int>(A);
  for (const OutputSpec& spec : output_registry()) {
    const bool core = spec.presence == Presence::Always || (spec.presence == Presence::Disciplines && D > 0) ||
                      (spec.presence == Presence::Pools && P > 0);
    if (!core || spec.scope == OutputScope::Lep || spec.scope == OutputScope::Project) continue;
    const std::string path = std::string("/") + spec.group() + "/" + spec.name;
    if (spec.scope == OutputScope::Replication) {
      need_shape(path, {R});
    } else {
      const auto K = static_cast<std::uint64_t>(axis_size(spec.axis, shape));
      need_shape(path, spec.axis != Axis::None ? Dims{R, T, K} : Dims{R, T});
    }
    need_type(path, spec.real() ? Kind::Float : Kind::Integer);
  }
  const h5::Group series = root.open_group("series");
  for (const auto& name : series.list()) {
    const std::string path = "/series/" + name;
    if (!series.is_dataset(name)) fail("inconsistent: " + path + " is not a dataset");
    const Dims d = series.dims(name);
    if (d.size() < 2 || d.size() > 3 || d[0] != R || d[1] != T || (d.size() == 3 && d[2] == 0))
      fail("inconsistent: " + path + " has shape " + dims_text(d) + ", expected [R = " + std::to_string(R) +
           ", T = " + std::to_string(T) + "] or [R, T, K]");
    meta_.series.push_back({name, d.size() == 3 ? d[2] : 0});
  }
  // Every series has its summary across replications.
  for (const auto& s : meta_.series) {
    const std::string g = "/summary/" + s.name;
    need_group(g);
    const Dims want = s.inner ? Dims{T, s.inner} : Dims{T};
    for (const char* stat : dataset::SUMMARY_STATISTICS)
      if (!optional_statistic(stat) || root.exists(g + "/" + stat))
        need_shape(g + "/" + stat, want), need_type(g + "/" + stat, Kind::Float);
    const h5::Group sg = root.open_group(g);
    if (!sg.has_attr("n") || sg.attr<std::int64_t>("n") != meta_.replications)
      fail("inconsistent: " + g + " has no attribute n = " + std::to_string(R) + " (the replications)");
  }

  if (root.exists("leps")) {
    need_group("/leps");
    const h5::Group leps = root.open_group("leps");
    for (const auto& name : leps.list()) {
      const std::string path = "/leps/" + name;
      if (!leps.is_dataset(name)) fail("inconsistent: " + path + " is not a dataset");
      need_shape(path, {R, A});
      meta_.leps.push_back(name);
    }
  }

  meta_.per_project = root.exists("projects");
  if (meta_.per_project) {
    need_group("/projects");
    // N = the last replication's first row + its project count.
    const auto first = root.read_rows<std::int64_t>("replications/first_project", R - 1, 1);
    const auto count = root.read_rows<std::int64_t>("replications/projects", R - 1, 1);
    const std::int64_t n = first.at(0) + count.at(0);
    if (n < 0) fail("corrupted: /replications/first_project and /projects give " + std::to_string(n) + " project rows");
    meta_.project_rows = n;
    for (const OutputSpec& spec : output_registry()) {
      if (spec.scope != OutputScope::Project || spec.presence != Presence::Always) continue;
      need_shape(std::string("/projects/") + spec.name, {static_cast<std::uint64_t>(n)});
      need_type(std::string("/projects/") + spec.name, spec.real() ? Kind::Float : Kind::Integer);
    }
    const h5::Group proj = root.open_group("projects");
    for (const auto& name : proj.list()) need_shape("/projects/" + name, {static_cast<std::uint64_t>(n)});
  }
}

Headline RunReader::headline() const {
  try {
    const h5::Group reps = file_.root().open_group("replications");
    const auto R = static_cast<std::uint64_t>(meta_.replications), T = static_cast<std::uint64_t>(meta_.steps);
    std::vector<std::int64_t> finished_at(T, 0);  // replications whose last project finished at step s
    std::int64_t unfinished = 0;
    double projects = 0, completed = 0;
    const std::uint64_t block = block_rows(3);
    for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
      const std::uint64_t n = std::min(block, R - r0);
      const auto p = reps.read_rows<std::int32_t>("projects", r0, n);
      const auto c = reps.read_rows<std::int32_t>("completed", r0, n);
      const auto f = reps.read_rows<std::int32_t>("finish_step", r0, n);
      for (std::uint64_t i = 0; i < n; ++i) {
        projects += p[i];
        completed += c[i];
        if (f[i] < -1 || f[i] >= static_cast<std::int64_t>(T))
          fail("corrupted: /replications/finish_step[" + std::to_string(r0 + i) + "] = " + std::to_string(f[i]) +
               ", outside -1.." + std::to_string(T - 1));
        if (f[i] < 0) ++unfinished;
        else ++finished_at[static_cast<std::size_t>(f[i])];
      }
    }
    Headline h;
    h.projects_mean = projects / static_cast<double>(R);
    h.completed_mean = completed / static_cast<double>(R);
    h.finished_fraction = static_cast<double>(meta_.replications - unfinished) / static_cast<double>(R);
    h.finish_p50_months = finish_percentile(finished_at, unfinished, meta_.step_months, 50);
    h.finish_p90_months = finish_percentile(finished_at, unfinished, meta_.step_months, 90);
    return h;
  } catch (const h5::Error& e) {
    fail(std::string("corrupted: ") + e.what());
  }
}

void RunReader::verify() const {
  const h5::Group root = file_.root();
  const auto R = static_cast<std::uint64_t>(meta_.replications), T = static_cast<std::uint64_t>(meta_.steps);
  std::string where;  // what is being read, for the message
  auto rep = [](std::uint64_t r) { return "replication " + std::to_string(r); };
  try {
    where = "/scenario";
    root.read_text("scenario/text");
    root.read_text("scenario/resolved");
    where = "/dimensions/step_start_month";
    const auto month = root.read_array<double>("dimensions/step_start_month");
    for (std::uint64_t t = 0; t < T; ++t)
      if (month[t] != static_cast<double>(t) * meta_.step_months)
        fail("corrupted: /dimensions/step_start_month[" + std::to_string(t) + "] = " + std::to_string(month[t]) +
             ", expected " + std::to_string(static_cast<double>(t) * meta_.step_months));

    // Replication by replication, a block at a time: every series, the invariants that tie
    // them to /replications, and per cell what the summaries must agree with.
    struct Cells {  // per (step, k), over the replications with a value (NaN = undefined)
      std::vector<double> sum, sum_sq, count, lo, hi;
    };
    std::vector<Cells> cells(meta_.series.size());
    std::uint64_t widest = 1;
    for (std::size_t j = 0; j < meta_.series.size(); ++j) {
      const std::uint64_t n = T * std::max<std::uint64_t>(1, meta_.series[j].inner);
      widest = std::max(widest, n);
      cells[j] = {std::vector<double>(n, 0.0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0),
                  std::vector<double>(n, INF), std::vector<double>(n, -INF)};
    }
    const std::uint64_t block = block_rows(widest);
    std::int64_t next_first = 0;
    for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
      throw_if_interrupted("stopped reading " + meta_.path);
      const std::uint64_t n = std::min(block, R - r0);
      where = "/replications";
      const auto projects = root.read_rows<std::int64_t>("replications/projects", r0, n);
      const auto completed = root.read_rows<std::int64_t>("replications/completed", r0, n);
      const auto finish = root.read_rows<std::int64_t>("replications/finish_step", r0, n);
      const auto first = root.read_rows<std::int64_t>("replications/first_project", r0, n);
      for (std::uint64_t i = 0; i < n; ++i) {
        if (projects[i] < 0 || completed[i] < 0 || completed[i] > projects[i])
          fail("corrupted: " + rep(r0 + i) + " has " + std::to_string(completed[i]) + " of " +
               std::to_string(projects[i]) + " projects completed");
        if (finish[i] < -1 || finish[i] >= static_cast<std::int64_t>(T) || (finish[i] >= 0 && completed[i] != projects[i]))
          fail("corrupted: " + rep(r0 + i) + " has finish_step = " + std::to_string(finish[i]) + " with " +
               std::to_string(completed[i]) + " of " + std::to_string(projects[i]) + " projects completed");
        if (first[i] != next_first)
          fail("corrupted: /replications/first_project[" + std::to_string(r0 + i) + "] = " + std::to_string(first[i]) +
               ", expected " + std::to_string(next_first) + " (the projects of the replications before it)");
        next_first += projects[i];
      }
      for (std::size_t j = 0; j < meta_.series.size(); ++j) {
        const std::string& name = meta_.series[j].name;
        where = "/series/" + name;
        const auto x = root.read_rows<double>("series/" + name, r0, n);
        Cells& c = cells[j];
        const std::uint64_t row = c.sum.size();
        for (std::uint64_t i = 0; i < n; ++i) {
          const double* v = &x[i * row];
          for (std::uint64_t k = 0; k < row; ++k) {
            if (std::isnan(v[k])) continue;
            c.sum[k] += v[k];  // in replication order, as the writer sums
            c.sum_sq[k] += v[k] * v[k];
            c.count[k] += 1;
            c.lo[k] = std::min(c.lo[k], v[k]);
            c.hi[k] = std::max(c.hi[k], v[k]);
          }
          if (name == "project_state")
            for (std::uint64_t t = 0; t < T; ++t)
              if (v[4 * t] + v[4 * t + 1] + v[4 * t + 2] + v[4 * t + 3] != static_cast<double>(projects[i]))
                fail("corrupted: /series/project_state of " + rep(r0 + i) + " at step " + std::to_string(t) +
                     " does not sum to its " + std::to_string(projects[i]) + " projects");
          if (name == "completed_cumulative" && v[T - 1] != static_cast<double>(completed[i]))
            fail("corrupted: /series/completed_cumulative of " + rep(r0 + i) + " ends at " + std::to_string(v[T - 1]) +
                 ", /replications/completed says " + std::to_string(completed[i]));
        }
      }
    }

    // The summaries are recomputable from the series: sums, counts and means exactly (the
    // writer sums in replication order too), sd to rounding (the writer takes two passes),
    // percentiles between the extremes and in order. A cell with no value is NaN throughout.
    for (std::size_t j = 0; j < meta_.series.size(); ++j) {
      const std::string g = "/summary/" + meta_.series[j].name + "/";
      std::map<std::string, std::vector<double>> stat;
      for (const char* name : dataset::SUMMARY_STATISTICS) {
        where = g + name;
        if (!optional_statistic(name)) stat[name] = root.read_array<double>(where);
      }
      const auto &mean = stat["mean"], &sd = stat["sd"], &p10 = stat["p10"], &p50 = stat["p50"], &p90 = stat["p90"],
                 &sum = stat["sum"], &sum_sq = stat["sum_sq"];
      const Cells& c = cells[j];
      std::vector<double> count = c.count;
      where = g + "count";
      if (root.exists(where)) count = root.read_array<double>(where);
      for (std::size_t k = 0; k < c.sum.size(); ++k) {
        const double n = c.count[k];
        auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
        const double var_n1 = c.sum_sq[k] - c.sum[k] * c.sum[k] / n;  // (n - 1) * variance
        const bool sd_ok = n == 0   ? std::isnan(sd[k])
                           : n == 1 ? sd[k] == 0
                                    : sd[k] >= 0 && std::fabs(sd[k] * sd[k] * (n - 1) - var_n1) <= 1e-9 * std::max(1.0, c.sum_sq[k]);
        const bool pct_ok = n == 0 ? std::isnan(p10[k]) && std::isnan(p50[k]) && std::isnan(p90[k])
                                   : c.lo[k] <= p10[k] && p10[k] <= p50[k] && p50[k] <= p90[k] && p90[k] <= c.hi[k];
        const char* bad = count[k] != n                         ? "count"
                          : sum[k] != c.sum[k]                  ? "sum"
                          : sum_sq[k] != c.sum_sq[k]            ? "sum_sq"
                          : !same(mean[k], c.sum[k] / n)        ? "mean"
                          : !sd_ok                              ? "sd"
                          : !pct_ok                             ? "p10, p50 or p90"
                                                                : nullptr;
        if (bad)
          fail("corrupted: " + g + bad + " at cell " + std::to_string(k) + " does not agree with the series it summarises");
      }
    }

    for (const auto& name : meta_.leps) {
      where = "/leps/" + name;
      const std::uint64_t lblock = block_rows(meta_.authorities.size());
      for (std::uint64_t r0 = 0; r0 < R; r0 += lblock) root.read_rows<double>("leps/" + name, r0, std::min(lblock, R - r0));
    }

    if (meta_.per_project) {
      const auto N = static_cast<std::uint64_t>(meta_.project_rows);
      const std::uint64_t pblock = block_rows(1);
      struct Column {
        std::string name;
        double lo, hi;  // allowed range, inclusive
      };
      std::vector<Column> cols = {{"authority", 0, static_cast<double>(meta_.authorities.size()) - 1},
                                  {"type", 0, static_cast<double>(meta_.project_types.size()) - 1},
                                  {"arrival_step", 0, static_cast<double>(T)},
                                  {"completion_step", -1, static_cast<double>(T) - 1}};
      for (const auto& name : root.open_group("projects").list())
        if (std::none_of(cols.begin(), cols.end(), [&](const Column& c) { return c.name == name; }))
          cols.push_back({name, -INF, INF});  // read back only
      for (const auto& c : cols) {
        where = "/projects/" + c.name;
        for (std::uint64_t i0 = 0; i0 < N; i0 += pblock) {
          const auto v = root.read_rows<double>("projects/" + c.name, i0, std::min(pblock, N - i0));
          for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] < c.lo || v[i] > c.hi)
              fail("corrupted: " + where + "[" + std::to_string(i0 + i) + "] = " + std::to_string(v[i]) + ", outside " +
                   std::to_string(static_cast<std::int64_t>(c.lo)) + ".." + std::to_string(static_cast<std::int64_t>(c.hi)));
        }
      }
    }
  } catch (const h5::Error& e) {
    fail("corrupted: cannot read " + where + ": " + e.what());
  } catch (const std::bad_alloc&) {
    fail("corrupted: cannot read " + where + ": a size recorded in the file is implausibly large");
  }
}

Metric run_metric(const RunReader& run, const std::string& name) {
  const Metric m = parse_metric(name);
  check_metric(run, m);
  return m;
}

void check_metric(const RunReader& run, const Metric& metric) {
  const RunMetadata& meta = run.metadata();
  const h5::Group root = run.file().root();
  for (const char* need : metric.spec->needs) {
    const OutputSpec* spec = find_output(need);
    if (!spec || !root.is_dataset(std::string(spec->group()) + "/" + need))
      throw UsageError("output '" + metric.name() + "' is not in " + meta.path + ": it needs " +
                       presence_text(metric.spec->presence));
  }
  const double horizon = static_cast<double>(meta.steps) * meta.step_months;
  if (metric.month > horizon + 1e-9)
    throw UsageError("output '" + metric.name() + "': the month is after the horizon of " + meta.path + " (month " +
                     std::to_string(static_cast<long long>(horizon)) + ")");
}

std::vector<double> metric_values(const RunReader& run, const Metric& metric) {
  const RunMetadata& meta = run.metadata();
  const auto R = static_cast<std::uint64_t>(meta.replications);
  struct Input {
    const OutputSpec* spec;
    std::string path;
    std::uint64_t row;
  };
  std::vector<Input> inputs;
  std::uint64_t row_values = 0;
  const h5::Group root = run.file().root();
  try {
    for (const char* need : metric.spec->needs) {
      const OutputSpec* spec = find_output(need);
      Input in{spec, std::string(spec->group()) + "/" + need, 1};
      const Dims d = root.dims(in.path);
      for (std::size_t i = 1; i < d.size(); ++i) in.row *= d[i];
      row_values += in.row;
      inputs.push_back(std::move(in));
    }
    ReplicationResult r;
    r.steps = static_cast<int>(meta.steps);
    std::vector<double> out(static_cast<std::size_t>(R));
    const std::uint64_t block = block_rows(row_values);
    for (std::uint64_t r0 = 0; r0 < R; r0 += block) {
      const std::uint64_t n = std::min(block, R - r0);
      std::vector<std::vector<std::int32_t>> ints(inputs.size());
      std::vector<std::vector<double>> reals(inputs.size());
      for (std::size_t j = 0; j < inputs.size(); ++j) {
        if (inputs[j].spec->real())
          reals[j] = root.read_rows<double>(inputs[j].path, r0, n);
        else
          ints[j] = root.read_rows<std::int32_t>(inputs[j].path, r0, n);
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < inputs.size(); ++j) {
          const OutputSpec& spec = *inputs[j].spec;
          const auto lo = static_cast<std::ptrdiff_t>(i * inputs[j].row),
                     hi = lo + static_cast<std::ptrdiff_t>(inputs[j].row);
          if (spec.scalar)
            r.*spec.scalar = ints[j][static_cast<std::size_t>(i)];
          else if (spec.ints)
            (r.*spec.ints).assign(ints[j].begin() + lo, ints[j].begin() + hi);
          else if (spec.reals)
            (r.*spec.reals).assign(reals[j].begin() + lo, reals[j].begin() + hi);
        }
        out[static_cast<std::size_t>(r0 + i)] = metric.value(r, meta.step_months);
      }
    }
    return out;
  } catch (const h5::Error& e) {
    run.fail(std::string("corrupted: ") + e.what());
  }
}

}  // namespace lepsim::analysis
