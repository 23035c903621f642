#include "signer/pool_signers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "chain/builders.h"
#include "common/signature.h"

namespace relay::signer {
namespace {

using chain::Transaction;
using chain::TxHeader;
using common::Address;
using common::Sun;

const char* kRelayerHex = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kOwnerHex = "2222222222222222222222222222222222222222222222222222222222222222";
const char* kOtherHex = "3333333333333333333333333333333333333333333333333333333333333333";

Address address_for(const char* hex) { return *address_of(*SecretKey::from_hex(hex)); }

const Address kRelayer = address_for(kRelayerHex);
const Address kOwnPool = address_for(kOwnerHex);
const Address kPermissionPool = address_for(kOtherHex);
const Address kPermissionPool2 = *Address::parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
const Address kReceiver = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");

TxHeader header(int32_t permission_id, int64_t fee_limit = 0) {
  TxHeader h;
  h.tapos.ref_block_bytes = {0x12, 0x34};
  h.tapos.ref_block_hash = {1, 2, 3, 4, 5, 6, 7, 8};
  h.expiration_ms = 1'700'000'060'000;
  h.timestamp_ms = 1'700'000'000'000;
  h.permission_id = permission_id;
  h.fee_limit_sun = fee_limit;
  return h;
}

Transaction delegate(const Address& owner, int32_t permission_id, int64_t sun = 10'000'000,
                     int64_t fee_limit = 0) {
  return *chain::build_delegate_resource(header(permission_id, fee_limit), owner, kReceiver,
                                         Sun(sun), protocol::ENERGY);
}
Transaction undelegate(const Address& owner, int32_t permission_id, int64_t sun = 10'000'000) {
  return *chain::build_undelegate_resource(header(permission_id), owner, kReceiver, Sun(sun),
                                           protocol::ENERGY);
}
Transaction freeze(const Address& owner, int32_t permission_id, int64_t sun = 50'000'000) {
  return *chain::build_freeze_balance_v2(header(permission_id), owner, Sun(sun), protocol::ENERGY);
}
Transaction unfreeze(const Address& owner, int32_t permission_id, int64_t sun = 50'000'000) {
  return *chain::build_unfreeze_balance_v2(header(permission_id), owner, Sun(sun),
                                           protocol::ENERGY);
}
Transaction transfer(const Address& owner, int32_t permission_id) {
  return *chain::build_transfer(header(permission_id), owner, kReceiver, Sun(1'000'000));
}
Transaction withdraw_expired(const Address& owner, int32_t permission_id) {
  protocol::WithdrawExpireUnfreezeContract c;
  c.set_owner_address(owner.proto_bytes());
  protocol::Transaction_raw raw;
  auto h = header(permission_id);
  raw.set_ref_block_bytes(
      std::string(h.tapos.ref_block_bytes.begin(), h.tapos.ref_block_bytes.end()));
  raw.set_ref_block_hash(std::string(h.tapos.ref_block_hash.begin(), h.tapos.ref_block_hash.end()));
  raw.set_expiration(h.expiration_ms);
  raw.set_timestamp(h.timestamp_ms);
  auto* contract = raw.add_contract();
  contract->set_type(protocol::Transaction_Contract::WithdrawExpireUnfreezeContract);
  contract->set_permission_id(permission_id);
  contract->mutable_parameter()->PackFrom(c);
  return *Transaction::from_raw(raw);
}

std::unique_ptr<PoolSigners> make_signers(PoolSignersLimits limits = {}) {
  auto signers = PoolSigners::create(*SecretKey::from_hex(kRelayerHex), limits);
  EXPECT_TRUE(signers.ok());
  return std::move(*signers);
}

// The signature verifies: it recovers to `expected` over the txid of exactly these bytes.
void expect_signed_by(const common::Result<common::Bytes>& signature, const Transaction& tx,
                      const Address& expected) {
  ASSERT_TRUE(signature.ok()) << signature.error().code << ": " << signature.error().message;
  ASSERT_EQ(signature->size(), common::kSignatureSize);
  EXPECT_GE((*signature)[64], 27);
  EXPECT_FALSE(common::is_high_s(*signature));
  auto signer = common::recover_signer(tx.txid(), *signature);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(*signer, expected);
}

std::string refusal(const common::Result<common::Bytes>& signature) {
  if (signature.ok()) return "signed";
  return signature.error().code + ": " + signature.error().message;
}

bool refused_with(const common::Result<common::Bytes>& signature, const std::string& text) {
  return !signature.ok() && signature.error().code == "policy_refused" &&
         signature.error().message.find(text) != std::string::npos;
}

TEST(PoolSigners, RelayerSignsDelegationsOfAdmittedPermissionPools) {
  auto signers = make_signers();
  EXPECT_EQ(signers->relayer_address(), kRelayer);
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 2).ok());
  EXPECT_TRUE(signers->is_admitted(kPermissionPool));
  EXPECT_EQ(signers->admitted_permission_id(kPermissionPool), 2);

  auto d = delegate(kPermissionPool, 2);
  expect_signed_by(signers->sign(d.raw_bytes()), d, kRelayer);
  auto u = undelegate(kPermissionPool, 2);
  expect_signed_by(signers->sign(u.raw_bytes()), u, kRelayer);
}

