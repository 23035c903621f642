// Leases end to end against PostgreSQL and a tron-devnet process, shared by the lease integration
// tests (lease_devnet_pg_test, lease_chaos_devnet_pg_test): the demo accounts they lease with, a
// Daemon (what one tronrelayd builds for leasing: its own connections, chain client, keys and
// services), the OffsetClock that moves its time, and LeaseDevnetTest, the fixture that gives each
// test a migrated database and a devnet of its own with the own pool K1 registered and a credited
// tenant. The including test defines TRON_DEVNET_BINARY and PROJECT_SOURCE_DIR (tests/CMakeLists).
//
// Time: the daemon's clock is the system clock plus an offset the test moves, and the devnet's
// time is moved by the same amount (/admin/time/advance), so "past the expiry" needs no sleep.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/log.h"
#include "energy/chain_tx_sender.h"
#include "energy/lease_service.h"
#include "energy/pool_service.h"
#include "energy/quote_service.h"
#include "migrations/migrator.h"
#include "scheduler/job_runner.h"
#include "signer/pool_signers.h"
#include "signer/secret_key.h"
#include "store/audit_log.h"
#include "store/chain_tx_journal_repository.h"
#include "store/job_queue_repository.h"
#include "store/lease_repository.h"
#include "store/ledger_repository.h"
#include "store/pool_repository.h"
#include "store/quote_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/devnet_process.h"
#include "tests/support/pg.h"

namespace relay::testing {

// devnet/demo-accounts.json: the own pool K1 (500,000 TRX staked for energy) and the wallet
// account, the receiver; the relayer key K2.
inline constexpr const char* kPoolKey =
    "0000000000000000000000000000000000000000000000000000000000000001";
inline constexpr const char* kRelayerKey =
    "1234567890123456789012345678901234567890123456789012345678901234";
inline const common::Address kPool = *common::Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
inline const common::Address kReceiver =
    *common::Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
inline constexpr int64_t kTrx = common::kSunPerTrx;
inline constexpr int64_t kCredit = 1'000 * kTrx;
inline constexpr int64_t kEnergy = 65'000;
inline constexpr int64_t kDurationS = 60;
inline constexpr int kBlockMs = 100;

// The system clock moved forward by what the test says: the daemon's "now" after time passed.
class OffsetClock final : public common::Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  common::TimePoint now() const override {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  void advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }
  int64_t offset_ms() const { return offset_ms_.load(); }

 private:
  std::atomic<int64_t> offset_ms_;
};

