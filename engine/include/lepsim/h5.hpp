#pragma once
// HDF5 access layer: the only part of lepsim that talks to the HDF5 C API.
// Every hid_t is owned by a move-only handle; every failure is a lepsim::h5::Error
// naming the file, the object inside it and the operation.
//
// Threads: Debian's libhdf5 is built thread-safe, so different handles may be used
// from different threads (HDF5 serialises the calls); one handle object is not
// itself synchronised.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace lepsim::h5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T>
concept Scalar = std::same_as<T, std::int8_t> || std::same_as<T, std::int16_t> ||
                 std::same_as<T, std::int32_t> || std::same_as<T, std::int64_t> ||
                 std::same_as<T, std::uint8_t> || std::same_as<T, std::uint16_t> ||
                 std::same_as<T, std::uint32_t> || std::same_as<T, std::uint64_t> ||
                 std::same_as<T, float> || std::same_as<T, double>;

// Anything contiguous of Scalars: std::vector, std::array, std::span, C arrays.
template <class R>
concept ScalarRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      Scalar<std::remove_cv_t<std::ranges::range_value_t<R>>>;

namespace detail {

enum class Dtype : std::uint8_t { I8, I16, I32, I64, U8, U16, U32, U64, F32, F64 };

template <Scalar T>
constexpr Dtype dtype_of() {
  if constexpr (std::same_as<T, std::int8_t>) return Dtype::I8;
  else if constexpr (std::same_as<T, std::int16_t>) return Dtype::I16;
  else if constexpr (std::same_as<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::same_as<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::same_as<T, std::uint8_t>) return Dtype::U8;
  else if constexpr (std::same_as<T, std::uint16_t>) return Dtype::U16;
  else if constexpr (std::same_as<T, std::uint32_t>) return Dtype::U32;
  else if constexpr (std::same_as<T, std::uint64_t>) return Dtype::U64;
  else if constexpr (std::same_as<T, float>) return Dtype::F32;
  else return Dtype::F64;
}

// Which H5?close releases an id.
enum class Kind : std::uint8_t { File, Group, Dataset, Attribute, Dataspace, Datatype, Plist, Object };

// Move-only owner of one hid_t (hid_t is int64_t since HDF5 1.10; checked in h5.cpp).
class Hid {
 public:
  Hid() noexcept = default;
  Hid(std::int64_t id, Kind kind) noexcept : id_(id), kind_(kind) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& o) noexcept : id_(std::exchange(o.id_, -1)), kind_(o.kind_) {}
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      kind_ = o.kind_;
    }
    return *this;
  }
  ~Hid() { reset(); }

  std::int64_t get() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }
  // Closes silently (destructor path); failures only bump diag::failed_closes().
  void reset() noexcept;
  // Closes and returns the H5?close status (< 0 on failure); the id is gone either way.
  int close() noexcept;

 private:
  std::int64_t id_ = -1;
  Kind kind_ = Kind::Object;
};

// Called with the element count once it is known; returns where to read into.
using Sizer = void* (*)(void* ctx, std::uint64_t n);

template <class T>
void* vector_sizer(void* ctx, std::uint64_t n) {
  auto& v = *static_cast<std::vector<T>*>(ctx);
  v.resize(static_cast<std::size_t>(n));
  return v.data();
}

template <class T>
void* value_sizer(void* ctx, std::uint64_t) {
  return ctx;
}

enum class Selection : std::uint8_t { All, Rows, Block };

}  // namespace detail

// Diagnostics used by the tests to prove there are no leaks and no double closes.
namespace diag {
// Files, groups, datasets, named datatypes and attributes open in the process.
// (HDF5 1.10 cannot count open dataspaces, transient types or property lists.)
std::uint64_t open_ids();
// How many silent (destructor) closes have failed since start-up; a double close would count here.
std::uint64_t failed_closes();
}  // namespace diag

// Something that carries attributes: a group (or the file root) or a dataset.
class Object {
 public:
  Object() = default;
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;

  bool valid() const noexcept { return id_.valid(); }
  const std::string& file_path() const noexcept { return file_; }
  const std::string& path() const noexcept { return path_; }

