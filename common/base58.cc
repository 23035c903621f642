#include "common/base58.h"

#include <algorithm>
#include <cstring>

#include "common/hash.h"

namespace relay::common {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr size_t kMaxBase58Chars = 128;

int digit_value(char c) {
  const char* p = std::strchr(kAlphabet, c);
  return (c != '\0' && p != nullptr) ? static_cast<int>(p - kAlphabet) : -1;
}

}  // namespace

std::string base58_encode(ByteView data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256)/log(58) < 1.37, so this many base-58 digits always suffice.
  std::vector<uint8_t> digits((data.size() - zeros) * 138 / 100 + 1, 0);
  size_t used = 0;
  for (size_t i = zeros; i < data.size(); ++i) {
    int carry = data[i];
    size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < used) && it != digits.rend(); ++it, ++j) {
      carry += 256 * (*it);
      *it = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    used = j;
  }
  auto first = std::find_if(digits.begin(), digits.end(), [](uint8_t d) { return d != 0; });
  std::string out(zeros, '1');
  for (auto it = first; it != digits.end(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

Result<Bytes> base58_decode(std::string_view text) {
  if (text.empty()) return make_error("invalid_base58", "empty base58 string");
  if (text.size() > kMaxBase58Chars) {
    return make_error("invalid_base58", "base58 string longer than " +
                                            std::to_string(kMaxBase58Chars) + " characters");
  }
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // log(58)/log(256) < 0.733.
  std::vector<uint8_t> bytes((text.size() - zeros) * 733 / 1000 + 1, 0);
  size_t used = 0;
  for (size_t i = zeros; i < text.size(); ++i) {
    int carry = digit_value(text[i]);
    if (carry < 0) {
      return make_error("invalid_base58", "character '" + std::string(1, text[i]) +
                                              "' at position " + std::to_string(i) +
                                              " is not in the base58 alphabet");
    }
    size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
      carry += 58 * (*it);
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = j;
  }
  auto first = std::find_if(bytes.begin(), bytes.end(), [](uint8_t b) { return b != 0; });
  Bytes out(zeros, 0);
  out.insert(out.end(), first, bytes.end());
  return out;
}

std::string base58check_encode(ByteView payload) {
  Hash32 check = double_sha256(payload);
  Bytes data(payload.begin(), payload.end());
  data.insert(data.end(), check.begin(), check.begin() + 4);
  return base58_encode(data);
}

Result<Bytes> base58check_decode(std::string_view text) {
  RELAY_ASSIGN_OR_RETURN(Bytes data, base58_decode(text));
  if (data.size() < 4) {
    return make_error("invalid_base58", "base58check data shorter than its 4-byte checksum");
  }
  ByteView payload(data.data(), data.size() - 4);
  Hash32 check = double_sha256(payload);
  if (!std::equal(check.begin(), check.begin() + 4, data.end() - 4)) {
    return make_error("bad_checksum", "base58check checksum does not match");
  }
  data.resize(data.size() - 4);
  return data;
}

}  // namespace relay::common
