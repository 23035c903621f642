#include "energy/lease_service.h"

#include <algorithm>
#include <cassert>
#include <thread>
#include <utility>

#include "chain/builders.h"
#include "common/bytes.h"
#include "common/fault_point.h"

namespace relay::energy {

namespace {

using common::Error;
using common::make_error;
using common::Result;
using common::Status;
using common::Sun;
using common::TimePoint;
using std::chrono::milliseconds;

// Identical txs (same pool, receiver, stake, head block and millisecond) have the same txid, which
// the journal refuses: the next attempt is stamped a millisecond later.
constexpr int kTxidAttempts = 4;
// A reclaim job may run this much before its lease's expiry: daemons' clocks differ a little.
constexpr auto kEarlyTolerance = std::chrono::seconds(5);
constexpr int kLedgerPage = 200;
// Rounds of re-reading a lease that another worker moved meanwhile.
constexpr int kRaceRounds = 3;

Error invalid(std::string message) { return make_error("invalid_request", std::move(message)); }
Error conflict(std::string message) { return make_error("conflict", std::move(message)); }
bool is_conflict(const Error& error) { return error.code == "conflict"; }

std::string reason_of(const Error& error) { return error.code + ": " + error.message; }

std::string lease_name(int64_t lease_id) { return "lease " + std::to_string(lease_id); }

int64_t ms_of(TimePoint at) {
  return std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count();
}
TimePoint from_ms(int64_t ms) { return TimePoint(milliseconds(ms)); }

std::string describe(const ChainTxRecord& record) {
  return "chain tx " + std::to_string(record.id) + " (" + common::to_hex(record.txid) + ")";
}

// Errors after which the failed call's effect is unknown (the store went away mid-call): what it
// may have done is left for recover() to find instead of being assumed absent.
bool is_uncertain(const Error& error) {
  return error.code == "store_unavailable" || error.code == "internal";
}

// The refusals of UnDelegateResource that mean "there is not that much delegated to undo"
// (PROTOCOL.md §4.4); wording differs between node versions, so by substring.
bool says_delegation_gone(std::string_view message) {
  return message.find("delegated Resource does not exist") != std::string_view::npos ||
         message.find("insufficient delegateFrozenBalance") != std::string_view::npos ||
         message.find("insufficient delegatedFrozenBalance") != std::string_view::npos;
}

// energy_sun × (expires_at − at) / duration, rounded down; 0 once expired.
Sun prorated_refund(const Lease& lease, TimePoint at) {
  if (!lease.expires_at || lease.duration_s <= 0) return Sun(0);
  const int64_t duration_ms = lease.duration_s * 1000;
  const int64_t remaining_ms = std::clamp<int64_t>(
      std::chrono::duration_cast<milliseconds>(*lease.expires_at - at).count(), 0, duration_ms);
  const __int128 refund =
      static_cast<__int128>(lease.price.energy_sun.value()) * remaining_ms / duration_ms;
  return Sun(static_cast<int64_t>(refund));
}

}  // namespace

std::string refund_policy_name(RefundPolicy policy) {
  switch (policy) {
    case RefundPolicy::kNone:
      return "none";
    case RefundPolicy::kProrata:
      return "prorata";
  }
  return "";
}

std::optional<RefundPolicy> refund_policy_from_name(std::string_view name) {
  for (RefundPolicy policy : {RefundPolicy::kNone, RefundPolicy::kProrata}) {
    if (refund_policy_name(policy) == name) return policy;
  }
  return std::nullopt;
}

Status validate_lease_options(const LeaseServiceOptions& options) {
  auto bad = [](const std::string& key, const std::string& rule) {
    return make_error("config", "leases." + key + ": " + rule);
  };
  if (options.confirm_timeout.count() < 0) return bad("confirm_timeout_ms", "must not be negative");
  // A reclaim job waits for its block at most twice this, well within the half of its 5-minute
  // claim in which a job may start (scheduler::JobRunnerOptions::min_claim_left).
  if (options.reclaim_confirm_timeout.count() < 0 ||
      options.reclaim_confirm_timeout > std::chrono::seconds(60)) {
    return bad("reclaim_confirm_timeout_ms", "must be 0..60000");
  }
  // java-tron refuses an expiration more than 24 h after the head block.
  if (options.tx_expiration_ms < 3'000 || options.tx_expiration_ms > 24 * 3'600'000LL) {
    return bad("tx_expiration_ms", "must be 3000..86400000");
  }
  if (options.reclaim_max_attempts < 1) return bad("reclaim_max_attempts", "must be at least 1");
  // create() stops signing at half of it; a whole delegation (build, sign, journal) must fit.
  if (options.interrupted_after < std::chrono::seconds(20)) {
    return bad("interrupted_after_ms", "must be at least 20000");
  }
  if (options.overdue_after.count() < 0) return bad("overdue_after_ms", "must not be negative");
  if (options.ledger_scan_limit < 1) return bad("ledger_scan_limit", "must be at least 1");
  // The table allows 16 parts; one part is no split.
  if (options.max_split_parts < 2 || options.max_split_parts > 16) {
    return bad("max_split_parts", "must be 2..16");
  }
  return {};
}

// What create() set aside so far, to give back if a later step refuses.
struct LeaseService::Admission {
  std::optional<int64_t> hold_id;
  std::optional<int64_t> reservation_id;
};

// One part of a split lease: its pool, and its share of the stake, energy and price.
struct LeaseService::SplitPart {
  int64_t pool_id = 0;
  common::Address pool_address;
  Sun stake;
  common::Energy energy;
  PriceBreakdown price;
};

LeaseService::LeaseService(LeaseDependencies deps, LeaseServiceOptions options)
    : deps_(std::move(deps)), options_(options) {
  assert(validate_lease_options(options_).ok());
}

// ---- create ----

Result<Lease> LeaseService::create(int64_t tenant_id, const LeaseRequest& request) {
  const bool inline_terms =
      request.receiver.has_value() || request.energy.has_value() || request.duration_s.has_value();
  if (request.quote_id.has_value() == inline_terms) {
    return invalid("give either quote_id, or receiver, energy and duration_s");
  }
  if (inline_terms && !(request.receiver && request.energy && request.duration_s)) {
    return invalid("a lease without a quote needs receiver, energy and duration_s");
  }
  if (inline_terms && !request.max_cost) {
    return invalid("max_cost_sun is required for a lease without a quote");
  }
  if (request.max_cost && request.max_cost->value() < 1) {
    return invalid("max_cost_sun: must be at least 1");
  }
  if (!request.lock && request.lock_period_blocks != 0) {
    return invalid("lock_period_blocks: only with lock = true");
  }
  if (request.lock_period_blocks < 0 || request.lock_period_blocks > kMaxLockPeriodBlocks) {
    return invalid("lock_period_blocks: must be 0.." + std::to_string(kMaxLockPeriodBlocks));
  }

  // 1. Terms, from a quote the tenant holds or one made now. Nothing is stored on a refusal here.
  Quote quote;
  if (request.quote_id) {
    RELAY_ASSIGN_OR_RETURN(QuoteView view, deps_.quotes.get(tenant_id, *request.quote_id));
    if (view.state != QuoteState::kOpen) {
      return conflict("quote " + *request.quote_id + " is " + quote_state_name(view.state) +
                      ": ask for a new one");
    }
    quote = std::move(view.quote);
  } else {
    QuoteRequest terms;
    terms.receiver = *request.receiver;
    terms.energy = *request.energy;
    terms.duration_s = *request.duration_s;
    RELAY_ASSIGN_OR_RETURN(quote, deps_.quotes.create(tenant_id, terms));
  }
  if (quote.activation_required) {
    // DelegateResource to an account that does not exist is refused by the chain (§4.2).
    return make_error("account_not_found", quote.receiver.to_base58() +
                                               " is not activated on chain: send it TRX first; a "
                                               "lease cannot delegate to it");
  }
  if (request.max_cost && quote.price.total_sun > *request.max_cost) {
    return make_error("cost_limit_exceeded", "the price is " + quote.price.total_sun.to_string() +
                                                 ", above max_cost_sun " +
                                                 request.max_cost->to_string());
  }
  if (request.lock) {
    const int64_t blocks =
        request.lock_period_blocks == 0 ? kDefaultLockPeriodBlocks : request.lock_period_blocks;
    // A delegation still locked at expiry could not be reclaimed on time.
    if (blocks * kBlockIntervalMs > quote.duration_s * 1000) {
      return invalid("lock_period_blocks: a lock of " + std::to_string(blocks) + " blocks (" +
                     std::to_string(blocks * kBlockIntervalMs / 1000) +
                     " s) outlasts the lease's " + std::to_string(quote.duration_s) +
                     " s; it must end by the expiry");
    }
  }

  if (options_.split_across_pools) {
    RELAY_ASSIGN_OR_RETURN(std::vector<SplitPart> parts, plan_split(quote));
    if (parts.size() > 1) return create_split(tenant_id, request, quote, parts);
  }

  // 2. The row whose id names everything that follows.
  NewLease terms{.tenant_id = tenant_id,
                 .quote_id = quote.id,
                 .receiver = quote.receiver,
                 .energy = quote.energy,
                 .duration_s = quote.duration_s,
                 .stake_sun = quote.stake_sun,
                 .price = quote.price,
                 .lock = request.lock,
                 .lock_period_blocks = request.lock ? request.lock_period_blocks : 0,
                 .group_id = std::nullopt,
                 .split_parts = 1};
  RELAY_ASSIGN_OR_RETURN(Lease lease, deps_.leases.create(terms, deps_.clock.now()));
  const std::string ref = lease_ref(lease.id);
  Admission admission;

  // 3. The money.
  auto hold = deps_.ledger.place_hold(tenant_id, quote.price.total_sun, ref);
  if (!hold.ok()) {
    // Nothing moved: no row is left, and the quote stays open for a retry after a top-up. When
    // the store failed mid-call the hold may exist: the pending row stays for recover().
    if (!is_uncertain(hold.error()) && !deps_.leases.discard(lease.id).ok()) {
      (void)deps_.leases.fail(lease.id, LeaseState::kPending, reason_of(hold.error()),
                              deps_.clock.now());
    }
    return hold.error();
  }
  admission.hold_id = hold->id;

  // 4. The quote, taken once.
  if (auto taken = deps_.quotes.use(tenant_id, quote.id, ref); !taken.ok()) {
    return refuse(lease, admission, taken.error());
  }

  // 5. The capacity.
  auto reservation =
      deps_.capacity.reserve_best_fit(quote.stake_sun.value(), ref, deps_.clock.now());
  if (!reservation.ok()) return refuse(lease, admission, reservation.error());
  admission.reservation_id = reservation->id;
  auto pool = deps_.pools.find(reservation->pool_id, std::nullopt);
  if (!pool.ok()) return refuse(lease, admission, pool.error());
  if (!*pool) {
    return refuse(lease, admission,
                  make_error("unavailable",
                             "pool " + std::to_string(reservation->pool_id) + " is gone; retry"));
  }
  const common::Address pool_address = (*pool)->address;
  std::optional<int32_t> permission_id = deps_.signers.admitted_permission_id(pool_address);
  if (!permission_id) {
    return refuse(lease, admission,
                  make_error("unavailable", "pool " + std::to_string(reservation->pool_id) +
                                                " is not admitted for signing yet; retry shortly"));
  }

  // 6. Recorded together, or refused when the pair already has a delegation in flight.
  DelegationPlan plan{.pool_id = reservation->pool_id,
                      .permission_id = *permission_id,
                      .hold_id = hold->id,
                      .reservation_id = reservation->id};
  auto delegating = deps_.leases.start_delegating(lease.id, plan, deps_.clock.now());
  if (!delegating.ok()) return refuse(lease, admission, delegating.error());

  // 7–8. On chain.
  RELAY_ASSIGN_OR_RETURN(Lease settled, delegate(*delegating, pool_address));
  if (settled.state != LeaseState::kFailed) return settled;
  const std::string& why = settled.state_reason;
  const std::string message = lease_name(settled.id) + " failed and its hold was released: " + why;
  if (why.starts_with("broadcast_rejected")) return make_error("broadcast_rejected", message);
  return make_error("upstream_failed", message);
}

Result<Lease> LeaseService::refuse(const Lease& lease, const Admission& admission,
                                   const Error& error) {
  bool released = true;
  if (admission.reservation_id) {
    released = deps_.capacity.release(*admission.reservation_id).ok() && released;
  }
  if (admission.hold_id) released = release_hold(*admission.hold_id).ok() && released;
  // If something could not be given back, or the refusing call may have done something after all,
  // the lease stays pending: recover() finds the hold and the reservation by reference.
  if (released && !is_uncertain(error)) {
    (void)deps_.leases.fail(lease.id, LeaseState::kPending, reason_of(error), deps_.clock.now());
  }
  return error;
}

Result<std::vector<LeaseService::SplitPart>> LeaseService::plan_split(const Quote& quote) {
  const int64_t stake = quote.stake_sun.value();
  // The common case in one query: some pool can take it whole.
  if (auto largest = deps_.capacity.max_free_sun(); largest.ok() && *largest >= stake) {
    return std::vector<SplitPart>();
  }
  RELAY_ASSIGN_OR_RETURN(std::vector<Pool> pools, deps_.pools.list(std::nullopt));
  std::vector<std::pair<int64_t, const Pool*>> free;  // free stake, pool
  for (const Pool& pool : pools) {
    if (pool.status != PoolStatus::kActive) continue;
    if (!deps_.signers.admitted_permission_id(pool.address)) continue;
    auto capacity = deps_.capacity.capacity(pool.id);
    if (!capacity.ok()) continue;  // deleted meanwhile, or unreadable: not a part this time
    if (capacity->free_sun >= stake) return std::vector<SplitPart>();  // one pool fits
    if (capacity->free_sun >= common::kSunPerTrx) free.emplace_back(capacity->free_sun, &pool);
  }
  std::stable_sort(free.begin(), free.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  // Largest first; every part at least the chain's minimum delegation of 1 TRX.
  std::vector<SplitPart> parts;
  int64_t left = stake;
  for (const auto& [available, pool] : free) {
    if (left == 0 || static_cast<int>(parts.size()) == options_.max_split_parts) break;
    int64_t take = std::min(available, left);
    if (left - take > 0 && left - take < common::kSunPerTrx) take = left - common::kSunPerTrx;
    if (take < common::kSunPerTrx) continue;
    parts.push_back(SplitPart{.pool_id = pool->id,
                              .pool_address = pool->address,
                              .stake = Sun(take),
                              .energy = common::Energy(0),
                              .price = {}});
    left -= take;
  }
  if (left > 0) return std::vector<SplitPart>();  // all of them cannot: refused as one lease
  // Shares in proportion to stake, rounded down; the remainders go to the first part.
  auto share = [&](int64_t whole, const SplitPart& part) {
    return static_cast<int64_t>(static_cast<__int128>(whole) * part.stake.value() / stake);
  };
  const PriceBreakdown& price = quote.price;
  int64_t energy_left = quote.energy.value();
  int64_t energy_sun_left = price.energy_sun.value();
  int64_t bandwidth_left = price.bandwidth_sun.value();
  int64_t activation_left = price.activation_sun.value();
  for (size_t i = parts.size(); i-- > 0;) {
    SplitPart& part = parts[i];
    const bool first = i == 0;
    const int64_t energy = first ? energy_left : share(quote.energy.value(), part);
    const int64_t energy_sun = first ? energy_sun_left : share(price.energy_sun.value(), part);
    const int64_t bandwidth = first ? bandwidth_left : share(price.bandwidth_sun.value(), part);
    const int64_t activation = first ? activation_left : share(price.activation_sun.value(), part);
    if (energy < 1) return std::vector<SplitPart>();  // too small to split
    energy_left -= energy;
    energy_sun_left -= energy_sun;
    bandwidth_left -= bandwidth;
    activation_left -= activation;
    part.energy = common::Energy(energy);
    part.price = PriceBreakdown{.unit_price_sun_per_energy = price.unit_price_sun_per_energy,
                                .energy_sun = Sun(energy_sun),
                                .bandwidth_sun = Sun(bandwidth),
                                .activation_sun = Sun(activation),
                                .total_sun = Sun(energy_sun + bandwidth + activation)};
  }
  return parts;
}

Result<Lease> LeaseService::create_split(int64_t tenant_id, const LeaseRequest& request,
                                         const Quote& quote, const std::vector<SplitPart>& parts) {
  const int split_parts = static_cast<int>(parts.size());
  std::vector<Lease> leases;
  std::vector<Admission> admissions;
  // Every part set aside so far is given back, as a single lease's refusal would.
  auto refuse_all = [&](const Error& error) -> Result<Lease> {
    for (size_t i = 0; i < leases.size(); ++i) {
      if (leases[i].state == LeaseState::kDelegating) {
        (void)fail_delegating(leases[i], reason_of(error));
      } else {
        (void)refuse(leases[i], admissions[i], error);
      }
    }
    return error;
  };

  // Rows: the first part takes the quote and names the group.
  for (int i = 0; i < split_parts; ++i) {
    NewLease terms{.tenant_id = tenant_id,
                   .quote_id = i == 0 ? std::optional<std::string>(quote.id) : std::nullopt,
                   .receiver = quote.receiver,
                   .energy = parts[i].energy,
                   .duration_s = quote.duration_s,
                   .stake_sun = parts[i].stake,
                   .price = parts[i].price,
                   .lock = request.lock,
                   .lock_period_blocks = request.lock ? request.lock_period_blocks : 0,
                   .group_id = i == 0 ? std::nullopt : std::optional<int64_t>(leases[0].id),
                   .split_parts = split_parts};
    auto row = deps_.leases.create(terms, deps_.clock.now());
    if (!row.ok()) return refuse_all(row.error());
    leases.push_back(std::move(*row));
    admissions.emplace_back();
  }
  // Money, part by part. A refusal leaves no row (the quote stays open for a retry after a
  // top-up), as for a single lease.
  for (int i = 0; i < split_parts; ++i) {
    auto hold =
        deps_.ledger.place_hold(tenant_id, parts[i].price.total_sun, lease_ref(leases[i].id));
    if (!hold.ok()) {
      if (is_uncertain(hold.error())) return refuse_all(hold.error());
      bool released = true;
      for (int j = 0; j < i; ++j) released = release_hold(*admissions[j].hold_id).ok() && released;
      // A hold that could not be given back keeps every part pending: recover() finds it by
      // reference. Otherwise nothing is left of the order.
      if (!released) return hold.error();
      for (int j = split_parts; j-- > 0;) {
        if (!deps_.leases.discard(leases[j].id).ok()) {
          (void)deps_.leases.fail(leases[j].id, LeaseState::kPending, reason_of(hold.error()),
                                  deps_.clock.now());
        }
      }
      return hold.error();
    }
    admissions[i].hold_id = hold->id;
  }
  if (auto taken = deps_.quotes.use(tenant_id, quote.id, lease_ref(leases[0].id)); !taken.ok()) {
    return refuse_all(taken.error());
  }
  // Capacity in the planned pools; another lease may have taken some since the plan.
  for (int i = 0; i < split_parts; ++i) {
    auto reservation = deps_.capacity.reserve(parts[i].pool_id, parts[i].stake.value(),
                                              lease_ref(leases[i].id), deps_.clock.now());
    if (!reservation.ok()) return refuse_all(reservation.error());
    admissions[i].reservation_id = reservation->id;
  }
  for (int i = 0; i < split_parts; ++i) {
    std::optional<int32_t> permission_id =
        deps_.signers.admitted_permission_id(parts[i].pool_address);
    if (!permission_id) {
      return refuse_all(make_error("unavailable", "pool " + std::to_string(parts[i].pool_id) +
                                                      " is not admitted for signing; retry"));
    }
    DelegationPlan plan{.pool_id = parts[i].pool_id,
                        .permission_id = *permission_id,
                        .hold_id = *admissions[i].hold_id,
                        .reservation_id = *admissions[i].reservation_id};
    auto delegating = deps_.leases.start_delegating(leases[i].id, plan, deps_.clock.now());
    if (!delegating.ok()) return refuse_all(delegating.error());
    leases[i] = std::move(*delegating);
  }

  // On chain, every part at once: each waits for its own block.
  std::vector<std::optional<Result<Lease>>> settled(split_parts);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < split_parts; ++i) {
      workers.emplace_back([&, i] { settled[i] = delegate(leases[i], parts[i].pool_address); });
    }
  }
  // The answer is the first part that did not fail (a client reading its state must not take a
  // half-delivered order for a failed one and buy it again); its group_id names them all.
  std::optional<Lease> answer;
  for (int i = 0; i < split_parts && !answer; ++i) {
    auto part = settled[i]->ok() ? *settled[i] : reload(leases[i].id);
    if (part.ok() && part->state != LeaseState::kFailed) answer = std::move(*part);
  }
  if (!answer) {
    if (!settled[0]->ok()) return settled[0]->error();
    return make_error(
        "upstream_failed",
        lease_name(leases[0].id) + " and its " + std::to_string(split_parts - 1) +
            " other parts failed and their holds were released: " + (*settled[0])->state_reason);
  }
  return *answer;
}

