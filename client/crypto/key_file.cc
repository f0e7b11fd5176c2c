#include "client/crypto/key_file.h"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/status.h"

namespace mosaic::client {
namespace {

constexpr std::string_view kVersionLine = "mosaic-key-file: 1";
constexpr std::string_view kKindRaw = "raw";
constexpr std::string_view kKindArgon2id = "argon2id";
constexpr size_t kSaltBytes = crypto_pwhash_argon2id_SALTBYTES;
constexpr size_t kMaxKeyFileBytes = 4096;

// Text assembled in guarded memory, so a raw key's hex never lands on the ordinary heap.
class SecretText {
 public:
  SecretText& Append(std::string_view s) {
    CHECK(size_ + s.size() <= buffer_.size());
    std::memcpy(buffer_.data() + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  SecretText& AppendHex(ConstByteSpan bytes) {
    CHECK(size_ + 2 * bytes.size() + 1 <= buffer_.size());
    sodium_bin2hex(reinterpret_cast<char*>(buffer_.data() + size_), 2 * bytes.size() + 1,
                   reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    size_ += 2 * bytes.size();
    return *this;
  }
  ConstByteSpan bytes() const { return buffer_.span().first(size_); }

 private:
  SecretBytes buffer_{kMaxKeyFileBytes};
  size_t size_ = 0;
};

// The fields of a key file; views into the file's bytes.
struct KeyFileFields {
  std::string_view kind, key, salt, ops_limit, mem_limit, key_id;
};

absl::Status WriteAll(int fd, ConstByteSpan bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "write " + path);
    bytes = bytes.subspan(size_t(n));
  }
  if (::fsync(fd) != 0) return ErrnoToStatus(errno, "fsync " + path);
  return absl::OkStatus();
}

absl::Status SyncParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open " + dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoToStatus(err, "fsync " + dir);
  return absl::OkStatus();
}

// Creates `path` with mode 0600 and writes `bytes` durably; never replaces an existing file.
absl::Status WriteNewFile(const std::string& path, ConstByteSpan bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists; refusing to overwrite a key"));
  }
  if (fd < 0) return ErrnoToStatus(errno, "create " + path);
  absl::Status status = WriteAll(fd, bytes, path);
  if (::close(fd) != 0 && status.ok()) status = ErrnoToStatus(errno, "close " + path);
  if (status.ok()) status = SyncParentDirectory(path);
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

// "uid 0 (root)".
std::string UserName(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return "uid " + std::to_string(uid) +
         (pw != nullptr ? " (" + std::string(pw->pw_name) + ")" : "");
}

// Why `path` cannot be opened, with what to do: the commonest restore surprise is a key copy
// owned by root read by the service's user.
absl::Status OpenError(int err, const std::string& path) {
  struct stat st {};
  if (err == EACCES && ::stat(path.c_str(), &st) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return absl::PermissionDeniedError("cannot read the key file " + path + ": it belongs to " +
                                       UserName(st.st_uid) + " with mode " + mode +
                                       ", and this runs as " + UserName(::geteuid()) +
                                       ": give this user a copy (sudo install -o USER -m 0600 " +
                                       path + " NEW_PATH) or run as the file's owner");
  }
  if (err == ENOENT) return absl::NotFoundError("the key file " + path + " does not exist");
  return ErrnoToStatus(err, "open " + path);
}

absl::StatusOr<SecretBytes> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(errno, path);
  SecretBytes buffer(kMaxKeyFileBytes + 1);
  size_t size = 0;
  int err = 0;
  while (size < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    size += size_t(n);
  }
  ::close(fd);
  if (err != 0) return ErrnoToStatus(err, "read " + path);
  if (size > kMaxKeyFileBytes) return absl::InvalidArgumentError(path + " is not a key file");
  SecretBytes contents = SecretBytes::CopyOf(buffer.span().first(size));
  return contents;
}

absl::StatusOr<KeyFileFields> ParseKeyFile(std::string_view text) {
  KeyFileFields fields;
  bool saw_version = false;
  while (!text.empty()) {
    const size_t eol = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(std::min(eol + 1, text.size()));
    if (line.empty() || line[0] == '#') continue;
    if (line == kVersionLine) {
      saw_version = true;
      continue;
    }
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return absl::InvalidArgumentError("malformed key file");
    const std::string_view name = line.substr(0, colon), value = line.substr(colon + 2);
    std::string_view* slot = name == "kind"       ? &fields.kind
                             : name == "key"      ? &fields.key
                             : name == "salt"     ? &fields.salt
                             : name == "opslimit" ? &fields.ops_limit
                             : name == "memlimit" ? &fields.mem_limit
                             : name == "key-id"   ? &fields.key_id
                                                  : nullptr;
    if (slot == nullptr) return absl::InvalidArgumentError("unknown field in key file");
    *slot = value;
  }
  if (!saw_version) return absl::InvalidArgumentError("not a version 1 Mosaic key file");
  return fields;
}

// Decodes exactly `size` bytes of hex into guarded memory.
absl::StatusOr<SecretBytes> DecodeHex(std::string_view hex, size_t size, std::string_view what) {
  SecretBytes out(size);
  size_t decoded = 0;
  if (hex.size() != 2 * size ||
      sodium_hex2bin(out.uchar(), size, hex.data(), hex.size(), nullptr, &decoded, nullptr) != 0 ||
      decoded != size) {
    return absl::InvalidArgumentError(absl::StrCat("key file has a bad ", std::string(what)));
  }
  return out;
}

absl::StatusOr<uint64_t> ParseNumber(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(absl::StrCat("key file has a bad ", std::string(what)));
  }
  return value;
}

