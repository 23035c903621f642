// TronGridClient and its EndpointPool against a scripted HttpTransport and a ManualClock: every
// endpoint's JSON (missing fields, `{}`, `Error`, garbage, out-of-range numbers), and every retry,
// backoff, breaker, failover and rate-limit path, each failure point on its own. Nothing sleeps.
#include "chain/trongrid_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <set>
#include <thread>

#include "common/hash.h"

namespace relay::chain {
namespace {

using common::Address;
using std::chrono::milliseconds;

const char* kK1Hex = "417e5f4552091a69125d5dfcb7b8c2659029395bdf";
const char* kK2Hex = "412e988a386a799f506693793c6a5af6b54dfaabfb";
const char* kK3Hex = "41944d6c7ad3f83fbf3f8a6bc8d1bb7a1f5c5b4c2c";
const char* kBlockId = "00000000000000075c5a6c8d29bb8e3ae0e4e7c86a0cc0a6a1b2c3d4e5f60718";

Address addr(const char* hex) { return *Address::from_hex(hex); }

common::Result<HttpReply> ok(std::string body) { return HttpReply{200, std::move(body)}; }
common::Result<HttpReply> status(long code, std::string body = "") {
  return HttpReply{code, std::move(body)};
}
common::Result<HttpReply> refused() {
  return common::make_error("upstream_failed", "connection refused");
}
common::Result<HttpReply> timed_out() { return common::make_error(kTransportTimeout, "timed out"); }

// Answers by path (the part after the base URL); `failures` replaces the answer of the Nth call
// (0-based, counted over all calls) with a scripted failure. Each call may advance the clock.
class FakeTransport final : public HttpTransport {
 public:
  struct Call {
    std::string url;
    std::string body;
    std::map<std::string, std::string> headers;
    milliseconds timeout{0};
  };
  using Handler = std::function<common::Result<HttpReply>(const Call&)>;

  explicit FakeTransport(common::ManualClock& clock) : clock_(clock) {}

  void route(const std::string& path, std::string body) {
    routes_[path] = [body](const Call&) { return ok(body); };
  }
  void route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }
  // The next answers, in order, before the routes are used.
  void then(common::Result<HttpReply> reply) { queue_.push_back(std::move(reply)); }
  void fail_call(size_t n, common::Result<HttpReply> reply) { failures_.emplace(n, reply); }
  void set_latency(milliseconds latency) { latency_ = latency; }
  // Called inside post_json before answering (re-entrancy tests).
  std::function<void()> during_call;

  common::Result<HttpReply> post_json(const std::string& url, const std::string& body,
                                      const std::map<std::string, std::string>& headers,
                                      milliseconds timeout) override {
    size_t n = calls.size();
    calls.push_back(Call{url, body, headers, timeout});
    clock_.advance(latency_);
    if (during_call) {
      auto hook = std::move(during_call);
      during_call = nullptr;
      hook();
    }
    if (auto it = failures_.find(n); it != failures_.end()) return it->second;
    if (!queue_.empty()) {
      auto reply = queue_.front();
      queue_.pop_front();
      return reply;
    }
    size_t slash = url.find('/', url.find("://") + 3);
    std::string path = slash == std::string::npos ? "" : url.substr(slash);
    auto it = routes_.find(path);
    if (it == routes_.end()) return status(404, R"({"Error":"no route"})");
    return it->second(calls.back());
  }

  std::vector<Call> calls;

 private:
  common::ManualClock& clock_;
  std::map<std::string, Handler> routes_;
  std::deque<common::Result<HttpReply>> queue_;
  std::map<size_t, common::Result<HttpReply>> failures_;
  milliseconds latency_{0};
};

TronGridOptions options_for(std::vector<std::string> urls) {
  TronGridOptions options;
  for (auto& url : urls) options.endpoints.push_back({std::move(url), ""});
  options.rps = 1000;
  options.burst = 1000;
  options.max_attempts = 4;
  options.backoff_base = milliseconds(100);
  options.backoff_max = milliseconds(1'000);
  options.breaker_threshold = 3;
  options.breaker_cooldown = milliseconds(30'000);
  return options;
}

class ClientTest : public ::testing::Test {
 protected:
  common::ManualClock clock = common::ManualClock::at_ms(1'700'000'000'000);
  FakeTransport transport{clock};
  std::vector<milliseconds> sleeps;

  EndpointPool::Seams seams(uint64_t seed = 7) {
    return EndpointPool::Seams{[this](milliseconds d) {
                                 sleeps.push_back(d);
                                 clock.advance(d);
                               },
                               seed};
  }
  std::unique_ptr<TronGridClient> client(TronGridOptions options, uint64_t seed = 7) {
    auto made = TronGridClient::create(transport, clock, std::move(options), seams(seed));
    EXPECT_TRUE(made.ok()) << made.error().message;
    return std::move(made).value();
  }
  std::unique_ptr<TronGridClient> client() { return client(options_for({"http://a"})); }
};

std::string block_json(int64_t number, const char* id) {
  return std::string(R"({"blockID":")") + id + R"(","block_header":{"raw_data":{"number":)" +
         std::to_string(number) +
         R"(,"txTrieRoot":"00","witness_address":"41","parentHash":"00","version":32,)"
         R"("timestamp":1700000000000},"witness_signature":"00"}})";
}

// ---------------------------------------------------------------- blocks

TEST_F(ClientTest, NowBlockReadsIdNumberAndTime) {
  transport.route("/wallet/getnowblock", block_json(7, kBlockId));
  auto c = client();
  auto block = c->now_block();
  ASSERT_TRUE(block.ok()) << block.error().message;
  EXPECT_EQ(block->number, 7);
  EXPECT_EQ(common::to_hex(block->id), kBlockId);
  EXPECT_EQ(block->timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(transport.calls[0].url, "http://a/wallet/getnowblock");
  EXPECT_EQ(transport.calls[0].body, "{}");

  auto tapos = c->head_tapos();
  ASSERT_TRUE(tapos.ok());
  EXPECT_EQ(common::to_hex(tapos->ref_block_bytes), "0007");
  EXPECT_EQ(common::to_hex(tapos->ref_block_hash), "5c5a6c8d29bb8e3a");
}

TEST_F(ClientTest, NowBlockFromSolidityAndRefusals) {
  transport.route("/walletsolidity/getnowblock", block_json(7, kBlockId));
  auto c = client();
  EXPECT_TRUE(c->now_block(ReadFrom::kSolidity).ok());
  EXPECT_EQ(transport.calls.back().url, "http://a/walletsolidity/getnowblock");

  // The id must start with the number.
  transport.route("/wallet/getnowblock", block_json(8, kBlockId));
  auto mismatch = c->now_block();
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, "upstream_failed");
  EXPECT_NE(mismatch.error().message.find("blockID does not start with the block number"),
            std::string::npos);

  for (const std::string& body :
       {std::string("{}"), std::string(R"({"blockID":"zz"})"), std::string(R"({"blockID":12})"),
        std::string("[1,2]"), std::string("<html>"),
        R"({"blockID":")" + std::string(kBlockId) +
            R"(","block_header":{"raw_data":{"number":1.5}}})"}) {
    transport.route("/wallet/getnowblock", body);
    auto block = c->now_block();
    ASSERT_FALSE(block.ok()) << body;
    EXPECT_EQ(block.error().code, "upstream_failed") << body;
  }
}

TEST_F(ClientTest, ErrorKeyIsTheNodesRefusalAndNotRetried) {
  transport.route("/wallet/getnowblock",
                  R"({"Error":"class java.lang.NullPointerException : null"})");
  auto c = client();
  auto block = c->now_block();
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().code, "upstream_failed");
  EXPECT_EQ(block.error().message,
            "/wallet/getnowblock: class java.lang.NullPointerException : null");
  EXPECT_EQ(transport.calls.size(), 1u);
  EXPECT_TRUE(sleeps.empty());
  // The node answered: its circuit stays closed and the answer counts as a success.
  auto stats = c->stats();
  EXPECT_EQ(stats[0].successes, 1u);
  EXPECT_EQ(stats[0].consecutive_failures, 0);
}

TEST_F(ClientTest, OtherHttpStatusesAreNotRetried) {
  transport.route("/wallet/getnowblock", [](const FakeTransport::Call&) {
    return status(404, R"({"Error":"unknown path /wallet/getnowblock"})");
  });
  auto c = client();
  auto block = c->now_block();
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().code, "upstream_failed");
  EXPECT_EQ(block.error().message,
            "/wallet/getnowblock: HTTP 404 unknown path /wallet/getnowblock");
  EXPECT_EQ(transport.calls.size(), 1u);
}

