// FakeTronNode: an in-memory chain::TronNode for unit tests of code above the chain port (pool
// onboarding, the monitor, leases). Tests script it: accounts with balances, stake and
// permissions, resources, chain parameters, the head block, what the next broadcast answers, and
// failures (the next call, or every call while the chain is "down"). Broadcasts are recorded and
// checked against the owner account's permissions like a node's SIGERROR check; mine() puts the
// accepted ones in a block and applies the few contracts tests need (permission updates, Stake 2.0
// freeze/unfreeze/delegate/undelegate). Thread-safe. Not a chain: for real rules use tron-devnet.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chain/permission.h"
#include "chain/tron_node.h"
#include "common/hash.h"

namespace relay::testing {

// java-tron's default operations for a new account's "active" permission (PROTOCOL.md §3.1): it
// does not include DelegateResource/UnDelegateResource (56..63 are clear).
inline common::Bytes default_active_operations() {
  common::Bytes ops(chain::kOperationsSize, 0);
  const uint8_t head[] = {0x7f, 0xff, 0x1f, 0xc0, 0x03, 0x3e};
  std::copy(std::begin(head), std::end(head), ops.begin());
  return ops;
}

// An account as getaccount shows a fresh one: default permissions (owner and "active" id 2 with
// its own key), the given balance and energy stake.
inline chain::AccountInfo make_account(const common::Address& address, int64_t balance_sun,
                                       int64_t frozen_energy_sun = 0) {
  chain::AccountInfo account;
  account.address = address;
  account.balance_sun = balance_sun;
  account.frozen_energy_sun = frozen_energy_sun;
  account.permissions =
      chain::AccountPermissions::defaults_for(address, default_active_operations());
  return account;
}

// An active permission as the chain stores it (id set by the caller's position).
inline protocol::Permission make_active(
    const std::string& name, int64_t threshold,
    const std::vector<std::pair<common::Address, int64_t>>& keys, const std::set<int>& operations) {
  protocol::Permission p;
  p.set_type(protocol::Permission::Active);
  p.set_permission_name(name);
  p.set_threshold(threshold);
  auto ops = chain::operations_bitmap(operations);
  p.set_operations(std::string(common::as_chars(*ops)));
  for (const auto& [address, weight] : keys) {
    auto* key = p.add_keys();
    key->set_address(address.proto_bytes());
    key->set_weight(weight);
  }
  return p;
}

class FakeTronNode final : public chain::TronNode {
 public:
  FakeTronNode() { set_head(1000, 1'700'000'000'000); }

