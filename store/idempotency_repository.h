// PostgreSQL implementation of energy's IdempotencyRepository (table idempotency_keys, one row per
// tenant and key). The primary key decides races: of two requests claiming a new key at once,
// exactly one inserts the row and runs; the other sees it in progress. A stale key is taken over by
// one conditional UPDATE, so of two claims racing for it exactly one wins as well.
#pragma once

#include <chrono>
#include <cstdint>

#include "energy/idempotency.h"
#include "store/database.h"

namespace relay::store {

struct IdempotencyKeyOptions {
  // A key in progress for longer than this (counted from its claim) belongs to a request that will
  // never finish: a claim with the same body takes it over. Must exceed the longest a request can
  // run, since the taken-over request runs again.
  std::chrono::milliseconds stale_after = std::chrono::minutes(10);
  // delete_expired() removes keys claimed longer ago than this: replays are honoured for a day.
  std::chrono::milliseconds retention = std::chrono::hours(24);
  // Rows per DELETE in delete_expired(): each batch is its own short transaction.
  int64_t sweep_batch_rows = 1000;
};

class PgIdempotencyRepository final : public energy::IdempotencyRepository {
 public:
  // Longest Idempotency-Key accepted; longer is "invalid_request".
  static constexpr size_t kMaxKeyLength = 255;

  // Asserts retention > stale_after > 0 and sweep_batch_rows > 0.
  explicit PgIdempotencyRepository(Database& db, IdempotencyKeyOptions options = {});

  // "invalid_request" for an empty or over-long key or an empty request hash. kStarted for a new
  // key, and for a key in progress that was claimed before now - stale_after with the same request
  // hash: the row is then claimed anew at `now`.
  common::Result<energy::IdempotencyClaim> claim(int64_t tenant_id, const std::string& key,
                                                 const std::string& request_hash,
                                                 common::TimePoint now) override;
  // "not_found" when the key was never claimed (or was abandoned); "conflict" when it is complete.
  // Neither this nor abandon() can tell owners apart: a request still running after its key was
  // taken over completes (or frees) its successor's row, which then gets "conflict" ("not_found").
  common::Status complete(int64_t tenant_id, const std::string& key,
                          const energy::StoredResponse& response) override;
  // "not_found" when the key was never claimed; "conflict" when it is complete (a stored response
  // is never thrown away).
  common::Status abandon(int64_t tenant_id, const std::string& key) override;

  // The retention sweep, for the daemon to run periodically (every few minutes; several daemons may
  // run it at once). Deletes every key of every tenant claimed before now - retention: completed
  // ones, whose replay window is over, and ones still in progress, left by a crash and stale for a
  // day. Works in batches of sweep_batch_rows, each its own transaction, until a batch comes back
  // short; rows locked by a concurrent claim or sweep are skipped, not waited for. Returns how many
  // rows were deleted; after an error the batches before it stay deleted.
  common::Result<int64_t> delete_expired(common::TimePoint now);

 private:
  Database& db_;
  const IdempotencyKeyOptions options_;
};

}  // namespace relay::store
