// FakeLeases: an in-memory energy::LeaseRepository for unit tests of code above the lease port
// (LeaseService, the lease routes). It keeps the contract written on the port and on
// store::PgLeaseRepository — transitions only from the state they expect ("conflict" naming the
// state otherwise), one lease per quote, one in-flight delegation per (pool, receiver), only
// pending leases discarded, tenant scoping, newest first — and nothing more. Failing:
// `failures.fail_next(error)` fails the next call of any method; `call_hook`, when set, is asked
// before every call with the method's name and fails it when it returns an error. Thread-safe.
// Integration tests use store::PgLeaseRepository against PostgreSQL instead (lease_pg_test).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "energy/lease.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

class FakeLeases final : public energy::LeaseRepository {
 public:
  using CallHook = relay::testing::CallHook;

  common::Result<energy::Lease> create(const energy::NewLease& lease,
                                       common::TimePoint now) override {
    if (auto e = failure("create")) return *e;
    std::lock_guard lock(mutex_);
    if (lease.quote_id) {
      for (const auto& [id, existing] : leases_) {
        if (existing.quote_id == lease.quote_id) {
          return common::make_error("conflict", "quote was taken by a lease");
        }
      }
    }
    energy::Lease stored;
    stored.id = next_id_++;
    stored.tenant_id = lease.tenant_id;
    stored.quote_id = lease.quote_id;
    stored.receiver = lease.receiver;
    stored.energy = lease.energy;
    stored.duration_s = lease.duration_s;
    stored.stake_sun = lease.stake_sun;
    stored.price = lease.price;
    stored.lock = lease.lock;
    stored.lock_period_blocks = lease.lock_period_blocks;
    stored.group_id = lease.group_id;
    stored.split_parts = lease.split_parts;
    stored.created_at = stored.updated_at = now;
    leases_[stored.id] = stored;
    return stored;
  }
  common::Status discard(int64_t lease_id) override {
    if (auto e = failure("discard")) return *e;
    std::lock_guard lock(mutex_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) return not_found(lease_id);
    if (it->second.state != energy::LeaseState::kPending || it->second.hold_id) {
      return refused(it->second, "be discarded");
    }
    leases_.erase(it);
    return {};
  }
  common::Result<std::optional<energy::Lease>> find(int64_t lease_id,
                                                    std::optional<int64_t> tenant_id) override {
    if (auto e = failure("find")) return *e;
    std::lock_guard lock(mutex_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end() || (tenant_id && it->second.tenant_id != *tenant_id)) {
      return std::optional<energy::Lease>();
    }
    return std::optional<energy::Lease>(it->second);
  }
  common::Result<energy::LeasePage> list(int64_t tenant_id,
                                         const energy::LeaseFilter& filter) override {
    if (auto e = failure("list")) return *e;
    if (filter.limit < 1) return common::make_error("invalid_request", "limit below 1");
    std::lock_guard lock(mutex_);
    energy::LeasePage page;
    for (auto it = leases_.rbegin(); it != leases_.rend(); ++it) {
      const energy::Lease& lease = it->second;
      if (lease.tenant_id != tenant_id) continue;
      if (filter.state && lease.state != *filter.state) continue;
      if (filter.receiver && lease.receiver != *filter.receiver) continue;
      if (filter.before_id && lease.id >= *filter.before_id) continue;
      if (filter.group_id && energy::group_of(lease) != *filter.group_id) continue;
      if (static_cast<int>(page.leases.size()) == filter.limit) {
        page.next_before = page.leases.back().id;
        break;
      }
      page.leases.push_back(lease);
    }
    return page;
  }
  common::Result<std::vector<energy::Lease>> list_unsettled(int limit, int64_t after_id) override {
    if (auto e = failure("list_unsettled")) return *e;
    if (limit < 1) return common::make_error("invalid_request", "limit below 1");
    std::lock_guard lock(mutex_);
    std::vector<energy::Lease> out;
    for (auto it = leases_.upper_bound(after_id); it != leases_.end(); ++it) {
      if (static_cast<int>(out.size()) == limit) break;
      const auto state = it->second.state;
      if (state == energy::LeaseState::kPending || state == energy::LeaseState::kDelegating ||
          state == energy::LeaseState::kReclaiming) {
        out.push_back(it->second);
      }
    }
    return out;
  }
  common::Result<std::vector<energy::Lease>> list_overdue(common::TimePoint before,
                                                          int limit) override {
    if (auto e = failure("list_overdue")) return *e;
    if (limit < 1) return common::make_error("invalid_request", "limit below 1");
    std::lock_guard lock(mutex_);
    std::vector<energy::Lease> out;
    for (const auto& [id, lease] : leases_) {
      if (lease.state == energy::LeaseState::kActive && *lease.expires_at <= before) {
        out.push_back(lease);
      }
    }
    std::sort(out.begin(), out.end(), [](const energy::Lease& a, const energy::Lease& b) {
      return a.expires_at != b.expires_at ? a.expires_at < b.expires_at : a.id < b.id;
    });
    if (out.size() > static_cast<size_t>(limit)) out.resize(limit);
    return out;
  }
  common::Result<std::vector<energy::Lease>> list_holding(
      int64_t pool_id, common::TimePoint settled_since) override {
    if (auto e = failure("list_holding")) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::Lease> out;
    for (const auto& [id, lease] : leases_) {
      if (lease.pool_id != pool_id) continue;
      const bool holds = lease.state == energy::LeaseState::kDelegating ||
                         lease.state == energy::LeaseState::kActive ||
                         lease.state == energy::LeaseState::kReclaiming;
      if (holds || lease.updated_at >= settled_since) out.push_back(lease);
    }
    return out;
  }
  common::Result<energy::LeaseCounts> count_by_state() override {
    if (auto e = failure("count_by_state")) return *e;
    std::lock_guard lock(mutex_);
    energy::LeaseCounts counts;
    for (const auto& [id, lease] : leases_) {
      switch (lease.state) {
        case energy::LeaseState::kPending:
          ++counts.pending;
          break;
        case energy::LeaseState::kDelegating:
          ++counts.delegating;
          break;
        case energy::LeaseState::kActive:
          ++counts.active;
          break;
        case energy::LeaseState::kReclaiming:
          ++counts.reclaiming;
          break;
        case energy::LeaseState::kReclaimed:
          ++counts.reclaimed;
          break;
        case energy::LeaseState::kFailed:
          ++counts.failed;
          break;
      }
    }
    return counts;
  }

