#include "store/audit_log.h"

#include "common/json.h"

namespace relay::store {

common::Status PgAuditLog::record(const energy::AuditEvent& event) {
  if (event.actor.empty() || event.action.empty()) {
    return common::make_error("invalid_request", "audit event needs an actor and an action");
  }
  const std::string details = event.details_json.empty() ? "{}" : event.details_json;
  if (auto parsed = common::parse_json_object(details); !parsed.ok()) {
    return common::make_error("invalid_request", "audit details: " + parsed.error().message);
  }
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    tx.exec_params0(
        "INSERT INTO audit_log (tenant_id, actor, action, details) VALUES ($1, $2, $3, $4::jsonb)",
        event.tenant_id, event.actor, event.action, details);
    return {};
  });
}

}  // namespace relay::store
