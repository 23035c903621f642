#include "signer/signing_policy.h"

namespace relay::signer {

namespace {

common::Error refused(std::string message) {
  return common::make_error("policy_refused", std::move(message));
}

}  // namespace

common::Status SigningPolicy::check(const TxFacts& facts) const {
  if (!allowed_contract_types.contains(facts.contract_type)) {
    return refused("contract type " + std::to_string(facts.contract_type) +
                   " is not allowed by the signing policy");
  }
  if (!allowed_owners.contains(facts.owner)) {
    return refused("owner " + facts.owner.to_base58() + " is not an account this signer serves");
  }
  if (allowed_permission_ids && !allowed_permission_ids->contains(facts.permission_id)) {
    return refused("Permission_id " + std::to_string(facts.permission_id) + " is not allowed");
  }
  if (auto required = permission_id_by_owner.find(facts.owner);
      required != permission_id_by_owner.end() && facts.permission_id != required->second) {
    return refused("owner " + facts.owner.to_base58() + " is served under Permission_id " +
                   std::to_string(required->second) + " only, not " +
                   std::to_string(facts.permission_id));
  }
  if (facts.amount_sun < 0) return refused("negative amount");
  auto limit = max_amount_sun.find(facts.contract_type);
  if (limit != max_amount_sun.end() && facts.amount_sun > limit->second) {
    return refused("amount " + std::to_string(facts.amount_sun) + " sun exceeds the limit of " +
                   std::to_string(limit->second) + " sun per transaction");
  }
  if (facts.fee_limit_sun < 0 || facts.fee_limit_sun > max_fee_limit_sun) {
    return refused("fee_limit " + std::to_string(facts.fee_limit_sun) +
                   " sun exceeds the limit of " + std::to_string(max_fee_limit_sun) + " sun");
  }
  return {};
}

}  // namespace relay::signer
