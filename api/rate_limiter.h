// RateLimiter: a token bucket per API key, so one client cannot starve the others. Each bucket
// holds up to `burst` requests and refills at `requests_per_second`; time comes from the injected
// Clock, so tests step a ManualClock instead of sleeping. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace relay::api {

struct RateLimitOptions {
  double requests_per_second = 20;  // sustained rate; fractions allowed (0.5 = one per 2 s)
  int64_t burst = 40;               // bucket size: requests allowed at once after a quiet spell
  // Past this many buckets, full (idle) ones are forgotten: a forgotten bucket is full anyway, so
  // forgetting changes no decision. A soft cap: buckets still draining are always kept.
  size_t max_tracked_keys = 100'000;
};

// What to tell the client: X-RateLimit-Limit/Remaining/Reset on every authenticated reply, and
// Retry-After when refused.
struct RateLimitDecision {
  bool allowed = true;
  int64_t limit = 0;                // the burst
  int64_t remaining = 0;            // whole requests left right now
  int64_t reset_seconds = 0;        // until the bucket is full again (rounded up)
  int64_t retry_after_seconds = 0;  // when refused: until one request is allowed (≥ 1)
};

class RateLimiter {
 public:
  // `clock` must outlive the limiter. Options with a rate ≤ 0 or a burst < 1 are a programming
  // error.
  RateLimiter(RateLimitOptions options, const common::Clock& clock);

  // Takes one request from `key`'s bucket if it has one.
  RateLimitDecision acquire(std::string_view key);
  // What acquire() would decide, without taking anything: for buckets charged only on some
  // outcome (failed authentications), checked before the work that decides the outcome.
  RateLimitDecision peek(std::string_view key);
  // New rate and burst (SIGHUP): buckets keep what they hold, cut down to the new burst.
  void set_options(RateLimitOptions options);

 private:
  struct Bucket {
    int64_t micro_tokens = 0;  // millionths of a request, so that refills stay exact integers
    common::TimePoint updated;
  };

  int64_t refilled(const Bucket& bucket, common::TimePoint now) const;
  RateLimitDecision decide(std::string_view key, bool take);
  void forget_full_buckets(common::TimePoint now);

  RateLimitOptions options_;  // guarded by mutex_
  const common::Clock& clock_;
  int64_t capacity_;  // burst in micro-tokens; guarded by mutex_
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace relay::api
