#include "chain/trongrid_client.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/hash.h"
#include "common/protowire.h"

namespace relay::chain {

namespace json = boost::json;
using common::Address;
using common::Error;
using common::Result;

namespace {

// java-tron's ActiveDefaultOperations on mainnet and Nile (every system contract but the ones
// reserved for witnesses), as its getaccount prints it for a freshly created account's "active".
constexpr std::string_view kDefaultActiveOperationsHex =
    "7fff1fc0033efb0f000000000000000000000000000000000000000000000000";

const common::Bytes& default_active_operations() {
  static const common::Bytes ops = *common::from_hex(kDefaultActiveOperationsHex);
  return ops;
}

Error upstream(std::string_view path, const std::string& message) {
  return common::make_error("upstream_failed", std::string(path) + ": " + message);
}

// Strict reading of a node reply where absence means zero: java-tron's JsonFormat leaves out
// every default value. A field of the wrong type is a malformed reply, named with its path.
class Reader {
 public:
  Reader(std::string_view path, const json::object& object, std::string prefix = "")
      : path_(path), object_(object), prefix_(std::move(prefix)) {}

  const json::object& object() const { return object_; }
  bool has(std::string_view field) const { return object_.contains(field); }

  Error bad(std::string_view field, const std::string& what) const {
    return upstream(path_, "malformed reply: " + prefix_ + std::string(field) + " " + what);
  }

  Result<int64_t> i64(std::string_view field) const {
    const json::value* value = object_.if_contains(field);
    if (value == nullptr) return int64_t{0};
    if (value->is_int64()) return value->as_int64();
    if (value->is_string()) {
      auto parsed = common::json_int64(*value, field);
      if (parsed.ok()) return parsed;
    }
    return bad(field, "is not an integer within int64");
  }

  Result<bool> boolean(std::string_view field) const {
    const json::value* value = object_.if_contains(field);
    if (value == nullptr) return false;
    if (!value->is_bool()) return bad(field, "is not true or false");
    return value->as_bool();
  }

  Result<std::string> str(std::string_view field) const {
    const json::value* value = object_.if_contains(field);
    if (value == nullptr) return std::string();
    if (!value->is_string()) return bad(field, "is not a string");
    return std::string(value->as_string());
  }

  Result<common::Bytes> hex(std::string_view field) const {
    RELAY_ASSIGN_OR_RETURN(std::string text, str(field));
    auto bytes = common::from_hex(text);
    if (!bytes.ok()) return bad(field, "is not hex: " + bytes.error().message);
    return bytes;
  }

  // Empty when absent.
  Result<std::optional<Address>> address(std::string_view field) const {
    RELAY_ASSIGN_OR_RETURN(std::string text, str(field));
    if (text.empty()) return std::optional<Address>();
    auto address = Address::parse(text);
    if (!address.ok()) return bad(field, "is not an address: " + address.error().message);
    return std::optional<Address>(*address);
  }

  Result<std::optional<common::Hash32>> hash(std::string_view field) const {
    RELAY_ASSIGN_OR_RETURN(std::string text, str(field));
    if (text.empty()) return std::optional<common::Hash32>();
    auto bytes = common::from_hex_exact(text, 32, field);
    if (!bytes.ok()) return bad(field, "is not a 32-byte hex id");
    common::Hash32 out;
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return std::optional<common::Hash32>(out);
  }

  // An empty object when absent.
  Result<Reader> sub(std::string_view field) const {
    static const json::object kEmpty;
    const json::value* value = object_.if_contains(field);
    std::string prefix = prefix_ + std::string(field) + ".";
    if (value == nullptr) return Reader(path_, kEmpty, prefix);
    if (!value->is_object()) return bad(field, "is not an object");
    return Reader(path_, value->as_object(), prefix);
  }

  // An empty array when absent.
  Result<const json::array*> array(std::string_view field) const {
    static const json::array kEmpty;
    const json::value* value = object_.if_contains(field);
    if (value == nullptr) return &kEmpty;
    if (!value->is_array()) return bad(field, "is not an array");
    return &value->as_array();
  }

