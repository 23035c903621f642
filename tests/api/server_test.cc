#include "api/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/hash.h"
#include "common/json.h"
#include "tests/support/api_calls.h"
#include "tests/support/fake_store.h"
#include "tests/support/http_client.h"

namespace relay::api {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using relay::testing::TestHttpClient;
using Response = TestHttpClient::Response;
using Headers = TestHttpClient::Headers;
using energy::Scope;

class FakeProbe final : public HealthProbe {
 public:
  common::Status check() override {
    if (healthy) return {};
    return common::make_error("unavailable", "probe says down");
  }
  std::atomic<bool> healthy{true};
};

json::object body_of(const Response& response) {
  auto parsed = common::parse_json_object(response.body());
  EXPECT_TRUE(parsed.ok()) << response.body();
  return parsed.ok() ? *parsed : json::object{};
}

std::string error_code(const Response& response) {
  auto body = body_of(response);
  const auto* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) return "<no error object>";
  return std::string(error->as_object().at("code").as_string());
}

std::string header(const Response& response, std::string_view name) {
  return std::string(response[name]);
}

bool looks_like_request_id(const std::string& id) {
  return id.size() == 20 && id.starts_with("req_") &&
         id.find_first_not_of("0123456789abcdef", 4) == std::string::npos;
}

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest() : store_(clock_), key_service_(store_.keys, clock_) {
    tenant_a_ = store_.tenants.create("Alpha Wallet")->id;
    tenant_b_ = store_.tenants.create("Beta Merchant")->id;
    EXPECT_TRUE(store_.ledger.credit(tenant_a_, common::Sun(5'000'000), "seed").ok());
    EXPECT_TRUE(store_.ledger.credit(tenant_b_, common::Sun(7'000'000), "seed").ok());
    // Tenant A is the operator's own tenant here: its admin key also holds `operator`.
    admin_a_ = add_key(tenant_a_, {Scope::kAdmin, Scope::kOperator});
    quote_a_ = add_key(tenant_a_, {Scope::kQuote});
    admin_b_ = add_key(tenant_b_, {Scope::kAdmin});
    expired_a_ = add_key(tenant_a_, energy::all_scopes(), clock_.now() - std::chrono::hours(1));
    revoked_a_ = add_key(tenant_a_, energy::all_scopes());
    EXPECT_TRUE(*store_.keys.revoke(key_ids_[revoked_a_], std::nullopt, clock_.now()));
  }

  // A key stored directly, so that expired and revoked ones can be made; returns its secret.
  std::string add_key(int64_t tenant_id, std::set<Scope> scopes,
                      std::optional<common::TimePoint> expires_at = std::nullopt) {
    std::string suffix = std::to_string(++keys_made_);
    std::string secret = "trk_" + std::string(43 - suffix.size(), 'K') + suffix;
    energy::ApiKey key;
    key.tenant_id = tenant_id;
    key.prefix = secret.substr(0, 12);
    key.secret_hash = energy::hash_secret(secret);
    key.scopes = std::move(scopes);
    key.expires_at = expires_at;
    auto stored = store_.keys.insert(key);
    EXPECT_TRUE(stored.ok());
    key_ids_[secret] = stored->id;
    return secret;
  }

  ApiOptions options() {
    ApiOptions options;
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    options.http.threads = 2;
    options.http.max_body_bytes = 4096;
    options.rate_limit.requests_per_second = 1000;
    options.rate_limit.burst = 1000;
    options.failed_auth_limit.burst = 1000;
    return options;
  }

  ApiServices services() {
    return testing::core_services(store_, key_service_, clock_, db_probe_, chain_probe_);
  }

  uint16_t start(ApiOptions options) {
    server_ = std::make_unique<ApiServer>(std::move(options), services(), logger_);
    auto port = server_->start();
    EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error().message);
    port_ = port.ok() ? *port : 0;
    client_ = std::make_unique<TestHttpClient>(port_);
    return port_;
  }
  uint16_t start() { return start(options()); }

  static Headers bearer(const std::string& secret, Headers more = {}) {
    more.emplace_back("Authorization", "Bearer " + secret);
    return more;
  }

  Response get(const std::string& target, const std::string& secret) {
    return client_->get(target, bearer(secret));
  }
  Response post(const std::string& target, const std::string& body, const std::string& secret,
                Headers more = {}) {
    return client_->post(target, body, bearer(secret, std::move(more)));
  }

  int64_t balance_of(int64_t tenant_id) {
    return store_.ledger.balance(tenant_id)->balance.value();
  }

  common::ManualClock clock_ = common::ManualClock::at_ms(1'700'000'000'000);
  relay::testing::FakeStore store_;
  energy::ApiKeyService key_service_;
  FakeProbe db_probe_;
  FakeProbe chain_probe_;
  std::ostringstream log_;
  common::Logger logger_{log_, common::LogLevel::kInfo, &clock_};
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<TestHttpClient> client_;
  uint16_t port_ = 0;

  int64_t tenant_a_ = 0;
  int64_t tenant_b_ = 0;
  std::string admin_a_, quote_a_, admin_b_, expired_a_, revoked_a_;
  std::map<std::string, int64_t> key_ids_;
  int keys_made_ = 0;
};

// ---- Public routes.

