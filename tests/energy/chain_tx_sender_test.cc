#include "energy/chain_tx_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "chain/builders.h"
#include "common/fault_point.h"
#include "signer/signer.h"
#include "tests/support/fake_chain_tx_journal.h"
#include "tests/support/fake_tron_node.h"

namespace relay::energy {
namespace {

using chain::Transaction;
using common::Address;
using common::Sun;
using relay::testing::FakeChainTxJournal;
using relay::testing::FakeTronNode;
using relay::testing::make_account;
using signer::SecretKey;
using std::chrono::milliseconds;
using std::chrono::seconds;

const char* kRelayerKey = "1111111111111111111111111111111111111111111111111111111111111111";
const char* kOwnKey = "3333333333333333333333333333333333333333333333333333333333333333";
const char* kStrangerKey = "4444444444444444444444444444444444444444444444444444444444444444";

Address address_of(const char* key) { return *signer::address_of(*SecretKey::from_hex(key)); }

const Address kOwnPool = address_of(kOwnKey);
const Address kStranger = address_of(kStrangerKey);
const Address kReceiver = *Address::parse("TPX6HK2NRN4XKRX1JAhbC827bm7gMmy5w1");

constexpr int64_t kTrx = 1'000'000;
constexpr int64_t kPoolId = 3;
constexpr int64_t kExpiresIn = 60'000;  // after the head block, like java-tron's default

template <typename T>
std::string code_of(const common::Result<T>& result) {
  return result.ok() ? "ok" : result.error().code;
}
template <typename T>
std::string message_of(const common::Result<T>& result) {
  return result.ok() ? "" : result.error().message;
}

// Public: the failure-point test builds a fresh one per run.
class ChainTxSenderTest : public ::testing::Test {
 public:
  ChainTxSenderTest() {
    node.put_account(make_account(kOwnPool, 300 * kTrx, 2000 * kTrx));
    node.put_account(make_account(kStranger, 300 * kTrx, 2000 * kTrx));
    EXPECT_TRUE(signers->add_owner_key(*SecretKey::from_hex(kOwnKey)).ok());
    EXPECT_TRUE(signers->admit_pool(kOwnPool, 0).ok());
  }

  // An unsigned DelegateResource of `sun` from `owner`, referencing the fake's head block.
  Transaction delegate_tx(int64_t sun = 10 * kTrx, const Address& owner = kOwnPool) {
    chain::TxHeader header;
    auto head = node.head();
    header.tapos = *chain::TaposRef::from_block(head.number, head.id);
    header.expiration_ms = head.timestamp_ms + kExpiresIn;
    header.timestamp_ms = clock.now_ms() + (++built_);  // distinct txids for equal requests
    return *chain::build_delegate_resource(header, owner, kReceiver, Sun(sun), protocol::ENERGY);
  }

  common::Result<SubmitResult> submit(Transaction tx) {
    return sender.submit(chain_tx_purpose::kLeaseDelegate, "lease:42", kPoolId, std::move(tx));
  }

  ChainTxRecord stored(int64_t id) { return **journal.find(id); }
  int64_t delegated_sun() { return node.get_account(kOwnPool)->delegated_energy_sun; }
  // Moves the head past a record's expiration without mining anything.
  void pass_expiration(const ChainTxRecord& record) {
    auto head = node.head();
    node.set_head(head.number + 21, record.expiration_ms);
  }

