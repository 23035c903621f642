#include "energy/pool_service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "chain/builders.h"
#include "chain/permission.h"
#include "common/json.h"

namespace relay::energy {

using chain::AccountInfo;
using chain::AccountPermissions;
using common::Address;
using common::make_error;
using common::Result;
using common::Status;
using protocol::Permission;

namespace {

constexpr int kDelegateResource = 57;
constexpr int kUnDelegateResource = 58;
constexpr size_t kMaxActives = 8;  // java-tron: "active permission is too many"
constexpr int64_t kMaxExpirationMs = 24 * 60 * 60 * 1000;
constexpr const char* kMonitorActor = "pool-monitor";

common::Error invalid(std::string message) {
  return make_error("invalid_request", std::move(message));
}
common::Error conflict(std::string message) { return make_error("conflict", std::move(message)); }

std::string reason(std::string_view code, const std::string& text) {
  return std::string(code) + ": " + text;
}
std::string_view reason_code(std::string_view status_reason) {
  return status_reason.substr(0, status_reason.find(':'));
}
// Suspensions that the next refresh lifts by itself once the cause is gone. A revoked or altered
// permission is different: the operator confirms again.
bool clears_itself(std::string_view code) {
  return code == "low_balance" || code == "account_missing" || code == "owner_key_missing";
}

std::string status_name(PoolStatus status) { return pool_status_name(status); }

Result<Pool> find_pool(PoolRepository& pools, int64_t pool_id, std::optional<int64_t> tenant_id) {
  RELAY_ASSIGN_OR_RETURN(auto pool, pools.find(pool_id, tenant_id));
  if (!pool) return make_error("not_found", "pool " + std::to_string(pool_id) + " not found");
  return *std::move(pool);
}

Status check_name(const std::string& name, int64_t max_length) {
  if (name.empty() || static_cast<int64_t>(name.size()) > max_length) {
    return invalid("name must be 1 to " + std::to_string(max_length) + " bytes long");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return invalid("name must not contain control characters");
  }
  return {};
}

Status check_limit(const std::optional<int64_t>& value, const char* field) {
  if (value && *value < 0) return invalid(std::string(field) + " must not be negative");
  return {};
}

// Why `p` does not let the relayer key alone delegate and undelegate; empty when it does.
std::string incompatibility(const Permission& p, const Address& relayer) {
  if (p.type() != Permission::Active) return "it is not an active permission";
  auto ops = common::as_bytes(p.operations());
  if (!chain::operations_allow(ops, kDelegateResource) ||
      !chain::operations_allow(ops, kUnDelegateResource)) {
    return "its operations do not allow both DelegateResource and UnDelegateResource";
  }
  for (const auto& key : p.keys()) {
    if (key.address() != relayer.proto_bytes()) continue;
    if (key.weight() >= p.threshold()) return "";
    return "the relayer key's weight " + std::to_string(key.weight()) + " is below its threshold " +
           std::to_string(p.threshold());
  }
  return "the relayer key " + relayer.to_base58() + " is not one of its keys";
}

// Actives by position: ids are positional on chain (actives[i] has id i + 2).
const Permission* active_with_id(const AccountPermissions& permissions, int32_t id) {
  if (id < 2 || static_cast<size_t>(id - 2) >= permissions.actives.size()) return nullptr;
  return &permissions.actives[static_cast<size_t>(id - 2)];
}

std::optional<int32_t> find_compatible(const AccountPermissions& permissions,
                                       const Address& relayer) {
  std::optional<int32_t> best;
  size_t best_ops = std::numeric_limits<size_t>::max();
  for (size_t i = 0; i < permissions.actives.size(); ++i) {
    const Permission& p = permissions.actives[i];
    if (!incompatibility(p, relayer).empty()) continue;
    size_t ops = chain::operations_contract_types(common::as_bytes(p.operations())).size();
    if (ops < best_ops) {
      best_ops = ops;
      best = static_cast<int32_t>(i + 2);
    }
  }
  return best;
}

// What stops the pool from being served as it is registered, judged on the account as read now;
// empty when nothing does. A permission pool must still hold a compatible permission under its
// stored id; another compatible permission does not count until the operator confirms it.
std::optional<std::string> grant_problem(const Pool& pool, const AccountInfo& account,
                                         const signer::PoolSigners& signers) {
  if (pool.kind == PoolKind::kOwn) {
    if (signers.has_owner_key(pool.address)) return std::nullopt;
    return reason("owner_key_missing",
                  "the owner key of " + pool.address.to_base58() + " is not loaded");
  }
  const Address& relayer = signers.relayer_address();
  std::string problem;
  if (!pool.permission_id) {
    problem = reason("permission_revoked", "the pool has no confirmed permission");
  } else if (const Permission* p = active_with_id(account.permissions, *pool.permission_id);
             p == nullptr) {
    problem = reason("permission_revoked", "permission " + std::to_string(*pool.permission_id) +
                                               " no longer exists on the account");
  } else if (auto why = incompatibility(*p, relayer); !why.empty()) {
    problem = reason("permission_altered",
                     "permission " + std::to_string(*pool.permission_id) + " was changed: " + why);
  } else {
    return std::nullopt;
  }
  if (auto other = find_compatible(account.permissions, relayer)) {
    problem += "; permission " + std::to_string(*other) +
               " is compatible: confirm the pool again to use it";
  } else {
    problem += "; grant a compatible permission and confirm the pool again";
  }
  return problem;
}

struct ChainRead {
  std::optional<AccountInfo> account;
  PoolSnapshot snapshot;
};

// Every read a snapshot needs, before anything is written: a failure leaves the pool untouched.
Result<ChainRead> read_chain(chain::TronNode& node, const Address& address, common::TimePoint at) {
  ChainRead out;
  RELAY_ASSIGN_OR_RETURN(out.account, node.account(address));
  if (!out.account) return out;
  RELAY_ASSIGN_OR_RETURN(chain::AccountResources resources, node.account_resources(address));
  RELAY_ASSIGN_OR_RETURN(int64_t delegatable, node.can_delegate_max_sun(address, protocol::ENERGY));
  PoolSnapshot& s = out.snapshot;
  s.observed_at = at;
  s.balance_sun = out.account->balance_sun;
  s.staked_energy_sun = out.account->frozen_energy_sun;
  s.delegated_out_sun = out.account->delegated_energy_sun;
  s.delegatable_sun = delegatable;
  s.energy_limit = resources.energy_limit;
  s.energy_available = resources.energy_limit - resources.energy_used;
  s.net_available = std::max<int64_t>(0, resources.free_net_limit - resources.free_net_used) +
                    std::max<int64_t>(0, resources.net_limit - resources.net_used);
  return out;
}

int64_t capped_expiration(int64_t ms) { return std::clamp<int64_t>(ms, 1, kMaxExpirationMs); }

// TaPoS on the head block; expiration counts from the head block's time, as java-tron does.
Result<chain::TxHeader> header_on_head(chain::TronNode& node, const common::Clock& clock,
                                       int64_t expiration_ms) {
  RELAY_ASSIGN_OR_RETURN(chain::BlockRef head, node.now_block());
  chain::TxHeader header;
  RELAY_ASSIGN_OR_RETURN(header.tapos, chain::TaposRef::from_block(head.number, head.id));
  header.expiration_ms = head.timestamp_ms + capped_expiration(expiration_ms);
  header.timestamp_ms = clock.now_ms();
  header.permission_id = 0;
  return header;
}

common::Error broadcast_rejected(const chain::BroadcastResult& result) {
  return make_error("broadcast_rejected", result.code + ": " + result.message);
}

}  // namespace

PoolService::PoolService(PoolRepository& pools, PoolCapacityRepository& capacity,
                         chain::TronNode& node, signer::PoolSigners& signers, AuditLog& audit,
                         const common::Clock& clock, PoolServiceOptions options)
    : pools_(pools),
      capacity_(capacity),
      node_(node),
      signers_(signers),
      audit_(audit),
      clock_(clock),
      options_(options) {}

void PoolService::audit(const Pool& pool, const std::string& actor, const std::string& action,
                        const std::string& details_json) {
  // The change has happened; failing the call now would invite a retry of something done.
  (void)audit_.record(AuditEvent{.tenant_id = pool.tenant_id,
                                 .actor = actor.empty() ? "unknown" : actor,
                                 .action = action,
                                 .details_json = details_json});
}

namespace {
std::string details(const Pool& pool, boost::json::object more = {}) {
  boost::json::object out{{"pool_id", pool.id}, {"address", pool.address.to_base58()}};
  for (auto& [key, value] : more) out[key] = value;
  return common::json_to_string(out);
}
}  // namespace

Result<Pool> PoolService::activate(const Pool& pool, int32_t permission_id) {
  RELAY_TRY_STATUS(signers_.admit_pool(pool.address, permission_id));
  auto stored = pools_.set_status(pool.id, PoolStatus::kActive, "", permission_id);
  if (!stored.ok()) signers_.revoke_pool(pool.address);
  return stored;
}

Result<Pool> PoolService::suspend(const Pool& pool, const std::string& why) {
  // Revoked first: once a pool stops being served, nothing may be signed for it even if the store
  // write fails (the next refresh tries again).
  signers_.revoke_pool(pool.address);
  return pools_.set_status(pool.id, PoolStatus::kSuspended, why, pool.permission_id);
}

Result<AddressReport> PoolService::validate_address(const Address& address) {
  AddressReport report;
  report.address = address;
  RELAY_ASSIGN_OR_RETURN(chain::ChainParameters params, node_.chain_parameters());
  report.permission_fee_sun = params.update_account_permission_fee();
  RELAY_ASSIGN_OR_RETURN(auto registered, pools_.find_by_address(address));
  report.registered = registered.has_value();
  RELAY_ASSIGN_OR_RETURN(auto account, node_.account(address));
  if (!account) return report;
  RELAY_ASSIGN_OR_RETURN(report.delegatable_sun,
                         node_.can_delegate_max_sun(address, protocol::ENERGY));
  report.exists = true;
  report.is_contract = account->is_contract;
  report.balance_sun = account->balance_sun;
  report.staked_energy_sun = account->frozen_energy_sun;
  report.permissions = account->permissions;
  report.compatible_permission_id =
      find_compatible(account->permissions, signers_.relayer_address());
  report.active_count = static_cast<int>(account->permissions.actives.size());
  report.can_append_permission = account->permissions.actives.size() < kMaxActives;
  report.can_pay_fee = account->balance_sun >= report.permission_fee_sun;
  return report;
}

Result<Pool> PoolService::create(int64_t tenant_id, const NewPoolRequest& request,
                                 const std::string& actor) {
  std::string name = request.name.empty() ? request.address.to_base58() : request.name;
  RELAY_TRY_STATUS(check_name(name, options_.max_name_length));
  RELAY_TRY_STATUS(check_limit(request.min_reserve_sun, "min_reserve_sun"));
  RELAY_TRY_STATUS(check_limit(request.max_delegate_sun, "max_delegate_sun"));
  RELAY_TRY_STATUS(check_limit(request.low_energy_alert, "low_energy_alert"));

  RELAY_ASSIGN_OR_RETURN(auto existing, pools_.find_by_address(request.address));
  if (existing) {
    return conflict("account " + request.address.to_base58() + " is already registered as a pool");
  }
  RELAY_ASSIGN_OR_RETURN(auto account, node_.account(request.address));
  if (!account) {
    return make_error("account_not_found", "account " + request.address.to_base58() +
                                               " does not exist on chain (it has never received "
                                               "TRX)");
  }
  if (account->is_contract) {
    return make_error("account_is_contract", request.address.to_base58() +
                                                 " is a smart contract, not an account that can "
                                                 "stake");
  }

  NewPool pool{.tenant_id = tenant_id,
               .address = request.address,
               .kind = request.kind,
               .name = name,
               .status = PoolStatus::kPending,
               .permission_id = std::nullopt,
               .min_reserve_sun = request.min_reserve_sun,
               .max_delegate_sun = request.max_delegate_sun,
               .low_energy_alert = request.low_energy_alert};
  if (request.kind == PoolKind::kOwn) {
    if (!signers_.has_owner_key(request.address)) {
      return make_error("owner_key_missing",
                        "no owner key is loaded for " + request.address.to_base58() +
                            ": configure the pool's key file and restart tronrelayd");
    }
    pool.status = PoolStatus::kActive;
    pool.permission_id = 0;
  } else if (auto id = find_compatible(account->permissions, signers_.relayer_address())) {
    pool.status = PoolStatus::kActive;
    pool.permission_id = *id;
  }
  RELAY_ASSIGN_OR_RETURN(Pool created, pools_.create(pool));
  if (created.status == PoolStatus::kActive) {
    if (auto admitted = signers_.admit_pool(created.address, *created.permission_id);
        !admitted.ok()) {
      auto suspended = pools_.set_status(created.id, PoolStatus::kSuspended,
                                         reason(admitted.error().code, admitted.error().message),
                                         created.permission_id);
      if (suspended.ok()) created = *suspended;
    }
  }
  boost::json::object more{{"kind", pool_kind_name(created.kind)},
                           {"name", created.name},
                           {"status", status_name(created.status)},
                           {"min_reserve_sun", created.min_reserve_sun}};
  if (created.permission_id) more["permission_id"] = *created.permission_id;
  if (created.max_delegate_sun) more["max_delegate_sun"] = *created.max_delegate_sun;
  if (created.low_energy_alert) more["low_energy_alert"] = *created.low_energy_alert;
  audit(created, actor, "pool.create", details(created, std::move(more)));

  auto refreshed = refresh(created.id, tenant_id);
  if (refreshed.ok()) return refreshed->pool;
  return created;
}

Result<std::vector<Pool>> PoolService::list(int64_t tenant_id) { return pools_.list(tenant_id); }

Result<PoolView> PoolService::view(int64_t tenant_id, int64_t pool_id) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  PoolView out;
  auto read = read_chain(node_, pool.address, clock_.now());
  if (read.ok() && read->account) out.live = read->snapshot;
  RELAY_ASSIGN_OR_RETURN(out.capacity, capacity_.capacity(pool.id));
  out.pool = std::move(pool);
  return out;
}

