// LeaseService's state machine on in-memory ports and a scripted chain: the happy path from quote
// to reclaim with the ledger exact, every refusal of an admission (balance, capacity, cost limit,
// a delegation already in flight) leaving nothing held, every way a delegation can fail on chain
// ending failed and refunded, a delegation still pending at the deadline finished by recover(),
// interrupted admissions and activations completed or undone by recover(), and reclaims that are
// idempotent, wait for locks, notice a delegation someone else undid, and refund early reclaims
// exactly once.
#include "energy/lease_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "chain/builders.h"
#include "signer/signer.h"
#include "tests/support/fake_chain_tx_journal.h"
#include "tests/support/fake_jobs.h"
#include "tests/support/fake_leases.h"
#include "tests/support/fake_pools.h"
#include "tests/support/fake_quotes.h"
#include "tests/support/fake_store.h"
#include "tests/support/fake_tron_node.h"

namespace relay::energy {
namespace {

using chain::Transaction;
using common::Address;
using common::Energy;
using common::Sun;
using common::TimePoint;
using relay::testing::FakeChainTxJournal;
using relay::testing::FakeJobQueue;
using relay::testing::FakeLeases;
using relay::testing::FakePools;
using relay::testing::FakeQuotes;
using relay::testing::FakeStore;
using relay::testing::FakeTronNode;
using relay::testing::make_account;
using relay::testing::make_active;
using signer::SecretKey;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kCustomerKey = "2222222222222222222222222222222222222222222222222222222222222222";
const char* kOwnKey = "3333333333333333333333333333333333333333333333333333333333333333";

Address address_of(const char* key) { return *signer::address_of(*SecretKey::from_hex(key)); }

const Address kRelayer = address_of(kRelayerKey);
const Address kCustomerPool = address_of(kCustomerKey);
const Address kOwnPool = address_of(kOwnKey);
const Address kReceiver = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");
const Address kOtherReceiver = Address::from_id20(common::Bytes(20, 0x22));
const Address kInactive = Address::from_id20(common::Bytes(20, 0x33));

constexpr int64_t kTrx = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kTotalLimit = 180'000'000'000;
constexpr int64_t kTotalWeight = 19'000'000'000;
// 65,000 energy at the totals above with the 2 % margin.
constexpr int64_t kStake = 6'998'333'334;

int64_t ms_since_epoch(TimePoint at) {
  return std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count();
}

template <typename T>
std::string code_of(const common::Result<T>& result) {
  return result.ok() ? "ok" : result.error().code;
}
template <typename T>
std::string message_of(const common::Result<T>& result) {
  return result.ok() ? "" : result.error().message;
}

// FakeTronNode with getdelegatedresourcev2 scripted by the test (the fake answers none).
class ScriptedNode final : public chain::TronNode {
 public:
  explicit ScriptedNode(FakeTronNode& node) : node_(node) {}

  std::vector<chain::DelegatedResource> delegations;
  int delegation_reads = 0;

  common::Result<chain::BlockRef> now_block(chain::ReadFrom from) override {
    return node_.now_block(from);
  }
  common::Result<std::optional<chain::AccountInfo>> account(const Address& address,
                                                            chain::ReadFrom from) override {
    return node_.account(address, from);
  }
  common::Result<chain::AccountResources> account_resources(const Address& address) override {
    return node_.account_resources(address);
  }
  common::Result<chain::ChainParameters> chain_parameters() override {
    return node_.chain_parameters();
  }
  common::Result<int64_t> can_delegate_max_sun(const Address& owner,
                                               chain::Resource resource) override {
    return node_.can_delegate_max_sun(owner, resource);
  }
  common::Result<std::vector<chain::DelegatedResource>> delegated_resources(
      const Address&, const Address&, chain::ReadFrom) override {
    ++delegation_reads;
    return delegations;
  }
  common::Result<chain::DelegationIndex> delegation_index(const Address& account,
                                                          chain::ReadFrom from) override {
    return node_.delegation_index(account, from);
  }
  common::Result<chain::BroadcastResult> broadcast(common::ByteView signed_tx) override {
    return node_.broadcast(signed_tx);
  }
  common::Result<std::optional<chain::TransactionInfo>> transaction_info(
      const common::Hash32& txid, chain::ReadFrom from) override {
    return node_.transaction_info(txid, from);
  }
  common::Result<chain::EnergyEstimate> estimate_energy(const Address& owner,
                                                        const Address& contract,
                                                        common::ByteView data) override {
    return node_.estimate_energy(owner, contract, data);
  }

 private:
  FakeTronNode& node_;
};

class LeaseServiceTest : public ::testing::Test {
 protected:
  LeaseServiceTest() {
    tenant = store.tenants.create("A")->id;
    other_tenant = store.tenants.create("B")->id;
    EXPECT_TRUE(store.ledger.credit(tenant, Sun(100 * kTrx), "admin:credit").ok());

    chain::AccountResources totals;
    totals.total_energy_limit = kTotalLimit;
    totals.total_energy_weight = kTotalWeight;
    fake.put_account(make_account(kReceiver, 5 * kTrx));
    fake.set_resources(kReceiver, totals);
    fake.put_account(make_account(kOtherReceiver, 5 * kTrx));
    fake.set_resources(kOtherReceiver, totals);
    fake.set_resources(mainnet_usdt_contract(), totals);
    fake.put_account(make_account(kOwnPool, 300 * kTrx, 20'000 * kTrx));

    EXPECT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnKey)).ok());
    EXPECT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
    own_pool = add_pool(kOwnPool, PoolKind::kOwn, 0, 10'000 * kTrx);

    on_sleep = [this] { fake.mine(); };
  }

  int64_t add_pool(const Address& address, PoolKind kind, int32_t permission_id,
                   int64_t delegatable_sun) {
    NewPool pool;
    pool.tenant_id = tenant;
    pool.address = address;
    pool.kind = kind;
    pool.name = "pool";
    pool.status = PoolStatus::kActive;
    pool.permission_id = permission_id;
    const int64_t id = pools.create(pool)->id;
    set_delegatable(id, delegatable_sun);
    return id;
  }
  void set_delegatable(int64_t pool_id, int64_t sun) {
    PoolSnapshot snapshot;
    snapshot.observed_at = clock.now();
    snapshot.delegatable_sun = sun;
    EXPECT_TRUE(pools.record_snapshot(pool_id, snapshot).ok());
  }