Result<Lease> LeaseService::delegate(Lease lease, const common::Address& pool_address) {
  auto submitted = submit(lease, pool_address, /*delegate=*/true);
  if (!submitted.ok()) {
    Error error = submitted.error();
    if (is_uncertain(error)) {
      // The write-ahead may have committed before the store went away; if it did, the sweeper
      // broadcasts it. Only the journal can tell: the lease stays delegating and recover()
      // follows whatever it finds there (or fails the lease once interrupted_after passed).
      return lease;
    }
    if (error.code == "policy_refused" || error.code == "invalid_transaction") {
      error = make_error("unavailable", "the signer refused " + lease_name(lease.id) +
                                            "'s delegation: " + error.message);
    }
    // Not signed, or refused for good by the node: nothing of it can be on chain.
    RELAY_ASSIGN_OR_RETURN(Lease failed, fail_delegating(lease, reason_of(error)));
    if (error.code == "broadcast_rejected") return failed;
    return error;
  }
  const ChainTxRecord& record = submitted->record;
  const TimePoint now = deps_.clock.now();
  // Best effort: the journal names the lease (owner_ref), so recover() finds the tx without it.
  if (auto recorded = deps_.leases.set_delegate_tx(lease.id, record.id, now); recorded.ok()) {
    lease = std::move(*recorded);
  }
  auto waited = deps_.sender.wait_included(record.id, now + options_.confirm_timeout);
  if (!waited.ok()) return lease;  // in the journal; recover() settles the lease
  // A step of settling failed (the store or the chain went away): the lease is still in flight,
  // with nothing lost; recover() repeats the settling.
  auto settled = settle_delegation(lease, *waited);
  if (!settled.ok()) return reload(lease.id);
  return settled;
}