  common::Result<energy::Lease> start_delegating(int64_t lease_id,
                                                 const energy::DelegationPlan& plan,
                                                 common::TimePoint now) override {
    if (auto e = failure("start_delegating")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kPending) return refused(*lease, "start delegating");
    for (const auto& [id, other] : leases_) {
      if (id != lease_id && energy::is_in_flight(other.state) && other.pool_id == plan.pool_id &&
          other.receiver == lease->receiver) {
        return common::make_error("conflict", "a delegation to this receiver is in flight");
      }
    }
    lease->state = energy::LeaseState::kDelegating;
    lease->pool_id = plan.pool_id;
    lease->permission_id = plan.permission_id;
    lease->hold_id = plan.hold_id;
    lease->reservation_id = plan.reservation_id;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> set_delegate_tx(int64_t lease_id, int64_t chain_tx_id,
                                                common::TimePoint now) override {
    if (auto e = failure("set_delegate_tx")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kDelegating ||
        (lease->delegate_tx_id && *lease->delegate_tx_id != chain_tx_id)) {
      return refused(*lease, "record a delegation tx");
    }
    lease->delegate_tx_id = chain_tx_id;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> activate(int64_t lease_id, int64_t chain_tx_id,
                                         common::TimePoint delegated_at,
                                         common::TimePoint expires_at,
                                         common::TimePoint now) override {
    if (auto e = failure("activate")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kDelegating ||
        (lease->delegate_tx_id && *lease->delegate_tx_id != chain_tx_id)) {
      return refused(*lease, "become active");
    }
    lease->state = energy::LeaseState::kActive;
    lease->delegate_tx_id = chain_tx_id;
    lease->delegated_at = delegated_at;
    lease->expires_at = expires_at;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> fail(int64_t lease_id, energy::LeaseState from,
                                     const std::string& reason, common::TimePoint now) override {
    if (auto e = failure("fail")) return *e;
    if (reason.empty()) return common::make_error("invalid_request", "empty reason");
    if (from != energy::LeaseState::kPending && from != energy::LeaseState::kDelegating) {
      return common::make_error("invalid_request", "only pending and delegating leases fail");
    }
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != from) return refused(*lease, "fail");
    lease->state = energy::LeaseState::kFailed;
    lease->state_reason = reason;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> begin_reclaim(int64_t lease_id,
                                              std::optional<common::TimePoint> requested_at,
                                              common::Sun refund, common::TimePoint now) override {
    if (auto e = failure("begin_reclaim")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kActive) return refused(*lease, "start reclaiming");
    lease->state = energy::LeaseState::kReclaiming;
    lease->reclaim_requested_at = requested_at;
    lease->refund_sun = refund;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> set_reclaim_tx(int64_t lease_id, std::optional<int64_t> expected,
                                               int64_t chain_tx_id,
                                               common::TimePoint now) override {
    if (auto e = failure("set_reclaim_tx")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kReclaiming || lease->reclaim_tx_id != expected) {
      return refused(*lease, "record a reclaim tx");
    }
    lease->reclaim_tx_id = chain_tx_id;
    lease->updated_at = now;
    return *lease;
  }
  common::Result<energy::Lease> finish_reclaim(int64_t lease_id, common::TimePoint reclaimed_at,
                                               const std::string& note,
                                               common::TimePoint now) override {
    if (auto e = failure("finish_reclaim")) return *e;
    std::lock_guard lock(mutex_);
    auto* lease = at(lease_id);
    if (lease == nullptr) return not_found(lease_id);
    if (lease->state != energy::LeaseState::kReclaiming) return refused(*lease, "become reclaimed");
    lease->state = energy::LeaseState::kReclaimed;
    lease->reclaimed_at = reclaimed_at;
    lease->state_reason = note;
    lease->updated_at = now;
    return *lease;
  }

  // --- for tests -----------------------------------------------------------------------------
  std::vector<energy::Lease> all() {
    std::lock_guard lock(mutex_);
    std::vector<energy::Lease> out;
    for (const auto& [id, lease] : leases_) out.push_back(lease);
    return out;
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return leases_.size();
  }
  // Rewrites a stored lease (a test setting up a state the service would reach another way).
  template <typename F>
  void update(int64_t lease_id, F&& change) {
    std::lock_guard lock(mutex_);
    change(leases_.at(lease_id));
  }

  FailureSwitch failures;
  CallHook call_hook;

 private:
  std::optional<common::Error> failure(const std::string& method) {
    return failure_for(call_hook, failures, method);
  }
  energy::Lease* at(int64_t lease_id) {
    auto it = leases_.find(lease_id);
    return it == leases_.end() ? nullptr : &it->second;
  }
  static common::Error not_found(int64_t lease_id) {
    return common::make_error("not_found", "no lease " + std::to_string(lease_id));
  }
  static common::Error refused(const energy::Lease& lease, const std::string& what) {
    return common::make_error("conflict", "lease " + std::to_string(lease.id) + " is " +
                                              energy::lease_state_name(lease.state) + ": cannot " +
                                              what);
  }

  std::mutex mutex_;
  std::map<int64_t, energy::Lease> leases_;
  int64_t next_id_ = 1;
};

}  // namespace relay::testing