  // Rebuilt with the current `options` at the next service().
  void service_reset() { service_.reset(); }
  LeaseService& service() {
    if (!service_) {
      service_ = std::make_unique<LeaseService>(
          LeaseDependencies{.leases = leases,
                            .quotes = quote_service,
                            .ledger = store.ledger,
                            .pools = pools,
                            .capacity = pools,
                            .sender = sender,
                            .journal = journal,
                            .jobs = jobs,
                            .node = node,
                            .signers = *signers,
                            .clock = clock,
                            .pool_service = &pool_service,
                            .reclaim_scheduled = [this](TimePoint at) { scheduled.push_back(at); }},
          options);
    }
    return *service_;
  }

  LeaseRequest inline_request(const Address& receiver = kReceiver, int64_t energy = 65'000,
                              int64_t duration_s = 3'600) {
    LeaseRequest request;
    request.receiver = receiver;
    request.energy = Energy(energy);
    request.duration_s = duration_s;
    request.max_cost = Sun(10 * kTrx);
    return request;
  }

  Lease stored(int64_t id) { return **leases.find(id, std::nullopt); }
  AccountBalance balance(int64_t tenant_id) { return *store.ledger.balance(tenant_id); }
  int64_t delegated_from(const Address& pool) {
    return fake.get_account(pool)->delegated_energy_sun;
  }
  std::vector<Reservation> open_reservations(int64_t pool_id) {
    return *pools.open_reservations(pool_id);
  }
  std::optional<Job> job_of(int64_t lease_id) {
    for (int64_t id = 1; id < 100; ++id) {
      auto job = jobs.get(id);
      if (job && job->ref == lease_ref(lease_id) && job->state != JobState::kDone &&
          job->state != JobState::kDead) {
        return job;
      }
    }
    return std::nullopt;
  }
  std::vector<Transaction> broadcasts() { return fake.broadcasts(); }
  // An active lease, with the clock moved to its expiry.
  Lease active_lease_at_expiry() {
    auto lease = service().create(tenant, inline_request());
    EXPECT_EQ(code_of(lease), "ok") << message_of(lease);
    EXPECT_EQ(lease->state, LeaseState::kActive);
    clock.set(*lease->expires_at);
    return *lease;
  }

