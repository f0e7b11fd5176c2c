#include "common/tls_cert.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>

#include "common/bytes.h"
#include "common/metrics_server.h"

namespace mosaic::tls {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Ctx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

absl::Status OpenSslError(const std::string& what) {
  return absl::InternalError("OpenSSL: " + what);
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

absl::StatusOr<std::string> CertToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("write certificate");
  return BioText(bio.get());
}

// A TCP connection to `address` with send and receive timeouts (Linux applies the send
// timeout to connect as well). Returns the socket, or UNAVAILABLE.
absl::StatusOr<int> Connect(const std::string& host, uint16_t port,
                            std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, Deleter<addrinfo, freeaddrinfo>> list(found);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
    close(fd);
  }
  return absl::UnavailableError("cannot connect to " + host + ":" + port_text);
}

}  // namespace

absl::StatusOr<KeyAndCertificate> MakeSelfSigned(const std::string& host) {
  if (host.empty()) return absl::InvalidArgumentError("a certificate needs a host name");
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generate an EC P-256 key");
  Cert cert(X509_new());
  if (!cert) return OpenSslError("new certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return OpenSslError("random serial");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = (IsIpAddress(host) ? "IP:" : "DNS:") + host;
  if (!AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExtension(cert.get(), NID_subject_key_identifier, "hash") ||
      !AddExtension(cert.get(), NID_subject_alt_name, san)) {
    return OpenSslError("certificate extensions for " + san);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("sign");
  KeyAndCertificate out;
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("write the key");
  }
  out.key_pem = BioText(bio.get());
  auto pem = CertToPem(cert.get());
  if (!pem.ok()) return pem.status();
  out.cert_pem = *std::move(pem);
  return out;
}

absl::StatusOr<std::string> Fingerprint(const std::string& cert_pem) {
  Bio bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return absl::InvalidArgumentError("no PEM certificate found");
  unsigned char digest[32];
  unsigned int n = sizeof digest;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &n) != 1) return OpenSslError("digest");
  return "sha256:" + HexEncode({reinterpret_cast<const std::byte*>(digest), n});
}

bool IsFingerprint(const std::string& text) {
  constexpr std::string_view kPrefix = "sha256:";
  return text.size() == kPrefix.size() + 64 && text.starts_with(kPrefix) &&
         text.find_first_not_of("0123456789abcdef", kPrefix.size()) == std::string::npos;
}

absl::StatusOr<std::string> FetchCertificate(const std::string& address,
                                             std::chrono::milliseconds timeout) {
  auto hp = metrics::SplitHostPort(address);
  if (!hp.ok()) return hp.status();
  auto fd = Connect(hp->first, hp->second, timeout);
  if (!fd.ok()) return fd.status();
  Ctx ctx(SSL_CTX_new(TLS_client_method()));
  Ssl ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl) {
    close(*fd);
    return OpenSslError("new TLS context");
  }
  SSL_set_fd(ssl.get(), *fd);
  if (!IsIpAddress(hp->first)) SSL_set_tlsext_host_name(ssl.get(), hp->first.c_str());
  static const unsigned char kAlpn[] = {2, 'h', '2'};  // gRPC speaks HTTP/2
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  int rc = SSL_connect(ssl.get());
  Cert cert(rc == 1 ? SSL_get1_peer_certificate(ssl.get()) : nullptr);
  if (rc == 1) SSL_shutdown(ssl.get());
  ssl.reset();
  close(*fd);
  if (!cert) return absl::UnavailableError("no TLS handshake with " + address);
  return CertToPem(cert.get());
}

}  // namespace mosaic::tls
