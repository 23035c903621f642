// libFuzzer target: Address parsing and the Base58/Base58Check/hex codecs on arbitrary text.
// Whatever parses must print back to the same address, and the codecs must be exact inverses,
// because addresses are compared byte-wise in signing policies.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/base58.h"
#include "common/bytes.h"
#include "fuzz_check.h"

using relay::common::Address;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void check_address(std::string_view text) {
  auto address = Address::parse(text);
  if (!address.ok()) {
    FUZZ_CHECK(address.error().code == "invalid_address");
    return;
  }
  FUZZ_CHECK(address->bytes()[0] == Address::kPrefix);

  std::string base58 = address->to_base58();
  std::string hex = address->to_hex();
  FUZZ_CHECK(base58.size() == 34 && base58[0] == 'T');
  FUZZ_CHECK(hex.size() == 42);

  // Base58Check and hex each have one spelling per address (hex up to case), so the input must
  // already be that spelling; anything else would mean two texts name the same account.
  if (text.size() == 34) {
    FUZZ_CHECK(base58 == text);
  } else {
    FUZZ_CHECK(hex == lowercase(text));
  }

  for (const std::string& form : {base58, hex}) {
    auto again = Address::parse(form);
    FUZZ_CHECK(again.ok() && *again == *address);
  }
  auto from_b58 = Address::from_base58(base58);
  FUZZ_CHECK(from_b58.ok() && *from_b58 == *address);
  auto from_hex = Address::from_hex(hex);
  FUZZ_CHECK(from_hex.ok() && *from_hex == *address);
  auto from_bytes = Address::from_bytes(address->bytes());
  FUZZ_CHECK(from_bytes.ok() && *from_bytes == *address);
  FUZZ_CHECK(Address::from_id20(address->id20()) == *address);
}

void check_codecs(std::string_view text) {
  // Base58 is a bijection between alphabet strings and byte strings (leading '1' = leading zero).
  auto decoded = relay::common::base58_decode(text);
  if (decoded.ok()) FUZZ_CHECK(relay::common::base58_encode(*decoded) == text);

  auto checked = relay::common::base58check_decode(text);
  if (checked.ok()) {
    FUZZ_CHECK(decoded.ok());
    FUZZ_CHECK(relay::common::base58check_encode(*checked) == text);
  }

  auto hex_bytes = relay::common::from_hex(text);
  if (hex_bytes.ok()) {
    std::string_view digits = text;
    if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      digits.remove_prefix(2);
    }
    FUZZ_CHECK(relay::common::to_hex(*hex_bytes) == lowercase(digits));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_address(text);
  check_codecs(text);
  return 0;
}