  Result<Reader> element(std::string_view field, const json::value& value, size_t index) const {
    std::string name = std::string(field) + "[" + std::to_string(index) + "]";
    if (!value.is_object()) return bad(name, "is not an object");
    return Reader(path_, value.as_object(), prefix_ + name + ".");
  }

 private:
  std::string_view path_;
  const json::object& object_;
  std::string prefix_;
};

std::string request(const json::object& body) { return common::json_to_string(body); }

std::string path_for(ReadFrom from, std::string_view endpoint) {
  return std::string(from == ReadFrom::kSolidity ? "/walletsolidity/" : "/wallet/") +
         std::string(endpoint);
}

Result<protocol::Permission> parse_permission(const Reader& r,
                                              protocol::Permission::PermissionType default_type,
                                              int32_t default_id) {
  protocol::Permission p;
  RELAY_ASSIGN_OR_RETURN(std::string type, r.str("type"));
  protocol::Permission::PermissionType parsed_type = default_type;
  if (!type.empty() && !protocol::Permission::PermissionType_Parse(type, &parsed_type)) {
    return r.bad("type", "is not Owner, Witness or Active");
  }
  p.set_type(parsed_type);
  RELAY_ASSIGN_OR_RETURN(int64_t id, r.i64("id"));
  if (id < 0 || id > INT32_MAX) return r.bad("id", "is out of range");
  p.set_id(r.has("id") ? static_cast<int32_t>(id) : default_id);
  RELAY_ASSIGN_OR_RETURN(std::string name, r.str("permission_name"));
  p.set_permission_name(name);
  RELAY_ASSIGN_OR_RETURN(int64_t threshold, r.i64("threshold"));
  p.set_threshold(threshold);
  RELAY_ASSIGN_OR_RETURN(int64_t parent_id, r.i64("parent_id"));
  if (parent_id < 0 || parent_id > INT32_MAX) return r.bad("parent_id", "is out of range");
  p.set_parent_id(static_cast<int32_t>(parent_id));
  RELAY_ASSIGN_OR_RETURN(common::Bytes operations, r.hex("operations"));
  p.set_operations(std::string(common::as_chars(operations)));
  RELAY_ASSIGN_OR_RETURN(const json::array* keys, r.array("keys"));
  for (size_t i = 0; i < keys->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader key, r.element("keys", (*keys)[i], i));
    RELAY_ASSIGN_OR_RETURN(std::optional<Address> address, key.address("address"));
    if (!address) return key.bad("address", "is missing");
    RELAY_ASSIGN_OR_RETURN(int64_t weight, key.i64("weight"));
    auto* out = p.add_keys();
    out->set_address(address->proto_bytes());
    out->set_weight(weight);
  }
  return p;
}

Result<AccountPermissions> parse_permissions(const Reader& r, const Address& address) {
  if (!r.has("owner_permission")) {
    // Accounts that never stored permissions: java-tron checks signatures against these.
    return AccountPermissions::defaults_for(address, default_active_operations());
  }
  AccountPermissions out;
  RELAY_ASSIGN_OR_RETURN(Reader owner, r.sub("owner_permission"));
  RELAY_ASSIGN_OR_RETURN(out.owner, parse_permission(owner, protocol::Permission::Owner, 0));
  if (r.has("witness_permission")) {
    RELAY_ASSIGN_OR_RETURN(Reader witness, r.sub("witness_permission"));
    RELAY_ASSIGN_OR_RETURN(out.witness,
                           parse_permission(witness, protocol::Permission::Witness, 1));
  }
  RELAY_ASSIGN_OR_RETURN(const json::array* actives, r.array("active_permission"));
  for (size_t i = 0; i < actives->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader active, r.element("active_permission", (*actives)[i], i));
    RELAY_ASSIGN_OR_RETURN(
        protocol::Permission p,
        parse_permission(active, protocol::Permission::Active, static_cast<int32_t>(2 + i)));
    out.actives.push_back(std::move(p));
  }
  return out;
}

Result<int64_t> checked_add(const Reader& r, std::string_view field, int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return r.bad(field, "sum overflows int64");
  return sum;
}

