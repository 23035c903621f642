// PgLeaseRepository against PostgreSQL: round trips, every transition as a compare-and-set (only
// from the state it expects, "conflict" otherwise, however many workers race for it), the
// one-in-flight-delegation-per-(pool, receiver) index, one lease per quote, discarding only
// pending leases, list filters and pagination, tenant isolation, the recovery lists, and the table
// refusing rewrites that bypass the repository.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <pqxx/nontransaction>
#include <thread>

#include "store/chain_tx_journal_repository.h"
#include "store/lease_repository.h"
#include "store/ledger_repository.h"
#include "store/pool_repository.h"
#include "store/quote_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::Energy;
using common::Sun;
using common::TimePoint;
using energy::DelegationPlan;
using energy::Lease;
using energy::LeaseState;
using energy::NewLease;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();
constexpr int64_t kTrx = 1'000'000;

using testing::random_bytes;
const auto new_address = testing::random_address;

template <typename T>
std::string code_of(const common::Result<T>& result) {
  return result.ok() ? "ok" : result.error().code;
}
std::string code_of(const common::Status& status) {
  return status.ok() ? "ok" : status.error().code;
}

class LeasePgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    tenants_ = std::make_unique<PgTenantRepository>(db());
    pools_ = std::make_unique<PgPoolRepository>(db());
    capacity_ = std::make_unique<PgPoolCapacityRepository>(db());
    ledger_ = std::make_unique<PgLedgerRepository>(db());
    quotes_ = std::make_unique<PgQuoteRepository>(db());
    journal_ = std::make_unique<PgChainTxJournal>(db());
    leases_ = std::make_unique<PgLeaseRepository>(db());
    tenant_ = new_tenant();
    pool_ = new_pool();
  }

  int64_t new_tenant() {
    auto tenant = tenants_->create("lease-test");
    EXPECT_TRUE(tenant.ok());
    if (!tenant.ok()) return 0;
    EXPECT_TRUE(ledger_->credit(tenant->id, Sun(1'000 * kTrx), "admin:credit").ok());
    return tenant->id;
  }

  int64_t new_pool() {
    energy::NewPool pool;
    pool.tenant_id = tenant_;
    pool.address = new_address();
    pool.kind = energy::PoolKind::kOwn;
    pool.name = "lease-test";
    pool.status = energy::PoolStatus::kActive;
    pool.permission_id = 0;
    auto created = pools_->create(pool);
    EXPECT_TRUE(created.ok()) << created.error().message;
    energy::PoolSnapshot snapshot;
    snapshot.observed_at = kT0;
    snapshot.delegatable_sun = 1'000'000 * kTrx;
    EXPECT_TRUE(pools_->record_snapshot(created->id, snapshot).ok());
    return created->id;
  }

  NewLease terms(int64_t tenant_id, const common::Address& receiver,
                 std::optional<std::string> quote_id = std::nullopt) {
    return NewLease{.tenant_id = tenant_id,
                    .quote_id = std::move(quote_id),
                    .receiver = receiver,
                    .energy = Energy(65'000),
                    .duration_s = 3'600,
                    .stake_sun = Sun(6'998'333'334),
                    .price = {.unit_price_sun_per_energy = 60,
                              .energy_sun = Sun(3'900'000),
                              .bandwidth_sun = Sun(562'000),
                              .activation_sun = Sun(0),
                              .total_sun = Sun(4'462'000)},
                    .lock = false,
                    .lock_period_blocks = 0,
                    .group_id = std::nullopt,
                    .split_parts = 1};
  }

  Lease pending(int64_t tenant_id, const common::Address& receiver) {
    auto lease = leases_->create(terms(tenant_id, receiver), kT0);
    EXPECT_TRUE(lease.ok()) << lease.error().message;
    return lease.ok() ? *lease : Lease{};
  }

  // The hold and reservation a real admission would have made, in `pool`.
  DelegationPlan plan_for(const Lease& lease, int64_t pool_id) {
    auto hold =
        ledger_->place_hold(lease.tenant_id, lease.price.total_sun, energy::lease_ref(lease.id));
    EXPECT_TRUE(hold.ok()) << hold.error().message;
    auto reservation =
        capacity_->reserve(pool_id, lease.stake_sun.value(), energy::lease_ref(lease.id), kT0);
    EXPECT_TRUE(reservation.ok()) << reservation.error().message;
    return DelegationPlan{.pool_id = pool_id,
                          .permission_id = 0,
                          .hold_id = hold.ok() ? hold->id : 0,
                          .reservation_id = reservation.ok() ? reservation->id : 0};
  }

  int64_t new_tx(const Lease& lease, const char* purpose) {
    energy::ChainTxRecord tx;
    auto id = random_bytes(32);
    std::copy(id.begin(), id.end(), tx.txid.begin());
    tx.purpose = purpose;
    tx.owner_ref = energy::lease_ref(lease.id);
    tx.pool_id = lease.pool_id;
    tx.signed_bytes = random_bytes(200);
    tx.expiration_ms = 1'700'000'060'000;
    auto recorded = journal_->record_signed(tx);
    EXPECT_TRUE(recorded.ok()) << recorded.error().message;
    return recorded.ok() ? recorded->id : 0;
  }

  // A lease taken all the way to active.
  Lease active(int64_t tenant_id, const common::Address& receiver) {
    Lease lease = pending(tenant_id, receiver);
    auto delegating = leases_->start_delegating(lease.id, plan_for(lease, pool_), kT0);
    EXPECT_TRUE(delegating.ok()) << delegating.error().message;
    auto activated = leases_->activate(lease.id, new_tx(*delegating, "lease_delegate"),
                                       kT0 + seconds(3), kT0 + seconds(3'603), kT0 + seconds(4));
    EXPECT_TRUE(activated.ok()) << activated.error().message;
    return activated.ok() ? *activated : Lease{};
  }

  void exec(const std::string& sql) {
    pqxx::connection conn(url());
    pqxx::nontransaction tx(conn);
    tx.exec0(sql);
  }

  std::unique_ptr<PgTenantRepository> tenants_;
  std::unique_ptr<PgPoolRepository> pools_;
  std::unique_ptr<PgPoolCapacityRepository> capacity_;
  std::unique_ptr<PgLedgerRepository> ledger_;
  std::unique_ptr<PgQuoteRepository> quotes_;
  std::unique_ptr<PgChainTxJournal> journal_;
  std::unique_ptr<PgLeaseRepository> leases_;
  int64_t tenant_ = 0;
  int64_t pool_ = 0;
};

TEST_F(LeasePgTest, LeaseRoundTripsThroughEveryState) {
  const common::Address receiver = new_address();
  Lease lease = pending(tenant_, receiver);
  EXPECT_GT(lease.id, 0);
  EXPECT_EQ(lease.state, LeaseState::kPending);
  EXPECT_EQ(lease.receiver, receiver);
  EXPECT_EQ(lease.energy.value(), 65'000);
  EXPECT_EQ(lease.stake_sun.value(), 6'998'333'334);
  EXPECT_EQ(lease.price.total_sun.value(), 4'462'000);
  EXPECT_EQ(lease.price.bandwidth_sun.value(), 562'000);
  EXPECT_EQ(lease.created_at, kT0);
  EXPECT_EQ(lease.updated_at, kT0);
  EXPECT_FALSE(lease.pool_id);

  const DelegationPlan plan = plan_for(lease, pool_);
  auto delegating = leases_->start_delegating(lease.id, plan, kT0 + seconds(1));
  ASSERT_TRUE(delegating.ok()) << delegating.error().message;
  EXPECT_EQ(delegating->state, LeaseState::kDelegating);
  EXPECT_EQ(delegating->pool_id, pool_);
  EXPECT_EQ(delegating->permission_id, 0);
  EXPECT_EQ(delegating->hold_id, plan.hold_id);
  EXPECT_EQ(delegating->reservation_id, plan.reservation_id);
  EXPECT_EQ(delegating->updated_at, kT0 + seconds(1));

  const int64_t delegate_tx = new_tx(*delegating, "lease_delegate");
  auto recorded = leases_->set_delegate_tx(lease.id, delegate_tx, kT0 + seconds(2));
  ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  EXPECT_EQ(recorded->delegate_tx_id, delegate_tx);
  EXPECT_TRUE(leases_->set_delegate_tx(lease.id, delegate_tx, kT0 + seconds(2)).ok());
  EXPECT_EQ(code_of(leases_->set_delegate_tx(lease.id, new_tx(*delegating, "lease_delegate"),
                                             kT0 + seconds(2))),
            "conflict");

  auto activated = leases_->activate(lease.id, delegate_tx, kT0 + seconds(3), kT0 + seconds(3'603),
                                     kT0 + seconds(4));
  ASSERT_TRUE(activated.ok()) << activated.error().message;
  EXPECT_EQ(activated->state, LeaseState::kActive);
  EXPECT_EQ(activated->delegated_at, kT0 + seconds(3));
  EXPECT_EQ(activated->expires_at, kT0 + seconds(3'603));

  auto reclaiming =
      leases_->begin_reclaim(lease.id, kT0 + seconds(900), Sun(2'925'000), kT0 + seconds(900));
  ASSERT_TRUE(reclaiming.ok()) << reclaiming.error().message;
  EXPECT_EQ(reclaiming->state, LeaseState::kReclaiming);
  EXPECT_EQ(reclaiming->reclaim_requested_at, kT0 + seconds(900));
  EXPECT_EQ(reclaiming->refund_sun.value(), 2'925'000);

  const int64_t first_reclaim = new_tx(*reclaiming, "lease_reclaim");
  ASSERT_TRUE(leases_->set_reclaim_tx(lease.id, std::nullopt, first_reclaim, kT0).ok());
  const int64_t second_reclaim = new_tx(*reclaiming, "lease_reclaim");
  // Replacing needs the previous one named: a stale writer cannot overwrite a newer attempt.
  EXPECT_EQ(code_of(leases_->set_reclaim_tx(lease.id, std::nullopt, second_reclaim, kT0)),
            "conflict");
  auto replaced = leases_->set_reclaim_tx(lease.id, first_reclaim, second_reclaim, kT0);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(replaced->reclaim_tx_id, second_reclaim);

  auto reclaimed = leases_->finish_reclaim(lease.id, kT0 + seconds(906), "", kT0 + seconds(907));
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.error().message;
  EXPECT_EQ(reclaimed->state, LeaseState::kReclaimed);
  EXPECT_EQ(reclaimed->reclaimed_at, kT0 + seconds(906));

  auto found = leases_->find(lease.id, tenant_);
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->state, LeaseState::kReclaimed);
  EXPECT_EQ((*found)->refund_sun.value(), 2'925'000);
  EXPECT_EQ((*found)->delegate_tx_id, delegate_tx);
  EXPECT_EQ((*found)->reclaim_tx_id, second_reclaim);
  EXPECT_EQ((*found)->updated_at, kT0 + seconds(907));
}

TEST_F(LeasePgTest, TransitionsOnlyFromTheStateTheyExpect) {
  Lease lease = pending(tenant_, new_address());
  EXPECT_EQ(code_of(leases_->activate(lease.id, new_tx(lease, "lease_delegate"), kT0,
                                      kT0 + seconds(1), kT0)),
            "conflict");
  EXPECT_EQ(code_of(leases_->begin_reclaim(lease.id, std::nullopt, Sun(0), kT0)), "conflict");
  EXPECT_EQ(code_of(leases_->finish_reclaim(lease.id, kT0, "", kT0)), "conflict");
  EXPECT_EQ(code_of(leases_->fail(lease.id, LeaseState::kDelegating, "x", kT0)), "conflict");
  auto refused = leases_->set_delegate_tx(lease.id, new_tx(lease, "lease_delegate"), kT0);
  EXPECT_EQ(code_of(refused), "conflict");
  EXPECT_NE(refused.error().message.find("pending"), std::string::npos) << refused.error().message;

  auto failed = leases_->fail(lease.id, LeaseState::kPending, "insufficient_capacity: none", kT0);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, LeaseState::kFailed);
  EXPECT_EQ(failed->state_reason, "insufficient_capacity: none");
  // Final.
  EXPECT_EQ(code_of(leases_->fail(lease.id, LeaseState::kPending, "again", kT0)), "conflict");
  EXPECT_EQ(code_of(leases_->start_delegating(lease.id, DelegationPlan{}, kT0)), "conflict");
  EXPECT_EQ(code_of(leases_->discard(lease.id)), "conflict");

  EXPECT_EQ(code_of(leases_->fail(lease.id, LeaseState::kPending, "", kT0)), "invalid_request");
  EXPECT_EQ(code_of(leases_->fail(lease.id, LeaseState::kActive, "x", kT0)), "invalid_request");
  EXPECT_EQ(code_of(leases_->activate(99'999'999, 1, kT0, kT0 + seconds(1), kT0)), "not_found");
  EXPECT_EQ(code_of(leases_->discard(99'999'999)), "not_found");
}

TEST_F(LeasePgTest, ConcurrentTransitionsMoveTheLeaseOnce) {
  Lease lease = active(tenant_, new_address());
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = leases_->begin_reclaim(lease.id, std::nullopt, Sun(0), kT0 + seconds(3'603));
      if (r.ok()) {
        ++won;
      } else if (r.error().code == "conflict") {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(LeasePgTest, OneDelegationInFlightPerPoolAndReceiver) {
  const common::Address receiver = new_address();
  Lease first = pending(tenant_, receiver);
  Lease second = pending(tenant_, receiver);
  ASSERT_TRUE(leases_->start_delegating(first.id, plan_for(first, pool_), kT0).ok());
  const DelegationPlan plan = plan_for(second, pool_);
  auto refused = leases_->start_delegating(second.id, plan, kT0);
  EXPECT_EQ(code_of(refused), "conflict");
  EXPECT_NE(refused.error().message.find("in flight"), std::string::npos);
  // Nothing of the refused step was written.
  EXPECT_EQ((*leases_->find(second.id, std::nullopt))->state, LeaseState::kPending);
  EXPECT_FALSE((*leases_->find(second.id, std::nullopt))->pool_id);

  // Another pool, or another receiver, is free.
  const int64_t other_pool = new_pool();
  Lease third = pending(tenant_, receiver);
  EXPECT_TRUE(leases_->start_delegating(third.id, plan_for(third, other_pool), kT0).ok());
  Lease fourth = pending(tenant_, new_address());
  EXPECT_TRUE(leases_->start_delegating(fourth.id, plan_for(fourth, pool_), kT0).ok());

  // Once the first is settled (failed or active), the pair is free again.
  ASSERT_TRUE(leases_->fail(first.id, LeaseState::kDelegating, "delegation_expired: x", kT0).ok());
  EXPECT_TRUE(leases_->start_delegating(second.id, plan, kT0).ok());
}

TEST_F(LeasePgTest, RacingDelegationsToOneReceiverLetExactlyOneThrough) {
  const common::Address receiver = new_address();
  std::vector<Lease> racers;
  std::vector<DelegationPlan> plans;
  for (int i = 0; i < 8; ++i) {
    racers.push_back(pending(tenant_, receiver));
    plans.push_back(plan_for(racers.back(), pool_));
  }
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = leases_->start_delegating(racers[i].id, plans[i], kT0);
      if (r.ok()) {
        ++won;
      } else if (r.error().code == "conflict") {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(LeasePgTest, OneLeasePerQuote) {
  energy::Quote quote;
  auto id = random_bytes(8);
  quote.id = "q_" + common::to_hex(id);
  quote.tenant_id = tenant_;
  quote.receiver = new_address();
  quote.energy = Energy(65'000);
  quote.duration_s = 3'600;
  quote.stake_sun = Sun(6'998'333'334);
  quote.price = {.unit_price_sun_per_energy = 60,
                 .energy_sun = Sun(3'900'000),
                 .bandwidth_sun = Sun(562'000),
                 .activation_sun = Sun(0),
                 .total_sun = Sun(4'462'000)};
  quote.total_energy_limit = 180'000'000'000;
  quote.total_energy_weight = 19'000'000'000;
  quote.created_at = kT0;
  quote.expires_at = kT0 + seconds(30);
  ASSERT_TRUE(quotes_->insert(quote).ok());
  auto first = leases_->create(terms(tenant_, quote.receiver, quote.id), kT0);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->quote_id, quote.id);
  EXPECT_EQ(code_of(leases_->create(terms(tenant_, quote.receiver, quote.id), kT0)), "conflict");
  EXPECT_EQ(code_of(leases_->create(terms(tenant_, quote.receiver, "q_0000000000000000"), kT0)),
            "not_found");
  EXPECT_EQ(code_of(leases_->create(terms(99'999'999, quote.receiver), kT0)), "not_found");
}

TEST_F(LeasePgTest, OnlyPendingLeasesAreDiscarded) {
  Lease lease = pending(tenant_, new_address());
  ASSERT_TRUE(leases_->discard(lease.id).ok());
  auto gone = leases_->find(lease.id, std::nullopt);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);

  Lease delegating = pending(tenant_, new_address());
  ASSERT_TRUE(leases_->start_delegating(delegating.id, plan_for(delegating, pool_), kT0).ok());
  EXPECT_EQ(code_of(leases_->discard(delegating.id)), "conflict");
}

TEST_F(LeasePgTest, ListFiltersPagesAndKeepsTenantsApart) {
  const int64_t tenant = new_tenant();
  const int64_t other = new_tenant();
  const common::Address receiver = new_address();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(pending(tenant, receiver).id);
  const int64_t elsewhere = pending(tenant, new_address()).id;
  Lease failed = pending(tenant, new_address());
  ASSERT_TRUE(leases_->fail(failed.id, LeaseState::kPending, "cost: x", kT0).ok());
  const int64_t foreign = pending(other, receiver).id;

  // Newest first, pages of 3.
  energy::LeaseFilter filter;
  filter.limit = 3;
  auto page = leases_->list(tenant, filter);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->leases.size(), 3u);
  EXPECT_EQ(page->leases[0].id, failed.id);
  EXPECT_EQ(page->leases[1].id, elsewhere);
  EXPECT_EQ(page->leases[2].id, ids[4]);
  ASSERT_TRUE(page->next_before);
  filter.before_id = page->next_before;
  page = leases_->list(tenant, filter);
  ASSERT_EQ(page->leases.size(), 3u);
  EXPECT_EQ(page->leases[0].id, ids[3]);
  filter.before_id = page->next_before;
  page = leases_->list(tenant, filter);
  ASSERT_EQ(page->leases.size(), 1u);
  EXPECT_EQ(page->leases[0].id, ids[0]);
  EXPECT_FALSE(page->next_before);

  // By receiver and by state.
  energy::LeaseFilter by_receiver;
  by_receiver.receiver = receiver;
  page = leases_->list(tenant, by_receiver);
  ASSERT_EQ(page->leases.size(), 5u);
  for (const auto& lease : page->leases) EXPECT_EQ(lease.receiver, receiver);
  energy::LeaseFilter by_state;
  by_state.state = LeaseState::kFailed;
  page = leases_->list(tenant, by_state);
  ASSERT_EQ(page->leases.size(), 1u);
  EXPECT_EQ(page->leases[0].id, failed.id);

  // Another tenant's lease is neither listed nor found.
  auto everything = leases_->list(tenant, energy::LeaseFilter{});
  ASSERT_TRUE(everything.ok());
  for (const auto& lease : everything->leases) EXPECT_NE(lease.id, foreign);
  EXPECT_FALSE(*leases_->find(foreign, tenant));
  EXPECT_TRUE(*leases_->find(foreign, other));
  EXPECT_TRUE(*leases_->find(foreign, std::nullopt));
  ASSERT_EQ(leases_->list(other, energy::LeaseFilter{})->leases.size(), 1u);

  energy::LeaseFilter bad;
  bad.limit = 0;
  EXPECT_EQ(code_of(leases_->list(tenant, bad)), "invalid_request");
}

TEST_F(LeasePgTest, RecoveryListsAndCounts) {
  Lease in_flight = pending(tenant_, new_address());
  Lease settled = active(tenant_, new_address());
  auto unsettled = leases_->list_unsettled(1'000, in_flight.id - 1);
  ASSERT_TRUE(unsettled.ok());
  bool saw_pending = false;
  for (const auto& lease : *unsettled) {
    EXPECT_NE(lease.id, settled.id);
    saw_pending = saw_pending || lease.id == in_flight.id;
  }
  EXPECT_TRUE(saw_pending);
  EXPECT_TRUE(leases_->list_unsettled(1'000, in_flight.id)->empty() ||
              leases_->list_unsettled(1'000, in_flight.id)->front().id > in_flight.id);

  // Overdue: active with expires_at at or before the cut.
  auto overdue = leases_->list_overdue(*settled.expires_at, 1'000);
  ASSERT_TRUE(overdue.ok());
  bool saw = false;
  for (const auto& lease : *overdue) saw = saw || lease.id == settled.id;
  EXPECT_TRUE(saw);
  auto not_yet = leases_->list_overdue(*settled.expires_at - seconds(1), 1'000);
  ASSERT_TRUE(not_yet.ok());
  for (const auto& lease : *not_yet) EXPECT_NE(lease.id, settled.id);

  auto counts = leases_->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_GE(counts->pending, 1);
  EXPECT_GE(counts->active, 1);
}

TEST_F(LeasePgTest, ListHoldingIsThePoolsLiveLeasesAndTheRecentlySettled) {
  Lease live = active(tenant_, new_address());
  Lease settled = active(tenant_, new_address());
  ASSERT_TRUE(leases_->begin_reclaim(settled.id, std::nullopt, Sun(0), kT0 + seconds(3'600)).ok());
  ASSERT_TRUE(
      leases_->finish_reclaim(settled.id, kT0 + seconds(3'603), "", kT0 + seconds(3'604)).ok());
  pending(tenant_, new_address());  // no pool yet: never listed

  auto ids = [&](common::TimePoint since) {
    std::vector<int64_t> out;
    auto holding = leases_->list_holding(pool_, since);
    EXPECT_TRUE(holding.ok()) << holding.error().message;
    if (holding.ok()) {
      for (const auto& lease : *holding) out.push_back(lease.id);
    }
    return out;
  };
  // Settled at kT0 + 3604 s: within a margin reaching back before it, not after.
  EXPECT_EQ(ids(kT0 + seconds(3'000)), (std::vector<int64_t>{live.id, settled.id}));
  EXPECT_EQ(ids(kT0 + seconds(3'605)), (std::vector<int64_t>{live.id}));
  EXPECT_TRUE(leases_->list_holding(pool_ + 1'000'000, kT0)->empty());

  // For /metrics: what the pool's active leases hold (the reclaimed one no longer counts).
  auto delegated = leases_->delegated_by_pool();
  ASSERT_TRUE(delegated.ok()) << delegated.error().message;
  bool found = false;
  for (const auto& pool : *delegated) {
    if (pool.pool_id != pool_) continue;
    found = true;
    EXPECT_EQ(pool.energy, live.energy.value());
    EXPECT_EQ(pool.stake_sun, live.stake_sun.value());
  }
  EXPECT_TRUE(found);
}

TEST_F(LeasePgTest, SplitLeasePartsAreListedByGroupAndTheirGroupNeverChanges) {
  const common::Address receiver = new_address();
  NewLease first_terms = terms(tenant_, receiver);
  first_terms.split_parts = 2;
  auto first = leases_->create(first_terms, kT0);
  ASSERT_TRUE(first.ok()) << first.error().message;
  NewLease second_terms = terms(tenant_, receiver);
  second_terms.group_id = first->id;
  second_terms.split_parts = 2;
  auto second = leases_->create(second_terms, kT0);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->group_id, first->id);
  EXPECT_EQ(second->split_parts, 2);
  EXPECT_FALSE(first->group_id);
  pending(tenant_, receiver);  // another lease, in no group

  energy::LeaseFilter filter;
  filter.group_id = first->id;
  auto group = leases_->list(tenant_, filter);
  ASSERT_TRUE(group.ok()) << group.error().message;
  ASSERT_EQ(group->leases.size(), 2u);
  EXPECT_EQ(group->leases[0].id, second->id);  // newest first
  EXPECT_EQ(group->leases[1].id, first->id);

  auto refused = [&](const std::string& sql) { EXPECT_ANY_THROW(exec(sql)) << sql; };
  refused("UPDATE leases SET group_id = NULL WHERE id = " + std::to_string(second->id));
  refused("UPDATE leases SET split_parts = 3 WHERE id = " + std::to_string(first->id));
  // A group of one is not a split.
  NewLease lonely = terms(tenant_, receiver);
  lonely.group_id = first->id;
  EXPECT_FALSE(leases_->create(lonely, kT0).ok());
}

TEST_F(LeasePgTest, TheTableRefusesRewritesThatSkipTheStateMachine) {
  Lease lease = active(tenant_, new_address());
  const std::string id = std::to_string(lease.id);
  auto refused = [&](const std::string& sql) { EXPECT_ANY_THROW(exec(sql)) << sql; };
  refused("UPDATE leases SET state = 'pending' WHERE id = " + id);
  refused("UPDATE leases SET state = 'reclaimed', reclaimed_at = now() WHERE id = " + id);
  refused("UPDATE leases SET stake_sun = stake_sun + 1 WHERE id = " + id);
  refused("UPDATE leases SET total_sun = 1, energy_sun = 1, bandwidth_sun = 0 WHERE id = " + id);
  refused("UPDATE leases SET expires_at = expires_at + interval '1 hour' WHERE id = " + id);
  refused("UPDATE leases SET pool_id = NULL WHERE id = " + id);
  refused("DELETE FROM leases WHERE id = " + id);
  refused("TRUNCATE leases");
  EXPECT_EQ((*leases_->find(lease.id, std::nullopt))->state, LeaseState::kActive);
}

}  // namespace
}  // namespace relay::store