Result<Pool> PoolService::update(int64_t tenant_id, int64_t pool_id, const PoolChanges& changes,
                                 const std::string& actor) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  if (changes.name) RELAY_TRY_STATUS(check_name(*changes.name, options_.max_name_length));
  RELAY_TRY_STATUS(check_limit(changes.min_reserve_sun, "min_reserve_sun"));
  RELAY_TRY_STATUS(check_limit(changes.max_delegate_sun, "max_delegate_sun"));
  RELAY_TRY_STATUS(check_limit(changes.low_energy_alert, "low_energy_alert"));

  std::optional<PoolStatus> target;
  std::optional<int32_t> enable_with_id;
  if (changes.status && *changes.status != pool.status) {
    target = *changes.status;
    if (*target == PoolStatus::kDisabled) {
      if (pool.status != PoolStatus::kActive) {
        return conflict("pool is " + status_name(pool.status) +
                        "; only an active pool can be disabled");
      }
    } else if (*target == PoolStatus::kActive) {
      if (pool.status != PoolStatus::kDisabled) {
        return conflict(
            "pool is " + status_name(pool.status) + "; only a disabled pool can be enabled" +
            (pool.kind == PoolKind::kPermission ? " (confirm activates the others)" : ""));
      }
      // The chain may have moved while the pool was paused.
      if (pool.kind == PoolKind::kOwn) {
        if (!signers_.has_owner_key(pool.address)) {
          return make_error("owner_key_missing",
                            "no owner key is loaded for " + pool.address.to_base58());
        }
        enable_with_id = 0;
      } else {
        RELAY_ASSIGN_OR_RETURN(auto account, node_.account(pool.address));
        if (!account) {
          return make_error("account_not_found",
                            "account " + pool.address.to_base58() + " does not exist on chain");
        }
        const Permission* stored = pool.permission_id
                                       ? active_with_id(account->permissions, *pool.permission_id)
                                       : nullptr;
        if (stored != nullptr && incompatibility(*stored, signers_.relayer_address()).empty()) {
          enable_with_id = *pool.permission_id;
        } else {
          enable_with_id = find_compatible(account->permissions, signers_.relayer_address());
        }
        if (!enable_with_id) {
          return make_error("no_compatible_permission",
                            "account " + pool.address.to_base58() +
                                " grants the relayer key no compatible permission any more");
        }
      }
    } else {
      return conflict("status can only be set to active or disabled");
    }
  }

  boost::json::object more;
  PoolChanges rest = changes;
  rest.status.reset();
  if (rest.name || rest.min_reserve_sun || rest.max_delegate_sun || rest.clear_max_delegate ||
      rest.low_energy_alert || rest.clear_low_energy_alert) {
    RELAY_ASSIGN_OR_RETURN(pool, pools_.update(pool.id, tenant_id, rest));
    if (rest.name) more["name"] = *rest.name;
    if (rest.min_reserve_sun) more["min_reserve_sun"] = *rest.min_reserve_sun;
    if (rest.max_delegate_sun) more["max_delegate_sun"] = *rest.max_delegate_sun;
    if (rest.clear_max_delegate) more["max_delegate_sun"] = nullptr;
    if (rest.low_energy_alert) more["low_energy_alert"] = *rest.low_energy_alert;
    if (rest.clear_low_energy_alert) more["low_energy_alert"] = nullptr;
  }
  if (target == PoolStatus::kDisabled) {
    signers_.revoke_pool(pool.address);
    RELAY_ASSIGN_OR_RETURN(
        pool, pools_.set_status(pool.id, PoolStatus::kDisabled,
                                reason("disabled", "disabled by " + actor), pool.permission_id));
    more["status"] = "disabled";
  } else if (target == PoolStatus::kActive) {
    RELAY_ASSIGN_OR_RETURN(pool, activate(pool, *enable_with_id));
    more["status"] = "active";
    more["permission_id"] = *enable_with_id;
  }
  if (!more.empty()) audit(pool, actor, "pool.update", details(pool, std::move(more)));
  return pool;
}

