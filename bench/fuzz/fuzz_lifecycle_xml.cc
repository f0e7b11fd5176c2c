// Fuzz target: PutBucketLifecycleConfiguration's XML (s3/lifecycle_rules.h). What the parser
// accepts must keep its promises (at most 1,000 rules, each with an action, no transition),
// and must survive being written back and parsed again unchanged, as GetBucketLifecycle-
// Configuration does, and parse back from the bucket record they are kept in; the rules it
// accepts are applied to a small version list. Seeds:
// bench/fuzz/corpus/fuzz_lifecycle_xml (written by hand: the documents boto3 sends).

#include <cstdint>
#include <string>

#include "bench/fuzz/fuzz_input.h"
#include "common/check.h"
#include "server/gateway/jobs/lifecycle_decision.h"
#include "server/gateway/s3/lifecycle_rules.h"

namespace {

using namespace mosaic::gateway;

bool HasAction(const mosaic::v1::LifecycleRule& r) {
  return r.expiration_days() > 0 || r.expiration_date_ms() > 0 ||
         r.expired_object_delete_marker() || r.noncurrent_days() > 0 ||
         r.abort_incomplete_days() > 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosaic::fuzz::FuzzInput in(data, size);
  auto rules = ParseLifecycle(in.Rest());
  if (!rules.ok()) return 0;
  CHECK(!rules->empty() && rules->size() <= 1000);
  google::protobuf::RepeatedPtrField<mosaic::v1::LifecycleRule> field(rules->begin(), rules->end());
  for (const auto& r : field) {
    CHECK(HasAction(r));
    // Rules are kept in the bucket record: what was accepted must parse back from it
    // (proto3 strings are UTF-8 only; regress-tag-not-utf8).
    mosaic::v1::LifecycleRule stored;
    CHECK(stored.ParseFromString(r.SerializeAsString()));
  }
  auto again = ParseLifecycle(LifecycleXml(field));
  CHECK(again.ok());
  CHECK(again->size() == rules->size());
  for (size_t i = 0; i < rules->size(); ++i) {
    CHECK((*again)[i].SerializeAsString() == (*rules)[i].SerializeAsString());
  }
  std::vector<mosaic::v1::ObjectRecord> versions(3);
  versions[0].set_delete_marker(true);
  versions[0].set_last_modified_ms(3);
  versions[1].set_version_id("b");
  versions[1].set_last_modified_ms(2);
  versions[2].set_last_modified_ms(1);
  LifecycleDecision d = DecideKey(field, "logs/a", versions, int64_t{1} << 40, 1000);
  CHECK(!d.expire_current);  // the current version is a marker
  CHECK(d.delete_versions.size() <= versions.size());
  return 0;
}
