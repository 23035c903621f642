#include "energy/tenant.h"

namespace relay::energy {

namespace {
constexpr std::pair<Scope, std::string_view> kScopeNames[] = {
    {Scope::kQuote, "quote"}, {Scope::kLease, "lease"}, {Scope::kRelay, "relay"},
    {Scope::kPools, "pools"}, {Scope::kAdmin, "admin"}, {Scope::kOperator, "operator"}};
}  // namespace

std::string scope_name(Scope scope) {
  for (const auto& [s, name] : kScopeNames) {
    if (s == scope) return std::string(name);
  }
  return "";
}

std::optional<Scope> scope_from_name(std::string_view name) {
  for (const auto& [s, n] : kScopeNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

common::Result<std::set<Scope>> parse_scopes(std::string_view text) {
  std::set<Scope> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    auto scope = scope_from_name(name);
    if (!scope) {
      return common::make_error("invalid_request",
                                "unknown scope '" + std::string(name) +
                                    "' (scopes: quote, lease, relay, pools, admin, operator)");
    }
    out.insert(*scope);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return common::make_error("invalid_request", "at least one scope is required");
  return out;
}

std::string format_scopes(const std::set<Scope>& scopes) {
  std::string out;
  for (Scope s : scopes) {
    if (!out.empty()) out += ",";
    out += scope_name(s);
  }
  return out;
}

const std::set<Scope>& all_scopes() {
  static const std::set<Scope> all = {Scope::kQuote, Scope::kLease, Scope::kRelay,
                                      Scope::kPools, Scope::kAdmin, Scope::kOperator};
  return all;
}

}  // namespace relay::energy
