#include "store/lease_repository.h"

#include <algorithm>
#include <pqxx/except>
#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using common::Sun;
using energy::Lease;
using energy::LeaseState;

const std::string kLeaseColumns =
    "id, tenant_id, state, state_reason, quote_id, encode(receiver, 'hex'), energy, duration_s, "
    "stake_sun, unit_price_sun_per_energy, energy_sun, bandwidth_sun, activation_sun, total_sun, "
    "lock, lock_period_blocks, pool_id, permission_id, hold_id, reservation_id, delegate_tx_id, "
    "reclaim_tx_id, " +
    micros_of("delegated_at") + ", " + micros_of("expires_at") + ", " +
    micros_of("reclaim_requested_at") + ", refund_sun, " + micros_of("reclaimed_at") + ", " +
    micros_of("created_at") + ", " + micros_of("updated_at") + ", group_id, split_parts";

// The states whose leases the recovery pass looks at (the partial index leases_unsettled).
constexpr const char* kUnsettled = "state IN ('pending', 'delegating', 'reclaiming')";

common::Error internal(const std::string& message) {
  return common::make_error("internal", message);
}

common::Error no_lease(int64_t lease_id) {
  return common::make_error("not_found", "no lease " + std::to_string(lease_id));
}

common::Error invalid(const std::string& message) {
  return common::make_error("invalid_request", message);
}

template <typename T>
std::optional<T> optional_of(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<T>();
}

std::optional<common::TimePoint> optional_time(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return from_micros(field.as<int64_t>());
}

common::Result<Lease> lease_from_row(const pqxx::row& row) {
  Lease lease;
  lease.id = row[0].as<int64_t>();
  lease.tenant_id = row[1].as<int64_t>();
  auto state = energy::lease_state_from_name(row[2].as<std::string>());
  if (!state) return internal("unknown lease state '" + row[2].as<std::string>() + "'");
  lease.state = *state;
  lease.state_reason = row[3].as<std::string>();
  lease.quote_id = optional_of<std::string>(row[4]);
  auto receiver = common::Address::from_hex(row[5].as<std::string>());
  if (!receiver.ok()) {
    return internal("lease " + std::to_string(lease.id) + " receiver: " + receiver.error().message);
  }
  lease.receiver = *receiver;
  lease.energy = common::Energy(row[6].as<int64_t>());
  lease.duration_s = row[7].as<int64_t>();
  lease.stake_sun = Sun(row[8].as<int64_t>());
  lease.price.unit_price_sun_per_energy = row[9].as<int64_t>();
  lease.price.energy_sun = Sun(row[10].as<int64_t>());
  lease.price.bandwidth_sun = Sun(row[11].as<int64_t>());
  lease.price.activation_sun = Sun(row[12].as<int64_t>());
  lease.price.total_sun = Sun(row[13].as<int64_t>());
  lease.lock = row[14].as<bool>();
  lease.lock_period_blocks = row[15].as<int64_t>();
  lease.pool_id = optional_of<int64_t>(row[16]);
  lease.permission_id = optional_of<int32_t>(row[17]);
  lease.hold_id = optional_of<int64_t>(row[18]);
  lease.reservation_id = optional_of<int64_t>(row[19]);
  lease.delegate_tx_id = optional_of<int64_t>(row[20]);
  lease.reclaim_tx_id = optional_of<int64_t>(row[21]);
  lease.delegated_at = optional_time(row[22]);
  lease.expires_at = optional_time(row[23]);
  lease.reclaim_requested_at = optional_time(row[24]);
  lease.refund_sun = Sun(row[25].as<int64_t>());
  lease.reclaimed_at = optional_time(row[26]);
  lease.created_at = from_micros(row[27].as<int64_t>());
  lease.updated_at = from_micros(row[28].as<int64_t>());
  lease.group_id = optional_of<int64_t>(row[29]);
  lease.split_parts = row[30].as<int>();
  return lease;
}

common::Result<std::vector<Lease>> leases_from(const pqxx::result& rows) {
  std::vector<Lease> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    RELAY_ASSIGN_OR_RETURN(auto lease, lease_from_row(row));
    out.push_back(std::move(lease));
  }
  return out;
}

// The tail of a compare-and-set UPDATE that matched no row: the lease is missing, or in a state
// the transition does not start from.
common::Error refused(pqxx::work& tx, int64_t lease_id, const std::string& transition) {
  auto rows = tx.exec_params("SELECT state FROM leases WHERE id = $1", lease_id);
  if (rows.empty()) return no_lease(lease_id);
  return common::make_error("conflict", "lease " + std::to_string(lease_id) + " is " +
                                            rows[0][0].as<std::string>() + ": cannot " +
                                            transition);
}

