// The TOML config (server/config.cc parse_config) as mamorid and
// `mamorid --check-config` read it. The config names an empty directory as
// its own, so that relative secret files (password_file, secret_file) are
// looked up where there are none.
//
// Checks besides the sanitizers: parse_config answers every text with a
// Config or an `invalid_config` error that names the config file, and throws
// nothing (an exception would end the run as a crash).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori;
  static const fuzz::ScratchDir dir;
  static const std::string source = dir.path() + "/mamori.toml";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = server::parse_config(text, source);
  if (!config) {
    if (config.error().code != "invalid_config")
      fuzz::fail("refused with code " + config.error().code + ": " + config.error().message);
    if (config.error().message.find(source) == std::string::npos)
      fuzz::fail("the error does not name the file: " + config.error().message);
  }
  return 0;
}
