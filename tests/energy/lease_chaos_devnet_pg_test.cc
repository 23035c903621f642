// Leases under chaos (issue #6), against PostgreSQL and a tron-devnet process, with the Daemon of
// tests/support/lease_devnet.h.
//
// 1. Chain faults: the devnet answers 30 % of every wallet call with 429/500/502/503 (the status
//    changes every few blocks) and drops 30 % of broadcasts (SUCCESS, never applied) while four
//    threads lease for 20 receivers of their own (the rule "one delegation in flight per (pool,
//    receiver)" does not come into it) and a housekeeping thread runs the daemon's periodic
//    sweep + recover() beside them; create() waits only 3 blocks for its delegation, so a lost
//    broadcast leaves its lease delegating for recover() to finish. Time then jumps past every
//    lease's expiry and past the 60 s expiration of any delegation still unconfirmed (it is found
//    in its block, or it expires and its lease fails), and, faults still on, bounded passes of the
//    sweep, recover() and the reclaim jobs (which wait 3 blocks too, then retry) run until every
//    lease is final. With the faults off: every lease is reclaimed (delegated and undelegated
//    exactly once) or failed and refunded (nothing of it in a block, its hold released), nothing
//    is left delegated to any receiver, the ledger is the credit less the captured prices, and no
//    hold, reservation, job or chain tx is left open.
//
// 2. Cron and daemon together: 20 active leases are due, and a daemon's JobRunner and three
//    `tronrelayctl reclaim --due --limit 2` processes (the real binary, configured like a daemon
//    from a TOML file and 0600 key files) claim their reclaim jobs at the same moment. Every lease
//    is reclaimed once: one UnDelegateResource each, each job claimed once (attempts = 1), the
//    work split between both kinds of claimer, nothing left delegated or reserved.
//    Time: tronrelayctl runs on the system clock, so its due leases must be due in wall-clock
//    terms. Rather than sleeping through a lease's duration, the devnet's chain starts 10 minutes
//    in the past (genesis timestamp_ms): a delegation's block time, and with it expires_at, lags
//    the wall clock by 10 minutes, so a 30 s lease is due as soon as it is active. The daemon
//    here keeps the system clock too (offset 0): every claimer shares one clock, as daemons and
//    cron do on NTP-synced hosts, so claim expiry (claimed_until, written by one claimer and read
//    by the others) means the same to all of them, which moving one process's clock would break.
//    To make sure both kinds of claimer take part, the daemon's handler starts its first job only
//    once a tronrelayctl holds a claim (its batch stays claimed meanwhile).
//
// Needs PostgreSQL (TRONRELAY_TEST_DATABASE_URL), TRON_DEVNET_BINARY and TRONRELAYCTL_BINARY.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/json.h"
#include "energy/jobs.h"
#include "energy/lease_service.h"
#include "scheduler/job_runner.h"
#include "tests/support/lease_devnet.h"

extern char** environ;

