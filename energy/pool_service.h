// PoolService: the rules for pools — registering them, the guided permission onboarding (generate
// the AccountPermissionUpdate, check what comes back signed, broadcast, confirm on chain), live
// status, limits, staking for own pools, and the refresh the monitor runs. It talks to the chain
// through chain::TronNode and signs only through signer::PoolSigners; the API and the scheduler
// call it, the store keeps its state. Every mutation is written to the AuditLog (best effort: the
// change has happened by then, so a failed audit write does not turn it into an error). Log-free.
//
// Errors (API mapping in api/errors.cc):
// - "invalid_request" for bad input (name, negative limits, an amount under 1 TRX, bytes that are
//   not a signed transaction);
// - "not_found" for a missing pool (or another tenant's);
// - "conflict" for a state that does not allow the call (duplicate address, wrong pool kind or
//   status, a permission tx still in flight);
// - facts on chain ("verification_failed" family, 422 with a reason): "account_not_found",
//   "account_is_contract", "owner_key_missing", "permission_already_granted",
//   "permission_slots_full", "fee_unpayable", "tx_mismatch", "tx_expired", "not_signed_by_owner",
//   "broadcast_rejected" (the node refused a broadcast; the message starts with its code, e.g.
//   "SIGERROR: …"), "not_confirmed", "permission_tx_failed", "no_compatible_permission";
// - "policy_refused" if the signer will not sign (a bug or a configuration mismatch);
// - "upstream_failed" / "chain_unavailable" when the node cannot be reached; store errors as the
//   repositories return them.
//
// A compatible permission is an Active permission whose operations allow DelegateResource (57) and
// UnDelegateResource (58) and in which the relayer key alone reaches the threshold; among several,
// the one allowing the fewest other operations (then the lowest id) is chosen.
//
// Pool.status_reason, when set by this service, starts with a reason code, then ": " and a sentence
// for the operator: "permission_revoked", "permission_altered" (both need a new confirm),
// "low_balance", "account_missing", "owner_key_missing" (these clear themselves at the next refresh
// once the cause is gone), "disabled" (PATCH).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chain/tron_node.h"
#include "common/clock.h"
#include "energy/audit.h"
#include "energy/pool.h"
#include "signer/pool_signers.h"

namespace relay::energy {

struct PoolServiceOptions {
  // After the head block's time; java-tron refuses more than 24 h, so larger values are capped.
  int64_t tx_expiration_ms = 10 * 60 * 1000;  // customers sign permission txs by hand
  int64_t stake_tx_expiration_ms = 60 * 1000;
  int64_t max_name_length = 200;
};

// POST /v1/pools/validate-address: what an operator needs to know before onboarding.
struct AddressReport {
  common::Address address;
  bool exists = false;
  bool is_contract = false;
  int64_t balance_sun = 0;
  int64_t staked_energy_sun = 0;
  int64_t delegatable_sun = 0;
  chain::AccountPermissions permissions;            // as on chain (ids assigned)
  std::optional<int32_t> compatible_permission_id;  // an active our key can already use
  int active_count = 0;
  bool can_append_permission = false;  // fewer than 8 actives
  int64_t permission_fee_sun = 0;      // getUpdateAccountPermissionFee
  bool can_pay_fee = false;
  bool registered = false;  // some tenant already has a pool for it
};

// POST /v1/pools/{id}/permission-tx.
struct PermissionTx {
  chain::Transaction tx;  // unsigned; raw bytes as they will be signed
  common::Hash32 txid{};
  int32_t permission_id = 0;  // the id the relayer permission gets (position + 2)
  int64_t fee_sun = 0;        // burned by the chain when it executes
  int64_t expiration_ms = 0;
};

// POST /v1/pools/{id}/broadcast.
struct BroadcastOutcome {
  common::Hash32 txid{};
  chain::BroadcastResult result;
};

// GET /v1/pools/{id}: the stored pool plus what the chain says now.
struct PoolView {
  Pool pool;
  std::optional<PoolSnapshot> live;  // empty when the chain could not be read (pool.snapshot stays)
  PoolCapacity capacity;
};

struct NewPoolRequest {
  common::Address address;
  PoolKind kind = PoolKind::kPermission;
  std::string name;
  int64_t min_reserve_sun = 0;
  std::optional<int64_t> max_delegate_sun;
  std::optional<int64_t> low_energy_alert;
};

// What a refresh found, for the monitor's log, audit and metrics.
struct RefreshOutcome {
  Pool pool;  // after the refresh
  bool suspended_now = false;
  bool reactivated_now = false;
  bool low_energy = false;  // energy_available < low_energy_alert
  std::string reason;       // the status_reason set or kept; empty for a healthy pool
  // refresh_all only: this pool could not be refreshed (chain or store failure); `pool` is the
  // stored one, untouched.
  std::optional<common::Error> error;
};

class PoolService {
 public:
  PoolService(PoolRepository& pools, PoolCapacityRepository& capacity, chain::TronNode& node,
              signer::PoolSigners& signers, AuditLog& audit, const common::Clock& clock,
              PoolServiceOptions options = {});