// One transition: `set` is the SET list (parameters from $3 on), applied only where the row is in
// `from` ($2). Returns the row as updated, or why nothing was.
template <typename... Args>
common::Result<Lease> transition(Database& db, int64_t lease_id, LeaseState from,
                                 const std::string& set, const std::string& extra_where,
                                 const std::string& what, Args&&... args) {
  return db.transaction([&](pqxx::work& tx) -> common::Result<Lease> {
    auto rows = tx.exec_params("UPDATE leases SET " + set + " WHERE id = $1 AND state = $2" +
                                   extra_where + " RETURNING " + kLeaseColumns,
                               lease_id, energy::lease_state_name(from), args...);
    if (rows.empty()) return refused(tx, lease_id, what);
    return lease_from_row(rows[0]);
  });
}

}  // namespace

common::Result<Lease> PgLeaseRepository::create(const energy::NewLease& lease,
                                                common::TimePoint now) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Lease> {
    if (tx.exec_params("SELECT 1 FROM tenants WHERE id = $1", lease.tenant_id).empty()) {
      return common::make_error("not_found", "no tenant " + std::to_string(lease.tenant_id));
    }
    if (lease.quote_id &&
        tx.exec_params("SELECT 1 FROM quotes WHERE id = $1", *lease.quote_id).empty()) {
      return common::make_error("not_found", "no quote '" + *lease.quote_id + "'");
    }
    const energy::PriceBreakdown& p = lease.price;
    auto rows = tx.exec_params(
        "INSERT INTO leases (tenant_id, quote_id, receiver, energy, duration_s, stake_sun, "
        "unit_price_sun_per_energy, energy_sun, bandwidth_sun, activation_sun, total_sun, lock, "
        "lock_period_blocks, created_at, updated_at, group_id, split_parts) "
        "VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, " +
            timestamp_param(14) + ", " + timestamp_param(14) +
            ", $15, $16) ON CONFLICT (quote_id) DO NOTHING RETURNING " + kLeaseColumns,
        lease.tenant_id, lease.quote_id, lease.receiver.to_hex(), lease.energy.value(),
        lease.duration_s, lease.stake_sun.value(), p.unit_price_sun_per_energy,
        p.energy_sun.value(), p.bandwidth_sun.value(), p.activation_sun.value(),
        p.total_sun.value(), lease.lock, lease.lock_period_blocks, to_micros(now), lease.group_id,
        lease.split_parts);
    if (rows.empty()) {
      return common::make_error("conflict",
                                "quote " + lease.quote_id.value_or("") + " was taken by a lease");
    }
    return lease_from_row(rows[0]);
  });
}

common::Status PgLeaseRepository::discard(int64_t lease_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "DELETE FROM leases WHERE id = $1 AND state = 'pending' AND hold_id IS NULL RETURNING id",
        lease_id);
    if (!rows.empty()) return {};
    return refused(tx, lease_id, "be discarded");
  });
}

common::Result<std::optional<Lease>> PgLeaseRepository::find(int64_t lease_id,
                                                             std::optional<int64_t> tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<Lease>> {
    auto rows = tx.exec_params("SELECT " + kLeaseColumns +
                                   " FROM leases WHERE id = $1 "
                                   "AND ($2::bigint IS NULL OR tenant_id = $2)",
                               lease_id, tenant_id);
    if (rows.empty()) return std::optional<Lease>();
    RELAY_ASSIGN_OR_RETURN(auto lease, lease_from_row(rows[0]));
    return std::optional(std::move(lease));
  });
}

