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

DeferredAnswer& DeferredAnswer::operator=(DeferredAnswer&& other) {
  if (this != &other) {
    DeferredAnswer dropped(std::move(*this));  // an unfinished one answers 500
    target_ = std::move(other.target_);
  }
  return *this;
}

DeferredAnswer::~DeferredAnswer() {
  if (!target_) return;
  Response r;
  set_error(r, 500, "internal_error", "internal error: the request's answer was dropped");
  finish(std::move(r));
}

void DeferredAnswer::finish(Response response) {
  if (!target_) return;
  std::shared_ptr<DeferredTarget> t = std::move(target_);
  t->finish(std::move(response));
}

DeferredAnswer Response::defer() {
  if (deferrer == nullptr) {
    set_error(*this, 500, "internal_error", "this transport cannot defer an answer");
    return DeferredAnswer();
  }
  auto target = deferrer->defer(*this);
  if (target) deferred = true;
  return DeferredAnswer(std::move(target));
}

}  // namespace mamori::http
