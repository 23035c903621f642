#include "chain/contract_type.h"

namespace relay::chain {

std::string contract_type_name(int type) {
  if (!protocol::Transaction_Contract_ContractType_IsValid(type)) return "";
  return protocol::Transaction_Contract_ContractType_Name(static_cast<ContractType>(type));
}

std::optional<ContractType> contract_type_from_name(std::string_view name) {
  ContractType out;
  if (!protocol::Transaction_Contract_ContractType_Parse(std::string(name), &out))
    return std::nullopt;
  return out;
}

bool is_known_contract_type(int type) {
  return protocol::Transaction_Contract_ContractType_IsValid(type);
}

const google::protobuf::Descriptor* contract_descriptor(int type) {
  using protocol::Transaction_Contract;
  switch (type) {
    case Transaction_Contract::TransferContract:
      return protocol::TransferContract::descriptor();
    case Transaction_Contract::TriggerSmartContract:
      return protocol::TriggerSmartContract::descriptor();
    case Transaction_Contract::AccountPermissionUpdateContract:
      return protocol::AccountPermissionUpdateContract::descriptor();
    case Transaction_Contract::FreezeBalanceV2Contract:
      return protocol::FreezeBalanceV2Contract::descriptor();
    case Transaction_Contract::UnfreezeBalanceV2Contract:
      return protocol::UnfreezeBalanceV2Contract::descriptor();
    case Transaction_Contract::WithdrawExpireUnfreezeContract:
      return protocol::WithdrawExpireUnfreezeContract::descriptor();
    case Transaction_Contract::DelegateResourceContract:
      return protocol::DelegateResourceContract::descriptor();
    case Transaction_Contract::UnDelegateResourceContract:
      return protocol::UnDelegateResourceContract::descriptor();
    case Transaction_Contract::CancelAllUnfreezeV2Contract:
      return protocol::CancelAllUnfreezeV2Contract::descriptor();
    default:
      return nullptr;
  }
}

std::string resource_name(Resource resource) { return protocol::ResourceCode_Name(resource); }

}  // namespace relay::chain