TEST_F(ApiServerTest, HealthIsOkWithoutAuth) {
  start();
  Response response = client_->get("/health");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"status":"ok","db":"ok","chain":"ok","ts":1700000000000})");
  EXPECT_TRUE(looks_like_request_id(header(response, "X-Request-Id")));
  EXPECT_EQ(response.count("X-RateLimit-Limit"), 0U);  // not an authenticated reply
}

TEST_F(ApiServerTest, HealthIsDegradedAnd503WhenADependencyIsDown) {
  start();
  db_probe_.healthy = false;
  Response response = client_->get("/health");
  EXPECT_EQ(response.result_int(), 503);
  auto body = body_of(response);
  EXPECT_EQ(body["status"], "degraded");
  EXPECT_EQ(body["db"], "down");
  EXPECT_EQ(body["chain"], "ok");
  db_probe_.healthy = true;
  chain_probe_.healthy = false;
  EXPECT_EQ(body_of(client_->get("/health"))["chain"], "down");
  // HEAD answers like GET, without the body.
  Response head = client_->request(http::verb::head, "/health");
  EXPECT_EQ(head.result_int(), 503);
  EXPECT_TRUE(head.body().empty());
}

TEST_F(ApiServerTest, MetricsCountRequestsByRoutePatternWithoutAuth) {
  start();
  EXPECT_EQ(get("/v1/keys/12345", admin_a_).result_int(), 405);
  EXPECT_EQ(client_->del("/v1/keys/12345", bearer(admin_a_)).result_int(), 404);
  EXPECT_EQ(client_->get("/nowhere").result_int(), 404);
  // The observer runs once the reply is written, so a scrape may briefly lag the replies.
  std::string text;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    Response metrics = client_->get("/metrics");
    EXPECT_EQ(metrics.result_int(), 200);
    EXPECT_EQ(header(metrics, "Content-Type"), MetricsRegistry::kContentType);
    text = metrics.body();
    if (text.find("route=\"unmatched\",status=\"404\"") != std::string::npos) break;
    std::this_thread::yield();
  }
  EXPECT_NE(text.find("tronrelay_http_requests_total{method=\"DELETE\",route=\"/v1/keys/{id}\","
                      "status=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tronrelay_http_requests_total{method=\"GET\",route=\"unmatched\","
                      "status=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tronrelay_http_request_duration_seconds_bucket{route=\"/v1/keys/{id}\""),
            std::string::npos);
  EXPECT_NE(text.find("tronrelay_http_open_connections 1"), std::string::npos) << text;
  // Raw paths with ids never become labels.
  EXPECT_EQ(text.find("12345"), std::string::npos);
}

// ---- Authentication and scopes on every route.

struct ProtectedRoute {
  http::verb method;
  std::string target;
  std::string body;
  bool admin_only;
  int success_status;
};

TEST_F(ApiServerTest, AuthMatrixOverEveryProtectedRoute) {
  start();
  // DELETE needs a key to delete each time it succeeds.
  auto routes = [&] {
    std::string victim = add_key(tenant_a_, {Scope::kQuote});
    return std::vector<ProtectedRoute>{
        {http::verb::get, "/v1/account", "", false, 200},
        {http::verb::get, "/v1/account/ledger", "", false, 200},
        {http::verb::post, "/v1/keys", R"({"scopes":["quote"]})", true, 201},
        {http::verb::get, "/v1/keys", "", true, 200},
        {http::verb::delete_, "/v1/keys/" + std::to_string(key_ids_[victim]), "", true, 200},
        {http::verb::post, "/v1/admin/tenants", R"({"name":"Gamma"})", true, 201},
        {http::verb::post, "/v1/admin/tenants/" + std::to_string(tenant_b_) + "/credit",
         R"({"amount_sun":1})", true, 201},
    };
  };
  const std::vector<std::pair<std::string, Headers>> unauthenticated = {
      {"no header", {}},
      {"unknown key", {{"Authorization", "Bearer trk_" + std::string(43, 'Z')}}},
      {"malformed key", {{"Authorization", "Bearer not-a-key"}}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"basic scheme", {{"Authorization", "Basic " + admin_a_}}},
      {"bare key", {{"Authorization", admin_a_}}},
      {"expired key", bearer(expired_a_)},
      {"revoked key", bearer(revoked_a_)},
  };
  for (const ProtectedRoute& route : routes()) {
    SCOPED_TRACE(route.target);
    for (const auto& [why, headers] : unauthenticated) {
      Response response = client_->request(route.method, route.target, route.body, headers);
      EXPECT_EQ(response.result_int(), 401) << why;
      EXPECT_EQ(error_code(response), "unauthorized") << why;
      EXPECT_EQ(header(response, "WWW-Authenticate"), "Bearer") << why;
      EXPECT_TRUE(looks_like_request_id(header(response, "X-Request-Id"))) << why;
      EXPECT_EQ(response.count("X-RateLimit-Limit"), 0U) << why;
    }
  }
  for (const ProtectedRoute& route : routes()) {
    SCOPED_TRACE(route.target);
    Response quote_only =
        client_->request(route.method, route.target, route.body, bearer(quote_a_));
    if (route.admin_only) {
      EXPECT_EQ(quote_only.result_int(), 403);
      EXPECT_EQ(error_code(quote_only), "forbidden");
    } else {
      EXPECT_EQ(quote_only.result_int(), route.success_status);  // any scope will do
    }
    EXPECT_FALSE(header(quote_only, "X-RateLimit-Limit").empty());
    EXPECT_TRUE(looks_like_request_id(header(quote_only, "X-Request-Id")));
  }
  for (const ProtectedRoute& route : routes()) {
    SCOPED_TRACE(route.target);
    Response admin = client_->request(route.method, route.target, route.body, bearer(admin_a_));
    EXPECT_EQ(admin.result_int(), route.success_status) << admin.body();
    EXPECT_FALSE(header(admin, "X-RateLimit-Remaining").empty());
    EXPECT_TRUE(looks_like_request_id(header(admin, "X-Request-Id")));
  }
}

