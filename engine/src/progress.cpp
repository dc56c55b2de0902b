#include "lepsim/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace lepsim {

Progress::Progress(std::int64_t total, std::string unit)
    : total_(std::max<std::int64_t>(total, 0)), unit_(std::move(unit)), start_(Clock::now()) {}

void Progress::reached(std::int64_t done) noexcept {
  done = std::clamp<std::int64_t>(done, 0, total_.load(std::memory_order_relaxed));
  std::int64_t seen = done_.load(std::memory_order_relaxed);
  while (seen < done && !done_.compare_exchange_weak(seen, done, std::memory_order_relaxed)) {
  }
  if (!have_first_.load(std::memory_order_acquire)) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (first_done_ < 0) first_time_ = Clock::now(), first_done_ = done;
    have_first_.store(true, std::memory_order_release);
  }
}

void Progress::set_phase(std::string phase) {
  const std::lock_guard<std::mutex> lock(mutex_);
  phase_ = std::move(phase);
}

void Progress::finish() noexcept { finished_.store(true); }

void Progress::finish_at(std::int64_t total) noexcept {
  total_.store(std::max<std::int64_t>(total, 0));
  done_.store(total_.load());
  finished_.store(true);
}

Progress::Snapshot Progress::snapshot() const {
  Snapshot s;
  const auto now = Clock::now();
  s.done = done_.load(std::memory_order_relaxed);
  s.total = total_.load();
  s.unit = unit_;
  s.finished = finished_.load();
  s.elapsed_s = std::chrono::duration<double>(now - start_).count();
  const std::lock_guard<std::mutex> lock(mutex_);
  s.phase = phase_;
  if (first_done_ >= 0 && s.done < s.total) {
    const double since = std::chrono::duration<double>(now - first_time_).count();
    const auto gained = static_cast<double>(s.done - first_done_);
    // At least half a second and one unit of evidence before an estimate is shown.
    if (since >= 0.5 && gained >= 1) s.eta_s = static_cast<double>(s.total - s.done) * since / gained;
  }
  return s;
}

std::string duration_text(double seconds) {
  char buf[32];
  const auto whole = static_cast<long long>(seconds + 0.5);
  if (seconds < 59.5)
    std::snprintf(buf, sizeof buf, "%llds", whole);
  else if (seconds < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", whole / 60, whole % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", whole / 3600, (whole % 3600) / 60);
  return buf;
}

std::string Progress::line(const Snapshot& s, int width) {
  const double frac = s.total > 0 ? static_cast<double>(s.done) / static_cast<double>(s.total) : 1.0;
  constexpr int BAR = 20;
  const int filled = std::clamp(static_cast<int>(frac * BAR), 0, BAR);
  // 100% only when every unit is done: 1999/2000 shows 99%, not a rounded 100%.
  const int percent = s.done >= s.total ? 100 : std::min(99, static_cast<int>(frac * 100));
  std::string out = "[";  // (appends: GCC 12 warns falsely on "literal" + string chains)
  out.append(static_cast<std::size_t>(filled), '#');
  out.append(static_cast<std::size_t>(BAR - filled), ' ');
  out += "] ";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%3d%% %lld/%lld ", percent, static_cast<long long>(s.done),
                static_cast<long long>(s.total));
  out += buf;
  out += s.unit;
  if (s.finished) {
    out += " in ";
    out += duration_text(s.elapsed_s);
  } else if (!s.phase.empty()) {
    out += ", ";
    out += s.phase;
    out += " (";
    out += duration_text(s.elapsed_s);
    out += ")";
  } else if (s.eta_s >= 0) {
    out += "  ETA ";
    out += duration_text(s.eta_s);
  }
  if (width > 0 && static_cast<int>(out.size()) > width) out.resize(static_cast<std::size_t>(width));
  return out;
}

}  // namespace lepsim
