#ifndef MAMORI_CORE_JSON_WRITER_H_
#define MAMORI_CORE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace mamori {

// Appends compact JSON to a caller-owned string. The caller writes a
// well-formed sequence (key before each value inside objects); commas are
// placed automatically. Strings are escaped; invalid UTF-8 bytes are replaced
// by U+FFFD so the output is always valid JSON. Not thread-safe.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { sep(); out_ += '{'; first_ = true; return *this; }
  JsonWriter& end_object() { out_ += '}'; first_ = false; return *this; }
  JsonWriter& begin_array() { sep(); out_ += '['; first_ = true; return *this; }
  JsonWriter& end_array() { out_ += ']'; first_ = false; return *this; }
  JsonWriter& key(std::string_view k) { sep(); append_string(k); out_ += ':'; first_ = true; return *this; }

  JsonWriter& value(std::string_view s) { sep(); append_string(s); return *this; }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) { sep(); out_ += b ? "true" : "false"; return *this; }
  JsonWriter& value(std::int64_t n) { sep(); out_ += std::to_string(n); return *this; }
  JsonWriter& value(std::uint64_t n) { sep(); out_ += std::to_string(n); return *this; }
  JsonWriter& value(int n) { return value(std::int64_t(n)); }
  JsonWriter& value(unsigned n) { return value(std::uint64_t(n)); }
  JsonWriter& value(double d);
  JsonWriter& null() { sep(); out_ += "null"; return *this; }
  // Appends `json` as written. REQUIRES: one well-formed JSON value.
  JsonWriter& raw(std::string_view json) { sep(); out_ += json; return *this; }

  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) { key(k); return value(v); }

  // Appends `s` as a quoted, escaped JSON string.
  void append_string(std::string_view s);

 private:
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace mamori

#endif  // MAMORI_CORE_JSON_WRITER_H_