absl::Status CheckCost(PassphraseCost cost) {
  if (cost.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      cost.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      cost.mem_limit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      cost.mem_limit_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("Argon2id cost ", cost.ops_limit, " passes, ",
                                                   cost.mem_limit_bytes, " bytes is out of range"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> DeriveFromPassphrase(const SecretBytes& passphrase, ConstByteSpan salt,
                                                 PassphraseCost cost) {
  RETURN_IF_ERROR(CheckCost(cost));
  if (passphrase.empty()) return absl::InvalidArgumentError("empty passphrase");
  SecretBytes master(kKeyBytes);
  if (crypto_pwhash(master.uchar(), master.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                    cost.ops_limit, size_t(cost.mem_limit_bytes),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("Argon2id ran out of memory");
  }
  return master;
}

SecretText KeyFileHeader(std::string_view kind) {
  SecretText text;
  text.Append("# Mosaic master key file. Anyone holding it")
      .Append(kind == kKindRaw ? "" : " and the passphrase")
      .Append(" can read every object.\n")
      .Append(kVersionLine)
      .Append("\nkind: ")
      .Append(kind)
      .Append("\n");
  return text;
}

absl::StatusOr<KeyRing> RingFromRaw(const KeyFileFields& fields) {
  ASSIGN_OR_RETURN(SecretBytes master, DecodeHex(fields.key, kKeyBytes, "key"));
  return KeyRing::FromMasterKey(master);
}

absl::StatusOr<KeyRing> RingFromPassphrase(const KeyFileFields& fields,
                                           const SecretBytes& passphrase) {
  if (passphrase.empty()) {
    return absl::FailedPreconditionError("this key file needs its passphrase");
  }
  ASSIGN_OR_RETURN(SecretBytes salt, DecodeHex(fields.salt, kSaltBytes, "salt"));
  ASSIGN_OR_RETURN(uint64_t ops, ParseNumber(fields.ops_limit, "opslimit"));
  ASSIGN_OR_RETURN(uint64_t mem, ParseNumber(fields.mem_limit, "memlimit"));
  ASSIGN_OR_RETURN(SecretBytes master, DeriveFromPassphrase(passphrase, salt.span(), {ops, mem}));
  return KeyRing::FromMasterKey(master);
}

}  // namespace

absl::StatusOr<KeyId> WriteNewKeyFile(const std::string& path) {
  const SecretBytes master = SecretBytes::Random(kKeyBytes);
  ASSIGN_OR_RETURN(KeyRing ring, KeyRing::FromMasterKey(master));
  SecretText text = KeyFileHeader(kKindRaw);
  text.Append("key: ").AppendHex(master.span()).Append("\nkey-id: ");
  text.AppendHex(ring.key_id()).Append("\n");
  RETURN_IF_ERROR(WriteNewFile(path, text.bytes()));
  return ring.key_id();
}

absl::StatusOr<KeyId> WriteNewPassphraseKeyFile(const std::string& path,
                                                const SecretBytes& passphrase,
                                                PassphraseCost cost) {
  std::array<std::byte, kSaltBytes> salt;
  RandomBytes(salt);
  ASSIGN_OR_RETURN(SecretBytes master, DeriveFromPassphrase(passphrase, salt, cost));
  ASSIGN_OR_RETURN(KeyRing ring, KeyRing::FromMasterKey(master));
  SecretText text = KeyFileHeader(kKindArgon2id);
  text.Append("salt: ").AppendHex(salt).Append("\nopslimit: ");
  text.Append(absl::StrCat(cost.ops_limit)).Append("\nmemlimit: ");
  text.Append(absl::StrCat(cost.mem_limit_bytes)).Append("\nkey-id: ");
  text.AppendHex(ring.key_id()).Append("\n");
  RETURN_IF_ERROR(WriteNewFile(path, text.bytes()));
  return ring.key_id();
}

absl::StatusOr<KeyRing> LoadKeyFile(const std::string& path, const SecretBytes& passphrase) {
  ASSIGN_OR_RETURN(SecretBytes contents, ReadKeyFile(path));
  auto fields = ParseKeyFile(AsStringView(contents.span()));
  if (!fields.ok()) return Annotate(fields.status(), path);
  ASSIGN_OR_RETURN(SecretBytes recorded_id, DecodeHex(fields->key_id, sizeof(KeyId), "key-id"));
  absl::StatusOr<KeyRing> ring = absl::InvalidArgumentError(path + ": unknown key kind");
  if (fields->kind == kKindRaw) ring = RingFromRaw(*fields);
  if (fields->kind == kKindArgon2id) ring = RingFromPassphrase(*fields, passphrase);
  if (!ring.ok()) return Annotate(ring.status(), path);
  if (!recorded_id.Equals(ring->key_id())) {
    if (fields->kind == kKindArgon2id) return absl::PermissionDeniedError("wrong passphrase");
    return absl::DataLossError(path + ": key does not match its key id (damaged file?)");
  }
  return ring;
}

absl::StatusOr<SecretBytes> ReadPassphrase(const char* env_value, std::FILE* stream) {
  SecretBytes buffer(kMaxPassphraseBytes + 1);
  size_t size = 0;
  if (env_value != nullptr && env_value[0] != '\0') {
    size = std::min(std::strlen(env_value), buffer.size());
    std::memcpy(buffer.data(), env_value, size);
  } else {
    for (int c = std::fgetc(stream); c != EOF && c != '\n' && size < buffer.size();
         c = std::fgetc(stream)) {
      buffer.data()[size++] = std::byte(c);
    }
    if (size > 0 && buffer.data()[size - 1] == std::byte{'\r'}) --size;
  }
  if (size == 0) return absl::InvalidArgumentError("empty passphrase");
  if (size > kMaxPassphraseBytes) return absl::InvalidArgumentError("passphrase is too long");
  return SecretBytes::CopyOf(buffer.span().first(size));
}

namespace {

// ReadPassphrase's first line of an unbuffered stream over `fd`, which is closed after.
absl::StatusOr<SecretBytes> ReadPassphraseFromFd(int fd, const std::string& what) {
  std::FILE* stream = ::fdopen(fd, "r");
  if (stream == nullptr) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the passphrase from ", what, ": ", std::strerror(errno)));
  }
  std::setvbuf(stream, nullptr, _IONBF, 0);  // no copy of it in a stdio buffer
  auto passphrase = ReadPassphrase(nullptr, stream);
  std::fclose(stream);
  if (!passphrase.ok()) return Annotate(passphrase.status(), what);
  return passphrase;
}

// Prompts on the terminal `stream` with echo off (restored after).
absl::StatusOr<SecretBytes> PromptPassphrase(std::FILE* stream, const std::string& path) {
  const int fd = ::fileno(stream);
  termios saved{};
  const bool have_termios = ::tcgetattr(fd, &saved) == 0;
  if (have_termios) {
    termios quiet = saved;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::fprintf(stderr, "passphrase for %s: ", path.c_str());
  std::fflush(stderr);
  auto passphrase = ReadPassphrase(nullptr, stream);
  if (have_termios) ::tcsetattr(fd, TCSAFLUSH, &saved);
  std::fprintf(stderr, "\n");
  return passphrase;
}

absl::StatusOr<SecretBytes> FindPassphrase(const std::string& path,
                                           const PassphraseSources& sources) {
  if (!sources.credentials_dir.empty()) {
    const std::string file = sources.credentials_dir + "/mosaic-passphrase";
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return ReadPassphraseFromFd(fd, file);
  }
  if (sources.fd >= 0) {
    return ReadPassphraseFromFd(sources.fd, absl::StrCat("--passphrase-fd ", sources.fd));
  }
  if (sources.env_value != nullptr && sources.env_value[0] != '\0') {
    return ReadPassphrase(sources.env_value, nullptr);
  }
  if (sources.stream != nullptr && ::isatty(::fileno(sources.stream))) {
    return PromptPassphrase(sources.stream, path);
  }
  if (sources.stream != nullptr && sources.read_pipe)
    return ReadPassphrase(nullptr, sources.stream);
  return absl::FailedPreconditionError(
      path +
      " needs its passphrase: give it as the systemd credential mosaic-passphrase "
      "(LoadCredential=), with --passphrase-fd N, in $MOSAIC_PASSPHRASE, or on a terminal");
}

}  // namespace

std::string KeyFileModeWarning(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  return "the key file " + path + " has mode " + mode +
         ": other users of this machine may read it; chmod 600 " + path;
}

PassphraseSources ProcessPassphraseSources(int fd, bool read_pipe) {
  PassphraseSources sources;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr) {
    sources.credentials_dir = dir;
  }
  sources.fd = fd;
  sources.env_value = std::getenv("MOSAIC_PASSPHRASE");
  sources.stream = stdin;
  sources.read_pipe = read_pipe;
  return sources;
}

absl::StatusOr<KeyRing> OpenKeyFile(const std::string& path, const PassphraseSources& sources) {
  auto ring = LoadKeyFile(path, SecretBytes());
  if (!absl::IsFailedPrecondition(ring.status())) return ring;
  ASSIGN_OR_RETURN(SecretBytes passphrase, FindPassphrase(path, sources));
  return LoadKeyFile(path, passphrase);
}

}  // namespace mosaic::client
