#include "progress_display.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace lepsim::cli {
namespace {

int terminal_width(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

ProgressDisplay::ProgressDisplay(Progress& progress, std::FILE* out)
    : progress_(progress), out_(out), enabled_(isatty(fileno(out)) == 1) {
  if (!enabled_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      draw();
      wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    }
  });
}

void ProgressDisplay::draw() {
  // One less than the width: a line that fills the terminal would wrap on some emulators.
  const std::string text = Progress::line(progress_.snapshot(), terminal_width(out_) - 1);
  // \r, the text, then erase to the end of the line: a shorter line leaves nothing behind.
  std::fprintf(out_, "\r%s\x1b[K", text.c_str());
  std::fflush(out_);
  drawn_ = text.size();
}

void ProgressDisplay::close(bool success) {
  if (closed_) return;
  closed_ = true;
  if (!enabled_) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (success) {
    progress_.finish();
    draw();
    std::fputc('\n', out_);
  } else if (drawn_ > 0) {
    std::fputs("\r\x1b[K", out_);  // cleared: the error message starts on a clean line
  }
  std::fflush(out_);
}

ProgressDisplay::~ProgressDisplay() { close(false); }

}  // namespace lepsim::cli
