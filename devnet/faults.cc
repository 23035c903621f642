#include "devnet/faults.h"

#include <chrono>
#include <thread>
#include <utility>

namespace relay::devnet {
namespace {

// The admin API must stay reachable, or a test could never switch the faults off again.
bool is_admin_path(const std::string& path) { return path.starts_with("/admin/"); }

// Rates outside (0, 1) are decided without drawing, so a config of 0 or 1 leaves the random
// sequence (and with it the outcome of every later fractional draw) exactly as it was.
bool draw(std::mt19937_64& rng, double rate) {
  if (!(rate > 0)) return false;  // also NaN
  if (rate >= 1) return true;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < rate;
}

// What TronGrid's gateway answers in these cases, so clients' error parsing is exercised too.
std::string error_body(int status) {
  if (status == 429) return R"j({"Error":"rate limit exceeded (devnet fault injection)"})j";
  if (status == 403) {
    return R"j({"Error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s"})j";
  }
  return R"j({"Error":"devnet fault injection: HTTP )j" + std::to_string(status) + R"j("})j";
}

}  // namespace

FaultInjector::FaultInjector(uint64_t seed) : rng_(seed) {}

void FaultInjector::set(FaultConfig config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
}

void FaultInjector::clear() {
  std::lock_guard lock(mutex_);
  config_ = FaultConfig{};
}

FaultConfig FaultInjector::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

std::optional<common::HttpResponse> FaultInjector::before(const common::HttpRequest& request) {
  int64_t latency_ms = 0;
  std::optional<common::HttpResponse> error;
  {
    std::lock_guard lock(mutex_);
    if (!applies_to(request.path)) return std::nullopt;
    latency_ms = config_.latency_ms;
    if (draw(rng_, config_.error_rate)) {
      error = common::HttpResponse{.status = config_.status,
                                   .content_type = "application/json",
                                   .body = error_body(config_.status)};
    }
  }
  // Sleep outside the lock: concurrent requests are each delayed, not queued behind one another.
  if (latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
  return error;
}

bool FaultInjector::drop_broadcast(const std::string& path) {
  std::lock_guard lock(mutex_);
  return applies_to(path) && draw(rng_, config_.drop_broadcast_rate);
}

bool FaultInjector::applies_to(const std::string& path) const {
  if (is_admin_path(path)) return false;
  if (config_.endpoints.empty()) return true;
  // Exact match: "/wallet/x" and "/walletsolidity/x" are different nodes on TronGrid.
  for (const auto& endpoint : config_.endpoints) {
    if (endpoint == path) return true;
  }
  return false;
}

}  // namespace relay::devnet
