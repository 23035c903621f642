// ApiServer over real HTTP on 127.0.0.1, wired to the PostgreSQL repositories the way
// daemon/api_wiring.cc wires them: what the in-memory fakes of server_test.cc cannot show — that
// refused requests write no row, that secrets reach the database only as SHA-256, that an
// Idempotency-Key replay and 50 racing credits each land exactly once in the ledger.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <map>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "common/bytes.h"
#include "common/hash.h"
#include "common/json.h"
#include "energy/api_keys.h"
#include "store/audit_log.h"
#include "store/database.h"
#include "store/idempotency_repository.h"
#include "store/ledger_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace relay::api {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using energy::Scope;
using relay::testing::TestHttpClient;
using Response = TestHttpClient::Response;
using Headers = TestHttpClient::Headers;

// "db" of /health as the daemon has it: a SELECT 1 on the pool.
class PingProbe final : public HealthProbe {
 public:
  explicit PingProbe(store::Database& db) : db_(db) {}
  common::Status check() override { return db_.ping(); }

 private:
  store::Database& db_;
};

// The chain is not under test here.
class UpProbe final : public HealthProbe {
 public:
  common::Status check() override { return {}; }
};

// energy's ports on PostgreSQL, as daemon::ApiWiring owns them.
struct PgPorts {
  PgPorts(store::Database& db, const common::Clock& clock)
      : tenants(db), keys(db), ledger(db), idempotency(db), audit(db), key_service(keys, clock) {}
  store::PgTenantRepository tenants;
  store::PgApiKeyRepository keys;
  store::PgLedgerRepository ledger;
  store::PgIdempotencyRepository idempotency;
  store::PgAuditLog audit;
  energy::ApiKeyService key_service;
};

json::object body_of(const Response& response) {
  auto parsed = common::parse_json_object(response.body());
  EXPECT_TRUE(parsed.ok()) << response.body();
  return parsed.ok() ? *parsed : json::object{};
}

std::string header(const Response& response, std::string_view name) {
  return std::string(response[name]);
}

// The error shape of DESIGN.md §5, exactly: {"error":{"code","message","request_id"[,"reason"]}}.
void expect_error(const Response& response, int status, const std::string& code,
                  const std::string& context = "") {
  SCOPED_TRACE(context);
  EXPECT_EQ(response.result_int(), status) << response.body();
  EXPECT_EQ(header(response, "Content-Type"), "application/json");
  auto body = body_of(response);
  ASSERT_EQ(body.size(), 1U) << response.body();
  const json::value* error = body.if_contains("error");
  ASSERT_TRUE(error != nullptr && error->is_object()) << response.body();
  const json::object& fields = error->as_object();
  EXPECT_EQ(fields.size(), fields.contains("reason") ? 4U : 3U) << response.body();
  EXPECT_EQ(fields.at("code"), code.c_str());
  ASSERT_TRUE(fields.at("message").is_string());
  EXPECT_FALSE(fields.at("message").as_string().empty());
  std::string request_id = header(response, "X-Request-Id");
  EXPECT_TRUE(request_id.starts_with("req_")) << request_id;
  EXPECT_EQ(fields.at("request_id"), request_id.c_str());
}

// A well-formed secret no key was issued for: 43 random base64url characters after "trk_".
std::string random_secret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device random;
  std::string secret(energy::kApiKeyPrefix);
  for (int i = 0; i < 43; ++i) secret.push_back(kAlphabet[random() % 64]);
  return secret;
}

