// bench_devnet: how fast tron-devnet accepts transactions, so it is never the bottleneck of the
// daemon's benchmarks (targets: ≥ 2,000 accepted broadcasts/s, a 10,000-transaction block in < 1 s).
// Every transaction is built and signed outside the timed region; the timed work is what the node
// does with a signed transaction (signature recovery, TaPoS, expiration, duplicate, bandwidth and
// contract checks, applying it) and sealing blocks.
//
// Besides the benchmarks, two generator modes feed bench/devnet_load.sh (no benchmark runs then):
//   bench_devnet --emit-genesis
//       the genesis JSON funding the load senders (stdout)
//   bench_devnet --emit-broadcasts N REF_BLOCK_ID_HEX REF_BLOCK_NUMBER REF_BLOCK_TIMESTAMP_MS
//       N distinct signed transfers referencing that block, one {"transaction":"<hex>"} per line
#include <benchmark/benchmark.h>
#include <google/protobuf/stubs/logging.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chain/builders.h"
#include "chain/permission.h"
#include "chain/transaction.h"
#include "common/address.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/signature.h"
#include "devnet/faults.h"
#include "devnet/node.h"
#include "devnet/wallet_api.h"
#include "signer/secret_key.h"
#include "signer/signer.h"
#include "signer/signing_policy.h"

namespace {

using relay::chain::TaposRef;
using relay::chain::Transaction;
using relay::chain::TxHeader;
using relay::common::Address;
using relay::common::Sun;
using relay::devnet::ApplyResult;
using relay::devnet::BroadcastError;
using relay::devnet::kSunPerTrx;
using relay::devnet::Node;

constexpr int kTransferType = 1;           // TransferContract
constexpr int kPermissionUpdateType = 46;  // AccountPermissionUpdateContract
constexpr int kDelegateType = 57;          // DelegateResourceContract
constexpr int kUndelegateType = 58;        // UnDelegateResourceContract

constexpr int kSenders = 8;
// Every sender can pay a few million transactions from stake: 1e9 TRX of balance, and 1e9 TRX
// staked for bandwidth and for energy (for the delegation benchmark).
constexpr int64_t kFundSun = 1'000'000'000 * kSunPerTrx;
constexpr int64_t kBlockTxs = 10'000;
constexpr int64_t kStartMs = 1'800'000'000'000;
constexpr int64_t kExpirationAheadMs = 3'600'000;

template <typename T>
T must(relay::common::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "bench_devnet: %s: %s\n", what, result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

// Key i (1-based) is the 32-byte big-endian integer i: key 1 is TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC.
std::string key_hex(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i);
  return buf;
}

struct Party {
  Address address;
  std::unique_ptr<relay::signer::LocalSigner> signer;
};

// Signers for keys first..first+count-1, each allowed to sign what the benchmarks send for any of
// `owners` (or its own account when `owners` is empty).
std::vector<Party> make_parties(int first, int count, std::set<Address> owners = {}) {
  std::vector<Party> parties;
  for (int i = first; i < first + count; ++i) {
    auto key = must(relay::signer::SecretKey::from_hex(key_hex(i)), "key");
    Address address = must(relay::signer::address_of(key), "address");
    relay::signer::SigningPolicy policy;
    policy.allowed_contract_types = {kTransferType, kPermissionUpdateType, kDelegateType,
                                     kUndelegateType};
    policy.allowed_owners = owners.empty() ? std::set<Address>{address} : owners;
    policy.max_fee_limit_sun = INT64_MAX;
    parties.push_back(Party{address, must(relay::signer::LocalSigner::create(std::move(key),
                                                                             std::move(policy)),
                                          "signer")});
  }
  return parties;
}

Transaction signed_by(Transaction tx, const Party& party) {
  tx.add_signature(must(party.signer->sign_transaction(tx.raw_bytes()), "sign_transaction"));
  return tx;
}

std::string describe(const ApplyResult& result) {
  const auto* error = std::get_if<BroadcastError>(&result);
  return error == nullptr ? "accepted" : error->code + ": " + error->message;
}

// A devnet Node on a manual clock whose senders (keys 1..kSenders) are funded and staked, plus the
// bookkeeping to build distinct transactions against its current head.
class Bench {
 public:
  Bench() : clock_(relay::common::ManualClock::at_ms(kStartMs)) {
    senders_ = make_parties(1, kSenders);
    relay::devnet::Genesis genesis;
    genesis.timestamp_ms = kStartMs;
    for (const auto& s : senders_) {
      genesis.accounts.push_back({s.address, kFundSun, kFundSun, kFundSun, 0});
    }
    node_ = std::make_unique<Node>(genesis, clock_);
    next_block();
  }

  Node& node() { return *node_; }
  const std::vector<Party>& senders() const { return senders_; }

  // Advances the clock one slot and seals the pending transactions, as tron-devnet does every 3 s.
  void next_block() {
    clock_.advance(std::chrono::milliseconds(relay::devnet::kBlockIntervalMs));
    node_->produce_block();
  }

