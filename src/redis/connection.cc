#include "redis/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mamori::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply copy_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

std::string where(const std::string& host, std::uint16_t port) {
  return host + ":" + std::to_string(port);
}

// A connected TCP socket to host:port within `timeout` (blocking once
// connected), or why not.
Result<int> connect_tcp(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return make_error("redis_unreachable", "redis " + where(host, port) + ": " + gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, int(timeout.count()));
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        rc = err == 0 ? 0 : -1;
      }
    }
    if (rc != 0) {
      why = errno == ETIMEDOUT ? "connection timed out" : std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return make_error("redis_unreachable", "redis " + where(host, port) + ": " + why);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
  const timeval tv = to_timeval(t);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool is_ip_address(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

}  // namespace

Connection::Connection(int fd, std::string host, std::uint16_t port)
    : fd_(fd), reader_(redisReaderCreate()), host_(std::move(host)), port_(port) {}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& host, std::uint16_t port,
                                                     const ConnectionOptions& options) {
  auto fd = connect_tcp(host, port, options.connect_timeout);
  if (!fd) return fd.error();
  std::unique_ptr<Connection> conn(new Connection(*fd, host, port));
  if (conn->reader_ == nullptr)
    return make_error("redis_unreachable", "redis " + where(host, port) + ": out of memory");
  if (options.tls) {
    set_timeouts(*fd, options.connect_timeout);
    ERR_clear_error();
    SSL* ssl = SSL_new(options.tls->ctx());
    if (ssl == nullptr)
      return make_error("redis_tls_failed",
                        "redis " + where(host, port) + ": " + openssl_errors("SSL_new failed"));
    conn->ssl_ = ssl;
    const std::string& name =
        options.tls->server_name().empty() ? host : options.tls->server_name();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_address(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
    SSL_set_fd(ssl, *fd);
    if (SSL_connect(ssl) != 1) {
      std::string why;
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify) +
              " (is ca_file the CA of the servers' certificates, and server_name their name?)";
      else
        why =
            openssl_errors(errno != 0 ? std::strerror(errno) : "the server closed the connection");
      conn->broken_ = true;  // no shutdown of a session never made
      return make_error("redis_tls_failed",
                        "redis " + where(host, port) + ": TLS handshake failed: " + why);
    }
  }
  set_timeouts(*fd, options.command_timeout);
  if (!options.password.empty()) {
    Args auth{"AUTH", options.password};
    auto r = conn->pipeline({&auth});
    if (!r) return r.error();
    if ((*r)[0].is_error())
      return make_error("redis_auth_failed", "redis " + where(host, port) + ": " + (*r)[0].str);
  }
  return conn;
}

Connection::~Connection() {
  if (ssl_ != nullptr) {
    if (!broken_) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (reader_ != nullptr) redisReaderFree(reader_);
  close(fd_);
}

bool Connection::write_all(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t left = data.size() - done;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data.data() + done, int(std::min<std::size_t>(left, 1 << 30)));
      if (n <= 0) {
        error_ = errno == EAGAIN ? "write timed out" : openssl_errors("TLS write failed");
        return false;
      }
      done += std::size_t(n);
    } else {
      const ssize_t n = send(fd_, data.data() + done, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = errno == EAGAIN ? "write timed out" : std::strerror(errno);
        return false;
      }
      done += std::size_t(n);
    }
  }
  return true;
}

bool Connection::read_some() {
  char buf[16384];
  if (ssl_ != nullptr) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int e = SSL_get_error(ssl_, n);
      error_ = e == SSL_ERROR_ZERO_RETURN ? "connection closed"
               : errno == EAGAIN          ? "read timed out"
                                          : openssl_errors("TLS read failed");
      return false;
    }
    return redisReaderFeed(reader_, buf, std::size_t(n)) == REDIS_OK;
  }
  ssize_t n;
  do {
    n = recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    error_ = n == 0            ? "connection closed"
             : errno == EAGAIN ? "read timed out"
                               : std::strerror(errno);
    return false;
  }
  return redisReaderFeed(reader_, buf, std::size_t(n)) == REDIS_OK;
}

Result<std::vector<Reply>> Connection::pipeline(const std::vector<const Args*>& commands) {
  auto fail = [&] {
    broken_ = true;
    return make_error("redis_unreachable",
                      "redis " + where(host_, port_) + ": " + (error_.empty() ? "broken" : error_));
  };
  if (broken_) return fail();
  std::string out;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const Args* a : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& s : *a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    char* cmd = nullptr;
    const int len = redisFormatCommandArgv(&cmd, int(argv.size()), argv.data(), lens.data());
    if (len < 0) {
      error_ = "out of memory";
      return fail();
    }
    out.append(cmd, std::size_t(len));
    std::free(cmd);
  }
  if (!write_all(out)) return fail();
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  while (replies.size() < commands.size()) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      error_ = std::string("protocol error: ") + reader_->errstr;
      return fail();
    }
    if (raw == nullptr) {
      if (!read_some()) return fail();
      continue;
    }
    auto* r = static_cast<redisReply*>(raw);
    replies.push_back(copy_reply(r));
    freeReplyObject(r);
  }
  return replies;
}

}  // namespace mamori::redis
