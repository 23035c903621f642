#include "migrations/migrator.h"

#include <cassert>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "common/bytes.h"
#include "common/hash.h"
#include "store/pg_error.h"
#include "store/pg_time.h"

namespace relay::migrations {

namespace {

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version    integer PRIMARY KEY,"
    "  name       text NOT NULL,"
    "  checksum   text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

// What schema_migrations says, or nothing when the table does not exist yet.
std::vector<MigrationState> read_applied(pqxx::transaction_base& tx) {
  std::vector<MigrationState> out;
  if (tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>() == false) {
    return out;
  }
  for (const auto& row :
       tx.exec("SELECT version, name, checksum, " + store::micros_of("applied_at") +
               " FROM schema_migrations ORDER BY version")) {
    out.push_back(MigrationState{row[0].as<int>(), row[1].as<std::string>(),
                                 row[2].as<std::string>(),
                                 store::from_micros(row[3].as<int64_t>())});
  }
  return out;
}

// The applied migrations must be a prefix of ours, unchanged.
common::Status check_applied(const std::vector<MigrationState>& applied,
                             const std::vector<Migration>& ours) {
  for (const auto& state : applied) {
    if (state.version < 1 || state.version > static_cast<int>(ours.size())) {
      return common::make_error(
          "migration_mismatch",
          "the database has migration " + state.name + ", which this tronrelay does not know: it " +
              "was migrated by a newer version; run that version or restore a matching backup");
    }
    const Migration& mine = ours[state.version - 1];
    if (state.name != mine.name || state.checksum != mine.checksum()) {
      return common::make_error(
          "migration_mismatch",
          "migration " + mine.name + " differs from the one applied as " + state.name +
              " (checksum " + state.checksum + ", this build " + mine.checksum() +
              "): applied migrations must never be edited; add a new one instead");
    }
  }
  return {};
}

}  // namespace

std::string Migration::checksum() const {
  return common::to_hex(common::sha256(common::as_bytes(sql)));
}

Migrator::Migrator() : Migrator(embedded_migrations()) {}

Migrator::Migrator(std::vector<Migration> migrations) : migrations_(std::move(migrations)) {
  for (size_t i = 0; i < migrations_.size(); ++i) {
    assert(migrations_[i].version == static_cast<int>(i) + 1);
  }
}

common::Result<int> Migrator::apply(pqxx::connection& conn) {
  try {
    {
      pqxx::nontransaction lock(conn);
      lock.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    }
    // Whatever happens next, the lock goes: it belongs to the session, which may be pooled.
    struct Unlock {
      pqxx::connection& conn;
      ~Unlock() {
        try {
          pqxx::nontransaction tx(conn);
          tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
        } catch (const std::exception&) {
          // The session is gone, and its lock with it.
        }
      }
    } unlock{conn};

    std::vector<MigrationState> applied;
    {
      pqxx::work tx(conn);
      tx.exec0(kCreateTable);
      applied = read_applied(tx);
      tx.commit();
    }
    RELAY_TRY_STATUS(check_applied(applied, migrations_));

    int count = 0;
    for (size_t i = applied.size(); i < migrations_.size(); ++i) {
      const Migration& m = migrations_[i];
      pqxx::work tx(conn);
      try {
        tx.exec(m.sql);
      } catch (const pqxx::sql_error& e) {
        if (store::is_connection_failure(e)) throw;
        std::string message = e.what();
        if (size_t newline = message.find('\n'); newline != std::string::npos)
          message.resize(newline);
        return common::make_error("migration_failed", "migration " + m.name + " failed (SQLSTATE " +
                                                          e.sqlstate() + "): " + message);
      }
      tx.exec_params0("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                      m.version, m.name, m.checksum());
      tx.commit();
      ++count;
    }
    return count;
  } catch (const std::exception& e) {
    return store::pg_error(e);
  }
}

common::Result<SchemaStatus> Migrator::status(pqxx::connection& conn) {
  try {
    pqxx::read_transaction tx(conn);
    SchemaStatus status;
    status.applied = read_applied(tx);
    for (size_t i = status.applied.size(); i < migrations_.size(); ++i) {
      const Migration& m = migrations_[i];
      status.pending.push_back(MigrationState{m.version, m.name, m.checksum(), std::nullopt});
    }
    RELAY_TRY_STATUS(check_applied(status.applied, migrations_));
    return status;
  } catch (const std::exception& e) {
    return store::pg_error(e);
  }
}

}  // namespace relay::migrations
