#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace mamori::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply copy_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

std::string where(const std::string& host, std::uint16_t port) {
  return host + ":" + std::to_string(port);
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& host, std::uint16_t port,
                                                     const ConnectionOptions& options) {
  redisContext* c =
      redisConnectWithTimeout(host.c_str(), port, to_timeval(options.connect_timeout));
  if (c == nullptr)
    return make_error("redis_unreachable", "redis " + where(host, port) + ": out of memory");
  if (c->err) {
    std::string why = c->errstr;
    redisFree(c);
    return make_error("redis_unreachable", "redis " + where(host, port) + ": " + why);
  }
  redisSetTimeout(c, to_timeval(options.command_timeout));
  std::unique_ptr<Connection> conn(new Connection(c, host, port));
  if (!options.password.empty()) {
    Args auth{"AUTH", options.password};
    auto r = conn->pipeline({&auth});
    if (!r) return r.error();
    if ((*r)[0].is_error())
      return make_error("redis_auth_failed", "redis " + where(host, port) + ": " + (*r)[0].str);
  }
  return conn;
}

Connection::~Connection() { redisFree(c_); }

Result<std::vector<Reply>> Connection::pipeline(const std::vector<const Args*>& commands) {
  auto fail = [&] {
    broken_ = true;
    return make_error("redis_unreachable", "redis " + where(host_, port_) + ": " +
                                               (c_->err ? std::string(c_->errstr) : "broken"));
  };
  if (broken_) return fail();
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const Args* a : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& s : *a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    if (redisAppendCommandArgv(c_, int(argv.size()), argv.data(), lens.data()) != REDIS_OK)
      return fail();
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) return fail();
    auto* r = static_cast<redisReply*>(raw);
    replies.push_back(copy_reply(r));
    freeReplyObject(r);
  }
  return replies;
}

}  // namespace mamori::redis
