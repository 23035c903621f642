// ApiKeyService: issuing, authenticating, and the short-lived cache of authenticated keys.
#include "energy/api_keys.h"

#include <gtest/gtest.h>

#include "tests/support/fake_store.h"

namespace relay::energy {
namespace {

class ApiKeysTest : public ::testing::Test {
 protected:
  common::ManualClock clock = common::ManualClock::at_ms(1'800'000'000'000);
  testing::FakeApiKeyRepository keys{clock};
  ApiKeyService service{keys, clock};
};

TEST_F(ApiKeysTest, IssuesAKeyThatAuthenticatesAndIsStoredOnlyHashed) {
  auto issued = service.issue(7, {Scope::kQuote}, std::nullopt);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(issued->secret.starts_with("trk_"));
  EXPECT_EQ(issued->secret.size(), 4u + 43u);
  EXPECT_EQ(issued->key.secret_hash, hash_secret(issued->secret));
  auto found = service.authenticate(issued->secret);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->tenant_id, 7);
  EXPECT_EQ(service.authenticate(issued->secret + "x").error().code, "unauthorized");
  EXPECT_EQ(service.authenticate("trk_" + std::string(43, 'A')).error().code, "unauthorized");
}

TEST_F(ApiKeysTest, CacheSparesTheStoreButNotTheExpiryCheck) {
  auto issued = service.issue(7, {Scope::kQuote}, 1);
  ASSERT_TRUE(service.authenticate(issued->secret).ok());
  // Within the cache's life the store is not asked: a failing store goes unnoticed.
  keys.failures.fail_next(common::make_error("store_unavailable", "down"));
  EXPECT_TRUE(service.authenticate(issued->secret).ok());
  (void)keys.failures.take();
  // Expiry is checked on every call, cached or not.
  clock.advance(std::chrono::hours(24));
  EXPECT_FALSE(service.authenticate(issued->secret).ok());
}

TEST_F(ApiKeysTest, RevocationElsewhereTakesEffectWithinTheTtlAndHereAtOnce) {
  auto issued = service.issue(7, {Scope::kQuote}, std::nullopt);
  ASSERT_TRUE(service.authenticate(issued->secret).ok());
  ASSERT_TRUE(*keys.revoke(issued->key.id, std::nullopt, clock.now()));
  EXPECT_TRUE(service.authenticate(issued->secret).ok());  // another process revoked it: cached
  clock.advance(std::chrono::milliseconds(2'000));
  EXPECT_FALSE(service.authenticate(issued->secret).ok());  // the TTL passed: seen

  auto second = service.issue(7, {Scope::kQuote}, std::nullopt);
  ASSERT_TRUE(service.authenticate(second->secret).ok());
  ASSERT_TRUE(*keys.revoke(second->key.id, std::nullopt, clock.now()));
  service.forget(second->key.id);  // revoked through this process
  EXPECT_FALSE(service.authenticate(second->secret).ok());
}

}  // namespace
}  // namespace relay::energy
