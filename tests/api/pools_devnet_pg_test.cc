// Pool onboarding (issue #5) end to end over real HTTP: an ApiServer wired the way
// daemon/api_wiring.cc wires it — the PostgreSQL repositories, a TronGridClient over CurlTransport,
// PoolSigners holding the relayer key, PoolService and PoolMonitor — against a tron-devnet process
// started per test and a fresh, migrated database per test. The devnet makes blocks on demand only,
// so "the permission tx is not in a block yet" is a state the test chooses, not a race.
//
// What a customer does by hand (sign the permission tx, use its own permissions, revoke ours) the
// test does as the customer's wallet would: with TronWeb (tests/api/sign_with_tronweb.js) or with
// a raw LocalSigner, and through a TronGridClient of its own straight to the devnet.
//
// Needs PostgreSQL (TRONRELAY_TEST_DATABASE_URL), the tron-devnet binary (TRON_DEVNET_BINARY) and,
// for the TronWeb case, node with TronWeb in TRONRELAY_ORACLE_DIR (default <repo>/var/oracle).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "chain/builders.h"
#include "chain/http_transport.h"
#include "chain/permission.h"
#include "chain/trongrid_client.h"
#include "chain/tx_json.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "daemon/api_wiring.h"
#include "energy/api_keys.h"
#include "energy/pool_service.h"
#include "migrations/migrator.h"
#include "scheduler/pool_monitor.h"
#include "signer/pool_signers.h"
#include "signer/secret_key.h"
#include "signer/signer.h"
#include "store/audit_log.h"
#include "store/database.h"
#include "store/idempotency_repository.h"
#include "store/ledger_repository.h"
#include "store/pool_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/devnet_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

extern char** environ;

