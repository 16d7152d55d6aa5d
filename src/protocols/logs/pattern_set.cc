#include "protocols/logs/pattern_set.h"

#include <hs/hs.h>

#include <stdexcept>
#include <vector>

namespace mamori::logs {

Result<std::shared_ptr<const PatternSet>> PatternSet::compile(
    std::span<const std::string> patterns) {
  std::vector<const char*> texts;
  std::vector<unsigned> flags, ids;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    texts.push_back(patterns[i].c_str());
    flags.push_back(HS_FLAG_SINGLEMATCH);
    ids.push_back(unsigned(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(texts.data(), flags.data(), ids.data(), unsigned(texts.size()),
                       HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
    std::string what = error && error->message ? error->message : "unknown error";
    const int which = error ? error->expression : -1;
    hs_free_compile_error(error);
    return make_error(
        "invalid_pattern",
        which >= 0 ? "pattern '" + patterns[std::size_t(which)] + "': " + what : what);
  }
  std::shared_ptr<PatternSet> set(new PatternSet());
  set->db_ = db;
  set->count_ = patterns.size();
  return std::shared_ptr<const PatternSet>(std::move(set));
}

PatternSet::~PatternSet() { hs_free_database(db_); }

PatternScanner::PatternScanner(std::shared_ptr<const PatternSet> set) : set_(std::move(set)) {
  if (hs_alloc_scratch(set_->database(), &scratch_) != HS_SUCCESS)
    throw std::runtime_error("Vectorscan: cannot allocate scratch space");
}

PatternScanner::~PatternScanner() { hs_free_scratch(scratch_); }

int PatternScanner::first(std::string_view text, std::size_t& match_end) {
  struct Best {
    int id = -1;
    unsigned long long end = 0;
  } best;
  auto on_match = [](unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                     void* ctx) -> int {
    Best& b = *static_cast<Best*>(ctx);
    if (b.id < 0 || int(id) < b.id) {
      b.id = int(id);
      b.end = to;
    }
    return 0;
  };
  if (hs_scan(set_->database(), text.data(), unsigned(text.size()), 0, scratch_, on_match, &best) !=
      HS_SUCCESS)
    return -1;
  match_end = std::size_t(best.end);
  return best.id;
}

}  // namespace mamori::logs
