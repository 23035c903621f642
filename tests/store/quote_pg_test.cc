// PgQuoteRepository against PostgreSQL: round trips, tenant scoping, a quote taken exactly once
// however many leases race for it, the sweeper, and the table refusing rewrites. Also
// PgPoolCapacityRepository::max_free_sun, which quotes ask for "fillable".
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "store/pool_repository.h"
#include "store/quote_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::Energy;
using common::Sun;
using common::TimePoint;
using energy::Quote;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();

const auto new_address = testing::random_address;

// Ids unique across runs sharing the binary's database.
std::string new_quote_id() { return "q_" + common::to_hex(testing::random_bytes(8)); }

Quote make_quote(int64_t tenant_id, TimePoint created_at = kT0) {
  Quote q;
  q.id = new_quote_id();
  q.tenant_id = tenant_id;
  q.receiver = new_address();
  q.energy = Energy(65'000);
  q.duration_s = 3'600;
  q.stake_sun = Sun(6'998'333'334);
  q.price.unit_price_sun_per_energy = 60;
  q.price.energy_sun = Sun(3'900'000);
  q.price.bandwidth_sun = Sun(562'000);
  q.price.activation_sun = Sun(0);
  q.price.total_sun = Sun(4'462'000);
  q.activation_required = false;
  q.fillable = true;
  q.total_energy_limit = 180'000'000'000;
  q.total_energy_weight = 19'000'000'000;
  q.created_at = created_at;
  q.expires_at = created_at + seconds(30);
  return q;
}

class QuotePgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    tenants_ = std::make_unique<PgTenantRepository>(db());
    quotes_ = std::make_unique<PgQuoteRepository>(db());
  }

  int64_t new_tenant() {
    auto tenant = tenants_->create("quote-test");
    EXPECT_TRUE(tenant.ok()) << tenant.error().message;
    return tenant.ok() ? tenant->id : 0;
  }

  Quote stored(const Quote& q) {
    auto inserted = quotes_->insert(q);
    EXPECT_TRUE(inserted.ok()) << inserted.error().message;
    return q;
  }

  bool exists(const std::string& id) {
    return scalar("SELECT count(*) FROM quotes WHERE id = '" + id + "'") == "1";
  }

  // Runs a statement that must fail; its error text.
  std::string refused(const std::string& sql) {
    pqxx::connection conn(url());
    pqxx::nontransaction tx(conn);
    try {
      tx.exec0(sql);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "accepted";
  }

  std::unique_ptr<PgTenantRepository> tenants_;
  std::unique_ptr<PgQuoteRepository> quotes_;
};

TEST_F(QuotePgTest, RoundTripsEveryFieldAndIsTenantScoped) {
  const int64_t t = new_tenant();
  const int64_t other = new_tenant();
  Quote plain = stored(make_quote(t));
  Quote usdt = make_quote(t);
  usdt.activation_required = true;
  usdt.fillable = false;
  usdt.price.activation_sun = Sun(1'100'000);
  usdt.price.total_sun = Sun(5'562'000);
  usdt.usdt_transfer = energy::UsdtTransferEstimate{.to = new_address(),
                                                    .amount = 2'500'000,
                                                    .energy_required = 130'285,
                                                    .receiver_available = 0};
  usdt.created_at = kT0 + std::chrono::microseconds(123'456);  // microseconds survive
  usdt.expires_at = usdt.created_at + seconds(30);
  stored(usdt);

  for (const Quote& q : {plain, usdt}) {
    auto found = quotes_->find(q.id, t);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value()) << q.id;
    const Quote& f = **found;
    EXPECT_EQ(f.id, q.id);
    EXPECT_EQ(f.tenant_id, t);
    EXPECT_EQ(f.receiver, q.receiver);
    EXPECT_EQ(f.energy, q.energy);
    EXPECT_EQ(f.duration_s, q.duration_s);
    EXPECT_EQ(f.stake_sun, q.stake_sun);
    EXPECT_EQ(f.price, q.price);
    EXPECT_EQ(f.activation_required, q.activation_required);
    EXPECT_EQ(f.fillable, q.fillable);
    EXPECT_EQ(f.total_energy_limit, q.total_energy_limit);
    EXPECT_EQ(f.total_energy_weight, q.total_energy_weight);
    EXPECT_EQ(f.usdt_transfer.has_value(), q.usdt_transfer.has_value());
    if (q.usdt_transfer) {
      EXPECT_EQ(f.usdt_transfer->to, q.usdt_transfer->to);
      EXPECT_EQ(f.usdt_transfer->amount, q.usdt_transfer->amount);
      EXPECT_EQ(f.usdt_transfer->energy_required, q.usdt_transfer->energy_required);
      EXPECT_EQ(f.usdt_transfer->receiver_available, q.usdt_transfer->receiver_available);
    }
    EXPECT_EQ(f.created_at, q.created_at);
    EXPECT_EQ(f.expires_at, q.expires_at);
    EXPECT_FALSE(f.used_at.has_value());
    EXPECT_EQ(f.used_by, "");

    auto hidden = quotes_->find(q.id, other);
    ASSERT_TRUE(hidden.ok());
    EXPECT_FALSE(hidden->has_value());
  }
  auto unknown = quotes_->find(new_quote_id(), t);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(QuotePgTest, ATakenIdIsAConflictAndAnUnknownTenantNotFound) {
  const int64_t t = new_tenant();
  Quote q = stored(make_quote(t));
  Quote again = make_quote(t);
  again.id = q.id;
  auto duplicate = quotes_->insert(again);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "conflict");
  EXPECT_EQ((*quotes_->find(q.id, t))->receiver, q.receiver);  // the first one stays

  auto orphan = quotes_->insert(make_quote(t + 1'000'000));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, "not_found");
}

TEST_F(QuotePgTest, InconsistentQuotesAreRefusedByTheTable) {
  const int64_t t = new_tenant();
  Quote wrong_total = make_quote(t);
  wrong_total.price.total_sun = Sun(1);
  Quote wrong_energy = make_quote(t);
  wrong_energy.price.energy_sun = Sun(3'900'001);
  Quote no_time = make_quote(t);
  no_time.expires_at = no_time.created_at;
  Quote free_activation = make_quote(t);  // activation charged without being required
  free_activation.price.activation_sun = Sun(1);
  free_activation.price.total_sun = Sun(4'462'001);
  Quote bad_id = make_quote(t);
  bad_id.id = "q_ABCDEF0123456789";
  Quote tiny_stake = make_quote(t);
  tiny_stake.stake_sun = Sun(999'999);
  for (const Quote& q : {wrong_total, wrong_energy, no_time, free_activation, bad_id, tiny_stake}) {
    auto inserted = quotes_->insert(q);
    ASSERT_FALSE(inserted.ok()) << q.id;
    EXPECT_EQ(inserted.error().code, "internal") << q.id;
    EXPECT_FALSE(exists(q.id));
  }
}

TEST_F(QuotePgTest, MarkUsedTakesAQuoteOnceBeforeItExpires) {
  const int64_t t = new_tenant();
  const int64_t other = new_tenant();
  Quote q = stored(make_quote(t));
  const TimePoint at = kT0 + seconds(5);

  auto theirs = quotes_->mark_used(q.id, other, "lease:1", at);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, "not_found");
  EXPECT_EQ(quotes_->mark_used(new_quote_id(), t, "lease:1", at).error().code, "not_found");
  EXPECT_EQ(quotes_->mark_used(q.id, t, "", at).error().code, "invalid_request");

  auto taken = quotes_->mark_used(q.id, t, "lease:1", at);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken->used_at, at);
  EXPECT_EQ(taken->used_by, "lease:1");
  EXPECT_EQ(taken->stake_sun, q.stake_sun);
  EXPECT_EQ(taken->price, q.price);

  // The same lease retrying gets it back unchanged; another lease gets a conflict.
  auto retried = quotes_->mark_used(q.id, t, "lease:1", at + seconds(10));
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(retried->used_at, at);
  auto second = quotes_->mark_used(q.id, t, "lease:2", at);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "conflict");
  EXPECT_NE(second.error().message.find("already used"), std::string::npos);

  auto found = quotes_->find(q.id, t);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->used_at, at);
  EXPECT_EQ((*found)->used_by, "lease:1");
}

