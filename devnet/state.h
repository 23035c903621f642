// ChainState: everything the devnet's chain holds — accounts with their Stake 2.0 resources and
// permissions, delegation records, the native USDT ledger, blocks and transactions. Plain data; the
// rules that change it live in Executor, the clock and block production in Node.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chain/permission.h"
#include "chain/transaction.h"
#include "common/address.h"
#include "devnet/params.h"

namespace relay::devnet {

inline constexpr int64_t kSunPerTrx = 1'000'000;
inline constexpr int64_t kBlockIntervalMs = 3'000;
// Usage recovers linearly to zero over this window (java-tron: 28,800 slots of 3 s).
inline constexpr int64_t kResourceWindowMs = 86'400'000;

// Resource usage that decays linearly to zero over kResourceWindowMs after its last use.
struct Usage {
  int64_t amount = 0;
  int64_t latest_ms = 0;

  int64_t at(int64_t now_ms) const;            // decayed usage at `now_ms`
  void consume(int64_t used, int64_t now_ms);  // decay, then add
};

struct UnfreezeEntry {
  chain::Resource resource = protocol::BANDWIDTH;
  int64_t amount = 0;
  int64_t expire_ms = 0;
};

struct Account {
  common::Address address;
  int64_t balance = 0;
  int64_t create_time_ms = 0;
  bool is_contract = false;
  // Stored permissions; ids assigned by position (owner 0, actives 2..).
  chain::AccountPermissions permissions;

  int64_t frozen_energy = 0;  // own FreezeV2 stake not delegated away
  int64_t frozen_bandwidth = 0;
  int64_t delegated_energy = 0;  // own stake delegated to others
  int64_t delegated_bandwidth = 0;
  int64_t acquired_energy = 0;  // stake others delegated to this account
  int64_t acquired_bandwidth = 0;
  std::vector<UnfreezeEntry> unfreezing;

  Usage energy;
  Usage net;       // staked bandwidth
  Usage free_net;  // the daily free allowance
};

// One delegation record; locked and unlocked delegations between the same pair are two records.
struct DelegationKey {
  common::Address from;
  common::Address to;
  bool locked = false;
  auto operator<=>(const DelegationKey&) const = default;
};

struct Delegation {
  int64_t energy = 0;
  int64_t energy_expire_ms = 0;
  int64_t bandwidth = 0;
  int64_t bandwidth_expire_ms = 0;
};

struct Block {
  int64_t number = 0;
  common::Hash32 id{};
  common::Hash32 parent{};
  int64_t timestamp_ms = 0;
  common::Hash32 tx_root{};
  std::vector<common::Hash32> txids;
};

struct LogEntry {
  common::Address contract;
  std::vector<common::Hash32> topics;
  common::Bytes data;
};

// What gettransactioninfobyid reports once the transaction is in a block.
struct Receipt {
  int64_t fee = 0;  // every sun burned: bandwidth, energy, account creation, permission/memo fees
  int64_t energy_usage = 0;        // energy paid from the caller's stake
  int64_t energy_fee = 0;          // sun burned for energy
  int64_t energy_usage_total = 0;  // all energy the call used
  int64_t net_usage = 0;           // bandwidth points paid from stake or the free allowance
  int64_t net_fee = 0;             // sun burned for bandwidth
  std::string contract_result;     // TVM: "SUCCESS", "REVERT", "OUT_OF_ENERGY"; empty otherwise
  bool failed = false;             // tx included but its contract failed
  common::Bytes return_value;      // contractResult[0]
  std::vector<LogEntry> logs;
  std::string res_message;
  int64_t withdraw_expire_amount = 0;  // matured unfreezes paid back to the balance
  // CancelAllUnfreezeV2: what went back into stake, per resource.
  int64_t cancel_unfreeze_bandwidth = 0;
  int64_t cancel_unfreeze_energy = 0;
};

struct TxRecord {
  chain::Transaction tx;
  Receipt receipt;
  std::optional<int64_t> block_number;  // set once included
  int64_t block_time_ms = 0;
};

struct ChainState {
  ChainParameters params;
  std::map<common::Address, Account> accounts;
  std::map<DelegationKey, Delegation> delegations;
  // java-tron's DelegatedResourceAccountIndex (v2): (from, to) → time of the latest delegation
  // between them, kept while either record exists; getdelegatedresourceaccountindexv2 sorts by it.
  std::map<std::pair<common::Address, common::Address>, int64_t> delegation_index;
  std::map<common::Address, int64_t> usdt_balances;
  // Whole TRX staked for each resource, including the background stake of the rest of the network
  // that makes the energy-per-TRX ratio look like mainnet's.
  int64_t total_energy_weight = 0;
  int64_t total_net_weight = 0;
  std::vector<Block> blocks;
  std::map<common::Hash32, TxRecord> transactions;
  std::vector<common::Hash32> pending;

  const Block& head() const { return blocks.back(); }
  Account* find_account(const common::Address& address);
  const Account* find_account(const common::Address& address) const;
};

// The USDT contract the devnet runs natively, at its mainnet address.
const common::Address& usdt_address();

}  // namespace relay::devnet
