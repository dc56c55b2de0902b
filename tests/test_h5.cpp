#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "lepsim/h5.hpp"

namespace fs = std::filesystem;
namespace h5 = lepsim::h5;

namespace {

// A fresh directory per test case (ctest may run the cases as parallel processes);
// declared first in each case, so at its end every handle is gone: check for leaks.
struct TempDir {
  fs::path dir;
  std::uint64_t ids_at_start = h5::diag::open_ids();
  TempDir() {
    static int n = 0;
    dir = fs::temp_directory_path() /
          ("lepsim_h5_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    if (std::uncaught_exceptions() == 0) CHECK(h5::diag::open_ids() == ids_at_start);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Captures what is written to fd 2 while alive (HDF5 prints its error stack there).
struct StderrCapture {
  std::string path;
  int saved = -1;
  explicit StderrCapture(std::string p) : path(std::move(p)) {
    std::fflush(stderr);
    saved = ::dup(2);
    std::FILE* f = std::fopen(path.c_str(), "w");
    ::dup2(::fileno(f), 2);
    std::fclose(f);
  }
  std::string finish() {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return slurp(path);
  }
};

const std::string kUtf8Text = "Grüße, π ≈ 3.14159 — 日本語 ✓";

// 3-D value for the appendable test: row r, column c, slot k.
double cell(std::uint64_t r, std::uint64_t c, std::uint64_t k) {
  return static_cast<double>(r) * 100.0 + static_cast<double>(c) * 10.0 + static_cast<double>(k) +
         0.25;
}

// A file exercising every writer; used by the read-back, h5py and h5dump tests.
void write_sample(const std::string& path) {
  h5::File f = h5::File::create(path);
  h5::Group root = f.root();
  root.set_attr("title", kUtf8Text);
  root.set_attr("seed", std::uint64_t{42});
  root.set_attr("scale", 0.5);
  root.set_attr("small", std::int8_t{-7});
  root.set_attr("quantiles", std::vector<double>{0.05, 0.5, 0.95});
  root.set_attr("empty", std::vector<std::int32_t>{});

  h5::Group grid = root.create_group("grid");
  const std::vector<std::int32_t> values{1, 2, 3, 4, 5, 6};
  h5::Dataset ds = grid.write_array("values", values, {2, 3});
  ds.set_attr("units", "persons");
  grid.create_group("sub");
  root.create_group("series");

  root.write_text("notes", kUtf8Text);
  root.write_strings("names", {"alpha", "", "bêta", "γ"});

  auto app = root.open_group("series").create_appendable<double>("in_stage", {4, 3}, 3, h5::Filters{.shuffle = true, .deflate = 4});
  app.set_attr("units", "persons");
  for (std::uint64_t block : {2u, 5u, 1u}) {
    std::vector<double> rows;
    for (std::uint64_t r = app.rows(); r < app.rows() + block; ++r)
      for (std::uint64_t c = 0; c < 4; ++c)
        for (std::uint64_t k = 0; k < 3; ++k) rows.push_back(cell(r, c, k));
    app.append(rows);
  }
  f.close();
}

}  // namespace

TEST_CASE("h5: groups, attributes, strings and arrays round-trip", "[h5]") {
  TempDir tmp;
  const std::string path = tmp.file("sample.h5");
  write_sample(path);

  h5::File f = h5::File::open_read(path);
  h5::Group root = f.root();
  CHECK(root.path() == "/");
  CHECK(root.list() == std::vector<std::string>{"grid", "names", "notes", "series"});
  CHECK(root.exists("grid"));
  CHECK(root.exists("grid/sub"));
  CHECK(root.exists("/grid/values"));
  CHECK_FALSE(root.exists("nope"));
  CHECK_FALSE(root.exists("nope/deeper"));
  CHECK_FALSE(root.exists("grid/values/deeper"));  // a dataset has no children
  CHECK(root.is_group("grid"));
  CHECK_FALSE(root.is_group("notes"));
  CHECK(root.is_dataset("grid/values"));
  CHECK_FALSE(root.is_dataset("missing"));

  SECTION("attributes") {
    CHECK(root.attr_string("title") == kUtf8Text);
    CHECK(root.attr<std::uint64_t>("seed") == 42);
    CHECK(root.attr<double>("seed") == 42.0);  // HDF5 converts
    CHECK(root.attr<double>("scale") == 0.5);
    CHECK(root.attr<std::int32_t>("small") == -7);
    CHECK(root.attr_array<double>("quantiles") == std::vector<double>{0.05, 0.5, 0.95});
    CHECK(root.attr_array<float>("quantiles") == std::vector<float>{0.05f, 0.5f, 0.95f});
    CHECK(root.attr_array<std::int32_t>("empty").empty());
    CHECK(root.has_attr("seed"));
    CHECK_FALSE(root.has_attr("missing"));
    CHECK(root.attr_names() ==
          std::vector<std::string>{"empty", "quantiles", "scale", "seed", "small", "title"});
    CHECK_THROWS_AS(root.attr<double>("quantiles"), h5::Error);  // not a single value
    CHECK_THROWS_AS(root.attr<double>("title"), h5::Error);      // not numeric
    CHECK_THROWS_AS(root.attr_string("seed"), h5::Error);        // not a string
    CHECK(root.dataset_attr_string("grid/values", "units") == "persons");
    CHECK(root.open_group("series").dataset_attr_string("in_stage", "units") == "persons");
  }

  SECTION("strings") {
    CHECK(root.read_text("notes") == kUtf8Text);
    CHECK(root.read_strings("names") == std::vector<std::string>{"alpha", "", "bêta", "γ"});
  }

  SECTION("2-D array") {
    std::vector<std::uint64_t> dims;
    CHECK(root.read_array<std::int32_t>("grid/values", &dims) ==
          std::vector<std::int32_t>{1, 2, 3, 4, 5, 6});
    CHECK(dims == std::vector<std::uint64_t>{2, 3});
    CHECK(root.open_group("grid").read_array<double>("values") ==
          std::vector<double>{1, 2, 3, 4, 5, 6});
    CHECK(root.read_rows<std::int32_t>("grid/values", 1, 1) == std::vector<std::int32_t>{4, 5, 6});
    CHECK(root.read_block<std::int32_t>("grid/values", 0, 2, 1, 2) ==
          std::vector<std::int32_t>{2, 3, 5, 6});
    CHECK_THROWS_AS(root.read_array<double>("notes"), h5::Error);  // strings are not numbers
  }

  SECTION("appendable 3-D dataset appended in 3 unequal blocks") {
    CHECK(root.dims("series/in_stage") == std::vector<std::uint64_t>{8, 4, 3});
    std::vector<double> all;
    for (std::uint64_t r = 0; r < 8; ++r)
      for (std::uint64_t c = 0; c < 4; ++c)
        for (std::uint64_t k = 0; k < 3; ++k) all.push_back(cell(r, c, k));
    CHECK(root.read_array<double>("series/in_stage") == all);

    // Rows 1..6 straddle all three append blocks and all three chunks.
    const auto rows = root.read_rows<double>("series/in_stage", 1, 6);
    CHECK(rows == std::vector<double>(all.begin() + 1 * 12, all.begin() + 7 * 12));

    // A few "time steps" (dim 1) for a range of rows, all of dim 2.
    std::vector<double> block;
    for (std::uint64_t r = 1; r < 7; ++r)
      for (std::uint64_t c = 2; c < 4; ++c)
        for (std::uint64_t k = 0; k < 3; ++k) block.push_back(cell(r, c, k));
    CHECK(root.read_block<double>("series/in_stage", 1, 6, 2, 2) == block);

    CHECK(root.read_rows<double>("series/in_stage", 8, 0).empty());
    CHECK_THROWS_AS(root.read_rows<double>("series/in_stage", 7, 2), h5::Error);
    CHECK_THROWS_AS(root.read_block<double>("series/in_stage", 0, 1, 3, 2), h5::Error);
  }
}

TEST_CASE("h5: appendable checks its input and counts rows", "[h5]") {
  TempDir tmp;
  h5::File f = h5::File::create(tmp.file("app.h5"));
  h5::Group root = f.root();
  auto app = root.create_appendable<std::int64_t>("s", {2}, 4, h5::Filters{});
  CHECK(app.rows() == 0);
  CHECK(app.row_size() == 2);
  app.append(std::vector<std::int64_t>{1, 2, 3, 4});
  app.append(std::vector<std::int64_t>{});
  CHECK(app.rows() == 2);
  try {
    app.append(std::vector<std::int64_t>{5, 6, 7});
    FAIL("append of a partial row did not throw");
  } catch (const h5::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/s") && Catch::Contains(f.path()));
  }
  CHECK(app.rows() == 2);
  CHECK(root.dims("s") == std::vector<std::uint64_t>{2, 2});

  auto series = root.create_appendable<float>("t", {}, 16, h5::Filters{.shuffle = true, .deflate = 1});  // 1-D series
  series.append(std::vector<float>{1.5f, 2.5f});
  CHECK(root.read_array<float>("t") == std::vector<float>{1.5f, 2.5f});

  CHECK_THROWS_AS(root.create_appendable<double>("bad", {3, 0}, 4, h5::Filters{}), h5::Error);
  CHECK_THROWS_AS(root.create_appendable<double>("bad", {3}, 0, h5::Filters{}), h5::Error);
  CHECK_THROWS_AS(root.create_appendable<double>("bad", {3}, 4, h5::Filters{.deflate = 10}), h5::Error);
  CHECK_THROWS_AS(root.write_array("bad", std::vector<double>{1, 2, 3}, {2, 2}), h5::Error);
  CHECK_THROWS_AS(root.create_group("s"), h5::Error);  // name taken
}

TEST_CASE("h5: large arrays are chunked and deflated", "[h5]") {
  TempDir tmp;
  const std::string path = tmp.file("big.h5");
  std::vector<double> big(400 * 500);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i % 97);
  std::vector<double> small(100, 1.0);
  {
    h5::File f = h5::File::create(path);
    f.root().write_array("big", big, {400, 500});
    f.root().write_array("small", small);
    auto app = f.root().create_appendable<double>("app", {500}, 64, h5::Filters{.shuffle = true, .deflate = 6});
    app.append(big);
    f.close();
  }
  const auto raw = 2 * big.size() * sizeof(double);
  INFO("file size " << fs::file_size(path) << " vs raw " << raw);
  CHECK(fs::file_size(path) < raw / 4);

  h5::File f = h5::File::open_read(path);
  std::vector<std::uint64_t> dims;
  CHECK(f.root().read_array<double>("big", &dims) == big);
  CHECK(dims == std::vector<std::uint64_t>{400, 500});
  CHECK(f.root().read_array<double>("app") == big);
  CHECK(f.root().read_rows<double>("big", 399, 1) ==
        std::vector<double>(big.end() - 500, big.end()));

  if (run("command -v h5dump >/dev/null 2>&1") != 0) {
    WARN("h5dump not installed: layout not checked");
    return;
  }
  const std::string out = tmp.file("layout.txt");
  REQUIRE(run("h5dump -p -H " + path + " > " + out + " 2>&1") == 0);
  const std::string layout = slurp(out);
  // big and app are chunked+deflated; small stays contiguous.
  auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (auto p = layout.find(s); p != std::string::npos; p = layout.find(s, p + 1)) ++n;
    return n;
  };
  CHECK(count("CHUNKED") == 2);
  CHECK(count("CONTIGUOUS") == 1);
  CHECK(count("DEFLATE") == 2);
  CHECK(count("SHUFFLE") == 2);
}

TEST_CASE("h5: chunks encoded here read back through HDF5's own filters", "[h5]") {
  TempDir tmp;
  const std::string path = tmp.file("direct.h5");
  // 2-D int32 with shuffle, 1-D double without, int64 with shuffle: rows appended in
  // blocks that straddle chunk boundaries, a partial last chunk, and a flush followed by
  // more appends (the flushed chunk is rewritten).
  std::vector<std::int32_t> ints;
  std::vector<double> reals;
  std::vector<std::int64_t> wide;
  {
    h5::File f = h5::File::create(path);
    auto a = f.root().create_appendable<std::int32_t>("ints", {3}, 5, h5::Filters{.shuffle = true, .deflate = 1, .encode_here = true});
    auto b = f.root().create_appendable<double>("reals", {}, 7, h5::Filters{.deflate = 6, .encode_here = true});
    auto c = f.root().create_appendable<std::int64_t>("wide", {2}, 4, h5::Filters{.shuffle = true, .deflate = 1, .encode_here = true});
    std::int32_t next = -40;
    for (int block : {2, 4, 1, 6, 3}) {
      std::vector<std::int32_t> rows;
      for (int i = 0; i < block * 3; ++i) rows.push_back(next += 7);
      a.append(rows);
      ints.insert(ints.end(), rows.begin(), rows.end());
      std::vector<double> r;
      for (int i = 0; i < block; ++i) r.push_back(0.1 * static_cast<double>(reals.size()) - 1.0);
      b.append(r);
      reals.insert(reals.end(), r.begin(), r.end());
      std::vector<std::int64_t> w;
      for (int i = 0; i < block * 2; ++i) w.push_back((std::int64_t{1} << 40) + static_cast<std::int64_t>(wide.size()) * -3);
      c.append(w);
      wide.insert(wide.end(), w.begin(), w.end());
      if (block == 1) {  // mid-way flush: the partial chunk goes out, then is completed
        c.flush();
        CHECK(f.root().dims("wide") == std::vector<std::uint64_t>{wide.size() / 2, 2});
      }
    }
    CHECK(a.rows() == 16);
    CHECK(f.root().dims("ints")[0] == 15);  // three whole chunks of 5 out, the 16th row pending
    CHECK_THROWS_AS(a.append(std::vector<std::int32_t>{1, 2}), h5::Error);  // not a whole row
    a.close();
    // The last chunks of b and c encoded on another thread (prepare_close makes no HDF5
    // call, so nothing reaches the file), then written by close() on this one.
    std::thread([&] {
      b.prepare_close();
      c.prepare_close();
    }).join();
    CHECK(f.root().dims("reals")[0] == 14);  // two whole chunks of 7; the 16 rows only at close()
    b.close();
    c.close();
    CHECK(f.root().dims("reals")[0] == 16);
    CHECK_THROWS_AS(f.root().create_appendable<double>("bad", {}, 4, h5::Filters{.encode_here = true}), h5::Error);
    CHECK_THROWS_AS(f.root().create_appendable<double>("bad2", {}, 4, h5::Filters{.deflate = 1, .checksum = true, .encode_here = true}),
                    h5::Error);
    f.close();
  }
  h5::File f = h5::File::open_read(path);
  std::vector<std::uint64_t> dims;
  CHECK(f.root().read_array<std::int32_t>("ints", &dims) == ints);
  CHECK(dims == std::vector<std::uint64_t>{16, 3});
  CHECK(f.root().read_array<double>("reals") == reals);
  CHECK(f.root().read_array<std::int64_t>("wide") == wide);
  if (run("command -v h5dump >/dev/null 2>&1") == 0) {  // the filters HDF5 sees: its own
    const std::string out = tmp.file("direct.txt");
    REQUIRE(run("h5dump -p -H " + path + " > " + out + " 2>&1") == 0);
    const std::string layout = slurp(out);
    CHECK(layout.find("DEFLATE") != std::string::npos);
    CHECK(layout.find("SHUFFLE") != std::string::npos);
  }
  if (run("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0) {  // and h5py, as a user reads it
    CHECK(run("/usr/bin/python3 -c \"import h5py, numpy as np; f = h5py.File('" + path +
              "', 'r'); a = f['ints'][...]; assert a.shape == (16, 3) and a[0, 0] == -33 and a[-1, -1] == -33 + 7 * 47, a\"") == 0);
  }
}

TEST_CASE("h5: chunks staged on other threads and committed here give append's file", "[h5]") {
  // RunFileWriter::append stages (gathers and encodes) its columns on several threads and
  // commits them on one. Two datasets written each way, in blocks that fill no chunk, one
  // and several at once, must hold the same rows, in the same chunks, as append writes.
  TempDir tmp;
  const std::string path = tmp.file("staged.h5");
  const h5::Filters counts{.shuffle = true, .deflate = 1, .encode_here = true};
  std::vector<std::int32_t> all;
  {
    h5::File f = h5::File::create(path);
    auto plain = f.root().create_appendable<std::int32_t>("plain", {2}, 4, counts);
    auto staged = f.root().create_appendable<std::int32_t>("staged", {2}, 4, counts);
    auto unencoded = f.root().create_appendable<std::int32_t>("unencoded", {2}, 4, h5::Filters{});
    CHECK(staged.encodes_here());
    CHECK_FALSE(unencoded.encodes_here());
    CHECK_THROWS_AS(unencoded.stage(std::vector<std::int32_t>{1, 2}), h5::Error);  // HDF5 encodes it: append only
    std::int32_t next = 5;
    for (int block : {1, 2, 9, 3, 1, 0, 5}) {  // rows; 9 fills two chunks at once
      std::vector<std::int32_t> rows;
      for (int i = 0; i < block * 2; ++i) rows.push_back(next = next * 3 % 1009 - 400);
      all.insert(all.end(), rows.begin(), rows.end());
      plain.append(rows);
      std::thread([&] { staged.stage(rows); }).join();
      // Staged chunks reach the file only at commit().
      const std::uint64_t before = f.root().dims("staged")[0];
      staged.commit();
      CHECK(f.root().dims("staged") == f.root().dims("plain"));
      CHECK(f.root().dims("staged")[0] >= before);
    }
    CHECK(staged.rows() == 21);
    CHECK(f.root().dims("staged")[0] == 20);  // five whole chunks of 4 written, the 21st row pending
    CHECK_THROWS_AS(staged.stage(std::vector<std::int32_t>{1, 2, 3}), h5::Error);  // not a whole row
    plain.close();
    staged.close();
    unencoded.close();
    f.close();
  }
  h5::File f = h5::File::open_read(path);
  CHECK(f.root().read_array<std::int32_t>("plain") == all);
  CHECK(f.root().read_array<std::int32_t>("staged") == all);
}

TEST_CASE("h5: level-1 chunks of incompressible and constant values read back exactly", "[h5]") {
  // Level 1 is encoded by libdeflate through the direct chunk write; random 64-bit
  // values do not compress at all, constants compress to almost nothing: both must inflate
  // through HDF5 to the values written, whole chunks and a partial last one.
  TempDir tmp;
  const std::string path = tmp.file("level1.h5");
  std::vector<std::int64_t> noise(3 * 4096 + 1000), flat(noise.size(), 7);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& v : noise) {  // xorshift64: every byte of every value varies
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v = static_cast<std::int64_t>(x);
  }
  {
    h5::File f = h5::File::create(path);
    for (bool shuffle : {false, true}) {
      auto a = f.root().create_appendable<std::int64_t>(shuffle ? "noise_s" : "noise", {}, 4096,
                                                        h5::Filters{.shuffle = shuffle, .deflate = 1, .encode_here = true});
      auto b = f.root().create_appendable<std::int64_t>(shuffle ? "flat_s" : "flat", {}, 4096,
                                                        h5::Filters{.shuffle = shuffle, .deflate = 1, .encode_here = true});
      a.append(noise);
      b.append(flat);
      a.close();
      b.close();
    }
    f.close();
  }
  h5::File f = h5::File::open_read(path);
  for (const char* name : {"noise", "noise_s"}) CHECK(f.root().read_array<std::int64_t>(name) == noise);
  for (const char* name : {"flat", "flat_s"}) CHECK(f.root().read_array<std::int64_t>(name) == flat);
}

TEST_CASE("h5: errors name the file, the object and the operation", "[h5]") {
  TempDir tmp;
  const std::string path = tmp.file("err.h5");
  write_sample(path);
  h5::File f = h5::File::open_read(path);
  h5::Group root = f.root();

  try {
    (void)root.read_array<double>("grid/missing_values");
    FAIL("no exception");
  } catch (const h5::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("missing_values"));
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::StartsWith("cannot open dataset /grid/missing_values in " + path + ": "));
    CHECK(msg.size() > ("cannot open dataset /grid/missing_values in " + path + ": ").size());
  }
  CHECK_THROWS_WITH(root.open_group("nogroup"), Catch::Contains("nogroup") && Catch::Contains(path));
  CHECK_THROWS_WITH(root.attr_string("nothere"), Catch::Contains("nothere") && Catch::Contains(path));
  // Read-only file: writing fails with the operation named.
  CHECK_THROWS_WITH(root.create_group("new"),
                    Catch::Contains("cannot create group /new") && Catch::Contains(path));
  CHECK_THROWS_WITH(root.write_text("t", std::string("a\0b", 3)), Catch::Contains("NUL"));

  SECTION("not an HDF5 file") {
    const std::string bad = tmp.file("not_hdf5.h5");
    std::ofstream(bad) << "this is plain text, not HDF5\n";
    CHECK_THROWS_WITH(h5::File::open_read(bad), Catch::Contains(bad));
  }
  SECTION("truncated HDF5 file") {
    const std::string trunc = tmp.file("truncated.h5");
    fs::copy_file(path, trunc);
    fs::resize_file(trunc, fs::file_size(trunc) / 2);
    CHECK_THROWS_WITH(h5::File::open_read(trunc), Catch::Contains(trunc));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(h5::File::open_read(tmp.file("absent.h5")),
                      Catch::Contains(tmp.file("absent.h5")));
  }
  SECTION("uncreatable file") {
    CHECK_THROWS_WITH(h5::File::create(tmp.file("no/such/dir/x.h5")),
                      Catch::Contains("cannot create file " + tmp.file("no/such/dir/x.h5")));
  }
}

