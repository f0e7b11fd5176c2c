#include "server/gateway/meta/meta_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "server/gateway/jobs/upload_expiry.h"
#include "tests/server/gateway/meta/test_store.h"

namespace mosaic::gateway {
namespace {

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meta_store_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = OpenTestStore(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  MetaStore& store() { return *store_; }

  static v1::BucketRecord Bucket(int64_t created_ms) {
    v1::BucketRecord r;
    r.set_created_ms(created_ms);
    r.set_region("eu-west-3");
    r.set_owner_key_id("MKOWNER");
    return r;
  }
  // An object record whose manifest is recognisable by `tag`.
  static v1::ObjectRecord Object(const std::string& tag) {
    v1::ObjectRecord r;
    bool printable =
        std::all_of(tag.begin(), tag.end(), [](char c) { return c >= ' ' && c < 127; });
    r.set_etag("etag-" + (printable ? tag : std::string("binary")));
    r.set_last_modified_ms(1704164645678);
    r.set_size(tag.size());
    v1::ObjectPart* piece = r.add_parts();
    piece->mutable_manifest()->set_object_id("id-" + tag);
    piece->mutable_manifest()->set_size(tag.size());
    (*r.mutable_headers())["content-type"] = "text/plain";
    (*r.mutable_user_metadata())["tag"] = tag;
    return r;
  }
  void MakeBucket(const std::string& name) {
    ASSERT_TRUE(store().CreateBucket(name, Bucket(1)).ok());
  }
  void Put(const std::string& bucket, const std::string& key, const std::string& tag) {
    absl::Status s = store().PutObject(bucket, key, Object(tag)).status();
    ASSERT_TRUE(s.ok()) << s;
  }
  std::vector<std::string> Keys(const std::string& bucket, const std::string& prefix,
                                const std::string& start, size_t limit) {
    auto list = store().ListObjects(bucket, prefix, start, limit);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<std::string> keys;
    if (list.ok()) {
      for (const ObjectEntry& e : *list) keys.push_back(e.key);
    }
    return keys;
  }
  std::vector<std::string> QueuedIds() {
    auto pending = store().PendingDeletions(1000);
    EXPECT_TRUE(pending.ok()) << pending.status();
    std::vector<std::string> ids;
    if (pending.ok()) {
      for (const auto& [seq, record] : *pending) ids.push_back(record.manifest().object_id());
    }
    return ids;
  }

  std::string dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(MetaStoreTest, BucketLifecycle) {
  auto missing = store().GetBucket("photos");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(store().CreateBucket("photos", Bucket(42)).ok());
  auto got = store().GetBucket("photos");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->created_ms(), 42);
  EXPECT_EQ((*got)->region(), "eu-west-3");
  EXPECT_EQ((*got)->owner_key_id(), "MKOWNER");

  EXPECT_EQ(store().CreateBucket("photos", Bucket(43)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*store().GetBucket("photos"))->created_ms(), 42);  // not overwritten

  EXPECT_TRUE(store().DeleteBucket("photos").ok());
  EXPECT_FALSE(store().GetBucket("photos")->has_value());
  EXPECT_EQ(store().DeleteBucket("photos").code(), absl::StatusCode::kNotFound);
}

TEST_F(MetaStoreTest, ListBucketsInNameOrder) {
  for (const char* name : {"zeta", "alpha", "alpha-2", "mid"}) MakeBucket(name);
  auto list = store().ListBuckets();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& [name, record] : *list) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "alpha-2", "mid", "zeta"}));
}

TEST_F(MetaStoreTest, NonEmptyBucketCannotBeDeleted) {
  MakeBucket("photos");
  Put("photos", "a", "1");
  EXPECT_EQ(store().DeleteBucket("photos").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store().GetBucket("photos")->has_value());
  ASSERT_TRUE(*store().DeleteObject("photos", "a"));
  EXPECT_TRUE(store().DeleteBucket("photos").ok());
}

