#include "lepsim/run_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "lepsim/error.hpp"
#include "lepsim/h5.hpp"
#include "lepsim/outputs.hpp"
#include "lepsim/percentile.hpp"
#include "lepsim/rng.hpp"
#include "lepsim/simulation.hpp"
#include "lepsim/uncertainty.hpp"
#include "lepsim/version.hpp"

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

h5::Filters filters_of(Storage storage) {
  switch (storage) {
    case Storage::Counts:
      return COUNTS;
    case Storage::Reals:
      return REALS;
    case Storage::DeflateOnly:
      return DEFLATE_ONLY;
  }
  return COUNTS;
}

}  // namespace

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

//! One dataset of the registry being written: a series, a per-replication column, a
//! per-project column or a per-LEP outcome.
struct Column {
  const OutputSpec* spec = nullptr;
  std::size_t row = 0;  //!< values per replication (0 for per-project columns)
  h5::Appendable<std::int32_t> i32;
  h5::Appendable<std::int64_t> i64;
  h5::Appendable<double> f64;
  std::optional<IntSummary> summary;  //!< integer series: summarised as written
  void close() {
    i32.close();
    i64.close();
    f64.close();
  }
  bool encodes_here() const noexcept { return i32.encodes_here() || i64.encodes_here() || f64.encodes_here(); }
  //! Appends rows now, or (staged) gathers and encodes them for commit(), with no HDF5 call.
  template <class T>
  static void put(h5::Appendable<T>& a, const std::vector<T>& rows, bool staged) {
    staged ? a.stage(rows) : a.append(rows);
  }
  void commit() {
    i32.commit();
    i64.commit();
    f64.commit();
  }
  void prepare_close() {  // no HDF5 call: any thread
    i32.prepare_close();
    i64.prepare_close();
    f64.prepare_close();
  }
};

//! Runs body(i) for every i in [0, n) on `threads` threads (this one included), each taking
//! the next index; rethrows the first error here.
template <class Body>
void share_out(std::size_t n, int threads, const Body& body) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failed;
  std::mutex failed_mutex;
  const auto work = [&] {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) body(i);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failed_mutex);
      if (!failed) failed = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads && static_cast<std::size_t>(t) < n; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  if (failed) std::rethrow_exception(failed);
}

struct RunFileWriter::Impl {
  std::string final_path, temp_path;
  const Scenario& sc;
  OutputShape shape;
  h5::File file;
  std::vector<Column> columns;  //!< in registry order
  std::int64_t projects_written = 0;
  std::int64_t replications_written = 0;
  std::int64_t replications_expected = 0;
  std::vector<Column*> staged;  //!< the columns encoded here: append shares them out among threads
  bool finished = false;

  Impl(const Scenario& s) : sc(s), shape(output_shape(s)) {}
  void create_columns(h5::Group& root, std::uint64_t chunk);
  void write_summaries(int threads);
};