class ApiServerPgTest : public relay::testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    ports_ = std::make_unique<PgPorts>(db(), clock_);
    database_probe_ = std::make_unique<PingProbe>(db());
    // Tests share the binary's database: names carry a serial so rows can be told apart.
    static std::atomic<int> serial{0};
    std::string tag = std::to_string(++serial);
    tenant_a_ = new_tenant("Alpha Wallet " + tag);
    tenant_b_ = new_tenant("Beta Merchant " + tag);
    ASSERT_TRUE(ports_->ledger.credit(tenant_a_, common::Sun(5'000'000), "seed").ok());
    ASSERT_TRUE(ports_->ledger.credit(tenant_b_, common::Sun(7'000'000), "seed").ok());
    // Tenant A plays the operator: its admin key also holds `operator` for /v1/admin/*.
    admin_a_ = issue(tenant_a_, {Scope::kAdmin, Scope::kOperator});
    quote_a_ = issue(tenant_a_, {Scope::kQuote});
    // Every scope a tenant can hold except admin: the admin routes must still refuse it.
    non_admin_a_ = issue(tenant_a_, {Scope::kQuote, Scope::kLease, Scope::kRelay, Scope::kPools});
    admin_b_ = issue(tenant_b_, {Scope::kAdmin});
    expired_a_ = insert_key(tenant_a_, energy::all_scopes(), clock_.now() - std::chrono::hours(1));
    revoked_a_ = issue(tenant_a_, energy::all_scopes());
    ASSERT_TRUE(*ports_->keys.revoke(key_ids_[revoked_a_], std::nullopt, clock_.now()));
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
  }

  int64_t new_tenant(const std::string& name) {
    auto tenant = ports_->tenants.create(name);
    EXPECT_TRUE(tenant.ok()) << tenant.error().message;
    return tenant.ok() ? tenant->id : 0;
  }

  // A key issued the way POST /v1/keys issues it; returns the secret.
  std::string issue(int64_t tenant_id, std::set<Scope> scopes,
                    std::optional<int> expires_days = std::nullopt) {
    auto issued = ports_->key_service.issue(tenant_id, scopes, expires_days);
    EXPECT_TRUE(issued.ok()) << issued.error().message;
    if (!issued.ok()) return "";
    key_ids_[issued->secret] = issued->key.id;
    return issued->secret;
  }

  // A key written straight through the repository, so that one can already be expired.
  std::string insert_key(int64_t tenant_id, std::set<Scope> scopes,
                         std::optional<common::TimePoint> expires_at) {
    std::string secret = random_secret();
    energy::ApiKey key;
    key.tenant_id = tenant_id;
    key.prefix = secret.substr(0, 12);
    key.secret_hash = energy::hash_secret(secret);
    key.scopes = std::move(scopes);
    key.expires_at = expires_at;
    auto stored = ports_->keys.insert(key);
    EXPECT_TRUE(stored.ok()) << stored.error().message;
    if (stored.ok()) key_ids_[secret] = stored->id;
    return secret;
  }

  static ApiOptions options() {
    ApiOptions options;
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    options.http.threads = 4;
    options.http.max_body_bytes = 4096;
    // Limits are server_test's business; here they would only turn the concurrency test into 429s.
    options.rate_limit.requests_per_second = 100'000;
    options.rate_limit.burst = 100'000;
    return options;
  }

  ApiServices services(HealthProbe& database) {
    return ApiServices{.tenants = ports_->tenants,
                       .keys = ports_->keys,
                       .ledger = ports_->ledger,
                       .idempotency = ports_->idempotency,
                       .audit = ports_->audit,
                       .key_service = ports_->key_service,
                       .clock = clock_,
                       .database = database,
                       .chain = chain_probe_};
  }

  void start() {
    server_ = std::make_unique<ApiServer>(options(), services(*database_probe_), logger_);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    client_ = std::make_unique<TestHttpClient>(port_);
  }

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
  static std::string credit_path(int64_t tenant_id) {
    return "/v1/admin/tenants/" + std::to_string(tenant_id) + "/credit";
  }

  // ---- What the database holds, read with SQL rather than through the code under test.

  int64_t number(const std::string& sql) {
    std::string text = scalar(sql);
    return text.empty() ? 0 : std::stoll(text);
  }
  int64_t ledger_rows(int64_t tenant_id) {
    return number("SELECT count(*) FROM ledger_entries WHERE tenant_id = " +
                  std::to_string(tenant_id));
  }
  int64_t balance_sun(int64_t tenant_id) {
    return number("SELECT balance_sun FROM tenants WHERE id = " + std::to_string(tenant_id));
  }
  // The balance as the append-only entries alone define it.
  int64_t derived_balance_sun(int64_t tenant_id) {
    return number("SELECT balance_sun FROM ledger_balances_derived WHERE tenant_id = " +
                  std::to_string(tenant_id));
  }
  // Rows in every table a request may write, and every tenant's totals; a refused request must
  // leave all of it as it was.
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> out;
    for (const char* table :
         {"tenants", "api_keys", "ledger_entries", "holds", "idempotency_keys", "audit_log"}) {
      out[table] = scalar(std::string("SELECT count(*) FROM ") + table);
    }
    out["revoked api_keys"] = scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL");
    out["md5 of tenant totals"] = scalar(
        "SELECT md5(string_agg(id || ':' || balance_sun || ':' || reserved_sun, ',' ORDER BY id)) "
        "FROM tenants");
    return out;
  }
  // How much `what` (a count in a snapshot) grew from `before` to `after`.
  static int64_t grew(std::map<std::string, std::string>& after,
                      std::map<std::string, std::string>& before, const std::string& what) {
    return std::stoll(after[what]) - std::stoll(before[what]);
  }

  common::ManualClock clock_ =
      common::ManualClock::at_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::unique_ptr<PgPorts> ports_;
  std::unique_ptr<PingProbe> database_probe_;
  UpProbe chain_probe_;
  std::ostringstream log_;
  common::Logger logger_{log_, common::LogLevel::kInfo, &clock_};
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<TestHttpClient> client_;
  uint16_t port_ = 0;

  int64_t tenant_a_ = 0;
  int64_t tenant_b_ = 0;
  std::string admin_a_, quote_a_, non_admin_a_, admin_b_, expired_a_, revoked_a_;
  std::map<std::string, int64_t> key_ids_;
};

