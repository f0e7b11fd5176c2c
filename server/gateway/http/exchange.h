#pragma once
// One HTTP request and its response, as the S3 handlers see them. The HTTP layer
// (server.cc) owns the connection; an Exchange lives for one request on the connection's
// thread.
//
// Threading model (a deliberate choice, see docs/architecture.md): a request being served
// has its connection's own thread, capped by limits.max_connections; its reads and writes
// block that thread only, each with a deadline (head, per-transfer and request timeouts), and
// the heavy work (sealing, encoding, decoding) runs on the pipeline's worker pool. A plain
// HTTP connection waiting for a request head (new, or idle between requests) has no thread. Memory
// per request is bounded by the pipeline's byte budget plus one body buffer.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "server/gateway/http/request.h"

namespace mosaic::gateway {

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const RequestView& request() const = 0;
  virtual const std::string& request_id() const = 0;
  // The client's IP address as the socket saw it ("" when unknown): the console's login
  // throttling and audit log.
  virtual std::string client_address() const { return ""; }
  // Content-Length of the request body; nullopt when the body is chunked (Transfer-Encoding).
  virtual std::optional<uint64_t> content_length() const = 0;

  // Reads the next body bytes into `out`; returns how many, 0 at the end of the body.
  // INVALID_ARGUMENT (IncompleteBody) if the client stops early; DEADLINE_EXCEEDED
  // (RequestTimeout) when it stalls.
  [[nodiscard]] virtual absl::StatusOr<size_t> ReadBody(ByteSpan out) = 0;

  // Adds a response header (before the response starts). A value that is not
  // IsSafeHeaderValue is never written: the next Send or SendHeaders fails instead (below).
  virtual void SetHeader(const std::string& name, const std::string& value) = 0;
  // Sends a whole response. Send and SendHeaders return INVALID_ARGUMENT without sending
  // anything, and forget the headers set so far, when one of them was not safe to write:
  // the caller can answer with an error instead (the last line against response splitting).
  [[nodiscard]] virtual absl::Status Send(int status, const std::string& body) = 0;
  // Starts a streamed response of `content_length` bytes, then SendBody the bytes.
  [[nodiscard]] virtual absl::Status SendHeaders(int status, uint64_t content_length) = 0;
  [[nodiscard]] virtual absl::Status SendBody(ConstByteSpan bytes) = 0;
  virtual bool response_started() const = 0;
  // Gives up on a started response (its body cannot be completed): the connection is closed
  // so the client sees a truncated response, never a wrong one.
  virtual void Abort() = 0;

  // Set by the handler for the access log and metrics.
  std::string operation = "Unknown";
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

}  // namespace mosaic::gateway
