#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/job_queue_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::TimePoint;
using energy::Job;
using energy::JobState;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();
constexpr milliseconds kClaimFor = seconds(30);

// The main database outlives each test and claims are not scoped by anything else: every test
// works with job kinds of its own.
std::string unique_kind(const std::string& what) {
  return "test_" + what + "_" + common::to_hex(testing::random_bytes(4));
}

class JobQueuePgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    jobs_ = std::make_unique<PgJobQueue>(db());
    kind_ = unique_kind("job");
  }

  PgJobQueue& jobs() { return *jobs_; }
  const std::string& kind() const { return kind_; }
  std::vector<std::string> kinds() const { return {kind_}; }

  Job enqueue(const std::string& ref, TimePoint due, int max_attempts = 3) {
    auto job = jobs().enqueue(kind_, ref, due, max_attempts);
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? *job : Job{};
  }
  std::vector<Job> claim(TimePoint now, const std::string& worker, int limit = 100) {
    auto claimed = jobs().claim_due(now, worker, limit, kClaimFor, kinds());
    EXPECT_TRUE(claimed.ok()) << claimed.error().message;
    return claimed.ok() ? *claimed : std::vector<Job>{};
  }
  std::string state_of(const Job& job) {
    return scalar("SELECT state FROM jobs WHERE id = " + std::to_string(job.id));
  }

 private:
  std::unique_ptr<PgJobQueue> jobs_;
  std::string kind_;
};

std::vector<std::string> refs_of(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.ref);
  return out;
}

TEST_F(JobQueuePgTest, EnqueueIsIdempotentWhileTheJobIsLive) {
  const Job first = enqueue("lease:1", kT0 + seconds(60), 5);
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.kind, kind());
  EXPECT_EQ(first.ref, "lease:1");
  EXPECT_EQ(first.due_at, kT0 + seconds(60));
  EXPECT_EQ(first.state, JobState::kDue);
  EXPECT_EQ(first.attempts, 0);
  EXPECT_EQ(first.max_attempts, 5);
  EXPECT_FALSE(first.claimed_by.has_value());
  EXPECT_FALSE(first.done_at.has_value());

  // The same (kind, ref) again: the live job, unchanged, even with another due time.
  const Job again = enqueue("lease:1", kT0 + seconds(999), 2);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.due_at, kT0 + seconds(60));
  EXPECT_EQ(again.max_attempts, 5);
  EXPECT_NE(enqueue("lease:2", kT0).id, first.id);

  // Once it is finished, the same (kind, ref) makes a new job.
  auto claimed = claim(kT0 + seconds(60), "w1");
  ASSERT_EQ(claimed.size(), 2u);
  ASSERT_TRUE(jobs().complete(first.id, "w1").ok());
  const Job next = enqueue("lease:1", kT0 + seconds(120));
  EXPECT_NE(next.id, first.id);
  EXPECT_EQ(next.state, JobState::kDue);

  EXPECT_EQ(jobs().enqueue("", "x", kT0, 1).error().code, "invalid_request");
  EXPECT_EQ(jobs().enqueue(kind(), "", kT0, 1).error().code, "invalid_request");
  EXPECT_EQ(jobs().enqueue(kind(), "x", kT0, 0).error().code, "invalid_request");
}

TEST_F(JobQueuePgTest, ConcurrentEnqueuesOfOneRefMakeOneJob) {
  constexpr int kThreads = 8;
  std::vector<int64_t> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto job = jobs().enqueue(kind(), "lease:race", kT0 + seconds(i), 3);
      ids[i] = job.ok() ? job->id : -1;
    });
  }
  for (auto& t : threads) t.join();
  for (int64_t id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_GT(ids[0], 0);
}

TEST_F(JobQueuePgTest, ClaimTakesDueJobsInDueOrder) {
  enqueue("later", kT0 + seconds(10));
  enqueue("second", kT0 - seconds(1));
  enqueue("first", kT0 - seconds(5));
  enqueue("exactly-now", kT0);
  // Another kind, due: not selected by this kind list.
  const std::string other = unique_kind("other");
  ASSERT_TRUE(jobs().enqueue(other, "x", kT0 - seconds(60), 1).ok());

  auto two = claim(kT0, "w1", 2);
  EXPECT_EQ(refs_of(two), (std::vector<std::string>{"first", "second"}));
  for (const Job& j : two) {
    EXPECT_EQ(j.state, JobState::kClaimed);
    EXPECT_EQ(j.claimed_by, "w1");
    EXPECT_EQ(j.claimed_until, kT0 + kClaimFor);
    EXPECT_EQ(j.attempts, 1);
  }
  EXPECT_EQ(refs_of(claim(kT0, "w1")), std::vector<std::string>{"exactly-now"});
  EXPECT_TRUE(claim(kT0, "w1").empty());
  EXPECT_EQ(refs_of(claim(kT0 + seconds(10), "w1")), std::vector<std::string>{"later"});

  auto both = jobs().claim_due(kT0, "w1", 10, kClaimFor, {kind(), other});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(refs_of(*both), std::vector<std::string>{"x"});

  EXPECT_EQ(jobs().claim_due(kT0, "w1", 0, kClaimFor, kinds()).error().code, "invalid_request");
  EXPECT_EQ(jobs().claim_due(kT0, "", 1, kClaimFor, kinds()).error().code, "invalid_request");
}

