// JobRunner: executes the durable jobs of energy::JobQueue — claims the due ones, runs the handler
// registered for their kind, and records done, or retry after a jittered backoff, or dead. Built
// once per process by the composition root (tronrelayd; `tronrelayctl reclaim --due` builds one
// too and calls run_due itself, so the cron path claims and runs jobs exactly as the daemon does).
//
// Two halves: deciding (run_due() is one pass at a given instant; next_wake() is the pure rule for
// when to look again) and waiting (a thin loop thread that sleeps through a Waiter until that
// instant or a wake()). Time comes from the injected Clock and the Waiter, so tests drive the
// runner with a ManualClock and call run_due() directly.
//
// Several daemons on one database: every runner claims and executes jobs (claims skip each
// other's rows, so each job runs once per attempt). Leadership — the PostgreSQL advisory lock the
// composition root wraps in a Leadership (store/advisory_lock.h) — decides only who keeps the
// precise timers:
//   - the leader asks the queue for next_due_at() before each sleep and wakes at
//     min(next due, now + poll_interval): a reclaim due at 12:00:00.000 is claimed at 12:00:00;
//   - followers do not query it: they wake every poll_interval (default 1 s), plus at the due time
//     of a job this process enqueued (wake_if_earlier), and take their share of whatever is due.
// With no leader (it died and no one took the lock yet) jobs still run, at most a poll_interval
// late. Handlers run at least once per job (see energy/jobs.h): they must be idempotent.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "common/result.h"
#include "energy/jobs.h"

namespace relay::scheduler {

// Runs one claimed job. An error means "try again later" (retry with backoff, dead after the
// job's max_attempts); an exception counts as an "internal" error.
using JobHandler = std::function<common::Status(const energy::Job&)>;

// The delay before attempt `attempt` + 1 after attempt `attempt` (≥ 1) failed: exponential with
// full jitter, uniform in [0, min(max, base · 2^(attempt − 1))], picked by `random` (any uniformly
// distributed 64-bit value). Full jitter spreads the retries of jobs that failed together (a
// chain outage) instead of sending them back all at once.
std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds max, uint64_t random);

// When the loop should look again after a pass that did not fill its batch: at the earliest known
// due time, but no later than now + poll_interval (jobs enqueued by other processes, claims
// expiring) and no sooner than now + min_sleep. A due time at or before now after such a pass
// means rows another claimer holds at this moment: min_sleep keeps the runner from spinning
// against that claim. Pure.
common::TimePoint next_wake(common::TimePoint now, std::optional<common::TimePoint> known_next_due,
                            std::chrono::milliseconds poll_interval,
                            std::chrono::milliseconds min_sleep);

// Blocks the loop thread until a deadline on the runner's clock or a notify(). A notify() while
// nobody waits is kept: the next wait_until() returns at once (no lost wake-ups).
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void wait_until(common::TimePoint deadline) = 0;
  virtual void notify() = 0;
};

// The production Waiter: a condition variable on the system clock (pairs with SystemClock).
class SystemWaiter final : public Waiter {
 public:
  void wait_until(common::TimePoint deadline) override;
  void notify() override;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool notified_ = false;
};

// "Is this process the leader right now?" Asked once before each sleep of the loop. The daemon's
// implementation holds a store::AdvisoryLock: still_held() while it has one, and otherwise a
// try_acquire() now and then (not on every call: each try opens a connection).
class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual bool held() = 0;
};