// ---- Authentication and scopes.

struct ProtectedRoute {
  http::verb method;
  std::string target;
  std::string body;
  bool admin_only;
  int success_status;
};

TEST_F(ApiServerPgTest, AuthMatrixOverEveryRouteWritesNothingWhenRefused) {
  ASSERT_NO_FATAL_FAILURE(start());
  // DELETE needs a live key of the caller's tenant each time it is to succeed.
  auto routes = [&] {
    std::string victim = issue(tenant_a_, {Scope::kQuote});
    return std::vector<ProtectedRoute>{
        {http::verb::get, "/v1/account", "", false, 200},
        {http::verb::get, "/v1/account/ledger", "", false, 200},
        {http::verb::post, "/v1/keys", R"({"scopes":["quote"]})", true, 201},
        {http::verb::get, "/v1/keys", "", true, 200},
        {http::verb::delete_, "/v1/keys/" + std::to_string(key_ids_[victim]), "", true, 200},
        {http::verb::post, "/v1/admin/tenants", R"({"name":"Gamma"})", true, 201},
        {http::verb::post, credit_path(tenant_b_), R"({"amount_sun":1})", true, 201},
    };
  };
  const std::vector<std::pair<std::string, Headers>> unauthenticated = {
      {"no key", {}},
      {"bad key", bearer(random_secret())},
      {"malformed key", bearer("trk_short")},
      {"expired key", bearer(expired_a_)},
      {"revoked key", bearer(revoked_a_)},
  };

  auto before = snapshot();
  for (const ProtectedRoute& route : routes()) {
    for (const auto& [why, credentials] : unauthenticated) {
      // With an Idempotency-Key too: a refused request must not claim it either.
      Headers headers = credentials;
      headers.emplace_back("Idempotency-Key", "auth-matrix");
      Response response = client_->request(route.method, route.target, route.body, headers);
      expect_error(response, 401, "unauthorized", route.target + " with " + why);
      EXPECT_EQ(header(response, "WWW-Authenticate"), "Bearer") << route.target << " " << why;
    }
    Response wrong_scope = client_->request(route.method, route.target, route.body,
                                            bearer(non_admin_a_, {{"Idempotency-Key", "scope"}}));
    if (route.admin_only) {
      expect_error(wrong_scope, 403, "forbidden", route.target + " without admin");
    } else {
      EXPECT_EQ(wrong_scope.result_int(), route.success_status) << route.target;  // any scope
    }
  }
  // Reads answered above; nothing was written. The victim keys made by routes() are the one
  // difference, so count again after making them.
  auto after = snapshot();
  EXPECT_EQ(grew(after, before, "api_keys"), 1);
  after["api_keys"] = before["api_keys"];
  EXPECT_EQ(after, before);

  for (const ProtectedRoute& route : routes()) {
    Response quote_only =
        client_->request(route.method, route.target, route.body, bearer(quote_a_));
    if (route.admin_only) {
      expect_error(quote_only, 403, "forbidden", route.target + " with quote only");
    } else {
      EXPECT_EQ(quote_only.result_int(), route.success_status) << route.target;
    }
  }

  auto counts = snapshot();
  for (const ProtectedRoute& route : routes()) {
    Response admin = client_->request(route.method, route.target, route.body, bearer(admin_a_));
    EXPECT_EQ(admin.result_int(), route.success_status) << route.target << ": " << admin.body();
    EXPECT_FALSE(header(admin, "X-RateLimit-Remaining").empty()) << route.target;
  }
  // What the admin did is in the database: one issued key (besides the victim), one revoked key,
  // one tenant, one credit, and an audit row for each of those four.
  auto done = snapshot();
  EXPECT_EQ(grew(done, counts, "api_keys"), 2);
  EXPECT_EQ(grew(done, counts, "revoked api_keys"), 1);
  EXPECT_EQ(grew(done, counts, "tenants"), 1);
  EXPECT_EQ(grew(done, counts, "ledger_entries"), 1);
  EXPECT_EQ(grew(done, counts, "audit_log"), 4);
  EXPECT_EQ(balance_sun(tenant_b_), 7'000'001);
}