  // Read-only; "registered" looks at every tenant's pools.
  common::Result<AddressReport> validate_address(const common::Address& address);
  // The account must exist and not be a contract. own pools need the owner key configured and
  // start active; permission pools start pending (or active at once when the account already
  // grants our key a compatible permission). An empty name becomes the base58 address. A first
  // snapshot is taken right away (best effort; it may suspend the pool for low_balance).
  common::Result<Pool> create(int64_t tenant_id, const NewPoolRequest& request,
                              const std::string& actor);
  common::Result<std::vector<Pool>> list(int64_t tenant_id);
  // The live snapshot is read now and not stored.
  common::Result<PoolView> view(int64_t tenant_id, int64_t pool_id);
  // Status: only active -> disabled and disabled -> active ("conflict" otherwise; setting the
  // current status is a no-op). Enabling checks the chain first: a permission pool needs a
  // compatible permission (the stored id, or another one, which is then stored), an own pool its
  // owner key.
  common::Result<Pool> update(int64_t tenant_id, int64_t pool_id, const PoolChanges& changes,
                              const std::string& actor);
  // Soft delete ("conflict" while reservations are open); the signers forget the pool.
  common::Status remove(int64_t tenant_id, int64_t pool_id, const std::string& actor);

  // Permission pools that are not active. Refused while a broadcast permission tx could still be
  // included, when the account already grants a compatible permission, has 8 actives, or cannot
  // pay the fee. Replaces any earlier generated tx.
  common::Result<PermissionTx> permission_tx(int64_t tenant_id, int64_t pool_id,
                                             const std::string& actor = "api");
  // `signed_transaction` is the whole signed Transaction message (what broadcasthex takes). A
  // duplicate broadcast (the customer broadcast it already) is success.
  common::Result<BroadcastOutcome> broadcast_permission_tx(int64_t tenant_id, int64_t pool_id,
                                                           common::ByteView signed_transaction,
                                                           const std::string& actor);
  // Permission pools that are pending, suspended or active (a re-check); "conflict" for own or
  // disabled pools. Only a permission held by a block counts (nodes apply an accepted tx before
  // any block): the tx we generated, whoever broadcast it, must be in a block while it can still
  // enter one ("not_confirmed" until then); without one, the solidified account is read.
  common::Result<Pool> confirm(int64_t tenant_id, int64_t pool_id, const std::string& actor);

  // Own, active pools: FreezeBalanceV2 / UnfreezeBalanceV2 for ENERGY, signed by the pool's key;
  // at least 1 TRX.
  common::Result<BroadcastOutcome> stake(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                         const std::string& actor);
  common::Result<BroadcastOutcome> unstake(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                           const std::string& actor);

  // Reads the chain, stores the snapshot, and applies the monitor's rules: a permission pool whose
  // permission is gone or altered is suspended; any pool whose TRX balance is below
  // min_reserve_sun is suspended; a pool suspended only for its balance comes back when it is
  // refilled. With `tenant_id`, only that tenant's pool.
  common::Result<RefreshOutcome> refresh(int64_t pool_id, std::optional<int64_t> tenant_id);
  // Every pool that is not deleted, for the monitor; one pool's failure is in its outcome's
  // `error` and does not stop the others. Also re-admits active pools the signers do not know
  // (after a restart), so running it once at start restores signing.
  common::Result<std::vector<RefreshOutcome>> refresh_all();

 private:
  common::Result<BroadcastOutcome> stake_tx(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                            const std::string& actor, bool freeze);
  // Admits the pool in the signers, then stores it active; the admission is undone if the store
  // fails.
  common::Result<Pool> activate(const Pool& pool, int32_t permission_id);
  common::Result<Pool> suspend(const Pool& pool, const std::string& reason);
  void audit(const Pool& pool, const std::string& actor, const std::string& action,
             const std::string& details_json);

  PoolRepository& pools_;
  PoolCapacityRepository& capacity_;
  chain::TronNode& node_;
  signer::PoolSigners& signers_;
  AuditLog& audit_;
  const common::Clock& clock_;
  PoolServiceOptions options_;
};

}  // namespace relay::energy
