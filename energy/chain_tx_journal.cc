#include "energy/chain_tx_journal.h"

namespace relay::energy {

std::string chain_tx_state_name(ChainTxState state) {
  switch (state) {
    case ChainTxState::kSigned:
      return "signed";
    case ChainTxState::kBroadcast:
      return "broadcast";
    case ChainTxState::kIncluded:
      return "included";
    case ChainTxState::kFailed:
      return "failed";
    case ChainTxState::kExpired:
      return "expired";
  }
  return "";
}

std::optional<ChainTxState> chain_tx_state_from_name(std::string_view name) {
  for (ChainTxState s : {ChainTxState::kSigned, ChainTxState::kBroadcast, ChainTxState::kIncluded,
                         ChainTxState::kFailed, ChainTxState::kExpired}) {
    if (chain_tx_state_name(s) == name) return s;
  }
  return std::nullopt;
}

bool is_settled(ChainTxState state) {
  return state == ChainTxState::kIncluded || state == ChainTxState::kFailed ||
         state == ChainTxState::kExpired;
}

}  // namespace relay::energy
