// PoolSigners: every key tronrelayd signs pool transactions with, and the policy that says which
// pool each may touch. The relayer key signs DelegateResource/UnDelegateResource for permission
// pools, each under the Permission_id it was admitted with. Each own pool's owner key signs that
// pool's staking transactions (FreezeBalanceV2, UnfreezeBalanceV2, WithdrawExpireUnfreeze) and its
// delegations, under the owner permission (id 0); the relayer's own account can be an own pool
// (its owner key is then the relayer key). The set of pools changes while the daemon runs
// (onboarding, suspension), so admission is updated here atomically; deny by default: a pool not
// admitted, a contract type or Permission_id the pool was not admitted for, an amount above the
// caps, a fee_limit, is refused and nothing is signed. Every check runs on the facts decoded from
// the exact bytes being signed (LocalSigner + SigningPolicy). Keys never leave this object: no
// call returns or prints them. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/address.h"
#include "common/bytes.h"
#include "common/result.h"
#include "signer/secret_key.h"
#include "signer/signer.h"

namespace relay::signer {

struct PoolSignersLimits {
  // Caps per transaction, in sun; 0 = no cap beyond the chain's own rules.
  int64_t max_delegate_sun = 0;  // DelegateResource.balance
  int64_t max_stake_sun = 0;  // FreezeBalanceV2.frozen_balance, UnfreezeBalanceV2.unfreeze_balance
};

class PoolSigners {
 public:
  // `relayer` is the relayer key. Its address is what permission pools grant.
  static common::Result<std::unique_ptr<PoolSigners>> create(SecretKey relayer,
                                                             PoolSignersLimits limits = {});
  ~PoolSigners();

  const common::Address& relayer_address() const;

  // Loads an own pool's owner key (from a 0600 key file, see key_file.h) and returns the address
  // it controls; "invalid_key" when the key is unusable. Loading it admits nothing.
  common::Result<common::Address> add_owner_key(SecretKey key);
  // True for the relayer's own address too.
  bool has_owner_key(const common::Address& pool) const;

  // Admit a pool: with `permission_id` 2.. the relayer key may then sign Delegate/UnDelegate owned
  // by `pool` under exactly that id (a permission pool); with 0, the pool's owner key signs its
  // staking and delegations (an own pool). Re-admitting replaces the id. "owner_key_missing" for 0
  // without a loaded owner key, "invalid_request" for 1 or a negative id; nothing changes then.
  common::Status admit_pool(const common::Address& pool, int32_t permission_id);
  // After suspension, disabling or deletion: nothing owned by `pool` is signed any more once this
  // returns.
  void revoke_pool(const common::Address& pool);
  bool is_admitted(const common::Address& pool) const;
  std::optional<int32_t> admitted_permission_id(const common::Address& pool) const;

  // Signs `raw_data` (Transaction.raw bytes) for its owner: the owner key for own pools, the
  // relayer key for permission pools. Returns the 65-byte signature r ‖ s ‖ v (v = 27 + recid).
  // "policy_refused" (naming the rule) for anything the rules above do not allow,
  // "invalid_transaction" for bytes the signer cannot read.
  common::Result<common::Bytes> sign(common::ByteView raw_data) const;

 private:
  struct State;
  explicit PoolSigners(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace relay::signer
