#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

extern char** environ;

namespace relay::daemon {

namespace {

common::Error config_error(const std::string& key, const std::string& message) {
  return common::make_error("config", key + ": " + message);
}

// One known key: how to read it from TOML and from an environment string.
struct Key {
  std::string section;
  std::string name;
  std::function<common::Status(Config&, const toml::node&)> from_toml;
  std::function<common::Status(Config&, const std::string&)> from_env;
};

common::Result<int64_t> parse_int(const std::string& key, const std::string& text) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return config_error(key, "must be an integer, got '" + text + "'");
  }
  return out;
}

template <typename Section>
Key make_int(std::string section, std::string name, Section Config::*sec, int64_t Section::*field) {
  std::string full = section + "." + name;
  return Key{section, name,
             [=](Config& c, const toml::node& node) -> common::Status {
               auto value = node.value<int64_t>();
               if (!node.is_integer() || !value) return config_error(full, "must be an integer");
               (c.*sec).*field = *value;
               return {};
             },
             [=](Config& c, const std::string& text) -> common::Status {
               RELAY_ASSIGN_OR_RETURN(int64_t value, parse_int(full, text));
               (c.*sec).*field = value;
               return {};
             }};
}

template <typename Section>
Key make_bool(std::string section, std::string name, Section Config::*sec, bool Section::*field) {
  std::string full = section + "." + name;
  return Key{section, name,
             [=](Config& c, const toml::node& node) -> common::Status {
               if (!node.is_boolean()) return config_error(full, "must be true or false");
               (c.*sec).*field = *node.value<bool>();
               return {};
             },
             [=](Config& c, const std::string& text) -> common::Status {
               if (text != "true" && text != "false") {
                 return config_error(full, "must be true or false, got '" + text + "'");
               }
               (c.*sec).*field = text == "true";
               return {};
             }};
}

// A key whose text needs its own parser (tiers, addresses, optional amounts).
Key make_parsed(std::string section, std::string name,
                std::function<common::Status(Config&, const std::string&)> parse) {
  std::string full = section + "." + name;
  auto wrapped = [=](Config& c, const std::string& text) -> common::Status {
    auto status = parse(c, text);
    if (!status.ok()) return config_error(full, status.error().message);
    return {};
  };
  return Key{section, name,
             [=](Config& c, const toml::node& node) -> common::Status {
               if (node.is_integer()) return wrapped(c, std::to_string(*node.value<int64_t>()));
               if (!node.is_string()) return config_error(full, "must be a string");
               return wrapped(c, *node.value<std::string>());
             },
             wrapped};
}

// A duration of LeaseServiceOptions written in milliseconds.
Key make_ms(std::string section, std::string name,
            std::chrono::milliseconds energy::LeaseServiceOptions::*field) {
  return make_parsed(section, name, [field](Config& c, const std::string& text) -> common::Status {
    RELAY_ASSIGN_OR_RETURN(int64_t value, parse_int("value", text));
    if (value < 0) return common::make_error("config", "must not be negative");
    c.leases.*field = std::chrono::milliseconds(value);
    return {};
  });
}

template <typename Section>
Key make_string(std::string section, std::string name, Section Config::*sec,
                std::string Section::*field) {
  std::string full = section + "." + name;
  return Key{section, name,
             [=](Config& c, const toml::node& node) -> common::Status {
               if (!node.is_string()) return config_error(full, "must be a string");
               (c.*sec).*field = *node.value<std::string>();
               return {};
             },
             [=](Config& c, const std::string& text) -> common::Status {
               (c.*sec).*field = text;
               return {};
             }};
}

template <typename Section>
Key make_strings(std::string section, std::string name, Section Config::*sec,
                 std::vector<std::string> Section::*field) {
  std::string full = section + "." + name;
  return Key{section, name,
             [=](Config& c, const toml::node& node) -> common::Status {
               const auto* array = node.as_array();
               if (array == nullptr) return config_error(full, "must be an array of strings");
               std::vector<std::string> out;
               for (const auto& item : *array) {
                 if (!item.is_string()) return config_error(full, "must be an array of strings");
                 out.push_back(*item.value<std::string>());
               }
               (c.*sec).*field = std::move(out);
               return {};
             },
             // In the environment a list is comma-separated.
             [=](Config& c, const std::string& text) -> common::Status {
               std::vector<std::string> out;
               std::stringstream stream(text);
               std::string item;
               while (std::getline(stream, item, ',')) {
                 if (!item.empty()) out.push_back(item);
               }
               (c.*sec).*field = std::move(out);
               return {};
             }};
}

