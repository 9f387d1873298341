#pragma once
// Where the runtime reads the time. The daemon uses the system clock; tests
// and the simulator pass a clock they move by hand, so timers and expiries
// can be exercised without waiting.

#include <atomic>
#include <chrono>

#include "interpreter/route.hpp"

namespace portcullis::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch, UTC.
  virtual interpreter::Time now() const = 0;
};

class SystemClock final : public Clock {
 public:
  interpreter::Time now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that runs `factor` times faster than the system clock from the
// moment it is made. Only `portcullis demo --time-scale` uses it, so a
// demo can show an expiry without waiting for it; the daemon proper never
// scales time.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double factor)
      : factor_(factor), start_wall_(SystemClock().now()), start_(std::chrono::steady_clock::now()) {}
  interpreter::Time now() const override {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return start_wall_ + static_cast<interpreter::Time>(elapsed * factor_);
  }

 private:
  double factor_;
  interpreter::Time start_wall_;
  std::chrono::steady_clock::time_point start_;
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(interpreter::Time start) : now_(start) {}
  interpreter::Time now() const override { return now_.load(); }
  void set(interpreter::Time t) { now_.store(t); }
  void advance(interpreter::Time seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<interpreter::Time> now_;
};

}  // namespace portcullis::runtime
