#include "daemon/ctl_store_commands.h"

#include <charconv>
#include <ostream>

#include "common/json.h"
#include "daemon/config.h"
#include "daemon/ctl_commands.h"
#include "energy/api_keys.h"
#include "migrations/migrator.h"
#include "store/audit_log.h"
#include "store/database.h"
#include "store/ledger_repository.h"
#include "store/tenant_repository.h"

namespace relay::daemon {

namespace json = boost::json;

namespace {

int fail(std::ostream& err, const std::string& message, int code = kExitInvalid) {
  err << "tronrelayctl: " << message << "\n";
  return code;
}

int failed(std::ostream& err, const common::Error& error) {
  // Store trouble is not the caller's input being wrong.
  bool input =
      error.code == "invalid_request" || error.code == "not_found" || error.code == "config";
  return fail(err, error.message, input ? kExitInvalid : kExitFailure);
}

bool parse_int64(const std::string& text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

std::string iso_time(common::TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buffer, static_cast<long long>(ms % 1000));
  return out;
}

json::object key_json(const energy::ApiKey& key) {
  json::object out{{"id", key.id},
                   {"tenant_id", key.tenant_id},
                   {"prefix", key.prefix},
                   {"scopes", energy::format_scopes(key.scopes)},
                   {"created_at", iso_time(key.created_at)}};
  out["expires_at"] =
      key.expires_at ? json::value(iso_time(*key.expires_at)) : json::value(nullptr);
  out["revoked_at"] =
      key.revoked_at ? json::value(iso_time(*key.revoked_at)) : json::value(nullptr);
  return out;
}

void audit(store::PgAuditLog& log, std::ostream& err, std::optional<int64_t> tenant,
           const std::string& action, const json::object& details) {
  // An audit failure must not undo what was done, but it must be visible.
  auto status = log.record({tenant, "tronrelayctl", action, common::json_to_string(details)});
  if (!status.ok()) err << "tronrelayctl: warning: audit log: " << status.error().message << "\n";
}

}  // namespace

bool is_store_command(const std::vector<std::string>& args) {
  static const std::vector<std::string> commands = {"migrate", "tenant", "keys", "status"};
  return !args.empty() && std::find(commands.begin(), commands.end(), args[0]) != commands.end();
}

int run_store_command(const std::vector<std::string>& args, const std::string& config_path,
                      std::ostream& out, std::ostream& err) {
  auto config = load_config(config_path, process_environment(), ConfigUse::kDatabaseOnly);
  if (!config.ok()) return failed(err, config.error());
  auto db = store::Database::open(config->database.url, 2);
  if (!db.ok()) return failed(err, db.error());
  common::SystemClock clock;
  store::PgTenantRepository tenants(**db);
  store::PgApiKeyRepository keys(**db);
  store::PgLedgerRepository ledger(**db);
  store::PgAuditLog audit_log(**db);
  const std::string& command = args[0];

  if (command == "migrate") {
    migrations::Migrator migrator;
    auto applied = (*db)->with_connection([&](pqxx::connection& c) { return migrator.apply(c); });
    if (!applied.ok()) return failed(err, applied.error());
    int version = migrator.migrations().empty() ? 0 : migrator.migrations().back().version;
    out << common::json_to_string(json::object{{"applied", *applied}, {"schema_version", version}})
        << "\n";
    return kExitOk;
  }

  if (command == "status") {
    migrations::Migrator migrator;
    auto status = (*db)->with_connection([&](pqxx::connection& c) { return migrator.status(c); });
    if (!status.ok()) return failed(err, status.error());
    json::object result{
        {"database", "ok"},
        {"schema_version", status->applied.empty() ? 0 : status->applied.back().version},
        {"pending_migrations", static_cast<int64_t>(status->pending.size())}};
    if (status->pending.empty()) {
      auto all = tenants.list();
      if (all.ok()) result["tenants"] = static_cast<int64_t>(all->size());
    }
    out << common::json_to_string(result) << "\n";
    return kExitOk;
  }

  if (command == "tenant") {
    if (args.size() == 3 && args[1] == "create") {
      auto tenant = tenants.create(args[2]);
      if (!tenant.ok()) return failed(err, tenant.error());
      audit(audit_log, err, tenant->id, "tenant.create", {{"name", tenant->name}});
      out << common::json_to_string(json::object{{"id", tenant->id},
                                                 {"name", tenant->name},
                                                 {"created_at", iso_time(tenant->created_at)}})
          << "\n";
      return kExitOk;
    }
    if (args.size() == 4 && args[1] == "credit") {
      int64_t id = 0, amount = 0;
      if (!parse_int64(args[2], &id)) return fail(err, "tenant id must be an integer");
      if (!parse_int64(args[3], &amount) || amount <= 0) {
        return fail(err, "amount must be a positive integer number of sun");
      }
      auto tenant = tenants.find(id);
      if (!tenant.ok()) return failed(err, tenant.error());
      if (!*tenant) return fail(err, "no tenant " + args[2]);
      auto entry = ledger.credit(id, common::Sun(amount), "ctl:credit");
      if (!entry.ok()) return failed(err, entry.error());
      audit(audit_log, err, id, "ledger.credit", {{"amount_sun", amount}, {"entry_id", entry->id}});
      auto balance = ledger.balance(id);
      if (!balance.ok()) return failed(err, balance.error());
      out << common::json_to_string(json::object{{"tenant_id", id},
                                                 {"balance", balance->balance.value()},
                                                 {"reserved", balance->reserved.value()},
                                                 {"available", balance->available().value()}})
          << "\n";
      return kExitOk;
    }
    if (args.size() == 2 && args[1] == "list") {
      auto all = tenants.list();
      if (!all.ok()) return failed(err, all.error());
      json::array list;
      for (const auto& t : *all) list.push_back(json::object{{"id", t.id}, {"name", t.name}});
      out << common::json_to_string(list) << "\n";
      return kExitOk;
    }
    return fail(err, "usage: tronrelayctl tenant create NAME | credit ID SUN | list");
  }

  if (command == "keys") {
    if (args.size() >= 2 && args[1] == "create") {
      std::optional<int64_t> tenant_id;
      std::optional<std::set<energy::Scope>> scopes;
      std::optional<int> expires_days;
      for (size_t i = 2; i < args.size(); ++i) {
        if (i + 1 >= args.size()) return fail(err, args[i] + " needs a value");
        int64_t n = 0;
        if (args[i] == "--tenant" && parse_int64(args[i + 1], &n)) {
          tenant_id = n;
        } else if (args[i] == "--scopes") {
          auto parsed = energy::parse_scopes(args[i + 1]);
          if (!parsed.ok()) return failed(err, parsed.error());
          scopes = *parsed;
        } else if (args[i] == "--expires-days" && parse_int64(args[i + 1], &n) && n > 0 &&
                   n <= 3650) {
          expires_days = static_cast<int>(n);
        } else {
          return fail(err, "bad option " + args[i] + " " + args[i + 1]);
        }
        ++i;
      }
      if (!tenant_id || !scopes) {
        return fail(err,
                    "usage: tronrelayctl keys create --tenant ID --scopes a,b [--expires-days N]");
      }
      auto tenant = tenants.find(*tenant_id);
      if (!tenant.ok()) return failed(err, tenant.error());
      if (!*tenant) return fail(err, "no tenant " + std::to_string(*tenant_id));
      energy::ApiKeyService service(keys, clock);
      auto issued = service.issue(*tenant_id, *scopes, expires_days);
      if (!issued.ok()) return failed(err, issued.error());
      audit(audit_log, err, *tenant_id, "key.create",
            {{"key_id", issued->key.id}, {"scopes", energy::format_scopes(*scopes)}});
      json::object result = key_json(issued->key);
      result["secret"] = issued->secret;
      out << common::json_to_string(result) << "\n";
      err << "tronrelayctl: the secret is shown once; store it now\n";
      return kExitOk;
    }
    if (args.size() >= 2 && args[1] == "list") {
      std::optional<int64_t> tenant_id;
      if (args.size() == 4 && args[2] == "--tenant") {
        int64_t n = 0;
        if (!parse_int64(args[3], &n)) return fail(err, "tenant id must be an integer");
        tenant_id = n;
      } else if (args.size() != 2) {
        return fail(err, "usage: tronrelayctl keys list [--tenant ID]");
      }
      auto all = keys.list(tenant_id);
      if (!all.ok()) return failed(err, all.error());
      json::array list;
      for (const auto& k : *all) list.push_back(key_json(k));
      out << common::json_to_string(list) << "\n";
      return kExitOk;
    }
    if (args.size() == 3 && args[1] == "revoke") {
      int64_t id = 0;
      if (!parse_int64(args[2], &id)) return fail(err, "key id must be an integer");
      // The audit row names the key's tenant, as the API's revoke does.
      std::optional<int64_t> tenant_id;
      auto all = keys.list(std::nullopt);
      if (!all.ok()) return failed(err, all.error());
      for (const auto& k : *all) {
        if (k.id == id) tenant_id = k.tenant_id;
      }
      auto revoked = keys.revoke(id, std::nullopt, clock.now());
      if (!revoked.ok()) return failed(err, revoked.error());
      if (!*revoked) return fail(err, "no active key " + args[2]);
      audit(audit_log, err, tenant_id, "key.revoke", {{"key_id", id}});
      out << common::json_to_string(json::object{{"id", id}, {"revoked", true}}) << "\n";
      return kExitOk;
    }
    return fail(err, "usage: tronrelayctl keys create|list|revoke …");
  }
  return fail(err, "unknown command " + command);
}

}  // namespace relay::daemon
