// TxFacts: what the signer needs to know about a transaction before it will sign it, read by the
// signer itself from the exact raw_data bytes it hashes. The signer has its own small decoder on
// purpose: a bug or a lie anywhere upstream cannot make it sign something other than what it
// checked.
#pragma once

#include <cstdint>

#include "common/address.h"
#include "common/bytes.h"

namespace relay::signer {

struct TxFacts {
  common::Hash32 txid{};
  int contract_type = -1;
  int32_t permission_id = 0;
  common::Address owner;
  // The TRX this transaction moves, stakes, delegates or sends to a contract (sun):
  // Transfer.amount, FreezeBalanceV2.frozen_balance, UnfreezeBalanceV2.unfreeze_balance,
  // (Un)DelegateResource.balance, TriggerSmartContract.call_value; 0 for AccountPermissionUpdate.
  int64_t amount_sun = 0;
  int64_t fee_limit_sun = 0;
  int64_t expiration_ms = 0;
};

// Error code "invalid_transaction" for anything malformed, more than one contract, an unknown
// contract type or a type_url that does not match the contract type.
common::Result<TxFacts> read_tx_facts(common::ByteView raw_data);

}  // namespace relay::signer
