// tronrelayctl subcommands run in-process: output shape, and exit 2 with one line on bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/json.h"
#include "daemon/ctl_commands.h"
#include "tests/support/vectors.h"

namespace relay::daemon {
namespace {

using testing::str;
using testing::vector_by_id;

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run ctl(std::vector<std::string> args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  int code = run_ctl(args, in, out, err);
  return {code, out.str(), err.str()};
}

boost::json::object json_of(const std::string& text) { return *common::parse_json_object(text); }

TEST(CtlTxInspect, SignedDelegateWithPermissionId) {
  const auto& v = vector_by_id("V3");
  auto run = ctl({"tx", "inspect", str(v.at("signed_tx_hex"))});
  ASSERT_EQ(run.code, 0) << run.err;
  auto j = json_of(run.out);
  EXPECT_EQ(j.at("txid"), v.at("txid"));
  EXPECT_EQ(j.at("contract_type").at("name"), "DelegateResourceContract");
  EXPECT_EQ(j.at("contract_type").at("number"), 57);
  EXPECT_EQ(j.at("permission_id"), 2);
  EXPECT_EQ(j.at("owner").at("base58"), "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
  EXPECT_EQ(j.at("contract").at("receiver_address").at("hex"),
            "4194a15629b2b2bbd3a5453e6d6696b2875278633b");
  EXPECT_EQ(j.at("contract").at("balance"), 10000000);
  EXPECT_EQ(j.at("contract").at("resource"), "ENERGY");
  EXPECT_EQ(j.at("ref_block_bytes"), "6431");
  EXPECT_EQ(j.at("expiration"), 1751466492000);
  EXPECT_EQ(j.at("signatures").at(0).at("signer_base58"), "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp");
}

TEST(CtlTxInspect, Trc20AndPermissionUpdateFromStdin) {
  auto run = ctl({"tx", "inspect", "-"}, str(vector_by_id("V6").at("signed_tx_hex")) + "\n");
  ASSERT_EQ(run.code, 0) << run.err;
  auto j = json_of(run.out);
  EXPECT_EQ(j.at("contract").at("token").at("base58"), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
  EXPECT_EQ(j.at("contract").at("to").at("base58"), "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
  EXPECT_EQ(j.at("contract").at("amount"), "1000000");
  EXPECT_EQ(j.at("fee_limit"), 30000000);

  auto perm = ctl({"tx", "inspect", str(vector_by_id("V5").at("raw_data_hex"))});
  ASSERT_EQ(perm.code, 0) << perm.err;
  auto p = json_of(perm.out);
  const auto& active = p.at("contract").at("actives").at(0);
  EXPECT_EQ(active.at("operations"),
            "0000000000000006000000000000000000000000000000000000000000000000");
  EXPECT_EQ(active.at("operations_types"),
            (boost::json::array{"DelegateResourceContract", "UnDelegateResourceContract"}));
  EXPECT_EQ(p.at("signatures").as_array().size(), 0u);
}

TEST(CtlTxInspect, RealChainTransactionWithMemo) {
  auto run = ctl({"tx", "inspect", str(vector_by_id("X1").at("signed_tx_hex"))});
  ASSERT_EQ(run.code, 0) << run.err;
  auto j = json_of(run.out);
  EXPECT_EQ(j.at("memo_hex"), "02c75f");
  EXPECT_EQ(j.at("contract").at("amount"), 1000);
  EXPECT_EQ(j.at("signatures").at(0).at("signer_base58"), "TQHAvs2ZFTbsd93ycTfw1Wuf1e4WsPZWCp");
}

TEST(CtlTxInspect, AcceptsJavaTronJson) {
  const auto& v = vector_by_id("V1");
  boost::json::object tx{{"raw_data", v.at("raw_data_json_tronweb")},
                         {"signature", boost::json::array{v.at("signature_hex")}}};
  auto run = ctl({"tx", "inspect", common::json_to_string(tx)});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(json_of(run.out).at("txid"), v.at("txid"));
}

TEST(CtlTxInspect, InvalidInputExitsTwoWithOneLine) {
  for (const std::string& bad :
       {std::string("zz"), std::string("abc"), std::string("0a0b"), std::string(""),
        std::string("{\"raw_data\":1}"), std::string("{not json")}) {
    auto run = ctl({"tx", "inspect", bad});
    EXPECT_EQ(run.code, 2) << bad;
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_EQ(ctl({"tx", "inspect"}).code, 2);
  EXPECT_EQ(ctl({"nonsense"}).code, 2);
  EXPECT_EQ(ctl({}).code, 2);
  EXPECT_EQ(ctl({"--help"}).code, 0);
}

TEST(CtlAddress, BothFormsAndErrors) {
  auto run = ctl({"address", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"});
  ASSERT_EQ(run.code, 0);
  EXPECT_EQ(json_of(run.out).at("hex"), "41a614f803b6fd780986a42c78ec9c7f77e6ded13c");
  auto hex = ctl({"address", "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"});
  EXPECT_EQ(json_of(hex.out).at("base58"), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
  auto bad = ctl({"address", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("checksum"), std::string::npos);
}

TEST(CtlKeyAddress, FromKeyFile) {
  std::string path = ::testing::TempDir() + "/ctl_test.key";
  std::ofstream(path) << "0000000000000000000000000000000000000000000000000000000000000001\n";
  chmod(path.c_str(), 0600);
  auto run = ctl({"key", "address", "--key-file", path});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(json_of(run.out).at("base58"), "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
  EXPECT_EQ(run.out.find("0000000000000001"), std::string::npos);
  chmod(path.c_str(), 0644);
  EXPECT_EQ(ctl({"key", "address", "--key-file", path}).code, 2);
  EXPECT_EQ(ctl({"key", "address"}).code, 2);
  std::remove(path.c_str());
}

TEST(CtlTxSign, SignsOnlyItsOwnAccountsTransactions) {
  std::string path = ::testing::TempDir() + "/ctl_sign_test.key";
  std::ofstream(path) << "0000000000000000000000000000000000000000000000000000000000000001\n";
  chmod(path.c_str(), 0600);
  const auto& v = vector_by_id("V3");  // a delegation owned by K1 (TMVQ…)
  auto run = ctl({"tx", "sign", "--key-file", path, str(v.at("raw_data_hex"))});
  ASSERT_EQ(run.code, 0) << run.err;
  auto signed_tx = json_of(run.out);
  EXPECT_EQ(signed_tx.at("txid"), v.at("txid"));
  EXPECT_EQ(signed_tx.at("signatures"), 1);
  EXPECT_EQ(run.out.find("0000000000000001"), std::string::npos);
  auto inspected = ctl({"tx", "inspect", std::string(signed_tx.at("signed_hex").as_string())});
  ASSERT_EQ(inspected.code, 0) << inspected.err;
  EXPECT_EQ(json_of(inspected.out).at("signatures").at(0).at("signer_base58"),
            "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");

  // Another account's transaction is refused, whatever it is.
  std::ofstream(path) << "279ff36d9bf9f305af3280034bb4187c6dd299bac6b26a3c20b999c7c0d50e6e\n";
  auto refused = ctl({"tx", "sign", "--key-file", path, str(v.at("raw_data_hex"))});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("will not sign"), std::string::npos) << refused.err;
  EXPECT_EQ(ctl({"tx", "sign", "--key-file", path, "zz"}).code, 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace relay::daemon
