#include "redis/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mamori::redis {

std::string openssl_errors(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

TlsClient::~TlsClient() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsClient>> TlsClient::make(const TlsClientOptions& options) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return make_error("tls_config", openssl_errors("cannot make a TLS context"));
  std::shared_ptr<const TlsClient> client(new TlsClient(ctx, options.server_name));
  auto fail = [&](const std::string& file, const std::string& what) {
    return make_error("tls_config", file + ": " + what + " (" + openssl_errors("unknown") + ")");
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return make_error("tls_config", openssl_errors("cannot load the system's CAs"));
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return fail(options.ca_file, "cannot read CA certificates");
  }
  if (options.cert_file.empty() != options.key_file.empty())
    return make_error("tls_config", "cert_file and key_file go together");
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1)
      return fail(options.cert_file, "cannot read the certificate");
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(options.key_file, "cannot read the private key");
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail(options.key_file, "the key does not match the certificate");
  }
  return client;
}

}  // namespace mamori::redis
