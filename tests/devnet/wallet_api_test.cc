// The devnet's HTTP surface as java-tron shapes it, exercised without sockets through WalletApi.
#include "devnet/wallet_api.h"

#include <gtest/gtest.h>

#include "chain/transaction.h"
#include "chain/tx_json.h"
#include "common/json.h"
#include "signer/signer.h"

namespace relay::devnet {
namespace {

namespace json = boost::json;
using common::Address;

constexpr const char* kK1 = "0000000000000000000000000000000000000000000000000000000000000001";
const char* kK1Base58 = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC";
const char* kK1Hex = "417e5f4552091a69125d5dfcb7b8c2659029395bdf";
const char* kK3Base58 = "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1";

class WalletApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Genesis genesis;
    genesis.timestamp_ms = clock.now_ms();
    genesis.accounts.push_back({*Address::parse(kK1Base58), 1'000'000 * kSunPerTrx, 0, 0, 0});
    genesis.accounts.push_back({*Address::parse(kK3Base58), 10 * kSunPerTrx, 0, 0, 0});
    node = std::make_unique<Node>(genesis, clock, 2);
    faults = std::make_shared<FaultInjector>();
    api = std::make_unique<WalletApi>(*node, faults);
    node->mine(1);
  }

  HttpResponse call(const std::string& path, const std::string& body = "",
                    const std::string& method = "POST") {
    HttpRequest request;
    request.method = method;
    size_t q = path.find('?');
    request.path = path.substr(0, q);
    if (q != std::string::npos) request.query = path.substr(q + 1);
    request.body = body;
    return api->handle(request);
  }
  json::object post(const std::string& path, const json::object& body) {
    auto response = call(path, common::json_to_string(body));
    EXPECT_EQ(response.status, 200) << response.body;
    auto parsed = common::parse_json_object(response.body);
    EXPECT_TRUE(parsed.ok()) << response.body;
    return parsed.ok() ? *parsed : json::object{};
  }

  // Builds through the API, signs with K1 as a wallet would, returns the signed JSON.
  json::object signed_transfer(int64_t amount) {
    auto tx_json = post("/wallet/createtransaction",
                        {{"owner_address", kK1Hex}, {"to_address", kK3Base58}, {"amount", amount}});
    auto tx = chain::transaction_from_json(tx_json);
    EXPECT_TRUE(tx.ok()) << (tx.ok() ? "" : tx.error().message);
    signer::SigningPolicy policy;
    policy.allowed_contract_types = {1};
    policy.allowed_owners = {*Address::parse(kK1Base58)};
    auto s = signer::LocalSigner::create(*signer::SecretKey::from_hex(kK1), policy);
    tx_json["signature"] =
        json::array{json::string(common::to_hex(*(*s)->sign_transaction(tx->raw_bytes())))};
    return tx_json;
  }

  common::ManualClock clock = common::ManualClock::at_ms(1'800'000'000'000);
  std::unique_ptr<Node> node;
  std::shared_ptr<FaultInjector> faults;
  std::unique_ptr<WalletApi> api;
};

TEST_F(WalletApiTest, GetAccountShapes) {
  EXPECT_EQ(
      call("/wallet/getaccount", R"({"address":"41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})")
          .body,
      "{}");
  auto account = post("/wallet/getaccount", {{"address", kK1Hex}});
  EXPECT_EQ(account.at("address"), kK1Hex);
  EXPECT_EQ(account.at("balance"), 1'000'000 * kSunPerTrx);
  EXPECT_FALSE(
      account.at("owner_permission").as_object().contains("type"));  // Owner = 0 is omitted
  EXPECT_EQ(account.at("active_permission").at(0).at("id"), 2);
  EXPECT_EQ(account.at("frozenV2").as_array().size(), 3u);
  auto visible = post("/wallet/getaccount", {{"address", kK1Base58}, {"visible", true}});
  EXPECT_EQ(visible.at("address"), kK1Base58);
  // GET with query parameters, as curl users and some clients send them.
  auto get =
      call("/wallet/getaccount?address=" + std::string(kK1Base58) + "&visible=true", "", "GET");
  EXPECT_EQ(common::parse_json_object(get.body)->at("address"), kK1Base58);
  // The same on the solidity path.
  EXPECT_EQ(post("/walletsolidity/getaccount", {{"address", kK1Hex}}).at("address"), kK1Hex);
}