TEST(PoolSigners, RelayerRefusesEverythingElse) {
  auto signers = make_signers({.max_delegate_sun = 20'000'000});
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 3).ok());
  ASSERT_TRUE(signers->admit_pool(kPermissionPool2, 2).ok());

  // A pool nobody admitted.
  auto other = delegate(kOwnPool, 3);
  EXPECT_TRUE(refused_with(signers->sign(other.raw_bytes()), "is not an admitted pool"))
      << refusal(signers->sign(other.raw_bytes()));
  // The owner permission of a permission pool: we were never given it.
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 0).raw_bytes()),
                           "Permission_id 0 is not allowed"));
  // Another admitted pool's permission id: allowed for that pool, not for this one.
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 2).raw_bytes()),
                           "is served under Permission_id 3 only, not 2"));
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 4).raw_bytes()),
                           "Permission_id 4 is not allowed"));
  // Contract types outside 57/58, even with the right id.
  EXPECT_TRUE(refused_with(signers->sign(transfer(kPermissionPool, 3).raw_bytes()),
                           "contract type 1 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(freeze(kPermissionPool, 3).raw_bytes()),
                           "contract type 54 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(unfreeze(kPermissionPool, 3).raw_bytes()),
                           "contract type 55 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(withdraw_expired(kPermissionPool, 3).raw_bytes()),
                           "contract type 56 is not allowed"));
  // The per-transaction cap, and a fee_limit (nothing here may burn TRX for energy).
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 3, 20'000'001).raw_bytes()),
                           "exceeds the limit of 20000000 sun per transaction"));
  EXPECT_TRUE(signers->sign(delegate(kPermissionPool, 3, 20'000'000).raw_bytes()).ok());
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 3, 1'000'000, 1).raw_bytes()),
                           "fee_limit 1 sun exceeds"));
  // Bytes the signer cannot read.
  auto garbage = signers->sign(common::Bytes{0x0a, 0x05, 0x01});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().code, "policy_refused");
  EXPECT_FALSE(signers->sign(common::Bytes{}).ok());
}

TEST(PoolSigners, RevokeAndReadmit) {
  auto signers = make_signers();
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 2).ok());
  ASSERT_TRUE(signers->sign(delegate(kPermissionPool, 2).raw_bytes()).ok());

  signers->revoke_pool(kPermissionPool);
  EXPECT_FALSE(signers->is_admitted(kPermissionPool));
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 2).raw_bytes()),
                           "is not an admitted pool"));
  EXPECT_TRUE(refused_with(signers->sign(undelegate(kPermissionPool, 2).raw_bytes()),
                           "is not an admitted pool"));
  signers->revoke_pool(kPermissionPool);  // twice is fine

  // Re-admitting under a new id replaces the old one.
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 2).ok());
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 5).ok());
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 2).raw_bytes()),
                           "Permission_id 2 is not allowed"));
  auto d = delegate(kPermissionPool, 5);
  expect_signed_by(signers->sign(d.raw_bytes()), d, kRelayer);
}

TEST(PoolSigners, AdmissionNeedsAValidIdAndForOwnPoolsTheKey) {
  auto signers = make_signers();
  EXPECT_FALSE(signers->has_owner_key(kOwnPool));
  auto missing = signers->admit_pool(kOwnPool, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "owner_key_missing");
  EXPECT_FALSE(signers->is_admitted(kOwnPool));
  EXPECT_EQ(signers->admit_pool(kPermissionPool, 1).error().code, "invalid_request");
  EXPECT_EQ(signers->admit_pool(kPermissionPool, -2).error().code, "invalid_request");
  EXPECT_FALSE(signers->is_admitted(kPermissionPool));
}

TEST(PoolSigners, OwnerKeySignsItsOwnPoolsStakingAndDelegations) {
  auto signers = make_signers({.max_delegate_sun = 0, .max_stake_sun = 100'000'000});
  auto loaded = signers->add_owner_key(*SecretKey::from_hex(kOwnerHex));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, kOwnPool);
  EXPECT_TRUE(signers->has_owner_key(kOwnPool));
  // Loading a key admits nothing.
  EXPECT_TRUE(refused_with(signers->sign(freeze(kOwnPool, 0).raw_bytes()), "not an admitted"));

  ASSERT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
  for (const auto& tx : {freeze(kOwnPool, 0), unfreeze(kOwnPool, 0), withdraw_expired(kOwnPool, 0),
                         delegate(kOwnPool, 0), undelegate(kOwnPool, 0)}) {
    expect_signed_by(signers->sign(tx.raw_bytes()), tx, kOwnPool);
  }
  // Only under the owner permission, only these types, only up to the stake cap.
  EXPECT_TRUE(refused_with(signers->sign(delegate(kOwnPool, 2).raw_bytes()),
                           "Permission_id 2 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(transfer(kOwnPool, 0).raw_bytes()),
                           "contract type 1 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(freeze(kOwnPool, 0, 100'000'001).raw_bytes()),
                           "exceeds the limit of 100000000 sun"));
  EXPECT_TRUE(refused_with(signers->sign(unfreeze(kOwnPool, 0, 100'000'001).raw_bytes()),
                           "exceeds the limit of 100000000 sun"));
  // The owner key serves its own account only; the relayer key does not sign for own pools.
  ASSERT_TRUE(signers->admit_pool(kPermissionPool, 2).ok());
  EXPECT_TRUE(refused_with(signers->sign(freeze(kPermissionPool, 0).raw_bytes()),
                           "contract type 54 is not allowed"));
  EXPECT_TRUE(refused_with(signers->sign(delegate(kPermissionPool, 0).raw_bytes()),
                           "Permission_id 0 is not allowed"));

  signers->revoke_pool(kOwnPool);
  EXPECT_TRUE(refused_with(signers->sign(freeze(kOwnPool, 0).raw_bytes()), "not an admitted"));
  EXPECT_TRUE(signers->has_owner_key(kOwnPool));  // the key stays loaded for a later admission
}

