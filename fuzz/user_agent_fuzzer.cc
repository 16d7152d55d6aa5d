// User-agent summaries (engine/device): the family and operating system a
// device is known by, the device key kept in a profile and the description
// shown in owner notices and the console.
//
// Checks besides the sanitizers: a summary names a family and a system; it is
// the same when asked again (the per-thread memo) and for a copy of the text;
// for a user agent of valid UTF-8 (what the adapters accept), the device key
// and the description are valid UTF-8 and bounded (64 bytes of an app's name,
// 120 of an unknown user agent).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "engine/device.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori;
  using fuzz::fail;
  const std::string ua(reinterpret_cast<const char*>(data), size);
  const engine::UserAgentSummary s = engine::summarize_user_agent(ua);
  if (s.family.empty() || s.os.empty()) fail("a summary without a family or a system");
  const std::string copy = ua;
  const engine::UserAgentSummary t = engine::summarize_user_agent(copy);
  if (t.family != s.family || t.os != s.os) fail("two summaries of one user agent differ");

  Event e;
  e.user_agent = ua;
  const std::string key = engine::device_key(e);
  const std::string text = engine::describe_user_agent(ua);
  if (ua.empty()) {
    if (!key.empty() || !text.empty()) fail("an empty user agent has a device key or description");
    return 0;
  }
  if (!key.starts_with("ua:")) fail("device key '" + key + "' does not start with ua:");
  if (key.size() > 3 + 64 && key.find('/') == std::string::npos)
    fail("device key of " + std::to_string(key.size()) + " bytes");
  if (text.size() > 120 && text.find(" on ") == std::string::npos)
    fail("description of " + std::to_string(text.size()) + " bytes");
  if (is_valid_utf8(ua)) {
    if (!is_valid_utf8(key)) fail("the device key of a valid UTF-8 user agent is not UTF-8");
    if (!is_valid_utf8(text)) fail("the description of a valid UTF-8 user agent is not UTF-8");
  }
  e.device_id = "d";
  if (engine::device_key(e) != "id:d") fail("a device id does not win over the user agent");
  return 0;
}