TEST_F(MetaStoreTest, BucketsWithSharedPrefixesAreSeparate) {
  MakeBucket("abc");
  MakeBucket("abcd");
  Put("abcd", "k", "in-abcd");
  // "abc" + NUL + key never collides with "abcd" + NUL + key.
  EXPECT_TRUE(Keys("abc", "", "", 10).empty());
  EXPECT_FALSE(store().GetObject("abc", "k")->has_value());
  EXPECT_FALSE(store().GetObject("abc", "d\0k")->has_value());
  EXPECT_TRUE(store().DeleteBucket("abc").ok());
  EXPECT_EQ(Keys("abcd", "", "", 10), (std::vector<std::string>{"k"}));
}

TEST_F(MetaStoreTest, PutNeedsTheBucket) {
  EXPECT_EQ(store().PutObject("nope", "k", Object("1")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(QueuedIds().empty());
}

TEST_F(MetaStoreTest, PutGetOverwriteQueuesTheOldManifest) {
  MakeBucket("b");
  Put("b", "k", "first");
  auto got = store().GetObject("b", "k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->etag(), "etag-first");
  EXPECT_EQ((*got)->parts(0).manifest().object_id(), "id-first");
  EXPECT_EQ((*got)->user_metadata().at("tag"), "first");
  EXPECT_EQ(store().DeletionBacklog(), 0u);
  EXPECT_TRUE(QueuedIds().empty());

  Put("b", "k", "second");
  EXPECT_EQ((*store().GetObject("b", "k"))->etag(), "etag-second");
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"id-first"}));
  EXPECT_EQ(store().DeletionBacklog(), 1u);

  Put("b", "k", "third");
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"id-first", "id-second"}));
  EXPECT_EQ(store().DeletionBacklog(), 2u);
}

// The record as stored keeps each part's size (issue 14: a ranged GET finds its parts
// without reading every piece), and a record read without manifests and written back (tags)
// keeps it.
TEST_F(MetaStoreTest, PartSizesAreStoredWithTheRecord) {
  MakeBucket("b");
  Put("b", "k", "seventeen bytes!!");
  auto bare = store().GetObject("b", "k", MetaStore::Hydration::kNone);
  ASSERT_TRUE(bare.ok() && bare->has_value());
  EXPECT_FALSE((*bare)->parts(0).has_manifest());
  ASSERT_TRUE((*bare)->parts(0).has_size());
  EXPECT_EQ((*bare)->parts(0).size(), 17u);
  ASSERT_TRUE(store().SetTags("b", "k", {}).ok());
  auto again = store().GetObject("b", "k", MetaStore::Hydration::kNone);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->parts(0).size(), 17u);
  auto full = store().GetObject("b", "k");
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_EQ((*full)->parts(0).manifest().size(), 17u);
}

TEST_F(MetaStoreTest, DeleteQueuesTheManifest) {
  MakeBucket("b");
  Put("b", "k", "x");
  auto deleted = store().DeleteObject("b", "k");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(store().GetObject("b", "k")->has_value());
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"id-x"}));
  auto again = store().DeleteObject("b", "k");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto no_bucket = store().DeleteObject("nope", "k");
  ASSERT_TRUE(no_bucket.ok());
  EXPECT_FALSE(*no_bucket);
  EXPECT_EQ(store().DeletionBacklog(), 1u);
}

TEST_F(MetaStoreTest, PutCheckSeesTheCurrentRecordAndCanVeto) {
  MakeBucket("b");
  int calls = 0;
  auto absent = [&](const std::optional<v1::ObjectRecord>& current) {
    ++calls;
    return current ? absl::FailedPreconditionError("exists") : absl::OkStatus();
  };
  ASSERT_TRUE(store().PutObject("b", "k", Object("one"), absent).ok());
  EXPECT_EQ(calls, 1);
  absl::Status vetoed = store().PutObject("b", "k", Object("two"), absent).status();
  EXPECT_EQ(vetoed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(vetoed.message(), "exists");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*store().GetObject("b", "k"))->etag(), "etag-one");
  EXPECT_TRUE(QueuedIds().empty());  // a vetoed write queues nothing

  std::string seen;
  ASSERT_TRUE(store()
                  .PutObject("b", "k", Object("three"),
                             [&](const std::optional<v1::ObjectRecord>& current) {
                               seen = current ? current->etag() : "none";
                               return absl::OkStatus();
                             })
                  .ok());
  EXPECT_EQ(seen, "etag-one");
  EXPECT_EQ((*store().GetObject("b", "k"))->etag(), "etag-three");
}

