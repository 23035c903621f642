#include "signer/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace relay::signer {

using common::make_error;
using common::Result;

Result<SecretKey> load_key_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return make_error("key_file", "cannot open key file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return make_error("key_file", "key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error("key_file", "key file " + path + " is accessible by group or others (mode " +
                                      mode + "); run: chmod 600 " + path);
  }
  // A key file is 64 hex characters plus optional 0x and whitespace; anything longer is not one.
  std::array<char, 256> buffer{};
  ssize_t total = 0;
  while (total < static_cast<ssize_t>(buffer.size())) {
    ssize_t n = read(fd, buffer.data() + total, buffer.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += n;
  }
  close(fd);
  Result<SecretKey> key = make_error("key_file", "key file " + path + " is too large to be a key");
  if (total < static_cast<ssize_t>(buffer.size())) {
    key = SecretKey::from_hex(std::string_view(buffer.data(), static_cast<size_t>(total)));
    if (!key.ok()) key = make_error("invalid_key", "key file " + path + ": " + key.error().message);
  }
  common::secure_zero(buffer.data(), buffer.size());
  return key;
}

Result<SecretKey> load_credential(const std::string& name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    return make_error("key_file",
                      "CREDENTIALS_DIRECTORY is not set (is LoadCredential= configured?)");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return make_error("key_file", "credential name must be a plain file name");
  }
  return load_key_file(std::string(dir) + "/" + name);
}

}  // namespace relay::signer
