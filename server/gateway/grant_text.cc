#include "server/gateway/grant_text.h"

#include "common/status.h"

namespace mosaic::gateway {

absl::StatusOr<v1::Grant> ParseGrant(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || text[0] == '/') {
    return absl::InvalidArgumentError("grant \"" + text +
                                      "\": expected BUCKET[/PREFIX]:read|write|owner");
  }
  auto right = ParseRight(text.substr(colon + 1));
  if (!right.ok() || *right == v1::Grant::RIGHT_UNSPECIFIED) {
    return absl::InvalidArgumentError("grant \"" + text + "\": right must be read, write or owner");
  }
  ASSIGN_OR_RETURN(v1::Grant g, ParseGrantTarget(text.substr(0, colon)));
  g.set_right(*right);
  return g;
}

absl::StatusOr<v1::Grant> ParseGrantTarget(const std::string& text) {
  size_t slash = text.find('/');
  v1::Grant g;
  g.set_bucket(text.substr(0, slash));
  if (slash != std::string::npos) g.set_prefix(text.substr(slash + 1));
  if (g.bucket().empty()) {
    return absl::InvalidArgumentError("\"" + text + "\": expected BUCKET or BUCKET/PREFIX");
  }
  return g;
}

std::string GrantTarget(const v1::Grant& grant) {
  return grant.prefix().empty() ? grant.bucket() : grant.bucket() + "/" + grant.prefix();
}

std::string GrantText(const v1::Grant& grant) {
  return GrantTarget(grant) + ":" + RightName(grant.right());
}

absl::StatusOr<v1::Grant::Right> ParseRight(const std::string& text) {
  if (text == "read") return v1::Grant::READ;
  if (text == "write") return v1::Grant::WRITE;
  if (text == "owner") return v1::Grant::OWNER;
  if (text == "none") return v1::Grant::RIGHT_UNSPECIFIED;
  return absl::InvalidArgumentError("a right is read, write, owner or none: \"" + text + "\"");
}

const char* RightName(v1::Grant::Right right) {
  switch (right) {
    case v1::Grant::READ:
      return "read";
    case v1::Grant::WRITE:
      return "write";
    case v1::Grant::OWNER:
      return "owner";
    default:
      return "none";
  }
}

}  // namespace mosaic::gateway