namespace relay {
namespace {

namespace json = boost::json;
using common::Address;
using energy::Scope;
using relay::testing::TestHttpClient;
using std::chrono::milliseconds;
using Response = TestHttpClient::Response;

constexpr int64_t kTrx = common::kSunPerTrx;

// tests/api/pools_genesis.json. Public test keys; the customer's is devnet/demo-accounts.json's.
constexpr const char* kPoolKey = "0000000000000000000000000000000000000000000000000000000000000001";
constexpr const char* kPool = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC";  // own pool, 500,000 TRX staked
constexpr const char* kRelayerKey =
    "1234567890123456789012345678901234567890123456789012345678901234";
constexpr const char* kRelayer = "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp";
constexpr const char* kWallet = "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1";
constexpr const char* kCustomerKey =
    "2dc840d47b6c5f33704653740b95e6a1fdc1013f2fdd9a390a2b310ee7d249dd";
constexpr const char* kCustomer = "TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ";
// The customer's own active permission id 2 ("treasury", TransferContract only) has this key.
constexpr const char* kTreasuryKey =
    "55904b8bf200996ce15d38e26252ff2efaba37668d3f7a47a88fea1dc44e563e";
constexpr const char* kTreasury = "TYchMLTRetG66q82RVPoP6HmgQWVwVFVi3";

constexpr int64_t kCustomerBalance = 1'000 * kTrx;
constexpr int64_t kCustomerStake = 100'000 * kTrx;
constexpr int64_t kPoolStake = 500'000 * kTrx;
constexpr int64_t kPermissionFee = 100 * kTrx;  // java-tron's getUpdateAccountPermissionFee
constexpr int32_t kRelayerPermissionId = 4;     // after the customer's own ids 2 and 3

constexpr int kAccountPermissionUpdate = 46;
constexpr int kTransfer = 1;
constexpr int kDelegate = 57;
constexpr int kUnDelegate = 58;

Address addr(const char* text) { return *Address::parse(text); }

// An address no account was ever created for.
std::string nobody() { return Address::from_hex("41" + std::string(40, '5'))->to_base58(); }

std::string oracle_dir() {
  const char* dir = std::getenv("TRONRELAY_ORACLE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : std::string(PROJECT_SOURCE_DIR) + "/var/oracle";
}

// One tron-devnet child on tests/api/pools_genesis.json, blocks on demand; `port` 0 lets the devnet
// choose, a fixed one restarts "the same node".
class Devnet : public relay::testing::DevnetProcess {
 public:
  explicit Devnet(uint16_t port = 0)
      : DevnetProcess({.binary = TRON_DEVNET_BINARY,
                       .genesis = std::string(PROJECT_SOURCE_DIR) + "/tests/api/pools_genesis.json",
                       .block_interval_ms = 0,
                       .solidity_depth = 1,
                       .port = port}) {}
};

chain::TronGridOptions chain_options(const std::string& url) {
  chain::TronGridOptions options;
  options.endpoints = {{url, ""}};
  options.rps = 1'000;
  options.burst = 100;
  options.timeout = milliseconds(3'000);
  options.max_attempts = 4;
  options.backoff_base = milliseconds(5);
  options.backoff_max = milliseconds(50);
  options.breaker_threshold = 3;
  options.breaker_cooldown = milliseconds(300);
  return options;
}

// energy's ports on PostgreSQL, the pool service, its monitor, the health probes and the server,
// built as daemon::ApiWiring builds them (with test options: port 0, no rate limit in the way).
struct Wiring {
  Wiring(store::Database& db, chain::TronGridClient& node, chain::HttpTransport& transport,
         signer::PoolSigners& signers, const common::Clock& clock, const common::Clock& probe_clock,
         const daemon::ChainConfig& chain, common::Logger& log)
      : tenants(db),
        keys(db),
        ledger(db),
        idempotency(db),
        audit(db),
        key_service(keys, clock),
        pools(db),
        capacity(db),
        pool_service(pools, capacity, node, signers, audit, clock),
        monitor(pool_service, log, scheduler::PoolMonitorOptions{.interval = milliseconds(60'000)}),
        database_probe(db, probe_clock),
        chain_probe(chain, transport, probe_clock) {
    api::ApiOptions options;
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    options.http.threads = 4;
    options.rate_limit.requests_per_second = 100'000;
    options.rate_limit.burst = 100'000;
    api::ApiServices services{.tenants = tenants,
                              .keys = keys,
                              .ledger = ledger,
                              .idempotency = idempotency,
                              .audit = audit,
                              .key_service = key_service,
                              .clock = clock,
                              .database = database_probe,
                              .chain = chain_probe,
                              .pools = &pool_service,
                              .pool_store = &pools};
    server = std::make_unique<api::ApiServer>(options, services, log);
  }

  store::PgTenantRepository tenants;
  store::PgApiKeyRepository keys;
  store::PgLedgerRepository ledger;
  store::PgIdempotencyRepository idempotency;
  store::PgAuditLog audit;
  energy::ApiKeyService key_service;
  store::PgPoolRepository pools;
  store::PgPoolCapacityRepository capacity;
  energy::PoolService pool_service;
  scheduler::PoolMonitor monitor;
  daemon::DatabaseProbe database_probe;
  daemon::ChainProbe chain_probe;
  std::unique_ptr<api::ApiServer> server;
};

// A LocalSigner that signs whatever `owner` sends of `types`: what a wallet holding `key_hex` would
// sign (tests may sign; in the product only signer/ does, under PoolSigners' rules).
std::unique_ptr<signer::LocalSigner> wallet_signer(const char* key_hex, const char* owner,
                                                   std::set<int> types) {
  signer::SigningPolicy policy;
  policy.allowed_contract_types = std::move(types);
  policy.allowed_owners = {addr(owner)};
  policy.max_fee_limit_sun = 1'000 * kTrx;
  auto created = signer::LocalSigner::create(*signer::SecretKey::from_hex(key_hex), policy);
  EXPECT_TRUE(created.ok()) << created.error().message;
  return created.ok() ? std::move(*created) : nullptr;
}

class PoolsDevnetPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* pg = relay::testing::PgServer::instance();
    ASSERT_NE(pg, nullptr) << relay::testing::PgServer::missing_message();
    // A database of this test's own: pools are unique per address across tenants, and every test
    // onboards the same genesis accounts.
    ASSERT_NO_THROW(db_url_ = pg->create_database());
    {
      pqxx::connection conn(db_url_);
      auto applied = migrations::Migrator().apply(conn);
      ASSERT_TRUE(applied.ok()) << applied.error().message;
    }
    auto db = store::Database::open(db_url_, 8);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    ASSERT_NO_THROW(devnet_ = std::make_unique<Devnet>());
    auto relayer = signer::PoolSigners::create(*signer::SecretKey::from_hex(kRelayerKey));
    ASSERT_TRUE(relayer.ok()) << relayer.error().message;
    signers_ = std::move(*relayer);
    ASSERT_EQ(signers_->relayer_address(), addr(kRelayer));
    // The customer's wallet talks to the same node through a client of its own.
    wallet_ = std::make_unique<chain::TronGridClient>(wallet_transport_, clock_,
                                                      faulty_chain_options(devnet_->url()));
  }

  void TearDown() override {
    http_.reset();
    if (wiring_) wiring_->server->stop();
    wiring_.reset();
    node_.reset();
    wallet_.reset();
    devnet_.reset();
    db_.reset();
  }

  // Enough attempts to ride out 30 % injected failures (about 6e-6 per call after ten), and a
  // breaker that such a run does not trip.
  static chain::TronGridOptions faulty_chain_options(const std::string& url) {
    auto options = chain_options(url);
    options.max_attempts = 10;
    options.breaker_threshold = 12;
    return options;
  }

  // Builds and starts the daemon side against the devnet, and the tenants and keys.
  void start(chain::TronGridOptions options) {
    node_ = std::make_unique<chain::TronGridClient>(transport_, clock_, std::move(options));
    daemon::ChainConfig chain;
    chain.endpoints = {devnet_->url()};
    chain.timeout_ms = 1'000;
    wiring_ = std::make_unique<Wiring>(*db_, *node_, transport_, *signers_, clock_, probe_clock_,
                                       chain, logger_);
    auto port = wiring_->server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    http_ = std::make_unique<TestHttpClient>(*port);

    tenant_a_ = new_tenant("Staking Customer Co");
    tenant_b_ = new_tenant("Other Tenant Ltd");
    pools_a_ = issue(tenant_a_, {Scope::kPools});
    pools_b_ = issue(tenant_b_, {Scope::kPools});
    operator_ = issue(tenant_a_, {Scope::kOperator});
  }
  void start() { start(chain_options(devnet_->url())); }

  int64_t new_tenant(const std::string& name) {
    auto tenant = wiring_->tenants.create(name);
    EXPECT_TRUE(tenant.ok()) << tenant.error().message;
    return tenant.ok() ? tenant->id : 0;
  }
  std::string issue(int64_t tenant_id, std::set<Scope> scopes) {
    auto issued = wiring_->key_service.issue(tenant_id, scopes, std::nullopt);
    EXPECT_TRUE(issued.ok()) << issued.error().message;
    return issued.ok() ? issued->secret : "";
  }

  // ---- HTTP

  static TestHttpClient::Headers bearer(const std::string& secret) {
    return {{"Authorization", "Bearer " + secret}};
  }
  Response post(const std::string& target, const std::string& body, const std::string& key) {
    return http_->post(target, body, bearer(key));
  }
  Response post(const std::string& target, const json::object& body, const std::string& key) {
    return post(target, common::json_to_string(body), key);
  }
  Response get(const std::string& target, const std::string& key) {
    return http_->get(target, bearer(key));
  }
  static std::string pool_path(int64_t id, const std::string& action = "") {
    return "/v1/pools/" + std::to_string(id) + (action.empty() ? "" : "/" + action);
  }

  static json::object body_of(const Response& response) {
    auto parsed = common::parse_json_object(response.body());
    EXPECT_TRUE(parsed.ok()) << response.body();
    return parsed.ok() ? *parsed : json::object{};
  }

  // A success with `status`; its JSON body.
  static json::object expect_ok(const Response& response, int status = 200,
                                const std::string& context = "") {
    EXPECT_EQ(response.result_int(), status) << context << ": " << response.body();
    return body_of(response);
  }

  // DESIGN.md §5's error shape, with the 422 reason when one is given.
  static void expect_error(const Response& response, int status, const std::string& code,
                           const std::string& reason = "", const std::string& context = "") {
    SCOPED_TRACE(context);
    EXPECT_EQ(response.result_int(), status) << response.body();
    auto body = body_of(response);
    const json::value* error = body.if_contains("error");
    ASSERT_TRUE(error != nullptr && error->is_object()) << response.body();
    const json::object& fields = error->as_object();
    EXPECT_EQ(fields.at("code"), code.c_str()) << response.body();
    ASSERT_TRUE(fields.at("message").is_string());
    EXPECT_FALSE(fields.at("message").as_string().empty());
    EXPECT_TRUE(std::string(fields.at("request_id").as_string()).starts_with("req_"));
    if (reason.empty()) {
      EXPECT_FALSE(fields.contains("reason")) << response.body();
    } else {
      ASSERT_TRUE(fields.contains("reason")) << response.body();
      EXPECT_EQ(fields.at("reason"), reason.c_str()) << response.body();
    }
  }

  // The chain could not be asked: 502 upstream_failed or 503 unavailable, never a crash or a 500.
  static void expect_chain_error(const Response& response, const std::string& context) {
    SCOPED_TRACE(context);
    int status = response.result_int();
    ASSERT_TRUE(status == 502 || status == 503) << status << " " << response.body();
    expect_error(response, status, status == 502 ? "upstream_failed" : "unavailable");
  }

  static int64_t int_at(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    EXPECT_TRUE(value != nullptr && value->is_int64()) << key << " in " << json::serialize(object);
    return value != nullptr && value->is_int64() ? value->as_int64() : -1;
  }
  static std::string string_at(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    EXPECT_TRUE(value != nullptr && value->is_string()) << key << " in " << json::serialize(object);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
  }

  // ---- The database, read with SQL rather than through the code under test.

  int64_t number(const std::string& sql) {
    pqxx::connection conn(db_url_);
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? 0 : rows[0][0].as<int64_t>();
  }
  int64_t pool_rows() { return number("SELECT count(*) FROM pools"); }
  int64_t audit_rows() { return number("SELECT count(*) FROM audit_log"); }
  std::string pool_column(int64_t id, const std::string& column) {
    pqxx::connection conn(db_url_);
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec("SELECT " + column + "::text FROM pools WHERE id = " + std::to_string(id));
    return rows.empty() || rows[0][0].is_null() ? "NULL" : rows[0][0].as<std::string>();
  }

  // ---- The chain, as the customer's wallet sees it.

  chain::AccountInfo account(const char* address) {
    auto read = wallet_->account(addr(address));
    EXPECT_TRUE(read.ok()) << read.error().message;
    EXPECT_TRUE(read.ok() && read->has_value()) << address;
    return read.ok() && read->has_value() ? **read : chain::AccountInfo{};
  }

  chain::TxHeader header(int32_t permission_id = 0) {
    auto head = wallet_->now_block();
    EXPECT_TRUE(head.ok()) << head.error().message;
    chain::TxHeader header;
    if (!head.ok()) return header;
    header.tapos = *chain::tapos_of(*head);
    header.timestamp_ms = head->timestamp_ms;
    header.expiration_ms = head->timestamp_ms + 60'000;
    header.permission_id = permission_id;
    return header;
  }

  // Broadcasts straight to the devnet (not through tronrelay), then mines the block that includes
  // it and checks that it executed.
  chain::BroadcastResult send(chain::Transaction tx, common::Bytes signature,
                              bool expect_accepted = true) {
    tx.add_signature(std::move(signature));
    auto sent = wallet_->broadcast(tx.encode_signed());
    EXPECT_TRUE(sent.ok()) << sent.error().message;
    if (!sent.ok()) return {};
    EXPECT_EQ(sent->accepted, expect_accepted) << sent->code << ": " << sent->message;
    if (!sent->accepted) return *sent;
    devnet_->mine();
    auto info = wallet_->transaction_info(tx.txid());
    EXPECT_TRUE(info.ok() && info->has_value()) << tx.txid_hex() << " is not in a block";
    if (info.ok() && info->has_value()) {
      EXPECT_FALSE((*info)->failed) << (*info)->message;
    }
    return *sent;
  }

  // ---- The onboarding, as the operator runs it over the API.

  // The body for POST /broadcast: the permission tx (the permission-tx response) signed by the
  // customer.
  using CustomerSignature = std::function<json::object(const json::object& permission_tx)>;

  // validate-address → create → permission-tx → sign → broadcast → confirm (too early, then after
  // the block) → view. Returns the active pool's id.
  int64_t onboard(const CustomerSignature& sign_as_customer) {
    // What the operator learns before onboarding.
    auto report = expect_ok(
        post("/v1/pools/validate-address", json::object{{"address", kCustomer}}, pools_a_));
    EXPECT_EQ(report.at("exists"), true);
    EXPECT_EQ(report.at("is_contract"), false);
    EXPECT_EQ(int_at(report, "staked_energy_sun"), kCustomerStake);
    EXPECT_EQ(int_at(report, "delegatable_sun"), kCustomerStake);
    EXPECT_EQ(int_at(report, "active_count"), 2);
    EXPECT_TRUE(report.at("compatible_permission_id").is_null());
    EXPECT_EQ(report.at("can_append_permission"), true);
    EXPECT_EQ(int_at(report, "permission_fee_sun"), kPermissionFee);
    EXPECT_EQ(report.at("can_pay_fee"), true);
    EXPECT_EQ(report.at("registered"), false);
    const json::array& actives = report.at("active_permissions").as_array();
    EXPECT_EQ(actives.size(), 2u);
    if (actives.size() == 2) {
      EXPECT_EQ(actives[0].at("id"), 2);
      EXPECT_EQ(actives[0].at("name"), "treasury");
      EXPECT_EQ(actives[0].at("operations"), (json::array{kTransfer}));
      EXPECT_EQ(actives[1].at("id"), 3);
    }

    auto created = expect_ok(
        post("/v1/pools",
             json::object{
                 {"address", kCustomer}, {"kind", "permission"}, {"name", "customer stake"}},
             pools_a_),
        201, "create");
    const int64_t id = int_at(created, "id");
    EXPECT_EQ(created.at("status"), "pending");
    EXPECT_EQ(created.at("kind"), "permission");
    EXPECT_TRUE(created.at("permission_id").is_null());
    if (created.at("snapshot").is_object()) {
      EXPECT_EQ(int_at(created.at("snapshot").as_object(), "staked_energy_sun"), kCustomerStake);
    } else {
      ADD_FAILURE() << "no first snapshot: " << json::serialize(created);
    }

    auto generated =
        expect_ok(post(pool_path(id, "permission-tx"), "", pools_a_), 200, "permission-tx");
    EXPECT_EQ(int_at(generated, "permission_id"), kRelayerPermissionId);
    EXPECT_EQ(int_at(generated, "fee_sun"), kPermissionFee);
    expect_permission_tx_keeps_the_customers_permissions(generated);

    json::object signed_body = sign_as_customer(generated);
    auto sent =
        expect_ok(post(pool_path(id, "broadcast"), signed_body, pools_a_), 200, "broadcast");
    EXPECT_EQ(sent.at("accepted"), true);
    EXPECT_EQ(sent.at("duplicate"), false);
    EXPECT_EQ(sent.at("txid"), generated.at("txid"));

    // Not in a block yet: the devnet mines only when told to.
    expect_error(post(pool_path(id, "confirm"), "", pools_a_), 422, "verification_failed",
                 "not_confirmed", "confirm before the block");
    EXPECT_EQ(pool_column(id, "status"), "pending");
    devnet_->mine();

    auto confirmed = expect_ok(post(pool_path(id, "confirm"), "", pools_a_), 200, "confirm");
    EXPECT_EQ(confirmed.at("status"), "active");
    EXPECT_EQ(int_at(confirmed, "permission_id"), kRelayerPermissionId);
    EXPECT_TRUE(confirmed.at("status_reason").is_null());
    EXPECT_EQ(signers_->admitted_permission_id(addr(kCustomer)), kRelayerPermissionId);

    auto view = expect_ok(get(pool_path(id), pools_a_), 200, "view");
    EXPECT_EQ(view.at("status"), "active");
    if (view.at("live").is_object()) {
      const json::object& live = view.at("live").as_object();
      EXPECT_EQ(int_at(live, "staked_energy_sun"), kCustomerStake);
      EXPECT_EQ(int_at(live, "delegatable_sun"), kCustomerStake);
      EXPECT_EQ(int_at(live, "delegated_out_sun"), 0);
      EXPECT_GT(int_at(live, "energy_limit"), 0);
      EXPECT_EQ(int_at(live, "energy_available"), int_at(live, "energy_limit"));
      // The fee was burned from the customer's TRX (and some for bandwidth, maybe).
      EXPECT_LE(int_at(live, "balance_sun"), kCustomerBalance - kPermissionFee);
      EXPECT_GT(int_at(live, "balance_sun"), kCustomerBalance - kPermissionFee - 10 * kTrx);
    } else {
      ADD_FAILURE() << "no live status: " << json::serialize(view);
    }
    const json::object& capacity = view.at("capacity").as_object();
    EXPECT_EQ(int_at(capacity, "delegatable_sun"), kCustomerStake);
    EXPECT_EQ(int_at(capacity, "reserved_sun"), 0);
    EXPECT_EQ(int_at(capacity, "free_sun"), kCustomerStake);
    return id;
  }

  // The generated AccountPermissionUpdate re-sends the owner and both of the customer's actives
  // byte for byte and appends "relayer" (threshold 1, our key weight 1, 57 + 58 only).
  void expect_permission_tx_keeps_the_customers_permissions(const json::object& generated) {
    auto raw = common::from_hex(string_at(generated, "raw_data_hex"));
    ASSERT_TRUE(raw.ok());
    auto tx = chain::Transaction::decode_raw(*raw);
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    EXPECT_EQ(tx->txid_hex(), string_at(generated, "txid"));
    EXPECT_EQ(tx->contract_type(), kAccountPermissionUpdate);
    EXPECT_EQ(tx->owner(), addr(kCustomer));
    EXPECT_EQ(generated.at("transaction").at("txID"), generated.at("txid"));
    EXPECT_EQ(generated.at("transaction").at("raw_data_hex"), generated.at("raw_data_hex"));
    const auto* update = tx->parameter_as<protocol::AccountPermissionUpdateContract>();
    ASSERT_NE(update, nullptr);
    chain::AccountInfo before = account(kCustomer);
    EXPECT_EQ(update->owner().SerializeAsString(), before.permissions.owner.SerializeAsString());
    ASSERT_EQ(update->actives_size(), 3);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(update->actives(i).SerializeAsString(),
                before.permissions.actives[static_cast<size_t>(i)].SerializeAsString())
          << "active " << i + 2;
    }
    const protocol::Permission& relayer = update->actives(2);
    EXPECT_EQ(relayer.permission_name(), "relayer");
    EXPECT_EQ(relayer.threshold(), 1);
    ASSERT_EQ(relayer.keys_size(), 1);
    EXPECT_EQ(relayer.keys(0).address(), addr(kRelayer).proto_bytes());
    EXPECT_EQ(relayer.keys(0).weight(), 1);
    EXPECT_EQ(chain::operations_contract_types(common::as_bytes(relayer.operations())),
              (std::vector<int>{kDelegate, kUnDelegate}));
  }

  // The customer signs with our own signer and posts the whole signed Transaction as hex.
  json::object signed_by_customer_hex(const json::object& generated) {
    auto raw = common::from_hex(string_at(generated, "raw_data_hex"));
    EXPECT_TRUE(raw.ok());
    auto tx = chain::Transaction::decode_raw(*raw);
    EXPECT_TRUE(tx.ok());
    auto signer = wallet_signer(kCustomerKey, kCustomer, {kAccountPermissionUpdate});
    auto signature = signer->sign_transaction(tx->raw_bytes());
    EXPECT_TRUE(signature.ok()) << signature.error().message;
    tx->add_signature(*signature);
    return json::object{{"transaction", common::to_hex(tx->encode_signed())}};
  }

  // After onboarding: the customer's own permission still works, our key delegates under the
  // stored id, and it can do nothing else with the account.
  void expect_grant_is_exactly_what_was_asked(int64_t pool_id) {
    chain::AccountInfo customer = account(kCustomer);
    ASSERT_EQ(customer.permissions.actives.size(), 3u);
    EXPECT_EQ(customer.permissions.actives[0].permission_name(), "treasury");
    EXPECT_EQ(customer.permissions.actives[1].permission_name(), "staking");
    EXPECT_EQ(customer.permissions.actives[2].permission_name(), "relayer");
    EXPECT_EQ(customer.permissions.actives[2].id(), kRelayerPermissionId);

    // 1. The treasury key still sends TRX from the account under Permission_id 2.
    const int64_t wallet_before = account(kWallet).balance_sun;
    auto transfer =
        chain::build_transfer(header(2), addr(kCustomer), addr(kWallet), common::Sun(3 * kTrx));
    ASSERT_TRUE(transfer.ok()) << transfer.error().message;
    auto by_treasury = wallet_signer(kTreasuryKey, kCustomer, {kTransfer});
    ASSERT_EQ(by_treasury->address(), addr(kTreasury));
    send(*transfer, *by_treasury->sign_transaction(transfer->raw_bytes()));
    EXPECT_EQ(account(kWallet).balance_sun, wallet_before + 3 * kTrx);

    // 2. The relayer key, through PoolSigners, delegates the customer's energy under id 4.
    const int64_t lent = 1'000 * kTrx;
    auto delegate =
        chain::build_delegate_resource(header(kRelayerPermissionId), addr(kCustomer), addr(kWallet),
                                       common::Sun(lent), protocol::ENERGY);
    ASSERT_TRUE(delegate.ok()) << delegate.error().message;
    auto by_relayer = signers_->sign(delegate->raw_bytes());
    ASSERT_TRUE(by_relayer.ok()) << by_relayer.error().message;
    send(*delegate, *by_relayer);
    auto delegations = wallet_->delegated_resources(addr(kCustomer), addr(kWallet));
    ASSERT_TRUE(delegations.ok()) << delegations.error().message;
    ASSERT_EQ(delegations->size(), 1u);
    EXPECT_EQ((*delegations)[0].energy_sun, lent);
    auto view = expect_ok(get(pool_path(pool_id), pools_a_), 200, "view after the delegation");
    if (view.at("live").is_object()) {
      EXPECT_EQ(int_at(view.at("live").as_object(), "delegated_out_sun"), lent);
      EXPECT_EQ(int_at(view.at("live").as_object(), "delegatable_sun"), kCustomerStake - lent);
    }
    // PoolSigners signs under the stored id only.
    auto other_id = chain::build_delegate_resource(header(3), addr(kCustomer), addr(kWallet),
                                                   common::Sun(lent), protocol::ENERGY);
    ASSERT_TRUE(other_id.ok());
    auto refused_id = signers_->sign(other_id->raw_bytes());
    ASSERT_FALSE(refused_id.ok());
    EXPECT_EQ(refused_id.error().code, "policy_refused");

    // 3. A TransferContract under the relayer permission: PoolSigners will not sign it, and a key
    // that would is refused by the chain.
    auto steal = chain::build_transfer(header(kRelayerPermissionId), addr(kCustomer),
                                       addr(kRelayer), common::Sun(10 * kTrx));
    ASSERT_TRUE(steal.ok());
    auto refused = signers_->sign(steal->raw_bytes());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "policy_refused") << refused.error().message;
    auto raw_relayer = wallet_signer(kRelayerKey, kCustomer, {kTransfer});
    auto denied = send(*steal, *raw_relayer->sign_transaction(steal->raw_bytes()), false);
    EXPECT_FALSE(denied.accepted);
    EXPECT_EQ(denied.code, "SIGERROR") << denied.message;
    EXPECT_NE(denied.message.find("Permission denied"), std::string::npos) << denied.message;
  }

  std::unique_ptr<Devnet> devnet_;
  std::string db_url_;
  std::unique_ptr<store::Database> db_;
  common::SystemClock clock_;
  // Only the health probes' cache reads this clock, so a test can age their last answer.
  common::ManualClock probe_clock_ = common::ManualClock::at_ms(1'700'000'000'000);
  std::ostringstream log_;
  common::Logger logger_{log_, common::LogLevel::kInfo};
  chain::CurlTransport transport_;
  std::unique_ptr<chain::TronGridClient> node_;
  chain::CurlTransport wallet_transport_;
  std::unique_ptr<chain::TronGridClient> wallet_;
  std::unique_ptr<signer::PoolSigners> signers_;
  std::unique_ptr<Wiring> wiring_;
  std::unique_ptr<TestHttpClient> http_;
  int64_t tenant_a_ = 0;
  int64_t tenant_b_ = 0;
  std::string pools_a_, pools_b_, operator_;
};

// ---- 1. Full onboarding

// TronWeb's trx.sign over the permission-tx response's JSON, run by node in a subprocess; the
// signed JSON goes back to /broadcast as TronWeb hands it over.
json::object signed_by_tronweb(const json::object& generated) {
  const std::string dir = oracle_dir();
  EXPECT_TRUE(std::filesystem::exists(dir + "/node_modules/tronweb"))
      << "TronWeb missing in " << dir << ": run tests/oracle/install.sh " << dir;
  json::object input{{"private_key", kCustomerKey}, {"transaction", generated.at("transaction")}};
  char path[] = "/tmp/pools_tronweb_XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return {};
  close(fd);
  std::ofstream(path) << common::json_to_string(input);
  std::string command = "node '" + std::string(PROJECT_SOURCE_DIR) +
                        "/tests/api/sign_with_tronweb.js' --modules '" + dir + "' < '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  std::string output;
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << "TronWeb did not sign: " << command;
  }
  std::remove(path);
  auto signed_tx = common::parse_json_object(output);
  EXPECT_TRUE(signed_tx.ok()) << output;
  if (!signed_tx.ok()) return {};
  EXPECT_EQ(signed_tx->at("txID"), generated.at("txid"));
  EXPECT_EQ(signed_tx->at("signature").as_array().size(), 1u);
  return json::object{{"transaction", *signed_tx}};
}

TEST_F(PoolsDevnetPgTest, OnboardsAPermissionPoolSignedWithTronWeb) {
  ASSERT_NO_FATAL_FAILURE(start());
  int64_t id = onboard(signed_by_tronweb);
  ASSERT_FALSE(HasFailure());
  expect_grant_is_exactly_what_was_asked(id);
}

TEST_F(PoolsDevnetPgTest, OnboardsAPermissionPoolSignedWithOurSigner) {
  ASSERT_NO_FATAL_FAILURE(start());
  int64_t id = onboard([this](const json::object& g) { return signed_by_customer_hex(g); });
  ASSERT_FALSE(HasFailure());
  expect_grant_is_exactly_what_was_asked(id);

  // Listed for its tenant only; the onboarding left its trail in the audit log.
  auto listed = expect_ok(get("/v1/pools", pools_a_));
  ASSERT_EQ(listed.at("pools").as_array().size(), 1u);
  EXPECT_EQ(listed.at("pools").as_array()[0].at("id"), id);
  EXPECT_TRUE(expect_ok(get("/v1/pools", pools_b_)).at("pools").as_array().empty());
  EXPECT_EQ(number("SELECT count(*) FROM audit_log WHERE action IN ('pool.create', "
                   "'pool.permission_tx', 'pool.permission_tx.broadcast', 'pool.confirm')"),
            4);
  // An active pool needs no permission tx any more.
  expect_error(post(pool_path(id, "permission-tx"), "", pools_a_), 409, "conflict");
}

// ---- 2. Revocation

TEST_F(PoolsDevnetPgTest, TheMonitorSuspendsAPoolWhoseCustomerRevokedThePermission) {
  ASSERT_NO_FATAL_FAILURE(start());
  int64_t id = onboard([this](const json::object& g) { return signed_by_customer_hex(g); });
  ASSERT_FALSE(HasFailure());
  auto attention = expect_ok(get("/v1/admin/attention", operator_));
  EXPECT_TRUE(attention.at("suspended_pools").as_array().empty());
  auto quiet = wiring_->monitor.run_once();
  EXPECT_EQ(quiet.refreshed, 1);
  EXPECT_EQ(quiet.suspended, 0);

  // The customer puts its own two actives back, without ours.
  chain::AccountInfo customer = account(kCustomer);
  ASSERT_EQ(customer.permissions.actives.size(), 3u);
  std::vector<protocol::Permission> without_relayer(customer.permissions.actives.begin(),
                                                    customer.permissions.actives.begin() + 2);
  auto update = chain::build_account_permission_update(
      header(), addr(kCustomer), customer.permissions.owner, std::nullopt, without_relayer);
  ASSERT_TRUE(update.ok()) << update.error().message;
  auto owner = wallet_signer(kCustomerKey, kCustomer, {kAccountPermissionUpdate});
  send(*update, *owner->sign_transaction(update->raw_bytes()));
  ASSERT_EQ(account(kCustomer).permissions.actives.size(), 2u);

  // One pass of the monitor.
  auto pass = wiring_->monitor.run_once();
  EXPECT_EQ(pass.refreshed, 1);
  EXPECT_EQ(pass.failed, 0);
  EXPECT_EQ(pass.suspended, 1);
  EXPECT_EQ(wiring_->monitor.counters().suspensions.load(), 1u);

  auto view = expect_ok(get(pool_path(id), pools_a_));
  EXPECT_EQ(view.at("status"), "suspended");
  std::string reason = string_at(view, "status_reason");
  EXPECT_TRUE(reason.starts_with("permission_revoked")) << reason;
  attention = expect_ok(get("/v1/admin/attention", operator_));
  const json::array& suspended = attention.at("suspended_pools").as_array();
  ASSERT_EQ(suspended.size(), 1u);
  EXPECT_EQ(suspended[0].at("id"), id);
  EXPECT_EQ(suspended[0].at("tenant_id"), tenant_a_);
  EXPECT_TRUE(
      std::string(suspended[0].at("status_reason").as_string()).starts_with("permission_revoked"));
  // The attention list is the operator's, not a pools key's.
  expect_error(get("/v1/admin/attention", pools_a_), 403, "forbidden");
  EXPECT_EQ(number("SELECT count(*) FROM audit_log WHERE action = 'pool.suspend'"), 1);

  // Nothing more is signed for the pool.
  EXPECT_FALSE(signers_->is_admitted(addr(kCustomer)));
  auto delegate =
      chain::build_delegate_resource(header(kRelayerPermissionId), addr(kCustomer), addr(kWallet),
                                     common::Sun(1'000 * kTrx), protocol::ENERGY);
  ASSERT_TRUE(delegate.ok());
  auto refused = signers_->sign(delegate->raw_bytes());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "policy_refused");

  // A second pass keeps it suspended (the operator must confirm again) and finds nothing new.
  auto again = wiring_->monitor.run_once();
  EXPECT_EQ(again.suspended, 0);
  EXPECT_EQ(again.reactivated, 0);
  EXPECT_EQ(pool_column(id, "status"), "suspended");
  expect_error(post(pool_path(id, "confirm"), "", pools_a_), 422, "verification_failed",
               "no_compatible_permission");
}

// ---- 3. Bad input

TEST_F(PoolsDevnetPgTest, BadInputGetsClearErrorsAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int64_t pools_before = pool_rows();
  const int64_t audit_before = audit_rows();

  // Refused before anything is looked up.
  expect_error(post("/v1/pools", json::object{{"address", "TNotAnAddress"}, {"kind", "permission"}},
                    pools_a_),
               400, "invalid_request", "", "invalid address");
  expect_error(post("/v1/pools/validate-address", json::object{{"address", "41zz"}}, pools_a_), 400,
               "invalid_request", "", "invalid hex address");
  expect_error(post("/v1/pools", std::string(R"({"address": ")") + kCustomer, pools_a_), 400,
               "invalid_request", "", "malformed JSON");
  expect_error(post("/v1/pools", "[1, 2]", pools_a_), 400, "invalid_request", "", "not an object");
  expect_error(post("/v1/pools",
                    json::object{{"address", kCustomer}, {"kind", "permission"}, {"colour", "red"}},
                    pools_a_),
               400, "invalid_request", "", "unknown field");
  expect_error(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "borrowed"}}, pools_a_), 400,
      "invalid_request", "", "unknown kind");
  expect_error(post("/v1/pools", json::object{{"kind", "permission"}}, pools_a_), 400,
               "invalid_request", "", "no address");
  expect_error(
      post("/v1/pools",
           json::object{{"address", kCustomer}, {"kind", "permission"}, {"min_reserve_sun", -1}},
           pools_a_),
      400, "invalid_request", "", "negative reserve");
  expect_error(post("/v1/pools/validate-address",
                    json::object{{"address", kCustomer}, {"extra", true}}, pools_a_),
               400, "invalid_request", "", "unknown field in validate-address");

