#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <random>
#include <thread>

#include "store/ledger_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::Sun;
using energy::EntryKind;
using energy::HoldState;

class LedgerPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    tenants_ = std::make_unique<PgTenantRepository>(db());
    ledger_ = std::make_unique<PgLedgerRepository>(db());
  }

  int64_t new_tenant(int64_t credit = 0) {
    auto tenant = tenants_->create("ledger-test");
    EXPECT_TRUE(tenant.ok());
    if (credit > 0) {
      EXPECT_TRUE(ledger_->credit(tenant->id, Sun(credit), "admin:credit").ok());
    }
    return tenant->id;
  }

  std::pair<int64_t, int64_t> balance_of(int64_t tenant) {
    auto b = ledger_->balance(tenant);
    EXPECT_TRUE(b.ok()) << b.error().message;
    return {b->balance.value(), b->reserved.value()};
  }

  // The running totals on every tenant equal what the entries define, and reserved equals the sum
  // of open holds: the denormalized columns never drift.
  void expect_totals_match_entries() {
    EXPECT_EQ(scalar("SELECT count(*) FROM tenants t JOIN ledger_balances_derived d "
                     "ON d.tenant_id = t.id WHERE d.balance_sun <> t.balance_sun "
                     "OR d.reserved_sun <> t.reserved_sun"),
              "0");
    EXPECT_EQ(scalar("SELECT count(*) FROM tenants t WHERE t.reserved_sun <> "
                     "(SELECT coalesce(sum(amount), 0) FROM holds h "
                     " WHERE h.tenant_id = t.id AND h.state = 'open')"),
              "0");
    EXPECT_EQ(scalar("SELECT count(*) FROM tenants WHERE balance_sun < reserved_sun"), "0");
  }

  std::unique_ptr<PgTenantRepository> tenants_;
  std::unique_ptr<PgLedgerRepository> ledger_;
};

TEST_F(LedgerPgTest, CreditDebitRefundMoveTheBalance) {
  const int64_t t = new_tenant();
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{0}, int64_t{0}));

  auto credit = ledger_->credit(t, Sun(5'000'000), "admin:credit");
  ASSERT_TRUE(credit.ok()) << credit.error().message;
  EXPECT_EQ(credit->kind, EntryKind::kCredit);
  EXPECT_EQ(credit->amount, Sun(5'000'000));
  EXPECT_EQ(credit->tenant_id, t);
  EXPECT_FALSE(credit->hold_id.has_value());
  EXPECT_EQ(credit->reference, "admin:credit");

  auto debit = ledger_->debit(t, Sun(1'250'000), "lease:1");
  ASSERT_TRUE(debit.ok());
  EXPECT_EQ(debit->kind, EntryKind::kDebit);
  auto refund = ledger_->refund(t, Sun(250'000), "lease:1");
  ASSERT_TRUE(refund.ok());
  EXPECT_EQ(refund->kind, EntryKind::kRefund);
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{4'000'000}, int64_t{0}));

  auto too_much = ledger_->debit(t, Sun(4'000'001), "lease:2");
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().code, "insufficient_balance");
  auto exact = ledger_->debit(t, Sun(4'000'000), "lease:2");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{0}, int64_t{0}));
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, OpenHoldsCountsWhatIsSetAsideAcrossTenants) {
  const int64_t t = new_tenant(10'000'000);
  // The tests of this binary share one database: against a baseline, not absolute counts.
  auto before = ledger_->open_holds();
  ASSERT_TRUE(before.ok()) << before.error().message;
  auto hold = ledger_->place_hold(t, Sun(3'000'000), "lease:open-holds");
  ASSERT_TRUE(hold.ok()) << hold.error().message;
  auto during = ledger_->open_holds();
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(during->count, before->count + 1);
  EXPECT_EQ(during->amount.value(), before->amount.value() + 3'000'000);
  ASSERT_TRUE(ledger_->release(hold->id).ok());
  auto after = ledger_->open_holds();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->count, before->count);
}

TEST_F(LedgerPgTest, RefusesNonPositiveAmountsUnknownTenantsAndOverflow) {
  const int64_t t = new_tenant(100);
  for (int64_t bad : {int64_t{0}, int64_t{-1}}) {
    EXPECT_EQ(ledger_->credit(t, Sun(bad), "x").error().code, "invalid_request");
    EXPECT_EQ(ledger_->debit(t, Sun(bad), "x").error().code, "invalid_request");
    EXPECT_EQ(ledger_->refund(t, Sun(bad), "x").error().code, "invalid_request");
    EXPECT_EQ(ledger_->place_hold(t, Sun(bad), "x").error().code, "invalid_request");
  }
  const int64_t nobody = t + 1'000'000;
  EXPECT_EQ(ledger_->credit(nobody, Sun(1), "x").error().code, "not_found");
  EXPECT_EQ(ledger_->place_hold(nobody, Sun(1), "x").error().code, "not_found");
  EXPECT_EQ(ledger_->balance(nobody).error().code, "not_found");

  const int64_t rich = new_tenant(std::numeric_limits<int64_t>::max());
  auto overflow = ledger_->credit(rich, Sun(1), "x");
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error().code, "invalid_request");
  EXPECT_EQ(balance_of(rich).first, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{100}, int64_t{0}));
}