TEST_F(JobQueuePgTest, ConcurrentClaimersEachGetEveryJobExactlyOnce) {
  constexpr int kJobs = 1'000;
  constexpr int kWorkers = 8;
  {
    // One multi-row insert: the jobs are the subject here, not enqueue.
    pqxx::connection conn(url());
    pqxx::work tx(conn);
    tx.exec_params0(
        "INSERT INTO jobs (kind, ref, due_at, max_attempts) "
        "SELECT $1, 'lease:' || g, 'epoch'::timestamptz + ($2::bigint - g) * interval '1 "
        "microsecond', 3 FROM generate_series(1, $3) g",
        kind(),
        std::chrono::duration_cast<std::chrono::microseconds>(kT0.time_since_epoch()).count(),
        kJobs);
    tx.commit();
  }
  std::mutex mutex;
  std::map<int64_t, std::string> claimed_by;  // job id -> worker
  int duplicates = 0;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      // A connection of its own: the claims really run side by side.
      auto own = Database::open(url(), 1);
      if (!own.ok()) {
        ++errors;
        return;
      }
      PgJobQueue queue(**own);
      const std::string me = "worker-" + std::to_string(w);
      while (true) {
        auto batch = queue.claim_due(kT0, me, 7, kClaimFor, {kind()});
        if (!batch.ok()) {
          ++errors;
          return;
        }
        if (batch->empty()) return;
        for (const Job& job : *batch) {
          {
            std::lock_guard lock(mutex);
            if (!claimed_by.emplace(job.id, me).second) ++duplicates;
          }
          if (!queue.complete(job.id, me).ok()) ++errors;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(claimed_by.size(), static_cast<size_t>(kJobs));
  std::set<std::string> who;
  for (const auto& [id, w] : claimed_by) who.insert(w);
  EXPECT_GT(who.size(), 1u) << "the claims did not overlap at all";
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE kind = '" + kind() +
                   "' AND state = 'done' AND attempts = 1"),
            std::to_string(kJobs));
}

TEST_F(JobQueuePgTest, AnExpiredClaimIsClaimedAgainButALiveOneIsNot) {
  const Job job = enqueue("lease:7", kT0);
  ASSERT_EQ(claim(kT0, "crashed").size(), 1u);
  EXPECT_TRUE(claim(kT0 + seconds(10), "other").empty());
  EXPECT_TRUE(claim(kT0 + kClaimFor, "other").empty());  // expires strictly after claimed_until

  auto again = claim(kT0 + kClaimFor + milliseconds(1), "other");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, job.id);
  EXPECT_EQ(again[0].claimed_by, "other");
  EXPECT_EQ(again[0].attempts, 2);

  // The first claimer comes back: its outcome no longer counts.
  EXPECT_EQ(jobs().complete(job.id, "crashed").error().code, "conflict");
  EXPECT_EQ(jobs().retry(job.id, "crashed", "late", kT0).error().code, "conflict");
  EXPECT_TRUE(jobs().complete(job.id, "other").ok());
  EXPECT_TRUE(jobs().complete(job.id, "other").ok());  // twice is fine
  EXPECT_EQ(state_of(job), "done");
  EXPECT_EQ(jobs().complete(job.id, "crashed").error().code, "conflict");
}

TEST_F(JobQueuePgTest, OnlyTheClaimerCompletes) {
  const Job job = enqueue("lease:1", kT0);
  EXPECT_EQ(jobs().complete(job.id, "w1").error().code, "conflict");  // never claimed
  ASSERT_EQ(claim(kT0, "w1").size(), 1u);
  auto refused = jobs().complete(job.id, "w2");
  EXPECT_EQ(refused.error().code, "conflict");
  EXPECT_NE(refused.error().message.find("w1"), std::string::npos);
  EXPECT_EQ(state_of(job), "claimed");
  EXPECT_TRUE(jobs().complete(job.id, "w1").ok());
  EXPECT_EQ(scalar("SELECT done_at IS NOT NULL AND claimed_until IS NULL FROM jobs WHERE id = " +
                   std::to_string(job.id)),
            "t");
  EXPECT_EQ(jobs().complete(987'654'321, "w1").error().code, "not_found");
}

