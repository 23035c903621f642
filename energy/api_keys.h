// ApiKeyService: issues API keys (shown once, stored only as SHA-256) and authenticates bearer
// secrets, checking expiry and revocation. Comparison is constant-time so timing reveals nothing.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "energy/tenant.h"

namespace relay::energy {

inline constexpr std::string_view kApiKeyPrefix = "trk_";

struct IssuedKey {
  ApiKey key;
  std::string secret;  // "trk_" + 43 base64url characters of 32 random bytes; returned once
};

// Authenticated keys are remembered for `ttl` so that a request costs no key lookup in the
// database. The price: a key revoked by another process (tronrelayctl, another daemon) keeps
// working for up to `ttl`; one revoked through this process stops at once (forget()). Expiry is
// checked on every call, cached or not.
struct ApiKeyCacheOptions {
  std::chrono::milliseconds ttl{2'000};
  size_t max_entries = 10'000;
};

class ApiKeyService {
 public:
  ApiKeyService(ApiKeyRepository& keys, const common::Clock& clock, ApiKeyCacheOptions cache = {})
      : keys_(keys), clock_(clock), cache_options_(cache) {}

  common::Result<IssuedKey> issue(int64_t tenant_id, const std::set<Scope>& scopes,
                                  std::optional<int> expires_in_days);
  // Errors: "unauthorized" for a malformed, unknown, expired or revoked secret (one message for
  // all, so a caller learns nothing about which keys exist); store failures pass through.
  common::Result<ApiKey> authenticate(std::string_view secret);
  // Drops a key from the cache after it was revoked here.
  void forget(int64_t key_id);

 private:
  struct CachedKey {
    ApiKey key;
    common::TimePoint fetched_at;
  };

  ApiKeyRepository& keys_;
  const common::Clock& clock_;
  const ApiKeyCacheOptions cache_options_;
  std::mutex cache_mutex_;
  std::map<common::Hash32, CachedKey> cache_;
};

// SHA-256 of the secret, the only form in which it is stored.
common::Hash32 hash_secret(std::string_view secret);
bool constant_time_equal(common::ByteView a, common::ByteView b);

}  // namespace relay::energy
