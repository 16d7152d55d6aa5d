#ifndef MAMORI_PROTOCOLS_LOGS_PATTERN_SET_H_
#define MAMORI_PROTOCOLS_LOGS_PATTERN_SET_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

struct hs_database;
struct hs_scratch;

namespace mamori::logs {

// Many regular expressions matched in one pass over a line (Vectorscan,
// Hyperscan's maintained fork: a compiled automaton, SIMD literal search).
// Immutable once compiled; shared by every PatternScanner. Patterns are
// Vectorscan's (PCRE's syntax without back-references or look-around); each
// reports once per line (single-match).
class PatternSet {
 public:
  // Fails with `invalid_pattern` naming the pattern that does not compile.
  static Result<std::shared_ptr<const PatternSet>> compile(std::span<const std::string> patterns);
  ~PatternSet();
  PatternSet(const PatternSet&) = delete;
  PatternSet& operator=(const PatternSet&) = delete;

  std::size_t size() const { return count_; }
  hs_database* database() const { return db_; }

 private:
  PatternSet() = default;
  hs_database* db_ = nullptr;
  std::size_t count_ = 0;
};

// One thread's matcher over a PatternSet (it owns the scan's scratch space).
// Not thread-safe.
class PatternScanner {
 public:
  explicit PatternScanner(std::shared_ptr<const PatternSet> set);
  ~PatternScanner();
  PatternScanner(const PatternScanner&) = delete;
  PatternScanner& operator=(const PatternScanner&) = delete;

  // The lowest-numbered pattern that matches `text`, and where its match
  // ends; -1 when none does.
  int first(std::string_view text, std::size_t& match_end);

 private:
  std::shared_ptr<const PatternSet> set_;
  hs_scratch* scratch_ = nullptr;
};

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_PATTERN_SET_H_
