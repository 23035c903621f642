#include "common/hash.h"

#include <cryptopp/keccak.h>
#include <cryptopp/sha.h>

namespace relay::common {

Hash32 sha256(ByteView data) {
  Hash32 out;
  CryptoPP::SHA256().CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

Hash32 double_sha256(ByteView data) {
  Hash32 once = sha256(data);
  return sha256(once);
}

Hash32 keccak256(ByteView data) {
  Hash32 out;
  CryptoPP::Keccak_256().CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

}  // namespace relay::common