TEST_F(ApiServerPgTest, KeyIssuedWithExpiryStopsWorkingWhenTheClockPassesIt) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response created = post("/v1/keys", R"({"scopes":["quote"],"expires_days":1})", admin_a_);
  ASSERT_EQ(created.result_int(), 201) << created.body();
  std::string secret(body_of(created)["secret"].as_string());
  int64_t id = body_of(created)["id"].as_int64();
  EXPECT_EQ(number("SELECT (extract(epoch FROM expires_at) * 1000)::bigint FROM api_keys "
                   "WHERE id = " +
                   std::to_string(id)),
            clock_.now_ms() + 24LL * 3600 * 1000);

  EXPECT_EQ(get("/v1/account", secret).result_int(), 200);
  clock_.advance(std::chrono::hours(24) - std::chrono::milliseconds(1));
  EXPECT_EQ(get("/v1/account", secret).result_int(), 200);
  clock_.advance(std::chrono::milliseconds(1));
  expect_error(get("/v1/account", secret), 401, "unauthorized", "at expires_at");
  EXPECT_EQ(get("/v1/account", admin_a_).result_int(), 200);  // keys without expiry live on
}

TEST_F(ApiServerPgTest, RevokedKeyIsRevokedInTheDatabaseAndOnlyOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string victim = issue(tenant_a_, {Scope::kQuote});
  std::string id = std::to_string(key_ids_[victim]);
  EXPECT_EQ(get("/v1/account", victim).result_int(), 200);
  Response revoked = client_->del("/v1/keys/" + id, bearer(admin_a_));
  ASSERT_EQ(revoked.result_int(), 200) << revoked.body();
  EXPECT_EQ(body_of(revoked)["revoked_at"], clock_.now_ms());
  EXPECT_EQ(number("SELECT (extract(epoch FROM revoked_at) * 1000)::bigint FROM api_keys "
                   "WHERE id = " +
                   id),
            clock_.now_ms());
  expect_error(get("/v1/account", victim), 401, "unauthorized", "revoked");
  expect_error(client_->del("/v1/keys/" + id, bearer(admin_a_)), 404, "not_found", "twice");
}

// ---- Tenants see only their own objects.

TEST_F(ApiServerPgTest, AnotherTenantsKeyIsNotFoundAndStaysLive) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string b_key = std::to_string(key_ids_[admin_b_]);
  auto before = snapshot();
  expect_error(client_->del("/v1/keys/" + b_key, bearer(admin_a_)), 404, "not_found",
               "A revokes B's key");
  EXPECT_EQ(scalar("SELECT revoked_at IS NULL FROM api_keys WHERE id = " + b_key), "t");
  EXPECT_EQ(snapshot(), before);
  Response b_account = get("/v1/account", admin_b_);
  ASSERT_EQ(b_account.result_int(), 200);
  EXPECT_EQ(body_of(b_account)["tenant_id"], tenant_b_);

  // The answer is the same as for a key that does not exist at all.
  std::string missing = std::to_string(number("SELECT max(id) FROM api_keys") + 1000);
  Response unknown = client_->del("/v1/keys/" + missing, bearer(admin_a_));
  expect_error(unknown, 404, "not_found", "unknown key");
}

