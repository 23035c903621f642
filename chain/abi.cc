#include "chain/abi.h"

#include <algorithm>

namespace relay::chain {

using common::Bytes;
using common::ByteView;
using common::make_error;
using common::Result;

Uint256 Uint256::from_u64(uint64_t value) {
  Uint256 out;
  for (int i = 0; i < 8; ++i) out.word_[31 - i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

Result<Uint256> Uint256::from_decimal(std::string_view text) {
  if (text.empty() || text.size() > 78) {
    return make_error("invalid_amount", "amount must be 1 to 78 decimal digits");
  }
  Uint256 out;
  for (char c : text) {
    if (c < '0' || c > '9') return make_error("invalid_amount", "amount must be decimal digits");
    // out = out * 10 + digit, checking for overflow past 2^256.
    unsigned carry = static_cast<unsigned>(c - '0');
    for (int i = 31; i >= 0; --i) {
      unsigned v = out.word_[i] * 10u + carry;
      out.word_[i] = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    if (carry != 0) return make_error("invalid_amount", "amount exceeds 2^256 - 1");
  }
  return out;
}

Uint256 Uint256::from_word(ByteView word32) {
  assert(word32.size() == 32);
  Uint256 out;
  std::copy(word32.begin(), word32.end(), out.word_.begin());
  return out;
}

std::string Uint256::to_decimal() const {
  std::array<uint8_t, 32> n = word_;
  std::string digits;
  while (std::any_of(n.begin(), n.end(), [](uint8_t b) { return b != 0; })) {
    unsigned remainder = 0;
    for (auto& byte : n) {
      unsigned v = remainder << 8 | byte;
      byte = static_cast<uint8_t>(v / 10);
      remainder = v % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
  }
  if (digits.empty()) return "0";
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Result<int64_t> Uint256::to_int64() const {
  if (std::any_of(word_.begin(), word_.begin() + 24, [](uint8_t b) { return b != 0; }) ||
      word_[24] >= 0x80) {
    return make_error("invalid_amount", "amount does not fit in int64");
  }
  int64_t out = 0;
  for (int i = 24; i < 32; ++i) out = out << 8 | word_[i];
  return out;
}

Bytes encode_trc20_transfer(const common::Address& to, const Uint256& amount) {
  // selector ‖ address left-padded to 32 bytes ‖ amount: written into place (growing the vector
  // piecewise trips GCC 12's -Warray-bounds at -O3).
  Bytes out(4 + 32 + 32, 0);
  std::copy(kTransferSelector.begin(), kTransferSelector.end(), out.begin());
  auto id = to.id20();
  std::copy(id.begin(), id.end(), out.begin() + 4 + 12);
  std::copy(amount.word().begin(), amount.word().end(), out.begin() + 4 + 32);
  return out;
}

Result<Trc20Transfer> decode_trc20_transfer(ByteView data) {
  if (data.size() < 4 ||
      !std::equal(kTransferSelector.begin(), kTransferSelector.end(), data.begin())) {
    return make_error("not_trc20_transfer", "call data is not transfer(address,uint256)");
  }
  if (data.size() != 4 + 64) {
    return make_error("not_trc20_transfer",
                      "transfer call data must be 68 bytes, got " + std::to_string(data.size()));
  }
  auto word = data.subspan(4, 32);
  bool clean_prefix =
      std::all_of(word.begin(), word.begin() + 11, [](uint8_t b) { return b == 0; }) &&
      (word[11] == 0 || word[11] == common::Address::kPrefix);
  if (!clean_prefix) {
    return make_error("not_trc20_transfer", "recipient word has non-zero high bytes");
  }
  return Trc20Transfer{common::Address::from_id20(word.subspan(12, 20)),
                       Uint256::from_word(data.subspan(36, 32))};
}

}  // namespace relay::chain
