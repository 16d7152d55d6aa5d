#include "cli/pwned_command.h"

#include <cstdio>
#include <vector>

#include "account/pwned_import.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace mamori::cli {

namespace {

constexpr std::string_view kHelp =
    R"HELP(usage: mamori pwned import FILE [--data-dir DIR] [--output FILE] [--temp-dir DIR] [--memory MB]

Builds the breached-password store that mamorid memory-maps for
/v1/passwords/check and GET /range/ from a Pwned Passwords file: lines
SHA1HEX:COUNT, sorted or not, gzip-compressed or plain, LF or CRLF.

  --data-dir DIR   mamorid's data dir; the store is DIR/pwned.bin (default ./data)
  --output FILE    write the store here instead
  --temp-dir DIR   where sorted runs of unsorted input are spilled (default:
                   the store's directory; needs about 24 bytes per input line)
  --memory MB      records held in memory while sorting (default 256)

Sorted input (the published "ordered by hash" file) streams straight into the
store. The store is written to a temporary file and renamed into place at the
end, so an interrupted import leaves the old store as it was; run it again.
Progress and throughput go to stderr. Send mamorid SIGHUP (or restart it) to
load the new store.
)HELP";

}  // namespace

int run_pwned(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  static const std::vector<FlagSpec> kFlags = {
      {"data-dir", true}, {"output", true}, {"temp-dir", true}, {"memory", true}, {"help", false}};
  auto parsed = parse_args(args, kFlags);
  if (!parsed) {
    err << "mamori: " << parsed.error().message << "\n" << kHelp;
    return kExitUsage;
  }
  if (parsed->has("help") || (!parsed->positional.empty() && parsed->positional[0] == "help")) {
    out << kHelp;
    return kExitOk;
  }
  if (parsed->positional.size() != 2 || parsed->positional[0] != "import") {
    err << "mamori: expected 'pwned import FILE'\n" << kHelp;
    return kExitUsage;
  }
  account::PwnedImportOptions o;
  o.input = parsed->positional[1];
  o.output = parsed->get("output").value_or(parsed->get("data-dir").value_or("./data") + "/pwned.bin");
  o.temp_dir = parsed->get("temp-dir").value_or("");
  if (auto m = parsed->get("memory")) {
    auto mb = parse_positive_int(*m);
    if (!mb || *mb < 16 || *mb > (1 << 20)) {
      err << "mamori: --memory must be a number of MB from 16 to 1048576\n";
      return kExitUsage;
    }
    o.memory_bytes = std::size_t(*mb) << 20;
  }
  o.progress = [&err](const std::string& line) { err << "mamori pwned: " << line << std::endl; };
  auto st = account::import_pwned(o);
  if (!st) {
    err << "mamori: " << st.error().message << " (the previous store, if any, is unchanged)\n";
    return kExitRefused;
  }
  out << "wrote " << o.output << ": " << st->records << " hashes from " << st->lines << " lines\n";
  return kExitOk;
}

}  // namespace mamori::cli
