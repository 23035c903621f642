#include "store/pool_repository.h"

#include <algorithm>
#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using energy::Pool;
using energy::PoolCapacity;
using energy::PoolStatus;
using energy::Reservation;
using energy::ReservationState;

const std::string kPoolColumns =
    "id, tenant_id, encode(address, 'hex'), kind, name, status, status_reason, permission_id, "
    "min_reserve_sun, max_delegate_sun, low_energy_alert, encode(permission_txid, 'hex'), "
    "encode(permission_raw_data, 'hex'), permission_tx_broadcast, " +
    micros_of("observed_at") +
    ", balance_sun, staked_energy_sun, delegated_out_sun, delegatable_sun, energy_limit, "
    "energy_available, net_available, " +
    micros_of("created_at") + ", " + micros_of("updated_at");

const std::string kReservationColumns = "id, pool_id, stake_sun, state, reference, " +
                                        micros_of("created_at") + ", " + micros_of("delegated_at");

// Deleted pools exist only as history: every call but create treats them as missing.
constexpr const char* kLive = "status <> 'deleted'";

common::Error internal(const std::string& message) {
  return common::make_error("internal", message);
}

common::Error no_pool(int64_t pool_id) {
  return common::make_error("not_found", "no pool " + std::to_string(pool_id));
}

common::Error no_reservation(int64_t reservation_id) {
  return common::make_error("not_found", "no reservation " + std::to_string(reservation_id));
}

std::string reservation_state_name(ReservationState state) {
  switch (state) {
    case ReservationState::kReserved:
      return "reserved";
    case ReservationState::kDelegated:
      return "delegated";
    case ReservationState::kReleased:
      return "released";
  }
  return "";
}

common::Result<ReservationState> reservation_state_from_name(const std::string& name) {
  for (ReservationState s :
       {ReservationState::kReserved, ReservationState::kDelegated, ReservationState::kReleased}) {
    if (reservation_state_name(s) == name) return s;
  }
  return internal("unknown reservation state '" + name + "' in the database");
}

common::Result<PoolStatus> status_from_field(const pqxx::field& field) {
  auto status = energy::pool_status_from_name(field.as<std::string>());
  if (!status) return internal("unknown pool status '" + field.as<std::string>() + "'");
  return *status;
}

template <typename T>
std::optional<T> optional_of(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<T>();
}

common::Result<Pool> pool_from_row(const pqxx::row& row) {
  Pool pool;
  pool.id = row[0].as<int64_t>();
  pool.tenant_id = row[1].as<int64_t>();
  auto address = common::Address::from_hex(row[2].as<std::string>());
  if (!address.ok()) {
    return internal("pool " + std::to_string(pool.id) + " address: " + address.error().message);
  }
  pool.address = *address;
  auto kind = energy::pool_kind_from_name(row[3].as<std::string>());
  if (!kind) return internal("unknown pool kind '" + row[3].as<std::string>() + "'");
  pool.kind = *kind;
  pool.name = row[4].as<std::string>();
  RELAY_ASSIGN_OR_RETURN(pool.status, status_from_field(row[5]));
  pool.status_reason = row[6].as<std::string>();
  pool.permission_id = optional_of<int32_t>(row[7]);
  pool.min_reserve_sun = row[8].as<int64_t>();
  pool.max_delegate_sun = optional_of<int64_t>(row[9]);
  pool.low_energy_alert = optional_of<int64_t>(row[10]);
  if (!row[11].is_null()) {
    auto txid = common::from_hex_exact(row[11].as<std::string>(), 32, "pools.permission_txid");
    if (!txid.ok()) return internal(txid.error().message);
    pool.permission_txid.emplace();
    std::copy(txid->begin(), txid->end(), pool.permission_txid->begin());
  }
  if (!row[12].is_null()) {
    auto raw = common::from_hex(row[12].as<std::string>());
    if (!raw.ok()) return internal("pools.permission_raw_data: " + raw.error().message);
    pool.permission_raw_data = std::move(*raw);
  }
  pool.permission_tx_broadcast = row[13].as<bool>();
  if (!row[14].is_null()) {
    energy::PoolSnapshot& s = pool.snapshot.emplace();
    s.observed_at = from_micros(row[14].as<int64_t>());
    s.balance_sun = row[15].as<int64_t>();
    s.staked_energy_sun = row[16].as<int64_t>();
    s.delegated_out_sun = row[17].as<int64_t>();
    s.delegatable_sun = row[18].as<int64_t>();
    s.energy_limit = row[19].as<int64_t>();
    s.energy_available = row[20].as<int64_t>();
    s.net_available = row[21].as<int64_t>();
  }
  pool.created_at = from_micros(row[22].as<int64_t>());
  pool.updated_at = from_micros(row[23].as<int64_t>());
  return pool;
}

