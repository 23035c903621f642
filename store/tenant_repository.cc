#include "store/tenant_repository.h"

#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

const std::string kTenantColumns = "id, name, " + micros_of("created_at");

energy::Tenant tenant_from_row(const pqxx::row& row) {
  energy::Tenant tenant;
  tenant.id = row[0].as<int64_t>();
  tenant.name = row[1].as<std::string>();
  tenant.created_at = from_micros(row[2].as<int64_t>());
  return tenant;
}

const std::string kKeyColumns =
    "id, tenant_id, prefix, encode(secret_hash, 'hex'), "
    "array_to_string(scopes, ','), " +
    micros_of("created_at") + ", " + micros_of("expires_at") + ", " + micros_of("revoked_at");

std::optional<common::TimePoint> optional_time(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return from_micros(field.as<int64_t>());
}

common::Result<energy::ApiKey> key_from_row(const pqxx::row& row) {
  energy::ApiKey key;
  key.id = row[0].as<int64_t>();
  key.tenant_id = row[1].as<int64_t>();
  key.prefix = row[2].as<std::string>();
  RELAY_ASSIGN_OR_RETURN(
      auto hash, common::from_hex_exact(row[3].as<std::string>(), 32, "api_keys.secret_hash"));
  std::copy(hash.begin(), hash.end(), key.secret_hash.begin());
  auto scopes = energy::parse_scopes(row[4].as<std::string>());
  if (!scopes.ok()) {
    return common::make_error("internal", "api key " + std::to_string(key.id) +
                                              " has unreadable scopes: " + scopes.error().message);
  }
  key.scopes = std::move(*scopes);
  key.created_at = from_micros(row[5].as<int64_t>());
  key.expires_at = optional_time(row[6]);
  key.revoked_at = optional_time(row[7]);
  return key;
}

std::optional<int64_t> optional_micros(const std::optional<common::TimePoint>& t) {
  if (!t) return std::nullopt;
  return to_micros(*t);
}

}  // namespace

common::Result<energy::Tenant> PgTenantRepository::create(const std::string& name) {
  if (name.empty()) return common::make_error("invalid_request", "tenant name must not be empty");
  return db_.transaction([&](pqxx::work& tx) -> common::Result<energy::Tenant> {
    return tenant_from_row(tx.exec_params1(
        "INSERT INTO tenants (name) VALUES ($1) RETURNING " + kTenantColumns, name));
  });
}

common::Result<std::optional<energy::Tenant>> PgTenantRepository::find(int64_t id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<energy::Tenant>> {
    auto rows = tx.exec_params("SELECT " + kTenantColumns + " FROM tenants WHERE id = $1", id);
    if (rows.empty()) return std::optional<energy::Tenant>();
    return std::optional(tenant_from_row(rows[0]));
  });
}

common::Result<std::vector<energy::Tenant>> PgTenantRepository::list() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<energy::Tenant>> {
    std::vector<energy::Tenant> out;
    for (const auto& row : tx.exec("SELECT " + kTenantColumns + " FROM tenants ORDER BY id")) {
      out.push_back(tenant_from_row(row));
    }
    return out;
  });
}

common::Result<energy::ApiKey> PgApiKeyRepository::insert(const energy::ApiKey& key) {
  if (key.prefix.empty()) return common::make_error("invalid_request", "api key prefix is empty");
  if (key.scopes.empty()) return common::make_error("invalid_request", "api key has no scopes");
  return db_.transaction([&](pqxx::work& tx) -> common::Result<energy::ApiKey> {
    if (tx.exec_params("SELECT 1 FROM tenants WHERE id = $1", key.tenant_id).empty()) {
      return common::make_error("not_found", "no tenant " + std::to_string(key.tenant_id));
    }
    auto rows = tx.exec_params(
        "INSERT INTO api_keys (tenant_id, prefix, secret_hash, scopes, expires_at, revoked_at) "
        "VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ','), " +
            timestamp_param(5) + ", " + timestamp_param(6) +
            ") ON CONFLICT (secret_hash) DO NOTHING RETURNING " + kKeyColumns,
        key.tenant_id, key.prefix, common::to_hex(key.secret_hash),
        energy::format_scopes(key.scopes), optional_micros(key.expires_at),
        optional_micros(key.revoked_at));
    if (rows.empty()) return common::make_error("conflict", "an api key with this secret exists");
    return key_from_row(rows[0]);
  });
}

common::Result<std::optional<energy::ApiKey>> PgApiKeyRepository::find_by_hash(
    const common::Hash32& secret_hash) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<energy::ApiKey>> {
    auto rows = tx.exec_params(
        "SELECT " + kKeyColumns + " FROM api_keys WHERE secret_hash = decode($1, 'hex')",
        common::to_hex(secret_hash));
    if (rows.empty()) return std::optional<energy::ApiKey>();
    RELAY_ASSIGN_OR_RETURN(auto key, key_from_row(rows[0]));
    return std::optional(std::move(key));
  });
}

common::Result<std::vector<energy::ApiKey>> PgApiKeyRepository::list(
    std::optional<int64_t> tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<energy::ApiKey>> {
    auto rows = tx.exec_params("SELECT " + kKeyColumns +
                                   " FROM api_keys WHERE ($1::bigint IS NULL OR tenant_id = $1) "
                                   "ORDER BY id DESC",
                               tenant_id);
    std::vector<energy::ApiKey> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      RELAY_ASSIGN_OR_RETURN(auto key, key_from_row(row));
      out.push_back(std::move(key));
    }
    return out;
  });
}

common::Result<bool> PgApiKeyRepository::revoke(int64_t key_id, std::optional<int64_t> tenant_id,
                                                common::TimePoint at) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<bool> {
    auto rows = tx.exec_params("UPDATE api_keys SET revoked_at = " + timestamp_param(3) +
                                   " WHERE id = $1 AND ($2::bigint IS NULL OR tenant_id = $2) "
                                   "AND revoked_at IS NULL RETURNING id",
                               key_id, tenant_id, to_micros(at));
    return !rows.empty();
  });
}

}  // namespace relay::store
