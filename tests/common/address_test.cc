#include "common/address.h"

#include <gtest/gtest.h>

#include "common/base58.h"
#include "tests/support/vectors.h"

namespace relay::common {
namespace {

using testing::key_by_id;
using testing::str;

TEST(Address, KeyVectorsRoundTripBothForms) {
  for (const char* id : {"K1", "K2", "K3"}) {
    const auto& k = key_by_id(id);
    auto from_hex = Address::parse(str(k.at("address_hex")));
    ASSERT_TRUE(from_hex.ok()) << id;
    EXPECT_EQ(from_hex->to_base58(), str(k.at("address_base58")));
    auto from_b58 = Address::parse(str(k.at("address_base58")));
    ASSERT_TRUE(from_b58.ok()) << id;
    EXPECT_EQ(from_b58->to_hex(), str(k.at("address_hex")));
    EXPECT_EQ(*from_hex, *from_b58);
    auto pub = from_hex_exact(str(k.at("pubkey_uncompressed_hex")), 65, "pubkey");
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(Address::from_public_key(*pub)->to_hex(), str(k.at("address_hex")));
  }
}

TEST(Address, UsdtContractAddress) {
  auto usdt = Address::parse("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
  ASSERT_TRUE(usdt.ok());
  EXPECT_EQ(usdt->to_hex(), "41a614f803b6fd780986a42c78ec9c7f77e6ded13c");
}

void expect_invalid(std::string_view text, std::string_view message_part) {
  auto parsed = Address::parse(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.error().code, "invalid_address");
  EXPECT_NE(parsed.error().message.find(message_part), std::string::npos)
      << "'" << parsed.error().message << "' lacks '" << message_part << "'";
}

TEST(Address, PreciseErrors) {
  expect_invalid("", "empty");
  expect_invalid("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2H", "34 characters");        // one short
  expect_invalid("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HD", "checksum");            // last char changed
  expect_invalid("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2H0", "'0' at position 33");  // not base58
  expect_invalid("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2Hl", "'l'");
  expect_invalid("417e5f4552091a69125d5dfcb7b8c2659029395b", "42 characters");
  expect_invalid("427e5f4552091a69125d5dfcb7b8c2659029395bdf", "prefix must be 0x41");
  expect_invalid("417e5f4552091a69125d5dfcb7b8c2659029395bdg",
                 "base58");  // 'g': not hex → base58 path
  // A valid Base58Check string whose payload starts with a Bitcoin version byte, not 0x41.
  Bytes bitcoin(21, 0x11);
  bitcoin[0] = 0x00;
  std::string wrong_prefix = base58check_encode(bitcoin);
  auto parsed = Address::from_base58(wrong_prefix);
  ASSERT_FALSE(parsed.ok());
}

TEST(Address, WrongPrefixInBase58) {
  Bytes payload(21, 0x22);
  payload[0] = 0x42;  // one off the mainnet prefix, still 34 characters long
  std::string text = base58check_encode(payload);
  ASSERT_EQ(text.size(), 34u);
  expect_invalid(text, "prefix must be 0x41");
}

TEST(Base58, KnownValuesAndLeadingZeros) {
  EXPECT_EQ(base58_encode(Bytes{}), "");
  EXPECT_EQ(base58_encode(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(*base58_decode("112"), (Bytes{0, 0, 1}));
  EXPECT_EQ(base58_encode(as_bytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_FALSE(base58_decode("").ok());
  EXPECT_FALSE(base58_decode(std::string(129, '2')).ok());
  EXPECT_FALSE(base58check_decode("1").ok());
}

}  // namespace
}  // namespace relay::common
