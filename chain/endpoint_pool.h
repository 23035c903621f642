// EndpointPool: the TRON HTTP endpoints tronrelay may ask (TronGrid keys, own java-tron nodes) and
// the policy for asking them — a token bucket per endpoint, a per-call timeout, retries with
// exponential backoff and full jitter, a circuit breaker per endpoint, failover in the configured
// order — plus the per-endpoint counters the daemon renders as metrics. Owned by TronGridClient;
// thread-safe. Time comes from an injected Clock and every wait goes through an injected Sleeper,
// so tests drive it with a ManualClock and never sleep.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "chain/http_transport.h"
#include "common/clock.h"
#include "common/result.h"

namespace relay::chain {

struct Endpoint {
  std::string url;      // base URL, e.g. "https://api.trongrid.io" (a trailing '/' is dropped)
  std::string api_key;  // sent as TRON-PRO-API-KEY when not empty
};

struct TronGridOptions {
  std::vector<Endpoint> endpoints;           // failover order: the first healthy one is asked first
  double rps = 15;                           // per endpoint; TronGrid's historical per-key figure
  double burst = 15;                         // token bucket size per endpoint
  std::chrono::milliseconds timeout{5'000};  // per HTTP attempt
  int max_attempts = 4;                      // HTTP attempts per call, over all endpoints
  std::chrono::milliseconds backoff_base{200};  // first retry waits up to this
  std::chrono::milliseconds backoff_max{5'000};
  int breaker_threshold = 5;  // consecutive failures that open an endpoint's circuit
  std::chrono::milliseconds breaker_cooldown{30'000};  // open → half-open (one probe)
};

// "invalid_config" naming the field when the options cannot work (no endpoint, a URL without
// http:// or https://, a rate or count ≤ 0, backoff_max < backoff_base).
common::Status validate(const TronGridOptions& options);

// Why an attempt failed, as counted per endpoint. All but kRejected are retried: at once on the
// next endpoint that has not failed this call, after a jittered backoff on one that has.
// kRejected (401, or 403 that is not throttling: a bad API key) only moves on to other endpoints.
enum class FailureKind {
  kTransport,    // refused connection, DNS, TLS, reset
  kTimeout,      // no complete answer within the timeout: the node may have acted on it
  kThrottled,    // 429, 403 "exceeds the frequency limit", or an Error text saying so
  kServerError,  // 5xx
  kBusy,         // a node answer that says "try later" (SERVER_BUSY, NO_CONNECTION, …)
  kRejected,     // 401 / non-throttle 403
};
inline constexpr size_t kFailureKinds = 6;
std::string_view failure_kind_name(FailureKind kind);  // "transport", "timeout", "throttled", …

enum class CircuitState { kClosed, kOpen, kHalfOpen };
std::string_view circuit_state_name(CircuitState state);  // "closed", "open", "half_open"

struct EndpointStats {
  std::string url;
  CircuitState circuit = CircuitState::kClosed;  // kHalfOpen once an open circuit's cool-down ends
  int consecutive_failures = 0;
  uint64_t requests = 0;   // HTTP attempts sent
  uint64_t successes = 0;  // attempts that got an answer (which may still be the node's refusal)
  std::array<uint64_t, kFailureKinds> failures{};  // indexed by FailureKind
  uint64_t retries = 0;           // attempts after the first of a call (so after a failure)
  uint64_t circuit_opens = 0;     // closed/half-open → open transitions
  uint64_t rate_limit_waits = 0;  // attempts that had to wait for a token
  std::chrono::milliseconds rate_limit_wait_sum{0};
  std::chrono::microseconds last_latency{0};
  std::chrono::microseconds latency_sum{0};  // over all attempts sent, failed ones included

  uint64_t failures_of(FailureKind kind) const { return failures[static_cast<size_t>(kind)]; }
};

// Blocks the calling thread for `duration`; tests substitute one that advances a ManualClock.
using Sleeper = std::function<void(std::chrono::milliseconds)>;

// Decides whether a reply is an answer to return (nullopt) or a failure to retry.
using ReplyClassifier = std::function<std::optional<FailureKind>(const HttpReply&)>;

// The default: 429 and throttle 403s are kThrottled, other 401/403 kRejected, 5xx kServerError, a
// 200 whose `Error` text speaks of rate limits kThrottled; everything else is an answer.
std::optional<FailureKind> classify_reply(const HttpReply& reply);
// True for the texts TronGrid and its gateway use when throttling ("exceeds the frequency limit",
// "rate limit", "too many requests", "suspended").
bool is_throttle_text(std::string_view text);

class EndpointPool {
 public:
  struct Seams {
    Sleeper sleep;                        // empty: std::this_thread::sleep_for
    std::optional<uint64_t> jitter_seed;  // empty: seeded from std::random_device
  };

  // `options` must pass validate(); `transport` and `clock` must outlive the pool.
  EndpointPool(HttpTransport& transport, const common::Clock& clock, TronGridOptions options,
               Seams seams = {});

  // POSTs `body` to `path` ("/wallet/getnowblock") on the first endpoint whose circuit lets it
  // through, waiting for a token, and retries/fails over per the options while `classify` calls
  // the reply a failure. Returns the first reply classified as an answer (any HTTP status), or:
  // "upstream_failed" when the attempts are used up or every endpoint rejected the call, with the
  // last failure's text; "chain_unavailable" when no endpoint's circuit lets a request through.
  common::Result<HttpReply> post(std::string_view path, const std::string& body,
                                 const ReplyClassifier& classify = classify_reply);

  std::vector<EndpointStats> stats() const;
  // At least one endpoint's circuit is not open (closed, or half-open and due for a probe).
  bool healthy() const;
  const TronGridOptions& options() const { return options_; }

 private:
  struct State {
    Endpoint endpoint;
    double tokens = 0;
    common::TimePoint refilled_at;
    bool open = false;
    bool probing = false;  // a half-open probe is in flight; others keep away
    common::TimePoint opened_at;
    EndpointStats stats;
  };

  // Picks the endpoint for the next attempt (under the lock) and reserves its token; nullopt when
  // no circuit lets a request through. `wait` is how long the token takes to arrive.
  std::optional<size_t> acquire(size_t start, const std::vector<bool>& excluded,
                                std::chrono::milliseconds* wait);
  void record(size_t index, std::optional<FailureKind> failure, std::chrono::microseconds latency,
              bool retry);
  void refill(State& state, common::TimePoint now) const;
  CircuitState circuit_at(const State& state, common::TimePoint now) const;
  std::chrono::milliseconds backoff(int retry);

  HttpTransport& transport_;
  const common::Clock& clock_;
  const TronGridOptions options_;
  Sleeper sleep_;
  mutable std::mutex mutex_;
  std::vector<State> states_;
  std::mt19937_64 rng_;  // guarded by mutex_
};

}  // namespace relay::chain