TEST_F(MetaStoreTest, ListObjectsInByteOrder) {
  MakeBucket("b");
  std::vector<std::string> keys = {
      "a",
      "b",
      "a/b",
      "a b",
      "A",
      "\xff",
      "\xff\xff",
      "\x7f",
      "\x80",
      "caf\xC3\xA9",
      std::string("\0", 1),
      std::string("a\0", 2),
      std::string("a\0b", 3),
      "a\xff",
      "a\xff"
      "b",
      "ab",
      "z",
      "/leading",
      "dir//x",
      "dir/",
  };
  for (const std::string& k : keys) Put("b", k, k);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& x, const std::string& y) {
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), [](char c, char d) {
      return static_cast<unsigned char>(c) < static_cast<unsigned char>(d);
    });
  });
  EXPECT_EQ(Keys("b", "", "", 1000), sorted);
  // Every key reads back exactly, embedded NULs included.
  for (const std::string& k : keys) {
    auto got = store().GetObject("b", k);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->user_metadata().at("tag"), k);
  }
}

TEST_F(MetaStoreTest, ListObjectsPrefixStartAndLimit) {
  MakeBucket("b");
  for (const std::string& k : std::vector<std::string>{"a", "a/1", "a/2", "a/3", "a0", "b/1",
                                                       std::string("a/\0", 3), "a/\xff", "a\xff"}) {
    Put("b", k, "x");
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(Keys("b", "a/", "", 100), (V{std::string("a/\0", 3), "a/1", "a/2", "a/3", "a/\xff"}));
  EXPECT_EQ(Keys("b", "a/", "", 2), (V{std::string("a/\0", 3), "a/1"}));
  // start is inclusive.
  EXPECT_EQ(Keys("b", "a/", "a/2", 100), (V{"a/2", "a/3", "a/\xff"}));
  // A start before the prefix starts at the prefix; one after its keys finds nothing.
  EXPECT_EQ(Keys("b", "a/", "0", 100).size(), 5u);
  EXPECT_TRUE(Keys("b", "a/", "b", 100).empty());
  // The continuation idiom: start after the last key returned.
  EXPECT_EQ(Keys("b", "", std::string("a/3") + '\0', 3), (V{"a/\xff", "a0", "a\xff"}));
  EXPECT_EQ(Keys("b", "\xff", "", 100), V{});
  EXPECT_EQ(Keys("b", "a\xff", "", 100), V{"a\xff"});
  EXPECT_EQ(Keys("b", "", "", 0), V{});
  EXPECT_EQ(Keys("b", "zzz", "", 100), V{});
  EXPECT_EQ(Keys("nope", "", "", 100), V{});
  // Skipping a common prefix with PrefixSuccessor.
  EXPECT_EQ(Keys("b", "", PrefixSuccessor("a/"), 100), (V{"a0", "a\xff", "b/1"}));
}

TEST_F(MetaStoreTest, HeaderValuesThatAreNotUtf8DoNotPoisonTheBucket) {
  // HTTP header values may carry bytes 0x80-0xff; a record holding them must read back, and
  // must not break the listing of its neighbours.
  MakeBucket("b");
  Put("b", "a", "plain");
  v1::ObjectRecord r = Object("latin1");
  (*r.mutable_user_metadata())["name"] = "caf\xe9";
  (*r.mutable_headers())["content-disposition"] = "attachment; filename=\"\xff\xfe\"";
  ASSERT_TRUE(store().PutObject("b", "b", r).ok());
  auto got = store().GetObject("b", "b");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->user_metadata().at("name"), "caf\xe9");
  EXPECT_EQ((*got)->headers().at("content-disposition"), "attachment; filename=\"\xff\xfe\"");
  EXPECT_EQ(Keys("b", "", "", 10), (std::vector<std::string>{"a", "b"}));
}

