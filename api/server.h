// ApiServer: tronrelayd's HTTP API (DESIGN.md §5) on common::HttpServer. It wires request ids,
// bearer-key auth with per-route scopes, per-key rate limits, JSON parsing, Idempotency-Key replay,
// metrics and access logs around the route handlers, and maps every Error through the one table in
// api/errors.h. Built once by daemon/ from references to the energy ports; it owns only its HTTP
// server, router, rate limiter and metrics.
//
// Routes today: GET /health, GET /metrics (no auth); GET /v1/account, GET /v1/account/ledger (any
// scope); POST/GET /v1/keys, DELETE /v1/keys/{id} (admin: the key's own tenant);
// POST /v1/admin/tenants, POST /v1/admin/tenants/{id}/credit (operator). A tenant never sees
// another tenant's objects: they answer 404, not 403.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/result.h"
#include "energy/api_keys.h"
#include "energy/audit.h"
#include "energy/idempotency.h"
#include "energy/lease_service.h"
#include "energy/ledger.h"
#include "energy/pool_service.h"
#include "energy/quote_service.h"
#include "energy/tenant.h"

namespace relay::api {

// One dependency GET /health reports on (the database, the chain endpoints). It is asked on every
// health request, so an implementation must answer quickly — bound its own time or report a state
// it keeps current elsewhere.
class HealthProbe {
 public:
  virtual ~HealthProbe() = default;
  // Success when the dependency is usable; an Error (logged, never shown) when it is not.
  virtual common::Status check() = 0;
};

// What the handlers work with; all owned elsewhere and shared by the request threads, so every
// one must be thread-safe and outlive the ApiServer.
struct ApiServices {
  energy::TenantRepository& tenants;
  energy::ApiKeyRepository& keys;
  energy::LedgerRepository& ledger;
  energy::IdempotencyRepository& idempotency;
  energy::AuditLog& audit;
  energy::ApiKeyService& key_service;
  const common::Clock& clock;
  HealthProbe& database;
  HealthProbe& chain;
  // The pool routes (DESIGN.md §5) are served when both are given.
  energy::PoolService* pools = nullptr;
  energy::PoolRepository* pool_store = nullptr;
  // Dead jobs are listed by GET /v1/admin/attention when given.
  energy::JobQueue* jobs = nullptr;
  // POST /v1/quote and GET /v1/quote/{id} are served when given.
  energy::QuoteService* quotes = nullptr;
  // The lease routes (POST/GET /v1/leases, GET /v1/leases/{id}, POST /v1/leases/{id}/reclaim) are
  // served when given.
  energy::LeaseService* leases = nullptr;
};

struct ApiOptions {
  // Listen address, threads and limits. ApiServer sets server_name, error_renderer, observer and
  // logger itself; before_handler is left as given.
  common::HttpServer::Options http = default_http_options();
  RateLimitOptions rate_limit;
  // Refused API keys per client address: past this, requests from it get 429 before any lookup.
  RateLimitOptions failed_auth_limit{.requests_per_second = 5, .burst = 50};
  int ledger_page_default = 50;
  int ledger_page_max = 200;

  static common::HttpServer::Options default_http_options() {
    common::HttpServer::Options http;
    http.port = 8080;
    // Handlers block on the database: more threads than cores keep the CPU busy while they wait.
    http.threads = 8;
    http.max_body_bytes = 1024 * 1024;
    http.max_connections = 2048;
    return http;
  }
};

class ApiServer {
 public:
  ApiServer(ApiOptions options, ApiServices services, common::Logger& logger);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and serves on background threads; returns the bound port ("listen_failed" otherwise).
  common::Result<uint16_t> start();
  // For SIGTERM: stop accepting, finish requests in flight, close idle connections, then stop.
  // True when everything finished within `timeout`.
  bool drain(std::chrono::milliseconds timeout);
  void stop();

  // The whole pipeline for one request, as the HTTP server calls it; usable without sockets. Never
  // throws: an exception becomes 500 "internal" (logged with the request id).
  common::HttpResponse handle(const common::HttpRequest& request);

  // For SIGHUP: new per-key limits take effect on the next request.
  void set_rate_limit(RateLimitOptions options);

  // For the daemon to add its own gauges (pool capacity, job queue depth) to GET /metrics.
  MetricsRegistry& metrics();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace relay::api
