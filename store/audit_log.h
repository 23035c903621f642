// PostgreSQL implementation of energy's AuditLog (table audit_log, append-only: the database
// refuses UPDATE, DELETE and TRUNCATE on it).
#pragma once

#include "energy/audit.h"
#include "store/database.h"

namespace relay::store {

class PgAuditLog final : public energy::AuditLog {
 public:
  explicit PgAuditLog(Database& db) : db_(db) {}

  // "invalid_request" for an empty actor or action, or details that are not a JSON object; empty
  // details are stored as {}. The tenant id is not checked: a refused action on an unknown tenant
  // is worth recording too.
  common::Status record(const energy::AuditEvent& event) override;

 private:
  Database& db_;
};

}  // namespace relay::store