namespace relay::energy {
namespace {

using common::Address;
using common::Sun;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing::Daemon;
using testing::DaemonOptions;
using testing::kBlockMs;
using testing::kCredit;
using testing::kEnergy;

constexpr int kLeases = 20;
constexpr int64_t kLeaseDurationS = 30;  // the daemon's pricing.min_duration_s

// `count` receivers of their own, activated on chain through the devnet's admin route.
std::vector<Address> fund_receivers(testing::DevnetProcess& devnet, int count, uint8_t tag) {
  std::vector<Address> receivers;
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> id20(20, tag);
    id20[19] = static_cast<uint8_t>(i);
    receivers.push_back(Address::from_id20(common::ByteView(id20.data(), id20.size())));
    devnet.admin("fund",
                 R"({"address":")" + receivers.back().to_base58() + R"(","amount_sun":1000000})");
  }
  devnet.mine(1);
  return receivers;
}

// The price of one kEnergy lease now: what max_cost allows twice over.
int64_t price_now(Daemon& d, int64_t tenant_id, const Address& receiver) {
  auto probe = d.quotes->create(tenant_id, QuoteRequest{.receiver = receiver,
                                                        .energy = common::Energy(kEnergy),
                                                        .usdt_transfer = std::nullopt,
                                                        .duration_s = kLeaseDurationS});
  EXPECT_TRUE(probe.ok()) << probe.error().code << ": " << probe.error().message;
  return probe.ok() ? probe->price.total_sun.value() : 0;
}

LeaseRequest inline_request(const Address& receiver, int64_t price) {
  return LeaseRequest{.quote_id = std::nullopt,
                      .receiver = receiver,
                      .energy = common::Energy(kEnergy),
                      .duration_s = kLeaseDurationS,
                      .max_cost = Sun(price * 2)};
}

std::vector<Lease> all_leases(Daemon& d, int64_t tenant_id) {
  auto page = d.lease_store->list(tenant_id, LeaseFilter{.limit = 500});
  EXPECT_TRUE(page.ok());
  return page.ok() ? page->leases : std::vector<Lease>{};
}

class LeaseChaosDevnetPgTest : public testing::LeaseDevnetTest {
 protected:
  // The ledger, holds, reservations and jobs after every lease of the tenant is final: the credit
  // less the captured prices of the reclaimed ones, nothing held or reserved, every job done.
  void expect_books_closed(const std::vector<Lease>& leases, int64_t credit) {
    int64_t charged = 0;
    for (const Lease& lease : leases) {
      if (lease.state == LeaseState::kReclaimed) charged += lease.price.total_sun.value();
    }
    auto balance = daemon_->ledger->balance(tenant_id_);
    ASSERT_TRUE(balance.ok());
    EXPECT_EQ(balance->balance.value(), credit - charged);
    EXPECT_EQ(balance->reserved.value(), 0);
    const std::string tenant = std::to_string(tenant_id_);
    EXPECT_EQ(count("SELECT balance_sun FROM tenants WHERE id = " + tenant),
              count("SELECT coalesce(sum(CASE WHEN kind IN ('credit', 'refund') THEN amount WHEN "
                    "kind IN ('debit', 'capture') THEN -amount ELSE 0 END), 0) FROM "
                    "ledger_entries WHERE tenant_id = " +
                    tenant));
    EXPECT_EQ(count("SELECT count(*) FROM holds WHERE state = 'open'"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM pool_reservations WHERE state <> 'released'"), 0);
    auto capacity = daemon_->capacity->capacity(pool_id_);
    ASSERT_TRUE(capacity.ok());
    EXPECT_EQ(capacity->reserved_sun, 0);
    EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state <> 'done'"), 0) << scalar(
        "SELECT string_agg(ref || ' ' || state || ': ' || coalesce(last_error, ''), "
        "'; ') FROM jobs WHERE state <> 'done'");
    EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE state IN ('signed', 'broadcast')"), 0);
  }

  int64_t txs_of(const Lease& lease, const std::string& purpose, const std::string& state = "") {
    return count("SELECT count(*) FROM chain_txs WHERE owner_ref = 'lease:" +
                 std::to_string(lease.id) + "' AND purpose = '" + purpose + "'" +
                 (state.empty() ? "" : " AND state = '" + state + "'"));
  }
};

// While on, the devnet fails 30 % of every wallet call (429, 500, 502, 503 in turn, changing every
// few blocks) and drops 30 % of broadcasts; off() clears the faults for good.
class ChainWeather {
 public:
  explicit ChainWeather(testing::DevnetProcess& devnet)
      : devnet_(devnet), thread_([this] { run(); }) {}
  ~ChainWeather() { off(); }

  void off() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
    devnet_.faults(R"({"error_rate":0,"drop_broadcast_rate":0})");
  }

 private:
  void run() {
    const int statuses[] = {429, 503, 500, 502};
    for (int turn = 0; !stop_; ++turn) {
      devnet_.faults(R"({"error_rate":0.3,"drop_broadcast_rate":0.3,"status":)" +
                     std::to_string(statuses[turn % 4]) + "}");
      for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(kBlockMs));
    }
  }

