// Stake 2.0 resource arithmetic, as java-tron computes it (PROTOCOL.md §4): limits from stake and
// the network totals, available amounts after linear recovery, and how much stake can be delegated.
#pragma once

#include "devnet/state.h"

namespace relay::devnet {

// (own + acquired stake) / 1e6 × TotalLimit / TotalWeight, in double and truncated, as java-tron.
int64_t energy_limit(const ChainState& state, const Account& account);
int64_t net_limit(const ChainState& state, const Account& account);

int64_t available_energy(const ChainState& state, const Account& account, int64_t now_ms);
int64_t available_net(const ChainState& state, const Account& account, int64_t now_ms);
int64_t available_free_net(const ChainState& state, const Account& account, int64_t now_ms);

// getcandelegatedmaxsize: own unlent stake minus the stake-equivalent of its share of current
// usage; 0 below 1 TRX.
int64_t can_delegate_max(const ChainState& state, const Account& account, chain::Resource resource,
                         int64_t now_ms);

}  // namespace relay::devnet