common::Result<std::optional<Pool>> optional_pool(const pqxx::result& rows) {
  if (rows.empty()) return std::optional<Pool>();
  RELAY_ASSIGN_OR_RETURN(auto pool, pool_from_row(rows[0]));
  return std::optional(std::move(pool));
}

common::Result<Reservation> reservation_from_row(const pqxx::row& row) {
  Reservation r;
  r.id = row[0].as<int64_t>();
  r.pool_id = row[1].as<int64_t>();
  r.stake_sun = row[2].as<int64_t>();
  RELAY_ASSIGN_OR_RETURN(r.state, reservation_state_from_name(row[3].as<std::string>()));
  r.reference = row[4].as<std::string>();
  r.created_at = from_micros(row[5].as<int64_t>());
  if (!row[6].is_null()) r.delegated_at = from_micros(row[6].as<int64_t>());
  return r;
}

// Locks the live pool's row until the transaction ends; its status, or nothing for a missing or
// deleted pool (or another tenant's).
common::Result<std::optional<PoolStatus>> lock_pool(pqxx::work& tx, int64_t pool_id,
                                                    std::optional<int64_t> tenant_id) {
  auto rows = tx.exec_params("SELECT status FROM pools WHERE id = $1 AND " + std::string(kLive) +
                                 " AND ($2::bigint IS NULL OR tenant_id = $2) FOR NO KEY UPDATE",
                             pool_id, tenant_id);
  if (rows.empty()) return std::optional<PoolStatus>();
  RELAY_ASSIGN_OR_RETURN(auto status, status_from_field(rows[0][0]));
  return std::optional(status);
}

// Call with the pool locked: a deleted pool must not leave stake promised or on loan.
common::Status require_no_open_reservations(pqxx::work& tx, int64_t pool_id) {
  auto open = tx.exec_params1(
      "SELECT count(*), coalesce(sum(stake_sun), 0)::bigint FROM pool_reservations "
      "WHERE pool_id = $1 AND state <> 'released'",
      pool_id);
  if (open[0].as<int64_t>() > 0) {
    return common::make_error("conflict", "pool " + std::to_string(pool_id) + " has " +
                                              open[0].as<std::string>() + " open reservations (" +
                                              open[1].as<std::string>() +
                                              " sun); release them first");
  }
  return {};
}

// ---- capacity ----

// One pool's capacity inputs. `unreflected` sums the reservations the snapshot cannot show yet:
// reserved ones, and delegated ones whose delegation happened at or after the chain read started
// (without a snapshot, every delegated one).
struct CapacityRow {
  int64_t pool_id = 0;
  PoolStatus status = PoolStatus::kPending;
  bool has_snapshot = false;
  int64_t delegatable = 0;
  int64_t delegated_out = 0;
  std::optional<int64_t> max_delegate;
  int64_t unreflected = 0;
};

const std::string kCapacitySelect =
    "SELECT p.id, p.status, p.observed_at IS NOT NULL, coalesce(p.delegatable_sun, 0), "
    "coalesce(p.delegated_out_sun, 0), p.max_delegate_sun, "
    "(SELECT coalesce(sum(r.stake_sun), 0)::bigint FROM pool_reservations r "
    " WHERE r.pool_id = p.id AND r.state <> 'released' AND (r.state = 'reserved' "
    " OR p.observed_at IS NULL OR r.delegated_at >= p.observed_at)) "
    "FROM pools p ";

