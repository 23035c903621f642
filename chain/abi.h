// The slice of the Solidity ABI that tronrelay speaks: TRC20 `transfer(address,uint256)` call data.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/bytes.h"

namespace relay::chain {

// An unsigned 256-bit integer as a 32-byte big-endian ABI word, with decimal text conversions.
class Uint256 {
 public:
  Uint256() = default;
  static Uint256 from_u64(uint64_t value);
  static common::Result<Uint256> from_decimal(std::string_view text);
  static Uint256 from_word(common::ByteView word32);

  std::string to_decimal() const;
  const std::array<uint8_t, 32>& word() const { return word_; }
  // The value when it fits in int64 (token amounts usually do), else an error.
  common::Result<int64_t> to_int64() const;

  bool operator==(const Uint256&) const = default;

 private:
  std::array<uint8_t, 32> word_{};
};

inline constexpr std::array<uint8_t, 4> kTransferSelector = {0xa9, 0x05, 0x9c, 0xbb};

struct Trc20Transfer {
  common::Address to;
  Uint256 amount;
};

// a9059cbb ‖ 12 zero bytes ‖ 20-byte id ‖ amount word.
common::Bytes encode_trc20_transfer(const common::Address& to, const Uint256& amount);
// Accepts exactly 68 bytes with the transfer selector. The address word may carry 0x41 at byte 11
// (seen on chain); any other non-zero byte in its top 12 is refused.
common::Result<Trc20Transfer> decode_trc20_transfer(common::ByteView data);

}  // namespace relay::chain
