#include "lepsim/h5.hpp"

#include <hdf5.h>
#include <libdeflate.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <memory>

namespace lepsim::h5 {

static_assert(std::is_same_v<hid_t, std::int64_t>, "h5.hpp stores ids as int64_t");
static_assert(std::is_same_v<hsize_t, unsigned long long> || std::is_same_v<hsize_t, std::uint64_t>,
              "dims are passed as 64-bit unsigned");

using detail::Dtype;
using detail::Hid;
using detail::Kind;

namespace {

std::atomic<std::uint64_t> g_failed_closes{0};

// Debian's libhdf5 is thread-safe, where the error stack (and its auto-print) is
// per thread: silence it once per thread, before the first HDF5 call of that thread.
void quiet() noexcept {
  // A file whose close failed (a full disk) stays in HDF5's table of open objects, and
  // the library's own clean-up at exit then crashes closing it again (HDF5 1.10): every
  // file lepsim keeps is closed explicitly, so leave that clean-up to the OS.
  static const bool no_atexit_cleanup = (H5dont_atexit(), true);
  (void)no_atexit_cleanup;
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

// HDF5's POSIX driver describes a failed read or write with a dump (time, file
// descriptor, buffer address, offsets); keep what a user can act on, e.g.
// "file write failed: File too large" or "file write failed: No space left on device".
std::string tidy_io_message(const std::string& desc) {
  const std::string tag = "error message = '";
  const auto m = desc.find(tag);
  if (m == std::string::npos) return desc;
  const auto end = desc.find('\'', m + tag.size());
  return desc.substr(0, desc.find(':')) + ": " + desc.substr(m + tag.size(), end - m - tag.size());
}

// Innermost (most specific) description on this thread's error stack; clears the stack.
std::string hdf5_detail() {
  std::string inner;
  auto walk = [](unsigned n, const H5E_error2_t* e, void* p) -> herr_t {
    if (n != 0 || e == nullptr) return 0;
    auto& s = *static_cast<std::string*>(p);
    if (e->desc != nullptr && e->desc[0] != '\0') {
      s = e->desc;
    } else {
      char buf[256] = {};
      if (H5Eget_msg(e->min_num, nullptr, buf, sizeof buf) > 0) s = buf;
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &inner);
  H5Eclear2(H5E_DEFAULT);
  return tidy_io_message(inner);
}

// Where an operation happens, to build "cannot <what> in <file>: <why>".
struct Where {
  std::string what;
  const std::string& file;

  // Failure reported by HDF5: take the reason from its error stack.
  [[noreturn]] void fail() const { fail_because(hdf5_detail()); }
  [[noreturn]] void fail_because(const std::string& why) const {
    std::string msg = "cannot " + what + " in " + (file.empty() ? "<empty handle>" : file);
    if (!why.empty()) msg += ": " + why;
    throw Error(msg);
  }
  Hid own(hid_t id, Kind kind) const {
    if (id < 0) fail();
    return Hid(id, kind);
  }
  void check(herr_t rc) const {
    if (rc < 0) fail();
  }
};

hid_t mem_type(Dtype d) {
  switch (d) {
    case Dtype::I8: return H5T_NATIVE_INT8;
    case Dtype::I16: return H5T_NATIVE_INT16;
    case Dtype::I32: return H5T_NATIVE_INT32;
    case Dtype::I64: return H5T_NATIVE_INT64;
    case Dtype::U8: return H5T_NATIVE_UINT8;
    case Dtype::U16: return H5T_NATIVE_UINT16;
    case Dtype::U32: return H5T_NATIVE_UINT32;
    case Dtype::U64: return H5T_NATIVE_UINT64;
    case Dtype::F32: return H5T_NATIVE_FLOAT;
    case Dtype::F64: return H5T_NATIVE_DOUBLE;
  }
  return -1;
}

// Fixed little-endian file types so files are byte-identical across machines.
hid_t file_type(Dtype d) {
  switch (d) {
    case Dtype::I8: return H5T_STD_I8LE;
    case Dtype::I16: return H5T_STD_I16LE;
    case Dtype::I32: return H5T_STD_I32LE;
    case Dtype::I64: return H5T_STD_I64LE;
    case Dtype::U8: return H5T_STD_U8LE;
    case Dtype::U16: return H5T_STD_U16LE;
    case Dtype::U32: return H5T_STD_U32LE;
    case Dtype::U64: return H5T_STD_U64LE;
    case Dtype::F32: return H5T_IEEE_F32LE;
    case Dtype::F64: return H5T_IEEE_F64LE;
  }
  return -1;
}

std::uint64_t type_size(Dtype d) {
  switch (d) {
    case Dtype::I8:
    case Dtype::U8: return 1;
    case Dtype::I16:
    case Dtype::U16: return 2;
    case Dtype::I32:
    case Dtype::U32:
    case Dtype::F32: return 4;
    default: return 8;
  }
}

std::string join(const std::string& base, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  if (base.empty() || base == "/") return "/" + name;
  return base + "/" + name;
}

std::string dims_str(const std::vector<std::uint64_t>& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Product of dims; false on overflow.
bool product(const std::vector<std::uint64_t>& d, std::uint64_t& out) {
  out = 1;
  for (auto x : d) {
    if (x != 0 && out > std::numeric_limits<std::uint64_t>::max() / x) return false;
    out *= x;
  }
  return true;
}

std::vector<hsize_t> to_hsize(const std::vector<std::uint64_t>& d) {
  return std::vector<hsize_t>(d.begin(), d.end());
}

Hid utf8_vlen_type(const Where& w) {
  Hid t = w.own(H5Tcopy(H5T_C_S1), Kind::Datatype);
  w.check(H5Tset_size(t.get(), H5T_VARIABLE));
  w.check(H5Tset_cset(t.get(), H5T_CSET_UTF8));
  return t;
}

// Link and attribute names may be non-ASCII: store them as UTF-8 like h5py does.
Hid utf8_name_plist(hid_t cls, const Where& w) {
  Hid p = w.own(H5Pcreate(cls), Kind::Plist);
  w.check(H5Pset_char_encoding(p.get(), H5T_CSET_UTF8));
  return p;
}

// No modification times in object headers: identical data gives identical bytes.
Hid untimed_plist(hid_t cls, const Where& w) {
  Hid p = w.own(H5Pcreate(cls), Kind::Plist);
  w.check(H5Pset_obj_track_times(p.get(), 0));
  return p;
}

void check_no_nul(std::string_view s, const Where& w) {
  if (s.find('\0') != std::string_view::npos)
    w.fail_because("string contains a NUL byte (HDF5 C strings would truncate it)");
}

// Reads all elements of a string attribute or dataset, stored variable- or fixed-length.
std::vector<std::string> read_strings_of(hid_t obj, bool is_attr, const Where& w) {
  Hid ftype = w.own(is_attr ? H5Aget_type(obj) : H5Dget_type(obj), Kind::Datatype);
  const H5T_class_t cls = H5Tget_class(ftype.get());
  if (cls == H5T_NO_CLASS) w.fail();
  if (cls != H5T_STRING) w.fail_because("not a string");
  Hid space = w.own(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), Kind::Dataspace);
  const hssize_t np = H5Sget_simple_extent_npoints(space.get());
  if (np < 0) w.fail();
  const auto n = static_cast<std::size_t>(np);
  auto read = [&](hid_t mt, void* buf) {
    w.check(is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  };
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;

  const htri_t is_var = H5Tis_variable_str(ftype.get());
  if (is_var < 0) w.fail();
  if (is_var) {
    // Same cset as stored: HDF5 will not convert between ASCII and UTF-8.
    const H5T_cset_t cset = H5Tget_cset(ftype.get());
    if (cset < 0) w.fail();
    Hid mt = w.own(H5Tcopy(H5T_C_S1), Kind::Datatype);
    w.check(H5Tset_size(mt.get(), H5T_VARIABLE));
    w.check(H5Tset_cset(mt.get(), cset));
    std::vector<char*> buf(n, nullptr);
    read(mt.get(), buf.data());
    // HDF5 malloc'ed every string: give them back even if copying throws.
    struct Reclaim {
      hid_t t, s;
      void* b;
      ~Reclaim() { H5Dvlen_reclaim(t, s, H5P_DEFAULT, b); }
    } reclaim{mt.get(), space.get(), buf.data()};
    for (char* p : buf) out.emplace_back(p ? p : "");
  } else {
    const std::size_t size = H5Tget_size(ftype.get());
    if (size == 0) w.fail();
    const H5T_str_t pad = H5Tget_strpad(ftype.get());
    Hid mt = w.own(H5Tcopy(ftype.get()), Kind::Datatype);  // strings have no byte order
    std::vector<char> buf(n * size);
    read(mt.get(), buf.data());
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view s(buf.data() + i * size, size);
      s = s.substr(0, s.find('\0'));
      if (pad == H5T_STR_SPACEPAD) s = s.substr(0, s.find_last_not_of(' ') + 1);
      out.emplace_back(s);
    }
  }
  return out;
}

std::string read_one_string(hid_t obj, bool is_attr, const Where& w) {
  auto v = read_strings_of(obj, is_attr, w);
  if (v.size() != 1) w.fail_because("expected one string, found " + std::to_string(v.size()));
  return std::move(v.front());
}

void require_numeric(hid_t type, const Where& w) {
  const H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_NO_CLASS) w.fail();
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) w.fail_because("stored data is not numeric");
}

std::vector<std::uint64_t> extent_of(hid_t space, const Where& w) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) w.fail();
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, d.data(), nullptr) < 0) w.fail();
  return std::vector<std::uint64_t>(d.begin(), d.end());
}