  // Attributes are replaced when they already exist (the type may change).
  void set_attr(const std::string& name, std::string_view value);  // scalar vlen UTF-8 string
  template <Scalar T>
  void set_attr(const std::string& name, T value) {
    set_attr_raw(name, detail::dtype_of<T>(), &value, 1, true);
  }
  template <ScalarRange R>  // 1-D array attribute
  void set_attr(const std::string& name, const R& values) {
    using T = std::remove_cv_t<std::ranges::range_value_t<R>>;
    set_attr_raw(name, detail::dtype_of<T>(), std::ranges::data(values), std::ranges::size(values),
                 false);
  }

  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;  // sorted by name
  // Reads a one-element string attribute (variable- or fixed-length storage).
  std::string attr_string(const std::string& name) const;
  // Reads a one-element numeric attribute, converted by HDF5 (out-of-range integers saturate).
  template <Scalar T>
  T attr(const std::string& name) const {
    T v{};
    read_attr_raw(name, detail::dtype_of<T>(), true, &detail::value_sizer<T>, &v);
    return v;
  }
  // Reads every element of a numeric attribute, flattened row-major.
  template <Scalar T>
  std::vector<T> attr_array(const std::string& name) const {
    std::vector<T> v;
    read_attr_raw(name, detail::dtype_of<T>(), false, &detail::vector_sizer<T>, &v);
    return v;
  }

 protected:
  Object(detail::Hid id, std::string file, std::string path)
      : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}

  detail::Hid id_;
  std::string file_;
  std::string path_;

 private:
  void set_attr_raw(const std::string& name, detail::Dtype dt, const void* data, std::uint64_t n,
                    bool scalar);
  void read_attr_raw(const std::string& name, detail::Dtype dt, bool single, detail::Sizer sizer,
                     void* ctx) const;
};

//! How an appendable dataset's chunks are stored. Filters run in the order listed.
struct Filters {
  bool shuffle = false;   //!< byte shuffle before deflate
  int deflate = 0;        //!< 0 = none, 1..9 = zlib level
  bool checksum = false;  //!< Fletcher-32, so corruption of a chunk no codec checks is detected on read
  //! Deflate without checksum only: the appendable gathers whole chunks and encodes them
  //! itself (libdeflate, 1.5-2x faster than HDF5's zlib pass) and writes them directly. Rows
  //! then reach the file at each full chunk and at flush() / close(), not at each append.
  bool encode_here = false;
};

class Dataset : public Object {
 public:
  Dataset() = default;

  std::vector<std::uint64_t> dims() const;  // empty for a scalar dataset
  // What one element is stored as in the file (a string's size is its pointer's when variable-length).
  enum class ElementClass : std::uint8_t { Integer, Float, String, Other };
  struct Element {
    ElementClass kind;
    std::size_t bytes;
  };
  Element element() const;

  // Whole dataset, flattened row-major; numeric conversion by HDF5.
  template <Scalar T>
  std::vector<T> read(std::vector<std::uint64_t>* dims = nullptr) const {
    std::vector<T> v;
    read_raw(detail::dtype_of<T>(), detail::Selection::All, 0, 0, 0, 0, &detail::vector_sizer<T>,
             &v, dims, true);
    return v;
  }
  // Rows [row0, row0+nrows) of the first dimension, all of the others.
  template <Scalar T>
  std::vector<T> read_rows(std::uint64_t row0, std::uint64_t nrows) const {
    std::vector<T> v;
    read_raw(detail::dtype_of<T>(), detail::Selection::Rows, row0, nrows, 0, 0,
             &detail::vector_sizer<T>, &v, nullptr, true);
    return v;
  }
  // Rows [row0, row0+nrows) x second-dimension [col0, col0+ncols) x all remaining dims.
  // verify = false skips the chunks' Fletcher-32 checks: only for reading back what this
  // process has just written (the checksums stay in the file for every later reader).
  template <Scalar T>
  std::vector<T> read_block(std::uint64_t row0, std::uint64_t nrows, std::uint64_t col0,
                            std::uint64_t ncols, bool verify = true) const {
    std::vector<T> v;
    read_raw(detail::dtype_of<T>(), detail::Selection::Block, row0, nrows, col0, ncols,
             &detail::vector_sizer<T>, &v, nullptr, verify);
    return v;
  }