Status PoolService::remove(int64_t tenant_id, int64_t pool_id, const std::string& actor) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  RELAY_TRY_STATUS(pools_.remove(pool.id, tenant_id));
  signers_.revoke_pool(pool.address);
  audit(pool, actor, "pool.delete", details(pool, {{"status", status_name(pool.status)}}));
  return {};
}

Result<PermissionTx> PoolService::permission_tx(int64_t tenant_id, int64_t pool_id,
                                                const std::string& actor) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  if (pool.kind != PoolKind::kPermission) {
    return conflict("pool " + std::to_string(pool.id) + " is an own pool; it needs no permission");
  }
  if (pool.status == PoolStatus::kActive) {
    return conflict("pool " + std::to_string(pool.id) + " is already active");
  }
  if (pool.permission_tx_broadcast && pool.permission_raw_data) {
    // A second relayer permission would cost another fee and take another slot.
    auto earlier = chain::Transaction::decode_raw(*pool.permission_raw_data);
    if (earlier.ok() && earlier->raw().expiration() > clock_.now_ms()) {
      return conflict("permission tx " + earlier->txid_hex() +
                      " was broadcast and can still be included until its expiration; confirm "
                      "the pool or wait until it expires");
    }
  }
  RELAY_ASSIGN_OR_RETURN(auto account, node_.account(pool.address));
  if (!account) {
    return make_error("account_not_found",
                      "account " + pool.address.to_base58() + " does not exist on chain");
  }
  const AccountPermissions& existing = account->permissions;
  if (auto granted = find_compatible(existing, signers_.relayer_address())) {
    return make_error("permission_already_granted",
                      "permission " + std::to_string(*granted) +
                          " already grants the relayer key what it needs: confirm the pool");
  }
  if (existing.actives.size() >= kMaxActives) {
    return make_error("permission_slots_full",
                      "the account already has " + std::to_string(existing.actives.size()) +
                          " active permissions, the most java-tron allows; remove one first");
  }
  RELAY_ASSIGN_OR_RETURN(chain::ChainParameters params, node_.chain_parameters());
  int64_t fee = params.update_account_permission_fee();
  if (account->balance_sun < fee) {
    return make_error("fee_unpayable", "the permission update burns " + std::to_string(fee) +
                                           " sun but the account holds " +
                                           std::to_string(account->balance_sun) + " sun");
  }

  // The update replaces the owner and all actives: every existing one goes back exactly as read
  // (same order, so their ids stay), and ours is appended at id = position + 2.
  int32_t permission_id = static_cast<int32_t>(existing.actives.size() + 2);
  RELAY_ASSIGN_OR_RETURN(Permission relayer, chain::PermissionBuilder::active("relayer")
                                                 .threshold(1)
                                                 .key(signers_.relayer_address(), 1)
                                                 .allow(kDelegateResource)
                                                 .allow(kUnDelegateResource)
                                                 .build(static_cast<int>(params.total_sign_num())));
  relayer.set_id(permission_id);
  std::vector<Permission> actives = existing.actives;
  actives.push_back(std::move(relayer));

  RELAY_ASSIGN_OR_RETURN(chain::TxHeader header,
                         header_on_head(node_, clock_, options_.tx_expiration_ms));
  RELAY_ASSIGN_OR_RETURN(chain::Transaction tx,
                         chain::build_account_permission_update(
                             header, pool.address, existing.owner, existing.witness, actives));
  RELAY_TRY_STATUS(pools_.set_permission_tx(pool.id, tx.txid(), tx.raw_bytes()));
  audit(pool, actor, "pool.permission_tx",
        details(pool, {{"txid", tx.txid_hex()},
                       {"permission_id", permission_id},
                       {"fee_sun", fee},
                       {"expiration_ms", header.expiration_ms}}));
  return PermissionTx{.tx = tx,
                      .txid = tx.txid(),
                      .permission_id = permission_id,
                      .fee_sun = fee,
                      .expiration_ms = header.expiration_ms};
}

