#include "daemon/api_wiring.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "signer/key_file.h"

namespace relay::daemon {

namespace {
constexpr auto kChainProbeTtl = std::chrono::seconds(5);
constexpr auto kCountsTtl = std::chrono::seconds(15);
}  // namespace

ChainProbe::ChainProbe(const ChainConfig& config, chain::HttpTransport& transport,
                       const common::Clock& clock)
    : config_(config), transport_(transport), cache_(clock, kChainProbeTtl) {}

common::Status ChainProbe::check() {
  return cache_.get([this] { return check_now(); });
}

common::Status ChainProbe::check_now() {
  std::map<std::string, std::string> headers;
  if (!config_.api_key.empty()) headers["TRON-PRO-API-KEY"] = config_.api_key;
  common::Status last = common::make_error("upstream_failed", "no chain endpoint answered");
  for (const auto& endpoint : config_.endpoints) {
    // A health check must answer fast: a short timeout, whatever the configured one.
    auto reply = transport_.post_json(
        endpoint + "/wallet/getnowblock", "{}", headers,
        std::chrono::milliseconds(std::min<int64_t>(config_.timeout_ms, 1'000)));
    if (reply.ok() && reply->status == 200 && reply->body.find("blockID") != std::string::npos) {
      return {};
    }
    if (!reply.ok()) last = reply.error();
  }
  return last;
}

ApiWiring::ApiWiring(const Config& config, store::Database& db, chain::HttpTransport& transport,
                     chain::TronGridClient& node, signer::PoolSigners* signers,
                     const common::Clock& clock, common::Logger& log)
    : db_(db),
      tenants_(db),
      keys_(db),
      ledger_(db),
      idempotency_(db),
      audit_(db),
      key_service_(keys_, clock),
      pools_(db),
      capacity_(db),
      quote_store_(db),
      leases_(db),
      journal_(db),
      jobs_(db),
      node_(node),
      signers_(signers),
      log_(log),
      clock_(clock),
      database_probe_(db, clock),
      chain_probe_(config.chain, transport, clock) {
  api::ApiOptions options;
  auto colon = config.server.listen.rfind(':');
  options.http.host = config.server.listen.substr(0, colon);
  options.http.port = static_cast<uint16_t>(std::stoi(config.server.listen.substr(colon + 1)));
  options.http.threads = static_cast<int>(config.server.threads);
  options.http.max_connections = static_cast<size_t>(config.server.max_connections);
  options.http.max_body_bytes = static_cast<size_t>(config.server.max_body_bytes);
  options.http.read_timeout = std::chrono::milliseconds(config.server.read_timeout_ms);
  options.rate_limit.requests_per_second =
      static_cast<double>(config.rate_limit.requests_per_second);
  options.rate_limit.burst = config.rate_limit.burst;
  options.failed_auth_limit.requests_per_second =
      static_cast<double>(config.rate_limit.failed_auth_per_second);
  options.failed_auth_limit.burst = config.rate_limit.failed_auth_burst;
  api::ApiServices services{tenants_,     keys_, ledger_,         idempotency_, audit_,
                            key_service_, clock, database_probe_, chain_probe_};
  quote_service_ =
      std::make_unique<energy::QuoteService>(quote_store_, capacity_, node, clock, config.pricing);
  services.quotes = quote_service_.get();
  if (signers != nullptr) {
    pool_service_ =
        std::make_unique<energy::PoolService>(pools_, capacity_, node, *signers, audit_, clock);
    pool_monitor_ = std::make_unique<scheduler::PoolMonitor>(
        *pool_service_, log,
        scheduler::PoolMonitorOptions{
            .interval = std::chrono::milliseconds(config.pools.refresh_interval_ms)});
    services.pools = pool_service_.get();
    services.pool_store = &pools_;

    sender_ = std::make_unique<energy::ChainTxSender>(journal_, node, *signers, clock,
                                                      sender_options(config.chain));
    leadership_ = std::make_unique<AdvisoryLeadership>(config.database.url, clock);
    scheduler::JobRunnerOptions runner_options;
    runner_options.worker_id = "tronrelayd@" + std::to_string(getpid());
    runner_options.threads = static_cast<int>(config.job_threads);
    job_runner_ = std::make_unique<scheduler::JobRunner>(
        jobs_, clock, log, runner_options,
        scheduler::JobRunnerSeams{.waiter = nullptr, .leadership = leadership_.get()});
    lease_service_ = std::make_unique<energy::LeaseService>(
        energy::LeaseDependencies{
            .leases = leases_,
            .quotes = *quote_service_,
            .ledger = ledger_,
            .pools = pools_,
            .capacity = capacity_,
            .sender = *sender_,
            .journal = journal_,
            .jobs = jobs_,
            .node = node,
            .signers = *signers,
            .clock = clock,
            .pool_service = pool_service_.get(),
            .reclaim_scheduled = [runner = job_runner_.get()](
                                     common::TimePoint due) { runner->wake_if_earlier(due); }},
        config.leases);
    job_runner_->handle(std::string(energy::kReclaimLeaseJob), [this](const energy::Job& job) {
      // How late each reclaim starts: its first attempt, against its due time (the lease's
      // expiry, or the moment an early reclaim was asked for).
      if (job.attempts == 1) {
        server_->metrics().observe(
            "tronrelay_reclaim_lag_seconds", {},
            std::chrono::duration<double>(clock_.now() - job.due_at).count());
      }
      return lease_service_->handle_reclaim_job(job);
    });
    services.leases = lease_service_.get();
    services.jobs = &jobs_;
  }
  server_ = std::make_unique<api::ApiServer>(options, services, log);
  declare_metrics(node);
}

void ApiWiring::start_leases() {
  if (lease_service_ == nullptr) return;
  auto settle = [this](int limit, bool at_start) {
    auto swept = sender_->resolve_unresolved(limit);
    if (!swept.ok()) {
      log_.warn("chain tx sweep failed", {{"error", swept.error().message}});
    } else if (at_start || swept->included + swept->failed + swept->expired > 0) {
      log_.info("chain txs settled", {{"examined", swept->examined},
                                      {"included", swept->included},
                                      {"failed", swept->failed},
                                      {"expired", swept->expired},
                                      {"rebroadcast", swept->rebroadcast},
                                      {"unresolved", swept->unresolved}});
    }
    auto recovered = lease_service_->recover(limit);
    if (!recovered.ok()) {
      log_.warn("lease recovery failed", {{"error", recovered.error().message}});
    } else if (at_start || recovered->activated + recovered->failed > 0) {
      log_.info("leases recovered", {{"examined", recovered->examined},
                                     {"activated", recovered->activated},
                                     {"failed", recovered->failed},
                                     {"still_in_flight", recovered->still_in_flight},
                                     {"jobs_ensured", recovered->jobs_ensured}});
    }
  };
  settle(500, true);
  job_runner_->start();
  housekeeping_ =
      std::make_unique<PeriodicTask>(std::chrono::seconds(5), [settle] { settle(100, false); });
  housekeeping_->start();
}

common::Result<scheduler::JobPass> ApiWiring::reclaim_due_once(int limit) {
  if (lease_service_ == nullptr) {
    return common::make_error("unavailable", "leases need a relayer key (signer.key_file)");
  }
  // Small claims, one after another: a reclaim may wait twice reclaim_confirm_timeout for its
  // blocks, and every job of a batch must start within the first half of its claim
  // (JobRunnerOptions::min_claim_left), so a batch is as many as fit in that half.
  const scheduler::JobRunnerOptions defaults;
  const auto per_job =
      2 * lease_service_->options().reclaim_confirm_timeout + std::chrono::seconds(5);
  const int batch = static_cast<int>(std::clamp<int64_t>((defaults.claim_for / 2) / per_job, 1, 8));
  scheduler::JobPass total;
  while (total.claimed < limit) {
    scheduler::JobRunnerOptions options;
    options.worker_id = "tronrelayctl@" + std::to_string(getpid());
    options.batch_size = std::min(batch, limit - total.claimed);
    options.threads = 1;
    scheduler::JobRunner runner(jobs_, clock_, log_, options);
    runner.handle(std::string(energy::kReclaimLeaseJob),
                  [service = lease_service_.get()](const energy::Job& job) {
                    return service->handle_reclaim_job(job);
                  });
    const scheduler::JobPass pass = runner.run_due(clock_.now());
    total.claimed += pass.claimed;
    total.done += pass.done;
    total.retried += pass.retried;
    total.dead += pass.dead;
    total.unrecorded += pass.unrecorded;
    total.skipped += pass.skipped;
    total.max_lag = std::max(total.max_lag, pass.max_lag);
    if (pass.claim_error) {
      total.claim_error = pass.claim_error;
      break;
    }
    if (pass.claimed < options.batch_size) break;  // nothing more is due
    // A job that failed is due again after its backoff, maybe at once: this run stops rather
    // than spend its attempts; the next run (a minute later) goes on.
    if (pass.done < pass.claimed) break;
  }
  return total;
}

common::Result<std::vector<energy::Lease>> ApiWiring::overdue_leases(int limit) {
  return leases_.list_overdue(clock_.now(), limit);
}

common::Result<energy::ReconcileReport> ApiWiring::reconcile(
    const energy::ReconcileOptions& options) {
  if (sender_ == nullptr) {
    return common::make_error("unavailable", "reconcile needs the relayer key (signer.key_file)");
  }
  energy::Reconciler reconciler({.pools = pools_,
                                 .leases = leases_,
                                 .node = node_,
                                 .sender = *sender_,
                                 .journal = journal_,
                                 .signers = *signers_,
                                 .clock = clock_});
  return reconciler.run(options);
}

void ApiWiring::stop_background() {
  if (housekeeping_) housekeeping_->stop();
  if (job_runner_) job_runner_->stop();
  if (pool_monitor_) pool_monitor_->stop();
}

common::Result<int64_t> ApiWiring::sweep_expired(common::TimePoint now) {
  RELAY_ASSIGN_OR_RETURN(int64_t keys, idempotency_.delete_expired(now));
  // Kept an hour past expiry so that a client asking about its quote still gets "expired".
  RELAY_ASSIGN_OR_RETURN(int64_t quotes,
                         quote_store_.delete_expired(now - std::chrono::hours(1), 10'000));
  // Done jobs are kept a day for the record; dead ones stay for the attention list.
  RELAY_ASSIGN_OR_RETURN(int64_t jobs, jobs_.purge_done(now - std::chrono::hours(24), 10'000));
  return keys + quotes + jobs;
}

void ApiWiring::declare_metrics(chain::TronGridClient& node) {
  api::MetricsRegistry& metrics = server_->metrics();
  using Series = api::MetricsRegistry::GaugeSeries;
  // Counters kept by the endpoint pool, rendered as gauges of their current totals: the pool owns
  // them, and Prometheus' rate() works the same on a monotonic gauge.
  metrics.declare_gauge_family(
      "tronrelay_chain_requests_total", "HTTP attempts sent to each chain endpoint", [&node] {
        Series out;
        for (const auto& s : node.stats()) {
          out.push_back({{{"endpoint", s.url}}, static_cast<double>(s.requests)});
        }
        return out;
      });
  metrics.declare_gauge_family(
      "tronrelay_chain_failures_total", "Failed attempts per chain endpoint and kind", [&node] {
        Series out;
        for (const auto& s : node.stats()) {
          for (size_t kind = 0; kind < chain::kFailureKinds; ++kind) {
            out.push_back({{{"endpoint", s.url},
                            {"kind", std::string(chain::failure_kind_name(
                                         static_cast<chain::FailureKind>(kind)))}},
                           static_cast<double>(s.failures[kind])});
          }
        }
        return out;
      });
  metrics.declare_gauge_family(
      "tronrelay_chain_retries_total", "Attempts that repeated a failed one", [&node] {
        Series out;
        for (const auto& s : node.stats()) {
          out.push_back({{{"endpoint", s.url}}, static_cast<double>(s.retries)});
        }
        return out;
      });
  metrics.declare_gauge_family(
      "tronrelay_chain_circuit_open", "1 while an endpoint's circuit breaker is open", [&node] {
        Series out;
        for (const auto& s : node.stats()) {
          out.push_back(
              {{{"endpoint", s.url}}, s.circuit == chain::CircuitState::kOpen ? 1.0 : 0.0});
        }
        return out;
      });
  metrics.declare_gauge_family(
      "tronrelay_chain_latency_seconds_last", "Latency of the last attempt per endpoint", [&node] {
        Series out;
        for (const auto& s : node.stats()) {
          out.push_back(
              {{{"endpoint", s.url}}, std::chrono::duration<double>(s.last_latency).count()});
        }
        return out;
      });
  metrics.declare_gauge_family(
      "tronrelay_db_connections", "PostgreSQL pool connections: limit, open, idle, in use",
      [&db = db_] {
        store::Database::PoolStats stats = db.stats();
        return Series{{{{"state", "limit"}}, static_cast<double>(db.size())},
                      {{{"state", "open"}}, static_cast<double>(stats.open)},
                      {{{"state", "idle"}}, static_cast<double>(stats.idle)},
                      {{{"state", "in_use"}}, static_cast<double>(stats.open - stats.idle)}};
      });
  if (pool_monitor_ == nullptr) return;
  // Counting leases and jobs reads every row of their tables: a scrape every few seconds from
  // several Prometheus servers must not turn into that many scans.
  auto lease_counts =
      std::make_shared<Cached<common::Result<energy::LeaseCounts>>>(clock_, kCountsTtl);
  metrics.declare_gauge_family(
      "tronrelay_leases", "Leases by state (read at most every 15 s)", [this, lease_counts] {
        Series out;
        auto counts = lease_counts->get([this] { return leases_.count_by_state(); });
        if (!counts.ok()) return out;
        for (const auto& [state, value] :
             {std::pair{"pending", counts->pending}, std::pair{"delegating", counts->delegating},
              std::pair{"active", counts->active}, std::pair{"reclaiming", counts->reclaiming},
              std::pair{"reclaimed", counts->reclaimed}, std::pair{"failed", counts->failed}}) {
          out.push_back({{{"state", state}}, static_cast<double>(value)});
        }
        return out;
      });
  auto job_counts = std::make_shared<Cached<common::Result<energy::JobCounts>>>(clock_, kCountsTtl);
  metrics.declare_gauge_family(
      "tronrelay_jobs", "Jobs by state (read at most every 15 s)", [this, job_counts] {
        Series out;
        auto counts = job_counts->get([this] { return jobs_.count_by_state(); });
        if (!counts.ok()) return out;
        for (const auto& [state, value] :
             {std::pair{"due", counts->due}, std::pair{"claimed", counts->claimed},
              std::pair{"retry", counts->retry}, std::pair{"done", counts->done},
              std::pair{"dead", counts->dead}}) {
          out.push_back({{{"state", state}}, static_cast<double>(value)});
        }
        return out;
      });
  auto delegated = std::make_shared<
      Cached<common::Result<std::vector<store::PgLeaseRepository::PoolDelegation>>>>(clock_,
                                                                                     kCountsTtl);
  metrics.declare_gauge_family(
      "tronrelay_pool_leased",
      "Energy and stake (sun) held by active and reclaiming leases, per pool", [this, delegated] {
        Series out;
        auto pools = delegated->get([this] { return leases_.delegated_by_pool(); });
        if (!pools.ok()) return out;
        for (const auto& pool : *pools) {
          const std::string id = std::to_string(pool.pool_id);
          out.push_back({{{"pool", id}, {"measure", "energy"}}, static_cast<double>(pool.energy)});
          out.push_back(
              {{{"pool", id}, {"measure", "stake_sun"}}, static_cast<double>(pool.stake_sun)});
        }
        return out;
      });
  auto holds = std::make_shared<Cached<common::Result<store::PgLedgerRepository::OpenHolds>>>(
      clock_, kCountsTtl);
  metrics.declare_gauge_family(
      "tronrelay_holds_open", "Ledger holds still open: how many, and the sun they set aside",
      [this, holds] {
        auto open = holds->get([this] { return ledger_.open_holds(); });
        if (!open.ok()) return Series{};
        return Series{{{{"measure", "count"}}, static_cast<double>(open->count)},
                      {{{"measure", "sun"}}, static_cast<double>(open->amount.value())}};
      });
  if (job_runner_) {
    metrics.declare_histogram(
        "tronrelay_reclaim_lag_seconds",
        "How late reclaims start: first attempt minus due time (expiry, or early-reclaim request)",
        {}, {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600});
    metrics.declare_gauge(
        "tronrelay_reclaim_lag_seconds_last_pass",
        "Largest lag behind due time of the jobs in the runner's last pass",
        [runner = job_runner_.get()] {
          return static_cast<double>(runner->counters().last_pass_max_lag_ms.load()) / 1000.0;
        });
  }
  const scheduler::PoolMonitorCounters& counters = pool_monitor_->counters();
  metrics.declare_gauge("tronrelay_pool_monitor_passes_total", "Pool monitor passes",
                        [&counters] { return static_cast<double>(counters.passes.load()); });
  metrics.declare_gauge("tronrelay_pool_suspensions_total",
                        "Pools the monitor suspended (revoked permission, low balance, …)",
                        [&counters] { return static_cast<double>(counters.suspensions.load()); });
  metrics.declare_gauge(
      "tronrelay_pool_refresh_failures_total", "Pool refreshes that failed (chain or store)",
      [&counters] { return static_cast<double>(counters.refresh_failures.load()); });
  metrics.declare_gauge(
      "tronrelay_pools_low_energy", "Pools below their energy alert threshold in the last pass",
      [&counters] { return static_cast<double>(counters.low_energy_pools.load()); });
  // Read at scrape time from the store: one small query per scrape.
  metrics.declare_gauge_family(
      "tronrelay_pools", "Pools by status, with their delegatable stake (sun)", [this] {
        Series out;
        auto pools = pools_.list(std::nullopt);
        if (!pools.ok()) return out;
        std::map<std::string, std::pair<double, double>> by_status;
        for (const auto& pool : *pools) {
          auto& [count, delegatable] = by_status[energy::pool_status_name(pool.status)];
          count += 1;
          if (pool.snapshot) delegatable += static_cast<double>(pool.snapshot->delegatable_sun);
        }
        for (const auto& [status, totals] : by_status) {
          out.push_back({{{"status", status}, {"measure", "count"}}, totals.first});
          out.push_back({{{"status", status}, {"measure", "delegatable_sun"}}, totals.second});
        }
        return out;
      });
}

energy::ChainTxSenderOptions sender_options(const ChainConfig& chain) {
  const std::chrono::milliseconds block(chain.block_interval_ms);
  return energy::ChainTxSenderOptions{
      .rebroadcast_after = 2 * block, .poll_interval = block, .expiry_grace = 2 * block};
}

chain::TronGridOptions chain_options(const ChainConfig& chain) {
  chain::TronGridOptions options;
  for (const auto& url : chain.endpoints) options.endpoints.push_back({url, chain.api_key});
  options.rps = static_cast<double>(chain.requests_per_second);
  options.burst = static_cast<double>(chain.requests_per_second);
  options.timeout = std::chrono::milliseconds(chain.timeout_ms);
  options.max_attempts = static_cast<int>(chain.max_attempts);
  options.breaker_threshold = static_cast<int>(chain.breaker_threshold);
  options.breaker_cooldown = std::chrono::milliseconds(chain.breaker_cooldown_ms);
  return options;
}

// The signers, if a relayer key is configured: from the systemd credential when present, else the
// key file; then every own pool's owner key. Loaded now so a bad key fails the start, not the
// first lease; only addresses are logged.
common::Result<std::unique_ptr<signer::PoolSigners>> load_signers(const Config& config,
                                                                  common::Logger& log) {
  const SignerConfig& signer = config.signer;
  std::optional<common::Result<signer::SecretKey>> key;
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials != nullptr && !signer.credential.empty()) {
    key = signer::load_credential(signer.credential);
  } else if (!signer.key_file.empty()) {
    key = signer::load_key_file(signer.key_file);
  }
  if (!key) {
    if (!config.pools.owner_key_files.empty()) {
      return common::make_error("config",
                                "pools.owner_key_files needs a relayer key (signer.key_file)");
    }
    log.log(common::LogLevel::kWarn, "no relayer key configured; pools and signing are disabled");
    return std::unique_ptr<signer::PoolSigners>();
  }
  if (!key->ok()) return key->error();
  RELAY_ASSIGN_OR_RETURN(auto signers, signer::PoolSigners::create(std::move(**key)));
  log.log(common::LogLevel::kInfo, "relayer key loaded",
          {{"address", signers->relayer_address().to_base58()}});
  for (const auto& file : config.pools.owner_key_files) {
    auto owner_key = signer::load_key_file(file);
    if (!owner_key.ok()) {
      return common::make_error(owner_key.error().code, file + ": " + owner_key.error().message);
    }
    RELAY_ASSIGN_OR_RETURN(common::Address owner, signers->add_owner_key(std::move(*owner_key)));
    log.log(common::LogLevel::kInfo, "own pool key loaded", {{"address", owner.to_base58()}});
  }
  return signers;
}

}  // namespace relay::daemon
