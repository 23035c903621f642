// The quote routes through the whole API pipeline (auth, scopes, strict JSON, the error table) on
// in-memory ports and a scripted chain: every malformed body is a 400 that stores no quote, chain
// facts are 422 with their reason, another tenant's quote is 404, and amounts travel as integers.
#include <gtest/gtest.h>

#include <sstream>

#include "api/server.h"
#include "common/json.h"
#include "tests/support/api_calls.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_quotes.h"
#include "tests/support/fake_store.h"
#include "tests/support/fake_tron_node.h"

namespace relay::api {
namespace {

using relay::testing::body_of;
using relay::testing::code_of;

namespace json = boost::json;
using common::Address;
using energy::Scope;

constexpr int64_t kLimit = 180'000'000'000;
constexpr int64_t kWeight = 19'000'000'000;

Address address_of(uint8_t fill) { return Address::from_id20(common::Bytes(20, fill)); }

class AlwaysUp final : public HealthProbe {
 public:
  common::Status check() override { return {}; }
};

class QuoteRoutesTest : public ::testing::Test {
 protected:
  QuoteRoutesTest()
      : store_(clock_),
        key_service_(store_.keys, clock_),
        pools_(clock_),
        service_(quotes_, pools_, node_, clock_),
        logger_(log_) {
    tenant_a_ = store_.tenants.create("A")->id;
    tenant_b_ = store_.tenants.create("B")->id;
    quote_a_ = key_service_.issue(tenant_a_, {Scope::kQuote}, std::nullopt)->secret;
    quote_b_ = key_service_.issue(tenant_b_, {Scope::kQuote}, std::nullopt)->secret;
    lease_a_ = key_service_.issue(tenant_a_, {Scope::kLease, Scope::kPools}, std::nullopt)->secret;

    node_.put_account(testing::make_account(receiver_, 5'000'000));
    chain::AccountResources resources;
    resources.total_energy_limit = kLimit;
    resources.total_energy_weight = kWeight;
    node_.set_resources(receiver_, resources);
    node_.set_resources(energy::mainnet_usdt_contract(), resources);
    node_.set_parameter("getTransactionFee", 1'000);
    node_.set_parameter("getCreateAccountFee", 100'000);
    node_.set_parameter("getCreateNewAccountFeeInSystemContract", 1'000'000);
    auto contract = testing::make_account(contract_, 0);
    contract.is_contract = true;
    node_.put_account(contract);

    // One active pool with 10,000 TRX free.
    energy::NewPool pool;
    pool.tenant_id = tenant_a_;
    pool.address = address_of(0x70);
    pool.kind = energy::PoolKind::kOwn;
    pool.name = "own";
    pool.status = energy::PoolStatus::kActive;
    const int64_t pool_id = pools_.create(pool)->id;
    energy::PoolSnapshot snapshot;
    snapshot.observed_at = clock_.now();
    snapshot.delegatable_sun = 10'000'000'000;
    EXPECT_TRUE(pools_.record_snapshot(pool_id, snapshot).ok());

    ApiOptions options;
    options.rate_limit = {.requests_per_second = 1000, .burst = 1000};
    ApiServices services = testing::core_services(store_, key_service_, clock_, probe_, probe_);
    services.quotes = &service_;
    server_ = std::make_unique<ApiServer>(options, services, logger_);
  }

  common::HttpResponse call(const std::string& method, const std::string& path,
                            const std::string& body, const std::string& key) {
    return relay::testing::call_api(*server_, method, path, body, key);
  }
  common::HttpResponse post(const std::string& body, const std::string& key = "") {
    return call("POST", "/v1/quote", body, key.empty() ? quote_a_ : key);
  }

  std::string receiver() const { return receiver_.to_base58(); }

  common::ManualClock clock_{common::TimePoint(std::chrono::milliseconds(1'700'000'000'000))};
  testing::FakeStore store_;
  energy::ApiKeyService key_service_;
  testing::FakePools pools_;
  testing::FakeQuotes quotes_;
  testing::FakeTronNode node_;
  energy::QuoteService service_;
  AlwaysUp probe_;
  std::ostringstream log_;
  common::Logger logger_;
  std::unique_ptr<ApiServer> server_;
  const Address receiver_ = address_of(0x11);
  const Address recipient_ = address_of(0x22);
  const Address contract_ = address_of(0x44);
  int64_t tenant_a_ = 0, tenant_b_ = 0;
  std::string quote_a_, quote_b_, lease_a_;
};

TEST_F(QuoteRoutesTest, EnergyQuoteHasTheWholeBreakdownAsIntegers) {
  auto response = post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})");
  ASSERT_EQ(response.status, 201) << response.body;
  json::object body = body_of(response);
  const std::string id(body.at("id").as_string());
  EXPECT_TRUE(energy::is_quote_id(id)) << id;
  EXPECT_EQ(body.at("status").as_string(), "open");
  EXPECT_EQ(body.at("receiver").as_string(), receiver());
  EXPECT_EQ(body.at("receiver_hex").as_string(), receiver_.to_hex());
  EXPECT_EQ(body.at("energy").as_int64(), 65'000);
  EXPECT_EQ(body.at("duration_s").as_int64(), 3'600);
  EXPECT_EQ(body.at("stake_sun").as_int64(), 6'998'333'334);
  const json::object& price = body.at("price").as_object();
  EXPECT_EQ(price.at("unit_price_sun_per_energy").as_int64(), 60);
  EXPECT_EQ(price.at("energy_sun").as_int64(), 3'900'000);
  EXPECT_EQ(price.at("bandwidth_sun").as_int64(), 562'000);
  EXPECT_EQ(price.at("activation_sun").as_int64(), 0);
  EXPECT_EQ(price.at("total_sun").as_int64(), 4'462'000);
  EXPECT_EQ(body.at("activation_required").as_bool(), false);
  EXPECT_EQ(body.at("fillable").as_bool(), true);
  EXPECT_TRUE(body.at("usdt_transfer").is_null());
  EXPECT_TRUE(body.at("provider").is_null());
  EXPECT_EQ(body.at("chain").as_object().at("total_energy_limit").as_int64(), kLimit);
  EXPECT_EQ(body.at("chain").as_object().at("total_energy_weight").as_int64(), kWeight);
  EXPECT_EQ(body.at("created_at").as_int64(), 1'700'000'000'000);
  EXPECT_EQ(body.at("expires_at").as_int64(), 1'700'000'030'000);
  EXPECT_TRUE(body.at("used_at").is_null());
  // Never a float anywhere in the reply.
  EXPECT_EQ(response.body.find('.'), std::string::npos) << response.body;
  EXPECT_EQ(quotes_.size(), 1u);
}

TEST_F(QuoteRoutesTest, DecimalStringsAndHexAddressesAreAccepted) {
  auto response =
      post(R"({"receiver":")" + receiver_.to_hex() + R"(","energy":"65000","duration_s":"86400"})");
  ASSERT_EQ(response.status, 201) << response.body;
  json::object body = body_of(response);
  EXPECT_EQ(body.at("receiver").as_string(), receiver());
  EXPECT_EQ(body.at("price").as_object().at("unit_price_sun_per_energy").as_int64(), 90);
}

TEST_F(QuoteRoutesTest, UsdtTransferIntentIsEstimated) {
  node_.set_energy_estimate({.success = true, .energy_used = 130'285, .message = ""});
  auto response = post(R"({"receiver":")" + receiver() + R"(","usdt_transfer":{"to":")" +
                       recipient_.to_base58() + R"(","amount":"2500000"},"duration_s":3600})");
  ASSERT_EQ(response.status, 201) << response.body;
  json::object body = body_of(response);
  EXPECT_EQ(body.at("energy").as_int64(), 130'285);
  const json::object& usdt = body.at("usdt_transfer").as_object();
  EXPECT_EQ(usdt.at("to").as_string(), recipient_.to_base58());
  EXPECT_EQ(usdt.at("amount").as_int64(), 2'500'000);
  EXPECT_EQ(usdt.at("energy_required").as_int64(), 130'285);
  EXPECT_EQ(usdt.at("receiver_available").as_int64(), 0);
  ASSERT_EQ(node_.estimate_calls().size(), 1u);

  // amount defaults to one base unit.
  response = post(R"({"receiver":")" + receiver() + R"(","usdt_transfer":{"to":")" +
                  recipient_.to_base58() + R"("},"duration_s":3600})");
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(body_of(response).at("usdt_transfer").as_object().at("amount").as_int64(), 1);
}

TEST_F(QuoteRoutesTest, InactiveReceiverIsQuotedWithActivation) {
  auto response = post(R"({"receiver":")" + address_of(0x33).to_base58() +
                       R"(","energy":65000,"duration_s":3600})");
  ASSERT_EQ(response.status, 201) << response.body;
  json::object body = body_of(response);
  EXPECT_EQ(body.at("activation_required").as_bool(), true);
  EXPECT_EQ(body.at("price").as_object().at("activation_sun").as_int64(), 1'100'000);
  EXPECT_EQ(body.at("price").as_object().at("total_sun").as_int64(), 5'562'000);
}

TEST_F(QuoteRoutesTest, MalformedBodiesAre400AndStoreNothing) {
  const std::string r = receiver();
  const std::string to = recipient_.to_base58();
  // The receiver with its last character changed: the checksum no longer matches.
  const std::string typo = r.substr(0, 33) + (r.back() == 'X' ? "Y" : "X");
  const std::string cases[] = {
      "",
      "{",
      "[]",
      "null",
      "{}",
      // receiver
      R"({"energy":65000,"duration_s":3600})",
      R"({"receiver":42,"energy":65000,"duration_s":3600})",
      R"({"receiver":"TNotAnAddress","energy":65000,"duration_s":3600})",
      R"({"receiver":"41zz","energy":65000,"duration_s":3600})",
      R"({"receiver":")" + typo + R"(","energy":65000,"duration_s":3600})",
      // exactly one of energy / usdt_transfer
      R"({"receiver":")" + r + R"(","duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":65000,"usdt_transfer":{"to":")" + to +
          R"("},"duration_s":3600})",
      // energy: negative, zero, fractions, exponents, too big, not a number
      R"({"receiver":")" + r + R"(","energy":-65000,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":0,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":65000.5,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":1.5,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":65000.0,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":6.5e4,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":"65000.5","duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":"1e5","duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":"","duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":9223372036854775808,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":18446744073709551616,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":"99999999999999999999","duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":null,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":true,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":[65000],"duration_s":3600})",
      // absurd but int64: the price overflows
      R"({"receiver":")" + r + R"(","energy":9223372036854775807,"duration_s":3600})",
      // duration_s: missing, out of range, fraction
      R"({"receiver":")" + r + R"(","energy":65000})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":299})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":259201})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":-3600})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600.5})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":9223372036854775807})",
      // unknown fields, at the top and inside usdt_transfer
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost":1})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"Energy":1})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":")" + to +
          R"(","amount":1,"token":"x"},"duration_s":3600})",
      // usdt_transfer: not an object, no or bad `to`, bad amount
      R"({"receiver":")" + r + R"(","usdt_transfer":")" + to + R"(","duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":"T123"},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":")" + to +
          R"(","amount":0},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":")" + to +
          R"(","amount":-1},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":")" + to +
          R"(","amount":1.5},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":{"to":")" + to +
          R"(","amount":"1e6"},"duration_s":3600})",
      R"({"receiver":")" + r + R"(","usdt_transfer":null,"duration_s":3600})",
  };
  for (const auto& body : cases) {
    auto response = post(body);
    EXPECT_EQ(response.status, 400) << body << " → " << response.body;
    EXPECT_EQ(code_of(response), "invalid_request") << body;
  }
  EXPECT_EQ(quotes_.size(), 0u);
  EXPECT_EQ(node_.calls("estimate_energy"), 0);
}

