#include "lepsim/run_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/version.hpp"
#include "percentile.hpp"

namespace lepsim {
namespace {

// Storage per kind of data, chosen by measured cost and size (docs/performance.md,
// "Output"). Counts compress ~10x with shuffle and deflate level 1 (encoded by libdeflate
// here, whole chunks, written directly); real values barely compress and are stored raw
// with a Fletcher-32 checksum, so corruption is still found.
const h5::Filters COUNTS{.shuffle = true, .deflate = 1, .encode_here = true};
const h5::Filters REALS{.checksum = true};
const h5::Filters DEFLATE_ONLY{.deflate = 1, .encode_here = true};  // columns that deflate smaller and faster unshuffled
constexpr std::uint64_t PROJECT_CHUNK = 1 << 16;
// On-disk chunks of about 1 MiB, whatever the engine's compute chunk: HDF5 caches
// decompressed chunks per open dataset, so large chunks cost memory, not speed.
constexpr std::uint64_t TARGET_CHUNK_BYTES = 1 << 20;
constexpr std::uint64_t SUMMARY_BLOCK_BYTES = 16ull << 20;  // memory for one summary read-back block

std::uint64_t chunk_rows(std::uint64_t row_bytes, std::uint64_t max_rows) {
  // About TARGET_CHUNK_BYTES, evened out so that the last chunk is nearly full: a partial
  // last chunk of an uncompressed dataset is stored whole.
  const std::uint64_t rows = std::max<std::uint64_t>(1, max_rows);
  const std::uint64_t fit = std::clamp<std::uint64_t>(TARGET_CHUNK_BYTES / std::max<std::uint64_t>(1, row_bytes), 1, rows);
  const std::uint64_t chunks = (rows + fit - 1) / fit;
  return (rows + chunks - 1) / chunks;
}

//! One per-replication series: how to find it in a result and how to describe it.
struct SeriesSpec {
  const char* name;
  const char* units;
  const char* dims;  // names of the dimensions, for readers
  const char* description;
  int inner;         // K: values per step (0 for a [R, T] dataset)
  bool real;         // double, else int32
  std::function<const void*(const ReplicationResult&)> data;
};

std::vector<SeriesSpec> series_specs(const Scenario& sc) {
  const int S = static_cast<int>(sc.stages.size()), D = static_cast<int>(sc.disciplines.size()),
            P = static_cast<int>(sc.pools.size());
  std::vector<SeriesSpec> v = {
      {"stage_active", "stage instances", "replication,step,stage", "stage instances progressing during the step", S, false,
       [](const ReplicationResult& r) -> const void* { return r.stage_active.data(); }},
      {"stage_queued", "stage instances", "replication,step,stage",
       "stage instances ready but held by a gate or by lack of capacity during the step", S, false,
       [](const ReplicationResult& r) -> const void* { return r.stage_queued.data(); }},
      {"stage_completions", "stage instances per step", "replication,step,stage", "stage instances finished in the step", S,
       false, [](const ReplicationResult& r) -> const void* { return r.stage_completions.data(); }},
      {"completions", "projects per step", "replication,step", "projects finished in the step", 0, false,
       [](const ReplicationResult& r) -> const void* { return r.completions.data(); }},
      {"project_state", "projects", "replication,step,state",
       "projects in each state (pending, waiting, active, done) during the step", PROJECT_STATE_COUNT, false,
       [](const ReplicationResult& r) -> const void* { return r.project_state.data(); }},
  };
  if (D > 0)
    v.push_back({"utilisation", "fraction of FTE", "replication,step,discipline",
                 "FTE allocated / FTE of the authorities that have entered", D, true,
                 [](const ReplicationResult& r) -> const void* { return r.utilisation.data(); }});
  if (P > 0) {
    v.push_back({"pool_in_use", "tokens", "replication,step,pool", "national capacity tokens held", P, false,
                 [](const ReplicationResult& r) -> const void* { return r.pool_in_use.data(); }});
    v.push_back({"pool_queue", "stage instances", "replication,step,pool", "stage instances queuing for a national token", P,
                 false, [](const ReplicationResult& r) -> const void* { return r.pool_queue.data(); }});
  }
  // Partnership mechanisms: written only when the mechanism is on (docs/model.md, 11-18).
  const Mechanisms& m = sc.mechanisms;
  if (m.partnering.enabled)
    v.push_back({"health", "0-1", "replication,step,statistic",
                 "partnering health over formed LEPs at the end of the step: mean, P10, P90 (NaN before any LEP forms)", 3, true,
                 [](const ReplicationResult& r) -> const void* { return r.health.data(); }});
  if (m.lep_stage >= 0)
    v.push_back({"leps_formed", "LEPs", "replication,step", "LEPs formed by the end of the step", 0, false,
                 [](const ReplicationResult& r) -> const void* { return r.leps_formed.data(); }});
  if (m.disputes.enabled)
    v.push_back({"disputes_active", "LEPs", "replication,step", "LEPs whose work a dispute stalls during the step", 0, false,
                 [](const ReplicationResult& r) -> const void* { return r.disputes_active.data(); }});
  if (m.exclusivity.enabled)
    v.push_back({"exclusive_leps", "LEPs", "replication,step", "formed LEPs holding exclusivity at the end of the step", 0,
                 false, [](const ReplicationResult& r) -> const void* { return r.exclusive_leps.data(); }});
  if (m.costs.enabled || m.capacity.enabled)
    v.push_back({"spend", "GBP m per step", "replication,step,kind",
                 "money spent in the step: capital (incl. overruns), LEP set-up, capacity (staff)", 3, true,
                 [](const ReplicationResult& r) -> const void* { return r.spend.data(); }});
  if (m.transformation.enabled)
    v.push_back({"transformation_cumulative", "score", "replication,step",
                 "transformation score of the schools completed by the end of the step", 0, true,
                 [](const ReplicationResult& r) -> const void* { return r.transformation.data(); }});
  if (m.capacity.enabled && D > 0)
    v.push_back({"fte", "FTE", "replication,step,discipline", "FTE employed by the authorities that have entered", D, true,
                 [](const ReplicationResult& r) -> const void* { return r.fte.data(); }});
  if (m.funding.enabled) {
    v.push_back({"funding_queue", "stage instances", "replication,step", "stage instances waiting for funds", 0, false,
                 [](const ReplicationResult& r) -> const void* { return r.funding_queue.data(); }});
    v.push_back({"funding_committed", "GBP m", "replication,step", "capital committed in the programme year so far", 0, true,
                 [](const ReplicationResult& r) -> const void* { return r.funding_committed.data(); }});
  }
  return v;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

//! One per-LEP outcome, written as a [R, A] dataset under /leps when its mechanism is on.
struct LepSpec {
  const char* name;
  const char* units;
  const char* description;
  bool real;
  std::function<const void*(const ReplicationResult&)> data;
  std::function<bool(const Mechanisms&)> on;
};

const std::vector<LepSpec>& lep_specs() {
  static const std::vector<LepSpec> specs = {
      {"final_health", "0-1", "partnering health at the horizon (NaN if the LEP never formed)", true,
       [](const ReplicationResult& r) -> const void* { return r.lep_final_health.data(); },
       [](const Mechanisms& m) { return m.partnering.enabled; }},
      {"formed_step", "step", "step the LEP formed; -1 if never", false,
       [](const ReplicationResult& r) -> const void* { return r.lep_formed_step.data(); },
       [](const Mechanisms& m) { return m.lep_stage >= 0; }},
      {"disputes", "disputes", "disputes started", false,
       [](const ReplicationResult& r) -> const void* { return r.lep_disputes.data(); },
       [](const Mechanisms& m) { return m.disputes.enabled; }},
      {"exclusivity_lost_step", "step", "step the authority withdrew exclusivity; -1 if kept or never formed", false,
       [](const ReplicationResult& r) -> const void* { return r.lep_exclusivity_lost_step.data(); },
       [](const Mechanisms& m) { return m.exclusivity.enabled; }},
      {"capital_cost", "GBP m", "capital of its completed projects, overruns included", true,
       [](const ReplicationResult& r) -> const void* { return r.lep_capital_cost.data(); },
       [](const Mechanisms& m) { return m.costs.enabled; }},
      {"setup_cost", "GBP m", "cost of setting up the LEP", true,
       [](const ReplicationResult& r) -> const void* { return r.lep_setup_cost.data(); },
       [](const Mechanisms& m) { return m.costs.enabled; }},
      {"capacity_cost", "GBP m", "cost of the authority's staff over the horizon", true,
       [](const ReplicationResult& r) -> const void* { return r.lep_capacity_cost.data(); },
       [](const Mechanisms& m) { return m.capacity.enabled; }},
      {"schools_completed", "projects", "projects completed within the horizon", false,
       [](const ReplicationResult& r) -> const void* { return r.lep_schools_completed.data(); },
       [](const Mechanisms& m) { return m.lep_stage >= 0; }},
      {"transformation", "score", "transformation score of its completed schools", true,
       [](const ReplicationResult& r) -> const void* { return r.lep_transformation.data(); },
       [](const Mechanisms& m) { return m.transformation.enabled; }},
  };
  return specs;
}

//! Exact statistics of an integer series, cell by cell, kept as chunks are appended so the
//! summary needs no read-back of the (compressed) series: Σx and Σx² (exact in double for
//! counts) and a histogram of the values, from which the percentiles are the same order
//! statistics a sort would give. Memory grows with the range of the values (bounded by
//! the projects of a replication), not with the replications.
class IntSummary {
 public:
  explicit IntSummary(std::size_t cells) : sum_(cells), sum_sq_(cells), lo_(cells, 0), hist_(cells) {}

  //! `reps` replications' values, `cells()` each, one replication after the other. Cell by
  //! cell, so each cell's histogram stays in cache for all of them.
  void add(const std::int32_t* x, std::size_t reps) {
    const std::size_t row = hist_.size();
    for (std::size_t c = 0; c < row; ++c) {
      auto& h = hist_[c];
      double s = sum_[c], s2 = sum_sq_[c];
      for (std::size_t r = 0; r < reps; ++r) {
        const std::int32_t v = x[r * row + c];
        s += v;
        s2 += static_cast<double>(v) * v;
        if (h.empty()) lo_[c] = v;
        if (v < lo_[c]) {  // grow downwards: shift the counts up
          h.insert(h.begin(), static_cast<std::size_t>(lo_[c] - v), 0);
          lo_[c] = v;
        }
        const auto i = static_cast<std::size_t>(v - lo_[c]);
        if (i >= h.size()) h.resize(i + 1, 0);
        ++h[i];
      }
      sum_[c] = s;
      sum_sq_[c] = s2;
    }
  }

  double sum(std::size_t c) const { return sum_[c]; }
  double sum_sq(std::size_t c) const { return sum_sq_[c]; }

  //! Σ(x - mu)², over the distinct values.
  double deviation(std::size_t c, double mu) const {
    double dev = 0;
    for (std::size_t i = 0; i < hist_[c].size(); ++i)
      if (hist_[c][i]) {
        const double d = static_cast<double>(lo_[c] + static_cast<std::int32_t>(i)) - mu;
        dev += static_cast<double>(hist_[c][i]) * d * d;
      }
    return dev;
  }

  //! The ks[j]-th smallest values (0-based) of cell c, j < n <= 8, in one walk (NaN if
  //! the cell has fewer values).
  void order_statistics(std::size_t c, const std::uint64_t* ks, double* out, std::size_t n) const {
    std::size_t order[8];
    for (std::size_t j = 0; j < n; ++j) order[j] = j;
    std::sort(order, order + n, [&](std::size_t a, std::size_t b) { return ks[a] < ks[b]; });
    std::uint64_t seen = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < hist_[c].size() && j < n; ++i) {
      seen += hist_[c][i];
      for (; j < n && ks[order[j]] < seen; ++j) out[order[j]] = static_cast<double>(lo_[c] + static_cast<std::int32_t>(i));
    }
    for (; j < n; ++j) out[order[j]] = std::nan("");
  }

 private:
  std::vector<double> sum_, sum_sq_;
  std::vector<std::int32_t> lo_;
  std::vector<std::vector<std::uint64_t>> hist_;
};

struct RunFileWriter::Impl {
  std::string final_path, temp_path;
  const Scenario& sc;
  std::vector<SeriesSpec> specs;
  h5::File file;
  std::vector<h5::Appendable<std::int32_t>> int_series;
  std::vector<IntSummary> int_summaries;  // one per int series, then completed_cumulative
  std::vector<h5::Appendable<double>> real_series;
  h5::Appendable<std::int32_t> cumulative, rep_projects, rep_completed, rep_finish;
  h5::Appendable<std::int64_t> rep_first_project;
  h5::Appendable<std::int32_t> proj_authority, proj_type, proj_arrival, proj_completion;
  h5::Appendable<double> proj_cost;
  std::vector<const LepSpec*> leps;
  std::vector<h5::Appendable<std::int32_t>> lep_int;
  std::vector<h5::Appendable<double>> lep_real;
  std::int64_t projects_written = 0;
  std::int64_t replications_written = 0;
  std::int64_t replications_expected = 0;
  std::vector<std::int32_t> scratch_i;
  std::vector<double> scratch_d;
  bool finished = false;

