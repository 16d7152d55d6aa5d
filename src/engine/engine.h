#ifndef MAMORI_ENGINE_ENGINE_H_
#define MAMORI_ENGINE_ENGINE_H_

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/blocklist.h"
#include "core/decision.h"
#include "core/event.h"
#include "core/location.h"
#include "engine/account_locks.h"
#include "engine/account_under_attack.h"
#include "engine/block_table.h"
#include "engine/brute_force.h"
#include "engine/credential_stuffing.h"
#include "engine/decision_counts.h"
#include "engine/decision_minutes.h"
#include "engine/distributed_stuffing.h"
#include "engine/effects.h"
#include "engine/engine_config.h"
#include "engine/failing_ips.h"
#include "engine/failing_networks.h"
#include "engine/id_generator.h"
#include "engine/incident_tracker.h"
#include "engine/ip_failures.h"
#include "engine/lists.h"
#include "engine/mail_geography.h"
#include "engine/mail_volume.h"
#include "engine/message_fanout.h"
#include "engine/network_failures.h"
#include "engine/password_spray.h"
#include "engine/profile_cache.h"
#include "state/memory_budget.h"
#include "state/observation.h"
#include "store/record_changes.h"
#include "store/store.h"

namespace mamori::engine {

// The engine's answer to one event.
struct Outcome {
  Decision decision;
  std::string event_id;
  // The durable writes this event caused (activity, blocks, incidents,
  // notices); the caller answers once they are committed, and answers "not
  // stored" when status() says a commit among them failed.
  store::WriteSpan writes;
  // Successful logins: what was new to the account, and whether its owner
  // is being told.
  bool new_device = false, new_location = false, notified = false;
  // A delay or deny: how long until every cause of it has ended (the latest
  // end among the blocks, list entries and send windows that asked for this
  // action). None for other actions and when a cause has no end (a locked
  // account, a deny-list entry without expiry, a send larger than a quota).
  std::optional<Duration> retry_after;
  // With a ClientWording: what the client is to be told (and the alert said).
  ClientAnswer answer;
};

// What GET /v1/accounts/{account} shows.
struct AccountView {
  std::string account;
  // Whether the store holds anything about the account (a login, a lock, a
  // contact, a profile); false: never seen, the rest are defaults.
  bool known = false;
  std::optional<store::LockInfo> lock;
  store::Contact contact;
  std::optional<store::LastLogin> last_login;
  store::AccountProfile profile;
};

struct HotStateStats {
  std::size_t entries = 0, bytes = 0, budget_bytes = 0;
  std::uint64_t evictions = 0;
};

// Turns events into decisions. Runs the detectors over the hot state, applies
// what they find (blocks, incidents), the lists and the account locks, and
// records the event in the activity log. Time is the event's own (`e.time`):
// the caller stamps live events with its Clock and replay passes recorded
// times, so windows and expiries follow event time.
// Thread-safe: process() runs concurrently on every worker thread.
// The config is an immutable snapshot each event reads once: reconfigure()
// swaps it, and an event sees the old thresholds or the new ones, never a mix.
class Engine {
 public:
  Engine(const EngineConfig& config, store::Store& store, std::uint32_t id_seed);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // What load() read of the blocks, and how long it took (wall time).
  struct BlocksLoaded {
    std::size_t blocks = 0;
    std::chrono::microseconds read{0};  // from the store
    std::chrono::microseconds fill{0};  // into the block table
  };
  // Loads the lists and the active blocks from the store and calls
  // `blocks_loaded` (when given: the kernel's firewall is restored from them
  // there, before anything else is loaded), then the locks and open
  // incidents, then, with `warm_windows`, warms the hot windows from the
  // activity log (see warm(); a node of a Redis Cluster replays the shared
  // observations instead).
  Status load(TimePoint now, bool warm_windows = true,
              const std::function<void(const BlocksLoaded&)>& blocks_loaded = {});

