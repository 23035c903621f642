#include "store/chain_tx_journal_repository.h"

#include <algorithm>
#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using energy::ChainTxInclusion;
using energy::ChainTxRecord;
using energy::ChainTxState;

const std::string kColumns =
    "id, encode(txid, 'hex'), purpose, owner_ref, pool_id, encode(signed_bytes, 'hex'), " +
    micros_of("expiration") + ", state, broadcast_attempts, " + micros_of("last_broadcast_at") +
    ", block_number, " + micros_of("block_time") +
    ", receipt_result, fee_sun, error_code, error_message, " + micros_of("created_at") + ", " +
    micros_of("updated_at");

constexpr const char* kUnresolved = "state IN ('signed', 'broadcast')";

common::Error internal(const std::string& message) {
  return common::make_error("internal", message);
}

common::Error invalid(const std::string& message) {
  return common::make_error("invalid_request", message);
}

common::Error no_tx(int64_t id) {
  return common::make_error("not_found", "no chain tx " + std::to_string(id));
}

// TRON times are milliseconds; the columns are timestamptz, which holds them exactly.
int64_t micros_of_ms(int64_t ms) { return ms * 1000; }
int64_t ms_of_micros(int64_t micros) { return micros / 1000; }

common::Result<ChainTxRecord> record_from_row(const pqxx::row& row) {
  ChainTxRecord r;
  r.id = row[0].as<int64_t>();
  auto txid = common::from_hex_exact(row[1].as<std::string>(), 32, "chain_txs.txid");
  if (!txid.ok()) return internal(txid.error().message);
  std::copy(txid->begin(), txid->end(), r.txid.begin());
  r.purpose = row[2].as<std::string>();
  r.owner_ref = row[3].as<std::string>();
  if (!row[4].is_null()) r.pool_id = row[4].as<int64_t>();
  auto bytes = common::from_hex(row[5].as<std::string>());
  if (!bytes.ok()) return internal("chain_txs.signed_bytes: " + bytes.error().message);
  r.signed_bytes = std::move(*bytes);
  r.expiration_ms = ms_of_micros(row[6].as<int64_t>());
  auto state = energy::chain_tx_state_from_name(row[7].as<std::string>());
  if (!state) return internal("unknown chain tx state '" + row[7].as<std::string>() + "'");
  r.state = *state;
  r.broadcast_attempts = row[8].as<int32_t>();
  if (!row[9].is_null()) r.last_broadcast_at = from_micros(row[9].as<int64_t>());
  if (!row[10].is_null()) {
    r.inclusion = ChainTxInclusion{.block_number = row[10].as<int64_t>(),
                                   .block_time_ms = ms_of_micros(row[11].as<int64_t>()),
                                   .receipt_result = row[12].as<std::string>(),
                                   .fee_sun = row[13].as<int64_t>()};
  }
  r.error_code = row[14].as<std::string>();
  r.error_message = row[15].as<std::string>();
  r.created_at = from_micros(row[16].as<int64_t>());
  r.updated_at = from_micros(row[17].as<int64_t>());
  return r;
}

common::Result<std::optional<ChainTxRecord>> optional_record(const pqxx::result& rows) {
  if (rows.empty()) return std::optional<ChainTxRecord>();
  RELAY_ASSIGN_OR_RETURN(auto record, record_from_row(rows[0]));
  return std::optional(std::move(record));
}

common::Result<std::vector<ChainTxRecord>> records(const pqxx::result& rows) {
  std::vector<ChainTxRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    RELAY_ASSIGN_OR_RETURN(auto record, record_from_row(row));
    out.push_back(std::move(record));
  }
  return out;
}

common::Status check_inclusion(const ChainTxInclusion& inclusion) {
  if (inclusion.block_number < 0) return invalid("block number must not be negative");
  if (inclusion.block_time_ms < 0) return invalid("block time must not be before the epoch");
  if (inclusion.fee_sun < 0) return invalid("fee must not be negative");
  return {};
}

}  // namespace

