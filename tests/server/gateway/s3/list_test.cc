// ListObjects and ListObjectsV2 over a real MetaStore (temp folder), through the handler
// functions with a recording Exchange: pagination, delimiters, markers, encoding.

#include "server/gateway/s3/list.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "client/crypto/key_ring.h"
#include "client/rpc/node_pool.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"

namespace mosaic::gateway {
namespace {

class Recorder : public Exchange {
 public:
  const RequestView& request() const override { return view_; }
  const std::string& request_id() const override { return id_; }
  std::optional<uint64_t> content_length() const override { return 0; }
  absl::StatusOr<size_t> ReadBody(ByteSpan) override { return 0; }
  void SetHeader(const std::string&, const std::string&) override {}
  absl::Status Send(int s, const std::string& b) override {
    sent_status = s;
    body = b;
    return absl::OkStatus();
  }
  absl::Status SendHeaders(int, uint64_t) override { return absl::InternalError("unused"); }
  absl::Status SendBody(ConstByteSpan) override { return absl::InternalError("unused"); }
  bool response_started() const override { return sent_status != 0; }
  void Abort() override {}

  int sent_status = 0;
  std::string body;

 private:
  RequestView view_;
  std::string id_ = "id";
};

class NoBody : public BodyReader {
 public:
  absl::StatusOr<size_t> Read(ByteSpan) override { return 0; }
  absl::Status Finish() override { return absl::OkStatus(); }
  std::optional<uint64_t> declared_length() const override { return 0; }
};

struct Page {
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string next;  // NextContinuationToken (v2) or NextMarker (v1)
  int key_count = -1;
};

class ListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "list_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto meta = MetaStore::Open(dir_);
    ASSERT_TRUE(meta.ok()) << meta.status();
    meta_ = std::move(*meta);
    client::SecretBytes master(client::kKeyBytes);
    auto ring = client::KeyRing::FromMasterKey(master);
    ASSERT_TRUE(ring.ok());
    ring_ = std::make_unique<client::KeyRing>(std::move(*ring));
    pool_ = std::make_unique<client::NodePool>(std::vector<client::NodeEndpoint>{},
                                               client::RpcOptions{});
    pipeline_ = std::make_unique<client::Pipeline>(*ring_, *pool_, client::PipelineOptions{});
    ASSERT_TRUE(meta_->CreateBucket("b", v1::BucketRecord()).ok());
  }
  void TearDown() override {
    pipeline_.reset();
    pool_.reset();
    meta_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Put(const std::string& key) {
    v1::ObjectRecord r;
    r.set_etag("e");
    r.set_size(key.size());
    ASSERT_TRUE(meta_->PutObject("b", key, r).ok());
  }

  // Runs ListObjectsV2 (v2) or ListObjects with `query` and parses the answer.
  absl::StatusOr<Page> List(bool v2, std::map<std::string, std::string> query) {
    S3Request req;
    req.op = v2 ? Operation::kListObjectsV2 : Operation::kListObjects;
    req.bucket = "b";
    req.query = std::move(query);
    Principal who{"MK", {}};
    v1::Grant g;
    g.set_bucket("*");
    g.set_right(v1::Grant::READ);
    who.grants.push_back(g);
    Services svc{*meta_, *pipeline_, config_};
    Recorder ex;
    NoBody body;
    Ctx ctx{svc, ex, req, who, body};
    absl::Status s = v2 ? ListObjectsV2(ctx) : ListObjects(ctx);
    if (!s.ok()) return s;
    EXPECT_EQ(ex.sent_status, 200);
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_buffer(ex.body.data(), ex.body.size())) << ex.body;
    pugi::xml_node root = doc.child("ListBucketResult");
    Page p;
    for (pugi::xml_node c : root.children("Contents"))
      p.keys.push_back(c.child("Key").text().get());
    for (pugi::xml_node c : root.children("CommonPrefixes")) {
      p.prefixes.push_back(c.child("Prefix").text().get());
    }
    p.truncated = std::string(root.child("IsTruncated").text().get()) == "true";
    p.next = root.child(v2 ? "NextContinuationToken" : "NextMarker").text().get();
    if (root.child("KeyCount")) p.key_count = root.child("KeyCount").text().as_int();
    return p;
  }