common::Result<std::vector<CapacityRow>> capacity_rows(const pqxx::result& rows) {
  std::vector<CapacityRow> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    CapacityRow c;
    c.pool_id = row[0].as<int64_t>();
    RELAY_ASSIGN_OR_RETURN(c.status, status_from_field(row[1]));
    c.has_snapshot = row[2].as<bool>();
    c.delegatable = row[3].as<int64_t>();
    c.delegated_out = row[4].as<int64_t>();
    c.max_delegate = optional_of<int64_t>(row[5]);
    c.unreflected = row[6].as<int64_t>();
    out.push_back(c);
  }
  return out;
}

// What reserve() may still promise from this pool: nothing unless it is active with a snapshot.
int64_t free_sun(const CapacityRow& c) {
  if (c.status != PoolStatus::kActive || !c.has_snapshot) return 0;
  int64_t free = c.delegatable - c.unreflected;
  if (c.max_delegate) {
    free = std::min(free, *c.max_delegate - (c.delegated_out + c.unreflected));
  }
  return std::max<int64_t>(free, 0);
}

PoolCapacity to_capacity(const CapacityRow& c) {
  return PoolCapacity{c.pool_id, c.delegatable, c.unreflected, free_sun(c)};
}

common::Result<Reservation> insert_reservation(pqxx::work& tx, int64_t pool_id, int64_t stake_sun,
                                               const std::string& reference,
                                               common::TimePoint now) {
  return reservation_from_row(
      tx.exec_params1("INSERT INTO pool_reservations (pool_id, stake_sun, reference, created_at) "
                      "VALUES ($1, $2, $3, " +
                          timestamp_param(4) + ") RETURNING " + kReservationColumns,
                      pool_id, stake_sun, reference, to_micros(now)));
}

common::Error insufficient(const std::string& what, int64_t free, int64_t stake_sun) {
  return common::make_error("insufficient_capacity", what + " can take " + std::to_string(free) +
                                                         " sun now, " + std::to_string(stake_sun) +
                                                         " asked");
}

common::Status require_positive_stake(int64_t stake_sun) {
  if (stake_sun <= 0) {
    return common::make_error("invalid_request",
                              "stake must be positive, got " + std::to_string(stake_sun));
  }
  return {};
}

std::string bigint_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

}  // namespace

// ---- PgPoolRepository ----

common::Result<Pool> PgPoolRepository::create(const energy::NewPool& pool) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Pool> {
    if (tx.exec_params("SELECT 1 FROM tenants WHERE id = $1", pool.tenant_id).empty()) {
      return common::make_error("not_found", "no tenant " + std::to_string(pool.tenant_id));
    }
    auto rows = tx.exec_params(
        "INSERT INTO pools (tenant_id, address, kind, name, status, permission_id, "
        "min_reserve_sun, max_delegate_sun, low_energy_alert) "
        "VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (address) WHERE status <> 'deleted' DO NOTHING RETURNING " +
            kPoolColumns,
        pool.tenant_id, pool.address.to_hex(), energy::pool_kind_name(pool.kind), pool.name,
        energy::pool_status_name(pool.status), pool.permission_id, pool.min_reserve_sun,
        pool.max_delegate_sun, pool.low_energy_alert);
    if (rows.empty()) {
      return common::make_error("conflict",
                                "address " + pool.address.to_base58() + " already has a pool");
    }
    return pool_from_row(rows[0]);
  });
}

common::Result<std::optional<Pool>> PgPoolRepository::find(int64_t pool_id,
                                                           std::optional<int64_t> tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<Pool>> {
    return optional_pool(tx.exec_params("SELECT " + kPoolColumns +
                                            " FROM pools WHERE id = $1 AND " + kLive +
                                            " AND ($2::bigint IS NULL OR tenant_id = $2)",
                                        pool_id, tenant_id));
  });
}

common::Result<std::optional<Pool>> PgPoolRepository::find_by_address(
    const common::Address& address) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<Pool>> {
    return optional_pool(tx.exec_params(
        "SELECT " + kPoolColumns + " FROM pools WHERE address = decode($1, 'hex') AND " + kLive,
        address.to_hex()));
  });
}

