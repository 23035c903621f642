// LeaseService end to end (issue #6): PostgreSQL repositories, a tron-devnet process over HTTP
// (TronGridClient), PoolSigners holding the demo own pool K1's key, QuoteService, PoolService,
// ChainTxSender and the reclaim job run by scheduler::JobRunner. A quote becomes a lease whose
// energy shows on the receiver's account, and the reclaim at expiry gives it back. Then the crash
// test: for every fault point of the flow a "daemon" (this binary, exec'd again) dies there
// (TRONRELAY_FAULT) and a restarted one recovers; every lease ends delegated at most once,
// reclaimed or failed-and-refunded, with the ledger and the pool's reservations exact. And the
// concurrency and idempotency tests: 200 parallel leases against a pool capped to fit 10 (no
// over-commit, the rest 409), and POST /v1/leases retried with one Idempotency-Key (one lease).
// And a lease split between two own pools (split_across_pools) that neither could take alone.
//
// The Daemon, its OffsetClock (time moves without sleeping) and the fixture are in
// tests/support/lease_devnet.h. Needs PostgreSQL (TRONRELAY_TEST_DATABASE_URL) and
// TRON_DEVNET_BINARY.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/server.h"
#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/fault_point.h"
#include "common/log.h"
#include "energy/api_keys.h"
#include "energy/chain_tx_sender.h"
#include "energy/lease_service.h"
#include "energy/pool_service.h"
#include "energy/quote_service.h"
#include "scheduler/job_runner.h"
#include "signer/pool_signers.h"
#include "signer/secret_key.h"
#include "store/audit_log.h"
#include "store/chain_tx_journal_repository.h"
#include "store/idempotency_repository.h"
#include "store/job_queue_repository.h"
#include "store/lease_repository.h"
#include "store/ledger_repository.h"
#include "store/pool_repository.h"
#include "store/quote_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/child_process.h"
#include "tests/support/devnet_process.h"
#include "tests/support/http_client.h"
#include "tests/support/lease_devnet.h"
#include "tests/support/pg.h"

namespace relay::energy {
namespace {

using common::Address;
using common::Sun;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Daemon;
using testing::DaemonOptions;
using testing::kBlockMs;
using testing::kCredit;
using testing::kDurationS;
using testing::kEnergy;
using testing::kPool;
using testing::kReceiver;
using testing::quote_and_lease;

class LeaseDevnetPgTest : public testing::LeaseDevnetTest {};

TEST_F(LeaseDevnetPgTest, QuoteLeaseExpiryReclaim) {
  Daemon& d = *daemon_;
  const int64_t energy_before = d.energy_limit(kReceiver);
  auto capacity_before = d.capacity->capacity(pool_id_);
  ASSERT_TRUE(capacity_before.ok());

  auto created = quote_and_lease(d, tenant_id_);
  ASSERT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
  const Lease lease = *created;
  ASSERT_EQ(lease.state, LeaseState::kActive) << lease.state_reason;
  ASSERT_TRUE(lease.expires_at && lease.delegated_at);
  EXPECT_EQ(*lease.expires_at - *lease.delegated_at, seconds(kDurationS));
  EXPECT_EQ(lease.energy.value(), kEnergy);

  // On chain: the stake once, and the receiver can spend at least what was sold.
  devnet_->mine(1);
  EXPECT_EQ(d.delegated_to(kReceiver), lease.stake_sun.value());
  EXPECT_GE(d.energy_limit(kReceiver) - energy_before, kEnergy);
  auto capacity_leased = d.capacity->capacity(pool_id_);
  ASSERT_TRUE(capacity_leased.ok());
  EXPECT_LT(capacity_leased->free_sun, capacity_before->free_sun);

  // Paid exactly the price, nothing held.
  auto balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), kCredit - lease.price.total_sun.value());
  EXPECT_EQ(balance->reserved.value(), 0);

  // Not due yet: the job is not even claimed.
  auto early = d.runner->run_due(d.clock.now());
  EXPECT_EQ(early.claimed, 0);
  EXPECT_EQ(d.lease(lease.id).state, LeaseState::kActive);

