// Completed-upload records (issue 19): CompleteUpload keeps, by upload id, what a repeated
// CompleteMultipartUpload must answer; the expiry job removes old records.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

class CompletedUploadTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
    ASSERT_TRUE(store().CreateBucket("b", v1::BucketRecord()).ok());
  }

  // An upload `id` of key `key` with parts 1..n, completed at `completed_ms` with `used`.
  absl::Status Complete(const std::string& key, const std::string& id, int64_t completed_ms,
                        const MetaStore::PutCheck& check = nullptr) {
    v1::UploadRecord upload;
    upload.set_upload_id(id);
    RETURN_IF_ERROR(store().CreateUpload("b", key, upload));
    for (uint32_t n : {1, 2, 3}) {
      v1::ObjectPart part;
      part.set_number(n);
      part.set_etag("etag-" + id + "-" + std::to_string(n));
      part.mutable_manifest()->set_object_id(id + "-" + std::to_string(n));
      RETURN_IF_ERROR(store().PutPart("b", key, id, part));
    }
    auto build = [&](const v1::UploadRecord&,
                     const std::vector<v1::ObjectPart>& parts) -> absl::StatusOr<v1::ObjectRecord> {
      v1::ObjectRecord r;
      r.set_etag("object-etag-" + id + "-2");
      r.set_size(300);
      r.set_last_modified_ms(completed_ms);
      *r.add_parts() = parts[0];
      *r.add_parts() = parts[2];
      return r;
    };
    return store().CompleteUpload("b", key, id, build, check).status();
  }
};

TEST_F(CompletedUploadTest, CompleteRecordsTheResultByUploadId) {
  EXPECT_FALSE(store().GetCompletedUpload("u1")->has_value());
  ASSERT_TRUE(Complete("k", "u1", 1000).ok());
  OpenStore();
  auto got = store().GetCompletedUpload("u1");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  const v1::CompletedUploadRecord& c = **got;
  EXPECT_EQ(c.bucket(), "b");
  EXPECT_EQ(c.key(), "k");
  EXPECT_EQ(c.upload_id(), "u1");
  EXPECT_EQ(c.etag(), "object-etag-u1-2");
  EXPECT_EQ(c.size(), 300u);
  EXPECT_EQ(c.completed_ms(), 1000);
  ASSERT_EQ(c.parts_size(), 2);
  EXPECT_EQ(c.parts(0).number(), 1u);
  EXPECT_EQ(c.parts(0).etag(), "etag-u1-1");
  EXPECT_EQ(c.parts(1).number(), 3u);
  EXPECT_EQ(c.parts(1).etag(), "etag-u1-3");
  EXPECT_FALSE(store().GetCompletedUpload("u2")->has_value());
}

TEST_F(CompletedUploadTest, AFailedCompleteRecordsNothing) {
  auto veto = [](const std::optional<v1::ObjectRecord>&) {
    return absl::FailedPreconditionError("PreconditionFailed");
  };
  EXPECT_EQ(Complete("k", "u1", 1000, veto).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(store().GetCompletedUpload("u1")->has_value());
  EXPECT_TRUE(store().GetUpload("b", "k", "u1")->has_value());
}

TEST_F(CompletedUploadTest, ExpiryRemovesOnlyOldRecordsWithinTheLimit) {
  ASSERT_TRUE(Complete("k1", "u1", 1000).ok());
  ASSERT_TRUE(Complete("k2", "u2", 2000).ok());
  ASSERT_TRUE(Complete("k3", "u3", 3000).ok());
  auto removed = store().ExpireCompletedUploads(2500, 1);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1u);
  removed = store().ExpireCompletedUploads(2500, 10);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(store().GetCompletedUpload("u1")->has_value());
  EXPECT_FALSE(store().GetCompletedUpload("u2")->has_value());
  EXPECT_TRUE(store().GetCompletedUpload("u3")->has_value());
  EXPECT_EQ(*store().ExpireCompletedUploads(2500, 10), 0u);
  // The objects themselves stay.
  EXPECT_TRUE(store().GetObject("b", "k1")->has_value());
}

}  // namespace
}  // namespace mosaic::gateway