  // A well-formed address that is no account.
  expect_error(
      post("/v1/pools", json::object{{"address", nobody()}, {"kind", "permission"}}, pools_a_), 422,
      "verification_failed", "account_not_found", "account not on chain");
  auto report =
      expect_ok(post("/v1/pools/validate-address", json::object{{"address", nobody()}}, pools_a_));
  EXPECT_EQ(report.at("exists"), false);
  EXPECT_TRUE(report.at("owner_permission").is_null());

  // Pools that do not exist, or are not there for this caller.
  expect_error(get("/v1/pools/999999", pools_a_), 404, "not_found");
  expect_error(get("/v1/pools/abc", pools_a_), 404, "not_found");
  expect_error(post("/v1/pools/999999/permission-tx", "", pools_a_), 404, "not_found");
  EXPECT_EQ(pool_rows(), pools_before);
  EXPECT_EQ(audit_rows(), audit_before);

  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  EXPECT_EQ(pool_rows(), pools_before + 1);
  // The same account twice, by anyone.
  expect_error(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_b_),
      409, "conflict", "", "registered twice");
  EXPECT_EQ(pool_rows(), pools_before + 1);

  auto registered =
      expect_ok(post("/v1/pools/validate-address", json::object{{"address", kCustomer}}, pools_b_));
  EXPECT_EQ(registered.at("registered"), true);

