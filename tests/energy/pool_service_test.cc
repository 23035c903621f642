#include "energy/pool_service.h"

#include <gtest/gtest.h>

#include "chain/builders.h"
#include "common/signature.h"
#include "signer/signer.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_store.h"
#include "tests/support/fake_tron_node.h"

namespace relay::energy {
namespace {

using chain::Transaction;
using common::Address;
using common::Sun;
using protocol::Permission;
using relay::testing::FakeAuditLog;
using relay::testing::FakePools;
using relay::testing::FakeTronNode;
using relay::testing::make_account;
using relay::testing::make_active;
using signer::SecretKey;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kCustomerKey = "2222222222222222222222222222222222222222222222222222222222222222";
const char* kOwnKey = "3333333333333333333333333333333333333333333333333333333333333333";
const char* kStrangerKey = "4444444444444444444444444444444444444444444444444444444444444444";

Address address_of(const char* key) { return *signer::address_of(*SecretKey::from_hex(key)); }

const Address kRelayer = address_of(kRelayerKey);
const Address kCustomer = address_of(kCustomerKey);
const Address kOwnPool = address_of(kOwnKey);
const Address kStranger = address_of(kStrangerKey);
const Address kReceiver = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");

constexpr int64_t kTrx = 1'000'000;
constexpr int64_t kTenant = 7;
constexpr int64_t kOtherTenant = 8;
constexpr int64_t kStart = 1'700'000'000'000;
const char* kRelayerOps = "0000000000000006000000000000000000000000000000000000000000000000";

// The customer's wallet: signs whatever it is given with its key (here, the permission update).
common::Bytes sign_as(const char* key_hex, Transaction tx) {
  signer::SigningPolicy policy;
  policy.allowed_contract_types = {46};
  policy.allowed_owners = {tx.owner()};
  auto wallet = signer::LocalSigner::create(*SecretKey::from_hex(key_hex), policy);
  tx.add_signature(*(*wallet)->sign_transaction(tx.raw_bytes()));
  return tx.encode_signed();
}

Permission relayer_permission(std::set<int> ops = {57, 58}, int64_t threshold = 1,
                              int64_t weight = 1, const Address& key = kRelayer) {
  return make_active("relayer", threshold, {{key, weight}}, ops);
}

bool has_code(const common::Status& status, const std::string& code) {
  return !status.ok() && status.error().code == code;
}
template <typename T>
std::string code_of(const common::Result<T>& result) {
  return result.ok() ? "ok" : result.error().code;
}
template <typename T>
std::string message_of(const common::Result<T>& result) {
  return result.ok() ? "" : result.error().message;
}

class PoolServiceTest : public ::testing::Test {
 protected:
  PoolServiceTest() {
    // The customer already uses an extra active permission ("ops", a 2-of-2 with two keys) beside
    // the default "active": ids 2 and 3, so ours will be 4.
    auto customer = make_account(kCustomer, 500 * kTrx, 1000 * kTrx);
    customer.permissions.actives.push_back(
        make_active("ops", 2, {{kStranger, 1}, {kCustomer, 1}}, {1, 31}));
    node.put_account(customer);
    node.set_resources(kCustomer, {.free_net_used = 100,
                                   .free_net_limit = 600,
                                   .net_used = 0,
                                   .net_limit = 0,
                                   .energy_used = 1000,
                                   .energy_limit = 50'000,
                                   .total_net_limit = 0,
                                   .total_net_weight = 0,
                                   .total_energy_limit = 0,
                                   .total_energy_weight = 0});
    node.set_delegatable(kCustomer, 900 * kTrx);
    node.put_account(make_account(kOwnPool, 300 * kTrx, 2000 * kTrx));
    node.put_account(make_account(kStranger, 10 * kTrx));
  }

  Pool create_permission_pool(NewPoolRequest request = {}) {
    request.address = kCustomer;
    request.kind = PoolKind::kPermission;
    if (request.name.empty()) request.name = "customer";
    auto pool = service.create(kTenant, request, "key:1");
    EXPECT_TRUE(pool.ok()) << message_of(pool);
    return *pool;
  }
  Pool create_own_pool() {
    EXPECT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnKey)).ok());
    auto pool = service.create(
        kTenant, {.address = kOwnPool, .kind = PoolKind::kOwn, .name = "own"}, "key:1");
    EXPECT_TRUE(pool.ok()) << message_of(pool);
    return *pool;
  }
  // The whole guided onboarding: generate, sign as the customer, broadcast, mine, confirm.
  Pool onboard(Pool pool) {
    auto tx = service.permission_tx(kTenant, pool.id);
    EXPECT_TRUE(tx.ok()) << message_of(tx);
    auto sent =
        service.broadcast_permission_tx(kTenant, pool.id, sign_as(kCustomerKey, tx->tx), "key:1");
    EXPECT_TRUE(sent.ok()) << message_of(sent);
    node.mine();
    auto confirmed = service.confirm(kTenant, pool.id, "key:1");
    EXPECT_TRUE(confirmed.ok()) << message_of(confirmed);
    return *confirmed;
  }
  Pool stored(int64_t id) { return *pools.stored(id); }
  std::vector<std::string> actions() {
    std::vector<std::string> out;
    for (const auto& e : audit.events()) out.push_back(e.action);
    return out;
  }
  Transaction delegate_tx(const Address& owner, int32_t permission_id) {
    chain::TxHeader header;
    auto head = node.head();
    header.tapos = *chain::TaposRef::from_block(head.number, head.id);
    header.expiration_ms = head.timestamp_ms + 60'000;
    header.timestamp_ms = clock.now_ms();
    header.permission_id = permission_id;
    return *chain::build_delegate_resource(header, owner, kReceiver, Sun(10 * kTrx),
                                           protocol::ENERGY);
  }

  common::ManualClock clock = common::ManualClock::at_ms(kStart);
  FakeTronNode node;
  FakePools pools{clock};
  FakeAuditLog audit;
  std::unique_ptr<signer::PoolSigners> signers =
      std::move(*signer::PoolSigners::create(*SecretKey::from_hex(kRelayerKey)));
  PoolService service{pools, pools, node, *signers, audit, clock};
};

// --- validate-address --------------------------------------------------------------------------