TEST_CASE("h5: HDF5's own error printing is silenced on every thread", "[h5][threads]") {
  TempDir tmp;
  const std::string bad = tmp.file("not_hdf5.h5");
  std::ofstream(bad) << "plain text\n";
  StderrCapture cap(tmp.file("stderr.txt"));
  int thrown = 0;
  auto attempt = [&] {
    try {
      h5::File::open_read(bad);
    } catch (const h5::Error&) {
      ++thrown;
    }
  };
  attempt();
  std::thread t(attempt);  // a thread-safe HDF5 keeps one error stack per thread
  t.join();
  const std::string printed = cap.finish();
  CHECK(thrown == 2);
  CHECK(printed.empty());
}

TEST_CASE("h5: handles move without double closes and nothing leaks", "[h5]") {
  TempDir tmp;
  const std::string path = tmp.file("moves.h5");
  const auto failed_before = h5::diag::failed_closes();
  const auto ids_before = h5::diag::open_ids();
  {
    h5::File f = h5::File::create(path);
    h5::Group a = f.root().create_group("a");
    a.set_attr("x", 1.0);
    const auto base_ids = h5::diag::open_ids();
    const auto base_objects = f.open_objects();
    {
      h5::Group b = std::move(a);
      CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking moved-from state
      CHECK(b.valid());
      h5::Group c;
      c = std::move(b);
      CHECK_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
      c.set_attr("y", 2.0);
      auto app = c.create_appendable<double>("s", {2}, 8, h5::Filters{.shuffle = true, .deflate = 1});
      auto app2 = std::move(app);
      app2.append(std::vector<double>{1, 2});
      h5::Dataset d = c.open_dataset("s");
      h5::Dataset d2 = std::move(d);
      CHECK(d2.dims() == std::vector<std::uint64_t>{1, 2});
      CHECK(h5::diag::open_ids() == base_ids + 2);  // the counter sees app2 and d2
      CHECK(f.open_objects() == base_objects + 2);
      // Failing operations release what they opened on the way.
      CHECK_THROWS_AS(c.read_array<double>("missing"), h5::Error);
      CHECK_THROWS_AS(c.read_rows<double>("s", 1, 5), h5::Error);
      CHECK_THROWS_AS(c.attr<double>("missing"), h5::Error);
      CHECK_THROWS_AS(c.write_array("s", std::vector<double>{1}), h5::Error);
      a = std::move(c);  // back into the original, now empty, handle
    }
    CHECK(a.valid());
    CHECK(f.open_objects() == base_objects);
    CHECK(h5::diag::open_ids() == base_ids);
    h5::File g = std::move(f);
    CHECK_FALSE(f.is_open());  // NOLINT(bugprone-use-after-move)
    a = h5::Group();
    g.close();
    CHECK_FALSE(g.is_open());
    g.close();  // closing twice is harmless
    CHECK(h5::diag::open_ids() == ids_before);
  }
  CHECK(h5::diag::failed_closes() == failed_before);

  h5::File f = h5::File::open_read(path);
  CHECK(f.root().open_group("a").attr<double>("y") == 2.0);
  CHECK(f.root().read_array<double>("a/s") == std::vector<double>{1, 2});
}

