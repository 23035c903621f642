#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "store/chain_tx_journal_repository.h"
#include "store/pool_repository.h"
#include "store/tenant_repository.h"
#include "tests/support/pg.h"

namespace relay::store {
namespace {

using common::TimePoint;
using energy::ChainTxInclusion;
using energy::ChainTxRecord;
using energy::ChainTxState;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = common::ManualClock::at_ms(1'700'000'000'000).now();

using testing::random_bytes;

ChainTxRecord new_tx(const std::string& owner_ref, std::optional<int64_t> pool_id = std::nullopt) {
  ChainTxRecord tx;
  auto id = random_bytes(32);
  std::copy(id.begin(), id.end(), tx.txid.begin());
  tx.purpose = energy::chain_tx_purpose::kLeaseDelegate;
  tx.owner_ref = owner_ref;
  tx.pool_id = pool_id;
  tx.signed_bytes = random_bytes(180);
  tx.signed_bytes[0] = 0x0a;  // whatever the bytes, they come back exactly
  tx.signed_bytes[1] = 0x00;
  tx.expiration_ms = 1'700'000'060'123;
  // Ignored by record_signed:
  tx.state = ChainTxState::kIncluded;
  tx.broadcast_attempts = 9;
  tx.error_code = "x";
  return tx;
}

std::string unique_owner(const std::string& prefix) {
  return prefix + ":" + common::to_hex(random_bytes(6));
}

template <typename T>
std::string code_of(const common::Result<T>& result) {
  return result.ok() ? "ok" : result.error().code;
}

class ChainTxJournalPgTest : public testing::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    journal_ = std::make_unique<PgChainTxJournal>(db());
  }

  ChainTxRecord recorded(const std::string& owner_ref,
                         std::optional<int64_t> pool_id = std::nullopt) {
    auto r = journal_->record_signed(new_tx(owner_ref, pool_id));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ChainTxRecord{};
  }

  int64_t new_pool() {
    PgTenantRepository tenants(db());
    PgPoolRepository pools(db());
    auto tenant = tenants.create("chain-tx-test");
    EXPECT_TRUE(tenant.ok());
    energy::NewPool p;
    p.tenant_id = tenant->id;
    auto id20 = random_bytes(20);
    p.address = common::Address::from_id20(id20);
    p.kind = energy::PoolKind::kOwn;
    p.name = "pool";
    auto pool = pools.create(p);
    EXPECT_TRUE(pool.ok()) << pool.error().message;
    return pool.ok() ? pool->id : 0;
  }

  std::unique_ptr<PgChainTxJournal> journal_;
};

TEST_F(ChainTxJournalPgTest, RecordSignedKeepsExactlyWhatWasSigned) {
  const int64_t pool = new_pool();
  const ChainTxRecord tx = new_tx("lease:1", pool);
  auto r = journal_->record_signed(tx);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->id, 0);
  EXPECT_EQ(r->txid, tx.txid);
  EXPECT_EQ(r->purpose, "lease_delegate");
  EXPECT_EQ(r->owner_ref, "lease:1");
  EXPECT_EQ(r->pool_id, pool);
  EXPECT_EQ(r->signed_bytes, tx.signed_bytes);
  EXPECT_EQ(r->expiration_ms, 1'700'000'060'123);
  EXPECT_EQ(r->state, ChainTxState::kSigned);
  EXPECT_EQ(r->broadcast_attempts, 0);
  EXPECT_FALSE(r->last_broadcast_at);
  EXPECT_FALSE(r->inclusion);
  EXPECT_EQ(r->error_code, "");
  EXPECT_EQ(r->created_at, r->updated_at);

  auto by_id = journal_->find(r->id);
  ASSERT_TRUE(by_id.ok() && *by_id);
  EXPECT_EQ((*by_id)->signed_bytes, tx.signed_bytes);
  auto by_txid = journal_->find_by_txid(tx.txid);
  ASSERT_TRUE(by_txid.ok() && *by_txid);
  EXPECT_EQ((*by_txid)->id, r->id);
  EXPECT_FALSE(*journal_->find(r->id + 1'000'000));
  EXPECT_FALSE(*journal_->find_by_txid(new_tx("x").txid));

  // Without a pool, and with an empty owner.
  auto bare = journal_->record_signed(new_tx(""));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->pool_id);
  EXPECT_EQ(bare->owner_ref, "");
}

