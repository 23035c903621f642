// ChainTxSender end to end: the PostgreSQL journal (store::PgChainTxJournal) and a tron-devnet
// process over HTTP (chain::TronGridClient), signing as the demo own pool K1. A broadcast the node
// drops is sent again and lands; a tx that can no longer land expires and a new one does; and for
// each crash point of submit() a "daemon" (this binary, run again) dies there (TRONRELAY_FAULT) and
// a restarted one recovers from the journal: every delegation ends on chain exactly once. Needs
// PostgreSQL (TRONRELAY_TEST_DATABASE_URL) and TRON_DEVNET_BINARY.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chain/builders.h"
#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/fault_point.h"
#include "energy/chain_tx_sender.h"
#include "signer/secret_key.h"
#include "store/chain_tx_journal_repository.h"
#include "store/pool_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/child_process.h"
#include "tests/support/devnet_process.h"
#include "tests/support/pg.h"

namespace relay::energy {
namespace {

using common::Address;
using std::chrono::milliseconds;
using std::chrono::seconds;

// devnet/demo-accounts.json: the own pool K1 (500,000 TRX staked for energy) and three activated
// accounts to delegate to.
const char* kPoolKey = "0000000000000000000000000000000000000000000000000000000000000001";
const char* kRelayerKey = "1234567890123456789012345678901234567890123456789012345678901234";
const Address kPool = *Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
const Address kWallet = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
const Address kRelayer = *Address::parse("TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp");
const Address kCustomer = *Address::parse("TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ");
constexpr int64_t kTrx = 1'000'000;
constexpr int kBlockMs = 100;

// What one tronrelayd process builds for sending: its own connections, HTTP client, keys.
struct Daemon {
  Daemon(const std::string& db_url, const std::string& node_url) {
    auto opened = store::Database::open(db_url, 2);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    db = std::move(*opened);
    journal = std::make_unique<store::PgChainTxJournal>(*db);
    chain::TronGridOptions options;
    options.endpoints = {{node_url, "devnet-key"}};
    options.rps = 1'000;
    options.burst = 100;
    options.timeout = milliseconds(3'000);
    options.max_attempts = 2;
    options.backoff_base = milliseconds(5);
    options.backoff_max = milliseconds(20);
    auto client = chain::TronGridClient::create(transport, clock, options);
    if (!client.ok()) throw std::runtime_error(client.error().message);
    node = std::move(*client);
    signers = std::move(*signer::PoolSigners::create(*signer::SecretKey::from_hex(kRelayerKey)));
    if (!signers->add_owner_key(*signer::SecretKey::from_hex(kPoolKey)).ok() ||
        !signers->admit_pool(kPool, 0).ok()) {
      throw std::runtime_error("cannot admit K1");
    }
    sender = std::make_unique<ChainTxSender>(
        *journal, *node, *signers, clock,
        ChainTxSenderOptions{.rebroadcast_after = milliseconds(5 * kBlockMs),
                             .poll_interval = milliseconds(kBlockMs),
                             .expiry_grace = milliseconds(3 * kBlockMs)});
  }

  // An unsigned DelegateResource of `sun` from K1 on the head's TaPoS, expiring `expires_in`
  // after the head block.
  chain::Transaction delegation(const Address& receiver, int64_t sun,
                                milliseconds expires_in = seconds(60)) {
    auto head = node->now_block();
    if (!head.ok()) throw std::runtime_error(head.error().message);
    chain::TxHeader header;
    header.tapos = *chain::tapos_of(*head);
    header.timestamp_ms = clock.now_ms();
    header.expiration_ms = head->timestamp_ms + expires_in.count();
    return *chain::build_delegate_resource(header, kPool, receiver, common::Sun(sun),
                                           protocol::ENERGY);
  }

  common::Result<SubmitResult> submit(const std::string& owner_ref, int64_t pool_id,
                                      const Address& receiver, int64_t sun,
                                      milliseconds expires_in = seconds(60)) {
    return sender->submit(chain_tx_purpose::kLeaseDelegate, owner_ref, pool_id,
                          delegation(receiver, sun, expires_in));
  }

  ChainTxRecord wait(int64_t id) {
    auto waited = sender->wait_included(id, clock.now() + seconds(20));
    EXPECT_TRUE(waited.ok()) << waited.error().message;
    return waited.ok() ? *waited : ChainTxRecord{};
  }

  // Stake K1 has delegated to `receiver`, as the node sees it.
  int64_t delegated_to(const Address& receiver) {
    auto records = node->delegated_resources(kPool, receiver);
    EXPECT_TRUE(records.ok());
    int64_t sum = 0;
    if (records.ok()) {
      for (const auto& r : *records) sum += r.energy_sun;
    }
    return sum;
  }

  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::PgChainTxJournal> journal;
  chain::CurlTransport transport;
  common::SystemClock clock;
  std::unique_ptr<chain::TronGridClient> node;
  std::unique_ptr<signer::PoolSigners> signers;
  std::unique_ptr<ChainTxSender> sender;
};

class ChainTxSenderDevnetPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    // A database of its own: the pool row for K1 is unique among live pools.
    db_url_ = fresh_migrated_database_url();
    ASSERT_FALSE(db_url_.empty());
    devnet_ = std::make_unique<testing::DevnetProcess>(testing::DevnetOptions{
        .binary = TRON_DEVNET_BINARY,
        .genesis = std::string(PROJECT_SOURCE_DIR) + "/devnet/demo-genesis.json",
        .block_interval_ms = kBlockMs,
        .solidity_depth = 2});
    auto db = store::Database::open(db_url_, 1);
    ASSERT_TRUE(db.ok());
    store::PgTenantRepository tenants(**db);
    store::PgPoolRepository pools(**db);
    auto tenant = tenants.create("operator");
    ASSERT_TRUE(tenant.ok());
    auto pool = pools.create({.tenant_id = tenant->id,
                              .address = kPool,
                              .kind = PoolKind::kOwn,
                              .name = "K1",
                              .status = PoolStatus::kActive,
                              .permission_id = 0,
                              .min_reserve_sun = 0,
                              .max_delegate_sun = std::nullopt,
                              .low_energy_alert = std::nullopt});
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    pool_id_ = pool->id;
  }

