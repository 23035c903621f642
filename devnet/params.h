// ChainParameters: the proposal-controlled values a java-tron node reports at
// /wallet/getchainparameters, with current mainnet values as defaults and every one overridable
// from the genesis file.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace relay::devnet {

class ChainParameters {
 public:
  ChainParameters();  // mainnet defaults

  int64_t get(const std::string& key) const;  // asserts the key exists: a typo is a bug
  common::Status set(const std::string& key, int64_t value);

  int64_t energy_fee() const { return get("getEnergyFee"); }
  int64_t transaction_fee() const { return get("getTransactionFee"); }
  int64_t free_net_limit() const { return get("getFreeNetLimit"); }
  int64_t total_net_limit() const { return get("getTotalNetLimit"); }
  int64_t total_energy_limit() const { return get("getTotalEnergyCurrentLimit"); }
  int64_t create_account_fee() const { return get("getCreateAccountFee"); }
  int64_t create_new_account_fee_in_system_contract() const {
    return get("getCreateNewAccountFeeInSystemContract");
  }
  int64_t create_new_account_bandwidth_rate() const {
    return get("getCreateNewAccountBandwidthRate");
  }
  int64_t update_account_permission_fee() const { return get("getUpdateAccountPermissionFee"); }
  int64_t multi_sign_fee() const { return get("getMultiSignFee"); }
  int64_t memo_fee() const { return get("getMemoFee"); }
  int64_t max_delegate_lock_period() const { return get("getMaxDelegateLockPeriod"); }
  int64_t unfreeze_delay_days() const { return get("getUnfreezeDelayDays"); }
  int64_t max_fee_limit() const { return get("getMaxFeeLimit"); }
  int64_t total_sign_num() const { return get("getTotalSignNum"); }

  // {"chainParameter":[{"key":…,"value":…}, …]}, value omitted when 0 as java-tron does.
  boost::json::object to_json() const;

 private:
  std::vector<std::pair<std::string, int64_t>> values_;
};

}  // namespace relay::devnet