TEST_F(ApiServerTest, SchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  start();
  EXPECT_EQ(
      client_->get("/v1/account", {{"Authorization", "bearer  " + quote_a_ + " "}}).result_int(),
      200);
}

// ---- Tenants see only their own objects.

TEST_F(ApiServerTest, AccountShowsTheCallersTenantInSun) {
  start();
  ASSERT_TRUE(store_.ledger.place_hold(tenant_a_, common::Sun(1'500'000), "lease:1").ok());
  Response response = get("/v1/account", quote_a_);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"tenant_id":1,"name":"Alpha Wallet","balance_sun":5000000,)"
                             R"("reserved_sun":1500000,"available_sun":3500000})");
  EXPECT_EQ(body_of(get("/v1/account", admin_b_))["name"], "Beta Merchant");
}

TEST_F(ApiServerTest, AnotherTenantsKeyIsNotFoundAndStaysValid) {
  start();
  std::string a_key_id = std::to_string(key_ids_[quote_a_]);
  Response response = client_->del("/v1/keys/" + a_key_id, bearer(admin_b_));
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(error_code(response), "not_found");
  EXPECT_EQ(get("/v1/account", quote_a_).result_int(), 200);

  for (const char* bad_id : {"0", "-1", "abc", "99999999999999999999", "1.0"}) {
    EXPECT_EQ(client_->del(std::string("/v1/keys/") + bad_id, bearer(admin_b_)).result_int(), 404)
        << bad_id;
  }
}

TEST_F(ApiServerTest, KeyListingIsOwnTenantOnlyAndMasked) {
  start();
  Response response = get("/v1/keys", admin_b_);
  ASSERT_EQ(response.result_int(), 200);
  auto keys = body_of(response)["keys"].as_array();
  ASSERT_EQ(keys.size(), 1U);
  auto key = keys[0].as_object();
  EXPECT_EQ(key["id"], key_ids_[admin_b_]);
  EXPECT_EQ(key["tenant_id"], tenant_b_);
  EXPECT_EQ(key["prefix"], admin_b_.substr(0, 12).c_str());
  EXPECT_EQ(key["scopes"], json::array({"admin"}));
  EXPECT_EQ(key["created_at"], 1'700'000'000'000);
  EXPECT_TRUE(key["expires_at"].is_null());
  EXPECT_TRUE(key["revoked_at"].is_null());
  EXPECT_EQ(key.size(), 7U);  // nothing else: no hash, no secret
  EXPECT_EQ(response.body().find(admin_b_.substr(12)), std::string::npos);

  auto a_keys = body_of(get("/v1/keys", admin_a_))["keys"].as_array();
  EXPECT_EQ(a_keys.size(), 4U);  // admin, quote, expired, revoked
  for (const auto& k : a_keys) EXPECT_EQ(k.as_object().at("tenant_id"), tenant_a_);
}

TEST_F(ApiServerTest, LedgerIsOwnTenantNewestFirstAndPaginated) {
  start();
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(store_.ledger.credit(tenant_a_, common::Sun(i), "c" + std::to_string(i)).ok());
  }
  Response first = get("/v1/account/ledger?limit=2", quote_a_);
  ASSERT_EQ(first.result_int(), 200) << first.body();
  auto page = body_of(first);
  auto entries = page["entries"].as_array();
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].as_object()["reference"], "c4");
  EXPECT_EQ(entries[0].as_object()["kind"], "credit");
  EXPECT_EQ(entries[0].as_object()["amount_sun"], 4);
  EXPECT_TRUE(entries[0].as_object()["hold_id"].is_null());
  EXPECT_EQ(entries[1].as_object()["reference"], "c3");
  ASSERT_TRUE(page["next_before"].is_int64());

  std::string next = std::to_string(page["next_before"].as_int64());
  auto second = body_of(get("/v1/account/ledger?limit=2&before=" + next, quote_a_));
  auto second_entries = second["entries"].as_array();
  ASSERT_EQ(second_entries.size(), 2U);
  EXPECT_EQ(second_entries[0].as_object()["reference"], "c2");
  std::string last = std::to_string(second["next_before"].as_int64());
  auto third = body_of(get("/v1/account/ledger?limit=2&before=" + last, quote_a_));
  ASSERT_EQ(third["entries"].as_array().size(), 1U);  // the seed credit
  EXPECT_TRUE(third["next_before"].is_null());

  auto b_entries = body_of(get("/v1/account/ledger", admin_b_))["entries"].as_array();
  ASSERT_EQ(b_entries.size(), 1U);
  EXPECT_EQ(b_entries[0].as_object()["amount_sun"], 7'000'000);
}

