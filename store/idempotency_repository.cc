#include "store/idempotency_repository.h"

#include <cassert>
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

PgIdempotencyRepository::PgIdempotencyRepository(Database& db, IdempotencyKeyOptions options)
    : db_(db), options_(options) {
  assert(options_.stale_after.count() > 0 && options_.retention > options_.stale_after &&
         options_.sweep_batch_rows > 0);
}

common::Result<IdempotencyClaim> PgIdempotencyRepository::claim(int64_t tenant_id,
                                                                const std::string& key,
                                                                const std::string& request_hash,
                                                                common::TimePoint now) {
  if (key.empty() || key.size() > kMaxKeyLength) {
    return common::make_error("invalid_request", "Idempotency-Key must be 1.." +
                                                     std::to_string(kMaxKeyLength) + " characters");
  }
  if (request_hash.empty()) return common::make_error("invalid_request", "empty request hash");
  const int64_t now_micros = to_micros(now);
  const int64_t stale_micros = to_micros(now - options_.stale_after);
  return db_.transaction([&](pqxx::work& tx) -> common::Result<IdempotencyClaim> {
    // The row may change between the statements (abandoned, completed or taken over meanwhile):
    // then look again.
    for (int tries = 0; tries < 3; ++tries) {
      auto inserted = tx.exec_params(
          "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at) "
          "VALUES ($1, $2, $3, " +
              timestamp_param(4) + ") ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1",
          tenant_id, key, request_hash, now_micros);
      if (!inserted.empty()) return IdempotencyClaim{IdempotencyOutcome::kStarted, std::nullopt};
      auto rows = tx.exec_params(
          "SELECT request_hash, status, response_status, response_body, created_at < " +
              timestamp_param(3) + " FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
          tenant_id, key, stale_micros);
      if (rows.empty()) continue;
      const auto& row = rows[0];
      if (row[0].as<std::string>() != request_hash) {
        return IdempotencyClaim{IdempotencyOutcome::kMismatch, std::nullopt};
      }
      if (row[1].as<std::string>() != "completed") {
        if (!row[4].as<bool>()) {
          return IdempotencyClaim{IdempotencyOutcome::kInProgress, std::nullopt};
        }
        // Stale: its owner died. The conditions are checked again on the row as it is when the
        // UPDATE locks it, so of two claims racing here the second finds it claimed anew (fresh)
        // and matches nothing.
        auto taken =
            tx.exec_params("UPDATE idempotency_keys SET created_at = " + timestamp_param(4) +
                               " WHERE tenant_id = $1 AND key = $2 AND request_hash = $3 "
                               "AND status = 'in_progress' AND created_at < " +
                               timestamp_param(5) + " RETURNING 1",
                           tenant_id, key, request_hash, now_micros, stale_micros);
        if (!taken.empty()) return IdempotencyClaim{IdempotencyOutcome::kStarted, std::nullopt};
        continue;
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

common::Result<int64_t> PgIdempotencyRepository::delete_expired(common::TimePoint now) {
  const int64_t cutoff_micros = to_micros(now - options_.retention);
  int64_t deleted = 0;
  while (true) {
    // Oldest first along idempotency_keys_by_age; SKIP LOCKED so that a sweep never waits behind a
    // claim, and two sweeps share the work instead of queueing.
    auto batch = db_.transaction([&](pqxx::work& tx) -> common::Result<int64_t> {
      auto rows = tx.exec_params(
          "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN ("
          "SELECT tenant_id, key FROM idempotency_keys WHERE created_at < " +
              timestamp_param(1) + " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
          cutoff_micros, options_.sweep_batch_rows);
      return static_cast<int64_t>(rows.affected_rows());
    });
    if (!batch.ok()) return batch.error();
    deleted += *batch;
    if (*batch < options_.sweep_batch_rows) return deleted;
  }
}

}  // namespace relay::store
