#include "chain/contract_type.h"

#include "common/address.h"

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

bool is_address_field(const google::protobuf::FieldDescriptor* field) {
  return field->type() == google::protobuf::FieldDescriptor::TYPE_BYTES &&
         field->name().ends_with("address");
}

common::Status check_field_values(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      bool repeated = field->is_repeated();
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (field->message_type()->full_name() == "google.protobuf.Any") continue;
        RELAY_TRY_STATUS(check_field_values(repeated
                                                ? reflection->GetRepeatedMessage(message, field, i)
                                                : reflection->GetMessage(message, field)));
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        int number = repeated ? reflection->GetRepeatedEnumValue(message, field, i)
                              : reflection->GetEnumValue(message, field);
        if (field->enum_type()->FindValueByNumber(number) == nullptr) {
          return common::make_error("invalid_transaction",
                                    field->name() + ": " + std::to_string(number) +
                                        " is not a value of " + field->enum_type()->name());
        }
      } else if (is_address_field(field)) {
        std::string bytes = repeated ? reflection->GetRepeatedString(message, field, i)
                                     : reflection->GetString(message, field);
        auto address = common::Address::from_bytes(common::as_bytes(bytes));
        if (!address.ok()) {
          return common::make_error("invalid_transaction",
                                    field->name() + ": " + address.error().message);
        }
      }
    }
  }
  return {};
}

}  // namespace relay::chain