Result<Lease> LeaseService::settle_delegation(const Lease& lease, const ChainTxRecord& record) {
  switch (record.state) {
    case ChainTxState::kIncluded:
      return activate(lease, record);
    case ChainTxState::kFailed:
      if (!record.inclusion) {
        return fail_delegating(lease, "broadcast_rejected: " + record.error_code + ": " +
                                          record.error_message + " (" + describe(record) + ")");
      }
      return fail_delegating(lease, "delegation_failed: " + describe(record) + " failed in block " +
                                        std::to_string(record.inclusion->block_number) + ": " +
                                        record.error_code + " " + record.error_message);
    case ChainTxState::kExpired:
      return fail_delegating(
          lease, "delegation_expired: " + describe(record) +
                     " reached no block before its expiration" +
                     (record.error_code.empty() ? std::string()
                                                : " (last broadcast problem: " + record.error_code +
                                                      " " + record.error_message + ")"));
    case ChainTxState::kSigned:
    case ChainTxState::kBroadcast:
      break;
  }
  if (!lease.delegate_tx_id) {
    if (auto recorded = deps_.leases.set_delegate_tx(lease.id, record.id, deps_.clock.now());
        recorded.ok()) {
      return std::move(*recorded);
    }
  }
  return lease;
}

Result<Lease> LeaseService::activate(const Lease& lease, const ChainTxRecord& record) {
  assert(record.inclusion && lease.hold_id && lease.reservation_id);
  const TimePoint delegated_at = from_ms(record.inclusion->block_time_ms);
  const TimePoint expires_at = delegated_at + std::chrono::seconds(lease.duration_s);
  // Each step is idempotent and comes before the transition that records them all: after a crash
  // the lease is still delegating and the next advance repeats them.
  RELAY_TRY_STATUS(capture_hold(*lease.hold_id, lease.price.total_sun));
  RELAY_TRY_STATUS(deps_.capacity.mark_delegated(*lease.reservation_id, delegated_at));
  RELAY_TRY_STATUS(ensure_reclaim_job(lease, expires_at));
  RELAY_FAULT_POINT("before_confirm");
  auto active =
      deps_.leases.activate(lease.id, record.id, delegated_at, expires_at, deps_.clock.now());
  if (!active.ok()) {
    if (is_conflict(active.error())) return reload(lease.id);
    return active.error();
  }
  return std::move(*active);
}