  // Feeds the failed login results of the last longest-window (24 h by
  // default) from the activity log back into the detectors' windows, so a
  // restart does not reset the failure counts. Findings are not applied
  // again (their blocks and incidents were stored). The log keeps no
  // password hash, so retried identical passwords from before the restart
  // count once each and password_spray starts afresh. Of more than
  // `max_events` failures, the newest are replayed (the short windows need
  // them most). Returns the number of events replayed.
  Result<std::size_t> warm(TimePoint now, std::size_t max_events = 2'000'000);

  // Where events come from: GeoIP, when configured. Set before the first
  // process(); the locator must outlive the engine.
  void set_locator(const Locator* locator) { locator_ = locator; }
  // Where owner notices and webhook alerts go (the durable outbox); none:
  // no notices. Set before the first process(); must outlive the engine.
  void set_effects(Effects* effects) { effects_ = effects; }
  // The DNS blocklists asked about each login's IP (risk only, reason
  // `dnsbl`); none: no blocklist. Set before the first process(); must
  // outlive the engine.
  void set_blocklist(const Blocklist* blocklist) { blocklist_ = blocklist; }
  // Where every decision above allow is also written (the decision log);
  // none: nowhere. Set before the first process(); must outlive the engine.
  void set_decision_sink(DecisionSink* sink) { decisions_ = sink; }
  // Where every event that moves the hot windows is also told (the hot
  // state shared over a Redis Cluster); none: nowhere. Set before the first
  // process(); must outlive the engine.
  void set_observation_sink(state::ObservationSink* sink);

  // Counts another node's observation in the hot windows as process() counts
  // its event, and does nothing else: the findings it would cause are
  // dropped (the next local event over a threshold finds them), and no
  // block, incident, lock, notice, activity record or decision comes of it.
  // Observations from allow-listed IPs or accounts are not counted (as
  // live). A kProfile observation (another node's profile write committed)
  // drops this node's cached copy of the profile (ProfileCache::invalidate).
  // Thread-safe; runs concurrently with process().
  void observe(const state::Observation& o);

  // The decision for a mail client that has not authenticated (inbound mail
  // from another server) at `ip`: deny-listed IPs and networks are denied
  // (`deny_list`), allow-listed ones allowed (`allow_list`), and a client
  // listed by the DNS blocklist zone `dnsbl_zone` (empty: not listed) is
  // denied (`dnsbl`). Records nothing: inbound mail is no account's activity.
  Decision check_inbound(const IpAddress& ip, std::string_view dnsbl_zone, TimePoint now) const;

  // `wording`, when given, words the decision for the adapter's client:
  // the outcome's `answer` is what to send, and the operator's alert carries
  // it. The outcome's event_id (and the activity entry's) is e.id when set.
  // REQUIRES: e.account normalized, e.time set.
  Outcome process(const Event& e, const ClientWording* wording = nullptr);

  // ---- operator actions; each returns the writes to wait for ----
  // Also queues the lock notice to the owner; `notified` (when given) says
  // whether one was queued.
  store::WriteSpan lock(const std::string& account, std::string reason, bool require_password_reset,
                        std::string by, TimePoint now, bool* notified = nullptr);
  store::WriteSpan unlock(const std::string& account, std::string_view note, TimePoint now);
  // Lifts engine block `b` (as blocks().active() gives it) before its end.
  store::WriteSpan lift_block(const store::Block& b);
  // Forgets `account`'s send windows (mail_volume, message_fanout): it may
  // send again up to its quotas.
  void release_sends(const std::string& account);
  // Closes incident `stored` (as the store holds it): written with
  // `closed` = now, no longer open.
  store::WriteSpan close_incident(const store::Incident& stored, TimePoint now);

  // The record of an operator's action (engine/audit_trail.cc): runs
  // `action`, which queues the action's writes and returns them, then
  // queues the audit record `r` (its id set here when empty, its details
  // "{}" when empty), an activity entry of type operator_action for each of
  // `accounts`, and the `operator_action` webhooks, all inside one
  // Commits::together: the action and its record commit as one or not at
  // all. Returns every write. `action` must only queue.
  store::WriteSpan audited(store::AuditRecord& r, const std::vector<std::string>& accounts,
                           const std::function<store::WriteSpan()>& action);
  // The mail senders (SMTP AUTH accounts) using their quotas at `now`, as
  // MailVolume::top gives them.
  std::vector<MailVolume::Use> mail_senders(TimePoint now, std::size_t limit) const;

