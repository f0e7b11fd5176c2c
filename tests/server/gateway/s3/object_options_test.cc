// Server-side encryption, storage class and versionId checks (object_options.h).

#include "server/gateway/s3/object_options.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

RequestView Put(Headers headers) {
  RequestView r;
  r.method = "PUT";
  r.target = "/b/k";
  r.headers = std::move(headers);
  return r;
}

S3Code WriteCode(Headers headers) {
  absl::Status s = CheckWriteOptions(Put(std::move(headers)));
  return s.ok() ? S3Code::kInternalError : CodeOf(s);
}

TEST(ObjectOptionsTest, Aes256AndNoEncryptionAreAccepted) {
  EXPECT_TRUE(CheckWriteOptions(Put({})).ok());
  EXPECT_TRUE(CheckWriteOptions(Put({{"x-amz-server-side-encryption", "AES256"}})).ok());
  EXPECT_TRUE(CheckWriteOptions(Put({{"x-amz-storage-class", "STANDARD"}})).ok());
  EXPECT_TRUE(CheckWriteOptions(Put({{"x-amz-storage-class", "GLACIER_IR"}})).ok());
}

TEST(ObjectOptionsTest, KmsAndCustomerKeysAreNotImplemented) {
  for (const Headers& h :
       std::vector<Headers>{{{"x-amz-server-side-encryption", "aws:kms"}},
                            {{"x-amz-server-side-encryption", "aws:kms:dsse"}},
                            {{"x-amz-server-side-encryption-aws-kms-key-id", "alias/k"}},
                            {{"x-amz-server-side-encryption-customer-algorithm", "AES256"}},
                            {{"x-amz-copy-source-server-side-encryption-customer-key", "a2V5"}}}) {
    EXPECT_EQ(WriteCode(h), S3Code::kNotImplemented) << h[0].first;
  }
  absl::Status kms = CheckWriteOptions(Put({{"x-amz-server-side-encryption", "aws:kms"}}));
  EXPECT_NE(kms.message().find("aws:kms"), std::string::npos) << kms.message();
}

TEST(ObjectOptionsTest, UnknownValuesAreRefused) {
  EXPECT_EQ(WriteCode({{"x-amz-server-side-encryption", "aes256"}}), S3Code::kInvalidArgument);
  EXPECT_EQ(WriteCode({{"x-amz-server-side-encryption", ""}}), S3Code::kInvalidArgument);
  EXPECT_EQ(WriteCode({{"x-amz-storage-class", "CHEAP"}}), S3Code::kInvalidStorageClass);
  EXPECT_EQ(WriteCode({{"x-amz-storage-class", ""}}), S3Code::kInvalidStorageClass);
}

TEST(ObjectOptionsTest, ReadsRefuseCustomerKeys) {
  EXPECT_TRUE(CheckReadEncryption(Put({})).ok());
  absl::Status s =
      CheckReadEncryption(Put({{"x-amz-server-side-encryption-customer-key", "a2V5"}}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(CodeOf(s), S3Code::kInvalidRequest);
}

TEST(ObjectOptionsTest, VersionParamIsAbsentOrNotEmpty) {
  EXPECT_EQ(*VersionParam({}), std::nullopt);
  EXPECT_EQ(*VersionParam({{"versionId", "null"}}), "null");
  EXPECT_EQ(*VersionParam({{"versionId", "3HL4kqtJlcpXroDTDmJ"}}), "3HL4kqtJlcpXroDTDmJ");
  auto s = VersionParam({{"versionId", ""}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(CodeOf(s.status()), S3Code::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic::gateway