Result<Lease> LeaseService::fail_delegating(const Lease& lease, const std::string& reason) {
  if (lease.hold_id) RELAY_TRY_STATUS(release_hold(*lease.hold_id));
  if (lease.reservation_id) RELAY_TRY_STATUS(deps_.capacity.release(*lease.reservation_id));
  auto failed = deps_.leases.fail(lease.id, LeaseState::kDelegating, reason, deps_.clock.now());
  if (!failed.ok()) {
    if (is_conflict(failed.error())) return reload(lease.id);
    return failed.error();
  }
  return std::move(*failed);
}

Result<Lease> LeaseService::advance_delegating(const Lease& lease) {
  if (lease.state != LeaseState::kDelegating) return lease;
  RELAY_ASSIGN_OR_RETURN(auto found, latest_tx(lease, chain_tx_purpose::kLeaseDelegate));
  const TimePoint now = deps_.clock.now();
  if (!found) {
    // create() signs only within interrupted_after / 2 of starting to delegate: past
    // interrupted_after without a journaled tx, none will ever be signed.
    if (now - lease.updated_at < options_.interrupted_after) return lease;
    return fail_delegating(lease,
                           "interrupted: the daemon stopped before the delegation was signed; "
                           "nothing was delegated");
  }
  ChainTxRecord record = std::move(*found);
  if (!is_settled(record.state)) {
    RELAY_ASSIGN_OR_RETURN(record, deps_.sender.resolve(record, now));
  }
  return settle_delegation(lease, record);
}