// Halve the outermost dims first so a chunk stays a run of whole rows where possible.
std::vector<hsize_t> pick_chunk(const std::vector<std::uint64_t>& dims, std::uint64_t elem) {
  constexpr std::uint64_t target = 1u << 20;  // fits HDF5's default 1 MiB chunk cache
  std::vector<hsize_t> c(dims.begin(), dims.end());
  auto bytes = [&] {
    std::uint64_t b = elem;
    for (auto x : c) b *= x;
    return b;
  };
  for (std::size_t i = 0; i < c.size() && bytes() > target;) {
    if (c[i] > 1) c[i] = (c[i] + 1) / 2;
    else ++i;
  }
  return c;
}

void add_deflate(hid_t dcpl, int level, const Where& w, bool shuffle = true) {
  if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
    w.fail_because("this HDF5 library has no deflate filter");
  if (shuffle) w.check(H5Pset_shuffle(dcpl));
  w.check(H5Pset_deflate(dcpl, static_cast<unsigned>(level)));
}

}  // namespace

// ---------------------------------------------------------------------------- detail / diag

namespace detail {

namespace {
herr_t close_id(hid_t id, Kind k) {
  switch (k) {
    case Kind::File: return H5Fclose(id);
    case Kind::Group: return H5Gclose(id);
    case Kind::Dataset: return H5Dclose(id);
    case Kind::Attribute: return H5Aclose(id);
    case Kind::Dataspace: return H5Sclose(id);
    case Kind::Datatype: return H5Tclose(id);
    case Kind::Plist: return H5Pclose(id);
    case Kind::Object: return H5Oclose(id);
  }
  return -1;
}
}  // namespace

void Hid::reset() noexcept {
  if (close() < 0) {
    g_failed_closes.fetch_add(1, std::memory_order_relaxed);
    H5Eclear2(H5E_DEFAULT);  // nobody reports it; keep the stack clean
  }
}

int Hid::close() noexcept {
  if (id_ < 0) return 0;
  quiet();
  return close_id(std::exchange(id_, -1), kind_);  // stack left for the caller to read
}

}  // namespace detail