TEST_F(ApiServerPgTest, AccountLedgerAndKeysShowOnlyTheCallersTenant) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(ports_->ledger.place_hold(tenant_b_, common::Sun(2'000'000), "lease:b").ok());
  ASSERT_TRUE(ports_->ledger.credit(tenant_b_, common::Sun(11), "b-only").ok());

  auto account = body_of(get("/v1/account", quote_a_));
  EXPECT_EQ(account["tenant_id"], tenant_a_);
  EXPECT_EQ(account["balance_sun"], 5'000'000);
  EXPECT_EQ(account["reserved_sun"], 0);
  EXPECT_EQ(account["available_sun"], 5'000'000);
  auto b_account = body_of(get("/v1/account", admin_b_));
  EXPECT_EQ(b_account["balance_sun"], 7'000'011);
  EXPECT_EQ(b_account["reserved_sun"], 2'000'000);

  Response ledger = get("/v1/account/ledger?limit=200", quote_a_);
  ASSERT_EQ(ledger.result_int(), 200);
  auto entries = body_of(ledger)["entries"].as_array();
  ASSERT_EQ(static_cast<int64_t>(entries.size()), ledger_rows(tenant_a_));
  for (const auto& entry : entries) {
    std::string id = std::to_string(entry.as_object().at("id").as_int64());
    EXPECT_EQ(number("SELECT tenant_id FROM ledger_entries WHERE id = " + id), tenant_a_);
  }
  EXPECT_EQ(ledger.body().find("b-only"), std::string::npos);
  EXPECT_EQ(ledger.body().find("lease:b"), std::string::npos);

  auto keys = body_of(get("/v1/keys", admin_a_))["keys"].as_array();
  std::vector<int64_t> listed;
  for (const auto& key : keys) listed.push_back(key.as_object().at("id").as_int64());
  std::vector<int64_t> stored;
  pqxx::connection conn(url());
  pqxx::nontransaction tx(conn);
  for (const auto& row :
       tx.exec_params("SELECT id FROM api_keys WHERE tenant_id = $1 ORDER BY id DESC", tenant_a_)) {
    stored.push_back(row[0].as<int64_t>());
  }
  EXPECT_EQ(listed, stored);
}

// ---- Secrets.

TEST_F(ApiServerPgTest, KeySecretsReachTheDatabaseOnlyAsSha256) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response created = post("/v1/keys", R"({"scopes":["quote","lease"]})", admin_a_,
                          {{"Idempotency-Key", "secret-check"}});
  ASSERT_EQ(created.result_int(), 201) << created.body();
  std::string secret(body_of(created)["secret"].as_string());
  std::string id = std::to_string(body_of(created)["id"].as_int64());
  ASSERT_TRUE(secret.starts_with("trk_"));
  ASSERT_EQ(secret.size(), 47U);
  // The prefix shows "trk_" and 8 characters by design; the rest must be nowhere.
  const std::string hidden = secret.substr(12);

  EXPECT_EQ(scalar("SELECT prefix FROM api_keys WHERE id = " + id), secret.substr(0, 12));
  // PostgreSQL's own sha256(), so the check does not lean on the hash code under test.
  EXPECT_EQ(scalar("SELECT secret_hash = sha256(convert_to('" + secret +
                   "', 'UTF8')) "
                   "FROM api_keys WHERE id = " +
                   id),
            "t");
  EXPECT_EQ(scalar("SELECT encode(secret_hash, 'hex') FROM api_keys WHERE id = " + id),
            common::to_hex(common::sha256(common::as_bytes(secret))));
  for (const char* table : {"api_keys", "idempotency_keys", "audit_log", "tenants"}) {
    for (const std::string& needle : {secret, hidden}) {
      EXPECT_EQ(number(std::string("SELECT count(*) FROM ") + table + " t WHERE strpos(t::text, '" +
                       needle + "') > 0"),
                0)
          << table << " holds the secret";
    }
  }
  // The same for the keys issued in SetUp, which went through ApiKeyService directly.
  for (const std::string& issued : {admin_a_, quote_a_, admin_b_}) {
    EXPECT_EQ(number("SELECT count(*) FROM api_keys t WHERE strpos(t::text, '" + issued.substr(12) +
                     "') > 0"),
              0);
  }
  // The replay gets the key without its secret, from a stored body that never had it.
  Response replay = post("/v1/keys", R"({"scopes":["quote","lease"]})", admin_a_,
                         {{"Idempotency-Key", "secret-check"}});
  EXPECT_EQ(replay.result_int(), 201);
  EXPECT_TRUE(body_of(replay)["secret"].is_null());
  EXPECT_EQ(body_of(replay)["id"], body_of(created)["id"]);
  EXPECT_EQ(number("SELECT count(*) FROM api_keys WHERE tenant_id = " + std::to_string(tenant_a_) +
                   " AND id > " + id),
            0);  // no second key issued
  EXPECT_EQ(log_.str().find(hidden), std::string::npos);
}