// ---- reading ----

Result<LeaseView> LeaseService::get(int64_t tenant_id, int64_t lease_id) {
  RELAY_ASSIGN_OR_RETURN(auto found, deps_.leases.find(lease_id, tenant_id));
  if (!found) return make_error("not_found", "no " + lease_name(lease_id));
  LeaseView view{.lease = std::move(*found), .chain_txs = {}};
  RELAY_ASSIGN_OR_RETURN(view.chain_txs, deps_.journal.list_by_owner(lease_ref(lease_id)));
  return view;
}

Result<LeasePage> LeaseService::list(int64_t tenant_id, const LeaseFilter& filter) {
  return deps_.leases.list(tenant_id, filter);
}

// ---- reclaim ----

Result<Lease> LeaseService::request_reclaim(std::optional<int64_t> tenant_id, int64_t lease_id) {
  RELAY_ASSIGN_OR_RETURN(auto found, deps_.leases.find(lease_id, tenant_id));
  if (!found) return make_error("not_found", "no " + lease_name(lease_id));
  if (found->split_parts < 2) return request_reclaim_one(std::move(*found));
  // A split lease ends as one order: every part that is on chain is reclaimed.
  LeaseFilter parts;
  parts.group_id = group_of(*found);
  parts.limit = 16;
  RELAY_ASSIGN_OR_RETURN(LeasePage group, deps_.leases.list(found->tenant_id, parts));
  if (found->state == LeaseState::kFailed) return request_reclaim_one(std::move(*found));
  // Every part still on chain is asked; one that cannot be yet (still delegating) makes the whole
  // answer an error, so the caller retries — asking again is harmless for the others.
  std::optional<Lease> asked;
  std::optional<Error> refused;
  for (const Lease& part : group.leases) {
    if (part.state == LeaseState::kFailed) continue;  // nothing of it on chain
    auto done = request_reclaim_one(part);
    if (!done.ok()) {
      if (!refused) refused = done.error();
    } else if (part.id == lease_id) {
      asked = std::move(*done);
    }
  }
  if (refused) return *refused;
  if (asked) return *asked;
  return reload(lease_id);
}

