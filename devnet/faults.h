// FaultInjector: the failures a real TronGrid endpoint shows (latency, 429/5xx, broadcasts that are
// accepted and then lost), switched on at run time by POST /admin/faults so that clients' retry,
// backoff and recovery paths can be tested against the devnet.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/http_server.h"

namespace relay::devnet {

struct FaultConfig {
  int64_t latency_ms = 0;          // added before answering
  double error_rate = 0;           // share of requests answered with `status` instead
  int status = 503;                // 429, 500, 502, 503, ...
  double drop_broadcast_rate = 0;  // share of broadcasts answered SUCCESS but never applied
  // Paths the faults apply to ("/wallet/broadcasthex", ...); empty = every non-admin path.
  std::vector<std::string> endpoints;
};

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed = 1);

  void set(FaultConfig config);
  void clear();
  FaultConfig config() const;

  // The server's before_handler for every request: sleeps the configured latency, then returns the
  // error response to send instead of calling the handler, or nullopt to go on. /admin/* is never
  // faulted.
  std::optional<common::HttpResponse> before(const common::HttpRequest& request);

  // Asked by the broadcast endpoints: true = pretend success and drop the transaction.
  bool drop_broadcast(const std::string& path);

 private:
  bool applies_to(const std::string& path) const;

  mutable std::mutex mutex_;
  FaultConfig config_;
  std::mt19937_64 rng_;
};

}  // namespace relay::devnet