TEST_F(ApiServerTest, LedgerQueryIsValidated) {
  start();
  for (const char* query : {"limit=0", "limit=201", "limit=abc", "limit=", "before=0", "before=x",
                            "limit=1.5", "page=2", "limit=%zz"}) {
    Response response = get(std::string("/v1/account/ledger?") + query, quote_a_);
    EXPECT_EQ(response.result_int(), 400) << query;
    EXPECT_EQ(error_code(response), "invalid_request") << query;
  }
  EXPECT_EQ(get("/v1/account/ledger?limit=200", quote_a_).result_int(), 200);
}

// ---- Keys.

TEST_F(ApiServerTest, CreatedKeySecretIsShownOnceAndWorks) {
  start();
  Response created =
      post("/v1/keys", R"({"scopes":["quote","lease","quote"],"expires_days":30})", admin_a_);
  ASSERT_EQ(created.result_int(), 201) << created.body();
  auto key = body_of(created);
  std::string secret(key["secret"].as_string());
  EXPECT_TRUE(secret.starts_with("trk_"));
  EXPECT_EQ(secret.size(), 47U);
  EXPECT_EQ(key["tenant_id"], tenant_a_);
  EXPECT_EQ(key["scopes"], json::array({"quote", "lease"}));
  EXPECT_EQ(key["expires_at"], 1'700'000'000'000 + 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(key["prefix"], secret.substr(0, 12).c_str());

  EXPECT_EQ(body_of(get("/v1/account", secret))["tenant_id"], tenant_a_);
  EXPECT_EQ(get("/v1/keys", secret).result_int(), 403);  // quote+lease, not admin
  std::string listing = get("/v1/keys", admin_a_).body();
  EXPECT_EQ(listing.find(secret), std::string::npos);
  // Nor is it in the audit log or the log lines.
  for (const auto& event : store_.audit.events()) {
    EXPECT_EQ(event.details_json.find(secret.substr(4)), std::string::npos);
  }
  EXPECT_EQ(log_.str().find(secret.substr(4)), std::string::npos);
}

TEST_F(ApiServerTest, AnAdminKeyWithoutOperatorManagesOnlyItsOwnTenant) {
  start();
  // The money bug this separation closes: a tenant able to manage its keys crediting itself.
  std::string own_credit = "/v1/admin/tenants/" + std::to_string(tenant_b_) + "/credit";
  Response credit = post(own_credit, R"({"amount_sun":1000000})", admin_b_);
  EXPECT_EQ(credit.result_int(), 403);
  EXPECT_EQ(error_code(credit), "forbidden");
  EXPECT_EQ(post("/v1/admin/tenants", R"({"name":"Mallory"})", admin_b_).result_int(), 403);
  EXPECT_EQ(store_.ledger.balance(tenant_b_)->balance.value(), 7'000'000);

  std::string other = R"({"scopes":["quote"],"tenant_id":)" + std::to_string(tenant_a_) + "}";
  Response foreign = post("/v1/keys", other, admin_b_);
  EXPECT_EQ(foreign.result_int(), 403);
  Response escalate = post("/v1/keys", R"({"scopes":["operator"]})", admin_b_);
  EXPECT_EQ(escalate.result_int(), 403);
  EXPECT_EQ(error_code(escalate), "forbidden");
  // Its own tenant id is allowed, and so is any non-operator scope.
  std::string own = R"({"scopes":["admin","lease"],"tenant_id":)" + std::to_string(tenant_b_) + "}";
  EXPECT_EQ(post("/v1/keys", own, admin_b_).result_int(), 201);
}

TEST_F(ApiServerTest, RepeatedInvalidKeysFromOneAddressAreStoppedBeforeTheStore) {
  ApiOptions limited = options();
  limited.failed_auth_limit = {.requests_per_second = 1, .burst = 3};
  start(limited);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get("/v1/account", "trk_" + std::string(43, 'x')).result_int(), 401);
  }
  Response blocked = get("/v1/account", "trk_" + std::string(43, 'x'));
  EXPECT_EQ(blocked.result_int(), 429);
  EXPECT_EQ(error_code(blocked), "rate_limit_exceeded");
  EXPECT_FALSE(header(blocked, "Retry-After").empty());
  // Valid keys from that address are stopped too until the bucket refills: the address is what
  // misbehaved, and the limiter cannot tell a guess from a key before looking it up.
  EXPECT_EQ(get("/v1/account", quote_a_).result_int(), 429);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(get("/v1/account", quote_a_).result_int(), 200);
}

TEST_F(ApiServerTest, AdminMayCreateAKeyForAnotherTenant) {
  start();
  std::string body = R"({"scopes":["relay"],"tenant_id":)" + std::to_string(tenant_b_) + "}";
  Response created = post("/v1/keys", body, admin_a_);
  ASSERT_EQ(created.result_int(), 201) << created.body();
  std::string secret(body_of(created)["secret"].as_string());
  EXPECT_EQ(body_of(get("/v1/account", secret))["tenant_id"], tenant_b_);

  Response unknown = post("/v1/keys", R"({"scopes":["relay"],"tenant_id":999})", admin_a_);
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_EQ(error_code(unknown), "not_found");
}

