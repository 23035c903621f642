// The tenant ledger: append-only entries in sun from which balance and reserved are derived. Holds are
// the only way a flow reserves money, and a hold never lets balance − reserved go below zero, even
// when many requests race. LedgerRepository is the port the store implements atomically.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/units.h"

namespace relay::energy {

enum class EntryKind { kCredit, kDebit, kHold, kRelease, kCapture, kRefund };
std::string entry_kind_name(EntryKind kind);
std::optional<EntryKind> entry_kind_from_name(std::string_view name);

struct LedgerEntry {
  int64_t id = 0;
  int64_t tenant_id = 0;
  EntryKind kind = EntryKind::kCredit;
  common::Sun amount;  // always positive; the kind says which way it moves
  std::optional<int64_t> hold_id;
  std::string reference;  // what caused it: "admin:credit", "lease:42", …
  common::TimePoint created_at;
};

// balance = credits + refunds − debits − captures; reserved = open holds. available = the difference.
struct AccountBalance {
  common::Sun balance;
  common::Sun reserved;
  common::Sun available() const { return common::Sun(balance.value() - reserved.value()); }
};

enum class HoldState { kOpen, kCaptured, kReleased };

struct Hold {
  int64_t id = 0;
  int64_t tenant_id = 0;
  common::Sun amount;
  common::Sun captured;
  HoldState state = HoldState::kOpen;
  std::string reference;
  common::TimePoint created_at;
};

struct LedgerPage {
  std::vector<LedgerEntry> entries;    // newest first
  std::optional<int64_t> next_before;  // pass as `before_id` for the next page
};

// Every method is one database transaction. Amounts must be positive ("invalid_request" otherwise).
class LedgerRepository {
 public:
  virtual ~LedgerRepository() = default;
  virtual common::Result<LedgerEntry> credit(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) = 0;
  // A direct charge; "insufficient_balance" if it would take available below zero.
  virtual common::Result<LedgerEntry> debit(int64_t tenant_id, common::Sun amount,
                                            const std::string& reference) = 0;
  virtual common::Result<LedgerEntry> refund(int64_t tenant_id, common::Sun amount,
                                             const std::string& reference) = 0;
  // Reserves `amount`; "insufficient_balance" if available < amount. Serialized per tenant.
  virtual common::Result<Hold> place_hold(int64_t tenant_id, common::Sun amount,
                                          const std::string& reference) = 0;
  // Charges `amount` (≤ the hold) and releases the rest; "conflict" if the hold is not open.
  virtual common::Result<Hold> capture(int64_t hold_id, common::Sun amount) = 0;
  // Releases an open hold in full; "conflict" if it is not open.
  virtual common::Result<Hold> release(int64_t hold_id) = 0;
  virtual common::Result<std::optional<Hold>> find_hold(int64_t hold_id) = 0;
  virtual common::Result<AccountBalance> balance(int64_t tenant_id) = 0;
  virtual common::Result<LedgerPage> entries(int64_t tenant_id, std::optional<int64_t> before_id,
                                             int limit) = 0;
};

}  // namespace relay::energy
