// FakePools: in-memory PoolRepository and PoolCapacityRepository (one object, one lock) for pure
// domain unit tests (PoolService, the monitor, leases). It keeps the ports' contracts that tests
// lean on — "conflict" for a second live pool on one address and for removing a pool with open
// reservations, tenant scoping, newest first, deleted pools invisible, older snapshots ignored,
// capacity never over-committed — and nothing more. `failures.fail_next(error)` fails the next
// call of any method. Integration tests use store/ against PostgreSQL instead (*_pg_test).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "energy/pool.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

class FakePools final : public energy::PoolRepository, public energy::PoolCapacityRepository {
 public:
  explicit FakePools(const common::Clock& clock) : clock_(clock) {}

  // --- PoolRepository ------------------------------------------------------------------------
  common::Result<energy::Pool> create(const energy::NewPool& pool) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    for (const auto& [id, existing] : pools_) {
      if (existing.address == pool.address && existing.status != energy::PoolStatus::kDeleted) {
        return common::make_error("conflict", "a pool with this address exists");
      }
    }
    energy::Pool stored{.id = next_pool_id_++,
                        .tenant_id = pool.tenant_id,
                        .address = pool.address,
                        .kind = pool.kind,
                        .name = pool.name,
                        .status = pool.status,
                        .status_reason = "",
                        .permission_id = pool.permission_id,
                        .min_reserve_sun = pool.min_reserve_sun,
                        .max_delegate_sun = pool.max_delegate_sun,
                        .low_energy_alert = pool.low_energy_alert,
                        .permission_txid = std::nullopt,
                        .permission_raw_data = std::nullopt,
                        .permission_tx_broadcast = false,
                        .snapshot = std::nullopt,
                        .created_at = clock_.now(),
                        .updated_at = clock_.now()};
    pools_[stored.id] = stored;
    return stored;
  }
  common::Result<std::optional<energy::Pool>> find(int64_t pool_id,
                                                   std::optional<int64_t> tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, tenant_id);
    if (pool == nullptr) return std::optional<energy::Pool>();
    return std::optional<energy::Pool>(*pool);
  }
  common::Result<std::optional<energy::Pool>> find_by_address(
      const common::Address& address) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    for (const auto& [id, pool] : pools_) {
      if (pool.address == address && pool.status != energy::PoolStatus::kDeleted) {
        return std::optional<energy::Pool>(pool);
      }
    }
    return std::optional<energy::Pool>();
  }
  common::Result<std::vector<energy::Pool>> list(std::optional<int64_t> tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::Pool> out;
    for (auto it = pools_.rbegin(); it != pools_.rend(); ++it) {
      if (it->second.status == energy::PoolStatus::kDeleted) continue;
      if (tenant_id && it->second.tenant_id != *tenant_id) continue;
      out.push_back(it->second);
    }
    return out;
  }
  common::Result<energy::Pool> update(int64_t pool_id, std::optional<int64_t> tenant_id,
                                      const energy::PoolChanges& changes) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, tenant_id);
    if (pool == nullptr) return not_found(pool_id);
    if (changes.name) pool->name = *changes.name;
    if (changes.status) {
      pool->status = *changes.status;
      pool->status_reason.clear();
    }
    if (changes.min_reserve_sun) pool->min_reserve_sun = *changes.min_reserve_sun;
    if (changes.max_delegate_sun) pool->max_delegate_sun = *changes.max_delegate_sun;
    if (changes.clear_max_delegate) pool->max_delegate_sun.reset();
    if (changes.low_energy_alert) pool->low_energy_alert = *changes.low_energy_alert;
    if (changes.clear_low_energy_alert) pool->low_energy_alert.reset();
    pool->updated_at = clock_.now();
    return *pool;
  }
  common::Result<energy::Pool> set_status(int64_t pool_id, energy::PoolStatus status,
                                          const std::string& reason,
                                          std::optional<int32_t> permission_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    if (status == energy::PoolStatus::kDeleted && has_open_reservations(pool_id)) {
      return common::make_error("conflict", "the pool has open reservations");
    }
    pool->status = status;
    pool->status_reason = reason;
    if (permission_id) pool->permission_id = permission_id;
    pool->updated_at = clock_.now();
    return *pool;
  }
  common::Status set_permission_tx(int64_t pool_id, const common::Hash32& txid,
                                   common::ByteView raw_data) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    pool->permission_txid = txid;
    pool->permission_raw_data = common::Bytes(raw_data.begin(), raw_data.end());
    pool->permission_tx_broadcast = false;
    return {};
  }
  common::Status mark_permission_tx_broadcast(int64_t pool_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    if (!pool->permission_txid) return common::make_error("conflict", "no permission tx stored");
    pool->permission_tx_broadcast = true;
    return {};
  }
  common::Status record_snapshot(int64_t pool_id, const energy::PoolSnapshot& snapshot) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    if (pool->snapshot && pool->snapshot->observed_at > snapshot.observed_at) return {};
    pool->snapshot = snapshot;
    return {};
  }
  common::Status remove(int64_t pool_id, std::optional<int64_t> tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, tenant_id);
    if (pool == nullptr) return not_found(pool_id);
    if (has_open_reservations(pool_id)) {
      return common::make_error("conflict", "the pool has open reservations");
    }
    pool->status = energy::PoolStatus::kDeleted;
    pool->updated_at = clock_.now();
    return {};
  }

  // --- PoolCapacityRepository ----------------------------------------------------------------
  common::Result<energy::Reservation> reserve(int64_t pool_id, int64_t stake_sun,
                                              const std::string& reference,
                                              common::TimePoint now) override {
    if (auto e = failures.take()) return *e;
    if (reserve_hook) {
      if (auto e = reserve_hook(pool_id)) return *e;
    }
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    if (pool->status != energy::PoolStatus::kActive || !pool->snapshot) {
      return common::make_error("conflict", "the pool is not active or has no snapshot");
    }
    if (stake_sun < 1) return common::make_error("invalid_request", "stake must be positive");
    if (capacity_of(*pool).free_sun < stake_sun) {
      return common::make_error("insufficient_capacity", "the pool cannot take this stake");
    }
    return add_reservation(pool_id, stake_sun, reference, now);
  }
  common::Result<energy::Reservation> reserve_best_fit(int64_t stake_sun,
                                                       const std::string& reference,
                                                       common::TimePoint now) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    const energy::Pool* best = nullptr;
    int64_t best_free = 0;
    for (const auto& [id, pool] : pools_) {
      if (pool.status != energy::PoolStatus::kActive || !pool.snapshot) continue;
      int64_t free = capacity_of(pool).free_sun;
      if (free >= stake_sun && (best == nullptr || free < best_free)) {
        best = &pool;
        best_free = free;
      }
    }
    if (best == nullptr) {
      return common::make_error("insufficient_capacity", "no pool can take this stake");
    }
    return add_reservation(best->id, stake_sun, reference, now);
  }
  common::Status mark_delegated(int64_t reservation_id, common::TimePoint at) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = reservations_.find(reservation_id);
    if (it == reservations_.end()) return common::make_error("not_found", "no such reservation");
    if (it->second.state == energy::ReservationState::kReleased) {
      return common::make_error("conflict", "the reservation was released");
    }
    if (it->second.state == energy::ReservationState::kReserved) {
      it->second.state = energy::ReservationState::kDelegated;
      it->second.delegated_at = at;
    }
    return {};
  }
  common::Status release(int64_t reservation_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = reservations_.find(reservation_id);
    if (it == reservations_.end()) return common::make_error("not_found", "no such reservation");
    it->second.state = energy::ReservationState::kReleased;
    return {};
  }
  common::Result<energy::PoolCapacity> capacity(int64_t pool_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* pool = live(pool_id, std::nullopt);
    if (pool == nullptr) return not_found(pool_id);
    return capacity_of(*pool);
  }
  common::Result<std::vector<energy::Reservation>> open_reservations(int64_t pool_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::Reservation> out;
    for (const auto& [id, r] : reservations_) {
      if (r.pool_id == pool_id && r.state != energy::ReservationState::kReleased) out.push_back(r);
    }
    return out;
  }
  common::Result<int64_t> max_free_sun() override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    int64_t largest = 0;
    for (const auto& [id, pool] : pools_) {
      if (pool.status != energy::PoolStatus::kActive || !pool.snapshot) continue;
      largest = std::max(largest, capacity_of(pool).free_sun);
    }
    return largest;
  }

  // --- for tests -----------------------------------------------------------------------------
  // The stored row, deleted or not.
  std::optional<energy::Pool> stored(int64_t pool_id) {
    std::lock_guard lock(mutex_);
    auto it = pools_.find(pool_id);
    if (it == pools_.end()) return std::nullopt;
    return it->second;
  }

  FailureSwitch failures;
  // Asked before every reserve() of a given pool; an error fails it (capacity taken meanwhile).
  std::function<std::optional<common::Error>(int64_t pool_id)> reserve_hook;

 private:
  static common::Error not_found(int64_t pool_id) {
    return common::make_error("not_found", "pool " + std::to_string(pool_id) + " not found");
  }
  energy::Pool* live(int64_t pool_id, std::optional<int64_t> tenant_id) {
    auto it = pools_.find(pool_id);
    if (it == pools_.end() || it->second.status == energy::PoolStatus::kDeleted) return nullptr;
    if (tenant_id && it->second.tenant_id != *tenant_id) return nullptr;
    return &it->second;
  }
  bool has_open_reservations(int64_t pool_id) const {
    for (const auto& [id, r] : reservations_) {
      if (r.pool_id == pool_id && r.state != energy::ReservationState::kReleased) return true;
    }
    return false;
  }
  // As pool.h describes: a delegated reservation stops counting once a snapshot observed after
  // its delegation (which then shows it in delegated_out) exists.
  energy::PoolCapacity capacity_of(const energy::Pool& pool) const {
    energy::PoolCapacity out;
    out.pool_id = pool.id;
    if (!pool.snapshot) return out;
    out.delegatable_sun = pool.snapshot->delegatable_sun;
    for (const auto& [id, r] : reservations_) {
      if (r.pool_id != pool.id || r.state == energy::ReservationState::kReleased) continue;
      if (r.state == energy::ReservationState::kDelegated &&
          pool.snapshot->observed_at > *r.delegated_at) {
        continue;
      }
      out.reserved_sun += r.stake_sun;
    }
    out.free_sun = std::max<int64_t>(0, out.delegatable_sun - out.reserved_sun);
    if (pool.status != energy::PoolStatus::kActive) out.free_sun = 0;
    if (pool.max_delegate_sun) {
      int64_t room = *pool.max_delegate_sun - pool.snapshot->delegated_out_sun - out.reserved_sun;
      out.free_sun = std::clamp<int64_t>(room, 0, out.free_sun);
    }
    return out;
  }
  energy::Reservation add_reservation(int64_t pool_id, int64_t stake_sun,
                                      const std::string& reference, common::TimePoint now) {
    energy::Reservation r{.id = next_reservation_id_++,
                          .pool_id = pool_id,
                          .stake_sun = stake_sun,
                          .state = energy::ReservationState::kReserved,
                          .reference = reference,
                          .created_at = now,
                          .delegated_at = std::nullopt};
    reservations_[r.id] = r;
    return r;
  }

  const common::Clock& clock_;
  std::mutex mutex_;
  std::map<int64_t, energy::Pool> pools_;
  std::map<int64_t, energy::Reservation> reservations_;
  int64_t next_pool_id_ = 1;
  int64_t next_reservation_id_ = 1;
};

}  // namespace relay::testing