// ---------------------------------------------------------------- accounts

// As the devnet (and java-tron) print an account with a custom active permission, stakes,
// delegations both ways and a pending unfreeze.
const char* kAccountJson = R"({
  "address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",
  "balance":999000000,
  "create_time":1700000000000,
  "net_window_size":28800000,
  "owner_permission":{"permission_name":"owner","threshold":1,
    "keys":[{"address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf","weight":1}]},
  "active_permission":[
    {"type":"Active","id":2,"permission_name":"active","threshold":1,
     "operations":"7fff1fc0033efb0f000000000000000000000000000000000000000000000000",
     "keys":[{"address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf","weight":1}]},
    {"type":"Active","id":3,"permission_name":"relayer","threshold":2,
     "operations":"0000000000000006000000000000000000000000000000000000000000000000",
     "keys":[{"address":"412e988a386a799f506693793c6a5af6b54dfaabfb","weight":1},
             {"address":"41944d6c7ad3f83fbf3f8a6bc8d1bb7a1f5c5b4c2c","weight":1}]}],
  "frozenV2":[{"amount":10000000},{"type":"ENERGY","amount":500000000},{"type":"TRON_POWER"}],
  "unfrozenV2":[{"type":"ENERGY","unfreeze_amount":3000000,"unfreeze_expire_time":1700001000000},
                {"unfreeze_amount":2000000,"unfreeze_expire_time":1700002000000}],
  "delegated_frozenV2_balance_for_bandwidth":4000000,
  "acquired_delegated_frozenV2_balance_for_bandwidth":5000000,
  "account_resource":{"energy_usage":10,"delegated_frozenV2_balance_for_energy":6000000,
    "acquired_delegated_frozenV2_balance_for_energy":7000000,"energy_window_size":28800000}
})";

TEST_F(ClientTest, AccountReadsBalancesStakesAndPermissions) {
  transport.route("/wallet/getaccount", kAccountJson);
  auto c = client();
  auto account = c->account(addr(kK1Hex));
  ASSERT_TRUE(account.ok()) << account.error().message;
  ASSERT_TRUE(account->has_value());
  const AccountInfo& a = **account;
  EXPECT_EQ(transport.calls[0].body, R"({"address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf"})");
  EXPECT_EQ(a.address, addr(kK1Hex));
  EXPECT_EQ(a.balance_sun, 999'000'000);
  EXPECT_EQ(a.create_time_ms, 1'700'000'000'000);
  EXPECT_FALSE(a.is_contract);
  EXPECT_EQ(a.frozen_bandwidth_sun, 10'000'000);
  EXPECT_EQ(a.frozen_energy_sun, 500'000'000);
  EXPECT_EQ(a.unfreezing_sun, 5'000'000);
  EXPECT_EQ(a.delegated_bandwidth_sun, 4'000'000);
  EXPECT_EQ(a.acquired_bandwidth_sun, 5'000'000);
  EXPECT_EQ(a.delegated_energy_sun, 6'000'000);
  EXPECT_EQ(a.acquired_energy_sun, 7'000'000);

  const AccountPermissions& p = a.permissions;
  EXPECT_EQ(p.owner.type(), protocol::Permission::Owner);
  EXPECT_EQ(p.owner.id(), 0);
  EXPECT_EQ(p.owner.permission_name(), "owner");
  ASSERT_EQ(p.owner.keys_size(), 1);
  EXPECT_EQ(p.owner.keys(0).address(), addr(kK1Hex).proto_bytes());
  EXPECT_FALSE(p.witness.has_value());
  ASSERT_EQ(p.actives.size(), 2u);
  const protocol::Permission* relayer = p.find(3);
  ASSERT_NE(relayer, nullptr);
  EXPECT_EQ(relayer->type(), protocol::Permission::Active);
  EXPECT_EQ(relayer->permission_name(), "relayer");
  EXPECT_EQ(relayer->threshold(), 2);
  EXPECT_EQ(operations_contract_types(common::as_bytes(relayer->operations())),
            (std::vector<int>{57, 58}));
  ASSERT_EQ(relayer->keys_size(), 2);
  EXPECT_EQ(relayer->keys(1).address(), addr(kK3Hex).proto_bytes());
  EXPECT_EQ(relayer->keys(1).weight(), 1);
}

TEST_F(ClientTest, AccountNotFoundMinimalAndContract) {
  auto c = client();
  transport.route("/walletsolidity/getaccount", "{}");
  auto missing = c->account(addr(kK2Hex), ReadFrom::kSolidity);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(transport.calls.back().url, "http://a/walletsolidity/getaccount");

  // Only an address: everything else is zero, and permissions are java-tron's defaults.
  transport.route("/wallet/getaccount",
                  R"({"address":"412e988a386a799f506693793c6a5af6b54dfaabfb"})");
  auto bare = c->account(addr(kK2Hex));
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  ASSERT_TRUE(bare->has_value());
  EXPECT_EQ((*bare)->balance_sun, 0);
  EXPECT_EQ((*bare)->frozen_energy_sun, 0);
  EXPECT_EQ((*bare)->unfreezing_sun, 0);
  const AccountPermissions& p = (*bare)->permissions;
  EXPECT_EQ(p.owner.keys(0).address(), addr(kK2Hex).proto_bytes());
  ASSERT_EQ(p.actives.size(), 1u);
  EXPECT_EQ(p.actives[0].id(), 2);
  EXPECT_EQ(p.actives[0].permission_name(), "active");
  EXPECT_EQ(common::to_hex(common::as_bytes(p.actives[0].operations())),
            "7fff1fc0033efb0f000000000000000000000000000000000000000000000000");

  // Ids left out are assigned by position (owner 0, witness 1, actives 2..).
  transport.route("/wallet/getaccount", R"({"address":"412e988a386a799f506693793c6a5af6b54dfaabfb",
    "type":"Contract",
    "owner_permission":{"permission_name":"owner","threshold":1,
      "keys":[{"address":"412e988a386a799f506693793c6a5af6b54dfaabfb","weight":1}]},
    "witness_permission":{"type":"Witness","permission_name":"witness","threshold":1,
      "keys":[{"address":"412e988a386a799f506693793c6a5af6b54dfaabfb","weight":1}]},
    "active_permission":[{"type":"Active","permission_name":"a","threshold":1,"keys":[]},
                         {"type":"Active","permission_name":"b","threshold":1,"keys":[]}]})");
  auto contract = c->account(addr(kK2Hex));
  ASSERT_TRUE(contract.ok()) << contract.error().message;
  EXPECT_TRUE((*contract)->is_contract);
  ASSERT_TRUE((*contract)->permissions.witness.has_value());
  EXPECT_EQ((*contract)->permissions.witness->id(), 1);
  EXPECT_EQ((*contract)->permissions.witness->type(), protocol::Permission::Witness);
  EXPECT_EQ((*contract)->permissions.actives[0].id(), 2);
  EXPECT_EQ((*contract)->permissions.actives[1].id(), 3);
}

