#ifndef MAMORI_ACCOUNT_PWNED_IMPORT_H_
#define MAMORI_ACCOUNT_PWNED_IMPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "account/sha1.h"
#include "core/result.h"

namespace mamori::account {

struct PwnedImportOptions {
  std::string input;        // Pwned Passwords text: SHA1HEX:COUNT lines, gzip or plain, LF or CRLF
  std::string output;       // the store to write, e.g. <data_dir>/pwned.bin
  std::string temp_dir;     // sorted runs go here; empty: the output's directory
  std::size_t memory_bytes = std::size_t(256) << 20;  // bound on the records held in memory
  // Called about once a second and at the end with a line of progress.
  std::function<void(const std::string&)> progress;
};

struct PwnedImportStats {
  std::uint64_t lines = 0;     // input lines read (blank ones not counted)
  std::uint64_t records = 0;   // distinct hashes written (duplicates' counts are summed)
  std::uint64_t runs = 0;      // sorted runs spilled to disk; 0 when the input was sorted
  bool input_sorted = true;
  double seconds = 0;
};

// Builds a breached-password store (layout: pwned_store.h) from the Pwned
// Passwords text format in bounded memory, whatever the input size:
//
// - Sorted input (the published "ordered by hash" file) streams straight
//   into the store, one record at a time.
// - Otherwise, at the first hash out of order, what was written so far
//   becomes the first sorted run; the rest is read in chunks of at most
//   `memory_bytes`, each sorted and spilled to a temporary file, and all runs
//   are merged (k-way, a heap over one buffered reader per run) into the store.
//
// The store is written to `output + ".tmp.PID"`, synced, and renamed over
// `output` at the end: a crashed or failed import leaves the old store
// intact, and temporary files of earlier crashed imports (whose process is
// gone) are removed. Fails with `pwned_import_failed`, naming the input line
// for a malformed one, or the file and cause for I/O errors.
Result<PwnedImportStats> import_pwned(const PwnedImportOptions& options);

// One line of the Pwned Passwords text: a password's SHA-1 and how often it
// was seen in breaches.
struct PwnedLine {
  Sha1Digest hash{};
  std::uint32_t count = 0;
};

// Parses one line as import_pwned reads it, without its line end: 40 hex
// digits (either case), ':', then one or more decimal digits (a count over
// 2^32-1 is held at 2^32-1). Anything else, a CR included, is nullopt.
std::optional<PwnedLine> parse_pwned_line(std::string_view line);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_PWNED_IMPORT_H_
