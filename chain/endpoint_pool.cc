#include "chain/endpoint_pool.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

#include "common/json.h"

namespace relay::chain {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

common::Error config_error(const std::string& field, const std::string& message) {
  return common::make_error("invalid_config", "chain." + field + ": " + message);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// What a failed reply looked like, short enough for a log line and an error message.
std::string describe(const HttpReply& reply) {
  constexpr size_t kMaxBody = 200;
  std::string body = reply.body.substr(0, kMaxBody);
  if (reply.body.size() > kMaxBody) body += "…";
  return "HTTP " + std::to_string(reply.status) + (body.empty() ? "" : " " + body);
}

// The `Error` member of a JSON object reply, if the body is one.
std::optional<std::string> error_text(const std::string& body) {
  if (body.find("\"Error\"") == std::string::npos) return std::nullopt;
  auto object = common::parse_json_object(body);
  if (!object.ok()) return std::nullopt;
  const auto* error = object->if_contains("Error");
  if (error == nullptr || !error->is_string()) return std::nullopt;
  return std::string(error->as_string());
}

}  // namespace

common::Status validate(const TronGridOptions& options) {
  if (options.endpoints.empty()) return config_error("endpoints", "at least one is required");
  for (size_t i = 0; i < options.endpoints.size(); ++i) {
    const std::string& url = options.endpoints[i].url;
    std::string_view rest = url;
    if (rest.starts_with("http://")) {
      rest.remove_prefix(7);
    } else if (rest.starts_with("https://")) {
      rest.remove_prefix(8);
    } else {
      return config_error("endpoints[" + std::to_string(i) + "]",
                          "\"" + url + "\" must start with http:// or https://");
    }
    if (rest.empty() || rest.front() == '/') {
      return config_error("endpoints[" + std::to_string(i) + "]", "\"" + url + "\" has no host");
    }
  }
  if (!(options.rps > 0) || !std::isfinite(options.rps)) {
    return config_error("rps", "must be a positive number");
  }
  if (!(options.burst >= 1) || !std::isfinite(options.burst)) {
    return config_error("burst", "must be at least 1");
  }
  if (options.timeout <= milliseconds(0)) return config_error("timeout", "must be positive");
  if (options.max_attempts < 1) return config_error("max_attempts", "must be at least 1");
  if (options.backoff_base < milliseconds(0)) {
    return config_error("backoff_base", "must not be negative");
  }
  if (options.backoff_max < options.backoff_base) {
    return config_error("backoff_max", "must not be less than backoff_base");
  }
  if (options.breaker_threshold < 1) {
    return config_error("breaker_threshold", "must be at least 1");
  }
  if (options.breaker_cooldown < milliseconds(0)) {
    return config_error("breaker_cooldown", "must not be negative");
  }
  return {};
}

std::string_view failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::kTransport:
      return "transport";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kThrottled:
      return "throttled";
    case FailureKind::kServerError:
      return "server_error";
    case FailureKind::kBusy:
      return "busy";
    case FailureKind::kRejected:
      return "rejected";
  }
  return "unknown";
}

