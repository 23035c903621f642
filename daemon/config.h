// Config: tronrelayd's settings, read from a TOML file with every key overridable by an environment
// variable TRONRELAY_<SECTION>_<KEY>. Unknown keys and bad values are errors that name the key, so
// a typo fails the start instead of silently running with a default.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "energy/lease_service.h"
#include "energy/pricing.h"

namespace relay::daemon {

struct ServerConfig {
  std::string listen = "127.0.0.1:8480";
  // Handlers block (database, chain), and POST /v1/leases holds its thread until the delegation's
  // block (one block interval): size for the leases in flight, not for the cores.
  int64_t threads = 16;
  int64_t max_connections = 1024;
  int64_t max_body_bytes = 1 << 20;
  int64_t read_timeout_ms = 30'000;
  int64_t drain_timeout_ms = 10'000;
};

struct DatabaseConfig {
  std::string url;  // postgresql://user@host:port/db
  int64_t pool_size = 8;
};

struct ChainConfig {
  std::vector<std::string> endpoints;  // TronGrid or java-tron HTTP base URLs
  std::string api_key;                 // TRON-PRO-API-KEY, if the endpoint wants one
  int64_t timeout_ms = 5'000;          // per HTTP attempt
  int64_t requests_per_second = 15;    // per endpoint (TronGrid's historical per-key figure)
  int64_t max_attempts = 4;            // per call, over all endpoints
  int64_t breaker_threshold = 5;       // consecutive failures that open an endpoint's circuit
  int64_t breaker_cooldown_ms = 30'000;
  // How often the chain makes a block (3 s on TRON). Waiting for a tx's block polls at this pace
  // and rebroadcasts after two of them; a private chain with faster blocks says so here.
  int64_t block_interval_ms = 3'000;
};

struct PoolsConfig {
  // 0600 key files of own pools (kind=own): their owner keys, loaded by signer/ only.
  std::vector<std::string> owner_key_files;
  int64_t refresh_interval_ms = 60'000;  // the pool monitor's pass interval
};

struct SignerConfig {
  std::string key_file;                    // 0600 hex file; or, under systemd,
  std::string credential = "relayer-key";  // the LoadCredential= name
};

// Reloadable on SIGHUP.
struct RateLimitConfig {
  int64_t requests_per_second = 20;
  int64_t burst = 40;
  // Per client address, for requests whose API key is refused (not reloaded).
  int64_t failed_auth_per_second = 5;
  int64_t failed_auth_burst = 50;
};

struct LogConfig {
  std::string level = "info";  // reloadable on SIGHUP
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  ChainConfig chain;
  SignerConfig signer;
  PoolsConfig pools;
  // [pricing]: tiers as "3600:60,86400:90" (max duration s : sun per energy), the rest as named in
  // energy/pricing.h; activation_fee_sun = -1 reads the activation price from the chain.
  energy::PricingConfig pricing;
  // [leases]: *_ms keys for the durations of energy::LeaseServiceOptions, early_reclaim_refund =
  // none | prorata, reclaim_max_attempts, ledger_scan_limit, split_across_pools (true | false)
  // and max_split_parts; job_threads for the reclaim runner.
  energy::LeaseServiceOptions leases;
  int64_t job_threads = 4;
  RateLimitConfig rate_limit;
  LogConfig log;
};

// What the reader of the config needs: the daemon needs everything, tronrelayctl only the database.
enum class ConfigUse { kDaemon, kDatabaseOnly };

using Environment = std::map<std::string, std::string>;
Environment process_environment();

// Reads `path` (empty: defaults only), then applies TRONRELAY_* variables from `env`, then checks
// the result. Errors have code "config" and name the key: "server.threads: must be 1..64".
common::Result<Config> load_config(const std::string& path, const Environment& env,
                                   ConfigUse use = ConfigUse::kDaemon);
common::Result<Config> parse_config(std::string_view toml_text, const std::string& origin,
                                    const Environment& env, ConfigUse use = ConfigUse::kDaemon);

}  // namespace relay::daemon
