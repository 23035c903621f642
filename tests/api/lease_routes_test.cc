// The lease routes through the whole API pipeline (auth, scopes, strict JSON, Idempotency-Key, the
// error table) on in-memory ports and a scripted chain: a malformed request is a 400 that stores
// no lease, refusals map to 402/409/422, another tenant's lease is 404, a retried POST with the
// same Idempotency-Key returns the same lease without leasing twice, and amounts are integers.
#include <gtest/gtest.h>

#include <sstream>

#include "api/server.h"
#include "common/json.h"
#include "energy/lease_service.h"
#include "signer/signer.h"
#include "tests/support/api_calls.h"
#include "tests/support/fake_chain_tx_journal.h"
#include "tests/support/fake_jobs.h"
#include "tests/support/fake_leases.h"
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
using common::Sun;
using energy::Scope;
using std::chrono::milliseconds;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kOwnKey = "3333333333333333333333333333333333333333333333333333333333333333";
constexpr int64_t kTrx = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000;

Address address_of(uint8_t fill) { return Address::from_id20(common::Bytes(20, fill)); }
Address address_of(const char* key) {
  return *signer::address_of(*signer::SecretKey::from_hex(key));
}

class AlwaysUp final : public HealthProbe {
 public:
  common::Status check() override { return {}; }
};

