#pragma once
// Time enters the system through Clock so tests can drive it by hand (ManualClock).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tacos {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time in milliseconds since the Unix epoch.
  virtual std::int64_t now_ms() const = 0;
  /// Monotonic time in microseconds (arbitrary origin), for durations and ordering.
  virtual std::int64_t steady_us() const = 0;
  std::int64_t now_sec() const { return now_ms() / 1000; }
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  std::int64_t steady_us() const override {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
  }
  /// A process-wide instance for production wiring.
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

/// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000) : ms_(start_ms), us_(0) {}
  std::int64_t now_ms() const override { return ms_.load(); }
  std::int64_t steady_us() const override { return us_.load(); }
  void advance_ms(std::int64_t ms) {
    ms_ += ms;
    us_ += ms * 1000;
  }
  void advance_us(std::int64_t us) { us_ += us; }
  void set_ms(std::int64_t ms) { ms_ = ms; }

 private:
  std::atomic<std::int64_t> ms_;
  std::atomic<std::int64_t> us_;
};

}  // namespace tacos