Result<AccountInfo> parse_account(const Reader& r, const Address& requested) {
  AccountInfo info;
  RELAY_ASSIGN_OR_RETURN(std::optional<Address> address, r.address("address"));
  info.address = address.value_or(requested);
  RELAY_ASSIGN_OR_RETURN(info.balance_sun, r.i64("balance"));
  RELAY_ASSIGN_OR_RETURN(info.create_time_ms, r.i64("create_time"));
  RELAY_ASSIGN_OR_RETURN(std::string type, r.str("type"));
  info.is_contract = type == "Contract";
  RELAY_ASSIGN_OR_RETURN(const json::array* frozen, r.array("frozenV2"));
  for (size_t i = 0; i < frozen->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader entry, r.element("frozenV2", (*frozen)[i], i));
    RELAY_ASSIGN_OR_RETURN(std::string resource, entry.str("type"));
    RELAY_ASSIGN_OR_RETURN(int64_t amount, entry.i64("amount"));
    // BANDWIDTH is the enum's zero, so java-tron leaves its type out.
    if (resource.empty() || resource == "BANDWIDTH") {
      RELAY_ASSIGN_OR_RETURN(info.frozen_bandwidth_sun,
                             checked_add(entry, "amount", info.frozen_bandwidth_sun, amount));
    } else if (resource == "ENERGY") {
      RELAY_ASSIGN_OR_RETURN(info.frozen_energy_sun,
                             checked_add(entry, "amount", info.frozen_energy_sun, amount));
    }
  }
  RELAY_ASSIGN_OR_RETURN(const json::array* unfrozen, r.array("unfrozenV2"));
  for (size_t i = 0; i < unfrozen->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader entry, r.element("unfrozenV2", (*unfrozen)[i], i));
    RELAY_ASSIGN_OR_RETURN(int64_t amount, entry.i64("unfreeze_amount"));
    RELAY_ASSIGN_OR_RETURN(info.unfreezing_sun,
                           checked_add(entry, "unfreeze_amount", info.unfreezing_sun, amount));
  }
  RELAY_ASSIGN_OR_RETURN(info.delegated_bandwidth_sun,
                         r.i64("delegated_frozenV2_balance_for_bandwidth"));
  RELAY_ASSIGN_OR_RETURN(info.acquired_bandwidth_sun,
                         r.i64("acquired_delegated_frozenV2_balance_for_bandwidth"));
  RELAY_ASSIGN_OR_RETURN(Reader resource, r.sub("account_resource"));
  RELAY_ASSIGN_OR_RETURN(info.delegated_energy_sun,
                         resource.i64("delegated_frozenV2_balance_for_energy"));
  RELAY_ASSIGN_OR_RETURN(info.acquired_energy_sun,
                         resource.i64("acquired_delegated_frozenV2_balance_for_energy"));
  RELAY_ASSIGN_OR_RETURN(info.permissions, parse_permissions(r, info.address));
  return info;
}

// The txid of a signed Transaction is the SHA-256 of its raw_data (field 1), read without a
// schema so that any contract type can be broadcast.
std::optional<common::Hash32> txid_of(common::ByteView signed_transaction) {
  common::WireReader reader(signed_transaction);
  while (true) {
    auto field = reader.next();
    if (!field.ok() || !*field) return std::nullopt;
    if ((*field)->number == 1 && (*field)->type == common::WireType::kLengthDelimited) {
      return common::sha256((*field)->bytes);
    }
  }
}

bool is_busy_code(std::string_view code) {
  return code == "SERVER_BUSY" || code == "NO_CONNECTION" ||
         code == "NOT_ENOUGH_EFFECTIVE_CONNECTION";
}

std::optional<FailureKind> classify_broadcast(const HttpReply& reply) {
  if (auto failure = classify_reply(reply)) return failure;
  if (reply.status != 200) return std::nullopt;
  auto object = common::parse_json_object(reply.body);
  if (!object.ok()) return std::nullopt;
  const json::value* code = object->if_contains("code");
  if (code != nullptr && code->is_string() && is_busy_code(code->as_string())) {
    return FailureKind::kBusy;
  }
  return std::nullopt;
}