  common::ManualClock clock = common::ManualClock::at_ms(kStart);
  FakeTronNode fake;
  ScriptedNode node{fake};
  FakeStore store{clock};
  FakePools pools{clock};
  FakeQuotes quotes;
  FakeLeases leases;
  FakeChainTxJournal journal{clock};
  FakeJobQueue jobs{clock};
  std::unique_ptr<signer::PoolSigners> signers =
      std::move(*signer::PoolSigners::create(*SecretKey::from_hex(kRelayerKey)));
  QuoteService quote_service{quotes, pools, node, clock};
  PoolService pool_service{pools, pools, node, *signers, store.audit, clock};
  std::function<void()> on_sleep;  // what the chain does while the sender waits for a block
  ChainTxSender sender{journal,
                       node,
                       *signers,
                       clock,
                       ChainTxSenderOptions{.rebroadcast_after = milliseconds(6'000),
                                            .poll_interval = milliseconds(3'000)},
                       [this](milliseconds d) {
                         clock.advance(d);
                         if (on_sleep) on_sleep();
                       }};
  LeaseServiceOptions options;
  std::vector<TimePoint> scheduled;
  int64_t tenant = 0, other_tenant = 0, own_pool = 0;

  std::unique_ptr<LeaseService> service_;
};

// ---- the happy path ---------------------------------------------------------------------------

TEST_F(LeaseServiceTest, InlineLeaseIsDelegatedActivatedAndReclaimedAtExpiry) {
  auto created = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(created), "ok") << message_of(created);
  const Lease lease = *created;
  EXPECT_EQ(lease.state, LeaseState::kActive);
  EXPECT_EQ(lease.stake_sun.value(), kStake);
  EXPECT_EQ(lease.energy.value(), 65'000);
  EXPECT_TRUE(lease.quote_id.has_value());
  EXPECT_EQ(lease.pool_id, own_pool);
  EXPECT_EQ(lease.permission_id, 0);
  // In the block mined during the first poll: 3 s after the head the tx was built on.
  const TimePoint block_time = TimePoint(milliseconds(kStart + 3'000));
  EXPECT_EQ(lease.delegated_at, block_time);
  EXPECT_EQ(lease.expires_at, block_time + seconds(3'600));
  const Sun price = lease.price.total_sun;
  EXPECT_GT(price.value(), 0);

  // On chain: exactly one DelegateResource of the stake, from the pool, owner permission.
  ASSERT_EQ(broadcasts().size(), 1u);
  const Transaction& tx = broadcasts()[0];
  ASSERT_EQ(tx.contract_type(), protocol::Transaction_Contract::DelegateResourceContract);
  const auto* delegate = tx.parameter_as<protocol::DelegateResourceContract>();
  EXPECT_EQ(tx.owner(), kOwnPool);
  EXPECT_EQ(delegate->receiver_address(), kReceiver.proto_bytes());
  EXPECT_EQ(delegate->balance(), kStake);
  EXPECT_EQ(delegate->resource(), protocol::ENERGY);
  EXPECT_FALSE(delegate->lock());
  EXPECT_EQ(tx.permission_id(), 0);
  EXPECT_EQ(delegated_from(kOwnPool), kStake);

  // The journal: written ahead, named after the lease, included; recorded on the lease.
  auto txs = journal.list_by_owner(lease_ref(lease.id));
  ASSERT_EQ(txs->size(), 1u);
  EXPECT_EQ((*txs)[0].purpose, "lease_delegate");
  EXPECT_EQ((*txs)[0].state, ChainTxState::kIncluded);
  EXPECT_EQ(lease.delegate_tx_id, (*txs)[0].id);

  // Money: the whole price captured. Capacity: delegated at the block time.
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - price.value());
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_EQ(store.ledger.find_hold(*lease.hold_id)->value().state, HoldState::kCaptured);
  auto reservations = open_reservations(own_pool);
  ASSERT_EQ(reservations.size(), 1u);
  EXPECT_EQ(reservations[0].state, ReservationState::kDelegated);
  EXPECT_EQ(reservations[0].delegated_at, block_time);
  EXPECT_EQ(reservations[0].reference, lease_ref(lease.id));

  // The reclaim job, due at expiry, and the runner told about it.
  auto job = job_of(lease.id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->kind, "reclaim_lease");
  EXPECT_EQ(job->due_at, *lease.expires_at);
  EXPECT_EQ(job->max_attempts, options.reclaim_max_attempts);
  ASSERT_FALSE(scheduled.empty());
  EXPECT_EQ(scheduled.back(), *lease.expires_at);

  // At expiry the job undelegates exactly the stake.
  clock.set(*lease.expires_at);
  fake.set_head(fake.head().number + 1'200, ms_since_epoch(*lease.expires_at));
  auto reclaimed = service().handle_reclaim_job(*job);
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.error().message;
  const Lease after = stored(lease.id);
  EXPECT_EQ(after.state, LeaseState::kReclaimed);
  EXPECT_TRUE(after.state_reason.empty());
  ASSERT_EQ(broadcasts().size(), 2u);
  const Transaction& undo = broadcasts()[1];
  ASSERT_EQ(undo.contract_type(), protocol::Transaction_Contract::UnDelegateResourceContract);
  EXPECT_EQ(undo.parameter_as<protocol::UnDelegateResourceContract>()->balance(), kStake);
  EXPECT_EQ(undo.owner(), kOwnPool);
  EXPECT_EQ(delegated_from(kOwnPool), 0);
  EXPECT_EQ(after.reclaimed_at, TimePoint(milliseconds(fake.head().timestamp_ms)));
  EXPECT_TRUE(after.reclaim_tx_id.has_value());
  EXPECT_TRUE(open_reservations(own_pool).empty());
  // Nothing refunded at expiry, nothing held.
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - price.value());
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
}

TEST_F(LeaseServiceTest, QuotedLeaseTakesTheQuoteOnce) {
  auto quote = quote_service.create(
      tenant, {.receiver = kReceiver, .energy = Energy(65'000), .duration_s = 3'600});
  ASSERT_TRUE(quote.ok()) << message_of(quote);
  LeaseRequest request;
  request.quote_id = quote->id;
  auto lease = service().create(tenant, request);
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->quote_id, quote->id);
  EXPECT_EQ(lease->price, quote->price);
  EXPECT_EQ(quotes.find(quote->id, tenant)->value().used_by, lease_ref(lease->id));

  // Taken: a second lease on it is refused, and another tenant does not even see it.
  EXPECT_EQ(code_of(service().create(tenant, request)), "conflict");
  EXPECT_EQ(code_of(service().create(other_tenant, request)), "not_found");
  EXPECT_EQ(leases.size(), 1u);
}

TEST_F(LeaseServiceTest, ExpiredQuoteAndPriceAboveMaxCostAreRefusedWithNothingStored) {
  auto quote = quote_service.create(
      tenant, {.receiver = kReceiver, .energy = Energy(65'000), .duration_s = 3'600});
  ASSERT_TRUE(quote.ok());
  LeaseRequest request;
  request.quote_id = quote->id;
  request.max_cost = Sun(quote->price.total_sun.value() - 1);
  EXPECT_EQ(code_of(service().create(tenant, request)), "cost_limit_exceeded");
  clock.advance(seconds(31));
  request.max_cost.reset();
  auto expired = service().create(tenant, request);
  EXPECT_EQ(code_of(expired), "conflict");
  EXPECT_THAT(message_of(expired), HasSubstr("expired"));

  LeaseRequest cheap = inline_request();
  cheap.max_cost = Sun(1);
  EXPECT_EQ(code_of(service().create(tenant, cheap)), "cost_limit_exceeded");

  EXPECT_EQ(leases.size(), 0u);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(broadcasts().empty());
}

TEST_F(LeaseServiceTest, MalformedRequestsAreRefusedBeforeAnythingHappens) {
  auto refused = [&](LeaseRequest request) {
    auto out = service().create(tenant, request);
    EXPECT_EQ(code_of(out), "invalid_request") << message_of(out);
  };
  refused(LeaseRequest{});  // neither quote nor terms
  LeaseRequest both = inline_request();
  both.quote_id = "q_0123456789abcdef";
  refused(both);
  LeaseRequest partial = inline_request();
  partial.energy.reset();
  refused(partial);
  LeaseRequest no_max = inline_request();
  no_max.max_cost.reset();
  refused(no_max);
  LeaseRequest period_without_lock = inline_request();
  period_without_lock.lock_period_blocks = 100;
  refused(period_without_lock);
  LeaseRequest lock_outlasting = inline_request();
  lock_outlasting.lock = true;
  lock_outlasting.lock_period_blocks = 1'201;  // 3603 s > 3600 s
  refused(lock_outlasting);
  LeaseRequest default_lock = inline_request();  // 0 = 3 days > 1 h
  default_lock.lock = true;
  refused(default_lock);
  EXPECT_EQ(leases.size(), 0u);
  EXPECT_TRUE(broadcasts().empty());
}

TEST_F(LeaseServiceTest, InactiveReceiverIsRefused) {
  EXPECT_EQ(code_of(service().create(tenant, inline_request(kInactive))), "account_not_found");
  EXPECT_EQ(leases.size(), 0u);
}

TEST_F(LeaseServiceTest, PermissionPoolDelegatesUnderItsAdmittedPermissionId) {
  // The customer's pool grants our relayer key "relayer" (ops 57 + 58) as its first active: id 2.
  auto customer = make_account(kCustomerPool, 300 * kTrx, 20'000 * kTrx);
  customer.permissions.actives = {make_active("relayer", 1, {{kRelayer, 1}}, {57, 58})};
  fake.put_account(customer);
  ASSERT_TRUE(signers->admit_pool(kCustomerPool, 2).ok());
  // The own pool cannot take it; the permission pool can.
  set_delegatable(own_pool, kTrx);
  const int64_t pool = add_pool(kCustomerPool, PoolKind::kPermission, 2, 10'000 * kTrx);

  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->state, LeaseState::kActive);
  EXPECT_EQ(lease->pool_id, pool);
  EXPECT_EQ(lease->permission_id, 2);
  ASSERT_EQ(broadcasts().size(), 1u);
  EXPECT_EQ(broadcasts()[0].permission_id(), 2);
  EXPECT_EQ(broadcasts()[0].owner(), kCustomerPool);

  // The reclaim uses the same pool and the same permission id.
  clock.set(*lease->expires_at);
  ASSERT_TRUE(service().reclaim(lease->id).ok());
  ASSERT_EQ(broadcasts().size(), 2u);
  EXPECT_EQ(broadcasts()[1].permission_id(), 2);
  EXPECT_EQ(broadcasts()[1].owner(), kCustomerPool);
  EXPECT_EQ(stored(lease->id).state, LeaseState::kReclaimed);
}

TEST_F(LeaseServiceTest, LockedLeaseDelegatesWithItsLock) {
  LeaseRequest request = inline_request();
  request.lock = true;
  request.lock_period_blocks = 1'200;  // exactly the hour
  auto lease = service().create(tenant, request);
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  const auto* delegate = broadcasts()[0].parameter_as<protocol::DelegateResourceContract>();
  EXPECT_TRUE(delegate->lock());
  EXPECT_EQ(delegate->lock_period(), 1'200);
  EXPECT_EQ(lock_ends_at(*lease), *lease->expires_at);
}

// ---- refusals at admission --------------------------------------------------------------------

TEST_F(LeaseServiceTest, InsufficientBalanceLeavesNoLeaseAndTheQuoteOpen) {
  const int64_t poor = store.tenants.create("poor")->id;
  ASSERT_TRUE(store.ledger.credit(poor, Sun(kTrx), "admin:credit").ok());
  auto quote = quote_service.create(
      poor, {.receiver = kReceiver, .energy = Energy(65'000), .duration_s = 3'600});
  ASSERT_TRUE(quote.ok());
  LeaseRequest request;
  request.quote_id = quote->id;
  EXPECT_EQ(code_of(service().create(poor, request)), "insufficient_balance");
  EXPECT_EQ(leases.size(), 0u);
  EXPECT_EQ(balance(poor).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(own_pool).empty());
  EXPECT_TRUE(broadcasts().empty());
  EXPECT_FALSE(quotes.find(quote->id, poor)->value().used_at);

  // After a top-up the same quote still works.
  ASSERT_TRUE(store.ledger.credit(poor, Sun(100 * kTrx), "admin:credit").ok());
  auto lease = service().create(poor, request);
  EXPECT_EQ(code_of(lease), "ok") << message_of(lease);
}

TEST_F(LeaseServiceTest, InsufficientCapacityReleasesTheHold) {
  set_delegatable(own_pool, 1'000 * kTrx);
  auto lease = service().create(tenant, inline_request());
  EXPECT_EQ(code_of(lease), "insufficient_capacity");
  ASSERT_EQ(leases.size(), 1u);
  const Lease failed = leases.all()[0];
  EXPECT_EQ(failed.state, LeaseState::kFailed);
  EXPECT_THAT(failed.state_reason, StartsWith("insufficient_capacity: "));
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx);
  EXPECT_TRUE(broadcasts().empty());
}

TEST_F(LeaseServiceTest, PoolNotAdmittedForSigningIsUnavailableAndReleased) {
  signers->revoke_pool(kOwnPool);
  EXPECT_EQ(code_of(service().create(tenant, inline_request())), "unavailable");
  EXPECT_EQ(leases.all()[0].state, LeaseState::kFailed);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(own_pool).empty());
  EXPECT_TRUE(broadcasts().empty());
}

TEST_F(LeaseServiceTest, SecondDelegationToTheSameReceiverInFlightIsAConflict) {
  set_delegatable(own_pool, 100'000 * kTrx);
  on_sleep = nullptr;  // no blocks: the first stays delegating past its deadline
  auto first = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(first), "ok") << message_of(first);
  EXPECT_EQ(first->state, LeaseState::kDelegating);
  const Sun first_price = first->price.total_sun;

  auto second = service().create(tenant, inline_request(kReceiver, 40'000));
  EXPECT_EQ(code_of(second), "conflict");
  EXPECT_THAT(message_of(second), HasSubstr("in flight"));
  const Lease refused = stored(first->id + 1);
  EXPECT_EQ(refused.state, LeaseState::kFailed);
  // Only the first lease's hold and reservation remain.
  EXPECT_EQ(balance(tenant).reserved, first_price);
  ASSERT_EQ(open_reservations(own_pool).size(), 1u);
  EXPECT_EQ(open_reservations(own_pool)[0].reference, lease_ref(first->id));
  EXPECT_EQ(broadcasts().size(), 1u);

  // Another receiver is not held up.
  auto other = service().create(tenant, inline_request(kOtherReceiver));
  EXPECT_EQ(code_of(other), "ok") << message_of(other);
}

// ---- failures on chain ------------------------------------------------------------------------

TEST_F(LeaseServiceTest, RefusedBroadcastFailsTheLeaseAndRefunds) {
  fake.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "delegateBalance must be less than or equal to available "
                                    "FreezeEnergyV2 balance",
                         .txid = {}});
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "broadcast_rejected");
  EXPECT_THAT(message_of(lease), HasSubstr("lease 1 failed and its hold was released"));
  EXPECT_THAT(message_of(lease), HasSubstr("CONTRACT_VALIDATE_ERROR"));
  const Lease failed = stored(1);
  EXPECT_EQ(failed.state, LeaseState::kFailed);
  EXPECT_THAT(failed.state_reason, StartsWith("broadcast_rejected: CONTRACT_VALIDATE_ERROR"));
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(own_pool).empty());
  EXPECT_EQ(journal.all()[0].state, ChainTxState::kFailed);
  EXPECT_FALSE(job_of(1));
}

TEST_F(LeaseServiceTest, DelegationFailedInABlockFailsTheLeaseAndRefunds) {
  on_sleep = [this] {
    for (const auto& record : journal.all()) {
      chain::TransactionInfo info;
      info.txid = record.txid;
      info.block_number = fake.head().number + 1;
      info.block_timestamp_ms = fake.head().timestamp_ms + 3'000;
      info.failed = true;
      info.message = "contract validate error";
      fake.set_transaction_info(info);
    }
  };
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "upstream_failed");
  EXPECT_THAT(message_of(lease), HasSubstr("lease 1 failed"));
  EXPECT_THAT(stored(1).state_reason, StartsWith("delegation_failed: "));
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(own_pool).empty());
}

TEST_F(LeaseServiceTest, PendingAtTheDeadlineIsReturnedDelegatingAndRecoverFinishesIt) {
  fake.drop_broadcasts(1'000);  // accepted, never mined
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->state, LeaseState::kDelegating);
  EXPECT_TRUE(lease->delegate_tx_id.has_value());
  EXPECT_EQ(clock.now(), TimePoint(milliseconds(kStart)) + options.confirm_timeout);
  EXPECT_EQ(balance(tenant).reserved, lease->price.total_sun);
  EXPECT_FALSE(job_of(lease->id));

  // The node works again: recover() rebroadcasts the same bytes (the sender) and, once they are in
  // a block, activates the lease exactly as create() would have.
  fake.drop_broadcasts(0);
  clock.advance(seconds(6));  // the sender's rebroadcast_after
  auto pass = service().recover(100);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->still_in_flight, 1);
  EXPECT_EQ(stored(lease->id).state, LeaseState::kDelegating);
  fake.mine();
  pass = service().recover(100);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->activated, 1);
  const Lease active = stored(lease->id);
  EXPECT_EQ(active.state, LeaseState::kActive);
  EXPECT_EQ(active.delegated_at, TimePoint(milliseconds(fake.head().timestamp_ms)));
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - lease->price.total_sun.value());
  EXPECT_TRUE(job_of(lease->id));
  // Every broadcast was the one signed tx: delegated once.
  for (const auto& sent : fake.sent_bytes()) EXPECT_EQ(sent, journal.all()[0].signed_bytes);
  EXPECT_EQ(delegated_from(kOwnPool), kStake);
}

TEST_F(LeaseServiceTest, DelegationThatExpiresUnseenFailsAndRefunds) {
  fake.drop_broadcasts(1'000);
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(lease->state, LeaseState::kDelegating);
  // The head passes the tx's expiration (and the sender's grace) with the tx in no block.
  fake.set_head(fake.head().number + 30, journal.all()[0].expiration_ms + 6'000);
  auto pass = service().recover(100);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->failed, 1);
  const Lease failed = stored(lease->id);
  EXPECT_EQ(failed.state, LeaseState::kFailed);
  EXPECT_THAT(failed.state_reason, StartsWith("delegation_expired: "));
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(own_pool).empty());
  EXPECT_EQ(delegated_from(kOwnPool), 0);
}

TEST_F(LeaseServiceTest, UnreachableNodeAtTheFirstBroadcastLeavesTheLeaseForTheSweeper) {
  fake.fail_next("broadcast", common::make_error("upstream_failed", "connection refused"));
  on_sleep = nullptr;
  options.confirm_timeout = milliseconds(0);
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->state, LeaseState::kDelegating);
  // recover(): resolve rebroadcasts, a block includes it, the next pass activates.
  ASSERT_TRUE(service().recover(10).ok());
  fake.mine();
  ASSERT_TRUE(service().recover(10).ok());
  EXPECT_EQ(stored(lease->id).state, LeaseState::kActive);
}

// ---- interrupted flows ------------------------------------------------------------------------

TEST_F(LeaseServiceTest, InterruptedActivationIsCompletedByRecoverWithoutChargingTwice) {
  // The store fails at the very last step: hold captured, reservation marked, job enqueued, but
  // the lease still delegating.
  leases.call_hook = [](const std::string& method) -> std::optional<common::Error> {
    if (method == "activate") return common::make_error("store_unavailable", "db down");
    return std::nullopt;
  };
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->state, LeaseState::kDelegating);
  const int64_t charged = 100 * kTrx - lease->price.total_sun.value();
  EXPECT_EQ(balance(tenant).balance.value(), charged);

