// The gateway's warning for plain HTTP beyond loopback (issue 20, sensible defaults).

#include "server/gateway/listen_safety.h"

#include <gtest/gtest.h>

namespace mosaic::gateway {
namespace {

TEST(ListenSafetyTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:9000"));
  EXPECT_TRUE(IsLoopbackListen("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackListen("localhost:9000"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:9000"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:9000"));
  EXPECT_FALSE(IsLoopbackListen("[::]:9000"));
  EXPECT_FALSE(IsLoopbackListen(":9000"));
  EXPECT_FALSE(IsLoopbackListen("192.168.1.10:9000"));
  EXPECT_FALSE(IsLoopbackListen("127.example.org:9000"));
  EXPECT_FALSE(IsLoopbackListen("s3.example.org:9000"));
}

TEST(ListenSafetyTest, WarnsOnlyForPlainHttpBeyondLoopback) {
  std::string warning = PlainHttpWarning("S3", "0.0.0.0:9000", false);
  EXPECT_NE(warning.find("WARNING: the S3 listener serves plain HTTP on 0.0.0.0:9000"),
            std::string::npos)
      << warning;
  EXPECT_NE(warning.find("tls_cert_file"), std::string::npos);
  EXPECT_EQ(PlainHttpWarning("S3", "0.0.0.0:9000", true), "");
  EXPECT_EQ(PlainHttpWarning("S3", "127.0.0.1:9000", false), "");
  EXPECT_NE(PlainHttpWarning("console", "[::]:8443", false).find("console listener"),
            std::string::npos);
}

}  // namespace
}  // namespace mosaic::gateway