Result<Lease> LeaseService::request_reclaim_one(Lease lease) {
  const TimePoint now = deps_.clock.now();
  for (int round = 0; round < kRaceRounds && lease.state == LeaseState::kActive; ++round) {
    const Sun refund = options_.early_reclaim_refund == RefundPolicy::kProrata
                           ? prorated_refund(lease, now)
                           : Sun(0);
    auto started = deps_.leases.begin_reclaim(lease.id, now, refund, now);
    if (started.ok()) {
      lease = std::move(*started);
      break;
    }
    if (!is_conflict(started.error())) return started.error();
    RELAY_ASSIGN_OR_RETURN(lease, reload(lease.id));
  }
  switch (lease.state) {
    case LeaseState::kPending:
    case LeaseState::kDelegating:
      return conflict(lease_name(lease.id) + " is still delegating: reclaim it once it is active");
    case LeaseState::kFailed:
      return conflict(lease_name(lease.id) + " failed: nothing of it is on chain to reclaim");
    case LeaseState::kActive:
      return conflict(lease_name(lease.id) + " changed while being reclaimed; retry");
    case LeaseState::kReclaimed:
      return lease;
    case LeaseState::kReclaiming:
      break;
  }
  // The chain refuses to undo a locked delegation before its lock ends.
  const TimePoint due = std::max(now, lock_ends_at(lease).value_or(now));
  auto moved = deps_.jobs.reschedule(std::string(kReclaimLeaseJob), lease_ref(lease.id), due);
  if (moved.ok()) {
    scheduled(moved->due_at);
  } else if (moved.error().code == "not_found") {
    RELAY_TRY_STATUS(ensure_reclaim_job(lease, due));
  } else if (!is_conflict(moved.error())) {  // conflict: the job is running right now
    return moved.error();
  }
  return lease;
}

Status LeaseService::handle_reclaim_job(const Job& job) {
  auto lease_id = lease_id_from_ref(job.ref);
  if (!lease_id)
    return invalid("job " + std::to_string(job.id) + ": '" + job.ref + "' names no lease");
  return reclaim(*lease_id);
}

Status LeaseService::reclaim(int64_t lease_id) {
  RELAY_ASSIGN_OR_RETURN(auto found, deps_.leases.find(lease_id, std::nullopt));
  if (!found) return {};
  Lease lease = std::move(*found);
  for (int round = 0; round < kRaceRounds; ++round) {
    switch (lease.state) {
      case LeaseState::kPending:
      case LeaseState::kFailed:
      case LeaseState::kReclaimed:
        return {};
      case LeaseState::kDelegating: {
        // Its job exists only once the delegation is in a block, so this is a lease whose
        // activation was interrupted: finish it first. Never "done" while delegating, or a
        // delegation that lands afterwards would have no reclaim.
        RELAY_ASSIGN_OR_RETURN(lease, advance_delegating(lease));
        if (lease.state == LeaseState::kDelegating) {
          return make_error("lease_not_active",
                            lease_name(lease.id) + " is still delegating; its reclaim waits");
        }
        continue;
      }
      case LeaseState::kActive: {
        const TimePoint now = deps_.clock.now();
        if (*lease.expires_at - now > kEarlyTolerance) {
          return make_error("not_due", lease_name(lease.id) + " expires at " +
                                           std::to_string(ms_of(*lease.expires_at)) + " ms");
        }
        if (auto lock_end = lock_ends_at(lease); lock_end && *lock_end > now) {
          return make_error("locked", lease_name(lease.id) + " is locked on chain until " +
                                          std::to_string(ms_of(*lock_end)) + " ms");
        }
        auto started = deps_.leases.begin_reclaim(lease.id, std::nullopt, Sun(0), now);
        if (!started.ok()) {
          if (!is_conflict(started.error())) return started.error();
          RELAY_ASSIGN_OR_RETURN(lease, reload(lease.id));
        } else {
          lease = std::move(*started);
        }
        continue;
      }
      case LeaseState::kReclaiming:
        return reclaim_step(lease);
    }
  }
  return conflict(lease_name(lease.id) + " kept changing state; retry");
}

Status LeaseService::reclaim_step(Lease lease) {
  const TimePoint now = deps_.clock.now();
  if (auto lock_end = lock_ends_at(lease); lock_end && *lock_end > now) {
    return make_error("locked", lease_name(lease.id) + " is locked on chain until " +
                                    std::to_string(ms_of(*lock_end)) + " ms");
  }
  RELAY_ASSIGN_OR_RETURN(auto pool, deps_.pools.find(*lease.pool_id, std::nullopt));
  // A pool cannot be deleted while this lease's reservation is open.
  if (!pool)
    return make_error("not_found", "pool " + std::to_string(*lease.pool_id) + " of " +
                                       lease_name(lease.id) + " is gone");
  const common::Address& pool_address = pool->address;

  // What to do with a reclaim tx that settled: finished, gone already, or try a new one.
  auto settled = [&](const ChainTxRecord& record) -> Result<bool> {
    if (record.state == ChainTxState::kIncluded) {
      RELAY_TRY_STATUS(finish_reclaim(lease, from_ms(record.inclusion->block_time_ms), ""));
      return true;
    }
    if (record.state == ChainTxState::kFailed && says_delegation_gone(record.error_message)) {
      RELAY_ASSIGN_OR_RETURN(bool gone, delegation_gone(lease, pool_address));
      if (gone) {
        RELAY_TRY_STATUS(finish_reclaim(
            lease, std::nullopt,
            "reclaimed_externally: the chain refused our undelegation (" + record.error_code +
                ": " + record.error_message + ") and less than " + lease.stake_sun.to_string() +
                " is delegated from the pool to the receiver"));
        return true;
      }
    }
    return false;
  };
  auto wait = [&](const ChainTxRecord& record) -> Result<ChainTxRecord> {
    if (options_.reclaim_confirm_timeout.count() == 0) return deps_.sender.resolve(record, now);
    return deps_.sender.wait_included(record.id, now + options_.reclaim_confirm_timeout);
  };

  RELAY_ASSIGN_OR_RETURN(auto last, latest_tx(lease, chain_tx_purpose::kLeaseReclaim));
  if (last) {
    ChainTxRecord record = std::move(*last);
    // Ours may still land: never sign another while it can.
    if (!is_settled(record.state)) {
      RELAY_ASSIGN_OR_RETURN(record, wait(record));
    }
    if (!is_settled(record.state)) {
      return make_error("reclaim_pending", describe(record) + " of " + lease_name(lease.id) +
                                               " is not in a block yet");
    }
    RELAY_ASSIGN_OR_RETURN(bool done, settled(record));
    if (done) return {};
  }

  // None yet, or the last one failed or expired: a new one, for exactly the delegated stake.
  auto submitted = submit(lease, pool_address, /*delegate=*/false);
  if (!submitted.ok()) {
    const Error& error = submitted.error();
    if (error.code == "broadcast_rejected" && says_delegation_gone(error.message)) {
      RELAY_ASSIGN_OR_RETURN(auto refused, latest_tx(lease, chain_tx_purpose::kLeaseReclaim));
      if (refused && refused->state == ChainTxState::kFailed) {
        RELAY_ASSIGN_OR_RETURN(bool done, settled(*refused));
        if (done) return {};
      }
    }
    return error;
  }
  ChainTxRecord record = submitted->record;
  RELAY_FAULT_POINT("mid_reclaim");
  (void)deps_.leases.set_reclaim_tx(lease.id, lease.reclaim_tx_id, record.id, deps_.clock.now());
  if (submitted->pending || options_.reclaim_confirm_timeout.count() > 0) {
    RELAY_ASSIGN_OR_RETURN(record, wait(record));
  }
  if (!is_settled(record.state)) {
    return make_error("reclaim_pending",
                      describe(record) + " of " + lease_name(lease.id) + " is not in a block yet");
  }
  RELAY_ASSIGN_OR_RETURN(bool done, settled(record));
  if (done) return {};
  return make_error("reclaim_failed", describe(record) + " of " + lease_name(lease.id) + " " +
                                          chain_tx_state_name(record.state) + ": " +
                                          record.error_code + " " + record.error_message);
}