class LeaseRoutesTest : public ::testing::Test {
 protected:
  LeaseRoutesTest() : store_(clock_), key_service_(store_.keys, clock_), logger_(log_) {
    tenant_a_ = store_.tenants.create("A")->id;
    tenant_b_ = store_.tenants.create("B")->id;
    poor_ = store_.tenants.create("poor")->id;
    EXPECT_TRUE(store_.ledger.credit(tenant_a_, Sun(100 * kTrx), "admin:credit").ok());
    EXPECT_TRUE(store_.ledger.credit(tenant_b_, Sun(100 * kTrx), "admin:credit").ok());
    EXPECT_TRUE(store_.ledger.credit(poor_, Sun(kTrx), "admin:credit").ok());
    key_a_ = key_service_.issue(tenant_a_, {Scope::kLease}, std::nullopt)->secret;
    key_b_ = key_service_.issue(tenant_b_, {Scope::kLease}, std::nullopt)->secret;
    key_poor_ = key_service_.issue(poor_, {Scope::kLease}, std::nullopt)->secret;
    quote_only_ =
        key_service_.issue(tenant_a_, {Scope::kQuote, Scope::kPools}, std::nullopt)->secret;

    chain::AccountResources totals;
    totals.total_energy_limit = 180'000'000'000;
    totals.total_energy_weight = 19'000'000'000;
    for (const Address& a : {receiver_, other_receiver_}) {
      node_.put_account(testing::make_account(a, 5 * kTrx));
      node_.set_resources(a, totals);
    }
    node_.set_resources(energy::mainnet_usdt_contract(), totals);
    pool_id_ = add_own_pool(kOwnKey, "own");
    set_delegatable(50'000 * kTrx);

    on_sleep_ = [this] { node_.mine(); };
    leases_service_ = std::make_unique<energy::LeaseService>(
        energy::LeaseDependencies{.leases = leases_,
                                  .quotes = quote_service_,
                                  .ledger = store_.ledger,
                                  .pools = pools_,
                                  .capacity = pools_,
                                  .sender = sender_,
                                  .journal = journal_,
                                  .jobs = jobs_,
                                  .node = node_,
                                  .signers = *signers_,
                                  .clock = clock_,
                                  .pool_service = nullptr,
                                  .reclaim_scheduled = {}},
        // One pool fits every lease but the split test's.
        energy::LeaseServiceOptions{.split_across_pools = true});

    ApiOptions options;
    options.rate_limit = {.requests_per_second = 1000, .burst = 1000};
    ApiServices services = testing::core_services(store_, key_service_, clock_, probe_, probe_);
    services.leases = leases_service_.get();
    server_ = std::make_unique<ApiServer>(options, services, logger_);
  }

  // An active own pool whose key the signers hold, its account staked on the fake chain.
  int64_t add_own_pool(const char* key, const std::string& name) {
    const Address address = address_of(key);
    node_.put_account(testing::make_account(address, 300 * kTrx, 100'000 * kTrx));
    EXPECT_TRUE(signers_->add_owner_key(*signer::SecretKey::from_hex(key)).ok());
    EXPECT_TRUE(signers_->admit_pool(address, 0).ok());
    energy::NewPool pool;
    pool.tenant_id = tenant_a_;
    pool.address = address;
    pool.kind = energy::PoolKind::kOwn;
    pool.name = name;
    pool.status = energy::PoolStatus::kActive;
    pool.permission_id = 0;
    return pools_.create(pool)->id;
  }
  void set_delegatable(int64_t sun, std::optional<int64_t> pool_id = std::nullopt) {
    energy::PoolSnapshot snapshot;
    snapshot.observed_at = clock_.now();
    snapshot.delegatable_sun = sun;
    EXPECT_TRUE(pools_.record_snapshot(pool_id.value_or(pool_id_), snapshot).ok());
  }

  common::HttpResponse call(const std::string& method, const std::string& path,
                            const std::string& body, const std::string& key,
                            const std::string& query = "",
                            const std::string& idempotency_key = "") {
    return relay::testing::call_api(*server_, method, query.empty() ? path : path + "?" + query,
                                    body, key, idempotency_key);
  }
  common::HttpResponse post(const std::string& body, const std::string& key = "") {
    return call("POST", "/v1/leases", body, key.empty() ? key_a_ : key);
  }
  std::string inline_body(const Address& receiver, int64_t energy = 65'000,
                          const std::string& extra = "") {
    return R"({"receiver":")" + receiver.to_base58() + R"(","energy":)" + std::to_string(energy) +
           R"(,"duration_s":3600,"max_cost_sun":10000000)" + extra + "}";
  }

  static int64_t id_of(const common::HttpResponse& response) {
    return body_of(response).at("id").as_int64();
  }

  common::ManualClock clock_{common::TimePoint(milliseconds(kStart))};
  testing::FakeStore store_;
  energy::ApiKeyService key_service_;
  testing::FakeTronNode node_;
  testing::FakePools pools_{clock_};
  testing::FakeQuotes quotes_;
  testing::FakeLeases leases_;
  testing::FakeChainTxJournal journal_{clock_};
  testing::FakeJobQueue jobs_{clock_};
  std::unique_ptr<signer::PoolSigners> signers_ =
      std::move(*signer::PoolSigners::create(*signer::SecretKey::from_hex(kRelayerKey)));
  energy::QuoteService quote_service_{quotes_, pools_, node_, clock_};
  std::function<void()> on_sleep_;
  energy::ChainTxSender sender_{
      journal_,
      node_,
      *signers_,
      clock_,
      energy::ChainTxSenderOptions{.rebroadcast_after = milliseconds(6'000),
                                   .poll_interval = milliseconds(3'000)},
      [this](milliseconds d) {
        clock_.advance(d);
        if (on_sleep_) on_sleep_();
      }};
  std::unique_ptr<energy::LeaseService> leases_service_;
  AlwaysUp probe_;
  std::ostringstream log_;
  common::Logger logger_;
  std::unique_ptr<ApiServer> server_;
  const Address receiver_ = address_of(0x11);
  const Address other_receiver_ = address_of(0x22);
  const Address pool_address_ = address_of(kOwnKey);
  int64_t tenant_a_ = 0, tenant_b_ = 0, poor_ = 0, pool_id_ = 0;
  std::string key_a_, key_b_, key_poor_, quote_only_;
};

TEST_F(LeaseRoutesTest, CreateViewAndListAnActiveLeaseWithIntegersOnly) {
  auto created = post(inline_body(receiver_));
  ASSERT_EQ(created.status, 201) << created.body;
  json::object body = body_of(created);
  const int64_t id = body.at("id").as_int64();
  EXPECT_EQ(body.at("status").as_string(), "active");
  EXPECT_TRUE(body.at("status_reason").is_null());
  EXPECT_EQ(body.at("receiver").as_string(), receiver_.to_base58());
  EXPECT_EQ(body.at("receiver_hex").as_string(), receiver_.to_hex());
  EXPECT_EQ(body.at("energy").as_int64(), 65'000);
  EXPECT_EQ(body.at("duration_s").as_int64(), 3'600);
  EXPECT_EQ(body.at("stake_sun").as_int64(), 6'998'333'334);
  EXPECT_EQ(body.at("price").as_object().at("unit_price_sun_per_energy").as_int64(), 60);
  EXPECT_TRUE(body.at("quote_id").is_string());
  EXPECT_EQ(body.at("lock").as_bool(), false);
  EXPECT_TRUE(body.at("lock_ends_at").is_null());
  EXPECT_EQ(body.at("delegated_at").as_int64(), kStart + 3'000);
  EXPECT_EQ(body.at("expires_at").as_int64(), kStart + 3'000 + 3'600'000);
  EXPECT_EQ(body.at("refund_sun").as_int64(), 0);
  EXPECT_TRUE(body.at("reclaimed_at").is_null());
  EXPECT_EQ(created.body.find('.'), std::string::npos) << created.body;

  auto view = call("GET", "/v1/leases/" + std::to_string(id), "", key_a_);
  ASSERT_EQ(view.status, 200) << view.body;
  json::object viewed = body_of(view);
  EXPECT_EQ(viewed.at("status").as_string(), "active");
  const json::array& txs = viewed.at("chain_txs").as_array();
  ASSERT_EQ(txs.size(), 1u);
  const json::object& tx = txs[0].as_object();
  EXPECT_EQ(tx.at("txid").as_string(), common::to_hex(journal_.all()[0].txid));
  EXPECT_EQ(tx.at("purpose").as_string(), "lease_delegate");
  EXPECT_EQ(tx.at("state").as_string(), "included");
  EXPECT_EQ(tx.at("block").as_object().at("time").as_int64(), kStart + 3'000);
  EXPECT_EQ(view.body.find('.'), std::string::npos) << view.body;

  auto list = call("GET", "/v1/leases", "", key_a_);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(body_of(list).at("leases").as_array().size(), 1u);
  EXPECT_TRUE(body_of(list).at("next_before").is_null());
}

TEST_F(LeaseRoutesTest, QuotedLeaseAndTheMaxCostAlias) {
  auto quote = quote_service_.create(tenant_a_, {.receiver = receiver_,
                                                 .energy = common::Energy(65'000),
                                                 .usdt_transfer = {},
                                                 .duration_s = 3'600});
  ASSERT_TRUE(quote.ok());
  auto created = post(R"({"quote_id":")" + quote->id + R"(","max_cost":"10000000"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(body_of(created).at("quote_id").as_string(), quote->id);
  auto again = post(R"({"quote_id":")" + quote->id + R"("})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(code_of(again), "conflict");
  auto theirs = post(R"({"quote_id":")" + quote->id + R"("})", key_b_);
  EXPECT_EQ(theirs.status, 404);
}

TEST_F(LeaseRoutesTest, IdempotencyKeyReplaysTheSameLease) {
  const std::string body = inline_body(receiver_);
  auto first = call("POST", "/v1/leases", body, key_a_, "", "order-42");
  ASSERT_EQ(first.status, 201) << first.body;
  auto replay = call("POST", "/v1/leases", body, key_a_, "", "order-42");
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(replay.headers.find("Idempotent-Replayed").value_or(""), "true");
  EXPECT_EQ(leases_.size(), 1u);
  EXPECT_EQ(node_.broadcasts().size(), 1u);
  EXPECT_EQ(store_.ledger.balance(tenant_a_)->balance.value(),
            100 * kTrx - body_of(first).at("price").as_object().at("total_sun").as_int64());

  // The same key with another body is refused; another key leases again.
  auto other = call("POST", "/v1/leases", inline_body(other_receiver_), key_a_, "", "order-42");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(code_of(other), "verification_failed/idempotency_key_reused");
  EXPECT_EQ(leases_.size(), 1u);
  auto fresh = call("POST", "/v1/leases", inline_body(other_receiver_), key_a_, "", "order-43");
  EXPECT_EQ(fresh.status, 201) << fresh.body;
  EXPECT_EQ(leases_.size(), 2u);
}

TEST_F(LeaseRoutesTest, MalformedRequestsAre400AndStoreNoLease) {
  const std::string r = receiver_.to_base58();
  const std::string cases[] = {
      "",
      "{",
      "[]",
      "null",
      "{}",
      // unknown fields
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":1,"x":1})",
      R"({"quote_id":"q_0123456789abcdef","Lock":true})",
      // quote_id: malformed, not a string, mixed with inline terms
      R"({"quote_id":"q_XYZ"})",
      R"({"quote_id":42})",
      R"({"quote_id":null})",
      R"({"quote_id":"q_0123456789abcdef","receiver":")" + r + R"("})",
      R"({"quote_id":"q_0123456789abcdef","energy":65000})",
      // receiver
      R"({"energy":65000,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":"TNotAnAddress","energy":65000,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":7,"energy":65000,"duration_s":3600,"max_cost_sun":10000000})",
      // energy and duration
      R"({"receiver":")" + r + R"(","duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":0,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":-5,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":65000.5,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":6.5e4,"duration_s":3600,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":"65000.0","duration_s":3600,"max_cost_sun":1})",
      R"({"receiver":")" + r + R"(","energy":65000,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":0,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":299,"max_cost_sun":10000000})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":36.5,"max_cost_sun":10000000})",
      // max_cost: missing inline, zero, negative, fraction, both names
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":0})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":-1})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":1.5})",
      R"({"receiver":")" + r +
          R"(","energy":65000,"duration_s":3600,"max_cost_sun":1,"max_cost":1})",
      // lock
      R"({"receiver":")" + r +
          R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,"lock":"yes"})",
      R"({"receiver":")" + r +
          R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,"lock_period_blocks":5})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,)" +
          R"("lock":true,"lock_period_blocks":-1})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,)" +
          R"("lock":true,"lock_period_blocks":10512001})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,)" +
          R"("lock":true,"lock_period_blocks":1.5})",
      // a lock that outlasts the lease (0 = 3 days; 1201 blocks > 3600 s)
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,)" +
          R"("lock":true})",
      R"({"receiver":")" + r + R"(","energy":65000,"duration_s":3600,"max_cost_sun":10000000,)" +
          R"("lock":true,"lock_period_blocks":1201})",
  };
  for (const auto& body : cases) {
    auto response = post(body);
    EXPECT_EQ(response.status, 400) << body << " → " << response.body;
    EXPECT_EQ(code_of(response), "invalid_request") << body;
  }
  EXPECT_EQ(leases_.size(), 0u);
  EXPECT_TRUE(node_.broadcasts().empty());
  EXPECT_EQ(store_.ledger.balance(tenant_a_)->reserved.value(), 0);
}

TEST_F(LeaseRoutesTest, RefusalsMapTo402409And422) {
  auto poor = post(inline_body(receiver_), key_poor_);
  EXPECT_EQ(poor.status, 402) << poor.body;
  EXPECT_EQ(code_of(poor), "insufficient_balance");

  auto cost = post(R"({"receiver":")" + receiver_.to_base58() +
                   R"(","energy":65000,"duration_s":3600,"max_cost_sun":1})");
  EXPECT_EQ(cost.status, 409);
  EXPECT_EQ(code_of(cost), "cost_limit_exceeded");