TEST_F(PoolServiceTest, ValidateAddressReportsWhatOnboardingNeeds) {
  auto report = service.validate_address(kCustomer);
  ASSERT_TRUE(report.ok()) << message_of(report);
  EXPECT_TRUE(report->exists);
  EXPECT_FALSE(report->is_contract);
  EXPECT_EQ(report->balance_sun, 500 * kTrx);
  EXPECT_EQ(report->staked_energy_sun, 1000 * kTrx);
  EXPECT_EQ(report->delegatable_sun, 900 * kTrx);
  EXPECT_EQ(report->active_count, 2);
  EXPECT_EQ(report->permissions.actives.size(), 2u);
  EXPECT_FALSE(report->compatible_permission_id);
  EXPECT_TRUE(report->can_append_permission);
  EXPECT_EQ(report->permission_fee_sun, 100 * kTrx);  // java-tron's code default
  EXPECT_TRUE(report->can_pay_fee);
  EXPECT_FALSE(report->registered);

  node.set_parameter("getUpdateAccountPermissionFee", 600 * kTrx);
  EXPECT_FALSE(service.validate_address(kCustomer)->can_pay_fee);

  create_permission_pool();
  EXPECT_TRUE(service.validate_address(kCustomer)->registered);
}

TEST_F(PoolServiceTest, ValidateAddressOfAMissingAccountIsAnAnswerNotAnError) {
  auto report = service.validate_address(kReceiver);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->exists);
  EXPECT_FALSE(report->can_pay_fee);
  EXPECT_FALSE(report->can_append_permission);
}

TEST_F(PoolServiceTest, ValidateAddressPrefersTheLeastPrivilegedCompatiblePermission) {
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.push_back(relayer_permission({54, 55, 56, 57, 58, 59}));   // id 4
    a.permissions.actives.push_back(relayer_permission({57, 58}, 1, 1, kStranger));  // id 5
    a.permissions.actives.push_back(relayer_permission({57, 58}, 2, 1));             // id 6
    a.permissions.actives.push_back(relayer_permission({57, 58}));                   // id 7
    a.permissions.actives.push_back(relayer_permission({57}));                       // id 8
  });
  auto report = service.validate_address(kCustomer);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->compatible_permission_id, 7);
  EXPECT_EQ(report->active_count, 7);

  node.update_account(kCustomer, [](chain::AccountInfo& a) { a.permissions.actives.resize(3); });
  EXPECT_EQ(service.validate_address(kCustomer)->compatible_permission_id, 4);
}

TEST_F(PoolServiceTest, ValidateAddressChainFailureIsAnError) {
  node.set_down(common::make_error("upstream_failed", "connection refused"));
  EXPECT_EQ(code_of(service.validate_address(kCustomer)), "upstream_failed");
}

// --- create ------------------------------------------------------------------------------------

TEST_F(PoolServiceTest, CreatePermissionPoolStartsPendingWithASnapshot) {
  clock.advance(std::chrono::seconds(5));
  Pool pool = create_permission_pool({.min_reserve_sun = 20 * kTrx, .low_energy_alert = 10});
  EXPECT_EQ(pool.status, PoolStatus::kPending);
  EXPECT_EQ(pool.tenant_id, kTenant);
  EXPECT_EQ(pool.name, "customer");
  EXPECT_FALSE(pool.permission_id);
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  ASSERT_TRUE(pool.snapshot);
  EXPECT_EQ(pool.snapshot->observed_at, clock.now());
  EXPECT_EQ(pool.snapshot->balance_sun, 500 * kTrx);
  EXPECT_EQ(pool.snapshot->staked_energy_sun, 1000 * kTrx);
  EXPECT_EQ(pool.snapshot->delegatable_sun, 900 * kTrx);
  EXPECT_EQ(pool.snapshot->energy_limit, 50'000);
  EXPECT_EQ(pool.snapshot->energy_available, 49'000);
  EXPECT_EQ(pool.snapshot->net_available, 500);
  EXPECT_TRUE(stored(pool.id).snapshot);

  auto events = audit.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "pool.create");
  EXPECT_EQ(events[0].actor, "key:1");
  EXPECT_EQ(events[0].tenant_id, kTenant);
  EXPECT_NE(events[0].details_json.find(kCustomer.to_base58()), std::string::npos);
  EXPECT_NE(events[0].details_json.find("\"kind\":\"permission\""), std::string::npos);
}

TEST_F(PoolServiceTest, CreateActivatesAPoolThatAlreadyGrantsUsAPermission) {
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.push_back(relayer_permission());
  });
  Pool pool = create_permission_pool();
  EXPECT_EQ(pool.status, PoolStatus::kActive);
  EXPECT_EQ(pool.permission_id, 4);
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 4);
}

TEST_F(PoolServiceTest, CreateRefusesBadInputAndBadAccounts) {
  auto create = [&](NewPoolRequest r) { return service.create(kTenant, r, "key:1"); };
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = std::string(201, 'a')})),
            "invalid_request");
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = "bad\nname"})), "invalid_request");
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = std::string("del\x7f")})),
            "invalid_request");
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = "x", .min_reserve_sun = -1})),
            "invalid_request");
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = "x", .max_delegate_sun = -1})),
            "invalid_request");
  EXPECT_EQ(code_of(create({.address = kCustomer, .name = "x", .low_energy_alert = -1})),
            "invalid_request");
  EXPECT_EQ(code_of(create({.address = kReceiver, .name = "x"})), "account_not_found");
  auto contract = make_account(kReceiver, 0);
  contract.is_contract = true;
  node.put_account(contract);
  EXPECT_EQ(code_of(create({.address = kReceiver, .name = "x"})), "account_is_contract");
  EXPECT_TRUE(audit.events().empty());

  // UTF-8 is fine; an empty name becomes the address.
  auto named = create({.address = kCustomer, .name = ""});
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->name, kCustomer.to_base58());
  // One live pool per address, whichever tenant asks.
  EXPECT_EQ(code_of(service.create(kOtherTenant, {.address = kCustomer, .name = "Grüße"}, "k")),
            "conflict");
}

TEST_F(PoolServiceTest, CreateOwnPoolNeedsItsOwnerKey) {
  auto missing = service.create(
      kTenant, {.address = kOwnPool, .kind = PoolKind::kOwn, .name = "own"}, "key:1");
  EXPECT_EQ(code_of(missing), "owner_key_missing");
  Pool pool = create_own_pool();
  EXPECT_EQ(pool.status, PoolStatus::kActive);
  EXPECT_EQ(pool.permission_id, 0);
  EXPECT_EQ(signers->admitted_permission_id(kOwnPool), 0);
}

// --- permission-tx -----------------------------------------------------------------------------

