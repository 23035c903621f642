// java-tron's HTTP JSON form of transactions (JsonFormat): field names as in the .proto, bytes as
// hex (or Base58 addresses with visible=true), enums by name, int64 as numbers, zero fields
// omitted. Rendering serves the devnet and the API; parsing accepts what
// /wallet/broadcasttransaction accepts.
#pragma once

#include <boost/json.hpp>

#include "chain/transaction.h"

namespace relay::chain {

struct JsonOptions {
  bool visible = false;  // true: *_address fields and Key.address as Base58Check
};

// Any of our protobuf messages (contract parameters, Permission, ...) as a JSON object.
boost::json::object message_to_json(const google::protobuf::Message& message,
                                    JsonOptions options = {});
// raw_data as java-tron renders it: {"contract":[{"parameter":{"value":…,"type_url":…},"type":…}],
// "ref_block_bytes":…, …}.
boost::json::object raw_to_json(const Transaction& tx, JsonOptions options = {});
// {"visible","txID","raw_data","raw_data_hex","signature"?}: what builder endpoints and
// gettransactionbyid return.
boost::json::object transaction_to_json(const Transaction& tx, JsonOptions options = {});

// Fills `message` from JSON; unknown keys, wrong types and out-of-range values are errors naming
// the field path. Address fields take hex or Base58 whatever `visible` says.
common::Status message_from_json(const boost::json::object& json,
                                 google::protobuf::Message* message);
// Rebuilds a transaction from java-tron JSON ({"raw_data":…,"signature":[…]} or a bare raw_data
// object). As on a node, the bytes come from the JSON alone; `raw_data_hex` and `txID`, if present,
// must agree with them.
common::Result<Transaction> transaction_from_json(const boost::json::object& json);

}  // namespace relay::chain
