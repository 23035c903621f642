// Pools: the TRON accounts whose staked TRX tronrelay delegates, and the capacity bookkeeping that
// keeps concurrent leases and relays from promising the same stake twice. PoolRepository and
// PoolCapacity are ports the store implements (each method one database transaction); PoolService
// (pool_service.h) holds the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/units.h"

namespace relay::energy {

// own: tronrelay holds the owner key (a key file per pool). permission: the customer keeps the
// owner key and grants our relayer key an active permission limited to DelegateResource and
// UnDelegateResource.
enum class PoolKind { kOwn, kPermission };
std::string pool_kind_name(PoolKind kind);
std::optional<PoolKind> pool_kind_from_name(std::string_view name);

// pending: registered, not yet usable (permission pools wait for their permission). active: leases
// may draw from it. suspended: something on chain broke a promise (permission revoked or altered,
// TRX for bandwidth below min_reserve); the monitor set it and says why. disabled: the operator
// paused it. deleted: soft-deleted, kept for history.
enum class PoolStatus { kPending, kActive, kSuspended, kDisabled, kDeleted };
std::string pool_status_name(PoolStatus status);
std::optional<PoolStatus> pool_status_from_name(std::string_view name);

// What the last refresh read on chain (all sun unless named otherwise).
struct PoolSnapshot {
  common::TimePoint observed_at;  // when the chain read started
  int64_t balance_sun = 0;        // TRX for bandwidth and fees
  int64_t staked_energy_sun = 0;  // own FreezeV2 ENERGY still held (not delegated away)
  int64_t delegated_out_sun = 0;  // energy stake delegated to others, ours or not
  int64_t delegatable_sun = 0;    // getcandelegatedmaxsize(ENERGY)
  int64_t energy_limit = 0;       // energy units
  int64_t energy_available = 0;   // energy units: limit − decayed usage
  int64_t net_available = 0;      // staked + free bandwidth left, bytes
};

struct Pool {
  int64_t id = 0;
  int64_t tenant_id = 0;
  common::Address address;
  PoolKind kind = PoolKind::kPermission;
  std::string name;
  PoolStatus status = PoolStatus::kPending;
  std::string status_reason;                // why suspended/disabled; empty otherwise
  std::optional<int32_t> permission_id;     // permission pools once confirmed; own pools use 0
  int64_t min_reserve_sun = 0;              // suspend when the TRX balance falls below this
  std::optional<int64_t> max_delegate_sun;  // cap on stake delegated through tronrelay
  std::optional<int64_t> low_energy_alert;  // energy units; alert below this
  // The unsigned AccountPermissionUpdate we generated (permission pools), for /broadcast to check
  // that what comes back signed is exactly it.
  std::optional<common::Hash32> permission_txid;
  std::optional<common::Bytes> permission_raw_data;
  bool permission_tx_broadcast = false;
  std::optional<PoolSnapshot> snapshot;
  common::TimePoint created_at;
  common::TimePoint updated_at;
};

struct NewPool {
  int64_t tenant_id = 0;
  common::Address address;
  PoolKind kind = PoolKind::kPermission;
  std::string name;
  PoolStatus status = PoolStatus::kPending;
  std::optional<int32_t> permission_id;
  int64_t min_reserve_sun = 0;
  std::optional<int64_t> max_delegate_sun;
  std::optional<int64_t> low_energy_alert;
};

// PATCH: fields left empty are unchanged. Clearing an optional limit is `clear_*`.
struct PoolChanges {
  std::optional<std::string> name;
  std::optional<PoolStatus> status;  // only active <-> disabled from the API
  std::optional<int64_t> min_reserve_sun;
  std::optional<int64_t> max_delegate_sun;
  bool clear_max_delegate = false;
  std::optional<int64_t> low_energy_alert;
  bool clear_low_energy_alert = false;
};

class PoolRepository {
 public:
  virtual ~PoolRepository() = default;
  // "conflict" when a pool (not deleted) already has this address.
  virtual common::Result<Pool> create(const NewPool& pool) = 0;
  // With `tenant_id`, another tenant's pool is not found. Deleted pools are not found.
  virtual common::Result<std::optional<Pool>> find(int64_t pool_id,
                                                   std::optional<int64_t> tenant_id) = 0;
  virtual common::Result<std::optional<Pool>> find_by_address(const common::Address& address) = 0;
  // Newest first; all tenants when `tenant_id` is empty; deleted pools left out.
  virtual common::Result<std::vector<Pool>> list(std::optional<int64_t> tenant_id) = 0;
  virtual common::Result<Pool> update(int64_t pool_id, std::optional<int64_t> tenant_id,
                                      const PoolChanges& changes) = 0;
  virtual common::Result<Pool> set_status(int64_t pool_id, PoolStatus status,
                                          const std::string& reason,
                                          std::optional<int32_t> permission_id) = 0;
  virtual common::Status set_permission_tx(int64_t pool_id, const common::Hash32& txid,
                                           common::ByteView raw_data) = 0;
  virtual common::Status mark_permission_tx_broadcast(int64_t pool_id) = 0;
  virtual common::Status record_snapshot(int64_t pool_id, const PoolSnapshot& snapshot) = 0;
  // Soft delete; "conflict" while the pool has open or delegated reservations.
  virtual common::Status remove(int64_t pool_id, std::optional<int64_t> tenant_id) = 0;
};

// reserved: promised to a lease/relay, not yet on chain (or on chain but not yet seen by a
// snapshot). delegated: on chain since `delegated_at`; it stops counting once a snapshot observed
// after that time shows it in delegated_out. released: given back.
enum class ReservationState { kReserved, kDelegated, kReleased };

struct Reservation {
  int64_t id = 0;
  int64_t pool_id = 0;
  int64_t stake_sun = 0;
  ReservationState state = ReservationState::kReserved;
  std::string reference;  // "lease:42", "relay:7"
  common::TimePoint created_at;
  std::optional<common::TimePoint> delegated_at;
};

// What a pool can still promise: free = delegatable (last snapshot) − reservations not yet
// reflected in that snapshot, further capped by max_delegate_sun − (delegated_out + reserved),
// never below 0; 0 for a pool that is not active or has no snapshot yet.
struct PoolCapacity {
  int64_t pool_id = 0;
  int64_t delegatable_sun = 0;  // 0 without a snapshot
  int64_t reserved_sun = 0;     // the reservations the snapshot does not reflect
  int64_t free_sun = 0;
};

// Capacity never over-commits: reserved + on-chain delegated ≤ delegatable, however many requests
// race (the store serializes per pool). Only active pools with a snapshot can be reserved from.
class PoolCapacityRepository {
 public:
  virtual ~PoolCapacityRepository() = default;
  // "insufficient_capacity" when the pool cannot take `stake_sun` now; "not_found"/"conflict"
  // for a missing or inactive pool.
  virtual common::Result<Reservation> reserve(int64_t pool_id, int64_t stake_sun,
                                              const std::string& reference,
                                              common::TimePoint now) = 0;
  // The active pool with the least free capacity that still fits (best fit), or
  // "insufficient_capacity" when none does.
  virtual common::Result<Reservation> reserve_best_fit(int64_t stake_sun,
                                                       const std::string& reference,
                                                       common::TimePoint now) = 0;
  // `at`: a time from which chain reads show the delegation (when the node reported it included,
  // not the broadcast): a snapshot observed after `at` is trusted to contain it and the
  // reservation stops counting, so a time too early promises the stake twice. Repeating it is
  // harmless; "conflict" once released.
  virtual common::Status mark_delegated(int64_t reservation_id, common::TimePoint at) = 0;
  // Repeating it is harmless.
  virtual common::Status release(int64_t reservation_id) = 0;
  virtual common::Result<PoolCapacity> capacity(int64_t pool_id) = 0;
  virtual common::Result<std::vector<Reservation>> open_reservations(int64_t pool_id) = 0;
  // The largest free_sun among active pools, 0 when there is none: whether one pool could take a
  // stake now (quotes say "fillable"). Read-only and reserves nothing, so a reservation made
  // after it may still find the capacity gone.
  virtual common::Result<int64_t> max_free_sun() = 0;
};

}  // namespace relay::energy