TEST_F(ClientTest, AccountMalformedRepliesAreUpstreamFailures) {
  auto c = client();
  struct Case {
    const char* body;
    const char* says;
  };
  for (const Case& k : std::vector<Case>{
           {R"({"balance":18446744073709551615})", "balance is not an integer within int64"},
           {R"({"balance":99999999999999999999999})", "balance is not an integer"},
           {R"({"balance":1e3})", "balance is not an integer"},
           {R"({"balance":"12x"})", "balance is not an integer"},
           {R"({"address":"41zz"})", "address is not an address"},
           {R"({"frozenV2":{"amount":1}})", "frozenV2 is not an array"},
           {R"({"frozenV2":[7]})", "frozenV2[0] is not an object"},
           {R"({"frozenV2":[{"type":"ENERGY","amount":9223372036854775807},
                            {"type":"ENERGY","amount":1}]})",
            "frozenV2[1].amount sum overflows int64"},
           {R"({"account_resource":[]})", "account_resource is not an object"},
           {R"({"owner_permission":{"type":"Boss"}})", "owner_permission.type is not Owner"},
           {R"({"owner_permission":{"keys":[{"weight":1}]}})",
            "owner_permission.keys[0].address is missing"},
           {R"({"owner_permission":{"operations":"0g"}})",
            "owner_permission.operations is not hex"},
           {R"({"owner_permission":{"id":99999999999}})", "owner_permission.id is out of range"},
           {"not json", "malformed reply"},
           {"", "malformed reply"},
           {R"({"balance":1)", "malformed reply"},
       }) {
    transport.route("/wallet/getaccount", k.body);
    auto account = c->account(addr(kK1Hex));
    ASSERT_FALSE(account.ok()) << k.body;
    EXPECT_EQ(account.error().code, "upstream_failed") << k.body;
    EXPECT_NE(account.error().message.find(k.says), std::string::npos)
        << k.body << " → " << account.error().message;
  }
  EXPECT_EQ(transport.calls.size(), 16u);  // none retried
}

TEST_F(ClientTest, AccountResourcesWithMissingFieldsAsZero) {
  transport.route("/wallet/getaccountresource",
                  R"({"freeNetUsed":12,"freeNetLimit":600,"NetLimit":34,"TotalNetLimit":43200000000,
                      "TotalNetWeight":84000000000,"EnergyUsed":5,"EnergyLimit":7000,
                      "TotalEnergyLimit":180000000000,"TotalEnergyWeight":19000000000,
                      "tronPowerLimit":3})");
  auto c = client();
  auto r = c->account_resources(addr(kK1Hex));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->free_net_used, 12);
  EXPECT_EQ(r->free_net_limit, 600);
  EXPECT_EQ(r->net_used, 0);
  EXPECT_EQ(r->net_limit, 34);
  EXPECT_EQ(r->total_net_limit, 43'200'000'000);
  EXPECT_EQ(r->total_net_weight, 84'000'000'000);
  EXPECT_EQ(r->energy_used, 5);
  EXPECT_EQ(r->energy_limit, 7'000);
  EXPECT_EQ(r->total_energy_limit, 180'000'000'000);
  EXPECT_EQ(r->total_energy_weight, 19'000'000'000);

  transport.route("/wallet/getaccountresource", "{}");
  auto empty = c->account_resources(addr(kK2Hex));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->energy_limit, 0);
  EXPECT_EQ(empty->total_energy_weight, 0);
}

// ---------------------------------------------------------------- parameters

const char* kParametersJson = R"({"chainParameter":[
  {"key":"getMaintenanceTimeInterval","value":21600000},
  {"key":"getCreateAccountFee","value":100000},
  {"key":"getAllowMultiSign","value":1},
  {"key":"getEnergyFee","value":210},
  {"key":"getRemoveThePowerOfTheGr"},
  {"key":"getMaxDelegateLockPeriod","value":864000}]})";

TEST_F(ClientTest, ChainParametersWithZeroValuesLeftOut) {
  transport.route("/wallet/getchainparameters", kParametersJson);
  auto c = client();
  auto params = c->chain_parameters();
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(params->values.size(), 6u);
  EXPECT_EQ(params->energy_fee(), 210);
  EXPECT_EQ(params->max_delegate_lock_period(), 864'000);
  EXPECT_EQ(params->get("getRemoveThePowerOfTheGr", -1), 0);
  EXPECT_EQ(params->transaction_fee(), 10);  // absent: java-tron's default
  EXPECT_EQ(transport.calls[0].url, "http://a/wallet/getchainparameters");

  for (const char* body : {"{}", R"({"chainParameter":[{"value":1}]})",
                           R"({"chainParameter":[{"key":"getEnergyFee","value":"x"}]})",
                           R"({"chainParameter":"all"})"}) {
    transport.route("/wallet/getchainparameters", body);
    auto bad = c->chain_parameters();
    ASSERT_FALSE(bad.ok()) << body;
    EXPECT_EQ(bad.error().code, "upstream_failed");
  }
}

TEST_F(ClientTest, CachedChainParametersRefreshAfterMaxAgeAndSurviveAFailedRefresh) {
  transport.route("/wallet/getchainparameters", kParametersJson);
  auto c = client();
  auto first = c->cached_chain_parameters(std::chrono::hours(1));
  ASSERT_TRUE(first.ok());
  clock.advance(std::chrono::minutes(59));
  ASSERT_TRUE(c->cached_chain_parameters(std::chrono::hours(1)).ok());
  EXPECT_EQ(transport.calls.size(), 1u);

  clock.advance(std::chrono::minutes(2));
  transport.route("/wallet/getchainparameters",
                  R"({"chainParameter":[{"key":"getEnergyFee","value":420}]})");
  auto refreshed = c->cached_chain_parameters(std::chrono::hours(1));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->energy_fee(), 420);
  EXPECT_EQ(transport.calls.size(), 2u);

  // A failing refresh serves the previous copy and tries again next time.
  clock.advance(std::chrono::hours(2));
  transport.route("/wallet/getchainparameters", R"({"Error":"boom"})");
  auto stale = c->cached_chain_parameters(std::chrono::hours(1));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->energy_fee(), 420);
  EXPECT_EQ(transport.calls.size(), 3u);
  ASSERT_TRUE(c->cached_chain_parameters(std::chrono::hours(1)).ok());
  EXPECT_EQ(transport.calls.size(), 4u);

  // Without any copy the error is returned.
  auto fresh_client = client();
  auto none = fresh_client->cached_chain_parameters();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "/wallet/getchainparameters: boom");
}

// ---------------------------------------------------------------- delegation

