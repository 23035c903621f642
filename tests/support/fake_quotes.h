// FakeQuotes: an in-memory QuoteRepository for pure unit tests (QuoteService, the quote routes,
// leases). It keeps the port's contract — tenant scoping, "conflict" for a taken id, taken once
// (again for the same reference), not after expiry, used quotes never swept — and nothing more.
// `failures.fail_next(error)` fails the next call. Integration tests use store/ against PostgreSQL
// (quote_pg_test).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "energy/quote.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

class FakeQuotes final : public energy::QuoteRepository {
 public:
  common::Status insert(const energy::Quote& quote) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    if (quotes_.contains(quote.id)) return common::make_error("conflict", "quote id is taken");
    energy::Quote stored = quote;
    stored.used_at.reset();
    stored.used_by.clear();
    quotes_[quote.id] = stored;
    return {};
  }
  common::Result<std::optional<energy::Quote>> find(const std::string& id,
                                                    int64_t tenant_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = quotes_.find(id);
    if (it == quotes_.end() || it->second.tenant_id != tenant_id) {
      return std::optional<energy::Quote>();
    }
    return std::optional<energy::Quote>(it->second);
  }
  common::Result<energy::Quote> mark_used(const std::string& id, int64_t tenant_id,
                                          const std::string& reference,
                                          common::TimePoint now) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = quotes_.find(id);
    if (it == quotes_.end() || it->second.tenant_id != tenant_id) {
      return common::make_error("not_found", "no quote '" + id + "'");
    }
    energy::Quote& quote = it->second;
    if (quote.used_at) {
      if (quote.used_by == reference) return quote;
      return common::make_error("conflict", "quote " + id + " was already used");
    }
    if (now >= quote.expires_at) return common::make_error("conflict", "quote has expired");
    quote.used_at = now;
    quote.used_by = reference;
    return quote;
  }
  common::Result<int64_t> delete_expired(common::TimePoint before, int64_t limit) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    int64_t deleted = 0;
    for (auto it = quotes_.begin(); it != quotes_.end() && deleted < limit;) {
      if (!it->second.used_at && it->second.expires_at < before) {
        it = quotes_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }

  // --- for tests -----------------------------------------------------------------------------
  size_t size() {
    std::lock_guard lock(mutex_);
    return quotes_.size();
  }

  FailureSwitch failures;

 private:
  std::mutex mutex_;
  std::map<std::string, energy::Quote> quotes_;
};

}  // namespace relay::testing