 private:
  friend class Group;
  template <Scalar>
  friend class Appendable;

  Dataset(detail::Hid id, std::string file, std::string path)
      : Object(std::move(id), std::move(file), std::move(path)) {}

  void read_raw(detail::Dtype dt, detail::Selection sel, std::uint64_t row0, std::uint64_t nrows,
                std::uint64_t col0, std::uint64_t ncols, detail::Sizer sizer, void* ctx,
                std::vector<std::uint64_t>* dims_out, bool verify) const;
  // Extends the first dimension by n / row_elems rows and writes them; returns the new row count.
  std::uint64_t append_raw(detail::Dtype dt, const void* data, std::uint64_t n,
                           std::uint64_t row_elems);
  // Encodes one whole chunk (chunk_rows rows, row-major) through `filters` itself and writes
  // it as chunk `index` (HDF5's direct chunk write), after setting the extent to `rows`.
  void write_chunk_raw(detail::Dtype dt, const void* chunk, std::uint64_t index,
                       std::uint64_t chunk_rows, std::uint64_t row_elems, std::uint64_t rows,
                       const Filters& filters);
  // The two halves of write_chunk_raw: encode_chunk makes no HDF5 call (any thread may run
  // it, on its own `out`); write_encoded_chunk hands the bytes to HDF5.
  static void encode_chunk(detail::Dtype dt, const void* chunk, std::uint64_t elems, const Filters& filters,
                           std::vector<unsigned char>& out);
  void write_encoded_chunk(const std::vector<unsigned char>& encoded, std::uint64_t index, std::uint64_t chunk_rows,
                           std::uint64_t rows);
};

// N-D dataset [rows, inner...] whose first dimension grows with every append.
template <Scalar T>
class Appendable {
 public:
  Appendable() = default;

