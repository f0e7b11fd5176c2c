#include "server/gateway/meta/meta_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

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
    auto s = MetaStore::Open(dir_);
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
    bool printable = std::all_of(tag.begin(), tag.end(), [](char c) { return c >= ' ' && c < 127; });
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
    absl::Status s = store().PutObject(bucket, key, Object(tag));
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
  EXPECT_EQ(store().PutObject("nope", "k", Object("1")).code(), absl::StatusCode::kNotFound);
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
  absl::Status vetoed = store().PutObject("b", "k", Object("two"), absent);
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
      "a",          "b",         "a/b",    "a b",          "A",
      "\xff",       "\xff\xff",  "\x7f",   "\x80",         "caf\xC3\xA9",
      std::string("\0", 1),      std::string("a\0", 2),    std::string("a\0b", 3),
      "a\xff",      "a\xff" "b", "ab",     "z",            "/leading",
      "dir//x",     "dir/",
  };
  for (const std::string& k : keys) Put("b", k, k);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& x, const std::string& y) {
    return std::lexicographical_compare(
        x.begin(), x.end(), y.begin(), y.end(),
        [](char c, char d) { return static_cast<unsigned char>(c) < static_cast<unsigned char>(d); });
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
  for (const std::string& k : std::vector<std::string>{"a", "a/1", "a/2", "a/3", "a0", "b/1", std::string("a/\0", 3),
                              "a/\xff", "a\xff"}) {
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

TEST_F(MetaStoreTest, OpenFailsOnAFileInsteadOfAFolder) {
  std::string file = dir_ + "/not-a-folder";
  { FILE* f = fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); fclose(f); }
  auto s = MetaStore::Open(file);
  EXPECT_FALSE(s.ok());
}

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
      return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(),
                                          [](char c, char d) {
                                            return static_cast<unsigned char>(c) <
                                                   static_cast<unsigned char>(d);
                                          });
    };
    EXPECT_TRUE(less(prefix, next));
    EXPECT_TRUE(less(prefix + "\xff\xff\xff", next));
    EXPECT_FALSE(next.starts_with(prefix));
  }
}

}  // namespace
}  // namespace mosaic::gateway