TEST_F(PoolServiceTest, PermissionTxKeepsEveryExistingPermissionExactlyAndAppendsOurs) {
  Pool pool = create_permission_pool();
  auto original = node.get_account(kCustomer)->permissions;
  clock.advance(std::chrono::seconds(2));
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok()) << message_of(generated);
  EXPECT_EQ(generated->permission_id, 4);  // two actives exist: position 2 + 2
  EXPECT_EQ(generated->fee_sun, 100 * kTrx);
  auto head = node.head();
  EXPECT_EQ(generated->expiration_ms, head.timestamp_ms + 10 * 60 * 1000);
  EXPECT_EQ(generated->txid, generated->tx.txid());

  // Decode the bytes as the customer's wallet would, and compare field by field.
  auto tx = Transaction::decode_raw(generated->tx.raw_bytes());
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->contract_type(), protocol::Transaction_Contract::AccountPermissionUpdateContract);
  EXPECT_EQ(tx->permission_id(), 0);
  EXPECT_EQ(tx->owner(), kCustomer);
  EXPECT_EQ(tx->raw().expiration(), generated->expiration_ms);
  EXPECT_EQ(tx->raw().timestamp(), clock.now_ms());
  auto tapos = *chain::TaposRef::from_block(head.number, head.id);
  EXPECT_EQ(tx->raw().ref_block_bytes(),
            std::string(tapos.ref_block_bytes.begin(), tapos.ref_block_bytes.end()));
  EXPECT_EQ(tx->raw().ref_block_hash(),
            std::string(tapos.ref_block_hash.begin(), tapos.ref_block_hash.end()));
  const auto& update = *tx->parameter_as<protocol::AccountPermissionUpdateContract>();
  EXPECT_EQ(update.owner().SerializeAsString(), original.owner.SerializeAsString());
  EXPECT_FALSE(update.has_witness());
  ASSERT_EQ(update.actives_size(), 3);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(update.actives(i).SerializeAsString(), original.actives[i].SerializeAsString())
        << "active " << i << " changed";
  }
  EXPECT_EQ(update.actives(1).permission_name(), "ops");
  EXPECT_EQ(update.actives(1).threshold(), 2);
  const Permission& ours = update.actives(2);
  EXPECT_EQ(ours.type(), Permission::Active);
  EXPECT_EQ(ours.permission_name(), "relayer");
  EXPECT_EQ(ours.threshold(), 1);
  ASSERT_EQ(ours.keys_size(), 1);
  EXPECT_EQ(ours.keys(0).address(), kRelayer.proto_bytes());
  EXPECT_EQ(ours.keys(0).weight(), 1);
  EXPECT_EQ(common::to_hex(common::as_bytes(ours.operations())), kRelayerOps);

  Pool after = stored(pool.id);
  EXPECT_EQ(after.permission_txid, generated->txid);
  EXPECT_EQ(after.permission_raw_data, generated->tx.raw_bytes());
  EXPECT_FALSE(after.permission_tx_broadcast);
  EXPECT_EQ(actions().back(), "pool.permission_tx");
}

TEST_F(PoolServiceTest, PermissionTxKeepsAWitnessPermissionAndCapsTheExpiration) {
  PoolService long_lived{pools,
                         pools,
                         node,
                         *signers,
                         audit,
                         clock,
                         PoolServiceOptions{.tx_expiration_ms = 48LL * 3600 * 1000}};
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    Permission witness;
    witness.set_type(Permission::Witness);
    witness.set_permission_name("witness");
    witness.set_threshold(1);
    auto* key = witness.add_keys();
    key->set_address(kStranger.proto_bytes());
    key->set_weight(1);
    a.permissions.witness = witness;
  });
  Pool pool = create_permission_pool();
  auto generated = long_lived.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok()) << message_of(generated);
  EXPECT_EQ(generated->expiration_ms, node.head().timestamp_ms + 24LL * 3600 * 1000);
  const auto& update = *generated->tx.parameter_as<protocol::AccountPermissionUpdateContract>();
  ASSERT_TRUE(update.has_witness());
  EXPECT_EQ(update.witness().SerializeAsString(),
            node.get_account(kCustomer)->permissions.witness->SerializeAsString());
}

TEST_F(PoolServiceTest, PermissionIdIsPositionPlusTwo) {
  Pool pool = create_permission_pool();
  for (size_t actives = 1; actives <= 7; ++actives) {
    node.update_account(kCustomer, [&](chain::AccountInfo& a) {
      a.permissions.actives.clear();
      for (size_t i = 0; i < actives; ++i) {
        a.permissions.actives.push_back(
            make_active("a" + std::to_string(i), 1, {{kCustomer, 1}}, {1}));
      }
    });
    auto generated = service.permission_tx(kTenant, pool.id);
    ASSERT_TRUE(generated.ok()) << message_of(generated);
    EXPECT_EQ(generated->permission_id, static_cast<int32_t>(actives + 2));
    // Appended last, so the chain numbers it actives + 2.
    const auto& update = *generated->tx.parameter_as<protocol::AccountPermissionUpdateContract>();
    EXPECT_EQ(update.actives(static_cast<int>(actives)).permission_name(), "relayer");
  }
}

TEST_F(PoolServiceTest, PermissionTxRefusals) {
  Pool pool = create_permission_pool();
  // Eight actives: no slot left.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    while (a.permissions.actives.size() < 8) {
      a.permissions.actives.push_back(make_active("x", 1, {{kCustomer, 1}}, {1}));
    }
  });
  auto full = service.permission_tx(kTenant, pool.id);
  EXPECT_EQ(code_of(full), "permission_slots_full");
  EXPECT_NE(message_of(full).find("8 active permissions"), std::string::npos);
  node.update_account(kCustomer, [](chain::AccountInfo& a) { a.permissions.actives.resize(2); });

  // The fee is burned from the account: it must hold it.
  node.set_parameter("getUpdateAccountPermissionFee", 500 * kTrx + 1);
  EXPECT_EQ(code_of(service.permission_tx(kTenant, pool.id)), "fee_unpayable");
  node.set_parameter("getUpdateAccountPermissionFee", 500 * kTrx);
  EXPECT_TRUE(service.permission_tx(kTenant, pool.id).ok());

  // Already granted: confirm instead of burning another fee.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.push_back(relayer_permission());
  });
  EXPECT_EQ(code_of(service.permission_tx(kTenant, pool.id)), "permission_already_granted");

  node.remove_account(kCustomer);
  EXPECT_EQ(code_of(service.permission_tx(kTenant, pool.id)), "account_not_found");

  EXPECT_EQ(code_of(service.permission_tx(kOtherTenant, pool.id)), "not_found");
  EXPECT_EQ(code_of(service.permission_tx(kTenant, 999)), "not_found");
  Pool own = create_own_pool();
  EXPECT_EQ(code_of(service.permission_tx(kTenant, own.id)), "conflict");
}

