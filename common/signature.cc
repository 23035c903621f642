#include "common/signature.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>

namespace relay::common {
namespace {

// n/2 for secp256k1, big-endian.
constexpr uint8_t kHalfOrder[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

Error bad_signature(std::string message) { return make_error("bad_signature", std::move(message)); }

}  // namespace

Result<Bytes> recover_public_key(const Hash32& digest, ByteView signature) {
  if (signature.size() != kSignatureSize) {
    return bad_signature("Signature size is " + std::to_string(signature.size()));
  }
  // java-tron: v below 27 gets 27 added; headers 31–34 mark a compressed key and drop by 4.
  int header = signature[64];
  if (header < 27) header += 27;
  if (header < 27 || header > 34) {
    return bad_signature("signature v byte " + std::to_string(signature[64]) + " is out of range");
  }
  if (header >= 31) header -= 4;
  int recid = header - 27;

  // The static context verifies and recovers; no secret ever touches it.
  const secp256k1_context* ctx = secp256k1_context_static;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, signature.data(), recid)) {
    return bad_signature("signature r or s is not below the curve order");
  }
  secp256k1_pubkey pubkey;
  if (!secp256k1_ecdsa_recover(ctx, &pubkey, &sig, digest.data())) {
    return bad_signature("no public key recovers from this signature");
  }
  Bytes out(65);
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(ctx, out.data(), &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

Result<Address> recover_signer(const Hash32& digest, ByteView signature) {
  RELAY_ASSIGN_OR_RETURN(Bytes pubkey, recover_public_key(digest, signature));
  return Address::from_public_key(pubkey);
}

bool is_high_s(ByteView signature) {
  if (signature.size() < 64) return false;
  auto s = signature.subspan(32, 32);
  return std::lexicographical_compare(kHalfOrder, kHalfOrder + 32, s.begin(), s.end());
}

bool crypto_self_test() {
  secp256k1_selftest();  // aborts the process on a broken build, by design
  return true;
}

}  // namespace relay::common
