// The pool routes through the whole API pipeline (auth, scopes, strict JSON, the error table) on
// in-memory ports and a scripted chain: every malformed or hostile body is a 400/404/422 that
// writes no pool, another tenant's pool is 404, and the guided onboarding works route by route.
#include <gtest/gtest.h>

#include <sstream>

#include "api/server.h"
#include "chain/tx_json.h"
#include "common/json.h"
#include "signer/pool_signers.h"
#include "signer/signer.h"
#include "tests/support/api_calls.h"
#include "tests/support/fake_jobs.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_store.h"
#include "tests/support/fake_tron_node.h"

namespace relay::api {
namespace {

using relay::testing::body_of;
using relay::testing::code_of;

namespace json = boost::json;
using common::Address;
using energy::Scope;
using signer::SecretKey;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kCustomerKey = "2222222222222222222222222222222222222222222222222222222222222222";
const char* kStrangerKey = "4444444444444444444444444444444444444444444444444444444444444444";
constexpr int64_t kTrx = 1'000'000;

Address address_of(const char* key) { return *signer::address_of(*SecretKey::from_hex(key)); }

class AlwaysUp final : public HealthProbe {
 public:
  common::Status check() override { return {}; }
};

class PoolRoutesTest : public ::testing::Test {
 protected:
  PoolRoutesTest()
      : store_(clock_),
        key_service_(store_.keys, clock_),
        pools_(clock_),
        signers_(std::move(*signer::PoolSigners::create(*SecretKey::from_hex(kRelayerKey)))),
        service_(pools_, pools_, node_, *signers_, store_.audit, clock_),
        logger_(log_) {
    tenant_a_ = store_.tenants.create("A")->id;
    tenant_b_ = store_.tenants.create("B")->id;
    pools_a_ = key_service_.issue(tenant_a_, {Scope::kPools}, std::nullopt)->secret;
    pools_b_ = key_service_.issue(tenant_b_, {Scope::kPools}, std::nullopt)->secret;
    quote_a_ = key_service_.issue(tenant_a_, {Scope::kQuote}, std::nullopt)->secret;
    operator_ = key_service_.issue(tenant_a_, {Scope::kOperator}, std::nullopt)->secret;
    node_.put_account(testing::make_account(customer_, 500 * kTrx, 1000 * kTrx));
    node_.set_delegatable(customer_, 900 * kTrx);
    ApiOptions options;
    options.rate_limit = {.requests_per_second = 1000, .burst = 1000};
    ApiServices services = testing::core_services(store_, key_service_, clock_, probe_, probe_);
    services.pools = &service_;
    services.pool_store = &pools_;
    services.jobs = &jobs_;
    server_ = std::make_unique<ApiServer>(options, services, logger_);
  }

  common::HttpResponse call(const std::string& method, const std::string& path,
                            const std::string& body, const std::string& key) {
    return relay::testing::call_api(*server_, method, path, body, key);
  }

  int64_t create_customer_pool(const std::string& key) {
    auto created =
        call("POST", "/v1/pools",
             R"({"address":")" + customer_.to_base58() + R"(","kind":"permission"})", key);
    EXPECT_EQ(created.status, 201) << created.body;
    return body_of(created).at("id").as_int64();
  }

  size_t pool_count() { return pools_.list(std::nullopt)->size(); }

  common::ManualClock clock_{common::TimePoint(std::chrono::milliseconds(1'700'000'000'000))};
  testing::FakeStore store_;
  energy::ApiKeyService key_service_;
  testing::FakePools pools_;
  testing::FakeJobQueue jobs_{clock_};
  testing::FakeTronNode node_;
  std::unique_ptr<signer::PoolSigners> signers_;
  energy::PoolService service_;
  AlwaysUp probe_;
  std::ostringstream log_;
  common::Logger logger_;
  std::unique_ptr<ApiServer> server_;
  const Address customer_ = address_of(kCustomerKey);
  int64_t tenant_a_ = 0, tenant_b_ = 0;
  std::string pools_a_, pools_b_, quote_a_, operator_;
};

TEST_F(PoolRoutesTest, MalformedCreateBodiesAre400AndWriteNothing) {
  std::string customer = customer_.to_base58();
  struct Case {
    std::string body;
    std::string code;
  };
  const Case cases[] = {
      {"", "invalid_request"},
      {"[]", "invalid_request"},
      {"{", "invalid_request"},
      {"{}", "invalid_request"},
      {R"({"address":")" + customer + R"("})", "invalid_request"},  // no kind
      {R"({"address":")" + customer + R"(","kind":"borrowed"})", "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"own","extra":1})", "invalid_request"},
      {R"({"address":42,"kind":"permission"})", "invalid_request"},
      {R"({"address":"TNotAnAddress","kind":"permission"})", "invalid_request"},
      {R"({"address":"41zz","kind":"permission"})", "invalid_request"},
      {R"({"address":")" + std::string(5000, 'T') + R"(","kind":"permission"})", "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"permission","name":""})", "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"permission","name":"a\u0000b"})",
       "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"permission","min_reserve_sun":-1})",
       "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"permission","min_reserve_sun":1.5})",
       "invalid_request"},
      {R"({"address":")" + customer + R"(","kind":"permission","max_delegate_sun":1e30})",
       "invalid_request"},
      {R"({"address":")" + customer +
           R"(","kind":"permission","max_delegate_sun":99999999999999999999})",
       "invalid_request"},
  };
  for (const Case& c : cases) {
    auto response = call("POST", "/v1/pools", c.body, pools_a_);
    EXPECT_EQ(response.status, 400) << c.body << " → " << response.body;
    EXPECT_EQ(code_of(response), c.code) << c.body;
  }
  EXPECT_EQ(pool_count(), 0U);
}

