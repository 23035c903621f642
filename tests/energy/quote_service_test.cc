#include "energy/quote_service.h"

#include <gtest/gtest.h>

#include "chain/abi.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_quotes.h"
#include "tests/support/fake_tron_node.h"

namespace relay::energy {
namespace {

using common::Address;
using common::Energy;
using common::Sun;
using std::chrono::seconds;

constexpr int64_t kTenant = 7;
constexpr int64_t kOtherTenant = 8;
constexpr int64_t kLimit = 180'000'000'000;
constexpr int64_t kWeight = 19'000'000'000;
// 65,000 energy at the totals above with the default 2 % margin.
constexpr int64_t kStake65k = 6'998'333'334;

Address address_of(uint8_t fill) { return Address::from_id20(common::Bytes(20, fill)); }

class QuoteServiceTest : public ::testing::Test {
 protected:
  QuoteServiceTest()
      : clock_(common::ManualClock::at_ms(1'700'000'000'000)),
        pools_(clock_),
        service_(quotes_, pools_, node_, clock_) {
    node_.put_account(testing::make_account(receiver_, 5'000'000));
    set_receiver_energy(0, 0);
    // The USDT contract's account: where the totals come from for receivers not yet activated.
    chain::AccountResources totals;
    totals.total_energy_limit = kLimit;
    totals.total_energy_weight = kWeight;
    node_.set_resources(mainnet_usdt_contract(), totals);
    node_.set_parameter("getTransactionFee", 1'000);
    node_.set_parameter("getCreateAccountFee", 100'000);
    node_.set_parameter("getCreateNewAccountFeeInSystemContract", 1'000'000);
  }

  void set_receiver_energy(int64_t limit, int64_t used) {
    chain::AccountResources r;
    r.energy_limit = limit;
    r.energy_used = used;
    r.total_energy_limit = kLimit;
    r.total_energy_weight = kWeight;
    node_.set_resources(receiver_, r);
  }

  // An active pool that can delegate `delegatable` sun.
  int64_t add_pool(int64_t delegatable, PoolStatus status = PoolStatus::kActive) {
    NewPool p;
    p.tenant_id = 1;
    p.address = address_of(static_cast<uint8_t>(0x70 + ++pools_made_));
    p.kind = PoolKind::kOwn;
    p.name = "pool";
    p.status = status;
    const int64_t id = pools_.create(p)->id;
    PoolSnapshot s;
    s.observed_at = clock_.now();
    s.staked_energy_sun = delegatable;
    s.delegatable_sun = delegatable;
    EXPECT_TRUE(pools_.record_snapshot(id, s).ok());
    return id;
  }

  QuoteRequest energy_request(int64_t energy, int64_t duration_s = 3'600) {
    QuoteRequest r;
    r.receiver = receiver_;
    r.energy = Energy(energy);
    r.duration_s = duration_s;
    return r;
  }

  QuoteRequest usdt_request(int64_t amount = 1, int64_t duration_s = 3'600) {
    QuoteRequest r;
    r.receiver = receiver_;
    r.usdt_transfer = UsdtTransferIntent{.to = recipient_, .amount = amount};
    r.duration_s = duration_s;
    return r;
  }

  std::string error_of(const QuoteRequest& request) {
    auto quote = service_.create(kTenant, request);
    return quote.ok() ? "ok" : quote.error().code;
  }

  int chain_calls() {
    return node_.calls("account") + node_.calls("account_resources") +
           node_.calls("estimate_energy") + node_.calls("chain_parameters");
  }

  common::ManualClock clock_;
  testing::FakeTronNode node_;
  testing::FakeQuotes quotes_;
  testing::FakePools pools_;
  QuoteService service_;
  Address receiver_ = address_of(0x11);
  Address recipient_ = address_of(0x22);
  int pools_made_ = 0;
};

TEST_F(QuoteServiceTest, EnergyQuoteIsPricedAtLiveTotalsAndStored) {
  add_pool(10'000'000'000);
  auto quote = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  EXPECT_TRUE(is_quote_id(quote->id)) << quote->id;
  EXPECT_EQ(quote->tenant_id, kTenant);
  EXPECT_EQ(quote->receiver, receiver_);
  EXPECT_EQ(quote->energy, Energy(65'000));
  EXPECT_EQ(quote->duration_s, 3'600);
  EXPECT_EQ(quote->stake_sun, Sun(kStake65k));
  EXPECT_EQ(quote->price.unit_price_sun_per_energy, 60);
  EXPECT_EQ(quote->price.energy_sun, Sun(3'900'000));
  EXPECT_EQ(quote->price.bandwidth_sun, Sun(562'000));
  EXPECT_EQ(quote->price.activation_sun, Sun(0));
  EXPECT_EQ(quote->price.total_sun, Sun(4'462'000));
  EXPECT_FALSE(quote->activation_required);
  EXPECT_TRUE(quote->fillable);
  EXPECT_EQ(quote->total_energy_limit, kLimit);
  EXPECT_EQ(quote->total_energy_weight, kWeight);
  EXPECT_FALSE(quote->usdt_transfer.has_value());
  EXPECT_EQ(quote->created_at, clock_.now());
  EXPECT_EQ(quote->expires_at, clock_.now() + seconds(30));
  EXPECT_FALSE(quote->used_at.has_value());
  EXPECT_EQ(node_.calls("estimate_energy"), 0);

  auto stored = quotes_.find(quote->id, kTenant);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->price, quote->price);
  EXPECT_EQ((*stored)->stake_sun, quote->stake_sun);
}

TEST_F(QuoteServiceTest, QuoteIdsDiffer) {
  auto a = service_.create(kTenant, energy_request(65'000));
  auto b = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(quotes_.size(), 2u);
}

TEST_F(QuoteServiceTest, FillableOnlyWhenOneActivePoolHasTheStakeFree) {
  EXPECT_FALSE(service_.create(kTenant, energy_request(65'000))->fillable);  // no pools
  add_pool(kStake65k - 1);
  add_pool(10'000'000'000, PoolStatus::kSuspended);
  add_pool(10'000'000'000, PoolStatus::kDisabled);
  // Two pools of half each would not do: one delegation comes from one pool.
  add_pool(kStake65k / 2 + 1);
  EXPECT_FALSE(service_.create(kTenant, energy_request(65'000))->fillable);
  const int64_t exact = add_pool(kStake65k);
  EXPECT_TRUE(service_.create(kTenant, energy_request(65'000))->fillable);
  // Reserved stake is not free.
  ASSERT_TRUE(pools_.reserve(exact, 1'000'000, "lease:1", clock_.now()).ok());
  EXPECT_FALSE(service_.create(kTenant, energy_request(65'000))->fillable);
}

TEST_F(QuoteServiceTest, UsdtTransferIsEstimatedForTheReceiverMinusWhatItHas) {
  node_.set_energy_estimate({.success = true, .energy_used = 130'285, .message = ""});
  set_receiver_energy(50'000, 10'000);
  auto quote = service_.create(kTenant, usdt_request(2'500'000));
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  EXPECT_EQ(quote->energy, Energy(130'285 - 40'000));
  ASSERT_TRUE(quote->usdt_transfer.has_value());
  EXPECT_EQ(quote->usdt_transfer->to, recipient_);
  EXPECT_EQ(quote->usdt_transfer->amount, 2'500'000);
  EXPECT_EQ(quote->usdt_transfer->energy_required, 130'285);
  EXPECT_EQ(quote->usdt_transfer->receiver_available, 40'000);
  EXPECT_EQ(quote->price.energy_sun, Sun(90'285 * 60));

  auto calls = node_.estimate_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].owner, receiver_);  // the receiver is who will send the transfer
  EXPECT_EQ(calls[0].contract, mainnet_usdt_contract());
  EXPECT_EQ(calls[0].data,
            chain::encode_trc20_transfer(recipient_, chain::Uint256::from_u64(2'500'000)));
}

TEST_F(QuoteServiceTest, UsdtTransferDefaultsToOneUnitAndAConfiguredToken) {
  PricingConfig config;
  config.usdt_contract = address_of(0x55);
  ASSERT_TRUE(service_.set_config(config).ok());
  QuoteRequest request = usdt_request();
  request.usdt_transfer = UsdtTransferIntent{.to = recipient_};
  ASSERT_TRUE(service_.create(kTenant, request).ok());
  auto calls = node_.estimate_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].contract, address_of(0x55));
  EXPECT_EQ(calls[0].data, chain::encode_trc20_transfer(recipient_, chain::Uint256::from_u64(1)));
}

TEST_F(QuoteServiceTest, UsdtTransferNeedIsFlooredAtTheMinimumOrder) {
  node_.set_energy_estimate({.success = true, .energy_used = 64'285, .message = ""});
  set_receiver_energy(60'000, 0);
  EXPECT_EQ(service_.create(kTenant, usdt_request())->energy, Energy(32'000));
  set_receiver_energy(200'000, 0);  // it has more than enough already
  auto quote = service_.create(kTenant, usdt_request());
  ASSERT_TRUE(quote.ok());
  EXPECT_EQ(quote->energy, Energy(32'000));
  EXPECT_EQ(quote->usdt_transfer->receiver_available, 200'000);
  // Usage above the limit (stake delegated to it was withdrawn) means nothing is available.
  set_receiver_energy(10'000, 30'000);
  quote = service_.create(kTenant, usdt_request());
  ASSERT_TRUE(quote.ok());
  EXPECT_EQ(quote->usdt_transfer->receiver_available, 0);
  EXPECT_EQ(quote->energy, Energy(64'285));
}

TEST_F(QuoteServiceTest, RevertingTransferHasNoEnergyFigure) {
  node_.set_energy_estimate(
      {.success = false, .energy_used = 0, .message = "REVERT opcode executed"});
  auto quote = service_.create(kTenant, usdt_request(1'000'000'000));
  ASSERT_FALSE(quote.ok());
  EXPECT_EQ(quote.error().code, "estimate_reverted");
  EXPECT_NE(quote.error().message.find("REVERT opcode executed"), std::string::npos);
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteServiceTest, InactiveReceiverIsQuotedWithActivation) {
  const Address fresh = address_of(0x33);
  QuoteRequest request = energy_request(65'000);
  request.receiver = fresh;
  auto quote = service_.create(kTenant, request);
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  EXPECT_TRUE(quote->activation_required);
  EXPECT_EQ(quote->price.activation_sun, Sun(1'100'000));
  EXPECT_EQ(quote->price.total_sun, Sun(4'462'000 + 1'100'000));
  // Totals from the token's account: getaccountresource answers {} for the receiver.
  EXPECT_EQ(quote->total_energy_limit, kLimit);
  EXPECT_EQ(quote->stake_sun, Sun(kStake65k));

  // A new wallet may hold USDT (TRC20 transfers do not activate) and want to send it.
  QuoteRequest usdt = usdt_request();
  usdt.receiver = fresh;
  auto intent = service_.create(kTenant, usdt);
  ASSERT_TRUE(intent.ok()) << intent.error().message;
  EXPECT_TRUE(intent->activation_required);
  EXPECT_EQ(intent->usdt_transfer->receiver_available, 0);
  EXPECT_EQ(intent->energy, Energy(64'285));
}

TEST_F(QuoteServiceTest, InactiveReceiverRefusedWhenConfigured) {
  PricingConfig config;
  config.quote_inactive_receivers = false;
  ASSERT_TRUE(service_.set_config(config).ok());
  QuoteRequest request = energy_request(65'000);
  request.receiver = address_of(0x33);
  EXPECT_EQ(error_of(request), "account_not_found");
}

TEST_F(QuoteServiceTest, ContractReceiverIsRefused) {
  auto contract = testing::make_account(address_of(0x44), 0);
  contract.is_contract = true;
  node_.put_account(contract);
  QuoteRequest request = energy_request(65'000);
  request.receiver = contract.address;
  EXPECT_EQ(error_of(request), "account_is_contract");
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteServiceTest, BadRequestsAreRefusedBeforeAnyChainRead) {
  QuoteRequest neither = energy_request(65'000);
  neither.energy.reset();
  EXPECT_EQ(error_of(neither), "invalid_request");
  QuoteRequest both = usdt_request();
  both.energy = Energy(65'000);
  EXPECT_EQ(error_of(both), "invalid_request");
  EXPECT_EQ(error_of(energy_request(31'999)), "energy_below_minimum");
  EXPECT_EQ(error_of(energy_request(0)), "invalid_request");
  EXPECT_EQ(error_of(energy_request(-65'000)), "invalid_request");
  EXPECT_EQ(error_of(energy_request(65'000, 299)), "invalid_request");
  EXPECT_EQ(error_of(energy_request(65'000, 259'201)), "invalid_request");
  EXPECT_EQ(error_of(usdt_request(0)), "invalid_request");
  EXPECT_EQ(chain_calls(), 0);
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteServiceTest, AbsurdEnergyIsAnOverflowNotAWrappedPrice) {
  EXPECT_EQ(error_of(energy_request(std::numeric_limits<int64_t>::max())), "arithmetic_overflow");
  EXPECT_EQ(quotes_.size(), 0u);
}

TEST_F(QuoteServiceTest, ChainAndStoreFailuresAreReturned) {
  node_.fail_next("account", common::make_error("upstream_failed", "node down"));
  EXPECT_EQ(error_of(energy_request(65'000)), "upstream_failed");
  node_.fail_next("account_resources", common::make_error("chain_unavailable", "breaker open"));
  EXPECT_EQ(error_of(energy_request(65'000)), "chain_unavailable");
  node_.fail_next("estimate_energy", common::make_error("upstream_failed", "429"));
  EXPECT_EQ(error_of(usdt_request()), "upstream_failed");
  pools_.failures.fail_next(common::make_error("store_unavailable", "db down"));
  EXPECT_EQ(error_of(energy_request(65'000)), "store_unavailable");
  quotes_.failures.fail_next(common::make_error("store_unavailable", "db down"));
  EXPECT_EQ(error_of(energy_request(65'000)), "store_unavailable");
  EXPECT_EQ(quotes_.size(), 0u);
  // A chain without energy stake cannot price anything.
  chain::AccountResources empty;
  empty.total_energy_limit = kLimit;
  node_.set_resources(receiver_, empty);
  EXPECT_EQ(error_of(energy_request(65'000)), "upstream_failed");
}

TEST_F(QuoteServiceTest, ATakenIdIsRedrawn) {
  quotes_.failures.fail_next(common::make_error("conflict", "quote id is taken"));
  auto quote = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  EXPECT_EQ(quotes_.size(), 1u);
}

TEST_F(QuoteServiceTest, ChainParametersAreReadOnceAnHourAndKeptOnFailure) {
  ASSERT_TRUE(service_.create(kTenant, energy_request(65'000)).ok());
  ASSERT_TRUE(service_.create(kTenant, energy_request(65'000)).ok());
  EXPECT_EQ(node_.calls("chain_parameters"), 1);
  node_.set_parameter("getTransactionFee", 2'000);
  clock_.advance(std::chrono::minutes(61));
  EXPECT_EQ(service_.create(kTenant, energy_request(65'000))->price.bandwidth_sun, Sun(1'124'000));
  EXPECT_EQ(node_.calls("chain_parameters"), 2);
  clock_.advance(std::chrono::minutes(61));
  node_.fail_next("chain_parameters", common::make_error("upstream_failed", "429"));
  auto kept = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->price.bandwidth_sun, Sun(1'124'000));
}

TEST_F(QuoteServiceTest, NoChainParametersYetIsAnError) {
  node_.fail_next("chain_parameters", common::make_error("upstream_failed", "429"));
  EXPECT_EQ(error_of(energy_request(65'000)), "upstream_failed");
}

TEST_F(QuoteServiceTest, NewConfigPricesNewQuotesAndABadOneIsRefused) {
  auto before = service_.create(kTenant, energy_request(65'000));
  PricingConfig config;
  config.tiers = {{600, 50}, {3'600, 70}};
  config.max_duration_s = 3'600;
  config.min_duration_s = 30;
  config.quote_ttl_s = 10;
  ASSERT_TRUE(service_.set_config(config).ok());
  auto after = service_.create(kTenant, energy_request(65'000, 30));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->price.unit_price_sun_per_energy, 50);
  EXPECT_EQ(after->expires_at, clock_.now() + seconds(10));
  EXPECT_EQ(quotes_.find(before->id, kTenant)->value().price.unit_price_sun_per_energy, 60);

  PricingConfig bad;
  bad.tiers.clear();
  auto refused = service_.set_config(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "config");
  EXPECT_EQ(service_.config().tiers, config.tiers);
}

TEST_F(QuoteServiceTest, GetShowsStateAndIsTenantScoped) {
  auto quote = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(quote.ok());
  auto view = service_.get(kTenant, quote->id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, QuoteState::kOpen);
  EXPECT_EQ(view->quote.id, quote->id);
  EXPECT_EQ(service_.get(kOtherTenant, quote->id).error().code, "not_found");
  EXPECT_EQ(service_.get(kTenant, "q_0000000000000000").error().code, "not_found");
  for (const char* malformed : {"", "q_", "Q_0123456789abcdef", "q_0123456789ABCDEF",
                                "q_0123456789abcde", "q_0123456789abcdef0", "1"}) {
    EXPECT_EQ(service_.get(kTenant, malformed).error().code, "not_found") << malformed;
  }
  clock_.advance(seconds(29));
  EXPECT_EQ(service_.get(kTenant, quote->id)->state, QuoteState::kOpen);
  clock_.advance(seconds(1));
  EXPECT_EQ(service_.get(kTenant, quote->id)->state, QuoteState::kExpired);
}

TEST_F(QuoteServiceTest, UseTakesAQuoteOnceBeforeItExpires) {
  auto quote = service_.create(kTenant, energy_request(65'000));
  ASSERT_TRUE(quote.ok());
  EXPECT_EQ(service_.use(kOtherTenant, quote->id, "lease:1").error().code, "not_found");
  auto taken = service_.use(kTenant, quote->id, "lease:1");
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken->used_by, "lease:1");
  EXPECT_EQ(taken->used_at, clock_.now());
  EXPECT_EQ(taken->stake_sun, quote->stake_sun);
  // The same lease retried gets it again; another lease does not.
  EXPECT_TRUE(service_.use(kTenant, quote->id, "lease:1").ok());
  EXPECT_EQ(service_.use(kTenant, quote->id, "lease:2").error().code, "conflict");
  EXPECT_EQ(service_.get(kTenant, quote->id)->state, QuoteState::kUsed);

  auto late = service_.create(kTenant, energy_request(65'000));
  clock_.advance(seconds(30));
  EXPECT_EQ(service_.use(kTenant, late->id, "lease:3").error().code, "conflict");
  EXPECT_EQ(service_.use(kTenant, "nonsense", "lease:3").error().code, "not_found");
}

}  // namespace
}  // namespace relay::energy
