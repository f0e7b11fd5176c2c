#pragma once
// A test double of a storage node: an in-process gRPC ChunkService on 127.0.0.1 that keeps
// chunks in memory and misbehaves on GetChunk as told. It stands for a provider that lies or
// stalls, so that the object pipeline's reader can be tested against it next to real nodes.
//
// Behaviours (settable at any time, from any thread):
//   kHonest      answers like a node (no CRC is checked or kept: the test is about the reader)
//   kFlipBytes   returns the chunk with some bytes in its middle flipped
//   kWrongChunk  returns another stored chunk of the same length (a valid-looking shard of
//                some other stripe); if there is none, the chunk with its bytes flipped
//   kSlow        returns the right bytes after `delay`
//
// It ignores authorization. Thread-safe. The destructor ends delayed calls early and shuts
// the server down.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mosaic::test {

enum class HostileBehaviour { kHonest, kFlipBytes, kWrongChunk, kSlow };

class HostileNode {
 public:
  // Starts the server on an ephemeral loopback port.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HostileNode>> Start(
      std::string node_id = "hostile");
  ~HostileNode();
  HostileNode(const HostileNode&) = delete;
  HostileNode& operator=(const HostileNode&) = delete;

  const std::string& address() const { return address_; }
  void set_behaviour(HostileBehaviour b, std::chrono::milliseconds delay = {});
  // GetChunk calls answered so far (honestly or not).
  int gets() const;
  // The most GetChunk calls that were delayed (kSlow) at the same time.
  int max_concurrent_slow_gets() const;
  // The same over all HostileNodes of the process, since the last ResetSlowGetsOfAll().
  static int MaxConcurrentSlowGetsOfAll();
  static void ResetSlowGetsOfAll();
  // Makes every DeleteChunk take `delay`, and counts how many run at once.
  void set_delete_delay(std::chrono::milliseconds delay);
  // The most DeleteChunk calls that were in the service at the same time.
  int max_concurrent_deletes() const;
  // Chunks stored.
  size_t chunk_count() const;
  // Whether chunk `chunk_id` (the 32 raw bytes) is stored.
  bool has_chunk(const std::string& chunk_id) const;

  struct Service;

 private:
  HostileNode() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace mosaic::test
