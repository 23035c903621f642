// PostgreSQL implementation of energy's LeaseRepository (table leases, migration 0006). Every
// transition is one UPDATE … WHERE id = $1 AND state = <expected> RETURNING: the row either moves
// in that statement, with every field the step records, or not at all (then the current row is
// read to say why). The partial unique index leases_in_flight turns a second delegation to the
// same receiver from the same pool into "conflict", however many requests race.
#pragma once

#include "energy/lease.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "invalid_request" for a limit below 1 or a failure reason that is
// empty.
class PgLeaseRepository final : public energy::LeaseRepository {
 public:
  // The largest page list() returns, whatever the filter asks.
  static constexpr int kMaxPageSize = 500;

  explicit PgLeaseRepository(Database& db) : db_(db) {}

  common::Result<energy::Lease> create(const energy::NewLease& lease,
                                       common::TimePoint now) override;
  common::Status discard(int64_t lease_id) override;
  common::Result<std::optional<energy::Lease>> find(int64_t lease_id,
                                                    std::optional<int64_t> tenant_id) override;
  common::Result<energy::LeasePage> list(int64_t tenant_id,
                                         const energy::LeaseFilter& filter) override;
  common::Result<std::vector<energy::Lease>> list_unsettled(int limit, int64_t after_id) override;
  common::Result<std::vector<energy::Lease>> list_overdue(common::TimePoint before,
                                                          int limit) override;
  common::Result<energy::LeaseCounts> count_by_state() override;
  common::Result<std::vector<energy::Lease>> list_holding(int64_t pool_id,
                                                          common::TimePoint settled_since) override;
  // Energy and stake the active and reclaiming leases hold, per pool, for /metrics.
  struct PoolDelegation {
    int64_t pool_id = 0;
    int64_t energy = 0;
    int64_t stake_sun = 0;
  };
  common::Result<std::vector<PoolDelegation>> delegated_by_pool();

  common::Result<energy::Lease> start_delegating(int64_t lease_id,
                                                 const energy::DelegationPlan& plan,
                                                 common::TimePoint now) override;
  common::Result<energy::Lease> set_delegate_tx(int64_t lease_id, int64_t chain_tx_id,
                                                common::TimePoint now) override;
  common::Result<energy::Lease> activate(int64_t lease_id, int64_t chain_tx_id,
                                         common::TimePoint delegated_at,
                                         common::TimePoint expires_at,
                                         common::TimePoint now) override;
  common::Result<energy::Lease> fail(int64_t lease_id, energy::LeaseState from,
                                     const std::string& reason, common::TimePoint now) override;
  common::Result<energy::Lease> begin_reclaim(int64_t lease_id,
                                              std::optional<common::TimePoint> requested_at,
                                              common::Sun refund, common::TimePoint now) override;
  common::Result<energy::Lease> set_reclaim_tx(int64_t lease_id, std::optional<int64_t> expected,
                                               int64_t chain_tx_id, common::TimePoint now) override;
  common::Result<energy::Lease> finish_reclaim(int64_t lease_id, common::TimePoint reclaimed_at,
                                               const std::string& note,
                                               common::TimePoint now) override;

 private:
  Database& db_;
};

}  // namespace relay::store
