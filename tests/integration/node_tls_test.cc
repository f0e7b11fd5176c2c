// The node over TLS: a self-signed certificate made with the openssl tool, a client that
// trusts exactly it, and clients that must be refused.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/sha256.h"
#include "proto/mosaic/v1/node.grpc.pb.h"
#include "tests/support/node_process.h"

namespace mosaic {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "tls-test-token";

bool MakeCertificate(const std::string& dir, const std::string& name) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout " +
      dir + "/" + name + ".key -out " + dir + "/" + name + ".crt" +
      " -days 2 -subj /CN=node.test -addext subjectAltName=DNS:node.test"
      " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

class NodeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mosaic-tls-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    ASSERT_TRUE(MakeCertificate(dir_, "node")) << "openssl could not make a certificate";
    ASSERT_TRUE(MakeCertificate(dir_, "impostor"));
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts the node with `tls` as its [tls] table; returns its address, or "" if it exited.
  std::string StartNode(const std::string& tls) {
    std::string config = (dir_ / "node.toml").string();
    std::ofstream(config) << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
                          << "listen = \"127.0.0.1:0\"\n[tls]\n"
                          << tls << "\n"
                          << "[[tenant]]\nname = \"t\"\ntoken_sha256 = \""
                          << Sha256Hex(AsBytes(std::string(kToken))) << "\"\n";
    std::string log = (dir_ / "node.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      std::FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      execl(MOSAIC_BINARY, "mosaic", "node", "--config", config.c_str(), nullptr);
      _exit(127);
    }
    std::string addr_file = (dir_ / "data" / "grpc.addr").string();
    for (int i = 0; i < 3000; ++i) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = status;
        pid_ = -1;
        return "";
      }
      std::ifstream in(addr_file);
      std::string addr;
      if (in && std::getline(in, addr) && !addr.empty()) return addr;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }

  grpc::Status Put(std::shared_ptr<grpc::ChannelCredentials> creds, const std::string& addr) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("node.test");
    auto stub = v1::ChunkService::NewStub(grpc::CreateCustomChannel(addr, creds, args));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::PutChunkRequest req;
    req.set_chunk_id("over-tls");
    req.set_data("sealed bytes");
    v1::PutChunkResponse resp;
    return stub->PutChunk(&ctx, req, &resp);
  }

  std::shared_ptr<grpc::ChannelCredentials> Trusting(const std::string& name) {
    grpc::SslCredentialsOptions o;
    auto pem = test::ReadFile((dir_ / (name + ".crt")).string());
    EXPECT_TRUE(pem.ok());
    o.pem_root_certs = pem.ok() ? *pem : "";
    return grpc::SslCredentials(o);
  }

  fs::path dir_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

TEST_F(NodeTlsTest, ServesTlsToClientsThatTrustItsCertificateOnly) {
  std::string addr = StartNode("cert = \"" + (dir_ / "node.crt").string() + "\"\nkey = \"" +
                               (dir_ / "node.key").string() + "\"");
  ASSERT_FALSE(addr.empty()) << "node did not start";
  grpc::Status ok = Put(Trusting("node"), addr);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  grpc::Status impostor = Put(Trusting("impostor"), addr);
  EXPECT_EQ(impostor.error_code(), grpc::StatusCode::UNAVAILABLE) << impostor.error_message();
  grpc::Status plain = Put(grpc::InsecureChannelCredentials(), addr);
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
}

TEST_F(NodeTlsTest, RefusesToStartWithoutTlsOrExplicitPlaintext) {
  EXPECT_TRUE(StartNode("").empty());
  EXPECT_TRUE(WIFEXITED(exit_status_) && WEXITSTATUS(exit_status_) != 0);
  EXPECT_TRUE(StartNode("cert = \"" + (dir_ / "node.crt").string() + "\"\nkey = \"" +
                        (dir_ / "missing.key").string() + "\"")
                  .empty());
  EXPECT_TRUE(WIFEXITED(exit_status_) && WEXITSTATUS(exit_status_) != 0);
}

}  // namespace
}  // namespace mosaic