  // rows_data.size() must be a multiple of row_size(). With Filters::encode_here rows are
  // gathered into a whole chunk, encoded here and written directly (HDF5's chunk cache and
  // its zlib pass are skipped; the bytes are the standard deflate stream any HDF5 reader
  // inflates). Otherwise one extend + one hyperslab write per call.
  void append(std::span<const T> rows_data) {
    if (pending_.empty()) {
      rows_ = ds_.append_raw(detail::dtype_of<T>(), rows_data.data(), rows_data.size(), row_size_);
      return;
    }
    fill(rows_data, false);
  }
  //! Whether append gathers and encodes whole chunks itself (Filters::encode_here).
  bool encodes_here() const noexcept { return !pending_.empty(); }
  //! append's first half, for encodes_here() datasets: the rows are gathered and every
  //! chunk they fill is encoded, with no HDF5 call, so several datasets can be staged on
  //! several threads at once; commit() then writes those chunks, on one thread, in the
  //! order (and with the same HDF5 calls) append would have.
  void stage(std::span<const T> rows_data) {
    if (pending_.empty()) throw Error(ds_.file_path() + ": dataset " + ds_.path() + " is not encoded here");
    fill(rows_data, true);
  }
  void commit() {
    for (std::size_t i = 0; i < staged_count_; ++i) {
      const Staged& c = staged_[i];
      ds_.write_encoded_chunk(c.encoded, c.index, chunk_rows_, c.rows);
    }
    staged_count_ = 0;
  }
  // Writes the partly filled last chunk (kept pending, so later appends rewrite it).
  // With Filters::encode_here rows are in the file only after this or a full chunk.
  void flush() {
    if (filled_ == 0) return;
    std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(filled_), pending_.end(), T{});
    write_pending();
  }
  // flush(), then release the dataset.
  void close() {
    if (!encoded_.empty()) {
      ds_.write_encoded_chunk(encoded_, chunk_index_, chunk_rows_, rows_);  // as encoded by prepare_close()
    } else {
      flush();
    }
    *this = Appendable();
  }
  // Encodes the partly filled last chunk for close() without any HDF5 call, so a caller may
  // prepare many datasets' last chunks on several threads and then close them on one; no
  // append may follow. Does nothing for datasets HDF5 encodes.
  void prepare_close() {
    if (filled_ == 0 || pending_.empty()) return;
    std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(filled_), pending_.end(), T{});
    Dataset::encode_chunk(detail::dtype_of<T>(), pending_.data(), pending_.size(), filters_, encoded_);
  }
  std::uint64_t rows() const noexcept { return rows_; }
  std::uint64_t row_size() const noexcept { return row_size_; }  // values per row
  const std::vector<std::uint64_t>& inner_dims() const noexcept { return inner_; }

  void set_attr(const std::string& name, std::string_view value) { ds_.set_attr(name, value); }
  Dataset& dataset() noexcept { return ds_; }  // full attribute API, reads
  const Dataset& dataset() const noexcept { return ds_; }

 private:
  friend class Group;
  Appendable(Dataset ds, std::vector<std::uint64_t> inner, std::uint64_t row_size, std::uint64_t chunk_rows,
             const Filters& filters)
      : ds_(std::move(ds)), inner_(std::move(inner)), row_size_(row_size), chunk_rows_(chunk_rows), filters_(filters) {
    if (filters.encode_here) pending_.resize(chunk_rows * row_size);
  }
  void write_pending() {
    ds_.write_chunk_raw(detail::dtype_of<T>(), pending_.data(), chunk_index_, chunk_rows_, row_size_, rows_, filters_);
  }
  void fill(std::span<const T> rows_data, bool staged) {
    if (rows_data.size() % row_size_ != 0)
      throw Error(ds_.file_path() + ": append to dataset " + ds_.path() + ": " + std::to_string(rows_data.size()) +
                  " values is not a whole number of rows of " + std::to_string(row_size_));
    for (std::size_t done = 0; done < rows_data.size();) {
      const std::size_t n = std::min(pending_.size() - filled_, rows_data.size() - done);
      std::copy_n(rows_data.data() + done, n, pending_.data() + filled_);
      filled_ += n, done += n;
      rows_ += n / row_size_;
      if (filled_ == pending_.size()) {
        if (staged) {
          if (staged_count_ == staged_.size()) staged_.emplace_back();  // buffers are reused
          Staged& c = staged_[staged_count_++];
          c.index = chunk_index_, c.rows = rows_;
          Dataset::encode_chunk(detail::dtype_of<T>(), pending_.data(), pending_.size(), filters_, c.encoded);
        } else {
          write_pending();
        }
        ++chunk_index_, filled_ = 0;
      }
    }
  }
  struct Staged {  // a chunk encoded by stage(), for commit()
    std::vector<unsigned char> encoded;
    std::uint64_t index = 0, rows = 0;  // its chunk index, and the dataset's rows once it is written
  };

  Dataset ds_;
  std::vector<std::uint64_t> inner_;
  std::uint64_t row_size_ = 0;
  std::uint64_t rows_ = 0;
  std::uint64_t chunk_rows_ = 0;
  Filters filters_;
  std::vector<T> pending_;  // the chunk being filled (direct writes only)
  std::vector<unsigned char> encoded_;  // the last chunk, encoded by prepare_close()
  std::vector<Staged> staged_;          // [0, staged_count_): encoded by stage(), not yet written
  std::size_t staged_count_ = 0;
  std::size_t filled_ = 0;  // values in pending_
  std::uint64_t chunk_index_ = 0;
};

class Group : public Object {
 public:
  Group() = default;

  // Names are relative to this group (or absolute with a leading '/').
  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  bool exists(const std::string& name) const;  // link exists (intermediate groups may be missing)
  bool is_group(const std::string& name) const;
  bool is_dataset(const std::string& name) const;
  void remove(const std::string& name);  // unlinks a child (the space is not reclaimed)
  std::vector<std::string> list() const;  // child link names, in name order

  Dataset open_dataset(const std::string& name) const;
  std::vector<std::uint64_t> dims(const std::string& dataset) const;