Result<BroadcastOutcome> PoolService::broadcast_permission_tx(int64_t tenant_id, int64_t pool_id,
                                                              common::ByteView signed_transaction,
                                                              const std::string& actor) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  if (pool.kind != PoolKind::kPermission) {
    return conflict("pool " + std::to_string(pool.id) + " is an own pool; it needs no permission");
  }
  if (pool.status == PoolStatus::kActive) {
    return conflict("pool " + std::to_string(pool.id) + " is already active");
  }
  if (!pool.permission_raw_data) {
    return conflict("no permission tx was generated for pool " + std::to_string(pool.id) +
                    "; request one first");
  }
  auto decoded = chain::Transaction::decode_signed(signed_transaction);
  if (!decoded.ok()) {
    return invalid("not a signed transaction: " + decoded.error().message);
  }
  chain::Transaction tx = *std::move(decoded);
  if (tx.raw_bytes() != *pool.permission_raw_data) {
    return make_error("tx_mismatch",
                      "the signed transaction is not the permission tx generated for this pool "
                      "(its raw data differs); sign exactly the raw_data_hex returned");
  }
  if (tx.raw().expiration() <= clock_.now_ms()) {
    return make_error("tx_expired", "the permission tx expired; request a new one");
  }
  RELAY_ASSIGN_OR_RETURN(auto account, node_.account(pool.address));
  if (!account) {
    return make_error("account_not_found",
                      "account " + pool.address.to_base58() + " does not exist on chain");
  }
  RELAY_ASSIGN_OR_RETURN(chain::ChainParameters params, node_.chain_parameters());
  if (auto signed_ok = chain::check_permission(account->permissions, tx,
                                               static_cast<int>(params.total_sign_num()));
      !signed_ok.ok()) {
    return make_error("not_signed_by_owner",
                      "the signatures do not satisfy the account's owner permission: " +
                          signed_ok.error().message);
  }
  RELAY_ASSIGN_OR_RETURN(chain::BroadcastResult result, node_.broadcast(tx.encode_signed()));
  if (!result.accepted) return broadcast_rejected(result);
  RELAY_TRY_STATUS(pools_.mark_permission_tx_broadcast(pool.id));
  audit(pool, actor, "pool.permission_tx.broadcast",
        details(pool, {{"txid", tx.txid_hex()}, {"duplicate", result.duplicate}}));
  return BroadcastOutcome{.txid = tx.txid(), .result = result};
}