bool is_printable_utf8(const common::Bytes& bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint8_t c = bytes[i];
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= bytes.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (bytes[i + k] & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

// java-tron's `result` object of trigger and estimate replies (TransactionExtention.result).
struct CallResult {
  bool result = false;
  std::string code;
  std::string message;
};

Result<CallResult> parse_call_result(const Reader& r) {
  RELAY_ASSIGN_OR_RETURN(Reader result, r.sub("result"));
  CallResult out;
  RELAY_ASSIGN_OR_RETURN(out.result, result.boolean("result"));
  RELAY_ASSIGN_OR_RETURN(out.code, result.str("code"));
  RELAY_ASSIGN_OR_RETURN(std::string message, result.str("message"));
  out.message = decode_node_message(message);
  return out;
}

// A call the node ran and that would fail on chain is an estimate (success = false); any other
// refusal is the node's error.
Result<EnergyEstimate> refused_call(std::string_view path, const CallResult& result) {
  if (result.code == "CONTRACT_EXE_ERROR" || result.code == "CONTRACT_VALIDATE_ERROR") {
    return EnergyEstimate{false, 0, result.message};
  }
  return upstream(path, (result.code.empty() ? "call failed" : result.code) +
                            (result.message.empty() ? "" : ": " + result.message));
}

}  // namespace

std::string decode_node_message(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return std::string(text);
  auto bytes = common::from_hex(text);
  if (!bytes.ok() || !is_printable_utf8(*bytes)) return std::string(text);
  return std::string(common::as_chars(*bytes));
}

Result<TaposRef> tapos_of(const BlockRef& block) {
  return TaposRef::from_block(block.number, block.id);
}

Result<std::unique_ptr<TronGridClient>> TronGridClient::create(HttpTransport& transport,
                                                               const common::Clock& clock,
                                                               TronGridOptions options,
                                                               EndpointPool::Seams seams) {
  RELAY_TRY_STATUS(validate(options));
  return std::make_unique<TronGridClient>(transport, clock, std::move(options), std::move(seams));
}

TronGridClient::TronGridClient(HttpTransport& transport, const common::Clock& clock,
                               TronGridOptions options, EndpointPool::Seams seams)
    : clock_(clock), pool_(transport, clock, std::move(options), std::move(seams)) {}

Result<json::object> TronGridClient::call(std::string_view path, const std::string& body,
                                          const ReplyClassifier& classify) {
  RELAY_ASSIGN_OR_RETURN(HttpReply reply, pool_.post(path, body, classify));
  auto object = common::parse_json_object(reply.body);
  if (reply.status != 200) {
    // java-tron's own error pages carry {"Error": …}; say what it said.
    std::string text = reply.body.substr(0, 200);
    if (object.ok()) {
      if (const auto* error = object->if_contains("Error"); error && error->is_string()) {
        text = std::string(error->as_string());
      }
    }
    return upstream(path, "HTTP " + std::to_string(reply.status) + " " + text);
  }
  if (!object.ok()) return upstream(path, "malformed reply: " + object.error().message);
  if (const auto* error = object->if_contains("Error")) {
    return upstream(path, error->is_string() ? std::string(error->as_string())
                                             : common::json_to_string(*error));
  }
  return object;
}

Result<BlockRef> TronGridClient::now_block(ReadFrom from) {
  std::string path = path_for(from, "getnowblock");
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, "{}"));
  Reader r(path, object);
  RELAY_ASSIGN_OR_RETURN(std::optional<common::Hash32> id, r.hash("blockID"));
  if (!id) return r.bad("blockID", "is missing");
  RELAY_ASSIGN_OR_RETURN(Reader header, r.sub("block_header"));
  RELAY_ASSIGN_OR_RETURN(Reader raw, header.sub("raw_data"));
  BlockRef block;
  block.id = *id;
  RELAY_ASSIGN_OR_RETURN(block.number, raw.i64("number"));
  RELAY_ASSIGN_OR_RETURN(block.timestamp_ms, raw.i64("timestamp"));
  // A block id starts with the block number; a mismatch means the reply is not one block.
  if (!tapos_of(block).ok()) return r.bad("blockID", "does not start with the block number");
  return block;
}

