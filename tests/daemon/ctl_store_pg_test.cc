// tronrelayctl's database commands (migrate, status, tenant, keys) run in-process through run_ctl
// against PostgreSQL, with the URL given the way an operator gives it: TRONRELAY_DATABASE_URL.
// Output is checked against what the database then holds, read with SQL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "daemon/ctl_commands.h"
#include "energy/api_keys.h"
#include "migrations/migrator.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::daemon {
namespace {

namespace json = boost::json;

struct CtlRun {
  int code;
  std::string out;
  std::string err;
};

CtlRun ctl(const std::vector<std::string>& args) {
  std::istringstream in;
  std::ostringstream out, err;
  int code = run_ctl(args, in, out, err);
  return {code, out.str(), err.str()};
}

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

json::value json_of(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << text << " (" << e.what() << ")";
    return nullptr;
  }
}

// Exit 2 with nothing on stdout and one line, from tronrelayctl, on stderr.
void expect_invalid(const CtlRun& run, const std::string& context) {
  EXPECT_EQ(run.code, kExitInvalid) << context << ": " << run.err;
  EXPECT_EQ(run.out, "") << context;
  EXPECT_EQ(lines(run.err), 1U) << context << ": " << run.err;
  EXPECT_TRUE(run.err.starts_with("tronrelayctl: ")) << context << ": " << run.err;
}

class CtlStorePgTest : public relay::testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    // The URL must come from the environment alone, not from a config file the caller has set.
    ::unsetenv("TRONRELAY_CONFIG");
    use_database(url());
  }
  void TearDown() override { ::unsetenv("TRONRELAY_DATABASE_URL"); }

  static void use_database(const std::string& database_url) {
    ::setenv("TRONRELAY_DATABASE_URL", database_url.c_str(), 1);
  }

  int64_t number(const std::string& sql) {
    std::string text = scalar(sql);
    return text.empty() ? 0 : std::stoll(text);
  }

  // A tenant of this test's own, made through the command under test.
  int64_t create_tenant(const std::string& base) {
    static std::atomic<int> serial{0};
    std::string name = base + " " + std::to_string(++serial);
    CtlRun run = ctl({"tenant", "create", name});
    EXPECT_EQ(run.code, kExitOk) << run.err;
    json::value tenant = json_of(run.out);
    if (!tenant.is_object()) return 0;
    EXPECT_EQ(tenant.as_object().at("name"), name.c_str());
    return tenant.as_object().at("id").as_int64();
  }
};

TEST_F(CtlStorePgTest, MigrateIsIdempotent) {
  use_database(fresh_database_url());
  const auto& known = migrations::embedded_migrations();
  ASSERT_FALSE(known.empty());
  const int64_t newest = known.back().version;

  CtlRun before = ctl({"status"});
  ASSERT_EQ(before.code, kExitOk) << before.err;
  auto status = json_of(before.out).as_object();
  EXPECT_EQ(status.at("database"), "ok");
  EXPECT_EQ(status.at("schema_version"), 0);
  EXPECT_EQ(status.at("pending_migrations"), static_cast<int64_t>(known.size()));

  CtlRun first = ctl({"migrate"});
  ASSERT_EQ(first.code, kExitOk) << first.err;
  EXPECT_EQ(lines(first.out), 1U);
  EXPECT_EQ(json_of(first.out), (json::object{{"applied", static_cast<int64_t>(known.size())},
                                              {"schema_version", newest}}));
  for (int again = 0; again < 2; ++again) {
    CtlRun next = ctl({"migrate"});
    ASSERT_EQ(next.code, kExitOk) << next.err;
    EXPECT_EQ(json_of(next.out), (json::object{{"applied", 0}, {"schema_version", newest}}));
    EXPECT_EQ(next.err, "");
  }

  CtlRun after = ctl({"status"});
  ASSERT_EQ(after.code, kExitOk) << after.err;
  EXPECT_EQ(json_of(after.out), (json::object{{"database", "ok"},
                                              {"schema_version", newest},
                                              {"pending_migrations", 0},
                                              {"tenants", 0}}));
}

