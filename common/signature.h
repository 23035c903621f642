// Public-key side of TRON signatures: who signed a digest. Verifies chain data the way java-tron
// does (recovery, high-s accepted, v as 0–3 or 27–34). Creating signatures is signer/'s job alone.
#pragma once

#include "common/address.h"
#include "common/bytes.h"

namespace relay::common {

inline constexpr size_t kSignatureSize = 65;  // r(32) ‖ s(32) ‖ v(1)

// Uncompressed 65-byte public key (04 ‖ X ‖ Y) that produced `signature` over `digest`.
Result<Bytes> recover_public_key(const Hash32& digest, ByteView signature);
Result<Address> recover_signer(const Hash32& digest, ByteView signature);

// True when s > n/2; such signatures are valid on chain but never produced by our signer.
bool is_high_s(ByteView signature);

// libsecp256k1's self-test on the shared static context; run once at program start.
bool crypto_self_test();

}  // namespace relay::common
