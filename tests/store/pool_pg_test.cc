#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "store/pool_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::TimePoint;
using energy::NewPool;
using energy::Pool;
using energy::PoolChanges;
using energy::PoolKind;
using energy::PoolSnapshot;
using energy::PoolStatus;
using energy::ReservationState;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();

// A fresh account for every pool: the main database outlives each test.
const auto new_address = testing::random_address;

PoolSnapshot snapshot_at(TimePoint at, int64_t delegatable, int64_t delegated_out = 0) {
  PoolSnapshot s;
  s.observed_at = at;
  s.balance_sun = 50'000'000;
  s.staked_energy_sun = delegatable;
  s.delegated_out_sun = delegated_out;
  s.delegatable_sun = delegatable;
  s.energy_limit = 123'456;
  s.energy_available = -7;  // usage above the limit happens on chain
  s.net_available = 4'321;
  return s;
}

// Repositories over one Database, with helpers to make an active pool of a given capacity.
struct PoolFixture {
  explicit PoolFixture(Database& db) : tenants(db), pools(db), capacity(db) {}

  int64_t new_tenant(const std::string& name = "pool-test") {
    auto tenant = tenants.create(name);
    EXPECT_TRUE(tenant.ok()) << tenant.error().message;
    return tenant.ok() ? tenant->id : 0;
  }

  Pool new_pool(int64_t tenant, PoolStatus status = PoolStatus::kPending) {
    NewPool p;
    p.tenant_id = tenant;
    p.address = new_address();
    p.kind = PoolKind::kOwn;
    p.name = "pool";
    p.status = status;
    auto pool = pools.create(p);
    EXPECT_TRUE(pool.ok()) << pool.error().message;
    return pool.ok() ? *pool : Pool{};
  }

  // Active, with a snapshot at kT0 saying `delegatable` sun can be delegated.
  int64_t active_pool(int64_t tenant, int64_t delegatable, int64_t delegated_out = 0) {
    const int64_t id = new_pool(tenant, PoolStatus::kActive).id;
    EXPECT_TRUE(pools.record_snapshot(id, snapshot_at(kT0, delegatable, delegated_out)).ok());
    return id;
  }

  int64_t free_of(int64_t pool_id) {
    auto c = capacity.capacity(pool_id);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? c->free_sun : -1;
  }

  PgTenantRepository tenants;
  PgPoolRepository pools;
  PgPoolCapacityRepository capacity;
};

class PoolPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    f_ = std::make_unique<PoolFixture>(db());
  }

  // reserve_best_fit looks at every active pool in the database: its tests get one of their own.
  std::unique_ptr<Database> isolated_database(int size) {
    auto opened = Database::open(fresh_migrated_database_url(), size);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Stake of reserved + delegated reservations, straight from the table.
  int64_t open_stake(int64_t pool_id) {
    return std::stoll(scalar(
        "SELECT coalesce(sum(stake_sun), 0) FROM pool_reservations WHERE state <> 'released' "
        "AND pool_id = " +
        std::to_string(pool_id)));
  }

  std::unique_ptr<PoolFixture> f_;
};

