#include "signer/pool_signers.h"

#include <shared_mutex>

#include "signer/tx_facts.h"

namespace relay::signer {

using common::Address;
using common::make_error;
using common::Result;

namespace {

constexpr int kFreezeBalanceV2 = 54;
constexpr int kUnfreezeBalanceV2 = 55;
constexpr int kWithdrawExpireUnfreeze = 56;
constexpr int kDelegateResource = 57;
constexpr int kUnDelegateResource = 58;

common::Error refused(std::string message) {
  return make_error("policy_refused", std::move(message));
}

// A second handle on the same 32 bytes, so that a LocalSigner can be rebuilt with a new policy
// while the original key stays here. It lives in signer/ like the original and is wiped with it.
Result<SecretKey> duplicate(const SecretKey& key) {
  return SecretKey::from_bytes(common::ByteView(key.data(), 32));
}

void set_caps(SigningPolicy& policy, const PoolSignersLimits& limits) {
  if (limits.max_delegate_sun > 0)
    policy.max_amount_sun[kDelegateResource] = limits.max_delegate_sun;
  if (limits.max_stake_sun > 0) {
    policy.max_amount_sun[kFreezeBalanceV2] = limits.max_stake_sun;
    policy.max_amount_sun[kUnfreezeBalanceV2] = limits.max_stake_sun;
  }
  policy.max_fee_limit_sun = 0;  // none of these contracts burns TRX for energy
}

}  // namespace

struct PoolSigners::State {
  PoolSignersLimits limits;
  Address relayer_address;

  // Guards everything below. sign() holds it shared for the whole signature, so that once
  // admit_pool/revoke_pool has returned no signature made under the old rules can still appear.
  // glibc's shared_mutex prefers readers: under steady signing a revoke could wait for ever. A
  // writer therefore holds `turnstile` while it waits, which keeps new readers out until it is
  // done.
  mutable std::mutex turnstile;
  mutable std::shared_mutex mutex;

  std::shared_lock<std::shared_mutex> read_lock() const {
    { std::lock_guard pass(turnstile); }
    return std::shared_lock(mutex);
  }
  struct WriteLock {
    explicit WriteLock(const State& state) : gate(state.turnstile), lock(state.mutex) {}
    std::lock_guard<std::mutex> gate;
    std::unique_lock<std::shared_mutex> lock;
  };
  SecretKey relayer_key;
  // Own pools' owner keys by the address they control; the relayer's own account is one of them.
  std::map<Address, SecretKey> owner_keys;
  // Admitted pools and their Permission_id: 0 = own pool (owner key), 2.. = permission pool.
  std::map<Address, int32_t> admitted;
  // Rebuilt whenever the admitted set changes: each one's policy names exactly what it may sign.
  std::unique_ptr<LocalSigner> relayer_signer;
  std::map<Address, std::unique_ptr<LocalSigner>> owner_signers;

  explicit State(SecretKey key) : relayer_key(std::move(key)) {}

  // The relayer key, for permission pools: DelegateResource/UnDelegateResource, each pool under
  // the one active permission it granted us.
  common::Status rebuild_relayer_signer() {
    SigningPolicy policy;
    policy.allowed_contract_types = {kDelegateResource, kUnDelegateResource};
    std::set<int32_t> ids;
    for (const auto& [pool, id] : admitted) {
      if (id < 2) continue;
      policy.allowed_owners.insert(pool);
      policy.permission_id_by_owner[pool] = id;
      ids.insert(id);
    }
    policy.allowed_permission_ids = std::move(ids);
    set_caps(policy, limits);
    RELAY_ASSIGN_OR_RETURN(SecretKey copy, duplicate(relayer_key));
    RELAY_ASSIGN_OR_RETURN(relayer_signer, LocalSigner::create(std::move(copy), std::move(policy)));
    return {};
  }

