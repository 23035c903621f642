#include "daemon/daemon.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/log.h"
#include "common/signature.h"
#include "daemon/api_wiring.h"
#include "daemon/config.h"
#include "daemon/service_manager.h"
#include "migrations/migrator.h"
#include "signer/key_file.h"
#include "signer/pool_signers.h"
#include "signer/signer.h"
#include "store/database.h"

namespace relay::daemon {

namespace {

using common::LogLevel;

constexpr int kExitClean = 0;
constexpr int kExitStartFailed = 1;
constexpr int kExitBadConfig = 2;

common::LogLevel level_of(const std::string& name) {
  return common::parse_log_level(name).value_or(LogLevel::kInfo);
}

}  // namespace

int run_daemon(const std::string& config_path, const sigset_t& signals) {
  ServiceManager systemd;
  common::Logger log(std::cout, common::LogBatching{});

  // ---- stage 1: configuration ----
  auto config = load_config(config_path, process_environment());
  if (!config.ok()) {
    log.log(LogLevel::kError, "bad configuration", {{"error", config.error().message}});
    std::cerr << "tronrelayd: " << config.error().message << "\n";
    return kExitBadConfig;
  }
  log.set_level(level_of(config->log.level));
  auto fail_start = [&](const std::string& stage, const common::Error& error) {
    log.log(LogLevel::kError, "start failed", {{"stage", stage}, {"error", error.message}});
    std::cerr << "tronrelayd: " << stage << ": " << error.message << "\n";
    return kExitStartFailed;
  };

  // ---- stage 2: sanity checks ----
  systemd.status("checking crypto, database, schema and chain");
  if (!common::crypto_self_test()) {
    return fail_start("crypto", common::make_error("internal", "secp256k1 self-test failed"));
  }
  auto db =
      store::Database::open(config->database.url, static_cast<int>(config->database.pool_size));
  if (!db.ok()) return fail_start("database", db.error());
  migrations::Migrator migrator;
  auto applied = (*db)->with_connection([&](pqxx::connection& c) { return migrator.apply(c); });
  if (!applied.ok()) return fail_start("migrations", applied.error());
  log.log(LogLevel::kInfo, "schema current", {{"applied_now", *applied}});
  common::SystemClock clock;
  chain::CurlTransport transport;
  auto node = chain::TronGridClient::create(transport, clock, chain_options(config->chain));
  if (!node.ok()) return fail_start("chain", node.error());
  auto head = (*node)->now_block();
  if (!head.ok()) return fail_start("chain", head.error());
  log.log(LogLevel::kInfo, "chain reachable", {{"head_block", head->number}});
  if (auto parameters = (*node)->cached_chain_parameters(); !parameters.ok()) {
    return fail_start("chain", parameters.error());
  }
  auto signers = load_signers(*config, log);
  if (!signers.ok()) return fail_start("signer", signers.error());

  // ---- stage 3: build ----
  ApiWiring api(*config, **db, transport, **node, signers->get(), clock, log);
  // Before serving: restores which pools the signers may sign for (active pools are re-admitted)
  // and takes a fresh snapshot of each; then every refresh_interval_ms in the background.
  if (auto* monitor = api.pool_monitor()) {
    auto pass = monitor->run_once();
    log.log(
        LogLevel::kInfo, "pools checked",
        {{"refreshed", pass.refreshed}, {"failed", pass.failed}, {"suspended", pass.suspended}});
    monitor->start();
  }
  api.start_leases();

  // ---- stage 4: start ----
  auto port = api.server().start();
  if (!port.ok()) return fail_start("listen", port.error());
  std::string listening = config->server.listen.substr(0, config->server.listen.rfind(':')) + ":" +
                          std::to_string(*port);
  log.log(LogLevel::kInfo, "serving",
          {{"listen", listening}, {"pid", static_cast<int64_t>(getpid())}});
  systemd.ready("serving on " + listening);

  // ---- stage 5: run until told to stop ----
  auto watchdog = systemd.watchdog_interval();
  auto wait = watchdog.value_or(std::chrono::seconds(1));
  timespec timeout{static_cast<time_t>(wait.count() / 1'000'000),
                   static_cast<long>((wait.count() % 1'000'000) * 1000)};
  constexpr auto kIdempotencySweepInterval = std::chrono::minutes(5);
  auto next_sweep = clock.now();
  while (true) {
    int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (watchdog) systemd.watchdog_ping();
    // Chain parameters (fees, lock limits) are re-read hourly; a failed read keeps the last copy.
    if (auto parameters = (*node)->cached_chain_parameters(std::chrono::hours(1));
        !parameters.ok()) {
      log.log(LogLevel::kWarn, "chain parameters refresh failed",
              {{"error", parameters.error().message}});
    }
    if (clock.now() >= next_sweep) {
      next_sweep = clock.now() + kIdempotencySweepInterval;
      auto swept = api.sweep_expired(clock.now());
      if (!swept.ok()) {
        log.log(LogLevel::kWarn, "expiry sweep failed", {{"error", swept.error().message}});
      } else if (*swept > 0) {
        log.log(LogLevel::kInfo, "expired idempotency keys and quotes deleted",
                {{"deleted", *swept}});
      }
    }
    if (signal == SIGHUP) {
      systemd.reloading();
      auto reloaded = load_config(config_path, process_environment());
      if (!reloaded.ok()) {
        log.log(LogLevel::kError, "reload refused: bad configuration",
                {{"error", reloaded.error().message}});
      } else {
        // Only what can change under a running server: the log level, the rate limits, prices.
        log.set_level(level_of(reloaded->log.level));
        if (auto priced = api.quotes().set_config(reloaded->pricing); !priced.ok()) {
          log.log(LogLevel::kError, "pricing not reloaded", {{"error", priced.error().message}});
        }
        api.server().set_rate_limit(
            {.requests_per_second = static_cast<double>(reloaded->rate_limit.requests_per_second),
             .burst = reloaded->rate_limit.burst});
        log.log(LogLevel::kInfo, "configuration reloaded");
      }
      systemd.ready("serving on " + listening);
    } else if (signal == SIGTERM || signal == SIGINT) {
      break;
    }
  }

  // ---- stage 6: stop, in reverse ----
  systemd.stopping("draining");
  log.log(LogLevel::kInfo, "draining");
  bool drained = api.server().drain(std::chrono::milliseconds(config->server.drain_timeout_ms));
  api.stop_background();
  log.log(drained ? LogLevel::kInfo : LogLevel::kWarn, "stopped", {{"drained", drained}});
  return kExitClean;
}

}  // namespace relay::daemon
