// Leases: energy delegated from one of our pools to a receiver for a duration, then reclaimed
// (DESIGN.md §3, §4). A Lease is the persisted state of that flow; LeaseService (lease_service.h)
// holds the rules; LeaseRepository is the port the store implements (table leases), each method one
// database transaction.
//
//   pending → delegating → active → reclaiming → reclaimed
//      └──────────┴──→ failed (hold released: the tenant paid nothing)
//
// pending: the row exists, money and capacity are being set aside. delegating: hold, reservation
// and pool are recorded; a DelegateResource may be signed, journaled, broadcast or in a block.
// active: the delegation is in a block, the hold captured, a reclaim job waits for expires_at.
// reclaiming: an UnDelegateResource of exactly the delegated stake is being made. reclaimed: the
// stake is back with the pool. failed: nothing of it is on chain, the hold was released.
//
// Every transition is one row update guarded by the state it expects (compare-and-set): two
// daemons, a job retried after a crash and the recovery pass may all try the same step, and only
// one of them moves the lease; the others get "conflict" and re-read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/units.h"
#include "energy/pricing.h"

namespace relay::energy {

enum class LeaseState { kPending, kDelegating, kActive, kReclaiming, kReclaimed, kFailed };
std::string lease_state_name(LeaseState state);
std::optional<LeaseState> lease_state_from_name(std::string_view name);
// pending or delegating: a delegation may still be signed or land in a block. At most one lease
// per (pool, receiver) is in flight.
bool is_in_flight(LeaseState state);
// reclaimed or failed: nothing will change it any more.
bool is_final(LeaseState state);

// TRON makes a block every 3 s; lock periods are counted in blocks (PROTOCOL.md §4.3).
inline constexpr int64_t kBlockIntervalMs = 3'000;
// lock = true with lock_period 0 means the chain's default: 86,400 blocks (3 days).
inline constexpr int64_t kDefaultLockPeriodBlocks = 86'400;
// The largest lock_period any chain accepts (getMaxDelegateLockPeriod may be raised up to one
// year); the node refuses what its own parameter does not allow.
inline constexpr int64_t kMaxLockPeriodBlocks = 10'512'000;

// "lease:42": the reference of the hold, the reservation, the chain txs (owner_ref) and the
// reclaim job (ref) of lease 42.
std::string lease_ref(int64_t lease_id);
// The id in "lease:<id>", or empty for anything else.
std::optional<int64_t> lease_id_from_ref(std::string_view ref);

struct Lease {
  int64_t id = 0;
  int64_t tenant_id = 0;
  LeaseState state = LeaseState::kPending;
  // failed: why ("insufficient_capacity: …", "broadcast_rejected: CONTRACT_VALIDATE_ERROR: …").
  // reclaimed: set only when the stake came back by other means ("reclaimed_externally: …").
  std::string state_reason;
  std::optional<std::string> quote_id;  // the quote it took (inline requests are quoted too)
  common::Address receiver;
  common::Energy energy;
  int64_t duration_s = 0;
  common::Sun stake_sun;  // what is delegated, and exactly what is undelegated
  PriceBreakdown price;   // price.total_sun is held, then captured in full
  bool lock = false;
  int64_t lock_period_blocks = 0;  // with lock: 0 = the chain default (kDefaultLockPeriodBlocks)
  // Set together when the lease starts delegating.
  std::optional<int64_t> pool_id;
  std::optional<int32_t> permission_id;  // signs both txs: 0 own pools, 2.. permission pools
  std::optional<int64_t> hold_id;
  std::optional<int64_t> reservation_id;
  // chain_txs ids: the DelegateResource, and the latest UnDelegateResource.
  std::optional<int64_t> delegate_tx_id;
  std::optional<int64_t> reclaim_tx_id;
  std::optional<common::TimePoint> delegated_at;  // the delegation's block time
  std::optional<common::TimePoint> expires_at;    // delegated_at + duration
  // Early reclaim: when it was asked for, and what the refund policy gives back (sun; refunded
  // once, when the reclaim completes).
  std::optional<common::TimePoint> reclaim_requested_at;
  common::Sun refund_sun;
  std::optional<common::TimePoint> reclaimed_at;
  common::TimePoint created_at;
  common::TimePoint updated_at;
  // A part of a split lease (LeaseServiceOptions::split_across_pools): the parts of one order,
  // one per pool. The first part is the group (group_id empty), the others name it; split_parts
  // is how many there are, 1 for a lease that was not split.
  std::optional<int64_t> group_id;
  int split_parts = 1;
};

// The id of the group `lease` belongs to (its own id for the first part or a lease not split).
inline int64_t group_of(const Lease& lease) { return lease.group_id.value_or(lease.id); }

// When the chain lets the delegation be undone: delegated_at + lock period. Empty for an unlocked
// lease or one not delegated yet.
std::optional<common::TimePoint> lock_ends_at(const Lease& lease);

// The terms of a new lease, stored pending.
struct NewLease {
  int64_t tenant_id = 0;
  std::optional<std::string> quote_id;
  common::Address receiver;
  common::Energy energy;
  int64_t duration_s = 0;
  common::Sun stake_sun;
  PriceBreakdown price;
  bool lock = false;
  int64_t lock_period_blocks = 0;
  std::optional<int64_t> group_id;  // a split lease's later parts: the first part's id
  int split_parts = 1;
};

// What pending → delegating records.
struct DelegationPlan {
  int64_t pool_id = 0;
  int32_t permission_id = 0;
  int64_t hold_id = 0;
  int64_t reservation_id = 0;
};

struct LeaseFilter {
  std::optional<LeaseState> state;
  std::optional<common::Address> receiver;
  std::optional<int64_t> before_id;  // ids below this one (the next page)
  std::optional<int64_t> group_id;   // the parts of one split lease (its first part's id)
  int limit = 50;
};

struct LeasePage {
  std::vector<Lease> leases;           // newest first
  std::optional<int64_t> next_before;  // pass as before_id for the next page
};

// Leases per state, for GET /metrics.
struct LeaseCounts {
  int64_t pending = 0;
  int64_t delegating = 0;
  int64_t active = 0;
  int64_t reclaiming = 0;
  int64_t reclaimed = 0;
  int64_t failed = 0;
};

// Errors of every call besides its own: "store_unavailable" / "internal" from the store;
// "not_found" for a lease that does not exist. Transitions take the daemon's `now` (updated_at)
// and return the lease as stored afterwards; "conflict" when the lease is not in the state the
// transition expects (the message names the state it is in), so the caller re-reads it.
class LeaseRepository {
 public:
  virtual ~LeaseRepository() = default;