  leases.call_hook = nullptr;
  auto pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->activated, 1);
  EXPECT_EQ(stored(lease->id).state, LeaseState::kActive);
  EXPECT_EQ(balance(tenant).balance.value(), charged);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  int live_jobs = 0;
  for (int64_t id = 1; id < 10; ++id) {
    if (auto job = jobs.get(id); job && job->state == JobState::kDue) ++live_jobs;
  }
  EXPECT_EQ(live_jobs, 1);
  EXPECT_EQ(broadcasts().size(), 1u);
}

TEST_F(LeaseServiceTest, AdmissionInterruptedBeforeDelegatingIsUndoneByRecover) {
  // A create() that died after placing its hold and reserving capacity, before recording them.
  NewLease terms{.tenant_id = tenant,
                 .quote_id = std::nullopt,
                 .receiver = kReceiver,
                 .energy = Energy(65'000),
                 .duration_s = 3'600,
                 .stake_sun = Sun(kStake),
                 .price = {.unit_price_sun_per_energy = 60,
                           .energy_sun = Sun(3'900'000),
                           .bandwidth_sun = Sun(0),
                           .activation_sun = Sun(0),
                           .total_sun = Sun(3'900'000)},
                 .lock = false,
                 .lock_period_blocks = 0};
  const Lease pending = *leases.create(terms, clock.now());
  ASSERT_TRUE(store.ledger.place_hold(tenant, Sun(3'900'000), lease_ref(pending.id)).ok());
  ASSERT_TRUE(pools.reserve_best_fit(kStake, lease_ref(pending.id), clock.now()).ok());
  // Other tenants' and other leases' holds are left alone.
  ASSERT_TRUE(store.ledger.place_hold(tenant, Sun(1'000), "lease:999").ok());

  // Recent: create() may still be at work.
  auto pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->still_in_flight, 1);
  EXPECT_EQ(stored(pending.id).state, LeaseState::kPending);

  clock.advance(options.interrupted_after);
  pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->failed, 1);
  const Lease failed = stored(pending.id);
  EXPECT_EQ(failed.state, LeaseState::kFailed);
  EXPECT_THAT(failed.state_reason, StartsWith("interrupted"));
  EXPECT_EQ(balance(tenant).reserved.value(), 1'000);
  EXPECT_TRUE(open_reservations(own_pool).empty());
}

TEST_F(LeaseServiceTest, DelegatingWithNoSignedTxIsFailedOnlyOnceInterrupted) {
  // start_delegating recorded, then the daemon lost its footing before signing (an uncertain
  // failure: the lease is left to recover()).
  fake.fail_next("now_block", common::make_error("store_unavailable", "simulated crash"));
  auto lease = service().create(tenant, inline_request());
  EXPECT_EQ(code_of(lease), "ok") << message_of(lease);
  EXPECT_EQ(lease->state, LeaseState::kDelegating);
  EXPECT_TRUE(journal.all().empty());

  ASSERT_TRUE(service().recover(10).ok());
  EXPECT_EQ(stored(lease->id).state, LeaseState::kDelegating);
  clock.advance(options.interrupted_after);
  auto pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->failed, 1);
  EXPECT_EQ(stored(lease->id).state, LeaseState::kFailed);
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx);
  EXPECT_TRUE(open_reservations(own_pool).empty());
}

// ---- reclaim ------------------------------------------------------------------------------------

TEST_F(LeaseServiceTest, ReclaimIsIdempotent) {
  const Lease lease = active_lease_at_expiry();
  ASSERT_TRUE(service().reclaim(lease.id).ok());
  ASSERT_EQ(broadcasts().size(), 2u);
  // Delivered again (at least once), or for leases with nothing to reclaim: done, nothing sent.
  EXPECT_TRUE(service().reclaim(lease.id).ok());
  EXPECT_TRUE(service().reclaim(12345).ok());
  EXPECT_EQ(broadcasts().size(), 2u);
  EXPECT_EQ(stored(lease.id).state, LeaseState::kReclaimed);

  fake.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "refused",
                         .txid = {}});
  auto failed = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(failed), "broadcast_rejected");
  EXPECT_TRUE(service().reclaim(lease.id + 1).ok());
  EXPECT_EQ(broadcasts().size(), 2u);

  Job bad;
  bad.id = 77;
  bad.ref = "pool:1";
  EXPECT_EQ(service().handle_reclaim_job(bad).error().code, "invalid_request");
}

