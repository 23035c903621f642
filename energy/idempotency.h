// Idempotency-Key support: the first request with a key runs and its response is stored; a replay
// with the same body gets the stored response, a replay with another body is refused (422).
//
// A key whose request never finished (its process crashed between claim and complete) would answer
// 409 forever: once it has been in progress longer than the implementation's stale limit (minutes,
// far beyond any request's run time), a claim with the same body takes it over and runs the request
// again. That run may repeat side effects of the crashed one, so the limit must stay well above the
// longest request; a claim with another body still gets kMismatch.
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
  kStarted,     // this request owns the key now (new, or taken over when stale): run it, then
                // complete() or abandon()
  kReplay,      // same key, same body, finished: send `response`
  kMismatch,    // same key, different body: 422
  kInProgress,  // same key, same body, still running elsewhere (not yet stale): 409
};

struct IdempotencyClaim {
  IdempotencyOutcome outcome = IdempotencyOutcome::kStarted;
  std::optional<StoredResponse> response;
};

class IdempotencyRepository {
 public:
  virtual ~IdempotencyRepository() = default;
  // `request_hash` identifies method + path + body. Keys are scoped to the tenant. `now` is the
  // claim's time: it decides whether an in-progress key is stale, and starts the new owner's run.
  // Of several claims racing for a new or a stale key, exactly one gets kStarted.
  virtual common::Result<IdempotencyClaim> claim(int64_t tenant_id, const std::string& key,
                                                 const std::string& request_hash,
                                                 common::TimePoint now) = 0;
  virtual common::Status complete(int64_t tenant_id, const std::string& key,
                                  const StoredResponse& response) = 0;
  // Frees a key whose request failed before any side effect, so a retry can run.
  virtual common::Status abandon(int64_t tenant_id, const std::string& key) = 0;
};

}  // namespace relay::energy