  // Runs ChainTxSenderDevnetPgChild.DISABLED_SubmitOnce in a new process with `env` added to
  // this one's environment; returns its wait status.
  static int run_child(const std::vector<std::pair<std::string, std::string>>& env) {
    return relay::testing::run_disabled_test_in_child(
        "ChainTxSenderDevnetPgChild.DISABLED_SubmitOnce", env);
  }

  std::unique_ptr<Daemon> start_daemon() {
    return std::make_unique<Daemon>(db_url_, devnet_->url());
  }

  std::string db_url_;
  std::unique_ptr<testing::DevnetProcess> devnet_;
  int64_t pool_id_ = 0;
};

TEST_F(ChainTxSenderDevnetPgTest, DroppedBroadcastIsSentAgainAndLandsOnce) {
  auto daemon = start_daemon();
  devnet_->faults(R"({"drop_broadcast_rate":1,"endpoints":["/wallet/broadcasthex"]})");
  auto sent = daemon->submit("lease:1", pool_id_, kWallet, 100 * kTrx);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_FALSE(sent->pending);  // the node said SUCCESS, and lost it
  EXPECT_EQ(sent->record.state, ChainTxState::kBroadcast);
  devnet_->mine(3);
  auto still = daemon->sender->resolve(sent->record, daemon->clock.now());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state, ChainTxState::kBroadcast);  // in no block, not expired

  devnet_->faults(R"({"drop_broadcast_rate":0})");
  const ChainTxRecord done = daemon->wait(sent->record.id);
  EXPECT_EQ(done.state, ChainTxState::kIncluded);
  EXPECT_GE(done.broadcast_attempts, 2);
  ASSERT_TRUE(done.inclusion);
  EXPECT_GT(done.inclusion->block_number, 0);
  EXPECT_EQ(daemon->delegated_to(kWallet), 100 * kTrx);
}

