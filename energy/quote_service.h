// QuoteService: POST /v1/quote's rules. It checks the receiver on chain, turns a `usdt_transfer`
// intent into energy with the node's estimate, converts energy to stake at the chain's live totals,
// prices it (pricing.h), asks the pools whether one could fill it, and stores the quote with its
// TTL. Leases take quotes through use(). Thread-safe; the daemon builds one and shares it with the
// API. Log-free.
//
// Errors (API mapping in api/errors.cc):
// - "invalid_request": not exactly one of energy / usdt_transfer, energy < 1, a duration out of
//   range, a usdt_transfer amount < 1, "arithmetic_overflow" for absurd amounts;
// - "energy_below_minimum" (422): an explicit energy under pricing.min_energy;
// - "account_is_contract" (422): the chain refuses to delegate to contracts;
// - "account_not_found" (422): the receiver is not activated and quote_inactive_receivers is off;
// - "estimate_reverted" (422): the USDT transfer would revert (the receiver lacks the amount, or
//   the token refuses it), so no energy figure exists; the message has the node's reason;
// - "not_found" (get/use): no such quote for this tenant; "conflict" (use): expired or taken;
// - "upstream_failed" / "chain_unavailable" from the node (also for totals that cannot be used);
//   store errors as the repositories return them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chain/tron_node.h"
#include "common/clock.h"
#include "energy/pool.h"
#include "energy/pricing.h"
#include "energy/quote.h"

namespace relay::energy {

struct UsdtTransferIntent {
  common::Address to;
  int64_t amount = 1;  // token base units; what is estimated hardly depends on it
};

// Exactly one of `energy` and `usdt_transfer`.
struct QuoteRequest {
  common::Address receiver;
  std::optional<common::Energy> energy;
  std::optional<UsdtTransferIntent> usdt_transfer;
  int64_t duration_s = 0;
};

struct QuoteView {
  Quote quote;
  QuoteState state = QuoteState::kOpen;
};

class QuoteService {
 public:
  // Chain parameters (fees) are read at most once per this long; a failed refresh keeps the
  // copy it has (parameters change only by committee proposal).
  static constexpr std::chrono::hours kParametersMaxAge{1};

  // `config` must pass validate_pricing (a programming error otherwise).
  QuoteService(QuoteRepository& quotes, PoolCapacityRepository& capacity, chain::TronNode& node,
               const common::Clock& clock, PricingConfig config = {});

  // Reads the chain (account, resources, and for usdt_transfer the estimate), prices, stores.
  // For a usdt_transfer, energy = the estimate minus the receiver's available energy, at least
  // pricing.min_energy. A receiver that does not exist is quoted with activation (the totals are
  // then read from pricing.usdt_contract's account).
  common::Result<Quote> create(int64_t tenant_id, const QuoteRequest& request);
  // "not_found" for a malformed id, an unknown one, or another tenant's.
  common::Result<QuoteView> get(int64_t tenant_id, const std::string& id);
  // For leases: the quote, taken for `reference` (QuoteRepository::mark_used).
  common::Result<Quote> use(int64_t tenant_id, const std::string& id, const std::string& reference);

  // SIGHUP: new prices for quotes made from now on; quotes already made keep theirs. "config"
  // errors (validate_pricing) leave the current config in place.
  common::Status set_config(PricingConfig config);
  PricingConfig config() const;

 private:
  common::Result<chain::ChainParameters> parameters();
  // An id nobody has, inserted: a collision of 64 random bits is retried, not reported.
  common::Status insert_with_fresh_id(Quote& quote);

  QuoteRepository& quotes_;
  PoolCapacityRepository& capacity_;
  chain::TronNode& node_;
  const common::Clock& clock_;

  mutable std::mutex mutex_;  // guards the two below
  std::shared_ptr<const PricingConfig> config_;
  std::optional<chain::ChainParameters> parameters_;
  common::TimePoint parameters_read_at_;
};

}  // namespace relay::energy