struct JobRunnerOptions {
  // Written into claimed_by: unique per process and readable ("tronrelayd@host:pid").
  std::string worker_id;
  // Jobs claimed per pass. A full batch makes the loop run the next pass at once.
  int batch_size = 100;
  // Handlers of one pass run on this many threads (the loop thread being one of them).
  int threads = 4;
  // How long a claim lasts. Must exceed the time a whole batch can take (jobs wait in the batch
  // claimed), or a slow batch's jobs are claimed again by others and run twice.
  std::chrono::milliseconds claim_for{std::chrono::minutes(5)};
  // A claimed job whose claim has less than this left when its turn in the batch comes is not
  // started: once its claim expires another claimer may take it, and the two must never run the
  // same job at once. It waits for its claim to expire, then is claimed again. 0 = claim_for / 2.
  std::chrono::milliseconds min_claim_left{0};
  std::chrono::milliseconds poll_interval{1'000};
  std::chrono::milliseconds min_sleep{10};
  std::chrono::milliseconds retry_base{1'000};
  std::chrono::milliseconds retry_max{std::chrono::minutes(10)};
  std::optional<uint64_t> jitter_seed;  // empty: from std::random_device
};

// What one pass did.
struct JobPass {
  int claimed = 0;
  int done = 0;
  int retried = 0;  // failed, back in the queue for a later attempt
  int dead = 0;     // failed their last attempt
  // Ran, but the outcome could not be recorded (store down, or the claim was taken over after
  // expiring): the job runs again once its claim expires.
  int unrecorded = 0;
  // Claimed, but not started: too little of its claim was left (min_claim_left).
  int skipped = 0;
  // The claim itself failed (store down): nothing ran.
  std::optional<common::Error> claim_error;
  // Largest (start − due_at) among the jobs run: how late the pass was.
  std::chrono::milliseconds max_lag{0};
};

// Totals since start, for GET /metrics.
struct JobRunnerCounters {
  std::atomic<uint64_t> passes{0};
  std::atomic<uint64_t> claimed{0};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> dead{0};
  std::atomic<uint64_t> unrecorded{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<uint64_t> claim_failures{0};
  std::atomic<int64_t> last_pass_max_lag_ms{0};
};

// The runner's seams; null ones get the production kind (a SystemWaiter; always the leader). Both
// must outlive the runner.
struct JobRunnerSeams {
  Waiter* waiter = nullptr;
  Leadership* leadership = nullptr;
};

class JobRunner {
 public:
  // `queue`, `clock` and `log` must outlive the runner. options.worker_id must not be empty,
  // batch_size and threads at least 1.
  JobRunner(energy::JobQueue& queue, const common::Clock& clock, common::Logger& log,
            JobRunnerOptions options, JobRunnerSeams seams = {});
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Registers the handler of `kind`; before start() or the first run_due(). Only registered kinds
  // are claimed: a tronrelayctl that handles reclaims alone never takes another kind's jobs.
  void handle(const std::string& kind, JobHandler handler);
  std::vector<std::string> kinds() const;

  // One pass at `now`: claims up to batch_size due jobs of the registered kinds, runs their
  // handlers on the worker threads, records each failure as it happens and the successes together
  // at the end (one complete_all). Returns when every outcome is recorded. Never throws.
  // Concurrent calls run one after the other.
  JobPass run_due(common::TimePoint now);

  // Runs passes on a background thread until stop(): a pass, then (unless the batch was full) a
  // sleep until next_wake(). stop() wakes it and waits for the pass in progress.
  void start();
  void stop();

  // Cuts the current sleep short: the loop runs a pass and plans again.
  void wake();
  // To call after this process enqueued (or rescheduled) a job due at `due_at`: wakes the loop
  // when it planned to sleep past that instant, and keeps the earliest such instant as a known
  // due time until it passes (so a follower keeps a precise timer for its next own job; later
  // ones are found by polling). Cheap when it changes nothing.
  void wake_if_earlier(common::TimePoint due_at);

  const JobRunnerCounters& counters() const { return counters_; }

 private:
  class Workers;
  // kSucceeded: the handler succeeded; the pass records it done with the others at its end.
  enum class Outcome { kSucceeded, kDone, kRetried, kDead, kUnrecorded, kSkipped };

  common::Status run_handler(const energy::Job& job);
  Outcome record_failure(const energy::Job& job, const common::Error& failure);
  void record_successes(const std::vector<energy::Job>& jobs, std::vector<Outcome>& outcomes);
  void loop();
  common::TimePoint plan(common::TimePoint now);

  energy::JobQueue& queue_;
  const common::Clock& clock_;
  common::Logger& log_;
  const JobRunnerOptions options_;
  std::unique_ptr<Waiter> own_waiter_;
  Waiter& waiter_;
  Leadership* const leadership_;
  std::map<std::string, JobHandler> handlers_;
  std::vector<std::string> kinds_;
  std::unique_ptr<Workers> workers_;
  JobRunnerCounters counters_;

  std::mutex pass_mutex_;  // one pass at a time
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;

  // The instant the loop sleeps until (TimePoint::max() while it is not asleep, so that any
  // wake_if_earlier() then wakes it) and the earliest due time reported by wake_if_earlier().
  std::mutex plan_mutex_;
  common::TimePoint planned_wake_ = common::TimePoint::max();
  std::optional<common::TimePoint> hinted_due_;

  std::mutex thread_mutex_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace relay::scheduler
