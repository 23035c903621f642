#include "daemon/daemon.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "chain/http_transport.h"
#include "common/log.h"
#include "common/signature.h"
#include "daemon/api_wiring.h"
#include "daemon/config.h"
#include "daemon/service_manager.h"
#include "migrations/migrator.h"
#include "signer/key_file.h"
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

// Asks each chain endpoint for its head block; one answer is enough to start.
common::Status check_chain(const ChainConfig& chain, chain::HttpTransport& transport,
                           common::Logger& log) {
  std::map<std::string, std::string> headers;
  if (!chain.api_key.empty()) headers["TRON-PRO-API-KEY"] = chain.api_key;
  std::string last_error;
  for (const auto& endpoint : chain.endpoints) {
    auto reply = transport.post_json(endpoint + "/wallet/getnowblock", "{}", headers,
                                     std::chrono::milliseconds(chain.timeout_ms));
    if (reply.ok() && reply->status == 200 && reply->body.find("blockID") != std::string::npos) {
      log.log(LogLevel::kInfo, "chain endpoint reachable", {{"endpoint", endpoint}});
      return {};
    }
    last_error = reply.ok() ? "HTTP " + std::to_string(reply->status) : reply.error().message;
    log.log(LogLevel::kWarn, "chain endpoint unreachable",
            {{"endpoint", endpoint}, {"error", last_error}});
  }
  return common::make_error("upstream_failed",
                            "no chain endpoint answered /wallet/getnowblock (" + last_error + ")");
}

// The relayer key, if configured: from the systemd credential when present, else the key file.
// Loaded now so a bad key fails the start, not the first lease; only its address is logged.
common::Result<std::optional<common::Address>> check_relayer_key(const SignerConfig& signer,
                                                                 common::Logger& log) {
  std::optional<common::Result<signer::SecretKey>> key;
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials != nullptr && !signer.credential.empty()) {
    key = signer::load_credential(signer.credential);
  } else if (!signer.key_file.empty()) {
    key = signer::load_key_file(signer.key_file);
  }
  if (!key) {
    log.log(LogLevel::kWarn, "no relayer key configured; signing is disabled");
    return std::optional<common::Address>();
  }
  if (!key->ok()) return key->error();
  RELAY_ASSIGN_OR_RETURN(common::Address address, signer::address_of(**key));
  log.log(LogLevel::kInfo, "relayer key loaded", {{"address", address.to_base58()}});
  return std::optional<common::Address>(address);
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
  chain::CurlTransport transport;
  auto chain_ok = check_chain(config->chain, transport, log);
  if (!chain_ok.ok()) return fail_start("chain", chain_ok.error());
  auto relayer = check_relayer_key(config->signer, log);
  if (!relayer.ok()) return fail_start("signer", relayer.error());

  // ---- stage 3: build ----
  common::SystemClock clock;
  ApiWiring api(*config, **db, transport, clock, log);

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
  while (true) {
    int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (watchdog) systemd.watchdog_ping();
    if (signal == SIGHUP) {
      systemd.reloading();
      auto reloaded = load_config(config_path, process_environment());
      if (!reloaded.ok()) {
        log.log(LogLevel::kError, "reload refused: bad configuration",
                {{"error", reloaded.error().message}});
      } else {
        // Only what can change under a running server: the log level and the rate limits.
        log.set_level(level_of(reloaded->log.level));
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
  log.log(drained ? LogLevel::kInfo : LogLevel::kWarn, "stopped", {{"drained", drained}});
  return kExitClean;
}

}  // namespace relay::daemon
