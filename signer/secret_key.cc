#include "signer/secret_key.h"

#include <secp256k1.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <new>

namespace relay::signer {

using common::make_error;
using common::Result;

namespace {

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

uint8_t* allocate_secret_page() {
  void* page =
      mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) throw std::bad_alloc();
  // Best effort: mlock can fail under a low RLIMIT_MEMLOCK; the key is still wiped and undumped.
  (void)mlock(page, page_size());
  (void)madvise(page, page_size(), MADV_DONTDUMP);
  return static_cast<uint8_t*>(page);
}

int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

SecretKey::SecretKey() : bytes_(allocate_secret_page()) {}

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) { other.bytes_ = nullptr; }

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    release();
    bytes_ = other.bytes_;
    other.bytes_ = nullptr;
  }
  return *this;
}

SecretKey::~SecretKey() { release(); }

void SecretKey::release() {
  if (bytes_ == nullptr) return;
  common::secure_zero(bytes_, 32);
  munlock(bytes_, page_size());
  munmap(bytes_, page_size());
  bytes_ = nullptr;
}

Result<SecretKey> SecretKey::from_bytes(common::ByteView bytes32) {
  if (bytes32.size() != 32) {
    return make_error("invalid_key",
                      "private key must be 32 bytes, got " + std::to_string(bytes32.size()));
  }
  SecretKey key;
  std::copy(bytes32.begin(), bytes32.end(), key.bytes_);
  // Rejects zero and anything ≥ the group order n.
  if (!secp256k1_ec_seckey_verify(secp256k1_context_static, key.bytes_)) {
    return make_error("invalid_key", "private key is zero or not below the secp256k1 curve order");
  }
  return key;
}

Result<SecretKey> SecretKey::from_hex(std::string_view hex) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front())))
    hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() != 64) {
    return make_error("invalid_key",
                      "private key must be 64 hex characters, got " + std::to_string(hex.size()));
  }
  SecretKey key;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_nibble(hex[2 * i]);
    int lo = hex_nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return make_error("invalid_key", "private key contains a non-hex character");
    key.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!secp256k1_ec_seckey_verify(secp256k1_context_static, key.bytes_)) {
    return make_error("invalid_key", "private key is zero or not below the secp256k1 curve order");
  }
  return key;
}

}  // namespace relay::signer