TEST_F(MetaStoreTest, AccessKeys) {
  v1::AccessKeyRecord k1;
  k1.set_id("MK1");
  k1.set_name("alice");
  k1.set_sealed_secret(std::string("s\0e", 3));
  auto* g = k1.add_grants();
  g->set_bucket("*");
  g->set_right(v1::Grant::OWNER);
  ASSERT_TRUE(store().PutKey(k1).ok());
  v1::AccessKeyRecord k2;
  k2.set_id("MK0");
  k2.set_name("bob");
  ASSERT_TRUE(store().PutKey(k2).ok());

  auto got = store().GetKey("MK1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name(), "alice");
  EXPECT_EQ((*got)->sealed_secret(), std::string("s\0e", 3));
  ASSERT_EQ((*got)->grants_size(), 1);
  EXPECT_EQ((*got)->grants(0).right(), v1::Grant::OWNER);
  EXPECT_FALSE(store().GetKey("MK2")->has_value());

  auto list = store().ListKeys();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id(), "MK0");
  EXPECT_EQ((*list)[1].id(), "MK1");

  EXPECT_TRUE(*store().DeleteKey("MK0"));
  EXPECT_FALSE(*store().DeleteKey("MK0"));
  EXPECT_EQ(store().ListKeys()->size(), 1u);
}

TEST_F(MetaStoreTest, KeysBucketsAndObjectsDoNotMix) {
  MakeBucket("b");
  Put("b", "k", "x");
  v1::AccessKeyRecord key;
  key.set_id("b");
  ASSERT_TRUE(store().PutKey(key).ok());
  EXPECT_EQ(store().ListBuckets()->size(), 1u);
  EXPECT_EQ(store().ListKeys()->size(), 1u);
  EXPECT_TRUE(QueuedIds().empty());
}

TEST_F(MetaStoreTest, DeletionQueueFinishWithAndWithoutRetry) {
  v1::Manifest m1, m2;
  m1.set_object_id("one");
  m2.set_object_id("two");
  ASSERT_TRUE(store().QueueDeletion(m1).ok());
  ASSERT_TRUE(store().QueueDeletion(m2).ok());
  EXPECT_EQ(store().DeletionBacklog(), 2u);

  auto pending = store().PendingDeletions(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  uint64_t seq1 = (*pending)[0].first, seq2 = (*pending)[1].first;
  EXPECT_LT(seq1, seq2);
  EXPECT_EQ((*pending)[0].second.manifest().object_id(), "one");
  EXPECT_EQ(store().PendingDeletions(1)->size(), 1u);

  // Done: the entry goes.
  ASSERT_TRUE(store().FinishDeletion(seq1, std::nullopt).ok());
  EXPECT_EQ(store().DeletionBacklog(), 1u);
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"two"}));

  // Partly done: the rest is queued again, behind, in the same write.
  v1::DeletionRecord retry = (*pending)[1].second;
  retry.set_attempts(1);
  retry.set_not_before_ms(12345);
  ASSERT_TRUE(store().FinishDeletion(seq2, retry).ok());
  EXPECT_EQ(store().DeletionBacklog(), 1u);
  auto after = store().PendingDeletions(10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_GT((*after)[0].first, seq2);
  EXPECT_EQ((*after)[0].second.attempts(), 1u);
  EXPECT_EQ((*after)[0].second.not_before_ms(), 12345);
  EXPECT_EQ((*after)[0].second.manifest().object_id(), "two");

  ASSERT_TRUE(store().FinishDeletion((*after)[0].first, std::nullopt).ok());
  EXPECT_EQ(store().DeletionBacklog(), 0u);
  EXPECT_TRUE(QueuedIds().empty());
}

TEST_F(MetaStoreTest, FinishingAnUnknownEntryLeavesTheBacklogAlone) {
  v1::Manifest m;
  m.set_object_id("one");
  ASSERT_TRUE(store().QueueDeletion(m).ok());
  uint64_t seq = (*store().PendingDeletions(1))[0].first;
  ASSERT_TRUE(store().FinishDeletion(seq, std::nullopt).ok());
  ASSERT_TRUE(store().FinishDeletion(seq, std::nullopt).ok());  // twice: harmless
  ASSERT_TRUE(store().FinishDeletion(seq + 100, std::nullopt).ok());
  EXPECT_EQ(store().DeletionBacklog(), 0u);
}