  run_reclaims_past(lease);
  const Lease reclaimed = d.lease(lease.id);
  EXPECT_EQ(reclaimed.state, LeaseState::kReclaimed) << reclaimed.state_reason;
  EXPECT_TRUE(reclaimed.state_reason.empty()) << reclaimed.state_reason;
  EXPECT_TRUE(reclaimed.reclaim_tx_id.has_value());
  devnet_->mine(1);
  EXPECT_EQ(d.energy_limit(kReceiver), energy_before);
  ASSERT_TRUE(d.pool_service->refresh(pool_id_, std::nullopt).ok());
  auto capacity_after = d.capacity->capacity(pool_id_);
  ASSERT_TRUE(capacity_after.ok());
  EXPECT_EQ(capacity_after->reserved_sun, 0);
  EXPECT_EQ(capacity_after->free_sun, capacity_before->free_sun);
  expect_settled(reclaimed);
}

// A lease neither pool can take alone, split between K1 and a second own pool (the demo
// customer's staking account): both delegations on chain, from their own pools, adding up to the
// quoted stake; both reclaimed at expiry; the tenant charged the quote exactly.
TEST_F(LeaseDevnetPgTest, SplitLeaseDelegatesFromTwoPoolsAndReclaimsBoth) {
  const Address customer = *Address::parse("TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ");
  daemon_.reset();
  DaemonOptions options;
  options.split_across_pools = true;
  options.extra_owner_keys = {"2dc840d47b6c5f33704653740b95e6a1fdc1013f2fdd9a390a2b310ee7d249dd"};
  daemon_ = start_daemon(options);
  Daemon& d = *daemon_;
  auto second = d.pool_service->create(
      operator_id_,
      energy::NewPoolRequest{.address = customer, .kind = energy::PoolKind::kOwn, .name = "C"},
      "test");
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(second->status, energy::PoolStatus::kActive) << second->status_reason;

  QuoteRequest terms;
  terms.receiver = kReceiver;
  terms.energy = common::Energy(kEnergy);
  terms.duration_s = kDurationS;
  auto quote = d.quotes->create(tenant_id_, terms);
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  const int64_t stake = quote->stake_sun.value();
  // Each pool may delegate 60 % of it through tronrelay.
  const int64_t cap = stake * 6 / 10;
  scalar("UPDATE pools SET max_delegate_sun = " + std::to_string(cap));
  ASSERT_TRUE(d.pool_service->refresh(pool_id_, std::nullopt).ok());
  ASSERT_TRUE(d.pool_service->refresh(second->id, std::nullopt).ok());

  LeaseRequest request;
  request.quote_id = quote->id;
  auto created = d.leases->create(tenant_id_, request);
  ASSERT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
  energy::LeaseFilter filter;
  filter.group_id = energy::group_of(*created);
  auto group = d.lease_store->list(tenant_id_, filter);
  ASSERT_TRUE(group.ok());
  ASSERT_EQ(group->leases.size(), 2u);
  devnet_->mine(1);
  int64_t leased = 0;
  for (const Lease& part : group->leases) {
    ASSERT_EQ(part.state, LeaseState::kActive) << part.state_reason;
    EXPECT_LE(part.stake_sun.value(), cap);
    const Address from = part.pool_id == pool_id_ ? kPool : customer;
    auto records = d.node->delegated_resources(from, kReceiver);
    ASSERT_TRUE(records.ok());
    int64_t on_chain = 0;
    for (const auto& record : *records) on_chain += record.energy_sun;
    EXPECT_EQ(on_chain, part.stake_sun.value());
    leased += part.stake_sun.value();
  }
  EXPECT_EQ(leased, stake);
  auto balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), kCredit - quote->price.total_sun.value());

  for (const Lease& part : group->leases) run_reclaims_past(part);
  devnet_->mine(1);
  for (const Lease& part : group->leases) {
    const Lease done = d.lease(part.id);
    EXPECT_EQ(done.state, LeaseState::kReclaimed) << done.state_reason;
    const std::string ref = "'lease:" + std::to_string(part.id) + "'";
    EXPECT_EQ(
        count("SELECT count(*) FROM chain_txs WHERE state = 'included' AND owner_ref = " + ref),
        2);  // one delegation, one undelegation
  }
  // Charged the quote exactly once, nothing held or reserved, no job left.
  balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), kCredit - quote->price.total_sun.value());
  EXPECT_EQ(balance->reserved.value(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM pool_reservations WHERE state <> 'released'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state NOT IN ('done')"), 0);
  EXPECT_EQ(d.delegated_to(kReceiver), 0);
  auto from_customer = d.node->delegated_resources(customer, kReceiver);
  ASSERT_TRUE(from_customer.ok());
  for (const auto& record : *from_customer) EXPECT_EQ(record.energy_sun, 0);
}

// The crash test of issue #6: a daemon killed at `point`, a restarted one that recovers, and the
// invariants after the expiry.
class LeaseCrashTest : public LeaseDevnetPgTest, public ::testing::WithParamInterface<const char*> {
 protected:
  // Runs LeaseDevnetPgChild.DISABLED_CreateLease in a new process with `env` added to this one's
  // environment; returns its wait status.
  static int run_child(const std::vector<std::pair<std::string, std::string>>& env) {
    return relay::testing::run_disabled_test_in_child("LeaseDevnetPgChild.DISABLED_CreateLease",
                                                      env);
  }
};

TEST_P(LeaseCrashTest, KilledDaemonRecoversAndTheLeaseSettlesOnce) {
  const std::string point = GetParam();
  const bool reclaim_too = point == "mid_reclaim";
  daemon_.reset();  // the daemon that dies is the child; this one restarts after it
  const int status = run_child({{common::kFaultEnv, point},
                                {"RELAY_CHILD_DB_URL", db_url_},
                                {"RELAY_CHILD_NODE_URL", devnet_->url()},
                                {"RELAY_CHILD_TENANT", std::to_string(tenant_id_)},
                                {"RELAY_CHILD_RECLAIM", reclaim_too ? "1" : "0"}});
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), common::kFaultExitCode) << "the daemon did not die at " << point;

  // The restart: admit the pools again, settle the journal, recover the leases.
  daemon_ = start_daemon();
  Daemon& d = *daemon_;
  ASSERT_TRUE(d.pool_service->refresh_all().ok());
  auto page = d.lease_store->list(tenant_id_, LeaseFilter{});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->leases.size(), 1u);
  const int64_t lease_id = page->leases[0].id;
  const std::string ref = "'lease:" + std::to_string(lease_id) + "'";
  if (point == "after_sign") {
    // Signed in memory only: nothing journaled, nothing on chain.
    EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE owner_ref = " + ref), 0);
  } else {
    EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate' AND "
                    "owner_ref = " +
                    ref),
              1);
  }

  for (int round = 0; round < 50; ++round) {
    auto swept = d.sender->resolve_unresolved(100);
    ASSERT_TRUE(swept.ok()) << swept.error().message;
    auto recovered = d.leases->recover(100);
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
    EXPECT_EQ(recovered->errors, 0)
        << (recovered->first_error ? recovered->first_error->message : "");
    const Lease lease = d.lease(lease_id);
    if (lease.state != LeaseState::kDelegating && lease.state != LeaseState::kPending) break;
    if (point == "after_sign" && round == 0) {
      // Within interrupted_after the create() that signed may still be at work: recover() waits.
      EXPECT_EQ(lease.state, LeaseState::kDelegating);
      advance(seconds(25));
      continue;
    }
    devnet_->mine(1);
    std::this_thread::sleep_for(milliseconds(2 * kBlockMs));
  }
  Lease lease = d.lease(lease_id);
  if (point == "after_sign") {
    EXPECT_EQ(lease.state, LeaseState::kFailed);
    EXPECT_TRUE(lease.state_reason.starts_with("interrupted")) << lease.state_reason;
    EXPECT_EQ(d.delegated_to(kReceiver), 0);
    expect_settled(lease);
    return;
  }
  ASSERT_TRUE(lease.state == LeaseState::kActive || lease.state == LeaseState::kReclaiming)
      << lease_state_name(lease.state) << ": " << lease.state_reason;
  if (!reclaim_too) {
    EXPECT_EQ(d.delegated_to(kReceiver), lease.stake_sun.value());
  }
  auto balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), kCredit - lease.price.total_sun.value());
  EXPECT_EQ(balance->reserved.value(), 0);

  run_reclaims_past(lease);
  devnet_->mine(1);
  lease = d.lease(lease_id);
  EXPECT_EQ(lease.state, LeaseState::kReclaimed) << lease.state_reason;
  EXPECT_LE(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_reclaim' AND state = "
                  "'included' AND owner_ref = " +
                  ref),
            1);
  expect_settled(lease);
}

