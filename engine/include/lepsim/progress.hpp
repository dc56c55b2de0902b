#pragma once
// A count of finished units of work (replications of a run, units of an experiment)
// shared by the threads that finish them and a display that draws it (docs/analysis.md,
// "Progress"). The count only goes up, whatever order concurrent reports arrive in.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace lepsim {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  //! `unit`: what is counted, plural ("replications").
  Progress(std::int64_t total, std::string unit);

  //! `done` units are finished (any thread, any order): the count becomes the largest seen,
  //! never more than the total.
  void reached(std::int64_t done) noexcept;
  //! What the work does now when it finishes no unit (e.g. "writing summaries"); "" for none.
  void set_phase(std::string phase);
  //! The work has ended: the count is final and the display draws its last line.
  void finish() noexcept;
  //! The work ended early and complete at `total` units (a run that met its precision):
  //! the count and the total both become `total`.
  void finish_at(std::int64_t total) noexcept;

  struct Snapshot {
    std::int64_t done = 0, total = 0;
    std::string unit, phase;
    double elapsed_s = 0;  //!< since construction
    double eta_s = -1;     //!< seconds left, -1 while not yet known
    bool finished = false;
  };
  Snapshot snapshot() const;

  //! One line for a terminal of `width` columns, e.g.
  //! "[##########          ]  34% 680/2000 replications  ETA 8s". Never wider than `width`.
  static std::string line(const Snapshot& s, int width);

 private:
  std::atomic<std::int64_t> total_;
  std::string unit_;
  Clock::time_point start_;
  std::atomic<std::int64_t> done_{0};
  std::atomic<bool> finished_{false};
  mutable std::mutex mutex_;
  std::string phase_;
  // The rate is measured from the first report on, so the start-up (building simulators,
  // opening the file) does not inflate the first estimates.
  Clock::time_point first_time_{};
  std::int64_t first_done_ = -1;
  std::atomic<bool> have_first_{false};
};

//! "4s", "2m05s", "1h10m".
std::string duration_text(double seconds);

}  // namespace lepsim