  common::ManualClock clock = common::ManualClock::at_ms(1'700'000'000'000);
  FakeTronNode node;
  FakeChainTxJournal journal{clock};
  std::unique_ptr<signer::PoolSigners> signers =
      std::move(*signer::PoolSigners::create(*SecretKey::from_hex(kRelayerKey)));
  int sleeps = 0;
  std::function<void()> on_sleep;  // what the chain does while wait_included sleeps
  ChainTxSender sender{journal,
                       node,
                       *signers,
                       clock,
                       ChainTxSenderOptions{.rebroadcast_after = milliseconds(6'000),
                                            .poll_interval = milliseconds(3'000),
                                            .expiry_grace = milliseconds(0)},
                       [this](milliseconds d) {
                         ++sleeps;
                         clock.advance(d);
                         if (on_sleep) on_sleep();
                       }};
  int built_ = 0;
};

// --- submit ------------------------------------------------------------------------------------

TEST_F(ChainTxSenderTest, SubmitSignsWritesAheadThenBroadcastsTheJournaledBytes) {
  Transaction tx = delegate_tx();
  // At the moment the node sees the bytes, they are already journaled as signed.
  std::optional<ChainTxState> state_at_broadcast;
  node.set_call_hook([&](const std::string& method) -> std::optional<common::Error> {
    if (method == "broadcast") {
      auto all = journal.all();
      if (all.size() == 1) state_at_broadcast = all[0].state;
    }
    return std::nullopt;
  });

  auto sent = submit(tx);
  ASSERT_TRUE(sent.ok()) << message_of(sent);
  EXPECT_FALSE(sent->pending);
  EXPECT_EQ(state_at_broadcast, ChainTxState::kSigned);

  const ChainTxRecord& r = sent->record;
  EXPECT_EQ(r.state, ChainTxState::kBroadcast);
  EXPECT_EQ(r.broadcast_attempts, 1);
  EXPECT_EQ(r.last_broadcast_at, clock.now());
  EXPECT_EQ(r.txid, tx.txid());
  EXPECT_EQ(r.purpose, "lease_delegate");
  EXPECT_EQ(r.owner_ref, "lease:42");
  EXPECT_EQ(r.pool_id, kPoolId);
  EXPECT_EQ(r.expiration_ms, tx.raw().expiration());
  ASSERT_EQ(node.sent_bytes().size(), 1u);
  EXPECT_EQ(node.sent_bytes()[0], r.signed_bytes);
  auto decoded = Transaction::decode_signed(r.signed_bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->raw_bytes(), tx.raw_bytes());
  EXPECT_EQ(decoded->signatures().size(), 1u);

  node.mine();
  auto resolved = sender.resolve(r, clock.now());
  ASSERT_TRUE(resolved.ok()) << message_of(resolved);
  EXPECT_EQ(resolved->state, ChainTxState::kIncluded);
  ASSERT_TRUE(resolved->inclusion);
  EXPECT_EQ(resolved->inclusion->block_number, node.head().number);
  EXPECT_EQ(resolved->inclusion->block_time_ms, node.head().timestamp_ms);
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
  EXPECT_EQ(journal.list_by_owner("lease:42")->size(), 1u);
}

TEST_F(ChainTxSenderTest, SignerRefusalRecordsAndSendsNothing) {
  auto sent = submit(delegate_tx(10 * kTrx, kStranger));  // no key for this pool
  EXPECT_EQ(code_of(sent), "policy_refused");
  EXPECT_TRUE(journal.all().empty());
  EXPECT_EQ(node.calls("broadcast"), 0);
}

TEST_F(ChainTxSenderTest, EmptyPurposeIsRefusedBeforeSigning) {
  auto sent = sender.submit("", "lease:1", kPoolId, delegate_tx());
  EXPECT_EQ(code_of(sent), "invalid_request");
  EXPECT_TRUE(journal.all().empty());
}

TEST_F(ChainTxSenderTest, WriteAheadFailureSendsNothing) {
  journal.failures.fail_next(common::make_error("store_unavailable", "database unavailable"));
  auto sent = submit(delegate_tx());
  EXPECT_EQ(code_of(sent), "store_unavailable");
  EXPECT_TRUE(journal.all().empty());
  EXPECT_EQ(node.calls("broadcast"), 0);
}

TEST_F(ChainTxSenderTest, TheSameTxTwiceIsAConflictNotASecondBroadcast) {
  Transaction tx = delegate_tx();
  ASSERT_TRUE(submit(tx).ok());
  EXPECT_EQ(code_of(submit(tx)), "conflict");
  EXPECT_EQ(node.calls("broadcast"), 1);
}

TEST_F(ChainTxSenderTest, DefinitiveRefusalsFailTheTxAndNameTheCode) {
  for (const char* code :
       {"SIGERROR", "CONTRACT_VALIDATE_ERROR", "CONTRACT_EXE_ERROR", "BANDWITH_ERROR",
        "TAPOS_ERROR", "TOO_BIG_TRANSACTION_ERROR", "TRANSACTION_EXPIRATION_ERROR"}) {
    SCOPED_TRACE(code);
    node.script_broadcast({.accepted = false,
                           .duplicate = false,
                           .code = code,
                           .message = "refused for a reason",
                           .txid = {}});
    auto sent = submit(delegate_tx());
    ASSERT_EQ(code_of(sent), "broadcast_rejected");
    EXPECT_THAT(message_of(sent), ::testing::StartsWith(std::string(code) + ": refused"));
    const ChainTxRecord r = journal.all().back();
    EXPECT_THAT(message_of(sent), ::testing::HasSubstr("chain tx " + std::to_string(r.id)));
    EXPECT_EQ(r.state, ChainTxState::kFailed);
    EXPECT_EQ(r.error_code, code);
    EXPECT_EQ(r.error_message, "refused for a reason");
    EXPECT_FALSE(r.inclusion);
    // Settled: nothing more is asked of the chain.
    const int calls = node.calls("transaction_info");
    EXPECT_EQ(sender.resolve(r, clock.now())->state, ChainTxState::kFailed);
    EXPECT_EQ(node.calls("transaction_info"), calls);
  }
}

TEST_F(ChainTxSenderTest, RealSignatureRefusalFromTheNode) {
  // The pool's account on chain no longer lets the owner key sign: the node answers SIGERROR.
  node.update_account(kOwnPool, [](chain::AccountInfo& a) {
    a.permissions.owner.mutable_keys(0)->set_address(kStranger.proto_bytes());
  });
  auto sent = submit(delegate_tx());
  EXPECT_EQ(code_of(sent), "broadcast_rejected");
  EXPECT_THAT(message_of(sent), ::testing::StartsWith("SIGERROR: "));
  EXPECT_EQ(journal.all().back().state, ChainTxState::kFailed);
}

TEST_F(ChainTxSenderTest, OpenRefusalsLeaveTheTxPending) {
  for (const char* code : {"SERVER_BUSY", "NO_CONNECTION", "NOT_ENOUGH_EFFECTIVE_CONNECTION",
                           "BLOCK_UNSOLIDIFIED", "OTHER_ERROR", "SOMETHING_NEW"}) {
    SCOPED_TRACE(code);
    node.script_broadcast(
        {.accepted = false, .duplicate = false, .code = code, .message = "later", .txid = {}});
    auto sent = submit(delegate_tx());
    ASSERT_TRUE(sent.ok()) << message_of(sent);
    EXPECT_TRUE(sent->pending);
    EXPECT_EQ(sent->record.state, ChainTxState::kSigned);
    EXPECT_EQ(sent->record.error_code, code);
    EXPECT_EQ(sent->record.broadcast_attempts, 1);

    auto resolved = sender.resolve(sent->record, clock.now());  // sent again: accepted now
    ASSERT_TRUE(resolved.ok()) << message_of(resolved);
    EXPECT_EQ(resolved->state, ChainTxState::kBroadcast);
    EXPECT_EQ(resolved->broadcast_attempts, 2);
    node.mine();
    EXPECT_EQ(sender.resolve(*resolved, clock.now())->state, ChainTxState::kIncluded);
  }
}

TEST_F(ChainTxSenderTest, DuplicateIsAccepted) {
  node.script_broadcast({.accepted = true,
                         .duplicate = true,
                         .code = "DUP_TRANSACTION_ERROR",
                         .message = "dup trans",
                         .txid = {}});
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent.ok()) << message_of(sent);
  EXPECT_FALSE(sent->pending);
  EXPECT_EQ(sent->record.state, ChainTxState::kBroadcast);
}

TEST_F(ChainTxSenderTest, TransportFailureStaysSignedAndResolveSendsTheSameBytesWithoutSigning) {
  node.fail_next("broadcast", common::make_error("upstream_failed", "connection reset"));
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent.ok()) << message_of(sent);
  EXPECT_TRUE(sent->pending);
  EXPECT_EQ(sent->record.state, ChainTxState::kSigned);
  EXPECT_EQ(sent->record.broadcast_attempts, 1);
  EXPECT_EQ(sent->record.error_code, "upstream_failed");
  EXPECT_EQ(sent->record.error_message, "connection reset");

