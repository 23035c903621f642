#include "scheduler/job_runner.h"

#include <algorithm>
#include <cassert>
#include <exception>

namespace relay::scheduler {

using std::chrono::milliseconds;

milliseconds retry_delay(int attempt, milliseconds base, milliseconds max, uint64_t random) {
  const int shift = std::clamp(attempt - 1, 0, 30);
  const int64_t b = std::max<int64_t>(base.count(), 0);
  const int64_t m = std::max<int64_t>(max.count(), 0);
  // base · 2^shift without overflow, capped at max.
  const int64_t cap = b == 0 ? 0 : (m >> shift) >= b ? b << shift : m;
  return milliseconds(static_cast<int64_t>(random % static_cast<uint64_t>(cap + 1)));
}

common::TimePoint next_wake(common::TimePoint now, std::optional<common::TimePoint> known_next_due,
                            milliseconds poll_interval, milliseconds min_sleep) {
  const common::TimePoint earliest = now + min_sleep;
  common::TimePoint wake = now + poll_interval;
  if (known_next_due && *known_next_due < wake) wake = *known_next_due;
  return std::max(wake, earliest);
}

void SystemWaiter::wait_until(common::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, deadline, [this] { return notified_; });
  notified_ = false;
}

void SystemWaiter::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  cv_.notify_all();
}