  Result<AccountView> account(const std::string& account);
  // The event ids of `account`'s activity entries with time >= since, newest
  // first, at most `limit` (committed entries only). Fails with
  // `store_read_failed`.
  Result<std::vector<std::string>> recorded_event_ids(const std::string& account, TimePoint since,
                                                      std::size_t limit);

  // Expires blocks, list entries and idle incidents; prunes the activity log
  // past its retention; at most every 5 minutes of `now`, drops the hot
  // windows that have emptied and ranks the others by their counts at `now`
  // (state::ClockMap::refresh). Called periodically by the server.
  void maintain(TimePoint now);
  // Paces maintain()'s refresh passes (see state::MemoryBudget). Set before
  // maintain() first runs.
  void set_refresh_pause(state::MemoryBudget::RefreshPause pause) {
    budget_.set_refresh_pause(std::move(pause));
  }

  // ---- records another node changed (a distributed store; changes_elsewhere.cc) ----
  // Mirrors `change`, whose value is the store's now: a lock or a block set
  // or removed, the lists reloaded. Incidents: the API reads them from the
  // store and each node counts its own open ones; one an operator closed
  // (read back from the store) is closed here too, if open.
  void apply_change_elsewhere(const store::RecordChange& change);
  // Reloads the locks, the lists and the blocks active at `now` from the
  // store, dropping from memory what it no longer holds.
  Status resync_records(TimePoint now);

  Lists& lists() { return lists_; }
  const BlockTable& blocks() const { return blocks_; }
  const AccountLocks& locks() const { return locks_; }
  const IncidentTracker& incidents() const { return incidents_; }
  // Every decision process() made, for the metrics.
  const DecisionCounts& decision_counts() const { return decision_counts_; }
  // Every decision per minute of its event's time, over the last 24 h.
  const DecisionMinutes& decision_minutes() const { return decision_minutes_; }
  IdGenerator& ids() { return ids_; }
  // The accounts' profiles in memory (for a ProfileBatcher that reads them
  // ahead of the logins that need them).
  ProfileCache& profiles() { return profiles_; }
  // distributed_stuffing's failure baseline per hour of the week (the
  // daemon keeps it across restarts).
  FailureBaseline& failure_baseline() { return distributed_stuffing_.baseline(); }
  // The config events are judged by now.
  std::shared_ptr<const EngineConfig> config() const { return config_.load(); }
  // Judges the events from now on by `config`: thresholds, windows, blocks
  // and risk settings. The hot state is kept (a window shortened or lengthened
  // counts what it still holds). memory_budget_bytes and incidents are read
  // at construction only: a change to them needs a restart.
  void reconfigure(const EngineConfig& config);
  HotStateStats hot_state() const;

