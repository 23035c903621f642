// TronGridClient over real HTTP (CurlTransport) against a tron-devnet process: reads, a signed
// DelegateResource broadcast and confirmed, 30 % injected 429/503/403 answers ridden out by
// retries, a broadcast whose answer was lost re-sent as a duplicate, and a stopped node that fails
// fast and opens the breaker, then closes it when the node is back. Needs the tron-devnet binary
// (TRON_DEVNET_BINARY) and the demo genesis; each test starts its own devnet on 127.0.0.1.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include "chain/builders.h"
#include "chain/trongrid_client.h"
#include "common/json.h"
#include "signer/secret_key.h"
#include "signer/signer.h"
#include "tests/support/devnet_process.h"

extern char** environ;

namespace relay::chain {
namespace {

using common::Address;
using std::chrono::milliseconds;

const char* kK1Key = "0000000000000000000000000000000000000000000000000000000000000001";
const char* kK1 = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC";  // 500,000 TRX staked for energy
const char* kK2 = "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp";
const char* kK3 = "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1";  // holds USDT
const char* kUsdt = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
constexpr int64_t kSunPerTrx = 1'000'000;

Address addr(const char* text) { return *Address::parse(text); }

// One tron-devnet child on devnet/demo-genesis.json, blocks on demand; `port` 0 lets the devnet
// choose, a fixed one restarts "the same node".
class Devnet : public relay::testing::DevnetProcess {
 public:
  explicit Devnet(uint16_t port = 0)
      : DevnetProcess({.binary = TRON_DEVNET_BINARY,
                       .genesis = std::string(PROJECT_SOURCE_DIR) + "/devnet/demo-genesis.json",
                       .block_interval_ms = 0,
                       .solidity_depth = 2,
                       .port = port}) {}
};

TronGridOptions options_for(const std::string& url) {
  TronGridOptions options;
  options.endpoints = {{url, "devnet-key"}};
  options.rps = 1'000;
  options.burst = 100;
  options.timeout = milliseconds(3'000);
  options.max_attempts = 4;
  options.backoff_base = milliseconds(5);
  options.backoff_max = milliseconds(50);
  options.breaker_threshold = 3;
  options.breaker_cooldown = milliseconds(300);
  return options;
}

// DelegateResource from K1 to `receiver`, built on the head's TaPoS and signed with K1's key
// (tests may sign; only signer/ ever does in the product).
common::Bytes signed_delegation(TronGridClient& client, const Address& receiver, int64_t sun) {
  auto head = client.now_block();
  EXPECT_TRUE(head.ok());
  if (!head.ok()) return {};
  TxHeader header;
  header.tapos = *tapos_of(*head);
  header.timestamp_ms = head->timestamp_ms;
  header.expiration_ms = head->timestamp_ms + 60'000;
  auto tx =
      build_delegate_resource(header, addr(kK1), receiver, common::Sun(sun), protocol::ENERGY);
  EXPECT_TRUE(tx.ok()) << tx.error().message;
  signer::SigningPolicy policy;
  policy.allowed_contract_types = {57};
  policy.allowed_owners = {addr(kK1)};
  auto signer = signer::LocalSigner::create(*signer::SecretKey::from_hex(kK1Key), policy);
  EXPECT_TRUE(signer.ok());
  auto signature = (*signer)->sign_transaction(tx->raw_bytes());
  EXPECT_TRUE(signature.ok()) << signature.error().message;
  tx->add_signature(*signature);
  return tx->encode_signed();
}

TEST(TronGridDevnet, ReadsBroadcastsAndConfirmsADelegation) {
  Devnet devnet;
  common::SystemClock clock;
  CurlTransport transport;
  auto client = TronGridClient::create(transport, clock, options_for(devnet.url()));
  ASSERT_TRUE(client.ok()) << client.error().message;
  TronGridClient& c = **client;

  auto head = c.now_block();
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_GE(head->number, 0);
  EXPECT_GT(head->timestamp_ms, 0);
  devnet.mine(3);
  auto later = c.now_block();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->number, head->number + 3);
  auto solid = c.now_block(ReadFrom::kSolidity);
  ASSERT_TRUE(solid.ok());
  EXPECT_EQ(solid->number, later->number - 2);

  auto params = c.chain_parameters();
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_TRUE(params->values.contains("getEnergyFee"));
  EXPECT_GT(params->energy_fee(), 0);
  EXPECT_GT(params->max_delegate_lock_period(), 0);
  auto cached = c.cached_chain_parameters();
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->values, params->values);

