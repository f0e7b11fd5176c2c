#include "bench/load/s3bench_lane.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <ctime>

#include "common/sha256.h"
#include "server/gateway/s3/sigv4.h"

namespace mosaic::bench {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kSignedHeaders = "host;x-amz-content-sha256;x-amz-date";

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[20];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

// `n` more body bytes arrived in `scratch`: counts them, keeps the start of an error body and
// compares them with `expect` when it is not empty.
void Received(size_t n, ConstByteSpan scratch, ConstByteSpan expect, S3Reply& reply) {
  if (reply.status >= 300 && reply.error.size() < 300) {
    reply.error.append(reinterpret_cast<const char*>(scratch.data()), std::min<size_t>(n, 300));
  }
  if (!expect.empty() && (reply.body_bytes + n > expect.size() ||
                          std::memcmp(scratch.data(), expect.data() + reply.body_bytes, n))) {
    reply.error = "body differs from what was written";
  }
  reply.body_bytes += n;
}

}  // namespace

S3Lane::S3Lane(const S3Target& target) : target_(target), stream_(io_) {}

void S3Lane::Connect() {
  boost::asio::ip::tcp::resolver resolver(io_);
  stream_.connect(resolver.resolve(target_.host, target_.port));
  stream_.socket().set_option(boost::asio::ip::tcp::no_delay(true));
  buffer_.clear();
  connected_ = true;
}

// Header auth as the SDKs send it: the three headers signed, no query string.
std::string S3Lane::Authorization(const std::string& method, const std::string& path,
                                  const std::string& payload_hash,
                                  const std::string& amz_date) const {
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + target_.region + "/s3/aws4_request";
  const std::string canonical =
      method + "\n" + gateway::UriEncode(path, true) + "\n\n" + "host:" + target_.host + ":" +
      target_.port + "\n" + "x-amz-content-sha256:" + payload_hash + "\n" +
      "x-amz-date:" + amz_date + "\n\n" + std::string(kSignedHeaders) + "\n" + payload_hash;
  const auto key = gateway::DeriveSigningKey(target_.secret_key, date, target_.region, "s3");
  const std::string signature =
      gateway::HmacSha256Hex(key, gateway::StringToSign(amz_date, scope, canonical));
  return "AWS4-HMAC-SHA256 Credential=" + target_.access_key + "/" + scope +
         ", SignedHeaders=" + std::string(kSignedHeaders) + ", Signature=" + signature;
}

S3Reply S3Lane::Send(const std::string& method, const std::string& path, ConstByteSpan body,
                     ByteSpan scratch, ConstByteSpan expect) {
  const bool reused = connected_;
  S3Reply reply = SendOnce(method, path, body, scratch, expect);
  // A kept-alive connection the server has closed meanwhile fails before any reply.
  if (reply.status == 0 && reused) reply = SendOnce(method, path, body, scratch, expect);
  return reply;
}

S3Reply S3Lane::SendOnce(const std::string& method, const std::string& path, ConstByteSpan body,
                         ByteSpan scratch, ConstByteSpan expect) {
  S3Reply reply;
  try {
    if (!connected_) Connect();
    const std::string payload_hash =
        target_.signed_payload ? Sha256Hex(body) : std::string("UNSIGNED-PAYLOAD");
    const std::string amz_date = AmzDate();
    http::request<http::buffer_body> req{http::string_to_verb(method), path, 11};
    req.set(http::field::host, target_.host + ":" + target_.port);
    req.set("x-amz-content-sha256", payload_hash);
    req.set("x-amz-date", amz_date);
    req.set(http::field::authorization, Authorization(method, path, payload_hash, amz_date));
    req.body().data = const_cast<std::byte*>(body.data());
    req.body().size = body.size();
    req.body().more = false;
    if (method == "PUT") req.content_length(body.size());
    http::write(stream_, req);

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(stream_, buffer_, parser);
    reply.status = parser.get().result_int();
    if (!parser.is_done() && parser.content_length()) {
      ReadLengthBody(*parser.content_length(), scratch, expect, reply);
    } else {
      ReadParsedBody(parser, scratch, expect, reply);
    }
    if (!parser.get().keep_alive()) {
      stream_.close();
      connected_ = false;
    }
  } catch (const std::exception& e) {
    stream_.close();
    connected_ = false;
    reply.error = e.what();
  }
  return reply;
}

// A Content-Length body without the parser, which would copy it out of its buffer: what the
// head's read brought along is taken from the buffer, the rest is read from the socket
// straight into `scratch`, as much at a time as it holds. Throws if the peer stops early.
void S3Lane::ReadLengthBody(uint64_t length, ByteSpan scratch, ConstByteSpan expect,
                            S3Reply& reply) {
  const size_t buffered = std::min<uint64_t>(buffer_.size(), length);
  for (size_t done = 0; done < buffered;) {
    const size_t n = std::min(buffered - done, scratch.size());
    std::memcpy(scratch.data(), static_cast<const std::byte*>(buffer_.data().data()) + done, n);
    Received(n, scratch, expect, reply);
    done += n;
  }
  buffer_.consume(buffered);
  for (uint64_t left = length - buffered; left > 0;) {
    const size_t want = std::min<uint64_t>(left, scratch.size());
    const size_t n = boost::asio::read(stream_.socket(), boost::asio::buffer(scratch.data(), want));
    Received(n, scratch, expect, reply);
    left -= n;
  }
}

// Any other body (chunked, or up to the close), through the parser.
void S3Lane::ReadParsedBody(http::response_parser<http::buffer_body>& parser, ByteSpan scratch,
                            ConstByteSpan expect, S3Reply& reply) {
  while (!parser.is_done()) {
    parser.get().body().data = scratch.data();
    parser.get().body().size = scratch.size();
    boost::beast::error_code ec;
    http::read(stream_, buffer_, parser, ec);
    if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
    Received(scratch.size() - parser.get().body().size, scratch, expect, reply);
  }
}

S3Reply S3Lane::Put(const std::string& path, ConstByteSpan body) {
  std::byte scratch[4096];
  return Send("PUT", path, body, scratch, {});
}

S3Reply S3Lane::Get(const std::string& path, ByteSpan scratch, ConstByteSpan expect) {
  return Send("GET", path, {}, scratch, expect);
}

S3Reply S3Lane::Delete(const std::string& path) {
  std::byte scratch[4096];
  return Send("DELETE", path, {}, scratch, {});
}

}  // namespace mosaic::bench
