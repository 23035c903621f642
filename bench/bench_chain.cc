// bench_chain: throughput of building and signing a relayer DelegateResource transaction, the
// pieces it is made of, and the raw libsecp256k1 signing rate it is measured against. Figures are
// only meaningful as ratios to BM_RawSecp256k1Sign from the same run (see docs/BENCHMARKS.md).
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "chain/builders.h"
#include "chain/transaction.h"
#include "common/address.h"
#include "common/base58.h"
#include "common/bytes.h"
#include "common/hash.h"
#include "signer/secret_key.h"
#include "signer/signer.h"
#include "signer/signing_policy.h"

namespace {

using relay::chain::DelegateLock;
using relay::chain::TaposRef;
using relay::chain::Transaction;
using relay::chain::TxHeader;
using relay::common::Address;
using relay::common::Bytes;
using relay::common::Sun;

// Vector V3 of shared/tron/vectors.json: K1's DelegateResource to K3 under Permission_id=2, signed
// by the relayer key K2. The benchmark first reproduces it byte for byte, so it times the real
// thing.
constexpr std::string_view kRelayerKeyHex =
    "1234567890123456789012345678901234567890123456789012345678901234";
constexpr std::string_view kRelayerPubkeyHex =
    "04e90c7d3640a1568839c31b70a893ab6714ef8415b9de90cedfc1c8f353a6983e625529392df7fa514bdd65a2003f"
    "66"
    "19567d79bee89830e63e932dbd42362d34";
constexpr std::string_view kOwnerHex = "417e5f4552091a69125d5dfcb7b8c2659029395bdf";
constexpr std::string_view kReceiverHex = "4194a15629b2b2bbd3a5453e6d6696b2875278633b";
constexpr std::string_view kRefBlockIdHex =
    "0000000003546431212a13dbe72ac5c09a684deb83257258a6fcdc1115835077";
constexpr int64_t kTimestampMs = 1751466432000;
constexpr int64_t kBalanceSun = 10'000'000;
constexpr std::string_view kV3SignedHex =
    "0a92010a0264312208212a13dbe72ac5c040e080a7dcfc325a740839126e0a35747970652e676f6f676c6561706973"
    "2e"
    "636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412350a15417e5f455209"
    "1a69125d5dfcb7b8c2659029395bdf10011880ade20422154194a15629b2b2bbd3a5453e6d6696b2875278633b2802"
    "7080aca3dcfc32124126539af7e41e1c2dab40bb254e5a75f0ab2ec99ceba660846d8fd059c068519d30814b56dbca"
    "20505682b124b5504ec645eb3ac303ffa6a6f8a1d467d7cc89281b";

template <typename T>
T must(relay::common::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "bench_chain: %s: %s\n", what, result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

Bytes hex(std::string_view text) { return must(relay::common::from_hex(text), "hex constant"); }
Address address(std::string_view text) { return must(Address::parse(text), "address constant"); }

TxHeader header_at(int64_t timestamp_ms) {
  TxHeader header;
  header.tapos = must(TaposRef::from_block_id_hex(kRefBlockIdHex), "block id");
  header.timestamp_ms = timestamp_ms;
  header.expiration_ms = timestamp_ms + 60'000;
  header.permission_id = 2;
  return header;
}

std::unique_ptr<relay::signer::LocalSigner> relayer_signer() {
  relay::signer::SigningPolicy policy;
  policy.allowed_contract_types = {57};
  policy.allowed_owners = {address(kOwnerHex)};
  policy.max_amount_sun = {{57, kBalanceSun}};
  policy.allowed_permission_ids = std::set<int32_t>{2};
  auto key = must(relay::signer::SecretKey::from_hex(kRelayerKeyHex), "relayer key");
  return must(relay::signer::LocalSigner::create(std::move(key), std::move(policy)), "signer");
}

// One relayer transaction end to end: protobuf build (which hashes the txid), policy-checked
// signing (which re-reads and re-hashes the bytes, as the signer always does), and the broadcast
// encoding.
Bytes build_and_sign(const relay::signer::LocalSigner& signer, const TxHeader& header,
                     const Address& owner, const Address& receiver) {
  Transaction tx =
      must(relay::chain::build_delegate_resource(header, owner, receiver, Sun(kBalanceSun),
                                                 protocol::ENERGY, DelegateLock{}),
           "build_delegate_resource");
  tx.add_signature(must(signer.sign_transaction(tx.raw_bytes()), "sign_transaction"));
  return tx.encode_signed();
}

void BM_BuildSignDelegate(benchmark::State& state) {
  auto signer = relayer_signer();
  Address owner = address(kOwnerHex);
  Address receiver = address(kReceiverHex);
  if (build_and_sign(*signer, header_at(kTimestampMs), owner, receiver) != hex(kV3SignedHex)) {
    state.SkipWithError("built transaction differs from vector V3");
    return;
  }
  // A new timestamp per transaction, as in production: no two iterations hash or sign the same
  // bytes.
  int64_t timestamp = kTimestampMs;
  for (auto _ : state) {
    Bytes signed_tx = build_and_sign(*signer, header_at(++timestamp), owner, receiver);
    benchmark::DoNotOptimize(signed_tx.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildSignDelegate);

void BM_RawSecp256k1Sign(benchmark::State& state) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  std::array<uint8_t, 32> seed{};
  if (getrandom(seed.data(), seed.size(), 0) != static_cast<ssize_t>(seed.size()) ||
      !secp256k1_context_randomize(ctx, seed.data())) {
    state.SkipWithError("cannot randomize the secp256k1 context");
    secp256k1_context_destroy(ctx);
    return;
  }
  Bytes key = hex(kRelayerKeyHex);
  relay::common::Hash32 digest = relay::common::sha256(hex(kV3SignedHex));
  std::array<uint8_t, 65> out{};
  uint64_t counter = 0;
  for (auto _ : state) {
    // Vary the digest as BM_BuildSignDelegate varies its txid, so RFC 6979 nonces differ too.
    ++counter;
    std::memcpy(digest.data(), &counter, sizeof counter);
    secp256k1_ecdsa_recoverable_signature sig;
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest.data(), key.data(), nullptr, nullptr)) {
      state.SkipWithError("secp256k1_ecdsa_sign_recoverable failed");
      break;
    }
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out.data(), &recid, &sig);
    out[64] = static_cast<uint8_t>(27 + recid);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  secp256k1_context_destroy(ctx);
}
BENCHMARK(BM_RawSecp256k1Sign);

void BM_Txid(benchmark::State& state) {
  Transaction tx = must(Transaction::decode_signed(hex(kV3SignedHex)), "decode V3");
  const Bytes& raw = tx.raw_bytes();
  for (auto _ : state) {
    relay::common::Hash32 txid = relay::common::sha256(raw);
    benchmark::DoNotOptimize(txid.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(raw.size()));
}
BENCHMARK(BM_Txid);

void BM_AddressFromKey(benchmark::State& state) {
  Bytes pubkey = hex(kRelayerPubkeyHex);
  for (auto _ : state) {
    auto addr = Address::from_public_key(pubkey);
    benchmark::DoNotOptimize(addr.value().bytes().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddressFromKey);

void BM_Base58RoundTrip(benchmark::State& state) {
  Address addr = address(kOwnerHex);
  for (auto _ : state) {
    std::string text = addr.to_base58();
    auto back = Address::from_base58(text);
    benchmark::DoNotOptimize(back.value().bytes().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Base58RoundTrip);

void BM_DecodeSignedTx(benchmark::State& state) {
  Bytes signed_tx = hex(kV3SignedHex);
  for (auto _ : state) {
    auto tx = Transaction::decode_signed(signed_tx);
    benchmark::DoNotOptimize(tx.value().txid().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeSignedTx);

}  // namespace

BENCHMARK_MAIN();
