// PostgreSQL implementation of energy's LedgerRepository (tables ledger_entries, holds, and the
// running balance_sun/reserved_sun on tenants). Each method is one transaction that first locks the
// tenant's row, so one tenant's ledger writes run one at a time and a hold can never overdraw,
// however many requests race; different tenants do not wait for each other.
#pragma once

#include "energy/ledger.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "not_found" for an unknown tenant or hold, "invalid_request" for a
// capture above the hold or a credit that would overflow int64.
class PgLedgerRepository final : public energy::LedgerRepository {
 public:
  // The largest page entries() returns, whatever `limit` asks.
  static constexpr int kMaxPageSize = 500;

  explicit PgLedgerRepository(Database& db) : db_(db) {}

  common::Result<energy::LedgerEntry> credit(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) override;
  common::Result<energy::LedgerEntry> debit(int64_t tenant_id, common::Sun amount,
                                            const std::string& reference) override;
  common::Result<energy::LedgerEntry> refund(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) override;
  common::Result<energy::Hold> place_hold(int64_t tenant_id, common::Sun amount,
                                          const std::string& reference) override;
  common::Result<energy::Hold> capture(int64_t hold_id, common::Sun amount) override;
  common::Result<energy::Hold> release(int64_t hold_id) override;
  common::Result<std::optional<energy::Hold>> find_hold(int64_t hold_id) override;
  common::Result<energy::AccountBalance> balance(int64_t tenant_id) override;
  // "invalid_request" for a limit below 1.
  common::Result<energy::LedgerPage> entries(int64_t tenant_id, std::optional<int64_t> before_id,
                                             int limit) override;

  // Holds still open across tenants, for /metrics: money set aside for work in flight.
  struct OpenHolds {
    int64_t count = 0;
    common::Sun amount;
  };
  common::Result<OpenHolds> open_holds();

 private:
  // credit, debit and refund: one entry that moves the balance up (credit, refund) or down.
  common::Result<energy::LedgerEntry> post(int64_t tenant_id, energy::EntryKind kind,
                                           common::Sun amount, const std::string& reference);
  // capture and release: settle an open hold, charging `charge` (0 for a release).
  common::Result<energy::Hold> settle(int64_t hold_id, common::Sun charge);

  Database& db_;
};

}  // namespace relay::store