namespace diag {

std::uint64_t open_ids() {
  quiet();
  // H5Inmembers refuses library id types, so only what H5Fget_obj_count sees is counted.
  const ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (n < 0) throw Error("cannot count open HDF5 objects: " + hdf5_detail());
  return static_cast<std::uint64_t>(n);
}

std::uint64_t failed_closes() { return g_failed_closes.load(std::memory_order_relaxed); }

}  // namespace diag

// ---------------------------------------------------------------------------- Object

void Object::set_attr(const std::string& name, std::string_view value) {
  quiet();
  const Where w{"write attribute '" + name + "' of " + path_, file_};
  check_no_nul(value, w);
  const std::string v(value);
  const char* p = v.c_str();
  Hid type = utf8_vlen_type(w);
  Hid space = w.own(H5Screate(H5S_SCALAR), Kind::Dataspace);
  const htri_t ex = H5Aexists(id_.get(), name.c_str());
  if (ex < 0) w.fail();
  if (ex > 0) w.check(H5Adelete(id_.get(), name.c_str()));
  Hid acpl = utf8_name_plist(H5P_ATTRIBUTE_CREATE, w);
  Hid a = w.own(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), acpl.get(), H5P_DEFAULT),
                Kind::Attribute);
  w.check(H5Awrite(a.get(), type.get(), &p));
}

void Object::set_attr_raw(const std::string& name, Dtype dt, const void* data, std::uint64_t n,
                          bool scalar) {
  quiet();
  const Where w{"write attribute '" + name + "' of " + path_, file_};
  const hsize_t len = n;
  Hid space = w.own(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &len, nullptr),
                    Kind::Dataspace);
  const htri_t ex = H5Aexists(id_.get(), name.c_str());
  if (ex < 0) w.fail();
  if (ex > 0) w.check(H5Adelete(id_.get(), name.c_str()));
  Hid acpl = utf8_name_plist(H5P_ATTRIBUTE_CREATE, w);
  Hid a = w.own(
      H5Acreate2(id_.get(), name.c_str(), file_type(dt), space.get(), acpl.get(), H5P_DEFAULT),
      Kind::Attribute);
  if (n > 0) w.check(H5Awrite(a.get(), mem_type(dt), data));
}

bool Object::has_attr(const std::string& name) const {
  quiet();
  const Where w{"look up attribute '" + name + "' of " + path_, file_};
  const htri_t ex = H5Aexists(id_.get(), name.c_str());
  if (ex < 0) w.fail();
  return ex > 0;
}

