#include "energy/api_keys.h"

#include <sys/random.h>

#include <array>

#include "common/hash.h"

namespace relay::energy {

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(common::ByteView bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = buffer << 8 | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

common::Error unauthorized() {
  return common::make_error("unauthorized", "missing, invalid, expired or revoked API key");
}

}  // namespace

common::Hash32 hash_secret(std::string_view secret) {
  return common::sha256(common::as_bytes(secret));
}

bool constant_time_equal(common::ByteView a, common::ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

common::Result<IssuedKey> ApiKeyService::issue(int64_t tenant_id, const std::set<Scope>& scopes,
                                               std::optional<int> expires_in_days) {
  if (scopes.empty())
    return common::make_error("invalid_request", "scopes: at least one is required");
  if (expires_in_days && (*expires_in_days < 1 || *expires_in_days > 3650)) {
    return common::make_error("invalid_request", "expires_days must be 1..3650");
  }
  std::array<uint8_t, 32> random{};
  if (getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return common::make_error("internal", "no randomness available for a new key");
  }
  IssuedKey issued;
  issued.secret = std::string(kApiKeyPrefix) + base64url(random);
  common::secure_zero(random.data(), random.size());
  ApiKey key;
  key.tenant_id = tenant_id;
  key.prefix = issued.secret.substr(0, kApiKeyPrefix.size() + 8);
  key.secret_hash = hash_secret(issued.secret);
  key.scopes = scopes;
  if (expires_in_days) key.expires_at = clock_.now() + std::chrono::hours(24 * *expires_in_days);
  RELAY_ASSIGN_OR_RETURN(issued.key, keys_.insert(key));
  return issued;
}

common::Result<ApiKey> ApiKeyService::authenticate(std::string_view secret) {
  if (!secret.starts_with(kApiKeyPrefix) || secret.size() != kApiKeyPrefix.size() + 43) {
    return unauthorized();
  }
  common::Hash32 hash = hash_secret(secret);
  std::optional<ApiKey> found;
  {
    std::lock_guard lock(cache_mutex_);
    auto cached = cache_.find(hash);
    if (cached != cache_.end() && clock_.now() - cached->second.fetched_at < cache_options_.ttl) {
      found = cached->second.key;
    }
  }
  if (!found) {
    RELAY_ASSIGN_OR_RETURN(found, keys_.find_by_hash(hash));
    if (found && cache_options_.ttl.count() > 0) {
      std::lock_guard lock(cache_mutex_);
      if (cache_.size() >= cache_options_.max_entries) cache_.clear();  // rare; refills on demand
      cache_[hash] = CachedKey{*found, clock_.now()};
    }
  }
  // The lookup is by hash; comparing again in constant time guards a store that matched loosely.
  if (!found || !constant_time_equal(found->secret_hash, hash)) return unauthorized();
  if (found->revoked_at) return unauthorized();
  if (found->expires_at && *found->expires_at <= clock_.now()) return unauthorized();
  return *found;
}

void ApiKeyService::forget(int64_t key_id) {
  std::lock_guard lock(cache_mutex_);
  std::erase_if(cache_, [&](const auto& entry) { return entry.second.key.id == key_id; });
}

}  // namespace relay::energy
