#pragma once
// Rows of listings, as MetaStore and its tables return them.

#include <string>

#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

struct ObjectEntry {
  std::string key;
  v1::ObjectRecord record;
};

struct UploadEntry {
  std::string bucket;
  std::string key;
  v1::UploadRecord record;
};

}  // namespace mosaic::gateway
