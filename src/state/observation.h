#ifndef MAMORI_STATE_OBSERVATION_H_
#define MAMORI_STATE_OBSERVATION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"
#include "core/result.h"

namespace mamori::state {

// What moves the hot windows, shared between the nodes of a cluster, and
// what makes the other nodes' cached copies of a profile out of date.
enum class ObservationKind : std::uint8_t {
  kFailure = 1,    // a failed login result (not allow-listed)
  kSuccess = 2,    // a successful login result (not allow-listed)
  kMailLogin = 3,  // a successful SMTP AUTH login that mail_geography counted
  kMailSent = 4,   // a send mail_volume counted (`count` recipients)
  kMessage = 5,    // an in-app message message_fanout counted (`recipients`)
  // The node's write of `account`'s profile has committed (told after the
  // commit, so a node that drops its copy reads the new one). Nodes before
  // this kind refuse a batch holding it: it travels apart from the others
  // (server/hot_state_sync.h), where they do not look.
  kProfile = 6,
};

// One event as the hot windows saw it on the node that decided it: enough
// for another node to count it in the same windows, and nothing that
// decides (no findings, no decision).
struct Observation {
  ObservationKind kind = ObservationKind::kFailure;
  TimePoint time{};
  IpAddress ip;
  std::string account;
  std::string pwhash;       // empty: none given
  std::uint32_t asn = 0;    // 0: unknown
  std::string fingerprint;  // the client's agent fingerprint; empty: none worked out
  std::string country;      // kMailLogin; empty: unknown
  std::uint32_t count = 0;  // kMailSent: recipients; kMessage: recipients.size()
  std::vector<std::string> recipients;  // kMessage: the recipients' ids
};

// Where a node's observations go (engine::Engine::set_observation_sink).
// Thread-safe: observed() is called from every request thread, and must not
// block on I/O.
class ObservationSink {
 public:
  virtual ~ObservationSink() = default;
  virtual void observed(const Observation& o) = 0;
};

// The binary form: per observation a kind byte, the time (ms, 8 bytes LE),
// the address (family byte, 4 or 16 bytes), the account, password hash,
// fingerprint and country as length-prefixed strings (2-byte length), the
// ASN and the count (4 bytes LE each): 30 bytes and the strings' own (an
// IPv4 failure of a 32-byte account with a 64-byte password hash: 126).
// kMessage is followed by its `count` recipients, length-prefixed strings.
void append_observation(std::string& out, const Observation& o);

// Decodes a concatenation of append_observation()s. Fails with
// `invalid_observation` on anything else (truncated, unknown kind, a string
// or a recipient list longer than the event limits allow): the whole batch
// is refused.
Result<std::vector<Observation>> decode_observations(std::string_view data);

}  // namespace mamori::state

#endif  // MAMORI_STATE_OBSERVATION_H_
