// Clock: the one source of "now" for everything that depends on time (tx expiration, leases,
// timers). Production code gets SystemClock; tests get ManualClock and move time themselves instead
// of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace relay::common {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Milliseconds since the Unix epoch: the unit of every TRON timestamp and expiration.
  int64_t now_ms() const;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Starts at a fixed instant and moves only when told to; safe to read from several threads.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_(start) {}
  static ManualClock at_ms(int64_t unix_ms);

  TimePoint now() const override;
  void advance(std::chrono::milliseconds by);
  void set(TimePoint to);

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

}  // namespace relay::common
