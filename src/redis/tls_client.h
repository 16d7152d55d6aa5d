#ifndef MAMORI_REDIS_TLS_CLIENT_H_
#define MAMORI_REDIS_TLS_CLIENT_H_

#include <memory>
#include <string>

#include "core/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace mamori::redis {

// [redis] tls = true and its files: how the connections to the cluster's
// nodes speak TLS (redis-server's --tls-port, --tls-cluster yes).
struct TlsClientOptions {
  bool enabled = false;
  // PEM: the CAs the servers' certificates must chain to. Empty: the
  // system's default CAs.
  std::string ca_file;
  // PEM: this node's certificate and key, for servers that ask for one
  // (redis-server's tls-auth-clients, on by default). Both or neither.
  std::string cert_file, key_file;
  // The name every server's certificate must carry (and sent as SNI);
  // empty: the host of the address connected to (its IP address when it
  // is one).
  std::string server_name;
};

// An OpenSSL client context built from TlsClientOptions: TLS 1.2 and 1.3,
// the servers' certificates verified against ca_file and their name checked.
// Immutable once built; shared by every connection of a ClusterClient.
// Thread-safe.
class TlsClient {
 public:
  // Reads the files. Fails with `tls_config` naming the file and the
  // reason (unreadable, no certificate in it, a key that does not match the
  // certificate). REQUIRES: options.enabled.
  static Result<std::shared_ptr<const TlsClient>> make(const TlsClientOptions& options);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  const std::string& server_name() const { return server_name_; }

 private:
  TlsClient(SSL_CTX* ctx, std::string server_name)
      : ctx_(ctx), server_name_(std::move(server_name)) {}
  SSL_CTX* ctx_;
  std::string server_name_;
};

// OpenSSL's error queue as one line (emptied); `fallback` when it is empty.
std::string openssl_errors(const std::string& fallback);

}  // namespace mamori::redis

#endif  // MAMORI_REDIS_TLS_CLIENT_H_
