// Dovecot's auth-policy requests into DovecotPolicy::handle with a real
// engine on a temporary SQLite store (fuzz_world.h), as the /dovecot/policy
// route hands them over.
//
// Input: one request a line, "COMMAND BODY" (Dovecot's bodies are one line of
// JSON), so that one input can walk a login through its allow, second allow
// and report; the sessions carry over between lines and inputs.
//
// Checks besides the sanitizers: every answer is a JSON object with an integer
// status and a string msg, a refusal (status < 0) says why, and a refused
// request leaves the engine's locks and blocks as they were.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_world.h"
#include "protocols/dovecot/dovecot_policy.h"

namespace mamori::fuzz {
namespace {

struct Harness {
  World* world = nullptr;
  std::unique_ptr<dovecot::DovecotPolicy> policy;
};

Harness& harness() {
  static Harness h;
  World& w = world_for_input([&] { h.policy.reset(); });
  if (h.world != &w || !h.policy) {
    h.world = &w;
    h.policy = std::make_unique<dovecot::DovecotPolicy>(w.engine(), 4096);
  }
  return h;
}

void check_reply(const dovecot::PolicyReply& reply, std::string_view line) {
  const std::string json = reply.json();
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object() || !v.as_object().contains("status") ||
      !v.as_object().at("status").is_int64() || !v.as_object().contains("msg") ||
      !v.as_object().at("msg").is_string())
    fail("answer " + json + " to '" + std::string(line) + "' is not Dovecot's {status, msg}");
  if (reply.status < 0 && reply.msg.empty())
    fail("refusal without a message for '" + std::string(line) + "'");
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori::fuzz;
  using namespace mamori;
  Harness& h = harness();
  World& w = *h.world;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const std::size_t nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    const std::size_t sp = line.find(' ');
    const std::string_view command = line.substr(0, sp);
    const std::string_view body =
        sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    const TimePoint now = w.clock().now();
    const std::size_t locks = w.engine().locks().size(), blocks = w.engine().blocks().size();
    auto reply = h.policy->handle(command, body, now);
    if (!reply) {
      if (w.engine().locks().size() != locks || w.engine().blocks().size() != blocks)
        fail("refused '" + std::string(line) + "' (" + reply.error().code +
             ") but changed the engine's locks or blocks");
      continue;
    }
    check_reply(*reply, line);
    w.clock().advance(std::chrono::milliseconds(100));
  }
  return 0;
}
