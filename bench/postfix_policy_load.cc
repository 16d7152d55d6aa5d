// postfix_policy_load: drives a Postfix policy server (mamorid's [postfix]
// listener, policyd-rate-limit, postfwd, ...) the way Postfix's smtpd does:
// many long-lived connections, each sending one request after another. Each
// "message" is a RCPT request and an END-OF-MESSAGE request of an
// authenticated sender (one recipient), senders drawn from `--users`.
// Prints requests/s and the latency percentiles of single requests.
//
//   postfix_policy_load --port 10040 [--host 127.0.0.1] [--connections 50]
//                       [--seconds 10] [--users 10000]
#include <boost/asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Stats {
  std::vector<double> latencies_us;
  std::map<std::string, std::uint64_t> actions;
  std::uint64_t errors = 0;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(asio::io_context& io, tcp::endpoint ep, int id, int users, Clock::time_point end, Stats& s)
      : socket_(io), ep_(ep), id_(id), users_(users), end_(end), stats_(s), rng_(id) {}

  void start() {
    socket_.async_connect(ep_, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        ++self->stats_.errors;
        return;
      }
      self->socket_.set_option(tcp::no_delay(true));
      self->next();
    });
  }

 private:
  void next() {
    if (Clock::now() >= end_) return;
    if (!eom_) {
      user_ = "user" + std::to_string(rng_() % users_) + "@example.jp";
      ++msg_;
    }
    const std::string instance = std::to_string(id_) + "." + std::to_string(msg_);
    out_ = "request=smtpd_access_policy\nprotocol_state=" +
           std::string(eom_ ? "END-OF-MESSAGE" : "RCPT") +
           "\nprotocol_name=ESMTP\nclient_address=192.0.2." + std::to_string(1 + id_ % 250) +
           "\nclient_name=client.example\nhelo_name=client.example\nsender=" + user_ +
           "\nrecipient=" + (eom_ ? "" : "friend@example.com") +
           "\nrecipient_count=" + (eom_ ? "1" : "0") + "\nqueue_id=\ninstance=" + instance +
           "\nsize=1200\nsasl_method=PLAIN\nsasl_username=" + user_ + "\nsasl_sender=\n\n";
    t0_ = Clock::now();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          ++self->stats_.errors;
                          return;
                        }
                        self->read();
                      });
  }
  void read() {
    asio::async_read_until(socket_, in_, "\n\n",
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                             if (ec) {
                               ++self->stats_.errors;
                               return;
                             }
                             self->done(n);
                           });
  }
  void done(std::size_t n) {
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0_).count();
    std::string reply(asio::buffers_begin(in_.data()), asio::buffers_begin(in_.data()) + n);
    in_.consume(n);
    if (reply.rfind("action=", 0) == 0) reply.erase(0, 7);
    std::string action = reply.substr(0, reply.find_first_of(" \n"));
    std::transform(action.begin(), action.end(), action.begin(), ::toupper);
    stats_.latencies_us.push_back(us);
    ++stats_.actions[action];
    eom_ = !eom_;
    next();
  }

  tcp::socket socket_;
  tcp::endpoint ep_;
  int id_, users_;
  Clock::time_point end_;
  Stats& stats_;
  std::mt19937 rng_;
  asio::streambuf in_;
  std::string out_, user_;
  bool eom_ = false;
  std::uint64_t msg_ = 0;
  Clock::time_point t0_;
};

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0, connections = 50, seconds = 10, users = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--host") host = v;
    else if (a == "--port") port = std::atoi(v);
    else if (a == "--connections") connections = std::atoi(v);
    else if (a == "--seconds") seconds = std::atoi(v);
    else if (a == "--users") users = std::atoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (port <= 0 || connections <= 0 || seconds <= 0 || users <= 0) {
    std::fprintf(stderr,
                 "usage: postfix_policy_load --port N [--host H] [--connections 50] "
                 "[--seconds 10] [--users 10000]\n");
    return 2;
  }
  asio::io_context io;
  Stats stats;
  const tcp::endpoint ep(asio::ip::make_address(host), std::uint16_t(port));
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  for (int c = 0; c < connections; ++c)
    std::make_shared<Conn>(io, ep, c, users, end, stats)->start();
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  auto& l = stats.latencies_us;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, std::size_t(p * l.size()))]; };
  std::printf("requests %zu in %.2f s: %.0f requests/s over %d connections; latency us p50 %.0f p99 %.0f max %.0f; errors %llu; actions:",
              l.size(), elapsed, l.size() / elapsed, connections, pct(0.50), pct(0.99),
              l.empty() ? 0.0 : l.back(), (unsigned long long)stats.errors);
  for (const auto& [a, n] : stats.actions) std::printf(" %s=%llu", a.c_str(), (unsigned long long)n);
  std::printf("\n");
  return stats.errors == 0 ? 0 : 1;
}