Result<Pool> PoolService::confirm(int64_t tenant_id, int64_t pool_id, const std::string& actor) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  if (pool.kind != PoolKind::kPermission) {
    return conflict("pool " + std::to_string(pool.id) + " is an own pool; it needs no permission");
  }
  if (pool.status == PoolStatus::kDisabled) {
    return conflict("pool " + std::to_string(pool.id) + " is disabled; enable it instead");
  }
  // A permission counts only once a block holds it: nodes apply an accepted tx to the account
  // at once, before any block, and a tx that never makes it into one would leave us signing under
  // a permission the chain does not have. So: the tx we generated (whoever broadcast it) must be
  // in a block while it can still be; without one, only the solidified account is believed.
  bool generated_tx_included = false;
  if (pool.permission_txid) {
    RELAY_ASSIGN_OR_RETURN(auto info, node_.transaction_info(*pool.permission_txid));
    if (info && info->failed) {
      return make_error(
          "permission_tx_failed",
          "permission tx " + common::to_hex(*pool.permission_txid) + " failed on chain" +
              (info->message.empty() ? "" : ": " + info->message) + "; request a new one");
    }
    generated_tx_included = info.has_value();
    bool still_includable = false;
    if (!generated_tx_included && pool.permission_raw_data) {
      auto raw = chain::Transaction::decode_raw(*pool.permission_raw_data);
      still_includable = raw.ok() && raw->raw().expiration() > clock_.now_ms();
    }
    // Still includable and not in a block: broadcast (by us or by the customer) or not yet
    // signed, either way its outcome is open until it expires.
    if (!generated_tx_included && still_includable) {
      return make_error("not_confirmed",
                        "permission tx " + common::to_hex(*pool.permission_txid) +
                            " is not in a block yet; sign and broadcast it if not done, then "
                            "try again shortly");
    }
  }
  RELAY_ASSIGN_OR_RETURN(auto account,
                         node_.account(pool.address, generated_tx_included
                                                         ? chain::ReadFrom::kHead
                                                         : chain::ReadFrom::kSolidity));
  if (!account) {
    return make_error("account_not_found",
                      "account " + pool.address.to_base58() + " does not exist on chain");
  }
  auto id = find_compatible(account->permissions, signers_.relayer_address());
  if (!id) {
    std::string hint = pool.permission_txid && !pool.permission_tx_broadcast
                           ? "; sign and broadcast the generated permission tx first"
                           : "";
    return make_error("no_compatible_permission",
                      "no active permission of " + pool.address.to_base58() +
                          " lets the relayer key alone delegate and undelegate" + hint);
  }
  PoolStatus before = pool.status;
  RELAY_ASSIGN_OR_RETURN(Pool confirmed, activate(pool, *id));
  audit(confirmed, actor, "pool.confirm",
        details(confirmed, {{"permission_id", *id}, {"previous_status", status_name(before)}}));
  auto refreshed = refresh(confirmed.id, tenant_id);
  if (refreshed.ok()) return refreshed->pool;
  return confirmed;
}

