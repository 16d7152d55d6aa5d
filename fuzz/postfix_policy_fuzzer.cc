// A Postfix policy connection's byte stream, cut into requests where the
// listener cuts it (an empty line, "\n\n"), each parsed by
// Attributes::parse and decided by PostfixPolicy with one ConnectionState
// for the whole input, as one connection keeps it; a real engine on a
// temporary SQLite store behind (fuzz_world.h). No DNS blocklists. A request
// that does not parse ends the input, as it closes the connection.
//
// Checks besides the sanitizers: every request is answered exactly once,
// with an action of one line of printable ASCII that starts with DUNNO,
// REJECT or DEFER_IF_PERMIT (anything else would be a protocol error to
// Postfix, and a line break would inject a second attribute).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_world.h"
#include "protocols/postfix/postfix_policy.h"

namespace mamori::fuzz {
namespace {

struct Harness {
  World* world = nullptr;
  std::unique_ptr<postfix::PostfixPolicy> policy;
};

Harness& harness() {
  static Harness h;
  World& w = world_for_input([&] { h.policy.reset(); });
  if (h.world != &w || !h.policy) {
    h.world = &w;
    h.policy = std::make_unique<postfix::PostfixPolicy>(w.engine(), nullptr, w.clock());
  }
  return h;
}

void check_action(const std::string& action, std::string_view request) {
  auto bad = [&](const char* why) {
    fail(std::string("action '") + action + "' " + why + "; request:\n" + std::string(request));
  };
  const std::string_view word = std::string_view(action).substr(0, action.find(' '));
  if (word != "DUNNO" && word != "REJECT" && word != "DEFER_IF_PERMIT")
    bad("is not a known action");
  for (char c : action)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      bad("holds a byte that is not printable ASCII");
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori::fuzz;
  using namespace mamori;
  Harness& h = harness();
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  postfix::ConnectionState state;
  for (;;) {
    const std::size_t end = stream.find("\n\n");
    if (end == std::string_view::npos) break;  // an unfinished request: the listener waits
    const std::string_view request = stream.substr(0, end + 2);
    stream.remove_prefix(end + 2);
    auto attrs = postfix::Attributes::parse(request);
    if (!attrs) break;
    int answers = 0;
    h.policy->decide(*attrs, state, [&](std::string action, store::WriteSpan) {
      ++answers;
      check_action(action, request);
    });
    if (answers != 1)
      fail("a request was answered " + std::to_string(answers) + " times:\n" +
           std::string(request));
    h.world->clock().advance(std::chrono::milliseconds(50));
  }
  return 0;
}