TEST_F(LeaseServiceTest, ReclaimWhosePreviousAttemptIsStillPendingWaitsInsteadOfSigningAgain) {
  const Lease lease = active_lease_at_expiry();
  options.reclaim_confirm_timeout = milliseconds(0);
  service_reset();
  on_sleep = nullptr;
  auto first = service().reclaim(lease.id);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "reclaim_pending");
  EXPECT_EQ(stored(lease.id).state, LeaseState::kReclaiming);
  // Retried before a block: no second undelegation.
  EXPECT_EQ(service().reclaim(lease.id).error().code, "reclaim_pending");
  EXPECT_EQ(broadcasts().size(), 2u);
  fake.mine();
  ASSERT_TRUE(service().reclaim(lease.id).ok());
  EXPECT_EQ(stored(lease.id).state, LeaseState::kReclaimed);
  EXPECT_EQ(broadcasts().size(), 2u);
}

TEST_F(LeaseServiceTest, ReclaimOfADelegatingLeaseWaits) {
  on_sleep = nullptr;
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(lease->state, LeaseState::kDelegating);
  auto status = service().reclaim(lease->id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "lease_not_active");
}

TEST_F(LeaseServiceTest, LockedEarlyReclaimIsRetriedUntilTheLockEnds) {
  LeaseRequest request = inline_request(kReceiver, 65'000, 7'200);
  request.lock = true;
  request.lock_period_blocks = 1'200;  // one hour of a two-hour lease
  auto lease = service().create(tenant, request);
  ASSERT_EQ(code_of(lease), "ok") << message_of(lease);
  const TimePoint lock_end = *lock_ends_at(*lease);
  EXPECT_EQ(lock_end, *lease->delegated_at + seconds(3'600));

  clock.advance(seconds(600));
  auto asked = service().request_reclaim(tenant, lease->id);
  ASSERT_EQ(code_of(asked), "ok") << message_of(asked);
  EXPECT_EQ(asked->state, LeaseState::kReclaiming);
  // The job waits for the lock's end, not for now.
  EXPECT_EQ(job_of(lease->id)->due_at, lock_end);

  auto early = service().reclaim(lease->id);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "locked");
  EXPECT_THAT(early.error().message, HasSubstr(std::to_string(ms_since_epoch(lock_end))));
  EXPECT_EQ(broadcasts().size(), 1u);

  clock.set(lock_end);
  ASSERT_TRUE(service().reclaim(lease->id).ok());
  EXPECT_EQ(stored(lease->id).state, LeaseState::kReclaimed);
  EXPECT_EQ(broadcasts().size(), 2u);
}

TEST_F(LeaseServiceTest, DelegationUndoneBySomeoneElseEndsReclaimed) {
  const Lease lease = active_lease_at_expiry();
  fake.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "delegated Resource does not exist",
                         .txid = {}});
  node.delegations = {};  // nothing left from the pool to the receiver
  ASSERT_TRUE(service().reclaim(lease.id).ok());
  const Lease after = stored(lease.id);
  EXPECT_EQ(after.state, LeaseState::kReclaimed);
  EXPECT_THAT(after.state_reason, StartsWith("reclaimed_externally: "));
  EXPECT_EQ(node.delegation_reads, 1);
  EXPECT_TRUE(open_reservations(own_pool).empty());
}

