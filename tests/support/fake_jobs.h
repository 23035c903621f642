// FakeJobQueue: an in-memory energy::JobQueue for unit tests of the code above the store (the job
// runner, services that enqueue). It keeps the port's contract as store::PgJobQueue implements it
// — one live job per (kind, ref), claims in due order including expired claims (dead after the
// last attempt), complete/retry only by the claimer, reschedule/cancel refused while claimed — and
// nothing more. Thread-safe; `failures.fail_next(error)` fails the next call of any method.
// Integration tests use store/ against PostgreSQL instead (*_pg_test).
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "energy/jobs.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

class FakeJobQueue final : public energy::JobQueue {
 public:
  explicit FakeJobQueue(const common::Clock& clock) : clock_(clock) {}

  common::Result<energy::Job> enqueue(const std::string& kind, const std::string& ref,
                                      common::TimePoint due_at, int max_attempts) override {
    if (auto e = failures.take()) return *e;
    if (kind.empty() || ref.empty() || max_attempts < 1) {
      return common::make_error("invalid_request", "bad job");
    }
    std::lock_guard lock(mutex_);
    if (auto* live = find_live(kind, ref)) return *live;
    energy::Job job;
    job.id = next_id_++;
    job.kind = kind;
    job.ref = ref;
    job.due_at = due_at;
    job.max_attempts = max_attempts;
    job.created_at = job.updated_at = clock_.now();
    jobs_[job.id] = job;
    return job;
  }