TEST_F(PoolServiceTest, PermissionTxRefusedForAnActivePool) {
  Pool pool = onboard(create_permission_pool());
  ASSERT_EQ(pool.status, PoolStatus::kActive);
  EXPECT_EQ(code_of(service.permission_tx(kTenant, pool.id)), "conflict");
}

// --- broadcast ---------------------------------------------------------------------------------

TEST_F(PoolServiceTest, BroadcastSendsExactlyTheGeneratedTxSignedByTheOwner) {
  Pool pool = create_permission_pool();
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok());
  auto signed_tx = sign_as(kCustomerKey, generated->tx);
  auto sent = service.broadcast_permission_tx(kTenant, pool.id, signed_tx, "key:1");
  ASSERT_TRUE(sent.ok()) << message_of(sent);
  EXPECT_EQ(sent->txid, generated->txid);
  EXPECT_TRUE(sent->result.accepted);
  EXPECT_FALSE(sent->result.duplicate);
  ASSERT_EQ(node.broadcasts().size(), 1u);
  EXPECT_EQ(node.broadcasts()[0].txid(), generated->txid);
  EXPECT_TRUE(stored(pool.id).permission_tx_broadcast);
  EXPECT_EQ(actions().back(), "pool.permission_tx.broadcast");

  // The customer (or a retry) sends it again: the node says DUP, which is fine.
  auto again = service.broadcast_permission_tx(kTenant, pool.id, signed_tx, "key:1");
  ASSERT_TRUE(again.ok()) << message_of(again);
  EXPECT_TRUE(again->result.duplicate);

  // While it can still be included, another permission tx would risk a second relayer entry.
  EXPECT_EQ(code_of(service.permission_tx(kTenant, pool.id)), "conflict");
  clock.advance(std::chrono::minutes(11));
  EXPECT_TRUE(service.permission_tx(kTenant, pool.id).ok());
}

TEST_F(PoolServiceTest, BroadcastRefusesATamperedTx) {
  Pool pool = create_permission_pool();
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok());

  // Same contract, one field changed (the relayer weight raised), signed properly by the owner.
  protocol::Transaction_raw raw = generated->tx.raw();
  protocol::AccountPermissionUpdateContract update =
      *generated->tx.parameter_as<protocol::AccountPermissionUpdateContract>();
  update.mutable_actives(2)->mutable_keys(0)->set_weight(2);
  update.mutable_actives(2)->set_threshold(2);
  raw.mutable_contract(0)->mutable_parameter()->PackFrom(update);
  auto tampered = Transaction::from_raw(raw);
  ASSERT_TRUE(tampered.ok());
  auto refused =
      service.broadcast_permission_tx(kTenant, pool.id, sign_as(kCustomerKey, *tampered), "k");
  EXPECT_EQ(code_of(refused), "tx_mismatch");

  // A later timestamp only: still not the same bytes.
  protocol::Transaction_raw later = generated->tx.raw();
  later.set_timestamp(later.timestamp() + 1);
  refused = service.broadcast_permission_tx(
      kTenant, pool.id, sign_as(kCustomerKey, *Transaction::from_raw(later)), "k");
  EXPECT_EQ(code_of(refused), "tx_mismatch");

  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id, common::Bytes{1, 2, 3}, "k")),
            "invalid_request");
  EXPECT_TRUE(node.broadcasts().empty());
  EXPECT_FALSE(stored(pool.id).permission_tx_broadcast);
}

TEST_F(PoolServiceTest, BroadcastRefusesATxNotSignedByTheOwner) {
  Pool pool = create_permission_pool();
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok());
  auto by_stranger =
      service.broadcast_permission_tx(kTenant, pool.id, sign_as(kStrangerKey, generated->tx), "k");
  EXPECT_EQ(code_of(by_stranger), "not_signed_by_owner");
  EXPECT_NE(message_of(by_stranger).find("is not contained of permission"), std::string::npos);
  // Unsigned.
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id, generated->tx.encode_signed(),
                                                    "k")),
            "not_signed_by_owner");
  // The relayer key (ours) is no owner either.
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id,
                                                    sign_as(kRelayerKey, generated->tx), "k")),
            "not_signed_by_owner");
  EXPECT_TRUE(node.broadcasts().empty());

  // A 2-of-2 owner: one signature is not enough, both are.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.owner.set_threshold(2);
    auto* key = a.permissions.owner.add_keys();
    key->set_address(kStranger.proto_bytes());
    key->set_weight(1);
  });
  auto multi = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id,
                                                    sign_as(kCustomerKey, multi->tx), "k")),
            "not_signed_by_owner");
  auto twice = *Transaction::decode_signed(sign_as(kCustomerKey, multi->tx));
  twice = *Transaction::decode_signed(sign_as(kStrangerKey, twice));
  auto both = service.broadcast_permission_tx(kTenant, pool.id, twice.encode_signed(), "k");
  EXPECT_TRUE(both.ok()) << message_of(both);
}

TEST_F(PoolServiceTest, BroadcastChecksExpiryStateAndTheNodesAnswer) {
  Pool pool = create_permission_pool();
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id, common::Bytes{}, "k")),
            "conflict");  // nothing generated yet
  auto generated = service.permission_tx(kTenant, pool.id);
  auto signed_tx = sign_as(kCustomerKey, generated->tx);

  node.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "active permission is too many",
                         .txid = {}});
  auto rejected = service.broadcast_permission_tx(kTenant, pool.id, signed_tx, "k");
  EXPECT_EQ(code_of(rejected), "broadcast_rejected");
  EXPECT_EQ(message_of(rejected), "CONTRACT_VALIDATE_ERROR: active permission is too many");
  EXPECT_FALSE(stored(pool.id).permission_tx_broadcast);

  node.fail_next(common::make_error("upstream_failed", "timeout"));
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id, signed_tx, "k")),
            "upstream_failed");

  clock.advance(std::chrono::minutes(10));
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kTenant, pool.id, signed_tx, "k")),
            "tx_expired");
  EXPECT_EQ(code_of(service.broadcast_permission_tx(kOtherTenant, pool.id, signed_tx, "k")),
            "not_found");
}

// --- confirm -----------------------------------------------------------------------------------