TEST_F(QuoteRoutesTest, ChainFactsAre422WithTheirReason) {
  auto below = post(R"({"receiver":")" + receiver() + R"(","energy":31999,"duration_s":3600})");
  EXPECT_EQ(below.status, 422) << below.body;
  EXPECT_EQ(code_of(below), "verification_failed/energy_below_minimum");

  auto contract =
      post(R"({"receiver":")" + contract_.to_base58() + R"(","energy":65000,"duration_s":3600})");
  EXPECT_EQ(contract.status, 422) << contract.body;
  EXPECT_EQ(code_of(contract), "verification_failed/account_is_contract");

  node_.set_energy_estimate({.success = false, .energy_used = 0, .message = "REVERT opcode"});
  auto reverted = post(R"({"receiver":")" + receiver() + R"(","usdt_transfer":{"to":")" +
                       recipient_.to_base58() + R"("},"duration_s":3600})");
  EXPECT_EQ(reverted.status, 422) << reverted.body;
  EXPECT_EQ(code_of(reverted), "verification_failed/estimate_reverted");
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteRoutesTest, ChainDownIs502Or503WithoutDetails) {
  node_.fail_next("account", common::make_error("upstream_failed", "http://10.0.0.9 said 500"));
  auto response = post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.body.find("10.0.0.9"), std::string::npos);
  node_.set_down(common::make_error("chain_unavailable", "every breaker open"));
  response = post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteRoutesTest, ScopeQuoteIsRequired) {
  auto response =
      post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})", lease_a_);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(code_of(response), "forbidden");
  EXPECT_EQ(call("POST", "/v1/quote", "{}", "trk_nope").status, 401);
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteRoutesTest, GetShowsTheQuoteToItsTenantOnly) {
  auto created = post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(body_of(created).at("id").as_string());

  auto mine = call("GET", "/v1/quote/" + id, "", quote_a_);
  ASSERT_EQ(mine.status, 200) << mine.body;
  json::object created_body = body_of(created);
  EXPECT_EQ(body_of(mine), created_body);

  auto theirs = call("GET", "/v1/quote/" + id, "", quote_b_);
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(code_of(theirs), "not_found");
  for (const char* bad : {"q_0000000000000000", "42", "q_XYZ", "..%2F..", "q_0123456789ABCDEF"}) {
    EXPECT_EQ(call("GET", std::string("/v1/quote/") + bad, "", quote_a_).status, 404) << bad;
  }

  clock_.advance(std::chrono::seconds(30));
  auto expired = call("GET", "/v1/quote/" + id, "", quote_a_);
  ASSERT_EQ(expired.status, 200);
  EXPECT_EQ(body_of(expired).at("status").as_string(), "expired");

  auto fresh = post(R"({"receiver":")" + receiver() + R"(","energy":65000,"duration_s":3600})");
  const std::string fresh_id(body_of(fresh).at("id").as_string());
  ASSERT_TRUE(service_.use(tenant_a_, fresh_id, "lease:9").ok());
  auto used = call("GET", "/v1/quote/" + fresh_id, "", quote_a_);
  EXPECT_EQ(body_of(used).at("status").as_string(), "used");
  EXPECT_EQ(body_of(used).at("used_at").as_int64(), 1'700'000'030'000);
}

TEST_F(QuoteRoutesTest, RoutesAreAbsentWithoutAQuoteService) {
  ApiServer bare(ApiOptions{}, testing::core_services(store_, key_service_, clock_, probe_, probe_),
                 logger_);
  EXPECT_EQ(testing::call_api(bare, "POST", "/v1/quote", "{}", quote_a_).status, 404);
}

}  // namespace
}  // namespace relay::api
