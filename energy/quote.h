// Quote: a priced offer of energy to one receiver for one duration, valid until expires_at, kept so
// that a lease can take it (once) at exactly the quoted terms. QuoteService (quote_service.h)
// makes them; QuoteRepository is the port the store implements (each method one database
// transaction). Quotes belong to a tenant: another tenant's quote is not found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/units.h"
#include "energy/pricing.h"

namespace relay::energy {

// A `usdt_transfer` intent and what the chain said it costs.
struct UsdtTransferEstimate {
  common::Address to;
  int64_t amount = 0;              // token base units (USDT: 1e-6)
  int64_t energy_required = 0;     // the node's estimate for the receiver sending it
  int64_t receiver_available = 0;  // energy the receiver already had (limit − used, ≥ 0)
};

struct Quote {
  std::string id;  // "q_" + 16 lowercase hex characters (64 random bits)
  int64_t tenant_id = 0;
  common::Address receiver;
  common::Energy energy;  // to deliver; ≥ the configured minimum
  int64_t duration_s = 0;
  common::Sun stake_sun;  // to delegate: stake_for_energy at the totals below
  PriceBreakdown price;
  bool activation_required = false;  // the receiver does not exist yet on chain
  bool fillable = false;             // some active pool could take stake_sun when quoted
  int64_t total_energy_limit = 0;    // the chain's totals the stake was computed from
  int64_t total_energy_weight = 0;
  std::optional<UsdtTransferEstimate> usdt_transfer;
  common::TimePoint created_at;
  common::TimePoint expires_at;
  std::optional<common::TimePoint> used_at;
  std::string used_by;  // the reference mark_used was given ("lease:42"); empty while unused
};

// open: a lease may still take it. expired: past expires_at and never used. used: taken.
enum class QuoteState { kOpen, kExpired, kUsed };
QuoteState quote_state(const Quote& quote, common::TimePoint now);
std::string quote_state_name(QuoteState state);

// True for "q_" + 16 lowercase hex: what a quote id looks like (anything else names no quote).
bool is_quote_id(std::string_view text);

class QuoteRepository {
 public:
  virtual ~QuoteRepository() = default;
  // "conflict" when the id is taken (the caller draws another); "not_found" for an unknown tenant.
  virtual common::Status insert(const Quote& quote) = 0;
  // Empty for an unknown id or another tenant's quote; expired and used quotes are found (with
  // their expires_at and used_at) until delete_expired removes unused ones.
  virtual common::Result<std::optional<Quote>> find(const std::string& id, int64_t tenant_id) = 0;
  // Takes the quote for `reference`, atomically and once: the quote as now stored. "not_found" as
  // find; "conflict" when it is expired at `now` or was taken for another reference. Taking it
  // again for the same reference returns it unchanged, so a retried lease does not fail on its own
  // earlier take.
  virtual common::Result<Quote> mark_used(const std::string& id, int64_t tenant_id,
                                          const std::string& reference, common::TimePoint now) = 0;
  // Deletes up to `limit` quotes never used that expired before `before`; how many. Used quotes
  // are kept: their leases refer to them.
  virtual common::Result<int64_t> delete_expired(common::TimePoint before, int64_t limit) = 0;
};

}  // namespace relay::energy
