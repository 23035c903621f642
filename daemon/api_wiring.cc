#include "daemon/api_wiring.h"

namespace relay::daemon {

namespace {
constexpr auto kChainProbeTtl = std::chrono::seconds(5);
}  // namespace

common::Status CachedCheck::get(const std::function<common::Status()>& check) {
  {
    std::lock_guard lock(mutex_);
    bool fresh = have_answer_ && clock_.now() - checked_at_ < ttl_;
    if (fresh || (checking_ && have_answer_)) return last_;
    checking_ = true;
  }
  common::Status result = check();
  std::lock_guard lock(mutex_);
  checking_ = false;
  have_answer_ = true;
  checked_at_ = clock_.now();
  last_ = result;
  return result;
}

ChainProbe::ChainProbe(const ChainConfig& config, chain::HttpTransport& transport,
                       const common::Clock& clock)
    : config_(config), transport_(transport), cache_(clock, kChainProbeTtl) {}

common::Status ChainProbe::check() {
  return cache_.get([this] { return check_now(); });
}

common::Status ChainProbe::check_now() {
  std::map<std::string, std::string> headers;
  if (!config_.api_key.empty()) headers["TRON-PRO-API-KEY"] = config_.api_key;
  common::Status last = common::make_error("upstream_failed", "no chain endpoint answered");
  for (const auto& endpoint : config_.endpoints) {
    // A health check must answer fast: a short timeout, whatever the configured one.
    auto reply = transport_.post_json(
        endpoint + "/wallet/getnowblock", "{}", headers,
        std::chrono::milliseconds(std::min<int64_t>(config_.timeout_ms, 1'000)));
    if (reply.ok() && reply->status == 200 && reply->body.find("blockID") != std::string::npos) {
      return {};
    }
    if (!reply.ok()) last = reply.error();
  }
  return last;
}

ApiWiring::ApiWiring(const Config& config, store::Database& db, chain::HttpTransport& transport,
                     const common::Clock& clock, common::Logger& log)
    : tenants_(db),
      keys_(db),
      ledger_(db),
      idempotency_(db),
      audit_(db),
      key_service_(keys_, clock),
      database_probe_(db, clock),
      chain_probe_(config.chain, transport, clock) {
  api::ApiOptions options;
  auto colon = config.server.listen.rfind(':');
  options.http.host = config.server.listen.substr(0, colon);
  options.http.port = static_cast<uint16_t>(std::stoi(config.server.listen.substr(colon + 1)));
  options.http.threads = static_cast<int>(config.server.threads);
  options.http.max_connections = static_cast<size_t>(config.server.max_connections);
  options.http.max_body_bytes = static_cast<size_t>(config.server.max_body_bytes);
  options.http.read_timeout = std::chrono::milliseconds(config.server.read_timeout_ms);
  options.rate_limit.requests_per_second =
      static_cast<double>(config.rate_limit.requests_per_second);
  options.rate_limit.burst = config.rate_limit.burst;
  options.failed_auth_limit.requests_per_second =
      static_cast<double>(config.rate_limit.failed_auth_per_second);
  options.failed_auth_limit.burst = config.rate_limit.failed_auth_burst;
  api::ApiServices services{tenants_,     keys_, ledger_,         idempotency_, audit_,
                            key_service_, clock, database_probe_, chain_probe_};
  server_ = std::make_unique<api::ApiServer>(options, services, log);
}

}  // namespace relay::daemon