common::Result<std::vector<Pool>> PgPoolRepository::list(std::optional<int64_t> tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Pool>> {
    auto rows = tx.exec_params("SELECT " + kPoolColumns + " FROM pools WHERE " + kLive +
                                   " AND ($1::bigint IS NULL OR tenant_id = $1) ORDER BY id DESC",
                               tenant_id);
    std::vector<Pool> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      RELAY_ASSIGN_OR_RETURN(auto pool, pool_from_row(row));
      out.push_back(std::move(pool));
    }
    return out;
  });
}

common::Result<Pool> PgPoolRepository::update(int64_t pool_id, std::optional<int64_t> tenant_id,
                                              const energy::PoolChanges& changes) {
  std::optional<std::string> status;
  if (changes.status) status = energy::pool_status_name(*changes.status);
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Pool> {
    RELAY_ASSIGN_OR_RETURN(auto locked, lock_pool(tx, pool_id, tenant_id));
    if (!locked) return no_pool(pool_id);
    if (changes.status == PoolStatus::kDeleted) {
      RELAY_TRY_STATUS(require_no_open_reservations(tx, pool_id));
    }
    return pool_from_row(tx.exec_params1(
        "UPDATE pools SET name = coalesce($2::text, name), "
        "status = coalesce($3::text, status), "
        "status_reason = CASE WHEN $3::text IS NULL OR $3::text = status THEN status_reason "
        "ELSE '' END, "
        "min_reserve_sun = coalesce($4::bigint, min_reserve_sun), "
        "max_delegate_sun = CASE WHEN $6::boolean THEN NULL "
        "ELSE coalesce($5::bigint, max_delegate_sun) END, "
        "low_energy_alert = CASE WHEN $8::boolean THEN NULL "
        "ELSE coalesce($7::bigint, low_energy_alert) END, "
        "updated_at = now() WHERE id = $1 RETURNING " +
            kPoolColumns,
        pool_id, changes.name, status, changes.min_reserve_sun, changes.max_delegate_sun,
        changes.clear_max_delegate, changes.low_energy_alert, changes.clear_low_energy_alert));
  });
}

common::Result<Pool> PgPoolRepository::set_status(int64_t pool_id, PoolStatus status,
                                                  const std::string& reason,
                                                  std::optional<int32_t> permission_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Pool> {
    RELAY_ASSIGN_OR_RETURN(auto locked, lock_pool(tx, pool_id, std::nullopt));
    if (!locked) return no_pool(pool_id);
    if (status == PoolStatus::kDeleted) {
      RELAY_TRY_STATUS(require_no_open_reservations(tx, pool_id));
    }
    return pool_from_row(
        tx.exec_params1("UPDATE pools SET status = $2, status_reason = $3, "
                        "permission_id = coalesce($4::integer, permission_id), updated_at = now() "
                        "WHERE id = $1 RETURNING " +
                            kPoolColumns,
                        pool_id, energy::pool_status_name(status), reason, permission_id));
  });
}

common::Status PgPoolRepository::set_permission_tx(int64_t pool_id, const common::Hash32& txid,
                                                   common::ByteView raw_data) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "UPDATE pools SET permission_txid = decode($2, 'hex'), "
        "permission_raw_data = decode($3, 'hex'), permission_tx_broadcast = false, "
        "updated_at = now() WHERE id = $1 AND " +
            std::string(kLive) + " RETURNING id",
        pool_id, common::to_hex(txid), common::to_hex(raw_data));
    if (rows.empty()) return no_pool(pool_id);
    return {};
  });
}

common::Status PgPoolRepository::mark_permission_tx_broadcast(int64_t pool_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params("SELECT permission_txid IS NOT NULL FROM pools WHERE id = $1 AND " +
                                   std::string(kLive) + " FOR NO KEY UPDATE",
                               pool_id);
    if (rows.empty()) return no_pool(pool_id);
    if (!rows[0][0].as<bool>()) {
      return common::make_error("conflict",
                                "pool " + std::to_string(pool_id) + " has no permission tx");
    }
    tx.exec_params0(
        "UPDATE pools SET permission_tx_broadcast = true, updated_at = now() WHERE id = $1",
        pool_id);
    return {};
  });
}

