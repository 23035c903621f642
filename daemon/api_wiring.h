// ApiWiring: the API's half of the composition root — the PostgreSQL repositories behind energy's
// ports, the key service, the pool service and its monitor, the health probes and the ApiServer
// built on them, owned together so they live and die in the right order.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "api/server.h"
#include "chain/http_transport.h"
#include "chain/trongrid_client.h"
#include "daemon/background.h"
#include "daemon/config.h"
#include "energy/chain_tx_sender.h"
#include "energy/lease_service.h"
#include "energy/pool_service.h"
#include "energy/quote_service.h"
#include "energy/reconcile.h"
#include "scheduler/job_runner.h"
#include "scheduler/pool_monitor.h"
#include "signer/pool_signers.h"
#include "store/audit_log.h"
#include "store/chain_tx_journal_repository.h"
#include "store/database.h"
#include "store/idempotency_repository.h"
#include "store/job_queue_repository.h"
#include "store/lease_repository.h"
#include "store/ledger_repository.h"
#include "store/pool_repository.h"
#include "store/quote_repository.h"
#include "store/tenant_repository.h"

namespace relay::daemon {

// Remembers the answer of a slow read (a dependency check, a count over a table) for `ttl`, so
// that a busy caller (load balancers poll /health, Prometheus scrapes /metrics) costs one real read
// per interval, and runs it outside its lock: callers who arrive while a read is in flight get the
// last answer instead of queueing behind it. T is what the read returns (a Status, a Result).
template <typename T>
class Cached {
 public:
  Cached(const common::Clock& clock, std::chrono::milliseconds ttl) : clock_(clock), ttl_(ttl) {}
  T get(const std::function<T()>& read) {
    {
      std::lock_guard lock(mutex_);
      const bool fresh = last_ && clock_.now() - read_at_ < ttl_;
      if (fresh || (reading_ && last_)) return *last_;
      reading_ = true;
    }
    T result = read();
    std::lock_guard lock(mutex_);
    reading_ = false;
    read_at_ = clock_.now();
    last_ = result;
    return result;
  }

 private:
  const common::Clock& clock_;
  const std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  bool reading_ = false;
  common::TimePoint read_at_{};
  std::optional<T> last_;
};
using CachedCheck = Cached<common::Status>;

// "db" of /health: a SELECT 1 on the pool, at most once a second.
class DatabaseProbe final : public api::HealthProbe {
 public:
  DatabaseProbe(store::Database& db, const common::Clock& clock)
      : db_(db), cache_(clock, std::chrono::seconds(1)) {}
  common::Status check() override {
    return cache_.get([this] { return db_.ping(); });
  }

 private:
  store::Database& db_;
  CachedCheck cache_;
};

// "chain" of /health: asks the endpoints for their head block, at most once per `ttl`, so a busy
// health checker cannot turn into load on TronGrid.
class ChainProbe final : public api::HealthProbe {
 public:
  ChainProbe(const ChainConfig& config, chain::HttpTransport& transport,
             const common::Clock& clock);
  common::Status check() override;

 private:
  common::Status check_now();

  const ChainConfig config_;
  chain::HttpTransport& transport_;
  CachedCheck cache_;
};

chain::TronGridOptions chain_options(const ChainConfig& chain);
// The chain tx sender's pace, from the chain's block interval.
energy::ChainTxSenderOptions sender_options(const ChainConfig& chain);

// The signers, if a relayer key is configured: from the systemd credential when present, else the
// key file; then every own pool's owner key. Null (not an error) without a relayer key.
common::Result<std::unique_ptr<signer::PoolSigners>> load_signers(const Config& config,
                                                                  common::Logger& log);

class ApiWiring {
 public:
  // Without `signers` (no relayer key configured) the pool routes and the monitor are left out.
  ApiWiring(const Config& config, store::Database& db, chain::HttpTransport& transport,
            chain::TronGridClient& node, signer::PoolSigners* signers, const common::Clock& clock,
            common::Logger& log);
  api::ApiServer& server() { return *server_; }
  // Null without pools.
  scheduler::PoolMonitor* pool_monitor() { return pool_monitor_.get(); }

  // Leases need the relayer key too. start_leases() settles what a previous run left (chain txs
  // in flight, leases half-way) and starts the reclaim runner and the housekeeping; call it after
  // the pool monitor's first pass (which re-admits the pools the signers may sign for).
  void start_leases();
  void stop_background();

  // tronrelayctl reclaim --due: one claim of up to `limit` due reclaim jobs, run here and now (safe
  // beside running daemons: the claim skips what they hold). "unavailable" without leases.
  common::Result<scheduler::JobPass> reclaim_due_once(int limit);
  // --dry-run: active leases past their expiry, which the next claim would reclaim.
  common::Result<std::vector<energy::Lease>> overdue_leases(int limit);
  // tronrelayctl reconcile: every pool's on-chain delegations against the leases, orphans taken
  // back (energy/reconcile.h). Call after the pool monitor's first pass, which admits the pools
  // the signers may sign for. "unavailable" without a relayer key.
  common::Result<energy::ReconcileReport> reconcile(const energy::ReconcileOptions& options);
  // Deletes Idempotency-Keys past their retention (24 h), quotes expired for an hour and done jobs
  // older than a day; the daemon calls it every few minutes. Returns the rows deleted.
  common::Result<int64_t> sweep_expired(common::TimePoint now);
  energy::QuoteService& quotes() { return *quote_service_; }

 private:
  void declare_metrics(chain::TronGridClient& node);

  store::Database& db_;
  store::PgTenantRepository tenants_;
  store::PgApiKeyRepository keys_;
  store::PgLedgerRepository ledger_;
  store::PgIdempotencyRepository idempotency_;
  store::PgAuditLog audit_;
  energy::ApiKeyService key_service_;
  store::PgPoolRepository pools_;
  store::PgPoolCapacityRepository capacity_;
  store::PgQuoteRepository quote_store_;
  std::unique_ptr<energy::QuoteService> quote_service_;
  std::unique_ptr<energy::PoolService> pool_service_;
  std::unique_ptr<scheduler::PoolMonitor> pool_monitor_;
  store::PgLeaseRepository leases_;
  store::PgChainTxJournal journal_;
  store::PgJobQueue jobs_;
  std::unique_ptr<energy::ChainTxSender> sender_;
  std::unique_ptr<energy::LeaseService> lease_service_;
  std::unique_ptr<AdvisoryLeadership> leadership_;
  std::unique_ptr<scheduler::JobRunner> job_runner_;
  std::unique_ptr<PeriodicTask> housekeeping_;
  chain::TronNode& node_;
  signer::PoolSigners* signers_;
  common::Logger& log_;
  const common::Clock& clock_;
  DatabaseProbe database_probe_;
  ChainProbe chain_probe_;
  std::unique_ptr<api::ApiServer> server_;
};

}  // namespace relay::daemon
