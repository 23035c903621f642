#include "signer/tx_facts.h"

#include <string_view>

#include "common/hash.h"
#include "common/protowire.h"

namespace relay::signer {

using common::ByteView;
using common::make_error;
using common::Result;
using common::WireField;
using common::WireReader;
using common::WireType;

namespace {

struct ContractShape {
  int type;
  std::string_view message;  // the Any type_url suffix
  uint32_t amount_field;     // 0 = none
};

// Contract types the signer can read. Anything else is refused before the policy is even asked.
constexpr ContractShape kShapes[] = {
    {1, "TransferContract", 3},
    {31, "TriggerSmartContract", 3},
    {46, "AccountPermissionUpdateContract", 0},
    {54, "FreezeBalanceV2Contract", 2},
    {55, "UnfreezeBalanceV2Contract", 2},
    {56, "WithdrawExpireUnfreezeContract", 0},
    {57, "DelegateResourceContract", 3},
    {58, "UnDelegateResourceContract", 3},
    {59, "CancelAllUnfreezeV2Contract", 0},
};

common::Error invalid(std::string message) {
  return make_error("invalid_transaction", std::move(message));
}

// Reads every field of `data`, calling `on_field`. A field in `singular` that appears twice is an
// error: protobuf takes the last copy, and a signer must not rely on every decoder agreeing.
template <typename F>
common::Status for_each_field(ByteView data, uint64_t singular, F&& on_field) {
  WireReader reader(data);
  uint64_t seen = 0;
  while (true) {
    auto field = reader.next();
    if (!field.ok()) return field.error();
    if (!field->has_value()) return {};
    const WireField& f = **field;
    if (f.number < 64 && (singular & (uint64_t{1} << f.number))) {
      if (seen & (uint64_t{1} << f.number)) {
        return invalid("field " + std::to_string(f.number) + " appears twice");
      }
      seen |= uint64_t{1} << f.number;
    }
    RELAY_TRY_STATUS(on_field(f));
  }
}

uint64_t bits(std::initializer_list<uint32_t> numbers) {
  uint64_t out = 0;
  for (uint32_t n : numbers) {
    if (n != 0) out |= uint64_t{1} << n;
  }
  return out;
}

common::Status expect(const WireField& f, WireType type) {
  if (f.type != type)
    return invalid("field " + std::to_string(f.number) + " has the wrong wire type");
  return {};
}

}  // namespace

Result<TxFacts> read_tx_facts(ByteView raw_data) {
  TxFacts facts;
  facts.txid = common::sha256(raw_data);
  ByteView contract;
  int contracts = 0;
  RELAY_TRY_STATUS(
      for_each_field(raw_data, bits({8, 11, 18}), [&](const WireField& f) -> common::Status {
        switch (f.number) {
          case 8:
            RELAY_TRY_STATUS(expect(f, WireType::kVarint));
            facts.expiration_ms = static_cast<int64_t>(f.varint);
            break;
          case 11:
            RELAY_TRY_STATUS(expect(f, WireType::kLengthDelimited));
            contract = f.bytes;
            ++contracts;
            break;
          case 18:
            RELAY_TRY_STATUS(expect(f, WireType::kVarint));
            facts.fee_limit_sun = static_cast<int64_t>(f.varint);
            break;
          default:
            break;
        }
        return {};
      }));
  if (contracts != 1) {
    return invalid("transaction must carry exactly one contract, got " + std::to_string(contracts));
  }

  ByteView any;
  bool has_type = false;
  RELAY_TRY_STATUS(
      for_each_field(contract, bits({1, 2, 5}), [&](const WireField& f) -> common::Status {
        if (f.number == 1) {
          RELAY_TRY_STATUS(expect(f, WireType::kVarint));
          facts.contract_type = static_cast<int>(f.varint);
          has_type = true;
        } else if (f.number == 2) {
          RELAY_TRY_STATUS(expect(f, WireType::kLengthDelimited));
          any = f.bytes;
        } else if (f.number == 5) {
          RELAY_TRY_STATUS(expect(f, WireType::kVarint));
          facts.permission_id = static_cast<int32_t>(f.varint);
        }
        return {};
      }));
  if (!has_type) facts.contract_type = 0;

  const ContractShape* shape = nullptr;
  for (const auto& s : kShapes) {
    if (s.type == facts.contract_type) shape = &s;
  }
  if (shape == nullptr) {
    return invalid("contract type " + std::to_string(facts.contract_type) +
                   " is not one the signer knows");
  }

  std::string_view type_url;
  ByteView value;
  RELAY_TRY_STATUS(for_each_field(any, bits({1, 2}), [&](const WireField& f) -> common::Status {
    if (f.number == 1) {
      RELAY_TRY_STATUS(expect(f, WireType::kLengthDelimited));
      type_url = common::as_chars(f.bytes);
    } else if (f.number == 2) {
      RELAY_TRY_STATUS(expect(f, WireType::kLengthDelimited));
      value = f.bytes;
    }
    return {};
  }));
  std::string expected = "type.googleapis.com/protocol." + std::string(shape->message);
  if (type_url != expected) {
    return invalid("type_url does not match contract type " + std::to_string(shape->type));
  }

  bool has_owner = false;
  RELAY_TRY_STATUS(for_each_field(
      value, bits({1, shape->amount_field}), [&](const WireField& f) -> common::Status {
        if (f.number == 1) {
          RELAY_TRY_STATUS(expect(f, WireType::kLengthDelimited));
          auto owner = common::Address::from_bytes(f.bytes);
          if (!owner.ok()) return invalid("owner_address: " + owner.error().message);
          facts.owner = *owner;
          has_owner = true;
        } else if (shape->amount_field != 0 && f.number == shape->amount_field) {
          RELAY_TRY_STATUS(expect(f, WireType::kVarint));
          facts.amount_sun = static_cast<int64_t>(f.varint);
        }
        return {};
      }));
  if (!has_owner) return invalid("contract has no owner_address");
  return facts;
}

}  // namespace relay::signer