TEST_F(PoolRoutesTest, ChainFactsAre422WithAReason) {
  Address nobody = address_of(kStrangerKey);  // valid address, no account on chain
  auto missing =
      call("POST", "/v1/pools",
           R"({"address":")" + nobody.to_base58() + R"(","kind":"permission"})", pools_a_);
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(code_of(missing), "verification_failed/account_not_found");
  auto own_without_key = call(
      "POST", "/v1/pools", R"({"address":")" + customer_.to_hex() + R"(","kind":"own"})", pools_a_);
  EXPECT_EQ(own_without_key.status, 422);
  EXPECT_EQ(code_of(own_without_key), "verification_failed/owner_key_missing");
  EXPECT_EQ(pool_count(), 0U);

  auto report = call("POST", "/v1/pools/validate-address",
                     R"({"address":")" + nobody.to_base58() + R"("})", pools_a_);
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(body_of(report).at("exists"), false);
}

TEST_F(PoolRoutesTest, ScopesAndTenantsAreEnforced) {
  EXPECT_EQ(call("GET", "/v1/pools", "", quote_a_).status, 403);
  int64_t id = create_customer_pool(pools_a_);
  std::string path = "/v1/pools/" + std::to_string(id);
  EXPECT_EQ(call("GET", path, "", pools_a_).status, 200);
  for (const auto& [method, suffix, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "", ""},
           {"PATCH", "", R"({"name":"mine now"})"},
           {"DELETE", "", ""},
           {"POST", "/permission-tx", ""},
           {"POST", "/confirm", ""},
           {"POST", "/refresh", ""},
           {"POST", "/broadcast", R"({"transaction":"0a00"})"},
       }) {
    auto response = call(method, path + suffix, body, pools_b_);
    EXPECT_EQ(response.status, 404) << method << " " << suffix << " → " << response.body;
  }
  EXPECT_TRUE(body_of(call("GET", "/v1/pools", "", pools_b_)).at("pools").as_array().empty());
  for (const char* bad : {"0", "-1", "abc", "99999999999999999999", "1.0"}) {
    EXPECT_EQ(call("GET", std::string("/v1/pools/") + bad, "", pools_a_).status, 404) << bad;
  }
  EXPECT_EQ(call("GET", "/v1/pools?status=bogus", "", pools_a_).status, 400);
  EXPECT_EQ(call("GET", "/v1/admin/attention", "", pools_a_).status, 403);
  EXPECT_EQ(call("GET", "/v1/admin/attention", "", operator_).status, 200);
}

TEST_F(PoolRoutesTest, PatchAndBroadcastRefuseBadInput) {
  int64_t id = create_customer_pool(pools_a_);
  std::string path = "/v1/pools/" + std::to_string(id);
  for (const char* body :
       {R"({"status":"deleted"})", R"({"status":"suspended"})", R"({"min_reserve_sun":-5})",
        R"({"min_reserve_sun":null})", R"({"colour":"blue"})", R"({"name":7})"}) {
    auto response = call("PATCH", path, body, pools_a_);
    EXPECT_EQ(response.status, 400) << body << " → " << response.body;
  }
  std::string broadcast = path + "/broadcast";
  for (const std::string& body :
       {std::string("{}"), std::string(R"({"transaction":5})"),
        std::string(R"({"transaction":"xyz"})"), std::string(R"({"transaction":"0a0"})"),
        R"({"transaction":")" + std::string(70'000, 'a') + R"("})",
        std::string(R"({"transaction":{"raw_data":5}})"),
        std::string(R"({"transaction":"00","more":1})")}) {
    auto response = call("POST", broadcast, body, pools_a_);
    EXPECT_EQ(response.status, 400) << body.substr(0, 60) << " → " << response.body;
  }
  EXPECT_TRUE(node_.broadcasts().empty());
}

