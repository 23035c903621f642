#include "api/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace relay::api {
namespace {

constexpr int64_t kMicro = 1'000'000;

}  // namespace

RateLimiter::RateLimiter(RateLimitOptions options, const common::Clock& clock)
    : options_(options), clock_(clock), capacity_(options.burst * kMicro) {
  assert(options_.requests_per_second > 0 && options_.burst >= 1);
}

int64_t RateLimiter::refilled(const Bucket& bucket, common::TimePoint now) const {
  auto elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - bucket.updated).count();
  // A clock that went backwards refills nothing rather than draining the bucket.
  if (elapsed_us <= 0) return bucket.micro_tokens;
  // micro-tokens gained = µs elapsed × requests per second; capped before it can overflow.
  double gained = static_cast<double>(elapsed_us) * options_.requests_per_second;
  if (gained >= static_cast<double>(capacity_)) return capacity_;
  return std::min(capacity_, bucket.micro_tokens + static_cast<int64_t>(gained));
}

void RateLimiter::forget_full_buckets(common::TimePoint now) {
  std::erase_if(buckets_,
                [&](const auto& entry) { return refilled(entry.second, now) >= capacity_; });
}

RateLimitDecision RateLimiter::acquire(std::string_view key) { return decide(key, true); }

RateLimitDecision RateLimiter::peek(std::string_view key) { return decide(key, false); }

RateLimitDecision RateLimiter::decide(std::string_view key, bool take) {
  common::TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (!take) {
      return RateLimitDecision{.allowed = true,
                               .limit = options_.burst,
                               .remaining = options_.burst,
                               .reset_seconds = 0,
                               .retry_after_seconds = 0};
    }
    if (buckets_.size() >= options_.max_tracked_keys) forget_full_buckets(now);
    it =
        buckets_.emplace(std::string(key), Bucket{.micro_tokens = capacity_, .updated = now}).first;
  }
  Bucket& bucket = it->second;
  bucket.micro_tokens = refilled(bucket, now);
  bucket.updated = now;

  RateLimitDecision decision;
  decision.limit = options_.burst;
  decision.allowed = bucket.micro_tokens >= kMicro;
  if (decision.allowed && take) bucket.micro_tokens -= kMicro;
  decision.remaining = bucket.micro_tokens / kMicro;
  // Seconds for `missing` micro-tokens at `rate` requests per second, rounded up.
  auto seconds_for = [&](int64_t missing) -> int64_t {
    if (missing <= 0) return 0;
    return static_cast<int64_t>(
        std::ceil(static_cast<double>(missing) / (options_.requests_per_second * kMicro)));
  };
  decision.reset_seconds = seconds_for(capacity_ - bucket.micro_tokens);
  if (!decision.allowed) {
    decision.retry_after_seconds = std::max<int64_t>(1, seconds_for(kMicro - bucket.micro_tokens));
  }
  return decision;
}

void RateLimiter::set_options(RateLimitOptions options) {
  assert(options.requests_per_second > 0 && options.burst >= 1);
  std::lock_guard lock(mutex_);
  options_ = options;
  capacity_ = options.burst * kMicro;
  for (auto& [key, bucket] : buckets_)
    bucket.micro_tokens = std::min(bucket.micro_tokens, capacity_);
}

}  // namespace relay::api
