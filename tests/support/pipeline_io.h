#pragma once
// Helpers for tests and benchmarks of the object pipeline: start real nodes for it, write an
// object from a regenerable pattern (tests/support/pattern.h) and verify a range of it as a
// stream, so that objects of gibibytes are checked without being held in memory.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/pipeline/object_reader.h"
#include "client/pipeline/object_writer.h"
#include "client/pipeline/pipeline.h"
#include "tests/support/node_process.h"
#include "tests/support/pattern.h"

namespace mosaic::test {

inline constexpr char kPipelineTenantToken[] = "group-token";

// A key ring under a fresh random master key.
inline std::unique_ptr<client::KeyRing> NewKeyRing() {
  auto ring = client::KeyRing::FromMasterKey(client::SecretBytes::Random(client::kKeyBytes));
  if (!ring.ok()) return nullptr;
  return std::make_unique<client::KeyRing>(std::move(*ring));
}

// Options for tests of many stripes in little data: 1 MiB stripes, a 16 MiB budget.
inline client::PipelineOptions SmallStripeOptions() {
  client::PipelineOptions options;
  options.stripe_bytes = 1 << 20;
  options.budget_bytes = 16 << 20;
  return options;
}

// Starts `count` nodes "node-0", "node-1", … from `options` (node ids and the tenant are
// set here: tenant "group" with kPipelineTenantToken).
inline absl::StatusOr<std::vector<std::unique_ptr<NodeProcess>>> StartPipelineNodes(
    int count, NodeOptions options = {}) {
  options.reserved_free = "1MiB";
  options.tenants = {{"group", kPipelineTenantToken, ""}};
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (int i = 0; i < count; ++i) {
    options.node_id = "node-" + std::to_string(i);
    auto node = NodeProcess::Start(options);
    if (!node.ok()) return node.status();
    nodes.push_back(std::move(*node));
  }
  return nodes;
}

// The pool's view of a node started by StartPipelineNodes: `id` under provider "provider-i"
// where i is `provider`.
inline client::NodeEndpoint PipelineEndpoint(const std::string& id, int provider,
                                             const std::string& address) {
  client::NodeEndpoint e;
  e.spec = {id, "provider-" + std::to_string(provider), "", 1.0};
  e.address = address;
  e.token = kPipelineTenantToken;
  e.plaintext = true;
  return e;
}

// Writes `size` bytes of the pattern `seed` in pieces of `piece` bytes.
inline absl::StatusOr<client::ObjectManifest> WritePattern(client::Pipeline& pipeline,
                                                           uint64_t seed, uint64_t size,
                                                           size_t piece = size_t{1} << 20) {
  auto writer = pipeline.NewWriter();
  if (!writer.ok()) return writer.status();
  std::vector<std::byte> buffer(std::min<uint64_t>(piece, std::max<uint64_t>(size, 1)));
  for (uint64_t at = 0; at < size;) {
    size_t n = std::min<uint64_t>(buffer.size(), size - at);
    FillPattern(seed, at, {buffer.data(), n});
    if (absl::Status s = (*writer)->Write({buffer.data(), n}); !s.ok()) return s;
    at += n;
  }
  return (*writer)->Finish();
}

// Reads [offset, offset + length) through `reader` in pieces and compares it with the
// pattern. DATA_LOSS naming the first differing byte, or the read's own error.
inline absl::Status VerifyPattern(client::ObjectReader& reader, uint64_t seed, uint64_t offset,
                                  uint64_t length, size_t piece = size_t{1} << 20) {
  std::vector<std::byte> got(piece), want(piece);
  uint64_t at = 0;
  while (at < length) {
    auto n = reader.Read({got.data(), std::min<uint64_t>(piece, length - at)});
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::DataLossError("range ends early at " + std::to_string(offset + at) + " of " +
                                 std::to_string(offset + length));
    }
    FillPattern(seed, offset + at, {want.data(), *n});
    if (std::memcmp(got.data(), want.data(), *n) != 0) {
      size_t i = 0;
      while (got[i] == want[i]) ++i;
      return absl::DataLossError("byte " + std::to_string(offset + at + i) + " differs");
    }
    at += *n;
  }
  std::byte extra;
  auto n = reader.Read({&extra, 1});
  if (!n.ok()) return n.status();
  if (*n != 0) return absl::DataLossError("range longer than " + std::to_string(length));
  return absl::OkStatus();
}

inline absl::Status VerifyPattern(client::Pipeline& pipeline,
                                  const client::ObjectManifest& manifest, uint64_t seed,
                                  uint64_t offset, uint64_t length) {
  auto reader = pipeline.NewReader(manifest, offset, length);
  if (!reader.ok()) return reader.status();
  return VerifyPattern(**reader, seed, offset, length);
}

}  // namespace mosaic::test