common::Status PgPoolRepository::record_snapshot(int64_t pool_id,
                                                 const energy::PoolSnapshot& snapshot) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    // updated_at stays: it tells when the pool's settings or status last changed, observed_at
    // when the chain was last read.
    auto rows = tx.exec_params(
        "UPDATE pools SET observed_at = " + timestamp_param(2) +
            ", balance_sun = $3, staked_energy_sun = $4, delegated_out_sun = $5, "
            "delegatable_sun = $6, energy_limit = $7, energy_available = $8, net_available = $9 "
            "WHERE id = $1 AND " +
            kLive + " AND (observed_at IS NULL OR observed_at <= " + timestamp_param(2) +
            ") RETURNING id",
        pool_id, to_micros(snapshot.observed_at), snapshot.balance_sun, snapshot.staked_energy_sun,
        snapshot.delegated_out_sun, snapshot.delegatable_sun, snapshot.energy_limit,
        snapshot.energy_available, snapshot.net_available);
    if (!rows.empty()) return {};
    if (tx.exec_params("SELECT 1 FROM pools WHERE id = $1 AND " + std::string(kLive), pool_id)
            .empty()) {
      return no_pool(pool_id);
    }
    return {};  // a newer snapshot is already stored
  });
}

common::Status PgPoolRepository::remove(int64_t pool_id, std::optional<int64_t> tenant_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    RELAY_ASSIGN_OR_RETURN(auto locked, lock_pool(tx, pool_id, tenant_id));
    if (!locked) return no_pool(pool_id);
    RELAY_TRY_STATUS(require_no_open_reservations(tx, pool_id));
    tx.exec_params0(
        "UPDATE pools SET status = 'deleted', status_reason = '', updated_at = now() "
        "WHERE id = $1",
        pool_id);
    return {};
  });
}

// ---- PgPoolCapacityRepository ----

common::Result<Reservation> PgPoolCapacityRepository::reserve(int64_t pool_id, int64_t stake_sun,
                                                              const std::string& reference,
                                                              common::TimePoint now) {
  RELAY_TRY_STATUS(require_positive_stake(stake_sun));
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Reservation> {
    RELAY_ASSIGN_OR_RETURN(auto status, lock_pool(tx, pool_id, std::nullopt));
    if (!status) return no_pool(pool_id);
    if (*status != PoolStatus::kActive) {
      return common::make_error("conflict", "pool " + std::to_string(pool_id) + " is " +
                                                energy::pool_status_name(*status));
    }
    // A statement of its own, after the lock: under READ COMMITTED it sees every reservation
    // committed by whoever held the lock before us. Summing in the locking statement would use
    // the snapshot taken before it waited, and promise the same stake twice.
    RELAY_ASSIGN_OR_RETURN(
        auto rows, capacity_rows(tx.exec_params(kCapacitySelect + "WHERE p.id = $1", pool_id)));
    const int64_t free = free_sun(rows.at(0));
    if (free < stake_sun) {
      return insufficient("pool " + std::to_string(pool_id), free, stake_sun);
    }
    return insert_reservation(tx, pool_id, stake_sun, reference, now);
  });
}

common::Result<Reservation> PgPoolCapacityRepository::reserve_best_fit(int64_t stake_sun,
                                                                       const std::string& reference,
                                                                       common::TimePoint now) {
  RELAY_TRY_STATUS(require_positive_stake(stake_sun));
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Reservation> {
    const std::string eligible = "p.status = 'active' AND p.observed_at IS NOT NULL";
    // Unlocked first, to lock only the pools that look like they fit; the choice is made again
    // under the locks, where it counts.
    RELAY_ASSIGN_OR_RETURN(auto seen,
                           capacity_rows(tx.exec(kCapacitySelect + "WHERE " + eligible)));
    std::vector<int64_t> candidates;
    int64_t largest = 0;
    for (const auto& c : seen) {
      largest = std::max(largest, free_sun(c));
      if (free_sun(c) >= stake_sun) candidates.push_back(c.pool_id);
    }
    if (candidates.empty()) return insufficient("no active pool", largest, stake_sun);
    // In id order, so two callers locking overlapping sets cannot deadlock; a pool that stopped
    // being eligible meanwhile is skipped (READ COMMITTED rechecks the WHERE on the locked row).
    tx.exec_params("SELECT p.id FROM pools p WHERE p.id = ANY($1::bigint[]) AND " + eligible +
                       " ORDER BY p.id FOR NO KEY UPDATE",
                   bigint_array(candidates));
    RELAY_ASSIGN_OR_RETURN(
        auto locked,
        capacity_rows(tx.exec_params(
            kCapacitySelect + "WHERE p.id = ANY($1::bigint[]) AND " + eligible + " ORDER BY p.id",
            bigint_array(candidates))));
    const CapacityRow* best = nullptr;
    largest = 0;
    for (const auto& c : locked) {
      const int64_t free = free_sun(c);
      largest = std::max(largest, free);
      if (free >= stake_sun && (best == nullptr || free < free_sun(*best))) best = &c;
    }
    if (best == nullptr) return insufficient("no active pool", largest, stake_sun);
    return insert_reservation(tx, best->pool_id, stake_sun, reference, now);
  });
}