TEST(PoolSigners, TheRelayersOwnAccountCanBeAnOwnPool) {
  auto signers = make_signers();
  EXPECT_TRUE(signers->has_owner_key(kRelayer));
  ASSERT_TRUE(signers->admit_pool(kRelayer, 0).ok());
  auto f = freeze(kRelayer, 0);
  expect_signed_by(signers->sign(f.raw_bytes()), f, kRelayer);
  auto d = delegate(kRelayer, 0);
  expect_signed_by(signers->sign(d.raw_bytes()), d, kRelayer);
}

TEST(PoolSigners, SwitchingAPoolBetweenOwnAndPermission) {
  auto signers = make_signers();
  ASSERT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnerHex)).ok());
  ASSERT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
  ASSERT_TRUE(signers->admit_pool(kOwnPool, 2).ok());
  EXPECT_FALSE(signers->sign(freeze(kOwnPool, 0).raw_bytes()).ok());
  auto d = delegate(kOwnPool, 2);
  expect_signed_by(signers->sign(d.raw_bytes()), d, kRelayer);
  ASSERT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
  EXPECT_FALSE(signers->sign(delegate(kOwnPool, 2).raw_bytes()).ok());
  EXPECT_TRUE(signers->sign(freeze(kOwnPool, 0).raw_bytes()).ok());
}

TEST(PoolSigners, ErrorsNeverCarryKeyMaterial) {
  auto signers = make_signers();
  std::vector<std::string> messages;
  messages.push_back(refusal(signers->sign(delegate(kPermissionPool, 2).raw_bytes())));
  messages.push_back(signers->admit_pool(kOwnPool, 0).error().message);
  auto bad = SecretKey::from_hex(std::string(64, '0'));
  ASSERT_FALSE(bad.ok());
  for (const auto& message : messages) {
    for (const char* secret : {kRelayerHex, kOwnerHex, "11111111", "22222222"}) {
      EXPECT_EQ(message.find(secret), std::string::npos) << message;
    }
  }
}

TEST(PoolSigners, ConcurrentAdmitRevokeAndSign) {
  auto signers = make_signers();
  ASSERT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnerHex)).ok());
  ASSERT_TRUE(signers->admit_pool(kPermissionPool2, 2).ok());  // always admitted
  const auto steady = delegate(kPermissionPool2, 2);
  const auto flapping = delegate(kPermissionPool, 3);
  const auto own = freeze(kOwnPool, 0);

  std::atomic<bool> stop{false};
  std::atomic<int> steady_failures{0}, wrong_signatures{0};
  std::atomic<int> revoked_but_signed{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        auto s = signers->sign(steady.raw_bytes());
        if (!s.ok()) {
          ++steady_failures;
        } else if (*common::recover_signer(steady.txid(), *s) != kRelayer) {
          ++wrong_signatures;
        }
        auto f = signers->sign(flapping.raw_bytes());
        if (f.ok()) {
          if (*common::recover_signer(flapping.txid(), *f) != kRelayer) ++wrong_signatures;
        } else if (f.error().code != "policy_refused") {
          ++wrong_signatures;
        }
        auto o = signers->sign(own.raw_bytes());
        if (o.ok() && *common::recover_signer(own.txid(), *o) != kOwnPool) ++wrong_signatures;
      }
    });
  }
  // The admin thread: after revoke_pool returns, the pool is never signed for.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(signers->admit_pool(kPermissionPool, 3).ok());
    ASSERT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
    std::this_thread::yield();
    signers->revoke_pool(kPermissionPool);
    signers->revoke_pool(kOwnPool);
    if (signers->sign(flapping.raw_bytes()).ok()) ++revoked_but_signed;
    if (signers->sign(own.raw_bytes()).ok()) ++revoked_but_signed;
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(steady_failures, 0);
  EXPECT_EQ(wrong_signatures, 0);
  EXPECT_EQ(revoked_but_signed, 0);
  EXPECT_FALSE(signers->is_admitted(kPermissionPool));
  EXPECT_TRUE(signers->is_admitted(kPermissionPool2));
}

}  // namespace
}  // namespace relay::signer
