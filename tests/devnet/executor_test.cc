// The devnet's rules, one accepting and one rejecting case each, with java-tron's codes and texts.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "chain/builders.h"
#include "chain/permission.h"
#include "common/json.h"
#include "devnet/node.h"
#include "devnet/resources.h"
#include "signer/signer.h"

namespace relay::devnet {
namespace {

using chain::Transaction;
using common::Address;
using common::Sun;

constexpr const char* kK1 = "0000000000000000000000000000000000000000000000000000000000000001";
constexpr const char* kK2 = "1234567890123456789012345678901234567890123456789012345678901234";
constexpr const char* kK3 = "279ff36d9bf9f305af3280034bb4187c6dd299bac6b26a3c20b999c7c0d50e6e";
// The demo customer's key: SHA-256 of "tronrelay devnet demo customer" (devnet/demo-accounts.json).
constexpr const char* kK4 = "2dc840d47b6c5f33704653740b95e6a1fdc1013f2fdd9a390a2b310ee7d249dd";

// K1's energy stake: about 1.1 million energy at the mainnet-like network ratio.
constexpr int64_t kStakeTrx = 100'000;

Address address_of_key(const char* key) {
  return *signer::address_of(*signer::SecretKey::from_hex(key));
}

class DevnetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    k1 = address_of_key(kK1);
    k2 = address_of_key(kK2);
    k3 = address_of_key(kK3);
    Genesis genesis;
    genesis.timestamp_ms = clock.now_ms();
    genesis.accounts.push_back(
        {k1, 1'000'000 * kSunPerTrx, kStakeTrx * kSunPerTrx, 0, 1'000'000'000});
    genesis.accounts.push_back({k3, 10 * kSunPerTrx, 0, 0, 0});
    node = std::make_unique<Node>(genesis, clock);
    clock.advance(std::chrono::seconds(3));
    node->produce_block();
  }

  // Replaces the fixture's chain with one started from `genesis_json` (checked by parse_genesis).
  void start_from(const std::string& genesis_json) {
    auto genesis = parse_genesis(genesis_json);
    ASSERT_TRUE(genesis.ok()) << genesis.error().message;
    genesis->timestamp_ms = clock.now_ms();
    node = std::make_unique<Node>(*genesis, clock);
    clock.advance(std::chrono::seconds(3));
    node->produce_block();
  }

  chain::TxHeader header(int32_t permission_id = 0) {
    return node->read([&](const ChainState& s) {
      chain::TxHeader h;
      h.tapos = *chain::TaposRef::from_block(s.head().number, s.head().id);
      h.expiration_ms = s.head().timestamp_ms + 60'000;
      h.timestamp_ms = clock.now_ms() + (++counter_);  // distinct txids for identical contracts
      h.permission_id = permission_id;
      return h;
    });
  }

  Transaction sign(Transaction tx, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      signer::SigningPolicy policy;
      policy.allowed_contract_types = {static_cast<int>(tx.contract_type())};
      policy.allowed_owners = {tx.owner()};
      policy.max_fee_limit_sun = INT64_MAX;
      auto s = signer::LocalSigner::create(*signer::SecretKey::from_hex(key), policy);
      tx.add_signature(*(*s)->sign_transaction(tx.raw_bytes()));
    }
    return tx;
  }
  Transaction sign(Transaction tx, const char* key) { return sign(std::move(tx), {key}); }

  ApplyResult send(const common::Result<Transaction>& tx, const char* key) {
    EXPECT_TRUE(tx.ok()) << (tx.ok() ? "" : tx.error().message);
    return node->broadcast(sign(*tx, key));
  }

  Account account(const Address& a) {
    return node->read([&](const ChainState& s) { return *s.find_account(a); });
  }
  bool exists(const Address& a) {
    return node->read([&](const ChainState& s) { return s.find_account(a) != nullptr; });
  }
  int64_t now() {
    return node->read([](const ChainState& s) { return s.head().timestamp_ms; });
  }

  common::ManualClock clock = common::ManualClock::at_ms(1'800'000'000'000);
  std::unique_ptr<Node> node;
  Address k1, k2, k3;