Result<TaposRef> TronGridClient::head_tapos() {
  RELAY_ASSIGN_OR_RETURN(BlockRef head, now_block(ReadFrom::kHead));
  return tapos_of(head);
}

Result<std::optional<AccountInfo>> TronGridClient::account(const Address& address, ReadFrom from) {
  std::string path = path_for(from, "getaccount");
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, request({{"address", address.to_hex()}})));
  if (object.empty()) return std::optional<AccountInfo>();  // never activated
  RELAY_ASSIGN_OR_RETURN(AccountInfo info, parse_account(Reader(path, object), address));
  return std::optional<AccountInfo>(std::move(info));
}

Result<AccountResources> TronGridClient::account_resources(const Address& address) {
  const std::string path = "/wallet/getaccountresource";
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, request({{"address", address.to_hex()}})));
  Reader r(path, object);
  AccountResources out;
  RELAY_ASSIGN_OR_RETURN(out.free_net_used, r.i64("freeNetUsed"));
  RELAY_ASSIGN_OR_RETURN(out.free_net_limit, r.i64("freeNetLimit"));
  RELAY_ASSIGN_OR_RETURN(out.net_used, r.i64("NetUsed"));
  RELAY_ASSIGN_OR_RETURN(out.net_limit, r.i64("NetLimit"));
  RELAY_ASSIGN_OR_RETURN(out.energy_used, r.i64("EnergyUsed"));
  RELAY_ASSIGN_OR_RETURN(out.energy_limit, r.i64("EnergyLimit"));
  RELAY_ASSIGN_OR_RETURN(out.total_net_limit, r.i64("TotalNetLimit"));
  RELAY_ASSIGN_OR_RETURN(out.total_net_weight, r.i64("TotalNetWeight"));
  RELAY_ASSIGN_OR_RETURN(out.total_energy_limit, r.i64("TotalEnergyLimit"));
  RELAY_ASSIGN_OR_RETURN(out.total_energy_weight, r.i64("TotalEnergyWeight"));
  return out;
}

Result<ChainParameters> TronGridClient::chain_parameters() {
  const std::string path = "/wallet/getchainparameters";
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, "{}"));
  Reader r(path, object);
  RELAY_ASSIGN_OR_RETURN(const json::array* entries, r.array("chainParameter"));
  if (entries->empty()) return r.bad("chainParameter", "is missing or empty");
  ChainParameters out;
  for (size_t i = 0; i < entries->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader entry, r.element("chainParameter", (*entries)[i], i));
    RELAY_ASSIGN_OR_RETURN(std::string key, entry.str("key"));
    if (key.empty()) return entry.bad("key", "is missing");
    RELAY_ASSIGN_OR_RETURN(int64_t value, entry.i64("value"));
    out.values[key] = value;
  }
  return out;
}

Result<ChainParameters> TronGridClient::cached_chain_parameters(std::chrono::milliseconds max_age) {
  {
    std::lock_guard lock(parameters_mutex_);
    if (parameters_ && (clock_.now() - parameters_at_ < max_age || parameters_refreshing_)) {
      return *parameters_;
    }
    parameters_refreshing_ = true;
  }
  auto fresh = chain_parameters();
  std::lock_guard lock(parameters_mutex_);
  parameters_refreshing_ = false;
  if (fresh.ok()) {
    parameters_ = *fresh;
    parameters_at_ = clock_.now();
    return fresh;
  }
  if (parameters_) return *parameters_;
  return fresh.error();
}

Result<int64_t> TronGridClient::can_delegate_max_sun(const Address& owner, Resource resource) {
  const std::string path = "/wallet/getcandelegatedmaxsize";
  RELAY_ASSIGN_OR_RETURN(json::object object,
                         call(path, request({{"owner_address", owner.to_hex()},
                                             {"type", static_cast<int64_t>(resource)}})));
  return Reader(path, object).i64("max_size");
}