// A fixed set of helper threads that, with the calling thread, work through the jobs of one pass.
class JobRunner::Workers {
 public:
  explicit Workers(int helpers) {
    for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { serve(); });
  }
  ~Workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Calls fn(i) once for every i in [0, n), spread over the helpers and the calling thread;
  // returns when every call has returned. One run at a time.
  void run(size_t n, const std::function<void(size_t)>& fn) {
    if (threads_.empty() || n <= 1) {
      for (size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      busy_ = threads_.size();
      ++generation_;
    }
    start_.notify_all();
    drain();
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [this] { return busy_ == 0; });
    fn_ = nullptr;
  }

 private:
  void drain() {
    for (size_t i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) (*fn_)(i);
  }

  void serve() {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      drain();
      std::lock_guard lock(mutex_);
      if (--busy_ == 0) finished_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable finished_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  size_t busy_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

JobRunner::JobRunner(energy::JobQueue& queue, const common::Clock& clock, common::Logger& log,
                     JobRunnerOptions options, JobRunnerSeams seams)
    : queue_(queue),
      clock_(clock),
      log_(log),
      options_(std::move(options)),
      own_waiter_(seams.waiter == nullptr ? std::make_unique<SystemWaiter>() : nullptr),
      waiter_(seams.waiter == nullptr ? *own_waiter_ : *seams.waiter),
      leadership_(seams.leadership),
      workers_(std::make_unique<Workers>(std::max(options_.threads, 1) - 1)),
      rng_(options_.jitter_seed ? *options_.jitter_seed : std::random_device{}()) {
  assert(!options_.worker_id.empty());
  assert(options_.batch_size >= 1 && options_.threads >= 1);
  assert(options_.min_claim_left < options_.claim_for);
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::handle(const std::string& kind, JobHandler handler) {
  std::lock_guard lock(pass_mutex_);
  handlers_[kind] = std::move(handler);
  kinds_.clear();
  for (const auto& [k, h] : handlers_) kinds_.push_back(k);
}

std::vector<std::string> JobRunner::kinds() const { return kinds_; }

common::Status JobRunner::run_handler(const energy::Job& job) {
  try {
    auto handler = handlers_.find(job.kind);
    if (handler == handlers_.end()) {
      return common::make_error("internal", "no handler for job kind " + job.kind);
    }
    return handler->second(job);
  } catch (const std::exception& e) {
    return common::make_error("internal", std::string("handler threw: ") + e.what());
  } catch (...) {
    return common::make_error("internal", "handler threw a non-standard exception");
  }
}

JobRunner::Outcome JobRunner::record_failure(const energy::Job& job, const common::Error& failure) {
  uint64_t random = 0;
  {
    std::lock_guard lock(rng_mutex_);
    random = rng_();
  }
  const milliseconds delay =
      retry_delay(job.attempts, options_.retry_base, options_.retry_max, random);
  const std::string error = failure.code + ": " + failure.message;
  auto retried = queue_.retry(job.id, options_.worker_id, error, clock_.now() + delay);
  if (!retried.ok()) {
    log_.warn("job failed and the failure could not be recorded; it will run again",
              {{"job_id", job.id},
               {"kind", job.kind},
               {"ref", job.ref},
               {"error", error},
               {"store_code", retried.error().code},
               {"store_error", retried.error().message}});
    return Outcome::kUnrecorded;
  }
  if (retried->state == energy::JobState::kDead) {
    log_.error("job dead after its last attempt", {{"job_id", job.id},
                                                   {"kind", job.kind},
                                                   {"ref", job.ref},
                                                   {"attempts", job.attempts},
                                                   {"error", error}});
    return Outcome::kDead;
  }
  log_.warn("job failed; retrying", {{"job_id", job.id},
                                     {"kind", job.kind},
                                     {"ref", job.ref},
                                     {"attempt", job.attempts},
                                     {"max_attempts", job.max_attempts},
                                     {"retry_in_ms", delay.count()},
                                     {"error", error}});
  return Outcome::kRetried;
}

void JobRunner::record_successes(const std::vector<energy::Job>& jobs,
                                 std::vector<Outcome>& outcomes) {
  std::vector<int64_t> ids;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (outcomes[i] == Outcome::kSucceeded) ids.push_back(jobs[i].id);
  }
  if (ids.empty()) return;
  common::Result<std::vector<int64_t>> refused = common::make_error("internal", "not run");
  try {
    refused = queue_.complete_all(ids, options_.worker_id);
  } catch (const std::exception& e) {
    refused = common::make_error("internal", e.what());
  }
  if (!refused.ok()) {
    log_.warn(
        "jobs ran but could not be marked done; they will run again",
        {{"jobs", ids.size()}, {"code", refused.error().code}, {"error", refused.error().message}});
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (outcomes[i] != Outcome::kSucceeded) continue;
    const bool lost =
        !refused.ok() || std::binary_search(refused->begin(), refused->end(), jobs[i].id);
    outcomes[i] = lost ? Outcome::kUnrecorded : Outcome::kDone;
    if (lost && refused.ok()) {
      // Its claim expired and another worker took it over: that worker's outcome counts.
      log_.warn("job ran but its claim was taken over; not marked done by this worker",
                {{"job_id", jobs[i].id}, {"kind", jobs[i].kind}, {"ref", jobs[i].ref}});
    }
  }
}

JobPass JobRunner::run_due(common::TimePoint now) {
  std::lock_guard pass_lock(pass_mutex_);
  JobPass pass;
  counters_.passes.fetch_add(1, std::memory_order_relaxed);
  // An empty kind list would claim every kind, including ones this process cannot run.
  if (kinds_.empty()) return pass;

  common::Result<std::vector<energy::Job>> claimed = common::make_error("internal", "not run");
  try {
    claimed =
        queue_.claim_due(now, options_.worker_id, options_.batch_size, options_.claim_for, kinds_);
  } catch (const std::exception& e) {
    claimed = common::make_error("internal", e.what());
  }
  if (!claimed.ok()) {
    counters_.claim_failures.fetch_add(1, std::memory_order_relaxed);
    log_.error("claiming due jobs failed",
               {{"code", claimed.error().code}, {"error", claimed.error().message}});
    pass.claim_error = claimed.error();
    return pass;
  }
  const std::vector<energy::Job>& jobs = *claimed;
  pass.claimed = static_cast<int>(jobs.size());
  if (jobs.empty()) return pass;

  std::vector<Outcome> outcomes(jobs.size(), Outcome::kUnrecorded);
  std::vector<milliseconds> lags(jobs.size());
  const milliseconds min_left =
      options_.min_claim_left.count() > 0 ? options_.min_claim_left : options_.claim_for / 2;
  workers_->run(jobs.size(), [&](size_t i) {
    const common::TimePoint start = clock_.now();
    if (jobs[i].claimed_until && *jobs[i].claimed_until - start < min_left) {
      outcomes[i] = Outcome::kSkipped;
      log_.warn(
          "job not started: too little of its claim is left",
          {{"job_id", jobs[i].id},
           {"kind", jobs[i].kind},
           {"ref", jobs[i].ref},
           {"claim_left_ms",
            std::chrono::duration_cast<milliseconds>(*jobs[i].claimed_until - start).count()}});
      return;
    }
    lags[i] = std::chrono::duration_cast<milliseconds>(start - jobs[i].due_at);
    try {
      const common::Status status = run_handler(jobs[i]);
      outcomes[i] = status.ok() ? Outcome::kSucceeded : record_failure(jobs[i], status.error());
    } catch (const std::exception& e) {  // the store or the log ran out of memory
      log_.error("job execution failed", {{"job_id", jobs[i].id}, {"error", e.what()}});
    }
  });
  record_successes(jobs, outcomes);

  for (size_t i = 0; i < jobs.size(); ++i) {
    pass.max_lag = std::max(pass.max_lag, lags[i]);
    switch (outcomes[i]) {
      case Outcome::kDone:
        ++pass.done;
        break;
      case Outcome::kRetried:
        ++pass.retried;
        break;
      case Outcome::kDead:
        ++pass.dead;
        break;
      case Outcome::kSucceeded:  // record_successes() left none
      case Outcome::kUnrecorded:
        ++pass.unrecorded;
        break;
      case Outcome::kSkipped:
        ++pass.skipped;
        break;
    }
  }
  counters_.claimed.fetch_add(pass.claimed, std::memory_order_relaxed);
  counters_.done.fetch_add(pass.done, std::memory_order_relaxed);
  counters_.retried.fetch_add(pass.retried, std::memory_order_relaxed);
  counters_.dead.fetch_add(pass.dead, std::memory_order_relaxed);
  counters_.unrecorded.fetch_add(pass.unrecorded, std::memory_order_relaxed);
  counters_.skipped.fetch_add(pass.skipped, std::memory_order_relaxed);
  counters_.last_pass_max_lag_ms.store(pass.max_lag.count(), std::memory_order_relaxed);
  log_.debug("job pass", {{"claimed", pass.claimed},
                          {"done", pass.done},
                          {"retried", pass.retried},
                          {"dead", pass.dead},
                          {"unrecorded", pass.unrecorded},
                          {"skipped", pass.skipped},
                          {"max_lag_ms", pass.max_lag.count()}});
  return pass;
}

common::TimePoint JobRunner::plan(common::TimePoint now) {
  std::optional<common::TimePoint> known;
  const bool leader = leadership_ == nullptr || leadership_->held();
  if (leader) {
    auto next = queue_.next_due_at(kinds_);
    if (next.ok()) {
      known = *next;
    } else {
      log_.warn("reading the next due job failed; polling",
                {{"code", next.error().code}, {"error", next.error().message}});
    }
  }
  std::lock_guard lock(plan_mutex_);
  if (hinted_due_ && (!known || *hinted_due_ < *known)) known = hinted_due_;
  planned_wake_ = next_wake(now, known, options_.poll_interval, options_.min_sleep);
  return planned_wake_;
}

void JobRunner::loop() {
  while (!stopping_.load()) {
    const common::TimePoint now = clock_.now();
    {
      std::lock_guard lock(plan_mutex_);
      planned_wake_ = common::TimePoint::max();  // awake: any wake_if_earlier() counts
      if (hinted_due_ && *hinted_due_ <= now) hinted_due_.reset();  // this pass claims it
    }
    const JobPass pass = run_due(now);
    if (stopping_.load()) return;
    if (!pass.claim_error && pass.claimed >= options_.batch_size) continue;  // more may be due
    waiter_.wait_until(plan(clock_.now()));
  }
}

void JobRunner::start() {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable()) return;
  stopping_.store(false);
  thread_ = std::thread([this] { loop(); });
}

void JobRunner::stop() {
  std::lock_guard lock(thread_mutex_);
  stopping_.store(true);
  waiter_.notify();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::wake() { waiter_.notify(); }

void JobRunner::wake_if_earlier(common::TimePoint due_at) {
  bool sooner = false;
  {
    std::lock_guard lock(plan_mutex_);
    if (!hinted_due_ || due_at < *hinted_due_) hinted_due_ = due_at;
    sooner = due_at < planned_wake_;
  }
  if (sooner) waiter_.notify();
}

}  // namespace relay::scheduler
