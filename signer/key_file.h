// Loading the relayer's (and own pools') private keys from where operators keep them: a hex key
// file that only its owner may read, or a systemd credential ($CREDENTIALS_DIRECTORY,
// LoadCredential=).
#pragma once

#include <string>

#include "signer/secret_key.h"

namespace relay::signer {

// Refuses a file that is not a regular file or that group/others can read or write (mode & 077),
// naming the mode and the fix. The file holds 64 hex characters, optionally 0x and a newline.
common::Result<SecretKey> load_key_file(const std::string& path);

// Reads credential `name` from $CREDENTIALS_DIRECTORY, as systemd's LoadCredential= provides it.
common::Result<SecretKey> load_credential(const std::string& name);

}  // namespace relay::signer
