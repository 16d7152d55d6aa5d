#include "protocols/http/http_types.h"

#include <strings.h>

#include "core/json_writer.h"

namespace mamori::http {

std::string_view Request::header(std::string_view name) const {
  for (const Header& h : headers)
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0)
      return h.value;
  return {};
}

void set_error(Response& r, int status, std::string_view code, std::string_view message) {
  r.status = status;
  r.content_type = "application/json";
  r.body.clear();
  JsonWriter w(r.body);
  w.begin_object().key("error").begin_object().field("code", code).field("message", message)
      .end_object().end_object();
}

}  // namespace mamori::http