TEST_F(ChainTxJournalPgTest, RecordSignedRefusesDuplicatesAndBadInput) {
  const ChainTxRecord tx = new_tx("lease:2");
  ASSERT_TRUE(journal_->record_signed(tx).ok());
  EXPECT_EQ(code_of(journal_->record_signed(tx)), "conflict");
  ChainTxRecord other = new_tx("lease:3");
  other.txid = tx.txid;
  EXPECT_EQ(code_of(journal_->record_signed(other)), "conflict");

  ChainTxRecord no_purpose = new_tx("lease:2");
  no_purpose.purpose = "";
  EXPECT_EQ(code_of(journal_->record_signed(no_purpose)), "invalid_request");
  ChainTxRecord no_bytes = new_tx("lease:2");
  no_bytes.signed_bytes.clear();
  EXPECT_EQ(code_of(journal_->record_signed(no_bytes)), "invalid_request");
  EXPECT_EQ(code_of(journal_->record_signed(new_tx("lease:2", 999'999'999))), "not_found");
}

TEST_F(ChainTxJournalPgTest, BroadcastAttemptsCountAndProblemsAreNoted) {
  const ChainTxRecord tx = recorded("lease:4");
  auto problem = journal_->note_broadcast_problem(tx.id, kT0, "upstream_failed", "reset");
  ASSERT_TRUE(problem.ok()) << problem.error().message;
  EXPECT_EQ(problem->state, ChainTxState::kSigned);
  EXPECT_EQ(problem->broadcast_attempts, 1);
  EXPECT_EQ(problem->last_broadcast_at, kT0);
  EXPECT_EQ(problem->error_code, "upstream_failed");
  EXPECT_EQ(problem->error_message, "reset");

  auto sent = journal_->mark_broadcast(tx.id, kT0 + seconds(3));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->state, ChainTxState::kBroadcast);
  EXPECT_EQ(sent->broadcast_attempts, 2);
  EXPECT_EQ(sent->last_broadcast_at, kT0 + seconds(3));
  EXPECT_EQ(sent->error_code, "upstream_failed");  // kept until settled

  // An earlier time (a slower racing caller) does not move last_broadcast_at back.
  auto late = journal_->mark_broadcast(tx.id, kT0 + seconds(1));
  EXPECT_EQ(late->broadcast_attempts, 3);
  EXPECT_EQ(late->last_broadcast_at, kT0 + seconds(3));
  // A refused rebroadcast keeps the state.
  auto refused = journal_->note_broadcast_problem(tx.id, kT0 + seconds(9), "SIGERROR", "bad sig");
  EXPECT_EQ(refused->state, ChainTxState::kBroadcast);
  EXPECT_EQ(refused->error_code, "SIGERROR");
  EXPECT_EQ(refused->broadcast_attempts, 4);

  EXPECT_EQ(code_of(journal_->note_broadcast_problem(tx.id, kT0, "", "x")), "invalid_request");
  EXPECT_EQ(code_of(journal_->mark_broadcast(999'999'999, kT0)), "not_found");
  EXPECT_EQ(code_of(journal_->note_broadcast_problem(999'999'999, kT0, "a", "b")), "not_found");
}

TEST_F(ChainTxJournalPgTest, IncludedIsFinalAndRepeatsAreNoOps) {
  const ChainTxRecord tx = recorded("lease:5");
  ASSERT_TRUE(journal_->note_broadcast_problem(tx.id, kT0, "upstream_failed", "reset").ok());
  ASSERT_TRUE(journal_->mark_broadcast(tx.id, kT0).ok());
  const ChainTxInclusion block{.block_number = 77'123'456,
                               .block_time_ms = 1'700'000'003'000,
                               .receipt_result = "SUCCESS",
                               .fee_sun = 268'000};
  auto included = journal_->mark_included(tx.id, block);
  ASSERT_TRUE(included.ok()) << included.error().message;
  EXPECT_EQ(included->state, ChainTxState::kIncluded);
  EXPECT_EQ(included->inclusion, block);
  EXPECT_EQ(included->error_code, "");
  EXPECT_EQ(included->error_message, "");

  auto again = journal_->mark_included(tx.id, block);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->updated_at, included->updated_at);
  ChainTxInclusion elsewhere = block;
  elsewhere.block_number += 1;
  EXPECT_EQ(code_of(journal_->mark_included(tx.id, elsewhere)), "conflict");
  EXPECT_EQ(code_of(journal_->mark_failed(tx.id, "FAILED", "", std::nullopt)), "conflict");
  EXPECT_EQ(code_of(journal_->mark_expired(tx.id)), "conflict");
  // Attempts on a settled tx leave it as it is.
  auto late = journal_->mark_broadcast(tx.id, kT0 + seconds(60));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->state, ChainTxState::kIncluded);
  EXPECT_EQ(late->broadcast_attempts, 2);
  auto noted = journal_->note_broadcast_problem(tx.id, kT0 + seconds(60), "x", "y");
  EXPECT_EQ(noted->error_code, "");

  ChainTxInclusion negative = block;
  negative.fee_sun = -1;
  EXPECT_EQ(code_of(journal_->mark_included(tx.id, negative)), "invalid_request");
  EXPECT_EQ(code_of(journal_->mark_included(999'999'999, block)), "not_found");
}

