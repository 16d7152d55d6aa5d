#ifndef MAMORI_PROTOCOLS_LOGS_LINE_IDS_H_
#define MAMORI_PROTOCOLS_LOGS_LINE_IDS_H_

#include <string>
#include <string_view>

#include "core/clock.h"

namespace mamori::logs {

// The id of the `ordinal`th event (from 0) of a log line, in the shape of
// the engine's own ids (docs/openapi.json's Id, so ids still sort by time):
// 12 hex digits of the line's own time in milliseconds (`line_time`, before
// a live source takes a time ahead of its clock as now), then 8 of a hash
// of the source's name, the line's origin (RawLine::origin: a file's inode
// and the line's byte offset, a journal entry's cursor), its text and the
// ordinal. The same line read again (after a restart from an older saved
// position) gets the same ids, so its events already in the activity log
// are recognised (LogSource); two lines differ in origin or text, and two
// ids of one account and one millisecond are alike only by a 1 in 2^32
// chance. A line rewritten in place with the very same text at the same
// offset of the same inode (copytruncate, then the same bytes again) is
// taken for the old one, and only while a restart's re-read lines are
// checked. Stable across runs on one architecture (core/hash.h).
// Thread-safe.
std::string line_event_id(std::string_view source, std::string_view origin, std::string_view text,
                          int ordinal, TimePoint line_time);

}  // namespace mamori::logs

#endif  // MAMORI_PROTOCOLS_LOGS_LINE_IDS_H_
