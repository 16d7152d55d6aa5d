#ifndef MAMORI_STORE_RECORD_CHANGES_H_
#define MAMORI_STORE_RECORD_CHANGES_H_

#include <optional>
#include <string>
#include <string_view>

#include "store/records.h"

namespace mamori::store {

// A durable record another node wrote (a lock, a list entry, a block, an
// incident), as a distributed backend hears of it after the write committed,
// with the record's value as the store holds it now when the engine mirrors
// it (locks, blocks).
struct RecordChange {
  enum class Kind : std::uint8_t { kLock, kListEntry, kBlock, kIncident };
  Kind kind = Kind::kLock;
  // The account (kLock), the entry's id (kListEntry), "SCOPE:KEY" (kBlock),
  // the incident's id (kIncident).
  std::string key;
  std::optional<LockInfo> lock;  // kLock: the account's lock now; none: unlocked
  std::optional<Block> block;    // kBlock: the block now; none: deleted
};

// "lock:alice", "block:ip:203.0.113.5": the text a backend carries a change
// in (PostgreSQL's NOTIFY payload). parse_record_change() fails (none) on
// text it did not make.
std::string encode_record_change(RecordChange::Kind kind, std::string_view key);
std::optional<RecordChange> parse_record_change(std::string_view text);

// Where a distributed backend delivers the records other nodes changed:
// the engine's in-memory mirrors (engine/changes_elsewhere.h). Called on the
// backend's listener thread; must not block on the store's writes.
class RecordChangeSink {
 public:
  virtual ~RecordChangeSink() = default;
  virtual void record_changed(const RecordChange& change) = 0;
  // Changes may have been missed (the listener's connection was lost, or has
  // just been made): reload every mirrored record from the store.
  virtual void records_resync() = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_RECORD_CHANGES_H_
