#include "chain/transaction.h"

#include <google/protobuf/message.h>

#include "common/hash.h"
#include "common/protowire.h"

namespace relay::chain {

using common::Bytes;
using common::ByteView;
using common::make_error;
using common::Result;

namespace {

common::Error invalid(std::string message) {
  return make_error("invalid_transaction", std::move(message));
}

// A signed Transaction holds raw_data (1) once, signatures (2), the node's ret (5) and, from some
// nodes, further unknown length-delimited fields; none of it is a varint. A bare raw always carries
// its header (ref_block_hash 4, expiration 8, contract 11, ...), which a Transaction never has.
bool looks_like_envelope(ByteView bytes) {
  common::WireReader reader(bytes);
  int raw_fields = 0;
  while (true) {
    auto field = reader.next();
    if (!field.ok()) return false;
    if (!field->has_value()) break;
    const auto& f = **field;
    if (f.type != common::WireType::kLengthDelimited) return false;
    if (f.number == 1) ++raw_fields;
    if (f.number == 4 || f.number == 11) return false;
  }
  return raw_fields == 1;
}

}  // namespace

Result<Transaction> Transaction::from_raw(const protocol::Transaction_raw& raw) {
  std::string bytes;
  if (!raw.SerializeToString(&bytes)) return invalid("cannot serialize transaction");
  return from_raw_bytes(Bytes(bytes.begin(), bytes.end()));
}

Result<Transaction> Transaction::decode_raw(ByteView raw_bytes) {
  return from_raw_bytes(Bytes(raw_bytes.begin(), raw_bytes.end()));
}

Result<Transaction> Transaction::decode_signed(ByteView bytes) {
  if (bytes.size() > kMaxSize) {
    return invalid("transaction is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                   std::to_string(kMaxSize));
  }
  protocol::TransactionEnvelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return invalid("not a protobuf Transaction");
  }
  if (envelope.raw_data().empty()) return invalid("transaction has no raw_data");
  RELAY_ASSIGN_OR_RETURN(Transaction tx, from_raw_bytes(Bytes(envelope.raw_data().begin(),
                                                              envelope.raw_data().end())));
  for (const auto& sig : envelope.signature()) tx.signatures_.emplace_back(sig.begin(), sig.end());
  return tx;
}

Result<Transaction> Transaction::decode(ByteView bytes) {
  if (bytes.empty()) return invalid("empty input");
  if (looks_like_envelope(bytes)) return decode_signed(bytes);
  return decode_raw(bytes);
}

Result<Transaction> Transaction::from_raw_bytes(Bytes raw_bytes) {
  if (raw_bytes.size() > kMaxSize) {
    return invalid("raw_data is " + std::to_string(raw_bytes.size()) + " bytes; the limit is " +
                   std::to_string(kMaxSize));
  }
  auto raw = std::make_shared<protocol::Transaction_raw>();
  if (!raw->ParseFromArray(raw_bytes.data(), static_cast<int>(raw_bytes.size()))) {
    return invalid("raw_data is not a protobuf Transaction.raw");
  }
  if (raw->contract_size() != 1) {
    return invalid("transaction must carry exactly one contract, got " +
                   std::to_string(raw->contract_size()));
  }
  if (raw->ref_block_bytes().size() != 2) {
    return invalid("ref_block_bytes must be 2 bytes, got " +
                   std::to_string(raw->ref_block_bytes().size()));
  }
  if (raw->ref_block_hash().size() != 8) {
    return invalid("ref_block_hash must be 8 bytes, got " +
                   std::to_string(raw->ref_block_hash().size()));
  }
  const auto& contract = raw->contract(0);
  int type = contract.type();
  const google::protobuf::Descriptor* descriptor = contract_descriptor(type);
  if (descriptor == nullptr) {
    std::string name = contract_type_name(type);
    return make_error("unsupported_contract", "contract type " + std::to_string(type) +
                                                  (name.empty() ? "" : " (" + name + ")") +
                                                  " is not supported");
  }
  std::string expected_url = std::string(kTypeUrlPrefix) + descriptor->name();
  if (contract.parameter().type_url() != expected_url) {
    return make_error("wrong_type_url", "parameter type_url '" + contract.parameter().type_url() +
                                            "' does not match contract type " +
                                            contract_type_name(type) + " (expected '" +
                                            expected_url + "')");
  }
  std::shared_ptr<google::protobuf::Message> parameter(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!parameter->ParseFromString(contract.parameter().value())) {
    return invalid("parameter value is not a valid " + descriptor->name());
  }
  RELAY_TRY_STATUS(check_field_values(*raw));
  RELAY_TRY_STATUS(check_field_values(*parameter));
  // Every supported contract has owner_address as field 1, and it is required.
  const auto* owner_field = descriptor->FindFieldByNumber(1);
  std::string owner_bytes = parameter->GetReflection()->GetString(*parameter, owner_field);
  auto owner = common::Address::from_bytes(common::as_bytes(owner_bytes));
  if (!owner.ok()) return invalid("owner_address: " + owner.error().message);

  Transaction tx;
  tx.txid_ = common::sha256(raw_bytes);
  tx.raw_bytes_ = std::move(raw_bytes);
  tx.raw_ = std::move(raw);
  tx.parameter_ = std::move(parameter);
  tx.owner_ = *owner;
  return tx;
}

std::string Transaction::txid_hex() const { return common::to_hex(txid_); }

Bytes Transaction::encode_signed() const {
  protocol::TransactionEnvelope envelope;
  envelope.set_raw_data(std::string(raw_bytes_.begin(), raw_bytes_.end()));
  for (const auto& sig : signatures_) envelope.add_signature(std::string(sig.begin(), sig.end()));
  std::string out = envelope.SerializeAsString();
  return Bytes(out.begin(), out.end());
}

int64_t Transaction::bandwidth_bytes() const {
  return static_cast<int64_t>(encode_signed().size()) + 64;
}

}  // namespace relay::chain