  auto below = post(inline_body(receiver_, 31'999));
  EXPECT_EQ(below.status, 422) << below.body;
  EXPECT_EQ(code_of(below), "verification_failed/energy_below_minimum");

  auto inactive = post(inline_body(address_of(0x33)));
  EXPECT_EQ(inactive.status, 422) << inactive.body;
  EXPECT_EQ(code_of(inactive), "verification_failed/account_not_found");
  EXPECT_EQ(leases_.size(), 0u);

  set_delegatable(1'000 * kTrx);
  auto capacity = post(inline_body(receiver_));
  EXPECT_EQ(capacity.status, 409) << capacity.body;
  EXPECT_EQ(code_of(capacity), "insufficient_capacity");
  set_delegatable(50'000 * kTrx);

  node_.script_broadcast({.accepted = false,
                          .duplicate = false,
                          .code = "CONTRACT_VALIDATE_ERROR",
                          .message = "Do not allow delegate resources to contract addresses",
                          .txid = {}});
  auto rejected = post(inline_body(receiver_));
  EXPECT_EQ(rejected.status, 422) << rejected.body;
  EXPECT_EQ(code_of(rejected), "verification_failed/broadcast_rejected");
  EXPECT_NE(rejected.body.find("contract addresses"), std::string::npos) << rejected.body;

  // In flight: the first waits for a block that does not come (202), the second conflicts.
  on_sleep_ = nullptr;
  auto first = post(inline_body(receiver_));
  EXPECT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(body_of(first).at("status").as_string(), "delegating");
  auto second = post(inline_body(receiver_, 40'000));
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(code_of(second), "conflict");
  // Nothing of the refused ones is held.
  EXPECT_EQ(store_.ledger.balance(tenant_a_)->reserved.value(),
            body_of(first).at("price").as_object().at("total_sun").as_int64());
}

TEST_F(LeaseRoutesTest, ChainDownIs503WithoutDetails) {
  node_.set_down(common::make_error("chain_unavailable", "breaker open on http://10.0.0.9"));
  auto response = post(inline_body(receiver_));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body.find("10.0.0.9"), std::string::npos);
}

TEST_F(LeaseRoutesTest, AnotherTenantsLeaseIsNotFound) {
  auto created = post(inline_body(receiver_));
  ASSERT_EQ(created.status, 201);
  const std::string path = "/v1/leases/" + std::to_string(id_of(created));
  EXPECT_EQ(call("GET", path, "", key_b_).status, 404);
  auto reclaim = call("POST", path + "/reclaim", "", key_b_);
  EXPECT_EQ(reclaim.status, 404);
  EXPECT_EQ(code_of(reclaim), "not_found");
  EXPECT_TRUE(body_of(call("GET", "/v1/leases", "", key_b_)).at("leases").as_array().empty());
  for (const char* bad : {"0", "-1", "abc", "1.5", "99999999999999999999", "%2e%2e"}) {
    EXPECT_EQ(call("GET", std::string("/v1/leases/") + bad, "", key_a_).status, 404) << bad;
  }
  EXPECT_EQ(leases_.all()[0].state, energy::LeaseState::kActive);
}

TEST_F(LeaseRoutesTest, LeaseScopeIsRequired) {
  auto created = post(inline_body(receiver_));
  ASSERT_EQ(created.status, 201);
  const std::string path = "/v1/leases/" + std::to_string(id_of(created));
  EXPECT_EQ(post(inline_body(other_receiver_), quote_only_).status, 403);
  EXPECT_EQ(call("GET", "/v1/leases", "", quote_only_).status, 403);
  EXPECT_EQ(call("GET", path, "", quote_only_).status, 403);
  EXPECT_EQ(call("POST", path + "/reclaim", "", quote_only_).status, 403);
  EXPECT_EQ(call("GET", "/v1/leases", "", "trk_nope").status, 401);
  EXPECT_EQ(leases_.size(), 1u);
}

TEST_F(LeaseRoutesTest, EarlyReclaimIsAcceptedThenDone) {
  auto created = post(inline_body(receiver_));
  ASSERT_EQ(created.status, 201);
  const int64_t id = id_of(created);
  const std::string path = "/v1/leases/" + std::to_string(id) + "/reclaim";
  clock_.advance(std::chrono::seconds(600));
  auto accepted = call("POST", path, "", key_a_);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(body_of(accepted).at("status").as_string(), "reclaiming");
  // The delegation's block came 3 s after the start.
  EXPECT_EQ(body_of(accepted).at("reclaim_requested_at").as_int64(), kStart + 3'000 + 600'000);
  EXPECT_EQ(call("POST", path, "", key_a_).status, 202);

  // The job runs.
  ASSERT_TRUE(leases_service_->reclaim(id).ok());
  auto done = call("POST", path, "", key_a_);
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(body_of(done).at("status").as_string(), "reclaimed");
  json::object view = body_of(call("GET", "/v1/leases/" + std::to_string(id), "", key_a_));
  const json::array& txs = view.at("chain_txs").as_array();
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].as_object().at("purpose").as_string(), "lease_reclaim");

  // A lease still delegating cannot be reclaimed yet.
  on_sleep_ = nullptr;
  auto delegating = post(inline_body(other_receiver_));
  ASSERT_EQ(delegating.status, 202);
  auto refused =
      call("POST", "/v1/leases/" + std::to_string(id_of(delegating)) + "/reclaim", "", key_a_);
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(code_of(refused), "conflict");
}

TEST_F(LeaseRoutesTest, ListFiltersAndPages) {
  ASSERT_EQ(post(inline_body(receiver_)).status, 201);
  ASSERT_EQ(post(inline_body(other_receiver_)).status, 201);
  set_delegatable(1);  // the next one fails on capacity: a failed lease
  ASSERT_EQ(post(inline_body(receiver_)).status, 409);

  auto page = call("GET", "/v1/leases", "", key_a_, "limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  json::object body = body_of(page);
  ASSERT_EQ(body.at("leases").as_array().size(), 2u);
  EXPECT_EQ(body.at("leases").as_array()[0].as_object().at("status").as_string(), "failed");
  const int64_t before = body.at("next_before").as_int64();
  auto rest = call("GET", "/v1/leases", "", key_a_, "limit=2&before=" + std::to_string(before));
  ASSERT_EQ(body_of(rest).at("leases").as_array().size(), 1u);
  EXPECT_TRUE(body_of(rest).at("next_before").is_null());

  auto active = call("GET", "/v1/leases", "", key_a_, "status=active");
  EXPECT_EQ(body_of(active).at("leases").as_array().size(), 2u);
  auto to_receiver = call("GET", "/v1/leases", "", key_a_, "receiver=" + other_receiver_.to_hex());
  ASSERT_EQ(body_of(to_receiver).at("leases").as_array().size(), 1u);
  EXPECT_EQ(body_of(to_receiver).at("leases").as_array()[0].as_object().at("receiver").as_string(),
            other_receiver_.to_base58());

  for (const char* bad : {"status=bogus", "limit=0", "limit=201", "limit=x", "before=0",
                          "receiver=Tnope", "sort=id", "limit=%zz"}) {
    auto response = call("GET", "/v1/leases", "", key_a_, bad);
    EXPECT_EQ(response.status, 400) << bad << " → " << response.body;
  }
}

TEST_F(LeaseRoutesTest, SplitLeaseAnswersEveryPartAndListsThemByGroup) {
  // A second own pool; neither can take the 65,000 energy stake (≈ 6,998 TRX) alone.
  const int64_t second_pool =
      add_own_pool("4444444444444444444444444444444444444444444444444444444444444444", "second");
  set_delegatable(3'000 * kTrx, second_pool);
  set_delegatable(5'000 * kTrx);

  auto created = post(inline_body(receiver_));
  ASSERT_EQ(created.status, 201) << created.body;
  json::object body = body_of(created);
  const int64_t group = body.at("id").as_int64();
  EXPECT_EQ(body.at("group_id").as_int64(), group);
  EXPECT_EQ(body.at("split_parts").as_int64(), 2);
  const json::array& parts = body.at("parts").as_array();
  ASSERT_EQ(parts.size(), 2u);
  int64_t energy = 0;
  for (const auto& part : parts) {
    EXPECT_EQ(part.at("group_id").as_int64(), group);
    EXPECT_EQ(part.at("status").as_string(), "active");
    energy += part.at("energy").as_int64();
  }
  EXPECT_EQ(energy, 65'000);
  EXPECT_EQ(parts[0].at("id").as_int64(), group);

  auto listed = call("GET", "/v1/leases", "", key_a_, "group=" + std::to_string(group));
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(body_of(listed).at("leases").as_array().size(), 2u);
  EXPECT_EQ(call("GET", "/v1/leases", "", key_a_, "group=0").status, 400);
  // Another tenant sees none of it.
  EXPECT_TRUE(body_of(call("GET", "/v1/leases", "", key_b_, "group=" + std::to_string(group)))
                  .at("leases")
                  .as_array()
                  .empty());
}

TEST_F(LeaseRoutesTest, RoutesAreAbsentWithoutALeaseService) {
  ApiServer bare(ApiOptions{}, testing::core_services(store_, key_service_, clock_, probe_, probe_),
                 logger_);
  EXPECT_EQ(testing::call_api(bare, "GET", "/v1/leases", "", key_a_).status, 404);
}

}  // namespace
}  // namespace relay::api
