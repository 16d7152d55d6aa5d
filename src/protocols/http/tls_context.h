#ifndef MAMORI_PROTOCOLS_HTTP_TLS_CONTEXT_H_
#define MAMORI_PROTOCOLS_HTTP_TLS_CONTEXT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace mamori::http {

// [server.tls]: TLS on the HTTP listener. Off while cert_file is empty.
struct TlsOptions {
  std::string cert_file;  // PEM: the server's certificate, then any intermediates
  std::string key_file;   // PEM: its private key; refused when every user may read it
  // PEM: the CAs whose certificates clients must present (mutual TLS). Empty:
  // no client certificate is asked for.
  std::string client_ca_file;
  // A connection must finish its TLS handshake this long after it was
  // accepted, whatever arrives meanwhile (a client that never sends a
  // ClientHello is cut like a slow request).
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};

  bool enabled() const { return !cert_file.empty(); }
};

// An OpenSSL server context built from TlsOptions, with what a connection
// needs to know about it. Immutable once built; shared by the connections
// that were accepted while it was current (a reload builds a new one).
struct TlsContext {
  std::shared_ptr<boost::asio::ssl::context> ssl;
  // The certificate's notAfter, seconds since the Unix epoch.
  std::int64_t not_after = 0;
  std::string subject;  // the certificate's subject, one line, for the log
};

// Reads the files of `options` and builds the server context: TLS 1.2 and
// 1.3 only, forward-secret AEAD ciphers for TLS 1.2 (ECDHE with AES-GCM or
// ChaCha20-Poly1305; OpenSSL's TLS 1.3 suites), no compression, no
// renegotiation, session tickets on. With client_ca_file, a client must
// present a certificate that chains to one of its CAs, or the handshake fails.
//
// Fails with code `tls_config` and a message that names the file and the
// reason: unreadable, no PEM certificate or key in it, a key that does not
// match the certificate, a key file that every user may read (mode o+r), or
// a client CA file without a certificate. An expired certificate is not
// refused (not_after says when it ends; clients will refuse it).
// REQUIRES: options.enabled().
Result<TlsContext> make_tls_context(const TlsOptions& options);

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_TLS_CONTEXT_H_