  // Nothing may be signed for the pool any more: a rebroadcast does not need to.
  signers->revoke_pool(kOwnPool);
  auto resolved = sender.resolve(sent->record, clock.now());
  ASSERT_TRUE(resolved.ok()) << message_of(resolved);
  EXPECT_EQ(resolved->state, ChainTxState::kBroadcast);
  EXPECT_EQ(resolved->broadcast_attempts, 2);
  ASSERT_EQ(node.sent_bytes().size(), 1u);  // the failed call never reached the node
  EXPECT_EQ(node.sent_bytes()[0], sent->record.signed_bytes);

  node.mine();
  auto included = sender.resolve(*resolved, clock.now());
  EXPECT_EQ(included->state, ChainTxState::kIncluded);
  EXPECT_EQ(included->error_code, "");  // the transient problem is history
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
}

TEST_F(ChainTxSenderTest, LostAnswerIsFoundInTheBlockWithoutABroadcast) {
  node.lose_next_broadcast_answer(common::make_error("upstream_failed", "timeout"));
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent.ok());
  EXPECT_TRUE(sent->pending);
  node.mine();
  auto resolved = sender.resolve(sent->record, clock.now());
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state, ChainTxState::kIncluded);
  EXPECT_EQ(node.calls("broadcast"), 1);
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
}