  // Another tenant's pool does not exist for tenant B, whatever it asks.
  expect_error(get(pool_path(id), pools_b_), 404, "not_found", "", "view");
  expect_error(post(pool_path(id, "permission-tx"), "", pools_b_), 404, "not_found");
  expect_error(post(pool_path(id, "confirm"), "", pools_b_), 404, "not_found");
  expect_error(post(pool_path(id, "refresh"), "", pools_b_), 404, "not_found");
  expect_error(
      http_->request(boost::beast::http::verb::delete_, pool_path(id), "", bearer(pools_b_)), 404,
      "not_found", "", "delete");
  EXPECT_TRUE(expect_ok(get("/v1/pools", pools_b_)).at("pools").as_array().empty());

  // /broadcast before a permission tx was generated.
  expect_error(post(pool_path(id, "broadcast"), json::object{{"transaction", "0a00"}}, pools_a_),
               409, "conflict", "", "broadcast before permission-tx");
  auto generated = expect_ok(post(pool_path(id, "permission-tx"), "", pools_a_));
  expect_error(post(pool_path(id, "broadcast"), json::object{{"transaction", "0a00"}}, pools_b_),
               404, "not_found", "", "broadcast to another tenant's pool");
  const int64_t audit_generated = audit_rows();

  auto raw = common::from_hex(string_at(generated, "raw_data_hex"));
  ASSERT_TRUE(raw.ok());
  auto unsigned_tx = chain::Transaction::decode_raw(*raw);
  ASSERT_TRUE(unsigned_tx.ok());
  auto owner = wallet_signer(kCustomerKey, kCustomer, {kAccountPermissionUpdate});