TEST_F(JobQueuePgTest, CompleteAllMarksTheClaimersJobsAndNamesTheRest) {
  const Job a = enqueue("a", kT0 - seconds(3));
  const Job b = enqueue("b", kT0 - seconds(2));
  const Job c = enqueue("c", kT0 - seconds(1));
  const Job d = enqueue("d", kT0);
  const Job never = enqueue("never", kT0 + seconds(600));
  ASSERT_EQ(claim(kT0, "w1", 3).size(), 3u);
  ASSERT_EQ(claim(kT0, "w2", 3).size(), 1u);  // d
  ASSERT_TRUE(jobs().complete(c.id, "w1").ok());

  auto refused = jobs().complete_all({d.id, a.id, b.id, c.id, never.id, 987'654'321}, "w1");
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(*refused, (std::vector<int64_t>{d.id, never.id, 987'654'321}));
  EXPECT_EQ(state_of(a), "done");
  EXPECT_EQ(state_of(b), "done");
  EXPECT_EQ(state_of(c), "done");
  EXPECT_EQ(state_of(d), "claimed");
  EXPECT_EQ(state_of(never), "due");
  EXPECT_TRUE(jobs().complete_all({}, "w1")->empty());
}

TEST_F(JobQueuePgTest, PurgeDoneDeletesOldDoneJobsOnly) {
  const Job done = enqueue("purge-done", kT0 - seconds(2));
  const Job dead = enqueue("purge-dead", kT0 - seconds(1), /*max_attempts=*/1);
  const Job live = enqueue("purge-live", kT0 + seconds(600));
  ASSERT_EQ(claim(kT0, "w1").size(), 2u);
  ASSERT_TRUE(jobs().complete(done.id, "w1").ok());
  ASSERT_TRUE(jobs().retry(dead.id, "w1", "boom", kT0 + seconds(1)).ok());
  ASSERT_EQ(state_of(dead), "dead");

  // done_at is the database's clock: nothing finished an hour before it.
  auto none = jobs().purge_done(std::chrono::system_clock::now() - std::chrono::hours(1), 100);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE id = " + std::to_string(done.id)), "1");

  const auto later = std::chrono::system_clock::now() + std::chrono::minutes(1);
  auto purged = jobs().purge_done(later, 100'000);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_GE(*purged, 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE id = " + std::to_string(done.id)), "0");
  EXPECT_EQ(state_of(dead), "dead");
  EXPECT_EQ(state_of(live), "due");
  EXPECT_EQ(jobs().purge_done(later, 0).error().code, "invalid_request");
}

TEST_F(JobQueuePgTest, RetryUntilDeadAfterMaxAttempts) {
  auto before = jobs().count_by_state();
  ASSERT_TRUE(before.ok());
  const Job job = enqueue("lease:3", kT0, /*max_attempts=*/2);

  ASSERT_EQ(claim(kT0, "w1").size(), 1u);
  auto retried = jobs().retry(job.id, "w1", "upstream_failed: 503", kT0 + seconds(5));
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(retried->state, JobState::kRetry);
  EXPECT_EQ(retried->due_at, kT0 + seconds(5));
  EXPECT_EQ(retried->last_error, "upstream_failed: 503");
  EXPECT_FALSE(retried->claimed_until.has_value());
  EXPECT_EQ(retried->claimed_by, "w1");
  // Recording it twice changes nothing.
  EXPECT_EQ(jobs().retry(job.id, "w1", "upstream_failed: 503", kT0 + seconds(5))->state,
            JobState::kRetry);
  EXPECT_EQ(jobs().retry(job.id, "w2", "x", kT0).error().code, "conflict");

  EXPECT_TRUE(claim(kT0 + seconds(4), "w2").empty());
  auto second = claim(kT0 + seconds(5), "w2");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempts, 2);
  EXPECT_EQ(second[0].last_error, "upstream_failed: 503");

  auto dead = jobs().retry(job.id, "w2", "upstream_failed: 500", kT0 + seconds(60));
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(dead->state, JobState::kDead);
  EXPECT_TRUE(dead->done_at.has_value());
  EXPECT_TRUE(claim(kT0 + std::chrono::hours(24), "w3").empty());

  auto listed = jobs().list_dead(1'000);
  ASSERT_TRUE(listed.ok());
  bool found = false;
  for (const Job& j : *listed) found = found || j.id == job.id;
  EXPECT_TRUE(found);
  auto after = jobs().count_by_state();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->dead, before->dead + 1);
  EXPECT_EQ(jobs().list_dead(0).error().code, "invalid_request");

  // A dead job frees its (kind, ref): the operator can schedule it again.
  EXPECT_NE(enqueue("lease:3", kT0).id, job.id);
}

