#include <gtest/gtest.h>

#include "common/hash.h"
#include "energy/api_keys.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::TimePoint;
using energy::ApiKey;
using energy::Scope;
using std::chrono::microseconds;

class TenantPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    tenants_ = std::make_unique<PgTenantRepository>(db());
    keys_ = std::make_unique<PgApiKeyRepository>(db());
  }

  int64_t new_tenant(const std::string& name = "acme") {
    auto tenant = tenants_->create(name);
    EXPECT_TRUE(tenant.ok()) << tenant.error().message;
    return tenant.ok() ? tenant->id : 0;
  }

  static ApiKey key_for(int64_t tenant_id, const std::string& secret) {
    ApiKey key;
    key.tenant_id = tenant_id;
    key.prefix = secret.substr(0, 12);
    key.secret_hash = common::sha256(common::as_bytes(secret));
    key.scopes = {Scope::kQuote, Scope::kLease};
    return key;
  }

  std::unique_ptr<PgTenantRepository> tenants_;
  std::unique_ptr<PgApiKeyRepository> keys_;
};

TEST_F(TenantPgTest, CreatesFindsAndListsTenants) {
  auto a = tenants_->create("wallet co");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->name, "wallet co");
  const auto age = std::chrono::system_clock::now() - a->created_at;
  EXPECT_LT(std::chrono::abs(age), std::chrono::minutes(5));

  auto found = tenants_->find(a->id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "wallet co");
  EXPECT_EQ((*found)->created_at, a->created_at);

  auto missing = tenants_->find(a->id + 1'000'000);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto b = tenants_->create("merchant");
  ASSERT_TRUE(b.ok());
  auto all = tenants_->list();
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->size(), 2u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].id, (*all)[i].id);
  EXPECT_EQ(all->back().id, b->id);

  auto empty = tenants_->create("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "invalid_request");
}

TEST_F(TenantPgTest, StoresAndFindsKeysByHash) {
  const int64_t tenant = new_tenant();
  ApiKey key = key_for(tenant, "trk_storesandfinds-secret-1");
  key.scopes = energy::all_scopes();
  // Microsecond precision survives the round trip exactly.
  key.expires_at = TimePoint(microseconds(1'900'000'000'123'456));
  auto stored = keys_->insert(key);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_GT(stored->id, 0);
  EXPECT_EQ(stored->tenant_id, tenant);

  auto found = keys_->find_by_hash(key.secret_hash);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const ApiKey& got = **found;
  EXPECT_EQ(got.id, stored->id);
  EXPECT_EQ(got.prefix, key.prefix);
  EXPECT_EQ(got.secret_hash, key.secret_hash);
  EXPECT_EQ(got.scopes, energy::all_scopes());
  EXPECT_EQ(got.expires_at, key.expires_at);
  EXPECT_FALSE(got.revoked_at.has_value());
  EXPECT_EQ(got.created_at, stored->created_at);

  auto unknown = keys_->find_by_hash(common::sha256(common::as_bytes("nobody")));
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(TenantPgTest, RefusesDuplicateSecretsUnknownTenantsAndEmptyKeys) {
  const int64_t tenant = new_tenant();
  ApiKey key = key_for(tenant, "trk_duplicate-secret-2");
  ASSERT_TRUE(keys_->insert(key).ok());
  auto again = keys_->insert(key);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "conflict");

  auto orphan = keys_->insert(key_for(tenant + 1'000'000, "trk_orphan-secret-3"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, "not_found");

  ApiKey no_scopes = key_for(tenant, "trk_no-scopes-4");
  no_scopes.scopes.clear();
  EXPECT_EQ(keys_->insert(no_scopes).error().code, "invalid_request");
}

TEST_F(TenantPgTest, ListsKeysNewestFirstPerTenantOrAll) {
  const int64_t a = new_tenant("a");
  const int64_t b = new_tenant("b");
  auto a1 = keys_->insert(key_for(a, "trk_list-a1"));
  auto b1 = keys_->insert(key_for(b, "trk_list-b1"));
  auto a2 = keys_->insert(key_for(a, "trk_list-a2"));
  ASSERT_TRUE(a1.ok() && b1.ok() && a2.ok());

  auto of_a = keys_->list(a);
  ASSERT_TRUE(of_a.ok());
  ASSERT_EQ(of_a->size(), 2u);
  EXPECT_EQ((*of_a)[0].id, a2->id);
  EXPECT_EQ((*of_a)[1].id, a1->id);

  auto all = keys_->list(std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a2->id);
  EXPECT_EQ((*all)[1].id, b1->id);
}

TEST_F(TenantPgTest, RevokesOnceAndOnlyForTheOwningTenant) {
  const int64_t a = new_tenant("a");
  const int64_t b = new_tenant("b");
  auto key = keys_->insert(key_for(a, "trk_revoke-5"));
  ASSERT_TRUE(key.ok());
  const TimePoint at(microseconds(1'800'000'000'000'001));

  auto wrong_tenant = keys_->revoke(key->id, b, at);
  ASSERT_TRUE(wrong_tenant.ok());
  EXPECT_FALSE(*wrong_tenant);

  auto revoked = keys_->revoke(key->id, a, at);
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(*revoked);
  auto twice = keys_->revoke(key->id, std::nullopt, at);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(*twice);
  auto missing = keys_->revoke(key->id + 1'000'000, std::nullopt, at);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);

  auto found = keys_->find_by_hash(key->secret_hash);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->revoked_at, at);

  // An admin (no tenant given) may revoke any key.
  auto other = keys_->insert(key_for(b, "trk_revoke-6"));
  ASSERT_TRUE(other.ok());
  auto by_admin = keys_->revoke(other->id, std::nullopt, at);
  ASSERT_TRUE(by_admin.ok());
  EXPECT_TRUE(*by_admin);
}

TEST_F(TenantPgTest, ApiKeyServiceIssuesAndAuthenticatesThroughPostgres) {
  const int64_t tenant = new_tenant();
  common::ManualClock clock = common::ManualClock::at_ms(1'700'000'000'000);
  energy::ApiKeyService service(*keys_, clock);
  auto issued = service.issue(tenant, {Scope::kRelay}, 30);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  auto who = service.authenticate(issued->secret);
  ASSERT_TRUE(who.ok()) << who.error().message;
  EXPECT_EQ(who->tenant_id, tenant);
  EXPECT_EQ(who->scopes, std::set<Scope>{Scope::kRelay});

  clock.advance(std::chrono::hours(24 * 31));
  EXPECT_EQ(service.authenticate(issued->secret).error().code, "unauthorized");
}

}  // namespace
}  // namespace relay::store
