#include "common/bytes.h"

#include <cstring>

namespace relay::common {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() % 2 != 0) {
    return make_error("invalid_hex", "hex string has odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      return make_error("invalid_hex", "non-hex character at position " + std::to_string(pos));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Result<Bytes> from_hex_exact(std::string_view hex, size_t size, std::string_view what) {
  auto bytes = from_hex(hex);
  if (!bytes.ok()) {
    return make_error("invalid_hex", std::string(what) + ": " + bytes.error().message);
  }
  if (bytes->size() != size) {
    return make_error("invalid_length", std::string(what) + " must be " + std::to_string(size) +
                                            " bytes, got " + std::to_string(bytes->size()));
  }
  return bytes;
}

void secure_zero(void* data, size_t size) {
  if (size == 0) return;
  std::memset(data, 0, size);
  // The barrier tells the compiler the zeroed memory is observed, so the memset stays.
  __asm__ __volatile__("" : : "r"(data) : "memory");
}

}  // namespace relay::common