TEST_F(ChainTxJournalPgTest, FailedOnBroadcastOrInABlock) {
  const ChainTxRecord refused = recorded("lease:6");
  auto failed =
      journal_->mark_failed(refused.id, "CONTRACT_VALIDATE_ERROR", "no stake", std::nullopt);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_EQ(failed->state, ChainTxState::kFailed);
  EXPECT_EQ(failed->error_code, "CONTRACT_VALIDATE_ERROR");
  EXPECT_EQ(failed->error_message, "no stake");
  EXPECT_FALSE(failed->inclusion);
  EXPECT_TRUE(journal_->mark_failed(refused.id, "CONTRACT_VALIDATE_ERROR", "", std::nullopt).ok());
  EXPECT_EQ(
      code_of(journal_->mark_included(
          refused.id, {.block_number = 1, .block_time_ms = 1, .receipt_result = "", .fee_sun = 0})),
      "conflict");
  EXPECT_EQ(code_of(journal_->mark_expired(refused.id)), "conflict");

  const ChainTxRecord reverted = recorded("lease:6");
  ASSERT_TRUE(journal_->mark_broadcast(reverted.id, kT0).ok());
  const ChainTxInclusion block{.block_number = 5,
                               .block_time_ms = 1'700'000'006'000,
                               .receipt_result = "REVERT",
                               .fee_sun = 1'234};
  auto in_block = journal_->mark_failed(reverted.id, "REVERT", "", block);
  ASSERT_TRUE(in_block.ok());
  EXPECT_EQ(in_block->inclusion, block);
  EXPECT_EQ(code_of(journal_->mark_failed(reverted.id, "", "", std::nullopt)), "invalid_request");
}

TEST_F(ChainTxJournalPgTest, ExpiredKeepsTheLastProblem) {
  const ChainTxRecord tx = recorded("lease:7");
  ASSERT_TRUE(
      journal_->note_broadcast_problem(tx.id, kT0, "TAPOS_ERROR", "Tapos check error").ok());
  auto expired = journal_->mark_expired(tx.id);
  ASSERT_TRUE(expired.ok()) << expired.error().message;
  EXPECT_EQ(expired->state, ChainTxState::kExpired);
  EXPECT_EQ(expired->error_code, "TAPOS_ERROR");
  EXPECT_FALSE(expired->inclusion);
  EXPECT_TRUE(journal_->mark_expired(tx.id).ok());
  EXPECT_EQ(
      code_of(journal_->mark_included(
          tx.id, {.block_number = 1, .block_time_ms = 1, .receipt_result = "", .fee_sun = 0})),
      "conflict");
  EXPECT_EQ(code_of(journal_->mark_expired(999'999'999)), "not_found");
}

TEST_F(ChainTxJournalPgTest, ListsByOwnerAndUnresolvedOldestFirst) {
  // list_unresolved sees every tx in the database: this test gets one of its own.
  const std::string own = fresh_database_url();
  {
    pqxx::connection conn(own);
    ASSERT_TRUE(migrations::Migrator().apply(conn).ok());
  }
  auto db = Database::open(own, 2);
  ASSERT_TRUE(db.ok());
  PgChainTxJournal journal(**db);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = journal.record_signed(new_tx(i % 2 == 0 ? "lease:even" : "lease:odd"));
    ASSERT_TRUE(r.ok());
    ids.push_back(r->id);
  }
  ASSERT_TRUE(journal.mark_broadcast(ids[1], kT0).ok());
  ASSERT_TRUE(journal.mark_expired(ids[2]).ok());
  ASSERT_TRUE(journal
                  .mark_included(ids[0], {.block_number = 9,
                                          .block_time_ms = 1'700'000'000'000,
                                          .receipt_result = "",
                                          .fee_sun = 0})
                  .ok());

  auto unresolved = journal.list_unresolved(10);
  ASSERT_TRUE(unresolved.ok());
  ASSERT_EQ(unresolved->size(), 3u);
  EXPECT_EQ((*unresolved)[0].id, ids[1]);
  EXPECT_EQ((*unresolved)[0].state, ChainTxState::kBroadcast);
  EXPECT_EQ((*unresolved)[1].id, ids[3]);
  EXPECT_EQ((*unresolved)[2].id, ids[4]);
  auto first = journal.list_unresolved(1);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].id, ids[1]);
  EXPECT_EQ(code_of(journal.list_unresolved(0)), "invalid_request");

  auto even = journal.list_by_owner("lease:even");
  ASSERT_TRUE(even.ok());
  ASSERT_EQ(even->size(), 3u);
  EXPECT_EQ((*even)[0].id, ids[0]);
  EXPECT_EQ((*even)[0].state, ChainTxState::kIncluded);
  EXPECT_EQ((*even)[1].id, ids[2]);
  EXPECT_EQ((*even)[2].id, ids[4]);
  EXPECT_TRUE(journal.list_by_owner("lease:none")->empty());
}