  // --- scripting -----------------------------------------------------------------------------
  void set_head(int64_t number, int64_t timestamp_ms) {
    std::lock_guard lock(mutex_);
    head_.number = number;
    head_.timestamp_ms = timestamp_ms;
    head_.id = block_id(number);
  }
  chain::BlockRef head() {
    std::lock_guard lock(mutex_);
    return head_;
  }
  // Adds or replaces an account; actives get their positional ids.
  void put_account(chain::AccountInfo account) {
    std::lock_guard lock(mutex_);
    renumber(account.permissions);
    accounts_[account.address] = std::move(account);
  }
  void remove_account(const common::Address& address) {
    std::lock_guard lock(mutex_);
    accounts_.erase(address);
  }
  std::optional<chain::AccountInfo> get_account(const common::Address& address) {
    std::lock_guard lock(mutex_);
    auto it = accounts_.find(address);
    if (it == accounts_.end()) return std::nullopt;
    return it->second;
  }
  template <typename F>
  void update_account(const common::Address& address, F&& change) {
    std::lock_guard lock(mutex_);
    auto& account = accounts_.at(address);
    change(account);
    renumber(account.permissions);
  }
  void set_balance(const common::Address& address, int64_t balance_sun) {
    update_account(address, [&](chain::AccountInfo& a) { a.balance_sun = balance_sun; });
  }
  void set_actives(const common::Address& address, std::vector<protocol::Permission> actives) {
    update_account(address,
                   [&](chain::AccountInfo& a) { a.permissions.actives = std::move(actives); });
  }
  void set_resources(const common::Address& address, chain::AccountResources resources) {
    std::lock_guard lock(mutex_);
    resources_[address] = resources;
  }
  // getcandelegatedmaxsize; when not set, the account's frozen energy.
  void set_delegatable(const common::Address& address, int64_t sun) {
    std::lock_guard lock(mutex_);
    delegatable_[address] = sun;
  }
  void set_parameter(const std::string& key, int64_t value) {
    std::lock_guard lock(mutex_);
    params_.values[key] = value;
  }
  // What estimate_energy answers from now on (by default success with 64,285 energy, a USDT
  // transfer to a holder).
  void set_energy_estimate(chain::EnergyEstimate estimate) {
    std::lock_guard lock(mutex_);
    estimate_ = std::move(estimate);
  }
  void set_transaction_info(chain::TransactionInfo info) {
    std::lock_guard lock(mutex_);
    infos_[info.txid] = std::move(info);
  }
  // The answer of the next broadcast, instead of the built-in checks.
  void script_broadcast(chain::BroadcastResult result) {
    std::lock_guard lock(mutex_);
    scripted_broadcasts_.push_back(std::move(result));
  }
  // The next call of any method fails with `error`.
  void fail_next(common::Error error) {
    std::lock_guard lock(mutex_);
    fail_next_ = std::move(error);
  }
  // The next call of `method` ("account", "broadcast", … as named in calls()) fails with `error`.
  void fail_next(const std::string& method, common::Error error) {
    std::lock_guard lock(mutex_);
    fail_method_[method] = std::move(error);
  }
  // Every call fails while set (the chain is down).
  void set_down(std::optional<common::Error> error) {
    std::lock_guard lock(mutex_);
    down_ = std::move(error);
  }
  // Asked before every call with the method's name (as in calls()); an error fails that call. Lets
  // a test fail the N-th call across several fakes. Runs under the fake's lock: it must not call
  // back into this node.
  void set_call_hook(std::function<std::optional<common::Error>(const std::string&)> hook) {
    std::lock_guard lock(mutex_);
    call_hook_ = std::move(hook);
  }
  // The next `count` broadcasts that pass the checks answer SUCCESS but never reach a block (a
  // node that lost them, like tron-devnet's dropped-broadcast fault); their bytes stay unknown, so
  // sending them again is not a duplicate.
  void drop_broadcasts(int count) {
    std::lock_guard lock(mutex_);
    drop_broadcasts_ = count;
  }
  // The next broadcast is taken by the node as usual (it will be mined), but its answer is lost on
  // the way back: the caller gets `error`.
  void lose_next_broadcast_answer(common::Error error) {
    std::lock_guard lock(mutex_);
    lost_answer_ = std::move(error);
  }

