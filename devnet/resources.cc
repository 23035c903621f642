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

int64_t can_delegate_max(const ChainState& state, const Account& account, chain::Resource resource,
                         int64_t now_ms) {
  bool energy = resource == protocol::ENERGY;
  int64_t own = energy ? account.frozen_energy : account.frozen_bandwidth;
  int64_t all = own + (energy ? account.acquired_energy : account.acquired_bandwidth);
  if (own <= 0 || all <= 0) return 0;
  int64_t usage = energy ? account.energy.at(now_ms) : account.net.at(now_ms);
  int64_t total_limit = energy ? state.params.total_energy_limit() : state.params.total_net_limit();
  int64_t total_weight = energy ? state.total_energy_weight : state.total_net_weight;
  // The usage is shared between own and acquired stake in proportion; only own stake can be lent.
  double own_usage =
      static_cast<double>(usage) * static_cast<double>(own) / static_cast<double>(all);
  double usage_in_sun = total_limit > 0
                            ? own_usage * kSunPerTrx * static_cast<double>(total_weight) /
                                  static_cast<double>(total_limit)
                            : 0;
  int64_t max = own - static_cast<int64_t>(usage_in_sun);
  return max < kSunPerTrx ? 0 : max;
}

}  // namespace relay::devnet
