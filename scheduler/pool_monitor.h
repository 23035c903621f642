// PoolMonitor: keeps every pool's view of the chain current and enforces the pool rules between
// requests — a revoked or altered permission, a TRX balance below the pool's reserve, an account
// gone — by running PoolService::refresh_all() on an interval. One pass is run_once() (what tests
// and `tronrelayctl` call); start() runs passes on a background thread until stop(). Each pass's
// findings go to the log, the audit trail (through PoolService) and the counters read by
// GET /metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "energy/pool_service.h"

namespace relay::scheduler {

struct PoolMonitorOptions {
  std::chrono::milliseconds interval{60'000};
};

// What one pass did.
struct PoolMonitorPass {
  int refreshed = 0;
  int failed = 0;  // pools the chain or the store could not refresh; they keep their state
  int suspended = 0;
  int reactivated = 0;
  int low_energy = 0;
};

// Totals since start, for metrics.
struct PoolMonitorCounters {
  std::atomic<uint64_t> passes{0};
  std::atomic<uint64_t> refresh_failures{0};
  std::atomic<uint64_t> suspensions{0};
  std::atomic<uint64_t> reactivations{0};
  std::atomic<int64_t> low_energy_pools{0};  // in the last pass
  std::atomic<int64_t> last_pass_unix_ms{0};
};

class PoolMonitor {
 public:
  PoolMonitor(energy::PoolService& pools, common::Logger& log, PoolMonitorOptions options);
  ~PoolMonitor();
  PoolMonitor(const PoolMonitor&) = delete;
  PoolMonitor& operator=(const PoolMonitor&) = delete;

  // One refresh of every pool. Never throws; a failure to list the pools is logged and counted.
  PoolMonitorPass run_once();

  // Passes every `interval` on a background thread, the first one an interval from now (the daemon
  // runs one itself before serving); stop() wakes it and waits for the pass in progress to end.
  void start();
  void stop();

  const PoolMonitorCounters& counters() const { return counters_; }

 private:
  void loop();

  energy::PoolService& pools_;
  common::Logger& log_;
  const PoolMonitorOptions options_;
  PoolMonitorCounters counters_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace relay::scheduler