 private:
  int counter_ = 0;
};

Receipt expect_ok(const ApplyResult& result) {
  if (const auto* error = std::get_if<BroadcastError>(&result)) {
    ADD_FAILURE() << error->code << ": " << error->message;
    return {};
  }
  return std::get<Receipt>(result);
}

void expect_refused(const ApplyResult& result, const std::string& code,
                    const std::string& message) {
  const auto* error = std::get_if<BroadcastError>(&result);
  ASSERT_NE(error, nullptr) << "accepted, expected " << code;
  EXPECT_EQ(error->code, code);
  EXPECT_NE(error->message.find(message), std::string::npos) << error->message;
}

Address fresh(uint8_t seed) { return Address::from_id20(common::Bytes(20, seed)); }

// ---- transaction-level checks ----

TEST_F(DevnetTest, SignatureMustComeFromThePermission) {
  expect_ok(send(chain::build_transfer(header(), k1, k3, Sun(1)), kK1));
  expect_refused(send(chain::build_transfer(header(), k1, k3, Sun(1)), kK2), "SIGERROR",
                 "Validate signature error: ");
  expect_refused(send(chain::build_transfer(header(), k1, k3, Sun(1)), kK2), "SIGERROR",
                 "but it is not contained of permission.");
  auto unsigned_tx = chain::build_transfer(header(), k1, k3, Sun(1));
  expect_refused(node->broadcast(*unsigned_tx), "SIGERROR", "miss sig or contract");
  auto twice = sign(*chain::build_transfer(header(), k1, k3, Sun(1)), {kK1, kK1});
  expect_refused(node->broadcast(twice), "SIGERROR",
                 "Signature count is 2 more than key counts of permission : 1");
}

TEST_F(DevnetTest, TaposMustReferenceARecentBlockOfThisChain) {
  auto h = header();
  h.tapos.ref_block_hash[0] ^= 0xff;
  expect_refused(send(chain::build_transfer(h, k1, k3, Sun(1)), kK1), "TAPOS_ERROR",
                 "Tapos check error.");
  auto future = header();
  future.tapos.ref_block_bytes = {0x12, 0x34};
  expect_refused(send(chain::build_transfer(future, k1, k3, Sun(1)), kK1), "TAPOS_ERROR",
                 "Tapos check error.");
}

TEST_F(DevnetTest, ExpirationWindow) {
  auto h = header();
  h.expiration_ms = now() + 2'999;  // cannot make the next block
  expect_refused(send(chain::build_transfer(h, k1, k3, Sun(1)), kK1),
                 "TRANSACTION_EXPIRATION_ERROR", "Transaction expired");
  h.expiration_ms = now();
  expect_refused(send(chain::build_transfer(h, k1, k3, Sun(1)), kK1),
                 "TRANSACTION_EXPIRATION_ERROR", "Transaction expired");
  h.expiration_ms = now() + 86'400'001;
  expect_refused(send(chain::build_transfer(h, k1, k3, Sun(1)), kK1),
                 "TRANSACTION_EXPIRATION_ERROR", "Transaction expired");
  h.expiration_ms = now() + 86'400'000;
  expect_ok(send(chain::build_transfer(h, k1, k3, Sun(1)), kK1));
}

TEST_F(DevnetTest, DuplicateIsRefused) {
  auto tx = sign(*chain::build_transfer(header(), k1, k3, Sun(1)), kK1);
  expect_ok(node->broadcast(tx));
  expect_refused(node->broadcast(tx), "DUP_TRANSACTION_ERROR", "Dup transaction.");
  node->produce_block();
  expect_refused(node->broadcast(tx), "DUP_TRANSACTION_ERROR", "Dup transaction.");
}

TEST_F(DevnetTest, BandwidthFreeThenBurnThenRefused) {
  // K3 has no staked bandwidth: 600 free points a day, then 1,000 sun per byte.
  auto first = expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  EXPECT_GT(first.net_usage, 0);
  EXPECT_EQ(first.net_fee, 0);
  EXPECT_EQ(first.fee, 0);
  expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  auto third = expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  EXPECT_EQ(third.net_usage, 0);
  EXPECT_EQ(third.net_fee, third.fee);
  EXPECT_EQ(third.net_fee % 1000, 0);
  // An account whose balance cannot pay the burn.
  // Fees come first: leave K3 with a few thousand sun, far below another burn.
  int64_t all = account(k3).balance;
  expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(all - third.net_fee - 10'000)), kK3));
  EXPECT_LT(account(k3).balance, 20'000);
  expect_refused(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3), "BANDWITH_ERROR",
                 "Account resource insufficient error.");
}

TEST_F(DevnetTest, FreeBandwidthRecoversOverADay) {
  for (int i = 0; i < 2; ++i) expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  auto burned = expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  EXPECT_GT(burned.net_fee, 0);
  node->advance_time(86'400);
  auto free_again = expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  EXPECT_EQ(free_again.net_fee, 0);
}

// ---- TransferContract and activation ----

TEST_F(DevnetTest, TransferActivatesANewAccountForAFee) {
  Address fresh_account = fresh(0x51);
  int64_t before = account(k1).balance;
  auto receipt =
      expect_ok(send(chain::build_transfer(header(), k1, fresh_account, Sun(5'000'000)), kK1));
  EXPECT_TRUE(exists(fresh_account));
  EXPECT_EQ(account(fresh_account).balance, 5'000'000);
  // 1 TRX account-creation fee, plus 0.1 TRX because K1 has no staked bandwidth.
  EXPECT_EQ(receipt.fee, 1'000'000 + 100'000);
  EXPECT_EQ(account(k1).balance, before - 5'000'000 - receipt.fee);
  // Existing active permission is the default one, id 2.
  EXPECT_EQ(account(fresh_account).permissions.actives.at(0).id(), 2);
}

TEST_F(DevnetTest, TransferRefusals) {
  expect_refused(
      send(chain::build_transfer(header(), k3, k1, Sun(11 * kSunPerTrx)), kK3),
      "CONTRACT_VALIDATE_ERROR",
      "Contract validate error : Validate TransferContract error, balance is not sufficient.");
  auto self = chain::build_transfer(header(), k1, k1, Sun(1));
  expect_refused(send(self, kK1), "CONTRACT_VALIDATE_ERROR", "Cannot transfer TRX to yourself.");
  // K2 does not exist: its signature passes the default permissions, then bandwidth finds no payer.
  expect_refused(send(chain::build_transfer(header(), k2, k1, Sun(1)), kK2),
                 "CONTRACT_VALIDATE_ERROR",
                 "Contract validate error : account [" + k2.to_base58() + "] does not exist");
}

// ---- Stake 2.0 ----

TEST_F(DevnetTest, FreezeGivesEnergyByTheNetworkRatio) {
  int64_t limit_before =
      node->read([&](const ChainState& s) { return energy_limit(s, *s.find_account(k1)); });
  expect_ok(
      send(chain::build_freeze_balance_v2(header(), k1, Sun(1'000 * kSunPerTrx), protocol::ENERGY),
           kK1));
  node->read([&](const ChainState& s) {
    const Account& a = *s.find_account(k1);
    EXPECT_EQ(a.frozen_energy, (kStakeTrx + 1'000) * kSunPerTrx);
    double ratio = static_cast<double>(s.params.total_energy_limit()) / s.total_energy_weight;
    EXPECT_EQ(energy_limit(s, a), static_cast<int64_t>((kStakeTrx + 1'000.0) * ratio));
    EXPECT_GT(energy_limit(s, a), limit_before);
    return 0;
  });
  expect_refused(
      send(chain::build_freeze_balance_v2(header(), k1, Sun(999'999), protocol::ENERGY), kK1),
      "CONTRACT_VALIDATE_ERROR", "frozenBalance must be greater than or equal to 1 TRX");
  expect_refused(
      send(chain::build_freeze_balance_v2(header(), k3, Sun(11 * kSunPerTrx), protocol::ENERGY),
           kK3),
      "CONTRACT_VALIDATE_ERROR", "frozenBalance must be less than or equal to accountBalance");
}

TEST_F(DevnetTest, UnfreezeStartsTheDelay) {
  expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(100 * kSunPerTrx), protocol::ENERGY),
           kK1));
  Account a = account(k1);
  EXPECT_EQ(a.frozen_energy, (kStakeTrx - 100) * kSunPerTrx);
  ASSERT_EQ(a.unfreezing.size(), 1u);
  EXPECT_EQ(a.unfreezing[0].expire_ms, now() + 14 * 86'400'000LL);
  expect_refused(send(chain::build_unfreeze_balance_v2(
                          header(), k1, Sun((kStakeTrx - 99) * kSunPerTrx), protocol::ENERGY),
                      kK1),
                 "CONTRACT_VALIDATE_ERROR", "Invalid unfreeze_balance");
  expect_refused(
      send(chain::build_unfreeze_balance_v2(header(), k3, Sun(kSunPerTrx), protocol::ENERGY), kK3),
      "CONTRACT_VALIDATE_ERROR", "no frozenBalance(Energy)");
}

TEST_F(DevnetTest, DelegateAndUndelegate) {
  auto receipt = expect_ok(send(
      chain::build_delegate_resource(header(), k1, k3, Sun(100 * kSunPerTrx), protocol::ENERGY),
      kK1));
  EXPECT_GT(receipt.net_usage + receipt.net_fee, 0);
  node->read([&](const ChainState& s) {
    EXPECT_EQ(s.find_account(k1)->delegated_energy, 100 * kSunPerTrx);
    EXPECT_EQ(s.find_account(k3)->acquired_energy, 100 * kSunPerTrx);
    EXPECT_GT(energy_limit(s, *s.find_account(k3)), 0);
    EXPECT_EQ(can_delegate_max(s, *s.find_account(k1), protocol::ENERGY, s.head().timestamp_ms),
              (kStakeTrx - 100) * kSunPerTrx);
    return 0;
  });
  expect_ok(send(
      chain::build_undelegate_resource(header(), k1, k3, Sun(100 * kSunPerTrx), protocol::ENERGY),
      kK1));
  EXPECT_EQ(account(k1).frozen_energy, kStakeTrx * kSunPerTrx);
  EXPECT_EQ(account(k3).acquired_energy, 0);
  expect_refused(
      send(chain::build_undelegate_resource(header(), k1, k3, Sun(kSunPerTrx), protocol::ENERGY),
           kK1),
      "CONTRACT_VALIDATE_ERROR", "delegated Resource does not exist");
}

TEST_F(DevnetTest, DelegateRefusals) {
  auto refuse = [&](Address receiver, int64_t balance, chain::DelegateLock lock,
                    const std::string& message) {
    expect_refused(send(chain::build_delegate_resource(header(), k1, receiver, Sun(balance),
                                                       protocol::ENERGY, lock),
                        kK1),
                   "CONTRACT_VALIDATE_ERROR", message);
  };
  refuse(k3, 999'999, {}, "delegateBalance must be greater than or equal to 1 TRX");
  refuse(k3, (kStakeTrx + 1) * kSunPerTrx, {},
         "delegateBalance must be less than or equal to available FreezeEnergyV2 balance");
  refuse(fresh(0x61), kSunPerTrx, {}, "Account[" + fresh(0x61).to_hex() + "] not exists");
  refuse(usdt_address(), kSunPerTrx, {}, "Do not allow delegate resources to contract addresses");
  refuse(k3, kSunPerTrx, {true, 864'001},
         "The lock period of delegate resource cannot be less than 0 and cannot exceed 864000!");
  // BANDWIDTH needs bandwidth stake.
  expect_refused(
      send(chain::build_delegate_resource(header(), k1, k3, Sun(kSunPerTrx), protocol::BANDWIDTH),
           kK1),
      "CONTRACT_VALIDATE_ERROR", "available FreezeBandwidthV2 balance");
}

TEST_F(DevnetTest, LockedDelegationCannotBeReclaimedEarly) {
  expect_ok(send(chain::build_delegate_resource(header(), k1, k3, Sun(10 * kSunPerTrx),
                                                protocol::ENERGY, {true, 100}),
                 kK1));
  expect_refused(send(chain::build_undelegate_resource(header(), k1, k3, Sun(10 * kSunPerTrx),
                                                       protocol::ENERGY),
                      kK1),
                 "CONTRACT_VALIDATE_ERROR",
                 "insufficient delegateFrozenBalance(Energy), request=10000000, unlock_balance=0");
  // A new lock may not end before the current one.
  expect_refused(send(chain::build_delegate_resource(header(), k1, k3, Sun(kSunPerTrx),
                                                     protocol::ENERGY, {true, 10}),
                      kK1),
                 "CONTRACT_VALIDATE_ERROR",
                 "The lock period for ENERGY this time cannot be less than the remaining time");
  // Unlocked and locked delegations are separate records.
  expect_ok(
      send(chain::build_delegate_resource(header(), k1, k3, Sun(5 * kSunPerTrx), protocol::ENERGY),
           kK1));
  expect_ok(send(
      chain::build_undelegate_resource(header(), k1, k3, Sun(5 * kSunPerTrx), protocol::ENERGY),
      kK1));
  node->advance_time(301);  // 100 blocks of 3 s
  expect_ok(send(
      chain::build_undelegate_resource(header(), k1, k3, Sun(10 * kSunPerTrx), protocol::ENERGY),
      kK1));
}

TEST_F(DevnetTest, UndelegateMovesUsageBackToThePool) {
  expect_ok(send(
      chain::build_delegate_resource(header(), k1, k3, Sun(10'000 * kSunPerTrx), protocol::ENERGY),
      kK1));
  auto usdt = chain::build_trc20_transfer(
      [&] {
        auto h = header();
        h.fee_limit_sun = 100 * kSunPerTrx;
        return h;
      }(),
      k3, usdt_address(), k1, chain::Uint256::from_u64(1));
  // K3 has no USDT: the call reverts but still spends energy from the delegated stake.
  auto reverted = expect_ok(send(usdt, kK3));
  EXPECT_EQ(reverted.contract_result, "REVERT");
  EXPECT_EQ(reverted.energy_usage, kUsdtRevertEnergy);
  int64_t receiver_usage = account(k3).energy.at(now());
  EXPECT_GT(receiver_usage, 0);
  expect_ok(send(chain::build_undelegate_resource(header(), k1, k3, Sun(10'000 * kSunPerTrx),
                                                  protocol::ENERGY),
                 kK1));
  EXPECT_EQ(account(k3).energy.at(now()), 0);
  EXPECT_EQ(account(k1).energy.at(now()), receiver_usage);
}

// ---- AccountPermissionUpdate and using a permission ----

TEST_F(DevnetTest, PermissionUpdateThenRelayerDelegatesUnderPermissionTwo) {
  auto owner = *chain::PermissionBuilder::owner().key(k1, 1).build();
  auto relayer =
      *chain::PermissionBuilder::active("relayer").key(k2, 1).allow(57).allow(58).build();
  int64_t before = account(k1).balance;
  auto receipt = expect_ok(send(
      chain::build_account_permission_update(header(), k1, owner, std::nullopt, {relayer}), kK1));
  EXPECT_EQ(receipt.fee - receipt.net_fee, 100 * kSunPerTrx);
  EXPECT_EQ(account(k1).balance, before - receipt.fee);
  ASSERT_EQ(account(k1).permissions.actives.size(), 1u);
  EXPECT_EQ(account(k1).permissions.actives[0].id(), 2);

  // The relayer key signs a delegation under Permission_id 2; the pool (K1) pays.
  expect_ok(send(
      chain::build_delegate_resource(header(2), k1, k3, Sun(kSunPerTrx), protocol::ENERGY), kK2));
  // ...but not a transfer, whose bit is not in the permission,
  expect_refused(send(chain::build_transfer(header(2), k1, k3, Sun(1)), kK2), "SIGERROR",
                 "Permission denied");
  // ...nor anything under the owner permission,
  expect_refused(
      send(chain::build_delegate_resource(header(0), k1, k3, Sun(kSunPerTrx), protocol::ENERGY),
           kK2),
      "SIGERROR", "but it is not contained of permission.");
  // ...and permission 3 does not exist.
  expect_refused(
      send(chain::build_delegate_resource(header(3), k1, k3, Sun(kSunPerTrx), protocol::ENERGY),
           kK2),
      "SIGERROR", "permission isn't exit");
}

TEST_F(DevnetTest, PermissionUpdateRefusals) {
  auto owner = *chain::PermissionBuilder::owner().key(k3, 1).build();
  auto active = *chain::PermissionBuilder::active("a").key(k3, 1).allow(57).build();
  // K3 has 10 TRX: the 100 TRX fee fails at execution, not validation.
  expect_refused(
      send(chain::build_account_permission_update(header(), k3, owner, std::nullopt, {active}),
           kK3),
      "CONTRACT_EXE_ERROR",
      "Contract execute error : " + k3.to_hex() + " insufficient balance, balance: ");
  EXPECT_EQ(account(k3).balance, 10 * kSunPerTrx);  // the refused update cost nothing
  protocol::Permission heavy = active;
  heavy.set_threshold(5);
  expect_refused(
      send(chain::build_account_permission_update(header(), k1, owner, std::nullopt, {heavy}), kK1),
      "CONTRACT_VALIDATE_ERROR",
      "sum of all key's weight should not be less than threshold in permission Active");
  protocol::Permission bad_ops = active;
  bad_ops.set_operations("\x01");
  expect_refused(
      send(chain::build_account_permission_update(header(), k1, owner, std::nullopt, {bad_ops}),
           kK1),
      "CONTRACT_VALIDATE_ERROR", "operations size must 32");
}

TEST_F(DevnetTest, MultiSignatureThresholdAndFee) {
  auto owner = *chain::PermissionBuilder::owner().key(k1, 1).build();
  auto pair =
      *chain::PermissionBuilder::active("pair").threshold(2).key(k2, 1).key(k3, 1).allow(1).build();
  expect_ok(
      send(chain::build_account_permission_update(header(), k1, owner, std::nullopt, {pair}), kK1));
  auto one = sign(*chain::build_transfer(header(2), k1, k3, Sun(1)), {kK2});
  expect_refused(node->broadcast(one), "SIGERROR", "sig error");
  auto dup = sign(*chain::build_transfer(header(2), k1, k3, Sun(1)), {kK2, kK2});
  expect_refused(node->broadcast(dup), "SIGERROR", "has signed twice!");
  auto both = sign(*chain::build_transfer(header(2), k1, k3, Sun(1)), {kK2, kK3});
  auto receipt = expect_ok(node->broadcast(both));
  EXPECT_GE(receipt.fee, 1'000'000);  // getMultiSignFee for more than one signature
}

// ---- USDT ----

chain::TxHeader with_fee_limit(chain::TxHeader h, int64_t fee_limit) {
  h.fee_limit_sun = fee_limit;
  return h;
}

TEST_F(DevnetTest, UsdtTransferCostsAndPays) {
  auto to_new = expect_ok(
      send(chain::build_trc20_transfer(with_fee_limit(header(), 30 * kSunPerTrx), k1,
                                       usdt_address(), k3, chain::Uint256::from_u64(1'000'000)),
           kK1));
  EXPECT_EQ(to_new.contract_result, "SUCCESS");
  EXPECT_EQ(to_new.energy_usage_total, kUsdtTransferEnergyToNewHolder);
  EXPECT_EQ(to_new.energy_usage, kUsdtTransferEnergyToNewHolder);  // K1's own stake covers it
  EXPECT_EQ(to_new.energy_fee, 0);
  ASSERT_EQ(to_new.logs.size(), 1u);
  auto to_holder =
      expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), 30 * kSunPerTrx), k1,
                                                 usdt_address(), k3, chain::Uint256::from_u64(1)),
                     kK1));
  EXPECT_EQ(to_holder.energy_usage_total, kUsdtTransferEnergyToHolder);
  node->read([&](const ChainState& s) {
    EXPECT_EQ(s.usdt_balances.at(k3), 1'000'001);
    EXPECT_EQ(s.usdt_balances.at(k1), 1'000'000'000 - 1'000'001);
    return 0;
  });
}

TEST_F(DevnetTest, UsdtBurnsTrxWithoutEnergyAndRunsOutOfEnergyUnderALowFeeLimit) {
  node->write([&](ChainState& s) { return s.usdt_balances[k3] = 5'000'000; });
  int64_t fee = 100;  // getEnergyFee
  auto burned =
      expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), 8 * kSunPerTrx), k3,
                                                 usdt_address(), k1, chain::Uint256::from_u64(1)),
                     kK3));
  EXPECT_EQ(burned.contract_result, "SUCCESS");
  EXPECT_EQ(burned.energy_fee, kUsdtTransferEnergyToHolder * fee);

  int64_t balance = account(k3).balance;
  auto starved =
      expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), kSunPerTrx), k3,
                                                 usdt_address(), k1, chain::Uint256::from_u64(1)),
                     kK3));
  EXPECT_EQ(starved.contract_result, "OUT_OF_ENERGY");
  EXPECT_TRUE(starved.failed);
  EXPECT_EQ(starved.energy_fee, kSunPerTrx);  // all of fee_limit
  EXPECT_EQ(account(k3).balance, balance - starved.fee);
  node->read([&](const ChainState& s) {
    EXPECT_EQ(s.usdt_balances.at(k3), 4'999'999);  // the failed transfer moved nothing
    return 0;
  });
  expect_refused(send(chain::build_trc20_transfer(with_fee_limit(header(), 15'001 * kSunPerTrx), k3,
                                                  usdt_address(), k1, chain::Uint256::from_u64(1)),
                      kK3),
                 "CONTRACT_VALIDATE_ERROR", "feeLimit must be >= 0 and <= 15000000000");
}

TEST_F(DevnetTest, FeeLimitCapsStakedEnergyToo) {
  // K1 has about a million energy, but fee_limit 1 TRX allows only 10,000 energy in all.
  auto capped =
      expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), kSunPerTrx), k1,
                                                 usdt_address(), k3, chain::Uint256::from_u64(1)),
                     kK1));
  EXPECT_EQ(capped.contract_result, "OUT_OF_ENERGY");
  EXPECT_EQ(capped.energy_usage_total, 10'000);
  EXPECT_EQ(capped.energy_usage, 10'000);
  EXPECT_EQ(capped.energy_fee, 0);
}

TEST_F(DevnetTest, FeesAreTakenBeforeTheActuatorValidates) {
  // K3 holds 10 TRX and has used its free bandwidth: a transfer of its whole balance fails because
  // the bandwidth burn comes first, and the failed attempt costs nothing.
  for (int i = 0; i < 2; ++i) expect_ok(send(chain::build_transfer(header(), k3, k1, Sun(1)), kK3));
  int64_t balance = account(k3).balance;
  expect_refused(send(chain::build_transfer(header(), k3, k1, Sun(balance)), kK3),
                 "CONTRACT_VALIDATE_ERROR", "balance is not sufficient");
  EXPECT_EQ(account(k3).balance, balance);
}

TEST_F(DevnetTest, EnergyRecoversLinearlyOverADay) {
  expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), 30 * kSunPerTrx), k1,
                                             usdt_address(), k3, chain::Uint256::from_u64(1)),
                 kK1));
  int64_t used = account(k1).energy.at(now());
  EXPECT_EQ(used, kUsdtTransferEnergyToNewHolder);
  node->advance_time(43'200);  // half a day
  int64_t half = account(k1).energy.at(now());
  EXPECT_NEAR(static_cast<double>(half), used / 2.0, used * 0.01);
  node->advance_time(43'200);
  EXPECT_EQ(account(k1).energy.at(now()), 0);
}

// ---- blocks and state ----

TEST_F(DevnetTest, BlockIdsCarryTheirNumberAndChainTogether) {
  node->mine(3);
  node->read([&](const ChainState& s) {
    for (size_t i = 1; i < s.blocks.size(); ++i) {
      const Block& b = s.blocks[i];
      int64_t number = 0;
      for (int k = 0; k < 8; ++k) number = number << 8 | b.id[k];
      EXPECT_EQ(number, b.number);
      EXPECT_EQ(b.parent, s.blocks[i - 1].id);
      EXPECT_GT(b.timestamp_ms, s.blocks[i - 1].timestamp_ms);
    }
    return 0;
  });
  int64_t head_before = node->read([](const ChainState& s) { return s.head().number; });
  node->advance_time(30);
  EXPECT_EQ(node->read([](const ChainState& s) { return s.head().number; }), head_before + 10);
}

TEST_F(DevnetTest, StateSurvivesSaveAndLoad) {
  expect_ok(send(chain::build_delegate_resource(header(), k1, k3, Sun(10 * kSunPerTrx),
                                                protocol::ENERGY, {true, 50}),
                 kK1));
  node->produce_block();
  auto loaded = Node::load_state(node->save_state(), clock);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ((*loaded)->save_state(), node->save_state());
}

// ---- permission pools: onboarding as java-tron sees it ----

// A customer (K4) that already uses an extra active permission: "ops", id 2, lets K3 send TRX.
constexpr const char* kCustomerGenesis = R"({
  "accounts": [
    {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 1000000000000},
    {"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "balance_sun": 10000000},
    {"address": "TKmC88stGsuiiFwBMxWZWDf3TaD7AEMoiJ", "balance_sun": 1000000000,
     "frozen_energy_sun": 10000000000,
     "active_permission": [{"type": "Active", "id": 2, "permission_name": "ops", "threshold": 1,
       "operations": [1], "keys": [{"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "weight": 1}]}]}
  ]
})";

std::string refusal_text(const ApplyResult& result) {
  const auto* error = std::get_if<BroadcastError>(&result);
  return error == nullptr ? "accepted" : error->code + ": " + error->message;
}

TEST_F(DevnetTest, PermissionPoolOnboardingKeepsExistingActivesAndAppendsTheRelayer) {
  start_from(kCustomerGenesis);
  Address customer = address_of_key(kK4);
  const Account before = account(customer);
  ASSERT_EQ(before.permissions.actives.size(), 1u);
  const protocol::Permission ops = before.permissions.actives[0];
  EXPECT_EQ(ops.id(), 2);
  EXPECT_EQ(ops.permission_name(), "ops");

  // Owner and every existing active, unchanged and in order, then the relayer's permission.
  auto relayer =
      *chain::PermissionBuilder::active("relayer").key(k2, 1).allow(57).allow(58).build();
  int64_t fee =
      node->read([](const ChainState& s) { return s.params.update_account_permission_fee(); });
  EXPECT_EQ(fee, 100 * kSunPerTrx);
  auto update = expect_ok(
      send(chain::build_account_permission_update(header(), customer, before.permissions.owner,
                                                  std::nullopt, {ops, relayer}),
           kK4));
  EXPECT_EQ(update.fee - update.net_fee, fee);  // burned on top of bandwidth
  EXPECT_EQ(account(customer).balance, before.balance - update.fee);
  const Account after = account(customer);
  ASSERT_EQ(after.permissions.actives.size(), 2u);
  EXPECT_EQ(after.permissions.actives[0].SerializeAsString(), ops.SerializeAsString());
  EXPECT_EQ(after.permissions.actives[1].id(), 3);
  EXPECT_EQ(after.permissions.actives[1].permission_name(), "relayer");

  // The relayer key (no account of its own) delegates the customer's energy under id 3; the
  // customer pays the bandwidth.
  int64_t balance = account(customer).balance;
  auto delegated =
      expect_ok(send(chain::build_delegate_resource(header(3), customer, k1, Sun(100 * kSunPerTrx),
                                                    protocol::ENERGY),
                     kK2));
  EXPECT_GT(delegated.net_usage + delegated.net_fee, 0);
  EXPECT_EQ(account(customer).balance, balance - delegated.fee);
  EXPECT_FALSE(exists(k2));
  // A transfer is not among the relayer's operations.
  EXPECT_EQ(refusal_text(send(chain::build_transfer(header(3), customer, k1, Sun(1)), kK2)),
            "SIGERROR: Validate signature error: Permission denied");
  expect_ok(send(chain::build_undelegate_resource(header(3), customer, k1, Sun(100 * kSunPerTrx),
                                                  protocol::ENERGY),
                 kK2));
  // The earlier permission still works, for its own operations only.
  expect_ok(send(chain::build_transfer(header(2), customer, k1, Sun(1)), kK3));
  EXPECT_EQ(refusal_text(send(chain::build_delegate_resource(header(2), customer, k1,
                                                             Sun(kSunPerTrx), protocol::ENERGY),
                              kK3)),
            "SIGERROR: Validate signature error: Permission denied");

  // The customer revokes: the update replaces every active, so leaving the relayer out drops it.
  expect_ok(send(chain::build_account_permission_update(
                     header(), customer, before.permissions.owner, std::nullopt, {ops}),
                 kK4));
  ASSERT_EQ(account(customer).permissions.actives.size(), 1u);
  EXPECT_EQ(refusal_text(send(chain::build_delegate_resource(header(3), customer, k1,
                                                             Sun(kSunPerTrx), protocol::ENERGY),
                              kK2)),
            "SIGERROR: Validate signature error: permission isn't exit");
  expect_ok(send(chain::build_transfer(header(2), customer, k1, Sun(1)), kK3));
}

// ---- genesis ----

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST_F(DevnetTest, DemoGenesisSeedsEveryRoleOfDemoAccounts) {
  const std::string dir = std::string(PROJECT_SOURCE_DIR) + "/devnet/";
  auto roles = common::parse_json_object(read_text(dir + "demo-accounts.json"));
  ASSERT_TRUE(roles.ok()) << roles.error().message;
  std::map<std::string, Address> address;
  std::map<std::string, std::string> key;
  for (const char* role : {"pool", "customer", "wallet", "relayer"}) {
    const auto& entry = roles->at(role).as_object();
    key[role] = std::string(entry.at("private_key").as_string());
    auto secret = signer::SecretKey::from_hex(key[role]);
    ASSERT_TRUE(secret.ok()) << role;
    address[role] = *signer::address_of(*secret);
    EXPECT_EQ(address[role].to_base58(), entry.at("address").as_string()) << role;
    EXPECT_EQ(address[role].to_hex(), entry.at("address_hex").as_string()) << role;
  }
  EXPECT_EQ(address["relayer"], k2);  // the key ./run up gives tronrelayd
  EXPECT_EQ(std::set<Address>(
                {address["pool"], address["customer"], address["wallet"], address["relayer"]})
                .size(),
            4u);

  start_from(read_text(dir + "demo-genesis.json"));
  const Account pool = account(address["pool"]);
  EXPECT_GE(pool.frozen_energy, 100'000 * kSunPerTrx);
  EXPECT_GT(pool.frozen_bandwidth, 0);
  EXPECT_GT(pool.balance, 0);
  const Account customer = account(address["customer"]);
  EXPECT_GT(customer.frozen_energy, 0);
  EXPECT_EQ(customer.permissions.actives.size(), 1u);  // java-tron's default "active" only
  EXPECT_EQ(customer.permissions.actives[0].permission_name(), "active");
  ASSERT_TRUE(exists(address["wallet"]));  // activated, with nothing but USDT
  EXPECT_EQ(account(address["wallet"]).balance, 0);
  EXPECT_GT(node->read([&](const ChainState& s) { return s.usdt_balances.at(address["wallet"]); }),
            0);
  EXPECT_GT(account(address["relayer"]).balance, 0);
  EXPECT_LE(account(address["relayer"]).balance, 100 * kSunPerTrx);

  // The customer can afford the onboarding update, and the relayer then lends its energy.
  auto relayer = *chain::PermissionBuilder::active("relayer")
                      .key(address["relayer"], 1)
                      .allow(57)
                      .allow(58)
                      .build();
  std::vector<protocol::Permission> actives = customer.permissions.actives;
  actives.push_back(relayer);
  expect_ok(
      send(chain::build_account_permission_update(
               header(), address["customer"], customer.permissions.owner, std::nullopt, actives),
           key["customer"].c_str()));
  expect_ok(send(chain::build_delegate_resource(header(3), address["customer"], address["wallet"],
                                                Sun(1'000 * kSunPerTrx), protocol::ENERGY),
                 key["relayer"].c_str()));
  // The own pool lends too, and the wallet, still without TRX, sends USDT on borrowed energy and
  // its free bandwidth.
  expect_ok(send(chain::build_delegate_resource(header(), address["pool"], address["wallet"],
                                                Sun(20'000 * kSunPerTrx), protocol::ENERGY),
                 key["pool"].c_str()));
  auto h = header();
  h.fee_limit_sun = 30 * kSunPerTrx;
  auto usdt = expect_ok(
      send(chain::build_trc20_transfer(h, address["wallet"], usdt_address(), address["customer"],
                                       chain::Uint256::from_u64(1'000'000)),
           key["wallet"].c_str()));
  EXPECT_EQ(usdt.contract_result, "SUCCESS");
  EXPECT_EQ(usdt.fee, 0);
  EXPECT_EQ(account(address["wallet"]).balance, 0);
}

TEST_F(DevnetTest, GenesisPermissionsAreStoredWithPositionalIds) {
  start_from(R"({"accounts": [{"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC",
    "balance_sun": 1000000,
    "owner_permission": {"permission_name": "boss", "threshold": 2, "keys": [
      {"address": "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp", "weight": 1},
      {"address": "417e5f4552091a69125d5dfcb7b8c2659029395bdf", "weight": 1}]},
    "active_permission": [
      {"permission_name": "a", "threshold": 1, "operations": [1, 57],
       "keys": [{"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "weight": 1}]},
      {"type": "Active", "id": 3, "permission_name": "b", "threshold": 1,
       "operations": "0000000000000006000000000000000000000000000000000000000000000000",
       "keys": [{"address": "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp", "weight": 1}]}]},
    {"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "balance_sun": 1000000}]})");
  const Account a = account(k1);
  EXPECT_EQ(a.permissions.owner.permission_name(), "boss");
  EXPECT_EQ(a.permissions.owner.threshold(), 2);
  ASSERT_EQ(a.permissions.actives.size(), 2u);
  EXPECT_EQ(a.permissions.actives[0].id(), 2);
  EXPECT_EQ(a.permissions.actives[0].type(), protocol::Permission::Active);
  EXPECT_EQ(
      chain::operations_contract_types(common::as_bytes(a.permissions.actives[0].operations())),
      (std::vector<int>{1, 57}));
  EXPECT_EQ(a.permissions.actives[1].id(), 3);
  EXPECT_EQ(
      chain::operations_contract_types(common::as_bytes(a.permissions.actives[1].operations())),
      (std::vector<int>{57, 58}));
  // The stored permissions are what the chain checks: K1 alone no longer satisfies the owner.
  expect_refused(send(chain::build_transfer(header(), k1, k3, Sun(1)), kK1), "SIGERROR",
                 "Validate signature error: sig error");
  expect_ok(send(chain::build_transfer(header(2), k1, k3, Sun(1)), kK3));
  // An account without the fields keeps java-tron's defaults.
  EXPECT_EQ(account(k3).permissions.actives.at(0).permission_name(), "active");
  // And they survive a restart from saved state.
  auto loaded = Node::load_state(node->save_state(), clock);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->save_state(), node->save_state());
}

TEST_F(DevnetTest, GenesisRefusesBadPermissionsAndParameters) {
  auto refused = [](const std::string& account_fields, const std::string& message,
                    const std::string& extra = "") {
    auto genesis =
        parse_genesis(R"({"accounts": [{"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC")" +
                      account_fields + "}]" + extra + "}");
    ASSERT_FALSE(genesis.ok()) << account_fields << extra;
    EXPECT_NE(genesis.error().message.find(message), std::string::npos) << genesis.error().message;
  };
  const std::string key =
      R"("keys": [{"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "weight": 1}])";
  auto active = [&](const std::string& fields) {
    return R"(, "active_permission": [{)" + fields + "}]";
  };
  refused(active(R"("threshold": 1, "operations": [1], "nickname": "x", )" + key),
          "unknown key 'nickname'");
  refused(active(R"("id": 3, "threshold": 1, "operations": [1], )" + key),
          "id must be 2 (the chain numbers permissions by position)");
  refused(active(R"("type": "Owner", "threshold": 1, "operations": [1], )" + key),
          "active permission type is error");
  refused(active(R"("threshold": 2, "operations": [1], )" + key),
          "sum of all key's weight should not be less than threshold in permission Active");
  refused(active(R"("threshold": 1, "operations": "0200", )" + key), "operations size must 32");
  refused(active(R"("threshold": 1, "operations": [1, 300], )" + key),
          "operations must be contract type numbers 0..255");
  refused(active(R"("threshold": 1, "operations": [1, 200], )" + key),
          "200 isn't a validate ContractType");
  refused(active(R"("threshold": 1, "operations": [1], "keys": [])"),
          "key's count should be greater than 0");
  refused(R"(, "active_permission": [])", "active permission is missed");
  refused(R"(, "owner_permission": {"threshold": 1, "operations": [1], )" + key + "}",
          "Owner permission needn't operations");
  refused(R"(, "owner_permission": {"threshold": 1, "keys": [
            {"address": "TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1", "weight": 1},
            {"address": "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp", "weight": 1}]})",
          "number of keys in permission should not be greater than 1",
          R"(, "chain_parameters": {"getTotalSignNum": 1})");
  refused("", "unknown chain parameter getNoSuchThing",
          R"(, "chain_parameters": {"getNoSuchThing": 1})");
  refused(R"(}, {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC")", "is listed twice");
}

// ---- unstaking: WithdrawExpireUnfreeze (56) and CancelAllUnfreezeV2 (59) ----

// A one-day unfreeze delay keeps the tests' chains short (28,800 blocks a day).
constexpr const char* kShortDelayGenesis = R"({
  "accounts": [
    {"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 1000000000,
     "frozen_energy_sun": 10000000000, "frozen_bandwidth_sun": 1000000000}
  ],
  "chain_parameters": {"getUnfreezeDelayDays": 1}
})";

// Contracts with nothing but the owner, which chain/ has no builder for.
template <typename Contract>
Transaction owner_only(const chain::TxHeader& h, chain::ContractType type, const Address& owner) {
  Contract c;
  c.set_owner_address(owner.proto_bytes());
  protocol::Transaction_raw raw;
  raw.set_ref_block_bytes(
      std::string(h.tapos.ref_block_bytes.begin(), h.tapos.ref_block_bytes.end()));
  raw.set_ref_block_hash(std::string(h.tapos.ref_block_hash.begin(), h.tapos.ref_block_hash.end()));
  raw.set_expiration(h.expiration_ms);
  raw.set_timestamp(h.timestamp_ms);
  auto* contract = raw.add_contract();
  contract->set_type(type);
  contract->set_permission_id(h.permission_id);
  contract->mutable_parameter()->PackFrom(c);
  return *Transaction::from_raw(raw);
}

TEST_F(DevnetTest, WithdrawExpireUnfreezeAfterTheUnfreezeDelay) {
  start_from(kShortDelayGenesis);
  auto withdraw = [&] {
    return send(owner_only<protocol::WithdrawExpireUnfreezeContract>(
                    header(), protocol::Transaction_Contract::WithdrawExpireUnfreezeContract, k1),
                kK1);
  };
  expect_refused(withdraw(), "CONTRACT_VALIDATE_ERROR",
                 "Contract validate error : no unFreeze balance to withdraw ");
  int64_t weight = node->read([](const ChainState& s) { return s.total_energy_weight; });
  expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(100 * kSunPerTrx), protocol::ENERGY),
           kK1));
  EXPECT_EQ(node->read([](const ChainState& s) { return s.total_energy_weight; }), weight - 100);
  node->advance_time(86'400 - 3);  // one block short of the delay
  expect_refused(withdraw(), "CONTRACT_VALIDATE_ERROR", "no unFreeze balance to withdraw ");
  node->advance_time(3);  // the head block's time reaches unfreeze_expire_time
  int64_t balance = account(k1).balance;
  auto receipt = expect_ok(withdraw());
  EXPECT_EQ(receipt.withdraw_expire_amount, 100 * kSunPerTrx);
  EXPECT_EQ(account(k1).balance, balance + 100 * kSunPerTrx - receipt.fee);
  EXPECT_TRUE(account(k1).unfreezing.empty());
  expect_refused(withdraw(), "CONTRACT_VALIDATE_ERROR", "no unFreeze balance to withdraw ");

  // A later unfreeze pays out matured entries by itself.
  expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(7 * kSunPerTrx), protocol::BANDWIDTH),
           kK1));
  node->advance_time(86'400);
  auto again = expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(kSunPerTrx), protocol::ENERGY), kK1));
  EXPECT_EQ(again.withdraw_expire_amount, 7 * kSunPerTrx);
  EXPECT_EQ(account(k1).unfreezing.size(), 1u);
}

