// FakeChainTxJournal: an in-memory energy::ChainTxJournal for unit tests of code above the journal
// port (ChainTxSender, the lease flow). It keeps the contract written on the port and on
// store::PgChainTxJournal — "conflict" for a txid journaled twice and for contradicting a settled
// tx, idempotent repeats, settled txs never changed, oldest first — and nothing more. Failing:
// `failures.fail_next(error)` fails the next call of any method; `call_hook`, when set, is asked
// before every call (with the method's name) and fails it when it returns an error, which lets a
// test fail the N-th call across several fakes. Thread-safe. Integration tests use
// store::PgChainTxJournal against PostgreSQL instead (*_pg_test).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "energy/chain_tx_journal.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

class FakeChainTxJournal final : public energy::ChainTxJournal {
 public:
  using CallHook = relay::testing::CallHook;

  explicit FakeChainTxJournal(const common::Clock& clock) : clock_(clock) {}

  // --- energy::ChainTxJournal ----------------------------------------------------------------
  common::Result<energy::ChainTxRecord> record_signed(const energy::ChainTxRecord& tx) override {
    if (auto e = failure("record_signed")) return *e;
    if (tx.purpose.empty()) return common::make_error("invalid_request", "empty purpose");
    if (tx.signed_bytes.empty()) return common::make_error("invalid_request", "empty bytes");
    std::lock_guard lock(mutex_);
    for (const auto& [id, r] : records_) {
      if (r.txid == tx.txid) return common::make_error("conflict", "txid already journaled");
    }
    energy::ChainTxRecord r;
    r.id = next_id_++;
    r.txid = tx.txid;
    r.purpose = tx.purpose;
    r.owner_ref = tx.owner_ref;
    r.pool_id = tx.pool_id;
    r.signed_bytes = tx.signed_bytes;
    r.expiration_ms = tx.expiration_ms;
    r.created_at = r.updated_at = clock_.now();
    records_[r.id] = r;
    return r;
  }
  common::Result<energy::ChainTxRecord> mark_broadcast(int64_t id, common::TimePoint at) override {
    if (auto e = failure("mark_broadcast")) return *e;
    return attempt(id, at, true, "", "");
  }
  common::Result<energy::ChainTxRecord> note_broadcast_problem(
      int64_t id, common::TimePoint at, const std::string& code,
      const std::string& message) override {
    if (auto e = failure("note_broadcast_problem")) return *e;
    if (code.empty()) return common::make_error("invalid_request", "empty code");
    return attempt(id, at, false, code, message);
  }
  common::Result<energy::ChainTxRecord> mark_included(
      int64_t id, const energy::ChainTxInclusion& inclusion) override {
    if (auto e = failure("mark_included")) return *e;
    return settle(id, energy::ChainTxState::kIncluded, "", "", inclusion);
  }
  common::Result<energy::ChainTxRecord> mark_failed(
      int64_t id, const std::string& code, const std::string& message,
      const std::optional<energy::ChainTxInclusion>& inclusion) override {
    if (auto e = failure("mark_failed")) return *e;
    if (code.empty()) return common::make_error("invalid_request", "empty code");
    return settle(id, energy::ChainTxState::kFailed, code, message, inclusion);
  }
  common::Result<energy::ChainTxRecord> mark_expired(int64_t id) override {
    if (auto e = failure("mark_expired")) return *e;
    return settle(id, energy::ChainTxState::kExpired, "", "", std::nullopt);
  }
  common::Result<std::optional<energy::ChainTxRecord>> find(int64_t id) override {
    if (auto e = failure("find")) return *e;
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return std::optional<energy::ChainTxRecord>();
    return std::optional(it->second);
  }
  common::Result<std::optional<energy::ChainTxRecord>> find_by_txid(
      const common::Hash32& txid) override {
    if (auto e = failure("find_by_txid")) return *e;
    std::lock_guard lock(mutex_);
    for (const auto& [id, r] : records_) {
      if (r.txid == txid) return std::optional(r);
    }
    return std::optional<energy::ChainTxRecord>();
  }
  common::Result<std::vector<energy::ChainTxRecord>> list_by_owner(
      const std::string& owner_ref) override {
    if (auto e = failure("list_by_owner")) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::ChainTxRecord> out;
    for (const auto& [id, r] : records_) {
      if (r.owner_ref == owner_ref) out.push_back(r);
    }
    return out;
  }
  common::Result<std::vector<energy::ChainTxRecord>> list_unresolved(int limit) override {
    if (auto e = failure("list_unresolved")) return *e;
    if (limit < 1) return common::make_error("invalid_request", "limit below 1");
    std::lock_guard lock(mutex_);
    std::vector<energy::ChainTxRecord> out;
    for (const auto& [id, r] : records_) {
      if (static_cast<int>(out.size()) == limit) break;
      if (!energy::is_settled(r.state)) out.push_back(r);
    }
    return out;
  }

  // --- observing -----------------------------------------------------------------------------
  std::vector<energy::ChainTxRecord> all() {
    std::lock_guard lock(mutex_);
    std::vector<energy::ChainTxRecord> out;
    for (const auto& [id, r] : records_) out.push_back(r);
    return out;
  }

  FailureSwitch failures;
  CallHook call_hook;

 private:
  std::optional<common::Error> failure(const std::string& method) {
    return failure_for(call_hook, failures, method);
  }

  common::Result<energy::ChainTxRecord> attempt(int64_t id, common::TimePoint at, bool accepted,
                                                const std::string& code,
                                                const std::string& message) {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return common::make_error("not_found", "no chain tx");
    energy::ChainTxRecord& r = it->second;
    if (energy::is_settled(r.state)) return r;
    ++r.broadcast_attempts;
    if (!r.last_broadcast_at || *r.last_broadcast_at < at) r.last_broadcast_at = at;
    if (accepted) {
      r.state = energy::ChainTxState::kBroadcast;
    } else {
      r.error_code = code;
      r.error_message = message;
    }
    r.updated_at = clock_.now();
    return r;
  }

  common::Result<energy::ChainTxRecord> settle(
      int64_t id, energy::ChainTxState to, const std::string& code, const std::string& message,
      const std::optional<energy::ChainTxInclusion>& inclusion) {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return common::make_error("not_found", "no chain tx");
    energy::ChainTxRecord& r = it->second;
    if (energy::is_settled(r.state)) {
      if (r.state == to && (to != energy::ChainTxState::kIncluded || r.inclusion == inclusion)) {
        return r;
      }
      return common::make_error("conflict",
                                "chain tx already " + energy::chain_tx_state_name(r.state));
    }
    r.state = to;
    r.inclusion = inclusion;
    if (to != energy::ChainTxState::kExpired) {
      r.error_code = code;
      r.error_message = message;
    }
    r.updated_at = clock_.now();
    return r;
  }

  const common::Clock& clock_;
  std::mutex mutex_;
  std::map<int64_t, energy::ChainTxRecord> records_;
  int64_t next_id_ = 1;
};

}  // namespace relay::testing