TEST_F(ChainTxJournalPgTest, ConcurrentAttemptsAreAllCountedAndSettlingIsIdempotent) {
  auto own = Database::open(url(), 8);  // one connection per thread: they really race
  ASSERT_TRUE(own.ok());
  PgChainTxJournal journal(**own);
  const ChainTxRecord tx = recorded(unique_owner("lease"));
  const ChainTxInclusion block{
      .block_number = 42, .block_time_ms = 1'700'000'042'000, .receipt_result = "", .fee_sun = 0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) {
        if (!journal.mark_broadcast(tx.id, kT0 + milliseconds(i * 10 + k)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*journal.find(tx.id))->broadcast_attempts, 80);
  EXPECT_EQ((*journal.find(tx.id))->last_broadcast_at, kT0 + milliseconds(79));

  threads.clear();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (!journal.mark_included(tx.id, block).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*journal.find(tx.id))->state, ChainTxState::kIncluded);
}

TEST_F(ChainTxJournalPgTest, TheTableRefusesRewritingHistory) {
  const ChainTxRecord settled = recorded("lease:8");
  ASSERT_TRUE(journal_->mark_broadcast(settled.id, kT0).ok());
  ASSERT_TRUE(journal_->mark_expired(settled.id).ok());
  const ChainTxRecord open = recorded("lease:8");
  ASSERT_TRUE(journal_->mark_broadcast(open.id, kT0).ok());

  const std::string of_s = " WHERE id = " + std::to_string(settled.id);
  const std::string of_o = " WHERE id = " + std::to_string(open.id);
  for (const std::string& sql :
       {"UPDATE chain_txs SET state = 'broadcast'" + of_s,
        "UPDATE chain_txs SET error_message = 'edited'" + of_s,
        "UPDATE chain_txs SET state = 'signed'" + of_o,
        "UPDATE chain_txs SET signed_bytes = '\\x00'" + of_o,
        "UPDATE chain_txs SET txid = decode(repeat('ab', 32), 'hex')" + of_o,
        "UPDATE chain_txs SET expiration = expiration + interval '1 hour'" + of_o,
        "UPDATE chain_txs SET owner_ref = 'lease:9'" + of_o,
        "UPDATE chain_txs SET broadcast_attempts = 0" + of_o, "DELETE FROM chain_txs" + of_o,
        std::string("TRUNCATE chain_txs CASCADE"),
        // The CHECKs: no inclusion without a block, no failure without a code.
        "UPDATE chain_txs SET state = 'included'" + of_o,
        "UPDATE chain_txs SET state = 'failed'" + of_o,
        std::string("INSERT INTO chain_txs (txid, purpose, signed_bytes, expiration) VALUES "
                    "(decode(repeat('cd', 31), 'hex'), 'x', '\\x01', now())"),
        std::string("INSERT INTO chain_txs (txid, purpose, signed_bytes, expiration) VALUES "
                    "(decode(repeat('cd', 32), 'hex'), '', '\\x01', now())")}) {
    std::string error;
    try {
      scalar(sql);
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_TRUE(error.find("update refused") != std::string::npos ||
                error.find("is append-only") != std::string::npos ||
                error.find("violates check constraint") != std::string::npos)
        << sql << "\n  -> " << (error.empty() ? "accepted" : error);
  }
  EXPECT_EQ((*journal_->find(settled.id))->state, ChainTxState::kExpired);
  EXPECT_EQ((*journal_->find(open.id))->signed_bytes, open.signed_bytes);
}

}  // namespace
}  // namespace relay::store
