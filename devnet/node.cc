#include "devnet/node.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <set>

#include "chain/tx_json.h"
#include "common/hash.h"
#include "common/json.h"

namespace relay::devnet {

using common::Address;
using common::Result;

namespace {

const Address& witness_address() {
  static const Address address = Address::from_id20(common::Bytes(20, 0x77));
  return address;
}

common::Hash32 merkle_of(const std::vector<common::Hash32>& txids) {
  if (txids.empty()) return {};
  common::Bytes all;
  for (const auto& id : txids) all.insert(all.end(), id.begin(), id.end());
  return common::sha256(all);
}

}  // namespace

common::Hash32 block_id(const Block& block, const Address& witness) {
  protocol::BlockHeader_raw header;
  header.set_timestamp(block.timestamp_ms);
  header.set_txtrieroot(std::string(block.tx_root.begin(), block.tx_root.end()));
  header.set_parenthash(std::string(block.parent.begin(), block.parent.end()));
  header.set_number(block.number);
  header.set_witness_address(witness.proto_bytes());
  header.set_version(32);
  std::string bytes = header.SerializeAsString();
  common::Hash32 id = common::sha256(common::as_bytes(bytes));
  for (int i = 0; i < 8; ++i)
    id[i] = static_cast<uint8_t>(static_cast<uint64_t>(block.number) >> (56 - 8 * i));
  return id;
}

namespace {

common::Error bad_genesis(std::string message) {
  return common::make_error("invalid_genesis", std::move(message));
}

// A misspelt key would silently fall back to a default; refuse it instead.
common::Status check_keys(const boost::json::object& object,
                          std::initializer_list<std::string_view> known, std::string_view where) {
  for (const auto& member : object) {
    if (member.key().starts_with("_")) continue;  // comments
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return bad_genesis("unknown key '" + std::string(member.key()) + "' in " +
                         std::string(where));
    }
  }
  return {};
}

// One permission as /wallet/getaccount prints it. The id, when given, must be the one the chain
// assigns by position: a genesis that says otherwise was written with a wrong picture of the chain.
Result<protocol::Permission> parse_permission(const boost::json::value& value,
                                              protocol::Permission::PermissionType type, int32_t id,
                                              int total_sign_num, const std::string& where) {
  if (!value.is_object()) return bad_genesis(where + " must be an object");
  boost::json::object json = value.as_object();
  RELAY_TRY_STATUS(check_keys(
      json, {"type", "id", "permission_name", "threshold", "operations", "keys"}, where));
  for (auto it = json.begin(); it != json.end();) {
    it = it->key().starts_with("_") ? json.erase(it) : it + 1;
  }
  if (const auto* given = json.if_contains("id")) {
    auto number = common::json_int64(*given, "id");
    if (!number.ok() || *number != id) {
      return bad_genesis(where + ": id must be " + std::to_string(id) +
                         " (the chain numbers permissions by position)");
    }
  }
  // A readable alternative to the 32-byte bitmap: the contract type numbers it allows.
  if (auto* operations = json.if_contains("operations"); operations && operations->is_array()) {
    std::set<int> types;
    for (const auto& item : operations->as_array()) {
      auto number = common::json_int64(item, "operations");
      if (!number.ok() || *number < 0 || *number > 255) {
        return bad_genesis(where + ": operations must be contract type numbers 0..255");
      }
      types.insert(static_cast<int>(*number));
    }
    auto bitmap = chain::operations_bitmap(types);
    if (!bitmap.ok()) return bad_genesis(where + ": " + bitmap.error().message);
    *operations = common::to_hex(*bitmap);
  }
  protocol::Permission permission;
  auto parsed = chain::message_from_json(json, &permission);
  if (!parsed.ok()) return bad_genesis(where + ": " + parsed.error().message);
  if (json.contains("type") && permission.type() != type) {
    return bad_genesis(where + ": " + (type == protocol::Permission::Owner ? "owner" : "active") +
                       " permission type is error");
  }
  permission.set_type(type);
  permission.set_id(id);
  auto valid = chain::validate_permission(permission, total_sign_num);
  if (!valid.ok()) return bad_genesis(where + ": " + valid.error().message);
  return permission;
}

// "owner_permission" and "active_permission" of one genesis account, or nullopt when it has
// neither. A missing half takes java-tron's default for the account.
Result<std::optional<chain::AccountPermissions>> parse_permissions(const boost::json::object& a,
                                                                   const Address& address,
                                                                   int total_sign_num) {
  const auto* owner = a.if_contains("owner_permission");
  const auto* actives = a.if_contains("active_permission");
  if (owner == nullptr && actives == nullptr) return std::optional<chain::AccountPermissions>();
  auto permissions = chain::AccountPermissions::defaults_for(address, default_active_operations());
  std::string where = "account " + address.to_base58();
  if (owner != nullptr) {
    RELAY_ASSIGN_OR_RETURN(permissions.owner,
                           parse_permission(*owner, protocol::Permission::Owner, 0, total_sign_num,
                                            where + " owner_permission"));
  }
  if (actives != nullptr) {
    if (!actives->is_array()) return bad_genesis(where + ": active_permission must be an array");
    // AccountPermissionUpdate's bounds: at least one active permission, at most eight.
    const auto& list = actives->as_array();
    if (list.empty()) return bad_genesis(where + ": active permission is missed");
    if (list.size() > 8) return bad_genesis(where + ": active permission is too many");
    permissions.actives.clear();
    for (size_t i = 0; i < list.size(); ++i) {
      RELAY_ASSIGN_OR_RETURN(
          auto active, parse_permission(list[i], protocol::Permission::Active,
                                        static_cast<int32_t>(i + 2), total_sign_num,
                                        where + " active_permission[" + std::to_string(i) + "]"));
      permissions.actives.push_back(std::move(active));
    }
  }
  return std::optional<chain::AccountPermissions>(std::move(permissions));
}

}  // namespace

