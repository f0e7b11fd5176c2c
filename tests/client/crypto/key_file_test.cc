#include "client/crypto/key_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "gtest/gtest.h"

namespace mosaic::client {
namespace {

// Cheapest Argon2id cost libsodium accepts: keeps the tests fast.
constexpr PassphraseCost kCheapCost = {1, 8192};

SecretBytes Secret(std::string_view s) { return SecretBytes::CopyOf(AsBytes(s)); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

class KeyFileTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "mosaic-keyfile-XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(KeyFileTest, WritesModeSixHundredAndLoadsTheSameKey) {
  const std::string path = Path("master.key");
  auto key_id = WriteNewKeyFile(path);
  ASSERT_TRUE(key_id.ok()) << key_id.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto ring = LoadKeyFile(path, SecretBytes());
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->key_id(), *key_id);
  EXPECT_NE(ReadFile(path).find("kind: raw"), std::string::npos);
}

TEST_F(KeyFileTest, ModeWarningNamesTheModeAndTheFix) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  EXPECT_EQ(KeyFileModeWarning(path), "");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(KeyFileModeWarning(path), "the key file " + path +
                                          " has mode 0644: other users of this machine may read "
                                          "it; chmod 600 " +
                                          path);
  auto missing = LoadKeyFile(Path("missing"), SecretBytes());
  EXPECT_EQ(missing.status().message(), "the key file " + Path("missing") + " does not exist");
}

TEST_F(KeyFileTest, RefusesToOverwrite) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  const std::string before = ReadFile(path);
  EXPECT_EQ(WriteNewKeyFile(path).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(WriteNewPassphraseKeyFile(path, Secret("pw"), kCheapCost).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(path), before);
}