TEST_F(ChainTxSenderTest, LostAnswerThenRebroadcastIsADuplicateAndLandsOnce) {
  node.lose_next_broadcast_answer(common::make_error("upstream_failed", "timeout"));
  auto sent = submit(delegate_tx());
  auto resolved = sender.resolve(sent->record, clock.now());
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state, ChainTxState::kBroadcast);  // DUP_TRANSACTION_ERROR
  node.mine();
  EXPECT_EQ(sender.resolve(*resolved, clock.now())->state, ChainTxState::kIncluded);
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
}

TEST_F(ChainTxSenderTest, DroppedBroadcastIsSentAgainOnlyAfterRebroadcastAfter) {
  node.drop_broadcasts(1);
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent.ok());
  EXPECT_FALSE(sent->pending);
  node.mine();

  clock.advance(milliseconds(5'999));
  auto waiting = sender.resolve(sent->record, clock.now());
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->state, ChainTxState::kBroadcast);
  EXPECT_EQ(node.calls("broadcast"), 1);  // accepted a moment ago: wait for a block

  clock.advance(milliseconds(1));
  auto again = sender.resolve(*waiting, clock.now());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->broadcast_attempts, 2);
  EXPECT_EQ(again->last_broadcast_at, clock.now());
  ASSERT_EQ(node.sent_bytes().size(), 2u);
  EXPECT_EQ(node.sent_bytes()[1], node.sent_bytes()[0]);
  node.mine();
  EXPECT_EQ(sender.resolve(*again, clock.now())->state, ChainTxState::kIncluded);
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
}

TEST_F(ChainTxSenderTest, UnknownAndExpiredBecomesExpiredWithoutABroadcast) {
  node.drop_broadcasts(1);
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent.ok());
  const ChainTxRecord r = sent->record;

  // One millisecond before: still admissible, so it is sent again.
  node.set_head(node.head().number + 19, r.expiration_ms - 1);
  node.drop_broadcasts(1);
  clock.advance(seconds(57));
  auto before = sender.resolve(r, clock.now());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->state, ChainTxState::kBroadcast);
  EXPECT_EQ(node.calls("broadcast"), 2);

  // At the expiration: no later block can take it.
  pass_expiration(r);
  clock.advance(seconds(6));
  auto expired = sender.resolve(*before, clock.now());
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state, ChainTxState::kExpired);
  EXPECT_EQ(node.calls("broadcast"), 2);
  EXPECT_EQ(delegated_sun(), 0);
}