TEST_F(LedgerPgTest, HoldReservesAndCaptureChargesReleasingTheRest) {
  const int64_t t = new_tenant(1'000);
  auto hold = ledger_->place_hold(t, Sun(600), "lease:7");
  ASSERT_TRUE(hold.ok()) << hold.error().message;
  EXPECT_EQ(hold->state, HoldState::kOpen);
  EXPECT_EQ(hold->amount, Sun(600));
  EXPECT_EQ(hold->captured, Sun(0));
  EXPECT_EQ(hold->tenant_id, t);
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{1'000}, int64_t{600}));

  // Only 400 is available now.
  EXPECT_EQ(ledger_->place_hold(t, Sun(401), "lease:8").error().code, "insufficient_balance");
  EXPECT_EQ(ledger_->debit(t, Sun(401), "x").error().code, "insufficient_balance");

  EXPECT_EQ(ledger_->capture(hold->id, Sun(601)).error().code, "invalid_request");
  EXPECT_EQ(ledger_->capture(hold->id, Sun(0)).error().code, "invalid_request");
  auto captured = ledger_->capture(hold->id, Sun(450));
  ASSERT_TRUE(captured.ok()) << captured.error().message;
  EXPECT_EQ(captured->state, HoldState::kCaptured);
  EXPECT_EQ(captured->captured, Sun(450));
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{550}, int64_t{0}));

  auto found = ledger_->find_hold(hold->id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->state, HoldState::kCaptured);
  EXPECT_EQ((*found)->captured, Sun(450));
  EXPECT_EQ((*found)->reference, "lease:7");

  auto page = ledger_->entries(t, std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 4u);  // release 150, capture 450, hold 600, credit 1000
  EXPECT_EQ(page->entries[0].kind, EntryKind::kRelease);
  EXPECT_EQ(page->entries[0].amount, Sun(150));
  EXPECT_EQ(page->entries[0].hold_id, hold->id);
  EXPECT_EQ(page->entries[1].kind, EntryKind::kCapture);
  EXPECT_EQ(page->entries[1].amount, Sun(450));
  EXPECT_EQ(page->entries[2].kind, EntryKind::kHold);
  EXPECT_EQ(page->entries[3].kind, EntryKind::kCredit);
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, FullCaptureWritesNoRelease) {
  const int64_t t = new_tenant(500);
  auto hold = ledger_->place_hold(t, Sun(500), "relay:1");
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{500}, int64_t{500}));
  ASSERT_TRUE(ledger_->capture(hold->id, Sun(500)).ok());
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{0}, int64_t{0}));
  auto page = ledger_->entries(t, std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_EQ(page->entries[0].kind, EntryKind::kCapture);
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, SettledHoldsConflict) {
  const int64_t t = new_tenant(1'000);
  auto captured = ledger_->place_hold(t, Sun(300), "a");
  auto released = ledger_->place_hold(t, Sun(200), "b");
  ASSERT_TRUE(captured.ok() && released.ok());

  ASSERT_TRUE(ledger_->capture(captured->id, Sun(100)).ok());
  auto twice = ledger_->capture(captured->id, Sun(100));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "conflict");
  EXPECT_EQ(ledger_->release(captured->id).error().code, "conflict");

  auto r = ledger_->release(released->id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, HoldState::kReleased);
  EXPECT_EQ(r->captured, Sun(0));
  EXPECT_EQ(ledger_->release(released->id).error().code, "conflict");
  EXPECT_EQ(ledger_->capture(released->id, Sun(1)).error().code, "conflict");

  EXPECT_EQ(ledger_->capture(captured->id + 1'000'000, Sun(1)).error().code, "not_found");
  EXPECT_EQ(ledger_->release(captured->id + 1'000'000).error().code, "not_found");
  auto none = ledger_->find_hold(captured->id + 1'000'000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{900}, int64_t{0}));
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, FiftyConcurrentHoldsNeverOverdraw) {
  const int64_t t = new_tenant(1'000);
  std::atomic<int> placed{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      auto hold = ledger_->place_hold(t, Sun(30), "race:" + std::to_string(i));
      if (hold.ok()) {
        ++placed;
      } else if (hold.error().code == "insufficient_balance") {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << hold.error().code << ": " << hold.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(placed.load(), 33);  // 33 × 30 = 990 ≤ 1000 < 34 × 30
  EXPECT_EQ(refused.load(), 17);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{1'000}, int64_t{990}));
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, MixedConcurrentTrafficKeepsTotalsExact) {
  const int64_t t = new_tenant(10'000);
  std::atomic<int64_t> charged{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int worker = 0; worker < 8; ++worker) {
    threads.emplace_back([&, worker] {
      std::mt19937 rng(1234 + worker);
      for (int step = 0; step < 25; ++step) {
        const int64_t amount = 1 + static_cast<int64_t>(rng() % 400);
        auto hold = ledger_->place_hold(t, Sun(amount), "mixed");
        if (!hold.ok()) {
          if (hold.error().code != "insufficient_balance") ++unexpected;
          continue;
        }
        switch (rng() % 3) {
          case 0: {
            const int64_t part = 1 + static_cast<int64_t>(rng() % amount);
            if (ledger_->capture(hold->id, Sun(part)).ok())
              charged += part;
            else
              ++unexpected;
            break;
          }
          case 1:
            if (!ledger_->release(hold->id).ok()) ++unexpected;
            break;
          default:
            if (ledger_->capture(hold->id, Sun(amount)).ok())
              charged += amount;
            else
              ++unexpected;
            if (ledger_->refund(t, Sun(amount), "mixed:refund").ok())
              charged -= amount;
            else
              ++unexpected;
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(balance_of(t), std::make_pair(10'000 - charged.load(), int64_t{0}));
  expect_totals_match_entries();
}

TEST_F(LedgerPgTest, EntriesPaginateNewestFirst) {
  const int64_t t = new_tenant();
  std::vector<int64_t> ids;
  for (int i = 1; i <= 25; ++i) {
    auto e = ledger_->credit(t, Sun(i), "page:" + std::to_string(i));
    ASSERT_TRUE(e.ok());
    ids.push_back(e->id);
  }
  std::vector<int64_t> seen;
  std::optional<int64_t> before;
  std::vector<size_t> sizes;
  do {
    auto page = ledger_->entries(t, before, 10);
    ASSERT_TRUE(page.ok()) << page.error().message;
    sizes.push_back(page->entries.size());
    for (const auto& e : page->entries) seen.push_back(e.id);
    before = page->next_before;
  } while (before);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  std::reverse(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);

  auto exact = ledger_->entries(t, std::nullopt, 25);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->entries.size(), 25u);
  EXPECT_FALSE(exact->next_before.has_value());
  EXPECT_EQ(ledger_->entries(t, std::nullopt, 0).error().code, "invalid_request");
  // Another tenant's entries never show.
  auto other = ledger_->entries(new_tenant(5), std::nullopt, 100);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->entries.size(), 1u);
  EXPECT_EQ(other->entries[0].amount, Sun(5));
}

TEST_F(LedgerPgTest, EntriesAndSettledHoldsCannotBeRewritten) {
  const int64_t t = new_tenant(100);
  auto hold = ledger_->place_hold(t, Sun(40), "x");
  ASSERT_TRUE(hold.ok());
  ASSERT_TRUE(ledger_->capture(hold->id, Sun(40)).ok());
  auto run = [&](const std::string& sql) {
    return db().transaction([&](pqxx::work& tx) -> common::Status {
      tx.exec(sql);
      return {};
    });
  };
  const std::string of_t = " WHERE tenant_id = " + std::to_string(t);
  for (const std::string& sql :
       {"UPDATE ledger_entries SET amount = 1" + of_t, "DELETE FROM ledger_entries" + of_t,
        std::string("TRUNCATE ledger_entries CASCADE"),
        "UPDATE holds SET state = 'open', settled_at = NULL, captured = 0" + of_t,
        "DELETE FROM holds" + of_t}) {
    auto result = run(sql);
    ASSERT_FALSE(result.ok()) << sql;
    EXPECT_EQ(result.error().code, "internal");
    EXPECT_NE(result.error().message.find("refused"), std::string::npos) << result.error().message;
  }
  EXPECT_EQ(balance_of(t), std::make_pair(int64_t{60}, int64_t{0}));
  EXPECT_EQ(scalar("SELECT count(*) FROM ledger_entries" + of_t), "3");
  // The database refuses totals that would overdraw, whatever writes them.
  EXPECT_FALSE(run("UPDATE tenants SET reserved_sun = balance_sun + 1" + of_t).ok());
}

}  // namespace
}  // namespace relay::store