TEST_F(ClientTest, CanDelegateMaxSize) {
  transport.route("/wallet/getcandelegatedmaxsize", R"({"max_size":123456789})");
  auto c = client();
  auto energy = c->can_delegate_max_sun(addr(kK1Hex), protocol::ENERGY);
  ASSERT_TRUE(energy.ok());
  EXPECT_EQ(*energy, 123'456'789);
  EXPECT_EQ(transport.calls[0].body,
            R"({"owner_address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf","type":1})");
  ASSERT_TRUE(c->can_delegate_max_sun(addr(kK1Hex), protocol::BANDWIDTH).ok());
  EXPECT_EQ(transport.calls[1].body,
            R"({"owner_address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf","type":0})");

  transport.route("/wallet/getcandelegatedmaxsize", "{}");
  auto none = c->can_delegate_max_sun(addr(kK1Hex), protocol::ENERGY);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  transport.route("/wallet/getcandelegatedmaxsize", R"({"max_size":-1.5})");
  EXPECT_FALSE(c->can_delegate_max_sun(addr(kK1Hex), protocol::ENERGY).ok());
}

TEST_F(ClientTest, DelegatedResourcesUnlockedAndLocked) {
  transport.route("/walletsolidity/getdelegatedresourcev2", R"({"delegatedResource":[
      {"from":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",
       "to":"412e988a386a799f506693793c6a5af6b54dfaabfb","frozen_balance_for_energy":1000000},
      {"from":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",
       "to":"412e988a386a799f506693793c6a5af6b54dfaabfb","frozen_balance_for_energy":2000000,
       "expire_time_for_energy":1700086400000,"frozen_balance_for_bandwidth":3,
       "expire_time_for_bandwidth":4}]})");
  auto c = client();
  auto list = c->delegated_resources(addr(kK1Hex), addr(kK2Hex), ReadFrom::kSolidity);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(transport.calls[0].url, "http://a/walletsolidity/getdelegatedresourcev2");
  EXPECT_EQ(transport.calls[0].body,
            R"({"fromAddress":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",)"
            R"("toAddress":"412e988a386a799f506693793c6a5af6b54dfaabfb"})");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].from, addr(kK1Hex));
  EXPECT_EQ((*list)[0].to, addr(kK2Hex));
  EXPECT_EQ((*list)[0].energy_sun, 1'000'000);
  EXPECT_EQ((*list)[0].energy_expire_ms, 0);
  EXPECT_EQ((*list)[1].energy_sun, 2'000'000);
  EXPECT_EQ((*list)[1].energy_expire_ms, 1'700'086'400'000);
  EXPECT_EQ((*list)[1].bandwidth_sun, 3);
  EXPECT_EQ((*list)[1].bandwidth_expire_ms, 4);

  transport.route("/wallet/getdelegatedresourcev2", "{}");
  auto none = c->delegated_resources(addr(kK1Hex), addr(kK2Hex));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  transport.route("/wallet/getdelegatedresourcev2", R"({"delegatedResource":[{"from":5}]})");
  EXPECT_FALSE(c->delegated_resources(addr(kK1Hex), addr(kK2Hex)).ok());
}

TEST_F(ClientTest, DelegationIndexBothWays) {
  transport.route("/wallet/getdelegatedresourceaccountindexv2",
                  R"({"account":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",
                      "fromAccounts":["412e988a386a799f506693793c6a5af6b54dfaabfb"],
                      "toAccounts":["412e988a386a799f506693793c6a5af6b54dfaabfb",
                                    "41944d6c7ad3f83fbf3f8a6bc8d1bb7a1f5c5b4c2c"]})");
  auto c = client();
  auto index = c->delegation_index(addr(kK1Hex));
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(transport.calls[0].body, R"({"value":"417e5f4552091a69125d5dfcb7b8c2659029395bdf"})");
  EXPECT_EQ(index->from_accounts, std::vector<Address>{addr(kK2Hex)});
  EXPECT_EQ(index->to_accounts, (std::vector<Address>{addr(kK2Hex), addr(kK3Hex)}));

  transport.route("/wallet/getdelegatedresourceaccountindexv2", "{}");
  auto none = c->delegation_index(addr(kK1Hex));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->from_accounts.empty());
  EXPECT_TRUE(none->to_accounts.empty());
  transport.route("/wallet/getdelegatedresourceaccountindexv2", R"({"toAccounts":["41xx"]})");
  auto bad = c->delegation_index(addr(kK1Hex));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("toAccounts[0] is not an address"), std::string::npos);
}

// ---------------------------------------------------------------- broadcast

// A signed Transaction: field 1 (raw_data) = 0a 02 ab cd, field 2 (signature) = 3 bytes.
const common::Bytes kSigned = {0x0a, 0x04, 0x0a, 0x02, 0xab, 0xcd, 0x12, 0x03, 1, 2, 3};
std::string signed_txid_hex() {
  common::Bytes raw = {0x0a, 0x02, 0xab, 0xcd};
  return common::to_hex(common::sha256(raw));
}

std::string broadcast_json(bool result, const std::string& code, const std::string& message) {
  return std::string(R"({"result":)") + (result ? "true" : "false") + R"(,"code":")" + code +
         R"(","message":")" + message + R"(","txid":")" + signed_txid_hex() +
         R"(","transaction":"{}"})";
}

TEST_F(ClientTest, BroadcastSendsHexAndReadsTheVerdict) {
  transport.route("/wallet/broadcasthex", broadcast_json(true, "SUCCESS", ""));
  auto c = client();
  auto result = c->broadcast(kSigned);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(transport.calls[0].body, R"({"transaction":"0a040a02abcd1203010203"})");
  EXPECT_TRUE(result->accepted);
  EXPECT_FALSE(result->duplicate);
  EXPECT_EQ(result->code, "SUCCESS");
  EXPECT_EQ(common::to_hex(result->txid), signed_txid_hex());

  transport.route("/wallet/broadcasthex", broadcast_json(false, "DUP_TRANSACTION_ERROR", "dup"));
  auto dup = c->broadcast(kSigned);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->accepted);
  EXPECT_TRUE(dup->duplicate);

  // visible=false nodes hex-encode the message.
  std::string text = "Validate signature error: miss sig or contract";
  transport.route("/wallet/broadcasthex",
                  broadcast_json(false, "SIGERROR", common::to_hex(common::as_bytes(text))));
  auto sig = c->broadcast(kSigned);
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(sig->accepted);
  EXPECT_EQ(sig->code, "SIGERROR");
  EXPECT_EQ(sig->message, text);

  transport.route("/wallet/broadcasthex",
                  broadcast_json(false, "CONTRACT_VALIDATE_ERROR", "Contract validate error : x"));
  auto invalid = c->broadcast(kSigned);
  ASSERT_TRUE(invalid.ok());
  EXPECT_FALSE(invalid->accepted);
  EXPECT_EQ(invalid->message, "Contract validate error : x");

  // No txid in the reply (broadcasttransaction-style success): computed from raw_data.
  transport.route("/wallet/broadcasthex", R"({"result":true})");
  auto bare = c->broadcast(kSigned);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->accepted);
  EXPECT_EQ(common::to_hex(bare->txid), signed_txid_hex());

  transport.route("/wallet/broadcasthex", R"({"result":false})");
  EXPECT_FALSE(c->broadcast(kSigned).ok());
  transport.route("/wallet/broadcasthex", R"({"Error":"class java.lang.Exception : bad hex"})");
  auto error = c->broadcast(kSigned);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().message, "/wallet/broadcasthex: class java.lang.Exception : bad hex");
}

