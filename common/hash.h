// The two hash functions of TRON: SHA-256 (txids, block ids, Base58Check) and the original
// Keccak-256 (addresses, ABI selectors) — not NIST SHA3-256, which differs in padding.
#pragma once

#include "common/bytes.h"

namespace relay::common {

Hash32 sha256(ByteView data);
Hash32 double_sha256(ByteView data);
Hash32 keccak256(ByteView data);

}  // namespace relay::common