TEST_F(PoolServiceTest, FullOnboardingActivatesThePoolAndTheRelayerCanDelegate) {
  Pool pool = create_permission_pool();
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(generated.ok());
  ASSERT_TRUE(
      service
          .broadcast_permission_tx(kTenant, pool.id, sign_as(kCustomerKey, generated->tx), "key:1")
          .ok());

  // Not in a block yet.
  auto early = service.confirm(kTenant, pool.id, "key:1");
  EXPECT_EQ(code_of(early), "not_confirmed");
  EXPECT_EQ(stored(pool.id).status, PoolStatus::kPending);

  node.mine();
  auto confirmed = service.confirm(kTenant, pool.id, "key:1");
  ASSERT_TRUE(confirmed.ok()) << message_of(confirmed);
  EXPECT_EQ(confirmed->status, PoolStatus::kActive);
  EXPECT_EQ(confirmed->permission_id, 4);
  EXPECT_EQ(confirmed->status_reason, "");
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 4);
  EXPECT_EQ(actions().back(), "pool.confirm");

  // The customer's earlier permissions are still there, unchanged.
  auto account = *node.get_account(kCustomer);
  ASSERT_EQ(account.permissions.actives.size(), 3u);
  EXPECT_EQ(account.permissions.actives[1].permission_name(), "ops");
  EXPECT_EQ(account.balance_sun, 400 * kTrx);  // the fee was burned

  // A delegation signed by the relayer key under the stored id satisfies the chain's check; the
  // signers refuse any other id.
  auto tx = delegate_tx(kCustomer, 4);
  auto signature = signers->sign(tx.raw_bytes());
  ASSERT_TRUE(signature.ok()) << signature.error().message;
  tx.add_signature(*signature);
  EXPECT_TRUE(chain::check_permission(account.permissions, tx).ok());
  EXPECT_FALSE(signers->sign(delegate_tx(kCustomer, 2).raw_bytes()).ok());
}

TEST_F(PoolServiceTest, ConfirmReportsATxThatFailedOnChain) {
  Pool pool = create_permission_pool();
  auto generated = service.permission_tx(kTenant, pool.id);
  ASSERT_TRUE(
      service.broadcast_permission_tx(kTenant, pool.id, sign_as(kCustomerKey, generated->tx), "k")
          .ok());
  node.set_transaction_info({.txid = generated->txid,
                             .block_number = 1001,
                             .block_timestamp_ms = kStart + 3000,
                             .fee_sun = 0,
                             .failed = true,
                             .receipt_result = "",
                             .message = "balance is not sufficient",
                             .energy_usage_total = 0,
                             .energy_fee_sun = 0,
                             .net_usage = 0,
                             .net_fee_sun = 0});
  auto confirmed = service.confirm(kTenant, pool.id, "k");
  EXPECT_EQ(code_of(confirmed), "permission_tx_failed");
  EXPECT_NE(message_of(confirmed).find("balance is not sufficient"), std::string::npos);
}

TEST_F(PoolServiceTest, ConfirmAcceptsAPermissionGrantedByOtherMeans) {
  Pool pool = create_permission_pool();
  auto none = service.confirm(kTenant, pool.id, "k");
  EXPECT_EQ(code_of(none), "no_compatible_permission");

  // Generated but never posted back: the customer may have broadcast it from its wallet.
  ASSERT_TRUE(service.permission_tx(kTenant, pool.id).ok());
  EXPECT_NE(message_of(service.confirm(kTenant, pool.id, "k")).find("sign and broadcast"),
            std::string::npos);

  // The customer did it with another tool, in another slot, with a wider permission.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.insert(a.permissions.actives.begin(),
                                 relayer_permission({54, 55, 57, 58}));
  });
  // While the generated tx could still enter a block its outcome is open, so the pool waits.
  EXPECT_EQ(code_of(service.confirm(kTenant, pool.id, "k")), "not_confirmed");
  clock.advance(std::chrono::minutes(11));  // past the generated tx's expiration
  auto confirmed = service.confirm(kTenant, pool.id, "k");
  ASSERT_TRUE(confirmed.ok()) << message_of(confirmed);
  EXPECT_EQ(confirmed->status, PoolStatus::kActive);
  EXPECT_EQ(confirmed->permission_id, 2);
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 2);
}

TEST_F(PoolServiceTest, ConfirmStateRules) {
  Pool own = create_own_pool();
  EXPECT_EQ(code_of(service.confirm(kTenant, own.id, "k")), "conflict");
  Pool pool = onboard(create_permission_pool());
  ASSERT_TRUE(service.update(kTenant, pool.id, {.status = PoolStatus::kDisabled}, "k").ok());
  EXPECT_EQ(code_of(service.confirm(kTenant, pool.id, "k")), "conflict");
  EXPECT_EQ(code_of(service.confirm(kOtherTenant, pool.id, "k")), "not_found");
}

// --- refresh: the monitor's rules --------------------------------------------------------------

TEST_F(PoolServiceTest, RevokedPermissionSuspendsThePool) {
  Pool pool = onboard(create_permission_pool());
  ASSERT_EQ(pool.status, PoolStatus::kActive);
  // The customer replaces its permissions without ours.
  node.update_account(kCustomer, [](chain::AccountInfo& a) { a.permissions.actives.resize(2); });
  auto outcome = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(outcome.ok()) << message_of(outcome);
  EXPECT_TRUE(outcome->suspended_now);
  EXPECT_EQ(outcome->pool.status, PoolStatus::kSuspended);
  EXPECT_EQ(outcome->reason.substr(0, 19), "permission_revoked:");
  EXPECT_EQ(stored(pool.id).status_reason, outcome->reason);
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  EXPECT_FALSE(signers->sign(delegate_tx(kCustomer, 4).raw_bytes()).ok());
  EXPECT_EQ(actions().back(), "pool.suspend");
  EXPECT_EQ(audit.events().back().actor, "pool-monitor");

  // Granting it again does not lift the suspension by itself: the operator confirms.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.push_back(relayer_permission());
  });
  auto again = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->pool.status, PoolStatus::kSuspended);
  EXPECT_FALSE(again->reactivated_now);
  auto confirmed = service.confirm(kTenant, pool.id, "k");
  ASSERT_TRUE(confirmed.ok()) << message_of(confirmed);
  EXPECT_EQ(confirmed->status, PoolStatus::kActive);
  EXPECT_TRUE(signers->is_admitted(kCustomer));
}