TEST_F(ClientTest, BroadcastRetriesBusyNodesAndTimeoutsAndReadsDuplicateAsAccepted) {
  auto options = options_for({"http://a"});
  options.breaker_threshold = 10;
  auto c = client(options);
  transport.then(ok(broadcast_json(false, "SERVER_BUSY", "")));
  transport.then(ok(broadcast_json(false, "NO_CONNECTION", "")));
  transport.then(timed_out());  // it may have landed …
  transport.route("/wallet/broadcasthex", broadcast_json(false, "DUP_TRANSACTION_ERROR", ""));
  auto result = c->broadcast(kSigned);  // … and the same bytes again are a duplicate
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->accepted);
  EXPECT_TRUE(result->duplicate);
  ASSERT_EQ(transport.calls.size(), 4u);
  for (const auto& call : transport.calls) EXPECT_EQ(call.body, transport.calls[0].body);
  auto stats = c->stats()[0];
  EXPECT_EQ(stats.failures_of(FailureKind::kBusy), 2u);
  EXPECT_EQ(stats.failures_of(FailureKind::kTimeout), 1u);
  EXPECT_EQ(stats.retries, 3u);

  // Busy to the last attempt: the node did not take it.
  for (int i = 0; i < 4; ++i) {
    transport.then(ok(broadcast_json(false, "NOT_ENOUGH_EFFECTIVE_CONNECTION", "")));
  }
  auto busy = c->broadcast(kSigned);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, "upstream_failed");
  EXPECT_NE(busy.error().message.find("NOT_ENOUGH_EFFECTIVE_CONNECTION"), std::string::npos);
}

// ---------------------------------------------------------------- transaction info

TEST_F(ClientTest, TransactionInfoFoundPendingAndFailed) {
  std::string txid = signed_txid_hex();
  common::Hash32 id;
  auto bytes = *common::from_hex(txid);
  std::copy(bytes.begin(), bytes.end(), id.begin());
  auto c = client();

  transport.route("/walletsolidity/gettransactioninfobyid", "{}");
  auto pending = c->transaction_info(id, ReadFrom::kSolidity);
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  EXPECT_EQ(transport.calls[0].body, R"({"value":")" + txid + R"("})");

  transport.route("/wallet/gettransactioninfobyid",
                  R"({"id":")" + txid + R"(","fee":1100000,"blockNumber":42,
                      "blockTimeStamp":1700000003000,"contractResult":[""],
                      "receipt":{"energy_usage_total":64285,"energy_fee":13500000,
                                 "net_usage":345,"net_fee":0,"result":"SUCCESS"}})");
  auto found = c->transaction_info(id);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const TransactionInfo& info = **found;
  EXPECT_EQ(info.txid, id);
  EXPECT_EQ(info.block_number, 42);
  EXPECT_EQ(info.block_timestamp_ms, 1'700'000'003'000);
  EXPECT_EQ(info.fee_sun, 1'100'000);
  EXPECT_FALSE(info.failed);
  EXPECT_EQ(info.receipt_result, "SUCCESS");
  EXPECT_EQ(info.energy_usage_total, 64'285);
  EXPECT_EQ(info.energy_fee_sun, 13'500'000);
  EXPECT_EQ(info.net_usage, 345);
  EXPECT_EQ(info.net_fee_sun, 0);

  std::string reason = "REVERT opcode executed";
  transport.route("/wallet/gettransactioninfobyid",
                  R"({"id":")" + txid + R"(","blockNumber":43,"receipt":{"result":"REVERT"},
                      "result":"FAILED","resMessage":")" +
                      common::to_hex(common::as_bytes(reason)) + R"("})");
  auto failed = c->transaction_info(id);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_TRUE((*failed)->failed);
  EXPECT_EQ((*failed)->receipt_result, "REVERT");
  EXPECT_EQ((*failed)->message, reason);
  EXPECT_EQ((*failed)->fee_sun, 0);

  transport.route("/wallet/gettransactioninfobyid", R"({"id":")" + std::string(64, '0') + R"("})");
  EXPECT_FALSE(c->transaction_info(id).ok());  // the answer to another question
}

// ---------------------------------------------------------------- estimates

TEST_F(ClientTest, EstimateEnergySuccessRevertAndNodeErrors) {
  auto c = client();
  transport.route("/wallet/estimateenergy",
                  R"({"result":{"result":true},"energy_required":64285})");
  common::Bytes data = {0xa9, 0x05, 0x9c, 0xbb, 0x01};
  auto estimate = c->estimate_energy(addr(kK1Hex), addr(kK2Hex), data);
  ASSERT_TRUE(estimate.ok()) << estimate.error().message;
  EXPECT_TRUE(estimate->success);
  EXPECT_EQ(estimate->energy_used, 64'285);
  EXPECT_EQ(transport.calls[0].body,
            R"({"owner_address":"417e5f4552091a69125d5dfcb7b8c2659029395bdf",)"
            R"("contract_address":"412e988a386a799f506693793c6a5af6b54dfaabfb",)"
            R"("data":"a9059cbb01"})");

  std::string revert = "REVERT opcode executed";
  transport.route("/wallet/estimateenergy",
                  R"({"result":{"code":"CONTRACT_EXE_ERROR","message":")" +
                      common::to_hex(common::as_bytes(revert)) + R"("}})");
  auto reverted = c->estimate_energy(addr(kK1Hex), addr(kK2Hex), data);
  ASSERT_TRUE(reverted.ok());
  EXPECT_FALSE(reverted->success);
  EXPECT_EQ(reverted->message, revert);

  transport.route("/wallet/estimateenergy",
                  R"({"result":{"code":"OTHER_ERROR","message":"6f6f7073"}})");
  auto other = c->estimate_energy(addr(kK1Hex), addr(kK2Hex), data);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message, "/wallet/estimateenergy: OTHER_ERROR: oops");
}

TEST_F(ClientTest, EstimateFallsBackToTriggerConstantWhereEstimateIsOff) {
  auto c = client();
  std::string unsupported = "this node does not support estimate energy";
  transport.route("/wallet/estimateenergy",
                  R"({"result":{"code":"CONTRACT_VALIDATE_ERROR","message":")" +
                      common::to_hex(common::as_bytes(unsupported)) + R"("}})");
  transport.route("/wallet/triggerconstantcontract",
                  R"({"result":{"result":true},"energy_used":14650,"energy_penalty":100,
                      "constant_result":["00"],"transaction":{"ret":[{}]}})");
  common::Bytes data = {0x70, 0xa0, 0x82, 0x31};
  auto estimate = c->estimate_energy(addr(kK1Hex), addr(kK2Hex), data);
  ASSERT_TRUE(estimate.ok()) << estimate.error().message;
  EXPECT_TRUE(estimate->success);
  EXPECT_EQ(estimate->energy_used, 14'650);
  ASSERT_EQ(transport.calls.size(), 2u);
  EXPECT_EQ(transport.calls[1].body, transport.calls[0].body);

  // Remembered: straight to trigger from now on. A revert shows in transaction.ret.
  transport.route("/wallet/triggerconstantcontract",
                  R"({"result":{"result":true,"message":"7265766572746564"},"energy_used":900,
                      "transaction":{"ret":[{"ret":"FAILED"}]}})");
  auto reverted = c->estimate_energy(addr(kK1Hex), addr(kK2Hex), data);
  ASSERT_TRUE(reverted.ok());
  EXPECT_FALSE(reverted->success);
  EXPECT_EQ(reverted->message, "reverted");
  EXPECT_EQ(transport.calls.size(), 3u);
  EXPECT_EQ(transport.calls[2].url, "http://a/wallet/triggerconstantcontract");
}

TEST(DecodeNodeMessage, HexOfPrintableUtf8Only) {
  EXPECT_EQ(decode_node_message("6f6b"), "ok");
  EXPECT_EQ(decode_node_message("e282ac"), "€");
  EXPECT_EQ(decode_node_message("plain text"), "plain text");
  EXPECT_EQ(decode_node_message("abc"), "abc");    // odd length
  EXPECT_EQ(decode_node_message("0001"), "0001");  // control bytes
  EXPECT_EQ(decode_node_message("c328"), "c328");  // broken UTF-8
  EXPECT_EQ(decode_node_message("e282"), "e282");  // truncated sequence
  EXPECT_EQ(decode_node_message(""), "");
}

