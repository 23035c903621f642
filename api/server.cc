#include "api/server.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <exception>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "api/handler_support.h"
#include "api/lease_routes.h"
#include "api/pool_routes.h"
#include "api/quote_routes.h"
#include "api/router.h"
#include "common/bytes.h"
#include "common/hash.h"
#include "common/json.h"

namespace relay::api {
namespace {

namespace json = boost::json;
using common::Error;
using common::HttpRequest;
using common::HttpResponse;
using common::make_error;
using common::Result;

constexpr std::string_view kUnmatchedRoute = "unmatched";
constexpr size_t kMaxIdempotencyKeyLength = 255;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxReferenceLength = 200;
constexpr int64_t kMaxExpiresDays = 3650;

// Printable ASCII without spaces: keys end up in logs and as database keys.
bool is_valid_idempotency_key(std::string_view key) {
  return !key.empty() && key.size() <= kMaxIdempotencyKeyLength &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string request_hash(const HttpRequest& request) {
  // Separators keep ("POST", "/a", "b") and ("POST", "/a\nb", "") apart.
  std::string material = request.method + "\n" + request.path + "\n" + request.body;
  return common::to_hex(common::sha256(common::as_bytes(material)));
}

json::object masked_key(const energy::ApiKey& key) {
  json::array scopes;
  for (energy::Scope scope : key.scopes) scopes.emplace_back(energy::scope_name(scope));
  return json::object{{"id", key.id},
                      {"tenant_id", key.tenant_id},
                      {"prefix", key.prefix},
                      {"scopes", std::move(scopes)},
                      {"created_at", ms(key.created_at)},
                      {"expires_at", ms_or_null(key.expires_at)},
                      {"revoked_at", ms_or_null(key.revoked_at)}};
}

json::object ledger_entry_json(const energy::LedgerEntry& entry) {
  return json::object{{"id", entry.id},
                      {"kind", energy::entry_kind_name(entry.kind)},
                      {"amount_sun", entry.amount.value()},
                      {"hold_id", entry.hold_id ? json::value(*entry.hold_id) : json::value()},
                      {"reference", entry.reference},
                      {"created_at", ms(entry.created_at)}};
}

void add_balance(json::object& out, const energy::AccountBalance& balance) {
  out["balance_sun"] = balance.balance.value();
  out["reserved_sun"] = balance.reserved.value();
  out["available_sun"] = balance.available().value();
}

void add_rate_limit_headers(HttpResponse& response, const RateLimitDecision& decision) {
  response.headers.set("X-RateLimit-Limit", std::to_string(decision.limit));
  response.headers.set("X-RateLimit-Remaining", std::to_string(decision.remaining));
  response.headers.set("X-RateLimit-Reset", std::to_string(decision.reset_seconds));
}

// Bounded label values: a client sending made-up methods must not mint new time series.
std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

struct ApiServer::State : RouteRegistrar {
  using Route = RouteSpec;

  ApiOptions options;
  ApiServices services;
  common::Logger& logger;
  Router router;
  std::vector<Route> routes;  // indexed by Router::RouteId
  RateLimiter limiter;
  RateLimiter failed_auth;  // per client address, charged only by refused keys
  std::mutex tenant_names_mutex;
  std::unordered_map<int64_t, std::string> tenant_names;
  MetricsRegistry metrics;
  std::unique_ptr<common::HttpServer> http;

  State(ApiOptions options_in, ApiServices services_in, common::Logger& logger_in)
      : options(std::move(options_in)),
        services(services_in),
        logger(logger_in),
        limiter(options.rate_limit, services.clock),
        failed_auth(options.failed_auth_limit, services.clock) {
    add("GET", "/health", {Access::kPublic, {}, false, member(&State::health)});
    add("GET", "/metrics", {Access::kPublic, {}, false, member(&State::render_metrics)});
    add("GET", "/v1/account", {Access::kAnyScope, {}, false, member(&State::account)});
    add("GET", "/v1/account/ledger", {Access::kAnyScope, {}, false, member(&State::ledger_page)});
    add("POST", "/v1/keys",
        {Access::kScope, energy::Scope::kAdmin, true, member(&State::create_key)});
    add("GET", "/v1/keys",
        {Access::kScope, energy::Scope::kAdmin, false, member(&State::list_keys)});
    add("DELETE", "/v1/keys/{id}",
        {Access::kScope, energy::Scope::kAdmin, false, member(&State::revoke_key)});
    add("POST", "/v1/admin/tenants",
        {Access::kScope, energy::Scope::kOperator, true, member(&State::create_tenant)});
    add("POST", "/v1/admin/tenants/{id}/credit",
        {Access::kScope, energy::Scope::kOperator, true, member(&State::credit_tenant)});
    if (services.pools != nullptr && services.pool_store != nullptr) {
      add_pool_routes(*this, *services.pools, *services.pool_store, services.jobs);
    }
    if (services.quotes != nullptr) add_quote_routes(*this, *services.quotes);
    if (services.leases != nullptr) add_lease_routes(*this, *services.leases);

    metrics.declare_counter("tronrelay_http_requests_total", "HTTP requests answered",
                            {"method", "route", "status"});
    metrics.declare_histogram(
        "tronrelay_http_request_duration_seconds",
        "Time from the first request byte to the last response byte", {"route"},
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});

    common::HttpServer::Options http_options = options.http;
    http_options.server_name = "tronrelay";
    http_options.error_renderer = render_server_error;
    http_options.logger = &logger;
    http_options.observer = [this](const common::HttpExchange& exchange) { observe(exchange); };
    http = std::make_unique<common::HttpServer>(
        std::move(http_options), [this](const HttpRequest& request) { return handle(request); });
    metrics.declare_gauge("tronrelay_http_open_connections", "HTTP connections open now",
                          [this] { return static_cast<double>(http->open_connections()); });
  }

  void add(std::string method, std::string pattern, RouteSpec route) override {
    Router::RouteId id = router.add(std::move(method), std::move(pattern));
    if (routes.size() <= id) routes.resize(id + 1);
    routes[id] = std::move(route);
  }

  Handler member(Result<HttpResponse> (State::*handler)(Call&)) {
    return [this, handler](Call& call) { return (this->*handler)(call); };
  }

  void observe(const common::HttpExchange& exchange) {
    std::string route(exchange.route.empty() ? kUnmatchedRoute : exchange.route);
    metrics.increment("tronrelay_http_requests_total",
                      {{"method", std::string(method_label(exchange.method))},
                       {"route", route},
                       {"status", std::to_string(exchange.status)}});
    double seconds = std::chrono::duration<double>(exchange.latency).count();
    metrics.observe("tronrelay_http_request_duration_seconds", {{"route", route}}, seconds);
    // The raw path is left out on purpose: the route pattern says what was called, without ids.
    logger.info("request", {{"request_id", exchange.request_id},
                            {"method", exchange.method},
                            {"route", route},
                            {"status", exchange.status},
                            {"latency_ms", seconds * 1000},
                            {"remote", exchange.remote_address}});
  }

  // ---- The pipeline.

  HttpResponse handle(const HttpRequest& request) {
    HttpResponse response;
    std::string route_label;
    try {
      response = route_and_run(request, route_label);
    } catch (const std::exception& e) {
      logger.error("api handler threw", {{"request_id", request.request_id}, {"error", e.what()}});
      response = error_response(make_error("internal", e.what()), request.request_id);
    } catch (...) {
      logger.error("api handler threw", {{"request_id", request.request_id}});
      response = error_response(make_error("internal", "unknown exception"), request.request_id);
    }
    response.route = std::move(route_label);
    return response;
  }

  HttpResponse route_and_run(const HttpRequest& request, std::string& route_label) {
    Router::Match match = router.match(request.method, request.path);
    if (match.kind == Router::Match::Kind::kNotFound) {
      return error_response(make_error("not_found", "no route " + request.path),
                            request.request_id);
    }
    if (match.kind == Router::Match::Kind::kMethodNotAllowed) {
      HttpResponse response = error_response(
          make_error("method_not_allowed", request.method + " is not allowed on " + request.path),
          request.request_id);
      response.headers.set("Allow", match.allow);
      return response;
    }
    route_label = match.pattern;
    const Route& route = routes[match.route];
    Call call{.request = request,
              .params = match.params,
              .key = nullptr,
              .body = {},
              .body_to_store = std::nullopt};
    if (route.access == Access::kPublic) return run(route, call);

    // A client that keeps presenting bad keys is stopped before its guesses reach the database.
    std::string client = "ip:" + request.remote_address;
    if (RateLimitDecision blocked = failed_auth.peek(client); !blocked.allowed) {
      HttpResponse response = error_response(
          make_error("rate_limit_exceeded",
                     "too many requests with invalid API keys from this address; retry after " +
                         std::to_string(blocked.retry_after_seconds) + " s"),
          request.request_id);
      response.headers.set("Retry-After", std::to_string(blocked.retry_after_seconds));
      return response;
    }
    auto key = authenticate(request);
    if (!key.ok()) {
      if (key.error().code == "unauthorized") failed_auth.acquire(client);
      return error_response(key.error(), request.request_id);
    }
    call.key = &*key;
    // Counted before the scope check: probing routes with the wrong key costs requests too.
    RateLimitDecision limit = limiter.acquire("key:" + std::to_string(key->id));
    HttpResponse response;
    if (!limit.allowed) {
      response = error_response(
          make_error("rate_limit_exceeded", "too many requests for this API key; retry after " +
                                                std::to_string(limit.retry_after_seconds) + " s"),
          request.request_id);
      response.headers.set("Retry-After", std::to_string(limit.retry_after_seconds));
    } else {
      response = authorize_and_run(route, call);
    }
    add_rate_limit_headers(response, limit);
    return response;
  }

  Result<energy::ApiKey> authenticate(const HttpRequest& request) {
    auto header = request.headers.find("Authorization");
    if (!header) {
      return make_error("unauthorized", "missing API key: send Authorization: Bearer trk_…");
    }
    std::string_view value = *header;
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size() ||
        !common::iequals(value.substr(0, kScheme.size()), kScheme)) {
      return make_error("unauthorized", "Authorization must use the Bearer scheme");
    }
    value.remove_prefix(kScheme.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    return services.key_service.authenticate(value);
  }

  HttpResponse authorize_and_run(const Route& route, Call& call) {
    const HttpRequest& request = call.request;
    if (route.access == Access::kScope && !call.key->scopes.contains(route.scope)) {
      return error_response(
          make_error("forbidden",
                     "this API key lacks the '" + energy::scope_name(route.scope) + "' scope"),
          request.request_id);
    }
    if (route.takes_body) {
      auto body = common::parse_json_object(request.body);
      if (!body.ok()) {
        return error_response(invalid("request body: " + body.error().message), request.request_id);
      }
      call.body = std::move(*body);
    }
    auto idempotency_key = request.headers.find("Idempotency-Key");
    if (request.method == "POST" && idempotency_key) {
      return run_idempotent(route, call, std::string(*idempotency_key));
    }
    return run(route, call);
  }

  HttpResponse run(const Route& route, Call& call) {
    Result<HttpResponse> result = route.handler(call);
    if (!result.ok()) return error_response(result.error(), call.request.request_id);
    return std::move(*result);
  }

  // Same key and body → the stored reply; another body → 422; still running → 409. Replies below
  // 500 are stored (a 4xx is the answer to that request, and retrying it unchanged would give the
  // same); after a 5xx the key is freed so that a retry runs again.
  HttpResponse run_idempotent(const Route& route, Call& call, const std::string& key) {
    const HttpRequest& request = call.request;
    if (!is_valid_idempotency_key(key)) {
      return error_response(invalid("Idempotency-Key must be 1..255 printable characters"),
                            request.request_id);
    }
    int64_t tenant_id = call.key->tenant_id;
    auto claim =
        services.idempotency.claim(tenant_id, key, request_hash(request), services.clock.now());
    if (!claim.ok()) return error_response(claim.error(), request.request_id);
    switch (claim->outcome) {
      case energy::IdempotencyOutcome::kReplay: {
        const energy::StoredResponse stored = claim->response.value_or(energy::StoredResponse{});
        HttpResponse replay{
            .status = stored.status, .content_type = "application/json", .body = stored.body};
        replay.headers.set("Idempotent-Replayed", "true");
        return replay;
      }
      case energy::IdempotencyOutcome::kMismatch:
        return error_response(make_error("idempotency_key_reused",
                                         "this Idempotency-Key was used with a different request"),
                              request.request_id);
      case energy::IdempotencyOutcome::kInProgress:
        return error_response(
            make_error("conflict", "a request with this Idempotency-Key is still in progress"),
            request.request_id);
      case energy::IdempotencyOutcome::kStarted:
        break;
    }
    HttpResponse response;
    try {
      response = run(route, call);
    } catch (...) {
      abandon(tenant_id, key, request.request_id);
      throw;
    }
    if (response.status >= 500) {
      abandon(tenant_id, key, request.request_id);
      return response;
    }
    energy::StoredResponse stored{.status = response.status,
                                  .body = call.body_to_store.value_or(response.body)};
    if (auto done = services.idempotency.complete(tenant_id, key, stored); !done.ok()) {
      // The work is done and its reply is on its way; only a later replay is at risk, and it will
      // answer 409 in progress rather than run twice.
      logger.error("idempotency complete failed", {{"request_id", request.request_id},
                                                   {"code", done.error().code},
                                                   {"error", done.error().message}});
    }
    return response;
  }

  void abandon(int64_t tenant_id, const std::string& key, const std::string& request_id) {
    if (auto freed = services.idempotency.abandon(tenant_id, key); !freed.ok()) {
      logger.error("idempotency abandon failed", {{"request_id", request_id},
                                                  {"code", freed.error().code},
                                                  {"error", freed.error().message}});
    }
  }

  // The mutation has happened when this runs: a failing audit log is reported, not turned into an
  // error reply that would invite the client to repeat the mutation.
  void audit(const Call& call, std::optional<int64_t> tenant_id, std::string action,
             json::object details) {
    energy::AuditEvent event{.tenant_id = tenant_id,
                             .actor = call.actor(),
                             .action = std::move(action),
                             .details_json = common::json_to_string(details)};
    if (auto recorded = services.audit.record(event); !recorded.ok()) {
      logger.error("audit record failed", {{"request_id", call.request.request_id},
                                           {"action", event.action},
                                           {"code", recorded.error().code},
                                           {"error", recorded.error().message}});
    }
  }

  // ---- Routes.

  Result<HttpResponse> health(Call&) {
    auto check = [&](HealthProbe& probe, std::string_view name) {
      try {
        auto status = probe.check();
        if (status.ok()) return true;
        logger.warn("health check failed", {{"dependency", name},
                                            {"code", status.error().code},
                                            {"error", status.error().message}});
      } catch (const std::exception& e) {
        logger.warn("health check threw", {{"dependency", name}, {"error", e.what()}});
      }
      return false;
    };
    bool db = check(services.database, "db");
    bool chain = check(services.chain, "chain");
    bool ok = db && chain;
    return json_reply(ok ? 200 : 503, json::object{{"status", ok ? "ok" : "degraded"},
                                                   {"db", db ? "ok" : "down"},
                                                   {"chain", chain ? "ok" : "down"},
                                                   {"ts", services.clock.now_ms()}});
  }

  Result<HttpResponse> render_metrics(Call&) {
    return HttpResponse{
        .status = 200, .content_type = MetricsRegistry::kContentType, .body = metrics.render()};
  }

  // Tenants are never renamed or deleted, so a name once read is kept: GET /v1/account then
  // costs one statement (the balance), the request the API's latency target is about.
  Result<std::string> tenant_name(int64_t tenant_id) {
    {
      std::lock_guard lock(tenant_names_mutex);
      auto it = tenant_names.find(tenant_id);
      if (it != tenant_names.end()) return it->second;
    }
    RELAY_ASSIGN_OR_RETURN(auto tenant, services.tenants.find(tenant_id));
    if (!tenant) return make_error("not_found", "no tenant for this API key");
    std::lock_guard lock(tenant_names_mutex);
    tenant_names[tenant_id] = tenant->name;
    return tenant->name;
  }

  Result<HttpResponse> account(Call& call) {
    int64_t tenant_id = call.key->tenant_id;
    RELAY_ASSIGN_OR_RETURN(std::string name, tenant_name(tenant_id));
    RELAY_ASSIGN_OR_RETURN(auto balance, services.ledger.balance(tenant_id));
    json::object body{{"tenant_id", tenant_id}, {"name", name}};
    add_balance(body, balance);
    return json_reply(200, body);
  }

  Result<HttpResponse> ledger_page(Call& call) {
    RELAY_ASSIGN_OR_RETURN(auto query, parse_query(call.request.query));
    int64_t limit = options.ledger_page_default;
    std::optional<int64_t> before;
    for (const auto& [name, value] : query) {
      if (name == "limit") {
        RELAY_ASSIGN_OR_RETURN(limit, query_int64("limit", value));
        if (limit < 1 || limit > options.ledger_page_max) {
          return invalid("limit: must be 1.." + std::to_string(options.ledger_page_max));
        }
      } else if (name == "before") {
        RELAY_ASSIGN_OR_RETURN(int64_t id, query_int64("before", value));
        if (id < 1) return invalid("before: must be a positive entry id");
        before = id;
      } else {
        return invalid("unknown query parameter '" + name + "' (limit, before)");
      }
    }
    RELAY_ASSIGN_OR_RETURN(
        auto page, services.ledger.entries(call.key->tenant_id, before, static_cast<int>(limit)));
    json::array entries;
    for (const auto& entry : page.entries) entries.push_back(ledger_entry_json(entry));
    return json_reply(
        200, json::object{{"entries", std::move(entries)},
                          {"next_before",
                           page.next_before ? json::value(*page.next_before) : json::value()}});
  }

  Result<HttpResponse> create_key(Call& call) {
    const json::object& body = call.body;
    RELAY_TRY_STATUS(only_fields(body, {"scopes", "expires_days", "tenant_id"}));
    const json::value* scopes_value = body.if_contains("scopes");
    if (scopes_value == nullptr) return invalid("scopes: is required");
    if (!scopes_value->is_array() || scopes_value->as_array().empty()) {
      return invalid("scopes: must be a non-empty array of scope names");
    }
    std::set<energy::Scope> scopes;
    for (const json::value& name : scopes_value->as_array()) {
      auto scope = name.is_string() ? energy::scope_from_name(name.as_string()) : std::nullopt;
      if (!scope) {
        return invalid("scopes: each must be one of quote, lease, relay, pools, admin, operator");
      }
      scopes.insert(*scope);
    }
    bool caller_is_operator = call.key->scopes.contains(energy::Scope::kOperator);
    if (scopes.contains(energy::Scope::kOperator) && !caller_is_operator) {
      return make_error("forbidden", "only an 'operator' key can grant the 'operator' scope");
    }
    std::optional<int> expires_days;
    if (const json::value* days = body.if_contains("expires_days"); days && !days->is_null()) {
      RELAY_ASSIGN_OR_RETURN(int64_t value, strict_int64(*days, "expires_days"));
      if (value < 1 || value > kMaxExpiresDays) {
        return invalid("expires_days: must be 1.." + std::to_string(kMaxExpiresDays));
      }
      expires_days = static_cast<int>(value);
    }
    int64_t tenant_id = call.key->tenant_id;
    if (const json::value* target = body.if_contains("tenant_id")) {
      RELAY_ASSIGN_OR_RETURN(int64_t requested, strict_int64(*target, "tenant_id"));
      // Only the operator issues keys for another tenant; for anyone else the field would reach
      // into another tenant, so it is refused outright.
      if (!caller_is_operator && requested != tenant_id) {
        return make_error("forbidden", "tenant_id of another tenant needs the 'operator' scope");
      }
      if (requested != tenant_id) {
        RELAY_ASSIGN_OR_RETURN(auto tenant, services.tenants.find(requested));
        if (!tenant) return make_error("not_found", "no tenant " + std::to_string(requested));
      }
      tenant_id = requested;
    }
    RELAY_ASSIGN_OR_RETURN(auto issued,
                           services.key_service.issue(tenant_id, scopes, expires_days));
    json::object reply = masked_key(issued.key);
    // The secret is in this reply and nowhere else: an idempotent replay gets the key without it.
    reply["secret"] = nullptr;
    call.body_to_store = common::json_to_string(reply);
    reply["secret"] = issued.secret;
    audit(call, tenant_id, "key.create",
          json::object{{"key_id", issued.key.id},
                       {"prefix", issued.key.prefix},
                       {"scopes", energy::format_scopes(scopes)},
                       {"expires_at", ms_or_null(issued.key.expires_at)}});
    HttpResponse response = json_reply(201, reply);
    common::secure_zero(issued.secret.data(), issued.secret.size());
    return response;
  }

  Result<HttpResponse> list_keys(Call& call) {
    RELAY_ASSIGN_OR_RETURN(auto keys, services.keys.list(call.key->tenant_id));
    json::array out;
    for (const auto& key : keys) {
      // The store is asked for this tenant's keys; checking again costs nothing and keeps a
      // store bug from leaking another tenant's keys.
      if (key.tenant_id == call.key->tenant_id) out.push_back(masked_key(key));
    }
    return json_reply(200, json::object{{"keys", std::move(out)}});
  }

  Result<HttpResponse> revoke_key(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t key_id, path_id(call.params, "id", "API key"));
    common::TimePoint now = services.clock.now();
    RELAY_ASSIGN_OR_RETURN(bool revoked, services.keys.revoke(key_id, call.key->tenant_id, now));
    if (revoked) services.key_service.forget(key_id);
    // Another tenant's key, an unknown one and one already revoked look the same from outside.
    if (!revoked) return make_error("not_found", "no active API key " + std::to_string(key_id));
    audit(call, call.key->tenant_id, "key.revoke", json::object{{"key_id", key_id}});
    return json_reply(200, json::object{{"id", key_id}, {"revoked_at", ms(now)}});
  }