TEST_F(PoolPgTest, CreatesFindsAndListsPoolsPerTenant) {
  const int64_t t = f_->new_tenant("acme");
  const int64_t other = f_->new_tenant("other");
  NewPool np;
  np.tenant_id = t;
  np.address = new_address();
  np.kind = PoolKind::kPermission;
  np.name = "main stake";
  np.min_reserve_sun = 5'000'000;
  np.max_delegate_sun = 9'000'000'000;
  np.low_energy_alert = 100'000;
  auto created = f_->pools.create(np);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Pool& a = *created;
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.tenant_id, t);
  EXPECT_EQ(a.address, np.address);
  EXPECT_EQ(a.kind, PoolKind::kPermission);
  EXPECT_EQ(a.name, "main stake");
  EXPECT_EQ(a.status, PoolStatus::kPending);
  EXPECT_EQ(a.status_reason, "");
  EXPECT_FALSE(a.permission_id.has_value());
  EXPECT_EQ(a.min_reserve_sun, 5'000'000);
  EXPECT_EQ(a.max_delegate_sun, 9'000'000'000);
  EXPECT_EQ(a.low_energy_alert, 100'000);
  EXPECT_FALSE(a.permission_txid.has_value());
  EXPECT_FALSE(a.permission_raw_data.has_value());
  EXPECT_FALSE(a.permission_tx_broadcast);
  EXPECT_FALSE(a.snapshot.has_value());
  EXPECT_EQ(a.created_at, a.updated_at);
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - a.created_at),
            std::chrono::minutes(5));

  const Pool b = f_->new_pool(t);
  const Pool c = f_->new_pool(other);
  EXPECT_EQ(b.kind, PoolKind::kOwn);
  EXPECT_FALSE(b.max_delegate_sun.has_value());
  EXPECT_FALSE(b.low_energy_alert.has_value());

  for (std::optional<int64_t> tenant : {std::optional<int64_t>(t), std::optional<int64_t>()}) {
    auto found = f_->pools.find(a.id, tenant);
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->address, np.address);
    EXPECT_EQ((*found)->created_at, a.created_at);
    EXPECT_EQ((*found)->max_delegate_sun, 9'000'000'000);
  }
  // Another tenant's pool is not there for it.
  auto hidden = f_->pools.find(a.id, other);
  ASSERT_TRUE(hidden.ok());
  EXPECT_FALSE(hidden->has_value());
  auto missing = f_->pools.find(c.id + 1'000'000, std::nullopt);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto by_address = f_->pools.find_by_address(np.address);
  ASSERT_TRUE(by_address.ok() && by_address->has_value());
  EXPECT_EQ((*by_address)->id, a.id);
  auto unknown = f_->pools.find_by_address(new_address());
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());

  auto mine = f_->pools.list(t);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, b.id);  // newest first
  EXPECT_EQ((*mine)[1].id, a.id);
  auto theirs = f_->pools.list(other);
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ((*theirs)[0].id, c.id);
  auto all = f_->pools.list(std::nullopt);
  ASSERT_TRUE(all.ok());
  int seen = 0;
  for (const auto& p : *all) seen += (p.id == a.id || p.id == b.id || p.id == c.id);
  EXPECT_EQ(seen, 3);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_GT((*all)[i - 1].id, (*all)[i].id);
}

TEST_F(PoolPgTest, RefusesADuplicateLiveAddressAndAnUnknownTenant) {
  const int64_t t = f_->new_tenant();
  const int64_t other = f_->new_tenant();
  const Pool a = f_->new_pool(t);
  NewPool again;
  again.tenant_id = other;  // whoever asks: one live pool per account
  again.address = a.address;
  again.name = "copy";
  auto dup = f_->pools.create(again);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "conflict");

  NewPool orphan;
  orphan.tenant_id = other + 1'000'000;
  orphan.address = new_address();
  auto no_tenant = f_->pools.create(orphan);
  ASSERT_FALSE(no_tenant.ok());
  EXPECT_EQ(no_tenant.error().code, "not_found");

  // Once deleted, the address is free again; the deleted row stays as history.
  ASSERT_TRUE(f_->pools.remove(a.id, t).ok());
  auto reused = f_->pools.create(again);
  ASSERT_TRUE(reused.ok()) << reused.error().message;
  auto by_address = f_->pools.find_by_address(a.address);
  ASSERT_TRUE(by_address.ok() && by_address->has_value());
  EXPECT_EQ((*by_address)->id, reused->id);
  EXPECT_EQ(scalar("SELECT status FROM pools WHERE id = " + std::to_string(a.id)), "deleted");
}