std::vector<std::string> Object::attr_names() const {
  quiet();
  const Where w{"list attributes of " + path_, file_};
  struct Acc {
    std::vector<std::string> names;
    std::exception_ptr err;
  } acc;
  auto cb = [](hid_t, const char* name, const H5A_info_t*, void* p) -> herr_t {
    auto& a = *static_cast<Acc*>(p);
    try {
      a.names.emplace_back(name);
      return 0;
    } catch (...) {  // never unwind through HDF5's C frames
      a.err = std::current_exception();
      return -1;
    }
  };
  const herr_t rc = H5Aiterate2(id_.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, cb, &acc);
  if (acc.err) {
    H5Eclear2(H5E_DEFAULT);
    std::rethrow_exception(acc.err);
  }
  if (rc < 0) w.fail();
  std::sort(acc.names.begin(), acc.names.end());
  return std::move(acc.names);
}

std::string Object::attr_string(const std::string& name) const {
  quiet();
  const Where w{"read attribute '" + name + "' of " + path_, file_};
  Hid a = w.own(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), Kind::Attribute);
  return read_one_string(a.get(), true, w);
}

void Object::read_attr_raw(const std::string& name, Dtype dt, bool single, detail::Sizer sizer,
                           void* ctx) const {
  quiet();
  const Where w{"read attribute '" + name + "' of " + path_, file_};
  Hid a = w.own(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), Kind::Attribute);
  Hid type = w.own(H5Aget_type(a.get()), Kind::Datatype);
  require_numeric(type.get(), w);
  Hid space = w.own(H5Aget_space(a.get()), Kind::Dataspace);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) w.fail();
  if (single && n != 1)
    w.fail_because("expected a single value, attribute has " + std::to_string(n));
  void* out = sizer(ctx, static_cast<std::uint64_t>(n));
  if (n > 0) w.check(H5Aread(a.get(), mem_type(dt), out));
}

// ---------------------------------------------------------------------------- Dataset

std::vector<std::uint64_t> Dataset::dims() const {
  quiet();
  const Where w{"get the shape of dataset " + path_, file_};
  Hid space = w.own(H5Dget_space(id_.get()), Kind::Dataspace);
  return extent_of(space.get(), w);
}

Dataset::Element Dataset::element() const {
  quiet();
  const Where w{"get the type of dataset " + path_, file_};
  Hid type = w.own(H5Dget_type(id_.get()), Kind::Datatype);
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  if (cls < 0 || size == 0) w.fail();
  const ElementClass c = cls == H5T_INTEGER ? ElementClass::Integer
                         : cls == H5T_FLOAT ? ElementClass::Float
                         : cls == H5T_STRING ? ElementClass::String
                                             : ElementClass::Other;
  return {c, size};
}

void Dataset::read_raw(Dtype dt, detail::Selection sel, std::uint64_t row0, std::uint64_t nrows,
                       std::uint64_t col0, std::uint64_t ncols, detail::Sizer sizer, void* ctx,
                       std::vector<std::uint64_t>* dims_out, bool verify) const {
  quiet();
  const Where w{"read dataset " + path_, file_};
  Hid type = w.own(H5Dget_type(id_.get()), Kind::Datatype);
  require_numeric(type.get(), w);
  Hid fspace = w.own(H5Dget_space(id_.get()), Kind::Dataspace);
  const std::vector<std::uint64_t> d = extent_of(fspace.get(), w);
  if (dims_out) *dims_out = d;

  std::vector<std::uint64_t> start(d.size(), 0), count = d;
  auto in_range = [](std::uint64_t a0, std::uint64_t n, std::uint64_t size) {
    return a0 <= size && n <= size - a0;
  };
  if (sel == detail::Selection::Rows) {
    if (d.empty()) w.fail_because("cannot select rows of a scalar dataset");
    if (!in_range(row0, nrows, d[0]))
      w.fail_because("rows [" + std::to_string(row0) + ", " + std::to_string(row0 + nrows) +
                     ") out of range, shape " + dims_str(d));
    start[0] = row0;
    count[0] = nrows;
  } else if (sel == detail::Selection::Block) {
    if (d.size() < 2) w.fail_because("block read needs at least 2 dimensions, shape " + dims_str(d));
    if (!in_range(row0, nrows, d[0]) || !in_range(col0, ncols, d[1]))
      w.fail_because("block rows [" + std::to_string(row0) + ", " + std::to_string(row0 + nrows) +
                     ") x cols [" + std::to_string(col0) + ", " + std::to_string(col0 + ncols) +
                     ") out of range, shape " + dims_str(d));
    start[0] = row0;
    count[0] = nrows;
    start[1] = col0;
    count[1] = ncols;
  }
  std::uint64_t n = 0;
  if (!product(count, n)) w.fail_because("selection too large");
  void* out = sizer(ctx, n);
  if (n == 0) return;

  // The default transfer verifies checksums; a property list only to skip them.
  Hid xfer;
  if (!verify) {
    xfer = w.own(H5Pcreate(H5P_DATASET_XFER), Kind::Plist);
    w.check(H5Pset_edc_check(xfer.get(), H5Z_DISABLE_EDC));
  }
  const hid_t plist = verify ? H5P_DEFAULT : xfer.get();
  if (sel == detail::Selection::All) {
    w.check(H5Dread(id_.get(), mem_type(dt), H5S_ALL, H5S_ALL, plist, out));
    return;
  }
  const auto hs = to_hsize(start), hc = to_hsize(count);
  w.check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, hs.data(), nullptr, hc.data(), nullptr));
  Hid mspace = w.own(H5Screate_simple(static_cast<int>(hc.size()), hc.data(), nullptr),
                     Kind::Dataspace);
  w.check(H5Dread(id_.get(), mem_type(dt), mspace.get(), fspace.get(), plist, out));
}

