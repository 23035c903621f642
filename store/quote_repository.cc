#include "store/quote_repository.h"

#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using energy::Quote;

const std::string kQuoteColumns =
    "id, tenant_id, encode(receiver, 'hex'), energy, duration_s, stake_sun, "
    "unit_price_sun_per_energy, energy_sun, bandwidth_sun, activation_sun, total_sun, "
    "activation_required, fillable, total_energy_limit, total_energy_weight, "
    "encode(usdt_to, 'hex'), usdt_amount, usdt_energy_required, usdt_receiver_available, " +
    micros_of("created_at") + ", " + micros_of("expires_at") + ", " + micros_of("used_at") +
    ", used_by";

common::Error internal(const std::string& message) {
  return common::make_error("internal", message);
}

common::Error no_quote(const std::string& id) {
  return common::make_error("not_found", "no quote '" + id + "'");
}

common::Result<common::Address> address_from_field(const pqxx::field& field,
                                                   const std::string& what) {
  auto address = common::Address::from_hex(field.as<std::string>());
  if (!address.ok()) return internal(what + ": " + address.error().message);
  return *address;
}

common::Result<Quote> quote_from_row(const pqxx::row& row) {
  Quote q;
  q.id = row[0].as<std::string>();
  q.tenant_id = row[1].as<int64_t>();
  RELAY_ASSIGN_OR_RETURN(q.receiver, address_from_field(row[2], "quote " + q.id + " receiver"));
  q.energy = common::Energy(row[3].as<int64_t>());
  q.duration_s = row[4].as<int64_t>();
  q.stake_sun = common::Sun(row[5].as<int64_t>());
  q.price.unit_price_sun_per_energy = row[6].as<int64_t>();
  q.price.energy_sun = common::Sun(row[7].as<int64_t>());
  q.price.bandwidth_sun = common::Sun(row[8].as<int64_t>());
  q.price.activation_sun = common::Sun(row[9].as<int64_t>());
  q.price.total_sun = common::Sun(row[10].as<int64_t>());
  q.activation_required = row[11].as<bool>();
  q.fillable = row[12].as<bool>();
  q.total_energy_limit = row[13].as<int64_t>();
  q.total_energy_weight = row[14].as<int64_t>();
  if (!row[15].is_null()) {
    energy::UsdtTransferEstimate& u = q.usdt_transfer.emplace();
    RELAY_ASSIGN_OR_RETURN(u.to, address_from_field(row[15], "quote " + q.id + " usdt_to"));
    u.amount = row[16].as<int64_t>();
    u.energy_required = row[17].as<int64_t>();
    u.receiver_available = row[18].as<int64_t>();
  }
  q.created_at = from_micros(row[19].as<int64_t>());
  q.expires_at = from_micros(row[20].as<int64_t>());
  if (!row[21].is_null()) q.used_at = from_micros(row[21].as<int64_t>());
  if (!row[22].is_null()) q.used_by = row[22].as<std::string>();
  return q;
}

}  // namespace

