#ifndef MAMORI_REDIS_CONNECTION_H_
#define MAMORI_REDIS_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/tls_client.h"

struct redisReader;
typedef struct ssl_st SSL;

namespace mamori::redis {

// One reply of the RESP2 protocol, copied out of hiredis.
struct Reply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<Reply> elements;  // kArray
  bool is_error() const { return type == Type::kError; }
};

// A command as its arguments ("XADD", key, ...); binary-safe.
using Args = std::vector<std::string>;

struct ConnectionOptions {
  std::chrono::milliseconds connect_timeout{500};
  // How long a pipeline's write or read may block before the connection is
  // given up as broken.
  std::chrono::milliseconds command_timeout{1000};
  std::string password;  // empty: no AUTH
  // Null: plain TCP; else TLS through this context.
  std::shared_ptr<const TlsClient> tls;
};

// A blocking connection to one Redis server over TCP, plain or TLS: the
// socket and the OpenSSL session are the project's, the commands are
// formatted and the replies parsed by hiredis (redisFormatCommandArgv,
// redisReader). Pipelines: every command is written before the first reply
// is read, one round trip for the lot. Thread-compatible: one owner thread.
// After an I/O error the connection is broken for good; make a new one.
class Connection {
 public:
  // Connects (and with options.tls, completes the TLS handshake: the
  // server's certificate must chain to the CAs and carry the server name)
  // and authenticates. Fails with `redis_unreachable` (cannot connect, timed
  // out), `redis_tls_failed` (the handshake failed: the message says why,
  // e.g. "certificate verify failed") or `redis_auth_failed`.
  static Result<std::unique_ptr<Connection>> open(const std::string& host, std::uint16_t port,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `commands` and reads one reply each (error replies included, as
  // kError replies). Fails with `redis_unreachable` on an I/O error or
  // timeout; the connection is then broken.
  Result<std::vector<Reply>> pipeline(const std::vector<const Args*>& commands);
  bool broken() const { return broken_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }

 private:
  Connection(int fd, std::string host, std::uint16_t port);
  // Writes all of `data`, then reads until `replies` replies are parsed.
  bool write_all(const std::string& data);
  bool read_some();

  int fd_;
  SSL* ssl_ = nullptr;
  redisReader* reader_;
  std::string error_;  // why the connection broke
  std::string host_;
  std::uint16_t port_;
  bool broken_ = false;
};

}  // namespace mamori::redis

#endif  // MAMORI_REDIS_CONNECTION_H_
