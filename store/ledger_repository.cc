#include "store/ledger_repository.h"

#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using common::Sun;
using energy::EntryKind;
using energy::HoldState;

const std::string kEntryColumns =
    "id, tenant_id, kind, amount, hold_id, reference, " + micros_of("created_at");
const std::string kHoldColumns =
    "id, tenant_id, amount, captured, state, reference, " + micros_of("created_at");

common::Error invalid(const std::string& message) {
  return common::make_error("invalid_request", message);
}

common::Error no_tenant(int64_t tenant_id) {
  return common::make_error("not_found", "no tenant " + std::to_string(tenant_id));
}

common::Status require_positive(Sun amount) {
  if (amount.value() <= 0) return invalid("amount must be positive, got " + amount.to_string());
  return {};
}

std::string hold_state_name(HoldState state) {
  switch (state) {
    case HoldState::kOpen:
      return "open";
    case HoldState::kCaptured:
      return "captured";
    case HoldState::kReleased:
      return "released";
  }
  return "";
}

common::Result<HoldState> hold_state_from_name(const std::string& name) {
  for (HoldState s : {HoldState::kOpen, HoldState::kCaptured, HoldState::kReleased}) {
    if (hold_state_name(s) == name) return s;
  }
  return common::make_error("internal", "unknown hold state '" + name + "' in the database");
}

common::Result<energy::LedgerEntry> entry_from_row(const pqxx::row& row) {
  energy::LedgerEntry entry;
  entry.id = row[0].as<int64_t>();
  entry.tenant_id = row[1].as<int64_t>();
  auto kind = energy::entry_kind_from_name(row[2].as<std::string>());
  if (!kind) {
    return common::make_error(
        "internal", "unknown ledger entry kind '" + row[2].as<std::string>() + "' in the database");
  }
  entry.kind = *kind;
  entry.amount = Sun(row[3].as<int64_t>());
  if (!row[4].is_null()) entry.hold_id = row[4].as<int64_t>();
  entry.reference = row[5].as<std::string>();
  entry.created_at = from_micros(row[6].as<int64_t>());
  return entry;
}

common::Result<energy::Hold> hold_from_row(const pqxx::row& row) {
  energy::Hold hold;
  hold.id = row[0].as<int64_t>();
  hold.tenant_id = row[1].as<int64_t>();
  hold.amount = Sun(row[2].as<int64_t>());
  hold.captured = Sun(row[3].as<int64_t>());
  RELAY_ASSIGN_OR_RETURN(hold.state, hold_state_from_name(row[4].as<std::string>()));
  hold.reference = row[5].as<std::string>();
  hold.created_at = from_micros(row[6].as<int64_t>());
  return hold;
}

// The tenant's running totals, with the row locked until the transaction ends: every ledger write
// goes through here first, which is what serializes one tenant's writes.
struct LockedAccount {
  Sun balance;
  Sun reserved;
};

std::optional<LockedAccount> lock_account(pqxx::work& tx, int64_t tenant_id) {
  auto rows = tx.exec_params(
      "SELECT balance_sun, reserved_sun FROM tenants WHERE id = $1 FOR NO KEY UPDATE", tenant_id);
  if (rows.empty()) return std::nullopt;
  return LockedAccount{Sun(rows[0][0].as<int64_t>()), Sun(rows[0][1].as<int64_t>())};
}

void store_account(pqxx::work& tx, int64_t tenant_id, const LockedAccount& account) {
  tx.exec_params0("UPDATE tenants SET balance_sun = $2, reserved_sun = $3 WHERE id = $1", tenant_id,
                  account.balance.value(), account.reserved.value());
}

common::Result<energy::LedgerEntry> append(pqxx::work& tx, int64_t tenant_id, EntryKind kind,
                                           Sun amount, std::optional<int64_t> hold_id,
                                           const std::string& reference) {
  return entry_from_row(tx.exec_params1(
      "INSERT INTO ledger_entries (tenant_id, kind, amount, hold_id, reference) "
      "VALUES ($1, $2, $3, $4, $5) RETURNING " +
          kEntryColumns,
      tenant_id, energy::entry_kind_name(kind), amount.value(), hold_id, reference));
}

