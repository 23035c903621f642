// In-memory fakes of energy's repository ports, for pure unit tests of code above the store (the
// API, domain services). They follow the contracts written on the ports and on the PostgreSQL
// implementations in store/ (error codes, newest-first order, tenant scoping), are thread-safe,
// and can be told to fail: `fail_next(error)` makes the next call of any method return it.
// Integration tests use the real store against PostgreSQL instead (*_pg_test).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "energy/audit.h"
#include "energy/idempotency.h"
#include "energy/ledger.h"
#include "energy/tenant.h"

namespace relay::testing {

// The shared "fail the next call" switch of every fake.
// Asked by a fake before each call with the method's name; an error fails that call.
using CallHook = std::function<std::optional<common::Error>(const std::string& method)>;

class FailureSwitch {
 public:
  void fail_next(common::Error error) {
    std::lock_guard lock(mutex_);
    next_ = std::move(error);
  }
  // Consumes the pending failure, if any.
  std::optional<common::Error> take() {
    std::lock_guard lock(mutex_);
    auto out = std::move(next_);
    next_.reset();
    return out;
  }

 private:
  std::mutex mutex_;
  std::optional<common::Error> next_;
};

// A fake's failure for a call of `method`: the hook's if it has one, else the pending one.
inline std::optional<common::Error> failure_for(const CallHook& hook, FailureSwitch& failures,
                                                const std::string& method) {
  if (hook) {
    if (auto e = hook(method)) return e;
  }
  return failures.take();
}

class FakeTenantRepository final : public energy::TenantRepository {
 public:
  explicit FakeTenantRepository(const common::Clock& clock) : clock_(clock) {}

  common::Result<energy::Tenant> create(const std::string& name) override {
    if (auto e = failures.take()) return *e;
    if (name.empty()) return common::make_error("invalid_request", "tenant name is empty");
    std::lock_guard lock(mutex_);
    energy::Tenant tenant{.id = next_id_++, .name = name, .created_at = clock_.now()};
    tenants_.push_back(tenant);
    return tenant;
  }
  common::Result<std::optional<energy::Tenant>> find(int64_t id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    for (const auto& tenant : tenants_) {
      if (tenant.id == id) return std::optional<energy::Tenant>(tenant);
    }
    return std::optional<energy::Tenant>();
  }
  common::Result<std::vector<energy::Tenant>> list() override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    return tenants_;
  }

  FailureSwitch failures;

 private:
  const common::Clock& clock_;
  std::mutex mutex_;
  std::vector<energy::Tenant> tenants_;
  int64_t next_id_ = 1;
};

class FakeApiKeyRepository final : public energy::ApiKeyRepository {
 public:
  explicit FakeApiKeyRepository(const common::Clock& clock) : clock_(clock) {}

  common::Result<energy::ApiKey> insert(const energy::ApiKey& key) override {
    if (auto e = failures.take()) return *e;
    if (key.prefix.empty() || key.scopes.empty()) {
      return common::make_error("invalid_request", "a key needs a prefix and scopes");
    }
    std::lock_guard lock(mutex_);
    for (const auto& existing : keys_) {
      if (existing.secret_hash == key.secret_hash) {
        return common::make_error("conflict", "a key with this secret exists");
      }
    }
    energy::ApiKey stored = key;
    stored.id = next_id_++;
    stored.created_at = clock_.now();
    keys_.push_back(stored);
    return stored;
  }
  common::Result<std::optional<energy::ApiKey>> find_by_hash(
      const common::Hash32& secret_hash) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    for (const auto& key : keys_) {
      if (key.secret_hash == secret_hash) return std::optional<energy::ApiKey>(key);
    }
    return std::optional<energy::ApiKey>();
  }
  common::Result<std::vector<energy::ApiKey>> list(std::optional<int64_t> tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::ApiKey> out;
    for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {  // newest first
      if (!tenant_id || it->tenant_id == *tenant_id) out.push_back(*it);
    }
    return out;
  }
  common::Result<bool> revoke(int64_t key_id, std::optional<int64_t> tenant_id,
                              common::TimePoint at) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    for (auto& key : keys_) {
      if (key.id != key_id || (tenant_id && key.tenant_id != *tenant_id) || key.revoked_at) {
        continue;
      }
      key.revoked_at = at;
      return true;
    }
    return false;
  }

  FailureSwitch failures;

 private:
  const common::Clock& clock_;
  std::mutex mutex_;
  std::vector<energy::ApiKey> keys_;
  int64_t next_id_ = 1;
};

class FakeLedgerRepository final : public energy::LedgerRepository {
 public:
  // `tenants` decides which tenant ids exist ("not_found" otherwise), as the foreign key does.
  FakeLedgerRepository(FakeTenantRepository& tenants, const common::Clock& clock)
      : tenants_(tenants), clock_(clock) {}