  // Every page of a listing, following the tokens or markers as a paginator does.
  std::pair<std::vector<std::string>, std::vector<std::string>> All(
      bool v2, std::map<std::string, std::string> query, int* pages = nullptr) {
    std::vector<std::string> keys, prefixes;
    for (int page = 1; page < 1000; ++page) {
      auto p = List(v2, query);
      EXPECT_TRUE(p.ok()) << p.status();
      if (!p.ok()) break;
      keys.insert(keys.end(), p->keys.begin(), p->keys.end());
      prefixes.insert(prefixes.end(), p->prefixes.begin(), p->prefixes.end());
      if (pages) *pages = page;
      if (!p->truncated) break;
      EXPECT_FALSE(p->next.empty());
      query[v2 ? "continuation-token" : "marker"] = p->next;
    }
    return {keys, prefixes};
  }

  std::string dir_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<client::KeyRing> ring_;
  std::unique_ptr<client::NodePool> pool_;
  std::unique_ptr<client::Pipeline> pipeline_;
  GatewayConfig config_;
};

using V = std::vector<std::string>;

TEST_F(ListTest, V2PagesThroughEveryKeyOnce) {
  V keys;
  for (int i = 0; i < 25; ++i) keys.push_back("k" + std::to_string(100 + i));
  for (const auto& k : keys) Put(k);
  int pages = 0;
  auto [got, prefixes] = All(true, {{"list-type", "2"}, {"max-keys", "7"}}, &pages);
  EXPECT_EQ(got, keys);
  EXPECT_TRUE(prefixes.empty());
  EXPECT_EQ(pages, 4);
  auto first = List(true, {{"list-type", "2"}, {"max-keys", "7"}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->key_count, 7);
  EXPECT_TRUE(first->truncated);
}

TEST_F(ListTest, DelimiterFoldsCommonPrefixesAcrossPages) {
  for (const char* k : {"a/1", "a/2", "a/3", "b", "c/x/1", "c/y", "d", "d/"}) Put(k);
  auto [keys, prefixes] = All(true, {{"list-type", "2"}, {"delimiter", "/"}, {"max-keys", "1"}});
  EXPECT_EQ(keys, (V{"b", "d"}));
  EXPECT_EQ(prefixes, (V{"a/", "c/", "d/"}));
  auto [under_c, sub] = All(true, {{"list-type", "2"}, {"delimiter", "/"}, {"prefix", "c/"}});
  EXPECT_EQ(under_c, (V{"c/y"}));
  EXPECT_EQ(sub, (V{"c/x/"}));
}

TEST_F(ListTest, V1MarkerAfterAFolderObjectDoesNotSkipItsContents) {
  // "dir/" is an object (a folder marker, as consoles and rclone create); listed under
  // prefix "dir/" it is a key, not a common prefix, and the keys after it must follow.
  for (const char* k : {"dir/", "dir/a", "dir/b", "dir/sub/x"}) Put(k);
  auto [keys, prefixes] = All(false, {{"prefix", "dir/"}, {"delimiter", "/"}, {"max-keys", "1"}});
  EXPECT_EQ(keys, (V{"dir/", "dir/a", "dir/b"}));
  EXPECT_EQ(prefixes, (V{"dir/sub/"}));
}

TEST_F(ListTest, V1MarkerOnACommonPrefixSkipsIt) {
  for (const char* k : {"a/1", "a/2", "b/1", "c"}) Put(k);
  auto [keys, prefixes] = All(false, {{"delimiter", "/"}, {"max-keys", "1"}});
  EXPECT_EQ(keys, (V{"c"}));
  EXPECT_EQ(prefixes, (V{"a/", "b/"}));
}

TEST_F(ListTest, StartAfterAndMarkerAreExclusive) {
  for (const char* k : {"a", "b", "c"}) Put(k);
  auto v2 = List(true, {{"list-type", "2"}, {"start-after", "a"}});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->keys, (V{"b", "c"}));
  auto v1 = List(false, {{"marker", "b"}});
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->keys, (V{"c"}));
}