Sun available(const LockedAccount& account) {
  return Sun(account.balance.value() - account.reserved.value());
}

common::Error insufficient(const LockedAccount& account, Sun amount) {
  return common::make_error("insufficient_balance", "available " + available(account).to_string() +
                                                        ", needed " + amount.to_string());
}

}  // namespace

common::Result<energy::LedgerEntry> PgLedgerRepository::post(int64_t tenant_id, EntryKind kind,
                                                             Sun amount,
                                                             const std::string& reference) {
  RELAY_TRY_STATUS(require_positive(amount));
  return db_.transaction([&](pqxx::work& tx) -> common::Result<energy::LedgerEntry> {
    auto account = lock_account(tx, tenant_id);
    if (!account) return no_tenant(tenant_id);
    if (kind == EntryKind::kDebit) {
      if (available(*account) < amount) return insufficient(*account, amount);
      account->balance = Sun(account->balance.value() - amount.value());
    } else {
      auto sum = account->balance.checked_add(amount);
      if (!sum.ok()) return invalid("balance would exceed the int64 range");
      account->balance = *sum;
    }
    RELAY_ASSIGN_OR_RETURN(auto entry,
                           append(tx, tenant_id, kind, amount, std::nullopt, reference));
    store_account(tx, tenant_id, *account);
    return entry;
  });
}

common::Result<energy::LedgerEntry> PgLedgerRepository::credit(int64_t tenant_id, Sun amount,
                                                               const std::string& reference) {
  return post(tenant_id, EntryKind::kCredit, amount, reference);
}

common::Result<energy::LedgerEntry> PgLedgerRepository::debit(int64_t tenant_id, Sun amount,
                                                              const std::string& reference) {
  return post(tenant_id, EntryKind::kDebit, amount, reference);
}

common::Result<energy::LedgerEntry> PgLedgerRepository::refund(int64_t tenant_id, Sun amount,
                                                               const std::string& reference) {
  return post(tenant_id, EntryKind::kRefund, amount, reference);
}

common::Result<energy::Hold> PgLedgerRepository::place_hold(int64_t tenant_id, Sun amount,
                                                            const std::string& reference) {
  RELAY_TRY_STATUS(require_positive(amount));
  return db_.transaction([&](pqxx::work& tx) -> common::Result<energy::Hold> {
    auto account = lock_account(tx, tenant_id);
    if (!account) return no_tenant(tenant_id);
    if (available(*account) < amount) return insufficient(*account, amount);
    RELAY_ASSIGN_OR_RETURN(
        auto hold, hold_from_row(tx.exec_params1(
                       "INSERT INTO holds (tenant_id, amount, reference) VALUES ($1, $2, $3) "
                       "RETURNING " +
                           kHoldColumns,
                       tenant_id, amount.value(), reference)));
    RELAY_TRY_STATUS(append(tx, tenant_id, EntryKind::kHold, amount, hold.id, reference));
    account->reserved = Sun(account->reserved.value() + amount.value());
    store_account(tx, tenant_id, *account);
    return hold;
  });
}

common::Result<energy::Hold> PgLedgerRepository::capture(int64_t hold_id, Sun amount) {
  RELAY_TRY_STATUS(require_positive(amount));
  return settle(hold_id, amount);
}

common::Result<energy::Hold> PgLedgerRepository::release(int64_t hold_id) {
  return settle(hold_id, Sun(0));
}

