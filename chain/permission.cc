#include "chain/permission.h"

#include <cassert>
#include <map>

#include "common/signature.h"

namespace relay::chain {

using common::Address;
using common::Bytes;
using common::ByteView;
using common::make_error;
using common::Result;

namespace {

common::Error invalid_permission(std::string message) {
  return make_error("invalid_permission", std::move(message));
}
common::Error rejected(std::string message) {
  return make_error("signature_rejected", std::move(message));
}

}  // namespace

Result<Bytes> operations_bitmap(const std::set<int>& contract_types) {
  Bytes ops(kOperationsSize, 0);
  for (int type : contract_types) {
    if (!is_known_contract_type(type)) {
      return invalid_permission(std::to_string(type) + " isn't a validate ContractType");
    }
    ops[type / 8] |= static_cast<uint8_t>(1u << (type % 8));
  }
  return ops;
}

std::vector<int> operations_contract_types(ByteView operations) {
  std::vector<int> out;
  for (size_t byte = 0; byte < operations.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      if (operations[byte] & (1u << bit)) out.push_back(static_cast<int>(byte * 8 + bit));
    }
  }
  return out;
}

bool operations_allow(ByteView operations, int contract_type) {
  if (contract_type < 0 || static_cast<size_t>(contract_type / 8) >= operations.size())
    return false;
  return (operations[contract_type / 8] & (1u << (contract_type % 8))) != 0;
}

PermissionBuilder PermissionBuilder::owner(std::string name) {
  PermissionBuilder b;
  b.type_ = protocol::Permission::Owner;
  b.name_ = std::move(name);
  return b;
}

PermissionBuilder PermissionBuilder::active(std::string name) {
  PermissionBuilder b;
  b.type_ = protocol::Permission::Active;
  b.name_ = std::move(name);
  return b;
}

PermissionBuilder& PermissionBuilder::threshold(int64_t threshold) {
  threshold_ = threshold;
  return *this;
}

PermissionBuilder& PermissionBuilder::key(const Address& address, int64_t weight) {
  keys_.emplace_back(address, weight);
  return *this;
}

PermissionBuilder& PermissionBuilder::allow(int contract_type) {
  operations_.insert(contract_type);
  return *this;
}

Result<protocol::Permission> PermissionBuilder::build(int total_sign_num) const {
  protocol::Permission p;
  p.set_type(type_);
  p.set_permission_name(name_);
  p.set_threshold(threshold_);
  if (type_ == protocol::Permission::Active) {
    RELAY_ASSIGN_OR_RETURN(Bytes ops, operations_bitmap(operations_));
    p.set_operations(std::string(ops.begin(), ops.end()));
  } else if (!operations_.empty()) {
    return invalid_permission("owner permission needn't operations");
  }
  for (const auto& [address, weight] : keys_) {
    auto* key = p.add_keys();
    key->set_address(address.proto_bytes());
    key->set_weight(weight);
  }
  RELAY_TRY_STATUS(validate_permission(p, total_sign_num));
  return p;
}

common::Status validate_permission(const protocol::Permission& p, int total_sign_num) {
  if (p.keys_size() > total_sign_num) {
    return invalid_permission("number of keys in permission should not be greater than " +
                              std::to_string(total_sign_num));
  }
  if (p.keys_size() == 0) return invalid_permission("key's count should be greater than 0");
  if (p.type() == protocol::Permission::Witness && p.keys_size() != 1) {
    return invalid_permission("Witness permission's key count should be 1");
  }
  if (p.threshold() <= 0)
    return invalid_permission("permission's threshold should be greater than 0");
  if (p.permission_name().size() > 32) return invalid_permission("permission's name is too long");
  if (p.parent_id() != 0) return invalid_permission("permission's parent should be owner");

  int64_t weight_sum = 0;
  std::set<std::string> seen;
  for (const auto& key : p.keys()) {
    if (!Address::from_bytes(common::as_bytes(key.address())).ok()) {
      return invalid_permission("key is not a validate address");
    }
    if (key.weight() <= 0) return invalid_permission("key's weight should be greater than 0");
    if (!seen.insert(key.address()).second) {
      return invalid_permission("address should be distinct in permission " +
                                protocol::Permission_PermissionType_Name(p.type()));
    }
    if (__builtin_add_overflow(weight_sum, key.weight(), &weight_sum)) {
      return invalid_permission("sum of all key's weight overflows");
    }
  }
  if (weight_sum < p.threshold()) {
    return invalid_permission(
        "sum of all key's weight should not be less than threshold in permission " +
        protocol::Permission_PermissionType_Name(p.type()));
  }

  if (p.type() == protocol::Permission::Active) {
    if (p.operations().size() != kOperationsSize) {
      return invalid_permission("operations size must 32");
    }
    for (int type : operations_contract_types(common::as_bytes(p.operations()))) {
      if (!is_known_contract_type(type)) {
        return invalid_permission(std::to_string(type) + " isn't a validate ContractType");
      }
    }
  } else if (!p.operations().empty()) {
    return invalid_permission(protocol::Permission_PermissionType_Name(p.type()) +
                              " permission needn't operations");
  }
  return {};
}

