#ifndef MAMORI_PROTOCOLS_HTTP_OWNER_PAGES_H_
#define MAMORI_PROTOCOLS_HTTP_OWNER_PAGES_H_

#include <string>

#include "core/clock.h"
#include "core/location.h"
#include "engine/engine.h"
#include "notify/notify_config.h"
#include "notify/once_records.h"
#include "notify/outbox.h"
#include "notify/owner_links.h"
#include "protocols/http/http_types.h"
#include "store/store.h"

namespace mamori::http {

// The account owner's own pages, outside the API and its tokens: a signed
// link (notify/owner_links.h) is the authorization.
//   GET  /owner/activity?t=TOKEN  the last activity_window of logins and
//                                 changes, in the owner's language and time
//                                 zone: when, what, place, device, IP
//   GET  /owner/not-me?t=TOKEN    "this wasn't me": a confirmation page
//   POST /owner/not-me            (form field t=TOKEN) locks the account with
//                                 a password reset required (`by`: owner),
//                                 sends the webhooks an `account_locked`
//                                 event so the app ends the sessions, and says
//                                 what happens next; the link acts once
//   GET  /owner/style.css         the pages' style sheet
// Server-rendered HTML without scripts, under a strict Content-Security-
// Policy, framing refused, no referrer, not cached. A bad, altered or expired
// link gets a page saying so (400, 410), a used one 409, and changes nothing.
// An adapter: the lock is the engine's, the records the store's.
// Thread-safe: handle() runs on every worker thread.
class OwnerPages final : public Handler {
 public:
  // Everything must outlive the handler; `locator` may be null (places in
  // English as recorded).
  OwnerPages(const notify::OwnerLinks& links, const notify::NotifyConfig& notify,
             engine::Engine& engine, store::Store& store, notify::Outbox& outbox,
             notify::OnceRecords& once, const Locator* locator, const Clock& clock);

  void handle(const Request& request, Response& response) override;

  // Whether `target` is one of these pages' ("/owner/..."), for the router.
  static bool serves(std::string_view target);

 private:
  struct Page;
  void activity(const Request& req, Response& resp);
  void not_me_confirm(const Request& req, Response& resp);
  void not_me_act(const Request& req, Response& resp);

  const notify::OwnerLinks& links_;
  const std::string service_name_, help_url_;
  engine::Engine& engine_;
  store::Store& store_;
  notify::Outbox& outbox_;
  notify::OnceRecords& once_;
  const Locator* locator_;
  const Clock& clock_;
};

// Sends the owner pages' requests to `owner` and every other one to `api`:
// the HTTP server's one handler when the owner pages are on.
class OwnerPagesRouter final : public Handler {
 public:
  OwnerPagesRouter(Handler& owner, Handler& api) : owner_(owner), api_(api) {}
  void handle(const Request& request, Response& response) override {
    (OwnerPages::serves(request.target) ? owner_ : api_).handle(request, response);
  }

 private:
  Handler& owner_;
  Handler& api_;
};

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_OWNER_PAGES_H_