TEST_F(DevnetTest, CancelAllUnfreezeV2RestakesRunningUnfreezesAndPaysMaturedOnes) {
  start_from(kShortDelayGenesis);
  auto cancel = [&] {
    return send(owner_only<protocol::CancelAllUnfreezeV2Contract>(
                    header(), protocol::Transaction_Contract::CancelAllUnfreezeV2Contract, k1),
                kK1);
  };
  expect_refused(cancel(), "CONTRACT_VALIDATE_ERROR", "No unfreezeV2 list to cancel");
  int64_t weight = node->read([](const ChainState& s) { return s.total_energy_weight; });
  expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(100 * kSunPerTrx), protocol::ENERGY),
           kK1));
  node->advance_time(43'200);
  expect_ok(
      send(chain::build_unfreeze_balance_v2(header(), k1, Sun(50'500'000), protocol::ENERGY), kK1));
  node->advance_time(43'200);  // the first has matured, the second has half a day to go
  int64_t balance = account(k1).balance;
  auto receipt = expect_ok(cancel());
  EXPECT_EQ(receipt.withdraw_expire_amount, 100 * kSunPerTrx);
  EXPECT_EQ(receipt.cancel_unfreeze_energy, 50'500'000);
  EXPECT_EQ(receipt.cancel_unfreeze_bandwidth, 0);
  const Account a = account(k1);
  EXPECT_EQ(a.balance, balance + 100 * kSunPerTrx - receipt.fee);
  EXPECT_EQ(a.frozen_energy, 10'000 * kSunPerTrx - 100 * kSunPerTrx);
  EXPECT_TRUE(a.unfreezing.empty());
  // Weights move by whole TRX of stake, floored before and after: 9,849.5 → 9,900 counts 51.
  EXPECT_EQ(node->read([](const ChainState& s) { return s.total_energy_weight; }), weight - 100);
  expect_refused(cancel(), "CONTRACT_VALIDATE_ERROR", "No unfreezeV2 list to cancel");
}

TEST_F(DevnetTest, StakeTwoAndMultiSignNeedTheirCommitteeSwitches) {
  start_from(R"({"accounts": [{"address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC",
    "balance_sun": 1000000000000}], "chain_parameters": {"getUnfreezeDelayDays": 0,
    "getAllowMultiSign": 0}})");
  expect_refused(
      send(chain::build_freeze_balance_v2(header(), k1, Sun(kSunPerTrx), protocol::ENERGY), kK1),
      "CONTRACT_VALIDATE_ERROR",
      "Not support FreezeV2 transaction, need to be opened by the committee");
  expect_refused(
      send(owner_only<protocol::WithdrawExpireUnfreezeContract>(
               header(), protocol::Transaction_Contract::WithdrawExpireUnfreezeContract, k1),
           kK1),
      "CONTRACT_VALIDATE_ERROR",
      "Not support WithdrawExpireUnfreeze transaction, need to be opened by the "
      "committee");
  auto owner = *chain::PermissionBuilder::owner().key(k1, 1).build();
  auto active = *chain::PermissionBuilder::active("a").key(k2, 1).allow(57).build();
  expect_refused(
      send(chain::build_account_permission_update(header(), k1, owner, std::nullopt, {active}),
           kK1),
      "CONTRACT_VALIDATE_ERROR", "multi sign is not allowed, need to be opened by the committee");
}