common::Status PgQuoteRepository::insert(const Quote& q) {
  std::optional<std::string> usdt_to;
  std::optional<int64_t> usdt_amount, usdt_energy_required, usdt_receiver_available;
  if (q.usdt_transfer) {
    usdt_to = q.usdt_transfer->to.to_hex();
    usdt_amount = q.usdt_transfer->amount;
    usdt_energy_required = q.usdt_transfer->energy_required;
    usdt_receiver_available = q.usdt_transfer->receiver_available;
  }
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    if (tx.exec_params("SELECT 1 FROM tenants WHERE id = $1", q.tenant_id).empty()) {
      return common::make_error("not_found", "no tenant " + std::to_string(q.tenant_id));
    }
    // A quote is born unused: used_at/used_by are not written here.
    auto rows = tx.exec_params(
        "INSERT INTO quotes (id, tenant_id, receiver, energy, duration_s, stake_sun, "
        "unit_price_sun_per_energy, energy_sun, bandwidth_sun, activation_sun, total_sun, "
        "activation_required, fillable, total_energy_limit, total_energy_weight, usdt_to, "
        "usdt_amount, usdt_energy_required, usdt_receiver_available, created_at, expires_at) "
        "VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "decode($16, 'hex'), $17, $18, $19, " +
            timestamp_param(20) + ", " + timestamp_param(21) +
            ") ON CONFLICT (id) DO NOTHING RETURNING id",
        q.id, q.tenant_id, q.receiver.to_hex(), q.energy.value(), q.duration_s, q.stake_sun.value(),
        q.price.unit_price_sun_per_energy, q.price.energy_sun.value(),
        q.price.bandwidth_sun.value(), q.price.activation_sun.value(), q.price.total_sun.value(),
        q.activation_required, q.fillable, q.total_energy_limit, q.total_energy_weight, usdt_to,
        usdt_amount, usdt_energy_required, usdt_receiver_available, to_micros(q.created_at),
        to_micros(q.expires_at));
    if (rows.empty()) return common::make_error("conflict", "quote id " + q.id + " is taken");
    return {};
  });
}

common::Result<std::optional<Quote>> PgQuoteRepository::find(const std::string& id,
                                                             int64_t tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<Quote>> {
    auto rows = tx.exec_params(
        "SELECT " + kQuoteColumns + " FROM quotes WHERE id = $1 AND tenant_id = $2", id, tenant_id);
    if (rows.empty()) return std::optional<Quote>();
    RELAY_ASSIGN_OR_RETURN(auto quote, quote_from_row(rows[0]));
    return std::optional(std::move(quote));
  });
}

common::Result<Quote> PgQuoteRepository::mark_used(const std::string& id, int64_t tenant_id,
                                                   const std::string& reference,
                                                   common::TimePoint now) {
  if (reference.empty()) {
    return common::make_error("invalid_request", "a quote is taken for a named reference");
  }
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Quote> {
    // One statement decides: racing callers queue on the row lock, and under READ COMMITTED each
    // re-checks `used_at IS NULL` on the row as the winner committed it.
    auto rows = tx.exec_params("UPDATE quotes SET used_at = " + timestamp_param(4) +
                                   ", used_by = $3 WHERE id = $1 AND tenant_id = $2 "
                                   "AND used_at IS NULL AND expires_at > " +
                                   timestamp_param(4) + " RETURNING " + kQuoteColumns,
                               id, tenant_id, reference, to_micros(now));
    if (!rows.empty()) return quote_from_row(rows[0]);
    rows = tx.exec_params(
        "SELECT " + kQuoteColumns + " FROM quotes WHERE id = $1 AND tenant_id = $2", id, tenant_id);
    if (rows.empty()) return no_quote(id);
    RELAY_ASSIGN_OR_RETURN(auto quote, quote_from_row(rows[0]));
    if (quote.used_at) {
      if (quote.used_by == reference) return quote;  // a retry of the same take
      return common::make_error("conflict", "quote " + id + " was already used");
    }
    return common::make_error("conflict", "quote " + id + " has expired; ask for a new one");
  });
}

common::Result<int64_t> PgQuoteRepository::delete_expired(common::TimePoint before, int64_t limit) {
  if (limit < 1) return int64_t{0};
  return db_.transaction([&](pqxx::work& tx) -> common::Result<int64_t> {
    // SKIP LOCKED: a quote a lease is taking right now is left for the next sweep.
    auto rows = tx.exec_params(
        "DELETE FROM quotes WHERE id IN (SELECT id FROM quotes WHERE used_at IS NULL "
        "AND expires_at < " +
            timestamp_param(1) +
            " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id",
        to_micros(before), limit);
    return static_cast<int64_t>(rows.size());
  });
}

}  // namespace relay::store
