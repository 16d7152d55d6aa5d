#ifndef MAMORI_PROTOCOLS_LOGS_SEND_JOIN_H_
#define MAMORI_PROTOCOLS_LOGS_SEND_JOIN_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace mamori::logs {

// Joins the two lines Postfix writes for one authenticated message, by its
// queue id, into one send:
//   smtpd: "QUEUEID: client=host[ip], sasl_method=PLAIN, sasl_username=alice"
//          (who sent it, from where);
//   qmgr:  "QUEUEID: from=<...>, size=N, nrcpt=K (queue active)"
//          (how many recipients).
// Either line may come first. A half waits for the other in a bounded
// table: a client half at most `client_wait` (line time) and `max_clients`
// entries, a recipients half (most are mail that came in without SASL and
// never get a client half) at most `recipients_wait` and `max_recipients`;
// past either bound the oldest half is dropped. A joined message is taken
// out of the table, so qmgr's next "queue active" for it (a deferred
// message's retry) is no second send. The halves of a message split by a
// restart of mamorid are not joined (the table is in memory).
// Memory: about 150 bytes a waiting half. Not thread-safe: one per reading
// thread.
class SendJoin {
 public:
  struct Options {
    std::size_t max_clients = 4096;
    std::size_t max_recipients = 1024;
    Duration client_wait = std::chrono::hours(1);
    Duration recipients_wait = std::chrono::minutes(1);
  };
  struct Send {
    std::string account;  // as the line has it (not normalized)
    std::string ip;
    std::uint32_t recipients = 0;
  };

  SendJoin() : SendJoin(Options{}) {}
  explicit SendJoin(Options options) : options_(options) {}
  SendJoin(const SendJoin&) = delete;
  SendJoin& operator=(const SendJoin&) = delete;

  // smtpd's line at `time`. Returns the send when its recipients were waiting.
  std::optional<Send> on_client(std::string_view queue_id, std::string_view account,
                                std::string_view ip, TimePoint time);
  // qmgr's line at `time`. Returns the send when its client was waiting.
  std::optional<Send> on_recipients(std::string_view queue_id, std::uint32_t recipients,
                                    TimePoint time);

  std::size_t waiting() const { return clients_.size() + recipients_.size(); }
  // Client halves dropped unjoined (too old, or the table full): sends not
  // counted. (Recipients halves without a client are mostly mail that came
  // in without SASL, and are not counted.)
  std::uint64_t dropped() const { return dropped_; }

 private:
  struct Client {
    std::string account, ip;
    TimePoint time;
    std::uint64_t seq;
  };
  struct Recipients {
    std::uint32_t count;
    TimePoint time;
    std::uint64_t seq;
  };
  struct Queued {
    std::string id;
    std::uint64_t seq;
  };
  template <class Map>
  static void expire(Map& map, std::deque<Queued>& order, std::size_t max, Duration wait,
                     TimePoint now, std::uint64_t* dropped);

  Options options_;
  std::unordered_map<std::string, Client> clients_;
  std::unordered_map<std::string, Recipients> recipients_;
  // Insertion order of each table (entries already joined are skipped).
  std::deque<Queued> client_order_, recipients_order_;
  std::uint64_t seq_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_SEND_JOIN_H_