std::string_view circuit_state_name(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kOpen:
      return "open";
    case CircuitState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

bool is_throttle_text(std::string_view text) {
  std::string lower = lowercase(text);
  for (const char* marker : {"frequency limit", "rate limit", "too many requests", "suspended",
                             "exceeds the limit", "request limit"}) {
    if (lower.find(marker) != std::string::npos) return true;
  }
  return false;
}

std::optional<FailureKind> classify_reply(const HttpReply& reply) {
  if (reply.status == 429) return FailureKind::kThrottled;
  if (reply.status == 401 || reply.status == 403) {
    // TronGrid suspends a key for 30 s with a 403 whose text names the frequency limit; any other
    // 401/403 is this endpoint refusing us (a wrong or revoked key), which another may not do.
    return is_throttle_text(reply.body) ? FailureKind::kThrottled : FailureKind::kRejected;
  }
  if (reply.status >= 500 && reply.status <= 599) return FailureKind::kServerError;
  if (reply.status == 200) {
    auto error = error_text(reply.body);
    if (error && is_throttle_text(*error)) return FailureKind::kThrottled;
  }
  return std::nullopt;
}

EndpointPool::EndpointPool(HttpTransport& transport, const common::Clock& clock,
                           TronGridOptions options, Seams seams)
    : transport_(transport),
      clock_(clock),
      options_(std::move(options)),
      sleep_(std::move(seams.sleep)),
      rng_(seams.jitter_seed ? *seams.jitter_seed : std::random_device{}()) {
  assert(validate(options_).ok());
  if (!sleep_) sleep_ = [](milliseconds duration) { std::this_thread::sleep_for(duration); };
  common::TimePoint now = clock_.now();
  for (const auto& endpoint : options_.endpoints) {
    State state;
    state.endpoint = Endpoint{trim_url(endpoint.url), endpoint.api_key};
    state.tokens = options_.burst;
    state.refilled_at = now;
    state.stats.url = state.endpoint.url;
    states_.push_back(std::move(state));
  }
}

void EndpointPool::refill(State& state, common::TimePoint now) const {
  if (now <= state.refilled_at) return;  // a clock that stepped back refills nothing
  double seconds = std::chrono::duration<double>(now - state.refilled_at).count();
  state.tokens = std::min(options_.burst, state.tokens + seconds * options_.rps);
  state.refilled_at = now;
}

CircuitState EndpointPool::circuit_at(const State& state, common::TimePoint now) const {
  if (!state.open) return CircuitState::kClosed;
  return now - state.opened_at >= options_.breaker_cooldown ? CircuitState::kHalfOpen
                                                            : CircuitState::kOpen;
}

std::optional<size_t> EndpointPool::acquire(size_t start, const std::vector<bool>& excluded,
                                            milliseconds* wait) {
  common::TimePoint now = clock_.now();
  std::optional<size_t> best;
  double best_wait = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < states_.size(); ++k) {
    size_t i = (start + k) % states_.size();
    if (excluded[i]) continue;
    State& state = states_[i];
    CircuitState circuit = circuit_at(state, now);
    if (circuit == CircuitState::kOpen) continue;
    if (circuit == CircuitState::kHalfOpen && state.probing) continue;
    refill(state, now);
    // Seconds until this bucket holds a whole token (it goes below zero when callers queue).
    double token_wait = state.tokens >= 1 ? 0 : (1 - state.tokens) / options_.rps;
    if (token_wait < best_wait) {
      best = i;
      best_wait = token_wait;
      if (token_wait == 0) break;  // the first ready endpoint in failover order
    }
  }
  if (!best) return std::nullopt;
  State& state = states_[*best];
  state.tokens -= 1;
  if (state.open) state.probing = true;  // this attempt is the half-open probe
  *wait = milliseconds(static_cast<int64_t>(std::ceil(best_wait * 1000)));
  if (*wait > milliseconds(0)) {
    ++state.stats.rate_limit_waits;
    state.stats.rate_limit_wait_sum += *wait;
  }
  return best;
}

void EndpointPool::record(size_t index, std::optional<FailureKind> failure, microseconds latency,
                          bool retry) {
  std::lock_guard lock(mutex_);
  State& state = states_[index];
  EndpointStats& stats = state.stats;
  ++stats.requests;
  if (retry) ++stats.retries;
  stats.last_latency = latency;
  stats.latency_sum += latency;
  bool was_probe = state.probing;
  state.probing = false;
  if (!failure) {
    ++stats.successes;
    stats.consecutive_failures = 0;
    state.open = false;
    return;
  }
  ++stats.failures[static_cast<size_t>(*failure)];
  ++stats.consecutive_failures;
  // A failed half-open probe re-opens for a whole cool-down; a closed circuit opens at the
  // threshold. Failures of calls that were in flight when it opened change nothing.
  if (was_probe || (!state.open && stats.consecutive_failures >= options_.breaker_threshold)) {
    state.open = true;
    state.opened_at = clock_.now();
    ++stats.circuit_opens;
  }
}

