// bench_jobs: the durable job queue at the scale of issue #6 — 1,000,000 pending leases whose
// reclaim jobs live in PostgreSQL while the runner's process stays small, and a burst of 10,000
// reclaims due at one instant, all claimed and completed (no-op handler) within 5 s of it.
//
// Needs PostgreSQL: TRONRELAY_BENCH_DATABASE_URL (else TRONRELAY_TEST_DATABASE_URL) names a
// database whose role may CREATE DATABASE. The program creates bench_jobs_<pid> beside it,
// migrates it, and drops it at exit. Figures mean something only with the server's settings
// stated (a durable server: `scripts/pg start DIR` without --fast). See docs/BENCHMARKS.md.
//
// Order matters and is the registration order: BM_LoadPendingJobs puts the million pending jobs
// in (the later ones load them themselves when filtered out), the rest run beside them.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/stream_to>
#include <pqxx/transaction>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "energy/jobs.h"
#include "migrations/migrator.h"
#include "scheduler/job_runner.h"
#include "store/database.h"
#include "store/job_queue_repository.h"

namespace {

using relay::common::TimePoint;
using relay::energy::Job;
using std::chrono::milliseconds;

constexpr int64_t kPendingJobs = 1'000'000;
constexpr const char* kKind = "reclaim_lease";

// The scratch database and what is loaded into it.
struct BenchDb {
  std::string admin_url;
  std::string name;
  std::string url;
  bool pending_loaded = false;
};
BenchDb g_db;

// Resident and peak resident memory of this process, MiB (/proc/self/status).
struct Memory {
  double rss_mib = 0;
  double peak_mib = 0;
};
Memory memory() {
  Memory m;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    const auto kib = [&] { return std::strtod(line.c_str() + line.find(':') + 1, nullptr); };
    if (line.starts_with("VmRSS:")) m.rss_mib = kib() / 1024;
    if (line.starts_with("VmHWM:")) m.peak_mib = kib() / 1024;
  }
  return m;
}

std::string with_database(const std::string& url, const std::string& name) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme + 3);
  const size_t query = url.find('?', scheme + 3);
  const std::string params = query == std::string::npos ? "" : url.substr(query);
  return url.substr(0, std::min(path, query)) + "/" + name + params;
}

// Timestamps as PostgreSQL reads them in COPY: "2024-05-01T12:00:00.123456Z".
std::string timestamp_text(TimePoint t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1'000'000));
  return text;
}

// COPYs `count` due jobs of kKind with refs "<prefix><i>", due at due(i), in one transaction.
template <typename DueFn>
void copy_jobs(const std::string& prefix, int64_t count, DueFn due) {
  pqxx::connection conn(g_db.url);
  pqxx::work tx(conn);
  pqxx::stream_to copy(tx, "jobs",
                       std::vector<std::string>{"kind", "ref", "due_at", "max_attempts"});
  for (int64_t i = 0; i < count; ++i) {
    copy << std::make_tuple(std::string(kKind), prefix + std::to_string(i), timestamp_text(due(i)),
                            5);
  }
  copy.complete();
  tx.commit();
}

int64_t scalar(const std::string& sql) {
  pqxx::connection conn(g_db.url);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<int64_t>();
}