// ---------------------------------------------------------------- retries and backoff

TEST_F(ClientTest, EveryRetriedFailureKindIsRetriedAndCounted) {
  struct Case {
    common::Result<HttpReply> reply;
    FailureKind kind;
  };
  std::vector<Case> cases = {
      {refused(), FailureKind::kTransport},
      {timed_out(), FailureKind::kTimeout},
      {status(429, ""), FailureKind::kThrottled},
      {status(403, R"({"Error":"The key exceeds the frequency limit(15), and the query server )"
                   R"(is suspended for 30s"})"),
       FailureKind::kThrottled},
      {ok(R"({"Error":"rate limit exceeded"})"), FailureKind::kThrottled},
      {status(500, "oops"), FailureKind::kServerError},
      {status(502, ""), FailureKind::kServerError},
      {status(503, ""), FailureKind::kServerError},
  };
  for (const Case& k : cases) {
    FakeTransport fresh(clock);
    fresh.route("/wallet/getnowblock", block_json(7, kBlockId));
    fresh.then(k.reply);
    auto c = TronGridClient::create(fresh, clock, options_for({"http://a"}), seams());
    ASSERT_TRUE(c.ok());
    auto block = (*c)->now_block();
    ASSERT_TRUE(block.ok()) << failure_kind_name(k.kind) << ": " << block.error().message;
    EXPECT_EQ(fresh.calls.size(), 2u);
    auto stats = (*c)->stats()[0];
    EXPECT_EQ(stats.failures_of(k.kind), 1u) << failure_kind_name(k.kind);
    EXPECT_EQ(stats.requests, 2u);
    EXPECT_EQ(stats.successes, 1u);
    EXPECT_EQ(stats.retries, 1u);
  }
}

// Beast's fail-count loop: fail the 1st, 2nd, … Nth transport call of a whole flow, once each,
// and check that the flow still completes with exactly one retry; with retries off, exactly the
// call that owned the failed attempt fails.
TEST_F(ClientTest, FailEachCallOfAFlowInTurn) {
  auto route_all = [](FakeTransport& t) {
    t.route("/wallet/getnowblock", block_json(7, kBlockId));
    t.route("/wallet/getaccount", kAccountJson);
    t.route("/wallet/getchainparameters", kParametersJson);
    t.route("/wallet/broadcasthex", broadcast_json(true, "SUCCESS", ""));
    t.route("/wallet/gettransactioninfobyid", "{}");
  };
  auto flow = [](TronGridClient& c) {
    std::vector<bool> ok;
    ok.push_back(c.now_block().ok());
    ok.push_back(c.account(addr(kK1Hex)).ok());
    ok.push_back(c.chain_parameters().ok());
    ok.push_back(c.broadcast(kSigned).ok());
    common::Hash32 id{};
    ok.push_back(c.transaction_info(id).ok());
    return ok;
  };
  const size_t kCalls = 5;
  for (const auto& failure : {refused(), timed_out(), status(503, ""), status(429, "")}) {
    for (size_t n = 0; n < kCalls; ++n) {
      {
        FakeTransport t(clock);
        route_all(t);
        t.fail_call(n, failure);
        TronGridClient c(t, clock, options_for({"http://a"}), seams());
        auto ok = flow(c);
        EXPECT_EQ(ok, std::vector<bool>(kCalls, true)) << "failing call " << n;
        EXPECT_EQ(t.calls.size(), kCalls + 1);
        EXPECT_EQ(t.calls[n].url, t.calls[n + 1].url) << "the retry repeats the failed call";
        EXPECT_EQ(t.calls[n].body, t.calls[n + 1].body);
        EXPECT_EQ(c.stats()[0].retries, 1u);
      }
      {
        FakeTransport t(clock);
        route_all(t);
        t.fail_call(n, failure);
        auto options = options_for({"http://a"});
        options.max_attempts = 1;
        TronGridClient c(t, clock, options, seams());
        auto ok = flow(c);
        std::vector<bool> expected(kCalls, true);
        expected[n] = false;
        EXPECT_EQ(ok, expected) << "failing call " << n;
        EXPECT_EQ(t.calls.size(), kCalls);
      }
    }
  }
}

TEST_F(ClientTest, FailTheFirstNAttemptsOfOneCall) {
  for (int n = 0; n <= 5; ++n) {
    FakeTransport t(clock);
    t.route("/wallet/getnowblock", block_json(7, kBlockId));
    for (int i = 0; i < n; ++i) t.fail_call(static_cast<size_t>(i), status(503, "busy"));
    sleeps.clear();
    auto options = options_for({"http://a"});  // 4 attempts
    options.breaker_threshold = 10;
    TronGridClient c(t, clock, options, seams());
    auto block = c.now_block();
    if (n < 4) {
      EXPECT_TRUE(block.ok()) << n;
      EXPECT_EQ(t.calls.size(), static_cast<size_t>(n + 1));
    } else {
      ASSERT_FALSE(block.ok());
      EXPECT_EQ(block.error().code, "upstream_failed");
      EXPECT_EQ(block.error().message,
                "http://a/wallet/getnowblock: HTTP 503 busy (after 4 attempts)");
      EXPECT_EQ(t.calls.size(), 4u);
    }
    EXPECT_EQ(sleeps.size(), static_cast<size_t>(std::min(n, 3))) << n;
  }
}

TEST_F(ClientTest, BackoffIsExponentialWithFullJitterWithinBounds) {
  auto run = [&](uint64_t seed) {
    FakeTransport t(clock);
    t.route("/wallet/getnowblock", [](const FakeTransport::Call&) { return refused(); });
    auto options = options_for({"http://a"});
    options.max_attempts = 9;
    options.breaker_threshold = 100;
    sleeps.clear();
    TronGridClient c(t, clock, options, seams(seed));
    EXPECT_FALSE(c.now_block().ok());
    return sleeps;
  };
  std::vector<milliseconds> first = run(1);
  ASSERT_EQ(first.size(), 8u);
  // Retry k waits uniformly in [0, min(max, base·2^(k-1))].
  const int64_t caps[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000};
  for (size_t k = 0; k < first.size(); ++k) {
    EXPECT_GE(first[k].count(), 0);
    EXPECT_LE(first[k].count(), caps[k]) << k;
  }
  EXPECT_EQ(run(1), first);  // the same seed replays the same waits
  EXPECT_NE(run(2), first);

  // Over many seeds the jitter covers its range rather than sitting at the cap.
  int64_t lowest = 1000, highest = 0;
  for (uint64_t seed = 10; seed < 60; ++seed) {
    auto waits = run(seed);
    lowest = std::min(lowest, waits[7].count());
    highest = std::max(highest, waits[7].count());
  }
  EXPECT_LT(lowest, 200);
  EXPECT_GT(highest, 800);
}