  auto k1 = c.account(addr(kK1));
  ASSERT_TRUE(k1.ok()) << k1.error().message;
  ASSERT_TRUE(k1->has_value());
  EXPECT_EQ((*k1)->address, addr(kK1));
  EXPECT_EQ((*k1)->balance_sun, 1'000'000 * kSunPerTrx);
  EXPECT_EQ((*k1)->frozen_energy_sun, 500'000 * kSunPerTrx);
  EXPECT_EQ((*k1)->frozen_bandwidth_sun, 10'000 * kSunPerTrx);
  EXPECT_EQ((*k1)->permissions.owner.keys(0).address(), addr(kK1).proto_bytes());
  ASSERT_NE((*k1)->permissions.find(2), nullptr);
  EXPECT_TRUE(operations_allow(common::as_bytes((*k1)->permissions.find(2)->operations()), 57));
  auto stranger = c.account(*Address::from_hex("41" + std::string(40, '5')));
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->has_value());

  auto resources = c.account_resources(addr(kK1));
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  EXPECT_GT(resources->energy_limit, 0);
  EXPECT_GT(resources->total_energy_weight, 0);
  auto max = c.can_delegate_max_sun(addr(kK1), protocol::ENERGY);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 500'000 * kSunPerTrx);

  auto data = encode_trc20_transfer(addr(kK2), Uint256::from_u64(1'000'000));
  auto estimate = c.estimate_energy(addr(kK3), addr(kUsdt), data);
  ASSERT_TRUE(estimate.ok()) << estimate.error().message;
  EXPECT_TRUE(estimate->success);
  EXPECT_GT(estimate->energy_used, 0);
  auto too_much = encode_trc20_transfer(addr(kK2), Uint256::from_u64(1'000'000'000'000));
  auto revert = c.estimate_energy(addr(kK3), addr(kUsdt), too_much);
  ASSERT_TRUE(revert.ok()) << revert.error().message;
  EXPECT_FALSE(revert->success);

  // Delegate 1,000 TRX of energy to K2.
  const int64_t amount = 1'000 * kSunPerTrx;
  common::Bytes signed_tx = signed_delegation(c, addr(kK2), amount);
  auto txid = Transaction::decode_signed(signed_tx)->txid();
  auto sent = c.broadcast(signed_tx);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_TRUE(sent->accepted) << sent->code << " " << sent->message;
  EXPECT_FALSE(sent->duplicate);
  EXPECT_EQ(sent->txid, txid);
  auto again = c.broadcast(signed_tx);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->accepted);
  EXPECT_TRUE(again->duplicate) << again->code;

  auto pending = c.transaction_info(txid);
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  devnet.mine();
  auto in_block = c.transaction_info(txid);
  ASSERT_TRUE(in_block.ok()) << in_block.error().message;
  ASSERT_TRUE(in_block->has_value());
  EXPECT_EQ((*in_block)->block_number, later->number + 1);
  EXPECT_FALSE((*in_block)->failed);
  auto unconfirmed = c.transaction_info(txid, ReadFrom::kSolidity);
  ASSERT_TRUE(unconfirmed.ok());
  EXPECT_FALSE(unconfirmed->has_value());
  devnet.mine(2);
  auto confirmed = c.transaction_info(txid, ReadFrom::kSolidity);
  ASSERT_TRUE(confirmed.ok());
  EXPECT_TRUE(confirmed->has_value());