// The million pending reclaims of open leases: due between an hour and 30 days from now.
double load_pending() {
  const auto start = std::chrono::steady_clock::now();
  const TimePoint now = std::chrono::system_clock::now();
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> seconds_ahead(3'600, 30 * 86'400);
  copy_jobs("lease:", kPendingJobs,
            [&](int64_t) { return now + std::chrono::seconds(seconds_ahead(rng)); });
  {
    pqxx::connection conn(g_db.url);
    pqxx::nontransaction tx(conn);
    tx.exec0("ANALYZE jobs");
  }
  g_db.pending_loaded = true;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void ensure_pending() {
  if (!g_db.pending_loaded) load_pending();
}

std::unique_ptr<relay::store::Database> open_db(int size) {
  auto db = relay::store::Database::open(g_db.url, size);
  if (!db.ok()) {
    std::fprintf(stderr, "bench_jobs: %s\n", db.error().message.c_str());
    std::exit(1);
  }
  return std::move(*db);
}

// COPY of 1,000,000 pending jobs, then ANALYZE. Reports the table's size with its indexes.
void BM_LoadPendingJobs(benchmark::State& state) {
  for (auto _ : state) {
    if (g_db.pending_loaded) {
      state.SkipWithError("already loaded");
      return;
    }
    state.SetIterationTime(load_pending());
  }
  state.SetItemsProcessed(kPendingJobs);
  state.counters["jobs_table_mib"] =
      static_cast<double>(scalar("SELECT pg_total_relation_size('jobs')")) / (1 << 20);
}
BENCHMARK(BM_LoadPendingJobs)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// One enqueue through the port (its own transaction, a durable commit each), beside the million.
void BM_EnqueueWith1MPending(benchmark::State& state) {
  ensure_pending();
  auto db = open_db(1);
  relay::store::PgJobQueue queue(*db);
  const TimePoint due = std::chrono::system_clock::now() + std::chrono::hours(24 * 60);
  int64_t i = 0;
  for (auto _ : state) {
    auto job = queue.enqueue(kKind, "enqueue:" + std::to_string(i++), due, 5);
    if (!job.ok()) {
      state.SkipWithError(job.error().message.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnqueueWith1MPending)->Iterations(5'000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// What a runner does when nothing is due: a claim that finds nothing and the timer's read of the
// next due time. With the million pending, both must stay index lookups.
void BM_IdlePassWith1MPending(benchmark::State& state) {
  ensure_pending();
  auto db = open_db(2);
  relay::store::PgJobQueue queue(*db);
  std::ofstream null("/dev/null");
  relay::common::Logger log(null, relay::common::LogLevel::kWarn);
  relay::common::SystemClock clock;
  relay::scheduler::JobRunnerOptions options;
  options.worker_id = "bench-idle";
  relay::scheduler::JobRunner runner(queue, clock, log, options);
  runner.handle(kKind, [](const Job&) -> relay::common::Status { return {}; });
  const std::vector<std::string> kinds = {kKind};
  for (auto _ : state) {
    auto pass = runner.run_due(clock.now());
    auto next = queue.next_due_at(kinds);
    if (pass.claim_error || !next.ok() || pass.claimed != 0) {
      state.SkipWithError("an idle pass failed or claimed something");
      return;
    }
  }
}
BENCHMARK(BM_IdlePassWith1MPending)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Counts completions as they return, to time the end of a burst.
class TimedQueue final : public relay::energy::JobQueue {
 public:
  TimedQueue(relay::energy::JobQueue& inner, int64_t expect) : inner_(inner), expect_(expect) {}

  relay::common::Result<Job> enqueue(const std::string& kind, const std::string& ref,
                                     TimePoint due_at, int max_attempts) override {
    return inner_.enqueue(kind, ref, due_at, max_attempts);
  }
  relay::common::Result<std::vector<Job>> claim_due(
      TimePoint now, const std::string& worker_id, int limit, milliseconds claim_for,
      const std::vector<std::string>& kinds) override {
    auto claimed = inner_.claim_due(now, worker_id, limit, claim_for, kinds);
    if (claimed.ok() && !claimed->empty()) {
      std::lock_guard lock(mutex_);
      if (!first_claim_) first_claim_ = std::chrono::system_clock::now();
    }
    return claimed;
  }
  relay::common::Status complete(int64_t job_id, const std::string& worker_id) override {
    auto done = inner_.complete(job_id, worker_id);
    if (done.ok()) count_done(1);
    return done;
  }
  relay::common::Result<std::vector<int64_t>> complete_all(const std::vector<int64_t>& job_ids,
                                                           const std::string& worker_id) override {
    auto refused = inner_.complete_all(job_ids, worker_id);
    if (refused.ok()) count_done(static_cast<int64_t>(job_ids.size() - refused->size()));
    return refused;
  }
  relay::common::Result<Job> retry(int64_t job_id, const std::string& worker_id,
                                   const std::string& error, TimePoint next_due) override {
    return inner_.retry(job_id, worker_id, error, next_due);
  }
  relay::common::Result<Job> reschedule(const std::string& kind, const std::string& ref,
                                        TimePoint due_at) override {
    return inner_.reschedule(kind, ref, due_at);
  }
  relay::common::Result<bool> cancel(const std::string& kind, const std::string& ref) override {
    return inner_.cancel(kind, ref);
  }
  relay::common::Result<std::optional<TimePoint>> next_due_at(
      const std::vector<std::string>& kinds) override {
    return inner_.next_due_at(kinds);
  }
  relay::common::Result<std::vector<Job>> list_dead(int limit) override {
    return inner_.list_dead(limit);
  }
  relay::common::Result<relay::energy::JobCounts> count_by_state() override {
    return inner_.count_by_state();
  }
  relay::common::Result<int64_t> purge_done(TimePoint before, int limit) override {
    return inner_.purge_done(before, limit);
  }

  // The instants of the first claim and of the last expected completion; empty after `guard`.
  std::optional<std::pair<TimePoint, TimePoint>> wait_all(std::chrono::seconds guard) {
    std::unique_lock lock(mutex_);
    if (!all_done_.wait_for(lock, guard, [&] { return last_complete_.has_value(); })) {
      return std::nullopt;
    }
    return std::pair(*first_claim_, *last_complete_);
  }

 private:
  void count_done(int64_t n) {
    if (completed_.fetch_add(n) + n == expect_) {
      std::lock_guard lock(mutex_);
      last_complete_ = std::chrono::system_clock::now();
      all_done_.notify_all();
    }
  }

  relay::energy::JobQueue& inner_;
  const int64_t expect_;
  std::atomic<int64_t> completed_{0};
  std::mutex mutex_;
  std::condition_variable all_done_;
  std::optional<TimePoint> first_claim_;
  std::optional<TimePoint> last_complete_;
};

// 10,000 reclaims due at one instant T (2 s after they are written), beside the million pending;
// a leader runner (threads × batch from the arguments) sleeping on its timer. The time is
// T → the last of the 10,000 completions. Counters: when the first claim happened, the
// distribution of (handler start − T), and the process's memory.
void BM_Burst10kDueAtOnce(benchmark::State& state) {
  ensure_pending();
  const int threads = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  constexpr int64_t kBurst = 10'000;
  static int run = 0;
  for (auto _ : state) {
    const std::string prefix = "burst" + std::to_string(run++) + ":";
    const TimePoint due = std::chrono::system_clock::now() + std::chrono::seconds(2);
    copy_jobs(prefix, kBurst, [&](int64_t) { return due; });

    auto db = open_db(threads + 1);
    relay::store::PgJobQueue pg(*db);
    TimedQueue queue(pg, kBurst);
    std::ofstream null("/dev/null");
    relay::common::Logger log(null, relay::common::LogLevel::kWarn);
    relay::common::SystemClock clock;
    relay::scheduler::JobRunnerOptions options;
    options.worker_id = "bench-burst";
    options.threads = threads;
    options.batch_size = batch;
    std::mutex lag_mutex;
    std::vector<double> lags_ms;
    lags_ms.reserve(kBurst);
    relay::scheduler::JobRunner runner(queue, clock, log, options);
    runner.handle(kKind, [&](const Job& job) -> relay::common::Status {
      const double lag =
          std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() - due).count();
      if (job.ref.starts_with(prefix)) {
        std::lock_guard lock(lag_mutex);
        lags_ms.push_back(lag);
      }
      return {};
    });
    runner.start();
    auto times = queue.wait_all(std::chrono::seconds(120));
    runner.stop();
    if (!times) {
      state.SkipWithError("the burst did not complete within 120 s");
      return;
    }
    const double total = std::chrono::duration<double>(times->second - due).count();
    state.SetIterationTime(total);
    std::sort(lags_ms.begin(), lags_ms.end());
    const auto pct = [&](double p) {
      return lags_ms[std::min(lags_ms.size() - 1, static_cast<size_t>(p * lags_ms.size()))];
    };
    state.counters["first_claim_ms"] =
        std::chrono::duration<double, std::milli>(times->first - due).count();
    state.counters["start_lag_p50_ms"] = pct(0.50);
    state.counters["start_lag_p99_ms"] = pct(0.99);
    state.counters["start_lag_max_ms"] = lags_ms.back();
    state.counters["last_done_ms"] = total * 1e3;
    state.counters["jobs_per_s"] = static_cast<double>(kBurst) / total;
    const Memory mem = memory();
    state.counters["rss_mib"] = mem.rss_mib;
    state.counters["peak_rss_mib"] = mem.peak_mib;
  }
}
BENCHMARK(BM_Burst10kDueAtOnce)
    ->ArgNames({"threads", "batch"})
    ->Args({4, 100})
    ->Args({4, 1'000})
    ->Args({1, 1'000})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The process holding the runner, once everything above ran: its memory with the million jobs
// pending (and the bursts' 30,000 done) in PostgreSQL.
void BM_RunnerProcessMemory(benchmark::State& state) {
  ensure_pending();
  for (auto _ : state) {
  }
  const Memory mem = memory();
  state.counters["rss_mib"] = mem.rss_mib;
  state.counters["peak_rss_mib"] = mem.peak_mib;
  state.counters["pending_jobs"] = static_cast<double>(
      scalar("SELECT count(*) FROM jobs WHERE state IN ('due', 'retry', 'claimed')"));
}
BENCHMARK(BM_RunnerProcessMemory)->Iterations(1);

void drop_database() {
  if (g_db.name.empty()) return;
  try {
    pqxx::connection admin(g_db.admin_url);
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + g_db.name + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_jobs: could not drop %s: %s\n", g_db.name.c_str(), e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* url = std::getenv("TRONRELAY_BENCH_DATABASE_URL");
  if (url == nullptr || *url == '\0') url = std::getenv("TRONRELAY_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    std::fprintf(stderr,
                 "bench_jobs needs PostgreSQL: set TRONRELAY_BENCH_DATABASE_URL to a database "
                 "whose role may CREATE DATABASE, e.g.\n"
                 "  scripts/pg start var/pg-bench 5440\n"
                 "  TRONRELAY_BENCH_DATABASE_URL=$(scripts/pg url var/pg-bench) %s\n",
                 argv[0]);
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_db.admin_url = url;
  g_db.name = "bench_jobs_" + std::to_string(::getpid());
  g_db.url = with_database(url, g_db.name);
  try {
    {
      pqxx::connection admin(g_db.admin_url);
      pqxx::nontransaction tx(admin);
      tx.exec0("CREATE DATABASE " + g_db.name);
      const auto settings = tx.exec1(
          "SELECT current_setting('fsync'), current_setting('synchronous_commit'), "
          "current_setting('server_version')");
      std::fprintf(stderr, "bench_jobs: PostgreSQL %s, fsync=%s, synchronous_commit=%s\n",
                   settings[2].c_str(), settings[0].c_str(), settings[1].c_str());
    }
    pqxx::connection conn(g_db.url);
    auto applied = relay::migrations::Migrator().apply(conn);
    if (!applied.ok()) {
      std::fprintf(stderr, "bench_jobs: migrating: %s\n", applied.error().message.c_str());
      drop_database();
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_jobs: %s\n", e.what());
    drop_database();
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  drop_database();
  return 0;
}
