// Migrator: brings a database's schema to the version this binary was built with by applying the
// numbered files migrations/sql/NNNN_name.sql (compiled in) in order, each in its own transaction,
// and recording them in schema_migrations with a checksum. Several daemons may start at once: a
// session advisory lock lets one apply while the others wait and then find nothing to do. A
// database whose applied migrations differ from this binary's (edited after release, or applied by
// a newer tronrelay) is refused rather than touched.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace relay::migrations {

struct Migration {
  int version = 0;
  std::string name;  // "0001_init": the file name without .sql
  std::string sql;

  // Lowercase hex SHA-256 of `sql`, as recorded in schema_migrations.checksum.
  std::string checksum() const;
};

// Every migrations/sql/*.sql, by version (generated at build time by embed_sql.cmake).
const std::vector<Migration>& embedded_migrations();

struct MigrationState {
  int version = 0;
  std::string name;
  std::string checksum;
  std::optional<common::TimePoint> applied_at;  // empty while pending
};

struct SchemaStatus {
  std::vector<MigrationState> applied;  // as recorded in the database, by version
  std::vector<MigrationState> pending;  // known to this binary, not applied yet
};

// Key of the session advisory lock that serializes migrators (pg_advisory_lock(bigint)).
inline constexpr int64_t kMigrationLockKey = 0x7472'6d69'6772'6174;  // "trmigrat"

class Migrator {
 public:
  // The migrations compiled into this binary.
  Migrator();
  // Another list (tests): versions must be 1, 2, 3, … in order.
  explicit Migrator(std::vector<Migration> migrations);

  // Applies every pending migration in order and returns how many it applied (0 when the schema is
  // current). Waits for the migration lock while another process migrates. Errors:
  // "migration_mismatch" when an applied migration's checksum or name differs from this binary's,
  // or the database has a migration this binary does not know (nothing is applied then);
  // "migration_failed" when a migration's SQL fails (it is rolled back; earlier ones stay);
  // "store_unavailable" / "internal" from PostgreSQL. `conn` must not be inside a transaction.
  common::Result<int> apply(pqxx::connection& conn);

  // What is applied and what is pending; does not take the lock or change anything.
  common::Result<SchemaStatus> status(pqxx::connection& conn);

  const std::vector<Migration>& migrations() const { return migrations_; }

 private:
  std::vector<Migration> migrations_;
};

}  // namespace relay::migrations