TEST_F(ApiServerTest, RevokedKeyStopsWorking) {
  start();
  std::string victim = add_key(tenant_a_, {Scope::kQuote});
  std::string id = std::to_string(key_ids_[victim]);
  Response revoked = client_->del("/v1/keys/" + id, bearer(admin_a_));
  ASSERT_EQ(revoked.result_int(), 200);
  EXPECT_EQ(body_of(revoked)["id"], key_ids_[victim]);
  EXPECT_EQ(body_of(revoked)["revoked_at"], 1'700'000'000'000);
  EXPECT_EQ(get("/v1/account", victim).result_int(), 401);
  EXPECT_EQ(client_->del("/v1/keys/" + id, bearer(admin_a_)).result_int(), 404);  // once only
}

// ---- Admin routes.

TEST_F(ApiServerTest, CreateTenantAndCreditIt) {
  start();
  Response created = post("/v1/admin/tenants", R"({"name":"Gamma Pay"})", admin_a_);
  ASSERT_EQ(created.result_int(), 201) << created.body();
  auto tenant = body_of(created);
  EXPECT_EQ(tenant["name"], "Gamma Pay");
  int64_t id = tenant["id"].as_int64();

  Response credited =
      post("/v1/admin/tenants/" + std::to_string(id) + "/credit",
           R"({"amount_sun":"9007199254740993","reference":"wire 2024-05"})", admin_a_);
  ASSERT_EQ(credited.result_int(), 201) << credited.body();
  auto reply = body_of(credited);
  EXPECT_EQ(reply["tenant_id"], id);
  EXPECT_EQ(reply["entry"].as_object()["amount_sun"], 9'007'199'254'740'993);  // above 2^53
  EXPECT_EQ(reply["entry"].as_object()["reference"], "wire 2024-05");
  EXPECT_EQ(reply["balance_sun"], 9'007'199'254'740'993);
  EXPECT_EQ(balance_of(id), 9'007'199'254'740'993);

  Response plain =
      post("/v1/admin/tenants/" + std::to_string(id) + "/credit", R"({"amount_sun":5})", admin_a_);
  EXPECT_EQ(body_of(plain)["entry"].as_object()["reference"], "admin:credit");
}

TEST_F(ApiServerTest, CreditToAnUnknownTenantIsNotFound) {
  start();
  for (const char* target : {"/v1/admin/tenants/999/credit", "/v1/admin/tenants/abc/credit",
                             "/v1/admin/tenants/-3/credit"}) {
    Response response = post(target, R"({"amount_sun":5})", admin_a_);
    EXPECT_EQ(response.result_int(), 404) << target;
    EXPECT_EQ(error_code(response), "not_found") << target;
  }
}

TEST_F(ApiServerTest, EveryMutationIsAudited) {
  start();
  size_t before = store_.audit.events().size();
  std::string victim = add_key(tenant_a_, {Scope::kQuote});
  ASSERT_EQ(post("/v1/keys", R"({"scopes":["quote"]})", admin_a_).result_int(), 201);
  ASSERT_EQ(
      client_->del("/v1/keys/" + std::to_string(key_ids_[victim]), bearer(admin_a_)).result_int(),
      200);
  ASSERT_EQ(post("/v1/admin/tenants", R"({"name":"Delta"})", admin_a_).result_int(), 201);
  ASSERT_EQ(post("/v1/admin/tenants/2/credit", R"({"amount_sun":10})", admin_a_).result_int(), 201);
  auto events = store_.audit.events();
  ASSERT_EQ(events.size(), before + 4);
  std::string actor = "key:" + std::to_string(key_ids_[admin_a_]);
  EXPECT_EQ(events[before].action, "key.create");
  EXPECT_EQ(events[before + 1].action, "key.revoke");
  EXPECT_EQ(events[before + 2].action, "tenant.create");
  EXPECT_EQ(events[before + 3].action, "ledger.credit");
  EXPECT_EQ(events[before + 3].tenant_id, tenant_b_);
  for (size_t i = before; i < events.size(); ++i) {
    EXPECT_EQ(events[i].actor, actor);
    EXPECT_TRUE(common::parse_json_object(events[i].details_json).ok());
  }
  // Reads are not audited.
  ASSERT_EQ(get("/v1/keys", admin_a_).result_int(), 200);
  EXPECT_EQ(store_.audit.events().size(), before + 4);
}

TEST_F(ApiServerTest, AFailingAuditLogDoesNotUndoTheReply) {
  start();
  store_.audit.failures.fail_next(common::make_error("store_unavailable", "down"));
  Response response = post("/v1/admin/tenants", R"({"name":"Epsilon"})", admin_a_);
  EXPECT_EQ(response.result_int(), 201);
  EXPECT_NE(log_.str().find("audit record failed"), std::string::npos);
}

// ---- Idempotency-Key.

TEST_F(ApiServerTest, IdempotentCreditRunsOnceAndReplays) {
  start();
  std::string target = "/v1/admin/tenants/" + std::to_string(tenant_b_) + "/credit";
  Headers key = {{"Idempotency-Key", "credit-2024-05-01"}};
  Response first = post(target, R"({"amount_sun":250})", admin_a_, key);
  ASSERT_EQ(first.result_int(), 201);
  Response replay = post(target, R"({"amount_sun":250})", admin_a_, key);
  EXPECT_EQ(replay.result_int(), 201);
  EXPECT_EQ(replay.body(), first.body());
  EXPECT_EQ(header(replay, "Idempotent-Replayed"), "true");
  EXPECT_NE(header(replay, "X-Request-Id"), header(first, "X-Request-Id"));
  EXPECT_EQ(balance_of(tenant_b_), 7'000'250);  // credited once

  Response reused = post(target, R"({"amount_sun":251})", admin_a_, key);
  EXPECT_EQ(reused.result_int(), 422);
  EXPECT_EQ(error_code(reused), "verification_failed");
  EXPECT_EQ(body_of(reused)["error"].as_object()["reason"], "idempotency_key_reused");
  EXPECT_EQ(balance_of(tenant_b_), 7'000'250);

  // Keys belong to the tenant: the same key from tenant B is a different key.
  Response other_tenant =
      post(target, R"({"amount_sun":1})", add_key(tenant_b_, {Scope::kOperator}), key);
  EXPECT_EQ(other_tenant.result_int(), 201);
}

TEST_F(ApiServerTest, IdempotencyKeyStillRunningIsConflict) {
  start();
  std::string target = "/v1/admin/tenants/2/credit";
  std::string body = R"({"amount_sun":5})";
  // Another instance claimed it with the same request and has not finished.
  std::string material = "POST\n" + target + "\n" + body;
  std::string hash = common::to_hex(common::sha256(common::as_bytes(material)));
  ASSERT_EQ(store_.idempotency.claim(tenant_a_, "busy", hash, clock_.now())->outcome,
            energy::IdempotencyOutcome::kStarted);
  Response response = post(target, body, admin_a_, {{"Idempotency-Key", "busy"}});
  EXPECT_EQ(response.result_int(), 409);
  EXPECT_EQ(error_code(response), "conflict");
  EXPECT_EQ(balance_of(tenant_b_), 7'000'000);
}

TEST_F(ApiServerTest, IdempotentKeyCreationNeverStoresTheSecret) {
  start();
  Headers key = {{"Idempotency-Key", "new-key-1"}};
  Response first = post("/v1/keys", R"({"scopes":["quote"]})", admin_a_, key);
  ASSERT_EQ(first.result_int(), 201);
  std::string secret(body_of(first)["secret"].as_string());
  auto stored = store_.idempotency.stored(tenant_a_, "new-key-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->body.find(secret.substr(4)), std::string::npos);

  Response replay = post("/v1/keys", R"({"scopes":["quote"]})", admin_a_, key);
  EXPECT_EQ(replay.result_int(), 201);
  auto replayed = body_of(replay);
  EXPECT_TRUE(replayed["secret"].is_null());
  EXPECT_EQ(replayed["id"], body_of(first)["id"]);
}

TEST_F(ApiServerTest, ServerErrorsFreeTheIdempotencyKeyClientErrorsAreStored) {
  start();
  std::string target = "/v1/admin/tenants/2/credit";
  Headers key = {{"Idempotency-Key", "k-retry"}};
  store_.ledger.failures.fail_next(common::make_error("store_unavailable", "pg down"));
  Response failed = post(target, R"({"amount_sun":9})", admin_a_, key);
  EXPECT_EQ(failed.result_int(), 503);
  EXPECT_FALSE(store_.idempotency.claimed(tenant_a_, "k-retry"));
  EXPECT_EQ(post(target, R"({"amount_sun":9})", admin_a_, key).result_int(), 201);
  EXPECT_EQ(balance_of(tenant_b_), 7'000'009);

  Headers other = {{"Idempotency-Key", "k-404"}};
  Response missing = post("/v1/admin/tenants/999/credit", R"({"amount_sun":9})", admin_a_, other);
  EXPECT_EQ(missing.result_int(), 404);
  Response replay = post("/v1/admin/tenants/999/credit", R"({"amount_sun":9})", admin_a_, other);
  EXPECT_EQ(replay.result_int(), 404);
  EXPECT_EQ(header(replay, "Idempotent-Replayed"), "true");
}

TEST_F(ApiServerTest, MalformedIdempotencyKeyIs400) {
  start();
  for (std::string bad : {std::string("has space"), std::string(256, 'k')}) {
    Response response =
        post("/v1/admin/tenants", R"({"name":"Z"})", admin_a_, {{"Idempotency-Key", bad}});
    EXPECT_EQ(response.result_int(), 400) << bad;
  }
}

// ---- Hostile and malformed input.

TEST_F(ApiServerTest, MalformedBodiesAre400InvalidRequest) {
  start();
  std::string credit = "/v1/admin/tenants/2/credit";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v1/admin/tenants", ""},
      {"/v1/admin/tenants", "{"},
      {"/v1/admin/tenants", "[]"},
      {"/v1/admin/tenants", R"("name")"},
      {"/v1/admin/tenants", "null"},
      {"/v1/admin/tenants", R"({"name":5})"},
      {"/v1/admin/tenants", R"({"name":""})"},
      {"/v1/admin/tenants", R"({"name":"   "})"},
      {"/v1/admin/tenants", R"({"name":"a\u0000b"})"},
      {"/v1/admin/tenants", R"({"name":")" + std::string(201, 'n') + R"("})"},
      {"/v1/admin/tenants", R"({"name":"x","extra":1})"},
      {"/v1/admin/tenants", R"({"name":"x"} trailing)"},
      {"/v1/keys", R"({})"},
      {"/v1/keys", R"({"scopes":"admin"})"},
      {"/v1/keys", R"({"scopes":[]})"},
      {"/v1/keys", R"({"scopes":["root"]})"},
      {"/v1/keys", R"({"scopes":[1]})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":0})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":3651})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":1.5})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":"30"})"},
      {"/v1/keys", R"({"scopes":["quote"],"tenant_id":"2"})"},
      {"/v1/keys", R"({"scopes":["quote"],"tenant_id":18446744073709551615})"},
      {credit, R"({})"},
      {credit, R"({"amount_sun":-5})"},
      {credit, R"({"amount_sun":0})"},
      {credit, R"({"amount_sun":"0"})"},
      {credit, R"({"amount_sun":1.5})"},
      {credit, R"({"amount_sun":1.0})"},
      {credit, R"({"amount_sun":1e3})"},
      {credit, R"({"amount_sun":"1.5"})"},
      {credit, R"({"amount_sun":"1e3"})"},
      {credit, R"({"amount_sun":" 5"})"},
      {credit, R"({"amount_sun":"-5"})"},
      {credit, R"({"amount_sun":9223372036854775808})"},
      {credit, R"({"amount_sun":99999999999999999999})"},
      {credit, R"({"amount_sun":"99999999999999999999"})"},
      {credit, R"({"amount_sun":1e400})"},
      {credit, R"({"amount_sun":true})"},
      {credit, R"({"amount_sun":null})"},
      {credit, R"({"amount_sun":[5]})"},
      {credit, R"({"amount_sun":5,"reference":7})"},
      {credit, R"({"amount_sun":5,"reference":""})"},
  };
  for (const auto& [target, body] : cases) {
    Response response = post(target, body, admin_a_);
    EXPECT_EQ(response.result_int(), 400) << target << " " << body << " → " << response.body();
    EXPECT_EQ(error_code(response), "invalid_request") << body;
    EXPECT_EQ(body_of(response)["error"].as_object()["request_id"],
              header(response, "X-Request-Id").c_str());
  }
  EXPECT_EQ(balance_of(tenant_b_), 7'000'000);

  // The largest amount is fine; a balance beyond int64 is refused by the ledger, as a 400.
  int64_t rich = store_.tenants.create("Rich")->id;
  std::string rich_credit = "/v1/admin/tenants/" + std::to_string(rich) + "/credit";
  EXPECT_EQ(post(rich_credit, R"({"amount_sun":9223372036854775807})", admin_a_).result_int(), 201);
  Response overflow = post(rich_credit, R"({"amount_sun":1})", admin_a_);
  EXPECT_EQ(overflow.result_int(), 400);
  EXPECT_EQ(error_code(overflow), "invalid_request");
}