AccountPermissions AccountPermissions::defaults_for(const Address& account,
                                                    ByteView active_operations) {
  AccountPermissions out;
  std::string address = account.proto_bytes();
  out.owner.set_type(protocol::Permission::Owner);
  out.owner.set_permission_name("owner");
  out.owner.set_threshold(1);
  auto* owner_key = out.owner.add_keys();
  owner_key->set_address(address);
  owner_key->set_weight(1);

  protocol::Permission active;
  active.set_type(protocol::Permission::Active);
  active.set_id(2);
  active.set_permission_name("active");
  active.set_threshold(1);
  active.set_operations(std::string(common::as_chars(active_operations)));
  auto* active_key = active.add_keys();
  active_key->set_address(address);
  active_key->set_weight(1);
  out.actives.push_back(std::move(active));
  return out;
}

const protocol::Permission* AccountPermissions::find(int32_t id) const {
  if (id == 0) return &owner;
  if (id == 1) return witness ? &*witness : nullptr;
  for (const auto& active : actives) {
    if (active.id() == id) return &active;
  }
  return nullptr;
}

RecoveredSigners recover_signers(const Transaction& tx) {
  RecoveredSigners out;
  out.reserve(tx.signatures().size());
  for (const auto& signature : tx.signatures()) {
    if (signature.size() < common::kSignatureSize) {
      out.push_back(common::make_error("bad_signature",
                                       "Signature size is " + std::to_string(signature.size())));
    } else {
      out.push_back(
          common::recover_signer(tx.txid(), ByteView(signature).first(common::kSignatureSize)));
    }
  }
  return out;
}

common::Status check_permission(const AccountPermissions& account, const Transaction& tx,
                                int total_sign_num) {
  return check_permission(account, tx, recover_signers(tx), total_sign_num);
}

common::Status check_permission(const AccountPermissions& account, const Transaction& tx,
                                const RecoveredSigners& signers, int total_sign_num) {
  assert(signers.size() == tx.signatures().size());
  const auto& signatures = tx.signatures();
  if (signatures.empty()) return rejected("miss sig or contract");
  if (static_cast<int>(signatures.size()) > total_sign_num) return rejected("too many signatures");

  const protocol::Permission* permission = account.find(tx.permission_id());
  if (permission == nullptr) return rejected("permission isn't exit");
  if (tx.permission_id() != 0) {
    if (permission->type() != protocol::Permission::Active) {
      return rejected("Permission type is error");
    }
    if (!operations_allow(common::as_bytes(permission->operations()), tx.contract_type())) {
      return rejected("Permission denied");
    }
  }

  if (signatures.size() > static_cast<size_t>(permission->keys_size())) {
    return rejected(
        "Signature count is " + std::to_string(signatures.size()) +
        " more than key counts of permission : " + std::to_string(permission->keys_size()));
  }
  std::map<std::string, int64_t> weights;
  for (const auto& key : permission->keys()) weights[key.address()] = key.weight();

  std::set<Address> signed_by;
  int64_t weight_sum = 0;
  for (size_t i = 0; i < signatures.size(); ++i) {
    const auto& signature = signatures[i];
    if (signature.size() < common::kSignatureSize) {
      return rejected("Signature size is " + std::to_string(signature.size()));
    }
    const auto& signer = signers[i];
    if (!signer.ok()) return rejected(signer.error().message);
    auto weight = weights.find(signer->proto_bytes());
    if (weight == weights.end()) {
      return rejected(common::to_hex(signature) + " is signed by " + signer->to_base58() +
                      " but it is not contained of permission.");
    }
    if (!signed_by.insert(*signer).second) {
      return rejected(signer->to_base58() + " has signed twice!");
    }
    weight_sum += weight->second;
  }
  if (weight_sum < permission->threshold()) return rejected("sig error");
  return {};
}

}  // namespace relay::chain
