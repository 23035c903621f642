#include "chain/inspect.h"

#include <google/protobuf/descriptor.h>

#include "chain/abi.h"
#include "chain/permission.h"
#include "common/signature.h"

namespace relay::chain {

namespace json = boost::json;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

namespace {

json::object address_json(const common::Address& address) {
  return {{"hex", address.to_hex()}, {"base58", address.to_base58()}};
}

json::value bytes_field_json(const FieldDescriptor* field, const std::string& bytes) {
  bool address_like =
      field->name() == "address" || field->name().find("_address") != std::string::npos;
  if (address_like) {
    auto address = common::Address::from_bytes(common::as_bytes(bytes));
    if (address.ok()) return address_json(*address);
  }
  return json::string(common::to_hex(common::as_bytes(bytes)));
}

// Structural UTF-8 check: a memo is shown as text only when it is text.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto lead = static_cast<unsigned char>(s[i]);
    size_t continuation = lead < 0x80           ? 0
                          : (lead >> 5) == 0x06 ? 1
                          : (lead >> 4) == 0x0e ? 2
                          : (lead >> 3) == 0x1e ? 3
                                                : SIZE_MAX;
    if (continuation == SIZE_MAX || continuation >= s.size() - i) return false;
    for (size_t k = 1; k <= continuation; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x02) return false;
    }
    i += continuation + 1;
  }
  return true;
}

json::object permission_json(const protocol::Permission& p) {
  json::object out;
  out["type"] = protocol::Permission_PermissionType_Name(p.type());
  out["id"] = p.id();
  out["permission_name"] = p.permission_name();
  out["threshold"] = p.threshold();
  if (p.type() == protocol::Permission::Active || !p.operations().empty()) {
    out["operations"] = common::to_hex(common::as_bytes(p.operations()));
    json::array names;
    for (int type : operations_contract_types(common::as_bytes(p.operations()))) {
      std::string name = contract_type_name(type);
      names.push_back(name.empty() ? json::value(type) : json::value(json::string(name)));
    }
    out["operations_types"] = std::move(names);
  }
  json::array keys;
  for (const auto& key : p.keys()) {
    json::object k;
    auto address = common::Address::from_bytes(common::as_bytes(key.address()));
    if (address.ok()) {
      k["address"] = address_json(*address);
    } else {
      k["address"] = common::to_hex(common::as_bytes(key.address()));
    }
    k["weight"] = key.weight();
    keys.push_back(std::move(k));
  }
  out["keys"] = std::move(keys);
  return out;
}

json::object contract_json(const Message& message) {
  json::object out;
  const auto* descriptor = message.GetDescriptor();
  const auto* r = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string& name = field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->message_type() != protocol::Permission::descriptor()) continue;
      if (field->is_repeated()) {
        json::array items;
        for (int k = 0; k < r->FieldSize(message, field); ++k) {
          items.push_back(permission_json(
              static_cast<const protocol::Permission&>(r->GetRepeatedMessage(message, field, k))));
        }
        out[name] = std::move(items);
      } else if (r->HasField(message, field)) {
        out[name] = permission_json(
            static_cast<const protocol::Permission&>(r->GetMessage(message, field)));
      }
      continue;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64:
        out[name] = r->GetInt64(message, field);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        out[name] = r->GetBool(message, field);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        out[name] = r->GetEnum(message, field)->name();
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        out[name] = bytes_field_json(field, r->GetString(message, field));
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

json::object inspect_transaction(const Transaction& tx) {
  const auto& raw = tx.raw();
  json::object out;
  out["txid"] = tx.txid_hex();
  out["contract_type"] = {{"name", contract_type_name(tx.contract_type())},
                          {"number", static_cast<int>(tx.contract_type())}};
  out["permission_id"] = tx.permission_id();
  out["owner"] = address_json(tx.owner());

  json::object contract = contract_json(tx.parameter());
  if (const auto* trigger = tx.parameter_as<protocol::TriggerSmartContract>()) {
    auto transfer = decode_trc20_transfer(common::as_bytes(trigger->data()));
    if (transfer.ok()) {
      auto token = common::Address::from_bytes(common::as_bytes(trigger->contract_address()));
      if (token.ok()) contract["token"] = address_json(*token);
      contract["to"] = address_json(transfer->to);
      contract["amount"] = transfer->amount.to_decimal();
    }
  }
  out["contract"] = std::move(contract);

  out["ref_block_bytes"] = common::to_hex(common::as_bytes(raw.ref_block_bytes()));
  out["ref_block_hash"] = common::to_hex(common::as_bytes(raw.ref_block_hash()));
  out["expiration"] = raw.expiration();
  out["timestamp"] = raw.timestamp();
  out["fee_limit"] = raw.fee_limit();
  if (valid_utf8(raw.data())) {
    out["memo"] = raw.data();
  } else {
    out["memo"] = nullptr;
  }
  out["memo_hex"] = common::to_hex(common::as_bytes(raw.data()));

  json::array signatures;
  for (const auto& sig : tx.signatures()) {
    json::object s;
    s["signature"] = common::to_hex(sig);
    auto signer = common::recover_signer(tx.txid(), sig);
    if (signer.ok()) {
      s["signer_hex"] = signer->to_hex();
      s["signer_base58"] = signer->to_base58();
      s["high_s"] = common::is_high_s(sig);
    } else {
      s["error"] = signer.error().message;
    }
    signatures.push_back(std::move(s));
  }
  out["signatures"] = std::move(signatures);
  out["bandwidth_bytes"] = tx.bandwidth_bytes();
  return out;
}

}  // namespace relay::chain