const std::vector<Key>& keys() {
  static const std::vector<Key> all = {
      make_string("server", "listen", &Config::server, &ServerConfig::listen),
      make_int("server", "threads", &Config::server, &ServerConfig::threads),
      make_int("server", "max_connections", &Config::server, &ServerConfig::max_connections),
      make_int("server", "max_body_bytes", &Config::server, &ServerConfig::max_body_bytes),
      make_int("server", "read_timeout_ms", &Config::server, &ServerConfig::read_timeout_ms),
      make_int("server", "drain_timeout_ms", &Config::server, &ServerConfig::drain_timeout_ms),
      make_string("database", "url", &Config::database, &DatabaseConfig::url),
      make_int("database", "pool_size", &Config::database, &DatabaseConfig::pool_size),
      make_strings("chain", "endpoints", &Config::chain, &ChainConfig::endpoints),
      make_string("chain", "api_key", &Config::chain, &ChainConfig::api_key),
      make_int("chain", "timeout_ms", &Config::chain, &ChainConfig::timeout_ms),
      make_int("chain", "requests_per_second", &Config::chain, &ChainConfig::requests_per_second),
      make_int("chain", "max_attempts", &Config::chain, &ChainConfig::max_attempts),
      make_int("chain", "breaker_threshold", &Config::chain, &ChainConfig::breaker_threshold),
      make_int("chain", "breaker_cooldown_ms", &Config::chain, &ChainConfig::breaker_cooldown_ms),
      make_int("chain", "block_interval_ms", &Config::chain, &ChainConfig::block_interval_ms),
      make_strings("pools", "owner_key_files", &Config::pools, &PoolsConfig::owner_key_files),
      make_int("pools", "refresh_interval_ms", &Config::pools, &PoolsConfig::refresh_interval_ms),
      make_string("signer", "key_file", &Config::signer, &SignerConfig::key_file),
      make_string("signer", "credential", &Config::signer, &SignerConfig::credential),
      make_int("rate_limit", "requests_per_second", &Config::rate_limit,
               &RateLimitConfig::requests_per_second),
      make_int("rate_limit", "burst", &Config::rate_limit, &RateLimitConfig::burst),
      make_int("rate_limit", "failed_auth_per_second", &Config::rate_limit,
               &RateLimitConfig::failed_auth_per_second),
      make_int("rate_limit", "failed_auth_burst", &Config::rate_limit,
               &RateLimitConfig::failed_auth_burst),
      make_string("log", "level", &Config::log, &LogConfig::level),
      make_ms("leases", "confirm_timeout_ms", &energy::LeaseServiceOptions::confirm_timeout),
      make_ms("leases", "reclaim_confirm_timeout_ms",
              &energy::LeaseServiceOptions::reclaim_confirm_timeout),
      make_int("leases", "tx_expiration_ms", &Config::leases,
               &energy::LeaseServiceOptions::tx_expiration_ms),
      make_parsed("leases", "early_reclaim_refund",
                  [](Config& c, const std::string& text) -> common::Status {
                    auto policy = energy::refund_policy_from_name(text);
                    if (!policy) return common::make_error("config", "must be none or prorata");
                    c.leases.early_reclaim_refund = *policy;
                    return {};
                  }),
      make_parsed("leases", "reclaim_max_attempts",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(int64_t value, parse_int("value", text));
                    if (value < 1 || value > 1000) return common::make_error("config", "1..1000");
                    c.leases.reclaim_max_attempts = static_cast<int>(value);
                    return {};
                  }),
      make_bool("leases", "split_across_pools", &Config::leases,
                &energy::LeaseServiceOptions::split_across_pools),
      make_parsed("leases", "max_split_parts",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(int64_t value, parse_int("value", text));
                    if (value < 2 || value > 16) return common::make_error("config", "2..16");
                    c.leases.max_split_parts = static_cast<int>(value);
                    return {};
                  }),
      make_ms("leases", "interrupted_after_ms", &energy::LeaseServiceOptions::interrupted_after),
      make_ms("leases", "overdue_after_ms", &energy::LeaseServiceOptions::overdue_after),
      make_parsed("leases", "job_threads",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(c.job_threads, parse_int("value", text));
                    if (c.job_threads < 1 || c.job_threads > 64) {
                      return common::make_error("config", "must be 1..64");
                    }
                    return {};
                  }),
      make_parsed("pricing", "tiers",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(c.pricing.tiers, energy::parse_duration_tiers(text));
                    return {};
                  }),
      make_int("pricing", "min_energy", &Config::pricing, &energy::PricingConfig::min_energy),
      make_int("pricing", "min_duration_s", &Config::pricing,
               &energy::PricingConfig::min_duration_s),
      make_int("pricing", "max_duration_s", &Config::pricing,
               &energy::PricingConfig::max_duration_s),
      make_int("pricing", "stake_margin_bps", &Config::pricing,
               &energy::PricingConfig::stake_margin_bps),
      make_bool("pricing", "charge_bandwidth", &Config::pricing,
                &energy::PricingConfig::charge_bandwidth),
      make_int("pricing", "bandwidth_bytes_per_delegation", &Config::pricing,
               &energy::PricingConfig::bandwidth_bytes_per_delegation),
      make_int("pricing", "bandwidth_bytes_per_reclaim", &Config::pricing,
               &energy::PricingConfig::bandwidth_bytes_per_reclaim),
      make_parsed("pricing", "activation_fee_sun",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(int64_t value, parse_int("value", text));
                    if (value < -1) return common::make_error("config", "must be -1 or ≥ 0");
                    c.pricing.activation_fee_sun =
                        value < 0 ? std::nullopt : std::optional<int64_t>(value);
                    return {};
                  }),
      make_bool("pricing", "quote_inactive_receivers", &Config::pricing,
                &energy::PricingConfig::quote_inactive_receivers),
      make_int("pricing", "quote_ttl_s", &Config::pricing, &energy::PricingConfig::quote_ttl_s),
      make_parsed("pricing", "usdt_contract",
                  [](Config& c, const std::string& text) -> common::Status {
                    RELAY_ASSIGN_OR_RETURN(c.pricing.usdt_contract, common::Address::parse(text));
                    return {};
                  }),
  };
  return all;
}