  testing::DevnetProcess& devnet_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(LeaseChaosDevnetPgTest, LeasesUnderChainFaultsAndDroppedBroadcastsSettle) {
  // Four leasing threads and the housekeeping one share the connections; reclaims run on four
  // workers. A breaker opened by five failures in a row (a matter of luck at 30 %) stays open
  // 200 ms, not the default 30 s of wall time this test has no use for.
  daemon_ = start_daemon(DaemonOptions{.db_connections = 12,
                                       .runner_threads = 4,
                                       .runner_batch_size = 10,
                                       .breaker_threshold = 5,
                                       .breaker_cooldown = milliseconds(200),
                                       .confirm_timeout = milliseconds(3 * kBlockMs),
                                       .reclaim_confirm_timeout = milliseconds(3 * kBlockMs)});
  Daemon& d = *daemon_;
  ASSERT_TRUE(d.pool_service->refresh_all().ok());  // a daemon admits its pools at start
  const std::vector<Address> receivers = fund_receivers(*devnet_, kLeases, 0x6c);
  const int64_t price = price_now(d, tenant_id_, receivers[0]);
  ASSERT_GT(price, 0);
  ASSERT_LE(kLeases * price * 2, kCredit);
  const auto started = steady_clock::now();

  auto weather = std::make_unique<ChainWeather>(*devnet_);
  std::atomic<bool> leasing{true};
  std::atomic<int> housekeeping_passes{0};
  // The daemon's periodic settle (api_wiring: the chain tx sweep, then recover()), beside create().
  std::thread housekeeping([&] {
    while (leasing) {
      (void)d.sender->resolve_unresolved(100);
      (void)d.leases->recover(100);
      ++housekeeping_passes;
      std::this_thread::sleep_for(milliseconds(3 * kBlockMs));
    }
  });

  // A receiver's lease is asked for again until one is stored: a refusal before that (the quote's
  // chain reads failed) leaves nothing behind, and a client would retry it.
  constexpr int kThreads = 4;
  constexpr int kAttempts = 10;
  std::mutex mutex;
  std::map<std::string, int> errors;
  std::vector<int> unleased;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kLeases; i += kThreads) {
        bool stored = false;
        for (int attempt = 0; attempt < kAttempts && !stored; ++attempt) {
          auto created = d.leases->create(tenant_id_, inline_request(receivers[i], price));
          if (created.ok()) {
            stored = true;
            break;
          }
          {
            std::lock_guard lock(mutex);
            ++errors[created.error().code];
          }
          auto mine = d.lease_store->list(
              tenant_id_, LeaseFilter{.state = std::nullopt, .receiver = receivers[i]});
          stored = mine.ok() && !mine->leases.empty();
          if (!stored) std::this_thread::sleep_for(milliseconds(2 * kBlockMs));
        }
        if (!stored) {
          std::lock_guard lock(mutex);
          unleased.push_back(i);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  leasing = false;
  housekeeping.join();
  const auto leased_in = steady_clock::now() - started;
  EXPECT_TRUE(unleased.empty()) << unleased.size() << " receivers got no lease in " << kAttempts
                                << " attempts";

  // Time passes every lease's expiry, and the 60 s expiration (tx_expiration_ms) of any
  // delegation still unconfirmed: one that reached the chain is found in its block, one that was
  // lost expires and its lease fails, refunded. Then, with the faults still on, the sweep and
  // recover() as the daemon runs them, and the reclaim jobs, until every lease is final; bounded
  // by passes and a deadline.
  const int64_t in_flight_at_expiry =
      count("SELECT count(*) FROM leases WHERE state IN ('pending', 'delegating', 'reclaiming')");
  advance(seconds(kLeaseDurationS + 35));
  constexpr int kMaxPasses = 300;
  const auto deadline = steady_clock::now() + seconds(60);
  int passes = 0;
  int recover_errors = 0;
  scheduler::JobPass jobs_total;
  for (; passes < kMaxPasses && steady_clock::now() < deadline; ++passes) {
    (void)d.sender->resolve_unresolved(100);
    if (auto recovered = d.leases->recover(100); recovered.ok()) {
      recover_errors += recovered->errors;
    }
    // Retries are due within retry_max (100 ms): by the next pass.
    const scheduler::JobPass pass = d.runner->run_due(d.clock.now());
    jobs_total.claimed += pass.claimed;
    jobs_total.done += pass.done;
    jobs_total.retried += pass.retried;
    jobs_total.dead += pass.dead;
    auto counts = d.lease_store->count_by_state();
    if (counts.ok() &&
        counts->pending + counts->delegating + counts->active + counts->reclaiming == 0) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(2 * kBlockMs));
  }
  const auto settled_in = steady_clock::now() - started - leased_in;

  // The books, with the faults off.
  weather->off();
  devnet_->mine(1);
  const auto stats = d.node->stats()[0];
  std::vector<Lease> leases = all_leases(d, tenant_id_);
  std::map<std::string, int> by_state;
  for (const Lease& lease : leases) ++by_state[lease_state_name(lease.state)];
  std::cout << "[ chaos ] " << leases.size() << " leases: " << by_state["reclaimed"]
            << " reclaimed, " << by_state["failed"] << " failed; leased in "
            << std::chrono::duration_cast<milliseconds>(leased_in).count() << " ms ("
            << housekeeping_passes << " housekeeping passes, " << in_flight_at_expiry
            << " in flight when time jumped), settled in "
            << std::chrono::duration_cast<milliseconds>(settled_in).count() << " ms, " << passes
            << " passes; jobs claimed " << jobs_total.claimed << ", done " << jobs_total.done
            << ", retried " << jobs_total.retried << ", dead " << jobs_total.dead
            << "; recover errors " << recover_errors << "; chain requests " << stats.requests
            << ", retries " << stats.retries << ", breaker opens " << stats.circuit_opens
            << "; create errors:";
  for (const auto& [code, n] : errors) std::cout << " " << code << "=" << n;
  std::cout << "\n";

  std::map<std::string, int> failures;
  for (const Lease& lease : leases) {
    if (lease.state == LeaseState::kFailed) {
      ++failures[lease.state_reason.substr(0, lease.state_reason.find(':'))];
    }
  }
  const int64_t sent_again = count("SELECT count(*) FROM chain_txs WHERE broadcast_attempts > 1");
  std::cout << "[ chaos ] failed leases by reason:";
  for (const auto& [reason, n] : failures) std::cout << " " << reason << "=" << n;
  std::cout << "; chain txs broadcast more than once: " << sent_again << "\n";

  ASSERT_GE(static_cast<int>(leases.size()), kLeases - static_cast<int>(unleased.size()));
  EXPECT_GT(stats.retries, 0u) << "the faults were not felt";
  EXPECT_GT(sent_again, 0) << "no dropped broadcast was sent again";
  for (const Lease& lease : leases) {
    SCOPED_TRACE("lease " + std::to_string(lease.id) + " (" + lease_state_name(lease.state) + ": " +
                 lease.state_reason + ")");
    const std::string ref = "'lease:" + std::to_string(lease.id) + "'";
    if (!is_final(lease.state)) {
      ADD_FAILURE() << "stuck: not reclaimed or failed after " << passes << " passes";
      continue;
    }
    EXPECT_LE(txs_of(lease, chain_tx_purpose::kLeaseDelegate), 1) << "delegation signed twice";
    if (lease.state == LeaseState::kReclaimed) {
      EXPECT_TRUE(lease.delegated_at.has_value());
      EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseDelegate, "included"), 1);
      EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseReclaim, "included"), 1);
      EXPECT_TRUE(lease.state_reason.empty());
      EXPECT_EQ(count("SELECT count(*) FROM holds WHERE state = 'captured' AND captured = " +
                      std::to_string(lease.price.total_sun.value()) + " AND reference = " + ref),
                1);
      EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'done' AND ref = " + ref), 1);
    } else {
      // Failed: nothing of it reached a block, and the tenant paid nothing for it.
      EXPECT_FALSE(lease.delegated_at.has_value());
      EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseDelegate, "included"), 0);
      EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseReclaim), 0);
      EXPECT_EQ(
          count("SELECT count(*) FROM holds WHERE state <> 'released' AND reference = " + ref), 0);
      EXPECT_EQ(count("SELECT count(*) FROM ledger_entries WHERE kind = 'capture' AND "
                      "reference = " +
                      ref),
                0);
    }
  }
  // The chain: nothing left delegated from the pool to any receiver (no orphan).
  for (const Address& receiver : receivers) {
    EXPECT_EQ(d.delegated_to(receiver), 0) << receiver.to_base58();
  }
  expect_books_closed(leases, kCredit);
}

