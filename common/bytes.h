// Byte strings and their lowercase-hex form, the notation of every TRON id, address and signature.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace relay::common {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Hash32 = std::array<uint8_t, 32>;

std::string to_hex(ByteView bytes);
// Accepts upper and lower case and an optional "0x" prefix; odd length or a non-hex character is an
// error whose message names the position.
Result<Bytes> from_hex(std::string_view hex);
// As from_hex, and the decoded length must be exactly `size`.
Result<Bytes> from_hex_exact(std::string_view hex, size_t size, std::string_view what);

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Overwrites memory in a way the optimizer may not remove; used for every copy of a secret.
void secure_zero(void* data, size_t size);

}  // namespace relay::common