common::Result<ChainTxRecord> PgChainTxJournal::record_signed(const ChainTxRecord& tx) {
  if (tx.purpose.empty()) return invalid("a chain tx needs a purpose");
  if (tx.signed_bytes.empty()) return invalid("a chain tx needs its signed bytes");
  if (tx.expiration_ms < 0) return invalid("expiration must not be before the epoch");
  return db_.transaction([&](pqxx::work& w) -> common::Result<ChainTxRecord> {
    if (tx.pool_id && w.exec_params("SELECT 1 FROM pools WHERE id = $1", *tx.pool_id).empty()) {
      return common::make_error("not_found", "no pool " + std::to_string(*tx.pool_id));
    }
    auto rows = w.exec_params(
        "INSERT INTO chain_txs (txid, purpose, owner_ref, pool_id, signed_bytes, expiration) "
        "VALUES (decode($1, 'hex'), $2, $3, $4, decode($5, 'hex'), " +
            timestamp_param(6) + ") ON CONFLICT (txid) DO NOTHING RETURNING " + kColumns,
        common::to_hex(tx.txid), tx.purpose, tx.owner_ref, tx.pool_id,
        common::to_hex(tx.signed_bytes), micros_of_ms(tx.expiration_ms));
    if (rows.empty()) {
      return common::make_error("conflict",
                                "tx " + common::to_hex(tx.txid) + " is already journaled");
    }
    return record_from_row(rows[0]);
  });
}

common::Result<ChainTxRecord> PgChainTxJournal::count_attempt(int64_t id, common::TimePoint at,
                                                              bool accepted,
                                                              const std::string& code,
                                                              const std::string& message) {
  if (!accepted && code.empty()) return invalid("a broadcast problem needs a code");
  return db_.transaction([&](pqxx::work& w) -> common::Result<ChainTxRecord> {
    // The WHERE is checked again on a row another transaction just changed (READ COMMITTED), so a
    // tx settled meanwhile is left alone.
    auto rows = w.exec_params(
        "UPDATE chain_txs SET broadcast_attempts = broadcast_attempts + 1, "
        "last_broadcast_at = greatest(last_broadcast_at, " +
            timestamp_param(2) +
            "), "
            "state = CASE WHEN $3 THEN 'broadcast' ELSE state END, "
            "error_code = CASE WHEN $3 THEN error_code ELSE $4 END, "
            "error_message = CASE WHEN $3 THEN error_message ELSE $5 END, updated_at = now() "
            "WHERE id = $1 AND " +
            kUnresolved + " RETURNING " + kColumns,
        id, to_micros(at), accepted, code, message);
    if (!rows.empty()) return record_from_row(rows[0]);
    RELAY_ASSIGN_OR_RETURN(
        auto found,
        optional_record(w.exec_params("SELECT " + kColumns + " FROM chain_txs WHERE id = $1", id)));
    if (!found) return no_tx(id);
    return *found;  // settled already
  });
}

common::Result<ChainTxRecord> PgChainTxJournal::mark_broadcast(int64_t id, common::TimePoint at) {
  return count_attempt(id, at, true, "", "");
}

common::Result<ChainTxRecord> PgChainTxJournal::note_broadcast_problem(int64_t id,
                                                                       common::TimePoint at,
                                                                       const std::string& code,
                                                                       const std::string& message) {
  return count_attempt(id, at, false, code, message);
}

