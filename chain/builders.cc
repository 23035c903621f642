#include "chain/builders.h"

namespace relay::chain {

using common::Address;
using common::ByteView;
using common::make_error;
using common::Result;
using common::Sun;

namespace {

common::Error bad_input(std::string message) {
  return make_error("invalid_request", std::move(message));
}

common::Status check_header(const TxHeader& header) {
  if (header.expiration_ms <= 0) return bad_input("expiration must be a positive ms timestamp");
  if (header.timestamp_ms < 0) return bad_input("timestamp must not be negative");
  if (header.fee_limit_sun < 0) return bad_input("fee_limit must not be negative");
  if (header.permission_id < 0) return bad_input("Permission_id must not be negative");
  return {};
}

common::Status check_positive(Sun amount, const char* field) {
  if (amount.value() <= 0) return bad_input(std::string(field) + " must be greater than 0");
  return {};
}

common::Status check_resource(Resource resource) {
  if (resource != protocol::BANDWIDTH && resource != protocol::ENERGY) {
    return bad_input("resource must be BANDWIDTH or ENERGY");
  }
  return {};
}

// Wraps `parameter` in the one Contract of a raw transaction under `header`.
Result<Transaction> finish(const TxHeader& header, ContractType type,
                           const google::protobuf::Message& parameter) {
  RELAY_TRY_STATUS(check_header(header));
  protocol::Transaction_raw raw;
  raw.set_ref_block_bytes(
      std::string(header.tapos.ref_block_bytes.begin(), header.tapos.ref_block_bytes.end()));
  raw.set_ref_block_hash(
      std::string(header.tapos.ref_block_hash.begin(), header.tapos.ref_block_hash.end()));
  raw.set_expiration(header.expiration_ms);
  raw.set_data(header.memo);
  raw.set_timestamp(header.timestamp_ms);
  raw.set_fee_limit(header.fee_limit_sun);
  auto* contract = raw.add_contract();
  contract->set_type(type);
  contract->set_permission_id(header.permission_id);
  // PackFrom writes "type.googleapis.com/protocol.<Message>" because the .proto package is
  // protocol.
  contract->mutable_parameter()->PackFrom(parameter);
  return Transaction::from_raw(raw);
}

}  // namespace

Result<TaposRef> TaposRef::from_block(int64_t number, ByteView block_id) {
  if (block_id.size() != 32) {
    return bad_input("block id must be 32 bytes, got " + std::to_string(block_id.size()));
  }
  int64_t id_number = 0;
  for (int i = 0; i < 8; ++i) id_number = id_number << 8 | block_id[i];
  if (number < 0 || id_number != number) {
    return bad_input("block id encodes number " + std::to_string(id_number) + ", not " +
                     std::to_string(number));
  }
  TaposRef ref;
  std::copy(block_id.begin() + 6, block_id.begin() + 8, ref.ref_block_bytes.begin());
  std::copy(block_id.begin() + 8, block_id.begin() + 16, ref.ref_block_hash.begin());
  return ref;
}

Result<TaposRef> TaposRef::from_block_id_hex(std::string_view block_id_hex) {
  RELAY_ASSIGN_OR_RETURN(auto id, common::from_hex_exact(block_id_hex, 32, "block id"));
  int64_t number = 0;
  for (int i = 0; i < 8; ++i) number = number << 8 | id[i];
  return from_block(number, id);
}

Result<Transaction> build_transfer(const TxHeader& header, const Address& owner, const Address& to,
                                   Sun amount) {
  RELAY_TRY_STATUS(check_positive(amount, "amount"));
  protocol::TransferContract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_to_address(to.proto_bytes());
  c.set_amount(amount.value());
  return finish(header, protocol::Transaction_Contract::TransferContract, c);
}

Result<Transaction> build_trigger_smart_contract(const TxHeader& header, const Address& owner,
                                                 const Address& contract, Sun call_value,
                                                 ByteView data) {
  if (call_value.value() < 0) return bad_input("call_value must not be negative");
  protocol::TriggerSmartContract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_contract_address(contract.proto_bytes());
  c.set_call_value(call_value.value());
  c.set_data(std::string(common::as_chars(data)));
  return finish(header, protocol::Transaction_Contract::TriggerSmartContract, c);
}

Result<Transaction> build_trc20_transfer(const TxHeader& header, const Address& owner,
                                         const Address& token, const Address& to,
                                         const Uint256& amount) {
  if (header.fee_limit_sun <= 0) {
    return bad_input("fee_limit must be set for a TRC20 transfer, or it can burn nothing");
  }
  return build_trigger_smart_contract(header, owner, token, Sun(0),
                                      encode_trc20_transfer(to, amount));
}

Result<Transaction> build_freeze_balance_v2(const TxHeader& header, const Address& owner,
                                            Sun amount, Resource resource) {
  RELAY_TRY_STATUS(check_positive(amount, "frozen_balance"));
  RELAY_TRY_STATUS(check_resource(resource));
  protocol::FreezeBalanceV2Contract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_frozen_balance(amount.value());
  c.set_resource(resource);
  return finish(header, protocol::Transaction_Contract::FreezeBalanceV2Contract, c);
}

Result<Transaction> build_unfreeze_balance_v2(const TxHeader& header, const Address& owner,
                                              Sun amount, Resource resource) {
  RELAY_TRY_STATUS(check_positive(amount, "unfreeze_balance"));
  RELAY_TRY_STATUS(check_resource(resource));
  protocol::UnfreezeBalanceV2Contract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_unfreeze_balance(amount.value());
  c.set_resource(resource);
  return finish(header, protocol::Transaction_Contract::UnfreezeBalanceV2Contract, c);
}

Result<Transaction> build_delegate_resource(const TxHeader& header, const Address& owner,
                                            const Address& receiver, Sun balance, Resource resource,
                                            DelegateLock lock) {
  RELAY_TRY_STATUS(check_positive(balance, "balance"));
  RELAY_TRY_STATUS(check_resource(resource));
  if (owner == receiver) return bad_input("receiver must differ from owner");
  if (lock.lock_period_blocks < 0) return bad_input("lock_period must not be negative");
  if (!lock.lock && lock.lock_period_blocks != 0) {
    return bad_input("lock_period is only meaningful with lock=true");
  }
  protocol::DelegateResourceContract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_resource(resource);
  c.set_balance(balance.value());
  c.set_receiver_address(receiver.proto_bytes());
  c.set_lock(lock.lock);
  c.set_lock_period(lock.lock_period_blocks);
  return finish(header, protocol::Transaction_Contract::DelegateResourceContract, c);
}

Result<Transaction> build_undelegate_resource(const TxHeader& header, const Address& owner,
                                              const Address& receiver, Sun balance,
                                              Resource resource) {
  RELAY_TRY_STATUS(check_positive(balance, "balance"));
  RELAY_TRY_STATUS(check_resource(resource));
  if (owner == receiver) return bad_input("receiver must differ from owner");
  protocol::UnDelegateResourceContract c;
  c.set_owner_address(owner.proto_bytes());
  c.set_resource(resource);
  c.set_balance(balance.value());
  c.set_receiver_address(receiver.proto_bytes());
  return finish(header, protocol::Transaction_Contract::UnDelegateResourceContract, c);
}

Result<Transaction> build_account_permission_update(
    const TxHeader& header, const Address& owner, const protocol::Permission& owner_permission,
    const std::optional<protocol::Permission>& witness_permission,
    const std::vector<protocol::Permission>& actives) {
  if (owner_permission.type() != protocol::Permission::Owner) {
    return bad_input("owner permission type is error");
  }
  if (actives.empty()) return bad_input("active permission is missed");
  if (actives.size() > 8) return bad_input("active permission is too many");
  for (const auto& active : actives) {
    if (active.type() != protocol::Permission::Active) {
      return bad_input("active permission type is error");
    }
  }
  protocol::AccountPermissionUpdateContract c;
  c.set_owner_address(owner.proto_bytes());
  *c.mutable_owner() = owner_permission;
  if (witness_permission) *c.mutable_witness() = *witness_permission;
  for (const auto& active : actives) *c.add_actives() = active;
  return finish(header, protocol::Transaction_Contract::AccountPermissionUpdateContract, c);
}

}  // namespace relay::chain