TEST_F(LeaseServiceTest, RefusalWhileOurDelegationIsStillThereIsRetried) {
  const Lease lease = active_lease_at_expiry();
  fake.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "insufficient delegateFrozenBalance(Energy), request=" +
                                    std::to_string(kStake) + ", unlock_balance=0",
                         .txid = {}});
  node.delegations = {chain::DelegatedResource{.from = kOwnPool,
                                               .to = kReceiver,
                                               .energy_sun = kStake,
                                               .energy_expire_ms = 0,
                                               .bandwidth_sun = 0,
                                               .bandwidth_expire_ms = 0}};
  auto status = service().reclaim(lease.id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "broadcast_rejected");
  EXPECT_EQ(stored(lease.id).state, LeaseState::kReclaiming);
  // The retry signs a new one (the refused one is settled) and succeeds.
  ASSERT_TRUE(service().reclaim(lease.id).ok());
  EXPECT_EQ(stored(lease.id).state, LeaseState::kReclaimed);
  EXPECT_TRUE(stored(lease.id).state_reason.empty());
}

TEST_F(LeaseServiceTest, EarlyReclaimWithProrataRefundRefundsTheUnusedEnergyOnce) {
  options.early_reclaim_refund = RefundPolicy::kProrata;
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok");
  const int64_t price = lease->price.total_sun.value();
  // A quarter of the hour used.
  clock.set(*lease->delegated_at + seconds(900));
  auto asked = service().request_reclaim(tenant, lease->id);
  ASSERT_EQ(code_of(asked), "ok") << message_of(asked);
  const int64_t refund = lease->price.energy_sun.value() * 2'700 / 3'600;
  EXPECT_EQ(asked->refund_sun.value(), refund);
  EXPECT_EQ(asked->reclaim_requested_at, clock.now());
  // Moved to now, and the runner told.
  EXPECT_EQ(job_of(lease->id)->due_at, clock.now());
  EXPECT_EQ(scheduled.back(), clock.now());
  // Asking again changes nothing.
  EXPECT_EQ(service().request_reclaim(tenant, lease->id)->refund_sun.value(), refund);

  auto job = job_of(lease->id);
  ASSERT_TRUE(service().handle_reclaim_job(*job).ok());
  EXPECT_EQ(stored(lease->id).state, LeaseState::kReclaimed);
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - price + refund);
  // Run again (the job delivered twice): no second refund.
  ASSERT_TRUE(service().reclaim(lease->id).ok());
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - price + refund);
}