TEST_F(PoolServiceTest, AlteredPermissionSuspendsThePool) {
  struct Case {
    const char* what;
    Permission replacement;
    const char* says;
  };
  std::vector<Case> cases = {
      {"ops", relayer_permission({57}), "do not allow both"},
      {"weight", relayer_permission({57, 58}, 2, 1), "weight 1 is below its threshold 2"},
      {"key", relayer_permission({57, 58}, 1, 1, kStranger), "is not one of its keys"},
  };
  Pool pool = onboard(create_permission_pool());
  for (const auto& c : cases) {
    node.update_account(kCustomer,
                        [&](chain::AccountInfo& a) { a.permissions.actives[2] = c.replacement; });
    auto outcome = service.refresh(pool.id, std::nullopt);
    ASSERT_TRUE(outcome.ok());
    EXPECT_TRUE(outcome->suspended_now) << c.what;
    EXPECT_EQ(outcome->reason.substr(0, 19), "permission_altered:") << c.what;
    EXPECT_NE(outcome->reason.find(c.says), std::string::npos) << outcome->reason;
    EXPECT_FALSE(signers->is_admitted(kCustomer));
    // Restore and confirm for the next case.
    node.update_account(
        kCustomer, [](chain::AccountInfo& a) { a.permissions.actives[2] = relayer_permission(); });
    ASSERT_TRUE(service.confirm(kTenant, pool.id, "k").ok());
  }
}

TEST_F(PoolServiceTest, AMovedPermissionIsStillAChangeTheOperatorConfirms) {
  Pool pool = onboard(create_permission_pool());
  ASSERT_EQ(pool.permission_id, 4);
  // The customer dropped "ops": our permission moved from id 4 to id 3.
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.erase(a.permissions.actives.begin() + 1);
  });
  auto outcome = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->suspended_now);
  EXPECT_NE(outcome->reason.find("permission 3 is compatible: confirm the pool again"),
            std::string::npos)
      << outcome->reason;
  auto confirmed = service.confirm(kTenant, pool.id, "k");
  ASSERT_TRUE(confirmed.ok());
  EXPECT_EQ(confirmed->permission_id, 3);
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 3);
}

TEST_F(PoolServiceTest, LowBalanceSuspendsAndARefillBringsThePoolBack) {
  Pool pool = onboard(create_permission_pool({.min_reserve_sun = 200 * kTrx}));
  ASSERT_EQ(pool.status, PoolStatus::kActive);
  node.set_balance(kCustomer, 150 * kTrx);
  auto low = service.refresh(pool.id, kTenant);
  ASSERT_TRUE(low.ok());
  EXPECT_TRUE(low->suspended_now);
  EXPECT_EQ(low->reason.substr(0, 12), "low_balance:");
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  EXPECT_EQ(low->pool.snapshot->balance_sun, 150 * kTrx);

  // Still low: nothing changes.
  auto still = service.refresh(pool.id, kTenant);
  EXPECT_FALSE(still->suspended_now);
  EXPECT_FALSE(still->reactivated_now);
  EXPECT_EQ(still->pool.status, PoolStatus::kSuspended);

  node.set_balance(kCustomer, 200 * kTrx);
  auto back = service.refresh(pool.id, kTenant);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->reactivated_now);
  EXPECT_EQ(back->pool.status, PoolStatus::kActive);
  EXPECT_EQ(back->pool.status_reason, "");
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 4);
  EXPECT_EQ(actions().back(), "pool.reactivate");
}

TEST_F(PoolServiceTest, ALowBalancePoolWhosePermissionWentAwayWaitsForAConfirm) {
  Pool pool = onboard(create_permission_pool({.min_reserve_sun = 200 * kTrx}));
  node.set_balance(kCustomer, 150 * kTrx);
  ASSERT_TRUE(service.refresh(pool.id, std::nullopt)->suspended_now);
  node.set_balance(kCustomer, 300 * kTrx);
  node.update_account(kCustomer, [](chain::AccountInfo& a) { a.permissions.actives.resize(2); });
  auto outcome = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->reactivated_now);
  EXPECT_EQ(outcome->pool.status, PoolStatus::kSuspended);
  EXPECT_EQ(outcome->reason.substr(0, 19), "permission_revoked:");
  EXPECT_FALSE(signers->is_admitted(kCustomer));
}

TEST_F(PoolServiceTest, LowEnergyIsAnAlertNotASuspension) {
  Pool pool = onboard(create_permission_pool({.low_energy_alert = 49'500}));
  auto outcome = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->low_energy);  // 49,000 available
  EXPECT_EQ(outcome->pool.status, PoolStatus::kActive);
  ASSERT_TRUE(service.update(kTenant, pool.id, {.low_energy_alert = 49'000}, "k").ok());
  EXPECT_FALSE(service.refresh(pool.id, std::nullopt)->low_energy);
}

TEST_F(PoolServiceTest, AMissingAccountSuspendsAndItsReturnRestores) {
  Pool own = create_own_pool();
  auto before = node.get_account(kOwnPool);
  node.remove_account(kOwnPool);
  auto gone = service.refresh(own.id, std::nullopt);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->suspended_now);
  EXPECT_EQ(gone->reason.substr(0, 16), "account_missing:");
  EXPECT_FALSE(signers->is_admitted(kOwnPool));
  node.put_account(*before);
  auto back = service.refresh(own.id, std::nullopt);
  EXPECT_TRUE(back->reactivated_now);
  EXPECT_EQ(signers->admitted_permission_id(kOwnPool), 0);
}

TEST_F(PoolServiceTest, AChainFailureLeavesThePoolUntouched) {
  Pool pool = onboard(create_permission_pool());
  ASSERT_TRUE(service.update(kTenant, pool.id, {.min_reserve_sun = 1}, "k").ok());
  Pool before = stored(pool.id);
  clock.advance(std::chrono::minutes(1));
  // Fail each read in turn (the reads before it succeed): nothing is written.
  node.set_balance(kCustomer, 0);  // would suspend, if the refresh got that far
  for (const char* method : {"account", "account_resources", "can_delegate_max_sun"}) {
    node.fail_next(method, common::make_error("upstream_failed", "down"));
    auto outcome = service.refresh(pool.id, std::nullopt);
    EXPECT_EQ(code_of(outcome), "upstream_failed") << method;
    Pool after = stored(pool.id);
    EXPECT_EQ(after.status, PoolStatus::kActive);
    EXPECT_EQ(after.snapshot->observed_at, before.snapshot->observed_at);
    EXPECT_EQ(after.snapshot->balance_sun, before.snapshot->balance_sun);
    EXPECT_TRUE(signers->is_admitted(kCustomer));
  }
  // A store failure: an error, and the status stays.
  pools.failures.fail_next(common::make_error("store_failed", "db down"));
  EXPECT_EQ(code_of(service.refresh(pool.id, std::nullopt)), "store_failed");
  node.set_down(common::make_error("chain_unavailable", "all endpoints open"));
  EXPECT_EQ(code_of(service.refresh(pool.id, std::nullopt)), "chain_unavailable");
  EXPECT_EQ(stored(pool.id).status, PoolStatus::kActive);
}

TEST_F(PoolServiceTest, RefreshReadmitsActivePoolsTheSignersForgot) {
  Pool pool = onboard(create_permission_pool());
  signers->revoke_pool(kCustomer);  // as after a restart
  auto outcome = service.refresh(pool.id, std::nullopt);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->suspended_now);
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 4);
}

TEST_F(PoolServiceTest, PendingAndDisabledPoolsOnlyGetASnapshot) {
  Pool pending = create_permission_pool({.min_reserve_sun = 1000 * kTrx});
  auto outcome = service.refresh(pending.id, std::nullopt);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->pool.status, PoolStatus::kPending);
  EXPECT_FALSE(outcome->suspended_now);
  EXPECT_EQ(outcome->pool.snapshot->observed_at, clock.now());

  Pool own = create_own_pool();
  ASSERT_TRUE(service.update(kTenant, own.id, {.status = PoolStatus::kDisabled}, "k").ok());
  node.remove_account(kOwnPool);
  auto disabled = service.refresh(own.id, std::nullopt);
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->pool.status, PoolStatus::kDisabled);
  EXPECT_FALSE(disabled->suspended_now);
  EXPECT_FALSE(signers->is_admitted(kOwnPool));
}

