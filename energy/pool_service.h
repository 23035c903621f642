// PoolService: the rules for pools — registering them, the guided permission onboarding (generate
// the AccountPermissionUpdate, check what comes back signed, broadcast, confirm on chain), live
// status, limits, staking for own pools, and the refresh the monitor runs. It talks to the chain
// through chain::TronNode and signs only through signer::PoolSigners; the API and the scheduler
// call it, the store keeps its state.
//
// Errors (API mapping in api/errors.cc): "invalid_request"/"invalid_address" for bad input,
// "not_found" for a missing pool (or another tenant's), "conflict" for a state that does not allow
// the call, "verification_failed"-family reasons for facts on chain ("account_not_found",
// "permission_slots_full", "fee_unpayable", "tx_mismatch", "not_signed_by_owner",
// "not_confirmed", "no_compatible_permission", "owner_key_missing"), "upstream_failed" /
// "chain_unavailable" when the node cannot be reached.
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
  bool low_energy = false;
  std::string reason;
};

class PoolService {
 public:
  PoolService(PoolRepository& pools, PoolCapacityRepository& capacity, chain::TronNode& node,
              signer::PoolSigners& signers, AuditLog& audit, const common::Clock& clock,
              PoolServiceOptions options = {});

  common::Result<AddressReport> validate_address(const common::Address& address);
  // own pools need the owner key configured and start active; permission pools start pending
  // (or active at once when the account already grants our key a compatible permission).
  common::Result<Pool> create(int64_t tenant_id, const NewPoolRequest& request,
                              const std::string& actor);
  common::Result<std::vector<Pool>> list(int64_t tenant_id);
  common::Result<PoolView> view(int64_t tenant_id, int64_t pool_id);
  common::Result<Pool> update(int64_t tenant_id, int64_t pool_id, const PoolChanges& changes,
                              const std::string& actor);
  common::Status remove(int64_t tenant_id, int64_t pool_id, const std::string& actor);

  common::Result<PermissionTx> permission_tx(int64_t tenant_id, int64_t pool_id);
  common::Result<BroadcastOutcome> broadcast_permission_tx(int64_t tenant_id, int64_t pool_id,
                                                           common::ByteView signed_transaction,
                                                           const std::string& actor);
  common::Result<Pool> confirm(int64_t tenant_id, int64_t pool_id, const std::string& actor);

  // Own pools: FreezeBalanceV2 / UnfreezeBalanceV2 for ENERGY, signed by the pool's key.
  common::Result<BroadcastOutcome> stake(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                         const std::string& actor);
  common::Result<BroadcastOutcome> unstake(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                           const std::string& actor);

  // Reads the chain, stores the snapshot, and applies the monitor's rules: a permission pool whose
  // permission is gone or altered is suspended; any pool whose TRX balance is below
  // min_reserve_sun is suspended; a pool suspended only for its balance comes back when it is
  // refilled. With `tenant_id`, only that tenant's pool.
  common::Result<RefreshOutcome> refresh(int64_t pool_id, std::optional<int64_t> tenant_id);
  // Every pool that is not deleted, for the monitor.
  common::Result<std::vector<RefreshOutcome>> refresh_all();

 private:
  PoolRepository& pools_;
  PoolCapacityRepository& capacity_;
  chain::TronNode& node_;
  signer::PoolSigners& signers_;
  AuditLog& audit_;
  const common::Clock& clock_;
  PoolServiceOptions options_;
};

}  // namespace relay::energy