  auto delegations = c.delegated_resources(addr(kK1), addr(kK2));
  ASSERT_TRUE(delegations.ok()) << delegations.error().message;
  ASSERT_EQ(delegations->size(), 1u);
  EXPECT_EQ((*delegations)[0].from, addr(kK1));
  EXPECT_EQ((*delegations)[0].to, addr(kK2));
  EXPECT_EQ((*delegations)[0].energy_sun, amount);
  EXPECT_EQ((*delegations)[0].energy_expire_ms, 0);
  auto index = c.delegation_index(addr(kK1));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->to_accounts, std::vector<Address>{addr(kK2)});
  auto k2_index = c.delegation_index(addr(kK2), ReadFrom::kSolidity);
  ASSERT_TRUE(k2_index.ok());
  EXPECT_EQ(k2_index->from_accounts, std::vector<Address>{addr(kK1)});
  auto k1_after = c.account(addr(kK1));
  ASSERT_TRUE(k1_after.ok());
  EXPECT_EQ((*k1_after)->delegated_energy_sun, amount);
  EXPECT_EQ((*k1_after)->frozen_energy_sun, 500'000 * kSunPerTrx - amount);
  auto k2 = c.account(addr(kK2));
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ((*k2)->acquired_energy_sun, amount);

  // Keep-alive: one connection carried every call.
  EXPECT_EQ(transport.connections_opened(), 1u);
  auto stats = c.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_GT(stats[0].requests, 20u);
  EXPECT_EQ(stats[0].requests, stats[0].successes);
  EXPECT_GT(stats[0].latency_sum.count(), 0);
  EXPECT_TRUE(c.healthy());
}

TEST(TronGridDevnet, ConcurrentCallersReuseKeptAliveConnections) {
  Devnet devnet;
  common::SystemClock clock;
  CurlTransport transport;
  TronGridClient c(transport, clock, options_for(devnet.url()));
  constexpr int kThreads = 4, kCalls = 50;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (!c.account(addr(kK1)).ok() || !c.now_block().ok()) ++failed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  // At most one connection per concurrent caller, however many calls.
  EXPECT_LE(transport.connections_opened(), static_cast<uint64_t>(kThreads));
  EXPECT_EQ(c.stats()[0].successes, static_cast<uint64_t>(2 * kThreads * kCalls));
}

TEST(TronGridDevnet, InjectedThrottlingAndServerErrorsAreRiddenOut) {
  Devnet devnet;
  common::SystemClock clock;
  CurlTransport transport;
  auto options = options_for(devnet.url());
  // At 30 % failures, ten attempts leave about 6e-6 per call; the breaker must not trip on a run.
  options.max_attempts = 10;
  options.breaker_threshold = 12;
  TronGridClient c(transport, clock, options);

  for (int status : {503, 429, 403}) {
    devnet.faults(R"({"error_rate":0.3,"status":)" + std::to_string(status) + "}");
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(c.now_block().ok()) << status;
      auto account = c.account(addr(kK1));
      ASSERT_TRUE(account.ok()) << status << ": " << account.error().message;
      ASSERT_TRUE(account->has_value());
      ASSERT_TRUE(c.chain_parameters().ok()) << status;
      ASSERT_TRUE(c.delegation_index(addr(kK1)).ok()) << status;
    }
    // A broadcast too, through the same faults.
    common::Bytes signed_tx = signed_delegation(c, addr(kK2), (10 + status) * kSunPerTrx);
    auto sent = c.broadcast(signed_tx);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    EXPECT_TRUE(sent->accepted) << sent->code << " " << sent->message;
    devnet.faults(R"({"error_rate":0})");
    devnet.mine();
    auto info = c.transaction_info(Transaction::decode_signed(signed_tx)->txid());
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->has_value()) << status;
  }
  auto stats = c.stats()[0];
  EXPECT_GT(stats.failures_of(FailureKind::kServerError), 0u);
  EXPECT_GT(stats.failures_of(FailureKind::kThrottled), 0u);  // 429 and the 403 suspension text
  EXPECT_EQ(stats.failures_of(FailureKind::kRejected), 0u);
  EXPECT_GT(stats.retries, 0u);
  EXPECT_EQ(stats.circuit, CircuitState::kClosed);
  EXPECT_TRUE(c.healthy());
}

TEST(TronGridDevnet, ABroadcastWhoseAnswerWasLostIsResentAsADuplicate) {
  Devnet devnet;
  common::SystemClock clock;
  CurlTransport transport;
  auto options = options_for(devnet.url());
  TronGridClient c(transport, clock, options);
  common::Bytes signed_tx = signed_delegation(c, addr(kK2), 7 * kSunPerTrx);

  // The node takes the transaction but answers after the client gave up.
  devnet.faults(R"({"latency_ms":600,"endpoints":["/wallet/broadcasthex"]})");
  options.timeout = milliseconds(200);
  options.max_attempts = 1;
  TronGridClient impatient(transport, clock, options);
  auto lost = impatient.broadcast(signed_tx);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, "upstream_failed");
  EXPECT_EQ(impatient.stats()[0].failures_of(FailureKind::kTimeout), 1u);

  // Sending the same bytes again is safe: the node already has them.
  devnet.faults(R"({"error_rate":0})");
  std::this_thread::sleep_for(milliseconds(600));
  auto again = c.broadcast(signed_tx);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->accepted);
  EXPECT_TRUE(again->duplicate) << again->code;
  devnet.mine();
  auto info = c.transaction_info(Transaction::decode_signed(signed_tx)->txid());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->has_value());
}

TEST(TronGridDevnet, AStoppedNodeFailsFastOpensTheBreakerAndRecovers) {
  auto devnet = std::make_unique<Devnet>();
  uint16_t port = devnet->port();
  common::SystemClock clock;
  CurlTransport transport;
  TronGridClient c(transport, clock, options_for(devnet->url()));
  ASSERT_TRUE(c.now_block().ok());
  devnet->stop();

  auto started = std::chrono::steady_clock::now();
  auto first = c.now_block();
  ASSERT_FALSE(first.ok());
  // Three refused connections open the circuit within the call's four attempts.
  EXPECT_EQ(first.error().code, "chain_unavailable") << first.error().message;
  EXPECT_NE(first.error().message.find("127.0.0.1"), std::string::npos);
  auto second = c.account(addr(kK1));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "chain_unavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_FALSE(c.healthy());
  auto stats = c.stats()[0];
  EXPECT_EQ(stats.circuit, CircuitState::kOpen);
  EXPECT_EQ(stats.circuit_opens, 1u);
  EXPECT_EQ(stats.failures_of(FailureKind::kTransport), 3u);

  // Back on the same port: after the cool-down the probe closes the circuit.
  devnet = std::make_unique<Devnet>(port);
  std::this_thread::sleep_for(milliseconds(350));
  EXPECT_TRUE(c.healthy());
  auto back = c.now_block();
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(c.stats()[0].circuit, CircuitState::kClosed);
}

}  // namespace
}  // namespace relay::chain