// How a test's Daemon differs from the usual one.
struct DaemonOptions {
  int db_connections = 4;  // parallel requests share them: enough that none time out
  // The reclaim JobRunner's worker threads and jobs claimed per pass.
  int runner_threads = 1;
  int runner_batch_size = 10;
  // The chain client's circuit breaker opens after this many failed attempts in a row, for this
  // long (the daemon's clock).
  int breaker_threshold = 5;
  std::chrono::milliseconds breaker_cooldown{30'000};
  // LeaseServiceOptions: how long create() waits for the delegation's block (then it answers
  // delegating and recover() finishes it), and a reclaim job for its undelegation's.
  std::chrono::milliseconds confirm_timeout{20'000};
  std::chrono::milliseconds reclaim_confirm_timeout{20'000};
  // LeaseServiceOptions::split_across_pools.
  bool split_across_pools = false;
  // Owner keys of more own pools, beside K1's (hex).
  std::vector<std::string> extra_owner_keys;
};

// What one tronrelayd process builds for leasing: its own connections, client, keys and services.
struct Daemon {
  Daemon(const std::string& db_url, const std::string& node_url, int64_t offset_ms,
         DaemonOptions daemon_options = {})
      : clock(offset_ms), log(log_out, common::LogLevel::kDebug) {
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    auto opened = store::Database::open(db_url, daemon_options.db_connections);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    db = std::move(*opened);
    tenants = std::make_unique<store::PgTenantRepository>(*db);
    ledger = std::make_unique<store::PgLedgerRepository>(*db);
    pools = std::make_unique<store::PgPoolRepository>(*db);
    capacity = std::make_unique<store::PgPoolCapacityRepository>(*db);
    quote_store = std::make_unique<store::PgQuoteRepository>(*db);
    lease_store = std::make_unique<store::PgLeaseRepository>(*db);
    journal = std::make_unique<store::PgChainTxJournal>(*db);
    jobs = std::make_unique<store::PgJobQueue>(*db);
    audit = std::make_unique<store::PgAuditLog>(*db);
    chain::TronGridOptions options;
    options.endpoints = {{node_url, "devnet-key"}};
    options.rps = 1'000;
    options.burst = 100;
    options.timeout = milliseconds(3'000);
    options.max_attempts = 2;
    options.backoff_base = milliseconds(5);
    options.backoff_max = milliseconds(20);
    options.breaker_threshold = daemon_options.breaker_threshold;
    options.breaker_cooldown = daemon_options.breaker_cooldown;
    auto client = chain::TronGridClient::create(transport, clock, options);
    if (!client.ok()) throw std::runtime_error(client.error().message);
    node = std::move(*client);
    signers = std::move(*signer::PoolSigners::create(*signer::SecretKey::from_hex(kRelayerKey)));
    if (!signers->add_owner_key(*signer::SecretKey::from_hex(kPoolKey)).ok()) {
      throw std::runtime_error("cannot add K1's key");
    }
    for (const std::string& key : daemon_options.extra_owner_keys) {
      if (!signers->add_owner_key(*signer::SecretKey::from_hex(key)).ok()) {
        throw std::runtime_error("cannot add an owner key");
      }
    }
    pool_service =
        std::make_unique<energy::PoolService>(*pools, *capacity, *node, *signers, *audit, clock);
    energy::PricingConfig pricing;
    pricing.min_duration_s = 30;  // the demo's short leases
    quotes = std::make_unique<energy::QuoteService>(*quote_store, *capacity, *node, clock, pricing);
    sender = std::make_unique<energy::ChainTxSender>(
        *journal, *node, *signers, clock,
        energy::ChainTxSenderOptions{.rebroadcast_after = milliseconds(5 * kBlockMs),
                                     .poll_interval = milliseconds(kBlockMs),
                                     .expiry_grace = milliseconds(3 * kBlockMs)});
    energy::LeaseServiceOptions lease_options;
    lease_options.confirm_timeout = daemon_options.confirm_timeout;
    lease_options.reclaim_confirm_timeout = daemon_options.reclaim_confirm_timeout;
    lease_options.interrupted_after = seconds(20);
    lease_options.split_across_pools = daemon_options.split_across_pools;
    leases = std::make_unique<energy::LeaseService>(
        energy::LeaseDependencies{.leases = *lease_store,
                                  .quotes = *quotes,
                                  .ledger = *ledger,
                                  .pools = *pools,
                                  .capacity = *capacity,
                                  .sender = *sender,
                                  .journal = *journal,
                                  .jobs = *jobs,
                                  .node = *node,
                                  .signers = *signers,
                                  .clock = clock,
                                  .pool_service = pool_service.get(),
                                  .reclaim_scheduled = {}},
        lease_options);
    runner = std::make_unique<scheduler::JobRunner>(
        *jobs, clock, log,
        scheduler::JobRunnerOptions{.worker_id = "lease-devnet-test@" + std::to_string(::getpid()),
                                    .batch_size = daemon_options.runner_batch_size,
                                    .threads = daemon_options.runner_threads,
                                    .retry_base = milliseconds(10),
                                    .retry_max = milliseconds(100),
                                    .jitter_seed = 1});
    runner->handle(std::string(energy::kReclaimLeaseJob),
                   [this](const energy::Job& job) { return leases->handle_reclaim_job(job); });
  }

  // Stake K1 has delegated to `receiver`, as the node sees it.
  int64_t delegated_to(const common::Address& receiver) {
    auto records = node->delegated_resources(kPool, receiver);
    EXPECT_TRUE(records.ok());
    int64_t sum = 0;
    if (records.ok()) {
      for (const auto& r : *records) sum += r.energy_sun;
    }
    return sum;
  }

  int64_t energy_limit(const common::Address& account) {
    auto resources = node->account_resources(account);
    EXPECT_TRUE(resources.ok());
    return resources.ok() ? resources->energy_limit : -1;
  }

  energy::Lease lease(int64_t id) {
    auto found = lease_store->find(id, std::nullopt);
    EXPECT_TRUE(found.ok() && found->has_value());
    return found.ok() && found->has_value() ? **found : energy::Lease{};
  }

  std::ostringstream log_out;
  OffsetClock clock;
  common::Logger log;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::PgTenantRepository> tenants;
  std::unique_ptr<store::PgLedgerRepository> ledger;
  std::unique_ptr<store::PgPoolRepository> pools;
  std::unique_ptr<store::PgPoolCapacityRepository> capacity;
  std::unique_ptr<store::PgQuoteRepository> quote_store;
  std::unique_ptr<store::PgLeaseRepository> lease_store;
  std::unique_ptr<store::PgChainTxJournal> journal;
  std::unique_ptr<store::PgJobQueue> jobs;
  std::unique_ptr<store::PgAuditLog> audit;
  chain::CurlTransport transport;
  std::unique_ptr<chain::TronGridClient> node;
  std::unique_ptr<signer::PoolSigners> signers;
  std::unique_ptr<energy::PoolService> pool_service;
  std::unique_ptr<energy::QuoteService> quotes;
  std::unique_ptr<energy::ChainTxSender> sender;
  std::unique_ptr<energy::LeaseService> leases;
  std::unique_ptr<scheduler::JobRunner> runner;
};

// Quote and lease as the API would, for `tenant_id`: the lease or the error.
inline common::Result<energy::Lease> quote_and_lease(Daemon& daemon, int64_t tenant_id) {
  energy::QuoteRequest request{.receiver = kReceiver,
                               .energy = common::Energy(kEnergy),
                               .usdt_transfer = std::nullopt,
                               .duration_s = kDurationS};
  RELAY_ASSIGN_OR_RETURN(energy::Quote quote, daemon.quotes->create(tenant_id, request));
  return daemon.leases->create(tenant_id, energy::LeaseRequest{.quote_id = quote.id});
}

// A database and a devnet of the test's own, a Daemon on them, K1 registered as an active own
// pool, an operator tenant and a customer tenant credited kCredit.
class LeaseDevnetTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    // A database of its own: K1 is unique among live pools.
    db_url_ = fresh_migrated_database_url();
    ASSERT_FALSE(db_url_.empty());
    devnet_ = std::make_unique<DevnetProcess>(DevnetOptions{.binary = TRON_DEVNET_BINARY,
                                                            .genesis = genesis_path(),
                                                            .block_interval_ms = kBlockMs,
                                                            .solidity_depth = 2});
    daemon_ = start_daemon();
    auto operator_tenant = daemon_->tenants->create("operator");
    ASSERT_TRUE(operator_tenant.ok());
    operator_id_ = operator_tenant->id;
    auto pool = daemon_->pool_service->create(
        operator_id_,
        energy::NewPoolRequest{.address = kPool, .kind = energy::PoolKind::kOwn, .name = "K1"},
        "test");
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    ASSERT_EQ(pool->status, energy::PoolStatus::kActive);
    pool_id_ = pool->id;
    auto tenant = daemon_->tenants->create("customer");
    ASSERT_TRUE(tenant.ok());
    tenant_id_ = tenant->id;
    ASSERT_TRUE(daemon_->ledger->credit(tenant_id_, common::Sun(kCredit), "admin:credit").ok());
  }

  void TearDown() override {
    daemon_.reset();
    devnet_.reset();
  }

  // The devnet's genesis; a test may seed another chain.
  virtual std::string genesis_path() const {
    return std::string(PROJECT_SOURCE_DIR) + "/devnet/demo-genesis.json";
  }

  std::unique_ptr<Daemon> start_daemon(DaemonOptions options = {}) {
    return std::make_unique<Daemon>(db_url_, devnet_->url(), offset_ms_, options);
  }

  // Time passes for the daemon and the chain alike.
  void advance(std::chrono::seconds by) {
    offset_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(by).count();
    if (daemon_) daemon_->clock.advance(by);
    devnet_->admin("time/advance", R"({"seconds":)" + std::to_string(by.count()) + "}");
  }

  std::string scalar(const std::string& sql) {
    pqxx::connection conn(db_url_);
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }
  int64_t count(const std::string& sql) { return std::stoll(scalar(sql)); }

  // Moves past the lease's expiry and runs the reclaim job until the lease is final.
  void run_reclaims_past(const energy::Lease& lease) {
    using std::chrono::seconds;
    ASSERT_TRUE(lease.expires_at.has_value());
    const auto late = *lease.expires_at + seconds(2) - daemon_->clock.now();
    if (late.count() > 0) advance(std::chrono::ceil<seconds>(late));
    for (int pass = 0; pass < 20 && !energy::is_final(daemon_->lease(lease.id).state); ++pass) {
      // Retried jobs are due a little later: the pass looks that far ahead.
      daemon_->runner->run_due(daemon_->clock.now() + seconds(pass));
      if (!energy::is_final(daemon_->lease(lease.id).state)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3 * kBlockMs));
      }
    }
  }

