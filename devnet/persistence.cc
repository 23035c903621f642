// Node::save_state / load_state: the whole chain as one JSON document, so a demo devnet survives a
// restart (--state FILE). Permissions and transactions are kept as protobuf hex: exact and compact.
#include "common/json.h"
#include "devnet/node.h"

namespace relay::devnet {

namespace json = boost::json;
using common::Address;
using common::Result;

namespace {

std::string hex(common::ByteView b) { return common::to_hex(b); }

json::object usage_json(const Usage& u) {
  return {{"amount", u.amount}, {"latest_ms", u.latest_ms}};
}

Result<Usage> usage_from(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_object())
    return common::make_error("invalid_state", std::string(key) + " missing");
  Usage u;
  RELAY_ASSIGN_OR_RETURN(u.amount, common::json_get_int64(v->as_object(), "amount"));
  RELAY_ASSIGN_OR_RETURN(u.latest_ms, common::json_get_int64(v->as_object(), "latest_ms"));
  return u;
}

Result<common::Hash32> hash_from(const json::value& v) {
  if (!v.is_string()) return common::make_error("invalid_state", "hash must be a string");
  RELAY_ASSIGN_OR_RETURN(auto bytes, common::from_hex_exact(v.as_string(), 32, "hash"));
  common::Hash32 out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Result<Address> address_from(const json::object& o, std::string_view key) {
  RELAY_ASSIGN_OR_RETURN(std::string text, common::json_get_string(o, key));
  return Address::parse(text);
}

template <typename Message>
Result<Message> proto_from(const json::value& v) {
  if (!v.is_string()) return common::make_error("invalid_state", "protobuf must be hex");
  RELAY_ASSIGN_OR_RETURN(auto bytes, common::from_hex(v.as_string()));
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return common::make_error("invalid_state", "bad protobuf");
  }
  return m;
}

std::string proto_hex(const google::protobuf::Message& m) {
  std::string bytes = m.SerializeAsString();
  return hex(common::as_bytes(bytes));
}

}  // namespace

std::string Node::save_state() const {
  std::lock_guard lock(mutex_);
  json::object out;
  out["version"] = 1;
  out["time_offset_ms"] = time_offset_ms_;
  json::object params;
  const json::object chain_parameters = state_.params.to_json();
  for (const auto& entry : chain_parameters.at("chainParameter").as_array()) {
    const auto& e = entry.as_object();
    params[e.at("key").as_string()] = e.contains("value") ? e.at("value").as_int64() : 0;
  }
  out["chain_parameters"] = std::move(params);
  out["total_energy_weight"] = state_.total_energy_weight;
  out["total_net_weight"] = state_.total_net_weight;

  json::array accounts;
  for (const auto& [address, a] : state_.accounts) {
    json::array actives;
    for (const auto& p : a.permissions.actives) actives.push_back(json::string(proto_hex(p)));
    json::array unfreezing;
    for (const auto& u : a.unfreezing) {
      unfreezing.push_back(json::object{{"resource", static_cast<int64_t>(u.resource)},
                                        {"amount", u.amount},
                                        {"expire_ms", u.expire_ms}});
    }
    accounts.push_back(json::object{{"address", address.to_hex()},
                                    {"balance", a.balance},
                                    {"create_time_ms", a.create_time_ms},
                                    {"is_contract", a.is_contract},
                                    {"owner_permission", proto_hex(a.permissions.owner)},
                                    {"active_permissions", std::move(actives)},
                                    {"frozen_energy", a.frozen_energy},
                                    {"frozen_bandwidth", a.frozen_bandwidth},
                                    {"delegated_energy", a.delegated_energy},
                                    {"delegated_bandwidth", a.delegated_bandwidth},
                                    {"acquired_energy", a.acquired_energy},
                                    {"acquired_bandwidth", a.acquired_bandwidth},
                                    {"unfreezing", std::move(unfreezing)},
                                    {"energy", usage_json(a.energy)},
                                    {"net", usage_json(a.net)},
                                    {"free_net", usage_json(a.free_net)}});
  }
  out["accounts"] = std::move(accounts);

  json::array delegations;
  for (const auto& [key, d] : state_.delegations) {
    delegations.push_back(json::object{{"from", key.from.to_hex()},
                                       {"to", key.to.to_hex()},
                                       {"locked", key.locked},
                                       {"energy", d.energy},
                                       {"energy_expire_ms", d.energy_expire_ms},
                                       {"bandwidth", d.bandwidth},
                                       {"bandwidth_expire_ms", d.bandwidth_expire_ms}});
  }
  out["delegations"] = std::move(delegations);
  json::array index;
  for (const auto& [pair, timestamp] : state_.delegation_index) {
    index.push_back(json::object{
        {"from", pair.first.to_hex()}, {"to", pair.second.to_hex()}, {"timestamp_ms", timestamp}});
  }
  out["delegation_index"] = std::move(index);

  json::array usdt;
  for (const auto& [address, amount] : state_.usdt_balances) {
    usdt.push_back(json::object{{"address", address.to_hex()}, {"amount", amount}});
  }
  out["usdt"] = std::move(usdt);

  json::array blocks;
  for (const auto& b : state_.blocks) {
    json::array txids;
    for (const auto& id : b.txids) txids.push_back(json::string(hex(id)));
    blocks.push_back(json::object{{"number", b.number},
                                  {"id", hex(b.id)},
                                  {"parent", hex(b.parent)},
                                  {"timestamp_ms", b.timestamp_ms},
                                  {"tx_root", hex(b.tx_root)},
                                  {"txids", std::move(txids)}});
  }
  out["blocks"] = std::move(blocks);

  json::array transactions;
  for (const auto& [id, record] : state_.transactions) {
    const Receipt& r = record.receipt;
    json::array logs;
    for (const auto& log : r.logs) {
      json::array topics;
      for (const auto& t : log.topics) topics.push_back(json::string(hex(t)));
      logs.push_back(json::object{{"contract", log.contract.to_hex()},
                                  {"topics", std::move(topics)},
                                  {"data", hex(log.data)}});
    }
    json::object receipt{{"fee", r.fee},
                         {"energy_usage", r.energy_usage},
                         {"energy_fee", r.energy_fee},
                         {"energy_usage_total", r.energy_usage_total},
                         {"net_usage", r.net_usage},
                         {"net_fee", r.net_fee},
                         {"contract_result", r.contract_result},
                         {"failed", r.failed},
                         {"return_value", hex(r.return_value)},
                         {"logs", std::move(logs)},
                         {"res_message", r.res_message},
                         {"withdraw_expire_amount", r.withdraw_expire_amount},
                         {"cancel_unfreeze_bandwidth", r.cancel_unfreeze_bandwidth},
                         {"cancel_unfreeze_energy", r.cancel_unfreeze_energy}};
    json::object tx{{"signed", hex(record.tx.encode_signed())},
                    {"receipt", std::move(receipt)},
                    {"block_time_ms", record.block_time_ms}};
    if (record.block_number) tx["block_number"] = *record.block_number;
    transactions.push_back(std::move(tx));
  }
  out["transactions"] = std::move(transactions);
  json::array pending;
  for (const auto& id : state_.pending) pending.push_back(json::string(hex(id)));
  out["pending"] = std::move(pending);
  return common::json_to_string(out);
}