milliseconds EndpointPool::backoff(int retry) {
  // Full jitter (uniform in [0, cap]) keeps clients that failed together from retrying together.
  int shift = std::clamp(retry - 1, 0, 30);
  int64_t base = options_.backoff_base.count();
  int64_t max = options_.backoff_max.count();
  int64_t cap = base == 0 ? 0 : (max >> shift) >= base ? base << shift : max;
  std::lock_guard lock(mutex_);
  return milliseconds(static_cast<int64_t>(rng_() % static_cast<uint64_t>(cap + 1)));
}

common::Result<HttpReply> EndpointPool::post(std::string_view path, const std::string& body,
                                             const ReplyClassifier& classify) {
  const size_t n = states_.size();
  std::vector<bool> excluded(n, false);  // rejected us during this call
  std::vector<bool> failed(n, false);    // failed at least once during this call
  size_t start = 0;
  std::optional<std::string> last_failure;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    milliseconds token_wait{0};
    std::optional<size_t> index;
    Endpoint endpoint;
    {
      std::lock_guard lock(mutex_);
      index = acquire(start, excluded, &token_wait);
      if (index) endpoint = states_[*index].endpoint;
    }
    if (!index) {
      if (std::all_of(excluded.begin(), excluded.end(), [](bool b) { return b; })) {
        return common::make_error("upstream_failed", *last_failure);
      }
      std::string message = "every chain endpoint's circuit is open";
      if (last_failure) message += " (last failure: " + *last_failure + ")";
      return common::make_error("chain_unavailable", message);
    }
    // Going back to an endpoint that already failed this call waits the backoff; failing over to
    // a fresh one does not. The token wait overlaps with it.
    milliseconds wait = token_wait;
    bool back_off = failed[*index];
    if (back_off) wait = std::max(wait, backoff(attempt));
    if (back_off || wait > milliseconds(0)) sleep_(wait);

    std::map<std::string, std::string> headers;
    if (!endpoint.api_key.empty()) headers["TRON-PRO-API-KEY"] = endpoint.api_key;
    std::string url = endpoint.url + std::string(path);
    common::TimePoint started = clock_.now();
    auto reply = transport_.post_json(url, body, headers, options_.timeout);
    auto latency = duration_cast<microseconds>(clock_.now() - started);
    std::optional<FailureKind> failure;
    if (!reply.ok()) {
      failure =
          reply.error().code == kTransportTimeout ? FailureKind::kTimeout : FailureKind::kTransport;
      last_failure = reply.error().message;
    } else {
      failure = classify(*reply);
      if (failure) last_failure = url + ": " + describe(*reply);
    }
    record(*index, failure, latency, attempt > 0);
    if (!failure) return std::move(reply).value();
    if (*failure == FailureKind::kRejected) excluded[*index] = true;
    failed[*index] = true;
    start = (*index + 1) % n;
  }
  return common::make_error(
      "upstream_failed",
      *last_failure + " (after " + std::to_string(options_.max_attempts) + " attempts)");
}

std::vector<EndpointStats> EndpointPool::stats() const {
  std::lock_guard lock(mutex_);
  common::TimePoint now = clock_.now();
  std::vector<EndpointStats> out;
  out.reserve(states_.size());
  for (const auto& state : states_) {
    out.push_back(state.stats);
    out.back().circuit = circuit_at(state, now);
  }
  return out;
}

bool EndpointPool::healthy() const {
  std::lock_guard lock(mutex_);
  common::TimePoint now = clock_.now();
  return std::any_of(states_.begin(), states_.end(), [&](const State& state) {
    return circuit_at(state, now) != CircuitState::kOpen;
  });
}

}  // namespace relay::chain
