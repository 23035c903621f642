#include "energy/pricing.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <limits>

namespace relay::energy {
namespace {

using common::Energy;
using common::make_error;
using common::Result;
using common::Sun;

constexpr int64_t kBpsScale = 10'000;
constexpr size_t kMaxTiers = 32;
// Bounds that only catch typos (an extra digit or three), not business limits.
constexpr int64_t kMaxSunPerEnergy = 1'000'000;
constexpr int64_t kMaxBandwidthBytes = 10'000;
constexpr int64_t kMaxQuoteTtlS = 3'600;

common::Error config_error(const std::string& key, const std::string& message) {
  return make_error("config", "pricing." + key + ": " + message);
}

common::Error overflow(const std::string& what) {
  return make_error("arithmetic_overflow", what + " does not fit in int64");
}

// a × b into `out`, false on overflow of 128 bits.
bool mul128(__int128 a, __int128 b, __int128& out) { return !__builtin_mul_overflow(a, b, &out); }

Result<int64_t> parse_int(std::string_view text, std::string_view what) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return config_error("tiers", std::string(what) + " '" + std::string(text) +
                                     "' is not an integer (write max_duration_s:sun_per_energy)");
  }
  return out;
}

}  // namespace

const common::Address& mainnet_usdt_contract() {
  static const common::Address address = [] {
    auto parsed = common::Address::from_base58("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    assert(parsed.ok());
    return *parsed;
  }();
  return address;
}

common::Status validate_pricing(const PricingConfig& c) {
  if (c.tiers.empty()) return config_error("tiers", "at least one tier is needed");
  if (c.tiers.size() > kMaxTiers) {
    return config_error("tiers", "at most " + std::to_string(kMaxTiers) + " tiers");
  }
  int64_t previous = 0;
  for (const auto& tier : c.tiers) {
    if (tier.max_duration_s <= previous) {
      return config_error("tiers", "max_duration_s must be positive and strictly ascending (" +
                                       std::to_string(tier.max_duration_s) + " after " +
                                       std::to_string(previous) + ")");
    }
    if (tier.sun_per_energy < 1 || tier.sun_per_energy > kMaxSunPerEnergy) {
      return config_error("tiers", "sun_per_energy must be 1.." + std::to_string(kMaxSunPerEnergy) +
                                       ", got " + std::to_string(tier.sun_per_energy));
    }
    previous = tier.max_duration_s;
  }
  if (c.min_energy < 1) return config_error("min_energy", "must be at least 1");
  if (c.min_duration_s < 1) return config_error("min_duration_s", "must be at least 1");
  if (c.max_duration_s < c.min_duration_s) {
    return config_error("max_duration_s", "must be at least min_duration_s (" +
                                              std::to_string(c.min_duration_s) + ")");
  }
  if (c.max_duration_s > c.tiers.back().max_duration_s) {
    return config_error("max_duration_s", "must be within the last tier (" +
                                              std::to_string(c.tiers.back().max_duration_s) +
                                              "), or longer leases would have no price");
  }
  if (c.stake_margin_bps < 0 || c.stake_margin_bps > kBpsScale) {
    return config_error("stake_margin_bps", "must be 0..10000");
  }
  if (c.bandwidth_bytes_per_delegation < 0 ||
      c.bandwidth_bytes_per_delegation > kMaxBandwidthBytes) {
    return config_error("bandwidth_bytes_per_delegation", "must be 0..10000");
  }
  if (c.bandwidth_bytes_per_reclaim < 0 || c.bandwidth_bytes_per_reclaim > kMaxBandwidthBytes) {
    return config_error("bandwidth_bytes_per_reclaim", "must be 0..10000");
  }
  if (c.activation_fee_sun && *c.activation_fee_sun < 0) {
    return config_error("activation_fee_sun", "must not be negative");
  }
  if (c.quote_ttl_s < 1 || c.quote_ttl_s > kMaxQuoteTtlS) {
    return config_error("quote_ttl_s", "must be 1.." + std::to_string(kMaxQuoteTtlS));
  }
  return {};
}

Result<std::vector<DurationTier>> parse_duration_tiers(std::string_view text) {
  std::vector<DurationTier> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return config_error("tiers", "'" + std::string(item) +
                                       "' is not max_duration_s:sun_per_energy (e.g. "
                                       "\"3600:60,86400:90\")");
    }
    DurationTier tier;
    RELAY_ASSIGN_OR_RETURN(tier.max_duration_s, parse_int(item.substr(0, colon), "duration"));
    RELAY_ASSIGN_OR_RETURN(tier.sun_per_energy, parse_int(item.substr(colon + 1), "price"));
    out.push_back(tier);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_duration_tiers(const std::vector<DurationTier>& tiers) {
  std::string out;
  for (const auto& tier : tiers) {
    if (!out.empty()) out += ',';
    out += std::to_string(tier.max_duration_s) + ":" + std::to_string(tier.sun_per_energy);
  }
  return out;
}

Result<Sun> stake_for_energy(Energy energy, int64_t total_energy_limit, int64_t total_energy_weight,
                             int64_t margin_bps) {
  if (energy.value() < 1) {
    return make_error("invalid_request", "energy must be positive, got " + energy.to_string());
  }
  if (margin_bps < 0 || margin_bps > kBpsScale) {
    return make_error("invalid_request",
                      "stake margin must be 0..10000 bps, got " + std::to_string(margin_bps));
  }
  // With no energy stake on chain java-tron gives stake no energy at all; a zero or negative total
  // can also only come from a node that answered badly. Either way nothing can be priced.
  if (total_energy_limit < 1 || total_energy_weight < 1) {
    return make_error("upstream_failed",
                      "the chain reports TotalEnergyLimit " + std::to_string(total_energy_limit) +
                          " and TotalEnergyWeight " + std::to_string(total_energy_weight) +
                          ": stake cannot be converted to energy");
  }
  // energy ≤ 2^63, weight ≤ 2^63, 10^6 < 2^20, 20,000 < 2^15: the product can pass 2^127, so
  // every step is checked.
  __int128 numerator = energy.value();
  if (!mul128(numerator, total_energy_weight, numerator) ||
      !mul128(numerator, common::kSunPerTrx, numerator) ||
      !mul128(numerator, kBpsScale + margin_bps, numerator)) {
    return overflow("the stake for " + energy.to_string());
  }
  const __int128 denominator = static_cast<__int128>(total_energy_limit) * kBpsScale;
  // Rounded up: rounding down would deliver less energy than sold.
  const __int128 stake = numerator / denominator + (numerator % denominator != 0 ? 1 : 0);
  if (stake > std::numeric_limits<int64_t>::max()) {
    return overflow("the stake for " + energy.to_string());
  }
  return Sun(std::max<int64_t>(static_cast<int64_t>(stake), common::kSunPerTrx));
}

ChainFees chain_fees(const PricingConfig& config, const chain::ChainParameters& parameters) {
  ChainFees fees;
  fees.transaction_fee_sun_per_byte = std::max<int64_t>(parameters.transaction_fee(), 0);
  if (config.activation_fee_sun) {
    fees.activation_sun = *config.activation_fee_sun;
  } else {
    // AccountCreate burns the system-contract fee, and getCreateAccountFee for its bandwidth
    // when the payer has no staked bandwidth (PROTOCOL.md §4.7): priced as the worst case.
    fees.activation_sun =
        std::max<int64_t>(parameters.create_new_account_fee_in_system_contract(), 0) +
        std::max<int64_t>(parameters.create_account_fee(), 0);
  }
  return fees;
}

Result<int64_t> unit_price_for(const PricingConfig& config, int64_t duration_s) {
  if (duration_s < config.min_duration_s || duration_s > config.max_duration_s) {
    return make_error("invalid_request", "duration_s must be " +
                                             std::to_string(config.min_duration_s) + ".." +
                                             std::to_string(config.max_duration_s) + ", got " +
                                             std::to_string(duration_s));
  }
  for (const auto& tier : config.tiers) {
    if (duration_s <= tier.max_duration_s) return tier.sun_per_energy;
  }
  // validate_pricing keeps max_duration_s within the last tier.
  return make_error("invalid_request",
                    "no price tier for duration_s " + std::to_string(duration_s));
}

Result<PriceBreakdown> price(const PricingConfig& config, Energy energy, int64_t duration_s,
                             bool activation_required, const ChainFees& fees) {
  if (energy.value() < 1) {
    return make_error("invalid_request", "energy must be positive, got " + energy.to_string());
  }
  if (energy.value() < config.min_energy) {
    return make_error("energy_below_minimum", "the minimum order is " +
                                                  std::to_string(config.min_energy) +
                                                  " energy, got " + energy.to_string());
  }
  PriceBreakdown out;
  RELAY_ASSIGN_OR_RETURN(out.unit_price_sun_per_energy, unit_price_for(config, duration_s));
  int64_t energy_sun = 0;
  if (__builtin_mul_overflow(energy.value(), out.unit_price_sun_per_energy, &energy_sun)) {
    return overflow("the price of " + energy.to_string());
  }
  out.energy_sun = Sun(energy_sun);
  if (config.charge_bandwidth) {
    const int64_t bytes =
        config.bandwidth_bytes_per_delegation + config.bandwidth_bytes_per_reclaim;
    RELAY_ASSIGN_OR_RETURN(out.bandwidth_sun,
                           Sun(fees.transaction_fee_sun_per_byte).checked_mul(bytes));
  }
  if (activation_required) out.activation_sun = Sun(fees.activation_sun);
  RELAY_ASSIGN_OR_RETURN(Sun subtotal, out.energy_sun.checked_add(out.bandwidth_sun));
  RELAY_ASSIGN_OR_RETURN(out.total_sun, subtotal.checked_add(out.activation_sun));
  return out;
}

}  // namespace relay::energy
