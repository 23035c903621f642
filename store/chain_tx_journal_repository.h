// PostgreSQL implementation of energy's ChainTxJournal (table chain_txs, migration 0003). Every
// call is one statement or one short transaction; transitions lock the tx's row, so two sweepers
// settling the same tx run one after the other and the second finds it settled. The table itself
// refuses backward moves, changes to what was signed, and deletes (trigger
// chain_txs_move_forward), whatever writes to it.
#pragma once

#include "energy/chain_tx_journal.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "invalid_request" for an empty failure or problem code, a negative
// block number or fee, an expiration before the epoch.
class PgChainTxJournal final : public energy::ChainTxJournal {
 public:
  explicit PgChainTxJournal(Database& db) : db_(db) {}

  common::Result<energy::ChainTxRecord> record_signed(const energy::ChainTxRecord& tx) override;
  // last_broadcast_at only moves forward: of two racing callers the later time stays.
  common::Result<energy::ChainTxRecord> mark_broadcast(int64_t id, common::TimePoint at) override;
  common::Result<energy::ChainTxRecord> note_broadcast_problem(int64_t id, common::TimePoint at,
                                                               const std::string& code,
                                                               const std::string& message) override;
  common::Result<energy::ChainTxRecord> mark_included(
      int64_t id, const energy::ChainTxInclusion& inclusion) override;
  common::Result<energy::ChainTxRecord> mark_failed(
      int64_t id, const std::string& code, const std::string& message,
      const std::optional<energy::ChainTxInclusion>& inclusion) override;
  common::Result<energy::ChainTxRecord> mark_expired(int64_t id) override;
  common::Result<std::optional<energy::ChainTxRecord>> find(int64_t id) override;
  common::Result<std::optional<energy::ChainTxRecord>> find_by_txid(
      const common::Hash32& txid) override;
  common::Result<std::vector<energy::ChainTxRecord>> list_by_owner(
      const std::string& owner_ref) override;
  common::Result<std::vector<energy::ChainTxRecord>> list_unresolved(int limit) override;

 private:
  // mark_broadcast (accepted) and note_broadcast_problem: one more attempt on an unresolved tx.
  common::Result<energy::ChainTxRecord> count_attempt(int64_t id, common::TimePoint at,
                                                      bool accepted, const std::string& code,
                                                      const std::string& message);
  // mark_included, mark_failed, mark_expired: settle an unresolved tx, or confirm it already is.
  common::Result<energy::ChainTxRecord> settle(
      int64_t id, energy::ChainTxState to, const std::string& code, const std::string& message,
      const std::optional<energy::ChainTxInclusion>& inclusion);

  Database& db_;
};

}  // namespace relay::store