// ---- delegation records and how much can be lent ----

TEST_F(DevnetTest, ExpiredLocksJoinTheUnlockedRecordStrictlyAfterTheirEnd) {
  expect_ok(send(chain::build_delegate_resource(header(), k1, k3, Sun(10 * kSunPerTrx),
                                                protocol::ENERGY, {true, 100}),
                 kK1));
  expect_ok(
      send(chain::build_delegate_resource(header(), k1, k3, Sun(5 * kSunPerTrx), protocol::ENERGY),
           kK1));
  auto records = [&] {
    return node->read([&](const ChainState& s) {
      int64_t count = 0;
      for (const auto& [key, d] : s.delegations) count += key.from == k1 && key.to == k3;
      return count;
    });
  };
  EXPECT_EQ(records(), 2);
  node->advance_time(300);  // the head block's time equals the lock's end: still locked
  expect_refused(send(chain::build_undelegate_resource(header(), k1, k3, Sun(15 * kSunPerTrx),
                                                       protocol::ENERGY),
                      kK1),
                 "CONTRACT_VALIDATE_ERROR",
                 "insufficient delegateFrozenBalance(Energy), request=15000000, "
                 "unlock_balance=5000000");
  node->advance_time(3);
  expect_ok(send(
      chain::build_undelegate_resource(header(), k1, k3, Sun(12 * kSunPerTrx), protocol::ENERGY),
      kK1));
  node->read([&](const ChainState& s) {
    EXPECT_FALSE(s.delegations.contains(DelegationKey{k1, k3, true}));
    EXPECT_EQ(s.delegations.at(DelegationKey{k1, k3, false}).energy, 3 * kSunPerTrx);
    EXPECT_TRUE(s.delegation_index.contains({k1, k3}));
    return 0;
  });
  expect_ok(send(
      chain::build_undelegate_resource(header(), k1, k3, Sun(3 * kSunPerTrx), protocol::ENERGY),
      kK1));
  EXPECT_EQ(records(), 0);
  EXPECT_FALSE(node->read([&](const ChainState& s) {
    return s.delegation_index.contains({k1, k3});
  }));
}

