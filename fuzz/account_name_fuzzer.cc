// Account name normalisation (normalize_account in core/event), which every
// adapter applies to the names it is given (HTTP bodies and paths, Dovecot's
// login, Postfix's sasl_username).
//
// Checks besides the sanitizers: a normalised name is valid UTF-8, not empty,
// at most kMaxAccountBytes long, and normalises to itself (so a name that
// passes through two adapters, or the CLI and then the server, stays one
// account); a refusal carries one of the documented error codes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mamori;
  using fuzz::fail;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto name = normalize_account(raw);
  if (!name) {
    if (name.error().code != "invalid_account" && name.error().code != "field_too_long")
      fail("refused with an undocumented code: " + name.error().code);
    return 0;
  }
  if (name->empty()) fail("normalised to an empty name");
  if (name->size() > kMaxAccountBytes)
    fail("normalised to " + std::to_string(name->size()) + " bytes, over kMaxAccountBytes");
  if (!is_valid_utf8(*name)) fail("normalised to invalid UTF-8");
  auto again = normalize_account(*name);
  if (!again) fail("the normalised name '" + *name + "' is refused: " + again.error().message);
  if (*again != *name) fail("not idempotent: '" + *name + "' normalises to '" + *again + "'");
  return 0;
}