TEST_F(MetaStoreTest, ReopenKeepsEverything) {
  MakeBucket("b");
  Put("b", "k1", "old");
  Put("b", "k1", "new");  // queues "old"
  Put("b", std::string("k\0\xff", 3), "bin");
  v1::AccessKeyRecord key;
  key.set_id("MK1");
  ASSERT_TRUE(store().PutKey(key).ok());
  uint64_t last_seq = (*store().PendingDeletions(10)).back().first;

  Reopen();
  EXPECT_TRUE(store().GetBucket("b")->has_value());
  EXPECT_EQ((*store().GetObject("b", "k1"))->etag(), "etag-new");
  EXPECT_TRUE(store().GetObject("b", std::string("k\0\xff", 3))->has_value());
  EXPECT_TRUE(store().GetKey("MK1")->has_value());
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"id-old"}));
  EXPECT_EQ(store().DeletionBacklog(), 1u);

  // The queue continues after its last entry: nothing queued before is overwritten.
  Put("b", "k1", "newer");
  auto pending = store().PendingDeletions(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].first, last_seq);
  EXPECT_GT((*pending)[1].first, last_seq);
  EXPECT_EQ(QueuedIds(), (std::vector<std::string>{"id-old", "id-new"}));
  EXPECT_EQ(store().DeletionBacklog(), 2u);
}

TEST_F(MetaStoreTest, ReopenAfterTheQueueEmptiedKeepsCountingUp) {
  v1::Manifest m;
  m.set_object_id("one");
  ASSERT_TRUE(store().QueueDeletion(m).ok());
  uint64_t seq = (*store().PendingDeletions(1))[0].first;
  ASSERT_TRUE(store().FinishDeletion(seq, std::nullopt).ok());
  Reopen();
  EXPECT_EQ(store().DeletionBacklog(), 0u);
  ASSERT_TRUE(store().QueueDeletion(m).ok());
  EXPECT_EQ(store().DeletionBacklog(), 1u);
  EXPECT_EQ(store().PendingDeletions(10)->size(), 1u);
}

#ifndef MOSAIC_TEST_POSTGRES  // a RocksDB folder
TEST_F(MetaStoreTest, OpenFailsOnAFileInsteadOfAFolder) {
  std::string file = dir_ + "/not-a-folder";
  {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
  }
  auto s = MetaStore::Open(file);
  EXPECT_FALSE(s.ok());
}
#endif

