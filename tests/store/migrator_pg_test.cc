#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/nontransaction>
#include <thread>

#include "migrations/migrator.h"
#include "tests/support/pg.h"

namespace relay::migrations {
namespace {

using testing::PgTest;

class MigratorPgTest : public PgTest {
 protected:
  int64_t count(const std::string& db_url, const std::string& sql) {
    pqxx::connection conn(db_url);
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
};

TEST_F(MigratorPgTest, EmbedsNumberedFilesInOrder) {
  const auto& all = embedded_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].name, "0001_init");
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(all[i].checksum().size(), 64u);
    EXPECT_FALSE(all[i].sql.empty());
  }
  EXPECT_NE(all[0].sql.find("CREATE TABLE ledger_entries"), std::string::npos);
}

TEST_F(MigratorPgTest, AppliesOnceThenNothing) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  Migrator migrator;
  const int total = static_cast<int>(migrator.migrations().size());

  auto before = migrator.status(conn);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_TRUE(before->applied.empty());
  EXPECT_EQ(static_cast<int>(before->pending.size()), total);

  auto first = migrator.apply(conn);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, total);
  auto second = migrator.apply(conn);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, 0);

  auto after = migrator.status(conn);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(after->pending.empty());
  ASSERT_EQ(static_cast<int>(after->applied.size()), total);
  EXPECT_EQ(after->applied[0].name, "0001_init");
  EXPECT_EQ(after->applied[0].checksum, migrator.migrations()[0].checksum());
  EXPECT_TRUE(after->applied[0].applied_at.has_value());
  for (const char* table :
       {"tenants", "api_keys", "ledger_entries", "holds", "idempotency_keys", "audit_log"}) {
    EXPECT_EQ(count(db_url, std::string("SELECT count(*) FROM ") + table), 0) << table;
  }
}

TEST_F(MigratorPgTest, FourConcurrentMigratorsApplyEachMigrationOnce) {
  const std::string db_url = fresh_database_url();
  std::atomic<int> applied_total{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        pqxx::connection conn(db_url);
        auto applied = Migrator().apply(conn);
        if (applied.ok()) {
          applied_total += *applied;
        } else {
          ADD_FAILURE() << applied.error().code << ": " << applied.error().message;
          ++failures;
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const int total = static_cast<int>(embedded_migrations().size());
  EXPECT_EQ(applied_total.load(), total);
  EXPECT_EQ(count(db_url, "SELECT count(*) FROM schema_migrations"), total);
  // The lock is released by every migrator: it is free now.
  EXPECT_EQ(count(db_url,
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                  "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            0);
}

TEST_F(MigratorPgTest, RefusesAnAppliedMigrationThatChanged) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  ASSERT_TRUE(Migrator().apply(conn).ok());

  auto edited = embedded_migrations();
  edited[0].sql += "\n-- a harmless-looking edit\n";
  Migrator changed(edited);
  auto applied = changed.apply(conn);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, "migration_mismatch");
  EXPECT_NE(applied.error().message.find("0001_init"), std::string::npos);
  auto status = changed.status(conn);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "migration_mismatch");
}

TEST_F(MigratorPgTest, RefusesADatabaseMigratedByANewerBuild) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  auto newer = embedded_migrations();
  newer.push_back(Migration{static_cast<int>(newer.size()) + 1, "9999_from_the_future",
                            "CREATE TABLE future_things (id bigint)"});
  auto applied = Migrator(newer).apply(conn);
  ASSERT_TRUE(applied.ok()) << applied.error().message;

  auto older = Migrator().apply(conn);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, "migration_mismatch");
  EXPECT_NE(older.error().message.find("9999_from_the_future"), std::string::npos);
}

TEST_F(MigratorPgTest, StatusListsPendingAndApplyRunsThemInOrder) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  std::vector<Migration> two = {
      {1, "0001_a", "CREATE TABLE a (id bigint PRIMARY KEY)"},
      {2, "0002_b", "CREATE TABLE b (a_id bigint REFERENCES a (id)); INSERT INTO a VALUES (7)"}};
  ASSERT_TRUE(Migrator({two[0]}).apply(conn).ok());
  auto status = Migrator(two).status(conn);
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->applied.size(), 1u);
  ASSERT_EQ(status->pending.size(), 1u);
  EXPECT_EQ(status->pending[0].name, "0002_b");
  EXPECT_FALSE(status->pending[0].applied_at.has_value());
  auto applied = Migrator(two).apply(conn);
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(*applied, 1);
  EXPECT_EQ(count(db_url, "SELECT count(*) FROM a"), 1);
}

TEST_F(MigratorPgTest, AFailingMigrationIsRolledBackAndReleasesTheLock) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  std::vector<Migration> list = {
      {1, "0001_good", "CREATE TABLE good (id bigint)"},
      {2, "0002_bad", "CREATE TABLE half (id bigint); SELECT * FROM no_such_table"}};
  auto applied = Migrator(list).apply(conn);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, "migration_failed");
  EXPECT_NE(applied.error().message.find("0002_bad"), std::string::npos);
  EXPECT_EQ(count(db_url, "SELECT count(*) FROM schema_migrations"), 1);
  EXPECT_EQ(count(db_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);

  // The same session can take the lock again at once, and so can another one.
  list[1].sql = "CREATE TABLE half (id bigint)";
  pqxx::connection other(db_url);
  auto retried = Migrator(list).apply(other);
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(*retried, 1);
}

TEST_F(MigratorPgTest, LostConnectionIsStoreUnavailable) {
  const std::string db_url = fresh_database_url();
  pqxx::connection conn(db_url);
  const int pid = conn.backendpid();
  {
    pqxx::connection killer(db_url);
    pqxx::nontransaction tx(killer);
    tx.exec_params("SELECT pg_terminate_backend($1)", pid);
  }
  auto applied = Migrator().apply(conn);
  if (applied.ok()) {
    // libpqxx 6 may reconnect a session that had no transaction open; then the work is done.
    EXPECT_EQ(*applied, static_cast<int>(embedded_migrations().size()));
  } else {
    EXPECT_EQ(applied.error().code, "store_unavailable") << applied.error().message;
  }
}

}  // namespace
}  // namespace relay::migrations