common::Result<energy::LeasePage> PgLeaseRepository::list(int64_t tenant_id,
                                                          const energy::LeaseFilter& filter) {
  if (filter.limit < 1) return invalid("limit must be at least 1");
  const int limit = std::min(filter.limit, kMaxPageSize);
  std::optional<std::string> state;
  if (filter.state) state = energy::lease_state_name(*filter.state);
  std::optional<std::string> receiver;
  if (filter.receiver) receiver = filter.receiver->to_hex();
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<energy::LeasePage> {
    // One row more than asked says whether another page exists.
    auto rows =
        tx.exec_params("SELECT " + kLeaseColumns +
                           " FROM leases WHERE tenant_id = $1 "
                           "AND ($2::text IS NULL OR state = $2) "
                           "AND ($3::text IS NULL OR receiver = decode($3, 'hex')) "
                           "AND ($4::bigint IS NULL OR id < $4) "
                           "AND ($6::bigint IS NULL OR id = $6 OR group_id = $6) "
                           "ORDER BY id DESC LIMIT $5",
                       tenant_id, state, receiver, filter.before_id, limit + 1, filter.group_id);
    energy::LeasePage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.leases.size()) == limit) break;
      RELAY_ASSIGN_OR_RETURN(auto lease, lease_from_row(row));
      page.leases.push_back(std::move(lease));
    }
    if (static_cast<int>(rows.size()) > limit) page.next_before = page.leases.back().id;
    return page;
  });
}

common::Result<std::vector<Lease>> PgLeaseRepository::list_unsettled(int limit, int64_t after_id) {
  if (limit < 1) return invalid("limit must be at least 1");
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Lease>> {
    return leases_from(tx.exec_params("SELECT " + kLeaseColumns + " FROM leases WHERE " +
                                          kUnsettled + " AND id > $1 ORDER BY id LIMIT $2",
                                      after_id, limit));
  });
}

common::Result<std::vector<Lease>> PgLeaseRepository::list_overdue(common::TimePoint before,
                                                                   int limit) {
  if (limit < 1) return invalid("limit must be at least 1");
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Lease>> {
    return leases_from(tx.exec_params("SELECT " + kLeaseColumns +
                                          " FROM leases WHERE state = 'active' AND expires_at <= " +
                                          timestamp_param(1) + " ORDER BY expires_at, id LIMIT $2",
                                      to_micros(before), limit));
  });
}

common::Result<std::vector<Lease>> PgLeaseRepository::list_holding(
    int64_t pool_id, common::TimePoint settled_since) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Lease>> {
    // Two index scans: the pool's live leases, and its recently updated ones.
    return leases_from(tx.exec_params(
        "SELECT " + kLeaseColumns +
            " FROM leases WHERE pool_id = $1 AND state IN ('delegating', 'active', 'reclaiming')"
            " UNION SELECT " +
            kLeaseColumns + " FROM leases WHERE pool_id = $1 AND updated_at >= " +
            timestamp_param(2) + " ORDER BY id",
        pool_id, to_micros(settled_since)));
  });
}

common::Result<energy::LeaseCounts> PgLeaseRepository::count_by_state() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<energy::LeaseCounts> {
    energy::LeaseCounts counts;
    for (const auto& row : tx.exec("SELECT state, count(*) FROM leases GROUP BY state")) {
      auto state = energy::lease_state_from_name(row[0].as<std::string>());
      if (!state) return internal("unknown lease state '" + row[0].as<std::string>() + "'");
      const int64_t n = row[1].as<int64_t>();
      switch (*state) {
        case LeaseState::kPending:
          counts.pending = n;
          break;
        case LeaseState::kDelegating:
          counts.delegating = n;
          break;
        case LeaseState::kActive:
          counts.active = n;
          break;
        case LeaseState::kReclaiming:
          counts.reclaiming = n;
          break;
        case LeaseState::kReclaimed:
          counts.reclaimed = n;
          break;
        case LeaseState::kFailed:
          counts.failed = n;
          break;
      }
    }
    return counts;
  });
}

common::Result<Lease> PgLeaseRepository::start_delegating(int64_t lease_id,
                                                          const energy::DelegationPlan& plan,
                                                          common::TimePoint now) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Lease> {
    pqxx::result rows;
    try {
      rows = tx.exec_params(
          "UPDATE leases SET state = 'delegating', pool_id = $2, "
          "permission_id = $3, hold_id = $4, reservation_id = $5, "
          "updated_at = " +
              timestamp_param(6) + " WHERE id = $1 AND state = 'pending' RETURNING " +
              kLeaseColumns,
          lease_id, plan.pool_id, plan.permission_id, plan.hold_id, plan.reservation_id,
          to_micros(now));
    } catch (const pqxx::unique_violation&) {
      // leases_in_flight: the transaction is aborted and is rolled back by returning an error.
      return common::make_error("conflict", "a delegation to this receiver from pool " +
                                                std::to_string(plan.pool_id) +
                                                " is already in flight; retry once it is settled");
    }
    if (rows.empty()) return refused(tx, lease_id, "start delegating");
    return lease_from_row(rows[0]);
  });
}