TEST_F(PoolServiceTest, RefreshAllGoesOnWhenOnePoolFails) {
  Pool customer = onboard(create_permission_pool());
  Pool own = create_own_pool();  // newest: refreshed first
  node.remove_account(kOwnPool);
  node.fail_next(common::make_error("upstream_failed", "timeout"));  // the first read: own's
  auto outcomes = service.refresh_all();
  ASSERT_TRUE(outcomes.ok());
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_EQ((*outcomes)[0].pool.id, own.id);
  ASSERT_TRUE((*outcomes)[0].error);
  EXPECT_EQ((*outcomes)[0].error->code, "upstream_failed");
  EXPECT_EQ((*outcomes)[1].pool.id, customer.id);
  EXPECT_FALSE((*outcomes)[1].error);
  EXPECT_EQ((*outcomes)[1].pool.status, PoolStatus::kActive);

  // Next round: own's account is missing → suspended; deleted pools are skipped.
  auto next = service.refresh_all();
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE((*next)[0].suspended_now);
  ASSERT_TRUE(service.remove(kTenant, own.id, "k").ok());
  EXPECT_EQ(service.refresh_all()->size(), 1u);

  pools.failures.fail_next(common::make_error("store_failed", "db down"));
  EXPECT_EQ(code_of(service.refresh_all()), "store_failed");
}

// --- view, update, remove ----------------------------------------------------------------------

TEST_F(PoolServiceTest, ViewShowsTheLiveStatusBestEffort) {
  Pool pool = onboard(create_permission_pool());
  node.set_balance(kCustomer, 123 * kTrx);
  auto view = service.view(kTenant, pool.id);
  ASSERT_TRUE(view.ok()) << message_of(view);
  ASSERT_TRUE(view->live);
  EXPECT_EQ(view->live->balance_sun, 123 * kTrx);
  EXPECT_EQ(view->pool.snapshot->balance_sun, 400 * kTrx);  // view does not store
  EXPECT_EQ(view->capacity.delegatable_sun, 900 * kTrx);
  EXPECT_EQ(view->capacity.free_sun, 900 * kTrx);

  node.set_down(common::make_error("upstream_failed", "down"));
  auto offline = service.view(kTenant, pool.id);
  ASSERT_TRUE(offline.ok());
  EXPECT_FALSE(offline->live);
  EXPECT_EQ(offline->pool.id, pool.id);
  EXPECT_EQ(code_of(service.view(kOtherTenant, pool.id)), "not_found");
}

TEST_F(PoolServiceTest, ListIsPerTenant) {
  create_permission_pool();
  EXPECT_EQ(service.list(kTenant)->size(), 1u);
  EXPECT_TRUE(service.list(kOtherTenant)->empty());
}

TEST_F(PoolServiceTest, UpdateOnlyTogglesActiveAndDisabled) {
  Pool pool = onboard(create_permission_pool());
  auto disabled = service.update(kTenant, pool.id, {.status = PoolStatus::kDisabled}, "key:3");
  ASSERT_TRUE(disabled.ok()) << message_of(disabled);
  EXPECT_EQ(disabled->status, PoolStatus::kDisabled);
  EXPECT_EQ(disabled->status_reason, "disabled: disabled by key:3");
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  EXPECT_EQ(actions().back(), "pool.update");

  // Setting the status it has is a no-op.
  EXPECT_TRUE(service.update(kTenant, pool.id, {.status = PoolStatus::kDisabled}, "k").ok());
  for (PoolStatus s : {PoolStatus::kPending, PoolStatus::kSuspended, PoolStatus::kDeleted}) {
    EXPECT_EQ(code_of(service.update(kTenant, pool.id, {.status = s}, "k")), "conflict");
  }

  // Re-enabling checks the permission on chain first.
  node.update_account(kCustomer, [](chain::AccountInfo& a) { a.permissions.actives.resize(2); });
  EXPECT_EQ(code_of(service.update(kTenant, pool.id, {.status = PoolStatus::kActive}, "k")),
            "no_compatible_permission");
  EXPECT_EQ(stored(pool.id).status, PoolStatus::kDisabled);
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  node.update_account(kCustomer, [](chain::AccountInfo& a) {
    a.permissions.actives.push_back(relayer_permission());
  });
  auto enabled = service.update(kTenant, pool.id, {.status = PoolStatus::kActive}, "k");
  ASSERT_TRUE(enabled.ok()) << message_of(enabled);
  EXPECT_EQ(enabled->status, PoolStatus::kActive);
  EXPECT_EQ(enabled->status_reason, "");
  EXPECT_EQ(signers->admitted_permission_id(kCustomer), 4);

  // A pending pool cannot be enabled or disabled; a suspended one neither.
  Pool own = create_own_pool();
  node.set_balance(kOwnPool, 0);
  ASSERT_TRUE(service.update(kTenant, own.id, {.min_reserve_sun = 1}, "k").ok());
  ASSERT_TRUE(service.refresh(own.id, kTenant)->suspended_now);
  EXPECT_EQ(code_of(service.update(kTenant, own.id, {.status = PoolStatus::kActive}, "k")),
            "conflict");
  EXPECT_EQ(code_of(service.update(kTenant, own.id, {.status = PoolStatus::kDisabled}, "k")),
            "conflict");
}

