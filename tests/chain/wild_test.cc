// Transactions found in public code and docs (mainnet/Nile captures, wallet-cli and TronWeb logs)
// that are not in the shared vectors: each must decode, hash to its published txid where one is
// published, and show the fields its source shows.
#include <gtest/gtest.h>

#include "chain/tx_json.h"
#include "common/signature.h"
#include "tests/support/vectors.h"

namespace relay::chain {
namespace {

Transaction decode_hex(const char* hex) {
  auto tx = Transaction::decode(*common::from_hex(hex));
  EXPECT_TRUE(tx.ok()) << (tx.ok() ? "" : tx.error().message);
  return std::move(*tx);
}

// A signed mainnet delegation as a block explorer returns it: ret (field 5) carries an unknown
// high-tag field and the Transaction itself ends with an unknown field 1002.
TEST(Wild, SignedDelegationWithRetAndUnknownFields) {
  auto tx = decode_hex(
      "0a93010a028b58220806e328e403f663c74098dfcfeeb9335a750839126f0a35747970652e676f6f676c656170"
      "69732e636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412360a1541"
      "6651c0e2ff4bb6306dedee3432178bc3440f6dd7100118c0ccf3c7332215414656aefbd8de0f2b0fa3fb7a4724"
      "079add283ce42803708790cceeb9331241f04bc4c12a3323d37ad1a57ab6eab4e0e258dbf34733d73ea7fec3d1"
      "a49e98f632d848c19fa36b4b0cf2de320f6f5adcd90696fb747c47b0a8d23363b6f6de50012a021801d23e0cc8"
      "3e81f6a50cd03ed4b6a20f");
  const auto* c = tx.parameter_as<protocol::DelegateResourceContract>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->balance(), 13'841'000'000);
  EXPECT_EQ(c->resource(), protocol::ENERGY);
  EXPECT_FALSE(c->lock());
  ASSERT_EQ(tx.signatures().size(), 1u);
  EXPECT_TRUE(common::recover_signer(tx.txid(), tx.signatures()[0]).ok());
  // What we would broadcast: raw_data and the signature only, never the node's ret.
  auto again = Transaction::decode(tx.encode_signed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->txid(), tx.txid());
  EXPECT_EQ(tx.encode_signed().size(), 3 + tx.raw_bytes().size() + 2 + 65);
}

// TronWeb log of a broadcast delegation; the txid is published beside it.
TEST(Wild, TronWebDelegationHashesToItsPublishedTxid) {
  auto tx = decode_hex(
      "0a023dcb22087e74d966acca37df40f0928994e5315a720839126e0a35747970652e676f6f676c65617069732e"
      "636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412350a1541971ff6"
      "b1b0f8bb13780d7646d58589a303d1f62510011880ade204221541fc17285dc8ab86f344a5bd37af730295e261"
      "98827090be8594e531");
  EXPECT_EQ(tx.txid_hex(), "e7da84877bfa0158b1eb8810bc0e3c9d36c61e19b5b3b246323b45971dcc97aa");
  EXPECT_EQ(tx.raw().expiration(), 1710781254000);
  // The published signature (TronWeb prints v in upper case) recovers the pool that owns the stake.
  auto sig = common::from_hex(
      "5076ab832e755bf09e2249e9bdba284f94afa34ce79490520ac20474520c0ab64e9f551ae942452a935ad604fd"
      "a959f9dbf3382c2cbc27253330a3ae2cd76c4f1C");
  ASSERT_TRUE(sig.ok());
  auto signer = common::recover_signer(tx.txid(), *sig);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->to_hex(), tx.owner().to_hex());
}

// A mainnet bandwidth reclaim with a (pointless) fee_limit, from a client's test fixture.
TEST(Wild, UndelegateBandwidthWithFeeLimit) {
  auto tx = decode_hex(
      "0a02a343220892d31415885cc68040c1c5f0e1ba325a72083a126e0a37747970652e676f6f676c65617069732e"
      "636f6d2f70726f746f636f6c2e556e44656c65676174655265736f75726365436f6e747261637412330a154106"
      "11d6c1d784930f53979f06f10306251919e1ea18e7f5aa762215414c614b77e81392450d88f9e339481843abae"
      "0e3470a1b5e9b8ba3290018087a70e");
  const auto* c = tx.parameter_as<protocol::UnDelegateResourceContract>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->resource(), protocol::BANDWIDTH);
  EXPECT_EQ(c->balance(), 248'167'143);
  EXPECT_EQ(tx.raw().fee_limit(), 30'000'000);
  // Its JSON as the fixture shows it: BANDWIDTH (0) omitted, fee_limit present.
  auto json = raw_to_json(tx);
  EXPECT_FALSE(
      json.at("contract").at(0).at("parameter").at("value").as_object().contains("resource"));
  EXPECT_EQ(json.at("fee_limit"), 30000000);
}

// wallet-cli's "before sign transaction hex" for a 1 TRX delegation, and a locked delegation with
// lock_period 86400 from an energy marketplace's API docs.
TEST(Wild, WalletCliAndMarketplaceDelegations) {
  auto cli = decode_hex(
      "0a02020c220854e32e95d11894f840f88bbaf3e5305a710839126d0a35747970652e676f6f676c65617069732e"
      "636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412340a1541ce8a0c"
      "f0c16d48bcf22825f6053248df653c89ca100118c0843d221541fd49eda0f23ff7ec1d03b52c3a45991c24cd44"
      "0e70a5bbb6f3e530");
  EXPECT_EQ(cli.owner().to_base58(), "TUoHaVjx7n5xz8LwPRDckgFrDWhMhuSuJM");
  EXPECT_EQ(cli.parameter_as<protocol::DelegateResourceContract>()->balance(), 1'000'000);

  auto locked = decode_hex(
      "0a026cc42208738b6bf2033b649740b0f594b0e1335a79083912750a35747970652e676f6f676c65617069732e"
      "636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e7472616374123c0a1541be35e6"
      "bcd33e46894072909d72bd31ccd93b1b73100118a6a1bc810522154100f6d191a641af2c015b52b1ffef788a33"
      "52cef628013080a30570d0a091b0e133");
  const auto* c = locked.parameter_as<protocol::DelegateResourceContract>();
  EXPECT_TRUE(c->lock());
  EXPECT_EQ(c->lock_period(), 86'400);
  EXPECT_EQ(c->balance(), 1'345'261'734);
}

}  // namespace
}  // namespace relay::chain
