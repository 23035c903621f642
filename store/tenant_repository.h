// PostgreSQL implementations of energy's TenantRepository and ApiKeyRepository (tables tenants and
// api_keys). Each call is one transaction on the shared Database.
#pragma once

#include "energy/tenant.h"
#include "store/database.h"

namespace relay::store {

class PgTenantRepository final : public energy::TenantRepository {
 public:
  explicit PgTenantRepository(Database& db) : db_(db) {}

  // "invalid_request" for an empty name. Names need not be unique; the id is the identity.
  common::Result<energy::Tenant> create(const std::string& name) override;
  common::Result<std::optional<energy::Tenant>> find(int64_t id) override;
  // Oldest first.
  common::Result<std::vector<energy::Tenant>> list() override;

 private:
  Database& db_;
};

class PgApiKeyRepository final : public energy::ApiKeyRepository {
 public:
  explicit PgApiKeyRepository(Database& db) : db_(db) {}

  // "not_found" for an unknown tenant, "conflict" when a key with the same secret hash exists,
  // "invalid_request" for an empty prefix or scope set.
  common::Result<energy::ApiKey> insert(const energy::ApiKey& key) override;
  // Returns revoked and expired keys too: the caller decides (ApiKeyService::authenticate).
  common::Result<std::optional<energy::ApiKey>> find_by_hash(
      const common::Hash32& secret_hash) override;
  common::Result<std::vector<energy::ApiKey>> list(std::optional<int64_t> tenant_id) override;
  common::Result<bool> revoke(int64_t key_id, std::optional<int64_t> tenant_id,
                              common::TimePoint at) override;

 private:
  Database& db_;
};

}  // namespace relay::store
