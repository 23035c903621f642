// The devnet's HTTP surface as java-tron shapes it, exercised without sockets through WalletApi.
#include "devnet/wallet_api.h"

#include <gtest/gtest.h>

#include "chain/builders.h"
#include "chain/transaction.h"
#include "chain/tx_json.h"
#include "common/json.h"
#include "devnet/resources.h"
#include "signer/signer.h"

namespace relay::devnet {
namespace {

namespace json = boost::json;
using common::Address;

constexpr const char* kK1 = "0000000000000000000000000000000000000000000000000000000000000001";
const char* kK1Base58 = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC";
const char* kK1Hex = "417e5f4552091a69125d5dfcb7b8c2659029395bdf";
const char* kK3Base58 = "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1";
constexpr const char* kK2 = "1234567890123456789012345678901234567890123456789012345678901234";
const char* kK2Base58 = "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp";
const char* kK2Hex = "412e988a386a799f506693793c6a5af6b54dfaabfb";
const char* kK3Hex = "4194a15629b2b2bbd3a5453e6d6696b2875278633b";
// The demo customer (devnet/demo-accounts.json).
constexpr const char* kK4 = "2dc840d47b6c5f33704653740b95e6a1fdc1013f2fdd9a390a2b310ee7d249dd";
const char* kK4Hex = "416b6b888d0de1cd3635de430edc2824ab4c9bb3a6";
const char* kK4Base58 = "TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ";

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

  // Replaces the fixture's chain with one started from `genesis_json`.
  void start_from(const std::string& genesis_json) {
    auto genesis = parse_genesis(genesis_json);
    ASSERT_TRUE(genesis.ok()) << genesis.error().message;
    genesis->timestamp_ms = clock.now_ms();
    node = std::make_unique<Node>(*genesis, clock, 2);
    api = std::make_unique<WalletApi>(*node, faults);
    node->mine(1);
  }

