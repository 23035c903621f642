// Jobs: the durable timers of the domain — "reclaim lease 42 at its expiry", "refresh pool 7" —
// kept in the store so that none is lost when a daemon dies. JobQueue is the port the store
// implements (each method one database transaction); scheduler::JobRunner claims due jobs and runs
// the handler registered for their kind.
//
// Delivery is at least once: a job is run again when its claimer crashed (the claim expires) or
// could not record the outcome, so every handler must be idempotent (a reclaim checks the lease's
// state before undelegating).
//
//   due → claimed(by, until) → done | retry(next due) → claimed … | dead (needs an operator)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace relay::energy {

// Job kinds the domain schedules (the `kind` column).
inline constexpr std::string_view kReclaimLeaseJob = "reclaim_lease";

// due: waiting for due_at. claimed: a worker runs it until claimed_until. retry: failed, waiting
// for due_at again. done: finished (or cancelled). dead: failed its last attempt; shown under
// GET /v1/admin/attention.
enum class JobState { kDue, kClaimed, kRetry, kDone, kDead };

inline std::string_view job_state_name(JobState state) {
  switch (state) {
    case JobState::kDue:
      return "due";
    case JobState::kClaimed:
      return "claimed";
    case JobState::kRetry:
      return "retry";
    case JobState::kDone:
      return "done";
    case JobState::kDead:
      return "dead";
  }
  return "";
}

inline std::optional<JobState> job_state_from_name(std::string_view name) {
  for (JobState s :
       {JobState::kDue, JobState::kClaimed, JobState::kRetry, JobState::kDone, JobState::kDead}) {
    if (job_state_name(s) == name) return s;
  }
  return std::nullopt;
}

struct Job {
  int64_t id = 0;
  std::string kind;  // "reclaim_lease"
  std::string ref;   // what it acts on: "lease:42"
  common::TimePoint due_at;
  JobState state = JobState::kDue;
  std::optional<std::string> claimed_by;           // the last claimer, kept after it finished
  std::optional<common::TimePoint> claimed_until;  // set while claimed
  int attempts = 0;                                // claims so far, this one included while claimed
  int max_attempts = 1;
  std::string last_error;  // of the last failed attempt; "cancelled" for a cancelled job
  common::TimePoint created_at;
  common::TimePoint updated_at;
  std::optional<common::TimePoint> done_at;  // when it became done or dead
};

// Jobs per state, for GET /metrics and the attention page.
struct JobCounts {
  int64_t due = 0;
  int64_t claimed = 0;
  int64_t retry = 0;
  int64_t done = 0;
  int64_t dead = 0;
};

// Errors common to every method: "store_unavailable" when the store cannot be reached (the caller
// tries again later), "internal" for anything else the store reports. A "kinds" list selects the
// jobs of those kinds; an empty list selects every kind.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Schedules `kind` for `ref` at `due_at`, to be tried at most `max_attempts` (≥ 1) times.
  // Idempotent: while a job for (kind, ref) is live (not done or dead), returns that job unchanged
  // (its due_at may differ from the one asked; reschedule() moves it). "invalid_request" for an
  // empty kind or ref or max_attempts < 1.
  virtual common::Result<Job> enqueue(const std::string& kind, const std::string& ref,
                                      common::TimePoint due_at, int max_attempts) = 0;

  // Claims up to `limit` jobs that are due or retry with due_at <= now, and claimed jobs whose
  // claim expired before `now` (their worker is presumed dead), skipping jobs another transaction
  // is claiming right now: each job goes to exactly one of several concurrent claimers. Claimed
  // jobs get claimed_by = worker_id, claimed_until = now + claim_for, attempts + 1, and come back
  // ordered by due_at (then id). An expired claim that was the job's last attempt is not handed
  // out again: the job becomes dead ("claim … expired"), so a job that kills its worker cannot
  // kill every daemon in turn. `claim_for` must exceed the longest run of a claimed batch.
  virtual common::Result<std::vector<Job>> claim_due(common::TimePoint now,
                                                     const std::string& worker_id, int limit,
                                                     std::chrono::milliseconds claim_for,
                                                     const std::vector<std::string>& kinds) = 0;

  // Marks a job claimed by `worker_id` done. "not_found" for an unknown job; "conflict" when the
  // job is not claimed by worker_id (never claimed, or its claim expired and another worker took
  // it over — that worker's outcome counts). Completing twice is not an error.
  virtual common::Status complete(int64_t job_id, const std::string& worker_id) = 0;

  // complete() for many jobs in one transaction (a runner's pass records its successes at once:
  // one round trip instead of one per job). Returns the ids it did not mark done — unknown, or
  // not claimed by worker_id — in ascending order; jobs already done by worker_id count as done.
  virtual common::Result<std::vector<int64_t>> complete_all(const std::vector<int64_t>& job_ids,
                                                            const std::string& worker_id) = 0;

  // Records a failed attempt of a job claimed by `worker_id`: retry at `next_due`, or dead when
  // it was the last attempt (attempts >= max_attempts). Returns the job as it is now. Errors as
  // complete(); recording the same failure twice returns the job unchanged.
  virtual common::Result<Job> retry(int64_t job_id, const std::string& worker_id,
                                    const std::string& error, common::TimePoint next_due) = 0;

  // Moves the live (due or retry) job for (kind, ref) to `due_at`, earlier (an early reclaim) or
  // later (an extended lease); its attempts stay. "not_found" when there is no live job;
  // "conflict" while it is claimed (running: the caller cannot know whether it acted already).
  virtual common::Result<Job> reschedule(const std::string& kind, const std::string& ref,
                                         common::TimePoint due_at) = 0;

  // Cancels the live (due or retry) job for (kind, ref): it becomes done with last_error
  // "cancelled". false when there was no live job (nothing to cancel); "conflict" while claimed.
  virtual common::Result<bool> cancel(const std::string& kind, const std::string& ref) = 0;

  // When claim_due() will next find something: the earliest due_at of a due or retry job, or
  // claimed_until of a claimed one (that is when it can be claimed again), whichever is first;
  // possibly in the past. Empty when no job is pending. For the runner's timer.
  virtual common::Result<std::optional<common::TimePoint>> next_due_at(
      const std::vector<std::string>& kinds) = 0;

  // Dead jobs, most recently dead first, at most `limit` (≥ 1).
  virtual common::Result<std::vector<Job>> list_dead(int limit) = 0;

  virtual common::Result<JobCounts> count_by_state() = 0;

  // Deletes up to `limit` (≥ 1) done jobs finished before `before`, oldest first, and returns how
  // many it deleted: done jobs are history, kept a while for the record. Dead jobs are kept.
  virtual common::Result<int64_t> purge_done(common::TimePoint before, int limit) = 0;
};

}  // namespace relay::energy
