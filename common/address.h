// Address: a TRON account id as the chain stores it (21 bytes: 0x41 ‖ 20-byte id), with its two
// text forms, Base58Check ("T…", 34 chars) and 42-char hex ("41…"). Parsing tells exactly what is
// wrong.
#pragma once

#include <array>
#include <compare>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace relay::common {

class Address {
 public:
  static constexpr uint8_t kPrefix = 0x41;
  static constexpr size_t kSize = 21;

  // Base58Check or 41-hex, detected by shape. Error code "invalid_address"; the message says which
  // of length, characters, prefix or checksum is wrong.
  static Result<Address> parse(std::string_view text);
  static Result<Address> from_base58(std::string_view text);
  static Result<Address> from_hex(std::string_view text);
  // Exactly 21 bytes starting with 0x41, as stored in protobuf `*_address` fields.
  static Result<Address> from_bytes(ByteView bytes);
  // The 20-byte account id (ABI words, EVM-style addresses); the prefix is added.
  static Address from_id20(ByteView id20);
  // From an uncompressed secp256k1 public key 04 ‖ X ‖ Y: 0x41 ‖ last 20 bytes of Keccak-256(X ‖
  // Y).
  static Result<Address> from_public_key(ByteView uncompressed65);

  std::string to_base58() const;
  std::string to_hex() const;
  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  ByteView id20() const { return ByteView(bytes_.data() + 1, kSize - 1); }
  Bytes to_bytes() const { return Bytes(bytes_.begin(), bytes_.end()); }
  // The 21 bytes as a protobuf `bytes` field holds them.
  std::string proto_bytes() const { return std::string(bytes_.begin(), bytes_.end()); }

  auto operator<=>(const Address&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace relay::common