TEST_F(WalletApiTest, ChainParametersAndResources) {
  auto params = post("/wallet/getchainparameters", {});
  bool found = false;
  for (const auto& p : params.at("chainParameter").as_array()) {
    if (p.at("key") == "getEnergyFee") found = p.at("value") == 100;
  }
  EXPECT_TRUE(found);
  auto resource = post("/wallet/getaccountresource", {{"address", kK1Hex}});
  EXPECT_EQ(resource.at("freeNetLimit"), 600);
  EXPECT_FALSE(resource.contains("EnergyLimit"));  // zero is omitted
  EXPECT_EQ(call("/walletsolidity/getaccountresource", "{}").status, 404);
  EXPECT_EQ(call("/wallet/getcandelegatedmaxsize",
                 std::string(R"({"owner_address":")") + kK1Hex + R"(","type":1})")
                .body,
            "{}");
}

TEST_F(WalletApiTest, BuilderReturnsAConsistentUnsignedTransaction) {
  auto tx = post("/wallet/createtransaction",
                 {{"owner_address", kK1Hex}, {"to_address", kK3Base58}, {"amount", 5}});
  auto decoded =
      chain::Transaction::decode_raw(*common::from_hex(tx.at("raw_data_hex").as_string()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(tx.at("txID").as_string(), decoded->txid_hex());
  EXPECT_EQ(tx.at("raw_data").at("contract").at(0).at("type").as_string(), "TransferContract");
  // The JSON alone rebuilds the same bytes, as /wallet/broadcasttransaction will.
  EXPECT_EQ(chain::transaction_from_json(tx)->txid_hex(), decoded->txid_hex());
  auto head = post("/wallet/getnowblock", {});
  EXPECT_EQ(tx.at("raw_data").at("expiration").as_int64(),
            head.at("block_header").at("raw_data").at("timestamp").as_int64() + 60'000);
}

TEST_F(WalletApiTest, BuilderValidationErrorsAsJavaTronReportsThem) {
  auto response = post("/wallet/createtransaction",
                       {{"owner_address", kK1Hex}, {"to_address", kK1Hex}, {"amount", 5}});
  EXPECT_EQ(
      response.at("Error"),
      "class org.tron.core.exception.ContractValidateException : Cannot transfer TRX to yourself.");
  auto delegate = post("/wallet/delegateresource",
                       {{"owner_address", kK1Hex},
                        {"receiver_address", "41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                        {"balance", 1'000'000},
                        {"resource", "ENERGY"}});
  EXPECT_NE(delegate.at("Error").as_string().find("ContractValidateException"), std::string::npos);
}

TEST_F(WalletApiTest, BroadcastShapesAndConfirmation) {
  auto tx = signed_transfer(7);
  auto accepted = post("/wallet/broadcasttransaction", tx);
  EXPECT_EQ(accepted.at("result"), true);
  EXPECT_EQ(accepted.at("txid"), tx.at("txID"));
  json::object query{{"value", tx.at("txID")}};
  EXPECT_TRUE(
      post("/wallet/gettransactioninfobyid", query).empty());  // pending: not in a block yet
  node->mine(1);
  auto info = post("/wallet/gettransactioninfobyid", query);
  EXPECT_EQ(info.at("id"), tx.at("txID"));
  EXPECT_TRUE(info.contains("blockNumber"));
  EXPECT_TRUE(
      post("/walletsolidity/gettransactioninfobyid", query).empty());  // depth 2 not reached
  node->mine(2);
  EXPECT_FALSE(post("/walletsolidity/gettransactioninfobyid", query).empty());
  EXPECT_EQ(post("/wallet/gettransactionbyid", query).at("ret").at(0).at("contractRet"), "SUCCESS");

  // Again: a duplicate. broadcasttransaction reports the message as hex when visible=false.
  auto dup = post("/wallet/broadcasttransaction", tx);
  EXPECT_FALSE(dup.contains("result"));
  EXPECT_EQ(dup.at("code"), "DUP_TRANSACTION_ERROR");
  EXPECT_EQ(dup.at("message").as_string(), common::to_hex(common::as_bytes("Dup transaction.")));

  // broadcasthex: every key present, message as text.
  auto again = signed_transfer(8);
  auto decoded = chain::transaction_from_json(again);
  auto hex =
      post("/wallet/broadcasthex", {{"transaction", common::to_hex(decoded->encode_signed())}});
  EXPECT_EQ(hex.at("result"), true);
  EXPECT_EQ(hex.at("code"), "SUCCESS");
  EXPECT_TRUE(hex.at("transaction").is_string());
  auto hex_dup =
      post("/wallet/broadcasthex", {{"transaction", common::to_hex(decoded->encode_signed())}});
  EXPECT_EQ(hex_dup.at("result"), false);
  EXPECT_EQ(hex_dup.at("message"), "Dup transaction.");
}

TEST_F(WalletApiTest, DroppedBroadcastLooksAcceptedButNeverLands) {
  FaultConfig config;
  config.drop_broadcast_rate = 1;
  faults->set(config);
  auto tx = signed_transfer(9);
  EXPECT_EQ(post("/wallet/broadcasttransaction", tx).at("result"), true);
  node->mine(3);
  EXPECT_TRUE(post("/wallet/gettransactioninfobyid", {{"value", tx.at("txID")}}).empty());
  faults->clear();
  EXPECT_EQ(post("/wallet/broadcasttransaction", tx).at("result"), true);  // the retry lands
}

TEST_F(WalletApiTest, BlocksByNumberAndId) {
  node->mine(2);
  auto head = post("/wallet/getnowblock", {});
  int64_t number = head.at("block_header").at("raw_data").at("number").as_int64();
  EXPECT_EQ(post("/wallet/getblockbynum", {{"num", number}}).at("blockID"), head.at("blockID"));
  EXPECT_EQ(post("/wallet/getblock", {{"id_or_num", head.at("blockID")}}).at("blockID"),
            head.at("blockID"));
  EXPECT_EQ(post("/wallet/getblock", {{"id_or_num", std::to_string(number)}}).at("blockID"),
            head.at("blockID"));
  EXPECT_TRUE(post("/wallet/getblockbynum", {{"num", number + 1}}).empty());
  auto solid = post("/walletsolidity/getnowblock", {});
  EXPECT_EQ(solid.at("block_header").at("raw_data").at("number").as_int64(), number - 2);
}

TEST_F(WalletApiTest, AdminRoutes) {
  auto funded = post("/admin/fund", {{"address", "41bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
                                     {"amount_sun", 5'000'000}});
  EXPECT_EQ(funded.at("balance"), 5'000'000);
  EXPECT_EQ(post("/wallet/getaccount", {{"address", "41bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}})
                .at("balance"),
            5'000'000);
  EXPECT_EQ(post("/admin/usdt/mint", {{"address", kK3Base58}, {"amount", 42}}).at("usdt"), 42);
  int64_t head = post("/admin/state", {}).at("head").at("number").as_int64();
  EXPECT_EQ(post("/admin/mine", {{"blocks", 5}}).at("head"), head + 5);
  EXPECT_EQ(post("/admin/time/advance", {{"seconds", 30}}).at("head"), head + 15);
  EXPECT_EQ(post("/admin/faults", {{"error_rate", 0.5}, {"status", 429}}).at("faults"), "set");
  EXPECT_EQ(faults->config().status, 429);
  EXPECT_EQ(call("/admin/faults", "", "DELETE").status, 200);
  EXPECT_EQ(faults->config().error_rate, 0);
  EXPECT_EQ(call("/admin/fund", R"({"address":"nope","amount_sun":1})").status, 400);
  EXPECT_EQ(call("/admin/mine", R"({"blocks":0})").status, 400);
  EXPECT_EQ(call("/admin/unknown", "{}").status, 404);

  WalletApi closed(*node, faults, {.admin_enabled = false});
  HttpRequest request{"POST", "/admin/mine", "", "{}"};
  EXPECT_EQ(closed.handle(request).status, 403);
}

TEST_F(WalletApiTest, HostileRequestsGetErrorsNotCrashes) {
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string("{\"address\":5}"),
        std::string(100'000, '['), std::string("\xff\xfe")}) {
    for (const char* path :
         {"/wallet/getaccount", "/wallet/createtransaction", "/wallet/broadcasttransaction",
          "/wallet/broadcasthex", "/wallet/triggersmartcontract", "/wallet/getblock", "/admin/fund",
          "/wallet/accountpermissionupdate"}) {
      auto response = call(path, body);
      EXPECT_TRUE(common::parse_json_object(response.body).ok()) << path << " " << response.body;
    }
  }
  EXPECT_EQ(call("/nowhere", "{}").status, 404);
}

}  // namespace
}  // namespace relay::devnet