void RunFileWriter::Impl::create_columns(h5::Group& root, std::uint64_t chunk) {
  const auto T = static_cast<std::uint64_t>(sc.time.steps), A = static_cast<std::uint64_t>(sc.authority_count());
  std::map<std::string, h5::Group> groups;
  for (const OutputSpec& spec : output_registry()) {
    if (!present(spec, shape)) continue;
    auto it = groups.find(spec.group());
    if (it == groups.end()) it = groups.emplace(spec.group(), root.create_group(spec.group())).first;
    h5::Group& g = it->second;
    Column c;
    c.spec = &spec;
    std::vector<std::uint64_t> inner;
    std::uint64_t rows = 0;
    switch (spec.scope) {
      case OutputScope::Series: {
        const auto K = static_cast<std::uint64_t>(axis_size(spec.axis, shape));
        inner = {T};
        if (spec.axis != Axis::None) inner.push_back(K);
        c.row = static_cast<std::size_t>(T * K);
        // On-disk chunks of about 1 MiB of rows, but no more rows than the run has.
        rows = chunk_rows(T * K * spec.value_bytes(), chunk);
        if (!spec.real()) c.summary.emplace(c.row);
        break;
      }
      case OutputScope::Lep:
        inner = {A};
        c.row = static_cast<std::size_t>(A);
        rows = chunk_rows(A * 8, chunk);
        break;
      case OutputScope::Replication:
        c.row = 1;
        rows = 4096;
        break;
      case OutputScope::Project:
        rows = PROJECT_CHUNK;
        break;
    }
    const h5::Filters f = filters_of(spec.storage);
    h5::Dataset* d = nullptr;
    if (spec.type == ValueType::Int32)
      c.i32 = g.create_appendable<std::int32_t>(spec.name, inner, rows, f), d = &c.i32.dataset();
    if (spec.type == ValueType::Int64)
      c.i64 = g.create_appendable<std::int64_t>(spec.name, inner, rows, f), d = &c.i64.dataset();
    if (spec.type == ValueType::Float64)
      c.f64 = g.create_appendable<double>(spec.name, inner, rows, f), d = &c.f64.dataset();
    if (*spec.unit) d->set_attr("units", spec.unit);
    if (const std::string dims = spec.dims(); !dims.empty()) d->set_attr("dims", dims);
    d->set_attr("description", spec.description);
    columns.push_back(std::move(c));
  }
  for (Column& c : columns)
    if (c.encodes_here()) staged.push_back(&c);
}

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
    throw OutputError("output file " + final_path + " already exists and overwriting it was not asked for");
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
    root.set_attr("random_stream_layout", static_cast<std::int32_t>(RANDOM_STREAM_LAYOUT));
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

    h5::Group scen = root.create_group(dataset::SCENARIO);
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

    {  // format 1.2: what the policy levers cost (docs/model.md, "Lever costs"), GBP m
      const Scenario::LeverCostRates lc = sc.lever_cost_rates();
      scen.set_attr("lever_cost_once", lc.once);
      scen.set_attr("lever_cost_per_month", lc.per_month);
      scen.set_attr("lever_cost_per_lep_month", lc.per_lep_month);
      const FundingMechanism& f = sc.mechanisms.funding;
      scen.set_attr("annual_envelope", f.enabled ? f.annual_envelope : 0.0);
    }

    h5::Group dims = root.create_group(dataset::DIMENSIONS);
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
    for (Axis axis : {Axis::State, Axis::HealthStatistic, Axis::SpendKind})
      dims.write_strings(axis_dimension(axis), fixed_dimension(axis));
    std::vector<double> month_of_step(static_cast<std::size_t>(sc.time.steps));
    for (std::size_t t = 0; t < month_of_step.size(); ++t) month_of_step[t] = static_cast<double>(t) * sc.time.step_months;
    dims.write_array(dataset::STEP_START_MONTH, month_of_step).set_attr("units", "months from start");

    m.create_columns(root, static_cast<std::uint64_t>(std::max(1, replications)));
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot write the run file: ") + e.what());
  }
}

RunFileWriter::~RunFileWriter() {
  if (!impl_ || impl_->finished) return;
  impl_->columns.clear();
  try {
    impl_->file = h5::File();  // release every handle before removing the file
  } catch (...) {
  }
  std::remove(impl_->temp_path.c_str());
}

void RunFileWriter::append(std::span<const ReplicationResult> chunk, int threads) {
  Impl& m = *impl_;
  if (chunk.empty()) return;
  try {
    const std::size_t n = chunk.size();
    // Each column's rows from the chunk, its integer summary, and (staged) its full chunks
    // encoded: independent per column, so the columns encoded here are shared out among
    // `threads` threads; every HDF5 call is then made on this thread, in column order.
    const auto fill = [&](Column& c, bool staged) {
      thread_local std::vector<std::int32_t> scratch_i;
      thread_local std::vector<std::int64_t> scratch_l;
      thread_local std::vector<double> scratch_d;
      const OutputSpec& spec = *c.spec;
      if (spec.scope == OutputScope::Project) {
        for (const auto& r : chunk) {
          if (spec.ints) c.put(c.i32, r.*spec.ints, staged);
          if (spec.reals) c.put(c.f64, r.*spec.reals, staged);
        }
        return;
      }
      if (spec.scope == OutputScope::Replication) {
        if (spec.derived) {  // first_project: the rows of /projects before the replication's
          scratch_l.resize(n);
          for (std::size_t r = 0; r < n; ++r) {
            scratch_l[r] = m.projects_written;
            m.projects_written += chunk[r].projects;
          }
          c.put(c.i64, scratch_l, staged);
        } else {
          scratch_i.resize(n);
          for (std::size_t r = 0; r < n; ++r) scratch_i[r] = chunk[r].*spec.scalar;
          c.put(c.i32, scratch_i, staged);
        }
        return;
      }
      const std::size_t row = c.row;
      if (spec.real()) {
        scratch_d.resize(row * n);
        for (std::size_t r = 0; r < n; ++r) {
          const auto& src = chunk[r].*spec.reals;
          std::copy(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(row),
                    scratch_d.begin() + static_cast<std::ptrdiff_t>(r * row));
        }
        c.put(c.f64, scratch_d, staged);
        return;
      }
      scratch_i.resize(row * n);
      for (std::size_t r = 0; r < n; ++r) {
        if (spec.derived) {  // completed_cumulative: the running sum of completions
          std::int32_t sum = 0;
          for (std::size_t t = 0; t < row; ++t) scratch_i[r * row + t] = (sum += chunk[r].completions[t]);
        } else {
          const auto& src = chunk[r].*spec.ints;
          std::copy(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(row),
                    scratch_i.begin() + static_cast<std::ptrdiff_t>(r * row));
        }
      }
      if (c.summary) c.summary->add(scratch_i.data(), n);
      c.put(c.i32, scratch_i, staged);
    };
    share_out(m.staged.size(), threads, [&](std::size_t i) { fill(*m.staged[i], true); });
    for (Column& c : m.columns) {
      if (c.encodes_here()) {
        c.commit();
      } else {
        fill(c, false);
      }
    }
    m.replications_written += static_cast<std::int64_t>(n);
  } catch (const h5::Error& e) {
    throw OutputError(std::string("cannot write the run file (disk full?): ") + e.what());
  }
}

