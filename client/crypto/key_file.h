#pragma once
// Master key files (docs/formats/crypto.md, "Key files"), behind `mosaic keygen`.
//
// A key file holds either the 32-byte master key itself ("kind: raw") or, in passphrase mode
// ("kind: argon2id"), only the Argon2id salt and cost: the key is derived from the passphrase
// each time and never written. Both record the key id, so a wrong passphrase or a damaged
// file is detected when the key is loaded. Files are created with mode 0600 and never
// overwritten. Key material passes only through sodium_malloc'd memory.
//
// All functions block on file I/O (and on Argon2id: about a second at the default cost).
// They are thread-safe.

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/crypto/key_ring.h"
#include "client/crypto/secret.h"

namespace mosaic::client {

// Argon2id cost (crypto_pwhash): passes over memory and memory in bytes.
struct PassphraseCost {
  uint64_t ops_limit = 0;
  uint64_t mem_limit_bytes = 0;
};
// libsodium's "moderate" cost: 3 passes over 256 MiB.
inline constexpr PassphraseCost kDefaultPassphraseCost = {3, uint64_t{256} << 20};

// Passphrases longer than this are refused.
inline constexpr size_t kMaxPassphraseBytes = 1024;

// Writes a new key file with 32 random bytes at `path` (mode 0600) and returns its key id.
// ALREADY_EXISTS if `path` exists (it is left untouched); errno-derived errors otherwise,
// in which case no file is left behind.
[[nodiscard]] absl::StatusOr<KeyId> WriteNewKeyFile(const std::string& path);

// Writes a new passphrase-mode key file: a random salt and `cost`; the master key is
// Argon2id(passphrase, salt, cost). INVALID_ARGUMENT for an empty passphrase or a cost
// below libsodium's minimum; otherwise as WriteNewKeyFile.
[[nodiscard]] absl::StatusOr<KeyId> WriteNewPassphraseKeyFile(
    const std::string& path, const SecretBytes& passphrase,
    PassphraseCost cost = kDefaultPassphraseCost);

// A warning when `path` may be read by users other than its owner (mode & 077), naming the
// mode and the fix; "" otherwise (or when it cannot be stat'ed: loading then says why).
std::string KeyFileModeWarning(const std::string& path);

// Loads a key file and returns its key ring. `passphrase` is needed only for passphrase-mode
// files (pass an empty one otherwise). NOT_FOUND if the file does not exist;
// PERMISSION_DENIED naming its owner, its mode and this process's user if it cannot be read;
// INVALID_ARGUMENT if it is not a key file we can read; FAILED_PRECONDITION if it needs a
// passphrase and none was given; PERMISSION_DENIED if the passphrase is wrong; DATA_LOSS if a
// raw key does not match its recorded key id.
[[nodiscard]] absl::StatusOr<KeyRing> LoadKeyFile(const std::string& path,
                                                  const SecretBytes& passphrase);

// Reads a passphrase: `env_value` when it is non-null and non-empty (the caller passes
// getenv("MOSAIC_PASSPHRASE")), else the first line of `stream` without its line end.
// INVALID_ARGUMENT if it is empty or longer than kMaxPassphraseBytes.
[[nodiscard]] absl::StatusOr<SecretBytes> ReadPassphrase(const char* env_value, std::FILE* stream);

// Where a passphrase-mode key file's passphrase may come from, tried in this order.
struct PassphraseSources {
  // systemd's $CREDENTIALS_DIRECTORY (LoadCredential=): its file "mosaic-passphrase".
  std::string credentials_dir;
  // `--passphrase-fd N`: one line is read from it, then it is closed (-1: none).
  int fd = -1;
  // $MOSAIC_PASSPHRASE.
  const char* env_value = nullptr;
  // Standard input: prompted for without echo when it is a terminal; read as a pipe (its
  // first line) only when `read_pipe` is set (`mosaic restore`; a daemon's stdin is not).
  std::FILE* stream = nullptr;
  bool read_pipe = false;
};

// The sources of this process: $CREDENTIALS_DIRECTORY, `fd`, $MOSAIC_PASSPHRASE and stdin.
PassphraseSources ProcessPassphraseSources(int fd, bool read_pipe);

// Loads a key file as LoadKeyFile does, taking the passphrase (only when the file needs one)
// from the first of `sources` that has one. FAILED_PRECONDITION naming all the ways to give
// it when none has; PERMISSION_DENIED if it is wrong. The passphrase is never logged.
[[nodiscard]] absl::StatusOr<KeyRing> OpenKeyFile(const std::string& path,
                                                  const PassphraseSources& sources);

}  // namespace mosaic::client
