#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "store/audit_log.h"
#include "store/idempotency_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using energy::IdempotencyOutcome;
using energy::StoredResponse;

const common::TimePoint kNow = common::ManualClock::at_ms(1'700'000'000'000).now();

class IdempotencyPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    keys_ = std::make_unique<PgIdempotencyRepository>(db());
    PgTenantRepository tenants(db());
    tenant_ = tenants.create("idem")->id;
    other_tenant_ = tenants.create("idem-other")->id;
  }

  IdempotencyOutcome claim(int64_t tenant, const std::string& key, const std::string& hash) {
    auto c = keys_->claim(tenant, key, hash, kNow);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? c->outcome : IdempotencyOutcome::kMismatch;
  }

  std::unique_ptr<PgIdempotencyRepository> keys_;
  int64_t tenant_ = 0;
  int64_t other_tenant_ = 0;
};

TEST_F(IdempotencyPgTest, ClaimRunsOnceThenReplays) {
  EXPECT_EQ(claim(tenant_, "k1", "POST /v1/leases h1"), IdempotencyOutcome::kStarted);
  EXPECT_EQ(claim(tenant_, "k1", "POST /v1/leases h1"), IdempotencyOutcome::kInProgress);
  EXPECT_EQ(claim(tenant_, "k1", "POST /v1/leases h2"), IdempotencyOutcome::kMismatch);

  ASSERT_TRUE(keys_->complete(tenant_, "k1", StoredResponse{201, R"({"id":"lease_1"})"}).ok());
  auto replay = keys_->claim(tenant_, "k1", "POST /v1/leases h1", kNow);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->outcome, IdempotencyOutcome::kReplay);
  ASSERT_TRUE(replay->response.has_value());
  EXPECT_EQ(replay->response->status, 201);
  EXPECT_EQ(replay->response->body, R"({"id":"lease_1"})");
  EXPECT_EQ(claim(tenant_, "k1", "POST /v1/leases h2"), IdempotencyOutcome::kMismatch);

  // Completing twice, or abandoning a completed key, would lose the stored response.
  EXPECT_EQ(keys_->complete(tenant_, "k1", StoredResponse{500, ""}).error().code, "conflict");
  EXPECT_EQ(keys_->abandon(tenant_, "k1").error().code, "conflict");
}

TEST_F(IdempotencyPgTest, KeysAreScopedToTheTenant) {
  EXPECT_EQ(claim(tenant_, "shared", "a"), IdempotencyOutcome::kStarted);
  EXPECT_EQ(claim(other_tenant_, "shared", "b"), IdempotencyOutcome::kStarted);
}

TEST_F(IdempotencyPgTest, AbandonFreesTheKeyForARetry) {
  EXPECT_EQ(claim(tenant_, "k2", "h"), IdempotencyOutcome::kStarted);
  ASSERT_TRUE(keys_->abandon(tenant_, "k2").ok());
  EXPECT_EQ(claim(tenant_, "k2", "h-different-body-is-fine-now"), IdempotencyOutcome::kStarted);
  EXPECT_EQ(keys_->abandon(tenant_, "never-claimed").error().code, "not_found");
  EXPECT_EQ(keys_->complete(tenant_, "never-claimed", StoredResponse{200, "{}"}).error().code,
            "not_found");
}

TEST_F(IdempotencyPgTest, RefusesBadKeys) {
  EXPECT_EQ(keys_->claim(tenant_, "", "h", kNow).error().code, "invalid_request");
  EXPECT_EQ(keys_->claim(tenant_, std::string(256, 'k'), "h", kNow).error().code,
            "invalid_request");
  EXPECT_EQ(keys_->claim(tenant_, "k", "", kNow).error().code, "invalid_request");
  EXPECT_EQ(claim(tenant_, std::string(255, 'k'), "h"), IdempotencyOutcome::kStarted);
}

