#include "protocols/http/tls_context.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace mamori::http {

namespace {

namespace ssl = boost::asio::ssl;

// Forward-secret AEAD suites for TLS 1.2 (TLS 1.3 has only such suites).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr std::size_t kMaxPemBytes = 1 << 20;

Error tls_error(std::string message) { return make_error("tls_config", std::move(message)); }

// The reason of the newest error on OpenSSL's queue, and clears the queue.
std::string openssl_reason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Reads a whole PEM file (at most kMaxPemBytes). With `private_key`, refuses
// a file that every user may read; the mode is the one of the file read
// (fstat on the open descriptor), not of whatever the name points to later.
Result<std::string> read_pem(const std::string& path, const char* what, bool private_key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tls_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return tls_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return tls_error(std::string(what) + " " + path + ": not a file");
  if (private_key && (st.st_mode & S_IROTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return tls_error(std::string(what) + " " + path + " may be read by every user (mode " + mode +
                     "); make it readable by mamorid only (chmod o-r, e.g. chmod 600)");
  }
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tls_error(std::string(what) + " " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxPemBytes)
      return tls_error(std::string(what) + " " + path + ": larger than 1 MiB, not a PEM file");
  }
  return text;
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string subject_line(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// The leaf certificate and its chain from `pem` into the context.
Status use_certificate_chain(SSL_CTX* ctx, const std::string& pem, const std::string& path) {
  BioPtr bio = memory_bio(pem);
  std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return tls_error("server.tls.cert " + path + ": no PEM certificate in it");
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
    return tls_error("server.tls.cert " + path + ": " + openssl_reason());
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return tls_error("server.tls.cert " + path + ": " + openssl_reason());
    }
  }
  ERR_clear_error();  // the end of the file ends the loop with "no start line"
  return {};
}

}  // namespace

Result<TlsContext> make_tls_context(const TlsOptions& options) {
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return tls_error("TLS 1.2 cipher list: " + openssl_reason());
  // Sessions resume only within this server (a client certificate checked
  // once is not taken from another service's session).
  static constexpr unsigned char kSessionContext[] = "mamorid";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);

  auto cert_pem = read_pem(options.cert_file, "server.tls.cert", false);
  if (!cert_pem) return cert_pem.error();
  if (Status s = use_certificate_chain(native, *cert_pem, options.cert_file); !s) return s.error();

  auto key_pem = read_pem(options.key_file, "server.tls.key", true);
  if (!key_pem) return key_pem.error();
  {
    BioPtr bio = memory_bio(*key_pem);
    // No passphrase: an encrypted key fails here instead of OpenSSL asking
    // for one on the terminal.
    pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
      return tls_error("server.tls.key " + options.key_file +
                       ": no unencrypted PEM private key in it (" + openssl_reason() + ")");
    if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1)
      return tls_error("server.tls.key " + options.key_file + " does not match server.tls.cert " +
                       options.cert_file + " (" + openssl_reason() + ")");
  }

  if (!options.client_ca_file.empty()) {
    auto ca_pem = read_pem(options.client_ca_file, "server.tls.client_ca", false);
    if (!ca_pem) return ca_pem.error();
    BioPtr bio = memory_bio(*ca_pem);
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    std::size_t count = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      ++count;
      const bool ok = X509_STORE_add_cert(store, ca) == 1 &&
                      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca))) > 0;
      X509_free(ca);
      if (!ok) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return tls_error("server.tls.client_ca " + options.client_ca_file + ": " +
                         openssl_reason());
      }
    }
    ERR_clear_error();
    if (count == 0) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return tls_error("server.tls.client_ca " + options.client_ca_file +
                       ": no PEM certificate in it");
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes `names`
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  TlsContext out;
  X509* leaf = SSL_CTX_get0_certificate(native);
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) out.not_after = ::timegm(&tm);
  out.subject = subject_line(leaf);
  out.ssl = std::move(ctx);
  ERR_clear_error();
  return out;
}

}  // namespace mamori::http
