#pragma once
// Deterministic keys and ids for known-answer tests.

#include <cstddef>
#include <cstdint>

#include "client/crypto/key_ring.h"
#include "client/crypto/secret.h"

namespace mosaic::client::testing_keys {

// A key whose bytes are first, first + 1, ...
inline SecretBytes CountingKey(uint8_t first) {
  SecretBytes key(kKeyBytes);
  for (size_t i = 0; i < kKeyBytes; ++i) key.data()[i] = std::byte(first + i);
  return key;
}

// An object id whose bytes are first, first + 1, ...
inline ObjectId CountingObjectId(uint8_t first) {
  ObjectId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = std::byte(first + i);
  return id;
}

}  // namespace mosaic::client::testing_keys
