#include "chain/tx_json.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "common/json.h"

namespace relay::chain {

namespace json = boost::json;
using common::make_error;
using common::Result;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

bool is_any(const Descriptor* descriptor) {
  return descriptor->full_name() == google::protobuf::Any::descriptor()->full_name();
}

json::value any_to_json(const Message& any, JsonOptions options);

json::value scalar_to_json(const Message& message, const FieldDescriptor* field, int index,
                           JsonOptions options) {
  const Reflection* r = message.GetReflection();
  bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = repeated ? r->GetRepeatedEnumValue(message, field, index)
                            : r->GetEnumValue(message, field);
      const auto* value = field->enum_type()->FindValueByNumber(number);
      if (value == nullptr) return number;
      return json::string(value->name());
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          repeated ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_STRING) return json::string(s);
      if (options.visible && is_address_field(field)) {
        auto address = common::Address::from_bytes(common::as_bytes(s));
        if (address.ok()) return json::string(address->to_base58());
      }
      return json::string(common::to_hex(common::as_bytes(s)));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          repeated ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field);
      if (is_any(field->message_type())) return any_to_json(sub, options);
      return message_to_json(sub, options);
    }
    default:
      return nullptr;
  }
}

json::value any_to_json(const Message& any_message, JsonOptions options) {
  const auto& any = static_cast<const google::protobuf::Any&>(any_message);
  json::object out;
  std::string_view url = any.type_url();
  const Descriptor* descriptor = nullptr;
  if (url.substr(0, kTypeUrlPrefix.size()) == kTypeUrlPrefix) {
    descriptor = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
        "protocol." + std::string(url.substr(kTypeUrlPrefix.size())));
  }
  if (descriptor != nullptr) {
    std::unique_ptr<Message> value(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
    if (value->ParseFromString(any.value())) {
      out["value"] = message_to_json(*value, options);
    }
  }
  if (!out.contains("value")) out["value"] = common::to_hex(common::as_bytes(any.value()));
  out["type_url"] = any.type_url();
  return out;
}

// ---- parsing ----

common::Error bad(const std::string& path, const std::string& message) {
  return make_error("invalid_request", path + ": " + message);
}

common::Status set_from_json(const json::value& value, Message* message,
                             const FieldDescriptor* field, const std::string& path);

common::Status any_from_json(const json::value& value, Message* any_message,
                             const std::string& path) {
  if (!value.is_object()) return bad(path, "must be an object with type_url and value");
  const auto& object = value.as_object();
  for (const auto& member : object) {
    if (member.key() != "type_url" && member.key() != "value") {
      return bad(path, "unknown field '" + std::string(member.key()) + "'");
    }
  }
  RELAY_ASSIGN_OR_RETURN(std::string url, common::json_get_string(object, "type_url"));
  if (url.substr(0, kTypeUrlPrefix.size()) != kTypeUrlPrefix) {
    return bad(path + ".type_url", "must start with " + std::string(kTypeUrlPrefix));
  }
  const Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          "protocol." + url.substr(kTypeUrlPrefix.size()));
  if (descriptor == nullptr) return bad(path + ".type_url", "unknown message type '" + url + "'");
  const auto* inner = object.if_contains("value");
  if (inner == nullptr || !inner->is_object()) return bad(path + ".value", "must be an object");
  std::unique_ptr<Message> parsed(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  RELAY_TRY_STATUS(message_from_json(inner->as_object(), parsed.get()));
  auto* any = static_cast<google::protobuf::Any*>(any_message);
  any->set_type_url(url);
  any->set_value(parsed->SerializeAsString());
  return {};
}

Result<int64_t> integer_of(const json::value& value, const std::string& path, int64_t min,
                           int64_t max) {
  auto n = common::json_int64(value, path);
  if (!n.ok()) return n.error();
  if (*n < min || *n > max) return bad(path, "out of range");
  return *n;
}

common::Status set_from_json(const json::value& value, Message* message,
                             const FieldDescriptor* field, const std::string& path) {
  const Reflection* r = message->GetReflection();
  bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      RELAY_ASSIGN_OR_RETURN(int64_t n, integer_of(value, path, INT32_MIN, INT32_MAX));
      repeated ? r->AddInt32(message, field, static_cast<int32_t>(n))
               : r->SetInt32(message, field, static_cast<int32_t>(n));
      return {};
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      RELAY_ASSIGN_OR_RETURN(int64_t n, integer_of(value, path, INT64_MIN, INT64_MAX));
      repeated ? r->AddInt64(message, field, n) : r->SetInt64(message, field, n);
      return {};
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!value.is_bool()) return bad(path, "must be true or false");
      repeated ? r->AddBool(message, field, value.as_bool())
               : r->SetBool(message, field, value.as_bool());
      return {};
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* enum_value = nullptr;
      if (value.is_string()) {
        enum_value = field->enum_type()->FindValueByName(std::string(value.as_string()));
      } else if (value.is_int64()) {
        enum_value = field->enum_type()->FindValueByNumber(static_cast<int>(value.as_int64()));
      }
      if (enum_value == nullptr) {
        return bad(path, "not a value of " + field->enum_type()->name());
      }
      repeated ? r->AddEnum(message, field, enum_value) : r->SetEnum(message, field, enum_value);
      return {};
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (!value.is_string()) return bad(path, "must be a string");
      std::string_view text = value.as_string();
      std::string bytes;
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        bytes = std::string(text);
      } else if (is_address_field(field)) {
        auto address = common::Address::parse(text);
        if (!address.ok()) return bad(path, address.error().message);
        bytes = address->proto_bytes();
      } else {
        auto decoded = common::from_hex(text);
        if (!decoded.ok()) return bad(path, decoded.error().message);
        bytes.assign(decoded->begin(), decoded->end());
      }
      repeated ? r->AddString(message, field, bytes) : r->SetString(message, field, bytes);
      return {};
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = repeated ? r->AddMessage(message, field) : r->MutableMessage(message, field);
      if (is_any(field->message_type())) return any_from_json(value, sub, path);
      if (!value.is_object()) return bad(path, "must be an object");
      auto status = message_from_json(value.as_object(), sub);
      if (!status.ok()) return bad(path, status.error().message);
      return {};
    }
    default:
      return bad(path, "unsupported field type");
  }
}

}  // namespace