  // The invariants of issue #6 for the one lease of the tenant, final: delegated at most once,
  // nothing left delegated to kReceiver, the ledger equal to its entries with nothing held, no
  // open reservation, no job left.
  void expect_settled(const energy::Lease& lease) {
    SCOPED_TRACE("lease " + std::to_string(lease.id));
    const std::string ref = "'lease:" + std::to_string(lease.id) + "'";
    EXPECT_TRUE(energy::is_final(lease.state)) << energy::lease_state_name(lease.state);
    EXPECT_LE(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate' AND "
                    "owner_ref = " +
                    ref),
              1);
    EXPECT_LE(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate' AND state = "
                    "'included' AND owner_ref = " +
                    ref),
              1);
    EXPECT_EQ(daemon_->delegated_to(kReceiver), 0) << "an orphan delegation is left on chain";
    // The stored balance is what the entries add up to, and nothing is reserved.
    const std::string tenant = std::to_string(lease.tenant_id);
    EXPECT_EQ(count("SELECT balance_sun FROM tenants WHERE id = " + tenant),
              count("SELECT coalesce(sum(CASE WHEN kind IN ('credit', 'refund') THEN amount WHEN "
                    "kind IN ('debit', 'capture') THEN -amount ELSE 0 END), 0) FROM "
                    "ledger_entries WHERE tenant_id = " +
                    tenant));
    EXPECT_EQ(count("SELECT reserved_sun FROM tenants WHERE id = " + tenant), 0);
    EXPECT_EQ(count("SELECT count(*) FROM holds WHERE state = 'open' AND reference = " + ref), 0);
    auto balance = daemon_->ledger->balance(lease.tenant_id);
    ASSERT_TRUE(balance.ok());
    const int64_t charged =
        lease.state == energy::LeaseState::kReclaimed ? lease.price.total_sun.value() : 0;
    EXPECT_EQ(balance->balance.value(), kCredit - charged);
    EXPECT_EQ(balance->reserved.value(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM pool_reservations WHERE state <> 'released' AND "
                    "reference = " +
                    ref),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state <> 'done' AND ref = " + ref), 0);
  }

  std::string db_url_;
  std::unique_ptr<DevnetProcess> devnet_;
  std::unique_ptr<Daemon> daemon_;
  int64_t offset_ms_ = 0;
  int64_t operator_id_ = 0;
  int64_t pool_id_ = 0;
  int64_t tenant_id_ = 0;
};

}  // namespace relay::testing