  // --- observing -----------------------------------------------------------------------------
  std::vector<chain::Transaction> broadcasts() {
    std::lock_guard lock(mutex_);
    return broadcasts_;
  }
  // The bytes of every broadcast that reached the node, whatever it answered.
  std::vector<common::Bytes> sent_bytes() {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  int calls(const std::string& method) {
    std::lock_guard lock(mutex_);
    return calls_[method];
  }
  // The arguments of every estimate_energy call, in order.
  struct EstimateCall {
    common::Address owner;
    common::Address contract;
    common::Bytes data;
  };
  std::vector<EstimateCall> estimate_calls() {
    std::lock_guard lock(mutex_);
    return estimate_calls_;
  }

  // Puts every accepted, not yet mined broadcast in a new block (head + 1, +3 s) and applies it.
  void mine() {
    std::lock_guard lock(mutex_);
    head_.number += 1;
    head_.timestamp_ms += 3000;
    head_.id = block_id(head_.number);
    for (const auto& tx : pending_) {
      chain::TransactionInfo info;
      info.txid = tx.txid();
      info.block_number = head_.number;
      info.block_timestamp_ms = head_.timestamp_ms;
      apply(tx, info);
      infos_[tx.txid()] = info;
    }
    pending_.clear();
  }

  // --- chain::TronNode -------------------------------------------------------------------------
  common::Result<chain::BlockRef> now_block(chain::ReadFrom = chain::ReadFrom::kHead) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("now_block")) return *e;
    return head_;
  }
  common::Result<std::optional<chain::AccountInfo>> account(
      const common::Address& address, chain::ReadFrom = chain::ReadFrom::kHead) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("account")) return *e;
    auto it = accounts_.find(address);
    if (it == accounts_.end()) return std::optional<chain::AccountInfo>();
    return std::optional<chain::AccountInfo>(it->second);
  }
  common::Result<chain::AccountResources> account_resources(
      const common::Address& address) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("account_resources")) return *e;
    auto it = resources_.find(address);
    return it == resources_.end() ? chain::AccountResources{} : it->second;
  }
  common::Result<chain::ChainParameters> chain_parameters() override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("chain_parameters")) return *e;
    return params_;
  }
  common::Result<int64_t> can_delegate_max_sun(const common::Address& owner,
                                               chain::Resource resource) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("can_delegate_max_sun")) return *e;
    if (resource != protocol::ENERGY) return int64_t{0};
    if (auto it = delegatable_.find(owner); it != delegatable_.end()) return it->second;
    auto account = accounts_.find(owner);
    return account == accounts_.end() ? int64_t{0} : account->second.frozen_energy_sun;
  }
  // As getdelegatedresourcev2: an unlocked record and a locked one, each only when not empty.
  common::Result<std::vector<chain::DelegatedResource>> delegated_resources(
      const common::Address& from, const common::Address& to,
      chain::ReadFrom = chain::ReadFrom::kHead) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("delegated_resources")) return *e;
    std::vector<chain::DelegatedResource> out;
    auto it = pair_delegations_.find({from, to});
    if (it == pair_delegations_.end()) return out;
    const int64_t unlocked = pair_unlocked(from, to);
    const int64_t locked = it->second.unlocked + it->second.locked - unlocked;
    if (unlocked > 0) out.push_back({.from = from, .to = to, .energy_sun = unlocked});
    if (locked > 0) {
      out.push_back({.from = from,
                     .to = to,
                     .energy_sun = locked,
                     .energy_expire_ms = it->second.lock_end_ms});
    }
    return out;
  }
  common::Result<chain::DelegationIndex> delegation_index(
      const common::Address& account, chain::ReadFrom = chain::ReadFrom::kHead) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("delegation_index")) return *e;
    chain::DelegationIndex index;
    for (const auto& [pair, amounts] : pair_delegations_) {
      if (amounts.unlocked + amounts.locked <= 0) continue;
      if (pair.first == account) index.to_accounts.push_back(pair.second);
      if (pair.second == account) index.from_accounts.push_back(pair.first);
    }
    return index;
  }
  // A delegation made outside the code under test (by hand from the pool account): recorded per
  // pair, as a broadcast DelegateResource would be, without touching account balances.
  void delegate_by_hand(const common::Address& from, const common::Address& to, int64_t sun,
                        int64_t lock_end_ms = 0) {
    std::lock_guard lock(mutex_);
    add_pair_delegation(from, to, sun, lock_end_ms);
  }
  common::Result<chain::BroadcastResult> broadcast(common::ByteView signed_transaction) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("broadcast")) return *e;
    sent_.emplace_back(signed_transaction.begin(), signed_transaction.end());
    auto tx = chain::Transaction::decode_signed(signed_transaction);
    if (!tx.ok()) return refusal("OTHER_ERROR", tx.error().message, common::Hash32{});
    if (!scripted_broadcasts_.empty()) {
      auto result = scripted_broadcasts_.front();
      scripted_broadcasts_.pop_front();
      result.txid = tx->txid();
      if (result.accepted) record(*tx);
      return result;
    }
    for (const auto& seen : broadcasts_) {
      if (seen.txid() == tx->txid()) {
        return chain::BroadcastResult{.accepted = true,
                                      .duplicate = true,
                                      .code = "DUP_TRANSACTION_ERROR",
                                      .message = "dup trans",
                                      .txid = tx->txid()};
      }
    }
    if (tx->raw().expiration() <= head_.timestamp_ms) {
      return refusal("TRANSACTION_EXPIRATION_ERROR", "Transaction expired", tx->txid());
    }
    auto owner = accounts_.find(tx->owner());
    if (owner == accounts_.end()) {
      return refusal("CONTRACT_VALIDATE_ERROR", "Account[" + tx->owner().to_hex() + "] not exists",
                     tx->txid());
    }
    auto signature = chain::check_permission(owner->second.permissions, *tx,
                                             static_cast<int>(params_.total_sign_num()));
    if (!signature.ok()) {
      return refusal("SIGERROR", "Validate signature error: " + signature.error().message,
                     tx->txid());
    }
    if (drop_broadcasts_ > 0) {
      --drop_broadcasts_;
    } else {
      record(*tx);
    }
    if (lost_answer_) {
      auto out = std::move(*lost_answer_);
      lost_answer_.reset();
      return out;
    }
    return chain::BroadcastResult{
        .accepted = true, .duplicate = false, .code = "SUCCESS", .message = "", .txid = tx->txid()};
  }
  common::Result<std::optional<chain::TransactionInfo>> transaction_info(
      const common::Hash32& txid, chain::ReadFrom = chain::ReadFrom::kHead) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("transaction_info")) return *e;
    auto it = infos_.find(txid);
    if (it == infos_.end()) return std::optional<chain::TransactionInfo>();
    return std::optional<chain::TransactionInfo>(it->second);
  }
  common::Result<chain::EnergyEstimate> estimate_energy(const common::Address& owner,
                                                        const common::Address& contract,
                                                        common::ByteView data) override {
    std::lock_guard lock(mutex_);
    if (auto e = failure("estimate_energy")) return *e;
    estimate_calls_.push_back(
        EstimateCall{owner, contract, common::Bytes(data.begin(), data.end())});
    return estimate_;
  }

 private:
  // A block id starts with the block number, big-endian (what TaposRef::from_block checks).
  static common::Hash32 block_id(int64_t number) {
    std::string seed = "block-" + std::to_string(number);
    common::Hash32 id = common::sha256(common::as_bytes(seed));
    for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(number >> (8 * (7 - i)));
    return id;
  }
  static void renumber(chain::AccountPermissions& permissions) {
    permissions.owner.set_id(0);
    if (permissions.witness) permissions.witness->set_id(1);
    for (size_t i = 0; i < permissions.actives.size(); ++i) {
      permissions.actives[i].set_id(static_cast<int32_t>(i + 2));
    }
  }
  static chain::BroadcastResult refusal(std::string code, std::string message,
                                        const common::Hash32& txid) {
    return chain::BroadcastResult{.accepted = false,
                                  .duplicate = false,
                                  .code = std::move(code),
                                  .message = std::move(message),
                                  .txid = txid};
  }
  std::optional<common::Error> failure(const std::string& method) {
    ++calls_[method];
    if (call_hook_) {
      if (auto e = call_hook_(method)) return e;
    }
    if (down_) return down_;
    if (auto it = fail_method_.find(method); it != fail_method_.end()) {
      auto out = std::move(it->second);
      fail_method_.erase(it);
      return out;
    }
    if (fail_next_) {
      auto out = std::move(fail_next_);
      fail_next_.reset();
      return out;
    }
    return std::nullopt;
  }
  void record(const chain::Transaction& tx) {
    broadcasts_.push_back(tx);
    pending_.push_back(tx);
  }
  void apply(const chain::Transaction& tx, chain::TransactionInfo& info) {
    auto it = accounts_.find(tx.owner());
    if (it == accounts_.end()) {
      info.failed = true;
      info.message = "owner does not exist";
      return;
    }
    chain::AccountInfo& a = it->second;
    using protocol::Transaction_Contract;
    switch (tx.contract_type()) {
      case Transaction_Contract::AccountPermissionUpdateContract: {
        const auto& c = *tx.parameter_as<protocol::AccountPermissionUpdateContract>();
        int64_t fee = params_.update_account_permission_fee();
        if (a.balance_sun < fee) {
          info.failed = true;
          info.message = "balance is not sufficient";
          return;
        }
        a.balance_sun -= fee;
        info.fee_sun = fee;
        a.permissions.owner = c.owner();
        if (c.has_witness()) {
          a.permissions.witness = c.witness();
        } else {
          a.permissions.witness.reset();
        }
        a.permissions.actives.assign(c.actives().begin(), c.actives().end());
        renumber(a.permissions);
        break;
      }
      case Transaction_Contract::FreezeBalanceV2Contract: {
        int64_t amount = tx.parameter_as<protocol::FreezeBalanceV2Contract>()->frozen_balance();
        a.balance_sun -= amount;
        a.frozen_energy_sun += amount;
        break;
      }
      case Transaction_Contract::UnfreezeBalanceV2Contract: {
        int64_t amount = tx.parameter_as<protocol::UnfreezeBalanceV2Contract>()->unfreeze_balance();
        a.frozen_energy_sun -= amount;
        a.unfreezing_sun += amount;
        break;
      }
      case Transaction_Contract::DelegateResourceContract: {
        const auto& c = *tx.parameter_as<protocol::DelegateResourceContract>();
        int64_t amount = c.balance();
        a.frozen_energy_sun -= amount;
        a.delegated_energy_sun += amount;
        if (auto to = common::Address::from_bytes(common::as_bytes(c.receiver_address()));
            to.ok()) {
          const int64_t lock_end =
              c.lock()
                  ? head_.timestamp_ms + (c.lock_period() == 0 ? 86'400 : c.lock_period()) * 3'000
                  : 0;
          add_pair_delegation(tx.owner(), *to, amount, lock_end);
        }
        break;
      }
      case Transaction_Contract::UnDelegateResourceContract: {
        const auto& c = *tx.parameter_as<protocol::UnDelegateResourceContract>();
        int64_t amount = c.balance();
        auto to = common::Address::from_bytes(common::as_bytes(c.receiver_address()));
        if (!to.ok()) {
          info.failed = true;
          info.message = "Invalid receiverAddress";
          return;
        }
        const int64_t unlocked = pair_unlocked(tx.owner(), *to);
        if (amount > unlocked) {
          info.failed = true;
          info.message =
              "insufficient delegateFrozenBalance(Energy), request=" + std::to_string(amount) +
              ", unlock_balance=" + std::to_string(unlocked);
          return;
        }
        a.frozen_energy_sun += amount;
        a.delegated_energy_sun -= amount;
        pair_delegations_[{tx.owner(), *to}].unlocked -= amount;
        break;
      }
      default:
        break;
    }
  }

  std::mutex mutex_;
  chain::BlockRef head_;
  std::map<common::Address, chain::AccountInfo> accounts_;
  std::map<common::Address, chain::AccountResources> resources_;
  std::map<common::Address, int64_t> delegatable_;
  // Energy stake per (from, to): the unlocked part, and a locked part until lock_end_ms.
  struct PairDelegation {
    int64_t unlocked = 0;
    int64_t locked = 0;
    int64_t lock_end_ms = 0;
  };
  std::map<std::pair<common::Address, common::Address>, PairDelegation> pair_delegations_;
  void add_pair_delegation(const common::Address& from, const common::Address& to, int64_t sun,
                           int64_t lock_end_ms) {
    PairDelegation& pair = pair_delegations_[{from, to}];
    if (lock_end_ms > head_.timestamp_ms) {
      pair.locked += sun;
      pair.lock_end_ms = std::max(pair.lock_end_ms, lock_end_ms);
    } else {
      pair.unlocked += sun;
    }
  }
  // What UnDelegateResource may take now: the unlocked part, and the locked one once its lock
  // ended.
  int64_t pair_unlocked(const common::Address& from, const common::Address& to) {
    auto it = pair_delegations_.find({from, to});
    if (it == pair_delegations_.end()) return 0;
    PairDelegation& pair = it->second;
    if (pair.locked > 0 && pair.lock_end_ms <= head_.timestamp_ms) {
      pair.unlocked += pair.locked;
      pair.locked = 0;
    }
    return pair.unlocked;
  }
  chain::ChainParameters params_;
  std::map<common::Hash32, chain::TransactionInfo> infos_;
  chain::EnergyEstimate estimate_{.success = true, .energy_used = 64'285, .message = ""};
  std::vector<EstimateCall> estimate_calls_;
  std::deque<chain::BroadcastResult> scripted_broadcasts_;
  std::vector<chain::Transaction> broadcasts_;
  std::vector<chain::Transaction> pending_;
  std::map<std::string, int> calls_;
  std::optional<common::Error> fail_next_;
  std::map<std::string, common::Error> fail_method_;
  std::optional<common::Error> down_;
  std::function<std::optional<common::Error>(const std::string&)> call_hook_;
  std::vector<common::Bytes> sent_;
  int drop_broadcasts_ = 0;
  std::optional<common::Error> lost_answer_;
};

}  // namespace relay::testing
