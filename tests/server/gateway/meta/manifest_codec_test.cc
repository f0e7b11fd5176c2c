#include "server/gateway/meta/manifest_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace mosaic::gateway {
namespace {

client::ObjectManifest Sample() {
  client::ObjectManifest m;
  m.size = 9 << 20;
  m.stripe_bytes = 4 << 20;
  m.k = 4;
  m.m = 2;
  m.algorithm = client::SealAlgorithm::kXChaCha20Poly1305;
  m.wrapped_key = std::string("wrapped\0key\xff", 12);
  for (size_t i = 0; i < m.object_id.size(); ++i) m.object_id[i] = static_cast<std::byte>(0xf0 + i);
  for (int s = 0; s < 3; ++s) {
    client::StripePlacement p;
    for (int n = 0; n < 6; ++n) p.nodes.push_back("node-" + std::to_string((s + n) % 7));
    m.stripes.push_back(p);
  }
  return m;
}

TEST(ManifestCodecTest, RoundTrip) {
  client::ObjectManifest m = Sample();
  v1::Manifest p = ToProto(m);
  EXPECT_EQ(p.size(), m.size);
  EXPECT_EQ(p.k(), 4u);
  EXPECT_EQ(p.m(), 2u);
  EXPECT_EQ(p.algorithm(), 2u);
  EXPECT_EQ(p.object_id().size(), m.object_id.size());
  // Through the stored bytes, as the metadata store keeps it.
  v1::Manifest stored;
  ASSERT_TRUE(stored.ParseFromString(p.SerializeAsString()));
  auto back = FromProto(stored);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->size, m.size);
  EXPECT_EQ(back->stripe_bytes, m.stripe_bytes);
  EXPECT_EQ(back->k, m.k);
  EXPECT_EQ(back->m, m.m);
  EXPECT_EQ(back->algorithm, m.algorithm);
  EXPECT_EQ(back->wrapped_key, m.wrapped_key);
  EXPECT_EQ(back->object_id, m.object_id);
  ASSERT_EQ(back->stripes.size(), 3u);
  for (size_t s = 0; s < 3; ++s) EXPECT_EQ(back->stripes[s].nodes, m.stripes[s].nodes) << s;
}

TEST(ManifestCodecTest, EmptyObjectAndNoParity) {
  client::ObjectManifest m = Sample();
  m.size = 0;
  m.m = 0;
  m.algorithm = client::SealAlgorithm::kAes256Gcm;
  m.stripes = {client::StripePlacement{{"a", "b", "c", "d"}}};
  auto back = FromProto(ToProto(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->size, 0u);
  EXPECT_EQ(back->m, 0);
  EXPECT_EQ(back->algorithm, client::SealAlgorithm::kAes256Gcm);
  EXPECT_EQ(back->stripes[0].nodes, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(ManifestCodecTest, DeletedShardsKeepTheirSlot) {
  // The deleter marks shards already deleted with "": the stripe still names k+m slots.
  client::ObjectManifest m = Sample();
  m.stripes[1].nodes[3] = "";
  auto back = FromProto(ToProto(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->stripes[1].nodes[3], "");
}

TEST(ManifestCodecTest, RejectsMalformedManifests) {
  struct Case {
    const char* what;
    std::function<void(v1::Manifest&)> spoil;
  };
  const Case cases[] = {
      {"no object id", [](v1::Manifest& p) { p.set_object_id(""); }},
      {"object id too long", [](v1::Manifest& p) { p.set_object_id(p.object_id() + "x"); }},
      {"object id too short", [](v1::Manifest& p) { p.set_object_id(p.object_id().substr(1)); }},
      {"k = 0", [](v1::Manifest& p) { p.set_k(0); }},
      {"k + m = 33", [](v1::Manifest& p) { p.set_k(31); }},
      {"k + m wraps to 0 through k",
       [](v1::Manifest& p) {
         p.set_k(UINT32_MAX);
         p.set_m(1);
         p.clear_stripes();
       }},
      {"k + m wraps to 0 through m",
       [](v1::Manifest& p) {
         p.set_k(1);
         p.set_m(UINT32_MAX);
         p.clear_stripes();
       }},
      {"stripe_bytes = 0", [](v1::Manifest& p) { p.set_stripe_bytes(0); }},
      {"a stripe with k+m+1 nodes", [](v1::Manifest& p) { p.mutable_stripes(2)->add_nodes("x"); }},
      {"a stripe with k+m-1 nodes",
       [](v1::Manifest& p) { p.mutable_stripes(0)->mutable_nodes()->RemoveLast(); }},
      {"algorithm 0", [](v1::Manifest& p) { p.set_algorithm(0); }},
      {"unknown algorithm", [](v1::Manifest& p) { p.set_algorithm(3); }},
      {"algorithm past uint8 (would truncate to 1)",
       [](v1::Manifest& p) { p.set_algorithm(0x101); }},
  };
  const v1::Manifest good = ToProto(Sample());
  ASSERT_TRUE(FromProto(good).ok());
  for (const Case& c : cases) {
    v1::Manifest p = good;
    c.spoil(p);
    auto r = FromProto(p);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << c.what;
  }
}

}  // namespace
}  // namespace mosaic::gateway