// ---- Idempotency-Key.

TEST_F(ApiServerPgTest, IdempotentCreditIsStoredReplayedAndCreditsOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = credit_path(tenant_b_);
  const Headers key = {{"Idempotency-Key", "credit-2024-05-01"}};
  const int64_t rows = ledger_rows(tenant_b_);

  Response first = post(target, R"({"amount_sun":250})", admin_a_, key);
  ASSERT_EQ(first.result_int(), 201) << first.body();
  EXPECT_TRUE(header(first, "Idempotent-Replayed").empty());
  const std::string where =
      " FROM idempotency_keys WHERE tenant_id = " + std::to_string(tenant_a_) +
      " AND key = 'credit-2024-05-01'";
  EXPECT_EQ(scalar("SELECT status" + where), "completed");
  EXPECT_EQ(scalar("SELECT response_status" + where), "201");
  EXPECT_EQ(scalar("SELECT response_body" + where), first.body());

  for (int i = 0; i < 3; ++i) {
    Response replay = post(target, R"({"amount_sun":250})", admin_a_, key);
    EXPECT_EQ(replay.result_int(), 201);
    EXPECT_EQ(replay.body(), first.body());
    EXPECT_EQ(header(replay, "Idempotent-Replayed"), "true");
  }
  EXPECT_EQ(ledger_rows(tenant_b_), rows + 1);
  EXPECT_EQ(balance_sun(tenant_b_), 7'000'250);

  auto counts = snapshot();
  Response other_body = post(target, R"({"amount_sun":251})", admin_a_, key);
  expect_error(other_body, 422, "verification_failed", "same key, other body");
  EXPECT_EQ(body_of(other_body)["error"].as_object()["reason"], "idempotency_key_reused");
  Response other_path = post("/v1/admin/tenants", R"({"name":"Sneaky"})", admin_a_, key);
  expect_error(other_path, 422, "verification_failed", "same key, other route");
  EXPECT_EQ(snapshot(), counts);
  EXPECT_EQ(scalar("SELECT response_body" + where), first.body());

  // Keys belong to the tenant: B using the same key runs its own request.
  Response b_own =
      post(target, R"({"amount_sun":250})", issue(tenant_b_, {Scope::kOperator}), key);
  EXPECT_EQ(b_own.result_int(), 201);
  EXPECT_TRUE(header(b_own, "Idempotent-Replayed").empty());
  EXPECT_EQ(ledger_rows(tenant_b_), rows + 2);
  EXPECT_EQ(balance_sun(tenant_b_), derived_balance_sun(tenant_b_));
}

TEST_F(ApiServerPgTest, RacingRequestsWithOneIdempotencyKeyCreditOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int64_t target_tenant = new_tenant("race one key");
  constexpr int kRacers = 12;
  std::vector<Response> replies(kRacers);
  std::latch go(kRacers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      TestHttpClient client(port_);
      go.arrive_and_wait();
      replies[i] = client.post(credit_path(target_tenant), R"({"amount_sun":777})",
                               bearer(admin_a_, {{"Idempotency-Key", "race-1"}}));
    });
  }
  for (auto& thread : threads) thread.join();
  int ran = 0;
  for (const Response& reply : replies) {
    if (reply.result_int() == 201 && header(reply, "Idempotent-Replayed").empty()) {
      ++ran;
    } else if (reply.result_int() == 201) {
      EXPECT_EQ(header(reply, "Idempotent-Replayed"), "true");
    } else {
      expect_error(reply, 409, "conflict", "still in progress");
    }
  }
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(ledger_rows(target_tenant), 1);
  EXPECT_EQ(balance_sun(target_tenant), 777);
}

