// PostgreSQL implementation of energy's IdempotencyRepository (table idempotency_keys, one row per
// tenant and key). The primary key decides races: of two requests claiming a new key at once,
// exactly one inserts the row and runs; the other sees it in progress.
#pragma once

#include "energy/idempotency.h"
#include "store/database.h"

namespace relay::store {

class PgIdempotencyRepository final : public energy::IdempotencyRepository {
 public:
  // Longest Idempotency-Key accepted; longer is "invalid_request".
  static constexpr size_t kMaxKeyLength = 255;

  explicit PgIdempotencyRepository(Database& db) : db_(db) {}

  // "invalid_request" for an empty or over-long key or an empty request hash.
  common::Result<energy::IdempotencyClaim> claim(int64_t tenant_id, const std::string& key,
                                                 const std::string& request_hash,
                                                 common::TimePoint now) override;
  // "not_found" when the key was never claimed (or was abandoned); "conflict" when it is complete.
  common::Status complete(int64_t tenant_id, const std::string& key,
                          const energy::StoredResponse& response) override;
  // "not_found" when the key was never claimed; "conflict" when it is complete (a stored response
  // is never thrown away).
  common::Status abandon(int64_t tenant_id, const std::string& key) override;

 private:
  Database& db_;
};

}  // namespace relay::store
