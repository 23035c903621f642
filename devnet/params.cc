#include "devnet/params.h"

#include <cassert>

namespace relay::devnet {

ChainParameters::ChainParameters()
    : values_{
          {"getMaintenanceTimeInterval", 21'600'000},
          {"getAccountUpgradeCost", 9'999'000'000},
          {"getCreateAccountFee", 100'000},
          {"getTransactionFee", 1'000},
          {"getAssetIssueFee", 1'024'000'000},
          {"getWitnessPayPerBlock", 8'000'000},
          {"getWitnessStandbyAllowance", 115'200'000'000},
          {"getCreateNewAccountFeeInSystemContract", 1'000'000},
          {"getCreateNewAccountBandwidthRate", 1},
          {"getAllowCreationOfContracts", 1},
          {"getRemoveThePowerOfTheGr", -1},
          {"getEnergyFee", 100},
          {"getExchangeCreateFee", 1'024'000'000},
          {"getMaxCpuTimeOfOneTx", 80},
          {"getAllowUpdateAccountName", 0},
          {"getAllowSameTokenName", 1},
          {"getAllowDelegateResource", 1},
          {"getTotalEnergyLimit", 180'000'000'000},
          {"getAllowTvmTransferTrc10", 1},
          {"getTotalEnergyCurrentLimit", 180'000'000'000},
          {"getAllowMultiSign", 1},
          {"getAllowAdaptiveEnergy", 0},
          {"getUpdateAccountPermissionFee", 100'000'000},
          {"getMultiSignFee", 1'000'000},
          {"getAllowAccountStateRoot", 0},
          {"getAllowProtoFilterNum", 0},
          {"getAllowTvmConstantinople", 1},
          {"getAllowTvmSolidity059", 1},
          {"getAllowTvmIstanbul", 1},
          {"getAllowShieldedTRC20Transaction", 1},
          {"getForbidTransferToContract", 0},
          {"getAdaptiveResourceLimitTargetRatio", 10},
          {"getAdaptiveResourceLimitMultiplier", 1'000},
          {"getChangeDelegation", 1},
          {"getWitness127PayPerBlock", 160'000'000},
          {"getAllowMarketTransaction", 0},
          {"getMarketSellFee", 0},
          {"getMarketCancelFee", 0},
          {"getAllowPBFT", 0},
          {"getAllowTransactionFeePool", 0},
          {"getMaxFeeLimit", 15'000'000'000},
          {"getAllowOptimizeBlackHole", 1},
          {"getAllowNewResourceModel", 1},
          {"getAllowTvmFreeze", 1},
          {"getAllowTvmVote", 1},
          {"getAllowTvmLondon", 1},
          {"getAllowTvmCompatibleEvm", 0},
          {"getAllowAccountAssetOptimization", 0},
          {"getFreeNetLimit", 600},
          {"getTotalNetLimit", 43'200'000'000},
          {"getAllowHigherLimitForMaxCpuTimeOfOneTx", 1},
          {"getAllowAssetOptimization", 1},
          {"getAllowNewReward", 1},
          {"getMemoFee", 1'000'000},
          {"getAllowDelegateOptimization", 1},
          {"getUnfreezeDelayDays", 14},
          {"getAllowOptimizedReturnValueOfChainId", 1},
          {"getAllowDynamicEnergy", 1},
          {"getDynamicEnergyThreshold", 5'000'000'000},
          {"getDynamicEnergyIncreaseFactor", 2'000},
          {"getDynamicEnergyMaxFactor", 12'000},
          {"getAllowTvmShangHai", 1},
          {"getAllowCancelAllUnfreezeV2", 1},
          {"getMaxDelegateLockPeriod", 864'000},
          {"getAllowOldRewardOpt", 1},
          {"getAllowEnergyAdjustment", 1},
          {"getMaxCreateAccountTxSize", 1'000},
          {"getTotalSignNum", 5},
      } {}

int64_t ChainParameters::get(const std::string& key) const {
  for (const auto& [name, value] : values_) {
    if (name == key) return value;
  }
  assert(false && "unknown chain parameter");
  return 0;
}

common::Status ChainParameters::set(const std::string& key, int64_t value) {
  for (auto& [name, current] : values_) {
    if (name == key) {
      current = value;
      return {};
    }
  }
  return common::make_error("invalid_genesis", "unknown chain parameter " + key);
}

boost::json::object ChainParameters::to_json() const {
  boost::json::array list;
  for (const auto& [name, value] : values_) {
    boost::json::object entry{{"key", name}};
    if (value != 0) entry["value"] = value;
    list.push_back(std::move(entry));
  }
  return {{"chainParameter", std::move(list)}};
}

}  // namespace relay::devnet