TEST_F(LeaseServiceTest, RefundIsNotPaidTwiceWhenTheFinishWasInterrupted) {
  options.early_reclaim_refund = RefundPolicy::kProrata;
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok");
  clock.set(*lease->delegated_at + seconds(1'800));
  ASSERT_TRUE(service().request_reclaim(tenant, lease->id).ok());
  const int64_t after_refund =
      balance(tenant).balance.value() + stored(lease->id).refund_sun.value();
  leases.call_hook = [](const std::string& method) -> std::optional<common::Error> {
    if (method == "finish_reclaim") return common::make_error("store_unavailable", "db down");
    return std::nullopt;
  };
  EXPECT_FALSE(service().reclaim(lease->id).ok());
  EXPECT_EQ(balance(tenant).balance.value(), after_refund);  // refunded, not yet recorded
  leases.call_hook = nullptr;
  ASSERT_TRUE(service().reclaim(lease->id).ok());
  EXPECT_EQ(stored(lease->id).state, LeaseState::kReclaimed);
  EXPECT_EQ(balance(tenant).balance.value(), after_refund);
  EXPECT_EQ(broadcasts().size(), 2u);
}

TEST_F(LeaseServiceTest, EarlyReclaimUnderPolicyNoneRefundsNothing) {
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok");
  clock.advance(seconds(60));
  auto asked = service().request_reclaim(tenant, lease->id);
  ASSERT_EQ(code_of(asked), "ok");
  EXPECT_EQ(asked->refund_sun.value(), 0);
  ASSERT_TRUE(service().reclaim(lease->id).ok());
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - lease->price.total_sun.value());
}

TEST_F(LeaseServiceTest, EarlyReclaimRefusals) {
  set_delegatable(own_pool, 100'000 * kTrx);
  EXPECT_EQ(code_of(service().request_reclaim(tenant, 42)), "not_found");
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok");
  EXPECT_EQ(code_of(service().request_reclaim(other_tenant, lease->id)), "not_found");

  on_sleep = nullptr;
  auto delegating = service().create(tenant, inline_request(kOtherReceiver));
  ASSERT_EQ(delegating->state, LeaseState::kDelegating);
  EXPECT_EQ(code_of(service().request_reclaim(tenant, delegating->id)), "conflict");

  fake.script_broadcast(
      {.accepted = false, .duplicate = false, .code = "SIGERROR", .message = "bad", .txid = {}});
  auto failed = service().create(tenant, inline_request(kReceiver, 40'000));
  ASSERT_EQ(code_of(failed), "broadcast_rejected");
  EXPECT_EQ(code_of(service().request_reclaim(tenant, delegating->id + 1)), "conflict");
}

TEST_F(LeaseServiceTest, RecoverRecreatesLostReclaimJobs) {
  const Lease lease = active_lease_at_expiry();
  // The job is lost (an operator cancelled it, or it died): recover() makes it again once overdue.
  ASSERT_TRUE(*jobs.cancel(std::string(kReclaimLeaseJob), lease_ref(lease.id)));
  ASSERT_TRUE(service().recover(10).ok());
  EXPECT_FALSE(job_of(lease.id));
  clock.advance(options.overdue_after);
  auto pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->jobs_ensured, 1);
  ASSERT_TRUE(job_of(lease.id));
  EXPECT_EQ(job_of(lease.id)->due_at, *lease.expires_at);

  // A reclaiming lease's job too.
  ASSERT_TRUE(service().request_reclaim(tenant, lease.id).ok());
  ASSERT_TRUE(*jobs.cancel(std::string(kReclaimLeaseJob), lease_ref(lease.id)));
  pass = service().recover(10);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->jobs_ensured, 1);
  EXPECT_TRUE(job_of(lease.id));
}

TEST_F(LeaseServiceTest, GetShowsTheChainTxsAndListIsTheTenantsOnly) {
  auto lease = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(lease), "ok");
  auto view = service().get(tenant, lease->id);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->chain_txs.size(), 1u);
  EXPECT_EQ(view->chain_txs[0].purpose, "lease_delegate");
  EXPECT_EQ(code_of(service().get(other_tenant, lease->id)), "not_found");
  EXPECT_EQ(service().list(tenant, {})->leases.size(), 1u);
  EXPECT_TRUE(service().list(other_tenant, {})->leases.empty());
}

TEST(LeaseNames, RefsAndPolicies) {
  EXPECT_EQ(lease_ref(42), "lease:42");
  EXPECT_EQ(lease_id_from_ref("lease:42"), 42);
  for (const char* bad : {"lease:", "lease:0", "lease:-1", "lease:4x", "pool:4", ""}) {
    EXPECT_FALSE(lease_id_from_ref(bad)) << bad;
  }
  EXPECT_EQ(refund_policy_from_name("prorata"), RefundPolicy::kProrata);
  EXPECT_EQ(refund_policy_from_name("none"), RefundPolicy::kNone);
  EXPECT_FALSE(refund_policy_from_name("full"));
  for (auto state : {LeaseState::kPending, LeaseState::kDelegating, LeaseState::kActive,
                     LeaseState::kReclaiming, LeaseState::kReclaimed, LeaseState::kFailed}) {
    EXPECT_EQ(lease_state_from_name(lease_state_name(state)), state);
  }
  EXPECT_TRUE(validate_lease_options({}).ok());
  LeaseServiceOptions bad;
  bad.reclaim_max_attempts = 0;
  EXPECT_EQ(validate_lease_options(bad).error().code, "config");
}

// ---- split leases ----------------------------------------------------------------------------