TEST_F(ClientTest, RejectedKeyFailsOverWithoutRetryingTheSameEndpoint) {
  transport.route("/wallet/getnowblock", [](const FakeTransport::Call& call) {
    if (call.url.starts_with("http://a")) return status(401, R"({"Error":"ApiKey not exists"})");
    return ok(block_json(7, kBlockId));
  });
  auto options = options_for({"http://a", "http://b"});
  options.endpoints[0].api_key = "bad-key";
  options.endpoints[1].api_key = "good-key";
  auto c = client(options);
  ASSERT_TRUE(c->now_block().ok());
  ASSERT_EQ(transport.calls.size(), 2u);
  EXPECT_EQ(transport.calls[0].headers.at("TRON-PRO-API-KEY"), "bad-key");
  EXPECT_EQ(transport.calls[1].headers.at("TRON-PRO-API-KEY"), "good-key");
  EXPECT_TRUE(sleeps.empty());  // failing over to a fresh endpoint does not wait
  EXPECT_EQ(c->stats()[0].failures_of(FailureKind::kRejected), 1u);

  // With only rejecting endpoints the call fails at once, naming the refusal.
  auto lone = client(options_for({"http://a"}));
  size_t before = transport.calls.size();
  auto block = lone->now_block();
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().code, "upstream_failed");
  EXPECT_NE(block.error().message.find("ApiKey not exists"), std::string::npos);
  EXPECT_EQ(transport.calls.size(), before + 1);
  EXPECT_TRUE(transport.calls.back().headers.empty());  // no key configured, none sent
}

TEST_F(ClientTest, ForbiddenWithoutThrottleTextIsARejectionAndWithItAThrottle) {
  EXPECT_EQ(classify_reply({403, R"({"Error":"ApiKey not exists"})"}), FailureKind::kRejected);
  EXPECT_EQ(classify_reply({403, R"({"Error":"The key exceeds the frequency limit(15), and the )"
                                 R"(query server is suspended for 30s"})"}),
            FailureKind::kThrottled);
  EXPECT_EQ(classify_reply({429, ""}), FailureKind::kThrottled);
  EXPECT_EQ(classify_reply({200, R"({"Error":"Too Many Requests"})"}), FailureKind::kThrottled);
  EXPECT_EQ(classify_reply({200, R"({"Error":"class X : account not exists"})"}), std::nullopt);
  EXPECT_EQ(classify_reply({200, "{}"}), std::nullopt);
  EXPECT_EQ(classify_reply({404, ""}), std::nullopt);
  EXPECT_EQ(classify_reply({504, ""}), FailureKind::kServerError);
}

// ---------------------------------------------------------------- breaker and failover