  // Not a signed transaction at all.
  expect_error(post(pool_path(id, "broadcast"), json::object{{"transaction", "zz"}}, pools_a_), 400,
               "invalid_request", "", "not hex");
  expect_error(post(pool_path(id, "broadcast"), json::object{{"transaction", 5}}, pools_a_), 400,
               "invalid_request", "", "a number");
  expect_error(post(pool_path(id, "broadcast"), json::object{}, pools_a_), 400, "invalid_request",
               "", "no transaction");
  expect_error(
      post(pool_path(id, "broadcast"),
           json::object{{"transaction", string_at(generated, "raw_data_hex")}, {"signed", true}},
           pools_a_),
      400, "invalid_request", "", "unknown field in broadcast");

  // Tampered: the same update with a later expiration, signed by the owner.
  protocol::Transaction_raw changed = unsigned_tx->raw();
  changed.set_expiration(changed.expiration() + 60'000);
  auto tampered = chain::Transaction::from_raw(changed);
  ASSERT_TRUE(tampered.ok());
  tampered->add_signature(*owner->sign_transaction(tampered->raw_bytes()));
  expect_error(
      post(pool_path(id, "broadcast"),
           json::object{{"transaction", common::to_hex(tampered->encode_signed())}}, pools_a_),
      422, "verification_failed", "tx_mismatch", "tampered raw data");
  // Tampered in its JSON form: raw_data changed, txID and raw_data_hex dropped so they cannot
  // give it away, signed over the new bytes.
  json::object tampered_json = chain::transaction_to_json(*tampered);
  tampered_json.erase("txID");
  tampered_json.erase("raw_data_hex");
  expect_error(
      post(pool_path(id, "broadcast"), json::object{{"transaction", tampered_json}}, pools_a_), 422,
      "verification_failed", "tx_mismatch", "tampered JSON");

  // Exactly our tx, signed by a key that is not the owner's (the customer's treasury key).
  chain::Transaction by_treasury = *unsigned_tx;
  by_treasury.add_signature(*wallet_signer(kTreasuryKey, kCustomer, {kAccountPermissionUpdate})
                                 ->sign_transaction(by_treasury.raw_bytes()));
  expect_error(
      post(pool_path(id, "broadcast"),
           json::object{{"transaction", common::to_hex(by_treasury.encode_signed())}}, pools_a_),
      422, "verification_failed", "not_signed_by_owner", "signed by another key");
  // Signed by the owner, then one byte of the signature flipped.
  chain::Transaction forged = *unsigned_tx;
  common::Bytes signature = *owner->sign_transaction(forged.raw_bytes());
  signature[10] ^= 0x01;
  forged.add_signature(signature);
  expect_error(
      post(pool_path(id, "broadcast"),
           json::object{{"transaction", common::to_hex(forged.encode_signed())}}, pools_a_),
      422, "verification_failed", "not_signed_by_owner", "forged signature");
  // None of it reached the chain or the store.
  EXPECT_EQ(pool_column(id, "permission_tx_broadcast"), "false");
  EXPECT_EQ(pool_column(id, "status"), "pending");
  EXPECT_EQ(audit_rows(), audit_generated);
  EXPECT_EQ(account(kCustomer).permissions.actives.size(), 2u);

  // Signed right, broadcast, but not in a block yet.
  chain::Transaction good = *unsigned_tx;
  good.add_signature(*owner->sign_transaction(good.raw_bytes()));
  auto sent = expect_ok(post(pool_path(id, "broadcast"),
                             json::object{{"transaction", common::to_hex(good.encode_signed())}},
                             pools_a_));
  EXPECT_EQ(sent.at("accepted"), true);
  EXPECT_EQ(pool_column(id, "permission_tx_broadcast"), "true");
  expect_error(post(pool_path(id, "confirm"), "", pools_a_), 422, "verification_failed",
               "not_confirmed", "confirm before the block");
  EXPECT_EQ(pool_column(id, "status"), "pending");
  EXPECT_EQ(pool_column(id, "permission_id"), "NULL");
  // Posting it again is harmless: the node already has it.
  auto again = expect_ok(post(pool_path(id, "broadcast"),
                              json::object{{"transaction", common::to_hex(good.encode_signed())}},
                              pools_a_));
  EXPECT_EQ(again.at("accepted"), true);
  EXPECT_EQ(again.at("duplicate"), true);
  // While it can still be included, a second permission tx (a second fee, a second slot) is
  // refused.
  expect_error(post(pool_path(id, "permission-tx"), "", pools_a_), 409, "conflict", "",
               "permission-tx while one is in flight");

  devnet_->mine();
  auto confirmed = expect_ok(post(pool_path(id, "confirm"), "", pools_a_));
  EXPECT_EQ(confirmed.at("status"), "active");
  EXPECT_EQ(int_at(confirmed, "permission_id"), kRelayerPermissionId);
  EXPECT_EQ(pool_rows(), pools_before + 1);
}

// The customer grants the permission itself, with its own wallet, without asking tronrelay for the
// tx: confirm finds the grant and stores its id.
TEST_F(PoolsDevnetPgTest, ConfirmActivatesAPermissionGrantedByOtherMeans) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  expect_error(post(pool_path(id, "confirm"), "", pools_a_), 422, "verification_failed",
               "no_compatible_permission", "nothing granted yet");

