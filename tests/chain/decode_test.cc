// Hostile and malformed input to the transaction decoder: each case a clean, specific error.
#include <gtest/gtest.h>

#include <random>

#include "chain/builders.h"
#include "chain/transaction.h"
#include "tests/support/vectors.h"

namespace relay::chain {
namespace {

using common::Bytes;
using testing::unhex;
using testing::vector_by_id;

Bytes v1_signed() { return unhex(vector_by_id("V1").at("signed_tx_hex")); }
Bytes v1_raw() { return unhex(vector_by_id("V1").at("raw_data_hex")); }

TEST(Decode, EmptyAndGarbage) {
  EXPECT_EQ(Transaction::decode(Bytes{}).error().message, "empty input");
  EXPECT_FALSE(Transaction::decode(Bytes{0xff, 0xff, 0xff}).ok());
  EXPECT_FALSE(Transaction::decode(Bytes(1000, 0x00)).ok());
  std::mt19937 rng(20261122);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    auto tx = Transaction::decode(junk);  // must not crash; almost surely an error
    if (tx.ok()) {
      EXPECT_EQ(tx->raw().contract_size(), 1);
    }
  }
}

TEST(Decode, EveryTruncationIsAnError) {
  Bytes full = v1_signed();
  for (size_t len = 1; len < full.size(); ++len) {
    Bytes cut(full.begin(), full.begin() + len);
    auto tx = Transaction::decode(cut);
    // A cut that lands exactly after raw_data is a valid unsigned transaction; nothing else is.
    if (tx.ok()) {
      EXPECT_EQ(tx->txid_hex(), vector_by_id("V1").at("txid").as_string());
      EXPECT_TRUE(tx->signatures().empty());
    }
  }
  Bytes raw = v1_raw();
  for (size_t len = 1; len < raw.size(); ++len) {
    // Cutting at a field boundary after the contract leaves a valid, different transaction.
    auto tx = Transaction::decode_raw(Bytes(raw.begin(), raw.begin() + len));
    if (tx.ok()) {
      EXPECT_NE(tx->txid_hex(), vector_by_id("V1").at("txid").as_string()) << len;
    }
  }
}

TEST(Decode, OversizedIsRefused) {
  Bytes big(Transaction::kMaxSize + 10, 0);
  big[0] = 0x0a;  // field 1, length-delimited: looks like a signed transaction
  auto tx = Transaction::decode_signed(big);
  ASSERT_FALSE(tx.ok());
  EXPECT_NE(tx.error().message.find("limit"), std::string::npos);
}

// Rewrites V1's raw_data through protobuf with `mutate` applied, keeping everything else.
Bytes mutated_raw(const std::function<void(protocol::Transaction_raw&)>& mutate) {
  Bytes raw = v1_raw();
  protocol::Transaction_raw msg;
  EXPECT_TRUE(msg.ParseFromArray(raw.data(), static_cast<int>(raw.size())));
  mutate(msg);
  std::string out = msg.SerializeAsString();
  return Bytes(out.begin(), out.end());
}

TEST(Decode, WrongTypeUrl) {
  auto tx = Transaction::decode_raw(mutated_raw([](auto& raw) {
    raw.mutable_contract(0)->mutable_parameter()->set_type_url(
        "type.googleapis.com/protocol.TransferContract");
  }));
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(tx.error().code, "wrong_type_url");
  auto other_package = Transaction::decode_raw(mutated_raw([](auto& raw) {
    raw.mutable_contract(0)->mutable_parameter()->set_type_url(
        "type.googleapis.com/tron.DelegateResourceContract");
  }));
  EXPECT_EQ(other_package.error().code, "wrong_type_url");
}

TEST(Decode, ContractCountTypeAndOwner) {
  auto none = Transaction::decode_raw(mutated_raw([](auto& raw) { raw.clear_contract(); }));
  EXPECT_NE(none.error().message.find("exactly one contract, got 0"), std::string::npos);
  auto two = Transaction::decode_raw(
      mutated_raw([](auto& raw) { *raw.add_contract() = raw.contract(0); }));
  EXPECT_NE(two.error().message.find("got 2"), std::string::npos);
  auto unsupported = Transaction::decode_raw(mutated_raw([](auto& raw) {
    raw.mutable_contract(0)->set_type(protocol::Transaction_Contract::VoteWitnessContract);
  }));
  EXPECT_EQ(unsupported.error().code, "unsupported_contract");
  auto bad_owner = Transaction::decode_raw(mutated_raw([](auto& raw) {
    protocol::DelegateResourceContract c;
    raw.contract(0).parameter().UnpackTo(&c);
    c.set_owner_address("\x41short");
    raw.mutable_contract(0)->mutable_parameter()->PackFrom(c);
  }));
  EXPECT_NE(bad_owner.error().message.find("owner_address"), std::string::npos);
  auto bad_value = Transaction::decode_raw(mutated_raw(
      [](auto& raw) { raw.mutable_contract(0)->mutable_parameter()->set_value("\xff\xff\xff"); }));
  EXPECT_NE(bad_value.error().message.find("not a valid DelegateResourceContract"),
            std::string::npos);
  auto bad_ref =
      Transaction::decode_raw(mutated_raw([](auto& raw) { raw.set_ref_block_hash("x"); }));
  EXPECT_NE(bad_ref.error().message.find("ref_block_hash"), std::string::npos);
}

TEST(Decode, EveryAddressAndEnumFieldIsChecked) {
  const std::string v3 = vector_by_id("V3").at("raw_data_hex").as_string().c_str();
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string hex = v3;
    hex.replace(hex.find(from), from.size(), to);
    return Transaction::decode_raw(*common::from_hex(hex));
  };
  // receiver_address with prefix 0x42, and resource = 7: both refused by java-tron, and by us.
  auto receiver = replaced("22154194", "22154294");
  ASSERT_FALSE(receiver.ok());
  EXPECT_NE(receiver.error().message.find("receiver_address"), std::string::npos);
  auto resource = replaced("1001188", "1007188");
  ASSERT_FALSE(resource.ok());
  EXPECT_NE(resource.error().message.find("not a value of ResourceCode"), std::string::npos);
}

