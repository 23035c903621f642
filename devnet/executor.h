// Executor: java-tron's transaction processing for the devnet — the checks a node runs at broadcast
// (size, TaPoS, expiration, duplicates, signatures and permissions, bandwidth and fees) and the
// actuators of the contracts tronrelay uses, plus the native USDT contract. A refused transaction
// changes nothing; an accepted one changes the state and yields its receipt.
#pragma once

#include <string>
#include <variant>

#include "devnet/state.h"

namespace relay::devnet {

// A broadcast refusal as java-tron reports it: Return.response_code name and message text.
struct BroadcastError {
  std::string code;  // "SIGERROR", "CONTRACT_VALIDATE_ERROR", ...
  std::string message;
};

using ApplyResult = std::variant<Receipt, BroadcastError>;

// The result of running a contract call without committing it (triggerconstantcontract).
struct ConstantCall {
  bool ok = true;       // false: the call reverts
  std::string message;  // revert reason
  int64_t energy_used = 0;
  common::Bytes result;
};

class Executor {
 public:
  explicit Executor(ChainState& state) : state_(state) {}

  // Runs every broadcast check against the head block at `now_ms` and applies the transaction.
  // `signers` are the transaction's recovered signers (chain::recover_signers), computed by the
  // caller outside any lock.
  ApplyResult apply(const chain::Transaction& tx, int64_t now_ms,
                    const chain::RecoveredSigners& signers);

 private:
  ChainState& state_;
};

// Who runs an actuator's validate step. java-tron's builder endpoints validate with
// isTransactionCreate set, which makes a BANDWIDTH delegation keep back the bandwidth of the
// delegation transaction itself (its bandwidth is not consumed yet).
enum class ValidateFor { kBroadcast, kBuilder };

// The actuator's validate step alone, as builder endpoints run it before returning a transaction.
// The message is java-tron's ContractValidateException text.
common::Status validate_contract(const ChainState& state, const chain::Transaction& tx,
                                 int64_t now_ms, ValidateFor caller = ValidateFor::kBroadcast);

// triggerconstantcontract / estimateenergy on the native USDT contract.
ConstantCall call_constant(const ChainState& state, const common::Address& caller,
                           const common::Address& contract, common::ByteView data);

// What an account may sign for: its stored permissions, or java-tron's defaults if it has none.
chain::AccountPermissions permissions_of(const ChainState& state, const common::Address& address);

// Energy the native USDT transfer costs: to a holder, or to an address with a zero balance.
inline constexpr int64_t kUsdtTransferEnergyToHolder = 64'285;
inline constexpr int64_t kUsdtTransferEnergyToNewHolder = 130'285;
inline constexpr int64_t kUsdtRevertEnergy = 14'563;
inline constexpr int64_t kUsdtViewEnergy = 935;

// java-tron's default active operations for new accounts (Nile's current bitmap).
common::Bytes default_active_operations();

}  // namespace relay::devnet