std::uint64_t Dataset::append_raw(Dtype dt, const void* data, std::uint64_t n,
                                  std::uint64_t row_elems) {
  quiet();
  const Where w{"append to dataset " + path_, file_};
  if (!id_.valid()) w.fail_because("dataset handle is not open");
  if (row_elems == 0 || n % row_elems != 0)
    w.fail_because(std::to_string(n) + " values is not a whole number of rows of " +
                   std::to_string(row_elems));
  Hid fspace = w.own(H5Dget_space(id_.get()), Kind::Dataspace);
  const auto d = to_hsize(extent_of(fspace.get(), w));
  if (d.empty()) w.fail_because("dataset is scalar");
  const std::uint64_t old_rows = d[0];
  const std::uint64_t add = n / row_elems;
  if (add == 0) return old_rows;

  auto grown = d;
  grown[0] += add;
  w.check(H5Dset_extent(id_.get(), grown.data()));
  fspace = w.own(H5Dget_space(id_.get()), Kind::Dataspace);  // extent changed: fresh space
  std::vector<hsize_t> start(d.size(), 0), count = d;
  start[0] = old_rows;
  count[0] = add;
  herr_t rc =
      H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Hid mspace;
  if (rc >= 0) {
    mspace = Hid(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                 Kind::Dataspace);
    rc = mspace.valid() ? H5Dwrite(id_.get(), mem_type(dt), mspace.get(), fspace.get(), H5P_DEFAULT,
                                   data)
                        : -1;
  }
  if (rc < 0) {
    const std::string why = hdf5_detail();  // before the rollback clears the stack
    H5Dset_extent(id_.get(), d.data());      // best effort: do not leave fill rows behind
    H5Eclear2(H5E_DEFAULT);
    w.fail_because(why);
  }
  return grown[0];
}

namespace {

//! The calling thread's libdeflate compressor for a level, made on first use.
libdeflate_compressor* compressor(int level) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::unique_ptr<libdeflate_compressor, Free> by_level[10];
  auto& c = by_level[level];
  if (!c) c.reset(libdeflate_alloc_compressor(level));
  return c.get();
}

//! HDF5's shuffle filter: byte b of element i goes to b * n + i.
template <std::size_t Size>
void shuffle_bytes(const unsigned char* in, unsigned char* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t b = 0; b < Size; ++b) out[b * n + i] = in[i * Size + b];
}
void shuffle_bytes(const unsigned char* in, unsigned char* out, std::size_t n, std::size_t size) {
  switch (size) {  // the element sizes lepsim writes, unrolled
    case 4: return shuffle_bytes<4>(in, out, n);
    case 8: return shuffle_bytes<8>(in, out, n);
    default:
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t b = 0; b < size; ++b) out[b * n + i] = in[i * size + b];
  }
}

}  // namespace

void Dataset::encode_chunk(Dtype dt, const void* chunk, std::uint64_t elems, const Filters& filters,
                           std::vector<unsigned char>& out) {
  if (!filters.encode_here || filters.deflate < 1 || filters.deflate > 9 || filters.checksum)
    throw Error("chunks are encoded here only for deflate without checksum");
  const std::size_t size = type_size(dt), n = elems, bytes = n * size;
  thread_local std::vector<unsigned char> shuffled;
  const auto* in = static_cast<const unsigned char*>(chunk);
  if (filters.shuffle && size > 1) {
    shuffled.resize(bytes);
    shuffle_bytes(in, shuffled.data(), n, size);
    in = shuffled.data();
  }
  libdeflate_compressor* c = compressor(filters.deflate);
  if (!c) throw Error("out of memory for the deflate compressor");
  out.resize(libdeflate_zlib_compress_bound(c, bytes));
  const std::size_t used = libdeflate_zlib_compress(c, in, bytes, out.data(), out.size());
  if (used == 0) throw Error("deflate of a chunk failed");
  out.resize(used);
}

