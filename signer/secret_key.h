// SecretKey: a secp256k1 private key, held only inside signer/. The 32 bytes live on their own
// page, locked in RAM and excluded from core dumps, are wiped when the key is destroyed, and cannot
// be copied, printed or returned: the only thing a SecretKey can do is be used by a Signer.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace relay::signer {

class SecretKey {
 public:
  // 64 hex characters (optional 0x, surrounding whitespace ignored). Refuses a wrong length,
  // non-hex, zero, and values ≥ the curve order; errors never echo the input.
  static common::Result<SecretKey> from_hex(std::string_view hex);
  static common::Result<SecretKey> from_bytes(common::ByteView bytes32);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  // For signer/ internals only.
  const uint8_t* data() const { return bytes_; }

 private:
  SecretKey();
  void release();
  uint8_t* bytes_ = nullptr;
};

}  // namespace relay::signer