  // Ours in the first slot this time, in place of the treasury permission, with more operations
  // than we need: the id is whatever the chain gives it, and any permission in which our key
  // alone may delegate and undelegate will do.
  chain::AccountInfo customer = account(kCustomer);
  auto ours = chain::PermissionBuilder::active("tronrelay")
                  .key(addr(kRelayer), 1)
                  .allow(kDelegate)
                  .allow(kUnDelegate)
                  .allow(kTransfer)
                  .build();
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  std::vector<protocol::Permission> actives = {*ours, customer.permissions.actives[1]};
  auto update = chain::build_account_permission_update(
      header(), addr(kCustomer), customer.permissions.owner, std::nullopt, actives);
  ASSERT_TRUE(update.ok()) << update.error().message;
  auto owner = wallet_signer(kCustomerKey, kCustomer, {kAccountPermissionUpdate});
  send(*update, *owner->sign_transaction(update->raw_bytes()));

  auto confirmed = expect_ok(post(pool_path(id, "confirm"), "", pools_a_));
  EXPECT_EQ(confirmed.at("status"), "active");
  EXPECT_EQ(int_at(confirmed, "permission_id"), 2);
  EXPECT_EQ(signers_->admitted_permission_id(addr(kCustomer)), 2);
  // Delegations go out under id 2 now.
  auto delegate = chain::build_delegate_resource(header(2), addr(kCustomer), addr(kWallet),
                                                 common::Sun(500 * kTrx), protocol::ENERGY);
  ASSERT_TRUE(delegate.ok());
  auto signature = signers_->sign(delegate->raw_bytes());
  ASSERT_TRUE(signature.ok()) << signature.error().message;
  send(*delegate, *signature);
  // The monitor has nothing to say about it.
  auto pass = wiring_->monitor.run_once();
  EXPECT_EQ(pass.suspended, 0);
  EXPECT_EQ(pool_column(id, "status"), "active");
}

