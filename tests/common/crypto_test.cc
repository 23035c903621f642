#include <gtest/gtest.h>

#include "common/hash.h"
#include "common/signature.h"
#include "tests/support/vectors.h"

namespace relay::common {
namespace {

using testing::str;
using testing::unhex;
using testing::vector_by_id;

TEST(Hash, KnownDigests) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Original Keccak, not SHA3-256 (whose empty digest is a7ffc6f8…).
  EXPECT_EQ(to_hex(keccak256(as_bytes(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(to_hex(keccak256(as_bytes("transfer(address,uint256)"))).substr(0, 8), "a9059cbb");
}

TEST(Hash, KeccakOfKeyVectors) {
  for (const char* id : {"K1", "K2", "K3"}) {
    const auto& k = testing::key_by_id(id);
    Bytes pub = unhex(k.at("pubkey_uncompressed_hex"));
    EXPECT_EQ(to_hex(keccak256(ByteView(pub).subspan(1))), str(k.at("keccak256_of_pubkey_xy_hex")));
    Bytes addr = unhex(k.at("address_hex"));
    Hash32 check = double_sha256(addr);
    EXPECT_EQ(to_hex(ByteView(check.data(), 4)), str(k.at("base58check_checksum_hex")));
  }
}

Hash32 txid_of(const boost::json::object& v) {
  Hash32 out;
  Bytes id = unhex(v.at("txid"));
  std::copy(id.begin(), id.end(), out.begin());
  return out;
}

TEST(Recover, GeneratedVectorsInBothVConventions) {
  for (const char* id : {"V1", "V2", "V3", "V4", "V5", "V6"}) {
    const auto& v = vector_by_id(id);
    for (const char* field : {"signature_hex", "signature_recid_hex"}) {
      auto signer = recover_signer(txid_of(v), unhex(v.at(field)));
      ASSERT_TRUE(signer.ok()) << id << " " << signer.error().message;
      EXPECT_EQ(signer->to_hex(), str(v.at("expected_signer_address_hex"))) << id << field;
    }
  }
}

TEST(Recover, HighSIsAcceptedLikeJavaTron) {
  const auto& v = vector_by_id("V1H");
  Bytes sig = unhex(v.at("signature_hex"));
  EXPECT_TRUE(is_high_s(sig));
  auto signer = recover_signer(txid_of(v), sig);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  EXPECT_EQ(signer->to_base58(), str(v.at("expected_signer_address_base58")));
  EXPECT_FALSE(is_high_s(unhex(v.at("low_s_equivalent_signature_recid_hex"))));
}

TEST(Recover, RealChainVectors) {
  for (const char* id : {"X1", "X2", "X7"}) {
    const auto& v = vector_by_id(id);
    auto signer = recover_signer(txid_of(v), unhex(v.at("signature_hex")));
    ASSERT_TRUE(signer.ok()) << id;
    EXPECT_EQ(signer->to_hex(), str(v.at("expected_signer_address_hex"))) << id;
  }
}

TEST(Recover, BadSignaturesAreErrors) {
  const auto& v = vector_by_id("V1");
  Bytes sig = unhex(v.at("signature_hex"));
  Hash32 digest = txid_of(v);

  auto short_sig = recover_signer(digest, ByteView(sig).first(64));
  ASSERT_FALSE(short_sig.ok());
  EXPECT_EQ(short_sig.error().message, "Signature size is 64");

  Bytes bad_v = sig;
  bad_v[64] = 35;
  EXPECT_FALSE(recover_signer(digest, bad_v).ok());

  Bytes r_overflow = sig;
  std::fill(r_overflow.begin(), r_overflow.begin() + 32, 0xff);
  EXPECT_EQ(recover_signer(digest, r_overflow).error().code, "bad_signature");

  Bytes zeros(65, 0);
  EXPECT_FALSE(recover_signer(digest, zeros).ok());

  // A different digest recovers some other key, never the signer.
  Hash32 other = digest;
  other[0] ^= 1;
  auto wrong = recover_signer(other, sig);
  if (wrong.ok()) {
    EXPECT_NE(wrong->to_hex(), str(v.at("expected_signer_address_hex")));
  }
}

TEST(Crypto, SelfTest) { EXPECT_TRUE(crypto_self_test()); }

}  // namespace
}  // namespace relay::common