Result<std::vector<DelegatedResource>> TronGridClient::delegated_resources(const Address& from,
                                                                           const Address& to,
                                                                           ReadFrom from_where) {
  std::string path = path_for(from_where, "getdelegatedresourcev2");
  RELAY_ASSIGN_OR_RETURN(
      json::object object,
      call(path, request({{"fromAddress", from.to_hex()}, {"toAddress", to.to_hex()}})));
  Reader r(path, object);
  RELAY_ASSIGN_OR_RETURN(const json::array* entries, r.array("delegatedResource"));
  std::vector<DelegatedResource> out;
  for (size_t i = 0; i < entries->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader entry, r.element("delegatedResource", (*entries)[i], i));
    DelegatedResource d;
    RELAY_ASSIGN_OR_RETURN(std::optional<Address> entry_from, entry.address("from"));
    RELAY_ASSIGN_OR_RETURN(std::optional<Address> entry_to, entry.address("to"));
    d.from = entry_from.value_or(from);
    d.to = entry_to.value_or(to);
    RELAY_ASSIGN_OR_RETURN(d.energy_sun, entry.i64("frozen_balance_for_energy"));
    RELAY_ASSIGN_OR_RETURN(d.energy_expire_ms, entry.i64("expire_time_for_energy"));
    RELAY_ASSIGN_OR_RETURN(d.bandwidth_sun, entry.i64("frozen_balance_for_bandwidth"));
    RELAY_ASSIGN_OR_RETURN(d.bandwidth_expire_ms, entry.i64("expire_time_for_bandwidth"));
    out.push_back(d);
  }
  return out;
}

Result<DelegationIndex> TronGridClient::delegation_index(const Address& account, ReadFrom from) {
  std::string path = path_for(from, "getdelegatedresourceaccountindexv2");
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, request({{"value", account.to_hex()}})));
  Reader r(path, object);
  DelegationIndex out;
  for (auto [field, list] :
       {std::pair{"fromAccounts", &out.from_accounts}, std::pair{"toAccounts", &out.to_accounts}}) {
    RELAY_ASSIGN_OR_RETURN(const json::array* entries, r.array(field));
    for (size_t i = 0; i < entries->size(); ++i) {
      std::string name = std::string(field) + "[" + std::to_string(i) + "]";
      if (!(*entries)[i].is_string()) return r.bad(name, "is not a string");
      auto address = Address::parse((*entries)[i].as_string());
      if (!address.ok()) return r.bad(name, "is not an address: " + address.error().message);
      list->push_back(*address);
    }
  }
  return out;
}

Result<BroadcastResult> TronGridClient::broadcast(common::ByteView signed_transaction) {
  const std::string path = "/wallet/broadcasthex";
  RELAY_ASSIGN_OR_RETURN(json::object object,
                         call(path, request({{"transaction", common::to_hex(signed_transaction)}}),
                              classify_broadcast));
  Reader r(path, object);
  BroadcastResult out;
  RELAY_ASSIGN_OR_RETURN(bool result, r.boolean("result"));
  RELAY_ASSIGN_OR_RETURN(out.code, r.str("code"));
  if (out.code.empty() && result) out.code = "SUCCESS";
  if (out.code.empty()) return r.bad("code", "is missing from a failed broadcast");
  RELAY_ASSIGN_OR_RETURN(std::string message, r.str("message"));
  out.message = decode_node_message(message);
  out.duplicate = out.code == "DUP_TRANSACTION_ERROR";
  out.accepted = out.code == "SUCCESS" || out.duplicate;
  RELAY_ASSIGN_OR_RETURN(std::optional<common::Hash32> txid, r.hash("txid"));
  if (!txid) txid = txid_of(signed_transaction);
  if (txid) out.txid = *txid;
  return out;
}

