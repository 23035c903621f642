// java-tron JSON rendering and parsing against TronWeb's raw_data JSON in the vectors.
#include <gtest/gtest.h>

#include "chain/tx_json.h"
#include "tests/support/vectors.h"

namespace relay::chain {
namespace {

using testing::str;
using testing::unhex;
using testing::vector_by_id;

TEST(TxJson, RendersWhatTronWebBuilt) {
  for (const char* id : {"V1", "V2", "V3", "V4", "V5", "V6"}) {
    const auto& v = vector_by_id(id);
    auto tx = Transaction::decode(unhex(v.at("signed_tx_hex")));
    ASSERT_TRUE(tx.ok());
    // boost::json::object equality ignores member order, as JSON does.
    EXPECT_EQ(boost::json::value(raw_to_json(*tx)), v.at("raw_data_json_tronweb")) << id;
  }
}

TEST(TxJson, ParsesTronWebJsonBackToTheSameBytes) {
  for (const char* id : {"V1", "V2", "V3", "V4", "V5", "V6"}) {
    const auto& v = vector_by_id(id);
    boost::json::object tx_json{{"raw_data", v.at("raw_data_json_tronweb")},
                                {"txID", v.at("txid")},
                                {"raw_data_hex", v.at("raw_data_hex")},
                                {"signature", boost::json::array{v.at("signature_hex")}},
                                {"visible", false}};
    auto tx = transaction_from_json(tx_json);
    ASSERT_TRUE(tx.ok()) << id << ": " << tx.error().message;
    EXPECT_EQ(common::to_hex(tx->encode_signed()), str(v.at("signed_tx_hex"))) << id;
  }
  // tronpy's JSON for X8a, rebuilt the same way by two libraries.
  const auto& x = vector_by_id("X8a");
  auto tx = transaction_from_json(x.at("raw_data_json").as_object());
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ(tx->txid_hex(), str(x.at("txid")));
}

TEST(TxJson, RoundTripIncludingVisibleAddresses) {
  const auto& v = vector_by_id("V3");
  auto tx = Transaction::decode(unhex(v.at("signed_tx_hex")));
  for (bool visible : {false, true}) {
    auto json = transaction_to_json(*tx, {.visible = visible});
    EXPECT_EQ(json.at("txID").as_string(), str(v.at("txid")));
    EXPECT_EQ(json.at("raw_data").at("contract").at(0).at("Permission_id").as_int64(), 2);
    auto back = transaction_from_json(json);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->encode_signed(), tx->encode_signed());
  }
  auto visible = transaction_to_json(*tx, {.visible = true});
  EXPECT_EQ(
      visible.at("raw_data").at("contract").at(0).at("parameter").at("value").at("owner_address"),
      "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
}

TEST(TxJson, BadJsonIsAClearError) {
  const auto& v = vector_by_id("V1");
  auto base = v.at("raw_data_json_tronweb").as_object();

  auto unknown = base;
  unknown["surprise"] = 1;
  EXPECT_NE(transaction_from_json(unknown).error().message.find("surprise"), std::string::npos);

  auto float_expiration = base;
  float_expiration["expiration"] = 1.5;
  EXPECT_FALSE(transaction_from_json(float_expiration).ok());

  auto bad_type = base;
  bad_type["contract"].as_array()[0].as_object()["type"] = "NoSuchContract";
  EXPECT_FALSE(transaction_from_json(bad_type).ok());

  auto bad_address = base;
  bad_address["contract"].as_array()[0].at("parameter").at("value").as_object()["owner_address"] =
      "41zz";
  auto err = transaction_from_json(bad_address);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("owner_address"), std::string::npos);

  boost::json::object wrong_txid{{"raw_data", base}, {"txID", std::string(64, '0')}};
  EXPECT_NE(transaction_from_json(wrong_txid).error().message.find("txID"), std::string::npos);

  auto big_int = base;
  big_int["fee_limit"] = "99999999999999999999";
  EXPECT_FALSE(transaction_from_json(big_int).ok());
}

}  // namespace
}  // namespace relay::chain