TEST_F(CtlStorePgTest, TenantCreateCreditAndList) {
  const int64_t id = create_tenant("ctl acme");
  ASSERT_GT(id, 0);
  const std::string tenant = std::to_string(id);
  EXPECT_TRUE(scalar("SELECT name FROM tenants WHERE id = " + tenant).starts_with("ctl acme "));

  CtlRun credit = ctl({"tenant", "credit", tenant, "1500"});
  ASSERT_EQ(credit.code, kExitOk) << credit.err;
  EXPECT_EQ(credit.err, "");
  EXPECT_EQ(
      json_of(credit.out),
      (json::object{{"tenant_id", id}, {"balance", 1500}, {"reserved", 0}, {"available", 1500}}));
  // Up to INT64_MAX exactly.
  CtlRun more = ctl({"tenant", "credit", tenant, "9223372036854774307"});
  ASSERT_EQ(more.code, kExitOk) << more.err;
  EXPECT_EQ(json_of(more.out).as_object().at("balance"), INT64_MAX);

  // Past int64 is refused by the ledger and leaves no row.
  CtlRun overflow = ctl({"tenant", "credit", tenant, "1"});
  expect_invalid(overflow, "overflow");

  EXPECT_EQ(number("SELECT count(*) FROM ledger_entries WHERE kind = 'credit' "
                   "AND reference = 'ctl:credit' AND tenant_id = " +
                   tenant),
            2);
  EXPECT_EQ(number("SELECT balance_sun FROM tenants WHERE id = " + tenant), INT64_MAX);
  EXPECT_EQ(number("SELECT balance_sun FROM ledger_balances_derived WHERE tenant_id = " + tenant),
            INT64_MAX);
  EXPECT_EQ(scalar("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log "
                   "WHERE actor = 'tronrelayctl' AND tenant_id = " +
                   tenant),
            "tenant.create,ledger.credit,ledger.credit");

  CtlRun list = ctl({"tenant", "list"});
  ASSERT_EQ(list.code, kExitOk) << list.err;
  EXPECT_EQ(lines(list.out), 1U);
  const json::value listed = json_of(list.out);
  ASSERT_TRUE(listed.is_array());
  EXPECT_EQ(static_cast<int64_t>(listed.as_array().size()), number("SELECT count(*) FROM tenants"));
  int found = 0;
  for (const auto& t : listed.as_array()) {
    if (t.as_object().at("id") == id) {
      ++found;
      EXPECT_EQ(t.as_object().at("name").as_string(),
                scalar("SELECT name FROM tenants WHERE id = " + tenant));
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_F(CtlStorePgTest, KeySecretIsPrintedOnceAndNeverListed) {
  const int64_t id = create_tenant("ctl keys");
  const std::string tenant = std::to_string(id);

  CtlRun created = ctl(
      {"keys", "create", "--tenant", tenant, "--scopes", "quote,lease", "--expires-days", "30"});
  ASSERT_EQ(created.code, kExitOk) << created.err;
  EXPECT_EQ(lines(created.out), 1U);
  EXPECT_EQ(created.err, "tronrelayctl: the secret is shown once; store it now\n");
  auto key = json_of(created.out).as_object();
  const std::string secret(key.at("secret").as_string());
  const int64_t key_id = key.at("id").as_int64();
  ASSERT_TRUE(secret.starts_with("trk_"));
  ASSERT_EQ(secret.size(), 47U);
  EXPECT_EQ(key.at("tenant_id"), id);
  EXPECT_EQ(key.at("prefix"), secret.substr(0, 12).c_str());
  EXPECT_EQ(key.at("scopes"), "quote,lease");
  EXPECT_TRUE(key.at("expires_at").is_string());
  EXPECT_TRUE(key.at("revoked_at").is_null());

  // Stored as its SHA-256 (PostgreSQL's own), and the secret works.
  const std::string row = " FROM api_keys WHERE id = " + std::to_string(key_id);
  EXPECT_EQ(scalar("SELECT secret_hash = sha256(convert_to('" + secret + "', 'UTF8'))" + row), "t");
  EXPECT_EQ(number("SELECT count(*) FROM api_keys t WHERE strpos(t::text, '" + secret.substr(12) +
                   "') > 0"),
            0);
  EXPECT_EQ(number("SELECT count(*) FROM audit_log t WHERE strpos(t::text, '" + secret.substr(12) +
                   "') > 0"),
            0);
  store::PgApiKeyRepository keys(db());
  common::SystemClock clock;
  auto authenticated = energy::ApiKeyService(keys, clock).authenticate(secret);
  ASSERT_TRUE(authenticated.ok()) << authenticated.error().message;
  EXPECT_EQ(authenticated->id, key_id);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"keys", "list"},
        std::vector<std::string>{"keys", "list", "--tenant", tenant}}) {
    CtlRun list = ctl(args);
    ASSERT_EQ(list.code, kExitOk) << list.err;
    EXPECT_EQ(list.err, "");
    EXPECT_EQ(list.out.find(secret.substr(12)), std::string::npos) << list.out;
    bool listed = false;
    const json::value keys_listed = json_of(list.out);
    for (const auto& k : keys_listed.as_array()) {
      EXPECT_FALSE(k.as_object().contains("secret"));
      if (k.as_object().at("id") == key_id) {
        listed = true;
        EXPECT_EQ(k.as_object().at("prefix"), secret.substr(0, 12).c_str());
      }
    }
    EXPECT_TRUE(listed) << list.out;
  }

  CtlRun revoked = ctl({"keys", "revoke", std::to_string(key_id)});
  ASSERT_EQ(revoked.code, kExitOk) << revoked.err;
  EXPECT_EQ(json_of(revoked.out), (json::object{{"id", key_id}, {"revoked", true}}));
  EXPECT_EQ(scalar("SELECT revoked_at IS NOT NULL" + row), "t");
  EXPECT_FALSE(energy::ApiKeyService(keys, clock).authenticate(secret).ok());
  const json::value after_revoke = json_of(ctl({"keys", "list", "--tenant", tenant}).out);
  EXPECT_TRUE(after_revoke.as_array().at(0).as_object().at("revoked_at").is_string());

  const std::string revoked_at = scalar("SELECT revoked_at" + row);
  expect_invalid(ctl({"keys", "revoke", std::to_string(key_id)}), "revoke twice");
  EXPECT_EQ(scalar("SELECT revoked_at" + row), revoked_at);  // the first revocation stands
  expect_invalid(
      ctl({"keys", "revoke", std::to_string(number("SELECT max(id) FROM api_keys") + 1000)}),
      "unknown key");
  expect_invalid(ctl({"keys", "revoke", "abc"}), "non-numeric key id");
  EXPECT_EQ(number("SELECT count(*) FROM audit_log WHERE action = 'key.revoke' "
                   "AND details->>'key_id' = '" +
                   std::to_string(key_id) + "'"),
            1);

  const int64_t keys_before = number("SELECT count(*) FROM api_keys");
  expect_invalid(ctl({"keys", "create", "--tenant", tenant, "--scopes", "root"}), "bad scope");
  expect_invalid(ctl({"keys", "create", "--tenant", "999999999", "--scopes", "quote"}),
                 "unknown tenant");
  expect_invalid(ctl({"keys", "create", "--tenant", tenant}), "no scopes");
  expect_invalid(
      ctl({"keys", "create", "--tenant", tenant, "--scopes", "quote", "--expires-days", "0"}),
      "zero days");
  EXPECT_EQ(number("SELECT count(*) FROM api_keys"), keys_before);
}