TEST(PrefixSuccessorTest, EdgeCases) {
  EXPECT_EQ(PrefixSuccessor("a"), "b");
  EXPECT_EQ(PrefixSuccessor("a/"), "a0");
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor(std::string("a\0", 2)), std::string("a\x01", 2));
  EXPECT_EQ(PrefixSuccessor("a\x7f"), "a\x80");
  EXPECT_EQ(PrefixSuccessor("a\xfe"), "a\xff");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\xff\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("\xff"), "");
  EXPECT_EQ(PrefixSuccessor("\xff\xff\xff"), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

TEST(PrefixSuccessorTest, IsGreaterThanEveryExtension) {
  for (const std::string prefix : {"a", "a/", "x\xfe", "\x01\xff"}) {
    std::string next = PrefixSuccessor(prefix);
    auto less = [](const std::string& x, const std::string& y) {
      return std::lexicographical_compare(
          x.begin(), x.end(), y.begin(), y.end(), [](char c, char d) {
            return static_cast<unsigned char>(c) < static_cast<unsigned char>(d);
          });
    };
    EXPECT_TRUE(less(prefix, next));
    EXPECT_TRUE(less(prefix + "\xff\xff\xff", next));
    EXPECT_FALSE(next.starts_with(prefix));
  }
}

// --- Multipart uploads and piece references -----------------------------------------------

v1::UploadRecord Upload(const std::string& id, int64_t initiated_ms) {
  v1::UploadRecord r;
  r.set_upload_id(id);
  r.set_initiated_ms(initiated_ms);
  (*r.mutable_headers())["content-type"] = "video/mp4";
  r.set_owner_key_id("MKOWNER");
  return r;
}

v1::ObjectPart Part(uint32_t number, const std::string& tag, uint64_t size = 100) {
  v1::ObjectPart p;
  p.set_number(number);
  p.set_etag("etag-" + tag);
  p.mutable_manifest()->set_object_id("id-" + tag);
  p.mutable_manifest()->set_size(size);
  return p;
}

uint64_t Refs(MetaStore& store, const std::string& tag) {
  auto n = store.References("id-" + tag);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : 999;
}

std::vector<uint32_t> PartNumbers(MetaStore& store, const std::string& id, uint32_t after) {
  auto parts = store.ListParts(id, after, 100);
  EXPECT_TRUE(parts.ok()) << parts.status();
  std::vector<uint32_t> out;
  if (parts.ok()) {
    for (const auto& p : *parts) out.push_back(p.number());
  }
  return out;
}

// Uses every stored part, in order.
absl::StatusOr<v1::ObjectRecord> AllPartsObject(const v1::UploadRecord& u,
                                                const std::vector<v1::ObjectPart>& parts) {
  v1::ObjectRecord r;
  r.set_etag("multi-" + std::to_string(parts.size()));
  *r.mutable_headers() = u.headers();
  uint64_t size = 0;
  for (const auto& p : parts) {
    *r.add_parts() = p;
    size += p.manifest().size();
  }
  r.set_size(size);
  return r;
}

TEST_F(MetaStoreTest, UploadNeedsTheBucket) {
  EXPECT_EQ(store().CreateUpload("nope", "k", Upload("u1", 1)).code(), absl::StatusCode::kNotFound);
}

TEST_F(MetaStoreTest, UploadPartsListAndCount) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "movie", Upload("u1", 10)).ok());
  auto got = store().GetUpload("b", "movie", "u1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->headers().at("content-type"), "video/mp4");
  EXPECT_FALSE(store().GetUpload("b", "other", "u1")->has_value());
  ASSERT_TRUE(store().PutPart("b", "movie", "u1", Part(2, "p2")).ok());
  ASSERT_TRUE(store().PutPart("b", "movie", "u1", Part(1, "p1")).ok());
  ASSERT_TRUE(store().PutPart("b", "movie", "u1", Part(10, "p10")).ok());
  EXPECT_EQ(PartNumbers(store(), "u1", 0), (std::vector<uint32_t>{1, 2, 10}));
  EXPECT_EQ(PartNumbers(store(), "u1", 1), (std::vector<uint32_t>{2, 10}));
  EXPECT_EQ(PartNumbers(store(), "u1", 10), std::vector<uint32_t>{});
  EXPECT_EQ(store().ListParts("u1", 0, 2)->size(), 2u);
  EXPECT_EQ(Refs(store(), "p1"), 1u);
  EXPECT_EQ(Refs(store(), "p10"), 1u);
  EXPECT_TRUE(QueuedIds().empty());
}

TEST_F(MetaStoreTest, PartOfAnUnknownUploadIsNotFound) {
  MakeBucket("b");
  EXPECT_EQ(store().PutPart("b", "k", "nope", Part(1, "p1")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Refs(store(), "p1"), 0u);
}

TEST_F(MetaStoreTest, ReplacedPartQueuesTheOldPiece) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "k", Upload("u1", 1)).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(1, "first")).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(1, "second")).ok());
  EXPECT_EQ(QueuedIds(), std::vector<std::string>{"id-first"});
  EXPECT_EQ(Refs(store(), "first"), 0u);
  EXPECT_EQ(Refs(store(), "second"), 1u);
  auto parts = store().ListParts("u1", 0, 10);
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].etag(), "etag-second");
}