TEST(Decode, ForeignBytesAreHashedAsReceived) {
  // An unknown field (java-tron's unused `scripts`, 12) must stay in the hashed bytes.
  Bytes raw = v1_raw();
  raw.insert(raw.end(), {0x62, 0x01, 0x00});
  auto tx = Transaction::decode_raw(raw);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->raw_bytes(), raw);
  EXPECT_NE(tx->txid_hex(), vector_by_id("V1").at("txid").as_string());
}

TEST(Builders, RefuseNonsense) {
  TxHeader h;
  h.expiration_ms = 1;
  auto a = *common::Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
  auto b = *common::Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
  EXPECT_FALSE(build_transfer(h, a, b, common::Sun(0)).ok());
  EXPECT_FALSE(build_delegate_resource(h, a, a, common::Sun(1'000'000), protocol::ENERGY).ok());
  EXPECT_FALSE(build_delegate_resource(h, a, b, common::Sun(1'000'000), protocol::TRON_POWER).ok());
  EXPECT_FALSE(
      build_delegate_resource(h, a, b, common::Sun(1'000'000), protocol::ENERGY, {false, 5}).ok());
  EXPECT_FALSE(build_trc20_transfer(h, a, b, a, Uint256::from_u64(1)).ok());  // no fee_limit
  TxHeader no_expiry;
  EXPECT_FALSE(build_transfer(no_expiry, a, b, common::Sun(1)).ok());
}

TEST(Builders, MemoAndPermissionIdChangeTheBytes) {
  const auto& v = vector_by_id("V1");
  TxHeader h;
  auto tapos =
      TaposRef::from_block_id_hex(testing::vectors().at("ref_block").at("block_id").as_string());
  h.tapos = *tapos;
  h.expiration_ms = 1751466492000;
  h.timestamp_ms = 1751466432000;
  auto a = *common::Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
  auto b = *common::Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
  auto plain = build_delegate_resource(h, a, b, common::Sun(10'000'000), protocol::ENERGY);
  EXPECT_EQ(plain->txid_hex(), v.at("txid").as_string());
  h.memo = "lease 42";
  auto memo = build_delegate_resource(h, a, b, common::Sun(10'000'000), protocol::ENERGY);
  EXPECT_EQ(memo->raw().data(), "lease 42");
  EXPECT_NE(memo->txid_hex(), plain->txid_hex());
}

}  // namespace
}  // namespace relay::chain
