#include "energy/pool.h"

#include <utility>

namespace relay::energy {

namespace {
// The names are the API's and the database's (CHECK constraints in migrations/sql/0002_pools.sql).
constexpr std::pair<PoolKind, std::string_view> kKindNames[] = {
    {PoolKind::kOwn, "own"}, {PoolKind::kPermission, "permission"}};
constexpr std::pair<PoolStatus, std::string_view> kStatusNames[] = {
    {PoolStatus::kPending, "pending"},
    {PoolStatus::kActive, "active"},
    {PoolStatus::kSuspended, "suspended"},
    {PoolStatus::kDisabled, "disabled"},
    {PoolStatus::kDeleted, "deleted"}};

template <typename Enum, size_t N>
std::string name_of(const std::pair<Enum, std::string_view> (&names)[N], Enum value) {
  for (const auto& [v, name] : names) {
    if (v == value) return std::string(name);
  }
  return "";
}

template <typename Enum, size_t N>
std::optional<Enum> from_name(const std::pair<Enum, std::string_view> (&names)[N],
                              std::string_view name) {
  for (const auto& [v, n] : names) {
    if (n == name) return v;
  }
  return std::nullopt;
}
}  // namespace

std::string pool_kind_name(PoolKind kind) { return name_of(kKindNames, kind); }

std::optional<PoolKind> pool_kind_from_name(std::string_view name) {
  return from_name(kKindNames, name);
}

std::string pool_status_name(PoolStatus status) { return name_of(kStatusNames, status); }

std::optional<PoolStatus> pool_status_from_name(std::string_view name) {
  return from_name(kStatusNames, name);
}

}  // namespace relay::energy
