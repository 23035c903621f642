#include "energy/pricing.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace relay::energy {
namespace {

using common::Energy;
using common::Sun;

// Mainnet-like totals (getaccountresource, 2025): TotalEnergyLimit 180 billion energy, and about
// 19 billion TRX staked for energy.
constexpr int64_t kMainnetLimit = 180'000'000'000;
constexpr int64_t kMainnetWeight = 19'000'000'000;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int64_t stake(int64_t energy, int64_t limit, int64_t weight, int64_t margin_bps) {
  auto out = stake_for_energy(Energy(energy), limit, weight, margin_bps);
  EXPECT_TRUE(out.ok()) << out.error().message;
  return out.ok() ? out->value() : -1;
}

std::string stake_error(int64_t energy, int64_t limit, int64_t weight, int64_t margin_bps) {
  auto out = stake_for_energy(Energy(energy), limit, weight, margin_bps);
  return out.ok() ? "ok" : out.error().code;
}

ChainFees mainnet_fees() {
  chain::ChainParameters params;
  params.values = {{"getTransactionFee", 1'000},
                   {"getCreateAccountFee", 100'000},
                   {"getCreateNewAccountFeeInSystemContract", 1'000'000}};
  return chain_fees(PricingConfig{}, params);
}

// ---- stake_for_energy

TEST(StakeForEnergyTest, MainnetUsdtTransferRoundsUp) {
  // 65,000 × 19e9 × 1e6 / 180e9 = 6,861,111,111.1 sun: one more sun, never one less.
  EXPECT_EQ(stake(65'000, kMainnetLimit, kMainnetWeight, 0), 6'861'111'112);
  // With the default 2 %: × 1.02 = 6,998,333,333.3 → ceil.
  EXPECT_EQ(stake(65'000, kMainnetLimit, kMainnetWeight, 200), 6'998'333'334);
  EXPECT_EQ(stake(32'000, kMainnetLimit, kMainnetWeight, 200), 3'445'333'334);
}

TEST(StakeForEnergyTest, ExactQuotientsAreNotRoundedUp) {
  // One TRX per energy unit when limit == weight.
  EXPECT_EQ(stake(32'000, 1'000, 1'000, 0), 32'000'000'000);
  // 10 × 1e6 / 3 = 3,333,333.3 → 3,333,334.
  EXPECT_EQ(stake(10, 3, 1, 0), 3'333'334);
  // The margin is applied before rounding, in one division: 10 × 1e6 × 1.0001 / 3 → ceil.
  EXPECT_EQ(stake(10, 3, 1, 1), 3'333'667);
}

TEST(StakeForEnergyTest, NeverBelowOneTrx) {
  // 1 energy at mainnet totals is worth about 106 sun of stake; the chain delegates ≥ 1 TRX.
  EXPECT_EQ(stake(1, kMainnetLimit, kMainnetWeight, 200), 1'000'000);
  EXPECT_EQ(stake(9'000, kMainnetLimit, kMainnetWeight, 0), 950'000'000);
  EXPECT_EQ(stake(1, 1'000'000'000, 1, 0), 1'000'000);
}

TEST(StakeForEnergyTest, TinyTotals) {
  // A fresh devnet: 1 TRX staked, limit 1 → each energy unit needs 1 TRX (+ margin).
  EXPECT_EQ(stake(1, 1, 1, 200), 1'020'000);
  EXPECT_EQ(stake(32'000, 1, 1, 0), 32'000'000'000);
}

TEST(StakeForEnergyTest, ZeroOrNegativeTotalsCannotBePriced) {
  EXPECT_EQ(stake_error(65'000, kMainnetLimit, 0, 200), "upstream_failed");
  EXPECT_EQ(stake_error(65'000, 0, kMainnetWeight, 200), "upstream_failed");
  EXPECT_EQ(stake_error(65'000, -1, kMainnetWeight, 200), "upstream_failed");
  EXPECT_EQ(stake_error(65'000, kMainnetLimit, -5, 200), "upstream_failed");
}

TEST(StakeForEnergyTest, BadArgumentsAreRefused) {
  EXPECT_EQ(stake_error(0, kMainnetLimit, kMainnetWeight, 200), "invalid_request");
  EXPECT_EQ(stake_error(-65'000, kMainnetLimit, kMainnetWeight, 200), "invalid_request");
  EXPECT_EQ(stake_error(65'000, kMainnetLimit, kMainnetWeight, -1), "invalid_request");
  EXPECT_EQ(stake_error(65'000, kMainnetLimit, kMainnetWeight, 10'001), "invalid_request");
  EXPECT_EQ(stake(65'000, kMainnetLimit, kMainnetWeight, 10'000), 2 * 6'861'111'112 - 1);
}

TEST(StakeForEnergyTest, OverflowIsAnErrorNotAWrap) {
  // The 128-bit product itself overflows.
  EXPECT_EQ(stake_error(kInt64Max, kMainnetLimit, kInt64Max, 200), "arithmetic_overflow");
  // The product fits 128 bits, the stake does not fit int64 sun.
  EXPECT_EQ(stake_error(1'000'000'000'000, 1, 1'000'000'000, 0), "arithmetic_overflow");
  EXPECT_EQ(stake_error(kInt64Max, 1, 1, 0), "arithmetic_overflow");
  // Just inside: 9,223,372,036,854 energy at limit == weight is 9.22e18 sun.
  EXPECT_EQ(stake(9'223'372'036'854, 1'000, 1'000, 0), 9'223'372'036'854'000'000);
  EXPECT_EQ(stake_error(9'223'372'036'855, 1'000, 1'000, 0), "arithmetic_overflow");
}

// Checked in exact integers: stake × limit ≥ energy × weight × 1e6 (enough), and one sun less
// would not be (the least such stake), whenever the 1 TRX floor does not decide.
TEST(StakeForEnergyTest, RandomTotalsGiveTheLeastSufficientStake) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 20'000; ++i) {
    const int64_t energy = 1 + static_cast<int64_t>(rng() % 50'000'000);
    const int64_t limit = 1 + static_cast<int64_t>(rng() % 200'000'000'000);
    const int64_t weight = 1 + static_cast<int64_t>(rng() % 40'000'000'000);
    const int64_t got = stake(energy, limit, weight, 0);
    if (got < 0) return;
    const __int128 need = static_cast<__int128>(energy) * weight * common::kSunPerTrx;
    ASSERT_GE(static_cast<__int128>(got) * limit, need) << energy << " " << limit << " " << weight;
    if (got > common::kSunPerTrx) {
      ASSERT_LT(static_cast<__int128>(got - 1) * limit, need);
    }
  }
}

// java-tron computes the receiver's energy in double: (long)(stake / 1e6 × (limit / weight)). The
// default margin keeps that at or above what was sold. (A test of the chain's formula, not of ours:
// no double is used in pricing.)
TEST(StakeForEnergyTest, DefaultMarginCoversTheChainsDoubleRounding) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20'000; ++i) {
    const int64_t energy = 32'000 + static_cast<int64_t>(rng() % 10'000'000);
    const int64_t limit = 50'000'000'000 + static_cast<int64_t>(rng() % 150'000'000'000);
    const int64_t weight = 1'000'000'000 + static_cast<int64_t>(rng() % 30'000'000'000);
    const int64_t got = stake(energy, limit, weight, PricingConfig{}.stake_margin_bps);
    const auto delivered = static_cast<int64_t>(static_cast<double>(got) / 1e6 *
                                                (static_cast<double>(limit) / weight));
    ASSERT_GE(delivered, energy) << energy << " " << limit << " " << weight;
  }
}

// ---- price

TEST(PriceTest, DefaultsAreUnderTheBurnPriceForShortLeases) {
  PricingConfig config;
  ASSERT_TRUE(validate_pricing(config).ok());
  const int64_t burn = chain::ChainParameters{}.energy_fee();  // 100 sun per energy
  EXPECT_LT(*unit_price_for(config, 3'600), burn);
  EXPECT_LT(*unit_price_for(config, 86'400), burn);
  EXPECT_EQ(config.min_energy, 32'000);
  EXPECT_EQ(config.quote_ttl_s, 30);
  EXPECT_EQ(config.usdt_contract.to_base58(), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
}

TEST(PriceTest, MainnetUsdtTransferForAnHour) {
  auto p = price(PricingConfig{}, Energy(65'000), 3'600, false, mainnet_fees());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->unit_price_sun_per_energy, 60);
  EXPECT_EQ(p->energy_sun, Sun(3'900'000));
  // (280 + 282) bytes × 1,000 sun.
  EXPECT_EQ(p->bandwidth_sun, Sun(562'000));
  EXPECT_EQ(p->activation_sun, Sun(0));
  EXPECT_EQ(p->total_sun, Sun(4'462'000));
}

TEST(PriceTest, ActivationFromChainParametersOrConfig) {
  auto p = price(PricingConfig{}, Energy(65'000), 3'600, true, mainnet_fees());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->activation_sun, Sun(1'100'000));
  EXPECT_EQ(p->total_sun, Sun(5'562'000));

  PricingConfig fixed;
  fixed.activation_fee_sun = 1'500'000;
  chain::ChainParameters params;
  params.values = {{"getTransactionFee", 1'000}};
  ChainFees fees = chain_fees(fixed, params);
  EXPECT_EQ(fees.activation_sun, 1'500'000);
  EXPECT_EQ(price(fixed, Energy(65'000), 3'600, true, fees)->activation_sun, Sun(1'500'000));
  // Code defaults (a devnet): 0 + 100,000.
  EXPECT_EQ(chain_fees(PricingConfig{}, chain::ChainParameters{}).activation_sun, 100'000);
  EXPECT_EQ(chain_fees(PricingConfig{}, chain::ChainParameters{}).transaction_fee_sun_per_byte, 10);
}

TEST(PriceTest, BandwidthOnlyWhenCharged) {
  PricingConfig config;
  config.charge_bandwidth = false;
  auto p = price(config, Energy(40'000), 7'200, false, mainnet_fees());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->bandwidth_sun, Sun(0));
  EXPECT_EQ(p->total_sun, Sun(40'000 * 90));
}

TEST(PriceTest, TierBoundariesAreInclusive) {
  PricingConfig config;
  const std::pair<int64_t, int64_t> cases[] = {{300, 60},    {3'600, 60},   {3'601, 90},
                                               {86'400, 90}, {86'401, 110}, {259'200, 110}};
  for (auto [duration, unit] : cases) {
    auto p = unit_price_for(config, duration);
    ASSERT_TRUE(p.ok()) << duration;
    EXPECT_EQ(*p, unit) << duration;
  }
  for (int64_t duration : {int64_t{299}, int64_t{0}, int64_t{-1}, int64_t{259'201}, kInt64Max}) {
    auto p = price(config, Energy(65'000), duration, false, mainnet_fees());
    ASSERT_FALSE(p.ok()) << duration;
    EXPECT_EQ(p.error().code, "invalid_request") << duration;
  }
}

TEST(PriceTest, MinimumOrder) {
  PricingConfig config;
  auto below = price(config, Energy(31'999), 3'600, false, mainnet_fees());
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code, "energy_below_minimum");
  EXPECT_TRUE(price(config, Energy(32'000), 3'600, false, mainnet_fees()).ok());
  EXPECT_EQ(price(config, Energy(0), 3'600, false, mainnet_fees()).error().code, "invalid_request");
  EXPECT_EQ(price(config, Energy(-5), 3'600, false, mainnet_fees()).error().code,
            "invalid_request");
}

TEST(PriceTest, OverflowIsAnError) {
  PricingConfig config;
  auto p = price(config, Energy(kInt64Max / 100), 86'401, false, mainnet_fees());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "arithmetic_overflow");
  // The energy part fits; adding bandwidth does not.
  ChainFees fees = mainnet_fees();
  auto near = price(config, Energy(kInt64Max / 60), 3'600, false, fees);
  ASSERT_FALSE(near.ok());
  EXPECT_EQ(near.error().code, "arithmetic_overflow");
  fees.transaction_fee_sun_per_byte = kInt64Max / 2;
  EXPECT_EQ(price(config, Energy(65'000), 3'600, false, fees).error().code, "arithmetic_overflow");
}

// ---- config

TEST(PricingConfigTest, ValidationNamesTheKey) {
  auto refused = [](auto change) {
    PricingConfig c;
    change(c);
    auto status = validate_pricing(c);
    return status.ok() ? std::string("ok") : status.error().code + " " + status.error().message;
  };
  EXPECT_EQ(refused([](PricingConfig&) {}), "ok");
  EXPECT_NE(refused([](PricingConfig& c) { c.tiers.clear(); }).find("config pricing.tiers"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) {
              c.tiers = {{3'600, 60}, {3'600, 90}};
            }).find("pricing.tiers: max_duration_s must be positive and strictly ascending"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) { c.tiers[0].sun_per_energy = 0; }).find("pricing.tiers"),
            std::string::npos);
  EXPECT_NE(
      refused([](PricingConfig& c) { c.max_duration_s = 259'201; }).find("pricing.max_duration_s"),
      std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) { c.min_duration_s = 0; }).find("pricing.min_duration_s"),
            std::string::npos);
  EXPECT_NE(
      refused([](PricingConfig& c) { c.max_duration_s = 200; }).find("pricing.max_duration_s"),
      std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) { c.min_energy = 0; }).find("pricing.min_energy"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) {
              c.stake_margin_bps = 10'001;
            }).find("pricing.stake_margin_bps"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) {
              c.bandwidth_bytes_per_reclaim = -1;
            }).find("pricing.bandwidth_bytes_per_reclaim"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) {
              c.activation_fee_sun = -1;
            }).find("pricing.activation_fee_sun"),
            std::string::npos);
  EXPECT_NE(refused([](PricingConfig& c) { c.quote_ttl_s = 0; }).find("pricing.quote_ttl_s"),
            std::string::npos);
  // The demo's settings.
  EXPECT_EQ(refused([](PricingConfig& c) {
              c.min_duration_s = 30;
              c.tiers = {{600, 50}, {3'600, 60}};
              c.max_duration_s = 3'600;
            }),
            "ok");
}

TEST(PricingConfigTest, TiersParseAndFormat) {
  auto tiers = parse_duration_tiers("3600:60,86400:90,259200:110");
  ASSERT_TRUE(tiers.ok()) << tiers.error().message;
  EXPECT_EQ(*tiers, PricingConfig{}.tiers);
  EXPECT_EQ(format_duration_tiers(*tiers), "3600:60,86400:90,259200:110");
  auto spaced = parse_duration_tiers(" 600:50 , 3600:60 ");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(*spaced, (std::vector<DurationTier>{{600, 50}, {3'600, 60}}));
  for (const char* bad :
       {"", "3600", "a:b", "3600:60,", "3600:6.5", "3600:60;86400:90", "99999999999999999999:1"}) {
    auto parsed = parse_duration_tiers(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, "config") << bad;
    EXPECT_NE(parsed.error().message.find("pricing.tiers"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace relay::energy