TEST_F(JobQueuePgTest, AClaimThatExpiresOnTheLastAttemptMakesTheJobDead) {
  const Job job = enqueue("lease:poison", kT0, /*max_attempts=*/1);
  ASSERT_EQ(claim(kT0, "w1").size(), 1u);
  // w1 died running it; handing it out again could kill the next daemon too.
  EXPECT_TRUE(claim(kT0 + kClaimFor + seconds(1), "w2").empty());
  EXPECT_EQ(state_of(job), "dead");
  EXPECT_EQ(scalar("SELECT last_error FROM jobs WHERE id = " + std::to_string(job.id)),
            "claim by w1 expired during the last attempt");
  auto listed = jobs().list_dead(1);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, job.id);  // the most recently dead first
}

TEST_F(JobQueuePgTest, NextDueAtIsTheEarliestClaimableInstant) {
  auto none = jobs().next_due_at(kinds());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  const Job a = enqueue("a", kT0 + seconds(50));
  enqueue("b", kT0 + seconds(20));
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(20));

  // Claimed: it counts from when its claim expires.
  ASSERT_EQ(claim(kT0 + seconds(20), "w1").size(), 1u);
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(20) + kClaimFor);  // 50 s
  ASSERT_TRUE(jobs().reschedule(kind(), "a", kT0 + seconds(45)).ok());
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(45));

  // Retry counts from its new due time; done jobs not at all.
  ASSERT_EQ(claim(kT0 + seconds(45), "w1").size(), 1u);  // a
  ASSERT_TRUE(jobs().retry(a.id, "w1", "x", kT0 + seconds(100)).ok());
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(50));  // b's claim
  auto b = claim(kT0 + seconds(51), "w2");
  ASSERT_EQ(b.size(), 1u);
  ASSERT_TRUE(jobs().complete(b[0].id, "w2").ok());
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(100));

  // Other kinds are not counted unless asked for.
  const std::string other = unique_kind("other");
  ASSERT_TRUE(jobs().enqueue(other, "z", kT0, 1).ok());
  EXPECT_EQ(**jobs().next_due_at(kinds()), kT0 + seconds(100));
  EXPECT_EQ(**jobs().next_due_at({kind(), other}), kT0);
}

TEST_F(JobQueuePgTest, RescheduleAndCancelActOnTheLiveJobUnlessItRuns) {
  const Job job = enqueue("lease:5", kT0 + seconds(3'600));
  // An extension, then an early reclaim.
  auto later = jobs().reschedule(kind(), "lease:5", kT0 + seconds(7'200));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->id, job.id);
  EXPECT_EQ(later->due_at, kT0 + seconds(7'200));
  ASSERT_TRUE(jobs().reschedule(kind(), "lease:5", kT0).ok());
  ASSERT_EQ(claim(kT0, "w1").size(), 1u);

  EXPECT_EQ(jobs().reschedule(kind(), "lease:5", kT0 + seconds(1)).error().code, "conflict");
  EXPECT_EQ(jobs().cancel(kind(), "lease:5").error().code, "conflict");
  ASSERT_TRUE(jobs().retry(job.id, "w1", "x", kT0 + seconds(60)).ok());
  auto moved = jobs().reschedule(kind(), "lease:5", kT0 + seconds(1));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->state, JobState::kRetry);
  EXPECT_EQ(moved->attempts, 1);

  auto cancelled = jobs().cancel(kind(), "lease:5");
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(*cancelled);
  EXPECT_EQ(state_of(job), "done");
  EXPECT_EQ(scalar("SELECT last_error FROM jobs WHERE id = " + std::to_string(job.id)),
            "cancelled");
  EXPECT_FALSE(*jobs().cancel(kind(), "lease:5"));
  EXPECT_EQ(jobs().reschedule(kind(), "lease:5", kT0).error().code, "not_found");
  EXPECT_TRUE(claim(kT0 + seconds(60), "w1").empty());
}

TEST_F(JobQueuePgTest, KindNamesAreParametersNotSql) {
  const std::string odd = unique_kind("q\"uo'te\\{x,y}");
  ASSERT_TRUE(jobs().enqueue(odd, "r", kT0, 1).ok());
  auto claimed = jobs().claim_due(kT0, "w1", 10, kClaimFor, {odd});
  ASSERT_TRUE(claimed.ok()) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].kind, odd);
}

}  // namespace
}  // namespace relay::store
