// Base58 (Bitcoin alphabet) and Base58Check, the human form of TRON addresses.
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.h"

namespace relay::common {

std::string base58_encode(ByteView data);
// Errors name the first character outside the alphabet. Inputs longer than 128 characters are
// refused: nothing TRON encodes is that long, and decoding is quadratic.
Result<Bytes> base58_decode(std::string_view text);

// payload ‖ first 4 bytes of SHA-256(SHA-256(payload)).
std::string base58check_encode(ByteView payload);
Result<Bytes> base58check_decode(std::string_view text);

}  // namespace relay::common
