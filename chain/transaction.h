// Transaction: one TRON transaction as tronrelay holds it — the raw_data bytes exactly as hashed
// (built here or received), their parsed form, the txid and the signatures. Decoding checks what
// every later step relies on: one contract of a supported type, a matching Any type_url, a parsable
// parameter message with a valid owner address, and TRON's size limit.
#pragma once

#include <memory>
#include <vector>

#include "chain/contract_type.h"
#include "common/address.h"
#include "common/bytes.h"

namespace relay::chain {

class Transaction {
 public:
  // java-tron refuses transactions over 500 KiB (TOO_BIG_TRANSACTION_ERROR).
  static constexpr size_t kMaxSize = 500 * 1024;

  // Serializes `raw` (canonical protobuf: ascending field numbers, zero values omitted) and
  // validates.
  static common::Result<Transaction> from_raw(const protocol::Transaction_raw& raw);
  // A whole signed Transaction (raw_data = field 1, signatures = field 2) as sent to broadcasthex.
  static common::Result<Transaction> decode_signed(common::ByteView bytes);
  // A bare Transaction.raw, as in `raw_data_hex`.
  static common::Result<Transaction> decode_raw(common::ByteView raw_bytes);
  // Either form, told apart by the top-level field numbers.
  static common::Result<Transaction> decode(common::ByteView bytes);

  const common::Bytes& raw_bytes() const { return raw_bytes_; }
  const protocol::Transaction_raw& raw() const { return *raw_; }
  const common::Hash32& txid() const { return txid_; }
  std::string txid_hex() const;

  const protocol::Transaction_Contract& contract() const { return raw_->contract(0); }
  ContractType contract_type() const { return contract().type(); }
  int32_t permission_id() const { return contract().permission_id(); }
  // The unpacked contract message; its concrete type follows contract_type().
  const google::protobuf::Message& parameter() const { return *parameter_; }
  template <typename T>
  const T* parameter_as() const {
    return dynamic_cast<const T*>(parameter_.get());
  }
  const common::Address& owner() const { return owner_; }

  const std::vector<common::Bytes>& signatures() const { return signatures_; }
  void add_signature(common::Bytes signature) { signatures_.push_back(std::move(signature)); }
  void clear_signatures() { signatures_.clear(); }

  // The whole signed Transaction; raw_data is written back byte for byte as held.
  common::Bytes encode_signed() const;
  // Bandwidth points java-tron charges: serialized signed size + 64 for the one contract.
  int64_t bandwidth_bytes() const;

 private:
  static common::Result<Transaction> from_raw_bytes(common::Bytes raw_bytes);

  common::Bytes raw_bytes_;
  std::shared_ptr<const protocol::Transaction_raw> raw_;
  std::shared_ptr<const google::protobuf::Message> parameter_;
  common::Hash32 txid_{};
  common::Address owner_;
  std::vector<common::Bytes> signatures_;
};

}  // namespace relay::chain
