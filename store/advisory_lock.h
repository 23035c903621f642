// AdvisoryLock: a PostgreSQL session-level advisory lock, for "only one daemon does this at a time"
// (the leader that plans timers). It lives on a connection of its own, outside the pool, because a
// session lock belongs to the connection: if that connection drops, the lock is gone, so a leader
// re-checks still_held() before acting on its leadership.
#pragma once

#include <cstdint>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <string_view>

#include "common/result.h"

namespace relay::store {

class AdvisoryLock {
 public:
  // A stable 64-bit key for a lock name ("tronrelay.leader"), the same in every process and build.
  static int64_t key_for(std::string_view name);

  // Takes the lock without waiting. nullptr (not an error) when another session holds it;
  // "store_unavailable" when the server cannot be reached.
  static common::Result<std::unique_ptr<AdvisoryLock>> try_acquire(const std::string& url,
                                                                   int64_t key);

  // Releases the lock and closes the connection.
  ~AdvisoryLock();
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

  // Asks the server whether this session still holds the lock; false once the connection is lost.
  bool still_held();
  int64_t key() const { return key_; }

 private:
  AdvisoryLock(std::unique_ptr<pqxx::connection> conn, int64_t key);

  std::unique_ptr<pqxx::connection> conn_;
  int64_t key_;
};

}  // namespace relay::store
