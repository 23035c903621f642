// Node: the devnet's chain as a running thing — the state behind one lock, block production on a
// wall-clock-tracking timeline (plus any time the tests advanced), broadcast into the pending pool,
// and the genesis that seeds it all.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "devnet/executor.h"

namespace relay::devnet {

struct GenesisAccount {
  common::Address address;
  int64_t balance_sun = 0;
  int64_t frozen_energy_sun = 0;
  int64_t frozen_bandwidth_sun = 0;
  int64_t usdt = 0;
};

struct Genesis {
  int64_t timestamp_ms = 0;  // 0 = the clock's now
  std::vector<GenesisAccount> accounts;
  // Stake of the rest of the network (whole TRX), so 1 TRX buys about as much energy as on mainnet.
  int64_t background_energy_weight_trx = 16'000'000'000;
  int64_t background_net_weight_trx = 40'000'000'000;
  std::vector<std::pair<std::string, int64_t>> parameters;
  // Stored permissions of genesis accounts that do not start with java-tron's defaults (owner and
  // one "active", id 2, both with the account's own key). Ids as the chain assigns them: owner 0,
  // actives 2, 3, … by position. Entries for addresses not in `accounts` are ignored.
  std::map<common::Address, chain::AccountPermissions> permissions;
};

// The genesis file (devnet/README.md has the full description):
// {"timestamp_ms"?,
//  "accounts":[{"address","balance_sun"?,"frozen_energy_sun"?,"frozen_bandwidth_sun"?,"usdt"?,
//               "owner_permission"?:{…},"active_permission"?:[{…}, …]}],
//  "background_energy_weight_trx"?, "background_net_weight_trx"?, "chain_parameters"?:{…}}
// Permissions are written as /wallet/getaccount prints them ("type", "id", "permission_name",
// "threshold", "operations" as 64 hex characters or a list of contract type numbers, "keys":
// [{"address","weight"}]) and checked by java-tron's AccountPermissionUpdate rules. Keys starting
// with "_" are comments; any other unknown key, bad value or bad permission is an error.
common::Result<Genesis> parse_genesis(std::string_view json_text);

class Node {
 public:
  static constexpr int64_t kDefaultSolidityDepth = 19;

  Node(const Genesis& genesis, const common::Clock& clock,
       int64_t solidity_depth = kDefaultSolidityDepth);
  // Restores a chain written by save_state (the genesis is ignored then).
  static common::Result<std::unique_ptr<Node>> load_state(
      std::string_view json_text, const common::Clock& clock,
      int64_t solidity_depth = kDefaultSolidityDepth);
  std::string save_state() const;

  // Seals the pending transactions into a new block at the current chain time.
  void produce_block();
  void mine(int64_t blocks);
  // Moves chain time forward, producing the 3-second blocks in between.
  void advance_time(int64_t seconds);

  ApplyResult broadcast(const chain::Transaction& tx);

  // Runs `f` on the state under the node's lock.
  template <typename F>
  auto read(F&& f) const {
    std::lock_guard lock(mutex_);
    return f(static_cast<const ChainState&>(state_));
  }
  template <typename F>
  auto write(F&& f) {
    std::lock_guard lock(mutex_);
    return f(state_);
  }

  int64_t solidity_depth() const { return solidity_depth_; }
  // Chain time now: the clock plus whatever advance_time added.
  int64_t now_ms() const;

 private:
  Node(const common::Clock& clock, int64_t solidity_depth);
  void seal_block_locked(int64_t timestamp_ms);

  const common::Clock& clock_;
  int64_t solidity_depth_;
  mutable std::mutex mutex_;
  ChainState state_;
  int64_t time_offset_ms_ = 0;
};

// Block id: SHA-256 of the serialized BlockHeader.raw with its first 8 bytes replaced by the
// number.
common::Hash32 block_id(const Block& block, const common::Address& witness);

}  // namespace relay::devnet
