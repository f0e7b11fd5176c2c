#pragma once
// Rows of listings, as MetaStore and its tables return them.

#include <cstdint>
#include <string>

#include "proto/mosaic/v1/meta.pb.h"

namespace mosaic::gateway {

struct ObjectEntry {
  std::string key;
  v1::ObjectRecord record;
};

// A version of an object (ListObjectVersions): the current object, an older version, or a
// delete marker (record.delete_marker); `latest` for the key's newest version.
struct VersionEntry {
  std::string key;
  v1::ObjectRecord record;
  bool latest = false;
};

// What a DELETE of an object (or of one of its versions) did. `version_id` as S3 shows it:
// "" in a bucket never versioned, "null" for the null version.
struct DeletedVersion {
  bool existed = false;        // something was deleted or a marker written
  bool delete_marker = false;  // the version written or deleted is a delete marker
  std::string version_id;
};

// A background job's lease (meta/lease.h): the gateway that holds it and its heartbeat
// count, which the holder raises at every renewal.
struct LeaseEntry {
  std::string holder;
  uint64_t beat = 0;
};

// A write in progress (meta/write_journal.h): the writer (one run of a gateway), the object
// id (16 raw bytes), its shards per stripe, and how many stripes it may have begun.
struct WriteInFlight {
  std::string writer;
  std::string object_id;
  uint32_t shards = 0;
  uint64_t stripes = 0;
};

struct UploadEntry {
  std::string bucket;
  std::string key;
  v1::UploadRecord record;
};

}  // namespace mosaic::gateway