Result<bool> LeaseService::delegation_gone(const Lease& lease,
                                           const common::Address& pool_address) {
  RELAY_ASSIGN_OR_RETURN(auto records,
                         deps_.node.delegated_resources(pool_address, lease.receiver));
  int64_t left = 0;
  for (const auto& record : records) {
    if (__builtin_add_overflow(left, record.energy_sun, &left)) return false;
  }
  return left < lease.stake_sun.value();
}

Status LeaseService::finish_reclaim(const Lease& lease, std::optional<TimePoint> reclaimed_at,
                                    const std::string& note) {
  // Idempotent steps first; the transition records them (see create()).
  if (lease.reservation_id) RELAY_TRY_STATUS(deps_.capacity.release(*lease.reservation_id));
  if (lease.refund_sun.value() > 0) {
    const std::string ref = lease_ref(lease.id);
    RELAY_ASSIGN_OR_RETURN(auto refunded, find_entry(lease.tenant_id, EntryKind::kRefund, ref));
    if (!refunded) {
      RELAY_TRY_STATUS(deps_.ledger.refund(lease.tenant_id, lease.refund_sun, ref));
    }
  }
  const TimePoint now = deps_.clock.now();
  auto done = deps_.leases.finish_reclaim(lease.id, reclaimed_at.value_or(now), note, now);
  if (!done.ok() && !is_conflict(done.error())) return done.error();
  // The receiver's usage moved back to the pool with the stake (PROTOCOL.md §4.4): its next
  // snapshot says how much it can delegate now. Best effort; the monitor refreshes it anyway.
  if (deps_.pool_service != nullptr)
    (void)deps_.pool_service->refresh(*lease.pool_id, std::nullopt);
  return {};
}

// ---- recovery ----

Result<Lease> LeaseService::abandon_pending(const Lease& lease) {
  const std::string ref = lease_ref(lease.id);
  // A pending lease records neither its hold nor its reservation: look them up by reference.
  RELAY_ASSIGN_OR_RETURN(auto hold_entry, find_entry(lease.tenant_id, EntryKind::kHold, ref));
  if (hold_entry && hold_entry->hold_id) RELAY_TRY_STATUS(release_hold(*hold_entry->hold_id));
  RELAY_ASSIGN_OR_RETURN(auto pools, deps_.pools.list(std::nullopt));
  for (const Pool& pool : pools) {
    RELAY_ASSIGN_OR_RETURN(auto open, deps_.capacity.open_reservations(pool.id));
    for (const Reservation& reservation : open) {
      if (reservation.reference == ref) RELAY_TRY_STATUS(deps_.capacity.release(reservation.id));
    }
  }
  auto failed = deps_.leases.fail(lease.id, LeaseState::kPending,
                                  "interrupted: the daemon stopped while admitting the lease; "
                                  "nothing was delegated and nothing is held",
                                  deps_.clock.now());
  if (!failed.ok()) {
    if (is_conflict(failed.error())) return reload(lease.id);
    return failed.error();
  }
  return std::move(*failed);
}

Result<LeaseRecoveryReport> LeaseService::recover(int limit) {
  if (limit < 1) return invalid("recover: limit must be at least 1");
  LeaseRecoveryReport report;
  auto note_error = [&](const Error& error) {
    ++report.errors;
    if (!report.first_error) report.first_error = error;
  };
  int64_t after = 0;
  for (;;) {
    RELAY_ASSIGN_OR_RETURN(auto page, deps_.leases.list_unsettled(limit, after));
    for (const Lease& lease : page) {
      after = lease.id;
      ++report.examined;
      const TimePoint now = deps_.clock.now();
      switch (lease.state) {
        case LeaseState::kPending: {
          if (now - lease.updated_at < options_.interrupted_after) {
            ++report.still_in_flight;  // create() is most likely still at work on it
            break;
          }
          auto abandoned = abandon_pending(lease);
          if (!abandoned.ok()) {
            note_error(abandoned.error());
          } else if (abandoned->state == LeaseState::kFailed) {
            ++report.failed;
          }
          break;
        }
        case LeaseState::kDelegating: {
          auto advanced = advance_delegating(lease);
          if (!advanced.ok()) {
            note_error(advanced.error());
          } else if (advanced->state == LeaseState::kActive) {
            ++report.activated;
          } else if (advanced->state == LeaseState::kFailed) {
            ++report.failed;
          } else {
            ++report.still_in_flight;
          }
          break;
        }
        case LeaseState::kReclaiming: {
          // Only the job submits reclaims (one worker at a time): make sure it exists.
          if (auto ensured = ensure_reclaim_job(lease, now); ensured.ok()) {
            ++report.jobs_ensured;
          } else {
            note_error(ensured.error());
          }
          break;
        }
        case LeaseState::kActive:
        case LeaseState::kReclaimed:
        case LeaseState::kFailed:
          break;
      }
    }
    if (static_cast<int>(page.size()) < limit) break;
  }
  // A reclaim job that died (or was lost some other way) is made again while its lease is overdue.
  RELAY_ASSIGN_OR_RETURN(
      auto overdue, deps_.leases.list_overdue(deps_.clock.now() - options_.overdue_after, limit));
  for (const Lease& lease : overdue) {
    ++report.examined;
    if (auto ensured = ensure_reclaim_job(lease, *lease.expires_at); ensured.ok()) {
      ++report.jobs_ensured;
    } else {
      note_error(ensured.error());
    }
  }
  return report;
}

