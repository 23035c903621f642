// ApiKeyService: issues API keys (shown once, stored only as SHA-256) and authenticates bearer
// secrets, checking expiry and revocation. Comparison is constant-time so timing reveals nothing.
#pragma once

#include <string>

#include "energy/tenant.h"

namespace relay::energy {

inline constexpr std::string_view kApiKeyPrefix = "trk_";

struct IssuedKey {
  ApiKey key;
  std::string secret;  // "trk_" + 43 base64url characters of 32 random bytes; returned once
};

class ApiKeyService {
 public:
  ApiKeyService(ApiKeyRepository& keys, const common::Clock& clock) : keys_(keys), clock_(clock) {}

  common::Result<IssuedKey> issue(int64_t tenant_id, const std::set<Scope>& scopes,
                                  std::optional<int> expires_in_days);
  // Errors: "unauthorized" for a malformed, unknown, expired or revoked secret (one message for
  // all, so a caller learns nothing about which keys exist); store failures pass through.
  common::Result<ApiKey> authenticate(std::string_view secret);

 private:
  ApiKeyRepository& keys_;
  const common::Clock& clock_;
};

// SHA-256 of the secret, the only form in which it is stored.
common::Hash32 hash_secret(std::string_view secret);
bool constant_time_equal(common::ByteView a, common::ByteView b);

}  // namespace relay::energy
