// libFuzzer target: java-tron JSON text → parse_json_object → transaction_from_json, the path every
// client-supplied transaction takes through the API. What it accepts must render and re-parse to
// the same bytes, since the bytes (not the JSON) are what gets hashed and signed.
#include <google/protobuf/stubs/logging.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chain/transaction.h"
#include "chain/tx_json.h"
#include "common/hash.h"
#include "common/json.h"
#include "fuzz_check.h"

using relay::chain::Transaction;

// Malformed UTF-8 in string fields makes libprotobuf log every rejected input; the fuzzer only
// cares about the result, and the log would bury the one report that matters.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto object = relay::common::parse_json_object(text);
  if (!object.ok()) return 0;
  auto tx = relay::chain::transaction_from_json(*object);
  if (!tx.ok()) return 0;

  FUZZ_CHECK(tx->txid() == relay::common::sha256(tx->raw_bytes()));
  // The bytes came from our own serializer, so any decoder must take them back unchanged.
  auto decoded = Transaction::decode_raw(tx->raw_bytes());
  FUZZ_CHECK(decoded.ok() && decoded->txid() == tx->txid());
  auto signed_back = Transaction::decode_signed(tx->encode_signed());
  FUZZ_CHECK(signed_back.ok() && signed_back->signatures() == tx->signatures());

  for (bool visible : {false, true}) {
    auto rendered =
        relay::common::json_to_string(relay::chain::transaction_to_json(*tx, {.visible = visible}));
    auto reparsed = relay::common::parse_json_object(rendered);
    FUZZ_CHECK(reparsed.ok());
    auto again = relay::chain::transaction_from_json(*reparsed);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->raw_bytes() == tx->raw_bytes());
    FUZZ_CHECK(again->signatures() == tx->signatures());
  }
  return 0;
}