  common::Result<energy::LedgerEntry> credit(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) override {
    return append(tenant_id, energy::EntryKind::kCredit, amount, reference, std::nullopt, false);
  }
  common::Result<energy::LedgerEntry> debit(int64_t tenant_id, common::Sun amount,
                                            const std::string& reference) override {
    return append(tenant_id, energy::EntryKind::kDebit, amount, reference, std::nullopt, true);
  }
  common::Result<energy::LedgerEntry> refund(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) override {
    return append(tenant_id, energy::EntryKind::kRefund, amount, reference, std::nullopt, false);
  }
  common::Result<energy::Hold> place_hold(int64_t tenant_id, common::Sun amount,
                                          const std::string& reference) override {
    if (auto e = failures.take()) return *e;
    RELAY_TRY_STATUS(check(tenant_id, amount));
    std::lock_guard lock(mutex_);
    if (balance_locked(tenant_id).available() < amount) return insufficient();
    energy::Hold hold{.id = next_hold_id_++,
                      .tenant_id = tenant_id,
                      .amount = amount,
                      .captured = common::Sun(0),
                      .state = energy::HoldState::kOpen,
                      .reference = reference,
                      .created_at = clock_.now()};
    holds_.push_back(hold);
    push_entry(tenant_id, energy::EntryKind::kHold, amount, reference, hold.id);
    return hold;
  }
  common::Result<energy::Hold> capture(int64_t hold_id, common::Sun amount) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    energy::Hold* hold = find_hold_locked(hold_id);
    if (hold == nullptr) return common::make_error("not_found", "no hold");
    if (hold->state != energy::HoldState::kOpen) return common::make_error("conflict", "not open");
    if (amount.value() < 0 || amount > hold->amount) {
      return common::make_error("invalid_request", "capture exceeds the hold");
    }
    hold->state = energy::HoldState::kCaptured;
    hold->captured = amount;
    push_entry(hold->tenant_id, energy::EntryKind::kCapture, amount, hold->reference, hold_id);
    return *hold;
  }
  common::Result<energy::Hold> release(int64_t hold_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    energy::Hold* hold = find_hold_locked(hold_id);
    if (hold == nullptr) return common::make_error("not_found", "no hold");
    if (hold->state != energy::HoldState::kOpen) return common::make_error("conflict", "not open");
    hold->state = energy::HoldState::kReleased;
    push_entry(hold->tenant_id, energy::EntryKind::kRelease, hold->amount, hold->reference,
               hold_id);
    return *hold;
  }
  common::Result<std::optional<energy::Hold>> find_hold(int64_t hold_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    energy::Hold* hold = find_hold_locked(hold_id);
    return hold ? std::optional<energy::Hold>(*hold) : std::nullopt;
  }
  common::Result<energy::AccountBalance> balance(int64_t tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    return balance_locked(tenant_id);
  }
  common::Result<energy::LedgerPage> entries(int64_t tenant_id, std::optional<int64_t> before_id,
                                             int limit) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    energy::LedgerPage page;
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->tenant_id != tenant_id || (before_id && it->id >= *before_id)) continue;
      if (static_cast<int>(page.entries.size()) == limit) {
        page.next_before = page.entries.back().id;
        break;
      }
      page.entries.push_back(*it);
    }
    return page;
  }

  FailureSwitch failures;

 private:
  static common::Error insufficient() {
    return common::make_error("insufficient_balance", "available balance is too low");
  }

  common::Status check(int64_t tenant_id, common::Sun amount) {
    if (amount.value() <= 0)
      return common::make_error("invalid_request", "amount must be positive");
    auto tenant = tenants_.find(tenant_id);
    if (!tenant.ok()) return tenant.error();
    if (!*tenant) return common::make_error("not_found", "no tenant " + std::to_string(tenant_id));
    return {};
  }

  common::Result<energy::LedgerEntry> append(int64_t tenant_id, energy::EntryKind kind,
                                             common::Sun amount, const std::string& reference,
                                             std::optional<int64_t> hold_id, bool needs_funds) {
    if (auto e = failures.take()) return *e;
    RELAY_TRY_STATUS(check(tenant_id, amount));
    std::lock_guard lock(mutex_);
    energy::AccountBalance now = balance_locked(tenant_id);
    if (needs_funds && now.available() < amount) return insufficient();
    if (!needs_funds && !now.balance.checked_add(amount).ok()) {
      return common::make_error("invalid_request", "balance would exceed the int64 range");
    }
    return push_entry(tenant_id, kind, amount, reference, hold_id);
  }

  energy::LedgerEntry push_entry(int64_t tenant_id, energy::EntryKind kind, common::Sun amount,
                                 const std::string& reference, std::optional<int64_t> hold_id) {
    energy::LedgerEntry entry{.id = next_entry_id_++,
                              .tenant_id = tenant_id,
                              .kind = kind,
                              .amount = amount,
                              .hold_id = hold_id,
                              .reference = reference,
                              .created_at = clock_.now()};
    entries_.push_back(entry);
    return entry;
  }

  energy::Hold* find_hold_locked(int64_t hold_id) {
    for (auto& hold : holds_) {
      if (hold.id == hold_id) return &hold;
    }
    return nullptr;
  }

  energy::AccountBalance balance_locked(int64_t tenant_id) const {
    int64_t balance = 0;
    int64_t reserved = 0;
    for (const auto& entry : entries_) {
      if (entry.tenant_id != tenant_id) continue;
      switch (entry.kind) {
        case energy::EntryKind::kCredit:
        case energy::EntryKind::kRefund:
          balance += entry.amount.value();
          break;
        case energy::EntryKind::kDebit:
        case energy::EntryKind::kCapture:
          balance -= entry.amount.value();
          break;
        case energy::EntryKind::kHold:
        case energy::EntryKind::kRelease:
          break;
      }
    }
    for (const auto& hold : holds_) {
      if (hold.tenant_id == tenant_id && hold.state == energy::HoldState::kOpen) {
        reserved += hold.amount.value();
      }
    }
    return energy::AccountBalance{.balance = common::Sun(balance),
                                  .reserved = common::Sun(reserved)};
  }

  FakeTenantRepository& tenants_;
  const common::Clock& clock_;
  std::mutex mutex_;
  std::vector<energy::LedgerEntry> entries_;
  std::vector<energy::Hold> holds_;
  int64_t next_entry_id_ = 1;
  int64_t next_hold_id_ = 1;
};

