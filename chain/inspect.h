// The human- and script-readable description of a transaction that `tronrelayctl tx inspect`
// prints: every field decoded, addresses in both forms, TRC20 transfers and permission bitmaps
// spelled out, and the signer recovered from each signature.
#pragma once

#include <boost/json.hpp>

#include "chain/transaction.h"

namespace relay::chain {

boost::json::object inspect_transaction(const Transaction& tx);

}  // namespace relay::chain
