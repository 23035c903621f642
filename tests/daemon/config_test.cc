#include "daemon/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace relay::daemon {
namespace {

constexpr const char* kValid = R"(
[server]
listen = "127.0.0.1:9000"
threads = 4

[database]
url = "postgresql://tronrelay@127.0.0.1:5433/tronrelay"

[chain]
endpoints = ["http://127.0.0.1:8490", "https://api.trongrid.io"]
)";

std::string error_of(std::string_view text, Environment env = {}) {
  auto config = parse_config(text, "test.toml", env);
  return config.ok() ? "" : config.error().message;
}

TEST(Config, ReadsAFileAndKeepsDefaults) {
  auto config = parse_config(kValid, "test.toml", {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server.listen, "127.0.0.1:9000");
  EXPECT_EQ(config->server.threads, 4);
  EXPECT_EQ(config->server.max_body_bytes, 1 << 20);
  EXPECT_EQ(config->chain.endpoints.size(), 2u);
  EXPECT_EQ(config->log.level, "info");
}

TEST(Config, EnvironmentOverridesEveryKey) {
  Environment env = {{"TRONRELAY_SERVER_THREADS", "8"},
                     {"TRONRELAY_CHAIN_ENDPOINTS", "http://a:1,http://b:2"},
                     {"TRONRELAY_LOG_LEVEL", "debug"},
                     {"TRONRELAY_FAULT", "after_sign"}};  // not a config variable: ignored
  auto config = parse_config(kValid, "test.toml", env);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server.threads, 8);
  EXPECT_EQ(config->chain.endpoints, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(config->log.level, "debug");
  // The whole config can come from the environment alone.
  Environment only = {{"TRONRELAY_DATABASE_URL", "postgresql://x@y/z"},
                      {"TRONRELAY_CHAIN_ENDPOINTS", "http://127.0.0.1:8490"}};
  EXPECT_TRUE(parse_config("", "(defaults)", only).ok());
}

// The example an operator copies to /etc/tronrelay must itself be a valid config.
TEST(Config, TheShippedExampleParses) {
  std::ifstream file(std::string(PROJECT_SOURCE_DIR) + "/systemd/tronrelayd.toml.example");
  ASSERT_TRUE(file) << "systemd/tronrelayd.toml.example not found";
  std::stringstream text;
  text << file.rdbuf();
  auto config = parse_config(text.str(), "tronrelayd.toml.example", {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->leases.split_across_pools);
}

TEST(Config, LeaseSplittingIsOffUnlessAsked) {
  auto defaults = parse_config(kValid, "test.toml", {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->leases.split_across_pools);
  auto split = parse_config(
      std::string(kValid) + "\n[leases]\nsplit_across_pools = true\nmax_split_parts = 3\n",
      "test.toml", {});
  ASSERT_TRUE(split.ok()) << split.error().message;
  EXPECT_TRUE(split->leases.split_across_pools);
  EXPECT_EQ(split->leases.max_split_parts, 3);
  EXPECT_EQ(error_of(std::string(kValid) + "\n[leases]\nmax_split_parts = 1\n"),
            "leases.max_split_parts: 2..16");
  EXPECT_EQ(error_of(std::string(kValid) + "\n[leases]\nsplit_across_pools = 1\n"),
            "leases.split_across_pools: must be true or false");
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_EQ(error_of(std::string(kValid) + "\n[server2]\nx = 1\n"), "server2.x: unknown key");
  EXPECT_EQ(error_of(std::string(kValid) + "\n[log]\nlevl = \"info\"\n"), "log.levl: unknown key");
  EXPECT_EQ(error_of(std::string(kValid) + "\n[rate_limit]\nburst = \"many\"\n"),
            "rate_limit.burst: must be an integer");
  EXPECT_EQ(error_of(kValid, {{"TRONRELAY_SERVER_THREADS", "lots"}}),
            "server.threads: must be an integer, got 'lots'");
  EXPECT_EQ(error_of(kValid, {{"TRONRELAY_SERVER_THREADS", "0"}}),
            "server.threads: must be 1..64, got 0");
  EXPECT_EQ(error_of(kValid, {{"TRONRELAY_SERVER_THRADS", "2"}}),
            "TRONRELAY_SERVER_THRADS: unknown configuration variable");
  EXPECT_EQ(error_of("[server]\nlisten = \"x\"\n"), "server.listen: must be HOST:PORT");
  EXPECT_EQ(error_of("[chain]\nendpoints = [\"http://a\"]\n"), "database.url: is required");
  EXPECT_NE(error_of("[server\n").find("test.toml"),
            std::string::npos);  // syntax error with origin
  EXPECT_EQ(error_of(std::string(kValid) + "\n[log]\nlevel = \"loud\"\n"),
            "log.level: must be debug, info, warn or error");
}

}  // namespace
}  // namespace relay::daemon

namespace relay::daemon {
namespace {

TEST(Config, PricingKeysAreTypedAndChecked) {
  std::string text = std::string(kValid) + R"(
[pricing]
tiers = "600:50,86400:80"
min_duration_s = 30
max_duration_s = 86400
charge_bandwidth = false
activation_fee_sun = 1100000
usdt_contract = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
)";
  auto config = parse_config(text, "test.toml", {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->pricing.tiers.size(), 2U);
  EXPECT_EQ(config->pricing.tiers[0].sun_per_energy, 50);
  EXPECT_EQ(config->pricing.min_duration_s, 30);
  EXPECT_FALSE(config->pricing.charge_bandwidth);
  EXPECT_EQ(config->pricing.activation_fee_sun, 1'100'000);

  auto env = parse_config(text, "test.toml",
                          {{"TRONRELAY_PRICING_TIERS", "3600:70"},
                           {"TRONRELAY_PRICING_MAX_DURATION_S", "3600"},
                           {"TRONRELAY_PRICING_ACTIVATION_FEE_SUN", "-1"}});
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(env->pricing.tiers[0].sun_per_energy, 70);
  EXPECT_FALSE(env->pricing.activation_fee_sun.has_value());

  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"TRONRELAY_PRICING_TIERS", "60x"},
                                                        {"TRONRELAY_PRICING_CHARGE_BANDWIDTH", "1"},
                                                        {"TRONRELAY_PRICING_USDT_CONTRACT", "T1"},
                                                        {"TRONRELAY_PRICING_MIN_ENERGY", "-5"}}) {
    auto bad = parse_config(text, "test.toml", {{key, value}});
    ASSERT_FALSE(bad.ok()) << key;
    EXPECT_NE(bad.error().message.find("pricing."), std::string::npos) << bad.error().message;
  }
}

}  // namespace
}  // namespace relay::daemon