TEST_F(CtlStorePgTest, BadCreditAmountsExitTwoWithOneLineAndWriteNothing) {
  const int64_t id = create_tenant("ctl bad credit");
  const std::string tenant = std::to_string(id);
  const int64_t entries = number("SELECT count(*) FROM ledger_entries");
  const int64_t audits = number("SELECT count(*) FROM audit_log");
  for (const std::string amount : {"-5", "0", "-0", "abc", "", "1.5", "1e3", "0x10", " 5", "5 ",
                                   "+5", "99999999999999999999", "-9223372036854775808"}) {
    expect_invalid(ctl({"tenant", "credit", tenant, amount}), "amount '" + amount + "'");
  }
  expect_invalid(ctl({"tenant", "credit", "abc", "5"}), "non-numeric tenant");
  expect_invalid(ctl({"tenant", "credit", std::to_string(id + 1'000'000), "5"}), "unknown tenant");
  expect_invalid(ctl({"tenant", "credit", tenant}), "missing amount");
  EXPECT_EQ(number("SELECT count(*) FROM ledger_entries"), entries);
  EXPECT_EQ(number("SELECT count(*) FROM audit_log"), audits);
  EXPECT_EQ(number("SELECT balance_sun FROM tenants WHERE id = " + tenant), 0);
}

TEST_F(CtlStorePgTest, UnreachableDatabaseExitsOneWithAClearMessage) {
  // Nothing listens on port 1; a server that is up but lacks the database fails the same way.
  const std::string refused = "postgresql://tronrelay@127.0.0.1:1/tronrelay";
  const std::string no_database =
      relay::testing::PgServer::with_database(url(), "no_such_database_h10");
  for (const std::string& target : {refused, no_database}) {
    use_database(target);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"migrate"}, std::vector<std::string>{"status"},
          std::vector<std::string>{"tenant", "list"},
          std::vector<std::string>{"tenant", "credit", "1", "5"},
          std::vector<std::string>{"keys", "list"}}) {
      std::string context = args[0] + " on " + target;
      CtlRun run = ctl(args);
      EXPECT_EQ(run.code, kExitFailure) << context << ": " << run.err;
      EXPECT_EQ(run.out, "") << context;
      EXPECT_EQ(lines(run.err), 1U) << context << ": " << run.err;
      EXPECT_TRUE(run.err.starts_with("tronrelayctl: database unavailable: ")) << run.err;
    }
  }
  use_database(refused);
  EXPECT_NE(ctl({"status"}).err.find("port 1"), std::string::npos);
  use_database(no_database);
  EXPECT_NE(ctl({"status"}).err.find("no_such_database_h10"), std::string::npos);

  // No URL at all, or not a PostgreSQL one, is the caller's mistake: exit 2, naming the key.
  ::unsetenv("TRONRELAY_DATABASE_URL");
  CtlRun missing = ctl({"status"});
  expect_invalid(missing, "no URL");
  EXPECT_NE(missing.err.find("database.url"), std::string::npos);
  use_database("mysql://root@127.0.0.1/x");
  expect_invalid(ctl({"migrate"}), "not postgresql");
}

}  // namespace
}  // namespace relay::daemon
