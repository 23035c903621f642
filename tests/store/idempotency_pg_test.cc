#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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