// ---- 2. tronrelayctl reclaim --due beside a daemon's JobRunner ----

// One tronrelayctl run in a child process, stdout and stderr to files; the environment's
// TRONRELAY_* variables are left out, so the config file alone says what it does.
class CtlRun {
 public:
  CtlRun(const std::vector<std::string>& args, const std::string& out_path,
         const std::string& err_path) {
    std::vector<std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!std::string_view(*e).starts_with("TRONRELAY_")) vars.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_text = {TRONRELAYCTL_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid_, argv_text[0].c_str(), &actions, nullptr, argv.data(), envp.data()) !=
        0) {
      pid_ = 0;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~CtlRun() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  CtlRun(const CtlRun&) = delete;
  CtlRun& operator=(const CtlRun&) = delete;

  bool started() const { return pid_ > 0; }

  // The wait status, or nothing if it had not exited by `deadline` (it is killed then).
  std::optional<int> wait(steady_clock::time_point deadline) {
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return status;
      }
      if (steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_key_file(const std::string& path, const std::string& hex) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << path;
  const std::string text = hex + "\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

class LeaseCronDevnetPgTest : public LeaseChaosDevnetPgTest {
 protected:
  static constexpr int64_t kChainLagMs = 10 * 60 * 1000;

  void SetUp() override {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "lease_cron_XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    // The demo chain, started kChainLagMs in the past (see the top of the file).
    auto genesis = common::parse_json_object(
        read_text(std::string(PROJECT_SOURCE_DIR) + "/devnet/demo-genesis.json"));
    ASSERT_TRUE(genesis.ok()) << genesis.error().message;
    (*genesis)["timestamp_ms"] = std::chrono::duration_cast<milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count() -
                                 kChainLagMs;
    std::ofstream(genesis_path()) << common::json_to_string(*genesis);
    LeaseChaosDevnetPgTest::SetUp();
  }

  void TearDown() override {
    LeaseChaosDevnetPgTest::TearDown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string genesis_path() const override { return dir_ + "/genesis.json"; }

  // A tronrelayctl config for this database and devnet, with the relayer key and K1's owner key.
  std::string write_ctl_config() {
    write_key_file(dir_ + "/relayer.key", testing::kRelayerKey);
    write_key_file(dir_ + "/pool.key", testing::kPoolKey);
    const std::string path = dir_ + "/tronrelay.toml";
    std::ofstream(path) << "[database]\nurl = \"" << db_url_ << "\"\n"
                        << "[chain]\nendpoints = [\"" << devnet_->url() << "\"]\n"
                        << "requests_per_second = 1000\n"
                        << "[signer]\nkey_file = \"" << dir_ << "/relayer.key\"\n"
                        << "[pools]\nowner_key_files = [\"" << dir_ << "/pool.key\"]\n"
                        << "[log]\nlevel = \"warn\"\n";
    return path;
  }

  std::string dir_;
};

TEST_F(LeaseCronDevnetPgTest, CronAndDaemonReclaimTheSameDueLeasesOnce) {
  // Each tronrelayctl reclaim waits for its block at the sender's default 3 s poll: two each.
  constexpr int kCtls = 3;
  constexpr int kCtlLimit = 2;
  daemon_ = start_daemon(DaemonOptions{.db_connections = 8});
  Daemon& d = *daemon_;
  ASSERT_TRUE(d.pool_service->refresh_all().ok());
  const std::vector<Address> receivers = fund_receivers(*devnet_, kLeases, 0x7c);
  const int64_t price = price_now(d, tenant_id_, receivers[0]);
  ASSERT_GT(price, 0);

  // 20 active leases, four at a time.
  std::mutex mutex;
  std::vector<Lease> leased;
  std::vector<std::string> refused;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kLeases; i += 4) {
        auto created = d.leases->create(tenant_id_, inline_request(receivers[i], price));
        std::lock_guard lock(mutex);
        if (created.ok()) {
          leased.push_back(*created);
        } else {
          refused.push_back(created.error().code + ": " + created.error().message);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(refused.empty()) << refused.front();
  ASSERT_EQ(static_cast<int>(leased.size()), kLeases);
  devnet_->mine(1);
  for (const Lease& lease : leased) {
    ASSERT_EQ(lease.state, LeaseState::kActive) << lease.id << ": " << lease.state_reason;
    // Due for every claimer, tronrelayctl's system clock included: the chain lags it.
    ASSERT_LE(*lease.expires_at, std::chrono::system_clock::now()) << lease.id;
    EXPECT_EQ(d.delegated_to(lease.receiver), lease.stake_sun.value());
  }
  ASSERT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'reclaim_lease' AND state = 'due'"),
            kLeases);
  const std::string config = write_ctl_config();

  // A daemon-side runner, in small batches on two workers so that due jobs are left for the cron
  // to take; its first job waits until some tronrelayctl holds a claim.
  const std::string daemon_worker = "tronrelayd-test@" + std::to_string(::getpid());
  scheduler::JobRunner runner(*d.jobs, d.clock, d.log,
                              scheduler::JobRunnerOptions{.worker_id = daemon_worker,
                                                          .batch_size = 4,
                                                          .threads = 2,
                                                          .retry_base = milliseconds(10),
                                                          .retry_max = milliseconds(100),
                                                          .jitter_seed = 2});
  const auto deadline = steady_clock::now() + seconds(60);
  std::atomic<bool> cron_claimed{false};
  runner.handle(std::string(kReclaimLeaseJob), [&](const Job& job) {
    while (!cron_claimed && steady_clock::now() < deadline) {
      if (count("SELECT count(*) FROM jobs WHERE claimed_by LIKE 'tronrelayctl@%'") > 0) {
        cron_claimed = true;
      } else {
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    return d.leases->handle_reclaim_job(job);
  });

  // At the same moment: the cron runs and the daemon's passes, until every job is done.
  const auto started = steady_clock::now();
  std::vector<std::unique_ptr<CtlRun>> ctls;
  for (int i = 0; i < kCtls; ++i) {
    ctls.push_back(std::make_unique<CtlRun>(
        std::vector<std::string>{"--config", config, "reclaim", "--due", "--limit",
                                 std::to_string(kCtlLimit)},
        dir_ + "/ctl" + std::to_string(i) + ".out", dir_ + "/ctl" + std::to_string(i) + ".err"));
    ASSERT_TRUE(ctls.back()->started());
  }
  scheduler::JobPass daemon_total;
  while (steady_clock::now() < deadline) {
    const scheduler::JobPass pass = runner.run_due(d.clock.now());
    daemon_total.claimed += pass.claimed;
    daemon_total.done += pass.done;
    daemon_total.retried += pass.retried;
    daemon_total.dead += pass.dead;
    daemon_total.unrecorded += pass.unrecorded;
    if (count("SELECT count(*) FROM jobs WHERE state <> 'done'") == 0) break;
    if (pass.claimed == 0) std::this_thread::sleep_for(milliseconds(50));
  }
  int ctl_claimed = 0;
  for (int i = 0; i < kCtls; ++i) {
    SCOPED_TRACE("tronrelayctl " + std::to_string(i));
    const std::optional<int> status = ctls[i]->wait(deadline);
    const std::string out = read_text(dir_ + "/ctl" + std::to_string(i) + ".out");
    const std::string err = read_text(dir_ + "/ctl" + std::to_string(i) + ".err");
    ASSERT_TRUE(status.has_value()) << "still running at the deadline";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << out << err;
    auto result = common::parse_json_object(out);
    ASSERT_TRUE(result.ok()) << out << err;
    EXPECT_EQ(result->at("claimed"), result->at("reclaimed")) << out;
    EXPECT_EQ(result->at("retried").as_int64(), 0) << out;
    EXPECT_EQ(result->at("dead").as_int64(), 0) << out;
    EXPECT_EQ(result->at("unrecorded").as_int64(), 0) << out;
    ctl_claimed += static_cast<int>(result->at("claimed").as_int64());
  }
  const auto took = steady_clock::now() - started;
  std::cout << "[ cron ] daemon claimed " << daemon_total.claimed << ", tronrelayctl claimed "
            << ctl_claimed << ", in " << std::chrono::duration_cast<milliseconds>(took).count()
            << " ms\n";

  // Each job claimed once, by one claimer or the other, and done; both kinds took part.
  EXPECT_EQ(daemon_total.retried + daemon_total.dead + daemon_total.unrecorded, 0);
  EXPECT_EQ(daemon_total.claimed, daemon_total.done);
  EXPECT_GT(daemon_total.claimed, 0);
  EXPECT_GT(ctl_claimed, 0);
  EXPECT_EQ(daemon_total.claimed + ctl_claimed, kLeases);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'reclaim_lease' AND state = 'done' AND "
                  "attempts = 1"),
            kLeases);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE claimed_by = '" + daemon_worker + "'"),
            daemon_total.claimed);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE claimed_by LIKE 'tronrelayctl@%'"), ctl_claimed);

  // Each lease reclaimed once: one UnDelegateResource, in a block; nothing left on chain.
  devnet_->mine(1);
  EXPECT_EQ(count("SELECT count(*) FROM chain_txs WHERE purpose = 'lease_reclaim'"), kLeases);
  const std::vector<Lease> leases = all_leases(d, tenant_id_);
  ASSERT_EQ(static_cast<int>(leases.size()), kLeases);
  for (const Lease& lease : leases) {
    SCOPED_TRACE("lease " + std::to_string(lease.id));
    EXPECT_EQ(lease.state, LeaseState::kReclaimed) << lease.state_reason;
    EXPECT_TRUE(lease.state_reason.empty()) << lease.state_reason;
    EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseReclaim), 1);
    EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseReclaim, "included"), 1);
    EXPECT_EQ(txs_of(lease, chain_tx_purpose::kLeaseDelegate, "included"), 1);
    EXPECT_EQ(d.delegated_to(lease.receiver), 0) << lease.receiver.to_base58();
  }
  expect_books_closed(leases, kCredit);
}

}  // namespace
}  // namespace relay::energy
