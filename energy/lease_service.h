// LeaseService: the lease state machine of lease.h — POST /v1/leases, the reclaim job, early
// reclaims and the recovery pass. It moves money only through ledger holds, capacity only through
// pool reservations, and puts transactions on chain only through ChainTxSender (signed, written
// ahead, then broadcast). Built once by the composition root and shared by the API, the job runner
// and the recovery sweeper; thread-safe as its ports are. Log-free: callers log what results say.
//
// create(), in this order, each step undone if a later one refuses:
//   1. terms: the tenant's open quote, or an inline request quoted now (QuoteService); a receiver
//      that is not activated is refused (422 account_not_found: a lease does not activate
//      accounts); price > max_cost → 409 cost_limit_exceeded. Nothing is stored yet.
//   2. the lease row, pending (its id names everything below: "lease:<id>").
//   3. a hold of the whole price (402 insufficient_balance: the row is deleted, the quote stays
//      open for a retry after a top-up).
//   4. the quote is taken for this lease (409 conflict if another lease took it or it expired).
//   5. a capacity reservation in the best-fitting pool (409 insufficient_capacity).
//   6. pending → delegating with hold, reservation, pool and the pool's admitted Permission_id;
//      409 conflict when a delegation to the same receiver from that pool is in flight.
//   7. DelegateResource (owner = pool, balance = stake, ENERGY, lock/lock_period) built on the head
//      block, submitted ("lease_delegate", owner_ref "lease:<id>"), its chain tx recorded on the
//      lease, and waited for up to confirm_timeout.
//   8. advance_delegating(): in a block → capture the hold in full, mark the reservation delegated
//      at the block time, enqueue the reclaim job at expires_at (block time + duration), then
//      delegating → active. Refused, failed in a block or expired → release hold and reservation,
//      then → failed. Still pending at the deadline → the lease is returned delegating and the
//      recovery pass (recover()) finishes it with the same advance_delegating().
// Side effects come before the state change that records them, and each is idempotent (a
// captured hold stays captured, a released one released, the job is one per lease): a crash
// between them leaves the lease in its earlier state, and repeating the step completes it.
//
// Refusals from steps 1–6 are errors; the lease, if one was stored, ends failed with the reason
// and nothing held. A delegation that fails on chain is an error too, naming the failed lease:
// "broadcast_rejected" (422: the node refused it, e.g. CONTRACT_VALIDATE_ERROR) or
// "upstream_failed" (it failed in a block or expired unseen). "upstream_failed" /
// "chain_unavailable" when the head block cannot be read (nothing signed, lease failed);
// "unavailable" when the chosen pool is not admitted for signing (after a restart, until the pool
// monitor re-admits it).
//
// reclaim() (the reclaim_lease job, at-least-once): UnDelegateResource of exactly the delegated
// stake from the same pool under the same Permission_id, then reclaiming → reclaimed and the
// reservation released. Only this job submits reclaims, and the job queue runs each job on one
// worker at a time, so a lease is never undelegated twice. A locked delegation is not tried
// before its lock ends. A refusal that says the delegation is gone ("delegated Resource does not
// exist", "insufficient delegateFrozenBalance") is checked against getdelegatedresourcev2: when
// less than our stake is left from the pool to the receiver, someone else undelegated it and the
// lease is reclaimed (state_reason "reclaimed_externally: …"); otherwise the job retries.
//
// Split leases (split_across_pools): when no single pool can take the stake but several together
// can, the order becomes parts — one lease per pool, the stake taken largest free pool first, and
// energy and every price component divided in proportion to each part's stake (the remainders go
// to the first part, so the parts add up to the quote exactly). Admission is all or nothing: every
// part's row, hold and reservation are made (and the quote taken by the first part) before any is
// signed, and a refusal of any undoes them all. Then each part is delegated, billed and reclaimed
// as an ordinary lease, the delegations concurrently: a part whose delegation fails on chain is
// failed and refunded on its own while the others stand (the tenant pays for what it got).
// create() returns the first part; its group_id-less id names the group (LeaseFilter::group_id),
// and an early reclaim of any part reclaims them all. An error only when no part got delegated.
//
// Early reclaim (POST /v1/leases/{id}/reclaim): active → reclaiming at once, the job moved to now
// (or to the lock's end), and under RefundPolicy::kProrata the unused part of the energy price is
// refunded when the reclaim completes: energy_sun × (expires_at − asked_at) / duration, rounded
// down. Bandwidth and activation are spent either way and never refunded. The default is kNone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/tron_node.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/units.h"
#include "energy/chain_tx_journal.h"
#include "energy/chain_tx_sender.h"
#include "energy/jobs.h"
#include "energy/lease.h"
#include "energy/ledger.h"
#include "energy/pool.h"
#include "energy/pool_service.h"
#include "energy/quote_service.h"
#include "signer/pool_signers.h"

