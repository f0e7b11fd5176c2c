#include "server/gateway/grant_text.h"

namespace mosaic::gateway {

absl::StatusOr<v1::Grant> ParseGrant(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("grant \"" + text + "\": expected BUCKET:read|write|owner");
  }
  auto right = ParseRight(text.substr(colon + 1));
  if (!right.ok() || *right == v1::Grant::RIGHT_UNSPECIFIED) {
    return absl::InvalidArgumentError("grant \"" + text + "\": right must be read, write or owner");
  }
  v1::Grant g;
  g.set_bucket(text.substr(0, colon));
  g.set_right(*right);
  return g;
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