common::Result<energy::Hold> PgLedgerRepository::settle(int64_t hold_id, Sun charge) {
  const bool is_capture = charge.value() > 0;
  return db_.transaction([&](pqxx::work& tx) -> common::Result<energy::Hold> {
    auto owner = tx.exec_params("SELECT tenant_id FROM holds WHERE id = $1", hold_id);
    if (owner.empty()) return common::make_error("not_found", "no hold " + std::to_string(hold_id));
    const int64_t tenant_id = owner[0][0].as<int64_t>();
    // Tenant row first, then the hold: the order place_hold takes them in, so no deadlock.
    auto account = lock_account(tx, tenant_id);
    if (!account) return no_tenant(tenant_id);
    RELAY_ASSIGN_OR_RETURN(
        auto hold,
        hold_from_row(tx.exec_params1(
            "SELECT " + kHoldColumns + " FROM holds WHERE id = $1 FOR NO KEY UPDATE", hold_id)));
    if (hold.state != HoldState::kOpen) {
      return common::make_error("conflict", "hold " + std::to_string(hold_id) + " is already " +
                                                hold_state_name(hold.state));
    }
    if (charge > hold.amount) {
      return invalid("capture of " + charge.to_string() + " exceeds hold " +
                     std::to_string(hold_id) + " of " + hold.amount.to_string());
    }
    const Sun rest(hold.amount.value() - charge.value());
    const std::string reference = hold.reference;
    if (is_capture) {
      RELAY_TRY_STATUS(append(tx, tenant_id, EntryKind::kCapture, charge, hold_id, reference));
    }
    if (rest.value() > 0) {
      RELAY_TRY_STATUS(append(tx, tenant_id, EntryKind::kRelease, rest, hold_id, reference));
    }
    hold.state = is_capture ? HoldState::kCaptured : HoldState::kReleased;
    hold.captured = charge;
    tx.exec_params0("UPDATE holds SET state = $2, captured = $3, settled_at = now() WHERE id = $1",
                    hold_id, hold_state_name(hold.state), charge.value());
    account->balance = Sun(account->balance.value() - charge.value());
    account->reserved = Sun(account->reserved.value() - hold.amount.value());
    store_account(tx, tenant_id, *account);
    return hold;
  });
}

common::Result<std::optional<energy::Hold>> PgLedgerRepository::find_hold(int64_t hold_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::optional<energy::Hold>> {
    auto rows = tx.exec_params("SELECT " + kHoldColumns + " FROM holds WHERE id = $1", hold_id);
    if (rows.empty()) return std::optional<energy::Hold>();
    RELAY_ASSIGN_OR_RETURN(auto hold, hold_from_row(rows[0]));
    return std::optional(std::move(hold));
  });
}

common::Result<energy::AccountBalance> PgLedgerRepository::balance(int64_t tenant_id) {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<energy::AccountBalance> {
    auto rows =
        tx.exec_params("SELECT balance_sun, reserved_sun FROM tenants WHERE id = $1", tenant_id);
    if (rows.empty()) return no_tenant(tenant_id);
    return energy::AccountBalance{Sun(rows[0][0].as<int64_t>()), Sun(rows[0][1].as<int64_t>())};
  });
}

common::Result<energy::LedgerPage> PgLedgerRepository::entries(int64_t tenant_id,
                                                               std::optional<int64_t> before_id,
                                                               int limit) {
  if (limit < 1) return invalid("limit must be at least 1");
  limit = std::min(limit, kMaxPageSize);
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<energy::LedgerPage> {
    // One row more than asked says whether another page exists.
    auto rows = tx.exec_params("SELECT " + kEntryColumns +
                                   " FROM ledger_entries WHERE tenant_id = $1 "
                                   "AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                               tenant_id, before_id, limit + 1);
    energy::LedgerPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.entries.size()) == limit) break;
      RELAY_ASSIGN_OR_RETURN(auto entry, entry_from_row(row));
      page.entries.push_back(std::move(entry));
    }
    if (static_cast<int>(rows.size()) > limit) page.next_before = page.entries.back().id;
    return page;
  });
}

common::Result<PgLedgerRepository::OpenHolds> PgLedgerRepository::open_holds() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<OpenHolds> {
    // Through holds_open_by_tenant: only the open ones are read.
    auto row =
        tx.exec1("SELECT count(*), COALESCE(sum(amount), 0) FROM holds WHERE state = 'open'");
    return OpenHolds{.count = row[0].as<int64_t>(), .amount = common::Sun(row[1].as<int64_t>())};
  });
}

}  // namespace relay::store