 private:
  struct Context;
  void check_blocks(Context& c);
  // The event touches the incident of `key`'s active block, if it has one.
  void touch_incident(Context& c, const BlockKey& key);
  void apply(Context& c, Finding& f);
  void on_failure(Context& c);
  // A failure during a distributed_stuffing wave: into the wave's incident.
  void on_wave_failure(Context& c, const DistributedStuffing::Step& step);
  // During a wave: an attempt from a device the account never used is challenged.
  void on_wave_attempt(Context& c);
  void on_source_success(Context& c);
  void on_account_event(Context& c);
  void on_success(Context& c);
  void on_risky_change(Context& c);
  void on_message(Context& c);
  void on_challenge_passed(Context& c);
  // `kind`: the owner's notice (kCompromised when an incident's source got in).
  void lock_for(Context& c, Reason why, std::string detail = "",
                NoticeKind kind = NoticeKind::kAccountLocked, const std::string& incident_id = "");
  // The accounts incident `incident_id` (opened by `why`) found compromised:
  // locked with a password reset required and their owners told, when the
  // detection's require_password_reset is set.
  void secure_compromised(Context& c, Reason why, const std::string& incident_id,
                          const std::vector<std::string>& accounts);
  void notify_new_login(Context& c);
  void on_mail_login(Context& c);
  void on_mail_sent(Context& c);
  void record(Context& c);
  // Tells observations_ (if set) what this event added to the windows
  // (`recipients`: a message's, for kMessage).
  void publish(const Context& c, state::ObservationKind kind, std::uint32_t count = 0,
               std::string_view fingerprint = {},
               const std::vector<std::string>* recipients = nullptr);
  // Once profile write `t` of `account` has committed, tells
  // observations_ (if set) with a kProfile observation, so the other nodes
  // drop their copies. Returns `t`.
  store::WriteTicket announce_profile(const std::string& account, TimePoint time,
                                      store::WriteTicket t);
  store::WriteTicket put_block(const BlockKey& key, store::Block b);
  // ---- the in-memory mirrors of durable records (locks, blocks) ----
  // A change whose write the store fails to commit is set back, so memory
  // never enforces or shows what a restart would not have. Profiles and
  // incidents are mended through the store's failure listener instead.
  void revert_lock_if_not_stored(store::WriteTicket t, const std::string& account,
                                 std::optional<store::LockInfo> after,
                                 std::optional<store::LockInfo> before);
  void revert_block_if_not_stored(store::WriteTicket t, const BlockKey& key,
                                  std::optional<store::Block> after,
                                  std::optional<store::Block> before);
  // ---- effects (owner notices, webhook alerts); no-ops without effects_ ----
  // A notice about the event being processed, with its facts filled in.
  OwnerNotice notice_for(const Context& c, NoticeKind kind) const;
  // Queues `notice`; the outcome waits for it and reports `notified`.
  void notify_owner(Context& c, const OwnerNotice& notice);
  // Queues the lock notice for `account`; `cause` is the event that locked it
  // (none for an operator's lock). Returns the ticket to wait for, 0: none.
  store::WriteTicket notify_locked(const std::string& account, const store::LockInfo& lock,
                                   TimePoint now, const Context* cause, bool* notified,
                                   NoticeKind kind = NoticeKind::kAccountLocked,
                                   const std::string& incident_id = "");
  // A webhook alert and a decision log line for every decision above allow.
  void alert_operator(Context& c);

  std::atomic<std::shared_ptr<const EngineConfig>> config_;
  store::Store& store_;
  std::uint64_t failure_listener_ = 0;
  IdGenerator ids_;
  state::MemoryBudget budget_;
  BruteForce brute_force_;
  AccountUnderAttack account_under_attack_;
  FailingIps failing_ips_;  // ip_failures' and credential_stuffing's per-IP entries
  // credential_stuffing's and network_failures' per-network entries
  FailingNetworks failing_networks_;
  IpFailures ip_failures_;
  CredentialStuffing credential_stuffing_;
  NetworkFailures network_failures_;
  PasswordSpray password_spray_;
  DistributedStuffing distributed_stuffing_;
  MailVolume mail_volume_;
  MailGeography mail_geography_;
  BlockTable blocks_;
  AccountLocks locks_;
  Lists lists_;
  IncidentTracker incidents_;
  ProfileCache profiles_;
  MessageFanout message_fanout_;
  // When maintain() last refreshed the hot windows (event time, ms).
  static constexpr Duration kRefreshEvery = std::chrono::minutes(5);
  std::atomic<std::int64_t> refreshed_ms_{std::numeric_limits<std::int64_t>::min() / 2};
  const Locator* locator_ = nullptr;
  Effects* effects_ = nullptr;
  const Blocklist* blocklist_ = nullptr;
  DecisionCounts decision_counts_;
  DecisionMinutes decision_minutes_;
  DecisionSink* decisions_ = nullptr;
  state::ObservationSink* observations_ = nullptr;
  // observations_ for the store's commit callbacks (announce_profile),
  // which may run after the engine is gone: emptied by its destructor.
  struct ObservationOutlet {
    std::mutex mu;
    state::ObservationSink* sink = nullptr;  // guarded by mu
  };
  std::shared_ptr<ObservationOutlet> outlet_ = std::make_shared<ObservationOutlet>();
};

// Rebuilds the key of a block read back from the store. Fails with
// `invalid_block` for a record this version cannot interpret.
Result<BlockKey> block_key_from_record(const store::Block& b);

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ENGINE_H_
