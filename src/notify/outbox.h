#ifndef MAMORI_NOTIFY_OUTBOX_H_
#define MAMORI_NOTIFY_OUTBOX_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/location.h"
#include "engine/effects.h"
#include "engine/id_generator.h"
#include "notify/alert_throttle.h"
#include "notify/notify_config.h"
#include "notify/owner_links.h"
#include "store/commits.h"
#include "store/outbox_store.h"
#include "store/record_store.h"

namespace mamori::notify {

// The engine's Effects: writes owner notices and webhook alerts to the
// store's durable outbox (queued on its writer; the caller waits for the
// returned ticket before answering), from where the Dispatcher delivers them.
//
// notify_owner reads the account's contact (notices are rare) and queues one
// `email` item to `to_address` or the contact's address, with the notice's
// facts, the owner's language and time zone; nothing is queued (queued=false)
// when there is no address, the owner opted out (`notify: false`), e-mail is
// not configured (no `[smtp] host`), or the contact cannot be read (logged).
// alert queues one `webhook` item per configured webhook, unless it repeats
// an alert sent within `alert_repeat_window` (AlertThrottle).
// Thread-safe; the stores, the id generator and the clock must outlive it.
class Outbox final : public engine::Effects {
 public:
  // Queues to `outbox`, reads contacts from `contacts` and is told of the
  // commits of what it queued by `commits` (usually all three one Store).
  Outbox(store::OutboxStore& outbox, store::RecordStore& contacts, store::Commits& commits,
         const NotifyConfig& config, engine::IdGenerator& ids, const Clock& clock);
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  Queued notify_owner(const engine::OwnerNotice& notice) override;
  store::WriteTicket alert(const engine::Alert& alert) override;
  bool alerts_enabled() const override { return !destinations_.load()->webhook_urls.empty(); }
  store::WriteTicket operator_action(const store::AuditRecord& r) override;

  // Takes a reloaded config: whether e-mail is on, the webhooks' URLs and
  // the alert repeat window apply to what is queued from now on; what is
  // queued already stays.
  void reconfigure(const NotifyConfig& config);

  // `committed` runs once each item this outbox queued is committed (on the
  // store's writer thread: it must not block); the daemon wakes the
  // Dispatcher with it. Set before the first item is queued.
  void set_on_committed(std::function<void()> committed) { on_committed_ = std::move(committed); }
  // Notices carry signed links to the owner's pages (new logins: also "this
  // wasn't me") when `links` is set, and place names in the owner's language
  // when `locator` is. Both optional; set before the first notice, and they
  // must outlive the outbox.
  void set_owner_links(const OwnerLinks* links) { links_ = links; }
  void set_locator(const Locator* locator) { locator_ = locator; }
  // Queues `body` (a JSON webhook event other than a decision alert, such
  // as encode_account_locked()) to every webhook, unthrottled; 0 when none.
  store::WriteTicket webhook_event(const std::string& body);
  // Alerts not sent because they repeated a recent one.
  std::uint64_t alerts_suppressed() const { return throttle_.suppressed(); }

 private:
  store::WriteTicket put(store::OutboxChannel channel, std::string destination,
                         std::string payload);

  store::OutboxStore& store_;
  store::RecordStore& contacts_;
  store::Commits& commits_;
  engine::IdGenerator& ids_;
  const Clock& clock_;
  // Where notices and alerts go; swapped whole by reconfigure().
  struct Destinations {
    bool email_enabled = false;
    std::vector<std::string> webhook_urls;
  };
  std::atomic<std::shared_ptr<const Destinations>> destinations_;
  std::function<void()> on_committed_;
  const OwnerLinks* links_ = nullptr;
  const Locator* locator_ = nullptr;
  AlertThrottle throttle_;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_OUTBOX_H_
