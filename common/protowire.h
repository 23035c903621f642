// WireReader: walks the top-level fields of one protobuf-encoded message without a schema. The
// signer uses it to read what it is asked to sign straight from the bytes it hashes, so its policy
// never depends on someone else's decoder. Groups (wire types 3/4) are refused: TRON never uses
// them.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"

namespace relay::common {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct WireField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;  // kVarint, kFixed64, kFixed32
  ByteView bytes;       // kLengthDelimited: a view into the reader's input
};

class WireReader {
 public:
  explicit WireReader(ByteView data) : data_(data) {}

  // The next field, std::nullopt at a clean end, or an error ("invalid_protobuf") for truncated or
  // malformed input.
  Result<std::optional<WireField>> next();

 private:
  Result<uint64_t> read_varint();
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace relay::common
