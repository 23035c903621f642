// Database: the pool of PostgreSQL connections every repository borrows from. A call holds one
// connection for the length of one function (a transaction, or a plain session) and then gives it
// back; at most `size` connections exist, opened when first needed. Thread-safe. Owned by the
// composition root, which keeps it alive longer than every repository built on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <type_traits>
#include <vector>

#include "common/result.h"
#include "store/pg_error.h"

namespace relay::store {

class Database {
 public:
  // How long a caller waits for a free connection before "store_unavailable".
  static constexpr std::chrono::milliseconds kAcquireTimeout{10'000};
  // Tries of one transaction() when PostgreSQL reports a deadlock or a serialization failure.
  static constexpr int kMaxAttempts = 3;

  // Connects once to check `url` (a libpq URL such as postgresql://user@host:port/db) and returns a
  // pool of up to `size` connections. "store_unavailable" when the server cannot be reached,
  // "invalid_request" for a size below 1.
  static common::Result<std::unique_ptr<Database>> open(const std::string& url, int size);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `fn(pqxx::connection&) -> Result<T>` on a borrowed connection outside any transaction;
  // fn may open its own. A libpqxx exception becomes an Error (see pg_error.h).
  template <typename Fn>
  auto with_connection(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::connection&>;

  // Runs `fn(pqxx::work&) -> Result<T>` in one READ COMMITTED transaction: committed when fn
  // returns a value, rolled back when it returns an error or throws. After a deadlock, a
  // serialization failure, or a pooled connection found dead before anything ran, fn runs again on
  // a fresh transaction (kMaxAttempts in all): fn must touch the world only through `tx`.
  template <typename Fn>
  auto transaction(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&>;

  // Runs `fn(pqxx::nontransaction&) -> Result<T>` for a read that is a single statement: no
  // BEGIN/COMMIT round trips around it (on the hot path of every authenticated request). A
  // connection found dead is replaced and fn runs again: a read has no effect to repeat.
  template <typename Fn>
  auto read(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::nontransaction&>;

  // SELECT 1 on a pooled connection: the "db" of GET /health.
  common::Status ping();

  int size() const { return size_; }
  // For GET /metrics: connections open (idle + borrowed) and idle right now.
  struct PoolStats {
    int open = 0;
    int idle = 0;
  };
  PoolStats stats();

 private:
  // A borrowed connection; returned to the pool when destroyed, or dropped after discard().
  class Lease {
   public:
    Lease(Database* db, std::unique_ptr<pqxx::connection> conn);
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& connection() { return *conn_; }
    // The connection is broken: close it instead of pooling it; the next caller opens a new one.
    void discard();

   private:
    Database* db_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  Database(std::string url, int size);
  common::Result<Lease> acquire();
  void give_back(std::unique_ptr<pqxx::connection> conn);
  void forget_one();
  // Closes every idle connection, e.g. after one turned out dead.
  void drop_idle();

  const std::string url_;
  const int size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;  // idle + borrowed + being opened
};

template <typename Fn>
auto Database::with_connection(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::connection&> {
  auto lease = acquire();
  if (!lease.ok()) return lease.error();
  try {
    return fn(lease->connection());
  } catch (const std::exception& e) {
    if (is_connection_failure(e)) lease->discard();
    return pg_error(e);
  }
}

template <typename Fn>
auto Database::transaction(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&> {
  using R = std::invoke_result_t<Fn&, pqxx::work&>;
  for (int attempt = 1;; ++attempt) {
    auto lease = acquire();
    if (!lease.ok()) return lease.error();
    bool began = false;
    try {
      pqxx::work tx(lease->connection());
      began = true;
      R result = fn(tx);
      if (result.ok()) tx.commit();
      return result;
    } catch (const pqxx::transaction_rollback& e) {
      if (attempt < kMaxAttempts) continue;
      return pg_error(e);
    } catch (const std::exception& e) {
      if (is_connection_failure(e)) {
        lease->discard();
        // A pooled connection the server closed while idle (restart, idle timeout) fails at BEGIN:
        // nothing ran, so retry on a new connection; the other idle ones likely died with it.
        // Later failures may have committed: no retry.
        if (!began && attempt < kMaxAttempts) {
          drop_idle();
          continue;
        }
      }
      return pg_error(e);
    }
  }
}

template <typename Fn>
auto Database::read(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::nontransaction&> {
  for (int attempt = 1;; ++attempt) {
    auto lease = acquire();
    if (!lease.ok()) return lease.error();
    try {
      pqxx::nontransaction tx(lease->connection());
      return fn(tx);
    } catch (const std::exception& e) {
      // Without a BEGIN, a connection the server closed while pooled first fails on the
      // statement itself, often as an error result ("terminating connection…"); the closed
      // socket is what tells it apart from a failing query.
      if (is_connection_failure(e) || !lease->connection().is_open()) {
        lease->discard();
        // After a server restart every pooled connection is dead: drop them one by one until a
        // fresh one is opened.
        if (attempt <= size_) continue;
      }
      return pg_error(e);
    }
  }
}

}  // namespace relay::store
