#include "chain/permission.h"

#include <gtest/gtest.h>

#include "tests/support/vectors.h"

namespace relay::chain {
namespace {

using common::Address;
using testing::str;
using testing::unhex;
using testing::vector_by_id;

Address k(const char* id) {
  return *Address::from_hex(testing::key_by_id(id).at("address_hex").as_string());
}

TEST(Operations, BitmapsFromProtocolTable) {
  EXPECT_EQ(common::to_hex(*operations_bitmap({57, 58})),
            "0000000000000006000000000000000000000000000000000000000000000000");
  EXPECT_EQ(common::to_hex(*operations_bitmap({54, 55, 56, 57, 58, 59})),
            "000000000000c00f000000000000000000000000000000000000000000000000");
  auto ops = *operations_bitmap({1, 31, 57});
  EXPECT_EQ(operations_contract_types(ops), (std::vector<int>{1, 31, 57}));
  EXPECT_TRUE(operations_allow(ops, 31));
  EXPECT_FALSE(operations_allow(ops, 58));
  EXPECT_FALSE(operations_allow(ops, 300));
  EXPECT_EQ(operations_bitmap({7}).error().message, "7 isn't a validate ContractType");
}

TEST(PermissionBuilder, ValidationRulesWithJavaTronWording) {
  auto relayer =
      PermissionBuilder::active("relayer").threshold(1).key(k("K2"), 1).allow(57).allow(58).build();
  ASSERT_TRUE(relayer.ok());
  EXPECT_EQ(relayer->type(), protocol::Permission::Active);

  auto message_of = [](PermissionBuilder b) { return b.build().error().message; };
  EXPECT_EQ(message_of(PermissionBuilder::active("a").allow(57)),
            "key's count should be greater than 0");
  EXPECT_EQ(message_of(PermissionBuilder::active("a").allow(57).key(k("K1"), 1).key(k("K1"), 1)),
            "address should be distinct in permission Active");
  EXPECT_EQ(message_of(PermissionBuilder::active("a").allow(57).key(k("K1"), 0)),
            "key's weight should be greater than 0");
  EXPECT_EQ(message_of(PermissionBuilder::active("a").allow(57).threshold(0).key(k("K1"), 1)),
            "permission's threshold should be greater than 0");
  EXPECT_EQ(message_of(PermissionBuilder::active("a").allow(57).threshold(3).key(k("K1"), 2)),
            "sum of all key's weight should not be less than threshold in permission Active");
  EXPECT_EQ(message_of(PermissionBuilder::active(std::string(33, 'n')).allow(57).key(k("K1"), 1)),
            "permission's name is too long");
  EXPECT_EQ(message_of(PermissionBuilder::owner().allow(57).key(k("K1"), 1)),
            "owner permission needn't operations");
  auto six = PermissionBuilder::owner();
  for (int i = 0; i < 6; ++i) {
    common::Bytes id(20, static_cast<uint8_t>(i + 1));
    six.key(Address::from_id20(id), 1);
  }
  EXPECT_EQ(message_of(six), "number of keys in permission should not be greater than 5");
}

// K1's account after V5: owner = K1, actives[0] = "relayer" (K2, ops 57+58) with id 2.
AccountPermissions v5_account() {
  AccountPermissions account;
  account.owner = *PermissionBuilder::owner().threshold(1).key(k("K1"), 1).build();
  auto relayer = *PermissionBuilder::active("relayer")
                      .threshold(1)
                      .key(k("K2"), 1)
                      .allow(57)
                      .allow(58)
                      .build();
  relayer.set_id(2);
  account.actives.push_back(relayer);
  return account;
}

Transaction tx_of(const char* id) {
  return *Transaction::decode(unhex(vector_by_id(id).at("signed_tx_hex")));
}

TEST(CheckPermission, RelayerSignsUnderPermissionTwo) {
  auto account = v5_account();
  EXPECT_TRUE(check_permission(account, tx_of("V3")).ok());   // delegate, Permission_id 2, K2
  EXPECT_TRUE(check_permission(account, tx_of("V4")).ok());   // undelegate
  EXPECT_TRUE(check_permission(account, tx_of("V1")).ok());   // owner signs with id 0
  EXPECT_TRUE(check_permission(account, tx_of("V1H")).ok());  // high-s accepted
}

TEST(CheckPermission, RejectionsInJavaTronOrderAndWording) {
  auto account = v5_account();
  // V6 (TRC20, id 0) signed by K1 is fine; the same tx relabelled to id 2 is not allowed by ops.
  auto v3 = tx_of("V3");

  // Owner-permission tx signed by the relayer key: not in the owner permission.
  auto v1 = tx_of("V1");
  v1.clear_signatures();
  v1.add_signature(tx_of("V3").signatures()[0]);  // K2's signature over a different txid
  auto status = check_permission(account, v1);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "signature_rejected");
  EXPECT_NE(status.error().message.find("but it is not contained of permission."),
            std::string::npos);

  AccountPermissions no_actives = account;
  no_actives.actives.clear();
  EXPECT_EQ(check_permission(no_actives, v3).error().message, "permission isn't exit");

  AccountPermissions wrong_ops = account;
  auto transfer_only = *operations_bitmap({1});
  wrong_ops.actives[0].set_operations(std::string(transfer_only.begin(), transfer_only.end()));
  EXPECT_EQ(check_permission(wrong_ops, v3).error().message, "Permission denied");

  AccountPermissions wrong_type = account;
  wrong_type.actives[0].set_type(protocol::Permission::Witness);
  EXPECT_EQ(check_permission(wrong_type, v3).error().message, "Permission type is error");

  auto unsigned_tx = v3;
  unsigned_tx.clear_signatures();
  EXPECT_EQ(check_permission(account, unsigned_tx).error().message, "miss sig or contract");

  auto short_sig = v3;
  short_sig.clear_signatures();
  short_sig.add_signature(common::Bytes(10, 1));
  EXPECT_EQ(check_permission(account, short_sig).error().message, "Signature size is 10");

  auto doubled = v3;
  doubled.add_signature(v3.signatures()[0]);
  EXPECT_EQ(check_permission(account, doubled).error().message,
            "Signature count is 2 more than key counts of permission : 1");

  AccountPermissions two_keys = account;
  auto* extra = two_keys.actives[0].add_keys();
  extra->set_address(k("K3").proto_bytes());
  extra->set_weight(1);
  EXPECT_EQ(check_permission(two_keys, doubled).error().message,
            k("K2").to_base58() + " has signed twice!");
  two_keys.actives[0].set_threshold(2);
  EXPECT_EQ(check_permission(two_keys, v3).error().message, "sig error");

  auto many = v3;
  for (int i = 0; i < 5; ++i) many.add_signature(v3.signatures()[0]);
  EXPECT_EQ(check_permission(account, many).error().message, "too many signatures");
}

TEST(CheckPermission, DefaultsForAnAccountWithoutStoredPermissions) {
  auto ops = *operations_bitmap({1, 57, 58});
  auto account = AccountPermissions::defaults_for(k("K1"), ops);
  EXPECT_TRUE(check_permission(account, tx_of("V1")).ok());
  EXPECT_FALSE(check_permission(account, tx_of("V3")).ok());  // K2 is not in K1's defaults
}

}  // namespace
}  // namespace relay::chain