INSTANTIATE_TEST_SUITE_P(FaultPoints, LeaseCrashTest,
                         ::testing::Values("after_sign", "after_write_ahead", "after_broadcast",
                                           "before_confirm", "mid_reclaim"),
                         [](const auto& info) { return std::string(info.param); });

// Issue #6's concurrency test: 200 requests at once for a pool whose max_delegate_sun fits only
// kFit leases. Each request has a receiver of its own (activated through the devnet's admin fund
// route), so the one-in-flight-per-(pool, receiver) rule does not come into it: only capacity
// refuses. No over-commit: at most kFit succeed, every refusal is 409 insufficient_capacity (or
// conflict), and the store, the ledger and the chain agree on what was leased.
TEST_F(LeaseDevnetPgTest, ParallelLeasesNeverOverCommitCapacity) {
  constexpr int kRequests = 200;
  constexpr int kFit = 10;
  daemon_ = start_daemon(DaemonOptions{.db_connections = 24});
  Daemon& d = *daemon_;
  ASSERT_TRUE(d.pool_service->refresh_all().ok());  // a daemon admits its pools at start

  // The receivers, activated on chain.
  std::vector<Address> receivers;
  for (int i = 0; i < kRequests; ++i) {
    std::vector<uint8_t> id20(20, 0x5a);
    id20[18] = static_cast<uint8_t>(i >> 8);
    id20[19] = static_cast<uint8_t>(i & 0xff);
    receivers.push_back(Address::from_id20(common::ByteView(id20.data(), id20.size())));
    devnet_->admin("fund",
                   R"({"address":")" + receivers.back().to_base58() + R"(","amount_sun":1000000})");
  }
  devnet_->mine(1);

  // The stake and price of one lease now, and a cap on the pool that fits kFit of them.
  auto probe = d.quotes->create(tenant_id_, QuoteRequest{.receiver = receivers[0],
                                                         .energy = common::Energy(kEnergy),
                                                         .usdt_transfer = std::nullopt,
                                                         .duration_s = kDurationS});
  ASSERT_TRUE(probe.ok()) << probe.error().code << ": " << probe.error().message;
  const int64_t stake = probe->stake_sun.value();
  const int64_t price = probe->price.total_sun.value();
  ASSERT_GT(stake, 0);
  const int64_t cap = kFit * stake + stake / 2;
  auto capped = d.pools->update(pool_id_, std::nullopt, PoolChanges{.max_delegate_sun = cap});
  ASSERT_TRUE(capped.ok()) << capped.error().message;
  auto before = d.capacity->capacity(pool_id_);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->free_sun, cap);

  // Enough money for every request to hold its price at once.
  const int64_t credits = kCredit + kRequests * price * 2;
  ASSERT_TRUE(d.ledger->credit(tenant_id_, Sun(credits - kCredit), "admin:credit").ok());

  std::mutex mutex;
  std::vector<Lease> leased;
  std::map<std::string, int> refusals;
  std::vector<std::string> other_errors;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto result = d.leases->create(tenant_id_, LeaseRequest{.quote_id = std::nullopt,
                                                              .receiver = receivers[i],
                                                              .energy = common::Energy(kEnergy),
                                                              .duration_s = kDurationS,
                                                              .max_cost = Sun(price * 2)});
      std::lock_guard lock(mutex);
      if (result.ok()) {
        leased.push_back(*result);
      } else if (result.error().code == "insufficient_capacity" ||
                 result.error().code == "conflict") {
        ++refusals[result.error().code];
      } else {
        other_errors.push_back(result.error().code + ": " + result.error().message);
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  const auto took = std::chrono::steady_clock::now() - started;
  std::cout << "[ parallel ] " << leased.size() << " leased, " << refusals["insufficient_capacity"]
            << " insufficient_capacity, " << refusals["conflict"] << " conflict, "
            << other_errors.size() << " other, in "
            << std::chrono::duration_cast<milliseconds>(took).count() << " ms\n";

  EXPECT_TRUE(other_errors.empty()) << other_errors.front();
  EXPECT_LE(static_cast<int>(leased.size()), kFit);
  EXPECT_EQ(static_cast<int>(leased.size()), kFit) << "the capacity that fits was not all sold";
  EXPECT_EQ(
      static_cast<int>(leased.size()) + refusals["insufficient_capacity"] + refusals["conflict"],
      kRequests);

  int64_t stake_sum = 0;
  int64_t price_sum = 0;
  for (const Lease& lease : leased) {
    EXPECT_EQ(lease.state, LeaseState::kActive) << lease.state_reason;
    EXPECT_EQ(lease.pool_id, pool_id_);
    stake_sum += lease.stake_sun.value();
    price_sum += lease.price.total_sun.value();
  }
  EXPECT_LE(stake_sum, cap);

  // The store: what is promised from the pool never passes the cap, and is exactly the leases'.
  auto after = d.capacity->capacity(pool_id_);
  ASSERT_TRUE(after.ok());
  EXPECT_LE(after->reserved_sun, cap);
  EXPECT_EQ(after->reserved_sun, stake_sum);
  EXPECT_LT(after->free_sun, stake);
  EXPECT_EQ(count("SELECT coalesce(sum(stake_sun), 0) FROM pool_reservations WHERE state <> "
                  "'released' AND pool_id = " +
                  std::to_string(pool_id_)),
            stake_sum);
  EXPECT_EQ(count("SELECT count(*) FROM leases WHERE state = 'active'"),
            static_cast<int64_t>(leased.size()));
  EXPECT_EQ(count("SELECT count(*) FROM leases WHERE state IN ('pending', 'delegating')"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM holds WHERE state = 'open'"), 0);

  // The ledger: the credits less the captured prices of the active leases, nothing held.
  auto balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), credits - price_sum);
  EXPECT_EQ(balance->reserved.value(), 0);

  // The chain: the pool delegated exactly the active leases' stake, each to its receiver.
  devnet_->mine(1);
  std::map<std::string, int64_t> leased_to;
  for (const Lease& lease : leased)
    leased_to[lease.receiver.to_base58()] += lease.stake_sun.value();
  int64_t on_chain = 0;
  for (const Address& receiver : receivers) {
    const int64_t delegated = d.delegated_to(receiver);
    on_chain += delegated;
    auto expected = leased_to.find(receiver.to_base58());
    EXPECT_EQ(delegated, expected == leased_to.end() ? 0 : expected->second)
        << receiver.to_base58();
  }
  EXPECT_EQ(on_chain, stake_sum);
  EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate'"),
            static_cast<int64_t>(leased.size()));
}