common::Status PgPoolCapacityRepository::mark_delegated(int64_t reservation_id,
                                                        common::TimePoint at) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "SELECT state FROM pool_reservations WHERE id = $1 FOR NO KEY UPDATE", reservation_id);
    if (rows.empty()) return no_reservation(reservation_id);
    RELAY_ASSIGN_OR_RETURN(auto state, reservation_state_from_name(rows[0][0].as<std::string>()));
    if (state == ReservationState::kDelegated) return {};
    if (state == ReservationState::kReleased) {
      return common::make_error(
          "conflict", "reservation " + std::to_string(reservation_id) + " is already released");
    }
    tx.exec_params0("UPDATE pool_reservations SET state = 'delegated', delegated_at = " +
                        timestamp_param(2) + " WHERE id = $1",
                    reservation_id, to_micros(at));
    return {};
  });
}

common::Status PgPoolCapacityRepository::release(int64_t reservation_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "UPDATE pool_reservations SET state = 'released', released_at = now() "
        "WHERE id = $1 AND state <> 'released' RETURNING id",
        reservation_id);
    if (!rows.empty()) return {};
    if (tx.exec_params("SELECT 1 FROM pool_reservations WHERE id = $1", reservation_id).empty()) {
      return no_reservation(reservation_id);
    }
    return {};  // released before
  });
}

common::Result<PoolCapacity> PgPoolCapacityRepository::capacity(int64_t pool_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<PoolCapacity> {
    RELAY_ASSIGN_OR_RETURN(
        auto rows,
        capacity_rows(tx.exec_params(kCapacitySelect + "WHERE p.id = $1 AND p." + kLive, pool_id)));
    if (rows.empty()) return no_pool(pool_id);
    return to_capacity(rows[0]);
  });
}

common::Result<std::vector<Reservation>> PgPoolCapacityRepository::open_reservations(
    int64_t pool_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Reservation>> {
    // One statement: the pool's existence and its reservations from the same snapshot.
    auto rows =
        tx.exec_params("SELECT r.id, r.pool_id, r.stake_sun, r.state, r.reference, " +
                           micros_of("r.created_at") + ", " + micros_of("r.delegated_at") +
                           " FROM pools p LEFT JOIN pool_reservations r ON r.pool_id = p.id "
                           "AND r.state <> 'released' WHERE p.id = $1 AND p." +
                           kLive + " ORDER BY r.id",
                       pool_id);
    if (rows.empty()) return no_pool(pool_id);
    std::vector<Reservation> out;
    for (const auto& row : rows) {
      if (row[0].is_null()) continue;  // the pool has none
      RELAY_ASSIGN_OR_RETURN(auto r, reservation_from_row(row));
      out.push_back(std::move(r));
    }
    return out;
  });
}

common::Result<int64_t> PgPoolCapacityRepository::max_free_sun() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<int64_t> {
    RELAY_ASSIGN_OR_RETURN(
        auto rows,
        capacity_rows(
            tx.exec(kCapacitySelect + "WHERE p.status = 'active' AND p.observed_at IS NOT NULL")));
    int64_t largest = 0;
    for (const auto& c : rows) largest = std::max(largest, free_sun(c));
    return largest;
  });
}

}  // namespace relay::store
