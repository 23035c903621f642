// Reconciler on in-memory ports and FakeTronNode (which keeps per-pair delegations and locks):
// a delegation no lease explains is taken back, exactly its excess and never a lease's stake —
// beside active, in-flight, locked and just-reclaimed leases —; --dry-run signs nothing; locked
// orphans wait for their lock; pools the signer may not sign for, pools that cannot be read, and
// active leases the chain no longer shows are reported.
#include "energy/reconcile.h"

#include <gtest/gtest.h>

#include <memory>

#include "chain/builders.h"
#include "signer/signer.h"
#include "tests/support/fake_chain_tx_journal.h"
#include "tests/support/fake_leases.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_tron_node.h"

namespace relay::energy {
namespace {

using common::Address;
using common::Sun;
using common::TimePoint;
using relay::testing::FakeChainTxJournal;
using relay::testing::FakeLeases;
using relay::testing::FakePools;
using relay::testing::FakeTronNode;
using relay::testing::make_account;
using signer::SecretKey;
using std::chrono::milliseconds;
using std::chrono::minutes;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kOwnKey = "3333333333333333333333333333333333333333333333333333333333333333";
const char* kOtherKey = "4444444444444444444444444444444444444444444444444444444444444444";

Address address_of(const char* key) { return *signer::address_of(*SecretKey::from_hex(key)); }

const Address kPool = address_of(kOwnKey);
const Address kOtherPool = address_of(kOtherKey);
const Address kReceiver = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
const Address kOtherReceiver = Address::from_id20(common::Bytes(20, 0x22));

constexpr int64_t kTrx = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000;

class ReconcileTest : public ::testing::Test {
 protected:
  ReconcileTest() {
    fake.set_head(1'000, kStart);
    fake.put_account(make_account(kPool, 300 * kTrx, 20'000 * kTrx));
    fake.put_account(make_account(kOtherPool, 300 * kTrx, 20'000 * kTrx));
    EXPECT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnKey)).ok());
    EXPECT_TRUE(signers->admit_pool(kPool, 0).ok());
    pool = add_pool(kPool);
  }

  int64_t add_pool(const Address& address, PoolKind kind = PoolKind::kOwn) {
    NewPool new_pool;
    new_pool.tenant_id = 1;
    new_pool.address = address;
    new_pool.kind = kind;
    new_pool.name = "pool";
    new_pool.status = PoolStatus::kActive;
    new_pool.permission_id = kind == PoolKind::kOwn ? 0 : 2;
    return pools.create(new_pool)->id;
  }

  // A lease of `stake` from `pool_id` to `receiver`, put straight into `state`.
  int64_t add_lease(int64_t pool_id, const Address& receiver, int64_t stake, LeaseState state,
                    bool lock = false) {
    NewLease terms;
    terms.tenant_id = 1;
    terms.receiver = receiver;
    terms.energy = common::Energy(65'000);
    terms.duration_s = 3'600;
    terms.stake_sun = Sun(stake);
    terms.lock = lock;
    terms.lock_period_blocks = lock ? 1'200 : 0;
    const int64_t id = leases.create(terms, clock.now())->id;
    leases.update(id, [&](Lease& lease) {
      lease.state = state;
      lease.pool_id = pool_id;
      lease.permission_id = 0;
      if (state != LeaseState::kDelegating) {
        lease.delegated_at = clock.now();
        lease.expires_at = clock.now() + std::chrono::hours(1);
      }
    });
    return id;
  }

  Reconciler reconciler() {
    return Reconciler({.pools = pools,
                       .leases = leases,
                       .node = fake,
                       .sender = sender,
                       .journal = journal,
                       .signers = *signers,
                       .clock = clock});
  }
  ReconcileReport run(ReconcileOptions options = {}) {
    auto report = reconciler().run(options);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : ReconcileReport{};
  }
  int64_t on_chain(const Address& from, const Address& to) {
    int64_t sum = 0;
    auto records = fake.delegated_resources(from, to);
    EXPECT_TRUE(records.ok());
    if (!records.ok()) return -1;
    for (const auto& record : *records) sum += record.energy_sun;
    return sum;
  }
  size_t undelegations() {
    size_t n = 0;
    for (const auto& tx : fake.broadcasts()) {
      n += tx.contract_type() == protocol::Transaction_Contract::UnDelegateResourceContract;
    }
    return n;
  }

  common::ManualClock clock = common::ManualClock::at_ms(kStart);
  FakeTronNode fake;
  FakePools pools{clock};
  FakeLeases leases;
  FakeChainTxJournal journal{clock};
  std::unique_ptr<signer::PoolSigners> signers =
      std::move(*signer::PoolSigners::create(*SecretKey::from_hex(kRelayerKey)));
  ChainTxSender sender{journal,
                       fake,
                       *signers,
                       clock,
                       ChainTxSenderOptions{.rebroadcast_after = milliseconds(6'000),
                                            .poll_interval = milliseconds(3'000)},
                       [this](milliseconds d) {
                         clock.advance(d);
                         fake.mine();
                       }};
  int64_t pool = 0;
};

TEST_F(ReconcileTest, NothingToDoWhenLeasesExplainEveryDelegation) {
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx);
  // In flight: its delegation is not on chain yet, and that is no orphan either way.
  add_lease(pool, kOtherReceiver, 1'000 * kTrx, LeaseState::kDelegating);

  ReconcileReport report = run();
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(report.orphans.empty());
  EXPECT_TRUE(report.shortfalls.empty());
  ASSERT_EQ(report.pools.size(), 1u);
  EXPECT_EQ(report.pools[0].receivers, 1);
  EXPECT_EQ(report.pools[0].energy_on_chain.value(), 7'000 * kTrx);
  EXPECT_EQ(report.pools[0].energy_explained.value(), 7'000 * kTrx);
  EXPECT_EQ(undelegations(), 0u);
}

TEST_F(ReconcileTest, OrphanIsUndelegatedAndJournaled) {
  fake.delegate_by_hand(kPool, kReceiver, 5'000 * kTrx);

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  const Orphan& orphan = report.orphans[0];
  EXPECT_EQ(orphan.action, OrphanAction::kReclaimed) << orphan.detail;
  EXPECT_EQ(orphan.receiver, kReceiver);
  EXPECT_EQ(orphan.orphaned.value(), 5'000 * kTrx);
  EXPECT_EQ(orphan.reclaimable.value(), 5'000 * kTrx);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(on_chain(kPool, kReceiver), 0);

  // Written ahead like every tx the daemon signs, named after the pair.
  ASSERT_TRUE(orphan.chain_tx_id);
  auto records =
      journal.list_by_owner("reconcile:" + std::to_string(pool) + ":" + kReceiver.to_base58());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].purpose, "reconcile_reclaim");
  EXPECT_EQ((*records)[0].state, ChainTxState::kIncluded);
  EXPECT_EQ((*records)[0].pool_id, pool);

  // A second run finds nothing.
  ReconcileReport again = run();
  EXPECT_TRUE(again.orphans.empty());
  EXPECT_EQ(undelegations(), 1u);
}

TEST_F(ReconcileTest, TakesOnlyTheExcessBesideAnActiveLease) {
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx);  // the lease's delegation
  fake.delegate_by_hand(kPool, kReceiver, 2'000 * kTrx);  // and an orphan to the same receiver

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].explained.value(), 7'000 * kTrx);
  EXPECT_EQ(report.orphans[0].orphaned.value(), 2'000 * kTrx);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kReclaimed);
  EXPECT_EQ(on_chain(kPool, kReceiver), 7'000 * kTrx);
}

TEST_F(ReconcileTest, DryRunSignsNothing) {
  fake.delegate_by_hand(kPool, kReceiver, 5'000 * kTrx);
  ReconcileOptions options;
  options.dry_run = true;
  ReconcileReport report = run(options);
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kDryRun);
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(undelegations(), 0u);
  EXPECT_EQ(on_chain(kPool, kReceiver), 5'000 * kTrx);
}

TEST_F(ReconcileTest, LockedOrphanWaitsAndNeverTakesALeasesUnlockedStake) {
  // The lease's stake is unlocked; the orphan is locked for another hour. Undelegating now could
  // only take the lease's stake: nothing is taken.
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx);
  const int64_t lock_end = kStart + 3'600'000;
  fake.delegate_by_hand(kPool, kReceiver, 2'000 * kTrx, lock_end);

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kLocked);
  EXPECT_EQ(report.orphans[0].reclaimable.value(), 0);
  EXPECT_EQ(report.orphans[0].locked_until, TimePoint(milliseconds(lock_end)));
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(undelegations(), 0u);
  EXPECT_EQ(on_chain(kPool, kReceiver), 9'000 * kTrx);

  // Once the lock ended, the orphan goes.
  fake.set_head(fake.head().number + 1'200, lock_end);
  clock.set(TimePoint(milliseconds(lock_end)));
  ReconcileReport later = run();
  ASSERT_EQ(later.orphans.size(), 1u);
  EXPECT_EQ(later.orphans[0].action, OrphanAction::kReclaimed) << later.orphans[0].detail;
  EXPECT_EQ(on_chain(kPool, kReceiver), 7'000 * kTrx);
}

TEST_F(ReconcileTest, LockedLeaseStakeIsNotCountedAsReclaimable) {
  // A locked lease and an unlocked orphan: the orphan is taken, the locked stake stays.
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive, /*lock=*/true);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx, kStart + 1'200 * 3'000);
  fake.delegate_by_hand(kPool, kReceiver, 500 * kTrx);

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].reclaimable.value(), 500 * kTrx);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kReclaimed);
  EXPECT_EQ(on_chain(kPool, kReceiver), 7'000 * kTrx);
}

TEST_F(ReconcileTest, JustReclaimedLeaseStillExplainsItsStake) {
  // Reclaimed a moment ago: the chain may have been read before its undelegation's block.
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kReclaimed);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx);
  EXPECT_TRUE(run().orphans.empty());

  // Past the margin it explains nothing: what is left is an orphan.
  clock.advance(minutes(11));
  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kReclaimed);
}

TEST_F(ReconcileTest, PoolTheSignerMayNotSignForIsReported) {
  const int64_t other = add_pool(kOtherPool);  // not admitted
  fake.delegate_by_hand(kOtherPool, kReceiver, 1'000 * kTrx);

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].pool_id, other);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kNotAdmitted);
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(undelegations(), 0u);
}

TEST_F(ReconcileTest, ActiveLeaseMissingOnChainIsAShortfall) {
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive);
  ReconcileReport report = run();
  EXPECT_TRUE(report.orphans.empty());
  ASSERT_EQ(report.shortfalls.size(), 1u);
  EXPECT_EQ(report.shortfalls[0].receiver, kReceiver);
  EXPECT_EQ(report.shortfalls[0].leased.value(), 7'000 * kTrx);
  EXPECT_EQ(report.shortfalls[0].on_chain.value(), 0);
}

TEST_F(ReconcileTest, UnreadablePoolIsReportedAndTheOthersAreDone) {
  add_pool(kOtherPool);
  fake.delegate_by_hand(kPool, kReceiver, 1'000 * kTrx);
  fake.fail_next("delegation_index", common::make_error("upstream_failed", "node down"));

  // Whichever pool is read first fails; the other is still reconciled.
  ReconcileReport report = run();
  ASSERT_EQ(report.pools.size(), 2u);
  int unreadable = 0;
  for (const PoolReconcile& entry : report.pools) {
    if (entry.error) {
      ++unreadable;
      EXPECT_EQ(entry.error->code, "upstream_failed");
    }
  }
  EXPECT_EQ(unreadable, 1);
  EXPECT_FALSE(report.clean());

  // The next run reads both, and the orphan is gone after the two.
  ReconcileReport again = run();
  for (const PoolReconcile& entry : again.pools) EXPECT_FALSE(entry.error) << entry.pool_id;
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(on_chain(kPool, kReceiver), 0);
  EXPECT_EQ(undelegations(), 1u);
}

TEST_F(ReconcileTest, AnEarlierRunsUndelegationStillInFlightIsNotRepeated) {
  // Beside a lease, so a second undelegation of the orphan would take the lease's stake.
  add_lease(pool, kReceiver, 7'000 * kTrx, LeaseState::kActive);
  fake.delegate_by_hand(kPool, kReceiver, 7'000 * kTrx);
  fake.delegate_by_hand(kPool, kReceiver, 2'000 * kTrx);
  ReconcileOptions quick;
  quick.confirm_timeout = milliseconds(0);  // submit, do not wait for the block

  ReconcileReport first = run(quick);
  ASSERT_EQ(first.orphans.size(), 1u);
  EXPECT_EQ(first.orphans[0].action, OrphanAction::kPending);
  EXPECT_EQ(undelegations(), 1u);

  // No block yet: the chain still shows the orphan, and the run leaves it to the first tx.
  ReconcileReport second = run(quick);
  ASSERT_EQ(second.orphans.size(), 1u);
  EXPECT_EQ(second.orphans[0].action, OrphanAction::kInFlight);
  EXPECT_FALSE(second.clean());
  EXPECT_EQ(undelegations(), 1u);
  EXPECT_EQ(
      journal.list_by_owner("reconcile:" + std::to_string(pool) + ":" + kReceiver.to_base58())
          ->size(),
      1u);

  // Once it is in a block, nothing is left, and the lease's stake is whole.
  fake.mine();
  ReconcileReport third = run(quick);
  EXPECT_TRUE(third.orphans.empty());
  EXPECT_EQ(on_chain(kPool, kReceiver), 7'000 * kTrx);
}

TEST_F(ReconcileTest, PermissionPoolOrphansAreReportedUnlessAskedFor) {
  // A customer's account that granted our relayer key: its own delegations are not ours.
  const char* customer_key = "5555555555555555555555555555555555555555555555555555555555555555";
  const Address customer = address_of(customer_key);
  auto account = make_account(customer, 300 * kTrx, 20'000 * kTrx);
  account.permissions.actives = {
      relay::testing::make_active("relayer", 1, {{address_of(kRelayerKey), 1}}, {57, 58})};
  fake.put_account(account);
  ASSERT_TRUE(signers->admit_pool(customer, 2).ok());
  add_pool(customer, PoolKind::kPermission);
  fake.delegate_by_hand(customer, kReceiver, 1'000 * kTrx);

  ReconcileReport report = run();
  ASSERT_EQ(report.orphans.size(), 1u);
  EXPECT_EQ(report.orphans[0].action, OrphanAction::kNotOurs);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(undelegations(), 0u);

  ReconcileOptions opted_in;
  opted_in.include_permission_pools = true;
  ReconcileReport taken = run(opted_in);
  ASSERT_EQ(taken.orphans.size(), 1u);
  EXPECT_EQ(taken.orphans[0].action, OrphanAction::kReclaimed) << taken.orphans[0].detail;
  EXPECT_EQ(on_chain(customer, kReceiver), 0);
  for (const auto& tx : fake.broadcasts()) EXPECT_EQ(tx.permission_id(), 2);
}

TEST_F(ReconcileTest, UnknownPoolIsNotFound) {
  ReconcileOptions options;
  options.pool_id = 999;
  auto report = reconciler().run(options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "not_found");
}

}  // namespace
}  // namespace relay::energy
