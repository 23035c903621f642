#include "scheduler/job_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/fake_jobs.h"

namespace relay::scheduler {
namespace {

using common::TimePoint;
using energy::Job;
using energy::JobState;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();
constexpr auto kGuard = seconds(30);  // only a broken runner makes a test wait this long

// ---- the pure parts ----

TEST(RetryDelay, ExponentialWithFullJitterCappedAtMax) {
  const milliseconds base(1'000), max(60'000);
  // The largest random value shows each attempt's cap; 0 shows the floor.
  EXPECT_EQ(retry_delay(1, base, max, 1'000), milliseconds(1'000));
  EXPECT_EQ(retry_delay(1, base, max, 1'001), milliseconds(0));
  EXPECT_EQ(retry_delay(2, base, max, 2'000), milliseconds(2'000));
  EXPECT_EQ(retry_delay(3, base, max, 4'000), milliseconds(4'000));
  EXPECT_EQ(retry_delay(7, base, max, 60'000), milliseconds(60'000));      // 64 s capped at 60
  EXPECT_EQ(retry_delay(1'000, base, max, 60'000), milliseconds(60'000));  // no overflow
  EXPECT_EQ(retry_delay(0, base, max, 1'000), milliseconds(1'000));        // treated as the first
  EXPECT_EQ(retry_delay(5, milliseconds(0), max, 12'345), milliseconds(0));
  EXPECT_EQ(retry_delay(1, milliseconds(90'000), max, 60'000), milliseconds(60'000));
  for (uint64_t r : {0ULL, 1ULL, 999ULL, ~0ULL, 0x123456789abcdefULL}) {
    for (int attempt = 1; attempt < 40; ++attempt) {
      const milliseconds d = retry_delay(attempt, base, max, r);
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d, std::min<milliseconds>(max, base * (1LL << std::min(attempt - 1, 20))));
    }
  }
}

TEST(RetryDelay, JitterCoversItsRange) {
  std::mt19937_64 rng(42);
  int low = 0, high = 0;
  for (int i = 0; i < 1'000; ++i) {
    const milliseconds d = retry_delay(4, milliseconds(1'000), milliseconds(60'000), rng());
    if (d < milliseconds(2'000)) ++low;
    if (d > milliseconds(6'000)) ++high;
  }
  EXPECT_GT(low, 150);  // ≈ 25% expected in each quarter
  EXPECT_GT(high, 150);
}

TEST(NextWake, EarliestOfDueAndPollButNotSoonerThanMinSleep) {
  const milliseconds poll(1'000), min_sleep(10);
  EXPECT_EQ(next_wake(kT0, std::nullopt, poll, min_sleep), kT0 + poll);
  EXPECT_EQ(next_wake(kT0, kT0 + milliseconds(300), poll, min_sleep), kT0 + milliseconds(300));
  EXPECT_EQ(next_wake(kT0, kT0 + seconds(30), poll, min_sleep), kT0 + poll);
  EXPECT_EQ(next_wake(kT0, kT0 - seconds(5), poll, min_sleep), kT0 + min_sleep);
  EXPECT_EQ(next_wake(kT0, kT0, poll, min_sleep), kT0 + min_sleep);
  EXPECT_EQ(next_wake(kT0, kT0 + milliseconds(3), poll, min_sleep), kT0 + min_sleep);
}

// ---- one pass ----

struct RunnerFixture : ::testing::Test {
  common::ManualClock clock{kT0};
  std::ostringstream log_text;
  common::Logger log{log_text, common::LogLevel::kDebug, &clock};
  testing::FakeJobQueue queue{clock};

  JobRunnerOptions options(int threads = 1) {
    JobRunnerOptions o;
    o.worker_id = "test-worker";
    o.batch_size = 100;
    o.threads = threads;
    o.claim_for = seconds(60);
    o.poll_interval = seconds(60);
    o.retry_base = seconds(1);
    o.retry_max = seconds(30);
    o.jitter_seed = 7;
    return o;
  }

  Job enqueue(const std::string& ref, TimePoint due, int max_attempts = 3,
              const std::string& kind = "reclaim_lease") {
    auto job = queue.enqueue(kind, ref, due, max_attempts);
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? *job : Job{};
  }
  JobState state_of(const Job& job) { return queue.get(job.id)->state; }
};

TEST_F(RunnerFixture, RunsDueJobsInDueOrderAndMarksThemDone) {
  JobRunner runner(queue, clock, log, options());
  std::vector<std::string> ran;
  runner.handle("reclaim_lease", [&](const Job& job) -> common::Status {
    EXPECT_EQ(job.state, JobState::kClaimed);
    EXPECT_EQ(job.claimed_by, "test-worker");
    EXPECT_EQ(job.attempts, 1);
    ran.push_back(job.ref);
    return {};
  });
  const Job late = enqueue("lease:3", kT0 + seconds(10));
  const Job second = enqueue("lease:2", kT0 - seconds(1));
  const Job first = enqueue("lease:1", kT0 - seconds(5));
  const Job exact = enqueue("lease:4", kT0);

  const JobPass pass = runner.run_due(kT0);
  EXPECT_EQ(pass.claimed, 3);
  EXPECT_EQ(pass.done, 3);
  EXPECT_EQ(pass.max_lag, seconds(5));  // lease:1 ran 5 s after its due time
  EXPECT_EQ(ran, (std::vector<std::string>{"lease:1", "lease:2", "lease:4"}));
  EXPECT_EQ(state_of(first), JobState::kDone);
  EXPECT_EQ(state_of(second), JobState::kDone);
  EXPECT_EQ(state_of(exact), JobState::kDone);
  EXPECT_EQ(state_of(late), JobState::kDue);
  EXPECT_EQ(runner.counters().done.load(), 3u);

  EXPECT_EQ(runner.run_due(kT0 + seconds(9)).claimed, 0);
  EXPECT_EQ(runner.run_due(kT0 + seconds(10)).done, 1);
  EXPECT_EQ(ran.back(), "lease:3");
}

TEST_F(RunnerFixture, AFailedJobIsRetriedWithBackoffThenDead) {
  JobRunner runner(queue, clock, log, options());
  int runs = 0;
  runner.handle("reclaim_lease", [&](const Job&) -> common::Status {
    ++runs;
    return common::make_error("upstream_failed", "chain said no");
  });
  const Job job = enqueue("lease:9", kT0, /*max_attempts=*/3);

  JobPass pass = runner.run_due(kT0);
  EXPECT_EQ(pass.retried, 1);
  auto stored = *queue.get(job.id);
  EXPECT_EQ(stored.state, JobState::kRetry);
  EXPECT_EQ(stored.last_error, "upstream_failed: chain said no");
  // First retry within [0, base]; the clock did not move during the pass.
  EXPECT_GE(stored.due_at, kT0);
  EXPECT_LE(stored.due_at, kT0 + seconds(1));

  clock.set(stored.due_at);
  pass = runner.run_due(clock.now());
  EXPECT_EQ(pass.retried, 1);
  stored = *queue.get(job.id);
  EXPECT_EQ(stored.attempts, 2);
  EXPECT_LE(stored.due_at, clock.now() + seconds(2));  // second retry within [0, 2 base]

  clock.set(stored.due_at);
  pass = runner.run_due(clock.now());
  EXPECT_EQ(pass.dead, 1);
  stored = *queue.get(job.id);
  EXPECT_EQ(stored.state, JobState::kDead);
  EXPECT_EQ(stored.attempts, 3);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(runner.counters().dead.load(), 1u);
  EXPECT_NE(log_text.str().find("job dead after its last attempt"), std::string::npos);

  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(runner.run_due(clock.now()).claimed, 0);  // dead stays dead
  EXPECT_EQ(queue.list_dead(10)->size(), 1u);
}

TEST_F(RunnerFixture, AThrowingHandlerIsAFailedAttempt) {
  JobRunner runner(queue, clock, log, options());
  runner.handle("reclaim_lease",
                [](const Job&) -> common::Status { throw std::runtime_error("boom"); });
  const Job job = enqueue("lease:1", kT0);
  EXPECT_EQ(runner.run_due(kT0).retried, 1);
  EXPECT_EQ(queue.get(job.id)->last_error, "internal: handler threw: boom");
}

TEST_F(RunnerFixture, ClaimsOnlyTheKindsItHandles) {
  JobRunner runner(queue, clock, log, options());
  const Job other = enqueue("pool:1", kT0, 3, "refresh_pool");
  EXPECT_EQ(runner.run_due(kT0).claimed, 0);  // nothing registered: nothing claimed
  EXPECT_EQ(queue.claims.load(), 0);

  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  const Job mine = enqueue("lease:1", kT0);
  EXPECT_EQ(runner.run_due(kT0).done, 1);
  EXPECT_EQ(state_of(mine), JobState::kDone);
  EXPECT_EQ(state_of(other), JobState::kDue);
  EXPECT_EQ(runner.kinds(), std::vector<std::string>{"reclaim_lease"});
}

TEST_F(RunnerFixture, AFailedClaimRunsNothing) {
  JobRunner runner(queue, clock, log, options());
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  const Job job = enqueue("lease:1", kT0);
  queue.failures.fail_next(common::make_error("store_unavailable", "db down"));
  const JobPass pass = runner.run_due(kT0);
  ASSERT_TRUE(pass.claim_error.has_value());
  EXPECT_EQ(pass.claim_error->code, "store_unavailable");
  EXPECT_EQ(runner.counters().claim_failures.load(), 1u);
  EXPECT_EQ(state_of(job), JobState::kDue);
  EXPECT_EQ(runner.run_due(kT0).done, 1);  // the store is back
}

TEST_F(RunnerFixture, AnOutcomeTheStoreLostMeansTheJobRunsAgainAfterItsClaimExpires) {
  JobRunner runner(queue, clock, log, options());
  int runs = 0;
  runner.handle("reclaim_lease", [&](const Job&) -> common::Status {
    // The store fails the call that records this run.
    if (++runs == 1) queue.failures.fail_next(common::make_error("store_unavailable", "down"));
    return {};
  });
  const Job job = enqueue("lease:1", kT0);
  EXPECT_EQ(runner.run_due(kT0).unrecorded, 1);
  EXPECT_EQ(state_of(job), JobState::kClaimed);
  EXPECT_EQ(runner.run_due(kT0 + seconds(59)).claimed, 0);  // the claim still holds
  const JobPass pass = runner.run_due(kT0 + seconds(61));
  EXPECT_EQ(pass.done, 1);
  EXPECT_EQ(runs, 2);  // at least once: the handler saw it twice
  EXPECT_EQ(queue.get(job.id)->attempts, 2);
}

TEST_F(RunnerFixture, AJobWhoseClaimWasTakenOverIsNotMarkedDoneByTheLateWorker) {
  JobRunner runner(queue, clock, log, options());
  int64_t taken = 0;
  runner.handle("reclaim_lease", [&](const Job& job) -> common::Status {
    // This run outlived its claim (60 s): another worker claims the job meanwhile.
    if (job.ref == "lease:slow") {
      auto other = queue.claim_due(kT0 + seconds(61), "other", 1, seconds(60), {});
      taken = other.ok() && other->size() == 1 ? (*other)[0].id : 0;
    }
    return {};
  });
  const Job slow = enqueue("lease:slow", kT0);
  const Job quick = enqueue("lease:quick", kT0 + milliseconds(1));
  const JobPass pass = runner.run_due(kT0 + milliseconds(1));
  EXPECT_EQ(taken, slow.id);
  EXPECT_EQ(pass.done, 1);
  EXPECT_EQ(pass.unrecorded, 1);
  EXPECT_EQ(state_of(quick), JobState::kDone);
  EXPECT_EQ(state_of(slow), JobState::kClaimed);
  EXPECT_EQ(queue.get(slow.id)->claimed_by, "other");
  EXPECT_EQ(queue.completions.load(), 1);  // one call for the whole pass
  EXPECT_NE(log_text.str().find("its claim was taken over"), std::string::npos);
}

TEST_F(RunnerFixture, AJobWhoseClaimRanLowWhileItWaitedInTheBatchIsNotStarted) {
  // claim_for 60 s: a job starting with less than 30 s of its claim left could still be running
  // when another claimer takes it over at expiry. The slow first job uses 35 s.
  JobRunner runner(queue, clock, log, options());
  std::vector<std::string> ran;
  runner.handle("reclaim_lease", [&](const Job& job) -> common::Status {
    ran.push_back(job.ref);
    if (job.ref == "lease:slow") clock.advance(seconds(35));
    return {};
  });
  const Job slow = enqueue("lease:slow", kT0 - seconds(1));
  const Job waiting = enqueue("lease:waiting", kT0);
  const JobPass pass = runner.run_due(kT0);
  EXPECT_EQ(pass.claimed, 2);
  EXPECT_EQ(pass.done, 1);
  EXPECT_EQ(pass.skipped, 1);
  EXPECT_EQ(ran, (std::vector<std::string>{"lease:slow"}));
  EXPECT_EQ(state_of(slow), JobState::kDone);
  EXPECT_EQ(state_of(waiting), JobState::kClaimed);
  EXPECT_NE(log_text.str().find("too little of its claim is left"), std::string::npos);
  // Once its claim expires it is claimed again, and runs.
  const JobPass later = runner.run_due(kT0 + seconds(61));
  EXPECT_EQ(later.done, 1);
  EXPECT_EQ(ran.back(), "lease:waiting");
  EXPECT_EQ(queue.get(waiting.id)->attempts, 2);
}

TEST_F(RunnerFixture, BatchSizeBoundsOnePass) {
  JobRunnerOptions o = options();
  o.batch_size = 4;
  JobRunner runner(queue, clock, log, o);
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  for (int i = 0; i < 10; ++i) enqueue("lease:" + std::to_string(i), kT0);
  EXPECT_EQ(runner.run_due(kT0).claimed, 4);
  EXPECT_EQ(runner.run_due(kT0).claimed, 4);
  EXPECT_EQ(runner.run_due(kT0).claimed, 2);
}

TEST_F(RunnerFixture, HandlersOfOnePassRunInParallelOnTheWorkerThreads) {
  constexpr int kThreads = 4;
  JobRunner runner(queue, clock, log, options(kThreads));
  std::mutex mutex;
  std::condition_variable all_in;
  int inside = 0;
  std::set<std::thread::id> threads;
  std::atomic<int> runs{0};
  runner.handle("reclaim_lease", [&](const Job& job) -> common::Status {
    ++runs;
    if (job.ref.starts_with("gate:")) {
      // The first kThreads jobs each wait for the others: only parallel handlers get through.
      std::unique_lock lock(mutex);
      threads.insert(std::this_thread::get_id());
      ++inside;
      all_in.notify_all();
      EXPECT_TRUE(all_in.wait_for(lock, kGuard, [&] { return inside == kThreads; }));
    }
    return {};
  });
  for (int i = 0; i < kThreads; ++i) enqueue("gate:" + std::to_string(i), kT0 - seconds(1));
  for (int i = 0; i < 200; ++i) enqueue("lease:" + std::to_string(i), kT0);
  JobPass pass = runner.run_due(kT0);
  EXPECT_EQ(pass.claimed, 100);
  pass = runner.run_due(kT0);
  pass = runner.run_due(kT0);
  EXPECT_EQ(runs.load(), 204);
  EXPECT_EQ(threads.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(queue.count_by_state()->done, 204);
}

// ---- the loop ----

// A Waiter the test steps by hand: it records every deadline the loop asks for and returns only
// when the test releases it or somebody calls notify().
class ScriptedWaiter final : public Waiter {
 public:
  void wait_until(TimePoint deadline) override {
    std::unique_lock lock(mutex_);
    deadlines_.push_back(deadline);
    changed_.notify_all();
    changed_.wait(lock, [&] { return notified_ || releases_ > 0; });
    if (notified_) {
      notified_ = false;
    } else {
      --releases_;
    }
  }
  void notify() override {
    std::lock_guard lock(mutex_);
    notified_ = true;
    changed_.notify_all();
  }

  // Blocks until the loop has asked to sleep `n` times; the n-th deadline.
  TimePoint await_wait(size_t n) {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, kGuard, [&] { return deadlines_.size() >= n; }))
        << "the loop never slept a " << n << "th time";
    return deadlines_.size() >= n ? deadlines_[n - 1] : TimePoint{};
  }
  void release() {
    std::lock_guard lock(mutex_);
    ++releases_;
    changed_.notify_all();
  }
  size_t waits() {
    std::lock_guard lock(mutex_);
    return deadlines_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<TimePoint> deadlines_;
  bool notified_ = false;
  int releases_ = 0;
};

class SwitchedLeadership final : public Leadership {
 public:
  bool held() override { return leader.load(); }
  std::atomic<bool> leader{false};
};

TEST_F(RunnerFixture, TheLeaderSleepsUntilTheNextDueJobAndRunsItThen) {
  ScriptedWaiter waiter;
  JobRunner runner(queue, clock, log, options(), {.waiter = &waiter});
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  const Job job = enqueue("lease:1", kT0 + seconds(5));
  runner.start();

  EXPECT_EQ(waiter.await_wait(1), kT0 + seconds(5));
  EXPECT_EQ(state_of(job), JobState::kDue);
  clock.set(kT0 + seconds(5));
  waiter.release();
  // After the pass nothing is pending: the next look is a poll interval away.
  EXPECT_EQ(waiter.await_wait(2), kT0 + seconds(5) + seconds(60));
  EXPECT_EQ(state_of(job), JobState::kDone);

  // A job this process enqueues sooner than that wakes the loop, which then plans for it.
  const Job next = enqueue("lease:2", kT0 + seconds(20));
  runner.wake_if_earlier(next.due_at);
  EXPECT_EQ(waiter.await_wait(3), kT0 + seconds(20));
  // One due later than the planned wake does not wake it.
  runner.wake_if_earlier(kT0 + seconds(40));
  clock.set(kT0 + seconds(20));
  waiter.release();
  EXPECT_EQ(waiter.await_wait(4), kT0 + seconds(80));
  EXPECT_EQ(state_of(next), JobState::kDone);
  runner.stop();
  EXPECT_EQ(waiter.waits(), 4u);
}

TEST_F(RunnerFixture, FollowersPollAndKeepTimersOnlyForTheirOwnJobs) {
  ScriptedWaiter waiter;
  SwitchedLeadership leadership;
  JobRunnerOptions o = options();
  o.poll_interval = seconds(1);
  JobRunner runner(queue, clock, log, o, {.waiter = &waiter, .leadership = &leadership});
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  const Job theirs = enqueue("lease:1", kT0 + milliseconds(500));  // enqueued elsewhere
  runner.start();
  EXPECT_EQ(waiter.await_wait(1), kT0 + seconds(1));  // a poll, not the job's due time

  clock.set(kT0 + seconds(1));
  waiter.release();
  EXPECT_EQ(waiter.await_wait(2), kT0 + seconds(2));
  EXPECT_EQ(state_of(theirs), JobState::kDone);  // claimed on the poll, 500 ms late

  // Its own enqueue gets a precise timer.
  const Job mine = enqueue("lease:2", kT0 + milliseconds(1'300));
  runner.wake_if_earlier(mine.due_at);
  EXPECT_EQ(waiter.await_wait(3), kT0 + milliseconds(1'300));

  // Becoming leader: the next plan reads the queue's next due time.
  enqueue("lease:3", kT0 + milliseconds(1'100));
  leadership.leader = true;
  runner.wake();
  EXPECT_EQ(waiter.await_wait(4), kT0 + milliseconds(1'100));
  runner.stop();
}

TEST_F(RunnerFixture, AFullBatchIsFollowedByAnotherPassWithoutSleeping) {
  ScriptedWaiter waiter;
  JobRunnerOptions o = options();
  o.batch_size = 2;
  JobRunner runner(queue, clock, log, o, {.waiter = &waiter});
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  for (int i = 0; i < 5; ++i) enqueue("lease:" + std::to_string(i), kT0);
  runner.start();
  EXPECT_EQ(waiter.await_wait(1), kT0 + seconds(60));
  EXPECT_EQ(queue.count_by_state()->done, 5);
  EXPECT_EQ(queue.claims.load(), 3);  // 2 + 2 + 1, then the sleep
  runner.stop();
}

TEST_F(RunnerFixture, AJobRunningElsewhereWakesTheLeaderWhenItsClaimExpires) {
  ScriptedWaiter waiter;
  JobRunner runner(queue, clock, log, options(), {.waiter = &waiter});
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  enqueue("lease:1", kT0);
  // Another worker holds it (claimed, claim live): next_due_at is its claimed_until.
  ASSERT_EQ(queue.claim_due(kT0, "other", 10, seconds(30), {})->size(), 1u);
  runner.start();
  EXPECT_EQ(waiter.await_wait(1), kT0 + seconds(30));
  runner.stop();
}

TEST_F(RunnerFixture, StopEndsASleepingLoop) {
  ScriptedWaiter waiter;
  JobRunner runner(queue, clock, log, options(), {.waiter = &waiter});
  runner.handle("reclaim_lease", [](const Job&) -> common::Status { return {}; });
  runner.start();
  waiter.await_wait(1);
  runner.stop();  // returns: the notify() ended the sleep
  EXPECT_EQ(waiter.waits(), 1u);
}

}  // namespace
}  // namespace relay::scheduler
