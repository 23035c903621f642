#include "scheduler/pool_monitor.h"

#include <exception>

namespace relay::scheduler {

PoolMonitor::PoolMonitor(energy::PoolService& pools, common::Logger& log,
                         PoolMonitorOptions options)
    : pools_(pools), log_(log), options_(options) {}

PoolMonitor::~PoolMonitor() { stop(); }

PoolMonitorPass PoolMonitor::run_once() {
  PoolMonitorPass pass;
  common::Result<std::vector<energy::RefreshOutcome>> outcomes =
      common::make_error("internal", "not run");
  try {
    outcomes = pools_.refresh_all();
  } catch (const std::exception& e) {
    outcomes = common::make_error("internal", e.what());
  }
  counters_.passes.fetch_add(1, std::memory_order_relaxed);
  counters_.last_pass_unix_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count(),
                                    std::memory_order_relaxed);
  if (!outcomes.ok()) {
    counters_.refresh_failures.fetch_add(1, std::memory_order_relaxed);
    log_.error("pool monitor pass failed",
               {{"code", outcomes.error().code}, {"error", outcomes.error().message}});
    pass.failed = 1;
    return pass;
  }
  for (const energy::RefreshOutcome& outcome : *outcomes) {
    const energy::Pool& pool = outcome.pool;
    std::string address = pool.address.to_base58();
    if (outcome.error) {
      ++pass.failed;
      log_.warn("pool refresh failed", {{"pool_id", pool.id},
                                        {"address", address},
                                        {"code", outcome.error->code},
                                        {"error", outcome.error->message}});
      continue;
    }
    ++pass.refreshed;
    if (outcome.suspended_now) {
      ++pass.suspended;
      log_.warn("pool suspended",
                {{"pool_id", pool.id}, {"address", address}, {"reason", outcome.reason}});
    }
    if (outcome.reactivated_now) {
      ++pass.reactivated;
      log_.info("pool active again", {{"pool_id", pool.id}, {"address", address}});
    }
    if (outcome.low_energy) {
      ++pass.low_energy;
      log_.warn("pool energy below its alert threshold",
                {{"pool_id", pool.id},
                 {"address", address},
                 {"energy_available", pool.snapshot ? pool.snapshot->energy_available : 0},
                 {"low_energy_alert", pool.low_energy_alert.value_or(0)}});
    }
  }
  counters_.refresh_failures.fetch_add(pass.failed, std::memory_order_relaxed);
  counters_.suspensions.fetch_add(pass.suspended, std::memory_order_relaxed);
  counters_.reactivations.fetch_add(pass.reactivated, std::memory_order_relaxed);
  counters_.low_energy_pools.store(pass.low_energy, std::memory_order_relaxed);
  log_.debug("pool monitor pass", {{"refreshed", pass.refreshed},
                                   {"failed", pass.failed},
                                   {"suspended", pass.suspended},
                                   {"reactivated", pass.reactivated}});
  return pass;
}

void PoolMonitor::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void PoolMonitor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PoolMonitor::loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
    }
    run_once();
  }
}

}  // namespace relay::scheduler
