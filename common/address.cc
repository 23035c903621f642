#include "common/address.h"

#include <algorithm>

#include "common/base58.h"
#include "common/hash.h"

namespace relay::common {
namespace {

Error invalid(std::string message) { return make_error("invalid_address", std::move(message)); }

bool is_hex_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

Result<Address> Address::parse(std::string_view text) {
  if (text.empty()) return invalid("address is empty");
  bool all_hex = std::all_of(text.begin(), text.end(), is_hex_char);
  if (all_hex && text.size() != 34) return from_hex(text);
  return from_base58(text);
}

Result<Address> Address::from_base58(std::string_view text) {
  if (text.size() != 34) {
    return invalid("base58 address must be 34 characters, got " + std::to_string(text.size()));
  }
  auto decoded = base58_decode(text);
  if (!decoded.ok()) return invalid(decoded.error().message);
  if (decoded->size() != kSize + 4) {
    return invalid("base58 address must decode to 25 bytes, got " +
                   std::to_string(decoded->size()));
  }
  if ((*decoded)[0] != kPrefix) {
    return invalid("address prefix must be 0x41, got 0x" +
                   common::to_hex(ByteView(decoded->data(), 1)));
  }
  auto checked = base58check_decode(text);
  if (!checked.ok()) return invalid("address checksum does not match");
  Address out;
  std::copy(checked->begin(), checked->end(), out.bytes_.begin());
  return out;
}

Result<Address> Address::from_hex(std::string_view text) {
  if (text.size() != 2 * kSize) {
    return invalid("hex address must be 42 characters (41 + 20 bytes), got " +
                   std::to_string(text.size()));
  }
  auto bytes = common::from_hex(text);
  if (!bytes.ok()) return invalid("hex address: " + bytes.error().message);
  return from_bytes(*bytes);
}

Result<Address> Address::from_bytes(ByteView bytes) {
  if (bytes.size() != kSize) {
    return invalid("address must be 21 bytes, got " + std::to_string(bytes.size()));
  }
  if (bytes[0] != kPrefix) {
    return invalid("address prefix must be 0x41, got 0x" + common::to_hex(bytes.first(1)));
  }
  Address out;
  std::copy(bytes.begin(), bytes.end(), out.bytes_.begin());
  return out;
}

Address Address::from_id20(ByteView id20) {
  assert(id20.size() == kSize - 1);
  Address out;
  out.bytes_[0] = kPrefix;
  std::copy(id20.begin(), id20.end(), out.bytes_.begin() + 1);
  return out;
}

Result<Address> Address::from_public_key(ByteView uncompressed65) {
  if (uncompressed65.size() != 65 || uncompressed65[0] != 0x04) {
    return make_error("invalid_public_key", "public key must be 65 bytes starting with 04");
  }
  Hash32 hash = keccak256(uncompressed65.subspan(1));
  return from_id20(ByteView(hash.data() + 12, 20));
}

std::string Address::to_base58() const { return base58check_encode(bytes_); }

std::string Address::to_hex() const { return common::to_hex(bytes_); }

}  // namespace relay::common