TEST_F(PoolServiceTest, UpdateLimitsAndName) {
  Pool pool = create_permission_pool();
  auto updated = service.update(
      kTenant, pool.id,
      {.name = "renamed", .min_reserve_sun = 5, .max_delegate_sun = 10, .low_energy_alert = 3},
      "k");
  ASSERT_TRUE(updated.ok()) << message_of(updated);
  EXPECT_EQ(updated->name, "renamed");
  EXPECT_EQ(updated->min_reserve_sun, 5);
  EXPECT_EQ(updated->max_delegate_sun, 10);
  EXPECT_EQ(updated->low_energy_alert, 3);
  auto cleared = service.update(kTenant, pool.id,
                                {.clear_max_delegate = true, .clear_low_energy_alert = true}, "k");
  EXPECT_FALSE(cleared->max_delegate_sun);
  EXPECT_FALSE(cleared->low_energy_alert);
  EXPECT_EQ(code_of(service.update(kTenant, pool.id, {.min_reserve_sun = -1}, "k")),
            "invalid_request");
  EXPECT_EQ(code_of(service.update(kTenant, pool.id, {.max_delegate_sun = -1}, "k")),
            "invalid_request");
  EXPECT_EQ(code_of(service.update(kTenant, pool.id, {.name = ""}, "k")), "invalid_request");
  EXPECT_EQ(code_of(service.update(kOtherTenant, pool.id, {.name = "x"}, "k")), "not_found");
}

TEST_F(PoolServiceTest, RemoveWaitsForReservationsAndForgetsThePool) {
  Pool pool = onboard(create_permission_pool());
  auto reservation = pools.reserve(pool.id, 10 * kTrx, "lease:1", clock.now());
  ASSERT_TRUE(reservation.ok()) << message_of(reservation);
  EXPECT_TRUE(has_code(service.remove(kTenant, pool.id, "k"), "conflict"));
  EXPECT_TRUE(signers->is_admitted(kCustomer));
  ASSERT_TRUE(pools.release(reservation->id).ok());
  EXPECT_TRUE(has_code(service.remove(kOtherTenant, pool.id, "k"), "not_found"));
  ASSERT_TRUE(service.remove(kTenant, pool.id, "key:9").ok());
  EXPECT_FALSE(signers->is_admitted(kCustomer));
  EXPECT_EQ(code_of(service.view(kTenant, pool.id)), "not_found");
  EXPECT_EQ(actions().back(), "pool.delete");
  EXPECT_EQ(audit.events().back().actor, "key:9");
  // The address is free again.
  EXPECT_TRUE(service.create(kTenant, {.address = kCustomer, .name = "again"}, "k").ok());
}

// --- stake / unstake ---------------------------------------------------------------------------

TEST_F(PoolServiceTest, StakeAndUnstakeOwnPools) {
  Pool own = create_own_pool();
  auto staked = service.stake(kTenant, own.id, Sun(10 * kTrx), "key:1");
  ASSERT_TRUE(staked.ok()) << message_of(staked);
  EXPECT_TRUE(staked->result.accepted);
  auto sent = node.broadcasts();
  ASSERT_EQ(sent.size(), 1u);
  const Transaction& tx = sent[0];
  EXPECT_EQ(tx.txid(), staked->txid);
  EXPECT_EQ(tx.contract_type(), protocol::Transaction_Contract::FreezeBalanceV2Contract);
  EXPECT_EQ(tx.permission_id(), 0);
  EXPECT_EQ(tx.owner(), kOwnPool);
  const auto& freeze = *tx.parameter_as<protocol::FreezeBalanceV2Contract>();
  EXPECT_EQ(freeze.frozen_balance(), 10 * kTrx);
  EXPECT_EQ(freeze.resource(), protocol::ENERGY);
  EXPECT_EQ(tx.raw().expiration(), node.head().timestamp_ms + 60'000);
  ASSERT_EQ(tx.signatures().size(), 1u);
  EXPECT_EQ(*common::recover_signer(tx.txid(), tx.signatures()[0]), kOwnPool);
  EXPECT_EQ(actions().back(), "pool.stake");

  auto unstaked = service.unstake(kTenant, own.id, Sun(5 * kTrx), "key:1");
  ASSERT_TRUE(unstaked.ok()) << message_of(unstaked);
  auto both = node.broadcasts();
  ASSERT_EQ(both.size(), 2u);
  const Transaction& un = both[1];
  EXPECT_EQ(un.contract_type(), protocol::Transaction_Contract::UnfreezeBalanceV2Contract);
  EXPECT_EQ(un.parameter_as<protocol::UnfreezeBalanceV2Contract>()->unfreeze_balance(), 5 * kTrx);
  EXPECT_EQ(actions().back(), "pool.unstake");
  node.mine();
  EXPECT_EQ(node.get_account(kOwnPool)->frozen_energy_sun, 2005 * kTrx);
}

TEST_F(PoolServiceTest, StakeRefusals) {
  Pool own = create_own_pool();
  EXPECT_EQ(code_of(service.stake(kTenant, own.id, Sun(kTrx - 1), "k")), "invalid_request");
  EXPECT_EQ(code_of(service.unstake(kTenant, own.id, Sun(0), "k")), "invalid_request");
  node.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "frozenBalance must be less than or equal to accountBalance",
                         .txid = {}});
  auto rejected = service.stake(kTenant, own.id, Sun(10'000 * kTrx), "k");
  EXPECT_EQ(code_of(rejected), "broadcast_rejected");
  EXPECT_EQ(message_of(rejected).rfind("CONTRACT_VALIDATE_ERROR: ", 0), 0u);

  Pool customer = onboard(create_permission_pool());
  EXPECT_EQ(code_of(service.stake(kTenant, customer.id, Sun(10 * kTrx), "k")), "conflict");
  EXPECT_EQ(code_of(service.unstake(kTenant, customer.id, Sun(10 * kTrx), "k")), "conflict");
  EXPECT_EQ(code_of(service.stake(kOtherTenant, own.id, Sun(10 * kTrx), "k")), "not_found");

  ASSERT_TRUE(service.update(kTenant, own.id, {.status = PoolStatus::kDisabled}, "k").ok());
  EXPECT_EQ(code_of(service.stake(kTenant, own.id, Sun(10 * kTrx), "k")), "conflict");
}

TEST_F(PoolServiceTest, AuditDetailsNeverCarrySecrets) {
  Pool own = create_own_pool();
  ASSERT_TRUE(service.stake(kTenant, own.id, Sun(10 * kTrx), "key:1").ok());
  onboard(create_permission_pool());
  for (const auto& e : audit.events()) {
    for (const char* secret : {kRelayerKey, kCustomerKey, kOwnKey, "11111111", "33333333"}) {
      EXPECT_EQ(e.details_json.find(secret), std::string::npos) << e.details_json;
    }
  }
}

}  // namespace
}  // namespace relay::energy