TEST_F(ApiServerPgTest, FiftyConcurrentCreditsEachLandExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int64_t target_tenant = new_tenant("fifty credits");
  constexpr int kCredits = 50;
  std::vector<Response> replies(kCredits);
  std::vector<Response> retries(kCredits);
  std::latch go(kCredits);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCredits; ++i) {
    threads.emplace_back([&, i] {
      TestHttpClient client(port_);
      // Distinct amounts, so the ledger shows which request each row came from.
      std::string body = R"({"amount_sun":)" + std::to_string(i + 1) + "}";
      Headers headers = bearer(admin_a_, {{"Idempotency-Key", "fifty-" + std::to_string(i)}});
      go.arrive_and_wait();
      replies[i] = client.post(credit_path(target_tenant), body, headers);
      // A client that lost the reply retries: it must get the same answer, not a second credit.
      retries[i] = client.post(credit_path(target_tenant), body, headers);
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<int64_t> entry_ids;
  for (int i = 0; i < kCredits; ++i) {
    ASSERT_EQ(replies[i].result_int(), 201) << i << ": " << replies[i].body();
    auto entry = body_of(replies[i])["entry"].as_object();
    EXPECT_EQ(entry["amount_sun"], i + 1);
    entry_ids.insert(entry["id"].as_int64());
    EXPECT_EQ(retries[i].result_int(), 201);
    EXPECT_EQ(retries[i].body(), replies[i].body());
    EXPECT_EQ(header(retries[i], "Idempotent-Replayed"), "true");
  }
  EXPECT_EQ(entry_ids.size(), static_cast<size_t>(kCredits));

  const std::string tenant = std::to_string(target_tenant);
  EXPECT_EQ(ledger_rows(target_tenant), kCredits);
  std::string expected_amounts;
  for (int i = 1; i <= kCredits; ++i) expected_amounts += (i > 1 ? "," : "") + std::to_string(i);
  EXPECT_EQ(scalar("SELECT string_agg(amount::text, ',' ORDER BY amount) FROM ledger_entries "
                   "WHERE kind = 'credit' AND tenant_id = " +
                   tenant),
            expected_amounts);
  const int64_t sum = kCredits * (kCredits + 1) / 2;
  EXPECT_EQ(number("SELECT sum(amount) FROM ledger_entries WHERE tenant_id = " + tenant), sum);
  EXPECT_EQ(balance_sun(target_tenant), sum);
  EXPECT_EQ(derived_balance_sun(target_tenant), sum);
  EXPECT_EQ(number("SELECT count(*) FROM audit_log WHERE action = 'ledger.credit' "
                   "AND tenant_id = " +
                   tenant),
            kCredits);
  EXPECT_EQ(body_of(get("/v1/account", admin_a_))["tenant_id"], tenant_a_);
}

// ---- Bad input.

TEST_F(ApiServerPgTest, BadInputIs400WithTheErrorShapeAndWritesNoRow) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string credit = credit_path(tenant_b_);
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Malformed JSON.
      {credit, ""},
      {credit, "{"},
      {credit, R"({"amount_sun":})"},
      {credit, R"({"amount_sun":5,})"},
      {credit, R"({"amount_sun":5} {"amount_sun":5})"},
      {credit, "[5]"},
      {credit, "5"},
      {credit, "null"},
      {credit, R"({"amount_sun":)" + std::string(500, '[') + std::string(500, ']') + "}"},
      // Wrong types and shapes.
      {credit, R"({})"},
      {credit, R"({"amount_sun":true})"},
      {credit, R"({"amount_sun":null})"},
      {credit, R"({"amount_sun":[5]})"},
      {credit, R"({"amount_sun":{"value":5}})"},
      {credit, R"({"amount_sun":"five"})"},
      {credit, R"({"amount_sun":" 5"})"},
      {credit, R"({"amount_sun":"0x10"})"},
      {credit, R"({"amount":5})"},
      {credit, R"({"amount_sun":5,"reference":7})"},
      {credit, R"({"amount_sun":5,"reference":""})"},
      {credit, R"({"amount_sun":5,"reference":")" + std::string(201, 'r') + R"("})"},
      // Negative, zero, fractions, exponents, beyond int64.
      {credit, R"({"amount_sun":-5})"},
      {credit, R"({"amount_sun":"-5"})"},
      {credit, R"({"amount_sun":0})"},
      {credit, R"({"amount_sun":-0})"},
      {credit, R"({"amount_sun":"0"})"},
      {credit, R"({"amount_sun":1.5})"},
      {credit, R"({"amount_sun":1.0})"},
      {credit, R"({"amount_sun":"1.5"})"},
      {credit, R"({"amount_sun":1e3})"},
      {credit, R"({"amount_sun":1e400})"},
      {credit, R"({"amount_sun":-9223372036854775808})"},
      {credit, R"({"amount_sun":9223372036854775808})"},
      {credit, R"({"amount_sun":18446744073709551615})"},
      {credit, R"({"amount_sun":99999999999999999999999999})"},
      {credit, R"({"amount_sun":"99999999999999999999"})"},
      // The other writing routes.
      {"/v1/admin/tenants", "{"},
      {"/v1/admin/tenants", R"({"name":5})"},
      {"/v1/admin/tenants", R"({"name":""})"},
      {"/v1/admin/tenants", R"({"name":"a\u0000b"})"},
      {"/v1/admin/tenants", R"({"name":"x","balance_sun":5})"},
      {"/v1/keys", R"({"scopes":"admin"})"},
      {"/v1/keys", R"({"scopes":["root"]})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":-1})"},
      {"/v1/keys", R"({"scopes":["quote"],"expires_days":1.5})"},
      {"/v1/keys", R"({"scopes":["quote"],"tenant_id":99999999999999999999})"},
  };
  auto before = snapshot();
  const int64_t rows = ledger_rows(tenant_b_);
  for (const auto& [target, body] : cases) {
    expect_error(post(target, body, admin_a_), 400, "invalid_request", target + " " + body);
  }
  EXPECT_EQ(ledger_rows(tenant_b_), rows);
  EXPECT_EQ(balance_sun(tenant_b_), 7'000'000);
  EXPECT_EQ(snapshot(), before);

  // The largest amount is fine; a balance past int64 is refused by the store, also as a 400.
  const int64_t rich = new_tenant("rich");
  Response max = post(credit_path(rich), R"({"amount_sun":9223372036854775807})", admin_a_);
  ASSERT_EQ(max.result_int(), 201) << max.body();
  expect_error(post(credit_path(rich), R"({"amount_sun":1})", admin_a_), 400, "invalid_request",
               "overflow");
  EXPECT_EQ(ledger_rows(rich), 1);
  EXPECT_EQ(balance_sun(rich), INT64_MAX);
  EXPECT_EQ(derived_balance_sun(rich), INT64_MAX);
}