void Dataset::write_encoded_chunk(const std::vector<unsigned char>& encoded, std::uint64_t index, std::uint64_t chunk_rows,
                                  std::uint64_t rows) {
  quiet();
  const Where w{"append to dataset " + path_, file_};
  if (!id_.valid()) w.fail_because("dataset handle is not open");
  Hid fspace = w.own(H5Dget_space(id_.get()), Kind::Dataspace);
  auto d = to_hsize(extent_of(fspace.get(), w));
  if (d.empty()) w.fail_because("dataset is scalar");
  if (d[0] != rows) {
    d[0] = rows;
    w.check(H5Dset_extent(id_.get(), d.data()));
  }
  std::vector<hsize_t> offset(d.size(), 0);
  offset[0] = index * chunk_rows;
  w.check(H5Dwrite_chunk(id_.get(), H5P_DEFAULT, 0, offset.data(), encoded.size(), encoded.data()));
}

void Dataset::write_chunk_raw(Dtype dt, const void* chunk, std::uint64_t index, std::uint64_t chunk_rows,
                              std::uint64_t row_elems, std::uint64_t rows, const Filters& filters) {
  thread_local std::vector<unsigned char> encoded;
  try {
    encode_chunk(dt, chunk, chunk_rows * row_elems, filters, encoded);
  } catch (const Error& e) {
    const Where w{"append to dataset " + path_, file_};
    w.fail_because(e.what());
  }
  write_encoded_chunk(encoded, index, chunk_rows, rows);
}

// ---------------------------------------------------------------------------- Group

Group Group::create_group(const std::string& name) {
  quiet();
  const std::string p = join(path_, name);
  const Where w{"create group " + p, file_};
  Hid lcpl = utf8_name_plist(H5P_LINK_CREATE, w);
  Hid gcpl = untimed_plist(H5P_GROUP_CREATE, w);
  Hid g = w.own(H5Gcreate2(id_.get(), name.c_str(), lcpl.get(), gcpl.get(), H5P_DEFAULT), Kind::Group);
  return Group(std::move(g), file_, p);
}

Group Group::open_group(const std::string& name) const {
  quiet();
  const std::string p = join(path_, name);
  const Where w{"open group " + p, file_};
  Hid g = w.own(H5Gopen2(id_.get(), name.c_str(), H5P_DEFAULT), Kind::Group);
  return Group(std::move(g), file_, p);
}

bool Group::exists(const std::string& name) const {
  quiet();
  const Where w{"look up " + join(path_, name), file_};
  if (!id_.valid()) w.fail_because("group handle is not open");
  // H5Lexists only tests the last component: walk the path one link at a time.
  std::string prefix = (!name.empty() && name.front() == '/') ? "/" : "";
  std::size_t pos = 0;
  bool first = true;
  while (pos <= name.size()) {
    std::size_t end = name.find('/', pos);
    if (end == std::string::npos) end = name.size();
    const std::string comp = name.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    prefix += comp;
    const htri_t e = H5Lexists(id_.get(), prefix.c_str(), H5P_DEFAULT);
    if (e < 0) {
      if (first) w.fail();
      H5Eclear2(H5E_DEFAULT);  // an intermediate link is not a group
      return false;
    }
    if (e == 0) return false;
    prefix += '/';
    first = false;
  }
  return true;
}

namespace {
// The object's type from its header alone (H5O_INFO_BASIC): opening it (H5Oopen) would set
// a dataset up for I/O, ≈0.1 M instructions each, which a structure check of a run file's
// few hundred datasets paid every time.
H5I_type_t object_type(hid_t loc, const std::string& name) {
  H5O_info_t info{};
  if (H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);  // dangling soft link and the like
    return H5I_BADID;
  }
  switch (info.type) {
    case H5O_TYPE_GROUP: return H5I_GROUP;
    case H5O_TYPE_DATASET: return H5I_DATASET;
    case H5O_TYPE_NAMED_DATATYPE: return H5I_DATATYPE;
    default: return H5I_BADID;
  }
}
}  // namespace

bool Group::is_group(const std::string& name) const {
  return exists(name) && object_type(id_.get(), name) == H5I_GROUP;
}

bool Group::is_dataset(const std::string& name) const {
  return exists(name) && object_type(id_.get(), name) == H5I_DATASET;
}

void Group::remove(const std::string& name) {
  quiet();
  const Where w{"remove " + join(path_, name), file_};
  w.check(H5Ldelete(id_.get(), name.c_str(), H5P_DEFAULT));
}

std::vector<std::string> Group::list() const {
  quiet();
  const Where w{"list group " + path_, file_};
  H5G_info_t info;
  w.check(H5Gget_info(id_.get(), &info));
  std::vector<std::string> out;
  out.reserve(info.nlinks);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) w.fail();
    std::string s(static_cast<std::size_t>(len) + 1, '\0');
    if (H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size(),
                           H5P_DEFAULT) < 0)
      w.fail();
    s.resize(static_cast<std::size_t>(len));
    out.push_back(std::move(s));
  }
  return out;
}

