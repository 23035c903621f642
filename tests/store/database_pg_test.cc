#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/nontransaction>
#include <thread>

#include "store/advisory_lock.h"
#include "store/database.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using testing::PgTest;

class DatabasePgTest : public PgTest {};

TEST_F(DatabasePgTest, PingsAndRunsFunctions) {
  EXPECT_TRUE(db().ping().ok());
  auto two = db().with_connection([](pqxx::connection& conn) -> common::Result<int> {
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT 1 + 1")[0].as<int>();
  });
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(*two, 2);
}

TEST_F(DatabasePgTest, UnreachableServerIsStoreUnavailable) {
  // Nothing listens on port 1; connecting is refused at once.
  auto db = Database::open("postgresql://tronrelay@127.0.0.1:1/tronrelay", 2);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "store_unavailable");
  EXPECT_EQ(Database::open(url(), 0).error().code, "invalid_request");
}

TEST_F(DatabasePgTest, TransactionCommitsValuesAndRollsBackErrors) {
  auto setup = db().transaction([](pqxx::work& tx) -> common::Status {
    tx.exec0("CREATE TABLE IF NOT EXISTS pool_probe (v text)");
    return {};
  });
  ASSERT_TRUE(setup.ok()) << setup.error().message;
  auto refused = db().transaction([](pqxx::work& tx) -> common::Status {
    tx.exec0("INSERT INTO pool_probe VALUES ('rolled back')");
    return common::make_error("conflict", "changed my mind");
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "conflict");
  auto kept = db().transaction([](pqxx::work& tx) -> common::Status {
    tx.exec0("INSERT INTO pool_probe VALUES ('kept')");
    return {};
  });
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(scalar("SELECT string_agg(v, ',') FROM pool_probe"), "kept");
}

TEST_F(DatabasePgTest, SqlErrorsAreInternalAndThePoolStaysUsable) {
  auto bad = db().transaction([](pqxx::work& tx) -> common::Status {
    tx.exec0("SELECT * FROM no_such_table");
    return {};
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "internal");
  EXPECT_NE(bad.error().message.find("42P01"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(db().ping().ok());
}

TEST_F(DatabasePgTest, SurvivesTheServerClosingPooledConnections) {
  // A database of its own, so that only this pool's connections are cut.
  const std::string own = fresh_database_url();
  auto pool = Database::open(own, 3);
  ASSERT_TRUE(pool.ok());
  // Three callers at once leave three idle connections in the pool.
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      auto slept = (*pool)->transaction([](pqxx::work& tx) -> common::Status {
        tx.exec("SELECT pg_sleep(0.1)");
        return {};
      });
      EXPECT_TRUE(slept.ok());
    });
  }
  for (auto& t : threads) t.join();
  {
    pqxx::connection admin(own);
    pqxx::nontransaction tx(admin);
    auto killed = tx.exec1(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    EXPECT_EQ(killed[0].as<int>(), 3);
  }
  // The first dead connection is found at BEGIN; the idle ones are dropped and a new connection
  // runs the call. No caller sees an error.
  EXPECT_TRUE((*pool)->ping().ok());
  for (int i = 0; i < 6; ++i) {
    auto one = (*pool)->transaction(
        [](pqxx::work& tx) -> common::Result<int> { return tx.exec1("SELECT 1")[0].as<int>(); });
    EXPECT_TRUE(one.ok()) << one.error().message;
  }
}

TEST_F(DatabasePgTest, PoolNeverOpensMoreThanItsSize) {
  auto pool = Database::open(url(), 2);
  ASSERT_TRUE(pool.ok());
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = (*pool)->transaction([&](pqxx::work& tx) -> common::Status {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        tx.exec("SELECT pg_sleep(0.05)");
        --inside;
        return {};
      });
      EXPECT_TRUE(r.ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(most.load(), 1);
}

TEST_F(DatabasePgTest, AdvisoryLockHasOneHolderAtATime) {
  const int64_t key = AdvisoryLock::key_for("tronrelay.test." + std::to_string(::getpid()));
  EXPECT_EQ(AdvisoryLock::key_for("tronrelay.leader"), AdvisoryLock::key_for("tronrelay.leader"));
  EXPECT_NE(AdvisoryLock::key_for("tronrelay.leader"), AdvisoryLock::key_for("tronrelay.leadex"));

  auto first = AdvisoryLock::try_acquire(url(), key);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_NE(*first, nullptr);
  EXPECT_TRUE((*first)->still_held());

  auto second = AdvisoryLock::try_acquire(url(), key);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, nullptr);

  first->reset();
  auto third = AdvisoryLock::try_acquire(url(), key);
  ASSERT_TRUE(third.ok());
  ASSERT_NE(*third, nullptr);

  // A leader whose session the server ended no longer holds the lock, and says so.
  {
    pqxx::connection admin(url());
    pqxx::nontransaction tx(admin);
    tx.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
        "AND classid::bigint = $1 AND objid::bigint = $2 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        static_cast<int64_t>(static_cast<uint64_t>(key) >> 32),
        static_cast<int64_t>(static_cast<uint64_t>(key) & 0xffffffffULL));
  }
  EXPECT_FALSE((*third)->still_held());
  auto fourth = AdvisoryLock::try_acquire(url(), key);
  ASSERT_TRUE(fourth.ok());
  EXPECT_NE(*fourth, nullptr);

  EXPECT_EQ(AdvisoryLock::try_acquire("postgresql://tronrelay@127.0.0.1:1/x", key).error().code,
            "store_unavailable");
}

}  // namespace
}  // namespace relay::store
