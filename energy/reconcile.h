// Reconciler: compares the energy each pool has delegated on chain with what our leases explain,
// and takes back the rest — `tronrelayctl reconcile` (DESIGN.md §3 "Reclaim by cron").
//
// An orphan is stake delegated from a pool to a receiver beyond the sum of that pair's leases that
// still hold stake (delegating, active, reclaiming) or settled within `settle_margin` of the
// run. How one arises: a lease row lost with a database restored from an older backup, a lease
// wrongly believed failed or reclaimed, or a delegation made from the pool account by hand. An
// own pool's account is dedicated to tronrelay: every energy delegation from it is ours to
// explain. A permission pool's account is the customer's, who may delegate from it too: its
// orphans are only reported unless the operator opts in (include_permission_pools).
//
// Why it never takes a lease's stake, with the daemon running beside it:
//   - The chain is read before the leases. A lease that delegates in between is read as holding
//     stake (it is in flight), so it explains more than the chain showed: no orphan. A lease
//     reclaimed in between settled within the margin, so it still explains its stake.
//   - Only the orphaned amount is undelegated, never a whole pair: whatever leases do to the pair
//     meanwhile, their stake stays delegated.
//   - Only unlocked stake can be undelegated, and a locked lease's stake is not counted as
//     reclaimable: the orphan taken is at most (unlocked on chain − unlocked stake of leases).
//     The rest of an orphan is reported "locked" with the time its lock ends.
//   - A pair whose earlier reconcile tx is still unsettled (not in a block yet, still valid) is
//     left alone this run: the chain read may not show it yet, and a second tx would take the
//     orphan twice — the second time from a lease. Runs are serialized by the caller
//     (tronrelayctl takes an advisory lock).
// Bandwidth delegations are reported per pool, never taken: no lease delegates bandwidth.
//
// The UnDelegateResource is made like a lease's reclaim: under the pool's admitted Permission_id,
// signed, written ahead (purpose "reconcile_reclaim", owner_ref "reconcile:<pool id>:<receiver>")
// and broadcast, then waited for up to `confirm_timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chain/tron_node.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/units.h"
#include "energy/chain_tx_journal.h"
#include "energy/chain_tx_sender.h"
#include "energy/lease.h"
#include "energy/pool.h"
#include "signer/pool_signers.h"

namespace relay::energy {

struct ReconcileOptions {
  bool dry_run = false;                   // report only; nothing signed
  std::optional<int64_t> pool_id;         // one pool; all pools otherwise
  bool include_permission_pools = false;  // also take orphans from customers' accounts
  std::chrono::milliseconds settle_margin{std::chrono::minutes(10)};
  std::chrono::milliseconds confirm_timeout{std::chrono::seconds(30)};
  int64_t tx_expiration_ms = 60'000;  // after the head block the tx is built on
};

// What became of one orphan.
enum class OrphanAction {
  kDryRun,       // found; --dry-run took nothing
  kReclaimed,    // our UnDelegateResource is in a block
  kPending,      // signed and broadcast, not in a block by the deadline; the journal follows it
  kLocked,       // all of it is locked on chain until locked_until
  kNotAdmitted,  // the signer may not sign for the pool (suspended, permission revoked)
  kFailed,       // refused by the node, or failed in a block; `detail` says why
  kInFlight,     // an earlier run's tx for the pair is not settled yet: left for the next run
  kNotOurs,      // a permission pool's, without include_permission_pools: reported only
};
std::string orphan_action_name(OrphanAction action);

struct Orphan {
  int64_t pool_id = 0;
  common::Address pool;
  common::Address receiver;
  common::Sun on_chain;     // energy stake delegated from the pool to the receiver
  common::Sun explained;    // stake of the pair's leases that hold it
  common::Sun orphaned;     // on_chain − explained
  common::Sun reclaimable;  // the unlocked part: what one UnDelegateResource may take now
  std::optional<common::TimePoint> locked_until;  // when the locked rest can be taken
  OrphanAction action = OrphanAction::kDryRun;
  std::optional<int64_t> chain_tx_id;
  std::optional<common::Hash32> txid;
  std::string detail;  // why it failed or was not taken
};

// A pair whose active leases hold more stake than the chain shows: someone undelegated it (a
// customer, by hand). Reported only; the reclaim job notices it at expiry ("reclaimed_externally").
struct Shortfall {
  int64_t pool_id = 0;
  common::Address receiver;
  common::Sun on_chain;
  common::Sun leased;  // stake of the pair's active leases
};

struct PoolReconcile {
  int64_t pool_id = 0;
  common::Address pool;
  int receivers = 0;  // accounts the pool delegates to
  common::Sun energy_on_chain;
  common::Sun energy_explained;  // of the pairs found on chain
  common::Sun bandwidth_on_chain;
  std::optional<common::Error> error;  // the pool could not be read; tried again next run
};

struct ReconcileReport {
  std::vector<PoolReconcile> pools;
  std::vector<Orphan> orphans;
  std::vector<Shortfall> shortfalls;
  // True when every pool was read and nothing orphaned is left that this run may take (a
  // permission pool's orphans reported as not_ours do not count).
  bool clean() const;
};

// Everything it works through; owned elsewhere, all outliving it.
struct ReconcileDependencies {
  PoolRepository& pools;
  LeaseRepository& leases;
  chain::TronNode& node;
  ChainTxSender& sender;
  ChainTxJournal& journal;
  const signer::PoolSigners& signers;
  const common::Clock& clock;
};

class Reconciler {
 public:
  explicit Reconciler(ReconcileDependencies deps) : deps_(deps) {}
  // An error only when the pools cannot be listed ("not_found" for an unknown options.pool_id);
  // a pool that cannot be read is reported with its error and the others are still done.
  common::Result<ReconcileReport> run(const ReconcileOptions& options);

 private:
  common::Status reconcile_pool(const Pool& pool, const ReconcileOptions& options,
                                ReconcileReport& report);
  void take(Orphan& orphan, int32_t permission_id, const ReconcileOptions& options);
  // True when an earlier run's tx for the pair may still change it (resolved once here).
  common::Result<bool> earlier_tx_in_flight(const Orphan& orphan);

  ReconcileDependencies deps_;
};

}  // namespace relay::energy