class FakeIdempotencyRepository final : public energy::IdempotencyRepository {
 public:
  common::Result<energy::IdempotencyClaim> claim(int64_t tenant_id, const std::string& key,
                                                 const std::string& request_hash,
                                                 common::TimePoint /*now*/) override {
    if (auto e = failures.take()) return *e;
    if (key.empty() || key.size() > 255 || request_hash.empty()) {
      return common::make_error("invalid_request", "bad idempotency key or hash");
    }
    std::lock_guard lock(mutex_);
    auto [it, inserted] = rows_.try_emplace({tenant_id, key}, Row{request_hash, std::nullopt});
    if (inserted) return energy::IdempotencyClaim{energy::IdempotencyOutcome::kStarted, {}};
    if (it->second.request_hash != request_hash) {
      return energy::IdempotencyClaim{energy::IdempotencyOutcome::kMismatch, {}};
    }
    if (!it->second.response) {
      return energy::IdempotencyClaim{energy::IdempotencyOutcome::kInProgress, {}};
    }
    return energy::IdempotencyClaim{energy::IdempotencyOutcome::kReplay, it->second.response};
  }
  common::Status complete(int64_t tenant_id, const std::string& key,
                          const energy::StoredResponse& response) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = rows_.find({tenant_id, key});
    if (it == rows_.end()) return common::make_error("not_found", "key was not claimed");
    if (it->second.response) return common::make_error("conflict", "key is already complete");
    it->second.response = response;
    return {};
  }
  common::Status abandon(int64_t tenant_id, const std::string& key) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = rows_.find({tenant_id, key});
    if (it == rows_.end()) return common::make_error("not_found", "key was not claimed");
    if (it->second.response) return common::make_error("conflict", "key is already complete");
    rows_.erase(it);
    return {};
  }

  // What a key holds now (tests inspect what was stored, e.g. that no secret was).
  std::optional<energy::StoredResponse> stored(int64_t tenant_id, const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = rows_.find({tenant_id, key});
    return it == rows_.end() ? std::nullopt : it->second.response;
  }
  bool claimed(int64_t tenant_id, const std::string& key) {
    std::lock_guard lock(mutex_);
    return rows_.contains({tenant_id, key});
  }

  FailureSwitch failures;

 private:
  struct Row {
    std::string request_hash;
    std::optional<energy::StoredResponse> response;  // empty while in progress
  };
  std::mutex mutex_;
  std::map<std::pair<int64_t, std::string>, Row> rows_;
};

class FakeAuditLog final : public energy::AuditLog {
 public:
  common::Status record(const energy::AuditEvent& event) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    return {};
  }
  std::vector<energy::AuditEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

  FailureSwitch failures;

 private:
  std::mutex mutex_;
  std::vector<energy::AuditEvent> events_;
};

// All of the above over one clock, for tests that need the whole store.
struct FakeStore {
  explicit FakeStore(const common::Clock& clock)
      : tenants(clock), keys(clock), ledger(tenants, clock) {}

  FakeTenantRepository tenants;
  FakeApiKeyRepository keys;
  FakeLedgerRepository ledger;
  FakeIdempotencyRepository idempotency;
  FakeAuditLog audit;
};

}  // namespace relay::testing
