// Lifecycle rules (issue 16): the configuration's XML both ways, and what the rules decide
// for one key's versions.

#include "server/gateway/s3/lifecycle_rules.h"

#include <gtest/gtest.h>

#include <optional>

#include "absl/strings/escaping.h"
#include "server/gateway/jobs/lifecycle_decision.h"
#include "server/gateway/s3/errors.h"

namespace mosaic::gateway {
namespace {

constexpr int64_t kDay = 1000;

v1::ObjectRecord Version(const std::string& id, int64_t modified_ms, bool marker = false) {
  v1::ObjectRecord r;
  r.set_version_id(id);
  r.set_last_modified_ms(modified_ms);
  r.set_delete_marker(marker);
  return r;
}

google::protobuf::RepeatedPtrField<v1::LifecycleRule> Rules(const std::string& xml) {
  auto rules = ParseLifecycle(xml);
  EXPECT_TRUE(rules.ok()) << rules.status();
  google::protobuf::RepeatedPtrField<v1::LifecycleRule> out;
  if (rules.ok()) out.Assign(rules->begin(), rules->end());
  return out;
}

TEST(LifecycleRulesTest, ParsesAndWritesBack) {
  auto rules = Rules(
      "<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status>"
      "<Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>"
      "<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays>"
      "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
      "</Rule><Rule><ID>b</ID><Prefix>old/</Prefix><Status>Disabled</Status>"
      "<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
      "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>");
  ASSERT_EQ(rules.size(), 2);
  EXPECT_EQ(rules[0].prefix(), "logs/");
  EXPECT_EQ(rules[0].tags_size(), 1);
  EXPECT_EQ(rules[0].noncurrent_days(), 3u);
  EXPECT_EQ(rules[0].newer_noncurrent_versions(), 2u);
  EXPECT_EQ(rules[1].prefix(), "old/");  // the rule-level Prefix of the older form
  EXPECT_FALSE(rules[1].enabled());
  EXPECT_EQ(rules[1].expiration_date_ms(), 1893456000000);
  EXPECT_EQ(rules[1].abort_incomplete_days(), 1u);
  auto again = Rules(LifecycleXml(rules));
  ASSERT_EQ(again.size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(again[i].SerializeAsString(), rules[i].SerializeAsString()) << i;
  }
}

TEST(LifecycleRulesTest, RefusesWhatS3Refuses) {
  auto code = [](const std::string& xml) { return CodeOf(ParseLifecycle(xml).status()); };
  EXPECT_EQ(code("<LifecycleConfiguration/>"), S3Code::kMalformedXML);
  EXPECT_EQ(code("<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1"
                 "</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>"
                 "</LifecycleConfiguration>"),
            S3Code::kNotImplemented);
  EXPECT_EQ(code("<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>0"
                 "</Days></Expiration></Rule></LifecycleConfiguration>"),
            S3Code::kInvalidArgument);
  EXPECT_EQ(code("<LifecycleConfiguration><Rule><Status>Enabled</Status></Rule>"
                 "</LifecycleConfiguration>"),
            S3Code::kInvalidRequest);
  auto rule = [&](const std::string& body) {
    return code("<LifecycleConfiguration><Rule><Status>Enabled</Status>" + body +
                "</Rule></LifecycleConfiguration>");
  };
  EXPECT_EQ(rule("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                 "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
                 "</AbortIncompleteMultipartUpload>"),
            S3Code::kInvalidRequest);
  EXPECT_EQ(rule("<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                 "<Expiration><Days>1</Days></Expiration>"),
            S3Code::kMalformedXML);  // two conditions need And
  EXPECT_EQ(rule("<Expiration><Date>2030-01-01T12:00:00.000Z</Date></Expiration>"),
            S3Code::kInvalidArgument);  // not at midnight
  EXPECT_EQ(rule("<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                 "</ExpiredObjectDeleteMarker></Expiration>"),
            S3Code::kMalformedXML);
  EXPECT_EQ(rule("<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker>"
                 "</Expiration>"),
            S3Code::kInvalidRequest);  // an action that does nothing
  EXPECT_EQ(rule("<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>"
                 "<Expiration><Days>1</Days></Expiration>"),
            S3Code::kNotImplemented);
  EXPECT_EQ(code("<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Expiration>"
                 "<Days>1</Days></Expiration></Rule><Rule><ID>x</ID><Status>Enabled</Status>"
                 "<Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>"),
            S3Code::kInvalidArgument);  // the same ID twice
  EXPECT_EQ(code("<LifecycleConfiguration><Rule>"), S3Code::kMalformedXML);
}

// Rules are kept in the bucket record, whose strings are proto3's: bytes that are not UTF-8
// were accepted (pugixml does not check) and stored, and the record no longer parsed
// (found by fuzz_lifecycle_xml; issue 18). Such a document is not well-formed XML.
TEST(LifecycleRulesTest, TextThatIsNotUtf8IsMalformedXml) {
  auto with = [](const std::string& id, const std::string& value) {
    return ParseLifecycle("<LifecycleConfiguration><Rule><ID>" + id +
                          "</ID><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>" + value +
                          "</Value></Tag></Filter><Expiration><Days>1</Days>"
                          "</Expiration></Rule></LifecycleConfiguration>");
  };
  auto code = [&](const std::string& id, const std::string& value) {
    auto rules = with(id, value);
    return rules.ok() ? std::nullopt : std::optional<S3Code>(CodeOf(rules.status()));
  };
  for (const std::string& bad : {std::string("\xff"), std::string("a\xc0\x80"),
                                 std::string("\xed\xa0\x80"), std::string("\xe2\x82")}) {
    EXPECT_EQ(code("r", bad), S3Code::kMalformedXML) << absl::CHexEscape(bad);
    EXPECT_EQ(code(bad, "v"), S3Code::kMalformedXML) << absl::CHexEscape(bad);
  }
  // UTF-8 beyond ASCII is kept, and survives the bucket record.
  auto rules = with("r\xc3\xa9", "\xe2\x82\xac");
  ASSERT_TRUE(rules.ok()) << rules.status();
  v1::LifecycleRule again;
  ASSERT_TRUE(again.ParseFromString((*rules)[0].SerializeAsString()));
  EXPECT_EQ(again.tags(0).value(), "\xe2\x82\xac");
}

TEST(LifecycleRulesTest, NoncurrentVersionsExpireKeepingTheNewerOnes) {
  auto rules = Rules(
      "<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Prefix/></Filter>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
      "<NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
      "</Rule></LifecycleConfiguration>");
  // Newest first: v4 current, v3 noncurrent since v4 (t=10000), v2 since v3, v1 since v2.
  std::vector<v1::ObjectRecord> versions = {Version("v4", 10000), Version("v3", 9500),
                                            Version("v2", 2000), Version("v1", 1000)};
  LifecycleDecision d = DecideKey(rules, "k", versions, 10400, kDay);
  // v3 is the one newer noncurrent version kept; v2 became noncurrent at 9500 (not a day
  // ago at 10400); v1 at 2000 (more than a day ago).
  EXPECT_FALSE(d.expire_current);
  EXPECT_EQ(d.delete_versions, std::vector<std::string>{"v1"});
  d = DecideKey(rules, "k", versions, 20000, kDay);
  EXPECT_EQ(d.delete_versions, (std::vector<std::string>{"v2", "v1"}));
}

TEST(LifecycleRulesTest, ExpirationAndLoneMarkers) {
  auto rules = Rules(
      "<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix>tmp/</Prefix>"
      "<Expiration><Days>2</Days></Expiration></Rule><Rule><Status>Enabled</Status>"
      "<Filter><Prefix/></Filter><Expiration><ExpiredObjectDeleteMarker>true"
      "</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>");
  EXPECT_TRUE(DecideKey(rules, "tmp/a", {Version("", 0)}, 2000, kDay).expire_current);
  EXPECT_FALSE(DecideKey(rules, "tmp/a", {Version("", 0)}, 1999, kDay).expire_current);
  EXPECT_FALSE(DecideKey(rules, "other", {Version("", 0)}, 9999, kDay).expire_current);
  LifecycleDecision d = DecideKey(rules, "m", {Version("mk", 5, true)}, 10, kDay);
  EXPECT_EQ(d.delete_versions, std::vector<std::string>{"mk"});
  d = DecideKey(rules, "m", {Version("mk", 5, true), Version("v", 1)}, 10, kDay);
  EXPECT_TRUE(d.delete_versions.empty());
}

// S3's example: created 2014-01-15 10:30 UTC with Expiration Days 3 expires at 2014-01-19
// 00:00 UTC (creation + 3 days, rounded up to the next midnight UTC), not at 10:30 the 18th.
TEST(LifecycleRulesTest, ExpirationDaysRoundUpToMidnightUtc) {
  constexpr int64_t kRealDay = 24 * 3600 * 1000LL;
  constexpr int64_t kJan15 = 1389744000000;  // 2014-01-15 00:00 UTC
  auto rules = Rules(
      "<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Prefix/></Filter>"
      "<Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>");
  std::vector<v1::ObjectRecord> created = {Version("v", kJan15 + 10 * 3600000 + 30 * 60000)};
  int64_t jan19 = kJan15 + 4 * kRealDay;
  EXPECT_FALSE(DecideKey(rules, "k", created, kJan15 + 3 * kRealDay + 11 * 3600000, kRealDay)
                   .expire_current);
  EXPECT_FALSE(DecideKey(rules, "k", created, jan19 - 1, kRealDay).expire_current);
  EXPECT_TRUE(DecideKey(rules, "k", created, jan19, kRealDay).expire_current);
  // Created at midnight exactly: nothing to round.
  EXPECT_TRUE(DecideKey(rules, "k", {Version("v", kJan15)}, kJan15 + 3 * kRealDay, kRealDay)
                  .expire_current);
  // The test-only shorter day rounds to its own multiples: created at 1.5 days, expires at 5.
  EXPECT_FALSE(DecideKey(rules, "k", {Version("v", 1500)}, 4999, kDay).expire_current);
  EXPECT_TRUE(DecideKey(rules, "k", {Version("v", 1500)}, 5000, kDay).expire_current);
}

// NoncurrentDays count from when the version became noncurrent (its successor's creation),
// rounded up the same way: noncurrent since 2020-01-02 11:30 UTC, NoncurrentDays 1, goes at
// 2020-01-04 00:00 UTC, whenever the version itself was written.
TEST(LifecycleRulesTest, NoncurrentDaysCountFromBecomingNoncurrentRoundedUp) {
  constexpr int64_t kRealDay = 24 * 3600 * 1000LL;
  constexpr int64_t kJan1 = 1577836800000;  // 2020-01-01 00:00 UTC
  auto rules = Rules(
      "<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Prefix/></Filter>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
      "</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>");
  std::vector<v1::ObjectRecord> versions = {
      Version("xyz", kJan1 + kRealDay + 11 * 3600000 + 1800000),
      Version("abc", kJan1 - 30 * kRealDay)};
  int64_t jan4 = kJan1 + 3 * kRealDay;
  EXPECT_TRUE(DecideKey(rules, "k", versions, jan4 - 1, kRealDay).delete_versions.empty());
  EXPECT_EQ(DecideKey(rules, "k", versions, jan4, kRealDay).delete_versions,
            std::vector<std::string>{"abc"});
}

}  // namespace
}  // namespace mosaic::gateway
