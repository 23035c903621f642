// libFuzzer target: Transaction::decode on arbitrary bytes (signed envelope or bare raw_data), then
// everything downstream of a successful decode: txid, re-encoding, `tx inspect` and the java-tron
// JSON form. A decoded transaction is what gets signed and broadcast, so every view of it must
// agree.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "chain/inspect.h"
#include "chain/transaction.h"
#include "chain/tx_json.h"
#include "common/hash.h"
#include "common/json.h"
#include "fuzz_check.h"

namespace json = boost::json;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using relay::chain::Transaction;
using relay::common::ByteView;

namespace {

bool has_unknown_fields(const Message& message) {
  const auto* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        if (has_unknown_fields(reflection->GetRepeatedMessage(message, field, i))) return true;
      }
    } else if (has_unknown_fields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

// The decoder keeps raw_data byte for byte, while JSON can only describe fields it knows in their
// canonical encoding. Only when the input already is that encoding (no unknown fields, ascending
// order, minimal varints, zero values omitted — at both protobuf levels) must JSON give the bytes
// back.
bool is_canonical(const Transaction& tx) {
  if (has_unknown_fields(tx.raw()) || has_unknown_fields(tx.parameter())) return false;
  std::string raw = tx.raw().SerializeAsString();
  if (raw.size() != tx.raw_bytes().size() ||
      !std::equal(raw.begin(), raw.end(), tx.raw_bytes().begin())) {
    return false;
  }
  return tx.parameter().SerializeAsString() == tx.contract().parameter().value();
}

// Through text, as an API client would send it back.
relay::common::Result<Transaction> reparse(const json::object& object) {
  auto text = relay::common::json_to_string(object);
  auto parsed = relay::common::parse_json_object(text);
  FUZZ_CHECK(parsed.ok());
  return relay::chain::transaction_from_json(*parsed);
}

void check_json(const Transaction& tx) {
  json::object full = relay::chain::transaction_to_json(tx);
  json::object visible = relay::chain::transaction_to_json(tx, {.visible = true});
  FUZZ_CHECK(visible.at("txID") == full.at("txID"));
  if (is_canonical(tx)) {
    auto back = reparse(full);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->raw_bytes() == tx.raw_bytes());
    FUZZ_CHECK(back->txid() == tx.txid());
    FUZZ_CHECK(back->signatures() == tx.signatures());
  }

  // Whatever the input encoding, the JSON we render must describe a transaction we accept, and
  // rendering that one must give the same JSON (JSON → bytes → JSON is a fixed point).
  json::object bare = full;
  bare.erase("raw_data_hex");
  bare.erase("txID");
  auto rebuilt = reparse(bare);
  if (!rebuilt.ok()) {
    std::fprintf(stderr, "transaction_from_json refused our own JSON: %s: %s\n%s\n",
                 rebuilt.error().code.c_str(), rebuilt.error().message.c_str(),
                 relay::common::json_to_string(full).c_str());
  }
  FUZZ_CHECK(rebuilt.ok());
  FUZZ_CHECK(relay::chain::raw_to_json(*rebuilt) == full.at("raw_data"));
}

}  // namespace

// Malformed UTF-8 in string fields makes libprotobuf log every rejected input; the fuzzer only
// cares about the result, and the log would bury the one report that matters.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tx = Transaction::decode(ByteView(data, size));
  if (!tx.ok()) return 0;

  FUZZ_CHECK(tx->txid() == relay::common::sha256(tx->raw_bytes()));
  FUZZ_CHECK(tx->raw_bytes().size() <= Transaction::kMaxSize);

  auto encoded = tx->encode_signed();
  FUZZ_CHECK(tx->bandwidth_bytes() == static_cast<int64_t>(encoded.size()) + 64);
  auto again = Transaction::decode_signed(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->txid() == tx->txid());
  FUZZ_CHECK(again->raw_bytes() == tx->raw_bytes());
  FUZZ_CHECK(again->signatures() == tx->signatures());
  FUZZ_CHECK(again->owner() == tx->owner());
  FUZZ_CHECK(again->contract_type() == tx->contract_type());
  auto sniffed = Transaction::decode(encoded);
  FUZZ_CHECK(sniffed.ok() && sniffed->txid() == tx->txid());

  json::object inspected = relay::chain::inspect_transaction(*tx);
  FUZZ_CHECK(!relay::common::json_to_string(inspected).empty());

  check_json(*tx);
  return 0;
}