// A HealthProbe that is always fine: the lease routes do not look at it.
class HealthyProbe final : public api::HealthProbe {
 public:
  common::Status check() override { return {}; }
};

// POST /v1/leases over HTTP with an Idempotency-Key: a retry of the same request is answered from
// the stored reply (one lease, one delegation), and the key with another body is refused.
TEST_F(LeaseDevnetPgTest, IdempotentLeasePostMakesOneLease) {
  Daemon& d = *daemon_;
  store::PgApiKeyRepository keys(*d.db);
  store::PgIdempotencyRepository idempotency(*d.db);
  energy::ApiKeyService key_service(keys, d.clock);
  HealthyProbe database_probe;
  HealthyProbe chain_probe;
  api::ApiOptions options;
  options.http.host = "127.0.0.1";
  options.http.port = 0;
  options.http.threads = 4;
  options.rate_limit.requests_per_second = 100'000;
  options.rate_limit.burst = 100'000;
  api::ApiServices services{.tenants = *d.tenants,
                            .keys = keys,
                            .ledger = *d.ledger,
                            .idempotency = idempotency,
                            .audit = *d.audit,
                            .key_service = key_service,
                            .clock = d.clock,
                            .database = database_probe,
                            .chain = chain_probe,
                            .pools = d.pool_service.get(),
                            .pool_store = d.pools.get(),
                            .quotes = d.quotes.get(),
                            .leases = d.leases.get()};
  auto server = std::make_unique<api::ApiServer>(options, services, d.log);
  auto port = server->start();
  ASSERT_TRUE(port.ok()) << port.error().message;
  testing::TestHttpClient http(*port);
  auto issued = key_service.issue(tenant_id_, {Scope::kLease, Scope::kQuote}, std::nullopt);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  const testing::TestHttpClient::Headers headers = {{"Authorization", "Bearer " + issued->secret},
                                                    {"Idempotency-Key", "lease-retry-1"}};
  const std::string body = R"({"receiver":")" + kReceiver.to_base58() + R"(","energy":)" +
                           std::to_string(kEnergy) + R"(,"duration_s":)" +
                           std::to_string(kDurationS) + R"(,"max_cost_sun":)" +
                           std::to_string(kCredit / 2) + "}";

  auto first = http.post("/v1/leases", body, headers);
  ASSERT_EQ(first.result_int(), 201) << first.body();
  EXPECT_EQ(first.find("Idempotent-Replayed"), first.end());
  auto second = http.post("/v1/leases", body, headers);
  ASSERT_EQ(second.result_int(), 201) << second.body();
  EXPECT_EQ(second["Idempotent-Replayed"], "true");
  const auto first_json = boost::json::parse(first.body()).as_object();
  const auto second_json = boost::json::parse(second.body()).as_object();
  EXPECT_EQ(first_json.at("id"), second_json.at("id"));
  EXPECT_EQ(first.body(), second.body());

  // The same key with another body: refused, and nothing more is leased.
  const std::string other = R"({"receiver":")" + kReceiver.to_base58() + R"(","energy":)" +
                            std::to_string(kEnergy + 1'000) + R"(,"duration_s":)" +
                            std::to_string(kDurationS) + R"(,"max_cost_sun":)" +
                            std::to_string(kCredit / 2) + "}";
  auto reused = http.post("/v1/leases", other, headers);
  EXPECT_EQ(reused.result_int(), 422) << reused.body();
  EXPECT_NE(reused.body().find("idempotency_key_reused"), std::string::npos) << reused.body();

  server->stop();
  server.reset();
  const int64_t lease_id = first_json.at("id").as_int64();
  EXPECT_EQ(count("SELECT count(*) FROM leases"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_delegate' AND "
                  "owner_ref = 'lease:" +
                  std::to_string(lease_id) + "'"),
            1);
  const Lease lease = d.lease(lease_id);
  EXPECT_EQ(lease.state, LeaseState::kActive) << lease.state_reason;
  devnet_->mine(1);
  EXPECT_EQ(d.delegated_to(kReceiver), lease.stake_sun.value());
  auto balance = d.ledger->balance(tenant_id_);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->balance.value(), kCredit - lease.price.total_sun.value());
  EXPECT_EQ(balance->reserved.value(), 0);
}