TEST_F(PoolPgTest, UpdateSetStatusAndPermissionTx) {
  const int64_t t = f_->new_tenant();
  const int64_t other = f_->new_tenant();
  Pool p = f_->new_pool(t);

  auto suspended = f_->pools.set_status(p.id, PoolStatus::kSuspended, "permission revoked", 3);
  ASSERT_TRUE(suspended.ok()) << suspended.error().message;
  EXPECT_EQ(suspended->status, PoolStatus::kSuspended);
  EXPECT_EQ(suspended->status_reason, "permission revoked");
  EXPECT_EQ(suspended->permission_id, 3);
  EXPECT_GE(suspended->updated_at, p.updated_at);
  // Without a permission id, the stored one stays.
  auto active = f_->pools.set_status(p.id, PoolStatus::kActive, "", std::nullopt);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->permission_id, 3);
  EXPECT_EQ(active->status_reason, "");
  EXPECT_EQ(f_->pools.set_status(p.id + 1'000'000, PoolStatus::kActive, "", 2).error().code,
            "not_found");

  PoolChanges limits;
  limits.name = "renamed";
  limits.min_reserve_sun = 7;
  limits.max_delegate_sun = 1'000;
  limits.low_energy_alert = 2'000;
  auto changed = f_->pools.update(p.id, t, limits);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(changed->name, "renamed");
  EXPECT_EQ(changed->min_reserve_sun, 7);
  EXPECT_EQ(changed->max_delegate_sun, 1'000);
  EXPECT_EQ(changed->low_energy_alert, 2'000);
  EXPECT_EQ(changed->status, PoolStatus::kActive);

  // Empty fields stay; clear_* empties a limit.
  PoolChanges clear;
  clear.clear_max_delegate = true;
  auto cleared = f_->pools.update(p.id, std::nullopt, clear);
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->max_delegate_sun.has_value());
  EXPECT_EQ(cleared->low_energy_alert, 2'000);
  EXPECT_EQ(cleared->name, "renamed");
  clear = PoolChanges{};
  clear.clear_low_energy_alert = true;
  cleared = f_->pools.update(p.id, t, clear);
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->low_energy_alert.has_value());
  EXPECT_EQ(cleared->min_reserve_sun, 7);

  // The operator choosing a status clears the monitor's reason.
  ASSERT_TRUE(f_->pools.set_status(p.id, PoolStatus::kSuspended, "balance low", std::nullopt).ok());
  PoolChanges disable;
  disable.status = PoolStatus::kDisabled;
  auto disabled = f_->pools.update(p.id, t, disable);
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->status, PoolStatus::kDisabled);
  EXPECT_EQ(disabled->status_reason, "");

  // Another tenant's pool cannot be changed.
  auto foreign = f_->pools.update(p.id, other, limits);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, "not_found");

  EXPECT_EQ(f_->pools.mark_permission_tx_broadcast(p.id).error().code, "conflict");
  common::Hash32 txid{};
  for (size_t i = 0; i < txid.size(); ++i) txid[i] = static_cast<uint8_t>(i * 7);
  const common::Bytes raw = {0x0a, 0x02, 0x00, 0xff, 0x10};
  ASSERT_TRUE(f_->pools.set_permission_tx(p.id, txid, raw).ok());
  auto with_tx = f_->pools.find(p.id, t);
  ASSERT_TRUE(with_tx.ok() && with_tx->has_value());
  EXPECT_EQ((*with_tx)->permission_txid, txid);
  EXPECT_EQ((*with_tx)->permission_raw_data, raw);
  EXPECT_FALSE((*with_tx)->permission_tx_broadcast);
  ASSERT_TRUE(f_->pools.mark_permission_tx_broadcast(p.id).ok());
  with_tx = f_->pools.find(p.id, t);
  EXPECT_TRUE((*with_tx)->permission_tx_broadcast);
  // A regenerated tx starts unbroadcast.
  txid[0] ^= 1;
  ASSERT_TRUE(f_->pools.set_permission_tx(p.id, txid, raw).ok());
  with_tx = f_->pools.find(p.id, t);
  EXPECT_EQ((*with_tx)->permission_txid, txid);
  EXPECT_FALSE((*with_tx)->permission_tx_broadcast);
  EXPECT_EQ(f_->pools.set_permission_tx(p.id + 1'000'000, txid, raw).error().code, "not_found");
  EXPECT_EQ(f_->pools.mark_permission_tx_broadcast(p.id + 1'000'000).error().code, "not_found");
}

