// Account permissions (multi-sign): building Permission messages for AccountPermissionUpdate with
// java-tron's validation rules, the 32-byte operations bitmap, and the check java-tron runs on
// every signed transaction — used by the devnet at broadcast and by the relay's pre-flight.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chain/transaction.h"

namespace relay::chain {

inline constexpr size_t kOperationsSize = 32;
inline constexpr int kDefaultTotalSignNum = 5;

// Bit t of the bitmap allows contract type t: ops[t / 8] & (1 << (t % 8)), LSB first in each byte.
common::Result<common::Bytes> operations_bitmap(const std::set<int>& contract_types);
std::vector<int> operations_contract_types(common::ByteView operations);
bool operations_allow(common::ByteView operations, int contract_type);

class PermissionBuilder {
 public:
  static PermissionBuilder owner(std::string name = "owner");
  static PermissionBuilder active(std::string name);

  PermissionBuilder& threshold(int64_t threshold);
  PermissionBuilder& key(const common::Address& address, int64_t weight);
  PermissionBuilder& allow(int contract_type);

  // Applies java-tron's AccountPermissionUpdate rules; errors carry java-tron's wording.
  common::Result<protocol::Permission> build(int total_sign_num = kDefaultTotalSignNum) const;

 private:
  protocol::Permission::PermissionType type_ = protocol::Permission::Owner;
  std::string name_;
  int64_t threshold_ = 1;
  std::vector<std::pair<common::Address, int64_t>> keys_;
  std::set<int> operations_;
};

// Checks one Permission as java-tron's AccountPermissionUpdate validation does.
common::Status validate_permission(const protocol::Permission& permission,
                                   int total_sign_num = kDefaultTotalSignNum);

// An account's permissions as the chain stores them (ids already assigned by position).
struct AccountPermissions {
  protocol::Permission owner;
  std::optional<protocol::Permission> witness;
  std::vector<protocol::Permission> actives;

  // What java-tron falls back to for an account without stored permissions: owner and one active
  // ("active", id 2), each with the account's own key, weight 1, threshold 1.
  static AccountPermissions defaults_for(const common::Address& account,
                                         common::ByteView active_operations);
  const protocol::Permission* find(int32_t id) const;
};

// java-tron's signature check: the permission named by Permission_id exists, is Active when id ≥ 2,
// allows the contract type, and the distinct recovered signers' weights reach its threshold.
// Errors have code "signature_rejected" and java-tron's message text (without the
// "Validate signature error: " prefix the node adds).
common::Status check_permission(const AccountPermissions& account, const Transaction& tx,
                                int total_sign_num = kDefaultTotalSignNum);

// The signer of each signature (recovery is the costly part of the check and needs no shared
// state, so a node can run it before taking its lock).
using RecoveredSigners = std::vector<common::Result<common::Address>>;
RecoveredSigners recover_signers(const Transaction& tx);
common::Status check_permission(const AccountPermissions& account, const Transaction& tx,
                                const RecoveredSigners& signers,
                                int total_sign_num = kDefaultTotalSignNum);

}  // namespace relay::chain
