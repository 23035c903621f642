#include "store/idempotency_repository.h"

#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using energy::IdempotencyClaim;
using energy::IdempotencyOutcome;

// Why a finishing call found no in-progress row: never claimed, or already complete.
common::Error not_in_progress(pqxx::work& tx, int64_t tenant_id, const std::string& key) {
  auto rows = tx.exec_params(
      "SELECT status FROM idempotency_keys WHERE tenant_id = $1 AND key = $2", tenant_id, key);
  if (rows.empty()) return common::make_error("not_found", "idempotency key was not claimed");
  return common::make_error("conflict", "idempotency key is already complete");
}

}  // namespace

common::Result<IdempotencyClaim> PgIdempotencyRepository::claim(int64_t tenant_id,
                                                                const std::string& key,
                                                                const std::string& request_hash,
                                                                common::TimePoint now) {
  if (key.empty() || key.size() > kMaxKeyLength) {
    return common::make_error("invalid_request", "Idempotency-Key must be 1.." +
                                                     std::to_string(kMaxKeyLength) + " characters");
  }
  if (request_hash.empty()) return common::make_error("invalid_request", "empty request hash");
  return db_.transaction([&](pqxx::work& tx) -> common::Result<IdempotencyClaim> {
    // The row may vanish between the insert and the read (abandoned meanwhile): then try again.
    for (int tries = 0; tries < 3; ++tries) {
      auto inserted = tx.exec_params(
          "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at) "
          "VALUES ($1, $2, $3, " +
              timestamp_param(4) + ") ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1",
          tenant_id, key, request_hash, to_micros(now));
      if (!inserted.empty()) return IdempotencyClaim{IdempotencyOutcome::kStarted, std::nullopt};
      auto rows = tx.exec_params(
          "SELECT request_hash, status, response_status, response_body FROM idempotency_keys "
          "WHERE tenant_id = $1 AND key = $2",
          tenant_id, key);
      if (rows.empty()) continue;
      const auto& row = rows[0];
      if (row[0].as<std::string>() != request_hash) {
        return IdempotencyClaim{IdempotencyOutcome::kMismatch, std::nullopt};
      }
      if (row[1].as<std::string>() != "completed") {
        return IdempotencyClaim{IdempotencyOutcome::kInProgress, std::nullopt};
      }
      return IdempotencyClaim{
          IdempotencyOutcome::kReplay,
          energy::StoredResponse{row[2].as<int>(),
                                 row[3].is_null() ? "" : row[3].as<std::string>()}};
    }
    return common::make_error("conflict", "idempotency key keeps changing; retry");
  });
}

common::Status PgIdempotencyRepository::complete(int64_t tenant_id, const std::string& key,
                                                 const energy::StoredResponse& response) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "UPDATE idempotency_keys SET status = 'completed', response_status = $3, "
        "response_body = $4, completed_at = now() "
        "WHERE tenant_id = $1 AND key = $2 AND status = 'in_progress' RETURNING 1",
        tenant_id, key, response.status, response.body);
    if (rows.empty()) return not_in_progress(tx, tenant_id, key);
    return {};
  });
}

common::Status PgIdempotencyRepository::abandon(int64_t tenant_id, const std::string& key) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status = 'in_progress' "
        "RETURNING 1",
        tenant_id, key);
    if (rows.empty()) return not_in_progress(tx, tenant_id, key);
    return {};
  });
}

}  // namespace relay::store