TEST_F(IdempotencyPgTest, ExactlyOneOfManyConcurrentClaimsStarts) {
  std::atomic<int> started{0};
  std::atomic<int> in_progress{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      auto c = keys_->claim(tenant_, "raced", "same body", kNow);
      ASSERT_TRUE(c.ok()) << c.error().message;
      if (c->outcome == IdempotencyOutcome::kStarted) ++started;
      if (c->outcome == IdempotencyOutcome::kInProgress) ++in_progress;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(in_progress.load(), 11);
}

TEST_F(IdempotencyPgTest, AStaleKeyInProgressIsTakenOverBySameRequest) {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  EXPECT_EQ(claim(tenant_, "crashed", "h"), IdempotencyOutcome::kStarted);
  // Its owner never completes. Up to ten minutes the key is still running somewhere...
  EXPECT_EQ(keys_->claim(tenant_, "crashed", "h", kNow + minutes(10))->outcome,
            IdempotencyOutcome::kInProgress);
  // ...after that it is stale: another body is still refused, the same body takes the key over.
  const auto later = kNow + minutes(10) + milliseconds(1);
  EXPECT_EQ(keys_->claim(tenant_, "crashed", "h2", later)->outcome, IdempotencyOutcome::kMismatch);
  EXPECT_EQ(keys_->claim(tenant_, "crashed", "h", later)->outcome, IdempotencyOutcome::kStarted);
  // The new owner's run counts from its own claim.
  EXPECT_EQ(keys_->claim(tenant_, "crashed", "h", later + minutes(9))->outcome,
            IdempotencyOutcome::kInProgress);
  ASSERT_TRUE(keys_->complete(tenant_, "crashed", StoredResponse{201, "{}"}).ok());
  auto replay = keys_->claim(tenant_, "crashed", "h", later + minutes(60));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->outcome, IdempotencyOutcome::kReplay);
  EXPECT_EQ(replay->response->status, 201);
}

TEST_F(IdempotencyPgTest, TheStaleLimitIsConfigurable) {
  PgIdempotencyRepository quick(db(), {.stale_after = std::chrono::minutes(1)});
  ASSERT_EQ(quick.claim(tenant_, "quick", "h", kNow)->outcome, IdempotencyOutcome::kStarted);
  EXPECT_EQ(quick.claim(tenant_, "quick", "h", kNow + std::chrono::seconds(60))->outcome,
            IdempotencyOutcome::kInProgress);
  EXPECT_EQ(quick.claim(tenant_, "quick", "h", kNow + std::chrono::seconds(61))->outcome,
            IdempotencyOutcome::kStarted);
}

TEST_F(IdempotencyPgTest, ExactlyOneOfManyConcurrentStaleClaimsTakesOver) {
  const auto later = kNow + std::chrono::minutes(11);
  for (int round = 0; round < 5; ++round) {
    const std::string key = "stale-raced-" + std::to_string(round);
    ASSERT_EQ(claim(tenant_, key, "same body"), IdempotencyOutcome::kStarted);
    std::atomic<int> started{0};
    std::atomic<int> in_progress{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 12; ++i) {
      threads.emplace_back([&] {
        auto c = keys_->claim(tenant_, key, "same body", later);
        ASSERT_TRUE(c.ok()) << c.error().message;
        if (c->outcome == IdempotencyOutcome::kStarted) ++started;
        if (c->outcome == IdempotencyOutcome::kInProgress) ++in_progress;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(started.load(), 1) << key;
    EXPECT_EQ(in_progress.load(), 11) << key;
  }
}

// The sweep spans every tenant, so it runs in a database of its own where all rows are known.
class IdempotencySweepPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    const std::string url = fresh_database_url();
    pqxx::connection conn(url);
    auto applied = migrations::Migrator().apply(conn);
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    auto opened = Database::open(url, 4);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sweep_db_ = std::move(*opened);
    PgTenantRepository tenants(*sweep_db_);
    tenant_ = tenants.create("sweep")->id;
    other_tenant_ = tenants.create("sweep-other")->id;
  }

  // A key claimed at `at`, completed or left in progress.
  void add_key(PgIdempotencyRepository& keys, int64_t tenant, const std::string& key,
               common::TimePoint at, bool completed) {
    ASSERT_EQ(keys.claim(tenant, key, "h", at)->outcome, IdempotencyOutcome::kStarted) << key;
    if (completed) {
      ASSERT_TRUE(keys.complete(tenant, key, StoredResponse{200, "{}"}).ok()) << key;
    }
  }

  int64_t rows() {
    return *sweep_db_->read([](pqxx::nontransaction& tx) -> common::Result<int64_t> {
      return tx.exec("SELECT count(*) FROM idempotency_keys")[0][0].as<int64_t>();
    });
  }

  std::unique_ptr<Database> sweep_db_;
  int64_t tenant_ = 0;
  int64_t other_tenant_ = 0;
};

TEST_F(IdempotencySweepPgTest, DeletesKeysOlderThanTheRetentionInBatches) {
  using std::chrono::hours;
  PgIdempotencyRepository keys(*sweep_db_, {.sweep_batch_rows = 2});
  for (int i = 0; i < 4; ++i)
    add_key(keys, tenant_, "old-done-" + std::to_string(i), kNow - hours(25), true);
  add_key(keys, other_tenant_, "old-done", kNow - hours(30), true);
  add_key(keys, tenant_, "old-crashed", kNow - hours(25), false);
  add_key(keys, tenant_, "old-crashed-2", kNow - hours(48), false);
  add_key(keys, tenant_, "at-the-cutoff", kNow - hours(24), true);
  add_key(keys, tenant_, "recent-done", kNow - hours(23), true);
  add_key(keys, tenant_, "recent-running", kNow - std::chrono::minutes(1), false);
  ASSERT_EQ(rows(), 10);

  auto deleted = keys.delete_expired(kNow);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 7);  // in batches of 2, 2, 2, 1
  EXPECT_EQ(rows(), 3);
  EXPECT_EQ(*keys.delete_expired(kNow), 0);

  // What was kept still answers; a deleted key is new again.
  EXPECT_EQ(keys.claim(tenant_, "recent-done", "h", kNow)->outcome, IdempotencyOutcome::kReplay);
  EXPECT_EQ(keys.claim(tenant_, "at-the-cutoff", "h", kNow)->outcome, IdempotencyOutcome::kReplay);
  EXPECT_EQ(keys.claim(tenant_, "recent-running", "h", kNow)->outcome,
            IdempotencyOutcome::kInProgress);
  EXPECT_EQ(keys.claim(tenant_, "old-done-0", "other body", kNow)->outcome,
            IdempotencyOutcome::kStarted);
}