std::string env_name(const Key& key) {
  std::string out = "TRONRELAY_" + key.section + "_" + key.name;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

common::Status check_range(const std::string& key, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return config_error(key, "must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                                 ", got " + std::to_string(value));
  }
  return {};
}

common::Status validate(const Config& c, ConfigUse use) {
  auto colon = c.server.listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return config_error("server.listen", "must be HOST:PORT");
  RELAY_ASSIGN_OR_RETURN(int64_t port,
                         parse_int("server.listen", c.server.listen.substr(colon + 1)));
  RELAY_TRY_STATUS(check_range("server.listen", port, 0, 65535));
  RELAY_TRY_STATUS(check_range("server.threads", c.server.threads, 1, 64));
  RELAY_TRY_STATUS(check_range("server.max_connections", c.server.max_connections, 1, 100'000));
  RELAY_TRY_STATUS(check_range("server.max_body_bytes", c.server.max_body_bytes, 1024, 64 << 20));
  RELAY_TRY_STATUS(check_range("server.read_timeout_ms", c.server.read_timeout_ms, 100, 600'000));
  RELAY_TRY_STATUS(check_range("server.drain_timeout_ms", c.server.drain_timeout_ms, 0, 600'000));
  if (c.database.url.empty()) return config_error("database.url", "is required");
  if (!c.database.url.starts_with("postgresql://") && !c.database.url.starts_with("postgres://")) {
    return config_error("database.url", "must be a postgresql:// URL");
  }
  RELAY_TRY_STATUS(check_range("database.pool_size", c.database.pool_size, 1, 256));
  if (use == ConfigUse::kDaemon && c.chain.endpoints.empty()) {
    return config_error("chain.endpoints", "at least one is required");
  }
  for (const auto& endpoint : c.chain.endpoints) {
    if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
      return config_error("chain.endpoints", "'" + endpoint + "' is not an http(s) URL");
    }
  }
  RELAY_TRY_STATUS(check_range("chain.timeout_ms", c.chain.timeout_ms, 100, 120'000));
  RELAY_TRY_STATUS(
      check_range("chain.requests_per_second", c.chain.requests_per_second, 1, 100'000));
  RELAY_TRY_STATUS(check_range("chain.max_attempts", c.chain.max_attempts, 1, 20));
  RELAY_TRY_STATUS(check_range("chain.breaker_threshold", c.chain.breaker_threshold, 1, 1'000));
  RELAY_TRY_STATUS(check_range("chain.block_interval_ms", c.chain.block_interval_ms, 10, 60'000));
  RELAY_TRY_STATUS(
      check_range("chain.breaker_cooldown_ms", c.chain.breaker_cooldown_ms, 100, 3'600'000));
  RELAY_TRY_STATUS(
      check_range("pools.refresh_interval_ms", c.pools.refresh_interval_ms, 100, 86'400'000));
  RELAY_TRY_STATUS(check_range("rate_limit.requests_per_second", c.rate_limit.requests_per_second,
                               1, 1'000'000));
  RELAY_TRY_STATUS(check_range("rate_limit.burst", c.rate_limit.burst, 1, 1'000'000));
  RELAY_TRY_STATUS(check_range("rate_limit.failed_auth_per_second",
                               c.rate_limit.failed_auth_per_second, 1, 1'000'000));
  RELAY_TRY_STATUS(
      check_range("rate_limit.failed_auth_burst", c.rate_limit.failed_auth_burst, 1, 1'000'000));
  if (use == ConfigUse::kDaemon) RELAY_TRY_STATUS(energy::validate_pricing(c.pricing));
  if (use == ConfigUse::kDaemon) RELAY_TRY_STATUS(energy::validate_lease_options(c.leases));
  static const std::vector<std::string> levels = {"debug", "info", "warn", "error"};
  if (std::find(levels.begin(), levels.end(), c.log.level) == levels.end()) {
    return config_error("log.level", "must be debug, info, warn or error");
  }
  return {};
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (!entry.starts_with("TRONRELAY_")) continue;
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

common::Result<Config> parse_config(std::string_view toml_text, const std::string& origin,
                                    const Environment& env, ConfigUse use) {
  Config config;
  toml::table table;
  try {
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return common::make_error("config",
                              origin + ": " + std::string(e.description()) + " at " + where.str());
  }
  for (const auto& [section_name, section_node] : table) {
    std::string section(section_name.str());
    const auto* section_table = section_node.as_table();
    if (section_table == nullptr) return config_error(section, "must be a [section]");
    for (const auto& [key_name, value] : *section_table) {
      std::string name(key_name.str());
      auto key = std::find_if(keys().begin(), keys().end(),
                              [&](const Key& k) { return k.section == section && k.name == name; });
      if (key == keys().end()) return config_error(section + "." + name, "unknown key");
      RELAY_TRY_STATUS(key->from_toml(config, value));
    }
  }
  for (const auto& [name, value] : env) {
    if (!name.starts_with("TRONRELAY_") || name == "TRONRELAY_CONFIG") continue;
    auto key = std::find_if(keys().begin(), keys().end(),
                            [&](const Key& k) { return env_name(k) == name; });
    if (key == keys().end()) {
      // TRONRELAY_<SECTION>_<TYPO> is an error; other TRONRELAY_* variables belong to tools and
      // tests (TRONRELAY_FAULT, …), not the config.
      for (const auto& k : keys()) {
        std::string section_prefix = env_name(k).substr(0, 10 + k.section.size() + 1);
        if (name.starts_with(section_prefix))
          return config_error(name, "unknown configuration variable");
      }
      continue;
    }
    RELAY_TRY_STATUS(key->from_env(config, value));
  }
  RELAY_TRY_STATUS(validate(config, use));
  return config;
}

common::Result<Config> load_config(const std::string& path, const Environment& env, ConfigUse use) {
  std::string text;
  if (!path.empty()) {
    std::ifstream file(path);
    if (!file) return common::make_error("config", "cannot read config file " + path);
    std::stringstream buffer;
    buffer << file.rdbuf();
    text = buffer.str();
  }
  return parse_config(text, path.empty() ? "(defaults)" : path, env, use);
}

}  // namespace relay::daemon