// Two pools that can each take only part of the stake: the own pool and a permission pool.
class SplitLeaseTest : public LeaseServiceTest {
 protected:
  SplitLeaseTest() {
    auto customer = make_account(kCustomerPool, 300 * kTrx, 20'000 * kTrx);
    customer.permissions.actives = {make_active("relayer", 1, {{kRelayer, 1}}, {57, 58})};
    fake.put_account(customer);
    EXPECT_TRUE(signers->admit_pool(kCustomerPool, 2).ok());
    customer_pool = add_pool(kCustomerPool, PoolKind::kPermission, 2, 5'000 * kTrx);
    set_delegatable(own_pool, 4'000 * kTrx);
    options.split_across_pools = true;
  }
  std::vector<Lease> group(int64_t first_id) {
    LeaseFilter filter;
    filter.group_id = first_id;
    auto page = leases.list(tenant, filter);
    EXPECT_TRUE(page.ok());
    std::vector<Lease> parts = page.ok() ? page->leases : std::vector<Lease>{};
    std::reverse(parts.begin(), parts.end());  // oldest (the first part) first
    return parts;
  }
  int64_t customer_pool = 0;
};

TEST_F(SplitLeaseTest, WithoutSplittingNoSinglePoolFitsAndNothingIsHeld) {
  options.split_across_pools = false;
  auto lease = service().create(tenant, inline_request());
  EXPECT_EQ(code_of(lease), "insufficient_capacity");
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(broadcasts().empty());
}

TEST_F(SplitLeaseTest, LeaseIsSplitLargestPoolFirstAndAddsUpToTheQuote) {
  auto created = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(created), "ok") << message_of(created);
  const std::vector<Lease> parts = group(created->id);
  ASSERT_EQ(parts.size(), 2u);
  const Lease& first = parts[0];
  const Lease& second = parts[1];
  EXPECT_EQ(first.id, created->id);
  EXPECT_FALSE(first.group_id);
  EXPECT_EQ(second.group_id, first.id);
  EXPECT_EQ(first.split_parts, 2);
  EXPECT_EQ(second.split_parts, 2);
  // The permission pool had the most free stake: it takes all it can, the own pool the rest.
  EXPECT_EQ(first.pool_id, customer_pool);
  EXPECT_EQ(first.permission_id, 2);
  EXPECT_EQ(first.stake_sun.value(), 5'000 * kTrx);
  EXPECT_EQ(second.pool_id, own_pool);
  EXPECT_EQ(second.stake_sun.value(), kStake - 5'000 * kTrx);
  // Energy and every price component add up to the quote exactly; the quote went to the first.
  EXPECT_EQ(first.energy.value() + second.energy.value(), 65'000);
  EXPECT_TRUE(first.quote_id.has_value());
  EXPECT_FALSE(second.quote_id.has_value());
  auto quote = quote_service.get(tenant, *first.quote_id);
  ASSERT_TRUE(quote.ok());
  const PriceBreakdown& whole = quote->quote.price;
  EXPECT_EQ(first.price.total_sun.value() + second.price.total_sun.value(),
            whole.total_sun.value());
  EXPECT_EQ(first.price.energy_sun.value() + second.price.energy_sun.value(),
            whole.energy_sun.value());
  EXPECT_EQ(first.price.bandwidth_sun.value() + second.price.bandwidth_sun.value(),
            whole.bandwidth_sun.value());
  // Both on chain, from their own pools under their own permission ids; both billed.
  for (const Lease& part : parts) EXPECT_EQ(part.state, LeaseState::kActive) << part.state_reason;
  ASSERT_EQ(broadcasts().size(), 2u);
  std::set<std::pair<std::string, int>> senders;
  for (const auto& tx : broadcasts()) {
    senders.insert({tx.owner().to_base58(), tx.permission_id()});
    EXPECT_EQ(tx.parameter_as<protocol::DelegateResourceContract>()->receiver_address(),
              kReceiver.proto_bytes());
  }
  EXPECT_EQ(senders, (std::set<std::pair<std::string, int>>{{kCustomerPool.to_base58(), 2},
                                                            {kOwnPool.to_base58(), 0}}));
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - whole.total_sun.value());
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(job_of(first.id));
  EXPECT_TRUE(job_of(second.id));

  // An early reclaim of either part ends the whole order.
  auto reclaiming = service().request_reclaim(tenant, second.id);
  ASSERT_EQ(code_of(reclaiming), "ok") << message_of(reclaiming);
  EXPECT_EQ(stored(first.id).state, LeaseState::kReclaiming);
  EXPECT_EQ(stored(second.id).state, LeaseState::kReclaiming);
  ASSERT_TRUE(service().reclaim(first.id).ok());
  ASSERT_TRUE(service().reclaim(second.id).ok());
  EXPECT_EQ(stored(first.id).state, LeaseState::kReclaimed);
  EXPECT_EQ(stored(second.id).state, LeaseState::kReclaimed);
  EXPECT_TRUE(open_reservations(customer_pool).empty());
  EXPECT_TRUE(open_reservations(own_pool).empty());
}

TEST_F(SplitLeaseTest, APartThatFailsOnChainIsRefundedAndTheOthersStand) {
  // The permission pool's account is gone by the time its delegation reaches a block.
  fake.remove_account(kCustomerPool);
  auto created = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(created), "ok") << message_of(created);
  // The answer is a part that stands, not the failed first one: the order is half delivered.
  EXPECT_EQ(created->state, LeaseState::kActive);
  const std::vector<Lease> parts = group(group_of(*created));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].state, LeaseState::kFailed);
  EXPECT_EQ(parts[1].state, LeaseState::kActive);
  EXPECT_EQ(created->id, parts[1].id);
  // Only the part that landed is paid for.
  EXPECT_EQ(balance(tenant).balance.value(), 100 * kTrx - parts[1].price.total_sun.value());
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(customer_pool).empty());

  // The failed part cannot be reclaimed, as a failed lease cannot; the one on chain can.
  EXPECT_EQ(code_of(service().request_reclaim(tenant, parts[0].id)), "conflict");
  auto reclaiming = service().request_reclaim(tenant, parts[1].id);
  ASSERT_EQ(code_of(reclaiming), "ok") << message_of(reclaiming);
  EXPECT_EQ(reclaiming->state, LeaseState::kReclaiming);
}

TEST_F(SplitLeaseTest, AGroupReclaimWithAPartStillDelegatingIsRefusedUntilItIsActive) {
  auto created = service().create(tenant, inline_request());
  ASSERT_EQ(code_of(created), "ok") << message_of(created);
  const std::vector<Lease> parts = group(group_of(*created));
  ASSERT_EQ(parts.size(), 2u);
  // As if the second part's block had not come yet.
  leases.update(parts[1].id, [](Lease& lease) { lease.state = LeaseState::kDelegating; });
  EXPECT_EQ(code_of(service().request_reclaim(tenant, parts[0].id)), "conflict");
  EXPECT_EQ(stored(parts[0].id).state, LeaseState::kReclaiming);  // the rest is under way
  leases.update(parts[1].id, [](Lease& lease) { lease.state = LeaseState::kActive; });
  auto retried = service().request_reclaim(tenant, parts[0].id);
  ASSERT_EQ(code_of(retried), "ok") << message_of(retried);
  EXPECT_EQ(stored(parts[1].id).state, LeaseState::kReclaiming);
}

TEST_F(SplitLeaseTest, AdmissionIsAllOrNothing) {
  // Money for the first part only: no row is left, nothing is held, the quote stays open.
  const int64_t poor = store.tenants.create("poor")->id;
  QuoteRequest terms;
  terms.receiver = kReceiver;
  terms.energy = Energy(65'000);
  terms.duration_s = 3'600;
  auto poor_quote = quote_service.create(poor, terms);
  ASSERT_TRUE(poor_quote.ok()) << poor_quote.error().message;
  ASSERT_TRUE(
      store.ledger.credit(poor, Sun(poor_quote->price.total_sun.value() * 3 / 4), "c").ok());
  LeaseRequest request;
  request.quote_id = poor_quote->id;
  EXPECT_EQ(code_of(service().create(poor, request)), "insufficient_balance");
  EXPECT_EQ(leases.size(), 0u);
  EXPECT_EQ(balance(poor).reserved.value(), 0);
  EXPECT_EQ(quote_service.get(poor, poor_quote->id)->state, QuoteState::kOpen);

  // Capacity taken between the plan and the reservations: every part refused, nothing held.
  pools.reserve_hook = [&](int64_t pool_id) -> std::optional<common::Error> {
    if (pool_id == own_pool) return common::make_error("insufficient_capacity", "taken");
    return std::nullopt;
  };
  auto refused = service().create(tenant, inline_request());
  EXPECT_EQ(code_of(refused), "insufficient_capacity");
  EXPECT_EQ(balance(tenant).reserved.value(), 0);
  EXPECT_TRUE(open_reservations(customer_pool).empty());
  EXPECT_TRUE(broadcasts().empty());
}

}  // namespace
}  // namespace relay::energy
