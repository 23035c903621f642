// The devnet's rules, one accepting and one rejecting case each, with java-tron's codes and texts.
#include <gtest/gtest.h>

#include "chain/builders.h"
#include "chain/permission.h"
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

}  // namespace
}  // namespace relay::devnet
