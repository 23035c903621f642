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

// Own FreezeV2 stake a DelegateResource may lend now, in sun: the unlent stake minus the
// stake-equivalent of current usage that acquired (delegated-in) stake does not cover. java-tron
// charges usage to acquired stake first. `extra_net_bytes` adds not-yet-consumed bandwidth (a
// delegation being built, see delegate_bandwidth_estimate). Can be negative.
int64_t delegatable_stake(const ChainState& state, const Account& account, chain::Resource resource,
                          int64_t now_ms, int64_t extra_net_bytes = 0);

// The bandwidth java-tron sets aside for the delegation transaction itself when a node builds one
// or answers getcandelegatedmaxsize (TransactionUtil.estimateConsumeBandWidthSize): 275 bytes plus
// what a locked, maximum-period DelegateResourceContract of `balance` adds over a 1 TRX one.
int64_t delegate_bandwidth_estimate(const ChainState& state, int64_t balance);

// getcandelegatedmaxsize: delegatable_stake, for BANDWIDTH with the delegation's own bandwidth
// counted; 0 below 1 TRX.
int64_t can_delegate_max(const ChainState& state, const Account& account, chain::Resource resource,
                         int64_t now_ms);

}  // namespace relay::devnet