//! Mean, sd, sums and exact percentiles of every series across replications, read
//! back from the file a block of steps at a time so memory stays bounded.
void RunFileWriter::Impl::write_summaries(int threads) {
  h5::Group root = file.root();
  h5::Group summary = root.create_group(dataset::SUMMARY);
  h5::Group series = root.open_group(dataset::SERIES);
  const auto R = static_cast<std::uint64_t>(replications_written);
  const auto T = static_cast<std::uint64_t>(sc.time.steps);
  // Integer series were summarised as they were written (IntSummary); real ones are read
  // back a block of steps at a time.
  for (const Column& out : columns) {
    if (!out.spec->is_series()) continue;
    const std::string name = out.spec->name;
    const IntSummary* hist = out.summary ? &*out.summary : nullptr;
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
      std::vector<std::vector<double>> cells_of(workers, std::vector<double>(static_cast<std::size_t>(R)));
      for (std::uint64_t t0 = 0; t0 < T; t0 += block) {
        const std::uint64_t nb = std::min(block, T - t0);
        // Written by this process a moment ago: the Fletcher-32 checks are skipped on the way
        // back (every later reader still makes them).
        const std::vector<double> buf = series.read_block<double>(name, 0, R, t0, nb, false);
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
        // Share w's cells, with its own column; only bad_alloc is possible, rethrown here.
        const auto shares = static_cast<std::size_t>(share ? (block_cells + share - 1) / share : 0);  // none: no cells
        share_out(shares, static_cast<int>(workers), [&](std::size_t w) {
          cell_stats(cells_of[w], w * share, std::min(block_cells, (w + 1) * share));
        });
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

void RunFileWriter::set_uncertainty(const UncertaintyPlan& plan, const std::vector<double>& vectors) {
  Impl& m = *impl_;
  try {
    h5::Group g = m.file.root().create_group("uncertainty");
    g.set_attr("draw", std::string(uncertainty_draw_name(plan.draw())));
    g.set_attr("replications_per_draw", static_cast<std::int32_t>(plan.replications_per_draw()));
    g.set_attr("stream",
               std::string("Random123 stream (seed, draw index = replication / replications_per_draw, 0, Uncertainty)"));
    if (!plan.posterior_path().empty()) g.set_attr("posterior", plan.posterior_path());
    const std::uint64_t d = plan.dims(), R = d ? vectors.size() / d : 0;
    h5::Dataset ds = g.write_array("parameters", vectors, {R, d});
    ds.set_attr("dims", std::string("replication,input"));
    ds.set_attr("description",
                std::string("the parameter vector each replication ran with (set: the value; scale: the factor)"));
    g.write_strings("paths", plan.paths());
    std::vector<std::string> modes;
    for (bool sc : plan.scale()) modes.push_back(sc ? "scale" : "set");
    g.write_strings("modes", modes);
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
    // The last chunks (at a few hundred replications every series is one chunk) are encoded
    // on every thread, then written here.
    share_out(m.columns.size(), threads, [&](std::size_t i) { m.columns[i].prepare_close(); });
    for (Column& c : m.columns) c.close();
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
