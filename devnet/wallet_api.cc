#include "devnet/wallet_api.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "chain/builders.h"
#include "chain/tx_json.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/signature.h"
#include "devnet/executor.h"
#include "devnet/resources.h"

namespace relay::devnet {

namespace json = boost::json;
using chain::Transaction;
using common::Address;
using common::Result;

namespace {

constexpr int64_t kBuilderLifetimeMs = 60'000;  // java-tron: head block time + 60 s

HttpResponse json_response(const json::value& value, int status = 200) {
  return HttpResponse{status, "application/json", common::json_to_string(value)};
}

// java-tron servlets answer failures with HTTP 200 and {"Error": "class <exception> : <message>"}.
HttpResponse servlet_error(const std::string& exception, const std::string& message) {
  return json_response(json::object{{"Error", "class " + exception + " : " + message}});
}
HttpResponse validate_error(const std::string& message) {
  return servlet_error("org.tron.core.exception.ContractValidateException", message);
}
HttpResponse bad_argument(const std::string& message) {
  return servlet_error("java.lang.IllegalArgumentException", message);
}

// Trigger endpoints answer in TransactionExtention form, never {"Error"}: Return.code plus
// Return.message, bytes that JsonFormat prints as hex unless visible=true. TronWeb hex-decodes it.
HttpResponse trigger_failure(const std::string& code, const std::string& message, bool visible) {
  return json_response(json::object{
      {"result",
       json::object{{"code", code},
                    {"message", visible ? message : common::to_hex(common::as_bytes(message))}}}});
}
// What java-tron's trigger servlets' catch-all turns a bad request into (Util.validateParameter
// first: owner_address, then contract_address or data).
HttpResponse trigger_bad_request(const json::object& params, const std::string& detail,
                                 bool visible) {
  auto missing = [&](const char* key) {
    const auto* v = params.if_contains(key);
    return v == nullptr || (v->is_string() && v->as_string().empty());
  };
  if (missing("owner_address")) {
    return trigger_failure(
        "OTHER_ERROR", "class java.security.InvalidParameterException : owner_address isn't set.",
        visible);
  }
  if (missing("contract_address") && missing("data")) {
    return trigger_failure(
        "OTHER_ERROR",
        "class java.security.InvalidParameterException : At least one of contract_address "
        "and data must be set.",
        visible);
  }
  return trigger_failure("OTHER_ERROR", "class java.lang.IllegalArgumentException : " + detail,
                         visible);
}

std::string url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size()) {
      auto byte = common::from_hex(text.substr(i + 1, 2));
      if (byte.ok()) {
        out.push_back(static_cast<char>((*byte)[0]));
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// POST bodies are JSON; GET parameters become string members, which the readers below accept.
Result<json::object> params_of(const HttpRequest& request) {
  json::object params;
  if (!request.query.empty()) {
    std::string_view query = request.query;
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      size_t eq = pair.find('=');
      std::string key = url_decode(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
      if (value == "true" || value == "false") {
        params[key] = value == "true";
      } else {
        params[key] = value;
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  std::string_view body = request.body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
    body.remove_prefix(1);
  if (!body.empty()) {
    RELAY_ASSIGN_OR_RETURN(json::object parsed, common::parse_json_object(body));
    for (auto& member : parsed) params[member.key()] = member.value();
  }
  return params;
}

bool visible_of(const json::object& params) {
  const auto* v = params.if_contains("visible");
  if (v == nullptr) return false;
  if (v->is_bool()) return v->as_bool();
  return v->is_string() && v->as_string() == "true";
}

Result<Address> address_param(const json::object& params, std::string_view key) {
  RELAY_ASSIGN_OR_RETURN(std::string text, common::json_get_string(params, key));
  auto address = Address::parse(text);
  if (!address.ok())
    return common::make_error("invalid_request", std::string(key) + ": " + address.error().message);
  return address;
}

std::string address_text(const Address& address, bool visible) {
  return visible ? address.to_base58() : address.to_hex();
}

std::string hex(common::ByteView bytes) { return common::to_hex(bytes); }

void put_nonzero(json::object& out, std::string_view key, int64_t value) {
  if (value != 0) out[key] = value;
}

json::object block_json(const ChainState& state, const Block& block, bool with_transactions,
                        bool visible) {
  json::object raw;
  if (block.number != 0) raw["number"] = block.number;
  raw["txTrieRoot"] = hex(block.tx_root);
  raw["witness_address"] = address_text(Address::from_id20(common::Bytes(20, 0x77)), visible);
  raw["parentHash"] = hex(block.parent);
  raw["version"] = 32;
  raw["timestamp"] = block.timestamp_ms;
  json::object out{{"blockID", hex(block.id)},
                   {"block_header", json::object{{"raw_data", std::move(raw)},
                                                 {"witness_signature", std::string(130, '0')}}}};
  if (with_transactions && !block.txids.empty()) {
    json::array txs;
    for (const auto& txid : block.txids) {
      const auto& record = state.transactions.at(txid);
      json::object tx = chain::transaction_to_json(record.tx, {.visible = visible});
      std::string ret =
          record.receipt.contract_result.empty() ? "SUCCESS" : record.receipt.contract_result;
      tx["ret"] = json::array{json::object{{"contractRet", ret}}};
      txs.push_back(std::move(tx));
    }
    out["transactions"] = std::move(txs);
  }
  return out;
}

json::object permission_json(const protocol::Permission& p, bool visible) {
  json::object out;
  if (p.type() != protocol::Permission::Owner)
    out["type"] = protocol::Permission_PermissionType_Name(p.type());
  if (p.id() != 0) out["id"] = p.id();
  if (!p.permission_name().empty()) out["permission_name"] = p.permission_name();
  out["threshold"] = p.threshold();
  if (!p.operations().empty()) out["operations"] = hex(common::as_bytes(p.operations()));
  json::array keys;
  for (const auto& key : p.keys()) {
    auto address = Address::from_bytes(common::as_bytes(key.address()));
    keys.push_back(json::object{{"address", address.ok() ? address_text(*address, visible)
                                                         : hex(common::as_bytes(key.address()))},
                                {"weight", key.weight()}});
  }
  out["keys"] = std::move(keys);
  return out;
}

json::object account_json(const ChainState& state, const Account& a, bool visible) {
  json::object out;
  out["address"] = address_text(a.address, visible);
  put_nonzero(out, "balance", a.balance);
  put_nonzero(out, "create_time", a.create_time_ms);
  if (a.is_contract) out["type"] = "Contract";
  put_nonzero(out, "net_usage", a.net.amount);
  put_nonzero(out, "latest_consume_time", a.net.latest_ms);
  put_nonzero(out, "free_net_usage", a.free_net.amount);
  put_nonzero(out, "latest_consume_free_time", a.free_net.latest_ms);
  // java-tron reports optimized windows in ms-per-slot units: 28,800 slots × 1,000.
  out["net_window_size"] = 28'800'000;
  out["net_window_optimized"] = true;
  out["owner_permission"] = permission_json(a.permissions.owner, visible);
  json::array actives;
  for (const auto& p : a.permissions.actives) actives.push_back(permission_json(p, visible));
  out["active_permission"] = std::move(actives);
  json::array frozen;
  json::object bandwidth;
  put_nonzero(bandwidth, "amount", a.frozen_bandwidth);
  frozen.push_back(std::move(bandwidth));
  json::object energy{{"type", "ENERGY"}};
  put_nonzero(energy, "amount", a.frozen_energy);
  frozen.push_back(std::move(energy));
  frozen.push_back(json::object{{"type", "TRON_POWER"}});
  out["frozenV2"] = std::move(frozen);
  if (!a.unfreezing.empty()) {
    json::array unfrozen;
    for (const auto& u : a.unfreezing) {
      json::object entry;
      if (u.resource != protocol::BANDWIDTH) entry["type"] = chain::resource_name(u.resource);
      entry["unfreeze_amount"] = u.amount;
      entry["unfreeze_expire_time"] = u.expire_ms;
      unfrozen.push_back(std::move(entry));
    }
    out["unfrozenV2"] = std::move(unfrozen);
  }
  put_nonzero(out, "delegated_frozenV2_balance_for_bandwidth", a.delegated_bandwidth);
  put_nonzero(out, "acquired_delegated_frozenV2_balance_for_bandwidth", a.acquired_bandwidth);
  json::object resource;
  put_nonzero(resource, "energy_usage", a.energy.amount);
  put_nonzero(resource, "latest_consume_time_for_energy", a.energy.latest_ms);
  put_nonzero(resource, "delegated_frozenV2_balance_for_energy", a.delegated_energy);
  put_nonzero(resource, "acquired_delegated_frozenV2_balance_for_energy", a.acquired_energy);
  resource["energy_window_size"] = 28'800'000;
  resource["energy_window_optimized"] = true;
  out["account_resource"] = std::move(resource);
  (void)state;
  return out;
}

// The bandwidth half of getaccountresource, which is all of getaccountnet.
json::object account_net_json(const ChainState& s, const Account& a) {
  int64_t now = s.head().timestamp_ms;
  json::object out;
  put_nonzero(out, "freeNetUsed", a.free_net.at(now));
  put_nonzero(out, "freeNetLimit", s.params.free_net_limit());
  put_nonzero(out, "NetUsed", a.net.at(now));
  put_nonzero(out, "NetLimit", net_limit(s, a));
  put_nonzero(out, "TotalNetLimit", s.params.total_net_limit());
  put_nonzero(out, "TotalNetWeight", s.total_net_weight);
  return out;
}

json::object receipt_info_json(const TxRecord& record) {
  const Receipt& r = record.receipt;
  json::object out;
  out["id"] = record.tx.txid_hex();
  put_nonzero(out, "fee", r.fee);
  out["blockNumber"] = *record.block_number;
  out["blockTimeStamp"] = record.block_time_ms;
  out["contractResult"] = json::array{json::string(hex(r.return_value))};
  json::object receipt;
  put_nonzero(receipt, "energy_usage", r.energy_usage);
  put_nonzero(receipt, "energy_fee", r.energy_fee);
  put_nonzero(receipt, "energy_usage_total", r.energy_usage_total);
  put_nonzero(receipt, "net_usage", r.net_usage);
  put_nonzero(receipt, "net_fee", r.net_fee);
  if (!r.contract_result.empty()) receipt["result"] = r.contract_result;
  out["receipt"] = std::move(receipt);
  if (record.tx.contract_type() == protocol::Transaction_Contract::TriggerSmartContract) {
    out["contract_address"] = usdt_address().to_hex();
  }
  if (!r.logs.empty()) {
    json::array logs;
    for (const auto& log : r.logs) {
      json::array topics;
      for (const auto& t : log.topics) topics.push_back(json::string(hex(t)));
      auto id = log.contract.id20();
      logs.push_back(json::object{
          {"address", hex(id)}, {"topics", std::move(topics)}, {"data", hex(log.data)}});
    }
    out["log"] = std::move(logs);
  }
  if (r.failed) {
    out["result"] = "FAILED";
    out["resMessage"] = hex(common::as_bytes(r.res_message));
  }
  put_nonzero(out, "withdraw_expire_amount", r.withdraw_expire_amount);
  if (record.tx.contract_type() == protocol::Transaction_Contract::CancelAllUnfreezeV2Contract) {
    // map<string, int64> prints as key/value entries, every resource present, zeros included. The
    // order is what java-tron's HashMap of the three names iterates in (computed, not observed).
    json::array amounts;
    for (const auto& [name, amount] :
         {std::pair<const char*, int64_t>{"ENERGY", r.cancel_unfreeze_energy},
          {"TRON_POWER", 0},
          {"BANDWIDTH", r.cancel_unfreeze_bandwidth}}) {
      amounts.push_back(json::object{{"key", name}, {"value", amount}});
    }
    out["cancel_unfreezeV2_amount"] = std::move(amounts);
  }
  return out;
}

// java-tron's Util.packTransaction rebuilds a transaction from raw_data and signature alone; a
// stale or wrong "txID" / "raw_data_hex" beside them is ignored (TronWeb's getSignWeight sends a
// stale txID on purpose), so drop them before the strict chain parser sees them.
Result<Transaction> transaction_from_node_json(json::object params) {
  params.erase("txID");
  params.erase("raw_data_hex");
  return chain::transaction_from_json(params);
}

// TransactionExtention as java-tron's Util.printTransactionSignWeight /
// printTransactionApprovedList print it: {"result":{"result":true},"txid","transaction":<builder
// JSON>} (code SUCCESS = 0 omitted).
json::object transaction_extention_json(const Transaction& tx, bool visible) {
  return json::object{{"result", json::object{{"result", true}}},
                      {"txid", tx.txid_hex()},
                      {"transaction", chain::transaction_to_json(tx, {.visible = visible})}};
}

// java-tron TransactionUtil.truncateSignatures: anything past 65 bytes is dropped.
Transaction truncate_signatures(Transaction tx) {
  std::vector<common::Bytes> signatures = tx.signatures();
  tx.clear_signatures();
  for (auto& signature : signatures) {
    if (signature.size() > common::kSignatureSize) signature.resize(common::kSignatureSize);
    tx.add_signature(std::move(signature));
  }
  return tx;
}

// /wallet/getsignweight: java-tron TransactionUtil.getTransactionSignWeight. Result codes are
// TransactionSignWeight.Result.response_code names; ENOUGH_PERMISSION is 0 and so is omitted.
json::object sign_weight_json(const ChainState& s, const Transaction& input, bool visible) {
  json::object out;
  json::object result;
  if (static_cast<int64_t>(input.signatures().size()) > s.params.total_sign_num()) {
    out["result"] = json::object{{"code", "OTHER_ERROR"}, {"message", "too many signatures"}};
    return out;
  }
  Transaction tx = truncate_signatures(input);
  out["transaction"] = transaction_extention_json(tx, visible);
  auto fail = [&](const char* code, std::string message) {
    result = json::object{{"code", code}, {"message", std::move(message)}};
  };
  [&] {
    const Account* account = s.find_account(tx.owner());
    if (account == nullptr) return fail("PERMISSION_ERROR", "Account does not exist!");
    const protocol::Permission* permission = account->permissions.find(tx.permission_id());
    if (permission == nullptr)
      return fail("PERMISSION_ERROR", "Permission for this, does not exist!");
    if (tx.permission_id() != 0) {
      if (permission->type() != protocol::Permission::Active) {
        return fail("PERMISSION_ERROR", "Permission type is wrong!");
      }
      if (!chain::operations_allow(common::as_bytes(permission->operations()),
                                   tx.contract_type())) {
        return fail("PERMISSION_ERROR", "Permission denied!");
      }
    }
    out["permission"] = permission_json(*permission, visible);
    int64_t weight = 0;
    if (!tx.signatures().empty()) {
      // TransactionCapsule.checkWeight
      if (tx.signatures().size() > static_cast<size_t>(permission->keys_size())) {
        return fail(
            "PERMISSION_ERROR",
            "Signature count is " + std::to_string(tx.signatures().size()) +
                " more than key counts of permission : " + std::to_string(permission->keys_size()));
      }
      json::array approved;
      std::set<common::Bytes> seen;
      for (const auto& signature : tx.signatures()) {
        if (signature.size() < common::kSignatureSize) {
          return fail("SIGNATURE_FORMAT_ERROR",
                      "Signature size is " + std::to_string(signature.size()));
        }
        auto signer = common::recover_signer(tx.txid(), signature);
        if (!signer.ok()) return fail("COMPUTE_ADDRESS_ERROR", signer.error().message);
        int64_t key_weight = 0;
        for (const auto& key : permission->keys()) {
          if (key.address() == signer->proto_bytes()) key_weight = key.weight();
        }
        if (key_weight == 0) {
          return fail("PERMISSION_ERROR", hex(signature) + " is signed by " + signer->to_base58() +
                                              " but it is not contained of permission.");
        }
        common::Bytes normalized = signature;  // java-tron compares base64 of r‖s‖v with v ≥ 27
        if (normalized[64] < 27) normalized[64] = static_cast<uint8_t>(normalized[64] + 27);
        if (!seen.insert(normalized).second) {
          return fail("PERMISSION_ERROR", signer->to_base58() + " has signed twice!");
        }
        approved.push_back(json::string(address_text(*signer, visible)));
        weight += key_weight;
      }
      out["approved_list"] = std::move(approved);
      put_nonzero(out, "current_weight", weight);
    }
    if (weight < permission->threshold()) result = json::object{{"code", "NOT_ENOUGH_PERMISSION"}};
  }();
  out["result"] = std::move(result);
  return out;
}

// /wallet/getapprovedlist: java-tron TransactionUtil.getTransactionApprovedList (SUCCESS = 0
// omitted).
json::object approved_list_json(const Transaction& input, bool visible) {
  Transaction tx = truncate_signatures(input);
  json::object out{{"transaction", transaction_extention_json(tx, visible)}};
  json::object result;
  json::array approved;
  for (const auto& signature : tx.signatures()) {
    if (signature.size() < common::kSignatureSize) {
      result = json::object{{"code", "SIGNATURE_FORMAT_ERROR"},
                            {"message", "Signature size is " + std::to_string(signature.size())}};
      break;
    }
    auto signer = common::recover_signer(tx.txid(), signature);
    if (!signer.ok()) {
      result = json::object{{"code", "COMPUTE_ADDRESS_ERROR"}, {"message", signer.error().message}};
      break;
    }
    approved.push_back(json::string(address_text(*signer, visible)));
  }
  if (!approved.empty()) out["approved_list"] = std::move(approved);
  out["result"] = std::move(result);
  return out;
}

// /wallet/getcontract for the native USDT: SmartContract JSON with the ABI of what the devnet
// executes (transfer, balanceOf, decimals, the Transfer event). No bytecode: there is none.
json::object usdt_contract_json(bool visible) {
  auto param = [](const char* name, const char* type, bool indexed = false) {
    json::object p;
    if (indexed) p["indexed"] = true;
    if (*name != '\0') p["name"] = name;
    p["type"] = type;
    return p;
  };
  json::array entrys;
  entrys.push_back(json::object{{"constant", true},
                                {"inputs", json::array{param("who", "address")}},
                                {"name", "balanceOf"},
                                {"outputs", json::array{param("", "uint256")}},
                                {"stateMutability", "View"},
                                {"type", "Function"}});
  entrys.push_back(json::object{{"constant", true},
                                {"name", "decimals"},
                                {"outputs", json::array{param("", "uint8")}},
                                {"stateMutability", "View"},
                                {"type", "Function"}});
  entrys.push_back(
      json::object{{"inputs", json::array{param("_to", "address"), param("_value", "uint256")}},
                   {"name", "transfer"},
                   {"outputs", json::array{param("", "bool")}},
                   {"stateMutability", "Nonpayable"},
                   {"type", "Function"}});
  entrys.push_back(
      json::object{{"inputs", json::array{param("from", "address", true),
                                          param("to", "address", true), param("value", "uint256")}},
                   {"name", "Transfer"},
                   {"type", "Event"}});
  return json::object{{"contract_address", address_text(usdt_address(), visible)},
                      {"abi", json::object{{"entrys", std::move(entrys)}}},
                      {"name", "TetherToken"}};
}

// Common header for builder endpoints: TaPoS from the head block, 60 s of life, now as timestamp.
chain::TxHeader builder_header(const Node& node, const json::object& params) {
  chain::TxHeader header = node.read([](const ChainState& s) {
    chain::TxHeader h;
    const Block& head = s.head();
    h.tapos = *chain::TaposRef::from_block(head.number, head.id);
    h.expiration_ms = head.timestamp_ms + kBuilderLifetimeMs;
    return h;
  });
  header.timestamp_ms = node.now_ms();
  if (const auto* id = params.if_contains("Permission_id")) {
    auto value = common::json_int64(*id, "Permission_id");
    if (value.ok()) header.permission_id = static_cast<int32_t>(*value);
  }
  return header;
}

// The one Contract of an unsigned transaction under `header`, for the contracts chain/ has no
// builder for because tronrelay never creates them (an operator unstakes with a wallet).
Result<Transaction> wrap_contract(const chain::TxHeader& header, chain::ContractType type,
                                  const google::protobuf::Message& parameter) {
  protocol::Transaction_raw raw;
  raw.set_ref_block_bytes(
      std::string(header.tapos.ref_block_bytes.begin(), header.tapos.ref_block_bytes.end()));
  raw.set_ref_block_hash(
      std::string(header.tapos.ref_block_hash.begin(), header.tapos.ref_block_hash.end()));
  raw.set_expiration(header.expiration_ms);
  raw.set_timestamp(header.timestamp_ms);
  auto* contract = raw.add_contract();
  contract->set_type(type);
  contract->set_permission_id(header.permission_id);
  contract->mutable_parameter()->PackFrom(parameter);
  return Transaction::from_raw(raw);
}

Result<chain::Resource> resource_param(const json::object& params) {
  const auto* v = params.if_contains("resource");
  if (v == nullptr) return protocol::BANDWIDTH;
  if (v->is_string()) {
    chain::Resource r;
    if (protocol::ResourceCode_Parse(std::string(v->as_string()), &r)) return r;
  }
  if (v->is_int64()) return static_cast<chain::Resource>(v->as_int64());
  return common::make_error("invalid_request", "resource must be BANDWIDTH or ENERGY");
}

// Contract call data: `data` as given, or keccak(function_selector)[0..4] ‖ `parameter`.
Result<common::Bytes> call_data_of(const json::object& params) {
  if (const auto* d = params.if_contains("data"); d != nullptr && d->is_string()) {
    auto bytes = common::from_hex(d->as_string());
    if (!bytes.ok()) return common::make_error("invalid_request", "data: " + bytes.error().message);
    return *bytes;
  }
  auto selector = common::json_get_string(params, "function_selector");
  if (!selector.ok()) {
    return common::make_error("invalid_request", "function_selector or data is required");
  }
  auto hash = common::keccak256(common::as_bytes(*selector));
  common::Bytes data(hash.begin(), hash.begin() + 4);
  if (const auto* p = params.if_contains("parameter"); p != nullptr && p->is_string()) {
    auto bytes = common::from_hex(p->as_string());
    if (!bytes.ok())
      return common::make_error("invalid_request", "parameter: " + bytes.error().message);
    data.insert(data.end(), bytes->begin(), bytes->end());
  }
  return data;
}

}  // namespace

WalletApi::WalletApi(Node& node, std::shared_ptr<FaultInjector> faults, Options options)
    : node_(node), faults_(std::move(faults)), options_(options) {}

HttpResponse WalletApi::handle(const HttpRequest& request) {
  std::string path = request.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto params_or = params_of(request);
  if (!params_or.ok()) return bad_argument(params_or.error().message);
  const json::object& params = *params_or;
  bool visible = visible_of(params);

  bool solidity = path.starts_with("/walletsolidity/");
  std::string endpoint;
  if (path.starts_with("/wallet/")) {
    endpoint = path.substr(8);
  } else if (solidity) {
    endpoint = path.substr(16);
  }

  // ---- admin ----
  if (path.starts_with("/admin/")) {
    if (!options_.admin_enabled)
      return json_response(json::object{{"Error", "admin routes are disabled"}}, 403);
    std::string admin = path.substr(7);
    if (admin == "fund") {
      auto address = address_param(params, "address");
      auto amount = common::json_get_int64(params, "amount_sun");
      if (!address.ok())
        return json_response(json::object{{"Error", address.error().message}}, 400);
      if (!amount.ok() || *amount <= 0)
        return json_response(json::object{{"Error", "amount_sun must be a positive integer"}}, 400);
      int64_t balance = node_.write([&](ChainState& s) {
        Account* account = s.find_account(*address);
        if (account == nullptr) {
          Account created;
          created.address = *address;
          created.create_time_ms = s.head().timestamp_ms;
          created.permissions =
              chain::AccountPermissions::defaults_for(*address, default_active_operations());
          account = &s.accounts.emplace(*address, std::move(created)).first->second;
        }
        account->balance += *amount;
        return account->balance;
      });
      return json_response(json::object{{"address", address->to_base58()}, {"balance", balance}});
    }
    if (admin == "usdt/mint") {
      auto address = address_param(params, "address");
      auto amount = common::json_get_int64(params, "amount");
      if (!address.ok())
        return json_response(json::object{{"Error", address.error().message}}, 400);
      if (!amount.ok() || *amount <= 0)
        return json_response(json::object{{"Error", "amount must be a positive integer"}}, 400);
      int64_t balance =
          node_.write([&](ChainState& s) { return s.usdt_balances[*address] += *amount; });
      return json_response(json::object{{"address", address->to_base58()}, {"usdt", balance}});
    }
    if (admin == "mine") {
      auto blocks = common::json_get_int64_or(params, "blocks", 1);
      if (!blocks.ok() || *blocks < 1 || *blocks > 100'000) {
        return json_response(json::object{{"Error", "blocks must be 1..100000"}}, 400);
      }
      node_.mine(*blocks);
      return json_response(node_.read([](const ChainState& s) {
        return json::object{{"head", s.head().number}, {"timestamp", s.head().timestamp_ms}};
      }));
    }
    if (admin == "time/advance") {
      auto seconds = common::json_get_int64(params, "seconds");
      if (!seconds.ok() || *seconds < 0 || *seconds > 366 * 86'400) {
        return json_response(json::object{{"Error", "seconds must be 0..31622400"}}, 400);
      }
      node_.advance_time(*seconds);
      return json_response(node_.read([](const ChainState& s) {
        return json::object{{"head", s.head().number}, {"timestamp", s.head().timestamp_ms}};
      }));
    }
    if (admin == "faults") {
      if (request.method == "DELETE") {
        faults_->clear();
        return json_response(json::object{{"faults", "cleared"}});
      }
      FaultConfig config;
      auto latency = common::json_get_int64_or(params, "latency_ms", 0);
      auto status = common::json_get_int64_or(params, "status", 503);
      if (!latency.ok() || !status.ok() || *latency < 0 || *latency > 60'000 || *status < 400 ||
          *status > 599) {
        return json_response(
            json::object{{"Error", "latency_ms must be 0..60000 and status 400..599"}}, 400);
      }
      config.latency_ms = *latency;
      config.status = static_cast<int>(*status);
      for (const char* key : {"error_rate", "drop_broadcast_rate"}) {
        const auto* v = params.if_contains(key);
        if (v == nullptr) continue;
        double rate = v->is_double()  ? v->as_double()
                      : v->is_int64() ? static_cast<double>(v->as_int64())
                                      : -1;
        if (rate < 0 || rate > 1)
          return json_response(json::object{{"Error", std::string(key) + " must be 0..1"}}, 400);
        (std::string(key) == "error_rate" ? config.error_rate : config.drop_broadcast_rate) = rate;
      }
      if (const auto* endpoints = params.if_contains("endpoints")) {
        if (!endpoints->is_array())
          return json_response(json::object{{"Error", "endpoints must be an array"}}, 400);
        for (const auto& e : endpoints->as_array()) {
          if (!e.is_string())
            return json_response(json::object{{"Error", "endpoints must be strings"}}, 400);
          config.endpoints.emplace_back(e.as_string());
        }
      }
      faults_->set(config);
      return json_response(json::object{{"faults", "set"}});
    }
    if (admin == "state") {
      int64_t depth = node_.solidity_depth();
      return json_response(node_.read([&](const ChainState& s) {
        return json::object{{"head", json::object{{"number", s.head().number},
                                                  {"id", hex(s.head().id)},
                                                  {"timestamp", s.head().timestamp_ms}}},
                            {"solid_number", std::max<int64_t>(0, s.head().number - depth)},
                            {"accounts", static_cast<int64_t>(s.accounts.size())},
                            {"transactions", static_cast<int64_t>(s.transactions.size())},
                            {"pending", static_cast<int64_t>(s.pending.size())},
                            {"total_energy_weight", s.total_energy_weight},
                            {"total_net_weight", s.total_net_weight},
                            {"usdt_holders", static_cast<int64_t>(s.usdt_balances.size())}};
      }));
    }
    return json_response(json::object{{"Error", "unknown admin route " + path}}, 404);
  }

  if (endpoint.empty()) return json_response(json::object{{"Error", "unknown path " + path}}, 404);
  int64_t solid_depth = solidity ? node_.solidity_depth() : 0;

  // ---- blocks ----
  if (endpoint == "getnowblock") {
    return json_response(node_.read([&](const ChainState& s) {
      int64_t number = std::max<int64_t>(0, s.head().number - solid_depth);
      return block_json(s, s.blocks[static_cast<size_t>(number)], true, visible);
    }));
  }
  if (endpoint == "getblockbynum" || endpoint == "getblock" || endpoint == "getblockbyid") {
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      int64_t top = std::max<int64_t>(0, s.head().number - solid_depth);
      int64_t number = top;
      bool detail = true;
      if (endpoint == "getblockbynum") {
        auto n = common::json_get_int64(params, "num");
        if (!n.ok()) return json::object{};
        number = *n;
      } else {
        std::string key = endpoint == "getblockbyid" ? "value" : "id_or_num";
        const auto* v = params.if_contains(key);
        if (endpoint == "getblock") {
          auto d = common::json_get_bool_or(params, "detail", false);
          detail = d.ok() && *d;
        }
        if (v != nullptr && v->is_string() && !v->as_string().empty()) {
          std::string text(v->as_string());
          if (text.size() == 64) {
            auto id = common::from_hex(text);
            if (!id.ok()) return json::object{};
            number = 0;
            for (int i = 0; i < 8; ++i) number = number << 8 | (*id)[i];
            if (number < 0 || number > top ||
                !std::equal(id->begin(), id->end(), s.blocks[number].id.begin())) {
              return json::object{};
            }
          } else {
            auto n = common::json_int64(*v, key);
            if (!n.ok()) return json::object{};
            number = *n;
          }
        } else if (v != nullptr && v->is_int64()) {
          number = v->as_int64();
        }
      }
      if (number < 0 || number > top) return json::object{};
      return block_json(s, s.blocks[static_cast<size_t>(number)], detail, visible);
    }));
  }

  // ---- accounts and resources ----
  if (endpoint == "getaccount") {
    auto address = address_param(params, "address");
    if (!address.ok()) return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      const Account* a = s.find_account(*address);
      if (a == nullptr) return json::object{};
      return account_json(s, *a, visible);
    }));
  }
  if (endpoint == "getaccountresource" && !solidity) {
    auto address = address_param(params, "address");
    if (!address.ok()) return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      const Account* a = s.find_account(*address);
      if (a == nullptr) return json::object{};
      int64_t now = s.head().timestamp_ms;
      json::object out = account_net_json(s, *a);
      put_nonzero(
          out, "tronPowerLimit",
          (a->frozen_energy + a->frozen_bandwidth + a->delegated_energy + a->delegated_bandwidth) /
              kSunPerTrx);
      put_nonzero(out, "EnergyUsed", a->energy.at(now));
      put_nonzero(out, "EnergyLimit", energy_limit(s, *a));
      put_nonzero(out, "TotalEnergyLimit", s.params.total_energy_limit());
      put_nonzero(out, "TotalEnergyWeight", s.total_energy_weight);
      return out;
    }));
  }
  if (endpoint == "getchainparameters" && !solidity) {
    return json_response(node_.read([](const ChainState& s) { return s.params.to_json(); }));
  }
  if (endpoint == "getdelegatedresourcev2") {
    auto from = address_param(params, "fromAddress");
    auto to = address_param(params, "toAddress");
    if (!from.ok() || !to.ok()) return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      json::array list;
      for (bool locked : {false, true}) {
        auto it = s.delegations.find(DelegationKey{*from, *to, locked});
        if (it == s.delegations.end()) continue;
        json::object entry{{"from", address_text(*from, visible)},
                           {"to", address_text(*to, visible)}};
        put_nonzero(entry, "frozen_balance_for_bandwidth", it->second.bandwidth);
        put_nonzero(entry, "frozen_balance_for_energy", it->second.energy);
        put_nonzero(entry, "expire_time_for_bandwidth", it->second.bandwidth_expire_ms);
        put_nonzero(entry, "expire_time_for_energy", it->second.energy_expire_ms);
        list.push_back(std::move(entry));
      }
      if (list.empty()) return json::object{};
      return json::object{{"delegatedResource", std::move(list)}};
    }));
  }
  if (endpoint == "getdelegatedresourceaccountindexv2") {
    auto account = address_param(params, "value");
    if (!account.ok()) return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      // java-tron builds the index for any address, so even one that never delegated gets
      // {"account": …}; each list is ordered by the time of the latest delegation.
      std::vector<std::pair<int64_t, Address>> from_accounts, to_accounts;
      for (const auto& [pair, timestamp] : s.delegation_index) {
        if (pair.second == *account) from_accounts.emplace_back(timestamp, pair.first);
        if (pair.first == *account) to_accounts.emplace_back(timestamp, pair.second);
      }
      json::object out{{"account", address_text(*account, visible)}};
      auto list = [&](std::vector<std::pair<int64_t, Address>> v) {
        std::stable_sort(v.begin(), v.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        json::array a;
        for (const auto& x : v) a.push_back(json::string(address_text(x.second, visible)));
        return a;
      };
      if (!from_accounts.empty()) out["fromAccounts"] = list(from_accounts);
      if (!to_accounts.empty()) out["toAccounts"] = list(to_accounts);
      return out;
    }));
  }
  if (endpoint == "getavailableunfreezecount" || endpoint == "getcanwithdrawunfreezeamount") {
    auto owner = address_param(params, "owner_address");
    if (!owner.ok()) return json_response(json::object{});
    auto at = common::json_get_int64_or(params, "timestamp", 0);
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      const Account* a = s.find_account(*owner);
      if (a == nullptr) return json::object{};
      int64_t now = at.ok() && *at > 0 ? *at : s.head().timestamp_ms;
      json::object out;
      if (endpoint == "getavailableunfreezecount") {
        int64_t pending = std::count_if(
            a->unfreezing.begin(), a->unfreezing.end(),
            [&](const UnfreezeEntry& e) { return e.expire_ms > s.head().timestamp_ms; });
        put_nonzero(out, "count", 32 - pending);
      } else {
        int64_t amount = 0;
        for (const auto& e : a->unfreezing) {
          if (e.expire_ms <= now) amount += e.amount;
        }
        put_nonzero(out, "amount", amount);
      }
      return out;
    }));
  }
  if (endpoint == "getcandelegatedmaxsize") {
    auto owner = address_param(params, "owner_address");
    auto type = common::json_get_int64_or(params, "type", 0);
    if (!owner.ok() || !type.ok() || (*type != 0 && *type != 1))
      return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      const Account* a = s.find_account(*owner);
      if (a == nullptr) return json::object{};
      json::object out;
      put_nonzero(out, "max_size",
                  can_delegate_max(s, *a, *type == 1 ? protocol::ENERGY : protocol::BANDWIDTH,
                                   s.head().timestamp_ms));
      return out;
    }));
  }

  if (endpoint == "getaccountnet" && !solidity) {
    auto address = address_param(params, "address");
    if (!address.ok()) return json_response(json::object{});
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      const Account* a = s.find_account(*address);
      if (a == nullptr) return json::object{};
      return account_net_json(s, *a);
    }));
  }
  if (endpoint == "getcontract" && !solidity) {
    auto contract = address_param(params, "value");
    if (!contract.ok() || *contract != usdt_address()) return json_response(json::object{});
    return json_response(usdt_contract_json(visible));
  }

  // ---- multi-signature helpers ----
  if ((endpoint == "getsignweight" || endpoint == "getapprovedlist") && !solidity) {
    auto tx = transaction_from_node_json(params);
    if (!tx.ok()) return bad_argument(tx.error().message);
    if (endpoint == "getapprovedlist") return json_response(approved_list_json(*tx, visible));
    return json_response(
        node_.read([&](const ChainState& s) { return sign_weight_json(s, *tx, visible); }));
  }

  // ---- transactions by id ----
  if (endpoint == "gettransactionbyid" || endpoint == "gettransactioninfobyid") {
    auto txid = common::json_get_string(params, "value");
    if (!txid.ok()) return json_response(json::object{});
    auto id = common::from_hex_exact(*txid, 32, "value");
    if (!id.ok()) return json_response(json::object{});
    common::Hash32 key;
    std::copy(id->begin(), id->end(), key.begin());
    return json_response(node_.read([&](const ChainState& s) -> json::value {
      auto it = s.transactions.find(key);
      if (it == s.transactions.end() || !it->second.block_number) return json::object{};
      if (*it->second.block_number > s.head().number - solid_depth) return json::object{};
      if (endpoint == "gettransactioninfobyid") return receipt_info_json(it->second);
      json::object tx = chain::transaction_to_json(it->second.tx, {.visible = visible});
      std::string ret = it->second.receipt.contract_result.empty()
                            ? "SUCCESS"
                            : it->second.receipt.contract_result;
      tx["ret"] = json::array{json::object{{"contractRet", ret}}};
      return tx;
    }));
  }

  // ---- constant calls ----
  if (endpoint == "triggerconstantcontract" || endpoint == "estimateenergy") {
    auto owner = address_param(params, "owner_address");
    auto contract = address_param(params, "contract_address");
    if (!owner.ok()) return trigger_bad_request(params, owner.error().message, visible);
    if (!contract.ok()) return trigger_bad_request(params, contract.error().message, visible);
    auto call_data = call_data_of(params);
    if (!call_data.ok()) return trigger_bad_request(params, call_data.error().message, visible);
    const common::Bytes& data = *call_data;
    ConstantCall call =
        node_.read([&](const ChainState& s) { return call_constant(s, *owner, *contract, data); });
    if (endpoint == "estimateenergy") {
      if (!call.ok) {
        return trigger_failure("CONTRACT_EXE_ERROR", call.message, visible);
      }
      return json_response(json::object{{"result", json::object{{"result", true}}},
                                        {"energy_required", call.energy_used}});
    }
    json::object out{{"result", json::object{{"result", true}}}, {"energy_used", call.energy_used}};
    out["constant_result"] = json::array{json::string(hex(call.result))};
    if (!call.ok) {
      out["result"] =
          json::object{{"result", true}, {"message", hex(common::as_bytes(call.message))}};
      out["transaction"] = json::object{{"ret", json::array{json::object{{"ret", "FAILED"}}}}};
    }
    return json_response(out);
  }

  // ---- broadcast ----
  if ((endpoint == "broadcasttransaction" || endpoint == "broadcasthex") && !solidity) {
    bool hex_form = endpoint == "broadcasthex";
    Result<Transaction> tx = common::make_error("invalid_request", "");
    if (hex_form) {
      auto text = common::json_get_string(params, "transaction");
      if (!text.ok()) return bad_argument(text.error().message);
      auto bytes = common::from_hex(*text);
      if (!bytes.ok()) return bad_argument(bytes.error().message);
      tx = Transaction::decode_signed(*bytes);
    } else {
      tx = transaction_from_node_json(params);
    }
    if (!tx.ok()) {
      json::object out{
          {"result", false}, {"code", "OTHER_ERROR"}, {"message", "Error: " + tx.error().message}};
      return json_response(out);
    }
    std::string code = "SUCCESS";
    std::string message;
    if (faults_ && faults_->drop_broadcast(path)) {
      // Accepted, then lost: the node never sees it.
    } else {
      ApplyResult result = node_.broadcast(*tx);
      if (auto* error = std::get_if<BroadcastError>(&result)) {
        code = error->code;
        message = error->message;
      }
    }
    bool ok = code == "SUCCESS";
    if (hex_form) {
      json::object tx_json = chain::transaction_to_json(*tx, {.visible = false});
      return json_response(json::object{{"result", ok},
                                        {"code", code},
                                        {"message", message},
                                        {"txid", tx->txid_hex()},
                                        {"transaction", common::json_to_string(tx_json)}});
    }
    if (ok) return json_response(json::object{{"result", true}, {"txid", tx->txid_hex()}});
    return json_response(
        json::object{{"code", code},
                     {"message", visible ? message : hex(common::as_bytes(message))},
                     {"txid", tx->txid_hex()}});
  }

  // ---- builders ----
  if (!solidity) {
    chain::TxHeader header = builder_header(node_, params);
    Result<Transaction> tx = common::make_error("invalid_request", "unknown endpoint");
    bool known = true;
    auto owner = address_param(params, "owner_address");
    if (endpoint == "createtransaction") {
      auto to = address_param(params, "to_address");
      auto amount = common::json_get_int64(params, "amount");
      if (!owner.ok() || !to.ok() || !amount.ok()) {
        return bad_argument(!owner.ok() ? owner.error().message
                            : !to.ok()  ? to.error().message
                                        : amount.error().message);
      }
      tx = chain::build_transfer(header, *owner, *to, common::Sun(*amount));
    } else if (endpoint == "freezebalancev2" || endpoint == "unfreezebalancev2") {
      bool freeze = endpoint == "freezebalancev2";
      auto amount = common::json_get_int64(params, freeze ? "frozen_balance" : "unfreeze_balance");
      auto resource = resource_param(params);
      if (!owner.ok() || !amount.ok() || !resource.ok()) {
        return bad_argument(!owner.ok()    ? owner.error().message
                            : !amount.ok() ? amount.error().message
                                           : resource.error().message);
      }
      tx = freeze
               ? chain::build_freeze_balance_v2(header, *owner, common::Sun(*amount), *resource)
               : chain::build_unfreeze_balance_v2(header, *owner, common::Sun(*amount), *resource);
    } else if (endpoint == "withdrawexpireunfreeze") {
      if (!owner.ok()) return bad_argument(owner.error().message);
      protocol::WithdrawExpireUnfreezeContract c;
      c.set_owner_address(owner->proto_bytes());
      tx = wrap_contract(header, protocol::Transaction_Contract::WithdrawExpireUnfreezeContract, c);
    } else if (endpoint == "cancelallunfreezev2") {
      if (!owner.ok()) return bad_argument(owner.error().message);
      protocol::CancelAllUnfreezeV2Contract c;
      c.set_owner_address(owner->proto_bytes());
      tx = wrap_contract(header, protocol::Transaction_Contract::CancelAllUnfreezeV2Contract, c);
    } else if (endpoint == "delegateresource" || endpoint == "undelegateresource") {
      auto receiver = address_param(params, "receiver_address");
      auto balance = common::json_get_int64(params, "balance");
      auto resource = resource_param(params);
      auto lock = common::json_get_bool_or(params, "lock", false);
      auto period = common::json_get_int64_or(params, "lock_period", 0);
      if (!owner.ok() || !receiver.ok() || !balance.ok() || !resource.ok() || !lock.ok() ||
          !period.ok()) {
        return bad_argument(!owner.ok()      ? owner.error().message
                            : !receiver.ok() ? receiver.error().message
                                             : "balance, resource, lock or lock_period is invalid");
      }
      if (endpoint == "delegateresource") {
        tx = chain::build_delegate_resource(header, *owner, *receiver, common::Sun(*balance),
                                            *resource, {*lock, *lock ? *period : 0});
      } else {
        tx = chain::build_undelegate_resource(header, *owner, *receiver, common::Sun(*balance),
                                              *resource);
      }
    } else if (endpoint == "accountpermissionupdate") {
      if (!owner.ok()) return bad_argument(owner.error().message);
      protocol::AccountPermissionUpdateContract c;
      json::object contract_json;
      for (const char* key : {"owner", "witness", "actives"}) {
        if (const auto* v = params.if_contains(key)) contract_json[key] = *v;
      }
      auto status = chain::message_from_json(contract_json, &c);
      if (!status.ok()) return bad_argument(status.error().message);
      if (!c.has_owner()) return validate_error("owner permission is missed");
      std::vector<protocol::Permission> actives(c.actives().begin(), c.actives().end());
      std::optional<protocol::Permission> witness;
      if (c.has_witness()) witness = c.witness();
      tx = chain::build_account_permission_update(header, *owner, c.owner(), witness, actives);
    } else if (endpoint == "triggersmartcontract") {
      auto contract = address_param(params, "contract_address");
      if (!owner.ok() || !contract.ok()) {
        return trigger_bad_request(
            params, !owner.ok() ? owner.error().message : contract.error().message, visible);
      }
      auto fee_limit = common::json_get_int64_or(params, "fee_limit", 0);
      auto call_value = common::json_get_int64_or(params, "call_value", 0);
      if (!fee_limit.ok() || !call_value.ok()) {
        return trigger_bad_request(params, "fee_limit and call_value must be integers", visible);
      }
      header.fee_limit_sun = *fee_limit;
      auto call_data = call_data_of(params);
      if (!call_data.ok()) return trigger_bad_request(params, call_data.error().message, visible);
      const common::Bytes& data = *call_data;
      tx = chain::build_trigger_smart_contract(header, *owner, *contract, common::Sun(*call_value),
                                               data);
      if (!tx.ok()) {
        return trigger_failure("CONTRACT_VALIDATE_ERROR", tx.error().message, visible);
      }
      auto valid = node_.read(
          [&](const ChainState& s) { return validate_contract(s, *tx, s.head().timestamp_ms); });
      if (!valid.ok()) {
        return trigger_failure("CONTRACT_VALIDATE_ERROR", valid.error().message, visible);
      }
      return json_response(
          json::object{{"result", json::object{{"result", true}}},
                       {"transaction", chain::transaction_to_json(*tx, {.visible = visible})}});
    } else {
      known = false;
    }
    if (known) {
      if (!tx.ok()) return validate_error(tx.error().message);
      auto valid = node_.read([&](const ChainState& s) {
        return validate_contract(s, *tx, s.head().timestamp_ms, ValidateFor::kBuilder);
      });
      if (!valid.ok()) return validate_error(valid.error().message);
      return json_response(chain::transaction_to_json(*tx, {.visible = visible}));
    }
  }
  return json_response(json::object{{"Error", "unknown path " + path}}, 404);
}

}  // namespace relay::devnet