  common::Result<std::vector<energy::Job>> claim_due(
      common::TimePoint now, const std::string& worker_id, int limit,
      std::chrono::milliseconds claim_for, const std::vector<std::string>& kinds) override {
    if (auto e = failures.take()) return *e;
    if (limit < 1) return common::make_error("invalid_request", "limit < 1");
    std::lock_guard lock(mutex_);
    std::vector<energy::Job*> due;
    for (auto& [id, job] : jobs_) {
      if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), job.kind) == kinds.end()) {
        continue;
      }
      const bool waiting =
          (job.state == energy::JobState::kDue || job.state == energy::JobState::kRetry) &&
          job.due_at <= now;
      const bool abandoned = job.state == energy::JobState::kClaimed && *job.claimed_until < now;
      if (waiting || abandoned) due.push_back(&job);
    }
    std::sort(due.begin(), due.end(), [](const energy::Job* a, const energy::Job* b) {
      return a->due_at != b->due_at ? a->due_at < b->due_at : a->id < b->id;
    });
    if (due.size() > static_cast<size_t>(limit)) due.resize(limit);
    std::vector<energy::Job> out;
    for (energy::Job* job : due) {
      job->updated_at = clock_.now();
      if (job->attempts >= job->max_attempts) {
        job->state = energy::JobState::kDead;
        job->claimed_until.reset();
        job->last_error = "claim by " + job->claimed_by.value_or("?") + " expired";
        job->done_at = clock_.now();
        continue;
      }
      job->state = energy::JobState::kClaimed;
      job->claimed_by = worker_id;
      job->claimed_until = now + claim_for;
      ++job->attempts;
      out.push_back(*job);
    }
    ++claims;
    return out;
  }

  common::Status complete(int64_t job_id, const std::string& worker_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return common::make_error("not_found", "no job");
    energy::Job& job = it->second;
    if (job.state == energy::JobState::kDone && job.claimed_by == worker_id) return {};
    if (job.state != energy::JobState::kClaimed || job.claimed_by != worker_id) {
      return common::make_error("conflict", "not claimed by " + worker_id);
    }
    job.state = energy::JobState::kDone;
    job.claimed_until.reset();
    job.done_at = job.updated_at = clock_.now();
    return {};
  }

  common::Result<std::vector<int64_t>> complete_all(const std::vector<int64_t>& job_ids,
                                                    const std::string& worker_id) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::vector<int64_t> refused;
    for (int64_t id : job_ids) {
      auto it = jobs_.find(id);
      if (it == jobs_.end()) {
        refused.push_back(id);
        continue;
      }
      energy::Job& job = it->second;
      if (job.state == energy::JobState::kClaimed && job.claimed_by == worker_id) {
        job.state = energy::JobState::kDone;
        job.claimed_until.reset();
        job.done_at = job.updated_at = clock_.now();
      } else if (job.state != energy::JobState::kDone || job.claimed_by != worker_id) {
        refused.push_back(id);
      }
    }
    std::sort(refused.begin(), refused.end());
    ++completions;
    return refused;
  }

  common::Result<energy::Job> retry(int64_t job_id, const std::string& worker_id,
                                    const std::string& error, common::TimePoint next_due) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return common::make_error("not_found", "no job");
    energy::Job& job = it->second;
    if (job.state != energy::JobState::kClaimed || job.claimed_by != worker_id) {
      return common::make_error("conflict", "not claimed by " + worker_id);
    }
    job.claimed_until.reset();
    job.last_error = error;
    job.updated_at = clock_.now();
    if (job.attempts >= job.max_attempts) {
      job.state = energy::JobState::kDead;
      job.done_at = clock_.now();
    } else {
      job.state = energy::JobState::kRetry;
      job.due_at = next_due;
    }
    return job;
  }

  common::Result<energy::Job> reschedule(const std::string& kind, const std::string& ref,
                                         common::TimePoint due_at) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* job = find_live(kind, ref);
    if (job == nullptr) return common::make_error("not_found", "no live job");
    if (job->state == energy::JobState::kClaimed) return common::make_error("conflict", "running");
    job->due_at = due_at;
    job->updated_at = clock_.now();
    return *job;
  }

  common::Result<bool> cancel(const std::string& kind, const std::string& ref) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    auto* job = find_live(kind, ref);
    if (job == nullptr) return false;
    if (job->state == energy::JobState::kClaimed) return common::make_error("conflict", "running");
    job->state = energy::JobState::kDone;
    job->last_error = "cancelled";
    job->done_at = job->updated_at = clock_.now();
    return true;
  }

  common::Result<std::optional<common::TimePoint>> next_due_at(
      const std::vector<std::string>& kinds) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::optional<common::TimePoint> next;
    for (const auto& [id, job] : jobs_) {
      if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), job.kind) == kinds.end()) {
        continue;
      }
      std::optional<common::TimePoint> at;
      if (job.state == energy::JobState::kDue || job.state == energy::JobState::kRetry) {
        at = job.due_at;
      } else if (job.state == energy::JobState::kClaimed) {
        at = job.claimed_until;
      }
      if (at && (!next || *at < *next)) next = at;
    }
    return next;
  }

  common::Result<std::vector<energy::Job>> list_dead(int limit) override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    std::vector<energy::Job> out;
    for (const auto& [id, job] : jobs_) {
      if (job.state == energy::JobState::kDead) out.push_back(job);
    }
    std::sort(out.begin(), out.end(), [](const energy::Job& a, const energy::Job& b) {
      return a.done_at != b.done_at ? a.done_at > b.done_at : a.id > b.id;
    });
    if (out.size() > static_cast<size_t>(limit)) out.resize(limit);
    return out;
  }

  common::Result<int64_t> purge_done(common::TimePoint before, int limit) override {
    if (auto e = failures.take()) return *e;
    if (limit < 1) return common::make_error("invalid_request", "limit below 1");
    std::lock_guard lock(mutex_);
    int64_t deleted = 0;
    for (auto it = jobs_.begin(); it != jobs_.end() && deleted < limit;) {
      const energy::Job& job = it->second;
      if (job.state == energy::JobState::kDone && job.done_at && *job.done_at < before) {
        it = jobs_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }
  common::Result<energy::JobCounts> count_by_state() override {
    if (auto e = failures.take()) return *e;
    std::lock_guard lock(mutex_);
    energy::JobCounts counts;
    for (const auto& [id, job] : jobs_) {
      switch (job.state) {
        case energy::JobState::kDue:
          ++counts.due;
          break;
        case energy::JobState::kClaimed:
          ++counts.claimed;
          break;
        case energy::JobState::kRetry:
          ++counts.retry;
          break;
        case energy::JobState::kDone:
          ++counts.done;
          break;
        case energy::JobState::kDead:
          ++counts.dead;
          break;
      }
    }
    return counts;
  }

  // Test access: the job as stored now.
  std::optional<energy::Job> get(int64_t job_id) {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
  }

  FailureSwitch failures;
  std::atomic<int> claims{0};       // claim_due calls that got as far as claiming
  std::atomic<int> completions{0};  // complete_all calls that got as far as completing

 private:
  energy::Job* find_live(const std::string& kind, const std::string& ref) {
    for (auto& [id, job] : jobs_) {
      if (job.kind == kind && job.ref == ref && job.state != energy::JobState::kDone &&
          job.state != energy::JobState::kDead) {
        return &job;
      }
    }
    return nullptr;
  }

  const common::Clock& clock_;
  std::mutex mutex_;
  std::map<int64_t, energy::Job> jobs_;
  int64_t next_id_ = 1;
};

}  // namespace relay::testing
