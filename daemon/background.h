// PeriodicTask: runs one function every `interval` on a thread of its own until stopped — the
// daemon's housekeeping (the chain tx sweeper, lease recovery) that must not block the signal
// loop, which pings the watchdog. AdvisoryLeadership: scheduler::Leadership over a PostgreSQL
// advisory lock, so that one daemon of several keeps the precise reclaim timers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "scheduler/job_runner.h"
#include "store/advisory_lock.h"

namespace relay::daemon {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> run)
      : interval_(interval), run_(std::move(run)) {}
  ~PeriodicTask() { stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // The first run is one interval from now.
  void start();
  void stop();

 private:
  const std::chrono::milliseconds interval_;
  const std::function<void()> run_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

class AdvisoryLeadership final : public scheduler::Leadership {
 public:
  // Tries for the lock at most every `retry_every` (each try opens a connection).
  AdvisoryLeadership(std::string database_url, const common::Clock& clock,
                     std::chrono::milliseconds retry_every = std::chrono::seconds(10))
      : url_(std::move(database_url)), clock_(clock), retry_every_(retry_every) {}
  bool held() override;

 private:
  const std::string url_;
  const common::Clock& clock_;
  const std::chrono::milliseconds retry_every_;
  std::mutex mutex_;
  std::unique_ptr<store::AdvisoryLock> lock_;
  common::TimePoint last_try_{};
};

}  // namespace relay::daemon
