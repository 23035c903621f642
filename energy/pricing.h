// Pricing: what tronrelay charges for energy and how much stake a lease needs, from the operator's
// [pricing] settings and the chain's live numbers. Pure functions over integers (no I/O, no
// floating point): QuoteService feeds them what it read on chain, leases re-use them.
//
// Defaults, and why:
// - Unit prices by duration tier, in sun per energy unit: ≤ 1 h 60, ≤ 1 day 90, ≤ 3 days 110.
//   Burning energy costs getEnergyFee = 100 sun per unit on mainnet (PROTOCOL.md §4.9), so a
//   short rental must stay well under it to be worth buying; a longer lease may cost more per unit
//   because stake recovers its energy every 24 h, so the receiver can use it again each day.
// - min_energy 32,000: below roughly half a USDT transfer (≈ 64,285) the fixed costs (bandwidth of
//   the delegation and the reclaim, a job) outweigh the sale.
// - Durations 300 s .. 3 days (the last tier). A demo config lowers min_duration_s to 30.
// - stake_margin_bps 200 (2 %): TotalEnergyWeight moves every block; the margin keeps the energy
//   delivered at or above the amount sold until the lease is delegated, and covers java-tron's
//   double rounding of the energy limit (PROTOCOL.md §4.1).
// - Bandwidth: the delegation (280 bytes with Permission_id) and the reclaim (282 bytes) at
//   getTransactionFee sun per byte, the burn price a pool without staked bandwidth pays; charged
//   unless charge_bandwidth is false.
// - Activation: what the chain burns to create an account, getCreateNewAccountFeeInSystemContract
//   + getCreateAccountFee (≈ 1.1 TRX on mainnet, PROTOCOL.md §4.7), unless activation_fee_sun fixes
//   it.
// - quote_ttl_s 30 (DESIGN.md §3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/tron_node.h"
#include "common/address.h"
#include "common/result.h"
#include "common/units.h"

namespace relay::energy {

// Leases up to `max_duration_s` (inclusive) cost `sun_per_energy` per energy unit.
struct DurationTier {
  int64_t max_duration_s = 0;
  int64_t sun_per_energy = 0;

  bool operator==(const DurationTier&) const = default;
};

// The mainnet USDT (TRC20) contract, TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t; tron-devnet runs its own
// at the same address.
const common::Address& mainnet_usdt_contract();

struct PricingConfig {
  // Ascending by max_duration_s; a duration takes the first tier that holds it.
  std::vector<DurationTier> tiers = {{3'600, 60}, {86'400, 90}, {259'200, 110}};
  int64_t min_energy = 32'000;
  int64_t min_duration_s = 300;
  int64_t max_duration_s = 259'200;  // at most the last tier's max_duration_s
  int64_t stake_margin_bps = 200;    // added to the stake, in 1/10,000
  bool charge_bandwidth = true;
  int64_t bandwidth_bytes_per_delegation = 280;  // DelegateResource with Permission_id
  int64_t bandwidth_bytes_per_reclaim = 282;     // UnDelegateResource
  // Fixed activation price; empty: what the chain's parameters say activation burns.
  std::optional<int64_t> activation_fee_sun;
  // Receivers that are not activated yet: quoted with activation (true), or refused with
  // "account_not_found" (false).
  bool quote_inactive_receivers = true;
  int64_t quote_ttl_s = 30;
  // The token `usdt_transfer` intents are estimated against. Its account also gives the chain's
  // totals when the receiver is not activated (getaccountresource answers {} for those).
  common::Address usdt_contract = mainnet_usdt_contract();
  // Reserved for the provider comparison (providers come later): quotes will show the best
  // provider's price beside ours when set. Ignored today.
  bool compare_providers = false;
};

// "config" errors naming the key ("pricing.tiers: …"), for the daemon to refuse a bad file.
common::Status validate_pricing(const PricingConfig& config);

// "3600:60,86400:90,259200:110" ⇄ tiers (how [pricing] tiers is written in TOML and in
// TRONRELAY_PRICING_TIERS). Parsing checks the syntax only; validate_pricing checks the order.
common::Result<std::vector<DurationTier>> parse_duration_tiers(std::string_view text);
std::string format_duration_tiers(const std::vector<DurationTier>& tiers);

// Stake to delegate so that the receiver gets at least `energy`:
//   ceil(energy × total_energy_weight × 1,000,000 × (10,000 + margin_bps)
//        / (total_energy_limit × 10,000)) sun, and at least 1 TRX (the chain's minimum delegation).
// total_energy_weight is in whole TRX, as getaccountresource reports it. Computed in 128 bits.
// Errors: "invalid_request" for energy < 1 or a margin outside 0..10,000; "upstream_failed" when
// the chain's totals are not positive (no stake exists, or the node answered nonsense);
// "arithmetic_overflow" when the stake does not fit in int64 sun.
common::Result<common::Sun> stake_for_energy(common::Energy energy, int64_t total_energy_limit,
                                             int64_t total_energy_weight, int64_t margin_bps);

// What the chain charges that a price passes on to the tenant.
struct ChainFees {
  int64_t transaction_fee_sun_per_byte = 0;  // getTransactionFee
  int64_t activation_sun = 0;                // burned to create an account
};
// From the chain's parameters, with config's activation_fee_sun in place of the chain's when set.
ChainFees chain_fees(const PricingConfig& config, const chain::ChainParameters& parameters);

struct PriceBreakdown {
  int64_t unit_price_sun_per_energy = 0;
  common::Sun energy_sun;      // energy × unit price
  common::Sun bandwidth_sun;   // (delegation + reclaim bytes) × getTransactionFee, or 0
  common::Sun activation_sun;  // 0 unless activation is required
  common::Sun total_sun;

  bool operator==(const PriceBreakdown&) const = default;
};

// The unit price for a duration: "invalid_request" outside min_duration_s..max_duration_s.
common::Result<int64_t> unit_price_for(const PricingConfig& config, int64_t duration_s);

// The price of `energy` for `duration_s`. Errors: "invalid_request" for energy < 1 or a duration
// out of range; "energy_below_minimum" below config.min_energy; "arithmetic_overflow".
common::Result<PriceBreakdown> price(const PricingConfig& config, common::Energy energy,
                                     int64_t duration_s, bool activation_required,
                                     const ChainFees& fees);

}  // namespace relay::energy
