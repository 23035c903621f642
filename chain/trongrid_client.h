// TronGridClient: chain::TronNode over the HTTP API of TronGrid or any java-tron node
// (PROTOCOL.md §5), through an EndpointPool (token buckets, retries with backoff, circuit breakers,
// failover). Addresses go out in hex (visible=false). Built once by the daemon and shared by every
// thread that talks to the chain; thread-safe.
//
// Retried (per the pool's options): transport failures and timeouts, 429, throttle 403s, 5xx, a
// 200 whose `Error` says the key is throttled, and a broadcast answered SERVER_BUSY, NO_CONNECTION
// or NOT_ENOUGH_EFFECTIVE_CONNECTION. A broadcast is retried after a timeout too: the same bytes
// are the same transaction, and a node that already has it answers DUP_TRANSACTION_ERROR, which
// reads as accepted. Not retried: the node's own refusal (an `Error` key → "upstream_failed" with
// its text) and replies that are not the JSON the call expects ("upstream_failed").
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chain/builders.h"
#include "chain/endpoint_pool.h"
#include "chain/tron_node.h"
#include "common/clock.h"
#include "common/json.h"

namespace relay::chain {

class TronGridClient final : public TronNode {
 public:
  // Checks `options` (validate()); "invalid_config" naming the field when they cannot work.
  // `transport` and `clock` must outlive the client.
  static common::Result<std::unique_ptr<TronGridClient>> create(HttpTransport& transport,
                                                                const common::Clock& clock,
                                                                TronGridOptions options,
                                                                EndpointPool::Seams seams = {});
  // As create(), for options already validated (asserted).
  TronGridClient(HttpTransport& transport, const common::Clock& clock, TronGridOptions options,
                 EndpointPool::Seams seams = {});

  common::Result<BlockRef> now_block(ReadFrom from = ReadFrom::kHead) override;
  common::Result<std::optional<AccountInfo>> account(const common::Address& address,
                                                     ReadFrom from = ReadFrom::kHead) override;
  common::Result<AccountResources> account_resources(const common::Address& address) override;
  common::Result<ChainParameters> chain_parameters() override;
  common::Result<int64_t> can_delegate_max_sun(const common::Address& owner,
                                               Resource resource) override;
  common::Result<std::vector<DelegatedResource>> delegated_resources(
      const common::Address& from, const common::Address& to,
      ReadFrom from_where = ReadFrom::kHead) override;
  common::Result<DelegationIndex> delegation_index(const common::Address& account,
                                                   ReadFrom from = ReadFrom::kHead) override;
  common::Result<BroadcastResult> broadcast(common::ByteView signed_transaction) override;
  common::Result<std::optional<TransactionInfo>> transaction_info(
      const common::Hash32& txid, ReadFrom from = ReadFrom::kHead) override;
  // /wallet/estimateenergy; a node started without vm.estimateEnergy is asked
  // /wallet/triggerconstantcontract instead (and from then on).
  common::Result<EnergyEstimate> estimate_energy(const common::Address& owner,
                                                 const common::Address& contract,
                                                 common::ByteView data) override;

  // chain_parameters() at most `max_age` old (DESIGN §7: read at start and hourly). Concurrent
  // callers while one refreshes get the previous copy; a failed refresh keeps serving the previous
  // copy (parameters change only by committee proposal) and is tried again on the next call;
  // without any copy yet, the error.
  common::Result<ChainParameters> cached_chain_parameters(
      std::chrono::milliseconds max_age = std::chrono::hours(1));

  // The TaPoS reference for new transactions: the head block's (now_block(kHead)).
  common::Result<TaposRef> head_tapos();

  std::vector<EndpointStats> stats() const { return pool_.stats(); }
  // For /health: at least one endpoint's circuit is not open.
  bool healthy() const { return pool_.healthy(); }
  const TronGridOptions& options() const { return pool_.options(); }

 private:
  common::Result<boost::json::object> call(std::string_view path, const std::string& body,
                                           const ReplyClassifier& classify = classify_reply);
  common::Result<EnergyEstimate> estimate_by_trigger(const std::string& body);

  const common::Clock& clock_;
  EndpointPool pool_;
  std::atomic<bool> estimate_energy_unsupported_{false};

  std::mutex parameters_mutex_;
  std::optional<ChainParameters> parameters_;  // guarded by parameters_mutex_
  common::TimePoint parameters_at_;
  bool parameters_refreshing_ = false;
};

// The TaPoS reference of a block the node returned (builders.h, PROTOCOL.md §2.5).
common::Result<TaposRef> tapos_of(const BlockRef& block);

// Decodes a node's message field: java-tron prints bytes as hex when visible=false, so text that
// is even-length hex of printable UTF-8 is decoded; anything else is returned as it is.
std::string decode_node_message(std::string_view text);

}  // namespace relay::chain