TEST_F(ApiServerTest, DeeplyNestedJsonIs400NotACrash) {
  start();
  std::string deep = R"({"name":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EXPECT_EQ(post("/v1/admin/tenants", deep, admin_a_).result_int(), 400);
}

TEST_F(ApiServerTest, OversizedBodyIs413Json) {
  start();
  std::string body = R"({"name":")" + std::string(8192, 'x') + R"("})";
  Response response = client_->post("/v1/admin/tenants", body, bearer(admin_a_));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(error_code(response), "payload_too_large");
  std::string id = header(response, "X-Request-Id");
  EXPECT_TRUE(looks_like_request_id(id));
  EXPECT_EQ(body_of(response)["error"].as_object()["request_id"], id.c_str());
}

TEST_F(ApiServerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  start();
  Response missing = client_->get("/v2/nothing");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(error_code(missing), "not_found");
  EXPECT_EQ(header(missing, "Content-Type"), "application/json");
  EXPECT_TRUE(looks_like_request_id(header(missing, "X-Request-Id")));

  Response wrong = client_->request(http::verb::put, "/v1/keys", "{}", bearer(admin_a_));
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(error_code(wrong), "method_not_allowed");
  EXPECT_EQ(header(wrong, "Allow"), "GET, HEAD, POST");
  EXPECT_EQ(client_->post("/health", "{}").result_int(), 405);
}

