#include "energy/chain_tx_sender.h"

#include <algorithm>
#include <cassert>
#include <thread>
#include <utility>

#include "common/fault_point.h"

namespace relay::energy {

namespace {

using common::make_error;
using common::Result;

bool is_unresolved(const ChainTxRecord& record) { return !is_settled(record.state); }

// In a block but not a success: java-tron's result FAILED, or a VM receipt other than SUCCESS
// (system contracts such as DelegateResource usually leave receipt.result empty).
std::optional<std::string> failure_code(const chain::TransactionInfo& info) {
  if (!info.receipt_result.empty() && info.receipt_result != "SUCCESS") return info.receipt_result;
  if (info.failed) return std::string("FAILED");
  return std::nullopt;
}

}  // namespace

bool is_definitive_refusal(std::string_view code) {
  return code == "SIGERROR" || code == "CONTRACT_VALIDATE_ERROR" || code == "CONTRACT_EXE_ERROR" ||
         code == "BANDWITH_ERROR" || code == "TAPOS_ERROR" || code == "TOO_BIG_TRANSACTION_ERROR" ||
         code == "TRANSACTION_EXPIRATION_ERROR";
}

ChainTxSender::ChainTxSender(ChainTxJournal& journal, chain::TronNode& node,
                             const signer::PoolSigners& signers, const common::Clock& clock,
                             ChainTxSenderOptions options, Sleeper sleep)
    : journal_(journal),
      node_(node),
      signers_(signers),
      clock_(clock),
      options_(options),
      sleep_(sleep ? std::move(sleep)
                   : Sleeper([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); })) {
}

Result<SubmitResult> ChainTxSender::submit(const std::string& purpose, const std::string& owner_ref,
                                           std::optional<int64_t> pool_id, chain::Transaction tx) {
  assert(tx.signatures().empty() && "submit() signs: pass the unsigned transaction");
  if (purpose.empty()) return make_error("invalid_request", "a chain tx needs a purpose");
  RELAY_ASSIGN_OR_RETURN(common::Bytes signature, signers_.sign(tx.raw_bytes()));
  tx.add_signature(std::move(signature));
  RELAY_FAULT_POINT("after_sign");

  ChainTxRecord ahead;
  ahead.txid = tx.txid();
  ahead.purpose = purpose;
  ahead.owner_ref = owner_ref;
  ahead.pool_id = pool_id;
  ahead.signed_bytes = tx.encode_signed();
  ahead.expiration_ms = tx.raw().expiration();
  // Committed before the first byte leaves: from here on a crash cannot lose this tx.
  RELAY_ASSIGN_OR_RETURN(ChainTxRecord record, journal_.record_signed(ahead));
  RELAY_FAULT_POINT("after_write_ahead");

  auto sent = node_.broadcast(record.signed_bytes);
  RELAY_FAULT_POINT("after_broadcast");
  const common::TimePoint now = clock_.now();
  // The journal writes below are best effort: if one fails the record stays signed, which is
  // always safe — resolve() finds out from the chain what happened.
  if (!sent.ok()) {
    // The request may have reached the node before the connection failed: open, not refused.
    if (auto noted = journal_.note_broadcast_problem(record.id, now, sent.error().code,
                                                     sent.error().message);
        noted.ok()) {
      record = std::move(*noted);
    }
    return SubmitResult{std::move(record), true};
  }
  if (sent->accepted) {
    if (auto marked = journal_.mark_broadcast(record.id, now); marked.ok()) {
      record = std::move(*marked);
    }
    return SubmitResult{std::move(record), false};
  }
  if (!is_definitive_refusal(sent->code)) {
    if (auto noted = journal_.note_broadcast_problem(record.id, now, sent->code, sent->message);
        noted.ok()) {
      record = std::move(*noted);
    }
    return SubmitResult{std::move(record), true};
  }
  // These bytes were signed just now and first sent here: a node that validated and refused them
  // settles it (a retry of the same request inside the client would have answered DUP).
  (void)journal_.mark_failed(record.id, sent->code, sent->message, std::nullopt);
  return make_error("broadcast_rejected", sent->code + ": " + sent->message + " (chain tx " +
                                              std::to_string(record.id) + ")");
}

Result<ChainTxRecord> ChainTxSender::resolve(const ChainTxRecord& record, common::TimePoint now) {
  if (!is_unresolved(record)) return record;
  RELAY_ASSIGN_OR_RETURN(chain::BlockRef head, node_.now_block(chain::ReadFrom::kHead));
  return resolve_at(record, head, now);
}

