#pragma once
// A text file written whole or not at all, as every file lepsim writes: under
// `NAME.tmp-PID` beside the final name, renamed into place by commit(). Used by
// `lepsim export` and `lepsim report` (the run file does the same through HDF5).

#include <cstdio>
#include <string>
#include <string_view>

namespace lepsim::analysis::detail {

class AtomicFile {
 public:
  //! Creates the temporary beside `path`. Throws OutputError naming `path` and the reason.
  explicit AtomicFile(std::string path);
  //! Without commit(), removes the temporary: nothing is left under either name.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  //! Throws OutputError (disk full, file too large, ...).
  void write(std::string_view text);
  //! Closes the temporary and renames it to the final name. Throws OutputError, and then
  //! the temporary is gone.
  void commit();

  const std::string& path() const noexcept { return path_; }
  const std::string& temp_path() const noexcept { return temp_; }

 private:
  [[noreturn]] void fail(const std::string& what, int error);

  std::string path_, temp_;
  std::FILE* f_ = nullptr;
};

}  // namespace lepsim::analysis::detail
