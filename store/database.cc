#include "store/database.h"

namespace relay::store {

Database::Lease::Lease(Database* db, std::unique_ptr<pqxx::connection> conn)
    : db_(db), conn_(std::move(conn)) {}

Database::Lease::Lease(Lease&& other) noexcept : db_(other.db_), conn_(std::move(other.conn_)) {}

Database::Lease::~Lease() {
  if (conn_) db_->give_back(std::move(conn_));
}

void Database::Lease::discard() {
  if (!conn_) return;
  conn_.reset();
  db_->forget_one();
}

Database::Database(std::string url, int size) : url_(std::move(url)), size_(size) {}

Database::~Database() = default;

common::Result<std::unique_ptr<Database>> Database::open(const std::string& url, int size) {
  if (size < 1)
    return common::make_error("invalid_request", "database pool size must be at least 1");
  std::unique_ptr<Database> db(new Database(url, size));
  try {
    auto first = std::make_unique<pqxx::connection>(url);
    db->idle_.push_back(std::move(first));
    db->open_ = 1;
  } catch (const std::exception& e) {
    auto error = pg_error(e);
    // A malformed URL is also reported as a broken connection by libpq; either way the store is
    // unusable, and the message says which.
    error.code = "store_unavailable";
    return error;
  }
  return db;
}

common::Result<Database::Lease> Database::acquire() {
  std::unique_lock lock(mutex_);
  const bool got =
      available_.wait_for(lock, kAcquireTimeout, [&] { return !idle_.empty() || open_ < size_; });
  if (!got) {
    return common::make_error("store_unavailable", "all " + std::to_string(size_) +
                                                       " database connections stayed busy for " +
                                                       std::to_string(kAcquireTimeout.count()) +
                                                       " ms");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  try {
    return Lease(this, std::make_unique<pqxx::connection>(url_));
  } catch (const std::exception& e) {
    forget_one();
    auto error = pg_error(e);
    error.code = "store_unavailable";
    return error;
  }
}

void Database::give_back(std::unique_ptr<pqxx::connection> conn) {
  if (!conn->is_open()) {
    conn.reset();
    forget_one();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

void Database::forget_one() {
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  available_.notify_one();
}

Database::PoolStats Database::stats() {
  std::lock_guard lock(mutex_);
  return PoolStats{.open = open_, .idle = static_cast<int>(idle_.size())};
}

void Database::drop_idle() {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(idle_);
    open_ -= static_cast<int>(dropped.size());
  }
  available_.notify_all();
}

common::Status Database::ping() {
  // Through read(): a pooled connection the server closed meanwhile is replaced, not reported as
  // an outage.
  return read([](pqxx::nontransaction& tx) -> common::Status {
    tx.exec1("SELECT 1");
    return {};
  });
}

}  // namespace relay::store
