// ChainTxJournal: the write-ahead record of every transaction tronrelayd signs — its exact signed
// bytes and txid, what it is for, and how far it got (DESIGN.md §4, chain tx). A tx is recorded
// before its bytes are first broadcast, so after a crash at any instant every tx that may be on
// chain is known and can be settled by asking the chain, and a rebroadcast sends the same bytes
// instead of signing again. ChainTxSender (chain_tx_sender.h) is the one writer; owner flows (a
// lease, a pool's staking) read it by owner_ref. The store implements it (table chain_txs); each
// call is one database transaction, committed before it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"

namespace relay::energy {

// signed: written ahead; a broadcast may or may not have reached a node. broadcast: a node accepted
// the bytes (SUCCESS, or DUP_TRANSACTION_ERROR: it already had them). included: in a block, and it
// succeeded. failed: a node refused the first broadcast with a definitive code, or it is in a block
// with a failed result. expired: in no block and past its expiration, so it never will be; the
// owner flow decides whether to build a new one. Only forward: signed → broadcast → settled, or
// signed → settled.
enum class ChainTxState { kSigned, kBroadcast, kIncluded, kFailed, kExpired };
std::string chain_tx_state_name(ChainTxState state);
std::optional<ChainTxState> chain_tx_state_from_name(std::string_view name);
// included, failed or expired: nothing will change it any more.
bool is_settled(ChainTxState state);

// What a tx is for. An open set: flows may add their own names.
namespace chain_tx_purpose {
inline constexpr const char* kLeaseDelegate = "lease_delegate";
inline constexpr const char* kLeaseReclaim = "lease_reclaim";
inline constexpr const char* kPoolStake = "pool_stake";
inline constexpr const char* kPoolUnstake = "pool_unstake";
inline constexpr const char* kRelayDelegate = "relay_delegate";
inline constexpr const char* kRelayReclaim = "relay_reclaim";
// An orphaned delegation taken back by tronrelayctl reconcile (reconcile.h).
inline constexpr const char* kReconcileReclaim = "reconcile_reclaim";
}  // namespace chain_tx_purpose

// Where a tx landed, from gettransactioninfobyid.
struct ChainTxInclusion {
  int64_t block_number = 0;
  int64_t block_time_ms = 0;
  std::string receipt_result;  // receipt.result; often empty for system contracts
  int64_t fee_sun = 0;

  bool operator==(const ChainTxInclusion&) const = default;
};

struct ChainTxRecord {
  int64_t id = 0;
  common::Hash32 txid{};
  std::string purpose;             // chain_tx_purpose::…; never empty
  std::string owner_ref;           // the flow it serves: "lease:42"; may be empty
  std::optional<int64_t> pool_id;  // the pool whose key signed it, if any
  common::Bytes signed_bytes;      // the whole signed Transaction, as broadcast
  int64_t expiration_ms = 0;       // raw_data.expiration
  ChainTxState state = ChainTxState::kSigned;
  int32_t broadcast_attempts = 0;  // broadcasts tried, whatever they answered
  std::optional<common::TimePoint> last_broadcast_at;
  std::optional<ChainTxInclusion> inclusion;  // once in a block (included, or failed in a block)
  // failed/expired: why (a node's code such as "SIGERROR", a receipt's "REVERT", "FAILED"). Before
  // that: the last broadcast problem (the node unreachable, a rebroadcast refused).
  std::string error_code;
  std::string error_message;
  common::TimePoint created_at;
  common::TimePoint updated_at;
};

// Errors of every call besides its own: "store_unavailable" / "internal" from the store;
// "not_found" for an id that was never recorded. The mark_* calls are idempotent (a retried job or
// two sweepers may repeat them) and never move a tx backwards.
class ChainTxJournal {
 public:
  virtual ~ChainTxJournal() = default;

  // The write-ahead: stores `tx` as signed (its txid, purpose, owner_ref, pool_id, signed_bytes
  // and expiration_ms; every other field is ignored) and returns it with its id. Must return
  // before the bytes are broadcast. "conflict" for a txid already recorded; "invalid_request" for
  // an empty purpose or empty bytes; "not_found" for an unknown pool.
  virtual common::Result<ChainTxRecord> record_signed(const ChainTxRecord& tx) = 0;

  // A node accepted the bytes: signed|broadcast → broadcast, one more attempt, at `at`. A settled
  // tx (a sweeper got there first) is returned unchanged.
  virtual common::Result<ChainTxRecord> mark_broadcast(int64_t id, common::TimePoint at) = 0;

  // A broadcast that settled nothing — the node could not be reached, was busy, or refused a
  // rebroadcast: one more attempt at `at` and the problem kept in error_code/error_message; the
  // state stays. A settled tx is returned unchanged.
  virtual common::Result<ChainTxRecord> note_broadcast_problem(int64_t id, common::TimePoint at,
                                                               const std::string& code,
                                                               const std::string& message) = 0;

  // signed|broadcast → included (clears a noted broadcast problem). The same inclusion again
  // returns the tx unchanged; "conflict" for a failed or expired tx, or one included elsewhere.
  virtual common::Result<ChainTxRecord> mark_included(int64_t id,
                                                      const ChainTxInclusion& inclusion) = 0;

  // signed|broadcast → failed with `code` (not empty) and `message`; `inclusion` when it failed
  // inside a block (fees were still charged). A failed tx is returned unchanged; "conflict" for
  // an included or expired one.
  virtual common::Result<ChainTxRecord> mark_failed(
      int64_t id, const std::string& code, const std::string& message,
      const std::optional<ChainTxInclusion>& inclusion) = 0;

  // signed|broadcast → expired (a noted problem stays, as the likely reason). An expired tx is
  // returned unchanged; "conflict" for an included or failed one.
  virtual common::Result<ChainTxRecord> mark_expired(int64_t id) = 0;

  virtual common::Result<std::optional<ChainTxRecord>> find(int64_t id) = 0;
  virtual common::Result<std::optional<ChainTxRecord>> find_by_txid(const common::Hash32& txid) = 0;
  // Every tx of one owner flow, oldest first.
  virtual common::Result<std::vector<ChainTxRecord>> list_by_owner(
      const std::string& owner_ref) = 0;
  // signed and broadcast txs, oldest first, at most `limit` ("invalid_request" below 1): the work
  // of the sweeper and of the recovery pass at start.
  virtual common::Result<std::vector<ChainTxRecord>> list_unresolved(int limit) = 0;
};

}  // namespace relay::energy