TEST_F(ChainTxSenderTest, ExpiryWaitsForTheGraceOfLaggingNodes) {
  ChainTxSender patient(journal, node, *signers, clock,
                        ChainTxSenderOptions{.rebroadcast_after = milliseconds(6'000),
                                             .poll_interval = milliseconds(3'000),
                                             .expiry_grace = milliseconds(6'000)});
  node.drop_broadcasts(2);
  auto sent = patient.submit("pool_stake", "pool:3", kPoolId, delegate_tx());
  ASSERT_TRUE(sent.ok());
  node.set_head(node.head().number + 22, sent->record.expiration_ms + 5'999);
  clock.advance(seconds(66));
  EXPECT_EQ(patient.resolve(sent->record, clock.now())->state, ChainTxState::kBroadcast);
  node.set_head(node.head().number + 1, sent->record.expiration_ms + 6'000);
  EXPECT_EQ(patient.resolve(sent->record, clock.now())->state, ChainTxState::kExpired);
  EXPECT_EQ(ChainTxSenderOptions{}.expiry_grace, milliseconds(6'000));
}

TEST_F(ChainTxSenderTest, IncludedInTheLastBlockBeforeExpiryIsIncludedNotExpired) {
  auto sent = submit(delegate_tx());
  node.mine();
  pass_expiration(sent->record);
  EXPECT_EQ(sender.resolve(sent->record, clock.now())->state, ChainTxState::kIncluded);
}

TEST_F(ChainTxSenderTest, RefusedRebroadcastSettlesNothingUntilTheExpiration) {
  node.fail_next("broadcast", common::make_error("upstream_failed", "connection reset"));
  auto sent = submit(delegate_tx());
  ASSERT_TRUE(sent->pending);
  node.script_broadcast({.accepted = false,
                         .duplicate = false,
                         .code = "CONTRACT_VALIDATE_ERROR",
                         .message = "delegateBalance must be less than available",
                         .txid = {}});
  // The first broadcast may have reached a node before its answer was lost: a refusal now does
  // not prove the tx is nowhere.
  auto refused = sender.resolve(sent->record, clock.now());
  ASSERT_TRUE(refused.ok()) << message_of(refused);
  EXPECT_EQ(refused->state, ChainTxState::kSigned);
  EXPECT_EQ(refused->broadcast_attempts, 2);
  EXPECT_EQ(refused->error_code, "CONTRACT_VALIDATE_ERROR");

  pass_expiration(sent->record);
  auto expired = sender.resolve(*refused, clock.now());
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state, ChainTxState::kExpired);
  EXPECT_EQ(expired->error_code, "CONTRACT_VALIDATE_ERROR");  // the likely reason, kept
}

TEST_F(ChainTxSenderTest, FailedInsideABlockIsFailedWithItsBlock) {
  struct Case {
    bool failed;
    std::string receipt;
    ChainTxState want;
    std::string code;
  };
  for (const Case& c : {Case{true, "", ChainTxState::kFailed, "FAILED"},
                        Case{true, "REVERT", ChainTxState::kFailed, "REVERT"},
                        Case{false, "OUT_OF_ENERGY", ChainTxState::kFailed, "OUT_OF_ENERGY"},
                        Case{false, "SUCCESS", ChainTxState::kIncluded, ""},
                        Case{false, "", ChainTxState::kIncluded, ""}}) {
    SCOPED_TRACE(c.receipt);
    node.drop_broadcasts(1);
    auto sent = submit(delegate_tx());
    ASSERT_TRUE(sent.ok());
    chain::TransactionInfo info;
    info.txid = sent->record.txid;
    info.block_number = 1234;
    info.block_timestamp_ms = 1'700'000'003'000;
    info.fee_sun = 345'000;
    info.failed = c.failed;
    info.receipt_result = c.receipt;
    info.message = c.failed ? "validate failed" : "";
    node.set_transaction_info(info);
    auto resolved = sender.resolve(sent->record, clock.now());
    ASSERT_TRUE(resolved.ok()) << message_of(resolved);
    EXPECT_EQ(resolved->state, c.want);
    EXPECT_EQ(resolved->error_code, c.code);
    ASSERT_TRUE(resolved->inclusion);
    EXPECT_EQ(resolved->inclusion->block_number, 1234);
    EXPECT_EQ(resolved->inclusion->block_time_ms, 1'700'000'003'000);
    EXPECT_EQ(resolved->inclusion->fee_sun, 345'000);
    EXPECT_EQ(resolved->inclusion->receipt_result, c.receipt);
  }
}

TEST_F(ChainTxSenderTest, ChainReadFailuresLeaveTheTxAsItWas) {
  auto sent = submit(delegate_tx());
  for (const char* method : {"now_block", "transaction_info"}) {
    SCOPED_TRACE(method);
    node.fail_next(method, common::make_error("upstream_failed", "503"));
    EXPECT_EQ(code_of(sender.resolve(sent->record, clock.now())), "upstream_failed");
    EXPECT_EQ(stored(sent->record.id).state, ChainTxState::kBroadcast);
  }
  // A rebroadcast that cannot reach the node is an error too, and noted.
  node.drop_broadcasts(0);
  clock.advance(seconds(10));
  node.fail_next("broadcast", common::make_error("upstream_failed", "connection refused"));
  EXPECT_EQ(code_of(sender.resolve(stored(sent->record.id), clock.now())), "upstream_failed");
  EXPECT_EQ(stored(sent->record.id).state, ChainTxState::kBroadcast);
  EXPECT_EQ(stored(sent->record.id).broadcast_attempts, 2);
  EXPECT_EQ(stored(sent->record.id).error_code, "upstream_failed");
}

// --- every failure point -----------------------------------------------------------------------

// Fails the N-th call made to the chain or the journal (one counter across both), for N = 1, 2, …
// until a run makes fewer calls than N. Whatever failed, once the failure is gone the sweeper
// settles everything, and the delegation is on chain exactly once or not at all.
TEST_F(ChainTxSenderTest, EveryFailingCallEndsSettledAndOnChainAtMostOnce) {
  for (int n = 1;; ++n) {
    SCOPED_TRACE("failing call " + std::to_string(n));
    struct Run : ChainTxSenderTest {
      void TestBody() override {}
    } run;  // a fresh chain, journal and sender per N
    int calls = 0;
    std::string failed_method;
    auto hook = [&](const std::string& method) -> std::optional<common::Error> {
      if (++calls != n) return std::nullopt;
      failed_method = method;
      return common::make_error("upstream_failed", "injected failure of " + method);
    };
    run.node.set_call_hook(hook);
    run.journal.call_hook = hook;

    auto sent = run.submit(run.delegate_tx());
    (void)run.sender.resolve_unresolved(100);
    run.node.mine();
    run.clock.advance(seconds(6));
    (void)run.sender.resolve_unresolved(100);
    const bool failed_something = !failed_method.empty();

    run.node.set_call_hook({});
    run.journal.call_hook = {};
    for (int round = 0; round < 3; ++round) {
      auto report = run.sender.resolve_unresolved(100);
      ASSERT_TRUE(report.ok());
      run.node.mine();
      run.clock.advance(seconds(6));
    }

    const auto all = run.journal.all();
    if (failed_method == "record_signed") {
      EXPECT_EQ(code_of(sent), "upstream_failed");
      EXPECT_TRUE(all.empty());
      EXPECT_EQ(run.node.calls("broadcast"), 0);
      EXPECT_EQ(run.delegated_sun(), 0);
    } else {
      EXPECT_TRUE(sent.ok()) << message_of(sent);
      ASSERT_EQ(all.size(), 1u);
      EXPECT_EQ(all[0].state, ChainTxState::kIncluded) << chain_tx_state_name(all[0].state);
      EXPECT_EQ(run.delegated_sun(), 10 * kTrx);
      for (const auto& bytes : run.node.sent_bytes()) EXPECT_EQ(bytes, all[0].signed_bytes);
    }
    if (!failed_something) {
      // N passed the last call: every point was covered. Without failures: submit (journal,
      // broadcast, journal), a sweep that finds it waiting for a block (list, head, info), one
      // that finds it in the block (list, head, info, journal).
      EXPECT_EQ(n, 11);
      std::printf("failure points covered: %d\n", n - 1);
      break;
    }
    ASSERT_LT(n, 50);
  }
}

// --- sweeps ------------------------------------------------------------------------------------

TEST_F(ChainTxSenderTest, SweepSettlesWhatItCanAndCountsTheRest) {
  auto included = submit(delegate_tx(10 * kTrx));
  node.drop_broadcasts(1);
  auto dropped = submit(delegate_tx(11 * kTrx));
  node.fail_next("broadcast", common::make_error("upstream_failed", "reset"));
  auto unsent = submit(delegate_tx(12 * kTrx));
  node.mine();  // `included` lands; `dropped` was lost; `unsent` never arrived

  auto report = sender.resolve_unresolved(10);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->examined, 3);
  EXPECT_EQ(report->included, 1);
  EXPECT_EQ(report->rebroadcast, 1);  // `unsent`; `dropped` was accepted a moment ago
  EXPECT_EQ(report->unresolved, 2);
  EXPECT_EQ(report->errors, 0);

  clock.advance(seconds(6));
  report = sender.resolve_unresolved(10);
  EXPECT_EQ(report->examined, 2);
  EXPECT_EQ(report->rebroadcast, 2);  // `dropped` (lost) and `unsent` (a duplicate by now)
  node.mine();
  report = sender.resolve_unresolved(10);
  EXPECT_EQ(report->included, 2);
  EXPECT_EQ(report->unresolved, 0);
  EXPECT_EQ(delegated_sun(), 33 * kTrx);
  EXPECT_EQ(sender.resolve_unresolved(10)->examined, 0);
}

TEST_F(ChainTxSenderTest, SweepLimitTakesTheOldestFirst) {
  node.drop_broadcasts(3);
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(submit(delegate_tx())->record.id);
  pass_expiration(stored(ids[0]));
  auto report = sender.resolve_unresolved(2);
  EXPECT_EQ(report->examined, 2);
  EXPECT_EQ(report->expired, 2);
  EXPECT_EQ(stored(ids[2]).state, ChainTxState::kBroadcast);
}

TEST_F(ChainTxSenderTest, SweepWithTheChainDownCountsErrorsAndChangesNothing) {
  node.fail_next("broadcast", common::make_error("upstream_failed", "reset"));
  auto sent = submit(delegate_tx());
  node.set_down(common::make_error("chain_unavailable", "every endpoint's circuit is open"));
  auto report = sender.resolve_unresolved(10);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->examined, 1);
  EXPECT_EQ(report->errors, 1);
  EXPECT_EQ(report->unresolved, 1);
  ASSERT_TRUE(report->first_error);
  EXPECT_EQ(report->first_error->code, "chain_unavailable");
  EXPECT_EQ(stored(sent->record.id).state, ChainTxState::kSigned);

  journal.failures.fail_next(common::make_error("store_unavailable", "down"));
  EXPECT_EQ(code_of(sender.resolve_unresolved(10)), "store_unavailable");
  EXPECT_EQ(code_of(sender.resolve_unresolved(0)), "invalid_request");
}

// --- wait_included -----------------------------------------------------------------------------

TEST_F(ChainTxSenderTest, WaitIncludedPollsUntilTheBlockWithoutSleepingForReal) {
  on_sleep = [&] { node.mine(); };
  const common::TimePoint start = clock.now();
  auto sent = submit(delegate_tx());
  auto waited = sender.wait_included(sent->record.id, start + seconds(30));
  ASSERT_TRUE(waited.ok()) << message_of(waited);
  EXPECT_EQ(waited->state, ChainTxState::kIncluded);
  EXPECT_EQ(sleeps, 1);
  EXPECT_EQ(clock.now(), start + seconds(3));
}

TEST_F(ChainTxSenderTest, WaitIncludedRebroadcastsADroppedTx) {
  on_sleep = [&] { node.mine(); };
  node.drop_broadcasts(1);
  auto sent = submit(delegate_tx());
  auto waited = sender.wait_included(sent->record.id, clock.now() + seconds(30));
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->state, ChainTxState::kIncluded);
  EXPECT_EQ(waited->broadcast_attempts, 2);
  EXPECT_EQ(node.calls("broadcast"), 2);
  EXPECT_EQ(delegated_sun(), 10 * kTrx);
}

TEST_F(ChainTxSenderTest, WaitIncludedRidesOutAnUnreachableChain) {
  on_sleep = [&] {
    if (sleeps == 3) node.set_down(std::nullopt);
    node.mine();
  };
  auto sent = submit(delegate_tx());
  node.set_down(common::make_error("upstream_failed", "503"));
  auto waited = sender.wait_included(sent->record.id, clock.now() + seconds(30));
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->state, ChainTxState::kIncluded);
  EXPECT_EQ(sleeps, 3);
}

TEST_F(ChainTxSenderTest, WaitIncludedReturnsTheUnsettledTxAtTheDeadline) {
  const common::TimePoint deadline = clock.now() + milliseconds(7'500);
  auto sent = submit(delegate_tx());  // never mined
  auto waited = sender.wait_included(sent->record.id, deadline);
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->state, ChainTxState::kBroadcast);
  EXPECT_EQ(clock.now(), deadline);  // 3 s, 3 s, then the 1.5 s left
  EXPECT_EQ(sleeps, 3);
}

TEST_F(ChainTxSenderTest, WaitIncludedEndsAtExpiry) {
  node.drop_broadcasts(1000);  // the node loses everything
  on_sleep = [&] { node.mine(); };
  auto sent = submit(delegate_tx());
  auto waited = sender.wait_included(sent->record.id, clock.now() + seconds(600));
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->state, ChainTxState::kExpired);
  EXPECT_GE(node.head().timestamp_ms, sent->record.expiration_ms);
  EXPECT_LT(node.head().timestamp_ms, sent->record.expiration_ms + 3'000);
}

TEST_F(ChainTxSenderTest, WaitIncludedOfAnUnknownTx) {
  EXPECT_EQ(code_of(sender.wait_included(999, clock.now() + seconds(5))), "not_found");
  EXPECT_EQ(sleeps, 0);
}

// --- crash points ------------------------------------------------------------------------------

// Each case dies in a child process at its fault point (TRONRELAY_FAULT), the fakes reporting on
// stderr which calls happened before: what the journal and the chain could have seen at death.
class ChainTxSenderDeathTest : public ChainTxSenderTest {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    auto trace = [](const std::string& method) -> std::optional<common::Error> {
      const std::string line = "call " + method + "\n";
      (void)!::write(STDERR_FILENO, line.data(), line.size());
      return std::nullopt;
    };
    node.set_call_hook(trace);
    journal.call_hook = trace;
  }
};

TEST_F(ChainTxSenderDeathTest, AfterSignNothingIsRecordedOrSent) {
  EXPECT_EXIT(
      {
        ::setenv(common::kFaultEnv, "after_sign", 1);
        (void)submit(delegate_tx());
      },
      ::testing::ExitedWithCode(common::kFaultExitCode),
      ::testing::AllOf(::testing::HasSubstr("fault point after_sign hit"),
                       ::testing::Not(::testing::HasSubstr("call record_signed")),
                       ::testing::Not(::testing::HasSubstr("call broadcast"))));
}

TEST_F(ChainTxSenderDeathTest, AfterWriteAheadRecordedButNotSent) {
  EXPECT_EXIT(
      {
        ::setenv(common::kFaultEnv, "after_write_ahead", 1);
        (void)submit(delegate_tx());
      },
      ::testing::ExitedWithCode(common::kFaultExitCode),
      ::testing::AllOf(::testing::HasSubstr("call record_signed\nfault point after_write_ahead"),
                       ::testing::Not(::testing::HasSubstr("call broadcast"))));
}

TEST_F(ChainTxSenderDeathTest, AfterBroadcastSentButNotMarked) {
  EXPECT_EXIT(
      {
        ::setenv(common::kFaultEnv, "after_broadcast", 1);
        (void)submit(delegate_tx());
      },
      ::testing::ExitedWithCode(common::kFaultExitCode),
      ::testing::AllOf(
          ::testing::HasSubstr("call record_signed\ncall broadcast\nfault point after_broadcast"),
          ::testing::Not(::testing::HasSubstr("call mark_broadcast"))));
}

}  // namespace
}  // namespace relay::energy
