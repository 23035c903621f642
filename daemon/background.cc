#include "daemon/background.h"

namespace relay::daemon {

void PeriodicTask::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    while (true) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
      }
      run_();
    }
  });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool AdvisoryLeadership::held() {
  std::lock_guard lock(mutex_);
  if (lock_ && lock_->still_held()) return true;
  lock_.reset();
  common::TimePoint now = clock_.now();
  if (last_try_ != common::TimePoint{} && now - last_try_ < retry_every_) return false;
  last_try_ = now;
  auto acquired =
      store::AdvisoryLock::try_acquire(url_, store::AdvisoryLock::key_for("tronrelay.scheduler"));
  if (acquired.ok() && *acquired) lock_ = std::move(*acquired);
  return lock_ != nullptr;
}

}  // namespace relay::daemon