TEST_F(MetaStoreTest, CompleteKeepsUsedPartsAndQueuesTheRest) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "k", Upload("u1", 1)).ok());
  for (uint32_t n : {1, 2, 3}) {
    ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(n, "p" + std::to_string(n))).ok());
  }
  size_t seen = 0;
  auto skip_two =
      [&](const v1::UploadRecord& u,
          const std::vector<v1::ObjectPart>& parts) -> absl::StatusOr<v1::ObjectRecord> {
    seen = parts.size();
    std::vector<v1::ObjectPart> used = {parts[0], parts[2]};
    return AllPartsObject(u, used);
  };
  ASSERT_TRUE(store().CompleteUpload("b", "k", "u1", skip_two).ok());
  EXPECT_EQ(seen, 3u);
  auto object = store().GetObject("b", "k");
  ASSERT_TRUE(object.ok() && object->has_value());
  ASSERT_EQ((*object)->parts_size(), 2);
  EXPECT_EQ((*object)->size(), 200u);
  EXPECT_EQ((*object)->headers().at("content-type"), "video/mp4");
  EXPECT_FALSE(store().GetUpload("b", "k", "u1")->has_value());
  EXPECT_TRUE(PartNumbers(store(), "u1", 0).empty());
  EXPECT_EQ(QueuedIds(), std::vector<std::string>{"id-p2"});
  EXPECT_EQ(Refs(store(), "p1"), 1u);
  EXPECT_EQ(Refs(store(), "p2"), 0u);
  EXPECT_EQ(Refs(store(), "p3"), 1u);
  // The object's pieces go like any object's.
  ASSERT_TRUE(*store().DeleteObject("b", "k"));
  EXPECT_EQ(Refs(store(), "p1"), 0u);
  EXPECT_EQ(QueuedIds().size(), 3u);
}

TEST_F(MetaStoreTest, CompleteErrorsLeaveTheUploadAsItWas) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "k", Upload("u1", 1)).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(1, "p1")).ok());
  auto refuse = [](const v1::UploadRecord&,
                   const std::vector<v1::ObjectPart>&) -> absl::StatusOr<v1::ObjectRecord> {
    return absl::InvalidArgumentError("InvalidPart");
  };
  EXPECT_EQ(store().CompleteUpload("b", "k", "u1", refuse).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A failed condition on the destination also leaves it.
  Put("b", "k", "existing");
  auto veto = [](const std::optional<v1::ObjectRecord>& current) {
    return current ? absl::FailedPreconditionError("exists") : absl::OkStatus();
  };
  EXPECT_EQ(store().CompleteUpload("b", "k", "u1", AllPartsObject, veto).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store().GetUpload("b", "k", "u1")->has_value());
  EXPECT_EQ(PartNumbers(store(), "u1", 0), std::vector<uint32_t>{1});
  EXPECT_EQ(Refs(store(), "p1"), 1u);
  EXPECT_TRUE(QueuedIds().empty());
  EXPECT_EQ(store().CompleteUpload("b", "k", "nope", AllPartsObject).status().code(),
            absl::StatusCode::kNotFound);
  // Completing over an existing object queues that object's data.
  ASSERT_TRUE(store().CompleteUpload("b", "k", "u1", AllPartsObject).ok());
  EXPECT_EQ(QueuedIds(), std::vector<std::string>{"id-existing"});
}

TEST_F(MetaStoreTest, AbortQueuesEveryPart) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "k", Upload("u1", 1)).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(1, "p1")).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(2, "p2")).ok());
  auto aborted = store().AbortUpload("b", "k", "u1");
  ASSERT_TRUE(aborted.ok());
  EXPECT_TRUE(*aborted);
  auto queued = QueuedIds();
  std::sort(queued.begin(), queued.end());
  EXPECT_EQ(queued, (std::vector<std::string>{"id-p1", "id-p2"}));
  EXPECT_EQ(Refs(store(), "p1"), 0u);
  EXPECT_FALSE(store().GetUpload("b", "k", "u1")->has_value());
  EXPECT_FALSE(*store().AbortUpload("b", "k", "u1"));
  EXPECT_EQ(store().PutPart("b", "k", "u1", Part(3, "p3")).code(), absl::StatusCode::kNotFound);
}