// The customer takes the generated tx and broadcasts it with its own wallet instead of posting it
// to /broadcast. Until a block includes it the grant exists only in the node's pending state
// (java-tron applies accepted transactions to its state at once), so confirm must still answer
// not_confirmed.
//
// EXPECTED TO FAIL until PoolService::confirm (energy/pool_service.cc) checks the inclusion of a
// generated permission tx that did not go through /broadcast: today it checks only when
// permission_tx_broadcast is set, reads the account (pending state included), finds the relayer
// permission and activates the pool before the tx is in a block.
TEST_F(PoolsDevnetPgTest, ConfirmWaitsForTheBlockWhenTheCustomerBroadcastTheTxItself) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  auto generated = expect_ok(post(pool_path(id, "permission-tx"), "", pools_a_));
  auto raw = common::from_hex(string_at(generated, "raw_data_hex"));
  ASSERT_TRUE(raw.ok());
  auto tx = chain::Transaction::decode_raw(*raw);
  ASSERT_TRUE(tx.ok());
  auto owner = wallet_signer(kCustomerKey, kCustomer, {kAccountPermissionUpdate});
  tx->add_signature(*owner->sign_transaction(tx->raw_bytes()));
  auto sent = wallet_->broadcast(tx->encode_signed());
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  ASSERT_TRUE(sent->accepted) << sent->code << ": " << sent->message;

  auto early = post(pool_path(id, "confirm"), "", pools_a_);
  expect_error(early, 422, "verification_failed", "not_confirmed", "confirm before the block");
  EXPECT_EQ(pool_column(id, "status"), "pending");
  EXPECT_FALSE(signers_->is_admitted(addr(kCustomer)));

  devnet_->mine();
  auto confirmed = expect_ok(post(pool_path(id, "confirm"), "", pools_a_));
  EXPECT_EQ(confirmed.at("status"), "active");
  EXPECT_EQ(int_at(confirmed, "permission_id"), kRelayerPermissionId);
}

// ---- 4. Client faults

TEST_F(PoolsDevnetPgTest, OnboardingCompletesThroughThirtyPercentInjectedFailures) {
  ASSERT_NO_FATAL_FAILURE(start(faulty_chain_options(devnet_->url())));
  // Throttling first, then server errors; each phase makes enough chain calls that faults are
  // certain to hit (the devnet's fault RNG is seeded, so a run is also repeatable).
  devnet_->faults(R"({"error_rate":0.3,"status":429})");
  for (int i = 0; i < 5; ++i) {
    auto report = expect_ok(
        post("/v1/pools/validate-address", json::object{{"address", kCustomer}}, pools_a_));
    EXPECT_EQ(report.at("exists"), true);
  }
  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  auto generated = expect_ok(post(pool_path(id, "permission-tx"), "", pools_a_));
  EXPECT_EQ(int_at(generated, "permission_id"), kRelayerPermissionId);

  devnet_->faults(R"({"error_rate":0.3,"status":503})");
  for (int i = 0; i < 5; ++i) expect_ok(get(pool_path(id), pools_a_));
  auto sent =
      expect_ok(post(pool_path(id, "broadcast"), signed_by_customer_hex(generated), pools_a_));
  EXPECT_EQ(sent.at("accepted"), true);
  devnet_->mine();
  auto confirmed = expect_ok(post(pool_path(id, "confirm"), "", pools_a_));
  EXPECT_EQ(confirmed.at("status"), "active");
  EXPECT_EQ(int_at(confirmed, "permission_id"), kRelayerPermissionId);
  auto view = expect_ok(get(pool_path(id), pools_a_));
  EXPECT_TRUE(view.at("live").is_object()) << json::serialize(view);
  devnet_->faults(R"({"error_rate":0})");

  auto stats = node_->stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_GT(stats[0].failures_of(chain::FailureKind::kThrottled), 0u);
  EXPECT_GT(stats[0].failures_of(chain::FailureKind::kServerError), 0u);
  EXPECT_GT(stats[0].retries, 0u);
  EXPECT_EQ(stats[0].circuit, chain::CircuitState::kClosed);
  EXPECT_TRUE(node_->healthy());
  expect_grant_is_exactly_what_was_asked(id);
}