TEST_F(ClientTest, BreakerOpensHalfOpensAndCloses) {
  bool down = true;
  transport.route("/wallet/getnowblock", [&](const FakeTransport::Call&) {
    return down ? refused() : ok(block_json(7, kBlockId));
  });
  auto options = options_for({"http://a"});
  options.max_attempts = 1;
  auto c = client(options);
  EXPECT_TRUE(c->healthy());
  for (int i = 0; i < 3; ++i) {
    auto block = c->now_block();
    ASSERT_FALSE(block.ok());
    EXPECT_EQ(block.error().code, "upstream_failed");
    EXPECT_EQ(c->stats()[0].circuit, i < 2 ? CircuitState::kClosed : CircuitState::kOpen);
  }
  EXPECT_FALSE(c->healthy());
  EXPECT_EQ(c->stats()[0].circuit_opens, 1u);
  EXPECT_EQ(c->stats()[0].consecutive_failures, 3);

  // Open: refused without a request.
  auto blocked = c->now_block();
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, "chain_unavailable");
  EXPECT_EQ(transport.calls.size(), 3u);

  // After the cool-down one probe goes through; it fails and the circuit opens again.
  clock.advance(milliseconds(29'999));
  EXPECT_FALSE(c->healthy());
  clock.advance(milliseconds(1));
  EXPECT_TRUE(c->healthy());
  EXPECT_EQ(c->stats()[0].circuit, CircuitState::kHalfOpen);
  EXPECT_EQ(c->now_block().error().code, "upstream_failed");
  EXPECT_EQ(transport.calls.size(), 4u);
  EXPECT_EQ(c->stats()[0].circuit, CircuitState::kOpen);
  EXPECT_EQ(c->stats()[0].circuit_opens, 2u);
  EXPECT_EQ(c->now_block().error().code, "chain_unavailable");

  // The next probe succeeds: closed, counters reset.
  clock.advance(milliseconds(30'000));
  down = false;
  EXPECT_TRUE(c->now_block().ok());
  EXPECT_EQ(c->stats()[0].circuit, CircuitState::kClosed);
  EXPECT_EQ(c->stats()[0].consecutive_failures, 0);
  EXPECT_TRUE(c->healthy());
}

TEST_F(ClientTest, HalfOpenLetsOnlyOneProbeThrough) {
  auto options = options_for({"http://a"});
  options.max_attempts = 1;
  auto c = client(options);
  transport.route("/wallet/getnowblock", [](const FakeTransport::Call&) { return refused(); });
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(c->now_block().ok());
  clock.advance(milliseconds(30'000));
  transport.route("/wallet/getnowblock", block_json(7, kBlockId));
  // A second caller arrives while the probe is in flight.
  common::Result<BlockRef> concurrent = common::make_error("", "");
  transport.during_call = [&] { concurrent = c->now_block(); };
  EXPECT_TRUE(c->now_block().ok());
  ASSERT_FALSE(concurrent.ok());
  EXPECT_EQ(concurrent.error().code, "chain_unavailable");
  EXPECT_TRUE(c->now_block().ok());  // closed again: everyone through
}

TEST_F(ClientTest, FailoverFollowsTheConfiguredOrder) {
  std::set<std::string> down = {"http://a", "http://b"};
  transport.route("/wallet/getnowblock", [&](const FakeTransport::Call& call) {
    std::string base = call.url.substr(0, call.url.find("/wallet"));
    return down.count(base) ? refused() : ok(block_json(7, kBlockId));
  });
  auto options = options_for({"http://a/", "http://b", "http://c"});  // trailing '/' dropped
  auto c = client(options);
  ASSERT_TRUE(c->now_block().ok());
  ASSERT_EQ(transport.calls.size(), 3u);
  EXPECT_EQ(transport.calls[0].url, "http://a/wallet/getnowblock");
  EXPECT_EQ(transport.calls[1].url, "http://b/wallet/getnowblock");
  EXPECT_EQ(transport.calls[2].url, "http://c/wallet/getnowblock");
  EXPECT_TRUE(sleeps.empty());

  // Every call starts at the first endpoint whose circuit is closed; a and b open after three
  // failures each and are then skipped.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c->now_block().ok());
  EXPECT_EQ(transport.calls.size(), 9u);
  ASSERT_TRUE(c->now_block().ok());
  EXPECT_EQ(transport.calls.size(), 10u);
  EXPECT_EQ(transport.calls.back().url, "http://c/wallet/getnowblock");
  auto stats = c->stats();
  EXPECT_EQ(stats[0].circuit, CircuitState::kOpen);
  EXPECT_EQ(stats[1].circuit, CircuitState::kOpen);
  EXPECT_EQ(stats[2].circuit, CircuitState::kClosed);
  EXPECT_EQ(stats[2].successes, 4u);
  EXPECT_EQ(stats[0].url, "http://a");
  EXPECT_TRUE(c->healthy());

  // a recovers: after its cool-down the probe goes to it first and it is primary again.
  down.erase("http://a");
  clock.advance(milliseconds(30'000));
  ASSERT_TRUE(c->now_block().ok());
  EXPECT_EQ(transport.calls.back().url, "http://a/wallet/getnowblock");
  EXPECT_EQ(c->stats()[0].circuit, CircuitState::kClosed);
}

TEST_F(ClientTest, RetryWrapsAroundToAFailedEndpointWithBackoff) {
  transport.route("/wallet/getnowblock", [](const FakeTransport::Call&) { return status(503); });
  auto options = options_for({"http://a", "http://b"});
  options.max_attempts = 5;
  options.breaker_threshold = 10;
  auto c = client(options);
  auto block = c->now_block();
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().message, "http://a/wallet/getnowblock: HTTP 503 (after 5 attempts)");
  std::vector<std::string> order;
  for (const auto& call : transport.calls) order.push_back(call.url.substr(7, 1));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a", "b", "a"}));
  EXPECT_EQ(sleeps.size(), 3u);  // before each revisit, not before the first failover
}

TEST_F(ClientTest, EveryCircuitOpenIsChainUnavailableWithTheLastFailure) {
  transport.route("/wallet/getnowblock", [](const FakeTransport::Call&) { return refused(); });
  auto options = options_for({"http://a", "http://b"});
  options.breaker_threshold = 1;
  options.max_attempts = 5;
  auto c = client(options);
  auto block = c->now_block();
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.error().code, "chain_unavailable");
  EXPECT_EQ(block.error().message,
            "every chain endpoint's circuit is open (last failure: connection refused)");
  EXPECT_EQ(transport.calls.size(), 2u);
  EXPECT_FALSE(c->healthy());
}

// ---------------------------------------------------------------- rate limits and stats

TEST_F(ClientTest, TokenBucketPacesCallsThroughTheInjectedClock) {
  transport.route("/wallet/getnowblock", block_json(7, kBlockId));
  auto options = options_for({"http://a"});
  options.rps = 4;
  options.burst = 2;
  auto c = client(options);
  auto start = clock.now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c->now_block().ok());
  // Two from the burst, then one every 250 ms.
  ASSERT_EQ(sleeps.size(), 8u);
  for (auto s : sleeps) EXPECT_EQ(s, milliseconds(250));
  EXPECT_EQ(clock.now() - start, milliseconds(2'000));
  auto stats = c->stats()[0];
  EXPECT_EQ(stats.rate_limit_waits, 8u);
  EXPECT_EQ(stats.rate_limit_wait_sum, milliseconds(2'000));

  // Idle time refills up to the burst, not beyond.
  sleeps.clear();
  clock.advance(std::chrono::minutes(1));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->now_block().ok());
  EXPECT_EQ(sleeps, std::vector<milliseconds>{milliseconds(250)});
}

TEST_F(ClientTest, AnEmptyBucketSendsTheCallToAnotherEndpointInstead) {
  transport.route("/wallet/getnowblock", block_json(7, kBlockId));
  auto options = options_for({"http://a", "http://b"});
  options.rps = 1;
  options.burst = 1;
  auto c = client(options);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c->now_block().ok());
  EXPECT_EQ(transport.calls[0].url, "http://a/wallet/getnowblock");
  EXPECT_EQ(transport.calls[1].url, "http://b/wallet/getnowblock");
  EXPECT_TRUE(sleeps.empty());
  ASSERT_TRUE(c->now_block().ok());  // both empty: wait for the first to refill
  EXPECT_EQ(sleeps, std::vector<milliseconds>{milliseconds(1'000)});
  EXPECT_EQ(transport.calls[2].url, "http://a/wallet/getnowblock");
}

TEST_F(ClientTest, LatencyAndTimeoutReachTheStatsAndTheTransport) {
  transport.route("/wallet/getnowblock", block_json(7, kBlockId));
  transport.set_latency(milliseconds(120));
  auto options = options_for({"http://a"});
  options.timeout = milliseconds(2'500);
  auto c = client(options);
  ASSERT_TRUE(c->now_block().ok());
  transport.set_latency(milliseconds(30));
  ASSERT_TRUE(c->now_block().ok());
  auto stats = c->stats()[0];
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.last_latency, std::chrono::microseconds(30'000));
  EXPECT_EQ(stats.latency_sum, std::chrono::microseconds(150'000));
  EXPECT_EQ(transport.calls[0].timeout, milliseconds(2'500));
  EXPECT_EQ(failure_kind_name(FailureKind::kServerError), "server_error");
  EXPECT_EQ(circuit_state_name(CircuitState::kHalfOpen), "half_open");
}

// Many threads through one client: every call is answered, the counters add up, and the token
// bucket's reservations queue callers instead of letting them through together.
TEST(TronGridConcurrency, ThreadsShareBucketsBreakersAndCounters) {
  common::ManualClock clock = common::ManualClock::at_ms(0);
  struct Shared final : HttpTransport {
    std::mutex mutex;
    uint64_t calls = 0;
    common::Result<HttpReply> post_json(const std::string&, const std::string&,
                                        const std::map<std::string, std::string>&,
                                        milliseconds) override {
      std::lock_guard lock(mutex);
      // Every fifth call fails, so retries, backoff and failover run concurrently too.
      return ++calls % 5 == 0 ? status(503) : ok(block_json(7, kBlockId));
    }
  } transport;
  auto options = options_for({"http://a", "http://b"});
  options.rps = 50;
  options.burst = 5;
  options.breaker_threshold = 1'000;
  std::atomic<int64_t> slept_ms{0};
  EndpointPool::Seams seams{[&](milliseconds d) { slept_ms += d.count(); }, 3};
  TronGridClient c(transport, clock, options, seams);
  constexpr int kThreads = 4, kCalls = 100;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (!c.now_block().ok()) ++failed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  uint64_t requests = 0, successes = 0, failures = 0;
  for (const auto& s : c.stats()) {
    requests += s.requests;
    successes += s.successes;
    failures += s.failures_of(FailureKind::kServerError);
  }
  EXPECT_EQ(requests, transport.calls);
  EXPECT_EQ(successes, static_cast<uint64_t>(kThreads * kCalls));
  EXPECT_EQ(requests, successes + failures);
  // The clock never moves, so past both bursts each request waits its turn at 50 rps per
  // endpoint: the total reserved wait grows with every queued caller.
  EXPECT_GT(slept_ms.load(), 0);
}

TEST(TronGridOptions, ValidationNamesTheField) {
  auto message_of = [](std::function<void(TronGridOptions&)> edit) {
    TronGridOptions options;
    options.endpoints = {{"https://api.trongrid.io", "key"}};
    edit(options);
    auto status = validate(options);
    return status.ok() ? std::string("ok") : status.error().code + " " + status.error().message;
  };
  EXPECT_EQ(message_of([](TronGridOptions&) {}), "ok");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.endpoints.clear(); }),
            "invalid_config chain.endpoints: at least one is required");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.endpoints[0].url = "api.trongrid.io"; }),
            "invalid_config chain.endpoints[0]: \"api.trongrid.io\" must start with http:// or "
            "https://");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.endpoints[0].url = "http://"; }),
            "invalid_config chain.endpoints[0]: \"http://\" has no host");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.rps = 0; }),
            "invalid_config chain.rps: must be a positive number");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.burst = 0.5; }),
            "invalid_config chain.burst: must be at least 1");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.timeout = milliseconds(0); }),
            "invalid_config chain.timeout: must be positive");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.max_attempts = 0; }),
            "invalid_config chain.max_attempts: must be at least 1");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.backoff_max = milliseconds(1); }),
            "invalid_config chain.backoff_max: must not be less than backoff_base");
  EXPECT_EQ(message_of([](TronGridOptions& o) { o.breaker_threshold = 0; }),
            "invalid_config chain.breaker_threshold: must be at least 1");

  common::ManualClock clock = common::ManualClock::at_ms(0);
  FakeTransport transport(clock);
  auto refused_client = TronGridClient::create(transport, clock, TronGridOptions{});
  ASSERT_FALSE(refused_client.ok());
  EXPECT_EQ(refused_client.error().code, "invalid_config");
}

}  // namespace
}  // namespace relay::chain
