#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "lepsim/error.hpp"

namespace lepsim::analysis::detail {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_(path_ + ".tmp-" + std::to_string(::getpid())) {
  f_ = std::fopen(temp_.c_str(), "wb");
  if (!f_) {
    const int e = errno;
    throw OutputError("cannot write " + path_ + ": cannot create " + temp_ + ": " + std::strerror(e));
  }
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!temp_.empty()) std::remove(temp_.c_str());
}

void AtomicFile::fail(const std::string& what, int error) {
  if (f_) std::fclose(f_);
  f_ = nullptr;
  std::remove(temp_.c_str());
  temp_.clear();
  throw OutputError("cannot write " + path_ + ": " + what + ": " + std::strerror(error));
}

void AtomicFile::write(std::string_view text) {
  if (!f_) throw OutputError("cannot write " + path_ + ": the file is already closed");
  throw_if_interrupted(path_ + " was not written");
  if (std::fwrite(text.data(), 1, text.size(), f_) != text.size()) fail("writing " + temp_, errno);
}

void AtomicFile::commit() {
  if (!f_) throw OutputError("cannot write " + path_ + ": the file is already closed");
  throw_if_interrupted(path_ + " was not written");
  std::FILE* f = f_;
  f_ = nullptr;
  const bool flushed = std::fflush(f) == 0;
  const int flush_errno = errno;
  if (std::fclose(f) != 0 || !flushed) fail("writing " + temp_, flushed ? errno : flush_errno);
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail("renaming " + temp_ + " to " + path_, errno);
  temp_.clear();  // committed: nothing to remove
}

}  // namespace lepsim::analysis::detail