  // A header referencing the head block; the timestamp makes every transaction's txid distinct.
  TxHeader header(int32_t permission_id = 0) {
    return node_->read([&](const relay::devnet::ChainState& s) {
      TxHeader h;
      h.tapos = must(TaposRef::from_block(s.head().number, s.head().id), "tapos");
      h.expiration_ms = s.head().timestamp_ms + kExpirationAheadMs;
      h.timestamp_ms = s.head().timestamp_ms + (++counter_);
      h.permission_id = permission_id;
      return h;
    });
  }

  // `n` signed 1-sun transfers, round-robin over the senders, each to the next sender.
  std::vector<Transaction> transfers(int64_t n) {
    std::vector<Transaction> txs;
    txs.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const Party& from = senders_[static_cast<size_t>(i % kSenders)];
      const Party& to = senders_[static_cast<size_t>((i + 1) % kSenders)];
      txs.push_back(signed_by(
          must(relay::chain::build_transfer(header(), from.address, to.address, Sun(1)),
               "build_transfer"),
          from));
    }
    return txs;
  }

 private:
  relay::common::ManualClock clock_;
  std::unique_ptr<Node> node_;
  std::vector<Party> senders_;
  int64_t counter_ = 0;
};

// Node::broadcast of distinct signed transfers from 8 senders, every one accepted. Transactions are
// signed in batches of 10,000 with the timer paused; between batches the node seals a block (also
// untimed), so the pending pool and the transaction index grow as on a running devnet.
void BM_NodeBroadcast(benchmark::State& state) {
  Bench bench;
  std::vector<Transaction> batch;
  size_t next = 0;
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      if (!batch.empty()) bench.next_block();
      batch = bench.transfers(kBlockTxs);
      next = 0;
      state.ResumeTiming();
    }
    ApplyResult result = bench.node().broadcast(batch[next++]);
    if (!std::holds_alternative<relay::devnet::Receipt>(result)) {
      state.SkipWithError(("refused: " + describe(result)).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeBroadcast)->MinTime(2.0)->UseRealTime();

// One iteration = one block: broadcast 10,000 pre-signed transfers (all accepted) and seal them
// with produce_block. The chain keeps growing from iteration to iteration. `seal_ms` is the
// produce_block part alone.
void BM_BlockOf10kTransactions(benchmark::State& state) {
  Bench bench;
  double seal_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Transaction> txs = bench.transfers(kBlockTxs);
    state.ResumeTiming();
    for (const auto& tx : txs) {
      ApplyResult result = bench.node().broadcast(tx);
      if (!std::holds_alternative<relay::devnet::Receipt>(result)) {
        state.SkipWithError(("refused: " + describe(result)).c_str());
        return;
      }
    }
    auto seal_start = std::chrono::steady_clock::now();
    bench.node().produce_block();
    seal_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - seal_start).count();
    state.PauseTiming();
    int64_t in_block = bench.node().read([](const relay::devnet::ChainState& s) {
      return static_cast<int64_t>(s.head().txids.size());
    });
    if (in_block != kBlockTxs) {
      state.SkipWithError("the sealed block does not hold 10,000 transactions");
      return;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBlockTxs);
  state.counters["seal_ms"] = benchmark::Counter(
      seal_seconds * 1e3 / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_BlockOf10kTransactions)
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The relay's real workload: pools (keys 1..8) have given the relayer key (key 100) an active
// permission for DelegateResource/UnDelegateResource through AccountPermissionUpdate; each
// transaction delegates 1 TRX of energy from a pool to a receiver under Permission_id 2, signed by
// the relayer.
void BM_DelegateBroadcast(benchmark::State& state) {
  Bench bench;
  std::set<Address> pools;
  for (const auto& s : bench.senders()) pools.insert(s.address);
  std::vector<Party> relayer = make_parties(100, 1, pools);
  for (const auto& pool : bench.senders()) {
    auto owner = must(relay::chain::PermissionBuilder::owner().key(pool.address, 1).build(),
                      "owner permission");
    auto active = must(relay::chain::PermissionBuilder::active("relayer")
                           .key(relayer[0].address, 1)
                           .allow(kDelegateType)
                           .allow(kUndelegateType)
                           .build(),
                       "active permission");
    auto tx = signed_by(must(relay::chain::build_account_permission_update(
                                 bench.header(), pool.address, owner, std::nullopt, {active}),
                             "build_account_permission_update"),
                        pool);
    ApplyResult result = bench.node().broadcast(tx);
    if (!std::holds_alternative<relay::devnet::Receipt>(result)) {
      state.SkipWithError(("permission update refused: " + describe(result)).c_str());
      return;
    }
  }
  bench.next_block();

  auto build_batch = [&] {
    std::vector<Transaction> txs;
    txs.reserve(kBlockTxs);
    for (int64_t i = 0; i < kBlockTxs; ++i) {
      const Party& pool = bench.senders()[static_cast<size_t>(i % kSenders)];
      const Party& receiver = bench.senders()[static_cast<size_t>((i + 1) % kSenders)];
      txs.push_back(signed_by(
          must(relay::chain::build_delegate_resource(bench.header(2), pool.address,
                                                     receiver.address, Sun(kSunPerTrx),
                                                     protocol::ENERGY),
               "build_delegate_resource"),
          relayer[0]));
    }
    return txs;
  };
  std::vector<Transaction> batch;
  size_t next = 0;
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      if (!batch.empty()) bench.next_block();
      batch = build_batch();
      next = 0;
      state.ResumeTiming();
    }
    ApplyResult result = bench.node().broadcast(batch[next++]);
    if (!std::holds_alternative<relay::devnet::Receipt>(result)) {
      state.SkipWithError(("refused: " + describe(result)).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DelegateBroadcast)->MinTime(2.0)->UseRealTime();

// The whole broadcasthex handler without sockets: WalletApi::handle parses the JSON body, decodes
// the hex and the transaction, broadcasts, and renders the response (including the transaction as
// JSON). What the HTTP server adds on top shows in devnet_load.sh.
void BM_WalletApiBroadcastHex(benchmark::State& state) {
  Bench bench;
  relay::devnet::WalletApi api(bench.node(), std::make_shared<relay::devnet::FaultInjector>());
  std::vector<relay::devnet::HttpRequest> batch;
  size_t next = 0;
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      if (!batch.empty()) bench.next_block();
      batch.clear();
      for (const auto& tx : bench.transfers(kBlockTxs)) {
        batch.push_back({"POST", "/wallet/broadcasthex", "",
                         "{\"transaction\":\"" + relay::common::to_hex(tx.encode_signed()) +
                             "\"}"});
      }
      next = 0;
      state.ResumeTiming();
    }
    relay::devnet::HttpResponse response = api.handle(batch[next++]);
    if (response.body.find("\"result\":true") == std::string::npos) {
      state.SkipWithError(("refused: " + response.body.substr(0, 300)).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WalletApiBroadcastHex)->MinTime(2.0)->UseRealTime();

// The floor under every broadcast: recovering the signer's address from one signature (what
// chain::check_permission does per signature), on the transfers BM_NodeBroadcast sends.
void BM_RecoverSigner(benchmark::State& state) {
  Bench bench;
  std::vector<Transaction> txs = bench.transfers(1'000);
  size_t next = 0;
  for (auto _ : state) {
    const Transaction& tx = txs[next++ % txs.size()];
    auto signer = relay::common::recover_signer(tx.txid(), tx.signatures()[0]);
    if (!signer.ok()) {
      state.SkipWithError("recover_signer failed");
      break;
    }
    benchmark::DoNotOptimize(signer.value().bytes().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecoverSigner)->MinTime(2.0)->UseRealTime();

// ---- generator modes for devnet_load.sh ----

int emit_genesis() {
  std::vector<Party> senders = make_parties(1, kSenders);
  std::string out = "{\"accounts\":[";
  for (size_t i = 0; i < senders.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"address\":\"" + senders[i].address.to_base58() +
           "\",\"balance_sun\":" + std::to_string(kFundSun) +
           ",\"frozen_energy_sun\":" + std::to_string(kFundSun) +
           ",\"frozen_bandwidth_sun\":" + std::to_string(kFundSun) + ",\"usdt\":0}";
  }
  out += "]}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}

int emit_broadcasts(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: bench_devnet --emit-broadcasts N REF_BLOCK_ID_HEX REF_BLOCK_NUMBER "
                 "REF_BLOCK_TIMESTAMP_MS\n");
    return 2;
  }
  int64_t n = std::atoll(argv[2]);
  int64_t number = std::atoll(argv[4]);
  int64_t timestamp = std::atoll(argv[5]);
  if (n <= 0 || number < 0 || timestamp <= 0) {
    std::fprintf(stderr, "bench_devnet: N, the block number and timestamp must be positive\n");
    return 2;
  }
  auto id = must(relay::common::from_hex(argv[3]), "ref block id");
  TxHeader header;
  header.tapos = must(TaposRef::from_block(number, id), "ref block");
  header.expiration_ms = timestamp + kExpirationAheadMs;
  std::vector<Party> senders = make_parties(1, kSenders);
  std::string line;
  for (int64_t i = 0; i < n; ++i) {
    const Party& from = senders[static_cast<size_t>(i % kSenders)];
    const Party& to = senders[static_cast<size_t>((i + 1) % kSenders)];
    header.timestamp_ms = timestamp + 1 + i;  // distinct txids
    auto tx = signed_by(must(relay::chain::build_transfer(header, from.address, to.address, Sun(1)),
                             "build_transfer"),
                        from);
    line = "{\"transaction\":\"" + relay::common::to_hex(tx.encode_signed()) + "\"}\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(nullptr);
  if (argc >= 2 && std::strcmp(argv[1], "--emit-genesis") == 0) return emit_genesis();
  if (argc >= 2 && std::strcmp(argv[1], "--emit-broadcasts") == 0) {
    return emit_broadcasts(argc, argv);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
