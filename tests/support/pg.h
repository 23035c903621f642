// Shared PostgreSQL fixture for the *_pg_test binaries. The server comes from the environment:
// TRONRELAY_TEST_DATABASE_URL (set by `./run test`, or by hand after `scripts/pg start var/pg-test
// --fast`) names a database on it whose role may CREATE DATABASE. Each test binary works in
// databases of its own, created on first use as t_<pid>_<random> and dropped when its tests end
// (a crashed binary leaves them behind, harmlessly), so binaries running side by side never see
// each other's rows. Tests in one binary share its main database: each creates its own tenants
// rather than counting rows globally.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/bytes.h"
#include "migrations/migrator.h"
#include "store/database.h"

namespace relay::testing {

inline constexpr const char* kTestDatabaseUrlEnv = "TRONRELAY_TEST_DATABASE_URL";

// Random bytes, for rows that must be unique in a database the tests of a binary (and earlier
// runs) share: txids, addresses, names.
inline common::Bytes random_bytes(size_t n) {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mutex);
  common::Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}
inline common::Address random_address() { return common::Address::from_id20(random_bytes(20)); }

// The databases this binary created on the server; all are dropped at exit.
class PgServer {
 public:
  // nullptr when the environment names no server (PgTest then fails with the reason).
  static PgServer* instance() {
    std::lock_guard lock(instance_mutex());
    auto& server = slot();
    if (!server) {
      const char* url = std::getenv(kTestDatabaseUrlEnv);
      if (url != nullptr && *url != '\0') server.reset(new PgServer(url));
    }
    return server.get();
  }

  // Drops this binary's databases. Runs from the test environment's TearDown, before main returns:
  // at static destruction libpqxx's own statics may already be gone.
  static void shutdown() {
    std::lock_guard lock(instance_mutex());
    slot().reset();
  }

  static std::string missing_message() {
    return std::string(kTestDatabaseUrlEnv) +
           " is not set: this test needs PostgreSQL. Run `./run test`, or:\n"
           "  scripts/pg start var/pg-test --fast\n"
           "  export " +
           kTestDatabaseUrlEnv + "=$(scripts/pg url var/pg-test)";
  }

  ~PgServer() {
    main_.reset();
    for (const auto& name : created_) {
      try {
        pqxx::connection admin(admin_url_);
        pqxx::nontransaction tx(admin);
        tx.exec0("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "pg fixture: could not drop %s: %s\n", name.c_str(), e.what());
      }
    }
  }

  // A new, empty database (no migrations applied); returns its URL.
  std::string create_database() {
    std::lock_guard lock(mutex_);
    std::random_device random;
    const std::string name =
        "t_" + std::to_string(::getpid()) + "_" + std::to_string(random() % 1000000000);
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec0("CREATE DATABASE " + name);
    created_.push_back(name);
    return with_database(admin_url_, name);
  }

  // The binary's main database, created and migrated on first use, behind a pool of 16 connections.
  store::Database& main_database() {
    std::lock_guard lock(main_mutex_);
    if (!main_) {
      main_url_ = create_database();
      pqxx::connection conn(main_url_);
      auto applied = migrations::Migrator().apply(conn);
      if (!applied.ok())
        throw std::runtime_error("migrating the test database: " + applied.error().message);
      auto db = store::Database::open(main_url_, 16);
      if (!db.ok()) throw std::runtime_error("opening the test database: " + db.error().message);
      main_ = std::move(*db);
    }
    return *main_;
  }

  const std::string& main_url() {
    main_database();
    return main_url_;
  }

  // `url` with its database name replaced: postgresql://user@host:port/NAME?params.
  static std::string with_database(const std::string& url, const std::string& name) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos) {
      throw std::runtime_error(std::string(kTestDatabaseUrlEnv) +
                               " must be a URL (postgresql://user@host:port/db), not " + url);
    }
    const size_t path = url.find('/', scheme + 3);
    const size_t query = url.find('?', scheme + 3);
    const std::string authority = url.substr(0, std::min(path, query));
    const std::string params = query == std::string::npos ? "" : url.substr(query);
    return authority + "/" + name + params;
  }

 private:
  explicit PgServer(std::string admin_url) : admin_url_(std::move(admin_url)) {}
  static std::mutex& instance_mutex() {
    static std::mutex mutex;
    return mutex;
  }
  static std::unique_ptr<PgServer>& slot() {
    static std::unique_ptr<PgServer> server;
    return server;
  }

  const std::string admin_url_;
  std::mutex mutex_;
  std::vector<std::string> created_;
  std::mutex main_mutex_;
  std::string main_url_;
  std::unique_ptr<store::Database> main_;
};

class PgEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { PgServer::shutdown(); }
};
// Registered once per binary, whichever test file includes this header first.
inline ::testing::Environment* const kPgEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgEnvironment);

// Base for tests that use the binary's migrated main database.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PgServer::instance();
    ASSERT_NE(server_, nullptr) << PgServer::missing_message();
    ASSERT_NO_THROW(db_ = &server_->main_database());
  }

  store::Database& db() { return *db_; }
  const std::string& url() { return server_->main_url(); }
  // A fresh, empty, unmigrated database of this binary's own.
  std::string fresh_database_url() { return server_->create_database(); }
  // A fresh database of this binary's own with every migration applied (empty string, and a test
  // failure, if they could not be): for tests that look at every row of a table, such as every
  // active pool.
  std::string fresh_migrated_database_url() {
    const std::string fresh = fresh_database_url();
    pqxx::connection conn(fresh);
    auto applied = migrations::Migrator().apply(conn);
    EXPECT_TRUE(applied.ok()) << applied.error().message;
    return applied.ok() ? fresh : std::string();
  }

  // Runs one SQL query on the main database and returns the first column of its first row.
  std::string scalar(const std::string& sql) {
    pqxx::connection conn(url());
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

 private:
  PgServer* server_ = nullptr;
  store::Database* db_ = nullptr;
};

}  // namespace relay::testing
