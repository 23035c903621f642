// TronNode: what tronrelay asks of a TRON full node, in typed form. It is the chain port the domain
// (energy/) and the schedulers call; TronGridClient implements it over HTTP against TronGrid or any
// java-tron node (with an endpoint pool, rate limits, retries and a circuit breaker), and tests
// substitute fakes. Every call is a Result: a transport failure, a throttled or failing endpoint
// after all retries has code "upstream_failed"; a node that answers but refuses (an `Error` key, a
// malformed reply) has "upstream_failed" with the node's text; "chain_unavailable" when every
// endpoint's circuit is open.
//
// java-tron leaves zero and default fields out of its JSON: a missing field reads as 0/false/empty
// here, and "not found" is an empty optional rather than an error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chain/permission.h"
#include "chain/transaction.h"
#include "common/address.h"
#include "common/bytes.h"
#include "common/result.h"

namespace relay::chain {

// A block as TaPoS and confirmations need it.
struct BlockRef {
  int64_t number = 0;
  common::Hash32 id{};
  int64_t timestamp_ms = 0;
};

// /wallet/getaccount, the fields tronrelay reads. `permissions` has the chain's ids assigned (owner
// 0, actives 2.. by position); for an account that never set permissions it holds java-tron's
// defaults (AccountPermissions::defaults_for).
struct AccountInfo {
  common::Address address;
  int64_t balance_sun = 0;
  int64_t create_time_ms = 0;
  bool is_contract = false;             // type == Contract
  int64_t frozen_energy_sun = 0;        // own FreezeBalanceV2 for ENERGY not delegated away
  int64_t frozen_bandwidth_sun = 0;     // own FreezeBalanceV2 for BANDWIDTH not delegated away
  int64_t delegated_energy_sun = 0;     // own stake delegated to others (energy)
  int64_t delegated_bandwidth_sun = 0;  // own stake delegated to others (bandwidth)
  int64_t acquired_energy_sun = 0;      // stake others delegated to this account (energy)
  int64_t acquired_bandwidth_sun = 0;
  int64_t unfreezing_sun = 0;  // sum of unfrozenV2 entries not yet withdrawn
  AccountPermissions permissions;
};

// /wallet/getaccountresource.
struct AccountResources {
  int64_t free_net_used = 0;
  int64_t free_net_limit = 0;
  int64_t net_used = 0;
  int64_t net_limit = 0;
  int64_t energy_used = 0;
  int64_t energy_limit = 0;
  int64_t total_net_limit = 0;
  int64_t total_net_weight = 0;
  int64_t total_energy_limit = 0;
  int64_t total_energy_weight = 0;
};

// /wallet/getchainparameters: every key as the node names it ("getEnergyFee" → 100); accessors for
// the ones tronrelay prices and validates with, falling back to java-tron's code defaults.
struct ChainParameters {
  std::map<std::string, int64_t> values;

  int64_t get(const std::string& key, int64_t fallback) const {
    auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
  }
  int64_t energy_fee() const { return get("getEnergyFee", 100); }
  int64_t transaction_fee() const { return get("getTransactionFee", 10); }
  int64_t free_net_limit() const { return get("getFreeNetLimit", 5'000); }
  int64_t update_account_permission_fee() const {
    return get("getUpdateAccountPermissionFee", 100'000'000);
  }
  int64_t multi_sign_fee() const { return get("getMultiSignFee", 1'000'000); }
  int64_t create_account_fee() const { return get("getCreateAccountFee", 100'000); }
  int64_t create_new_account_fee_in_system_contract() const {
    return get("getCreateNewAccountFeeInSystemContract", 0);
  }
  int64_t max_delegate_lock_period() const { return get("getMaxDelegateLockPeriod", 86'400); }
  int64_t total_sign_num() const { return get("getTotalSignNum", 5); }
};

// One delegation record from /wallet/getdelegatedresourcev2 (locked and unlocked are separate).
struct DelegatedResource {
  common::Address from;
  common::Address to;
  int64_t energy_sun = 0;
  int64_t energy_expire_ms = 0;  // 0 = unlocked
  int64_t bandwidth_sun = 0;
  int64_t bandwidth_expire_ms = 0;
};

// /wallet/getdelegatedresourceaccountindexv2.
struct DelegationIndex {
  std::vector<common::Address> from_accounts;  // who delegated to this account
  std::vector<common::Address> to_accounts;    // whom this account delegated to
};

// /wallet/broadcasthex. `accepted` means "entered the pending pool" only; DUP_TRANSACTION_ERROR is
// reported as accepted with `duplicate` set, because the same bytes are already known.
struct BroadcastResult {
  bool accepted = false;
  bool duplicate = false;
  std::string
      code;  // "SUCCESS", "SIGERROR", "CONTRACT_VALIDATE_ERROR", "TRANSACTION_EXPIRATION_ERROR", …
  std::string message;  // decoded to UTF-8
  common::Hash32 txid{};
};

// /wallet/gettransactioninfobyid: present once the transaction is in a block.
struct TransactionInfo {
  common::Hash32 txid{};
  int64_t block_number = 0;
  int64_t block_timestamp_ms = 0;
  int64_t fee_sun = 0;
  bool failed = false;  // result == "FAILED"
  std::string
      receipt_result;   // receipt.result: "SUCCESS", "REVERT", "OUT_OF_ENERGY", … (may be empty)
  std::string message;  // resMessage decoded
  int64_t energy_usage_total = 0;
  int64_t energy_fee_sun = 0;
  int64_t net_usage = 0;
  int64_t net_fee_sun = 0;
};

// triggerconstantcontract / estimateenergy: what a call would cost.
struct EnergyEstimate {
  bool success = false;     // the call would not revert
  int64_t energy_used = 0;  // penalty included
  std::string message;      // the revert reason when !success
};

enum class ReadFrom { kHead, kSolidity };

class TronNode {
 public:
  virtual ~TronNode() = default;

  virtual common::Result<BlockRef> now_block(ReadFrom from = ReadFrom::kHead) = 0;
  virtual common::Result<std::optional<AccountInfo>> account(const common::Address& address,
                                                             ReadFrom from = ReadFrom::kHead) = 0;
  virtual common::Result<AccountResources> account_resources(const common::Address& address) = 0;
  virtual common::Result<ChainParameters> chain_parameters() = 0;
  // getcandelegatedmaxsize: what `owner` can delegate right now, in sun (0 below 1 TRX).
  virtual common::Result<int64_t> can_delegate_max_sun(const common::Address& owner,
                                                       Resource resource) = 0;
  virtual common::Result<std::vector<DelegatedResource>> delegated_resources(
      const common::Address& from, const common::Address& to,
      ReadFrom from_where = ReadFrom::kHead) = 0;
  virtual common::Result<DelegationIndex> delegation_index(const common::Address& account,
                                                           ReadFrom from = ReadFrom::kHead) = 0;
  // The whole signed Transaction message, exactly the bytes that were signed.
  virtual common::Result<BroadcastResult> broadcast(common::ByteView signed_transaction) = 0;
  virtual common::Result<std::optional<TransactionInfo>> transaction_info(
      const common::Hash32& txid, ReadFrom from = ReadFrom::kHead) = 0;
  // TRC20 and other calls: `data` is selector + ABI arguments.
  virtual common::Result<EnergyEstimate> estimate_energy(const common::Address& owner,
                                                         const common::Address& contract,
                                                         common::ByteView data) = 0;
};

}  // namespace relay::chain
