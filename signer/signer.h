// Signer: the only component that turns a transaction into a signature. LocalSigner holds one key
// and one policy; it reads the transaction's facts from the raw bytes itself, asks the policy, and
// only then signs the SHA-256 of those same bytes (the txid) with RFC 6979 and low-s.
#pragma once

#include <memory>

#include "common/address.h"
#include "signer/secret_key.h"
#include "signer/signing_policy.h"

struct secp256k1_context_struct;

namespace relay::signer {

class Signer {
 public:
  virtual ~Signer() = default;
  // The TRON address of this signer's key: what a permission lists as its key.
  virtual const common::Address& address() const = 0;
  // 65 bytes r ‖ s ‖ v with v = 27 + recovery id (as TronWeb writes it; nodes accept 0/1 too).
  // A policy refusal or unreadable transaction is an error, never a signature.
  virtual common::Result<common::Bytes> sign_transaction(common::ByteView raw_data) const = 0;
};

class LocalSigner final : public Signer {
 public:
  static common::Result<std::unique_ptr<LocalSigner>> create(SecretKey key, SigningPolicy policy);
  ~LocalSigner() override;

  const common::Address& address() const override { return address_; }
  common::Result<common::Bytes> sign_transaction(common::ByteView raw_data) const override;
  const SigningPolicy& policy() const { return policy_; }

 private:
  LocalSigner(secp256k1_context_struct* ctx, SecretKey key, SigningPolicy policy,
              common::Address address);

  secp256k1_context_struct* ctx_;  // randomized once at creation; read-only afterwards
  SecretKey key_;
  SigningPolicy policy_;
  common::Address address_;
};

// The address a key controls, without building a signer (for `tronrelayctl key address`).
common::Result<common::Address> address_of(const SecretKey& key);

}  // namespace relay::signer
