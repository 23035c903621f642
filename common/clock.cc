#include "common/clock.h"

namespace relay::common {

int64_t Clock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

ManualClock ManualClock::at_ms(int64_t unix_ms) {
  return ManualClock(TimePoint(std::chrono::milliseconds(unix_ms)));
}

TimePoint ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

void ManualClock::advance(std::chrono::milliseconds by) {
  std::lock_guard lock(mutex_);
  now_ += by;
}

void ManualClock::set(TimePoint to) {
  std::lock_guard lock(mutex_);
  now_ = to;
}

}  // namespace relay::common
