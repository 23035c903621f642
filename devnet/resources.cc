#include "devnet/resources.h"

#include <algorithm>

namespace relay::devnet {
namespace {

int64_t limit_for(int64_t stake_sun, int64_t total_limit, int64_t total_weight) {
  if (total_weight <= 0 || stake_sun <= 0) return 0;
  double ratio = static_cast<double>(total_limit) / static_cast<double>(total_weight);
  return static_cast<int64_t>(static_cast<double>(stake_sun) / kSunPerTrx * ratio);
}

}  // namespace

int64_t energy_limit(const ChainState& state, const Account& account) {
  return limit_for(account.frozen_energy + account.acquired_energy,
                   state.params.total_energy_limit(), state.total_energy_weight);
}

int64_t net_limit(const ChainState& state, const Account& account) {
  return limit_for(account.frozen_bandwidth + account.acquired_bandwidth,
                   state.params.total_net_limit(), state.total_net_weight);
}

int64_t available_energy(const ChainState& state, const Account& account, int64_t now_ms) {
  return std::max<int64_t>(0, energy_limit(state, account) - account.energy.at(now_ms));
}

int64_t available_net(const ChainState& state, const Account& account, int64_t now_ms) {
  return std::max<int64_t>(0, net_limit(state, account) - account.net.at(now_ms));
}

int64_t available_free_net(const ChainState& state, const Account& account, int64_t now_ms) {
  return std::max<int64_t>(0, state.params.free_net_limit() - account.free_net.at(now_ms));
}

int64_t delegatable_stake(const ChainState& state, const Account& account, chain::Resource resource,
                          int64_t now_ms, int64_t extra_net_bytes) {
  bool energy = resource == protocol::ENERGY;
  int64_t own = energy ? account.frozen_energy : account.frozen_bandwidth;
  int64_t acquired = energy ? account.acquired_energy : account.acquired_bandwidth;
  int64_t usage = energy ? account.energy.at(now_ms)
                         : account.net.at(now_ms) + std::max<int64_t>(0, extra_net_bytes);
  int64_t total_limit = energy ? state.params.total_energy_limit() : state.params.total_net_limit();
  int64_t total_weight = energy ? state.total_energy_weight : state.total_net_weight;
  // (long)(usage × 1e6 × ((double)TotalWeight / TotalLimit)), as java-tron computes it.
  int64_t usage_in_sun =
      total_limit > 0 ? static_cast<int64_t>(
                            static_cast<double>(usage) * kSunPerTrx *
                            (static_cast<double>(total_weight) / static_cast<double>(total_limit)))
                      : 0;
  int64_t own_usage = std::max<int64_t>(0, usage_in_sun - acquired);
  return own - own_usage;
}

int64_t delegate_bandwidth_estimate(const ChainState& state, int64_t balance) {
  constexpr int64_t kDelegateCostBaseSize = 275;
  protocol::DelegateResourceContract largest;
  largest.set_lock(true);
  int64_t max_period = state.params.max_delegate_lock_period();
  // supportMaxDelegateLockPeriod: the period field is only set once the proposal raised it.
  if (max_period > 86'400 && state.params.unfreeze_delay_days() > 0) {
    largest.set_lock_period(max_period);
  }
  largest.set_balance(balance);
  protocol::DelegateResourceContract smallest;
  smallest.set_balance(kSunPerTrx);
  int64_t added =
      static_cast<int64_t>(largest.ByteSizeLong()) - static_cast<int64_t>(smallest.ByteSizeLong());
  return kDelegateCostBaseSize + std::max<int64_t>(0, added);
}

int64_t can_delegate_max(const ChainState& state, const Account& account, chain::Resource resource,
                         int64_t now_ms) {
  int64_t extra = resource == protocol::BANDWIDTH
                      ? delegate_bandwidth_estimate(state, account.frozen_bandwidth)
                      : 0;
  int64_t max = delegatable_stake(state, account, resource, now_ms, extra);
  return max < kSunPerTrx ? 0 : max;
}

}  // namespace relay::devnet