Result<ChainTxRecord> ChainTxSender::resolve_at(const ChainTxRecord& record,
                                                const chain::BlockRef& head,
                                                common::TimePoint now) {
  if (!is_unresolved(record)) return record;
  // `head` was read before this: if the tx is in no block now, it was in none up to `head`.
  RELAY_ASSIGN_OR_RETURN(std::optional<chain::TransactionInfo> info,
                         node_.transaction_info(record.txid, chain::ReadFrom::kHead));
  if (info) {
    ChainTxInclusion inclusion{.block_number = info->block_number,
                               .block_time_ms = info->block_timestamp_ms,
                               .receipt_result = info->receipt_result,
                               .fee_sun = info->fee_sun};
    if (auto code = failure_code(*info)) {
      return journal_.mark_failed(record.id, *code, info->message, inclusion);
    }
    return journal_.mark_included(record.id, inclusion);
  }
  // java-tron admits a tx into a block only while expiration > the previous block's time.
  if (record.expiration_ms + options_.expiry_grace.count() <= head.timestamp_ms) {
    return journal_.mark_expired(record.id);
  }
  if (record.state == ChainTxState::kBroadcast && record.last_broadcast_at &&
      now - *record.last_broadcast_at < options_.rebroadcast_after) {
    return record;  // accepted a moment ago: most likely waiting for the next block
  }
  return rebroadcast(record, now);
}

Result<ChainTxRecord> ChainTxSender::rebroadcast(const ChainTxRecord& record,
                                                 common::TimePoint now) {
  auto sent = node_.broadcast(record.signed_bytes);
  if (!sent.ok()) {
    (void)journal_.note_broadcast_problem(record.id, now, sent.error().code, sent.error().message);
    return sent.error();
  }
  if (sent->accepted) return journal_.mark_broadcast(record.id, now);
  // Refused — but unlike submit()'s first broadcast, an earlier one (whose answer was lost, or made
  // just before a crash) may have put these bytes in some node's pool, so even a definitive code
  // settles nothing: only the expiration does.
  return journal_.note_broadcast_problem(record.id, now, sent->code, sent->message);
}

Result<SweepReport> ChainTxSender::resolve_unresolved(int limit) {
  RELAY_ASSIGN_OR_RETURN(std::vector<ChainTxRecord> records, journal_.list_unresolved(limit));
  SweepReport report;
  report.examined = static_cast<int>(records.size());
  if (records.empty()) return report;
  auto note_error = [&](const common::Error& error) {
    ++report.errors;
    ++report.unresolved;
    if (!report.first_error) report.first_error = error;
  };
  // One head for the sweep, read before any tx: an older head only delays an expiry.
  auto head = node_.now_block(chain::ReadFrom::kHead);
  if (!head.ok()) {
    for (size_t i = 0; i < records.size(); ++i) note_error(head.error());
    return report;
  }
  for (const ChainTxRecord& record : records) {
    auto resolved = resolve_at(record, *head, clock_.now());
    if (!resolved.ok()) {
      note_error(resolved.error());
      continue;
    }
    if (resolved->broadcast_attempts > record.broadcast_attempts) ++report.rebroadcast;
    switch (resolved->state) {
      case ChainTxState::kIncluded:
        ++report.included;
        break;
      case ChainTxState::kFailed:
        ++report.failed;
        break;
      case ChainTxState::kExpired:
        ++report.expired;
        break;
      case ChainTxState::kSigned:
      case ChainTxState::kBroadcast:
        ++report.unresolved;
        break;
    }
  }
  return report;
}

Result<ChainTxRecord> ChainTxSender::wait_included(int64_t id, common::TimePoint deadline) {
  for (;;) {
    RELAY_ASSIGN_OR_RETURN(std::optional<ChainTxRecord> found, journal_.find(id));
    if (!found) return make_error("not_found", "no chain tx " + std::to_string(id));
    ChainTxRecord record = std::move(*found);
    // A failed attempt (the node unreachable for a moment) is simply tried again at the next poll.
    if (auto resolved = resolve(record, clock_.now()); resolved.ok()) record = std::move(*resolved);
    if (!is_unresolved(record)) return record;
    const common::TimePoint now = clock_.now();
    if (now >= deadline) return record;
    sleep_(std::min(options_.poll_interval,
                    std::chrono::ceil<std::chrono::milliseconds>(deadline - now)));
  }
}

}  // namespace relay::energy