TEST_F(ApiServerTest, IncomingRequestIdIsEchoedInHeaderAndErrorBody) {
  start();
  Response response = client_->get("/v1/account", {{"X-Request-Id", "client-trace-7"}});
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(header(response, "X-Request-Id"), "client-trace-7");
  EXPECT_EQ(body_of(response)["error"].as_object()["request_id"], "client-trace-7");
}

// ---- Rate limits.

TEST_F(ApiServerTest, RateLimitIs429WithRetryAfterAndHeadersOnEveryReply) {
  ApiOptions limited = options();
  limited.rate_limit.requests_per_second = 1;
  limited.rate_limit.burst = 3;
  start(limited);
  for (int remaining = 2; remaining >= 0; --remaining) {
    Response response = get("/v1/keys", admin_a_);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(header(response, "X-RateLimit-Limit"), "3");
    EXPECT_EQ(header(response, "X-RateLimit-Remaining"), std::to_string(remaining));
    EXPECT_EQ(header(response, "X-RateLimit-Reset"), std::to_string(3 - remaining));
  }
  // Every reply to an authenticated request carries them, a 403 too; each key has its bucket.
  Response forbidden = get("/v1/keys", quote_a_);
  EXPECT_EQ(forbidden.result_int(), 403);
  EXPECT_EQ(header(forbidden, "X-RateLimit-Remaining"), "2");
  Response limited_reply = get("/v1/keys", admin_a_);
  EXPECT_EQ(limited_reply.result_int(), 429);
  EXPECT_EQ(error_code(limited_reply), "rate_limit_exceeded");
  EXPECT_EQ(header(limited_reply, "Retry-After"), "1");
  EXPECT_EQ(header(limited_reply, "X-RateLimit-Limit"), "3");
  EXPECT_EQ(header(limited_reply, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(limited_reply, "X-RateLimit-Reset"), "3");
  EXPECT_TRUE(looks_like_request_id(header(limited_reply, "X-Request-Id")));

  // Other keys are not affected; time refills the bucket (a manual clock: no sleeping).
  EXPECT_EQ(get("/v1/account", admin_b_).result_int(), 200);
  clock_.advance(std::chrono::seconds(1));
  Response after = get("/v1/keys", admin_a_);
  EXPECT_EQ(after.result_int(), 200);
  EXPECT_EQ(header(after, "X-RateLimit-Remaining"), "0");
  // Public routes are not limited.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(client_->get("/health").result_int(), 200);
}

// ---- Failures below the API.

TEST_F(ApiServerTest, StoreUnavailableIs503WithoutItsMessage) {
  start();
  store_.tenants.failures.fail_next(
      common::make_error("store_unavailable", "connection to 10.1.2.3 refused"));
  Response response = get("/v1/account", quote_a_);
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(error_code(response), "unavailable");
  EXPECT_EQ(response.body().find("10.1.2.3"), std::string::npos);
}

TEST_F(ApiServerTest, UnknownErrorsAre500InternalWithoutTheirMessage) {
  start();
  store_.keys.failures.fail_next(common::make_error("internal", "database error 42P01: relation"));
  Response response = get("/v1/account", quote_a_);  // fails in authentication
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(error_code(response), "internal");
  EXPECT_EQ(response.body().find("42P01"), std::string::npos);
}

class ThrowingTenants final : public energy::TenantRepository {
 public:
  common::Result<energy::Tenant> create(const std::string&) override {
    throw std::runtime_error("pqxx: secret detail");
  }
  common::Result<std::optional<energy::Tenant>> find(int64_t) override {
    throw std::runtime_error("pqxx: secret detail");
  }
  common::Result<std::vector<energy::Tenant>> list() override {
    throw std::runtime_error("pqxx: secret detail");
  }
};

TEST_F(ApiServerTest, ExceptionsStopAtTheBoundaryAs500) {
  ThrowingTenants throwing;
  ApiServices with_throwing = services();
  ApiServices patched{.tenants = throwing,
                      .keys = with_throwing.keys,
                      .ledger = with_throwing.ledger,
                      .idempotency = with_throwing.idempotency,
                      .audit = with_throwing.audit,
                      .key_service = with_throwing.key_service,
                      .clock = with_throwing.clock,
                      .database = with_throwing.database,
                      .chain = with_throwing.chain};
  ApiServer server(options(), patched, logger_);
  common::HttpRequest request{
      .method = "POST", .path = "/v1/admin/tenants", .query = "", .body = R"({"name":"x"})"};
  request.headers.add("Authorization", "Bearer " + admin_a_);
  request.headers.add("Idempotency-Key", "boom-1");
  request.request_id = "req_00000000000000aa";
  common::HttpResponse response = server.handle(request);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.find("secret detail"), std::string::npos);
  EXPECT_NE(response.body.find("req_00000000000000aa"), std::string::npos);
  EXPECT_EQ(response.route, "/v1/admin/tenants");
  EXPECT_NE(log_.str().find("secret detail"), std::string::npos);  // the operator sees it
  // The key was freed, so a retry can run once the store is back.
  EXPECT_FALSE(store_.idempotency.claimed(tenant_a_, "boom-1"));
}

// ---- Lifecycle.

TEST_F(ApiServerTest, DrainWithNothingInFlightReturnsAtOnce) {
  start();
  EXPECT_EQ(client_->get("/health").result_int(), 200);
  EXPECT_TRUE(server_->drain(std::chrono::seconds(5)));
  server_->stop();
}

TEST_F(ApiServerTest, AccessLogHasRequestIdsAndNoCredentials) {
  start();
  Response response = get("/v1/account", admin_a_);
  ASSERT_EQ(response.result_int(), 200);
  ASSERT_TRUE(server_->drain(std::chrono::seconds(5)));  // the observer has run for every reply
  std::string lines = log_.str();
  EXPECT_NE(lines.find(R"("request_id":")" + header(response, "X-Request-Id")), std::string::npos)
      << lines;
  EXPECT_NE(lines.find(R"("route":"/v1/account")"), std::string::npos);
  EXPECT_EQ(lines.find(admin_a_.substr(4)), std::string::npos);
}

}  // namespace
}  // namespace relay::api