Dataset Group::open_dataset(const std::string& name) const {
  quiet();
  const std::string p = join(path_, name);
  const Where w{"open dataset " + p, file_};
  Hid d = w.own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), Kind::Dataset);
  return Dataset(std::move(d), file_, p);
}

std::vector<std::uint64_t> Group::dims(const std::string& dataset) const {
  return open_dataset(dataset).dims();
}

Dataset Group::create_string_dataset(const std::string& name, const std::vector<const char*>& ptrs,
                                     bool scalar) {
  const std::string p = join(path_, name);
  const Where w{"create dataset " + p, file_};
  Hid type = utf8_vlen_type(w);
  const hsize_t n = ptrs.size();
  Hid space = w.own(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr),
                    Kind::Dataspace);
  Hid lcpl = utf8_name_plist(H5P_LINK_CREATE, w);
  Hid dcpl = untimed_plist(H5P_DATASET_CREATE, w);
  Hid d = w.own(H5Dcreate2(id_.get(), name.c_str(), type.get(), space.get(), lcpl.get(), dcpl.get(),
                           H5P_DEFAULT),
                Kind::Dataset);
  if (n > 0) {
    const Where ww{"write dataset " + p, file_};
    ww.check(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
  }
  return Dataset(std::move(d), file_, p);
}

Dataset Group::write_text(const std::string& name, std::string_view text) {
  quiet();
  check_no_nul(text, Where{"write dataset " + join(path_, name), file_});
  const std::string s(text);
  return create_string_dataset(name, {s.c_str()}, true);
}

std::string Group::read_text(const std::string& name) const {
  Dataset d = open_dataset(name);
  return read_one_string(d.id_.get(), false, Where{"read dataset " + d.path(), file_});
}

Dataset Group::write_strings(const std::string& name, const std::vector<std::string>& values) {
  quiet();
  const Where w{"write dataset " + join(path_, name), file_};
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& s : values) {
    check_no_nul(s, w);
    ptrs.push_back(s.c_str());
  }
  return create_string_dataset(name, ptrs, false);
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
  Dataset d = open_dataset(name);
  return read_strings_of(d.id_.get(), false, Where{"read dataset " + d.path(), file_});
}

Dataset Group::write_array_raw(const std::string& name, Dtype dt, const void* data, std::uint64_t n,
                               const std::vector<std::uint64_t>& dims) {
  quiet();
  const std::string p = join(path_, name);
  const Where w{"create dataset " + p, file_};
  std::uint64_t want = 0;
  if (!product(dims, want) || want != n)
    w.fail_because(std::to_string(n) + " values do not fill shape " + dims_str(dims));
  const auto hd = to_hsize(dims);
  Hid space = w.own(dims.empty() ? H5Screate(H5S_SCALAR)
                                 : H5Screate_simple(static_cast<int>(hd.size()), hd.data(), nullptr),
                    Kind::Dataspace);
  Hid lcpl = utf8_name_plist(H5P_LINK_CREATE, w);
  Hid dcpl = untimed_plist(H5P_DATASET_CREATE, w);
  if (n * type_size(dt) > 64 * 1024) {
    const auto chunk = pick_chunk(dims, type_size(dt));
    w.check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()));
    add_deflate(dcpl.get(), 4, w);  // level 4: most of the gain of 9 at a fraction of the time
  }
  Hid d = w.own(H5Dcreate2(id_.get(), name.c_str(), file_type(dt), space.get(), lcpl.get(),
                           dcpl.get(), H5P_DEFAULT),
                Kind::Dataset);
  if (n > 0) {
    const Where ww{"write dataset " + p, file_};
    ww.check(H5Dwrite(d.get(), mem_type(dt), H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  }
  return Dataset(std::move(d), file_, p);
}

Dataset Group::create_appendable_raw(const std::string& name, Dtype dt,
                                     const std::vector<std::uint64_t>& inner,
                                     std::uint64_t chunk_rows, const Filters& filters,
                                     std::uint64_t& row_size) {
  quiet();
  const std::string p = join(path_, name);
  const Where w{"create dataset " + p, file_};
  if (chunk_rows == 0) w.fail_because("chunk_rows must be positive");
  if (filters.deflate < 0 || filters.deflate > 9)
    w.fail_because("deflate level " + std::to_string(filters.deflate) + " is not in 0..9");
  if (filters.encode_here && (filters.deflate == 0 || filters.checksum))
    w.fail_because("chunks are encoded here only for deflate without checksum");
  if (!product(inner, row_size) || row_size == 0)
    w.fail_because("inner dims " + dims_str(inner) + " must all be positive");
  std::vector<hsize_t> cur{0}, max{H5S_UNLIMITED}, chunk{chunk_rows};
  for (auto x : inner) {
    cur.push_back(x);
    max.push_back(x);
    chunk.push_back(x);
  }
  Hid space = w.own(H5Screate_simple(static_cast<int>(cur.size()), cur.data(), max.data()),
                    Kind::Dataspace);
  Hid lcpl = utf8_name_plist(H5P_LINK_CREATE, w);
  Hid dcpl = untimed_plist(H5P_DATASET_CREATE, w);
  w.check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()));
  // Every row inside the extent is written by an append, so new chunks need no fill
  // values first (saves a memset of each chunk; rows past the extent are never read).
  w.check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER));
  if (filters.deflate > 0) add_deflate(dcpl.get(), filters.deflate, w, filters.shuffle);
  if (filters.checksum) w.check(H5Pset_fletcher32(dcpl.get()));
  // A chunk is filled by several appends: keep it (and the next) cached so it is
  // compressed and written once, not re-read and re-compressed per append. Datasets whose
  // chunks are encoded here (Appendable gathers them) need no cache.
  const std::uint64_t chunk_bytes = chunk_rows * row_size * type_size(dt);
  const std::uint64_t cache =
      filters.encode_here ? 0 : std::max<std::uint64_t>(1u << 20, std::min<std::uint64_t>(2 * chunk_bytes, 64u << 20));
  Hid dapl = w.own(H5Pcreate(H5P_DATASET_ACCESS), Kind::Plist);
  w.check(H5Pset_chunk_cache(dapl.get(), 521, cache, 1.0));  // 1.0: evict finished chunks first
  Hid d = w.own(H5Dcreate2(id_.get(), name.c_str(), file_type(dt), space.get(), lcpl.get(),
                           dcpl.get(), dapl.get()),
                Kind::Dataset);
  return Dataset(std::move(d), file_, p);
}

