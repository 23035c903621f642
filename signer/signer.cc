#include "signer/signer.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/random.h>

#include <array>

namespace relay::signer {

using common::Bytes;
using common::make_error;
using common::Result;

namespace {

Result<common::Address> derive_address(const secp256k1_context* ctx, const SecretKey& key) {
  secp256k1_pubkey pubkey;
  if (!secp256k1_ec_pubkey_create(ctx, &pubkey, key.data())) {
    return make_error("invalid_key", "cannot derive a public key from this private key");
  }
  std::array<uint8_t, 65> serialized{};
  size_t len = serialized.size();
  secp256k1_ec_pubkey_serialize(ctx, serialized.data(), &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  return common::Address::from_public_key(serialized);
}

}  // namespace

Result<std::unique_ptr<LocalSigner>> LocalSigner::create(SecretKey key, SigningPolicy policy) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  // Randomizing the context blinds the signing computation against side channels.
  std::array<uint8_t, 32> seed{};
  if (getrandom(seed.data(), seed.size(), 0) != static_cast<ssize_t>(seed.size()) ||
      !secp256k1_context_randomize(ctx, seed.data())) {
    secp256k1_context_destroy(ctx);
    return make_error("signer_init", "cannot randomize the secp256k1 context");
  }
  common::secure_zero(seed.data(), seed.size());
  auto address = derive_address(ctx, key);
  if (!address.ok()) {
    secp256k1_context_destroy(ctx);
    return address.error();
  }
  return std::unique_ptr<LocalSigner>(
      new LocalSigner(ctx, std::move(key), std::move(policy), *address));
}

LocalSigner::LocalSigner(secp256k1_context* ctx, SecretKey key, SigningPolicy policy,
                         common::Address address)
    : ctx_(ctx), key_(std::move(key)), policy_(std::move(policy)), address_(address) {}

LocalSigner::~LocalSigner() { secp256k1_context_destroy(ctx_); }

Result<Bytes> LocalSigner::sign_transaction(common::ByteView raw_data) const {
  RELAY_ASSIGN_OR_RETURN(TxFacts facts, read_tx_facts(raw_data));
  RELAY_TRY_STATUS(policy_.check(facts));

  secp256k1_ecdsa_recoverable_signature sig;
  // NULL nonce function = RFC 6979; libsecp256k1 only ever produces low-s.
  if (!secp256k1_ecdsa_sign_recoverable(ctx_, &sig, facts.txid.data(), key_.data(), nullptr,
                                        nullptr)) {
    return make_error("sign_failed", "libsecp256k1 could not sign");
  }
  Bytes out(65);
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_, out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

Result<common::Address> address_of(const SecretKey& key) {
  // Key generation needs a full context; the static one refuses it.
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  auto address = derive_address(ctx, key);
  secp256k1_context_destroy(ctx);
  return address;
}

}  // namespace relay::signer