Result<BroadcastOutcome> PoolService::stake(int64_t tenant_id, int64_t pool_id, common::Sun amount,
                                            const std::string& actor) {
  return stake_tx(tenant_id, pool_id, amount, actor, true);
}

Result<BroadcastOutcome> PoolService::unstake(int64_t tenant_id, int64_t pool_id,
                                              common::Sun amount, const std::string& actor) {
  return stake_tx(tenant_id, pool_id, amount, actor, false);
}

Result<BroadcastOutcome> PoolService::stake_tx(int64_t tenant_id, int64_t pool_id,
                                               common::Sun amount, const std::string& actor,
                                               bool freeze) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  if (pool.kind != PoolKind::kOwn) {
    return conflict("pool " + std::to_string(pool.id) +
                    " is a permission pool; its owner stakes and unstakes");
  }
  if (pool.status != PoolStatus::kActive) {
    return conflict("pool " + std::to_string(pool.id) + " is " + status_name(pool.status) +
                    "; staking needs an active pool");
  }
  if (amount.value() < common::kSunPerTrx) {
    return invalid("amount_sun must be at least 1 TRX (1000000 sun)");
  }
  RELAY_ASSIGN_OR_RETURN(chain::TxHeader header,
                         header_on_head(node_, clock_, options_.stake_tx_expiration_ms));
  RELAY_ASSIGN_OR_RETURN(
      chain::Transaction tx,
      freeze ? chain::build_freeze_balance_v2(header, pool.address, amount, protocol::ENERGY)
             : chain::build_unfreeze_balance_v2(header, pool.address, amount, protocol::ENERGY));
  RELAY_ASSIGN_OR_RETURN(common::Bytes signature, signers_.sign(tx.raw_bytes()));
  tx.add_signature(std::move(signature));
  RELAY_ASSIGN_OR_RETURN(chain::BroadcastResult result, node_.broadcast(tx.encode_signed()));
  if (!result.accepted) return broadcast_rejected(result);
  audit(pool, actor, freeze ? "pool.stake" : "pool.unstake",
        details(pool, {{"amount_sun", amount.value()}, {"txid", tx.txid_hex()}}));
  return BroadcastOutcome{.txid = tx.txid(), .result = result};
}