  Result<HttpResponse> create_tenant(Call& call) {
    RELAY_TRY_STATUS(only_fields(call.body, {"name"}));
    RELAY_ASSIGN_OR_RETURN(std::string name, bounded_text(call.body, "name", kMaxNameLength));
    RELAY_ASSIGN_OR_RETURN(auto tenant, services.tenants.create(name));
    audit(call, tenant.id, "tenant.create", json::object{{"name", tenant.name}});
    return json_reply(
        201, json::object{
                 {"id", tenant.id}, {"name", tenant.name}, {"created_at", ms(tenant.created_at)}});
  }

  Result<HttpResponse> credit_tenant(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t tenant_id, path_id(call.params, "id", "tenant"));
    RELAY_TRY_STATUS(only_fields(call.body, {"amount_sun", "reference"}));
    // An integer, or a decimal string for clients whose numbers are doubles; never a float.
    RELAY_ASSIGN_OR_RETURN(int64_t amount, common::json_get_int64(call.body, "amount_sun"));
    if (amount <= 0) return invalid("amount_sun: must be positive");
    std::string reference = "admin:credit";
    if (call.body.contains("reference")) {
      RELAY_ASSIGN_OR_RETURN(reference, bounded_text(call.body, "reference", kMaxReferenceLength));
    }
    RELAY_ASSIGN_OR_RETURN(auto tenant, services.tenants.find(tenant_id));
    if (!tenant) return make_error("not_found", "no tenant " + std::to_string(tenant_id));
    RELAY_ASSIGN_OR_RETURN(auto entry,
                           services.ledger.credit(tenant_id, common::Sun(amount), reference));
    audit(call, tenant_id, "ledger.credit",
          json::object{{"entry_id", entry.id}, {"amount_sun", amount}, {"reference", reference}});
    json::object reply{{"tenant_id", tenant_id}, {"entry", ledger_entry_json(entry)}};
    // The balance is a convenience; the credit stands even if reading it back fails.
    if (auto balance = services.ledger.balance(tenant_id); balance.ok())
      add_balance(reply, *balance);
    return json_reply(201, reply);
  }
};

ApiServer::ApiServer(ApiOptions options, ApiServices services, common::Logger& logger)
    : state_(std::make_unique<State>(std::move(options), services, logger)) {}

ApiServer::~ApiServer() { stop(); }

common::Result<uint16_t> ApiServer::start() { return state_->http->start(); }

bool ApiServer::drain(std::chrono::milliseconds timeout) { return state_->http->drain(timeout); }

void ApiServer::stop() { state_->http->stop(); }

common::HttpResponse ApiServer::handle(const common::HttpRequest& request) {
  return state_->handle(request);
}

void ApiServer::set_rate_limit(RateLimitOptions options) { state_->limiter.set_options(options); }

MetricsRegistry& ApiServer::metrics() { return state_->metrics; }

}  // namespace relay::api