Result<Genesis> parse_genesis(std::string_view json_text) {
  RELAY_ASSIGN_OR_RETURN(auto json, common::parse_json_object(json_text));
  RELAY_TRY_STATUS(check_keys(json,
                              {"timestamp_ms", "accounts", "background_energy_weight_trx",
                               "background_net_weight_trx", "chain_parameters"},
                              "genesis"));
  Genesis genesis;
  RELAY_ASSIGN_OR_RETURN(genesis.timestamp_ms, common::json_get_int64_or(json, "timestamp_ms", 0));
  RELAY_ASSIGN_OR_RETURN(genesis.background_energy_weight_trx,
                         common::json_get_int64_or(json, "background_energy_weight_trx",
                                                   genesis.background_energy_weight_trx));
  RELAY_ASSIGN_OR_RETURN(genesis.background_net_weight_trx,
                         common::json_get_int64_or(json, "background_net_weight_trx",
                                                   genesis.background_net_weight_trx));
  // Parameters first: permissions are checked against the chain's getTotalSignNum.
  ChainParameters params;
  if (const auto* values = json.if_contains("chain_parameters")) {
    if (!values->is_object()) return bad_genesis("chain_parameters must be an object");
    for (const auto& member : values->as_object()) {
      if (member.key().starts_with("_")) continue;
      RELAY_ASSIGN_OR_RETURN(int64_t value, common::json_int64(member.value(), member.key()));
      RELAY_TRY_STATUS(params.set(std::string(member.key()), value));
      genesis.parameters.emplace_back(std::string(member.key()), value);
    }
  }
  int total_sign_num = static_cast<int>(params.total_sign_num());
  if (const auto* accounts = json.if_contains("accounts")) {
    if (!accounts->is_array()) return bad_genesis("accounts must be an array");
    for (const auto& item : accounts->as_array()) {
      if (!item.is_object()) return bad_genesis("each account must be an object");
      const auto& a = item.as_object();
      RELAY_TRY_STATUS(
          check_keys(a,
                     {"address", "balance_sun", "frozen_energy_sun", "frozen_bandwidth_sun", "usdt",
                      "owner_permission", "active_permission"},
                     "an account"));
      GenesisAccount account;
      RELAY_ASSIGN_OR_RETURN(std::string text, common::json_get_string(a, "address"));
      auto address = Address::parse(text);
      if (!address.ok()) return bad_genesis(address.error().message);
      account.address = *address;
      auto duplicate = [&](const GenesisAccount& g) { return g.address == account.address; };
      if (std::any_of(genesis.accounts.begin(), genesis.accounts.end(), duplicate)) {
        return bad_genesis("account " + text + " is listed twice");
      }
      RELAY_ASSIGN_OR_RETURN(account.balance_sun, common::json_get_int64_or(a, "balance_sun", 0));
      RELAY_ASSIGN_OR_RETURN(account.frozen_energy_sun,
                             common::json_get_int64_or(a, "frozen_energy_sun", 0));
      RELAY_ASSIGN_OR_RETURN(account.frozen_bandwidth_sun,
                             common::json_get_int64_or(a, "frozen_bandwidth_sun", 0));
      RELAY_ASSIGN_OR_RETURN(account.usdt, common::json_get_int64_or(a, "usdt", 0));
      if (account.balance_sun < 0 || account.frozen_energy_sun < 0 ||
          account.frozen_bandwidth_sun < 0 || account.usdt < 0) {
        return bad_genesis("amounts must not be negative");
      }
      RELAY_ASSIGN_OR_RETURN(auto permissions,
                             parse_permissions(a, account.address, total_sign_num));
      if (permissions) genesis.permissions[account.address] = std::move(*permissions);
      genesis.accounts.push_back(account);
    }
  }
  return genesis;
}

