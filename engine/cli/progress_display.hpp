#pragma once
// Draws a lepsim::Progress on a terminal: one line, redrawn ten times a second from a
// background thread (so it moves while the work writes files), finished with a newline
// on success and cleared on failure. Nothing is drawn when the stream is not a terminal.

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "lepsim/progress.hpp"

namespace lepsim::cli {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(Progress& progress, std::FILE* out = stderr);
  //! Without close(true) (an exception unwinding): the line is cleared.
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  //! Stops redrawing; success: the final line ("100% 2000/2000 replications in 4s") stays.
  void close(bool success);

 private:
  void draw();
  Progress& progress_;
  std::FILE* out_;
  bool enabled_;
  bool closed_ = false, stop_ = false;
  std::size_t drawn_ = 0;  //!< characters on the line now
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace lepsim::cli
