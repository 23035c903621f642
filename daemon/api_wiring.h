// ApiWiring: the API's half of the composition root — the PostgreSQL repositories behind energy's
// ports, the key service, the health probes and the ApiServer built on them, owned together so
// they live and die in the right order.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "api/server.h"
#include "chain/http_transport.h"
#include "daemon/config.h"
#include "store/audit_log.h"
#include "store/database.h"
#include "store/idempotency_repository.h"
#include "store/ledger_repository.h"
#include "store/tenant_repository.h"

namespace relay::daemon {

// "db" of /health: a SELECT 1 on the pool.
class DatabaseProbe final : public api::HealthProbe {
 public:
  explicit DatabaseProbe(store::Database& db) : db_(db) {}
  common::Status check() override { return db_.ping(); }

 private:
  store::Database& db_;
};

// "chain" of /health: asks the endpoints for their head block, at most once per `ttl`, so a busy
// health checker cannot turn into load on TronGrid.
class ChainProbe final : public api::HealthProbe {
 public:
  ChainProbe(const ChainConfig& config, chain::HttpTransport& transport,
             const common::Clock& clock);
  common::Status check() override;

 private:
  const ChainConfig config_;
  chain::HttpTransport& transport_;
  const common::Clock& clock_;
  std::mutex mutex_;
  common::TimePoint checked_at_{};
  common::Status last_;
};

class ApiWiring {
 public:
  ApiWiring(const Config& config, store::Database& db, chain::HttpTransport& transport,
            const common::Clock& clock, common::Logger& log);
  api::ApiServer& server() { return *server_; }

 private:
  store::PgTenantRepository tenants_;
  store::PgApiKeyRepository keys_;
  store::PgLedgerRepository ledger_;
  store::PgIdempotencyRepository idempotency_;
  store::PgAuditLog audit_;
  energy::ApiKeyService key_service_;
  DatabaseProbe database_probe_;
  ChainProbe chain_probe_;
  std::unique_ptr<api::ApiServer> server_;
};

}  // namespace relay::daemon
