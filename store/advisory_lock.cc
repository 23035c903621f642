#include "store/advisory_lock.h"

#include <pqxx/nontransaction>

#include "store/pg_error.h"

namespace relay::store {

int64_t AdvisoryLock::key_for(std::string_view name) {
  // FNV-1a, 64-bit: fixed by its definition, unlike std::hash.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return static_cast<int64_t>(hash);
}

AdvisoryLock::AdvisoryLock(std::unique_ptr<pqxx::connection> conn, int64_t key)
    : conn_(std::move(conn)), key_(key) {}

common::Result<std::unique_ptr<AdvisoryLock>> AdvisoryLock::try_acquire(const std::string& url,
                                                                        int64_t key) {
  try {
    auto conn = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction tx(*conn);
    const bool got = tx.exec_params1("SELECT pg_try_advisory_lock($1)", key)[0].as<bool>();
    tx.commit();
    if (!got) return std::unique_ptr<AdvisoryLock>();
    return std::unique_ptr<AdvisoryLock>(new AdvisoryLock(std::move(conn), key));
  } catch (const std::exception& e) {
    return pg_error(e);
  }
}

AdvisoryLock::~AdvisoryLock() {
  // Closing the session would release the lock too; unlocking first frees it even if the
  // connection lingers in a proxy.
  try {
    pqxx::nontransaction tx(*conn_);
    tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
  } catch (const std::exception&) {
    // The connection is gone, and the lock with it.
  }
}

bool AdvisoryLock::still_held() {
  try {
    pqxx::nontransaction tx(*conn_);
    const uint64_t key = static_cast<uint64_t>(key_);
    // A bigint key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
    auto row = tx.exec_params1(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
        static_cast<int64_t>(key >> 32), static_cast<int64_t>(key & 0xffffffffULL));
    return row[0].as<int64_t>() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace relay::store
