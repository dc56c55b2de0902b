#pragma once
// The low-level pieces of lepsim's checkpoint journals (`<output>.partial`): the FNV-1a
// checksum of every header and record, whole writes and reads, and opening a journal with
// an exclusive lock. Shared by experiments (experiment_run.cpp) and runs (run.cpp);
// docs/run-file-format.md ("The checkpoint journal") and docs/experiments.md describe them.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "lepsim/error.hpp"

namespace lepsim::detail {

//! FNV-1a, 64 bits: the checksum of journal headers and records and the run's identity.
struct Fnv {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
  void add(const std::string& s) {
    const std::uint64_t n = s.size();
    add(&n, sizeof n);
    add(s.data(), s.size());
  }
  template <class T>
  void add_value(T v) {
    add(&v, sizeof v);
  }
};

//! Writes all n bytes at the file position; throws OutputError naming the checkpoint.
inline void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw OutputError("cannot write the checkpoint " + path + ": " + std::strerror(errno));
    }
    p += w, n -= static_cast<std::size_t>(w);
  }
}

//! Reads exactly n bytes at offset; false at the end of the file or on an error.
inline bool read_at(int fd, void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r, n -= static_cast<std::size_t>(r), offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

//! Opens (creating) a journal for reading and appending and takes an exclusive lock on it,
//! so two processes never write one checkpoint; throws OutputError.
inline int open_journal(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError("cannot open the checkpoint " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw OutputError("the checkpoint " + path + " is in use by another lepsim process");
  }
  return fd;
}

//! Closes a journal found unfit while opening it and throws OutputError("the checkpoint
//! PATH WHY").
[[noreturn]] inline void journal_failed(int& fd, const std::string& path, const std::string& why) {
  ::close(fd);
  fd = -1;
  throw OutputError("the checkpoint " + path + " " + why);
}

}  // namespace lepsim::detail
