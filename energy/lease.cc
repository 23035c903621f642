#include "energy/lease.h"

#include <charconv>

namespace relay::energy {

namespace {

constexpr LeaseState kAllStates[] = {LeaseState::kPending,   LeaseState::kDelegating,
                                     LeaseState::kActive,    LeaseState::kReclaiming,
                                     LeaseState::kReclaimed, LeaseState::kFailed};

constexpr std::string_view kRefPrefix = "lease:";

}  // namespace

std::string lease_state_name(LeaseState state) {
  switch (state) {
    case LeaseState::kPending:
      return "pending";
    case LeaseState::kDelegating:
      return "delegating";
    case LeaseState::kActive:
      return "active";
    case LeaseState::kReclaiming:
      return "reclaiming";
    case LeaseState::kReclaimed:
      return "reclaimed";
    case LeaseState::kFailed:
      return "failed";
  }
  return "";
}

std::optional<LeaseState> lease_state_from_name(std::string_view name) {
  for (LeaseState state : kAllStates) {
    if (lease_state_name(state) == name) return state;
  }
  return std::nullopt;
}

bool is_in_flight(LeaseState state) {
  return state == LeaseState::kPending || state == LeaseState::kDelegating;
}

bool is_final(LeaseState state) {
  return state == LeaseState::kReclaimed || state == LeaseState::kFailed;
}

std::string lease_ref(int64_t lease_id) {
  return std::string(kRefPrefix) + std::to_string(lease_id);
}

std::optional<int64_t> lease_id_from_ref(std::string_view ref) {
  if (!ref.starts_with(kRefPrefix)) return std::nullopt;
  std::string_view digits = ref.substr(kRefPrefix.size());
  int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || id <= 0) {
    return std::nullopt;
  }
  return id;
}

// The chain counts the lock from the latest block's time when it executes the delegation, which
// is at or before the block that included it: counting from delegated_at errs late, never early.
std::optional<common::TimePoint> lock_ends_at(const Lease& lease) {
  if (!lease.lock || !lease.delegated_at) return std::nullopt;
  const int64_t blocks =
      lease.lock_period_blocks == 0 ? kDefaultLockPeriodBlocks : lease.lock_period_blocks;
  return *lease.delegated_at + std::chrono::milliseconds(blocks * kBlockIntervalMs);
}

}  // namespace relay::energy