  // Signs a transaction as a wallet holding `key` would: the JSON a builder returned gets its
  // signature, ready for broadcasttransaction; the bytes are what broadcasthex takes.
  static chain::Transaction sign(chain::Transaction tx, const char* key) {
    signer::SigningPolicy policy;
    policy.allowed_contract_types = {static_cast<int>(tx.contract_type())};
    policy.allowed_owners = {tx.owner()};
    policy.max_fee_limit_sun = INT64_MAX;
    auto s = signer::LocalSigner::create(*signer::SecretKey::from_hex(key), policy);
    tx.add_signature(*(*s)->sign_transaction(tx.raw_bytes()));
    return tx;
  }
  json::object sign_json(json::object tx_json, const char* key) {
    auto tx = chain::transaction_from_json(tx_json);
    EXPECT_TRUE(tx.ok()) << (tx.ok() ? "" : tx.error().message) << common::json_to_string(tx_json);
    if (!tx.ok()) return tx_json;
    tx_json["signature"] =
        json::array{json::string(common::to_hex(sign(*tx, key).signatures()[0]))};
    return tx_json;
  }
  json::object broadcast_hex(const json::object& built, const char* key) {
    auto tx = chain::transaction_from_json(built);
    EXPECT_TRUE(tx.ok()) << common::json_to_string(built);
    if (!tx.ok()) return {};
    return post("/wallet/broadcasthex",
                {{"transaction", common::to_hex(sign(*tx, key).encode_signed())}});
  }
  // A transaction built from the head block straight into the node, for the query tests.
  void apply(const common::Result<chain::Transaction>& tx, const char* key) {
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    auto result = node->broadcast(sign(*tx, key));
    const auto* error = std::get_if<BroadcastError>(&result);
    ASSERT_EQ(error, nullptr) << error->code << ": " << error->message;
  }
  chain::TxHeader head_header() {
    return node->read([&](const ChainState& s) {
      chain::TxHeader h;
      h.tapos = *chain::TaposRef::from_block(s.head().number, s.head().id);
      h.expiration_ms = s.head().timestamp_ms + 60'000;
      h.timestamp_ms = clock.now_ms() + (++counter_);
      return h;
    });
  }
  int counter_ = 0;

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

// ---- permission pools through the HTTP API ----

constexpr const char* kRelayerOperations =
    "0000000000000006000000000000000000000000000000000000000000000000";  // 57 + 58

TEST_F(WalletApiTest, PermissionPoolOnboardingAsAWalletAndTheRelayerSeeIt) {
  // The customer (K4) already has an extra active permission: "ops" (id 2), K3 may send TRX.
  start_from(R"({"accounts": [
    {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 1000000000},
    {"address": "TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ", "balance_sun": 1000000000,
     "frozen_energy_sun": 10000000000,
     "active_permission": [{"type": "Active", "id": 2, "permission_name": "ops", "threshold": 1,
       "operations": [1], "keys": [{"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "weight": 1}]}]}
  ]})");
  auto before = post("/wallet/getaccount", {{"address", kK4Hex}});
  ASSERT_EQ(before.at("active_permission").as_array().size(), 1u);
  const json::object ops = before.at("active_permission").at(0).as_object();
  EXPECT_EQ(
      ops, (json::object{{"type", "Active"},
                         {"id", 2},
                         {"permission_name", "ops"},
                         {"threshold", 1},
                         {"operations", "02" + std::string(62, '0')},
                         {"keys", json::array{json::object{{"address", kK3Hex}, {"weight", 1}}}}}));

  // What tronrelay's permission-tx returns: owner and the existing actives as the node printed
  // them, then the relayer (our key, weight 1, DelegateResource + UnDelegateResource only).
  json::object relayer{{"type", "Active"},
                       {"permission_name", "relayer"},
                       {"threshold", 1},
                       {"operations", kRelayerOperations},
                       {"keys", json::array{json::object{{"address", kK2Hex}, {"weight", 1}}}}};
  auto update = post("/wallet/accountpermissionupdate", {{"owner_address", kK4Hex},
                                                         {"owner", before.at("owner_permission")},
                                                         {"actives", json::array{ops, relayer}}});
  ASSERT_FALSE(update.contains("Error")) << common::json_to_string(update);
  auto sent = post("/wallet/broadcasttransaction", sign_json(update, kK4));
  EXPECT_EQ(sent.at("result"), true) << common::json_to_string(sent);
  json::object query{{"value", update.at("txID")}};
  EXPECT_TRUE(
      post("/wallet/gettransactioninfobyid", query).empty());  // applied, not yet in a block
  node->mine(1);
  auto info = post("/wallet/gettransactioninfobyid", query);
  int64_t fee = 0;
  auto params = post("/wallet/getchainparameters", {});
  for (const auto& p : params.at("chainParameter").as_array()) {
    if (p.at("key") == "getUpdateAccountPermissionFee") fee = p.at("value").as_int64();
  }
  EXPECT_EQ(fee, 100'000'000);
  const auto& receipt = info.at("receipt").as_object();
  int64_t net_fee = receipt.contains("net_fee") ? receipt.at("net_fee").as_int64() : 0;
  EXPECT_EQ(info.at("fee").as_int64(), fee + net_fee);
  EXPECT_EQ(post("/wallet/getaccount", {{"address", kK4Hex}}).at("balance").as_int64(),
            before.at("balance").as_int64() - info.at("fee").as_int64());

  // The node numbers the new permission 3 and prints it as java-tron does: operations in hex,
  // key addresses in hex, or Base58 with visible=true.
  auto after = post("/wallet/getaccount", {{"address", kK4Hex}});
  ASSERT_EQ(after.at("active_permission").as_array().size(), 2u);
  EXPECT_EQ(after.at("active_permission").at(0), ops);
  json::object stored = relayer;
  stored["id"] = 3;
  EXPECT_EQ(after.at("active_permission").at(1), stored);
  EXPECT_EQ(common::json_to_string(after.at("active_permission").at(1)),
            R"({"type":"Active","id":3,"permission_name":"relayer","threshold":1,"operations":")" +
                std::string(kRelayerOperations) + R"(","keys":[{"address":")" + kK2Hex +
                R"(","weight":1}]})");
  auto visible = post("/wallet/getaccount", {{"address", kK4Base58}, {"visible", true}});
  EXPECT_EQ(visible.at("active_permission").at(1).at("keys").at(0).at("address"), kK2Base58);
  EXPECT_EQ(visible.at("active_permission").at(1).at("operations"), kRelayerOperations);
  EXPECT_EQ(visible.at("owner_permission").at("keys").at(0).at("address"), kK4Base58);

  // The relayer builds and signs a delegation of the customer's energy under Permission_id 3.
  auto delegate = post("/wallet/delegateresource", {{"owner_address", kK4Hex},
                                                    {"receiver_address", kK1Base58},
                                                    {"balance", 100'000'000},
                                                    {"resource", "ENERGY"},
                                                    {"Permission_id", 3}});
  ASSERT_FALSE(delegate.contains("Error")) << common::json_to_string(delegate);
  EXPECT_EQ(delegate.at("raw_data").at("contract").at(0).at("Permission_id"), 3);
  auto delegated = broadcast_hex(delegate, kK2);
  EXPECT_EQ(delegated.at("result"), true) << common::json_to_string(delegated);
  EXPECT_EQ(delegated.at("code"), "SUCCESS");

  // ...and cannot move the customer's TRX with it.
  auto transfer = post(
      "/wallet/createtransaction",
      {{"owner_address", kK4Hex}, {"to_address", kK1Hex}, {"amount", 1}, {"Permission_id", 3}});
  auto denied = broadcast_hex(transfer, kK2);
  EXPECT_EQ(denied.at("result"), false);
  EXPECT_EQ(denied.at("code"), "SIGERROR");
  EXPECT_EQ(denied.at("message"), "Validate signature error: Permission denied");
  auto denied_json = post("/wallet/broadcasttransaction", sign_json(transfer, kK2));
  EXPECT_EQ(denied_json.at("code"), "SIGERROR");
  EXPECT_EQ(denied_json.at("message").as_string(),
            common::to_hex(common::as_bytes("Validate signature error: Permission denied")));

  // The delegation as the pool refresher and reconcile read it.
  node->mine(1);
  EXPECT_EQ(
      post("/wallet/getdelegatedresourcev2", {{"fromAddress", kK4Hex}, {"toAddress", kK1Hex}}),
      (json::object{
          {"delegatedResource",
           json::array{json::object{
               {"from", kK4Hex}, {"to", kK1Hex}, {"frozen_balance_for_energy", 100'000'000}}}}}));
  EXPECT_EQ(post("/wallet/getdelegatedresourceaccountindexv2", {{"value", kK4Hex}}),
            (json::object{{"account", kK4Hex}, {"toAccounts", json::array{kK1Hex}}}));
  EXPECT_EQ(post("/wallet/getcandelegatedmaxsize", {{"owner_address", kK4Hex}, {"type", 1}}),
            (json::object{{"max_size", 9'900'000'000}}));
}

TEST_F(WalletApiTest, DelegationIndexIsOrderedByLatestDelegationAndAlwaysNamesTheAccount) {
  start_from(R"({"accounts": [
    {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 1000000000,
     "frozen_energy_sun": 10000000000},
    {"address": "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp"},
    {"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1"}]})");
  // java-tron builds the index for any address: no delegations still name the account.
  EXPECT_EQ(post("/wallet/getdelegatedresourceaccountindexv2", {{"value", kK1Hex}}),
            (json::object{{"account", kK1Hex}}));
  EXPECT_EQ(post("/wallet/getdelegatedresourceaccountindexv2",
                 {{"value", "41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}),
            (json::object{{"account", "41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}));
  Address k1 = *Address::parse(kK1Base58), k2 = *Address::parse(kK2Base58),
          k3 = *Address::parse(kK3Base58);
  apply(chain::build_delegate_resource(head_header(), k1, k3, common::Sun(2'000'000),
                                       protocol::ENERGY),
        kK1);
  node->mine(1);
  apply(chain::build_delegate_resource(head_header(), k1, k2, common::Sun(2'000'000),
                                       protocol::ENERGY, {true, 0}),
        kK1);
  node->mine(1);
  auto index = [&](const char* who) {
    return post("/wallet/getdelegatedresourceaccountindexv2", {{"value", who}});
  };
  EXPECT_EQ(index(kK1Hex).at("toAccounts"), (json::array{kK3Hex, kK2Hex}));
  // A new delegation to K3 refreshes its time and moves it last.
  apply(chain::build_delegate_resource(head_header(), k1, k3, common::Sun(1'000'000),
                                       protocol::ENERGY),
        kK1);
  EXPECT_EQ(index(kK1Hex).at("toAccounts"), (json::array{kK2Hex, kK3Hex}));
  EXPECT_EQ(index(kK3Hex),
            (json::object{{"account", kK3Hex}, {"fromAccounts", json::array{kK1Hex}}}));
  auto visible =
      post("/wallet/getdelegatedresourceaccountindexv2", {{"value", kK3Base58}, {"visible", true}});
  EXPECT_EQ(visible,
            (json::object{{"account", kK3Base58}, {"fromAccounts", json::array{kK1Base58}}}));
  // Locked and unlocked delegations are two records, the unlocked one first.
  apply(chain::build_delegate_resource(head_header(), k1, k2, common::Sun(3'000'000),
                                       protocol::ENERGY),
        kK1);
  auto records = post("/wallet/getdelegatedresourcev2",
                      {{"fromAddress", kK1Base58}, {"toAddress", kK2Base58}, {"visible", true}});
  ASSERT_EQ(records.at("delegatedResource").as_array().size(), 2u);
  EXPECT_EQ(records.at("delegatedResource").at(0),
            (json::object{
                {"from", kK1Base58}, {"to", kK2Base58}, {"frozen_balance_for_energy", 3'000'000}}));
  EXPECT_EQ(records.at("delegatedResource").at(1).at("frozen_balance_for_energy"), 2'000'000);
  EXPECT_TRUE(records.at("delegatedResource").at(1).as_object().contains("expire_time_for_energy"));
  // Undelegating everything from K3 drops it from both sides of the index.
  apply(chain::build_undelegate_resource(head_header(), k1, k3, common::Sun(3'000'000),
                                         protocol::ENERGY),
        kK1);
  EXPECT_EQ(index(kK1Hex).at("toAccounts"), (json::array{kK2Hex}));
  EXPECT_EQ(index(kK3Hex), (json::object{{"account", kK3Hex}}));
  EXPECT_EQ(
      post("/wallet/getdelegatedresourcev2", {{"fromAddress", kK1Hex}, {"toAddress", kK3Hex}}),
      json::object{});
}

TEST_F(WalletApiTest, CanDelegatedMaxSizeAsJavaTronComputesIt) {
  start_from(R"({"accounts": [
    {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 1000000000,
     "frozen_energy_sun": 10000000000, "frozen_bandwidth_sun": 2000000000},
    {"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "frozen_energy_sun": 1500000}]})");
  auto max_size = [&](const char* owner, int type) {
    return post("/wallet/getcandelegatedmaxsize", {{"owner_address", owner}, {"type", type}});
  };
  EXPECT_EQ(max_size(kK1Hex, 1), (json::object{{"max_size", 10'000'000'000}}));
  // BANDWIDTH keeps back the bandwidth of the delegation itself (275 bytes plus the size of a
  // maximal locked contract), in stake at the network's ratio.
  int64_t bandwidth = max_size(kK1Hex, 0).at("max_size").as_int64();
  int64_t reserved = node->read([](const ChainState& s) {
    return static_cast<int64_t>(
        static_cast<double>(delegate_bandwidth_estimate(s, 2'000'000'000)) * kSunPerTrx *
        (static_cast<double>(s.total_net_weight) / s.params.total_net_limit()));
  });
  EXPECT_GT(reserved, 0);
  EXPECT_EQ(bandwidth, 2'000'000'000 - reserved);
  EXPECT_EQ(
      node->read([](const ChainState& s) { return delegate_bandwidth_estimate(s, 1'000'000); }),
      281);  // 275 + lock + lock_period 864000
  // GET with string parameters, the type defaulting to BANDWIDTH.
  auto get = call("/wallet/getcandelegatedmaxsize?owner_address=" + std::string(kK1Base58) +
                      "&type=1&visible=true",
                  "", "GET");
  EXPECT_EQ(get.body, R"({"max_size":10000000000})");
  EXPECT_EQ(max_size(kK1Hex, 2), json::object{});  // unknown type
  EXPECT_EQ(max_size(kK4Hex, 1), json::object{});  // no such account
  EXPECT_EQ(max_size(kK3Hex, 0), json::object{});  // nothing staked
  EXPECT_EQ(max_size(kK3Hex, 1), (json::object{{"max_size", 1'500'000}}));
  // Below 1 TRX the node answers 0, printed as {}.
  node->write([](ChainState& s) {
    s.find_account(*Address::parse(kK3Base58))->frozen_energy = 999'999;
    return 0;
  });
  EXPECT_EQ(max_size(kK3Hex, 1), json::object{});
  EXPECT_EQ(
      post("/walletsolidity/getcandelegatedmaxsize", {{"owner_address", kK1Hex}, {"type", 1}}),
      (json::object{{"max_size", 10'000'000'000}}));
}

TEST_F(WalletApiTest, WithdrawExpireUnfreezeThroughTheApi) {
  start_from(R"({"accounts": [{"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC",
    "balance_sun": 1000000000, "frozen_energy_sun": 10000000000}],
    "chain_parameters": {"getUnfreezeDelayDays": 1}})");
  EXPECT_EQ(post("/wallet/withdrawexpireunfreeze", {{"owner_address", kK1Hex}}),
            (json::object{{"Error",
                           "class org.tron.core.exception.ContractValidateException : no "
                           "unFreeze balance to withdraw "}}));
  auto unfreeze =
      post("/wallet/unfreezebalancev2",
           {{"owner_address", kK1Hex}, {"unfreeze_balance", 5'000'000}, {"resource", "ENERGY"}});
  EXPECT_EQ(broadcast_hex(unfreeze, kK1).at("result"), true);
  node->advance_time(86'400 + 3);  // a block after the day is up
  auto withdraw =
      post("/wallet/withdrawexpireunfreeze", {{"owner_address", kK1Base58}, {"visible", true}});
  ASSERT_FALSE(withdraw.contains("Error")) << common::json_to_string(withdraw);
  EXPECT_EQ(withdraw.at("raw_data").at("contract").at(0).at("type"),
            "WithdrawExpireUnfreezeContract");
  auto sent = broadcast_hex(withdraw, kK1);
  EXPECT_EQ(sent.at("result"), true) << common::json_to_string(sent);
  node->mine(1);
  auto info = post("/wallet/gettransactioninfobyid", {{"value", sent.at("txid")}});
  EXPECT_EQ(info.at("withdraw_expire_amount"), 5'000'000);
  EXPECT_FALSE(post("/wallet/getaccount", {{"address", kK1Hex}}).contains("unfrozenV2"));
}

}  // namespace
}  // namespace relay::devnet