Node::Node(const common::Clock& clock, int64_t solidity_depth)
    : clock_(clock), solidity_depth_(solidity_depth) {}

Node::Node(const Genesis& genesis, const common::Clock& clock, int64_t solidity_depth)
    : Node(clock, solidity_depth) {
  for (const auto& [key, value] : genesis.parameters) {
    auto status = state_.params.set(key, value);
    assert(status.ok() && "parse_genesis refuses unknown chain parameters");
    (void)status;
  }
  state_.total_energy_weight = genesis.background_energy_weight_trx;
  state_.total_net_weight = genesis.background_net_weight_trx;
  int64_t start = genesis.timestamp_ms != 0 ? genesis.timestamp_ms : clock_.now_ms();
  time_offset_ms_ = start - clock_.now_ms();

  for (const auto& g : genesis.accounts) {
    Account account;
    account.address = g.address;
    account.balance = g.balance_sun;
    account.create_time_ms = start;
    account.frozen_energy = g.frozen_energy_sun;
    account.frozen_bandwidth = g.frozen_bandwidth_sun;
    auto stored = genesis.permissions.find(g.address);
    account.permissions =
        stored != genesis.permissions.end()
            ? stored->second
            : chain::AccountPermissions::defaults_for(g.address, default_active_operations());
    state_.total_energy_weight += g.frozen_energy_sun / kSunPerTrx;
    state_.total_net_weight += g.frozen_bandwidth_sun / kSunPerTrx;
    if (g.usdt > 0) state_.usdt_balances[g.address] = g.usdt;
    state_.accounts[g.address] = std::move(account);
  }
  Account usdt;
  usdt.address = usdt_address();
  usdt.is_contract = true;
  usdt.create_time_ms = start;
  usdt.permissions =
      chain::AccountPermissions::defaults_for(usdt.address, default_active_operations());
  state_.accounts[usdt.address] = std::move(usdt);

  Block genesis_block;
  genesis_block.number = 0;
  genesis_block.timestamp_ms = start;
  genesis_block.id = block_id(genesis_block, witness_address());
  state_.blocks.push_back(genesis_block);
}

int64_t Node::now_ms() const {
  std::lock_guard lock(mutex_);
  return clock_.now_ms() + time_offset_ms_;
}

void Node::seal_block_locked(int64_t timestamp_ms) {
  const Block& head = state_.head();
  Block block;
  block.number = head.number + 1;
  block.parent = head.id;
  block.timestamp_ms = std::max(timestamp_ms, head.timestamp_ms + 1);
  block.txids = std::move(state_.pending);
  state_.pending.clear();
  block.tx_root = merkle_of(block.txids);
  block.id = block_id(block, witness_address());
  for (const auto& txid : block.txids) {
    auto& record = state_.transactions.at(txid);
    record.block_number = block.number;
    record.block_time_ms = block.timestamp_ms;
  }
  state_.blocks.push_back(std::move(block));
}

void Node::produce_block() {
  std::lock_guard lock(mutex_);
  seal_block_locked(clock_.now_ms() + time_offset_ms_);
}

void Node::mine(int64_t blocks) {
  std::lock_guard lock(mutex_);
  for (int64_t i = 0; i < blocks; ++i) seal_block_locked(clock_.now_ms() + time_offset_ms_);
}

void Node::advance_time(int64_t seconds) {
  std::lock_guard lock(mutex_);
  int64_t target = clock_.now_ms() + time_offset_ms_ + seconds * 1000;
  time_offset_ms_ += seconds * 1000;
  // The blocks a real chain would have produced meanwhile, one per 3-second slot.
  for (int64_t t = state_.head().timestamp_ms + kBlockIntervalMs; t < target;
       t += kBlockIntervalMs) {
    seal_block_locked(t);
  }
  seal_block_locked(target);
}

ApplyResult Node::broadcast(const chain::Transaction& tx) {
  // Recovery is three quarters of the work and touches no state: keep it outside the lock so
  // concurrent broadcasts use every core.
  chain::RecoveredSigners signers = chain::recover_signers(tx);
  std::lock_guard lock(mutex_);
  Executor executor(state_);
  ApplyResult result = executor.apply(tx, state_.head().timestamp_ms, signers);
  if (auto* receipt = std::get_if<Receipt>(&result)) {
    state_.transactions.emplace(tx.txid(), TxRecord{tx, *receipt, std::nullopt, 0});
    state_.pending.push_back(tx.txid());
  }
  return result;
}

}  // namespace relay::devnet
