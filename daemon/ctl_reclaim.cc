#include "daemon/ctl_reclaim.h"

#include <charconv>
#include <iostream>
#include <memory>
#include <optional>

#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "common/bytes.h"
#include "common/json.h"
#include "common/log.h"
#include "daemon/api_wiring.h"
#include "daemon/config.h"
#include "daemon/ctl_commands.h"
#include "migrations/migrator.h"
#include "store/advisory_lock.h"
#include "store/database.h"

namespace relay::daemon {
namespace {

namespace json = boost::json;

constexpr const char* kUsage = "usage: tronrelayctl reclaim --due [--dry-run] [--limit N]";

int fail(std::ostream& err, const std::string& message, int code) {
  err << "tronrelayctl: " << message << "\n";
  return code;
}

// A decimal argument in [low, high], or empty.
std::optional<int64_t> bounded_number(const std::string& text, int64_t low, int64_t high) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

int64_t unix_ms(common::TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// What reclaim and reconcile build, like a daemon does, from its config and keys.
struct ChainParts {
  std::optional<Config> config;
  std::unique_ptr<store::Database> db;
  common::SystemClock clock;
  chain::CurlTransport transport;
  std::unique_ptr<chain::TronGridClient> node;
  std::unique_ptr<signer::PoolSigners> signers;
  // Warnings and errors only: the one JSON result line on stdout is what cron mails.
  common::Logger log{std::cerr, common::LogLevel::kWarn};
  std::unique_ptr<ApiWiring> wiring;

  // The signers learn which pools they may sign for from a refresh, as at a daemon's start.
  void admit_pools() {
    if (auto* monitor = wiring->pool_monitor()) monitor->run_once();
  }
};

// kExitOk with `parts` built, or the exit code after saying why on `err`.
int open_chain_parts(const std::string& config_path, std::ostream& err,
                     std::optional<ChainParts>& parts) {
  auto config = load_config(config_path, process_environment(), ConfigUse::kDaemon);
  if (!config.ok()) return fail(err, config.error().message, kExitInvalid);
  parts.emplace();
  parts->config = std::move(*config);
  auto db = store::Database::open(parts->config->database.url, 4);
  if (!db.ok()) return fail(err, db.error().message, kExitFailure);
  parts->db = std::move(*db);
  migrations::Migrator migrator;
  auto status = parts->db->with_connection([&](pqxx::connection& c) { return migrator.status(c); });
  if (!status.ok()) return fail(err, status.error().message, kExitFailure);
  if (!status->pending.empty()) {
    return fail(err, "the database schema is behind: run tronrelayctl migrate", kExitFailure);
  }
  auto node = chain::TronGridClient::create(parts->transport, parts->clock,
                                            chain_options(parts->config->chain));
  if (!node.ok()) return fail(err, node.error().message, kExitInvalid);
  parts->node = std::move(*node);
  auto signers = load_signers(*parts->config, parts->log);
  if (!signers.ok()) return fail(err, signers.error().message, kExitFailure);
  if (*signers == nullptr) return fail(err, "this command needs the relayer key", kExitInvalid);
  parts->signers = std::move(*signers);
  parts->wiring =
      std::make_unique<ApiWiring>(*parts->config, *parts->db, parts->transport, *parts->node,
                                  parts->signers.get(), parts->clock, parts->log);
  return kExitOk;
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
      auto value = bounded_number(args[++i], 1, 10'000);
      if (!value) return fail(err, "--limit must be 1..10000", kExitInvalid);
      limit = static_cast<int>(*value);
    } else {
      return fail(err, kUsage, kExitInvalid);
    }
  }
  if (!due) return fail(err, kUsage, kExitInvalid);

  std::optional<ChainParts> parts;
  if (int code = open_chain_parts(config_path, err, parts); code != kExitOk) return code;
  if (dry_run) {
    auto overdue = parts->wiring->overdue_leases(limit);
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
  parts->admit_pools();
  auto pass = parts->wiring->reclaim_due_once(limit);
  if (!pass.ok()) return fail(err, pass.error().message, kExitFailure);
  out << common::json_to_string(json::object{{"claimed", pass->claimed},
                                             {"reclaimed", pass->done},
                                             {"retried", pass->retried},
                                             {"dead", pass->dead},
                                             {"unrecorded", pass->unrecorded},
                                             {"skipped", pass->skipped}})
      << "\n";
  bool clean = !pass->claim_error && pass->retried == 0 && pass->dead == 0 &&
               pass->unrecorded == 0 && pass->skipped == 0;
  return clean ? kExitOk : kExitFailure;
}

}  // namespace relay::daemon

namespace relay::daemon {
namespace {

constexpr const char* kReconcileUsage =
    "usage: tronrelayctl reconcile [--dry-run] [--pool ID] [--wait-ms N] "
    "[--include-permission-pools]";

json::object orphan_json(const energy::Orphan& orphan) {
  json::object out{{"pool_id", orphan.pool_id},
                   {"pool", orphan.pool.to_base58()},
                   {"receiver", orphan.receiver.to_base58()},
                   {"on_chain_sun", orphan.on_chain.value()},
                   {"explained_sun", orphan.explained.value()},
                   {"orphaned_sun", orphan.orphaned.value()},
                   {"reclaimable_sun", orphan.reclaimable.value()},
                   {"action", energy::orphan_action_name(orphan.action)}};
  if (orphan.locked_until) out["locked_until"] = unix_ms(*orphan.locked_until);
  if (orphan.chain_tx_id) out["chain_tx_id"] = *orphan.chain_tx_id;
  if (orphan.txid) out["txid"] = common::to_hex(*orphan.txid);
  if (!orphan.detail.empty()) out["detail"] = orphan.detail;
  return out;
}

}  // namespace

bool is_reconcile_command(const std::vector<std::string>& args) {
  return !args.empty() && args[0] == "reconcile";
}

int run_reconcile_command(const std::vector<std::string>& args, const std::string& config_path,
                          std::ostream& out, std::ostream& err) {
  energy::ReconcileOptions options;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      options.dry_run = true;
    } else if (args[i] == "--include-permission-pools") {
      options.include_permission_pools = true;
    } else if (args[i] == "--pool" && i + 1 < args.size()) {
      options.pool_id = bounded_number(args[++i], 1, INT64_MAX);
      if (!options.pool_id) return fail(err, "--pool must be a pool id", kExitInvalid);
    } else if (args[i] == "--wait-ms" && i + 1 < args.size()) {
      auto wait = bounded_number(args[++i], 0, 600'000);
      if (!wait) return fail(err, "--wait-ms must be 0..600000", kExitInvalid);
      options.confirm_timeout = std::chrono::milliseconds(*wait);
    } else {
      return fail(err, kReconcileUsage, kExitInvalid);
    }
  }
  std::optional<ChainParts> parts;
  if (int code = open_chain_parts(config_path, err, parts); code != kExitOk) return code;
  options.tx_expiration_ms = parts->config->leases.tx_expiration_ms;
  // One run at a time, across hosts: two would both see an orphan and both take it.
  auto lock = store::AdvisoryLock::try_acquire(parts->config->database.url,
                                               store::AdvisoryLock::key_for("tronrelay.reconcile"));
  if (!lock.ok()) return fail(err, lock.error().message, kExitFailure);
  if (*lock == nullptr) return fail(err, "another tronrelayctl reconcile is running", kExitFailure);
  if (!options.dry_run) parts->admit_pools();
  auto report = parts->wiring->reconcile(options);
  if (!report.ok()) {
    return fail(err, report.error().message,
                report.error().code == "not_found" ? kExitInvalid : kExitFailure);
  }
  json::array pools;
  for (const auto& pool : report->pools) {
    json::object entry{{"pool_id", pool.pool_id},
                       {"pool", pool.pool.to_base58()},
                       {"receivers", pool.receivers},
                       {"energy_on_chain_sun", pool.energy_on_chain.value()},
                       {"energy_explained_sun", pool.energy_explained.value()},
                       {"bandwidth_on_chain_sun", pool.bandwidth_on_chain.value()}};
    if (pool.error) entry["error"] = pool.error->code + ": " + pool.error->message;
    pools.push_back(std::move(entry));
  }
  json::array orphans;
  for (const auto& orphan : report->orphans) orphans.push_back(orphan_json(orphan));
  json::array shortfalls;
  for (const auto& shortfall : report->shortfalls) {
    shortfalls.push_back(json::object{{"pool_id", shortfall.pool_id},
                                      {"receiver", shortfall.receiver.to_base58()},
                                      {"on_chain_sun", shortfall.on_chain.value()},
                                      {"leased_sun", shortfall.leased.value()}});
  }
  const bool clean = report->clean();
  out << common::json_to_string(json::object{{"dry_run", options.dry_run},
                                             {"clean", clean},
                                             {"pools", std::move(pools)},
                                             {"orphans", std::move(orphans)},
                                             {"shortfalls", std::move(shortfalls)}})
      << "\n";
  return clean ? kExitOk : kExitFailure;
}

}  // namespace relay::daemon
