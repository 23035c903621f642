// Tenants and their API keys: who may call tronrelay and what each key may do. The repositories are
// ports the store implements; nothing here knows about SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"

namespace relay::energy {

struct Tenant {
  int64_t id = 0;
  std::string name;
  common::TimePoint created_at;
};

// What an API key may do; every /v1 route names the one it needs (DESIGN.md §5). `admin` manages
// the key's own tenant (its API keys); `operator` is the operator's own power over every tenant
// (/v1/admin/*: create tenants, credit them, issue keys for them, see what needs attention). They
// are separate because a tenant that may manage its keys must not be able to credit itself.
// Only an operator key (or tronrelayctl) can grant `operator`.
enum class Scope { kQuote, kLease, kRelay, kPools, kAdmin, kOperator };

std::string scope_name(Scope scope);
std::optional<Scope> scope_from_name(std::string_view name);
// "quote,lease" → {kQuote, kLease}; an unknown or empty name is an error naming it.
common::Result<std::set<Scope>> parse_scopes(std::string_view comma_separated);
std::string format_scopes(const std::set<Scope>& scopes);
const std::set<Scope>& all_scopes();

struct ApiKey {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string prefix;  // "trk_" + the first 8 characters: shown in listings, never the secret
  common::Hash32 secret_hash{};  // SHA-256 of the whole secret
  std::set<Scope> scopes;
  common::TimePoint created_at;
  std::optional<common::TimePoint> expires_at;
  std::optional<common::TimePoint> revoked_at;
};

class TenantRepository {
 public:
  virtual ~TenantRepository() = default;
  virtual common::Result<Tenant> create(const std::string& name) = 0;
  virtual common::Result<std::optional<Tenant>> find(int64_t id) = 0;
  virtual common::Result<std::vector<Tenant>> list() = 0;
};

class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;
  // Stores `key` (id and created_at are assigned) and returns it as stored.
  virtual common::Result<ApiKey> insert(const ApiKey& key) = 0;
  virtual common::Result<std::optional<ApiKey>> find_by_hash(const common::Hash32& secret_hash) = 0;
  // All keys, or one tenant's keys, newest first.
  virtual common::Result<std::vector<ApiKey>> list(std::optional<int64_t> tenant_id) = 0;
  // Sets revoked_at; false when no such key (of that tenant, if given) exists or it was revoked.
  virtual common::Result<bool> revoke(int64_t key_id, std::optional<int64_t> tenant_id,
                                      common::TimePoint at) = 0;
};

}  // namespace relay::energy
