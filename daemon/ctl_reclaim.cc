#include "daemon/ctl_reclaim.h"

#include <charconv>
#include <iostream>

#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/json.h"
#include "common/log.h"
#include "daemon/api_wiring.h"
#include "daemon/config.h"
#include "daemon/ctl_commands.h"
#include "migrations/migrator.h"
#include "store/database.h"

namespace relay::daemon {
namespace {

namespace json = boost::json;

constexpr const char* kUsage = "usage: tronrelayctl reclaim --due [--dry-run] [--limit N]";

int fail(std::ostream& err, const std::string& message, int code) {
  err << "tronrelayctl: " << message << "\n";
  return code;
}

int64_t unix_ms(common::TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

bool is_reclaim_command(const std::vector<std::string>& args) {
  return !args.empty() && args[0] == "reclaim";
}

int run_reclaim_command(const std::vector<std::string>& args, const std::string& config_path,
                        std::ostream& out, std::ostream& err) {
  bool due = false;
  bool dry_run = false;
  int limit = 100;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--due") {
      due = true;
    } else if (args[i] == "--dry-run") {
      dry_run = true;
    } else if (args[i] == "--limit" && i + 1 < args.size()) {
      const std::string& text = args[++i];
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > 10'000) {
        return fail(err, "--limit must be 1..10000", kExitInvalid);
      }
    } else {
      return fail(err, kUsage, kExitInvalid);
    }
  }
  if (!due) return fail(err, kUsage, kExitInvalid);

  auto config = load_config(config_path, process_environment(), ConfigUse::kDaemon);
  if (!config.ok()) return fail(err, config.error().message, kExitInvalid);
  // Warnings and errors only: the one JSON result line on stdout is what cron mails.
  common::Logger log(std::cerr, common::LogLevel::kWarn);
  auto db = store::Database::open(config->database.url, 4);
  if (!db.ok()) return fail(err, db.error().message, kExitFailure);
  migrations::Migrator migrator;
  auto status = (*db)->with_connection([&](pqxx::connection& c) { return migrator.status(c); });
  if (!status.ok()) return fail(err, status.error().message, kExitFailure);
  if (!status->pending.empty()) {
    return fail(err, "the database schema is behind: run tronrelayctl migrate", kExitFailure);
  }
  common::SystemClock clock;
  chain::CurlTransport transport;
  auto node = chain::TronGridClient::create(transport, clock, chain_options(config->chain));
  if (!node.ok()) return fail(err, node.error().message, kExitInvalid);
  auto signers = load_signers(*config, log);
  if (!signers.ok()) return fail(err, signers.error().message, kExitFailure);
  if (*signers == nullptr) return fail(err, "reclaim needs the relayer key", kExitInvalid);
  ApiWiring parts(*config, **db, transport, **node, signers->get(), clock, log);

  if (dry_run) {
    auto overdue = parts.overdue_leases(limit);
    if (!overdue.ok()) return fail(err, overdue.error().message, kExitFailure);
    json::array leases;
    for (const auto& lease : *overdue) {
      leases.push_back(
          json::object{{"lease_id", lease.id},
                       {"receiver", lease.receiver.to_base58()},
                       {"stake_sun", lease.stake_sun.value()},
                       {"expires_at",
                        lease.expires_at ? json::value(unix_ms(*lease.expires_at)) : json::value()},
                       {"pool_id", lease.pool_id ? json::value(*lease.pool_id) : json::value()}});
    }
    out << common::json_to_string(json::object{{"dry_run", true}, {"due", std::move(leases)}})
        << "\n";
    return kExitOk;
  }
  // The signers learn which pools they may sign for from a refresh, as at a daemon's start.
  if (auto* monitor = parts.pool_monitor()) monitor->run_once();
  auto pass = parts.reclaim_due_once(limit);
  if (!pass.ok()) return fail(err, pass.error().message, kExitFailure);
  out << common::json_to_string(json::object{{"claimed", pass->claimed},
                                             {"reclaimed", pass->done},
                                             {"retried", pass->retried},
                                             {"dead", pass->dead},
                                             {"unrecorded", pass->unrecorded}})
      << "\n";
  bool clean = !pass->claim_error && pass->retried == 0 && pass->dead == 0 && pass->unrecorded == 0;
  return clean ? kExitOk : kExitFailure;
}

}  // namespace relay::daemon