namespace relay::energy {

// What an early reclaim gives back: nothing, or the unused share of the energy price.
enum class RefundPolicy { kNone, kProrata };
std::string refund_policy_name(RefundPolicy policy);
std::optional<RefundPolicy> refund_policy_from_name(std::string_view name);

// The [leases] settings.
struct LeaseServiceOptions {
  // How long create() waits for the delegation's block before answering `delegating` (202).
  std::chrono::milliseconds confirm_timeout{30'000};
  // How long a reclaim job waits for its UnDelegateResource's block; 0 submits and returns (the
  // job is then retried, and finishes once the tx is in a block), which keeps the runner's
  // threads free during a burst of expiries.
  std::chrono::milliseconds reclaim_confirm_timeout{30'000};
  // Both txs expire this long after the head block they are built on (java-tron allows 24 h).
  int64_t tx_expiration_ms = 60'000;
  RefundPolicy early_reclaim_refund = RefundPolicy::kNone;
  // Attempts of one reclaim job (retried with backoff); a dead job is listed under attention and
  // re-created by recover() while its lease is overdue.
  int reclaim_max_attempts = 50;
  // A pending lease, or a delegating one with no chain tx, untouched this long was left by a
  // create() that died: recover() releases what it held and fails it. create() itself never signs
  // once half of this has passed since its lease started delegating, so the two cannot both act.
  std::chrono::milliseconds interrupted_after{std::chrono::minutes(5)};
  // recover() re-creates the reclaim job of an active lease overdue by this much.
  std::chrono::milliseconds overdue_after{std::chrono::minutes(1)};
  // Ledger entries recover() reads back per lease looking for a hold or refund it cannot find
  // otherwise (a crash between placing it and recording it).
  int ledger_scan_limit = 5'000;
  // A lease no single pool can fill is split into parts, one per pool (largest free capacity
  // first), at most max_split_parts of them. Off: such a lease is refused (insufficient_capacity).
  bool split_across_pools = false;
  int max_split_parts = 4;
};

// "config" errors naming the key ("leases.confirm_timeout_ms: …").
common::Status validate_lease_options(const LeaseServiceOptions& options);

// Everything the service works through; owned elsewhere, all outliving it.
struct LeaseDependencies {
  LeaseRepository& leases;
  QuoteService& quotes;
  LedgerRepository& ledger;
  PoolRepository& pools;
  PoolCapacityRepository& capacity;
  ChainTxSender& sender;
  ChainTxJournal& journal;
  JobQueue& jobs;
  chain::TronNode& node;
  const signer::PoolSigners& signers;
  const common::Clock& clock;
  // Refreshes the pool's snapshot after a reclaim (the usage that moved back, PROTOCOL.md §4.4);
  // best effort, skipped when null.
  PoolService* pool_service = nullptr;
  // Told the due time of every reclaim job enqueued or moved (the runner's wake_if_earlier).
  std::function<void(common::TimePoint)> reclaim_scheduled;
};

// POST /v1/leases: a quote id, or receiver + energy + duration_s (quoted now).
struct LeaseRequest {
  std::optional<std::string> quote_id;
  std::optional<common::Address> receiver;
  std::optional<common::Energy> energy;
  std::optional<int64_t> duration_s;
  // Refuse (409 cost_limit_exceeded) if the price is above it. Required inline, optional with a
  // quote (whose price the tenant has seen).
  std::optional<common::Sun> max_cost;
  bool lock = false;
  int64_t lock_period_blocks = 0;  // only with lock; 0 = 3 days; must end within the duration
};

// GET /v1/leases/{id}: the lease and every chain tx it made, oldest first.
struct LeaseView {
  Lease lease;
  std::vector<ChainTxRecord> chain_txs;
};

// What one recover() did.
struct LeaseRecoveryReport {
  int examined = 0;
  int activated = 0;
  int failed = 0;
  int still_in_flight = 0;  // delegating with a tx still unresolved, or pending and recent
  // Reclaim jobs of reclaiming and overdue leases checked (enqueue is idempotent: a live job is
  // left as it is, a lost or dead one made again).
  int jobs_ensured = 0;
  int errors = 0;  // those leases are tried at the next pass
  std::optional<common::Error> first_error;
};

class LeaseService {
 public:
  // `options` must pass validate_lease_options (a programming error otherwise).
  explicit LeaseService(LeaseDependencies deps, LeaseServiceOptions options = {});

  // The lease active (in a block), or delegating when its block did not come within
  // confirm_timeout. Errors as the header says; "invalid_request" for a malformed request.
  common::Result<Lease> create(int64_t tenant_id, const LeaseRequest& request);
  // "not_found" for another tenant's lease.
  common::Result<LeaseView> get(int64_t tenant_id, int64_t lease_id);
  common::Result<LeasePage> list(int64_t tenant_id, const LeaseFilter& filter);

  // Early reclaim by the tenant (or by an operator: no tenant). An active lease becomes
  // reclaiming and its job is moved to now, or to the end of its lock; a lease already
  // reclaiming or reclaimed is returned as it is. "conflict" for a lease still delegating (it can
  // be reclaimed once active) or failed (nothing to reclaim).
  common::Result<Lease> request_reclaim(std::optional<int64_t> tenant_id, int64_t lease_id);

  // The reclaim job's work. Success when the lease is reclaimed, or has nothing to reclaim
  // (pending, failed, reclaimed, unknown). An error means "try again later": the lease is still
  // delegating, its lock has not ended ("locked", naming the end), its reclaim tx is not in a
  // block yet ("reclaim_pending"), or the chain or store failed.
  common::Status reclaim(int64_t lease_id);
  // For scheduler::JobRunner: reclaim() of the lease named by job.ref ("lease:<id>").
  common::Status handle_reclaim_job(const Job& job);

  // Settles a delegating lease from its journaled DelegateResource: in a block → active; failed
  // or expired → failed (refunded); unresolved → asks the chain once (resolve) and returns it
  // still delegating if it remains so. Any other lease is returned unchanged.
  common::Result<Lease> advance_delegating(const Lease& lease);

  // The recovery pass, at start and then periodically (it also finishes what create() left
  // delegating at its deadline): every pending, delegating and reclaiming lease, read in pages of
  // `limit` — admissions interrupted longer than interrupted_after released and failed,
  // delegations advanced (advance_delegating), reclaiming leases' jobs ensured (the job finishes
  // them) — and the reclaim jobs of up to `limit` overdue active leases ensured. Never submits a
  // transaction. An error only when the leases cannot be listed; per-lease failures are counted.
  common::Result<LeaseRecoveryReport> recover(int limit);

  const LeaseServiceOptions& options() const { return options_; }

 private:
  struct Admission;
  struct SplitPart;
  common::Result<Lease> refuse(const Lease& lease, const Admission& admission,
                               const common::Error& error);
  // The parts of a split lease, or fewer than two when one pool can take the stake (or all of them
  // together cannot): then no split.
  common::Result<std::vector<SplitPart>> plan_split(const Quote& quote);
  common::Result<Lease> create_split(int64_t tenant_id, const LeaseRequest& request,
                                     const Quote& quote, const std::vector<SplitPart>& parts);
  // request_reclaim() of one lease, as read (already scoped to its tenant).
  common::Result<Lease> request_reclaim_one(Lease lease);
  common::Result<Lease> delegate(Lease lease, const common::Address& pool_address);
  common::Result<Lease> settle_delegation(const Lease& lease, const ChainTxRecord& record);
  common::Result<Lease> activate(const Lease& lease, const ChainTxRecord& record);
  common::Result<Lease> fail_delegating(const Lease& lease, const std::string& reason);
  common::Result<Lease> abandon_pending(const Lease& lease);
  common::Status reclaim_step(Lease lease);
  common::Status finish_reclaim(const Lease& lease, std::optional<common::TimePoint> reclaimed_at,
                                const std::string& note);
  common::Result<bool> delegation_gone(const Lease& lease, const common::Address& pool_address);
  common::Result<SubmitResult> submit(const Lease& lease, const common::Address& pool_address,
                                      bool delegate);
  common::Result<std::optional<ChainTxRecord>> latest_tx(const Lease& lease,
                                                         std::string_view purpose);
  common::Result<Lease> reload(int64_t lease_id);
  common::Status release_hold(int64_t hold_id);
  common::Status capture_hold(int64_t hold_id, common::Sun amount);
  common::Result<std::optional<LedgerEntry>> find_entry(int64_t tenant_id, EntryKind kind,
                                                        const std::string& reference);
  common::Status ensure_reclaim_job(const Lease& lease, common::TimePoint due_at);
  void scheduled(common::TimePoint due_at);

  LeaseDependencies deps_;
  const LeaseServiceOptions options_;
};

}  // namespace relay::energy