TEST_F(IdempotencySweepPgTest, ConcurrentSweepsDeleteEachKeyOnce) {
  PgIdempotencyRepository keys(*sweep_db_, {.sweep_batch_rows = 3});
  constexpr int kKeys = 60;
  for (int i = 0; i < kKeys; ++i) {
    add_key(keys, tenant_, "k" + std::to_string(i), kNow - std::chrono::hours(25), i % 2 == 0);
  }
  std::atomic<int64_t> deleted{0};
  std::vector<std::thread> sweepers;
  for (int s = 0; s < 3; ++s) {
    sweepers.emplace_back([&] {
      auto n = keys.delete_expired(kNow);
      ASSERT_TRUE(n.ok()) << n.error().message;
      deleted += *n;
    });
  }
  for (auto& t : sweepers) t.join();
  // A sweep that meets only rows locked by another stops early; together they miss none.
  EXPECT_EQ(deleted.load() + *keys.delete_expired(kNow), kKeys);
  EXPECT_EQ(rows(), 0);
}

class AuditPgTest : public testing::PgTest {};

TEST_F(AuditPgTest, RecordsEventsAndRefusesBadOnes) {
  PgAuditLog audit(db());
  const std::string action = "ledger.credit." + std::to_string(::getpid());
  ASSERT_TRUE(audit.record({42, "tronrelayctl", action, R"({"amount":"5000000"})"}).ok());
  ASSERT_TRUE(audit.record({std::nullopt, "daemon", action, ""}).ok());
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log WHERE action = '" + action + "'"), "2");
  EXPECT_EQ(scalar("SELECT details->>'amount' FROM audit_log WHERE action = '" + action +
                   "' AND tenant_id = 42"),
            "5000000");
  EXPECT_EQ(scalar("SELECT details::text FROM audit_log WHERE action = '" + action +
                   "' AND tenant_id IS NULL"),
            "{}");

  EXPECT_EQ(audit.record({1, "", "x", "{}"}).error().code, "invalid_request");
  EXPECT_EQ(audit.record({1, "a", "", "{}"}).error().code, "invalid_request");
  EXPECT_EQ(audit.record({1, "a", "x", "[1,2]"}).error().code, "invalid_request");
  EXPECT_EQ(audit.record({1, "a", "x", "{not json"}).error().code, "invalid_request");

  auto rewrite = db().transaction([&](pqxx::work& tx) -> common::Status {
    tx.exec("UPDATE audit_log SET actor = 'someone else' WHERE action = " + tx.quote(action));
    return {};
  });
  ASSERT_FALSE(rewrite.ok());
  EXPECT_NE(rewrite.error().message.find("append-only"), std::string::npos);
}

}  // namespace
}  // namespace relay::store
