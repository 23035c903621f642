#include "energy/chain_views.h"

#include "chain/tx_json.h"
#include "common/address.h"

namespace relay::energy {

namespace json = boost::json;

json::object permission_view(const protocol::Permission& permission) {
  json::array keys;
  for (const auto& key : permission.keys()) {
    auto address = common::Address::from_bytes(common::as_bytes(key.address()));
    keys.push_back(json::object{
        {"address", address.ok() ? json::value(address->to_base58()) : json::value(nullptr)},
        {"weight", key.weight()}});
  }
  json::object out{{"id", permission.id()},
                   {"type", protocol::Permission::PermissionType_Name(permission.type())},
                   {"name", permission.permission_name()},
                   {"threshold", permission.threshold()},
                   {"keys", std::move(keys)}};
  if (permission.type() == protocol::Permission::Active) {
    json::array operations;
    for (int type : chain::operations_contract_types(common::as_bytes(permission.operations()))) {
      operations.push_back(type);
    }
    out["operations"] = std::move(operations);
  }
  return out;
}

json::object transaction_view(const chain::Transaction& tx) {
  return chain::transaction_to_json(tx);
}

common::Result<common::Bytes> signed_transaction_from_json(const json::object& json) {
  RELAY_ASSIGN_OR_RETURN(auto tx, chain::transaction_from_json(json));
  return tx.encode_signed();
}

}  // namespace relay::energy
