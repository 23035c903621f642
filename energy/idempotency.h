// Idempotency-Key support: the first request with a key runs and its response is stored; a replay
// with the same body gets the stored response, a replay with another body is refused (422).
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"

namespace relay::energy {

struct StoredResponse {
  int status = 0;
  std::string body;
};

enum class IdempotencyOutcome {
  kStarted,     // this request owns the key now: run it, then complete() or abandon()
  kReplay,      // same key, same body, finished: send `response`
  kMismatch,    // same key, different body: 422
  kInProgress,  // same key, same body, still running elsewhere: 409
};

struct IdempotencyClaim {
  IdempotencyOutcome outcome = IdempotencyOutcome::kStarted;
  std::optional<StoredResponse> response;
};

class IdempotencyRepository {
 public:
  virtual ~IdempotencyRepository() = default;
  // `request_hash` identifies method + path + body. Keys are scoped to the tenant.
  virtual common::Result<IdempotencyClaim> claim(int64_t tenant_id, const std::string& key,
                                                 const std::string& request_hash,
                                                 common::TimePoint now) = 0;
  virtual common::Status complete(int64_t tenant_id, const std::string& key,
                                  const StoredResponse& response) = 0;
  // Frees a key whose request failed before any side effect, so a retry can run.
  virtual common::Status abandon(int64_t tenant_id, const std::string& key) = 0;
};

}  // namespace relay::energy