Result<std::optional<TransactionInfo>> TronGridClient::transaction_info(const common::Hash32& txid,
                                                                        ReadFrom from) {
  std::string path = path_for(from, "gettransactioninfobyid");
  RELAY_ASSIGN_OR_RETURN(json::object object,
                         call(path, request({{"value", common::to_hex(txid)}})));
  if (object.empty()) return std::optional<TransactionInfo>();  // not in a block (yet)
  Reader r(path, object);
  TransactionInfo info;
  RELAY_ASSIGN_OR_RETURN(std::optional<common::Hash32> id, r.hash("id"));
  if (id && *id != txid) return r.bad("id", "is not the transaction asked for");
  info.txid = txid;
  RELAY_ASSIGN_OR_RETURN(info.block_number, r.i64("blockNumber"));
  RELAY_ASSIGN_OR_RETURN(info.block_timestamp_ms, r.i64("blockTimeStamp"));
  RELAY_ASSIGN_OR_RETURN(info.fee_sun, r.i64("fee"));
  RELAY_ASSIGN_OR_RETURN(std::string result, r.str("result"));
  info.failed = result == "FAILED";
  RELAY_ASSIGN_OR_RETURN(std::string message, r.str("resMessage"));
  info.message = decode_node_message(message);
  RELAY_ASSIGN_OR_RETURN(Reader receipt, r.sub("receipt"));
  RELAY_ASSIGN_OR_RETURN(info.receipt_result, receipt.str("result"));
  RELAY_ASSIGN_OR_RETURN(info.energy_usage_total, receipt.i64("energy_usage_total"));
  RELAY_ASSIGN_OR_RETURN(info.energy_fee_sun, receipt.i64("energy_fee"));
  RELAY_ASSIGN_OR_RETURN(info.net_usage, receipt.i64("net_usage"));
  RELAY_ASSIGN_OR_RETURN(info.net_fee_sun, receipt.i64("net_fee"));
  return std::optional<TransactionInfo>(std::move(info));
}

Result<EnergyEstimate> TronGridClient::estimate_energy(const Address& owner,
                                                       const Address& contract,
                                                       common::ByteView data) {
  std::string body = request({{"owner_address", owner.to_hex()},
                              {"contract_address", contract.to_hex()},
                              {"data", common::to_hex(data)}});
  if (estimate_energy_unsupported_.load()) return estimate_by_trigger(body);
  const std::string path = "/wallet/estimateenergy";
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, body));
  Reader r(path, object);
  RELAY_ASSIGN_OR_RETURN(CallResult result, parse_call_result(r));
  if (!result.result) {
    // java-tron without vm.estimateEnergy refuses every estimate this way.
    if (result.message.find("does not support estimate energy") != std::string::npos) {
      estimate_energy_unsupported_ = true;
      return estimate_by_trigger(body);
    }
    return refused_call(path, result);
  }
  EnergyEstimate out;
  out.success = true;
  RELAY_ASSIGN_OR_RETURN(out.energy_used, r.i64("energy_required"));
  return out;
}

Result<EnergyEstimate> TronGridClient::estimate_by_trigger(const std::string& body) {
  const std::string path = "/wallet/triggerconstantcontract";
  RELAY_ASSIGN_OR_RETURN(json::object object, call(path, body));
  Reader r(path, object);
  RELAY_ASSIGN_OR_RETURN(CallResult result, parse_call_result(r));
  if (!result.result) return refused_call(path, result);
  EnergyEstimate out;
  RELAY_ASSIGN_OR_RETURN(out.energy_used, r.i64("energy_used"));
  // A reverted call still answers result.result = true; the revert shows in transaction.ret.
  RELAY_ASSIGN_OR_RETURN(Reader transaction, r.sub("transaction"));
  RELAY_ASSIGN_OR_RETURN(const json::array* ret, transaction.array("ret"));
  out.success = true;
  for (size_t i = 0; i < ret->size(); ++i) {
    RELAY_ASSIGN_OR_RETURN(Reader entry, transaction.element("ret", (*ret)[i], i));
    RELAY_ASSIGN_OR_RETURN(std::string status, entry.str("ret"));
    if (status == "FAILED") out.success = false;
  }
  if (!out.success) out.message = result.message;
  return out;
}

}  // namespace relay::chain
