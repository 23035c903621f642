// TRON contract types by number and by java-tron's enum name, and how each maps to its message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chain/proto/tron.pb.h"
#include "common/result.h"

namespace relay::chain {

using ContractType = protocol::Transaction_Contract_ContractType;
using Resource = protocol::ResourceCode;

inline constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com/protocol.";

// "DelegateResourceContract" for 57; empty for a number the enum does not know.
std::string contract_type_name(int type);
std::optional<ContractType> contract_type_from_name(std::string_view name);
bool is_known_contract_type(int type);

// The message that carries a type's parameters, for the types tronrelay builds and decodes
// (Transfer, TriggerSmartContract, AccountPermissionUpdate and the Stake 2.0 family). Null
// otherwise.
const google::protobuf::Descriptor* contract_descriptor(int type);

std::string resource_name(Resource resource);

// Fields that hold an addr21: every `*address` bytes field (owner_address, Key.address, ...).
bool is_address_field(const google::protobuf::FieldDescriptor* field);

// Every set address field is a valid addr21 and every enum value is one the schema names, in
// `message` and the messages inside it. java-tron refuses anything else; so do we, at decode time.
common::Status check_field_values(const google::protobuf::Message& message);

}  // namespace relay::chain
