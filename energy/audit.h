// The audit log: who did what to whom, for operators and disputes. Append-only.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace relay::energy {

struct AuditEvent {
  std::optional<int64_t> tenant_id;
  std::string actor;         // "key:12", "tronrelayctl", "daemon"
  std::string action;        // "tenant.create", "ledger.credit", "key.revoke", …
  std::string details_json;  // a JSON object; never secrets
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  virtual common::Status record(const AuditEvent& event) = 0;
};

}  // namespace relay::energy