// Not a test of its own: the daemon that LeaseCrashTest runs in a child process, and that dies at
// TRONRELAY_FAULT. It leases like POST /v1/quote + POST /v1/leases, and with RELAY_CHILD_RECLAIM
// runs the reclaim at expiry (its clock moved past it); without its orders it does nothing.
TEST(LeaseDevnetPgChild, DISABLED_CreateLease) {
  const char* db_url = std::getenv("RELAY_CHILD_DB_URL");
  if (db_url == nullptr) GTEST_SKIP() << "run by LeaseCrashTest only";
  try {
    Daemon doomed(db_url, std::getenv("RELAY_CHILD_NODE_URL"), 0);
    if (!doomed.pool_service->refresh_all().ok()) ::_exit(3);
    auto lease = quote_and_lease(doomed, std::stoll(std::getenv("RELAY_CHILD_TENANT")));
    if (!lease.ok()) ::_exit(1);
    if (std::string(std::getenv("RELAY_CHILD_RECLAIM")) == "1") {
      doomed.clock.advance(seconds(kDurationS + 3));
      (void)doomed.leases->reclaim(lease->id);
    }
    ::_exit(0);  // not killed: the fault point was not reached
  } catch (...) {
    ::_exit(2);
  }
}

}  // namespace
}  // namespace relay::energy
