#pragma once
// One s3bench lane: a kept-alive HTTP/1.1 connection to the gateway that sends SigV4-signed
// S3 requests (header auth, UNSIGNED-PAYLOAD or a signed payload hash) one at a time.
// Bodies go out from and come back into caller buffers: a lane allocates nothing per request.
// Not thread-safe: one lane per thread.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace mosaic::bench {

struct S3Target {
  std::string host;  // "127.0.0.1"
  std::string port;  // "9000"
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
  bool signed_payload = false;  // x-amz-content-sha256 = hex SHA-256 of the body
};

// What one request returned: the HTTP status and the body bytes received.
struct S3Reply {
  int status = 0;
  uint64_t body_bytes = 0;
  std::string error;  // transport error, or the start of an error body
};

class S3Lane {
 public:
  explicit S3Lane(const S3Target& target);

  // PUT /bucket/key with `body`. Reconnects once if the kept-alive connection was closed.
  S3Reply Put(const std::string& path, ConstByteSpan body);
  // GET /path, the body read through `scratch` (its contents are overwritten); when
  // `expect` is not empty, every byte is compared with it (a mismatch is an error).
  S3Reply Get(const std::string& path, ByteSpan scratch, ConstByteSpan expect);
  S3Reply Delete(const std::string& path);

 private:
  S3Reply Send(const std::string& method, const std::string& path, ConstByteSpan body,
               ByteSpan scratch, ConstByteSpan expect);
  S3Reply SendOnce(const std::string& method, const std::string& path, ConstByteSpan body,
                   ByteSpan scratch, ConstByteSpan expect);
  std::string Authorization(const std::string& method, const std::string& path,
                            const std::string& payload_hash, const std::string& amz_date) const;
  void ReadLengthBody(uint64_t length, ByteSpan scratch, ConstByteSpan expect, S3Reply& reply);
  void ReadParsedBody(boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
                      ByteSpan scratch, ConstByteSpan expect, S3Reply& reply);
  void Connect();

  S3Target target_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace mosaic::bench
