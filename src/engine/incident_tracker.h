#ifndef MAMORI_ENGINE_INCIDENT_TRACKER_H_
#define MAMORI_ENGINE_INCIDENT_TRACKER_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "engine/engine_config.h"
#include "engine/finding.h"
#include "engine/id_generator.h"
#include "store/record_store.h"

namespace mamori::engine {

// The open incidents (credential stuffing, password spray, ...): one per
// kind and source while the source stays active. Records every account the
// source touched within the detector's window before it opened (what the
// finding looks back on) and touches while it is open, and whether a login
// to it from the source succeeded, and writes each change to the store (the durable record that
// `/v1/incidents` and the "was my ID affected?" check read). An incident with
// no activity for `idle` is closed: it stays in the store, a new wave opens a
// new one. Thread-safe (one mutex; incidents are few and their updates small).
class IncidentTracker {
 public:
  IncidentTracker(const IncidentConfig& config, store::RecordStore& store, IdGenerator& ids)
      : config_(config), store_(store), ids_(ids) {}
  IncidentTracker(const IncidentTracker&) = delete;
  IncidentTracker& operator=(const IncidentTracker&) = delete;

  // Loads the incidents still open at `now` with their accounts.
  Status load(TimePoint now);

  // Opens the incident of `kind` identified by `key` (the source for
  // stuffing, the password hash for a spray), or continues the open one;
  // adds `sources` to its sources and records `accounts` as touched, each
  // first seen at its `seen` (at most `now`) and marked compromised when its
  // login succeeded. Returns its id. The accounts this call found
  // compromised for the first time are appended to `compromised`, if given.
  std::string open(store::IncidentKind kind, const std::string& key,
                   const std::vector<std::string>& sources,
                   const std::vector<TouchedAccount>& accounts, TimePoint now,
                   store::WriteTicket& ticket, std::vector<std::string>* compromised = nullptr);
  // Records that incident `id`'s source touched `account`; `succeeded` when a
  // login to it succeeded. Returns false when the incident is not open.
  // Appends `account` to `compromised` (if given) when it is newly so.
  bool touch(const std::string& id, std::string_view account, bool succeeded, TimePoint now,
             store::WriteTicket& ticket, std::vector<std::string>* compromised = nullptr);
  // A commit failed: every open incident is written again in full (header
  // and accounts) at the next sweep, so the store ends up with what memory
  // recorded once commits succeed again. (The rewrite is idempotent.)
  void rewrite_after_failure();
  // An operator closes incident `id`: it is no longer open (a new wave of
  // its source opens a new one). Returns its header as memory holds it (the
  // newest), none when it was not open.
  std::optional<store::Incident> close(const std::string& id);
  // Whether incident `id` is open here.
  bool is_open(const std::string& id) const;
  // Closes incidents idle at `now`; writes again those rewrite_after_failure
  // marked.
  void sweep(TimePoint now);
  std::size_t open_count() const;

 private:
  // Looks names up by std::string_view: a touch of a listed account
  // allocates nothing.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Open {
    store::Incident incident;
    std::unordered_map<std::string, store::IncidentAccount, NameHash, std::equal_to<>> accounts;
    // Hashes of incident.sources, so that a source is looked for in one step.
    std::unordered_set<std::uint64_t> source_hashes;
    // Hashes of the accounts counted beyond max_accounts (not listed), so
    // each is counted once.
    std::unordered_set<std::uint64_t> unlisted;
    std::string key;
    TimePoint persisted_last_seen{};
    bool rewrite = false;  // a commit failed since the incident's last full write
  };
  // Queues the whole incident again. REQUIRES: mu_ held.
  void write_all_locked(Open& o);
  // Records `account` as touched at `seen`; the incident was last active at
  // `now`. REQUIRES: mu_ held.
  void touch_locked(Open& o, std::string_view account, bool succeeded, TimePoint seen,
                    TimePoint now, store::WriteTicket& ticket,
                    std::vector<std::string>* compromised);

  const IncidentConfig config_;
  store::RecordStore& store_;
  IdGenerator& ids_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Open>, NameHash, std::equal_to<>> by_id_;
  // kind + " " + key -> id
  std::unordered_map<std::string, std::string, NameHash, std::equal_to<>> by_key_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_INCIDENT_TRACKER_H_
