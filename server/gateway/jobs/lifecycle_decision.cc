// The lifecycle rules' decisions (lifecycle_decision.h).

#include "server/gateway/jobs/lifecycle_decision.h"

namespace mosaic::gateway {
namespace {

// When a version `days` days old from `from_ms` expires, as S3 counts: that time rounded up
// to the next midnight UTC (the next multiple of `day_ms` since the epoch: with the test-only
// shorter day, the next multiple of it).
int64_t ExpiresAtMs(int64_t from_ms, int64_t days, int64_t day_ms) {
  int64_t at = from_ms + days * day_ms;
  int64_t rest = at % day_ms;
  return rest == 0 ? at : at + (rest > 0 ? day_ms - rest : -rest);
}

}  // namespace

bool UploadExpires(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules,
                   const std::string& key, int64_t initiated_ms, int64_t now_ms, int64_t day_ms) {
  for (const v1::LifecycleRule& rule : rules) {
    if (rule.enabled() && rule.abort_incomplete_days() > 0 && key.starts_with(rule.prefix()) &&
        now_ms - initiated_ms >= int64_t{rule.abort_incomplete_days()} * day_ms) {
      return true;
    }
  }
  return false;
}

bool RuleApplies(const v1::LifecycleRule& rule, const std::string& key,
                 const v1::ObjectRecord& version) {
  if (!rule.enabled() || !key.starts_with(rule.prefix())) return false;
  for (const v1::Tag& want : rule.tags()) {
    bool found = false;
    for (const v1::Tag& t : version.tags())
      found |= t.key() == want.key() && t.value() == want.value();
    if (!found) return false;
  }
  return true;
}

LifecycleDecision DecideKey(const google::protobuf::RepeatedPtrField<v1::LifecycleRule>& rules,
                            const std::string& key, const std::vector<v1::ObjectRecord>& versions,
                            int64_t now_ms, int64_t day_ms) {
  LifecycleDecision out;
  size_t kept = 0;  // versions not deleted
  for (size_t i = 0; i < versions.size(); ++i) {
    const v1::ObjectRecord& v = versions[i];
    bool remove = false;
    for (const v1::LifecycleRule& rule : rules) {
      if (!RuleApplies(rule, key, v)) continue;
      if (i == 0 && !v.delete_marker()) {
        bool by_days = rule.expiration_days() > 0 &&
                       now_ms >= ExpiresAtMs(v.last_modified_ms(), rule.expiration_days(), day_ms);
        bool by_date = rule.expiration_date_ms() > 0 && now_ms >= rule.expiration_date_ms();
        out.expire_current |= by_days || by_date;
      }
      if (i > 0 && rule.noncurrent_days() > 0) {
        // Noncurrent since its successor was written; i - 1 newer noncurrent versions.
        int64_t since = versions[i - 1].last_modified_ms();
        remove |= now_ms >= ExpiresAtMs(since, rule.noncurrent_days(), day_ms) &&
                  i - 1 >= rule.newer_noncurrent_versions();
      }
    }
    if (remove) {
      out.delete_versions.push_back(v.version_id().empty() ? "null" : v.version_id());
    } else {
      ++kept;
    }
  }
  // A delete marker left alone (every older version gone) is removed too, when asked.
  if (kept == 1 && !versions.empty() && versions[0].delete_marker()) {
    for (const v1::LifecycleRule& rule : rules) {
      if (rule.expired_object_delete_marker() && RuleApplies(rule, key, versions[0])) {
        const std::string& id = versions[0].version_id();
        out.delete_versions.push_back(id.empty() ? "null" : id);
        out.lone_marker = true;
        break;
      }
    }
  }
  return out;
}

}  // namespace mosaic::gateway
