// The chain's objects in the JSON the API shows and accepts: a permission with its operations as
// contract type numbers, a transaction in java-tron's form, and a signed transaction posted as
// java-tron JSON. Here rather than in api/ so that the API layer never reaches into chain/.
#pragma once

#include <boost/json.hpp>

#include "chain/permission.h"
#include "chain/transaction.h"
#include "common/bytes.h"
#include "common/result.h"

namespace relay::energy {

// {"id","type","name","threshold","keys":[{"address","weight"}],"operations"?:[57,58,…]}.
boost::json::object permission_view(const protocol::Permission& permission);
// {"visible","txID","raw_data","raw_data_hex","signature"?} as java-tron's builder endpoints
// answer.
boost::json::object transaction_view(const chain::Transaction& tx);
// A signed transaction posted as java-tron JSON ({"raw_data":…,"signature":[…]}, as TronWeb hands
// it over): the bytes come from the JSON alone, as on a node; raw_data_hex/txID must agree.
common::Result<common::Bytes> signed_transaction_from_json(const boost::json::object& json);

}  // namespace relay::energy
