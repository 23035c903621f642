#include "energy/ledger.h"

namespace relay::energy {

namespace {
constexpr std::pair<EntryKind, std::string_view> kKindNames[] = {
    {EntryKind::kCredit, "credit"},   {EntryKind::kDebit, "debit"},     {EntryKind::kHold, "hold"},
    {EntryKind::kRelease, "release"}, {EntryKind::kCapture, "capture"}, {EntryKind::kRefund, "refund"}};
}  // namespace

std::string entry_kind_name(EntryKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return std::string(name);
  }
  return "";
}

std::optional<EntryKind> entry_kind_from_name(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

}  // namespace relay::energy