TEST_CASE("h5: identical data gives identical bytes", "[h5]") {
  TempDir tmp;
  write_sample(tmp.file("one.h5"));
  // Object-header times have a one-second resolution: make sure a second passes.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  write_sample(tmp.file("two.h5"));
  const std::string one = slurp(tmp.file("one.h5")), two = slurp(tmp.file("two.h5"));
  CHECK(one.size() > 0);
  CHECK(one == two);
}

TEST_CASE("h5: h5dump reads the file", "[h5][external]") {
  if (run("command -v h5dump >/dev/null 2>&1") != 0) {
    WARN("h5dump not installed: skipped");
    return;
  }
  TempDir tmp;
  const std::string path = tmp.file("dump.h5");
  write_sample(path);
  const std::string out = tmp.file("header.txt");
  CHECK(run("h5dump -H " + path + " > " + out + " 2>&1") == 0);
  CHECK(run("h5dump " + path + " > /dev/null 2>&1") == 0);
  // Strings are declared UTF-8 and numbers little-endian, whatever the host.
  const std::string header = slurp(out);
  CHECK_THAT(header, Catch::Contains("H5T_CSET_UTF8"));
  CHECK_THAT(header, !Catch::Contains("H5T_CSET_ASCII"));
  CHECK_THAT(header, Catch::Contains("H5T_STD_I32LE") && Catch::Contains("H5T_IEEE_F64LE") &&
                         Catch::Contains("H5T_STD_U64LE") && Catch::Contains("H5T_STD_I8LE"));
}