TEST_F(ApiServerPgTest, CreditToAnUnknownTenantIs404AndWritesNoRow) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int64_t unknown = number("SELECT max(id) FROM tenants") + 1000;
  auto before = snapshot();
  expect_error(post(credit_path(unknown), R"({"amount_sun":5})", admin_a_), 404, "not_found",
               "unknown tenant");
  for (const char* bad_id : {"0", "-1", "abc", "99999999999999999999"}) {
    expect_error(post(std::string("/v1/admin/tenants/") + bad_id + "/credit", R"({"amount_sun":5})",
                      admin_a_),
                 404, "not_found", bad_id);
  }
  EXPECT_EQ(ledger_rows(unknown), 0);
  EXPECT_EQ(snapshot(), before);
}

// ---- Health.

TEST_F(ApiServerPgTest, HealthReportsTheDatabaseAsItIs) {
  // A database of its own, so that it can be dropped under the server.
  const std::string fresh = fresh_database_url();
  auto own = store::Database::open(fresh, 1);
  ASSERT_TRUE(own.ok()) << own.error().message;
  PingProbe probe(**own);
  server_ = std::make_unique<ApiServer>(options(), services(probe), logger_);
  auto port = server_->start();
  ASSERT_TRUE(port.ok());
  client_ = std::make_unique<TestHttpClient>(*port);

  Response up = client_->get("/health");
  EXPECT_EQ(up.result_int(), 200) << up.body();
  EXPECT_EQ(body_of(up)["db"], "ok");

  const char* admin_url = std::getenv(relay::testing::kTestDatabaseUrlEnv);
  ASSERT_NE(admin_url, nullptr);
  const std::string name =
      fresh.substr(fresh.rfind('/') + 1, fresh.find('?') - fresh.rfind('/') - 1);
  {
    pqxx::connection admin(admin_url);
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE " + name + " WITH (FORCE)");
  }
  Response down = client_->get("/health");
  EXPECT_EQ(down.result_int(), 503) << down.body();
  auto body = body_of(down);
  EXPECT_EQ(body["status"], "degraded");
  EXPECT_EQ(body["db"], "down");
  EXPECT_EQ(body["chain"], "ok");
  EXPECT_EQ(down.body().find(name), std::string::npos);  // no database detail leaks
  client_.reset();
  server_.reset();
}

}  // namespace
}  // namespace relay::api