TEST_F(QuotePgTest, AnExpiredQuoteCannotBeTaken) {
  const int64_t t = new_tenant();
  Quote q = stored(make_quote(t));
  // expires_at itself is too late: a quote is good strictly before it.
  auto late = quotes_->mark_used(q.id, t, "lease:1", q.expires_at);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "conflict");
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
  auto just_in_time =
      quotes_->mark_used(q.id, t, "lease:1", q.expires_at - std::chrono::microseconds(1));
  EXPECT_TRUE(just_in_time.ok()) << just_in_time.error().message;
}

TEST_F(QuotePgTest, RacingLeasesTakeAQuoteExactlyOnce) {
  const int64_t t = new_tenant();
  for (int round = 0; round < 5; ++round) {
    Quote q = stored(make_quote(t));
    constexpr int kRacers = 12;
    std::atomic<int> won{0}, conflicts{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kRacers; ++i) {
      threads.emplace_back([&, i] {
        auto r = quotes_->mark_used(q.id, t, "lease:" + std::to_string(i), kT0 + seconds(1));
        if (r.ok()) {
          ++won;
        } else if (r.error().code == "conflict") {
          ++conflicts;
        } else {
          ++other;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(conflicts.load(), kRacers - 1);
    EXPECT_EQ(other.load(), 0);
  }
}

TEST_F(QuotePgTest, DeleteExpiredSweepsOnlyUnusedExpiredQuotes) {
  // Quotes far in the past, so that the other tests' quotes (at kT0) are not swept.
  const TimePoint past = kT0 - std::chrono::hours(24 * 365);
  const int64_t t = new_tenant();
  Quote old_a = stored(make_quote(t, past));
  Quote old_b = stored(make_quote(t, past + seconds(1)));
  Quote old_c = stored(make_quote(t, past + seconds(2)));
  Quote old_used = stored(make_quote(t, past));
  ASSERT_TRUE(quotes_->mark_used(old_used.id, t, "lease:7", past + seconds(1)).ok());
  Quote recent = stored(make_quote(t, past + seconds(100)));

  const TimePoint before = past + seconds(60);
  EXPECT_EQ(*quotes_->delete_expired(before, 0), 0);
  auto first = quotes_->delete_expired(before, 2);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 2);
  EXPECT_FALSE(exists(old_a.id));  // oldest expiry first
  EXPECT_FALSE(exists(old_b.id));
  EXPECT_TRUE(exists(old_c.id));
  EXPECT_EQ(*quotes_->delete_expired(before, 100), 1);
  EXPECT_FALSE(exists(old_c.id));
  EXPECT_EQ(*quotes_->delete_expired(before, 100), 0);
  EXPECT_TRUE(exists(old_used.id));  // its lease refers to it
  EXPECT_TRUE(exists(recent.id));
}

TEST_F(QuotePgTest, TheTableRefusesRewritesOfAQuote) {
  const int64_t t = new_tenant();
  Quote q = stored(make_quote(t));
  const std::string where = " WHERE id = '" + q.id + "'";
  EXPECT_NE(refused("UPDATE quotes SET total_sun = 1, energy_sun = 1, unit_price_sun_per_energy = 1"
                    ", energy = 1" +
                    where)
                .find("immutable"),
            std::string::npos);
  EXPECT_NE(refused("UPDATE quotes SET expires_at = expires_at + interval '1 hour'" + where)
                .find("immutable"),
            std::string::npos);
  ASSERT_TRUE(quotes_->mark_used(q.id, t, "lease:1", kT0 + seconds(1)).ok());
  EXPECT_NE(refused("UPDATE quotes SET used_at = NULL, used_by = NULL" + where).find("immutable"),
            std::string::npos);
  EXPECT_NE(refused("UPDATE quotes SET used_by = 'lease:2'" + where).find("immutable"),
            std::string::npos);
  EXPECT_NE(refused("DELETE FROM quotes" + where).find("delete refused"), std::string::npos);
  EXPECT_EQ((*quotes_->find(q.id, t))->used_by, "lease:1");
}

// max_free_sun looks at every pool in the database: this test gets a database of its own.
TEST_F(QuotePgTest, MaxFreeSunIsTheLargestFreeCapacityOfAnActivePool) {
  const std::string own = fresh_migrated_database_url();
  ASSERT_FALSE(own.empty());
  auto opened = Database::open(own, 2);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Database& db = **opened;
  PgTenantRepository tenants(db);
  PgPoolRepository pools(db);
  PgPoolCapacityRepository capacity(db);
  EXPECT_EQ(*capacity.max_free_sun(), 0);  // no pools at all

  const int64_t t = tenants.create("pools")->id;
  auto pool = [&](energy::PoolStatus status, std::optional<int64_t> delegatable) {
    energy::NewPool p;
    p.tenant_id = t;
    p.address = new_address();
    p.kind = energy::PoolKind::kOwn;
    p.name = "p";
    p.status = status;
    const int64_t id = pools.create(p)->id;
    if (delegatable) {
      energy::PoolSnapshot s;
      s.observed_at = kT0;
      s.staked_energy_sun = *delegatable;
      s.delegatable_sun = *delegatable;
      EXPECT_TRUE(pools.record_snapshot(id, s).ok());
    }
    return id;
  };
  pool(energy::PoolStatus::kActive, std::nullopt);  // no snapshot: nothing can be promised
  pool(energy::PoolStatus::kSuspended, 90'000'000'000);
  pool(energy::PoolStatus::kPending, 80'000'000'000);
  EXPECT_EQ(*capacity.max_free_sun(), 0);
  const int64_t small = pool(energy::PoolStatus::kActive, 3'000'000'000);
  const int64_t big = pool(energy::PoolStatus::kActive, 7'000'000'000);
  EXPECT_EQ(*capacity.max_free_sun(), 7'000'000'000);
  // Reservations count against it.
  ASSERT_TRUE(capacity.reserve(big, 5'000'000'000, "lease:1", kT0 + seconds(1)).ok());
  EXPECT_EQ(*capacity.max_free_sun(), 3'000'000'000);
  ASSERT_TRUE(capacity.reserve(small, 1'000'000'000, "lease:2", kT0 + seconds(1)).ok());
  EXPECT_EQ(*capacity.max_free_sun(), 2'000'000'000);
}

}  // namespace
}  // namespace relay::store
