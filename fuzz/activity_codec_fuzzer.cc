// The activity journal's record codec (store/journal/activity_codec) and its
// framing (store/journal/frame): the bytes of a journal file after a crash,
// a bad disk or an edit by hand.
//
// The input is read twice: as one record's payload, and as a journal of
// framed records, each payload decoded. Checks besides the sanitizers: what
// decodes encodes back to the same bytes; the head decoder agrees with the
// full decoder; the frame reader's valid end is a record boundary within the
// input, and every frame it yields re-frames to the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "store/journal/activity_codec.h"
#include "store/journal/frame.h"

namespace mamori::fuzz {
namespace {

using store::ActivityRecord;
using namespace store::journal;

void check_payload(std::string_view payload) {
  ActivityRecord r;
  const Status full = decode_activity(payload, r);
  ActivityHead head;
  const Status h = decode_activity_head(payload, head);
  if (!full) {
    if (full.error().code != "invalid_activity") fail("decode failed with " + full.error().code);
    return;
  }
  if (!h) fail("the head of a decodable record does not decode: " + h.error().message);
  if (head.time != r.time || head.type != r.type || head.success != r.success ||
      head.action != r.action || !(head.ip == r.ip) || head.account != r.account)
    fail("the head decoder disagrees with the full decoder");
  std::string framed;
  if (Status s = encode_activity(r, framed); !s)
    fail("a decoded record does not encode: " + s.error().message);
  std::string_view again;
  if (parse_frame(framed, again) != FrameEnd::kClean) fail("encode wrote a bad frame");
  if (again != payload) fail("a decoded record encodes to other bytes");
}

void check_journal(std::string_view data) {
  FrameReader reader(data);
  std::string_view payload;
  std::uint64_t offset = 0, expected = 0;
  while (reader.next(payload, offset)) {
    if (offset != expected) fail("a frame's offset is not where the previous one ended");
    std::string reframed;
    append_frame(reframed, payload);
    if (data.substr(offset, reframed.size()) != reframed) fail("a frame does not re-frame");
    expected = offset + reframed.size();
    check_payload(payload);
  }
  if (reader.offset() != expected || reader.offset() > data.size())
    fail("the valid end is not the end of the last frame");
  if (reader.end() == FrameEnd::kClean && reader.offset() != data.size())
    fail("a clean end before the end of the data");
}

}  // namespace
}  // namespace mamori::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mamori::fuzz::check_payload(bytes);
  mamori::fuzz::check_journal(bytes);
  return 0;
}