  // Scalar variable-length UTF-8 string dataset.
  Dataset write_text(const std::string& name, std::string_view text);
  std::string read_text(const std::string& name) const;
  // 1-D variable-length UTF-8 strings (h5py: bytes by default, .asstr() for str).
  Dataset write_strings(const std::string& name, const std::vector<std::string>& values);
  std::vector<std::string> read_strings(const std::string& name) const;

  // Row-major data with the given shape (empty dims = scalar). Contiguous, or chunked
  // with shuffle+deflate when larger than 64 KiB.
  template <ScalarRange R>
  Dataset write_array(const std::string& name, const R& data,
                      const std::vector<std::uint64_t>& dims) {
    using T = std::remove_cv_t<std::ranges::range_value_t<R>>;
    return write_array_raw(name, detail::dtype_of<T>(), std::ranges::data(data),
                           std::ranges::size(data), dims);
  }
  template <ScalarRange R>  // 1-D
  Dataset write_array(const std::string& name, const R& data) {
    return write_array(name, data, {static_cast<std::uint64_t>(std::ranges::size(data))});
  }
  template <Scalar T>
  std::vector<T> read_array(const std::string& name,
                            std::vector<std::uint64_t>* dims = nullptr) const {
    return open_dataset(name).read<T>(dims);
  }
  template <Scalar T>
  std::vector<T> read_rows(const std::string& name, std::uint64_t row0, std::uint64_t nrows) const {
    return open_dataset(name).read_rows<T>(row0, nrows);
  }
  template <Scalar T>
  std::vector<T> read_block(const std::string& name, std::uint64_t row0, std::uint64_t nrows,
                            std::uint64_t col0, std::uint64_t ncols, bool verify = true) const {
    return open_dataset(name).read_block<T>(row0, nrows, col0, ncols, verify);
  }

  // Shape [0, inner...] growing to [unlimited, inner...]; chunks of chunk_rows rows,
  // stored through `filters` (all HDF5's own filters, so any HDF5 reader decodes them).
  template <Scalar T>
  Appendable<T> create_appendable(const std::string& name, std::vector<std::uint64_t> inner_dims,
                                  std::uint64_t chunk_rows, const Filters& filters) {
    std::uint64_t row_size = 0;
    Dataset ds = create_appendable_raw(name, detail::dtype_of<T>(), inner_dims, chunk_rows,
                                       filters, row_size);
    return Appendable<T>(std::move(ds), std::move(inner_dims), row_size, chunk_rows, filters);
  }

  void set_dataset_attr(const std::string& dataset, const std::string& attr,
                        std::string_view value);
  std::string dataset_attr_string(const std::string& dataset, const std::string& attr) const;

 private:
  friend class File;
  Group(detail::Hid id, std::string file, std::string path)
      : Object(std::move(id), std::move(file), std::move(path)) {}

  Dataset write_array_raw(const std::string& name, detail::Dtype dt, const void* data,
                          std::uint64_t n, const std::vector<std::uint64_t>& dims);
  Dataset create_appendable_raw(const std::string& name, detail::Dtype dt,
                                const std::vector<std::uint64_t>& inner, std::uint64_t chunk_rows,
                                const Filters& filters, std::uint64_t& row_size);
  Dataset create_string_dataset(const std::string& name, const std::vector<const char*>& ptrs,
                                bool scalar);
};

class File {
 public:
  File() = default;
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;

  static File create(const std::string& path);     // truncates an existing file
  static File open_read(const std::string& path);  // read-only
  static File open_write(const std::string& path); // read-write, to amend an existing file

  Group root() const;
  void flush();
  // Flushes and releases the file id, reporting errors (the destructor closes silently).
  // Handles still open keep HDF5's underlying file open until they are destroyed.
  void close();
  bool is_open() const noexcept { return id_.valid(); }
  const std::string& path() const noexcept { return path_; }
  // Groups, datasets, attributes and named types still open through this file.
  std::uint64_t open_objects() const;

 private:
  File(detail::Hid id, std::string path, bool writable)
      : id_(std::move(id)), path_(std::move(path)), writable_(writable) {}

  detail::Hid id_;
  std::string path_;
  bool writable_ = false;
};

}  // namespace lepsim::h5