Result<std::unique_ptr<Node>> Node::load_state(std::string_view json_text,
                                               const common::Clock& clock, int64_t solidity_depth) {
  RELAY_ASSIGN_OR_RETURN(json::object in, common::parse_json_object(json_text));
  std::unique_ptr<Node> node(new Node(clock, solidity_depth));
  ChainState& s = node->state_;
  RELAY_ASSIGN_OR_RETURN(node->time_offset_ms_, common::json_get_int64(in, "time_offset_ms"));
  if (const auto* params = in.if_contains("chain_parameters"); params && params->is_object()) {
    for (const auto& member : params->as_object()) {
      RELAY_ASSIGN_OR_RETURN(int64_t value, common::json_int64(member.value(), member.key()));
      RELAY_TRY_STATUS(s.params.set(std::string(member.key()), value));
    }
  }
  RELAY_ASSIGN_OR_RETURN(s.total_energy_weight, common::json_get_int64(in, "total_energy_weight"));
  RELAY_ASSIGN_OR_RETURN(s.total_net_weight, common::json_get_int64(in, "total_net_weight"));

  auto array_of = [&](std::string_view key) -> Result<const json::array*> {
    const auto* v = in.if_contains(key);
    if (v == nullptr || !v->is_array())
      return common::make_error("invalid_state", std::string(key) + " missing");
    return &v->as_array();
  };
  RELAY_ASSIGN_OR_RETURN(const json::array* accounts, array_of("accounts"));
  for (const auto& item : *accounts) {
    if (!item.is_object()) return common::make_error("invalid_state", "account must be an object");
    const auto& o = item.as_object();
    Account a;
    RELAY_ASSIGN_OR_RETURN(a.address, address_from(o, "address"));
    RELAY_ASSIGN_OR_RETURN(a.balance, common::json_get_int64(o, "balance"));
    RELAY_ASSIGN_OR_RETURN(a.create_time_ms, common::json_get_int64(o, "create_time_ms"));
    RELAY_ASSIGN_OR_RETURN(a.is_contract, common::json_get_bool_or(o, "is_contract", false));
    RELAY_ASSIGN_OR_RETURN(a.permissions.owner,
                           proto_from<protocol::Permission>(o.at("owner_permission")));
    for (const auto& p : o.at("active_permissions").as_array()) {
      RELAY_ASSIGN_OR_RETURN(auto active, proto_from<protocol::Permission>(p));
      a.permissions.actives.push_back(std::move(active));
    }
    RELAY_ASSIGN_OR_RETURN(a.frozen_energy, common::json_get_int64(o, "frozen_energy"));
    RELAY_ASSIGN_OR_RETURN(a.frozen_bandwidth, common::json_get_int64(o, "frozen_bandwidth"));
    RELAY_ASSIGN_OR_RETURN(a.delegated_energy, common::json_get_int64(o, "delegated_energy"));
    RELAY_ASSIGN_OR_RETURN(a.delegated_bandwidth, common::json_get_int64(o, "delegated_bandwidth"));
    RELAY_ASSIGN_OR_RETURN(a.acquired_energy, common::json_get_int64(o, "acquired_energy"));
    RELAY_ASSIGN_OR_RETURN(a.acquired_bandwidth, common::json_get_int64(o, "acquired_bandwidth"));
    for (const auto& u : o.at("unfreezing").as_array()) {
      const auto& uo = u.as_object();
      UnfreezeEntry entry;
      RELAY_ASSIGN_OR_RETURN(int64_t resource, common::json_get_int64(uo, "resource"));
      entry.resource = static_cast<chain::Resource>(resource);
      RELAY_ASSIGN_OR_RETURN(entry.amount, common::json_get_int64(uo, "amount"));
      RELAY_ASSIGN_OR_RETURN(entry.expire_ms, common::json_get_int64(uo, "expire_ms"));
      a.unfreezing.push_back(entry);
    }
    RELAY_ASSIGN_OR_RETURN(a.energy, usage_from(o, "energy"));
    RELAY_ASSIGN_OR_RETURN(a.net, usage_from(o, "net"));
    RELAY_ASSIGN_OR_RETURN(a.free_net, usage_from(o, "free_net"));
    s.accounts[a.address] = std::move(a);
  }

  RELAY_ASSIGN_OR_RETURN(const json::array* delegations, array_of("delegations"));
  for (const auto& item : *delegations) {
    const auto& o = item.as_object();
    DelegationKey key;
    RELAY_ASSIGN_OR_RETURN(key.from, address_from(o, "from"));
    RELAY_ASSIGN_OR_RETURN(key.to, address_from(o, "to"));
    RELAY_ASSIGN_OR_RETURN(key.locked, common::json_get_bool_or(o, "locked", false));
    Delegation d;
    RELAY_ASSIGN_OR_RETURN(d.energy, common::json_get_int64(o, "energy"));
    RELAY_ASSIGN_OR_RETURN(d.energy_expire_ms, common::json_get_int64(o, "energy_expire_ms"));
    RELAY_ASSIGN_OR_RETURN(d.bandwidth, common::json_get_int64(o, "bandwidth"));
    RELAY_ASSIGN_OR_RETURN(d.bandwidth_expire_ms, common::json_get_int64(o, "bandwidth_expire_ms"));
    s.delegations[key] = d;
  }
  if (const auto* index = in.if_contains("delegation_index")) {
    if (!index->is_array())
      return common::make_error("invalid_state", "delegation_index must be an array");
    for (const auto& item : index->as_array()) {
      if (!item.is_object())
        return common::make_error("invalid_state", "delegation_index entry must be an object");
      const auto& o = item.as_object();
      RELAY_ASSIGN_OR_RETURN(Address from, address_from(o, "from"));
      RELAY_ASSIGN_OR_RETURN(Address to, address_from(o, "to"));
      RELAY_ASSIGN_OR_RETURN(int64_t timestamp, common::json_get_int64(o, "timestamp_ms"));
      s.delegation_index[std::make_pair(from, to)] = timestamp;
    }
  } else {
    // State files written before the index was kept: every pair with a record, in address order.
    for (const auto& [key, record] : s.delegations) s.delegation_index[{key.from, key.to}] = 0;
  }

  RELAY_ASSIGN_OR_RETURN(const json::array* usdt, array_of("usdt"));
  for (const auto& item : *usdt) {
    const auto& o = item.as_object();
    RELAY_ASSIGN_OR_RETURN(Address address, address_from(o, "address"));
    RELAY_ASSIGN_OR_RETURN(s.usdt_balances[address], common::json_get_int64(o, "amount"));
  }

  RELAY_ASSIGN_OR_RETURN(const json::array* blocks, array_of("blocks"));
  for (const auto& item : *blocks) {
    const auto& o = item.as_object();
    Block b;
    RELAY_ASSIGN_OR_RETURN(b.number, common::json_get_int64(o, "number"));
    RELAY_ASSIGN_OR_RETURN(b.id, hash_from(o.at("id")));
    RELAY_ASSIGN_OR_RETURN(b.parent, hash_from(o.at("parent")));
    RELAY_ASSIGN_OR_RETURN(b.timestamp_ms, common::json_get_int64(o, "timestamp_ms"));
    RELAY_ASSIGN_OR_RETURN(b.tx_root, hash_from(o.at("tx_root")));
    for (const auto& id : o.at("txids").as_array()) {
      RELAY_ASSIGN_OR_RETURN(auto txid, hash_from(id));
      b.txids.push_back(txid);
    }
    if (b.number != static_cast<int64_t>(s.blocks.size())) {
      return common::make_error("invalid_state", "blocks out of order");
    }
    s.blocks.push_back(std::move(b));
  }
  if (s.blocks.empty()) return common::make_error("invalid_state", "no blocks");

  RELAY_ASSIGN_OR_RETURN(const json::array* transactions, array_of("transactions"));
  for (const auto& item : *transactions) {
    const auto& o = item.as_object();
    RELAY_ASSIGN_OR_RETURN(std::string signed_hex, common::json_get_string(o, "signed"));
    RELAY_ASSIGN_OR_RETURN(auto bytes, common::from_hex(signed_hex));
    RELAY_ASSIGN_OR_RETURN(auto tx, chain::Transaction::decode_signed(bytes));
    const auto& ro = o.at("receipt").as_object();
    Receipt r;
    RELAY_ASSIGN_OR_RETURN(r.fee, common::json_get_int64(ro, "fee"));
    RELAY_ASSIGN_OR_RETURN(r.energy_usage, common::json_get_int64(ro, "energy_usage"));
    RELAY_ASSIGN_OR_RETURN(r.energy_fee, common::json_get_int64(ro, "energy_fee"));
    RELAY_ASSIGN_OR_RETURN(r.energy_usage_total, common::json_get_int64(ro, "energy_usage_total"));
    RELAY_ASSIGN_OR_RETURN(r.net_usage, common::json_get_int64(ro, "net_usage"));
    RELAY_ASSIGN_OR_RETURN(r.net_fee, common::json_get_int64(ro, "net_fee"));
    RELAY_ASSIGN_OR_RETURN(r.contract_result, common::json_get_string(ro, "contract_result"));
    RELAY_ASSIGN_OR_RETURN(r.failed, common::json_get_bool_or(ro, "failed", false));
    RELAY_ASSIGN_OR_RETURN(std::string rv, common::json_get_string(ro, "return_value"));
    RELAY_ASSIGN_OR_RETURN(r.return_value, common::from_hex(rv));
    RELAY_ASSIGN_OR_RETURN(r.res_message, common::json_get_string(ro, "res_message"));
    RELAY_ASSIGN_OR_RETURN(r.withdraw_expire_amount,
                           common::json_get_int64_or(ro, "withdraw_expire_amount", 0));
    RELAY_ASSIGN_OR_RETURN(r.cancel_unfreeze_bandwidth,
                           common::json_get_int64_or(ro, "cancel_unfreeze_bandwidth", 0));
    RELAY_ASSIGN_OR_RETURN(r.cancel_unfreeze_energy,
                           common::json_get_int64_or(ro, "cancel_unfreeze_energy", 0));
    for (const auto& l : ro.at("logs").as_array()) {
      const auto& lo = l.as_object();
      LogEntry log;
      RELAY_ASSIGN_OR_RETURN(log.contract, address_from(lo, "contract"));
      for (const auto& t : lo.at("topics").as_array()) {
        RELAY_ASSIGN_OR_RETURN(auto topic, hash_from(t));
        log.topics.push_back(topic);
      }
      RELAY_ASSIGN_OR_RETURN(std::string data, common::json_get_string(lo, "data"));
      RELAY_ASSIGN_OR_RETURN(log.data, common::from_hex(data));
      r.logs.push_back(std::move(log));
    }
    TxRecord record{std::move(tx), std::move(r), std::nullopt, 0};
    if (o.contains("block_number")) {
      RELAY_ASSIGN_OR_RETURN(int64_t number, common::json_get_int64(o, "block_number"));
      record.block_number = number;
    }
    RELAY_ASSIGN_OR_RETURN(record.block_time_ms, common::json_get_int64(o, "block_time_ms"));
    common::Hash32 id = record.tx.txid();
    s.transactions.emplace(id, std::move(record));
  }
  RELAY_ASSIGN_OR_RETURN(const json::array* pending, array_of("pending"));
  for (const auto& id : *pending) {
    RELAY_ASSIGN_OR_RETURN(auto txid, hash_from(id));
    s.pending.push_back(txid);
  }
  return node;
}

}  // namespace relay::devnet
