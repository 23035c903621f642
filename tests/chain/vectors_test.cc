// Every vector in shared/tron/vectors.json: our builders and signer must reproduce TronWeb's bytes,
// txids and signatures exactly, and our decoder must read real-chain transactions.
#include "tests/support/vectors.h"

#include <gtest/gtest.h>

#include "chain/builders.h"
#include "chain/permission.h"
#include "common/signature.h"
#include "signer/signer.h"

namespace relay::chain {
namespace {

using common::Address;
using common::Sun;
using testing::key_by_id;
using testing::str;
using testing::unhex;
using testing::vector_by_id;

TxHeader header_from(const boost::json::object& in) {
  TxHeader h;
  auto ref_bytes = unhex(in.at("ref_block_bytes"));
  auto ref_hash = unhex(in.at("ref_block_hash"));
  std::copy(ref_bytes.begin(), ref_bytes.end(), h.tapos.ref_block_bytes.begin());
  std::copy(ref_hash.begin(), ref_hash.end(), h.tapos.ref_block_hash.begin());
  h.expiration_ms = in.at("expiration").as_int64();
  h.timestamp_ms = in.at("timestamp").as_int64();
  h.fee_limit_sun = in.at("fee_limit").as_int64();
  h.permission_id = static_cast<int32_t>(in.at("permission_id").as_int64());
  return h;
}

Address addr(const boost::json::value& hex) { return *Address::from_hex(hex.as_string()); }

Resource resource_of(const boost::json::object& in) {
  return in.at("resource").as_string() == "ENERGY" ? protocol::ENERGY : protocol::BANDWIDTH;
}

common::Result<Transaction> build_from_vector(const boost::json::object& v) {
  const auto& in = v.at("inputs").as_object();
  TxHeader h = header_from(in);
  Address owner = addr(in.at("owner_address_hex"));
  switch (v.at("contract_type").as_int64()) {
    case 57:
      return build_delegate_resource(
          h, owner, addr(in.at("receiver_address_hex")), Sun(in.at("balance").as_int64()),
          resource_of(in), DelegateLock{in.at("lock").as_bool(), in.at("lock_period").as_int64()});
    case 58:
      return build_undelegate_resource(h, owner, addr(in.at("receiver_address_hex")),
                                       Sun(in.at("balance").as_int64()), resource_of(in));
    case 31:
      return build_trc20_transfer(h, owner, addr(in.at("contract_address_hex")),
                                  addr(in.at("to_address_hex")),
                                  Uint256::from_u64(in.at("amount").as_int64()));
    case 46: {
      const auto& op = in.at("owner_permission").as_object();
      auto owner_builder = PermissionBuilder::owner(str(op.at("permission_name")));
      owner_builder.threshold(op.at("threshold").as_int64());
      for (const auto& k : op.at("keys").as_array()) {
        owner_builder.key(addr(k.at("address_hex")), k.at("weight").as_int64());
      }
      std::vector<protocol::Permission> actives;
      for (const auto& a : in.at("actives").as_array()) {
        auto b = PermissionBuilder::active(str(a.at("permission_name")));
        b.threshold(a.at("threshold").as_int64());
        for (const auto& t : a.at("operations_allow_contract_types").as_array()) {
          b.allow(static_cast<int>(t.as_int64()));
        }
        for (const auto& k : a.at("keys").as_array()) {
          b.key(addr(k.at("address_hex")), k.at("weight").as_int64());
        }
        actives.push_back(*b.build());
      }
      return build_account_permission_update(h, owner, *owner_builder.build(), std::nullopt,
                                             actives);
    }
    default:
      return common::make_error("test", "unexpected contract type");
  }
}

std::unique_ptr<signer::LocalSigner> signer_for(const std::string& key_id, const Address& owner,
                                                int type) {
  signer::SigningPolicy policy;
  policy.allowed_contract_types = {type};
  policy.allowed_owners = {owner};
  policy.max_fee_limit_sun = 100'000'000;
  auto key = signer::SecretKey::from_hex(str(key_by_id(key_id).at("privkey_hex")));
  return std::move(*signer::LocalSigner::create(std::move(*key), policy));
}

class GeneratedVector : public ::testing::TestWithParam<const char*> {};

TEST_P(GeneratedVector, BuildsSignsAndEncodesByteForByte) {
  const auto& v = vector_by_id(GetParam());
  auto tx = build_from_vector(v);
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ(common::to_hex(tx->raw_bytes()), str(v.at("raw_data_hex")));
  EXPECT_EQ(tx->txid_hex(), str(v.at("txid")));

  auto signer = signer_for(str(v.at("signing_key")), tx->owner(),
                           static_cast<int>(v.at("contract_type").as_int64()));
  EXPECT_EQ(signer->address().to_hex(), str(v.at("expected_signer_address_hex")));
  auto sig = signer->sign_transaction(tx->raw_bytes());
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(common::to_hex(*sig), str(v.at("signature_hex")));
  tx->add_signature(*sig);
  EXPECT_EQ(common::to_hex(tx->encode_signed()), str(v.at("signed_tx_hex")));
  EXPECT_EQ(tx->bandwidth_bytes(), v.at("bandwidth_bytes").as_int64());

  // And the decoder reads our own output back to the same transaction.
  auto decoded = Transaction::decode(unhex(v.at("signed_tx_hex")));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->txid_hex(), str(v.at("txid")));
  ASSERT_EQ(decoded->signatures().size(), 1u);
  EXPECT_EQ(decoded->contract_type(), v.at("contract_type").as_int64());
  EXPECT_EQ(decoded->permission_id(), v.at("inputs").at("permission_id").as_int64());
}

INSTANTIATE_TEST_SUITE_P(Vectors, GeneratedVector,
                         ::testing::Values("V1", "V2", "V3", "V4", "V5", "V6"));

TEST(ExternalVectors, DecodeHashAndRecoverTheirSigner) {
  for (const auto& item : testing::vectors().at("external").as_array()) {
    const auto& v = item.as_object();
    SCOPED_TRACE(str(v.at("id")));
    auto tx = v.contains("signed_tx_hex") ? Transaction::decode(unhex(v.at("signed_tx_hex")))
                                          : Transaction::decode(unhex(v.at("raw_data_hex")));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    EXPECT_EQ(tx->txid_hex(), str(v.at("txid")));
    EXPECT_EQ(common::to_hex(tx->raw_bytes()), str(v.at("raw_data_hex")));
    const auto& d = v.at("decoded").as_object();
    EXPECT_EQ(tx->contract_type(), d.at("contract_type").as_int64());
    EXPECT_EQ(common::to_hex(common::as_bytes(tx->raw().data())), str(d.at("data_hex")));
    EXPECT_EQ(tx->raw().fee_limit(), d.at("fee_limit").as_int64());
    EXPECT_EQ(tx->owner().to_hex(), str(d.at("value").at("owner_address").at("hex")));
    if (!v.at("signature_hex").is_null()) {
      ASSERT_EQ(tx->signatures().size(), 1u);
      auto signer = common::recover_signer(tx->txid(), tx->signatures()[0]);
      ASSERT_TRUE(signer.ok());
      EXPECT_EQ(signer->to_hex(), str(v.at("expected_signer_address_hex")));
    }
    // Foreign bytes are re-emitted exactly as received.
    if (v.contains("signed_tx_hex")) {
      EXPECT_EQ(common::to_hex(tx->encode_signed()), str(v.at("signed_tx_hex")));
    }
  }
}

TEST(ExternalVectors, Trc20WithPrefixedAddressWord) {
  const auto& v = vector_by_id("X2");
  auto tx = Transaction::decode(unhex(v.at("signed_tx_hex")));
  ASSERT_TRUE(tx.ok());
  const auto* trigger = tx->parameter_as<protocol::TriggerSmartContract>();
  ASSERT_NE(trigger, nullptr);
  auto transfer = decode_trc20_transfer(common::as_bytes(trigger->data()));
  ASSERT_TRUE(transfer.ok()) << transfer.error().message;
  EXPECT_EQ(transfer->to.to_hex(), "4150125bea243a640bf85348873b6c4f3c517aee7a");
  EXPECT_EQ(transfer->amount.to_decimal(), "1");
  // We never emit the 41-prefixed form ourselves.
  auto ours = encode_trc20_transfer(transfer->to, transfer->amount);
  EXPECT_EQ(ours[4 + 11], 0);
}

TEST(HighS, V1HDecodesAndRecoversK1) {
  const auto& v = vector_by_id("V1H");
  auto tx = Transaction::decode(unhex(v.at("signed_tx_hex")));
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->txid_hex(), str(v.at("txid")));
  auto signer = common::recover_signer(tx->txid(), tx->signatures()[0]);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->to_hex(), str(v.at("expected_signer_address_hex")));
}

TEST(Tapos, FromBlockId) {
  const auto& ref = testing::vectors().at("ref_block").as_object();
  auto tapos = TaposRef::from_block_id_hex(ref.at("block_id").as_string());
  ASSERT_TRUE(tapos.ok()) << tapos.error().message;
  EXPECT_EQ(common::to_hex(tapos->ref_block_bytes), str(ref.at("ref_block_bytes")));
  EXPECT_EQ(common::to_hex(tapos->ref_block_hash), str(ref.at("ref_block_hash")));
  auto id = unhex(ref.at("block_id"));
  EXPECT_TRUE(TaposRef::from_block(ref.at("block_num").as_int64(), id).ok());
  EXPECT_FALSE(TaposRef::from_block(ref.at("block_num").as_int64() + 1, id).ok());
  EXPECT_FALSE(TaposRef::from_block_id_hex("00").ok());
}

}  // namespace
}  // namespace relay::chain