  // Stores `lease` pending. "conflict" when another lease already took its quote; "not_found" for
  // an unknown tenant or quote.
  virtual common::Result<Lease> create(const NewLease& lease, common::TimePoint now) = 0;
  // Deletes a pending lease that nothing refers to yet (no hold recorded): an admission refused
  // before any money moved (402) leaves no row. "conflict" otherwise.
  virtual common::Status discard(int64_t lease_id) = 0;

  // With `tenant_id`, another tenant's lease is not found (empty).
  virtual common::Result<std::optional<Lease>> find(int64_t lease_id,
                                                    std::optional<int64_t> tenant_id) = 0;
  // One tenant's leases, newest first. "invalid_request" for a limit below 1.
  virtual common::Result<LeasePage> list(int64_t tenant_id, const LeaseFilter& filter) = 0;
  // Leases in pending, delegating or reclaiming with id > after_id, by id, at most `limit`: the
  // work of the recovery pass.
  virtual common::Result<std::vector<Lease>> list_unsettled(int limit, int64_t after_id) = 0;
  // Active leases whose expires_at is at or before `before`, earliest first: reclaims that are
  // due or overdue (their job is re-created if it was lost).
  virtual common::Result<std::vector<Lease>> list_overdue(common::TimePoint before, int limit) = 0;
  virtual common::Result<LeaseCounts> count_by_state() = 0;
  // The leases of one pool whose stake may be delegated on chain: delegating, active or
  // reclaiming, and any other updated at or after `settled_since` (reconcile.h: the chain may
  // have been read before they settled).
  virtual common::Result<std::vector<Lease>> list_holding(int64_t pool_id,
                                                          common::TimePoint settled_since) = 0;

  // pending → delegating, recording `plan`. "conflict" also when another lease of the same
  // (pool, receiver) is in flight: one delegation per pair at a time.
  virtual common::Result<Lease> start_delegating(int64_t lease_id, const DelegationPlan& plan,
                                                 common::TimePoint now) = 0;
  // delegating: records the DelegateResource's chain tx. Once set it never changes (the same id
  // again is a no-op; another id is "conflict").
  virtual common::Result<Lease> set_delegate_tx(int64_t lease_id, int64_t chain_tx_id,
                                                common::TimePoint now) = 0;
  // delegating → active: in a block at `delegated_at`, to be reclaimed at `expires_at`.
  virtual common::Result<Lease> activate(int64_t lease_id, int64_t chain_tx_id,
                                         common::TimePoint delegated_at,
                                         common::TimePoint expires_at, common::TimePoint now) = 0;
  // `from` (pending or delegating) → failed with `reason` (not empty).
  virtual common::Result<Lease> fail(int64_t lease_id, LeaseState from, const std::string& reason,
                                     common::TimePoint now) = 0;
  // active → reclaiming. An early reclaim passes when it was asked for and the refund it earns.
  virtual common::Result<Lease> begin_reclaim(int64_t lease_id,
                                              std::optional<common::TimePoint> requested_at,
                                              common::Sun refund, common::TimePoint now) = 0;
  // reclaiming: records the UnDelegateResource now being tried, replacing `expected` (the
  // previous one, which failed or expired; empty for the first). "conflict" when another was
  // recorded meanwhile.
  virtual common::Result<Lease> set_reclaim_tx(int64_t lease_id, std::optional<int64_t> expected,
                                               int64_t chain_tx_id, common::TimePoint now) = 0;
  // reclaiming → reclaimed at `reclaimed_at`; `note` says how, when not by our own tx.
  virtual common::Result<Lease> finish_reclaim(int64_t lease_id, common::TimePoint reclaimed_at,
                                               const std::string& note, common::TimePoint now) = 0;
};

}  // namespace relay::energy