common::Result<ChainTxRecord> PgChainTxJournal::settle(
    int64_t id, ChainTxState to, const std::string& code, const std::string& message,
    const std::optional<ChainTxInclusion>& inclusion) {
  if (inclusion) RELAY_TRY_STATUS(check_inclusion(*inclusion));
  return db_.transaction([&](pqxx::work& w) -> common::Result<ChainTxRecord> {
    RELAY_ASSIGN_OR_RETURN(
        auto found,
        optional_record(w.exec_params(
            "SELECT " + kColumns + " FROM chain_txs WHERE id = $1 FOR NO KEY UPDATE", id)));
    if (!found) return no_tx(id);
    if (energy::is_settled(found->state)) {
      // A repeat of the same verdict is a no-op; any other is a contradiction worth surfacing.
      const bool same =
          found->state == to && (to != ChainTxState::kIncluded || found->inclusion == inclusion);
      if (same) return *found;
      return common::make_error(
          "conflict",
          "chain tx " + std::to_string(id) + " is already " +
              energy::chain_tx_state_name(found->state) +
              (found->inclusion ? " in block " + std::to_string(found->inclusion->block_number)
                                : std::string()) +
              "; cannot become " + energy::chain_tx_state_name(to));
    }
    const bool in_block = inclusion.has_value();
    const bool keep_problem = to == ChainTxState::kExpired;
    return record_from_row(w.exec_params1(
        "UPDATE chain_txs SET state = $2, "
        "block_number = CASE WHEN $3 THEN $4::bigint END, "
        "block_time = CASE WHEN $3 THEN " +
            timestamp_param(5) +
            " END, "
            "receipt_result = $6, fee_sun = $7, "
            "error_code = CASE WHEN $8 THEN error_code ELSE $9 END, "
            "error_message = CASE WHEN $8 THEN error_message ELSE $10 END, updated_at = now() "
            "WHERE id = $1 RETURNING " +
            kColumns,
        id, energy::chain_tx_state_name(to), in_block, in_block ? inclusion->block_number : 0,
        micros_of_ms(in_block ? inclusion->block_time_ms : 0),
        in_block ? inclusion->receipt_result : std::string(), in_block ? inclusion->fee_sun : 0,
        keep_problem, code, message));
  });
}

common::Result<ChainTxRecord> PgChainTxJournal::mark_included(int64_t id,
                                                              const ChainTxInclusion& inclusion) {
  return settle(id, ChainTxState::kIncluded, "", "", inclusion);
}

common::Result<ChainTxRecord> PgChainTxJournal::mark_failed(
    int64_t id, const std::string& code, const std::string& message,
    const std::optional<ChainTxInclusion>& inclusion) {
  if (code.empty()) return invalid("a failed chain tx needs a code");
  return settle(id, ChainTxState::kFailed, code, message, inclusion);
}

common::Result<ChainTxRecord> PgChainTxJournal::mark_expired(int64_t id) {
  return settle(id, ChainTxState::kExpired, "", "", std::nullopt);
}

common::Result<std::optional<ChainTxRecord>> PgChainTxJournal::find(int64_t id) {
  return db_.read([&](pqxx::nontransaction& r) -> common::Result<std::optional<ChainTxRecord>> {
    return optional_record(
        r.exec_params("SELECT " + kColumns + " FROM chain_txs WHERE id = $1", id));
  });
}

common::Result<std::optional<ChainTxRecord>> PgChainTxJournal::find_by_txid(
    const common::Hash32& txid) {
  return db_.read([&](pqxx::nontransaction& r) -> common::Result<std::optional<ChainTxRecord>> {
    return optional_record(
        r.exec_params("SELECT " + kColumns + " FROM chain_txs WHERE txid = decode($1, 'hex')",
                      common::to_hex(txid)));
  });
}

common::Result<std::vector<ChainTxRecord>> PgChainTxJournal::list_by_owner(
    const std::string& owner_ref) {
  return db_.read([&](pqxx::nontransaction& r) -> common::Result<std::vector<ChainTxRecord>> {
    return records(r.exec_params(
        "SELECT " + kColumns + " FROM chain_txs WHERE owner_ref = $1 ORDER BY id", owner_ref));
  });
}

common::Result<std::vector<ChainTxRecord>> PgChainTxJournal::list_unresolved(int limit) {
  if (limit < 1) return invalid("limit must be at least 1");
  return db_.read([&](pqxx::nontransaction& r) -> common::Result<std::vector<ChainTxRecord>> {
    return records(r.exec_params("SELECT " + kColumns + " FROM chain_txs WHERE " +
                                     std::string(kUnresolved) + " ORDER BY id LIMIT $1",
                                 limit));
  });
}

}  // namespace relay::store