json::object message_to_json(const Message& message, JsonOptions options) {
  json::object out;
  std::vector<const FieldDescriptor*> fields;
  // ListFields gives the fields that are set (proto3: non-default), in field-number order.
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->is_repeated()) {
      json::array items;
      int size = message.GetReflection()->FieldSize(message, field);
      for (int i = 0; i < size; ++i) items.push_back(scalar_to_json(message, field, i, options));
      out[field->name()] = std::move(items);
    } else {
      out[field->name()] = scalar_to_json(message, field, 0, options);
    }
  }
  return out;
}

json::object raw_to_json(const Transaction& tx, JsonOptions options) {
  json::object fields = message_to_json(tx.raw(), options);
  // java-tron prints the contract list first, then the header fields in field-number order.
  json::object out;
  if (auto* contract = fields.if_contains("contract")) out["contract"] = *contract;
  for (const auto& member : fields) {
    if (member.key() != "contract") out[member.key()] = member.value();
  }
  return out;
}

json::object transaction_to_json(const Transaction& tx, JsonOptions options) {
  json::object out;
  out["visible"] = options.visible;
  out["txID"] = tx.txid_hex();
  out["raw_data"] = raw_to_json(tx, options);
  out["raw_data_hex"] = common::to_hex(tx.raw_bytes());
  if (!tx.signatures().empty()) {
    json::array signatures;
    for (const auto& sig : tx.signatures()) signatures.push_back(json::string(common::to_hex(sig)));
    out["signature"] = std::move(signatures);
  }
  return out;
}

common::Status message_from_json(const json::object& object, Message* message) {
  const Descriptor* descriptor = message->GetDescriptor();
  for (const auto& member : object) {
    std::string key(member.key());
    const FieldDescriptor* field = descriptor->FindFieldByName(key);
    if (field == nullptr) return bad(key, "unknown field of " + descriptor->name());
    if (field->is_repeated()) {
      if (!member.value().is_array()) return bad(key, "must be an array");
      int index = 0;
      for (const auto& item : member.value().as_array()) {
        RELAY_TRY_STATUS(
            set_from_json(item, message, field, key + "[" + std::to_string(index++) + "]"));
      }
    } else {
      RELAY_TRY_STATUS(set_from_json(member.value(), message, field, key));
    }
  }
  return {};
}

Result<Transaction> transaction_from_json(const json::object& json) {
  const json::object* raw_json = &json;
  const json::value* raw_value = json.if_contains("raw_data");
  if (raw_value != nullptr) {
    if (!raw_value->is_object()) return bad("raw_data", "must be an object");
    raw_json = &raw_value->as_object();
    for (const auto& member : json) {
      std::string_view key = member.key();
      if (key != "raw_data" && key != "signature" && key != "txID" && key != "raw_data_hex" &&
          key != "visible" && key != "ret") {
        return bad(std::string(key), "unknown field of Transaction");
      }
    }
  }
  protocol::Transaction_raw raw;
  auto status = message_from_json(*raw_json, &raw);
  if (!status.ok()) {
    return make_error("invalid_request", (raw_value ? "raw_data." : "") + status.error().message);
  }
  RELAY_ASSIGN_OR_RETURN(Transaction tx, Transaction::from_raw(raw));
  if (raw_value == nullptr) return tx;

  if (const auto* txid = json.if_contains("txID")) {
    auto bytes = txid->is_string() ? common::from_hex(txid->as_string())
                                   : common::Result<common::Bytes>(common::Bytes{});
    if (!bytes.ok() || *bytes != common::Bytes(tx.txid().begin(), tx.txid().end())) {
      return bad("txID", "does not match the txid of raw_data (" + tx.txid_hex() + ")");
    }
  }
  if (const auto* hex = json.if_contains("raw_data_hex")) {
    auto bytes = hex->is_string() ? common::from_hex(hex->as_string())
                                  : common::Result<common::Bytes>(common::Bytes{});
    if (!hex->is_string() || !bytes.ok() || *bytes != tx.raw_bytes()) {
      return bad("raw_data_hex", "does not match the encoding of raw_data");
    }
  }
  if (const auto* signatures = json.if_contains("signature")) {
    if (!signatures->is_array()) return bad("signature", "must be an array of hex strings");
    for (const auto& sig : signatures->as_array()) {
      if (!sig.is_string()) return bad("signature", "must be an array of hex strings");
      auto bytes = common::from_hex(sig.as_string());
      if (!bytes.ok()) return bad("signature", bytes.error().message);
      tx.add_signature(std::move(*bytes));
    }
  }
  return tx;
}

}  // namespace relay::chain
