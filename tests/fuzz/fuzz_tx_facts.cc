// libFuzzer target: the signer's own raw_data reader (read_tx_facts). The signer deliberately does
// not share chain/'s decoder, so whenever both accept the same bytes they must agree on every fact
// the signing policy checks; a disagreement would let one component approve what the other
// describes.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>

#include "chain/transaction.h"
#include "common/hash.h"
#include "fuzz_check.h"
#include "signer/tx_facts.h"

using relay::chain::Transaction;
using relay::common::ByteView;

namespace {

// The parameter field that holds amount_sun, per contract type (mirrors TxFacts' documentation).
int amount_field(int contract_type) {
  switch (contract_type) {
    case 1:   // TransferContract.amount
    case 31:  // TriggerSmartContract.call_value
    case 57:  // DelegateResourceContract.balance
    case 58:  // UnDelegateResourceContract.balance
      return 3;
    case 54:  // FreezeBalanceV2Contract.frozen_balance
    case 55:  // UnfreezeBalanceV2Contract.unfreeze_balance
      return 2;
    default:
      return 0;
  }
}

int64_t amount_of(const Transaction& tx) {
  int number = amount_field(tx.contract_type());
  if (number == 0) return 0;
  const auto& parameter = tx.parameter();
  const auto* field = parameter.GetDescriptor()->FindFieldByNumber(number);
  FUZZ_CHECK(field != nullptr &&
             field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64);
  return parameter.GetReflection()->GetInt64(parameter, field);
}

}  // namespace

// Malformed UTF-8 in string fields makes libprotobuf log every rejected input; the fuzzer only
// cares about the result, and the log would bury the one report that matters.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView raw(data, size);
  auto facts = relay::signer::read_tx_facts(raw);
  if (facts.ok()) FUZZ_CHECK(facts->txid == relay::common::sha256(raw));

  auto tx = Transaction::decode_raw(raw);
  if (!facts.ok() || !tx.ok()) return 0;

  FUZZ_CHECK(facts->txid == tx->txid());
  FUZZ_CHECK(facts->contract_type == static_cast<int>(tx->contract_type()));
  FUZZ_CHECK(facts->owner == tx->owner());
  FUZZ_CHECK(facts->permission_id == tx->permission_id());
  FUZZ_CHECK(facts->amount_sun == amount_of(*tx));
  FUZZ_CHECK(facts->fee_limit_sun == tx->raw().fee_limit());
  FUZZ_CHECK(facts->expiration_ms == tx->raw().expiration());
  return 0;
}