// ---- helpers ----

Result<SubmitResult> LeaseService::submit(const Lease& lease, const common::Address& pool_address,
                                          bool delegate) {
  assert(lease.pool_id && lease.permission_id);
  // TaPoS and expiration from the head block, as java-tron counts them.
  RELAY_ASSIGN_OR_RETURN(chain::BlockRef head, deps_.node.now_block());
  chain::TxHeader header;
  RELAY_ASSIGN_OR_RETURN(header.tapos, chain::TaposRef::from_block(head.number, head.id));
  header.expiration_ms = head.timestamp_ms + options_.tx_expiration_ms;
  header.permission_id = *lease.permission_id;
  const std::string ref = lease_ref(lease.id);
  const int64_t stamp = deps_.clock.now_ms();
  for (int attempt = 0;; ++attempt) {
    header.timestamp_ms = stamp + attempt;
    auto tx = delegate
                  ? chain::build_delegate_resource(
                        header, pool_address, lease.receiver, lease.stake_sun, protocol::ENERGY,
                        chain::DelegateLock{.lock = lease.lock,
                                            .lock_period_blocks = lease.lock_period_blocks})
                  : chain::build_undelegate_resource(header, pool_address, lease.receiver,
                                                     lease.stake_sun, protocol::ENERGY);
    if (!tx.ok()) return tx.error();
    if (delegate && deps_.clock.now() - lease.updated_at >= options_.interrupted_after / 2) {
      // recover() may decide this lease was abandoned: leave it unsigned, and failed.
      return make_error("unavailable", lease_name(lease.id) +
                                           " took too long to prepare its delegation; nothing "
                                           "was signed, retry");
    }
    auto sent = deps_.sender.submit(
        delegate ? chain_tx_purpose::kLeaseDelegate : chain_tx_purpose::kLeaseReclaim, ref,
        lease.pool_id, std::move(*tx));
    if (sent.ok() || !is_conflict(sent.error()) || attempt + 1 == kTxidAttempts) return sent;
  }
}

Result<std::optional<ChainTxRecord>> LeaseService::latest_tx(const Lease& lease,
                                                             std::string_view purpose) {
  RELAY_ASSIGN_OR_RETURN(auto records, deps_.journal.list_by_owner(lease_ref(lease.id)));
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->purpose == purpose) return std::optional<ChainTxRecord>(std::move(*it));
  }
  return std::optional<ChainTxRecord>();
}

Result<Lease> LeaseService::reload(int64_t lease_id) {
  RELAY_ASSIGN_OR_RETURN(auto found, deps_.leases.find(lease_id, std::nullopt));
  if (!found) return make_error("not_found", "no " + lease_name(lease_id));
  return std::move(*found);
}

Status LeaseService::release_hold(int64_t hold_id) {
  auto released = deps_.ledger.release(hold_id);
  if (released.ok()) return {};
  if (!is_conflict(released.error())) return released.error();
  RELAY_ASSIGN_OR_RETURN(auto hold, deps_.ledger.find_hold(hold_id));
  if (hold && hold->state == HoldState::kReleased) return {};
  // A lease whose delegation never landed was charged: a bug, not something to retry.
  return make_error("internal",
                    "hold " + std::to_string(hold_id) + " to release was captured already");
}

Status LeaseService::capture_hold(int64_t hold_id, Sun amount) {
  auto captured = deps_.ledger.capture(hold_id, amount);
  if (captured.ok()) return {};
  if (!is_conflict(captured.error())) return captured.error();
  RELAY_ASSIGN_OR_RETURN(auto hold, deps_.ledger.find_hold(hold_id));
  if (hold && hold->state == HoldState::kCaptured) return {};
  return make_error("internal",
                    "hold " + std::to_string(hold_id) + " to capture was released already");
}

Result<std::optional<LedgerEntry>> LeaseService::find_entry(int64_t tenant_id, EntryKind kind,
                                                            const std::string& reference) {
  std::optional<int64_t> before;
  int scanned = 0;
  while (scanned < options_.ledger_scan_limit) {
    RELAY_ASSIGN_OR_RETURN(LedgerPage page, deps_.ledger.entries(tenant_id, before, kLedgerPage));
    for (LedgerEntry& entry : page.entries) {
      if (entry.kind == kind && entry.reference == reference) {
        return std::optional<LedgerEntry>(std::move(entry));
      }
    }
    scanned += static_cast<int>(page.entries.size());
    if (!page.next_before) break;
    before = page.next_before;
  }
  return std::optional<LedgerEntry>();
}

Status LeaseService::ensure_reclaim_job(const Lease& lease, TimePoint due_at) {
  RELAY_ASSIGN_OR_RETURN(
      Job job, deps_.jobs.enqueue(std::string(kReclaimLeaseJob), lease_ref(lease.id), due_at,
                                  options_.reclaim_max_attempts));
  scheduled(job.due_at);
  return {};
}

void LeaseService::scheduled(TimePoint due_at) {
  if (deps_.reclaim_scheduled) deps_.reclaim_scheduled(due_at);
}

}  // namespace relay::energy
