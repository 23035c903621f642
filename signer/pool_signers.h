// PoolSigners: every key tronrelayd signs pool transactions with, and the policy that says which
// pool each may touch. The relayer key signs DelegateResource/UnDelegateResource for permission
// pools under their stored Permission_id, and for own pools under the owner (id 0) when the pool's
// owner key is not loaded; each own pool's owner key signs that pool's own staking transactions
// (FreezeBalanceV2, UnfreezeBalanceV2, WithdrawExpireUnfreeze) and its delegations. The set of
// pools changes while the daemon runs (onboarding, suspension), so the allowed owners are updated
// here atomically; deny by default: a pool not admitted, a contract type or Permission_id the pool
// was not admitted for, is refused and nothing is signed. Thread-safe.
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
  int64_t max_delegate_sun = 0;
  int64_t max_stake_sun = 0;
};

class PoolSigners {
 public:
  // `relayer` is the relayer key. Its address is what permission pools grant.
  static common::Result<std::unique_ptr<PoolSigners>> create(SecretKey relayer,
                                                             PoolSignersLimits limits = {});
  ~PoolSigners();

  const common::Address& relayer_address() const;

  // Loads an own pool's owner key (from a 0600 key file, see key_file.h) and returns the address
  // it controls; "invalid_key" when the file is unusable.
  common::Result<common::Address> add_owner_key(SecretKey key);
  bool has_owner_key(const common::Address& pool) const;

  // Admit a pool: the relayer key may then sign Delegate/UnDelegate owned by `pool` under
  // `permission_id` (2.. for permission pools). Own pools are admitted with permission_id 0 and
  // need their owner key loaded. Re-admitting replaces the id.
  void admit_pool(const common::Address& pool, int32_t permission_id);
  // After suspension or deletion: nothing owned by `pool` is signed any more.
  void revoke_pool(const common::Address& pool);
  bool is_admitted(const common::Address& pool) const;

  // Signs `raw_data` (Transaction.raw bytes) for its owner: the owner key for own pools, the
  // relayer key otherwise. Returns the 65-byte signature. "policy_refused" for anything the rules
  // above do not allow.
  common::Result<common::Bytes> sign(common::ByteView raw_data) const;

 private:
  struct State;
  explicit PoolSigners(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace relay::signer
