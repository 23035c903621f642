// Builders for every transaction tronrelay creates. Each takes the header fields common to all
// transactions (TaPoS reference, expiration, timestamp, fee_limit, memo, Permission_id) and the
// contract's own fields, and returns a validated, unsigned Transaction whose bytes match
// java-tron's and TronWeb's byte for byte.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "chain/abi.h"
#include "chain/transaction.h"
#include "common/units.h"

namespace relay::chain {

// The TaPoS reference to a recent block that every transaction carries (PROTOCOL.md §2.5).
struct TaposRef {
  std::array<uint8_t, 2> ref_block_bytes{};  // bytes 6–7 of the big-endian block number
  std::array<uint8_t, 8> ref_block_hash{};   // bytes 8–15 of the block id

  // A block id starts with its number (8 bytes big-endian), so the id alone is enough; `number`
  // is checked against it to catch an id paired with the wrong block.
  static common::Result<TaposRef> from_block(int64_t number, common::ByteView block_id);
  static common::Result<TaposRef> from_block_id_hex(std::string_view block_id_hex);
};

struct TxHeader {
  TaposRef tapos;
  int64_t expiration_ms = 0;
  int64_t timestamp_ms = 0;
  int64_t fee_limit_sun = 0;  // only meaningful for smart-contract calls
  std::string memo;           // raw_data.data; hashed and charged as bandwidth
  int32_t permission_id = 0;  // 0 = owner; 2.. = an active permission
};

common::Result<Transaction> build_transfer(const TxHeader& header, const common::Address& owner,
                                           const common::Address& to, common::Sun amount);

common::Result<Transaction> build_trigger_smart_contract(const TxHeader& header,
                                                         const common::Address& owner,
                                                         const common::Address& contract,
                                                         common::Sun call_value,
                                                         common::ByteView data);

// TRC20 transfer(to, amount) on `token`; needs header.fee_limit_sun > 0.
common::Result<Transaction> build_trc20_transfer(const TxHeader& header,
                                                 const common::Address& owner,
                                                 const common::Address& token,
                                                 const common::Address& to, const Uint256& amount);

common::Result<Transaction> build_freeze_balance_v2(const TxHeader& header,
                                                    const common::Address& owner,
                                                    common::Sun amount, Resource resource);

common::Result<Transaction> build_unfreeze_balance_v2(const TxHeader& header,
                                                      const common::Address& owner,
                                                      common::Sun amount, Resource resource);

struct DelegateLock {
  bool lock = false;
  int64_t lock_period_blocks = 0;  // with lock: 0 means the chain default (3 days)
};

common::Result<Transaction> build_delegate_resource(const TxHeader& header,
                                                    const common::Address& owner,
                                                    const common::Address& receiver,
                                                    common::Sun balance, Resource resource,
                                                    DelegateLock lock = {});

common::Result<Transaction> build_undelegate_resource(const TxHeader& header,
                                                      const common::Address& owner,
                                                      const common::Address& receiver,
                                                      common::Sun balance, Resource resource);

// Replaces the owner permission, the witness permission (SR accounts only) and all actives.
common::Result<Transaction> build_account_permission_update(
    const TxHeader& header, const common::Address& owner,
    const protocol::Permission& owner_permission,
    const std::optional<protocol::Permission>& witness_permission,
    const std::vector<protocol::Permission>& actives);

}  // namespace relay::chain