  Impl(const Scenario& s) : sc(s) {}
  void write_summaries(int threads);
};

RunFileWriter::RunFileWriter(const std::string& final_path, const Scenario& sc, std::uint64_t seed, int replications,
                             bool force)
    : impl_(std::make_unique<Impl>(sc)) {
  Impl& m = *impl_;
  m.final_path = final_path;
  m.temp_path = final_path + ".tmp-" + std::to_string(::getpid());
  m.replications_expected = replications;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(final_path, ec) && !force)
    throw OutputError("output file " + final_path + " already exists; choose another name with -o or pass --force to overwrite it");
  if (fs::is_directory(final_path, ec)) throw OutputError("output path " + final_path + " is a directory");
  try {
    m.file = h5::File::create(m.temp_path);
  } catch (const h5::Error& e) {
    const auto dir = fs::path(final_path).parent_path();
    throw OutputError("cannot create the run file in " + (dir.empty() ? std::string(".") : dir.string()) + ": " + e.what());
  }
  try {
    h5::Group root = m.file.root();
    root.set_attr("file_type", RUN_FILE_TYPE);
    const std::int32_t version[2] = {RUN_FORMAT_MAJOR, RUN_FORMAT_MINOR};
    root.set_attr("format_version", version);
    root.set_attr("engine_version", engine_version());
    root.set_attr("git_revision", git_revision());
    root.set_attr("seed", seed);
    root.set_attr("replications", static_cast<std::int64_t>(replications));
    root.set_attr("created", utc_now());
    root.set_attr("scenario_name", sc.name);
    char start[16];
    std::snprintf(start, sizeof start, "%04d-%02d", sc.time.start_year, sc.time.start_month);
    root.set_attr("start", std::string(start));
    root.set_attr("step_months", sc.time.step_months);
    root.set_attr("steps", static_cast<std::int32_t>(sc.time.steps));
    root.set_attr("durations", std::string(sc.durations == DurationBasis::PLANNED ? "planned" : "actual"));
    root.set_attr("allocation", std::string(ALLOCATION_RULE));  // format 1.2

    h5::Group scen = root.create_group("scenario");
    scen.write_text("text", sc.source_text);
    scen.write_text("resolved", sc.resolved_toml());
    scen.set_attr("source_path", sc.source_path);
    std::vector<std::string> base_paths, base_texts;
    for (const auto& [path, text] : sc.base_files) base_paths.push_back(path), base_texts.push_back(text);
    scen.write_strings("base_paths", base_paths);  // empty when the scenario names no base
    scen.write_strings("base_texts", base_texts);
    if (!sc.plan.empty()) {  // format 1.1: only when the scenario states a plan
      std::vector<double> plan;
      for (const auto& p : sc.plan) plan.push_back(p[0]), plan.push_back(p[1]);
      h5::Dataset d = scen.write_array("plan", plan, {sc.plan.size(), 2});
      d.set_attr("units", "months from start, projects");
      d.set_attr("description", "[scenario] plan: months from the start and projects completed by then, as planned");
    }

    h5::Group dims = root.create_group("dimensions");
    std::vector<std::string> names;
    for (const auto& s : sc.stages) names.push_back(s.name);
    dims.write_strings("stages", names);
    dims.write_strings("disciplines", sc.disciplines);
    names.clear();
    for (const auto& p : sc.pools) names.push_back(p.name);
    dims.write_strings("pools", names);
    names.clear();
    for (const auto& t : sc.types) names.push_back(t.name);
    dims.write_strings("project_types", names);
    dims.write_strings("authorities", sc.authority_names);
    dims.write_strings("project_states", {"pending", "waiting", "active", "done"});
    dims.write_strings("health_statistics", {"mean", "p10", "p90"});
    dims.write_strings("spend_kinds", {"capital", "lep_setup", "capacity"});
    std::vector<double> month_of_step(static_cast<std::size_t>(sc.time.steps));
    for (std::size_t t = 0; t < month_of_step.size(); ++t) month_of_step[t] = static_cast<double>(t) * sc.time.step_months;
    dims.write_array("step_start_month", month_of_step).set_attr("units", "months from start");

    const auto T = static_cast<std::uint64_t>(sc.time.steps);
    // On-disk chunks of about 1 MiB of rows, but no more rows than the run has.
    const auto chunk = static_cast<std::uint64_t>(std::max(1, replications));
    h5::Group series = root.create_group("series");
    m.specs = series_specs(sc);
    for (const auto& spec : m.specs) {
      std::vector<std::uint64_t> inner = {T};
      if (spec.inner > 0) inner.push_back(static_cast<std::uint64_t>(spec.inner));
      const std::uint64_t rows =
          chunk_rows(T * static_cast<std::uint64_t>(std::max(1, spec.inner)) * (spec.real ? 8 : 4), chunk);
      if (spec.real) {
        // Real-valued series barely compress (about 1.2x) and cost the most to deflate:
        // stored uncompressed, with a checksum (docs/performance.md, "Output").
        m.real_series.push_back(series.create_appendable<double>(spec.name, inner, rows, REALS));
        m.real_series.back().set_attr("units", spec.units);
        m.real_series.back().set_attr("dims", spec.dims);
        m.real_series.back().set_attr("description", spec.description);
      } else {
        m.int_series.push_back(series.create_appendable<std::int32_t>(spec.name, inner, rows, COUNTS));
        m.int_summaries.emplace_back(static_cast<std::size_t>(T * static_cast<std::uint64_t>(std::max(1, spec.inner))));
        m.int_series.back().set_attr("units", spec.units);
        m.int_series.back().set_attr("dims", spec.dims);
        m.int_series.back().set_attr("description", spec.description);
      }
    }
    m.cumulative = series.create_appendable<std::int32_t>("completed_cumulative", {T}, chunk_rows(T * 4, chunk), COUNTS);
    m.int_summaries.emplace_back(static_cast<std::size_t>(T));
    m.cumulative.set_attr("units", "projects");
    m.cumulative.set_attr("dims", "replication,step");
    m.cumulative.set_attr("description", "projects finished by the end of the step");

    h5::Group reps = root.create_group("replications");
    auto rep_col = [&](const char* name, const char* units, const char* desc) {
      auto a = reps.create_appendable<std::int32_t>(name, {}, 4096, COUNTS);
      a.set_attr("units", units);
      a.set_attr("description", desc);
      return a;
    };
    m.rep_projects = rep_col("projects", "projects", "projects generated in the replication");
    m.rep_completed = rep_col("completed", "projects", "projects finished within the horizon");
    m.rep_finish = rep_col("finish_step", "step", "step the last project finished; -1 if any is unfinished at the horizon");
    m.rep_first_project = reps.create_appendable<std::int64_t>("first_project", {}, 4096, COUNTS);
    m.rep_first_project.set_attr("description", "index of the replication's first row in /projects (when written)");

    if (sc.per_project_output) {
      h5::Group proj = root.create_group("projects");
      // Shuffle or not, per column: whichever deflated smaller and faster on bsf.toml.
      auto col = [&](const char* name, const char* units, const char* desc, bool shuffle) {
        auto a = proj.create_appendable<std::int32_t>(name, {}, PROJECT_CHUNK, shuffle ? COUNTS : DEFLATE_ONLY);
        a.set_attr("units", units);
        a.set_attr("description", desc);
        return a;
      };
      m.proj_authority = col("authority", "index", "authority (index into /dimensions/authorities)", false);
      m.proj_type = col("type", "index", "project type (index into /dimensions/project_types)", true);
      m.proj_arrival = col("arrival_step", "step", "first step the project is in the programme (steps if never)", true);
      m.proj_completion = col("completion_step", "step", "step the project finished; -1 if not by the horizon", false);
      if (sc.mechanisms.costs.enabled) {
        // Costs deflate smaller and faster without the shuffle filter (measured: 4.9x -> 6.6x).
        m.proj_cost = proj.create_appendable<double>("cost", {}, PROJECT_CHUNK, DEFLATE_ONLY);
        m.proj_cost.set_attr("units", "GBP m");
        m.proj_cost.set_attr("description", "capital incl. overrun of completed projects; committed capital otherwise (0 if none)");
      }
    }
    const auto A = static_cast<std::uint64_t>(sc.authority_count());
    h5::Group leps;
    for (const LepSpec& spec : lep_specs()) {
      if (!spec.on(sc.mechanisms)) continue;
      if (m.leps.empty()) leps = root.create_group("leps");
      m.leps.push_back(&spec);
      const std::uint64_t rows = chunk_rows(A * 8, chunk);
      if (spec.real) {
        m.lep_real.push_back(leps.create_appendable<double>(spec.name, {A}, rows, REALS));
        m.lep_real.back().set_attr("units", spec.units);
        m.lep_real.back().set_attr("dims", "replication,authority");
        m.lep_real.back().set_attr("description", spec.description);
      } else {
        m.lep_int.push_back(leps.create_appendable<std::int32_t>(spec.name, {A}, rows, COUNTS));
        m.lep_int.back().set_attr("units", spec.units);
        m.lep_int.back().set_attr("dims", "replication,authority");
        m.lep_int.back().set_attr("description", spec.description);
      }
    }
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot write the run file: ") + e.what());
  }
}

RunFileWriter::~RunFileWriter() {
  if (!impl_ || impl_->finished) return;
  impl_->int_series.clear();
  impl_->real_series.clear();
  try {
    impl_->file = h5::File();  // release every handle before removing the file
  } catch (...) {
  }
  std::remove(impl_->temp_path.c_str());
}

void RunFileWriter::append(std::span<const ReplicationResult> chunk) {
  Impl& m = *impl_;
  if (chunk.empty()) return;
  try {
    const std::size_t T = static_cast<std::size_t>(m.sc.time.steps);
    std::size_t ii = 0, ri = 0;
    for (const auto& spec : m.specs) {
      const std::size_t row = T * static_cast<std::size_t>(std::max(1, spec.inner));
      if (spec.real) {
        m.scratch_d.resize(row * chunk.size());
        for (std::size_t r = 0; r < chunk.size(); ++r) {
          const auto* src = static_cast<const double*>(spec.data(chunk[r]));
          std::copy(src, src + row, m.scratch_d.begin() + static_cast<std::ptrdiff_t>(r * row));
        }
        m.real_series[ri++].append(m.scratch_d);
      } else {
        m.scratch_i.resize(row * chunk.size());
        for (std::size_t r = 0; r < chunk.size(); ++r) {
          const auto* src = static_cast<const std::int32_t*>(spec.data(chunk[r]));
          std::copy(src, src + row, m.scratch_i.begin() + static_cast<std::ptrdiff_t>(r * row));
        }
        m.int_summaries[ii].add(m.scratch_i.data(), chunk.size());
        m.int_series[ii++].append(m.scratch_i);
      }
    }
    m.scratch_i.resize(T * chunk.size());
    for (std::size_t r = 0; r < chunk.size(); ++r) {
      std::int32_t c = 0;
      for (std::size_t t = 0; t < T; ++t) m.scratch_i[r * T + t] = (c += chunk[r].completions[t]);
    }
    m.int_summaries.back().add(m.scratch_i.data(), chunk.size());
    m.cumulative.append(m.scratch_i);

    auto scalar_col = [&](h5::Appendable<std::int32_t>& a, auto get) {
      m.scratch_i.resize(chunk.size());
      for (std::size_t r = 0; r < chunk.size(); ++r) m.scratch_i[r] = get(chunk[r]);
      a.append(m.scratch_i);
    };
    scalar_col(m.rep_projects, [](const ReplicationResult& r) { return r.projects; });
    scalar_col(m.rep_completed, [](const ReplicationResult& r) { return r.completed; });
    scalar_col(m.rep_finish, [](const ReplicationResult& r) { return r.finish_step; });
    std::vector<std::int64_t> first(chunk.size());
    for (std::size_t r = 0; r < chunk.size(); ++r) {
      first[r] = m.projects_written;
      m.projects_written += chunk[r].projects;
    }
    m.rep_first_project.append(first);
    if (m.sc.per_project_output)
      for (const auto& r : chunk) {
        m.proj_authority.append(r.project_authority);
        m.proj_type.append(r.project_type);
        m.proj_arrival.append(r.arrival_step);
        m.proj_completion.append(r.completion_step);
        if (m.sc.mechanisms.costs.enabled) m.proj_cost.append(r.project_cost);
      }
    const auto A = static_cast<std::size_t>(m.sc.authority_count());
    std::size_t li = 0, lr = 0;
    for (const LepSpec* spec : m.leps) {
      if (spec->real) {
        m.scratch_d.resize(A * chunk.size());
        for (std::size_t r = 0; r < chunk.size(); ++r) {
          const auto* src = static_cast<const double*>(spec->data(chunk[r]));
          std::copy(src, src + A, m.scratch_d.begin() + static_cast<std::ptrdiff_t>(r * A));
        }
        m.lep_real[lr++].append(m.scratch_d);
      } else {
        m.scratch_i.resize(A * chunk.size());
        for (std::size_t r = 0; r < chunk.size(); ++r) {
          const auto* src = static_cast<const std::int32_t*>(spec->data(chunk[r]));
          std::copy(src, src + A, m.scratch_i.begin() + static_cast<std::ptrdiff_t>(r * A));
        }
        m.lep_int[li++].append(m.scratch_i);
      }
    }
    m.replications_written += static_cast<std::int64_t>(chunk.size());
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot write the run file (disk full?): ") + e.what());
  }
}

//! Mean, sd, sums and exact percentiles of every series across replications, read
//! back from the file a block of steps at a time so memory stays bounded.
void RunFileWriter::Impl::write_summaries(int threads) {
  h5::Group root = file.root();
  h5::Group summary = root.create_group("summary");
  h5::Group series = root.open_group("series");
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  names.push_back("completed_cumulative");
  const auto R = static_cast<std::uint64_t>(replications_written);
  const auto T = static_cast<std::uint64_t>(sc.time.steps);
  // Integer series were summarised as they were written (IntSummary); real ones are read
  // back a block of steps at a time.
  std::size_t next_int = 0;
  for (std::size_t j = 0; j < names.size(); ++j) {
    const std::string& name = names[j];
    const bool is_int = j == specs.size() || !specs[j].real;
    const IntSummary* hist = is_int ? &int_summaries[next_int++] : nullptr;
    const auto dims = series.dims(name);
    const std::uint64_t K = dims.size() > 2 ? dims[2] : 1;
    std::vector<std::uint64_t> out_dims = {T};
    if (dims.size() > 2) out_dims.push_back(K);
    const std::size_t cells = static_cast<std::size_t>(T * K);
    std::vector<double> mean(cells), sd(cells), sum(cells), sum_sq(cells), count(cells);
    std::vector<std::vector<double>> pct(std::size(SUMMARY_PERCENTILES), std::vector<double>(cells));
    if (hist) {
      const auto n = static_cast<double>(R);
      for (std::size_t c = 0; c < cells; ++c) {
        sum[c] = hist->sum(c);
        sum_sq[c] = hist->sum_sq(c);
        count[c] = n;
        mean[c] = R == 0 ? std::nan("") : sum[c] / n;
        sd[c] = R > 1 ? std::sqrt(hist->deviation(c, mean[c]) / (n - 1)) : (R == 0 ? std::nan("") : 0.0);
        // Type 7 (numpy's default): each percentile from the two order statistics around it.
        constexpr std::size_t Q = std::size(SUMMARY_PERCENTILES);
        detail::Type7Rank rank[Q] = {};
        std::uint64_t ks[2 * Q] = {};
        double xs[2 * Q];
        for (std::size_t q = 0; q < Q && R > 0; ++q) {
          rank[q] = detail::type7_rank(static_cast<std::size_t>(R), (n - 1) * SUMMARY_PERCENTILES[q] / 100.0);
          ks[2 * q] = rank[q].lo;
          ks[2 * q + 1] = rank[q].hi;
        }
        hist->order_statistics(c, ks, xs, 2 * Q);  // NaN when R = 0
        for (std::size_t q = 0; q < Q; ++q) pct[q][c] = R == 0 ? std::nan("") : rank[q].value(xs[2 * q], xs[2 * q + 1]);
      }
    } else {
      const std::uint64_t block =
          std::clamp<std::uint64_t>(SUMMARY_BLOCK_BYTES / std::max<std::uint64_t>(1, R * K * sizeof(double)), 1, T);
      // Cells are independent: each block's are shared out among `threads` threads (the
      // HDF5 reads stay on this one), each with its own column, so the statistics are the
      // same bits whatever the count.
      const auto workers = static_cast<std::size_t>(std::max(1, threads));
      std::vector<std::vector<double>> columns(workers, std::vector<double>(static_cast<std::size_t>(R)));
      for (std::uint64_t t0 = 0; t0 < T; t0 += block) {
        const std::uint64_t nb = std::min(block, T - t0);
        const std::vector<double> buf = series.read_block<double>(name, 0, R, t0, nb);
        const auto cell_stats = [&](std::vector<double>& column, std::uint64_t first, std::uint64_t last) {
          for (std::uint64_t bc = first; bc < last; ++bc) {  // bc = tb * K + k within the block
            // NaN marks an undefined value (health before any LEP forms): left out of every statistic.
            column.clear();
            for (std::uint64_t r = 0; r < R; ++r)
              if (const double x = buf[r * nb * K + bc]; !std::isnan(x)) column.push_back(x);
            const std::size_t c = static_cast<std::size_t>(t0 * K + bc);
            const auto n = static_cast<double>(column.size());
            double s = 0, s2 = 0;
            for (double x : column) s += x, s2 += x * x;
            const double mu = column.empty() ? std::nan("") : s / n;
            double dev = 0;  // second pass: no cancellation in the variance
            for (double x : column) dev += (x - mu) * (x - mu);
            sum[c] = s;
            sum_sq[c] = s2;
            count[c] = n;
            mean[c] = mu;
            sd[c] = column.size() > 1 ? std::sqrt(dev / (n - 1)) : (column.empty() ? std::nan("") : 0.0);
            // Selection, not a full sort: each percentile reads two order statistics, which
            // nth_element places exactly where a sort would (same values, same bits). The
            // percentiles are increasing, so each selection works on what is right of the last.
            std::size_t from = 0;
            for (std::size_t q = 0; q < std::size(SUMMARY_PERCENTILES); ++q)
              pct[q][c] = column.empty() ? std::nan("")
                                         : detail::percentile_selected(column, (n - 1) * SUMMARY_PERCENTILES[q] / 100.0, from);
          }
        };
        const std::uint64_t block_cells = nb * K, share = (block_cells + workers - 1) / workers;
        std::exception_ptr failed;  // only bad_alloc is possible; rethrown here
        std::mutex failed_mutex;
        const auto cell_share = [&](std::size_t w) {  // worker w's cells; this thread is worker 0
          try {
            cell_stats(columns[w], w * share, std::min(block_cells, (w + 1) * share));
          } catch (...) {
            const std::lock_guard<std::mutex> lock(failed_mutex);
            failed = std::current_exception();
          }
        };
        std::vector<std::thread> helpers;
        for (std::size_t w = 1; w < workers && w * share < block_cells; ++w) helpers.emplace_back(cell_share, w);
        cell_share(0);
        for (auto& h : helpers) h.join();
        if (failed) std::rethrow_exception(failed);
      }
    }
    h5::Group g = summary.create_group(name);
    g.set_attr("n", static_cast<std::int64_t>(R));
    g.set_attr("units", series.open_dataset(name).attr_string("units"));
    g.write_array("mean", mean, out_dims);
    g.write_array("sd", sd, out_dims);
    g.write_array("sum", sum, out_dims);
    g.write_array("sum_sq", sum_sq, out_dims);
    g.write_array("count", count, out_dims);
    for (std::size_t q = 0; q < std::size(SUMMARY_PERCENTILES); ++q) {
      std::string stat = "p";  // append(), not operator+: GCC 12 warns falsely (-Wrestrict)
      stat.append(std::to_string(static_cast<int>(SUMMARY_PERCENTILES[q])));
      g.write_array(stat, pct[q], out_dims);
    }
  }
}

void RunFileWriter::set_convergence(const std::string& rule, bool met, const std::vector<std::string>& outputs,
                                    const std::vector<double>& relative_half_width) {
  Impl& m = *impl_;
  m.replications_expected = m.replications_written;
  try {
    h5::Group root = m.file.root();
    root.set_attr("replications", static_cast<std::int64_t>(m.replications_written));
    root.set_attr("convergence_rule", rule);
    root.set_attr("convergence_met", static_cast<std::int32_t>(met ? 1 : 0));
    std::string names;
    for (const auto& o : outputs) names += (names.empty() ? "" : ",") + o;
    root.set_attr("convergence_outputs", names);
    root.set_attr("convergence_relative_half_width", relative_half_width);
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot write the run file: ") + e.what());
  }
}

void RunFileWriter::finish(int threads) {
  Impl& m = *impl_;
  if (m.replications_written != m.replications_expected)
    throw Error(ExitCode::INTERNAL, "run file has " + std::to_string(m.replications_written) + " replications, expected " +
                                        std::to_string(m.replications_expected));
  try {
    // Write the last, partly filled chunks and close the appendable datasets: their
    // buffers and chunk caches are not needed any more.
    for (auto& a : m.int_series) a.close();
    for (auto& a : m.real_series) a.close();
    for (auto& a : m.lep_int) a.close();
    for (auto& a : m.lep_real) a.close();
    for (auto* a : {&m.cumulative, &m.rep_projects, &m.rep_completed, &m.rep_finish, &m.proj_authority, &m.proj_type,
                    &m.proj_arrival, &m.proj_completion})
      a->close();
    m.rep_first_project.close();
    m.proj_cost.close();
    m.write_summaries(threads);
    m.file.close();
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot finish the run file (disk full?): ") + e.what());
  }
  std::error_code ec;
  std::filesystem::rename(m.temp_path, m.final_path, ec);
  if (ec) throw OutputError("cannot rename " + m.temp_path + " to " + m.final_path + ": " + ec.message());
  m.finished = true;
}

const std::string& RunFileWriter::final_path() const noexcept { return impl_->final_path; }
const std::string& RunFileWriter::temp_path() const noexcept { return impl_->temp_path; }

}  // namespace lepsim
