#include "api/rate_limiter.h"

#include <gtest/gtest.h>

namespace relay::api {
namespace {

using std::chrono::milliseconds;

RateLimitOptions limits(double rate, int64_t burst) {
  RateLimitOptions options;
  options.requests_per_second = rate;
  options.burst = burst;
  return options;
}

TEST(RateLimiterTest, BurstThenRefusedWithRetryAfter) {
  auto clock = common::ManualClock::at_ms(1'000'000);
  RateLimiter limiter(limits(1, 3), clock);
  for (int i = 2; i >= 0; --i) {
    auto decision = limiter.acquire("k");
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.limit, 3);
    EXPECT_EQ(decision.remaining, i);
  }
  auto refused = limiter.acquire("k");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_EQ(refused.reset_seconds, 3);
}

TEST(RateLimiterTest, RefillsWithTimeUpToTheBurst) {
  auto clock = common::ManualClock::at_ms(0);
  RateLimiter limiter(limits(2, 4), clock);  // one request per 500 ms
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.acquire("k").allowed);
  EXPECT_FALSE(limiter.acquire("k").allowed);

  clock.advance(milliseconds(499));
  EXPECT_FALSE(limiter.acquire("k").allowed);
  clock.advance(milliseconds(1));
  auto decision = limiter.acquire("k");
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.remaining, 0);
  EXPECT_EQ(decision.reset_seconds, 2);  // 4 tokens at 2/s

  clock.advance(std::chrono::hours(1));  // never more than the burst
  EXPECT_EQ(limiter.acquire("k").remaining, 3);
}

TEST(RateLimiterTest, SlowRatesGiveLongerRetryAfter) {
  auto clock = common::ManualClock::at_ms(0);
  RateLimiter limiter(limits(0.1, 1), clock);  // one request per 10 s
  EXPECT_TRUE(limiter.acquire("k").allowed);
  auto refused = limiter.acquire("k");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 10);
  clock.advance(milliseconds(2500));
  EXPECT_EQ(limiter.acquire("k").retry_after_seconds, 8);  // 7.5 s rounded up
  clock.advance(milliseconds(7500));
  EXPECT_TRUE(limiter.acquire("k").allowed);
}

TEST(RateLimiterTest, KeysHaveSeparateBuckets) {
  auto clock = common::ManualClock::at_ms(0);
  RateLimiter limiter(limits(1, 1), clock);
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
  EXPECT_TRUE(limiter.acquire("b").allowed);
}

TEST(RateLimiterTest, ClockGoingBackwardsNeitherRefillsNorDrains) {
  auto clock = common::ManualClock::at_ms(10'000);
  RateLimiter limiter(limits(1, 2), clock);
  EXPECT_TRUE(limiter.acquire("k").allowed);
  clock.advance(milliseconds(-5000));
  auto decision = limiter.acquire("k");
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.remaining, 0);
  EXPECT_FALSE(limiter.acquire("k").allowed);
}

TEST(RateLimiterTest, ForgettingIdleBucketsChangesNoDecision) {
  auto clock = common::ManualClock::at_ms(0);
  RateLimitOptions options = limits(1, 2);
  options.max_tracked_keys = 2;
  RateLimiter limiter(options, clock);
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_TRUE(limiter.acquire("b").allowed);
  // "a" is empty, "b" is not full: neither can be forgotten, so "a" stays limited.
  EXPECT_TRUE(limiter.acquire("c").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
  clock.advance(milliseconds(10'000));  // all full again: forgotten or not, the same answer
  EXPECT_TRUE(limiter.acquire("d").allowed);
  EXPECT_EQ(limiter.acquire("a").remaining, 1);
}

TEST(RateLimiter, NewOptionsApplyToExistingBuckets) {
  auto clock = common::ManualClock::at_ms(1'000'000);
  RateLimiter limiter({.requests_per_second = 1, .burst = 10}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.acquire("k").allowed);
  limiter.set_options({.requests_per_second = 1, .burst = 2});
  auto next = limiter.acquire("k");
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.limit, 2);
  EXPECT_EQ(next.remaining, 1);
}

}  // namespace
}  // namespace relay::api