TEST_F(KeyFileTest, TwoKeyFilesHoldDifferentKeys) {
  auto a = WriteNewKeyFile(Path("a.key"));
  auto b = WriteNewKeyFile(Path("b.key"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(KeyFileTest, PassphraseModeStoresSaltAndCostButNeverTheKeyOrPassphrase) {
  const std::string path = Path("pass.key");
  auto key_id = WriteNewPassphraseKeyFile(path, Secret("correct horse"), kCheapCost);
  ASSERT_TRUE(key_id.ok()) << key_id.status();
  const std::string contents = ReadFile(path);
  EXPECT_EQ(contents.find("correct horse"), std::string::npos);
  EXPECT_EQ(contents.find("key: "), std::string::npos);
  EXPECT_NE(contents.find("opslimit: 1\n"), std::string::npos);
  EXPECT_NE(contents.find("memlimit: 8192\n"), std::string::npos);
  auto ring = LoadKeyFile(path, Secret("correct horse"));
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->key_id(), *key_id);
  EXPECT_EQ(LoadKeyFile(path, Secret("correct horsf")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(LoadKeyFile(path, SecretBytes()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A known answer for the Argon2id derivation: a fixed salt and cost must always give the
// same master key (its key id computed once, with libsodium's calls alone, and checked in).
TEST_F(KeyFileTest, PassphraseDerivationMatchesKnownAnswer) {
  const std::string path = Path("known.key");
  WriteFile(path,
            "mosaic-key-file: 1\nkind: argon2id\nsalt: 000102030405060708090a0b0c0d0e0f\n"
            "opslimit: 1\nmemlimit: 8192\nkey-id: 3c7bf957b723564e\n");
  auto ring = LoadKeyFile(path, Secret("correct horse"));
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(HexEncode(ring->key_id()), "3c7bf957b723564e");
  EXPECT_EQ(LoadKeyFile(path, Secret("correct horse ")).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(KeyFileTest, RejectsEmptyPassphraseAndBadCost) {
  EXPECT_EQ(WriteNewPassphraseKeyFile(Path("a"), SecretBytes(), kCheapCost).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteNewPassphraseKeyFile(Path("b"), Secret("pw"), {0, 8192}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(Path("a")));
  EXPECT_FALSE(std::filesystem::exists(Path("b")));
}

TEST_F(KeyFileTest, DamagedKeyIsDataLoss) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  std::string contents = ReadFile(path);
  const size_t key_at = contents.find("key: ") + 5;
  contents[key_at] = contents[key_at] == '0' ? '1' : '0';
  std::filesystem::remove(path);
  WriteFile(path, contents);
  EXPECT_EQ(LoadKeyFile(path, SecretBytes()).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(KeyFileTest, MalformedOrMissingFilesAreRejected) {
  EXPECT_EQ(LoadKeyFile(Path("missing"), SecretBytes()).status().code(),
            absl::StatusCode::kNotFound);
  for (const std::string& contents : std::vector<std::string>{
           "", "hello\n", "mosaic-key-file: 2\nkind: raw\n", "mosaic-key-file: 1\nkind: rot13\n",
           "mosaic-key-file: 1\nkind: raw\nkey: 00\nkey-id: 0000000000000000\n",
           "mosaic-key-file: 1\nkind: raw\nbogus: 1\n", std::string(5000, 'x')}) {
    WriteFile(Path("bad"), contents);
    EXPECT_EQ(LoadKeyFile(Path("bad"), SecretBytes()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << contents.substr(0, 60);
  }
}

TEST(ReadPassphraseTest, PrefersEnvironmentThenFirstLineOfStream) {
  std::string input = "from stdin\r\nsecond line\n";
  std::FILE* stream = fmemopen(input.data(), input.size(), "r");
  auto from_env = ReadPassphrase("from env", stream);
  ASSERT_TRUE(from_env.ok());
  EXPECT_TRUE(from_env->Equals(AsBytes("from env")));
  auto from_stream = ReadPassphrase("", stream);
  ASSERT_TRUE(from_stream.ok());
  EXPECT_TRUE(from_stream->Equals(AsBytes("from stdin")));
  std::fclose(stream);
}

TEST(ReadPassphraseTest, RejectsEmptyAndOverlongPassphrases) {
  std::string empty = "\n";
  std::FILE* stream = fmemopen(empty.data(), empty.size(), "r");
  EXPECT_EQ(ReadPassphrase(nullptr, stream).status().code(), absl::StatusCode::kInvalidArgument);
  std::fclose(stream);
  const std::string long_passphrase(kMaxPassphraseBytes + 1, 'a');
  EXPECT_EQ(ReadPassphrase(long_passphrase.c_str(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A pipe holding `line`; returns its read end.
int PipeWith(const std::string& line) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  if (::write(fds[1], line.data(), line.size()) != ssize_t(line.size())) return -1;
  ::close(fds[1]);
  return fds[0];
}

TEST_F(KeyFileTest, OpenKeyFileTakesCredentialThenFdThenEnvironment) {
  const std::string path = Path("pp.key");
  ASSERT_TRUE(WriteNewPassphraseKeyFile(path, Secret("right"), kCheapCost).ok());
  ASSERT_TRUE(std::filesystem::create_directory(Path("creds")));
  WriteFile(Path("creds/mosaic-passphrase"), "right");
  PassphraseSources sources;
  sources.credentials_dir = Path("creds");
  sources.fd = PipeWith("wrong\n");
  sources.env_value = "wrong";
  EXPECT_TRUE(OpenKeyFile(path, sources).ok());
  std::filesystem::remove(Path("creds/mosaic-passphrase"));  // LoadCredential= of another name
  EXPECT_EQ(OpenKeyFile(path, sources).status().code(),      // the fd's "wrong" is used
            absl::StatusCode::kPermissionDenied);
  sources.fd = PipeWith("right\nmore\n");
  const int fd = sources.fd;
  EXPECT_TRUE(OpenKeyFile(path, sources).ok());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed after reading
  sources.fd = -1;
  EXPECT_EQ(OpenKeyFile(path, sources).status().code(), absl::StatusCode::kPermissionDenied);
  sources.env_value = "right";
  EXPECT_TRUE(OpenKeyFile(path, sources).ok());
}

TEST_F(KeyFileTest, OpenKeyFileWithoutPassphraseNamesTheWaysAndRawNeedsNone) {
  const std::string path = Path("pp.key");
  ASSERT_TRUE(WriteNewPassphraseKeyFile(path, Secret("right"), kCheapCost).ok());
  std::string input = "right\n";
  std::FILE* pipe_like = fmemopen(input.data(), input.size(), "r");  // not a terminal
  PassphraseSources sources;
  sources.stream = pipe_like;
  auto none = OpenKeyFile(path, sources);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  for (const char* way : {"mosaic-passphrase", "--passphrase-fd", "MOSAIC_PASSPHRASE"}) {
    EXPECT_NE(none.status().message().find(way), std::string::npos) << way;
  }
  sources.read_pipe = true;  // `mosaic restore`: the first line of a piped stdin
  EXPECT_TRUE(OpenKeyFile(path, sources).ok());
  std::fclose(pipe_like);
  ASSERT_TRUE(WriteNewKeyFile(Path("raw.key")).ok());
  sources.fd = PipeWith("unused\n");
  EXPECT_TRUE(OpenKeyFile(Path("raw.key"), sources).ok());
  EXPECT_NE(::fcntl(sources.fd, F_GETFD), -1);  // not read: a raw key needs no passphrase
  ::close(sources.fd);
}

}  // namespace
}  // namespace mosaic::client
