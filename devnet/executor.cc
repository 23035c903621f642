#include "devnet/executor.h"

#include <algorithm>
#include <utility>

#include "chain/abi.h"
#include "devnet/resources.h"

namespace relay::devnet {

using chain::Transaction;
using common::Address;
using common::make_error;
using common::Status;

namespace {

constexpr int64_t kMaxExpirationAheadMs = 86'400'000;
constexpr size_t kTaposWindow = 65'536;
constexpr int64_t kMaxUnfreezingEntries = 32;
// keccak256("Transfer(address,address,uint256)")
constexpr uint8_t kTransferTopic[32] = {
    0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
    0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef};

common::Error invalid(std::string message) {
  return make_error("contract_validate", std::move(message));
}

std::string hex_of(const Address& address) { return address.to_hex(); }

BroadcastError refuse(const char* code, std::string message) {
  return BroadcastError{code, std::move(message)};
}

Address address_of(const std::string& bytes) {
  return *Address::from_bytes(common::as_bytes(bytes));  // the decoder checked every address field
}

common::Hash32 word_of(const Address& address) {
  common::Hash32 word{};
  auto id = address.id20();
  std::copy(id.begin(), id.end(), word.begin() + 12);
  return word;
}

common::Bytes uint_word(int64_t value) {
  auto word = chain::Uint256::from_u64(static_cast<uint64_t>(value)).word();
  return common::Bytes(word.begin(), word.end());
}

// How one transaction's bandwidth gets paid, decided before anything changes.
struct NetPlan {
  enum class Source { kStaked, kFree, kBurn, kCreateAccountStaked, kCreateAccountBurn } source;
  int64_t bytes = 0;
  int64_t fee = 0;
};

// The effect of a TVM call, decided before anything changes.
struct TvmPlan {
  std::string result = "SUCCESS";
  int64_t energy_from_stake = 0;
  int64_t energy_burned_sun = 0;
  int64_t energy_total = 0;
  bool transfer = false;
  Address to;
  int64_t amount = 0;
  common::Bytes return_value;
  std::string message;
};

}  // namespace

common::Bytes default_active_operations() {
  common::Bytes ops(32, 0);
  const uint8_t prefix[] = {0x7f, 0xff, 0x1f, 0xc0, 0x03, 0x3e, 0xfb, 0x0f};
  std::copy(std::begin(prefix), std::end(prefix), ops.begin());
  return ops;
}

chain::AccountPermissions permissions_of(const ChainState& state, const Address& address) {
  const Account* account = state.find_account(address);
  if (account != nullptr) return account->permissions;
  return chain::AccountPermissions::defaults_for(address, default_active_operations());
}

ConstantCall call_constant(const ChainState& state, const Address& caller, const Address& contract,
                           common::ByteView data) {
  ConstantCall out;
  if (contract != usdt_address()) {
    out.ok = false;
    out.message = "No contract or not a smart contract";
    return out;
  }
  auto balance_of = [&](const Address& a) {
    auto it = state.usdt_balances.find(a);
    return it == state.usdt_balances.end() ? int64_t{0} : it->second;
  };
  if (data.size() >= 4 &&
      std::equal(chain::kTransferSelector.begin(), chain::kTransferSelector.end(), data.begin())) {
    auto transfer = chain::decode_trc20_transfer(data);
    if (!transfer.ok()) {
      out = {false, "REVERT opcode executed", kUsdtRevertEnergy, {}};
      return out;
    }
    auto amount = transfer->amount.to_int64();
    if (!amount.ok() || *amount > balance_of(caller)) {
      out = {false, "REVERT opcode executed", kUsdtRevertEnergy, {}};
      return out;
    }
    out.energy_used =
        balance_of(transfer->to) > 0 ? kUsdtTransferEnergyToHolder : kUsdtTransferEnergyToNewHolder;
    out.result = uint_word(1);
    return out;
  }
  const uint8_t kBalanceOf[] = {0x70, 0xa0, 0x82, 0x31};
  const uint8_t kDecimals[] = {0x31, 0x3c, 0xe5, 0x67};
  out.energy_used = kUsdtViewEnergy;
  if (data.size() == 36 && std::equal(std::begin(kBalanceOf), std::end(kBalanceOf), data.begin())) {
    out.result = uint_word(balance_of(Address::from_id20(data.subspan(16, 20))));
    return out;
  }
  if (data.size() == 4 && std::equal(std::begin(kDecimals), std::end(kDecimals), data.begin())) {
    out.result = uint_word(6);
    return out;
  }
  out = {false, "REVERT opcode executed", kUsdtRevertEnergy, {}};
  return out;
}

namespace {

// ---- per-contract validation (java-tron's actuator validate steps) ----

// Committee switches the actuators check before anything else (java-tron DynamicPropertiesStore).
bool supports_unfreeze_delay(const ChainState& state) {
  return state.params.unfreeze_delay_days() > 0;
}
bool supports_delegate_resource(const ChainState& state) {
  return state.params.get("getAllowDelegateResource") == 1;
}
bool supports_max_delegate_lock_period(const ChainState& state) {
  return state.params.max_delegate_lock_period() > 86'400 && supports_unfreeze_delay(state);
}
bool supports_cancel_all_unfreeze(const ChainState& state) {
  return state.params.get("getAllowCancelAllUnfreezeV2") == 1 && supports_unfreeze_delay(state);
}

// The lock a new delegation gets, in 3-second slots: the requested period once the committee
// raised the maximum, 3 days before that or when 0 is asked for.
int64_t lock_period_slots(const ChainState& state, int64_t requested) {
  constexpr int64_t kDefaultLockSlots = 86'400;
  if (!supports_max_delegate_lock_period(state) || requested == 0) return kDefaultLockSlots;
  return requested;
}

// Matured unfreezes: what WithdrawExpireUnfreeze (and the next UnfreezeBalanceV2) pays out.
int64_t withdrawable(const Account& account, int64_t now_ms) {
  int64_t total = 0;
  for (const auto& entry : account.unfreezing) {
    if (entry.amount > 0 && entry.expire_ms <= now_ms) total += entry.amount;
  }
  return total;
}

Status validate_transfer(const ChainState& state, const protocol::TransferContract& c) {
  Address owner = address_of(c.owner_address());
  Address to = address_of(c.to_address());
  const Account* from = state.find_account(owner);
  if (from == nullptr) return invalid("Validate TransferContract error, no OwnerAccount.");
  if (owner == to) return invalid("Cannot transfer TRX to yourself.");
  if (c.amount() <= 0) return invalid("Amount must be greater than 0.");
  int64_t fee = state.find_account(to) == nullptr
                    ? state.params.create_new_account_fee_in_system_contract()
                    : 0;
  const Account* receiver = state.find_account(to);
  if (receiver != nullptr && receiver->is_contract &&
      state.params.get("getForbidTransferToContract") == 1) {
    return invalid("Cannot transfer TRX to a smartContract.");
  }
  if (from->balance < c.amount() + fee) {
    return invalid("Validate TransferContract error, balance is not sufficient.");
  }
  return {};
}

Status validate_freeze(const ChainState& state, const protocol::FreezeBalanceV2Contract& c) {
  if (!supports_unfreeze_delay(state)) {
    return invalid("Not support FreezeV2 transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Account[" + hex_of(owner) + "] not exists");
  if (c.frozen_balance() <= 0) return invalid("frozenBalance must be positive");
  if (c.frozen_balance() < kSunPerTrx)
    return invalid("frozenBalance must be greater than or equal to 1 TRX");
  if (c.frozen_balance() > account->balance) {
    return invalid("frozenBalance must be less than or equal to accountBalance");
  }
  if (c.resource() != protocol::BANDWIDTH && c.resource() != protocol::ENERGY) {
    return invalid("ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY]");
  }
  return {};
}

Status validate_unfreeze(const ChainState& state, const protocol::UnfreezeBalanceV2Contract& c,
                         int64_t now_ms) {
  if (!supports_unfreeze_delay(state)) {
    return invalid("Not support UnfreezeV2 transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Account[" + hex_of(owner) + "] does not exist");
  if (c.resource() != protocol::BANDWIDTH && c.resource() != protocol::ENERGY) {
    return invalid("ResourceCode error.valid ResourceCode[BANDWIDTH、Energy]");
  }
  int64_t frozen =
      c.resource() == protocol::ENERGY ? account->frozen_energy : account->frozen_bandwidth;
  if (frozen <= 0) {
    return invalid(std::string("no frozenBalance(") +
                   (c.resource() == protocol::ENERGY ? "Energy" : "BANDWIDTH") + ")");
  }
  if (c.unfreeze_balance() <= 0 || c.unfreeze_balance() > frozen) {
    return invalid("Invalid unfreeze_balance, [" + std::to_string(c.unfreeze_balance()) +
                   "] is error");
  }
  int64_t pending = std::count_if(account->unfreezing.begin(), account->unfreezing.end(),
                                  [&](const UnfreezeEntry& e) { return e.expire_ms > now_ms; });
  if (pending >= kMaxUnfreezingEntries)
    return invalid("Invalid unfreeze operation, unfreezing times is over limit");
  return {};
}

Status validate_withdraw_expire_unfreeze(const ChainState& state,
                                         const protocol::WithdrawExpireUnfreezeContract& c,
                                         int64_t now_ms) {
  if (!supports_unfreeze_delay(state)) {
    return invalid(
        "Not support WithdrawExpireUnfreeze transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Account[" + hex_of(owner) + "] not exists");
  int64_t amount = withdrawable(*account, now_ms);
  // The trailing space is java-tron's.
  if (amount <= 0) return invalid("no unFreeze balance to withdraw ");
  int64_t sum = 0;
  if (__builtin_add_overflow(account->balance, amount, &sum)) return invalid("long overflow");
  return {};
}

Status validate_cancel_all_unfreeze(const ChainState& state,
                                    const protocol::CancelAllUnfreezeV2Contract& c) {
  if (!supports_cancel_all_unfreeze(state)) {
    return invalid(
        "Not support CancelAllUnfreezeV2 transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Account[" + hex_of(owner) + "] not exists");
  if (account->unfreezing.empty()) return invalid("No unfreezeV2 list to cancel");
  return {};
}

Status validate_delegate(const ChainState& state, const protocol::DelegateResourceContract& c,
                         int64_t now_ms, ValidateFor caller) {
  if (!supports_delegate_resource(state)) return invalid("No support for resource delegate");
  if (!supports_unfreeze_delay(state)) {
    return invalid("Not support Delegate resource transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Account[" + hex_of(owner) + "] not exists");
  if (c.balance() < kSunPerTrx)
    return invalid("delegateBalance must be greater than or equal to 1 TRX");
  bool energy = c.resource() == protocol::ENERGY;
  if (c.resource() != protocol::BANDWIDTH && !energy) {
    return invalid("ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY]");
  }
  int64_t extra_net_bytes = !energy && caller == ValidateFor::kBuilder
                                ? delegate_bandwidth_estimate(state, account->frozen_bandwidth)
                                : 0;
  if (c.balance() > delegatable_stake(state, *account, c.resource(), now_ms, extra_net_bytes)) {
    return invalid(
        energy
            ? "delegateBalance must be less than or equal to available FreezeEnergyV2 balance"
            : "delegateBalance must be less than or equal to available FreezeBandwidthV2 balance");
  }
  if (c.receiver_address().empty()) return invalid("Invalid receiverAddress");
  Address receiver = address_of(c.receiver_address());
  if (receiver == owner) return invalid("receiverAddress must not be the same as ownerAddress");
  const Account* to = state.find_account(receiver);
  if (to == nullptr) return invalid("Account[" + hex_of(receiver) + "] not exists");
  if (c.lock() && supports_max_delegate_lock_period(state)) {
    int64_t max_period = state.params.max_delegate_lock_period();
    if (c.lock_period() < 0 || c.lock_period() > max_period) {
      return invalid(
          "The lock period of delegate resource cannot be less than 0 and cannot exceed " +
          std::to_string(max_period) + "!");
    }
    auto it = state.delegations.find(DelegationKey{owner, receiver, true});
    if (it != state.delegations.end()) {
      int64_t period = lock_period_slots(state, c.lock_period());
      int64_t expire = energy ? it->second.energy_expire_ms : it->second.bandwidth_expire_ms;
      int64_t remaining = expire - now_ms;
      if (period * kBlockIntervalMs < remaining) {
        std::string name = energy ? "ENERGY" : "BANDWIDTH";
        return invalid("The lock period for " + name +
                       " this time cannot be less than the remaining time[" +
                       std::to_string(remaining) + "ms] of the last lock period for " + name + "!");
      }
    }
  }
  if (to->is_contract) return invalid("Do not allow delegate resources to contract addresses");
  return {};
}

// Stake the owner may take back from `receiver` now: the unlocked record plus a lock that ended
// strictly before now.
int64_t undelegatable(const ChainState& state, const Address& owner, const Address& receiver,
                      bool energy, int64_t now_ms) {
  int64_t total = 0;
  for (bool locked : {false, true}) {
    auto it = state.delegations.find(DelegationKey{owner, receiver, locked});
    if (it == state.delegations.end()) continue;
    int64_t amount = energy ? it->second.energy : it->second.bandwidth;
    int64_t expire = energy ? it->second.energy_expire_ms : it->second.bandwidth_expire_ms;
    if (!locked || expire < now_ms) total += amount;
  }
  return total;
}

Status validate_undelegate(const ChainState& state, const protocol::UnDelegateResourceContract& c,
                           int64_t now_ms) {
  if (!supports_delegate_resource(state)) return invalid("No support for resource delegate");
  if (!supports_unfreeze_delay(state)) {
    return invalid(
        "Not support unDelegate resource transaction, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  if (state.find_account(owner) == nullptr)
    return invalid("Account[" + hex_of(owner) + "] does not exist");
  if (c.receiver_address().empty()) return invalid("Invalid receiverAddress");
  Address receiver = address_of(c.receiver_address());
  if (receiver == owner) return invalid("receiverAddress must not be the same as ownerAddress");
  bool any = state.delegations.contains(DelegationKey{owner, receiver, false}) ||
             state.delegations.contains(DelegationKey{owner, receiver, true});
  if (!any) return invalid("delegated Resource does not exist");
  if (c.balance() <= 0) return invalid("unDelegateBalance must be more than 0 TRX");
  bool energy = c.resource() == protocol::ENERGY;
  if (c.resource() != protocol::BANDWIDTH && !energy) {
    return invalid("ResourceCode error.valid ResourceCode[BANDWIDTH、Energy]");
  }
  int64_t available = undelegatable(state, owner, receiver, energy, now_ms);
  if (c.balance() > available) {
    return invalid(
        energy ? "insufficient delegateFrozenBalance(Energy), request=" +
                     std::to_string(c.balance()) + ", unlock_balance=" + std::to_string(available)
               : "insufficient delegatedFrozenBalance(BANDWIDTH), request=" +
                     std::to_string(c.balance()) + ", unlock_balance=" + std::to_string(available));
  }
  return {};
}

Status validate_permission_update(const ChainState& state,
                                  const protocol::AccountPermissionUpdateContract& c) {
  if (state.params.get("getAllowMultiSign") != 1) {
    return invalid("multi sign is not allowed, need to be opened by the committee");
  }
  Address owner = address_of(c.owner_address());
  if (state.find_account(owner) == nullptr) return invalid("ownerAddress account does not exist");
  int total_sign_num = static_cast<int>(state.params.total_sign_num());
  if (!c.has_owner()) return invalid("owner permission is missed");
  if (c.has_witness()) return invalid("account isn't witness can't set witness permission");
  if (c.actives_size() == 0) return invalid("active permission is missed");
  if (c.actives_size() > 8) return invalid("active permission is too many");
  if (c.owner().type() != protocol::Permission::Owner)
    return invalid("owner permission type is error");
  auto owner_ok = chain::validate_permission(c.owner(), total_sign_num);
  if (!owner_ok.ok()) return invalid(owner_ok.error().message);
  for (const auto& active : c.actives()) {
    if (active.type() != protocol::Permission::Active)
      return invalid("active permission type is error");
    auto ok = chain::validate_permission(active, total_sign_num);
    if (!ok.ok()) return invalid(ok.error().message);
  }
  return {};
}

Status validate_trigger(const ChainState& state, const protocol::TriggerSmartContract& c) {
  Address owner = address_of(c.owner_address());
  const Account* account = state.find_account(owner);
  if (account == nullptr) return invalid("Validate InternalTransfer error, no OwnerAccount.");
  if (c.contract_address().empty() || address_of(c.contract_address()) != usdt_address()) {
    return invalid("No contract or not a smart contract");
  }
  if (c.call_value() < 0) return invalid("callValue must be >= 0");
  if (c.call_value() > account->balance) {
    return invalid("Validate InternalTransfer error, balance is not sufficient.");
  }
  return {};
}

// ---- state changes shared by several actuators ----

// Adds `delta` to the account's own FreezeV2 stake. The network weight moves by the change in
// whole TRX of own plus lent-out stake, floored before and after, as java-tron counts it.
void restake(ChainState& state, Account& account, bool energy, int64_t delta) {
  int64_t& frozen = energy ? account.frozen_energy : account.frozen_bandwidth;
  int64_t lent = energy ? account.delegated_energy : account.delegated_bandwidth;
  int64_t before = (frozen + lent) / kSunPerTrx;
  frozen += delta;
  int64_t after = (frozen + lent) / kSunPerTrx;
  (energy ? state.total_energy_weight : state.total_net_weight) += after - before;
}

// Pays matured unfreezes back to the balance and drops them; returns the amount.
int64_t withdraw_matured(Account& account, int64_t now_ms) {
  int64_t amount = withdrawable(account, now_ms);
  std::erase_if(account.unfreezing, [&](const UnfreezeEntry& e) { return e.expire_ms <= now_ms; });
  account.balance += amount;
  return amount;
}

// java-tron DelegatedResourceStore.unLockExpireResource, run before every delegate and undelegate
// between the pair: amounts whose lock ended strictly before now move into the unlocked record.
void unlock_expired(ChainState& state, const Address& from, const Address& to, int64_t now_ms) {
  auto locked = state.delegations.find(DelegationKey{from, to, true});
  if (locked == state.delegations.end()) return;
  Delegation& lock = locked->second;
  if (lock.energy_expire_ms >= now_ms && lock.bandwidth_expire_ms >= now_ms) return;
  Delegation moved;
  if (lock.energy_expire_ms < now_ms) {
    moved.energy = std::exchange(lock.energy, 0);
    lock.energy_expire_ms = 0;
  }
  if (lock.bandwidth_expire_ms < now_ms) {
    moved.bandwidth = std::exchange(lock.bandwidth, 0);
    lock.bandwidth_expire_ms = 0;
  }
  if (lock.energy == 0 && lock.bandwidth == 0) state.delegations.erase(locked);
  // An empty unlocked record is invisible to every query and check, so none is created.
  if (moved.energy == 0 && moved.bandwidth == 0) return;
  Delegation& unlocked = state.delegations[DelegationKey{from, to, false}];
  unlocked.energy += moved.energy;
  unlocked.bandwidth += moved.bandwidth;
}

}  // namespace

Status validate_contract(const ChainState& state_, const Transaction& tx, int64_t now_ms,
                         ValidateFor caller) {
  using protocol::Transaction_Contract;
  switch (tx.contract_type()) {
    case Transaction_Contract::TransferContract:
      return validate_transfer(state_, *tx.parameter_as<protocol::TransferContract>());
    case Transaction_Contract::FreezeBalanceV2Contract:
      return validate_freeze(state_, *tx.parameter_as<protocol::FreezeBalanceV2Contract>());
    case Transaction_Contract::UnfreezeBalanceV2Contract:
      return validate_unfreeze(state_, *tx.parameter_as<protocol::UnfreezeBalanceV2Contract>(),
                               now_ms);
    case Transaction_Contract::WithdrawExpireUnfreezeContract:
      return validate_withdraw_expire_unfreeze(
          state_, *tx.parameter_as<protocol::WithdrawExpireUnfreezeContract>(), now_ms);
    case Transaction_Contract::CancelAllUnfreezeV2Contract:
      return validate_cancel_all_unfreeze(
          state_, *tx.parameter_as<protocol::CancelAllUnfreezeV2Contract>());
    case Transaction_Contract::DelegateResourceContract:
      return validate_delegate(state_, *tx.parameter_as<protocol::DelegateResourceContract>(),
                               now_ms, caller);
    case Transaction_Contract::UnDelegateResourceContract:
      return validate_undelegate(state_, *tx.parameter_as<protocol::UnDelegateResourceContract>(),
                                 now_ms);
    case Transaction_Contract::AccountPermissionUpdateContract:
      return validate_permission_update(
          state_, *tx.parameter_as<protocol::AccountPermissionUpdateContract>());
    case Transaction_Contract::TriggerSmartContract: {
      int64_t max_fee_limit = state_.params.max_fee_limit();
      if (tx.raw().fee_limit() < 0 || tx.raw().fee_limit() > max_fee_limit) {
        return invalid("feeLimit must be >= 0 and <= " + std::to_string(max_fee_limit));
      }
      return validate_trigger(state_, *tx.parameter_as<protocol::TriggerSmartContract>());
    }
    default:
      return invalid("contract type " + chain::contract_type_name(tx.contract_type()) +
                     " is not supported by the devnet");
  }
}

ApplyResult Executor::apply(const Transaction& tx, int64_t now_ms,
                            const chain::RecoveredSigners& signers) {
  const Block& head = state_.head();
  const auto& raw = tx.raw();
  // Wallet.broadcastTransaction refuses what cannot make the next block before anything else.
  if (raw.expiration() < head.timestamp_ms + kBlockIntervalMs) {
    return refuse("TRANSACTION_EXPIRATION_ERROR", "Transaction expired");
  }
  // Manager.pushTransaction checks the signature first, then processTransaction the rest in order.
  auto signature = chain::check_permission(permissions_of(state_, tx.owner()), tx, signers,
                                           static_cast<int>(state_.params.total_sign_num()));
  if (!signature.ok()) {
    return refuse("SIGERROR", "Validate signature error: " + signature.error().message);
  }

  // TaPoS: the referenced block must be one of the last 65,536 on this chain.
  int64_t ref_low16 = (static_cast<uint8_t>(raw.ref_block_bytes()[0]) << 8) |
                      static_cast<uint8_t>(raw.ref_block_bytes()[1]);
  bool tapos_ok = false;
  for (int64_t number = head.number - (head.number & 0xffff) + ref_low16; number >= 0;
       number -= 0x10000) {
    if (number > head.number) continue;
    if (head.number - number >= static_cast<int64_t>(kTaposWindow)) break;
    const Block& block = state_.blocks[static_cast<size_t>(number)];
    auto ref_hash = common::as_bytes(raw.ref_block_hash());
    tapos_ok = std::equal(ref_hash.begin(), ref_hash.end(), block.id.begin() + 8);
    break;
  }
  if (!tapos_ok) return refuse("TAPOS_ERROR", "Tapos check error.");

  common::Bytes signed_bytes = tx.encode_signed();
  int64_t size = static_cast<int64_t>(signed_bytes.size());
  if (size + 64 + 64 > static_cast<int64_t>(Transaction::kMaxSize)) {
    return refuse("TOO_BIG_TRANSACTION_ERROR",
                  "Too big transaction with result, TxId " + tx.txid_hex() + ", the size is " +
                      std::to_string(size + 128) + " bytes, maxTxSize 512000");
  }
  if (raw.expiration() <= head.timestamp_ms ||
      raw.expiration() > head.timestamp_ms + kMaxExpirationAheadMs) {
    return refuse("TRANSACTION_EXPIRATION_ERROR", "Transaction expired");
  }
  if (state_.transactions.contains(tx.txid())) {
    return refuse("DUP_TRANSACTION_ERROR", "Dup transaction.");
  }

  // Bandwidth, paid by the contract's owner: create-account path, then stake, free allowance, burn.
  Account* payer = state_.find_account(tx.owner());
  if (payer == nullptr) {
    return refuse("CONTRACT_VALIDATE_ERROR", "Contract validate error : account [" +
                                                 tx.owner().to_base58() + "] does not exist");
  }
  NetPlan net;
  net.bytes = size + 64;
  bool creates_account = false;
  if (const auto* transfer = tx.parameter_as<protocol::TransferContract>()) {
    creates_account = state_.find_account(address_of(transfer->to_address())) == nullptr;
  }
  if (creates_account) {
    int64_t limit = state_.params.get("getMaxCreateAccountTxSize");
    int64_t unsigned_size = size - 65 * static_cast<int64_t>(tx.signatures().size());
    if (unsigned_size > limit) {
      return refuse("TOO_BIG_TRANSACTION_ERROR", "Too big new account transaction, TxId " +
                                                     tx.txid_hex() + ", the size is " +
                                                     std::to_string(unsigned_size) +
                                                     " bytes, maxTxSize " + std::to_string(limit));
    }
    int64_t needed = net.bytes * state_.params.create_new_account_bandwidth_rate();
    if (available_net(state_, *payer, now_ms) >= needed) {
      net.source = NetPlan::Source::kCreateAccountStaked;
    } else {
      net.source = NetPlan::Source::kCreateAccountBurn;
      net.fee = state_.params.create_account_fee();
    }
  } else if (available_net(state_, *payer, now_ms) >= net.bytes) {
    net.source = NetPlan::Source::kStaked;
  } else if (available_free_net(state_, *payer, now_ms) >= net.bytes) {
    net.source = NetPlan::Source::kFree;
  } else {
    net.source = NetPlan::Source::kBurn;
    net.fee = net.bytes * state_.params.transaction_fee();
  }
  int64_t multi_sign_fee = tx.signatures().size() > 1 ? state_.params.multi_sign_fee() : 0;
  int64_t memo_fee = raw.data().empty() ? 0 : state_.params.memo_fee();
  if (net.fee > payer->balance || net.fee + multi_sign_fee > payer->balance ||
      net.fee + multi_sign_fee + memo_fee > payer->balance) {
    return refuse("BANDWITH_ERROR", "Account resource insufficient error.");
  }

  // Bandwidth and fees are taken before the actuator validates, so it sees the balance after them;
  // a refusal from here on restores the payer as java-tron rolls back its session.
  const Account payer_before = *payer;
  Receipt receipt;
  switch (net.source) {
    case NetPlan::Source::kStaked:
      payer->net.consume(net.bytes, now_ms);
      receipt.net_usage = net.bytes;
      break;
    case NetPlan::Source::kFree:
      payer->free_net.consume(net.bytes, now_ms);
      receipt.net_usage = net.bytes;
      break;
    case NetPlan::Source::kCreateAccountStaked:
      payer->net.consume(net.bytes * state_.params.create_new_account_bandwidth_rate(), now_ms);
      receipt.net_usage = net.bytes * state_.params.create_new_account_bandwidth_rate();
      break;
    case NetPlan::Source::kBurn:
    case NetPlan::Source::kCreateAccountBurn:
      receipt.net_fee = net.fee;
      break;
  }
  payer->balance -= net.fee + multi_sign_fee + memo_fee;
  receipt.fee = net.fee + multi_sign_fee + memo_fee;

  auto valid = validate_contract(state_, tx, now_ms);
  if (!valid.ok()) {
    *payer = payer_before;
    return refuse("CONTRACT_VALIDATE_ERROR", "Contract validate error : " + valid.error().message);
  }

  using protocol::Transaction_Contract;
  int64_t contract_fee = 0;
  if (tx.contract_type() == Transaction_Contract::AccountPermissionUpdateContract) {
    contract_fee = state_.params.update_account_permission_fee();
  } else if (creates_account) {
    contract_fee = state_.params.create_new_account_fee_in_system_contract();
  }
  if (contract_fee > payer->balance) {
    std::string message = tx.owner().to_hex() +
                          " insufficient balance, balance: " + std::to_string(payer->balance) +
                          ", amount: " + std::to_string(contract_fee);
    *payer = payer_before;
    return refuse("CONTRACT_EXE_ERROR", "Contract execute error : " + message);
  }

  TvmPlan tvm;
  if (const auto* trigger = tx.parameter_as<protocol::TriggerSmartContract>()) {
    auto call = call_constant(state_, tx.owner(), address_of(trigger->contract_address()),
                              common::as_bytes(trigger->data()));
    int64_t sun_per_energy = state_.params.energy_fee() > 0 ? state_.params.energy_fee() : 100;
    int64_t left_frozen = available_energy(state_, *payer, now_ms);
    int64_t from_balance =
        std::max<int64_t>(payer->balance - trigger->call_value(), 0) / sun_per_energy;
    int64_t from_fee_limit = raw.fee_limit() / sun_per_energy;
    // fee_limit caps all the energy a call may use, staked energy included.
    int64_t limit = std::min(left_frozen + from_balance, from_fee_limit);
    int64_t used = call.energy_used;
    if (used > limit) {
      tvm.result = "OUT_OF_ENERGY";
      tvm.message = "Not enough energy for 'SSTORE' operation executing: curInvokeEnergyLimit[" +
                    std::to_string(limit) + "], curOpEnergy[20000], usedEnergy[" +
                    std::to_string(std::max<int64_t>(limit - 20'000, 0)) + "]";
      used = limit;  // spendAllEnergy
    } else if (!call.ok) {
      tvm.result = "REVERT";
      tvm.message = call.message;
    } else if (auto transfer = chain::decode_trc20_transfer(common::as_bytes(trigger->data()));
               transfer.ok()) {
      tvm.transfer = true;
      tvm.to = transfer->to;
      tvm.amount = *transfer->amount.to_int64();
      tvm.return_value = call.result;
    } else {
      tvm.return_value = call.result;
    }
    tvm.energy_total = used;
    tvm.energy_from_stake = std::min(left_frozen, used);
    tvm.energy_burned_sun = (used - tvm.energy_from_stake) * sun_per_energy;
  }

  // ---- commit: nothing below can fail ----
  payer->balance -= contract_fee;
  receipt.fee += contract_fee;

  switch (tx.contract_type()) {
    case Transaction_Contract::TransferContract: {
      const auto& c = *tx.parameter_as<protocol::TransferContract>();
      Address to = address_of(c.to_address());
      if (creates_account) {
        Account created;
        created.address = to;
        created.create_time_ms = now_ms;
        created.permissions =
            chain::AccountPermissions::defaults_for(to, default_active_operations());
        state_.accounts.emplace(to, std::move(created));  // std::map keeps `payer` valid
      }
      payer->balance -= c.amount();
      state_.find_account(to)->balance += c.amount();
      break;
    }
    case Transaction_Contract::FreezeBalanceV2Contract: {
      const auto& c = *tx.parameter_as<protocol::FreezeBalanceV2Contract>();
      payer->balance -= c.frozen_balance();
      restake(state_, *payer, c.resource() == protocol::ENERGY, c.frozen_balance());
      break;
    }
    case Transaction_Contract::UnfreezeBalanceV2Contract: {
      const auto& c = *tx.parameter_as<protocol::UnfreezeBalanceV2Contract>();
      // Matured unfreezes are withdrawn to the balance first, as java-tron does here.
      receipt.withdraw_expire_amount = withdraw_matured(*payer, now_ms);
      restake(state_, *payer, c.resource() == protocol::ENERGY, -c.unfreeze_balance());
      payer->unfreezing.push_back(
          UnfreezeEntry{c.resource(), c.unfreeze_balance(),
                        now_ms + state_.params.unfreeze_delay_days() * kResourceWindowMs});
      break;
    }
    case Transaction_Contract::WithdrawExpireUnfreezeContract:
      receipt.withdraw_expire_amount = withdraw_matured(*payer, now_ms);
      break;
    case Transaction_Contract::CancelAllUnfreezeV2Contract: {
      // Unfreezes still running go back into stake; matured ones are paid out.
      std::vector<UnfreezeEntry> entries = std::exchange(payer->unfreezing, {});
      for (const auto& entry : entries) {
        bool energy = entry.resource == protocol::ENERGY;
        if (entry.expire_ms > now_ms) {
          restake(state_, *payer, energy, entry.amount);
          (energy ? receipt.cancel_unfreeze_energy : receipt.cancel_unfreeze_bandwidth) +=
              entry.amount;
        } else {
          receipt.withdraw_expire_amount += entry.amount;
        }
      }
      payer->balance += receipt.withdraw_expire_amount;
      break;
    }
    case Transaction_Contract::DelegateResourceContract: {
      const auto& c = *tx.parameter_as<protocol::DelegateResourceContract>();
      Address receiver = address_of(c.receiver_address());
      Account* to = state_.find_account(receiver);
      unlock_expired(state_, tx.owner(), receiver, now_ms);
      state_.delegation_index[{tx.owner(), receiver}] = now_ms;
      Delegation& record = state_.delegations[DelegationKey{tx.owner(), receiver, c.lock()}];
      int64_t expire =
          c.lock() ? now_ms + lock_period_slots(state_, c.lock_period()) * kBlockIntervalMs : 0;
      if (c.resource() == protocol::ENERGY) {
        payer->frozen_energy -= c.balance();
        payer->delegated_energy += c.balance();
        to->acquired_energy += c.balance();
        record.energy += c.balance();
        if (c.lock()) record.energy_expire_ms = expire;
      } else {
        payer->frozen_bandwidth -= c.balance();
        payer->delegated_bandwidth += c.balance();
        to->acquired_bandwidth += c.balance();
        record.bandwidth += c.balance();
        if (c.lock()) record.bandwidth_expire_ms = expire;
      }
      break;
    }
    case Transaction_Contract::UnDelegateResourceContract: {
      const auto& c = *tx.parameter_as<protocol::UnDelegateResourceContract>();
      Address receiver = address_of(c.receiver_address());
      bool energy = c.resource() == protocol::ENERGY;
      Account* to = state_.find_account(receiver);
      if (to != nullptr) {
        // Usage moves back with the stake (PROTOCOL.md §4.4).
        int64_t total_limit =
            energy ? state_.params.total_energy_limit() : state_.params.total_net_limit();
        int64_t total_weight = energy ? state_.total_energy_weight : state_.total_net_weight;
        Usage& receiver_usage = energy ? to->energy : to->net;
        int64_t receiver_stake = energy ? to->frozen_energy + to->acquired_energy
                                        : to->frozen_bandwidth + to->acquired_bandwidth;
        int64_t usage_now = receiver_usage.at(now_ms);
        int64_t transfer_usage = 0;
        if (receiver_stake > 0 && usage_now > 0) {
          double by_share = static_cast<double>(usage_now) * c.balance() / receiver_stake;
          double by_limit = static_cast<double>(c.balance()) / kSunPerTrx * total_limit /
                            std::max<int64_t>(total_weight, 1);
          transfer_usage = static_cast<int64_t>(std::min(by_share, by_limit));
        }
        receiver_usage.amount = usage_now - transfer_usage;
        receiver_usage.latest_ms = now_ms;
        Usage& owner_usage = energy ? payer->energy : payer->net;
        owner_usage.consume(transfer_usage, now_ms);
        (energy ? to->acquired_energy : to->acquired_bandwidth) -= c.balance();
      }
      (energy ? payer->delegated_energy : payer->delegated_bandwidth) -= c.balance();
      (energy ? payer->frozen_energy : payer->frozen_bandwidth) += c.balance();
      // Expired locks join the unlocked record, which then pays the whole amount (validated).
      unlock_expired(state_, tx.owner(), receiver, now_ms);
      auto unlocked = state_.delegations.find(DelegationKey{tx.owner(), receiver, false});
      (energy ? unlocked->second.energy : unlocked->second.bandwidth) -= c.balance();
      if (unlocked->second.energy == 0 && unlocked->second.bandwidth == 0) {
        state_.delegations.erase(unlocked);
      }
      if (!state_.delegations.contains(DelegationKey{tx.owner(), receiver, true}) &&
          !state_.delegations.contains(DelegationKey{tx.owner(), receiver, false})) {
        state_.delegation_index.erase({tx.owner(), receiver});
      }
      break;
    }
    case Transaction_Contract::AccountPermissionUpdateContract: {
      const auto& c = *tx.parameter_as<protocol::AccountPermissionUpdateContract>();
      chain::AccountPermissions permissions;
      permissions.owner = c.owner();
      permissions.owner.set_id(0);
      for (int i = 0; i < c.actives_size(); ++i) {
        auto active = c.actives(i);
        active.set_id(i + 2);  // ids are positional, whatever the transaction said
        permissions.actives.push_back(std::move(active));
      }
      payer->permissions = std::move(permissions);
      break;
    }
    case Transaction_Contract::TriggerSmartContract: {
      payer->energy.consume(tvm.energy_from_stake, now_ms);
      payer->balance -= tvm.energy_burned_sun;
      receipt.fee += tvm.energy_burned_sun;
      receipt.energy_usage = tvm.energy_from_stake;
      receipt.energy_fee = tvm.energy_burned_sun;
      receipt.energy_usage_total = tvm.energy_total;
      receipt.contract_result = tvm.result;
      receipt.failed = tvm.result != "SUCCESS";
      receipt.res_message = tvm.message;
      receipt.return_value = tvm.return_value;
      if (tvm.transfer) {
        state_.usdt_balances[tx.owner()] -= tvm.amount;
        state_.usdt_balances[tvm.to] += tvm.amount;
        LogEntry log;
        log.contract = usdt_address();
        common::Hash32 topic;
        std::copy(std::begin(kTransferTopic), std::end(kTransferTopic), topic.begin());
        log.topics = {topic, word_of(tx.owner()), word_of(tvm.to)};
        log.data = uint_word(tvm.amount);
        receipt.logs.push_back(std::move(log));
      }
      break;
    }
    default:
      break;
  }
  return receipt;
}

}  // namespace relay::devnet
