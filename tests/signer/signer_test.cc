#include "signer/signer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "signer/key_file.h"
#include "tests/support/vectors.h"

namespace relay::signer {
namespace {

using common::Address;
using testing::str;
using testing::unhex;
using testing::vector_by_id;

const char* kK2 = "1234567890123456789012345678901234567890123456789012345678901234";

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tronrelay-signer-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content, mode_t mode) {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    chmod(file.c_str(), mode);
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SecretKey, RejectsBadKeysWithoutEchoingThem) {
  EXPECT_EQ(SecretKey::from_hex("abcd").error().message,
            "private key must be 64 hex characters, got 4");
  EXPECT_FALSE(SecretKey::from_hex(std::string(64, '0')).ok());  // zero
  // n itself and n + 1 are ≥ the curve order.
  auto n = SecretKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("curve order"), std::string::npos);
  EXPECT_FALSE(
      SecretKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142").ok());
  EXPECT_TRUE(
      SecretKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140").ok());
  auto bad = SecretKey::from_hex(std::string(63, '1') + "g");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find(std::string(63, '1')), std::string::npos);
  EXPECT_FALSE(SecretKey::from_bytes(common::Bytes(31, 1)).ok());
  EXPECT_TRUE(SecretKey::from_hex(std::string("  0x") + kK2 + "\n").ok());
}

TEST(KeyFile, LoadsOwnerOnlyFilesAndRefusesOthers) {
  TempDir dir;
  auto good = dir.write("relayer.key", std::string(kK2) + "\n", 0600);
  auto key = load_key_file(good);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(address_of(*key)->to_base58(), "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp");

  auto readable = dir.write("open.key", kK2, 0644);
  auto refused = load_key_file(readable);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("mode 0644"), std::string::npos);
  EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
  EXPECT_FALSE(load_key_file(dir.write("group.key", kK2, 0640)).ok());

  EXPECT_FALSE(load_key_file(dir.path() + "/missing.key").ok());
  EXPECT_FALSE(load_key_file(dir.path()).ok());  // a directory
  auto too_long = load_key_file(dir.write("long.key", std::string(1000, 'a'), 0600));
  ASSERT_FALSE(too_long.ok());
  auto garbage = load_key_file(dir.write("garbage.key", std::string(64, 'z'), 0600));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().message.find("zzzz"), std::string::npos);
}

TEST(KeyFile, SystemdCredential) {
  TempDir dir;
  dir.write("relayer", kK2, 0400);
  setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  auto key = load_credential("relayer");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(address_of(*key)->to_base58(), "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp");
  EXPECT_FALSE(load_credential("../etc/passwd").ok());
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_FALSE(load_credential("relayer").ok());
}

SigningPolicy relayer_policy() {
  SigningPolicy policy;
  policy.allowed_contract_types = {57, 58};
  policy.allowed_owners = {*Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC")};
  policy.max_amount_sun = {{57, 10'000'000}};
  policy.allowed_permission_ids = std::set<int32_t>{2};
  return policy;
}

TEST(LocalSigner, SignsWhatThePolicyAllows) {
  auto signer = LocalSigner::create(*SecretKey::from_hex(kK2), relayer_policy());
  ASSERT_TRUE(signer.ok());
  const auto& v3 = vector_by_id("V3");
  auto sig = (*signer)->sign_transaction(unhex(v3.at("raw_data_hex")));
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(common::to_hex(*sig), str(v3.at("signature_hex")));
}

TEST(LocalSigner, RefusesWhatThePolicyDoesNot) {
  auto policy = relayer_policy();
  auto signer = std::move(*LocalSigner::create(*SecretKey::from_hex(kK2), policy));
  auto refused = [&](const char* id) {
    auto result = signer->sign_transaction(unhex(vector_by_id(id).at("raw_data_hex")));
    EXPECT_FALSE(result.ok()) << id;
    return result.ok() ? std::string() : result.error().code + ": " + result.error().message;
  };
  // V6: TRC20 transfer — contract type 31 is not allowed.
  EXPECT_EQ(refused("V6"), "policy_refused: contract type 31 is not allowed by the signing policy");
  // V1: delegate under the owner permission (id 0) — only Permission_id 2 is allowed.
  EXPECT_EQ(refused("V1"), "policy_refused: Permission_id 0 is not allowed");

  SigningPolicy other_owner = policy;
  other_owner.allowed_owners = {*Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1")};
  auto s2 = std::move(*LocalSigner::create(*SecretKey::from_hex(kK2), other_owner));
  auto r2 = s2->sign_transaction(unhex(vector_by_id("V3").at("raw_data_hex")));
  EXPECT_NE(r2.error().message.find("is not an account this signer serves"), std::string::npos);

  SigningPolicy small = policy;
  small.max_amount_sun[57] = 9'999'999;
  auto s3 = std::move(*LocalSigner::create(*SecretKey::from_hex(kK2), small));
  auto r3 = s3->sign_transaction(unhex(vector_by_id("V3").at("raw_data_hex")));
  EXPECT_EQ(r3.error().message,
            "amount 10000000 sun exceeds the limit of 9999999 sun per transaction");

  SigningPolicy deny_all;
  auto s4 = std::move(*LocalSigner::create(*SecretKey::from_hex(kK2), deny_all));
  EXPECT_FALSE(s4->sign_transaction(unhex(vector_by_id("V3").at("raw_data_hex"))).ok());

  EXPECT_EQ(signer->sign_transaction(common::Bytes{0x01}).error().code, "invalid_protobuf");
  EXPECT_FALSE(signer->sign_transaction(common::Bytes{}).ok());
}

TEST(TxFacts, ReadsTheSameFactsAsTheFullDecoder) {
  for (const char* id : {"V1", "V2", "V3", "V4", "V5", "V6", "X1", "X2", "X8b"}) {
    const auto& v = vector_by_id(id);
    auto facts = read_tx_facts(unhex(v.at("raw_data_hex")));
    ASSERT_TRUE(facts.ok()) << id << ": " << facts.error().message;
    EXPECT_EQ(common::to_hex(facts->txid), str(v.at("txid"))) << id;
    EXPECT_EQ(facts->contract_type, v.at("contract_type").as_int64()) << id;
  }
  auto v6 = read_tx_facts(unhex(vector_by_id("V6").at("raw_data_hex")));
  EXPECT_EQ(v6->fee_limit_sun, 30'000'000);
  EXPECT_EQ(v6->amount_sun, 0);  // call_value
  auto v3 = read_tx_facts(unhex(vector_by_id("V3").at("raw_data_hex")));
  EXPECT_EQ(v3->permission_id, 2);
  EXPECT_EQ(v3->amount_sun, 10'000'000);
  EXPECT_EQ(v3->owner.to_base58(), "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
}

TEST(TxFacts, DuplicateFieldsAreRefused) {
  // Two fee_limit fields: decoders disagree on which wins, so the signer refuses.
  auto raw = unhex(vector_by_id("V6").at("raw_data_hex"));
  raw.insert(raw.end(), {0x90, 0x01, 0x01});
  EXPECT_NE(read_tx_facts(raw).error().message.find("appears twice"), std::string::npos);
}

}  // namespace
}  // namespace relay::signer
