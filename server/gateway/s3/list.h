#pragma once
// ListObjects and ListObjectsV2 (list.cc; the handlers are declared in handler.h).

#include <cstdint>

namespace mosaic::gateway {

// Object records read from the metadata store by listings in this process since it started
// (for tests: a listing page must read O(max-keys) records, whatever the number of keys
// folded into its common prefixes). Any thread.
uint64_t ListRecordsReadForTesting();

}  // namespace mosaic::gateway
