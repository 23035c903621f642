// SigningPolicy: the operator's statement of what the relayer key may sign. Deny by default: a
// contract type, owner account or amount that the policy does not name is refused with a Result
// error, and no signature is ever produced for it.
#pragma once

#include <map>
#include <optional>
#include <set>

#include "common/address.h"
#include "signer/tx_facts.h"

namespace relay::signer {

struct SigningPolicy {
  // Contract type numbers (57 = DelegateResource, 58 = UnDelegateResource, ...).
  std::set<int> allowed_contract_types;
  // Accounts whose transactions may be signed (pools); empty refuses every owner.
  std::set<common::Address> allowed_owners;
  // Per contract type, the largest amount_sun one transaction may carry; a type without an entry
  // has no per-transaction limit beyond being allowed.
  std::map<int, int64_t> max_amount_sun;
  // The largest fee_limit (TRX burnable for energy) a transaction may carry.
  int64_t max_fee_limit_sun = 0;
  // If set, only these Permission_id values (0 = owner, 2.. = actives).
  std::optional<std::set<int32_t>> allowed_permission_ids;
  // Per owner, the one Permission_id its transactions must carry (a permission pool's grant is one
  // active permission; signing under another id would use a permission we were never given).
  std::map<common::Address, int32_t> permission_id_by_owner;

  // Error code "policy_refused", naming the rule that refused.
  common::Status check(const TxFacts& facts) const;
};

}  // namespace relay::signer