TEST_F(ListTest, UrlEncodingOfKeys) {
  Put("a b/c+d\r");
  auto p = List(true, {{"list-type", "2"}, {"encoding-type", "url"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->keys, (V{"a%20b/c%2Bd%0D"}));
  auto plain = List(true, {{"list-type", "2"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->keys, (V{"a b/c+d\r"}));
}

TEST_F(ListTest, DelimiterPageReadsRecordsInProportionToThePage) {
  // 8 common prefixes of 150 keys each: a page of 5 must not read the keys folded into its
  // prefixes (issue 14: it read up to 1,000 records per prefix).
  for (int p = 0; p < 8; ++p) {
    for (int k = 0; k < 150; ++k) Put("p" + std::to_string(p) + "/k" + std::to_string(1000 + k));
  }
  Put("z");
  uint64_t before = ListRecordsReadForTesting();
  auto page = List(true, {{"list-type", "2"}, {"delimiter", "/"}, {"max-keys", "5"}});
  ASSERT_TRUE(page.ok()) << page.status();
  uint64_t read = ListRecordsReadForTesting() - before;
  EXPECT_EQ(page->prefixes, (V{"p0/", "p1/", "p2/", "p3/", "p4/"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_LE(read, 3u * (5 + 1)) << "records read for a page of 5";
  // Every page of the whole listing, too: 9 entries, never a prefix's 150 keys.
  before = ListRecordsReadForTesting();
  auto [keys, prefixes] = All(true, {{"list-type", "2"}, {"delimiter", "/"}, {"max-keys", "2"}});
  EXPECT_EQ(keys, (V{"z"}));
  EXPECT_EQ(prefixes.size(), 8u);
  EXPECT_LE(ListRecordsReadForTesting() - before, 3u * (9 + 5));
}

TEST_F(ListTest, PlainListingReadsOnePageAndOneMore) {
  for (int k = 0; k < 40; ++k) Put("k" + std::to_string(100 + k));
  uint64_t before = ListRecordsReadForTesting();
  auto page = List(false, {{"max-keys", "10"}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->keys.size(), 10u);
  EXPECT_EQ(ListRecordsReadForTesting() - before, 11u);
}

TEST_F(ListTest, MaxKeysZeroListsNothingAndIsNotTruncated) {
  for (const char* k : {"a", "b/c"}) Put(k);
  for (bool v2 : {false, true}) {
    std::map<std::string, std::string> q = {{"max-keys", "0"}, {"delimiter", "/"}};
    if (v2) q["list-type"] = "2";
    auto p = List(v2, q);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->keys.empty());
    EXPECT_TRUE(p->prefixes.empty());
    EXPECT_FALSE(p->truncated) << v2;
  }
}

TEST_F(ListTest, BadArgumentsAreS3Errors) {
  auto bad_max = List(true, {{"list-type", "2"}, {"max-keys", "-1"}});
  ASSERT_FALSE(bad_max.ok());
  EXPECT_EQ(CodeOf(bad_max.status()), S3Code::kInvalidArgument);
  auto bad_token = List(true, {{"list-type", "2"}, {"continuation-token", "!!!"}});
  ASSERT_FALSE(bad_token.ok());
  EXPECT_EQ(CodeOf(bad_token.status()), S3Code::kInvalidArgument);
  auto bad_encoding = List(true, {{"list-type", "2"}, {"encoding-type", "base64"}});
  ASSERT_FALSE(bad_encoding.ok());
  EXPECT_EQ(CodeOf(bad_encoding.status()), S3Code::kInvalidArgument);
}

}  // namespace
}  // namespace mosaic::gateway