common::Result<Lease> PgLeaseRepository::set_delegate_tx(int64_t lease_id, int64_t chain_tx_id,
                                                         common::TimePoint now) {
  return transition(db_, lease_id, LeaseState::kDelegating,
                    "delegate_tx_id = $3, updated_at = " + timestamp_param(4),
                    " AND (delegate_tx_id IS NULL OR delegate_tx_id = $3)",
                    "record delegation tx " + std::to_string(chain_tx_id) +
                        " (another is recorded, or it is not delegating)",
                    chain_tx_id, to_micros(now));
}

common::Result<Lease> PgLeaseRepository::activate(int64_t lease_id, int64_t chain_tx_id,
                                                  common::TimePoint delegated_at,
                                                  common::TimePoint expires_at,
                                                  common::TimePoint now) {
  return transition(db_, lease_id, LeaseState::kDelegating,
                    "state = 'active', delegate_tx_id = $3, delegated_at = " + timestamp_param(4) +
                        ", expires_at = " + timestamp_param(5) +
                        ", updated_at = " + timestamp_param(6),
                    " AND (delegate_tx_id IS NULL OR delegate_tx_id = $3)", "become active",
                    chain_tx_id, to_micros(delegated_at), to_micros(expires_at), to_micros(now));
}

common::Result<Lease> PgLeaseRepository::fail(int64_t lease_id, LeaseState from,
                                              const std::string& reason, common::TimePoint now) {
  if (from != LeaseState::kPending && from != LeaseState::kDelegating) {
    return invalid("only pending and delegating leases can fail");
  }
  if (reason.empty()) return invalid("a failed lease needs a reason");
  return transition(db_, lease_id, from,
                    "state = 'failed', state_reason = $3, updated_at = " + timestamp_param(4), "",
                    "fail (expected " + energy::lease_state_name(from) + ")", reason,
                    to_micros(now));
}

common::Result<Lease> PgLeaseRepository::begin_reclaim(
    int64_t lease_id, std::optional<common::TimePoint> requested_at, Sun refund,
    common::TimePoint now) {
  if (refund.value() < 0) return invalid("refund must not be negative");
  if (refund.value() > 0 && !requested_at) return invalid("a refund needs an early reclaim");
  std::optional<int64_t> requested;
  if (requested_at) requested = to_micros(*requested_at);
  return transition(db_, lease_id, LeaseState::kActive,
                    "state = 'reclaiming', reclaim_requested_at = " + timestamp_param(3) +
                        ", refund_sun = $4, updated_at = " + timestamp_param(5),
                    "", "start reclaiming", requested, refund.value(), to_micros(now));
}

common::Result<Lease> PgLeaseRepository::set_reclaim_tx(int64_t lease_id,
                                                        std::optional<int64_t> expected,
                                                        int64_t chain_tx_id,
                                                        common::TimePoint now) {
  return transition(db_, lease_id, LeaseState::kReclaiming,
                    "reclaim_tx_id = $3, updated_at = " + timestamp_param(5),
                    " AND reclaim_tx_id IS NOT DISTINCT FROM $4::bigint",
                    "record reclaim tx " + std::to_string(chain_tx_id) +
                        " (another was recorded meanwhile, or it is not reclaiming)",
                    chain_tx_id, expected, to_micros(now));
}

common::Result<Lease> PgLeaseRepository::finish_reclaim(int64_t lease_id,
                                                        common::TimePoint reclaimed_at,
                                                        const std::string& note,
                                                        common::TimePoint now) {
  return transition(db_, lease_id, LeaseState::kReclaiming,
                    "state = 'reclaimed', reclaimed_at = " + timestamp_param(3) +
                        ", state_reason = $4, updated_at = " + timestamp_param(5),
                    "", "become reclaimed", to_micros(reclaimed_at), note, to_micros(now));
}

common::Result<std::vector<PgLeaseRepository::PoolDelegation>>
PgLeaseRepository::delegated_by_pool() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<PoolDelegation>> {
    std::vector<PoolDelegation> out;
    for (const auto& row :
         tx.exec("SELECT pool_id, sum(energy), sum(stake_sun) FROM leases WHERE state IN "
                 "('active', 'reclaiming') GROUP BY pool_id ORDER BY pool_id")) {
      out.push_back({.pool_id = row[0].as<int64_t>(),
                     .energy = row[1].as<int64_t>(),
                     .stake_sun = row[2].as<int64_t>()});
    }
    return out;
  });
}

}  // namespace relay::store
