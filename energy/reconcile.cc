#include "energy/reconcile.h"

#include <algorithm>
#include <map>
#include <utility>

#include "chain/builders.h"
#include "common/bytes.h"

namespace relay::energy {

namespace {

using common::Sun;
using common::TimePoint;
using std::chrono::milliseconds;

TimePoint from_ms(int64_t ms) { return TimePoint(milliseconds(ms)); }

// The journal's owner_ref of the undelegations of one pair.
std::string owner_ref_of(const Orphan& orphan) {
  return "reconcile:" + std::to_string(orphan.pool_id) + ":" + orphan.receiver.to_base58();
}

int64_t ms_of(TimePoint at) {
  return std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count();
}

// Saturating: amounts read from a node are not trusted to stay small.
int64_t add(int64_t a, int64_t b) {
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

// What the chain holds for one (pool, receiver) pair, as of the head block.
struct PairOnChain {
  int64_t energy = 0;
  int64_t energy_unlocked = 0;
  int64_t latest_lock_end_ms = 0;  // of its locked energy; 0 = none locked
  int64_t bandwidth = 0;
};

// What the pair's leases hold.
struct PairLeased {
  int64_t holding = 0;           // every lease that explains stake
  int64_t holding_unlocked = 0;  // of which not locked at the head block
  int64_t active = 0;            // of which active: must be on chain
};

}  // namespace

std::string orphan_action_name(OrphanAction action) {
  switch (action) {
    case OrphanAction::kDryRun:
      return "dry_run";
    case OrphanAction::kReclaimed:
      return "reclaimed";
    case OrphanAction::kPending:
      return "pending";
    case OrphanAction::kLocked:
      return "locked";
    case OrphanAction::kNotAdmitted:
      return "not_admitted";
    case OrphanAction::kFailed:
      return "failed";
    case OrphanAction::kInFlight:
      return "in_flight";
    case OrphanAction::kNotOurs:
      return "not_ours";
  }
  return "";
}

bool ReconcileReport::clean() const {
  for (const PoolReconcile& pool : pools) {
    if (pool.error) return false;
  }
  // A customer's own delegations (not_ours) are reported, not ours to clear.
  return std::all_of(orphans.begin(), orphans.end(), [](const Orphan& orphan) {
    return orphan.action == OrphanAction::kReclaimed || orphan.action == OrphanAction::kNotOurs;
  });
}

common::Result<ReconcileReport> Reconciler::run(const ReconcileOptions& options) {
  RELAY_ASSIGN_OR_RETURN(std::vector<Pool> pools, deps_.pools.list(std::nullopt));
  if (options.pool_id) {
    std::erase_if(pools, [&](const Pool& pool) { return pool.id != *options.pool_id; });
    if (pools.empty()) {
      return common::make_error("not_found", "no pool " + std::to_string(*options.pool_id));
    }
  }
  ReconcileReport report;
  for (const Pool& pool : pools) {
    if (auto done = reconcile_pool(pool, options, report); !done.ok()) {
      PoolReconcile failed;
      failed.pool_id = pool.id;
      failed.pool = pool.address;
      failed.error = done.error();
      report.pools.push_back(std::move(failed));
    }
  }
  return report;
}

common::Status Reconciler::reconcile_pool(const Pool& pool, const ReconcileOptions& options,
                                          ReconcileReport& report) {
  // The chain first, then the leases (see the header).
  const TimePoint started = deps_.clock.now();
  RELAY_ASSIGN_OR_RETURN(chain::BlockRef head, deps_.node.now_block());
  RELAY_ASSIGN_OR_RETURN(chain::DelegationIndex index, deps_.node.delegation_index(pool.address));
  std::map<common::Address, PairOnChain> on_chain;
  for (const common::Address& receiver : index.to_accounts) {
    RELAY_ASSIGN_OR_RETURN(auto records, deps_.node.delegated_resources(pool.address, receiver));
    PairOnChain& pair = on_chain[receiver];
    for (const chain::DelegatedResource& record : records) {
      if (record.from != pool.address || record.to != receiver) continue;
      pair.energy = add(pair.energy, record.energy_sun);
      pair.bandwidth = add(pair.bandwidth, record.bandwidth_sun);
      if (record.energy_expire_ms > head.timestamp_ms) {
        pair.latest_lock_end_ms = std::max(pair.latest_lock_end_ms, record.energy_expire_ms);
      } else {
        pair.energy_unlocked = add(pair.energy_unlocked, record.energy_sun);
      }
    }
  }
  RELAY_ASSIGN_OR_RETURN(std::vector<Lease> leases,
                         deps_.leases.list_holding(pool.id, started - options.settle_margin));

  std::map<common::Address, PairLeased> leased;
  for (const Lease& lease : leases) {
    PairLeased& pair = leased[lease.receiver];
    pair.holding = add(pair.holding, lease.stake_sun.value());
    // A lease still delegating may not be on chain yet; counting it unlocked only makes the
    // reclaimable part smaller.
    auto lock_end = lock_ends_at(lease);
    if (!lock_end || ms_of(*lock_end) <= head.timestamp_ms) {
      pair.holding_unlocked = add(pair.holding_unlocked, lease.stake_sun.value());
    }
    if (lease.state == LeaseState::kActive) pair.active = add(pair.active, lease.stake_sun.value());
  }

  PoolReconcile summary;
  summary.pool_id = pool.id;
  summary.pool = pool.address;
  const std::optional<int32_t> permission_id = deps_.signers.admitted_permission_id(pool.address);
  for (const auto& [receiver, chain_pair] : on_chain) {
    const PairLeased& lease_pair = leased[receiver];
    ++summary.receivers;
    summary.energy_on_chain = Sun(add(summary.energy_on_chain.value(), chain_pair.energy));
    summary.bandwidth_on_chain = Sun(add(summary.bandwidth_on_chain.value(), chain_pair.bandwidth));
    summary.energy_explained =
        Sun(add(summary.energy_explained.value(), std::min(chain_pair.energy, lease_pair.holding)));
    if (chain_pair.energy <= lease_pair.holding) continue;

    Orphan orphan;
    orphan.pool_id = pool.id;
    orphan.pool = pool.address;
    orphan.receiver = receiver;
    orphan.on_chain = Sun(chain_pair.energy);
    orphan.explained = Sun(lease_pair.holding);
    orphan.orphaned = Sun(chain_pair.energy - lease_pair.holding);
    const int64_t unlocked_free =
        std::max<int64_t>(0, chain_pair.energy_unlocked - lease_pair.holding_unlocked);
    orphan.reclaimable = Sun(std::min(orphan.orphaned.value(), unlocked_free));
    if (orphan.reclaimable < orphan.orphaned && chain_pair.latest_lock_end_ms > 0) {
      orphan.locked_until = from_ms(chain_pair.latest_lock_end_ms);
    }
    if (options.dry_run) {
      orphan.action = OrphanAction::kDryRun;
    } else if (pool.kind == PoolKind::kPermission && !options.include_permission_pools) {
      orphan.action = OrphanAction::kNotOurs;
      orphan.detail =
          "a permission pool is the customer's account: take it with --include-permission-pools";
    } else if (orphan.reclaimable.value() == 0) {
      orphan.action = OrphanAction::kLocked;
      orphan.detail = "all of it is locked on chain";
    } else if (!permission_id) {
      orphan.action = OrphanAction::kNotAdmitted;
      orphan.detail = "the signer may not sign for pool " + std::to_string(pool.id) + " (" +
                      pool_status_name(pool.status) +
                      "): reconcile it again once the pool is active";
    } else if (auto busy = earlier_tx_in_flight(orphan); !busy.ok() || *busy) {
      orphan.action = OrphanAction::kInFlight;
      orphan.detail = busy.ok() ? "an earlier reconcile's undelegation is not settled yet"
                                : "the journal could not be read: " + busy.error().message;
    } else {
      take(orphan, *permission_id, options);
    }
    report.orphans.push_back(std::move(orphan));
  }
  // Active leases hold stake the chain no longer shows for the pair.
  for (const auto& [receiver, lease_pair] : leased) {
    const int64_t shown = on_chain.contains(receiver) ? on_chain[receiver].energy : 0;
    if (lease_pair.active > shown) {
      report.shortfalls.push_back({.pool_id = pool.id,
                                   .receiver = receiver,
                                   .on_chain = Sun(shown),
                                   .leased = Sun(lease_pair.active)});
    }
  }
  report.pools.push_back(std::move(summary));
  return {};
}

common::Result<bool> Reconciler::earlier_tx_in_flight(const Orphan& orphan) {
  RELAY_ASSIGN_OR_RETURN(auto records, deps_.journal.list_by_owner(owner_ref_of(orphan)));
  bool in_flight = false;
  for (const ChainTxRecord& record : records) {
    if (is_settled(record.state)) continue;
    // Unsettled when this run began: whatever it does now, the chain read may predate it.
    in_flight = true;
    (void)deps_.sender.resolve(record, deps_.clock.now());
  }
  return in_flight;
}

void Reconciler::take(Orphan& orphan, int32_t permission_id, const ReconcileOptions& options) {
  auto fail = [&](const common::Error& error) {
    orphan.action = OrphanAction::kFailed;
    orphan.detail = error.code + ": " + error.message;
  };
  // A head of its own: earlier orphans of the pool may have waited for their blocks.
  auto head = deps_.node.now_block();
  if (!head.ok()) return fail(head.error());
  chain::TxHeader header;
  auto tapos = chain::TaposRef::from_block(head->number, head->id);
  if (!tapos.ok()) return fail(tapos.error());
  header.tapos = *tapos;
  header.expiration_ms = head->timestamp_ms + options.tx_expiration_ms;
  header.timestamp_ms = deps_.clock.now_ms();
  header.permission_id = permission_id;
  auto tx = chain::build_undelegate_resource(header, orphan.pool, orphan.receiver,
                                             orphan.reclaimable, protocol::ENERGY);
  if (!tx.ok()) return fail(tx.error());
  auto submitted = deps_.sender.submit(chain_tx_purpose::kReconcileReclaim, owner_ref_of(orphan),
                                       orphan.pool_id, std::move(*tx));
  if (!submitted.ok()) return fail(submitted.error());
  orphan.chain_tx_id = submitted->record.id;
  orphan.txid = submitted->record.txid;
  auto waited =
      deps_.sender.wait_included(submitted->record.id, deps_.clock.now() + options.confirm_timeout);
  if (!waited.ok()) {
    orphan.action = OrphanAction::kPending;
    orphan.detail = waited.error().code + ": " + waited.error().message;
    return;
  }
  switch (waited->state) {
    case ChainTxState::kIncluded:
      orphan.action = OrphanAction::kReclaimed;
      if (orphan.reclaimable < orphan.orphaned) {
        // The locked rest stays: the run is not clean until a later one takes it.
        orphan.action = OrphanAction::kLocked;
        orphan.detail = "took " + orphan.reclaimable.to_string() + "; the rest is locked on chain";
      }
      return;
    case ChainTxState::kFailed:
    case ChainTxState::kExpired:
      orphan.action = OrphanAction::kFailed;
      orphan.detail = chain_tx_state_name(waited->state) + ": " + waited->error_code + " " +
                      waited->error_message;
      return;
    default:
      orphan.action = OrphanAction::kPending;
      orphan.detail = "not in a block by the deadline; the daemon's sweeper follows it";
      return;
  }
}

}  // namespace relay::energy