  // An own pool's owner key: its staking transactions and its delegations, under the owner
  // permission, for that one account only.
  Result<std::unique_ptr<LocalSigner>> owner_signer_for(const Address& pool) const {
    auto key = owner_keys.find(pool);
    if (key == owner_keys.end()) {
      return make_error("owner_key_missing", "no owner key is loaded for pool " + pool.to_base58());
    }
    SigningPolicy policy;
    policy.allowed_contract_types = {kFreezeBalanceV2, kUnfreezeBalanceV2, kWithdrawExpireUnfreeze,
                                     kDelegateResource, kUnDelegateResource};
    policy.allowed_owners = {pool};
    policy.allowed_permission_ids = std::set<int32_t>{0};
    policy.permission_id_by_owner[pool] = 0;
    set_caps(policy, limits);
    RELAY_ASSIGN_OR_RETURN(SecretKey copy, duplicate(key->second));
    return LocalSigner::create(std::move(copy), std::move(policy));
  }
};

Result<std::unique_ptr<PoolSigners>> PoolSigners::create(SecretKey relayer,
                                                         PoolSignersLimits limits) {
  if (limits.max_delegate_sun < 0 || limits.max_stake_sun < 0) {
    return make_error("invalid_request", "pool signer limits must not be negative");
  }
  RELAY_ASSIGN_OR_RETURN(Address relayer_address, address_of(relayer));
  auto state = std::make_unique<State>(std::move(relayer));
  state->limits = limits;
  state->relayer_address = relayer_address;
  // The relayer's own account can be an own pool: its owner key is the relayer key.
  RELAY_ASSIGN_OR_RETURN(SecretKey own, duplicate(state->relayer_key));
  state->owner_keys.emplace(relayer_address, std::move(own));
  RELAY_TRY_STATUS(state->rebuild_relayer_signer());
  return std::unique_ptr<PoolSigners>(new PoolSigners(std::move(state)));
}

PoolSigners::PoolSigners(std::unique_ptr<State> state) : state_(std::move(state)) {}
PoolSigners::~PoolSigners() = default;

const Address& PoolSigners::relayer_address() const { return state_->relayer_address; }

Result<Address> PoolSigners::add_owner_key(SecretKey key) {
  RELAY_ASSIGN_OR_RETURN(Address address, address_of(key));
  State::WriteLock lock(*state_);
  state_->owner_keys.insert_or_assign(address, std::move(key));
  auto admitted = state_->admitted.find(address);
  if (admitted != state_->admitted.end() && admitted->second == 0) {
    RELAY_ASSIGN_OR_RETURN(state_->owner_signers[address], state_->owner_signer_for(address));
  }
  return address;
}

bool PoolSigners::has_owner_key(const Address& pool) const {
  auto lock = state_->read_lock();
  return state_->owner_keys.contains(pool);
}

common::Status PoolSigners::admit_pool(const Address& pool, int32_t permission_id) {
  if (permission_id < 0 || permission_id == 1) {
    return make_error("invalid_request",
                      "a pool is admitted with Permission_id 0 (own pool) or 2.. (an active "
                      "permission), not " +
                          std::to_string(permission_id));
  }
  State::WriteLock lock(*state_);
  std::unique_ptr<LocalSigner> owner_signer;
  if (permission_id == 0) {
    RELAY_ASSIGN_OR_RETURN(owner_signer, state_->owner_signer_for(pool));
  }
  auto previous = state_->admitted.find(pool);
  bool relayer_changes =
      permission_id >= 2 || (previous != state_->admitted.end() && previous->second >= 2);
  std::optional<int32_t> previous_id;
  if (previous != state_->admitted.end()) previous_id = previous->second;
  state_->admitted.insert_or_assign(pool, permission_id);
  if (relayer_changes) {
    if (auto rebuilt = state_->rebuild_relayer_signer(); !rebuilt.ok()) {
      // Leave the rules as they were: the old signer still matches the old admitted set.
      if (previous_id) {
        state_->admitted[pool] = *previous_id;
      } else {
        state_->admitted.erase(pool);
      }
      return rebuilt.error();
    }
  }
  if (owner_signer) {
    state_->owner_signers.insert_or_assign(pool, std::move(owner_signer));
  } else {
    state_->owner_signers.erase(pool);
  }
  return {};
}

void PoolSigners::revoke_pool(const Address& pool) {
  State::WriteLock lock(*state_);
  auto it = state_->admitted.find(pool);
  if (it == state_->admitted.end()) return;
  bool was_permission_pool = it->second >= 2;
  state_->admitted.erase(it);
  state_->owner_signers.erase(pool);
  if (was_permission_pool && !state_->rebuild_relayer_signer().ok()) {
    // Creating a signer failed (no entropy): deny everything rather than keep the old rules.
    state_->relayer_signer.reset();
  }
}

bool PoolSigners::is_admitted(const Address& pool) const {
  auto lock = state_->read_lock();
  return state_->admitted.contains(pool);
}

std::optional<int32_t> PoolSigners::admitted_permission_id(const Address& pool) const {
  auto lock = state_->read_lock();
  auto it = state_->admitted.find(pool);
  if (it == state_->admitted.end()) return std::nullopt;
  return it->second;
}

Result<common::Bytes> PoolSigners::sign(common::ByteView raw_data) const {
  // The owner read here only picks the key; the chosen LocalSigner decodes the same bytes again
  // and applies its own complete policy before it signs.
  RELAY_ASSIGN_OR_RETURN(TxFacts facts, read_tx_facts(raw_data));
  auto lock = state_->read_lock();
  auto admitted = state_->admitted.find(facts.owner);
  if (admitted == state_->admitted.end()) {
    return refused("owner " + facts.owner.to_base58() + " is not an admitted pool");
  }
  const LocalSigner* signer = nullptr;
  if (admitted->second == 0) {
    auto own = state_->owner_signers.find(facts.owner);
    if (own != state_->owner_signers.end()) signer = own->second.get();
  } else {
    signer = state_->relayer_signer.get();
  }
  if (signer == nullptr) {
    return refused("no key may sign for pool " + facts.owner.to_base58());
  }
  return signer->sign_transaction(raw_data);
}

}  // namespace relay::signer