Result<RefreshOutcome> PoolService::refresh(int64_t pool_id, std::optional<int64_t> tenant_id) {
  RELAY_ASSIGN_OR_RETURN(Pool pool, find_pool(pools_, pool_id, tenant_id));
  RELAY_ASSIGN_OR_RETURN(ChainRead read, read_chain(node_, pool.address, clock_.now()));

  RefreshOutcome out;
  std::optional<std::string> problem;
  if (read.account) {
    RELAY_TRY_STATUS(pools_.record_snapshot(pool.id, read.snapshot));
    pool.snapshot = read.snapshot;
    out.low_energy =
        pool.low_energy_alert && read.snapshot.energy_available < *pool.low_energy_alert;
    problem = grant_problem(pool, *read.account, signers_);
    if (!problem && read.snapshot.balance_sun < pool.min_reserve_sun) {
      problem =
          reason("low_balance", "the TRX balance " + std::to_string(read.snapshot.balance_sun) +
                                    " sun is below the pool's min_reserve_sun " +
                                    std::to_string(pool.min_reserve_sun) +
                                    "; delegations would burn the customer's TRX");
    }
  } else {
    problem =
        reason("account_missing", "account " + pool.address.to_base58() + " is not found on chain");
  }

  // Pending and disabled pools only get their snapshot: nothing is served from them.
  if (pool.status == PoolStatus::kActive) {
    if (problem) {
      RELAY_ASSIGN_OR_RETURN(Pool suspended, suspend(pool, *problem));
      suspended.snapshot = pool.snapshot;
      pool = std::move(suspended);
      out.suspended_now = true;
      out.reason = *problem;
      audit(pool, kMonitorActor, "pool.suspend", details(pool, {{"reason", *problem}}));
    } else if (signers_.admitted_permission_id(pool.address) != pool.permission_id) {
      // Active in the store but not (or differently) admitted: after a restart, or a failed write.
      if (auto admitted = signers_.admit_pool(pool.address, pool.permission_id.value_or(-1));
          !admitted.ok()) {
        std::string why = reason(admitted.error().code, admitted.error().message);
        RELAY_ASSIGN_OR_RETURN(Pool suspended, suspend(pool, why));
        suspended.snapshot = pool.snapshot;
        pool = std::move(suspended);
        out.suspended_now = true;
        out.reason = why;
        audit(pool, kMonitorActor, "pool.suspend", details(pool, {{"reason", why}}));
      }
    }
  } else if (pool.status == PoolStatus::kSuspended) {
    std::string_view current = reason_code(pool.status_reason);
    if (!problem && clears_itself(current)) {
      std::string before = pool.status_reason;
      RELAY_ASSIGN_OR_RETURN(Pool active, activate(pool, pool.permission_id.value_or(-1)));
      active.snapshot = pool.snapshot;
      pool = std::move(active);
      out.reactivated_now = true;
      audit(pool, kMonitorActor, "pool.reactivate", details(pool, {{"previous_reason", before}}));
    } else if (problem && clears_itself(current) && reason_code(*problem) != current) {
      // Still suspended, for a different reason now (e.g. the balance is back but the permission
      // is gone): say so, so that the operator knows what to fix.
      RELAY_ASSIGN_OR_RETURN(Pool updated, suspend(pool, *problem));
      updated.snapshot = pool.snapshot;
      pool = std::move(updated);
      audit(pool, kMonitorActor, "pool.suspend", details(pool, {{"reason", *problem}}));
    }
    out.reason = pool.status_reason;
  }
  out.pool = std::move(pool);
  return out;
}

Result<std::vector<RefreshOutcome>> PoolService::refresh_all() {
  RELAY_ASSIGN_OR_RETURN(std::vector<Pool> pools, pools_.list(std::nullopt));
  std::vector<RefreshOutcome> out;
  out.reserve(pools.size());
  for (Pool& pool : pools) {
    auto refreshed = refresh(pool.id, std::nullopt);
    if (refreshed.ok()) {
      out.push_back(*std::move(refreshed));
    } else {
      RefreshOutcome failed;
      failed.pool = std::move(pool);
      failed.error = refreshed.error();
      out.push_back(std::move(failed));
    }
  }
  return out;
}

}  // namespace relay::energy