TEST_F(ChainTxSenderDevnetPgTest, ExpiredTxIsSettledAndANewOneLands) {
  auto daemon = start_daemon();
  devnet_->faults(R"({"drop_broadcast_rate":1,"endpoints":["/wallet/broadcasthex"]})");
  auto lost = daemon->submit("lease:2", pool_id_, kWallet, 50 * kTrx, milliseconds(1'500));
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  const ChainTxRecord expired = daemon->wait(lost->record.id);
  EXPECT_EQ(expired.state, ChainTxState::kExpired);

  // The owner flow decides: here, a new tx for the same delegation.
  devnet_->faults(R"({"drop_broadcast_rate":0})");
  auto again = daemon->submit("lease:2", pool_id_, kWallet, 50 * kTrx);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(daemon->wait(again->record.id).state, ChainTxState::kIncluded);
  EXPECT_EQ(daemon->delegated_to(kWallet), 50 * kTrx);
  auto txs = daemon->journal->list_by_owner("lease:2");
  ASSERT_TRUE(txs.ok());
  ASSERT_EQ(txs->size(), 2u);
  EXPECT_EQ((*txs)[0].state, ChainTxState::kExpired);
  EXPECT_EQ((*txs)[1].state, ChainTxState::kIncluded);
}

// The crash test of issue #6 for the sending step: a daemon killed at each point of submit(), then
// a restarted one that runs the recovery pass and the owner flow's rule (no tx → build one;
// expired → build another), ends with the delegation on chain exactly once.
TEST_F(ChainTxSenderDevnetPgTest, KilledAtEachCrashPointTheRestartedDaemonDelegatesOnce) {
  struct Case {
    const char* point;
    Address receiver;
  };
  for (const Case& c : {Case{"after_sign", kWallet}, Case{"after_write_ahead", kRelayer},
                        Case{"after_broadcast", kCustomer}}) {
    SCOPED_TRACE(c.point);
    const std::string owner = std::string("lease:") + c.point;
    const int64_t sun = 20 * kTrx;

    // The "daemon" is this binary again, exec'd so that it starts from nothing like a restarted
    // tronrelayd: it reads TRONRELAY_FAULT afresh and shares only the database and the devnet.
    const int status = run_child({{common::kFaultEnv, c.point},
                                  {"RELAY_CHILD_DB_URL", db_url_},
                                  {"RELAY_CHILD_NODE_URL", devnet_->url()},
                                  {"RELAY_CHILD_OWNER", owner},
                                  {"RELAY_CHILD_POOL_ID", std::to_string(pool_id_)},
                                  {"RELAY_CHILD_RECEIVER", c.receiver.to_base58()},
                                  {"RELAY_CHILD_SUN", std::to_string(sun)}});
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), common::kFaultExitCode) << "the daemon did not die there";

    auto daemon = start_daemon();  // the restart
    auto journaled = daemon->journal->list_by_owner(owner);
    ASSERT_TRUE(journaled.ok());
    for (const auto& tx : *journaled) {  // written ahead, and nothing after
      EXPECT_EQ(tx.state, ChainTxState::kSigned);
      EXPECT_EQ(tx.broadcast_attempts, 0);
    }
    auto recovered = daemon->sender->resolve_unresolved(100);
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
    EXPECT_EQ(recovered->errors, 0);

    auto txs = daemon->journal->list_by_owner(owner);
    ASSERT_TRUE(txs.ok());
    if (std::string(c.point) == "after_sign") {
      EXPECT_TRUE(txs->empty());  // signed in memory only: nothing can be on chain
    } else {
      ASSERT_EQ(txs->size(), 1u);  // the write-ahead survived
    }
    std::optional<ChainTxRecord> last = txs->empty() ? std::nullopt : std::optional(txs->back());
    if (last && !is_settled(last->state)) last = daemon->wait(last->id);
    if (!last || last->state == ChainTxState::kExpired) {
      auto sent = daemon->submit(owner, pool_id_, c.receiver, sun);
      ASSERT_TRUE(sent.ok()) << sent.error().message;
      last = daemon->wait(sent->record.id);
    }
    EXPECT_EQ(last->state, ChainTxState::kIncluded);
    devnet_->mine(2);
    EXPECT_EQ(daemon->delegated_to(c.receiver), sun);
  }
}

// Not a test of its own: the daemon that KilledAtEachCrashPoint… runs in a child process and that
// dies inside submit(). Its orders come in the environment; without them it does nothing.
TEST(ChainTxSenderDevnetPgChild, DISABLED_SubmitOnce) {
  const char* db_url = std::getenv("RELAY_CHILD_DB_URL");
  if (db_url == nullptr) GTEST_SKIP() << "run by KilledAtEachCrashPoint… only";
  try {
    Daemon doomed(db_url, std::getenv("RELAY_CHILD_NODE_URL"));
    auto sent = doomed.submit(std::getenv("RELAY_CHILD_OWNER"),
                              std::stoll(std::getenv("RELAY_CHILD_POOL_ID")),
                              *Address::parse(std::getenv("RELAY_CHILD_RECEIVER")),
                              std::stoll(std::getenv("RELAY_CHILD_SUN")));
    ::_exit(sent.ok() ? 0 : 1);  // not killed: the fault point was not reached
  } catch (...) {
    ::_exit(2);
  }
}

}  // namespace
}  // namespace relay::energy