void Group::set_dataset_attr(const std::string& dataset, const std::string& attr,
                             std::string_view value) {
  open_dataset(dataset).set_attr(attr, value);
}

std::string Group::dataset_attr_string(const std::string& dataset, const std::string& attr) const {
  return open_dataset(dataset).attr_string(attr);
}

// ---------------------------------------------------------------------------- File

namespace {
Hid make_fapl(const Where& w) {
  Hid fapl = w.own(H5Pcreate(H5P_FILE_ACCESS), Kind::Plist);
#if H5_VERSION_GE(1, 10, 7)
  // Keep flock where it works, but do not fail on file systems without it (some NFS).
  w.check(H5Pset_file_locking(fapl.get(), 1, 1));
#endif
  return fapl;
}
}  // namespace

File File::create(const std::string& path) {
  quiet();
  const Where w{"create file " + path, path};
  Hid fcpl = untimed_plist(H5P_FILE_CREATE, w);  // covers the root group's header
  Hid fapl = make_fapl(w);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (id < 0) throw Error("cannot create file " + path + ": " + hdf5_detail());
  return File(Hid(id, Kind::File), path, true);
}

File File::open_read(const std::string& path) {
  quiet();
  const Where w{"open file " + path + " for reading", path};
  Hid fapl = make_fapl(w);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) throw Error("cannot open file " + path + " for reading: " + hdf5_detail());
  return File(Hid(id, Kind::File), path, false);
}

File File::open_write(const std::string& path) {
  quiet();
  const Where w{"open file " + path + " for writing", path};
  Hid fapl = make_fapl(w);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (id < 0) throw Error("cannot open file " + path + " for writing: " + hdf5_detail());
  return File(Hid(id, Kind::File), path, true);
}

Group File::root() const {
  quiet();
  if (!id_.valid()) throw Error("cannot open group / of " + path_ + ": file is not open");
  const Where w{"open group /", path_};
  Hid g = w.own(H5Gopen2(id_.get(), "/", H5P_DEFAULT), Kind::Group);
  return Group(std::move(g), path_, "/");
}

void File::flush() {
  quiet();
  if (!id_.valid()) throw Error("cannot flush " + path_ + ": file is not open");
  if (!writable_) return;
  if (H5Fflush(id_.get(), H5F_SCOPE_GLOBAL) < 0)
    throw Error("cannot flush file " + path_ + ": " + hdf5_detail());
}

void File::close() {
  quiet();
  if (!id_.valid()) return;
  std::string why;
  if (writable_ && H5Fflush(id_.get(), H5F_SCOPE_GLOBAL) < 0) why = hdf5_detail();
  // Release the id even when the flush failed, so nothing is retried in the destructor.
  if (id_.close() < 0 && why.empty()) why = hdf5_detail();
  if (!why.empty()) throw Error("cannot close file " + path_ + ": " + why);
}

std::uint64_t File::open_objects() const {
  quiet();
  if (!id_.valid()) return 0;
  const ssize_t n = H5Fget_obj_count(
      id_.get(), H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
  if (n < 0) throw Error("cannot count open objects of " + path_ + ": " + hdf5_detail());
  return static_cast<std::uint64_t>(n);
}

}  // namespace lepsim::h5