TEST_F(PoolsDevnetPgTest, WithTheChainDownRoutesAnswer502Or503AndHealthSaysChainDown) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  auto health = expect_ok(http_->get("/health"));
  EXPECT_EQ(health.at("status"), "ok");
  EXPECT_EQ(health.at("chain"), "ok");
  EXPECT_EQ(health.at("db"), "ok");

  const uint16_t port = devnet_->port();
  devnet_->stop();
  const int64_t pools_before = pool_rows();
  const int64_t audit_before = audit_rows();

  // The probe's cached answer ages out; the next one asks the (stopped) node.
  probe_clock_.advance(milliseconds(6'000));
  health = expect_ok(http_->get("/health"), 503, "health");
  EXPECT_EQ(health.at("status"), "degraded");
  EXPECT_EQ(health.at("chain"), "down");
  EXPECT_EQ(health.at("db"), "ok");

  expect_chain_error(
      post("/v1/pools/validate-address", json::object{{"address", kCustomer}}, pools_a_),
      "validate-address");
  expect_chain_error(
      post("/v1/pools", json::object{{"address", kWallet}, {"kind", "permission"}}, pools_a_),
      "create");
  expect_chain_error(post(pool_path(id, "permission-tx"), "", pools_a_), "permission-tx");
  expect_chain_error(post(pool_path(id, "confirm"), "", pools_a_), "confirm");
  expect_chain_error(post(pool_path(id, "refresh"), "", pools_a_), "refresh");
  EXPECT_FALSE(node_->healthy());
  // What needs no chain still answers: the stored pool, without live status.
  auto view = expect_ok(get(pool_path(id), pools_a_), 200, "view");
  EXPECT_EQ(view.at("status"), "pending");
  EXPECT_TRUE(view.at("live").is_null());
  EXPECT_EQ(expect_ok(get("/v1/pools", pools_a_)).at("pools").as_array().size(), 1u);
  // A monitor pass fails the pool's refresh and leaves it as it was.
  auto pass = wiring_->monitor.run_once();
  EXPECT_EQ(pass.failed, 1);
  EXPECT_EQ(pool_column(id, "status"), "pending");
  EXPECT_EQ(pool_column(id, "permission_txid"), "NULL");
  EXPECT_EQ(pool_rows(), pools_before);
  EXPECT_EQ(audit_rows(), audit_before);

  // The node comes back on the same address: after the breaker's cool-down everything works.
  ASSERT_NO_THROW(devnet_ = std::make_unique<Devnet>(port));
  std::this_thread::sleep_for(milliseconds(350));
  EXPECT_TRUE(node_->healthy());
  probe_clock_.advance(milliseconds(6'000));
  health = expect_ok(http_->get("/health"), 200, "health after the restart");
  EXPECT_EQ(health.at("chain"), "ok");
  auto generated = expect_ok(post(pool_path(id, "permission-tx"), "", pools_a_));
  EXPECT_EQ(int_at(generated, "permission_id"), kRelayerPermissionId);
}

// ---- 5. Own pools

TEST_F(PoolsDevnetPgTest, AnOwnPoolIsActiveAtOnceAndStakesOnChain) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int64_t pools_before = pool_rows();
  expect_error(post("/v1/pools", json::object{{"address", kPool}, {"kind", "own"}}, pools_a_), 422,
               "verification_failed", "owner_key_missing", "own pool without its key");
  EXPECT_EQ(pool_rows(), pools_before);

  auto owner = signers_->add_owner_key(*signer::SecretKey::from_hex(kPoolKey));
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  ASSERT_EQ(*owner, addr(kPool));
  auto created = expect_ok(
      post("/v1/pools", json::object{{"address", kPool}, {"kind", "own"}, {"name", "house"}},
           pools_a_),
      201);
  const int64_t id = int_at(created, "id");
  EXPECT_EQ(created.at("status"), "active");
  EXPECT_EQ(created.at("kind"), "own");
  EXPECT_EQ(int_at(created, "permission_id"), 0);
  EXPECT_EQ(int_at(created.at("snapshot").as_object(), "staked_energy_sun"), kPoolStake);
  EXPECT_EQ(signers_->admitted_permission_id(addr(kPool)), 0);
  // An own pool needs no permission.
  expect_error(post(pool_path(id, "permission-tx"), "", pools_a_), 409, "conflict");
  expect_error(post(pool_path(id, "confirm"), "", pools_a_), 409, "conflict");

  // Bad amounts.
  expect_error(post(pool_path(id, "stake"), json::object{{"amount_sun", 999'999}}, pools_a_), 400,
               "invalid_request", "", "under 1 TRX");
  expect_error(post(pool_path(id, "stake"), json::object{{"amount_sun", 0}}, pools_a_), 400,
               "invalid_request", "", "zero");
  expect_error(post(pool_path(id, "stake"), json::object{{"amount_sun", "lots"}}, pools_a_), 400,
               "invalid_request", "", "not a number");
  expect_error(
      post(pool_path(id, "stake"), json::object{{"amount_sun", kTrx}, {"lock", true}}, pools_a_),
      400, "invalid_request", "", "unknown field");
  expect_error(post(pool_path(id, "stake"), json::object{{"amount_sun", kTrx}}, pools_b_), 404,
               "not_found", "", "another tenant's pool");

  const int64_t staked = 1'000 * kTrx;
  auto sent =
      expect_ok(post(pool_path(id, "stake"), json::object{{"amount_sun", staked}}, pools_a_));
  EXPECT_EQ(sent.at("accepted"), true);
  EXPECT_EQ(string_at(sent, "txid").size(), 64u);
  // Like java-tron, the node applies an accepted transaction to its state at once; the block
  // that includes it comes when the devnet is told to mine.
  auto txid = common::from_hex(string_at(sent, "txid"));
  ASSERT_TRUE(txid.ok());
  common::Hash32 hash{};
  std::copy(txid->begin(), txid->end(), hash.begin());
  auto pending = wallet_->transaction_info(hash);
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  devnet_->mine();
  auto info = wallet_->transaction_info(hash);
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_FALSE((*info)->failed) << (*info)->message;
  EXPECT_EQ(account(kPool).frozen_energy_sun, kPoolStake + staked);
  auto view = expect_ok(get(pool_path(id), pools_a_));
  ASSERT_TRUE(view.at("live").is_object());
  EXPECT_EQ(int_at(view.at("live").as_object(), "staked_energy_sun"), kPoolStake + staked);

  // And back.
  auto unstaked =
      expect_ok(post(pool_path(id, "unstake"), json::object{{"amount_sun", staked}}, pools_a_));
  EXPECT_EQ(unstaked.at("accepted"), true);
  devnet_->mine();
  EXPECT_EQ(account(kPool).frozen_energy_sun, kPoolStake);

  // Staking is for own pools: a permission pool's owner stakes for itself.
  auto customer = expect_ok(
      post("/v1/pools", json::object{{"address", kCustomer}, {"kind", "permission"}}, pools_a_),
      201);
  expect_error(post(pool_path(int_at(customer, "id"), "stake"),
                    json::object{{"amount_sun", staked}}, pools_a_),
               409, "conflict", "", "stake on a permission pool");
  // The customer's account as an own pool: we do not hold its key.
  expect_error(post("/v1/pools", json::object{{"address", kWallet}, {"kind", "own"}}, pools_a_),
               422, "verification_failed", "owner_key_missing", "wallet as own pool");
  EXPECT_EQ(pool_rows(), pools_before + 2);
}

}  // namespace
}  // namespace relay
