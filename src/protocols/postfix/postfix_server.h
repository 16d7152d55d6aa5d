#ifndef MAMORI_PROTOCOLS_POSTFIX_POSTFIX_SERVER_H_
#define MAMORI_PROTOCOLS_POSTFIX_POSTFIX_SERVER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "protocols/postfix/postfix_policy.h"

namespace mamori::postfix {

struct PostfixServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 10040;  // 0 picks a free port; see port()
  int threads = 1;             // event-loop threads shared by all connections
  std::size_t max_request_bytes = 64 * 1024;
  // A connection with no request for this long is closed (Postfix closes
  // its own idle policy connections after smtpd_policy_service_max_idle,
  // 300 s by default, and reconnects as needed).
  std::chrono::seconds idle_timeout{600};
};

// Waits for store writes to commit, then calls `ready(stored)` (any thread):
// `stored` is false when a commit among them failed; the request is then
// answered PostfixPolicy::kNotStored.
using CommitWaiter =
    std::function<void(const store::WriteSpan& writes, std::function<void(bool stored)> ready)>;

// The TCP listener for Postfix's policy delegation protocol: name=value
// lines, an empty line ends a request, the answer is "action=...\n\n"; a
// connection carries many requests one after another. Connections are
// served by `threads` Boost.Asio event-loop threads (no thread per
// connection); a request waiting on a DNSBL lookup or a commit holds no
// thread. A request over max_request_bytes closes its connection.
// Thread-safe; not copyable.
class PostfixServer {
 public:
  PostfixServer(PostfixServerOptions options, PostfixPolicy& policy, CommitWaiter waiter);
  ~PostfixServer();
  PostfixServer(const PostfixServer&) = delete;
  PostfixServer& operator=(const PostfixServer&) = delete;

  // Binds and starts the threads. Fails with `listen_failed`.
  Status start();
  std::uint16_t port() const { return port_; }
  // Closes the listener and every connection and joins the threads. Idempotent.
  void stop();

  // Prometheus text: requests by action, connections, bad requests.
  void render_metrics(std::string& out) const;

 private:
  struct Impl;
  friend struct Session;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace mamori::postfix

#endif  // MAMORI_PROTOCOLS_POSTFIX_POSTFIX_SERVER_H_