TEST_F(DevnetTest, UsageIsChargedToAcquiredStakeBeforeOwnStake) {
  // K3 stakes 5 TRX of its own and borrows 10,000 TRX of K1's; a reverting USDT call then uses
  // energy worth far less than the borrowed stake, so all 5 TRX can still be lent (java-tron's
  // getcandelegatedmaxsize and DelegateResource check, not a proportional share).
  expect_ok(send(
      chain::build_freeze_balance_v2(header(), k3, Sun(5 * kSunPerTrx), protocol::ENERGY), kK3));
  expect_ok(send(
      chain::build_delegate_resource(header(), k1, k3, Sun(10'000 * kSunPerTrx), protocol::ENERGY),
      kK1));
  expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), 100 * kSunPerTrx), k3,
                                             usdt_address(), k1, chain::Uint256::from_u64(1)),
                 kK3));
  node->read([&](const ChainState& s) {
    const Account& a = *s.find_account(k3);
    EXPECT_GT(a.energy.at(s.head().timestamp_ms), 0);
    EXPECT_EQ(can_delegate_max(s, a, protocol::ENERGY, s.head().timestamp_ms), 5 * kSunPerTrx);
    return 0;
  });
  // K1's own usage counts in full against its own stake.
  expect_ok(send(chain::build_trc20_transfer(with_fee_limit(header(), 30 * kSunPerTrx), k1,
                                             usdt_address(), k3, chain::Uint256::from_u64(1)),
                 kK1));
  node->read([&](const ChainState& s) {
    const Account& a = *s.find_account(k1);
    int64_t usage = a.energy.at(s.head().timestamp_ms);
    int64_t usage_sun = static_cast<int64_t>(
        static_cast<double>(usage) * kSunPerTrx *
        (static_cast<double>(s.total_energy_weight) / s.params.total_energy_limit()));
    EXPECT_EQ(can_delegate_max(s, a, protocol::ENERGY, s.head().timestamp_ms),
              a.frozen_energy - usage_sun);
    return 0;
  });
}

}  // namespace
}  // namespace relay::devnet
