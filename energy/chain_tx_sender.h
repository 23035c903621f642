// ChainTxSender: the one way tronrelayd puts a transaction on chain. submit() signs (through
// signer::PoolSigners), writes the signed bytes and txid to the ChainTxJournal in a transaction of
// its own, and only then broadcasts; resolve() settles a journaled tx by asking the chain, and
// rebroadcasts the same bytes while it can still be included — a tx is never signed twice, so it
// can never be on chain twice. The sweeper and the recovery pass at start call
// resolve_unresolved(); flows that must see the block (a lease becoming active) call
// wait_included(). Owned by the composition root; thread-safe as its ports are. Log-free: callers
// log what the results say.
//
// Crash points (common/fault_point.h), in submit(): "after_sign" (nothing recorded, nothing sent),
// "after_write_ahead" (recorded as signed, not sent), "after_broadcast" (sent, still recorded as
// signed). After any of them, resolve() of the recorded tx ends it included, or expired if it never
// reached a node in time.
//
// When is a tx settled (PROTOCOL.md §5.4): SUCCESS from a broadcast means only "in a node's pending
// pool"; gettransactioninfobyid answers once it is in a block. A tx whose expiration is at or
// before the head block's time can no longer enter any later block, so "unknown and expired" is
// final. The head is read before the info, so a tx included meanwhile is never taken for expired,
// and the head must be expiry_grace past the expiration, for nodes that lag each other. Inclusion
// is read at the head, not the solidified block: a flow that needs irreversibility checks
// transaction_info(kSolidity) itself.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "chain/transaction.h"
#include "chain/tron_node.h"
#include "common/clock.h"
#include "energy/chain_tx_journal.h"
#include "signer/pool_signers.h"

namespace relay::energy {

struct ChainTxSenderOptions {
  // A tx a node accepted is not sent again before this long after its last broadcast: it is most
  // likely waiting for a block (two 3 s slots). Txs never accepted are sent at every resolve().
  std::chrono::milliseconds rebroadcast_after{6'000};
  // How often wait_included() asks the chain; no faster than blocks are made (3 s on TRON).
  std::chrono::milliseconds poll_interval{3'000};
  // A tx in no block is expired only once the head is this far past its expiration. The head and
  // the tx info may come from different nodes (an endpoint pool, TronGrid's own load balancer): a
  // node a block or two behind must not make an included tx look expired.
  std::chrono::milliseconds expiry_grace{6'000};
};

// True for broadcast codes that settle a first broadcast as refused: the node validated these
// bytes and they cannot enter its pool (SIGERROR, CONTRACT_VALIDATE_ERROR, CONTRACT_EXE_ERROR,
// BANDWITH_ERROR, TAPOS_ERROR, TOO_BIG_TRANSACTION_ERROR, TRANSACTION_EXPIRATION_ERROR). The others
// (SERVER_BUSY, NO_CONNECTION, NOT_ENOUGH_EFFECTIVE_CONNECTION, BLOCK_UNSOLIDIFIED, OTHER_ERROR, an
// unknown code) leave the outcome open.
bool is_definitive_refusal(std::string_view code);

struct SubmitResult {
  ChainTxRecord record;  // as journaled when submit() returned
  // False: a node accepted the bytes (SUCCESS or DUP_TRANSACTION_ERROR); wait for the block.
  // True: the broadcast's fate is unknown (the node unreachable, busy, or an open refusal); the
  // record stays signed and resolve() settles it.
  bool pending = false;
};

// What one sweep did.
struct SweepReport {
  int examined = 0;
  int included = 0;
  int failed = 0;
  int expired = 0;
  int rebroadcast = 0;  // sent again, whatever the node answered
  int unresolved = 0;   // still signed/broadcast after the sweep
  int errors = 0;       // chain or store calls that failed; those txs are tried at the next sweep
  std::optional<common::Error> first_error;
};

class ChainTxSender {
 public:
  // Waits `duration` (wait_included between polls). Tests pass one that advances a ManualClock.
  using Sleeper = std::function<void(std::chrono::milliseconds)>;

  // An empty `sleep` sleeps for real.
  ChainTxSender(ChainTxJournal& journal, chain::TronNode& node, const signer::PoolSigners& signers,
                const common::Clock& clock, ChainTxSenderOptions options = {}, Sleeper sleep = {});

  // Signs `tx` (unsigned: it must carry no signature), journals it, broadcasts it. `purpose` (not
  // empty) and `owner_ref` tell the journal what it is for; `pool_id` the pool whose key signs.
  // Errors — and what each means on chain:
  // - "invalid_request" (empty purpose), "policy_refused" / "invalid_transaction" (the signer
  //   refused): nothing signed, nothing recorded, nothing sent;
  // - a journal error from the write-ahead ("store_unavailable", "conflict" for a txid already
  //   journaled): nothing sent;
  // - "broadcast_rejected": the node refused these bytes with a definitive code; the message
  //   starts with it ("CONTRACT_VALIDATE_ERROR: …") and names the chain tx, which is failed.
  // Anything else is a SubmitResult: accepted, or pending.
  common::Result<SubmitResult> submit(const std::string& purpose, const std::string& owner_ref,
                                      std::optional<int64_t> pool_id, chain::Transaction tx);

  // Settles `record` if the chain allows it now: in a block → included (or failed, if the block
  // says so, e.g. result FAILED or a receipt other than SUCCESS); in no block and expired →
  // expired; otherwise rebroadcasts the same bytes (at once if no node accepted them yet, else
  // after rebroadcast_after) and it stays unresolved. Returns the record as journaled afterwards
  // (a settled record is returned as is, without asking the chain). Errors: the chain could not be
  // read, or a rebroadcast could not reach it (noted in the journal), or the journal failed — the
  // tx is left for the next call.
  common::Result<ChainTxRecord> resolve(const ChainTxRecord& record, common::TimePoint now);

  // resolve() of up to `limit` unresolved txs, oldest first: the periodic sweeper and the recovery
  // pass at start. An error only when the journal cannot list them; per-tx failures are counted.
  common::Result<SweepReport> resolve_unresolved(int limit);

  // Resolves chain tx `id` every poll_interval until it is settled or `deadline` passes, and
  // returns it as journaled then: the caller looks at its state (included, failed, expired, or
  // still signed/broadcast at the deadline). "not_found" for an unknown id; journal errors as is.
  common::Result<ChainTxRecord> wait_included(int64_t id, common::TimePoint deadline);

 private:
  common::Result<ChainTxRecord> resolve_at(const ChainTxRecord& record, const chain::BlockRef& head,
                                           common::TimePoint now);
  common::Result<ChainTxRecord> rebroadcast(const ChainTxRecord& record, common::TimePoint now);

  ChainTxJournal& journal_;
  chain::TronNode& node_;
  const signer::PoolSigners& signers_;
  const common::Clock& clock_;
  const ChainTxSenderOptions options_;
  const Sleeper sleep_;
};

}  // namespace relay::energy