TEST_CASE("h5: Debian's h5py reads attributes and datasets", "[h5][external]") {
  if (run("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) {
    WARN("/usr/bin/python3 has no h5py: skipped");
    return;
  }
  TempDir tmp;
  const std::string path = tmp.file("py.h5");
  write_sample(path);
  const std::string script = tmp.file("check.py");
  std::ofstream(script) << R"(import sys, h5py
def s(x):
    return x.decode('utf-8') if isinstance(x, bytes) else x
f = h5py.File(sys.argv[1], 'r')
assert s(f.attrs['title']) == sys.argv[2], f.attrs['title']
assert int(f.attrs['seed']) == 42
assert list(f.attrs['quantiles']) == [0.05, 0.5, 0.95]
assert f['grid/values'].dtype == '<i4'
assert f['grid/values'][()].tolist() == [[1, 2, 3], [4, 5, 6]]
assert s(f['grid/values'].attrs['units']) == 'persons'
assert s(f['notes'][()]) == sys.argv[2]
assert [s(x) for x in f['names'][()]] == ['alpha', '', 'bêta', 'γ']
assert h5py.check_string_dtype(f['names'].dtype).encoding == 'utf-8'
assert h5py.check_string_dtype(f.attrs.get_id('title').dtype).encoding == 'utf-8'
assert f.attrs.get_id('seed').dtype == '<u8' and f.attrs.get_id('small').dtype == '|i1' 
d = f['series/in_stage']
assert d.shape == (8, 4, 3) and d.maxshape == (None, 4, 3) and d.compression == 'gzip'
assert d[7, 3, 2] == 7 * 100 + 3 * 10 + 2 + 0.25
print('h5py ok')
)";
  CHECK(run("/usr/bin/python3 " + script + " " + path + " '" + kUtf8Text + "'") == 0);
}