TEST_F(PoolRoutesTest, OnboardingRouteByRoute) {
  int64_t id = create_customer_pool(pools_a_);
  std::string path = "/v1/pools/" + std::to_string(id);
  auto generated = call("POST", path + "/permission-tx", "", pools_a_);
  ASSERT_EQ(generated.status, 200) << generated.body;
  auto reply = body_of(generated);
  EXPECT_EQ(reply.at("permission_id"), 3);  // after owner (0) and the default active (2)
  auto tx = chain::transaction_from_json(reply.at("transaction").as_object());
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ(tx->txid_hex(), reply.at("txid").as_string());

  // A transaction signed by someone else than the owner is refused, and so is a tampered one.
  signer::SigningPolicy any;
  any.allowed_contract_types = {46};
  any.allowed_owners = {customer_};
  auto stranger = signer::LocalSigner::create(*SecretKey::from_hex(kStrangerKey), any);
  chain::Transaction wrong = *tx;
  wrong.add_signature(*(*stranger)->sign_transaction(wrong.raw_bytes()));
  auto refused =
      call("POST", path + "/broadcast",
           R"({"transaction":")" + common::to_hex(wrong.encode_signed()) + R"("})", pools_a_);
  EXPECT_EQ(code_of(refused), "verification_failed/not_signed_by_owner") << refused.body;

  auto wallet = signer::LocalSigner::create(*SecretKey::from_hex(kCustomerKey), any);
  chain::Transaction signed_tx = *tx;
  signed_tx.add_signature(*(*wallet)->sign_transaction(signed_tx.raw_bytes()));
  // The customer's signature on a transaction that is not the one generated (one field changed).
  protocol::Transaction_raw altered_raw = signed_tx.raw();
  altered_raw.set_timestamp(altered_raw.timestamp() + 1);
  chain::Transaction altered = *chain::Transaction::from_raw(altered_raw);
  altered.add_signature(signed_tx.signatures().front());
  auto mismatch =
      call("POST", path + "/broadcast",
           R"({"transaction":")" + common::to_hex(altered.encode_signed()) + R"("})", pools_a_);
  EXPECT_EQ(code_of(mismatch), "verification_failed/tx_mismatch") << mismatch.body;
  EXPECT_TRUE(node_.broadcasts().empty());

  // The same transaction as java-tron JSON, the way TronWeb hands it over.
  json::object as_json = chain::transaction_to_json(signed_tx);
  auto sent = call("POST", path + "/broadcast",
                   common::json_to_string(json::object{{"transaction", as_json}}), pools_a_);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(body_of(sent).at("accepted"), true);

  auto early = call("POST", path + "/confirm", "", pools_a_);
  EXPECT_EQ(code_of(early), "verification_failed/not_confirmed");
  node_.mine();
  auto confirmed = call("POST", path + "/confirm", "", pools_a_);
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_EQ(body_of(confirmed).at("status"), "active");
  EXPECT_EQ(body_of(confirmed).at("permission_id"), 3);
  auto view = body_of(call("GET", path, "", pools_a_));
  EXPECT_EQ(view.at("capacity").at("delegatable_sun"), 900 * kTrx);
  EXPECT_TRUE(view.at("live").is_object());

  // The monitor-side rule, seen through the operator's attention list.
  node_.set_actives(customer_, {});
  auto refreshed = call("POST", path + "/refresh", "", pools_a_);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(body_of(refreshed).at("status"), "suspended");
  auto attention = body_of(call("GET", "/v1/admin/attention", "", operator_));
  ASSERT_EQ(attention.at("suspended_pools").as_array().size(), 1U);
  EXPECT_TRUE(attention.at("dead_jobs").as_array().empty());

  // A reclaim that failed its last attempt is listed too.
  ASSERT_TRUE(jobs_.enqueue("reclaim_lease", "lease:7", clock_.now(), 1).ok());
  auto claimed = jobs_.claim_due(clock_.now(), "w", 10, std::chrono::minutes(1), {});
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1U);
  ASSERT_TRUE(jobs_.retry(claimed->front().id, "w", "undelegate refused", clock_.now()).ok());
  auto with_dead = body_of(call("GET", "/v1/admin/attention", "", operator_));
  ASSERT_EQ(with_dead.at("dead_jobs").as_array().size(), 1U);
  EXPECT_EQ(with_dead.at("dead_jobs").at(0).at("ref"), "lease:7");
  EXPECT_EQ(with_dead.at("dead_jobs").at(0).at("last_error"), "undelegate refused");
}

TEST_F(PoolRoutesTest, ChainDownIsUnavailableNotACrash) {
  int64_t id = create_customer_pool(pools_a_);
  node_.set_down(common::make_error("chain_unavailable", "every endpoint's circuit is open"));
  auto response = call("POST", "/v1/pools/" + std::to_string(id) + "/permission-tx", "", pools_a_);
  EXPECT_EQ(response.status, 503) << response.body;
  node_.set_down(common::make_error("upstream_failed", "HTTP 502 from every endpoint"));
  auto validate = call("POST", "/v1/pools/validate-address",
                       R"({"address":")" + customer_.to_base58() + R"("})", pools_a_);
  EXPECT_EQ(validate.status, 502) << validate.body;
  EXPECT_EQ(validate.body.find("HTTP 502"), std::string::npos);  // 5xx texts stay in the log
}

}  // namespace
}  // namespace relay::api
