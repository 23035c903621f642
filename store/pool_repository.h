// PostgreSQL implementations of energy's PoolRepository and PoolCapacityRepository (tables pools
// and pool_reservations). Every reservation first locks its pool's row, so reservations of one pool
// run one at a time and never promise more than the pool has, however many requests race; pools do
// not wait for each other except in reserve_best_fit, which locks its candidates in id order.
#pragma once

#include "energy/pool.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "not_found" for an unknown tenant in create, and for a missing or
// deleted pool in every call that names one.
class PgPoolRepository final : public energy::PoolRepository {
 public:
  explicit PgPoolRepository(Database& db) : db_(db) {}

  common::Result<energy::Pool> create(const energy::NewPool& pool) override;
  common::Result<std::optional<energy::Pool>> find(int64_t pool_id,
                                                   std::optional<int64_t> tenant_id) override;
  // The live (not deleted) pool with this address.
  common::Result<std::optional<energy::Pool>> find_by_address(
      const common::Address& address) override;
  common::Result<std::vector<energy::Pool>> list(std::optional<int64_t> tenant_id) override;
  // A status change through here clears status_reason (the reason of an earlier suspension no
  // longer applies once the operator chose the status).
  common::Result<energy::Pool> update(int64_t pool_id, std::optional<int64_t> tenant_id,
                                      const energy::PoolChanges& changes) override;
  // To kDeleted: as remove(), "conflict" while reservations are open.
  common::Result<energy::Pool> set_status(int64_t pool_id, energy::PoolStatus status,
                                          const std::string& reason,
                                          std::optional<int32_t> permission_id) override;
  // Replaces any earlier permission tx and clears its broadcast flag.
  common::Status set_permission_tx(int64_t pool_id, const common::Hash32& txid,
                                   common::ByteView raw_data) override;
  // "conflict" when no permission tx was stored.
  common::Status mark_permission_tx_broadcast(int64_t pool_id) override;
  // A snapshot observed before the stored one is ignored: with several daemons refreshing, the
  // slower read must not replace the newer.
  common::Status record_snapshot(int64_t pool_id, const energy::PoolSnapshot& snapshot) override;
  common::Status remove(int64_t pool_id, std::optional<int64_t> tenant_id) override;

 private:
  Database& db_;
};

// Errors besides the port's: "invalid_request" for a stake below 1 sun; "not_found" for an unknown
// reservation or a missing/deleted pool; "conflict" for marking a released reservation delegated.
// mark_delegated and release are idempotent (a retried job repeats them): marking a delegated
// reservation again keeps its first delegated_at, releasing a released one does nothing.
class PgPoolCapacityRepository final : public energy::PoolCapacityRepository {
 public:
  explicit PgPoolCapacityRepository(Database& db) : db_(db) {}

  common::Result<energy::Reservation> reserve(int64_t pool_id, int64_t stake_sun,
                                              const std::string& reference,
                                              common::TimePoint now) override;
  // Among equally tight fits, the lowest pool id.
  common::Result<energy::Reservation> reserve_best_fit(int64_t stake_sun,
                                                       const std::string& reference,
                                                       common::TimePoint now) override;
  common::Status mark_delegated(int64_t reservation_id, common::TimePoint at) override;
  common::Status release(int64_t reservation_id) override;
  // free_sun is 0 for a pool that is not active or has no snapshot: what reserve() would grant.
  common::Result<energy::PoolCapacity> capacity(int64_t pool_id) override;
  // Reserved and delegated, oldest first.
  common::Result<std::vector<energy::Reservation>> open_reservations(int64_t pool_id) override;
  // One unlocked read of every active pool with a snapshot.
  common::Result<int64_t> max_free_sun() override;

 private:
  Database& db_;
};

}  // namespace relay::store