TEST_F(MetaStoreTest, DeleteBucketQueuesThePartsOfUploadsInProgress) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "k", Upload("u1", 1)).ok());
  ASSERT_TRUE(store().PutPart("b", "k", "u1", Part(1, "p1")).ok());
  ASSERT_TRUE(store().DeleteBucket("b").ok());
  EXPECT_EQ(QueuedIds(), std::vector<std::string>{"id-p1"});
  EXPECT_EQ(Refs(store(), "p1"), 0u);
  MakeBucket("b");
  EXPECT_FALSE(store().GetUpload("b", "k", "u1")->has_value());
  EXPECT_TRUE(store().ListUploads("b", "", "", "", 10)->empty());
}

TEST_F(MetaStoreTest, ListUploadsByKeyThenIdWithMarkers) {
  MakeBucket("b");
  MakeBucket("c");
  ASSERT_TRUE(store().CreateUpload("b", "a/1", Upload("u2", 1)).ok());
  ASSERT_TRUE(store().CreateUpload("b", "a/1", Upload("u1", 1)).ok());
  ASSERT_TRUE(store().CreateUpload("b", "a/2", Upload("u3", 1)).ok());
  ASSERT_TRUE(store().CreateUpload("b", "z", Upload("u4", 1)).ok());
  ASSERT_TRUE(store().CreateUpload("c", "a/1", Upload("u5", 1)).ok());
  auto ids = [&](const std::string& prefix, const std::string& km, const std::string& um) {
    auto list = store().ListUploads("b", prefix, km, um, 100);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<std::string> out;
    for (const auto& e : *list) out.push_back(e.key + ":" + e.record.upload_id());
    return out;
  };
  EXPECT_EQ(ids("", "", ""), (std::vector<std::string>{"a/1:u1", "a/1:u2", "a/2:u3", "z:u4"}));
  EXPECT_EQ(ids("a/", "", ""), (std::vector<std::string>{"a/1:u1", "a/1:u2", "a/2:u3"}));
  EXPECT_EQ(ids("", "a/1", ""), (std::vector<std::string>{"a/2:u3", "z:u4"}));
  EXPECT_EQ(ids("", "a/1", "u1"), (std::vector<std::string>{"a/1:u2", "a/2:u3", "z:u4"}));
}

TEST_F(MetaStoreTest, ExpiryAbortsOldUploadsAndLeavesNewOnes) {
  MakeBucket("b");
  ASSERT_TRUE(store().CreateUpload("b", "old", Upload("u-old", 1000)).ok());
  ASSERT_TRUE(store().PutPart("b", "old", "u-old", Part(1, "old1")).ok());
  ASSERT_TRUE(store().CreateUpload("b", "new", Upload("u-new", 95000)).ok());
  ASSERT_TRUE(store().PutPart("b", "new", "u-new", Part(1, "new1")).ok());
  int pokes = 0;
  UploadExpiry expiry(store(), std::chrono::seconds(10), [&] { ++pokes; });
  EXPECT_EQ(expiry.RunOnce(100000), 1u);
  EXPECT_EQ(pokes, 1);
  EXPECT_FALSE(store().GetUpload("b", "old", "u-old")->has_value());
  EXPECT_TRUE(store().GetUpload("b", "new", "u-new")->has_value());
  EXPECT_EQ(QueuedIds(), std::vector<std::string>{"id-old1"});
  EXPECT_EQ(Refs(store(), "new1"), 1u);
  // Nothing more is due until the new one is old enough.
  EXPECT_EQ(expiry.RunOnce(100000), 0u);
  EXPECT_EQ(pokes, 1);
  EXPECT_EQ(expiry.RunOnce(105001), 1u);
  EXPECT_FALSE(store().GetUpload("b", "new", "u-new")->has_value());
}

TEST_F(MetaStoreTest, ExpiryGoesThroughMoreThanOneBatch) {
  MakeBucket("b");
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    ASSERT_TRUE(store().CreateUpload("b", "k" + n, Upload("u" + n, 1)).ok());
  }
  UploadExpiry expiry(store(), std::chrono::milliseconds(1));
  EXPECT_EQ(expiry.RunOnce(1000), 300u);
  EXPECT_TRUE(store().ListUploads("b", "", "", "", 10)->empty());
}

}  // namespace
}  // namespace mosaic::gateway