TEST_F(PoolPgTest, RecordsSnapshotsKeepingTheNewest) {
  const int64_t t = f_->new_tenant();
  const Pool p = f_->new_pool(t);
  const PoolSnapshot first = snapshot_at(kT0 + seconds(10), 4'000, 1'000);
  ASSERT_TRUE(f_->pools.record_snapshot(p.id, first).ok());
  auto found = f_->pools.find(p.id, t);
  ASSERT_TRUE(found.ok() && found->has_value() && (*found)->snapshot.has_value());
  const PoolSnapshot& s = *(*found)->snapshot;
  EXPECT_EQ(s.observed_at, first.observed_at);
  EXPECT_EQ(s.balance_sun, first.balance_sun);
  EXPECT_EQ(s.staked_energy_sun, 4'000);
  EXPECT_EQ(s.delegated_out_sun, 1'000);
  EXPECT_EQ(s.delegatable_sun, 4'000);
  EXPECT_EQ(s.energy_limit, 123'456);
  EXPECT_EQ(s.energy_available, -7);
  EXPECT_EQ(s.net_available, 4'321);

  // A slower refresh that started earlier does not replace it.
  ASSERT_TRUE(f_->pools.record_snapshot(p.id, snapshot_at(kT0, 9'999)).ok());
  found = f_->pools.find(p.id, t);
  EXPECT_EQ((*found)->snapshot->delegatable_sun, 4'000);
  ASSERT_TRUE(f_->pools.record_snapshot(p.id, snapshot_at(kT0 + seconds(11), 3'000)).ok());
  found = f_->pools.find(p.id, t);
  EXPECT_EQ((*found)->snapshot->delegatable_sun, 3'000);
  EXPECT_EQ((*found)->snapshot->observed_at, kT0 + seconds(11));

  EXPECT_EQ(f_->pools.record_snapshot(p.id + 1'000'000, first).error().code, "not_found");
}

TEST_F(PoolPgTest, RemoveWaitsForOpenReservations) {
  const int64_t t = f_->new_tenant();
  const int64_t other = f_->new_tenant();
  const int64_t pool = f_->active_pool(t, 1'000);
  auto r = f_->capacity.reserve(pool, 100, "lease:1", kT0);
  ASSERT_TRUE(r.ok()) << r.error().message;

  EXPECT_EQ(f_->pools.remove(pool, t).error().code, "conflict");
  EXPECT_EQ(f_->pools.set_status(pool, PoolStatus::kDeleted, "", std::nullopt).error().code,
            "conflict");
  PoolChanges del;
  del.status = PoolStatus::kDeleted;
  EXPECT_EQ(f_->pools.update(pool, t, del).error().code, "conflict");
  ASSERT_TRUE(f_->capacity.mark_delegated(r->id, kT0 + seconds(1)).ok());
  EXPECT_EQ(f_->pools.remove(pool, t).error().code, "conflict");
  EXPECT_EQ(f_->pools.remove(pool, other).error().code, "not_found");
  ASSERT_TRUE(f_->capacity.release(r->id).ok());

  ASSERT_TRUE(f_->pools.remove(pool, t).ok());
  auto gone = f_->pools.find(pool, std::nullopt);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto listed = f_->pools.list(t);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(f_->pools.remove(pool, t).error().code, "not_found");
  EXPECT_EQ(f_->capacity.reserve(pool, 1, "x", kT0).error().code, "not_found");
  EXPECT_EQ(f_->capacity.capacity(pool).error().code, "not_found");
  EXPECT_EQ(f_->capacity.open_reservations(pool).error().code, "not_found");
  EXPECT_EQ(f_->pools.record_snapshot(pool, snapshot_at(kT0, 1)).error().code, "not_found");
  PoolChanges rename;
  rename.name = "zombie";
  EXPECT_EQ(f_->pools.update(pool, std::nullopt, rename).error().code, "not_found");
}

TEST_F(PoolPgTest, ReserveOnlyFromActivePoolsWithASnapshot) {
  const int64_t t = f_->new_tenant();
  const Pool pending = f_->new_pool(t);
  ASSERT_TRUE(f_->pools.record_snapshot(pending.id, snapshot_at(kT0, 1'000)).ok());
  auto refused = f_->capacity.reserve(pending.id, 10, "x", kT0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "conflict");
  auto cap = f_->capacity.capacity(pending.id);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->delegatable_sun, 1'000);
  EXPECT_EQ(cap->free_sun, 0);  // nothing can be promised from it

  for (PoolStatus s : {PoolStatus::kSuspended, PoolStatus::kDisabled}) {
    ASSERT_TRUE(f_->pools.set_status(pending.id, s, "why", std::nullopt).ok());
    EXPECT_EQ(f_->capacity.reserve(pending.id, 10, "x", kT0).error().code, "conflict");
  }
  ASSERT_TRUE(f_->pools.set_status(pending.id, PoolStatus::kActive, "", std::nullopt).ok());
  EXPECT_TRUE(f_->capacity.reserve(pending.id, 10, "x", kT0).ok());

  const Pool blind = f_->new_pool(t, PoolStatus::kActive);  // never refreshed
  auto none = f_->capacity.reserve(blind.id, 1, "x", kT0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "insufficient_capacity");
  cap = f_->capacity.capacity(blind.id);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->delegatable_sun, 0);
  EXPECT_EQ(cap->free_sun, 0);

  EXPECT_EQ(f_->capacity.reserve(blind.id + 1'000'000, 1, "x", kT0).error().code, "not_found");
  EXPECT_EQ(f_->capacity.capacity(blind.id + 1'000'000).error().code, "not_found");
  for (int64_t bad : {int64_t{0}, int64_t{-5}}) {
    EXPECT_EQ(f_->capacity.reserve(pending.id, bad, "x", kT0).error().code, "invalid_request");
    EXPECT_EQ(f_->capacity.reserve_best_fit(bad, "x", kT0).error().code, "invalid_request");
  }
}

TEST_F(PoolPgTest, CapacityCountsWhatTheSnapshotCannotShowYet) {
  const int64_t t = f_->new_tenant();
  const int64_t pool = f_->active_pool(t, 1'000, 500);  // snapshot observed at kT0
  auto cap = f_->capacity.capacity(pool);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->pool_id, pool);
  EXPECT_EQ(cap->delegatable_sun, 1'000);
  EXPECT_EQ(cap->reserved_sun, 0);
  EXPECT_EQ(cap->free_sun, 1'000);

  auto a = f_->capacity.reserve(pool, 300, "lease:a", kT0 + seconds(1));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->pool_id, pool);
  EXPECT_EQ(a->stake_sun, 300);
  EXPECT_EQ(a->state, ReservationState::kReserved);
  EXPECT_EQ(a->reference, "lease:a");
  EXPECT_EQ(a->created_at, kT0 + seconds(1));
  EXPECT_FALSE(a->delegated_at.has_value());
  EXPECT_EQ(f_->free_of(pool), 700);

  // Delegated after the snapshot's read began: the snapshot cannot show it, it still counts.
  ASSERT_TRUE(f_->capacity.mark_delegated(a->id, kT0 + seconds(2)).ok());
  cap = f_->capacity.capacity(pool);
  EXPECT_EQ(cap->reserved_sun, 300);
  EXPECT_EQ(cap->free_sun, 700);
  auto more = f_->capacity.reserve(pool, 701, "lease:b", kT0 + seconds(3));
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, "insufficient_capacity");

  // A refresh that began after the delegation shows it on chain: it stops counting.
  ASSERT_TRUE(f_->pools.record_snapshot(pool, snapshot_at(kT0 + seconds(5), 700, 800)).ok());
  cap = f_->capacity.capacity(pool);
  EXPECT_EQ(cap->delegatable_sun, 700);
  EXPECT_EQ(cap->reserved_sun, 0);
  EXPECT_EQ(cap->free_sun, 700);

  // Delegated exactly when the read began: it may have missed it, so it counts.
  auto b = f_->capacity.reserve(pool, 200, "lease:b", kT0 + seconds(5));
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(f_->capacity.mark_delegated(b->id, kT0 + seconds(5)).ok());
  EXPECT_EQ(f_->free_of(pool), 500);
  // Delegated before it: shown, not counted.
  auto c = f_->capacity.reserve(pool, 100, "lease:c", kT0 + seconds(5));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(f_->free_of(pool), 400);
  ASSERT_TRUE(f_->capacity.mark_delegated(c->id, kT0 + seconds(4)).ok());
  EXPECT_EQ(f_->free_of(pool), 500);
  ASSERT_TRUE(f_->capacity.release(b->id).ok());
  EXPECT_EQ(f_->free_of(pool), 700);

  // max_delegate caps stake delegated out plus what is promised: 1'200 − (800 + 0) = 400.
  PoolChanges cap_it;
  cap_it.max_delegate_sun = 1'200;
  ASSERT_TRUE(f_->pools.update(pool, t, cap_it).ok());
  EXPECT_EQ(f_->free_of(pool), 400);
  auto d = f_->capacity.reserve(pool, 150, "lease:d", kT0 + seconds(6));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(f_->free_of(pool), 250);  // min(700 − 150, 1'200 − 950)
  EXPECT_EQ(f_->capacity.reserve(pool, 251, "x", kT0).error().code, "insufficient_capacity");
  ASSERT_TRUE(f_->capacity.reserve(pool, 250, "lease:e", kT0 + seconds(6)).ok());
  EXPECT_EQ(f_->free_of(pool), 0);
  // A cap below what is already out never goes negative.
  cap_it.max_delegate_sun = 100;
  ASSERT_TRUE(f_->pools.update(pool, t, cap_it).ok());
  cap = f_->capacity.capacity(pool);
  EXPECT_EQ(cap->free_sun, 0);
  EXPECT_EQ(cap->reserved_sun, 400);
  PoolChanges uncap;
  uncap.clear_max_delegate = true;
  ASSERT_TRUE(f_->pools.update(pool, t, uncap).ok());
  EXPECT_EQ(f_->free_of(pool), 300);  // 700 − 400
  // The delegatable figure itself caps too: a snapshot below the promises leaves nothing.
  ASSERT_TRUE(f_->pools.record_snapshot(pool, snapshot_at(kT0 + seconds(7), 100, 800)).ok());
  EXPECT_EQ(f_->free_of(pool), 0);
}

TEST_F(PoolPgTest, ReservationsMoveForwardIdempotently) {
  const int64_t t = f_->new_tenant();
  const int64_t pool = f_->active_pool(t, 1'000);
  auto a = f_->capacity.reserve(pool, 100, "lease:1", kT0);
  auto b = f_->capacity.reserve(pool, 200, "relay:2", kT0 + seconds(1));
  auto c = f_->capacity.reserve(pool, 300, "lease:3", kT0 + seconds(2));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());

  ASSERT_TRUE(f_->capacity.mark_delegated(b->id, kT0 + seconds(5)).ok());
  // Repeated by a retried job: the first time stays.
  ASSERT_TRUE(f_->capacity.mark_delegated(b->id, kT0 + seconds(9)).ok());
  ASSERT_TRUE(f_->capacity.release(c->id).ok());
  ASSERT_TRUE(f_->capacity.release(c->id).ok());
  EXPECT_EQ(f_->capacity.mark_delegated(c->id, kT0).error().code, "conflict");
  EXPECT_EQ(f_->capacity.mark_delegated(c->id + 1'000'000, kT0).error().code, "not_found");
  EXPECT_EQ(f_->capacity.release(c->id + 1'000'000).error().code, "not_found");

  auto open = f_->capacity.open_reservations(pool);
  ASSERT_TRUE(open.ok()) << open.error().message;
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].id, a->id);
  EXPECT_EQ((*open)[0].state, ReservationState::kReserved);
  EXPECT_EQ((*open)[0].reference, "lease:1");
  EXPECT_EQ((*open)[1].id, b->id);
  EXPECT_EQ((*open)[1].state, ReservationState::kDelegated);
  EXPECT_EQ((*open)[1].delegated_at, kT0 + seconds(5));
  EXPECT_EQ((*open)[1].created_at, kT0 + seconds(1));

  const int64_t empty = f_->active_pool(t, 1);
  auto none = f_->capacity.open_reservations(empty);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // The table refuses what the repository never does: going back, changing a stake, deleting.
  const std::string of_c = " WHERE id = " + std::to_string(c->id);
  const std::string of_a = " WHERE id = " + std::to_string(a->id);
  for (const std::string& sql :
       {"UPDATE pool_reservations SET state = 'reserved', released_at = NULL" + of_c,
        "UPDATE pool_reservations SET stake_sun = 1" + of_a,
        "UPDATE pool_reservations SET pool_id = " + std::to_string(empty) + of_a,
        "DELETE FROM pool_reservations" + of_a,
        "DELETE FROM pools WHERE id = " + std::to_string(empty)}) {
    EXPECT_ANY_THROW(scalar(sql)) << sql;
  }
  EXPECT_EQ(open_stake(pool), 300);
}

TEST_F(PoolPgTest, FiftyConcurrentReservationsNeverOverCommit) {
  auto own = Database::open(url(), 50);  // one connection per thread: they really race
  ASSERT_TRUE(own.ok());
  PoolFixture f(**own);
  const int64_t t = f.new_tenant();
  constexpr int64_t kStake = 1'000'000;
  const int64_t pool = f.active_pool(t, 20 * kStake + kStake / 2);
  std::atomic<int> reserved{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      auto r = f.capacity.reserve(pool, kStake, "race:" + std::to_string(i), kT0);
      if (r.ok()) {
        ++reserved;
      } else if (r.error().code == "insufficient_capacity") {
        ++refused;
      } else {
        ADD_FAILURE() << r.error().code << ": " << r.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(reserved.load(), 20);
  EXPECT_EQ(refused.load(), 30);
  EXPECT_EQ(open_stake(pool), 20 * kStake);
  EXPECT_EQ(f.free_of(pool), kStake / 2);
}

TEST_F(PoolPgTest, BestFitPicksTheTightestPoolThatFits) {
  auto own = isolated_database(4);
  ASSERT_NE(own, nullptr);
  PoolFixture f(*own);
  const int64_t t = f.new_tenant();
  const int64_t a = f.active_pool(t, 500);
  const int64_t b = f.active_pool(t, 300);
  const int64_t c = f.active_pool(t, 1'000);
  const int64_t d = f.active_pool(t, 300);  // as tight as b: the lower id wins
  const int64_t disabled = f.active_pool(t, 260);
  ASSERT_TRUE(f.pools.set_status(disabled, PoolStatus::kDisabled, "paused", std::nullopt).ok());
  f.new_pool(t, PoolStatus::kActive);  // no snapshot
  const int64_t pending = f.new_pool(t).id;
  ASSERT_TRUE(f.pools.record_snapshot(pending, snapshot_at(kT0, 255)).ok());

  auto r = f.capacity.reserve_best_fit(250, "lease:1", kT0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pool_id, b);
  EXPECT_EQ(r->stake_sun, 250);
  EXPECT_EQ(r->reference, "lease:1");
  r = f.capacity.reserve_best_fit(250, "lease:2", kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pool_id, d);
  r = f.capacity.reserve_best_fit(40, "lease:3", kT0);  // b and d have 50 left
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pool_id, b);
  r = f.capacity.reserve_best_fit(250, "lease:4", kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pool_id, a);
  r = f.capacity.reserve_best_fit(600, "lease:5", kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pool_id, c);
  auto none = f.capacity.reserve_best_fit(401, "lease:6", kT0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "insufficient_capacity");
}

TEST_F(PoolPgTest, ConcurrentBestFitAcrossPoolsNeverOverCommits) {
  auto own = isolated_database(60);
  ASSERT_NE(own, nullptr);
  PoolFixture f(*own);
  const int64_t t = f.new_tenant();
  constexpr int64_t kStake = 1'000;
  // 7 + 5 + 8 + 0 whole stakes fit.
  const std::map<int64_t, int64_t> delegatable = {
      {f.active_pool(t, 7 * kStake), 7 * kStake},
      {f.active_pool(t, 5 * kStake + kStake / 2), 5 * kStake + kStake / 2},
      {f.active_pool(t, 8 * kStake), 8 * kStake},
      {f.active_pool(t, kStake - 1), kStake - 1}};
  std::atomic<int> reserved{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 60; ++i) {
    threads.emplace_back([&, i] {
      // A third reserve from a named pool, to race the best-fit locks against single-pool ones.
      auto r = i % 3 == 0 ? f.capacity.reserve(std::next(delegatable.begin(), i % 4)->first, kStake,
                                               "named", kT0)
                          : f.capacity.reserve_best_fit(kStake, "fit", kT0);
      if (r.ok()) {
        ++reserved;
      } else if (r.error().code == "insufficient_capacity") {
        ++refused;
      } else {
        ADD_FAILURE() << r.error().code << ": " << r.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  // Named reserves may leave a pool's remainder unused, never more than delegatable per pool.
  EXPECT_EQ(reserved.load() + refused.load(), 60);
  EXPECT_LE(reserved.load(), 20);
  for (const auto& [pool, cap] : delegatable) {
    auto c = f.capacity.capacity(pool);
    ASSERT_TRUE(c.ok());
    EXPECT_LE(c->reserved_sun, cap) << "pool " << pool;
    EXPECT_EQ(c->free_sun, cap - c->reserved_sun);
    EXPECT_LT(c->free_sun, kStake) << "pool " << pool << " still had room";
  }

  // Best fit alone fills every pool exactly.
  auto fresh = isolated_database(50);
  ASSERT_NE(fresh, nullptr);
  PoolFixture g(*fresh);
  const int64_t u = g.new_tenant();
  const std::vector<int64_t> caps = {7 * kStake, 5 * kStake + kStake / 2, 8 * kStake, kStake - 1};
  std::vector<int64_t> ids;
  for (int64_t cap : caps) ids.push_back(g.active_pool(u, cap));
  reserved = 0;
  refused = 0;
  threads.clear();
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      auto r = g.capacity.reserve_best_fit(kStake, "fit", kT0);
      if (r.ok()) {
        ++reserved;
      } else if (r.error().code == "insufficient_capacity") {
        ++refused;
      } else {
        ADD_FAILURE() << r.error().code << ": " << r.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(reserved.load(), 20);
  EXPECT_EQ(refused.load(), 30);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto c = g.capacity.capacity(ids[i]);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->reserved_sun, caps[i] / kStake * kStake) << "pool " << ids[i];
  }
}

}  // namespace
}  // namespace relay::store
