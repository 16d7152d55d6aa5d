#include "engine/incident_tracker.h"

#include <algorithm>

#include "core/hash.h"

namespace mamori::engine {

namespace {
std::string source_key(store::IncidentKind kind, std::string_view source) {
  return std::string(store::to_string(kind)) + " " + std::string(source);
}
// The same, in this thread's scratch string (no allocation once it has grown).
std::string_view source_key_view(store::IncidentKind kind, std::string_view source) {
  thread_local std::string key;
  key.assign(store::to_string(kind));
  key += ' ';
  key += source;
  return key;
}
// last_seen alone is rewritten at most this often.
constexpr Duration kLastSeenPersistEvery = std::chrono::seconds(10);
// Accounts counted beyond max_accounts per incident (8 bytes each).
constexpr std::size_t kMaxUnlisted = 16'000'000;
// The most sources an incident lists.
constexpr std::size_t kMaxSources = 1024;

// What a touch changes in the header: the rest (the sources above all, up
// to kMaxSources of them) is written by put_incident only when it changes.
store::IncidentCounts counts_of(const store::Incident& i) {
  return {i.id, i.last_seen, i.accounts_targeted, i.accounts_compromised};
}
}  // namespace

Status IncidentTracker::load(TimePoint now) {
  auto open = store_.incidents(now - config_.idle);
  if (!open) return open.error();
  std::lock_guard lock(mu_);
  for (store::Incident& i : *open) {
    if (i.closed) continue;
    auto accounts = store_.incident_accounts(i.id);
    if (!accounts) return accounts.error();
    auto o = std::make_unique<Open>();
    for (store::IncidentAccount& a : *accounts) o->accounts.emplace(a.account, std::move(a));
    o->persisted_last_seen = i.last_seen;
    for (const std::string& source : i.sources) o->source_hashes.insert(hash_bytes(source));
    // Stuffing incidents are keyed by their one source; a spray's key (its
    // password hash) is not stored, so a reloaded spray continues under a
    // fresh incident if it goes on.
    if (!i.sources.empty()) {
      o->key = source_key(i.kind, i.sources.front());
      by_key_[o->key] = i.id;
    }
    o->incident = std::move(i);
    by_id_[o->incident.id] = std::move(o);
  }
  return {};
}

void IncidentTracker::touch_locked(Open& o, std::string_view account, bool succeeded,
                                   TimePoint seen, TimePoint now, store::WriteTicket& ticket,
                                   std::vector<std::string>* compromised) {
  if (seen > now || seen == TimePoint{}) seen = now;
  store::Incident& inc = o.incident;
  auto it = o.accounts.find(account);
  if (it == o.accounts.end() && o.accounts.size() >= config_.max_accounts) {
    bool header_changed = false;
    // Counted, no longer listed. The set of hashes is bounded too: past it,
    // accounts are no longer counted.
    if (o.unlisted.size() < kMaxUnlisted && o.unlisted.insert(hash_bytes(account)).second) {
      inc.accounts_targeted++;
      header_changed = true;
    }
    if (now > inc.last_seen) inc.last_seen = now;
    if (header_changed || inc.last_seen - o.persisted_last_seen >= kLastSeenPersistEvery) {
      o.persisted_last_seen = inc.last_seen;
      ticket = store_.put_incident_counts(counts_of(inc), std::nullopt);
    }
    return;
  }
  const bool inserted = it == o.accounts.end();
  if (inserted) it = o.accounts.try_emplace(std::string(account)).first;
  store::IncidentAccount& a = it->second;
  // A changed account changes the header's counts: both are written in one
  // transaction, so that every reader sees them agree.
  bool account_changed = false;
  if (inserted) {
    a.account = std::string(account);
    a.first_seen = a.last_seen = seen;
    a.login_succeeded = succeeded;
    inc.accounts_targeted++;
    if (succeeded) {
      inc.accounts_compromised++;
      if (compromised != nullptr) compromised->push_back(a.account);
    }
    account_changed = true;
  } else {
    a.first_seen = std::min(a.first_seen, seen);
    a.last_seen = std::max(a.last_seen, seen);
    if (succeeded && !a.login_succeeded) {
      a.login_succeeded = true;
      inc.accounts_compromised++;
      if (compromised != nullptr) compromised->push_back(a.account);
      account_changed = true;
    }
  }
  if (now > inc.last_seen) inc.last_seen = now;
  if (account_changed) {
    o.persisted_last_seen = inc.last_seen;
    ticket = store_.put_incident_counts(counts_of(inc), a);
  } else if (inc.last_seen - o.persisted_last_seen >= kLastSeenPersistEvery) {
    o.persisted_last_seen = inc.last_seen;
    ticket = store_.put_incident_counts(counts_of(inc), std::nullopt);
  }
}

std::string IncidentTracker::open(store::IncidentKind kind, const std::string& key_text,
                                  const std::vector<std::string>& sources,
                                  const std::vector<TouchedAccount>& accounts, TimePoint now,
                                  store::WriteTicket& ticket,
                                  std::vector<std::string>* compromised) {
  std::lock_guard lock(mu_);
  const std::string_view key = source_key_view(kind, key_text);
  Open* o = nullptr;
  if (auto s = by_key_.find(key); s != by_key_.end()) {
    auto it = by_id_.find(s->second);
    if (it != by_id_.end() && now - it->second->incident.last_seen < config_.idle)
      o = it->second.get();
  }
  if (o == nullptr) {
    auto fresh = std::make_unique<Open>();
    fresh->incident.id = ids_.next(now);
    fresh->incident.kind = kind;
    // It started with the earliest touch it looks back on.
    fresh->incident.started = fresh->incident.last_seen = now;
    for (const TouchedAccount& a : accounts)
      if (a.seen != TimePoint{} && a.seen < fresh->incident.started)
        fresh->incident.started = a.seen;
    fresh->incident.sources.assign(
        sources.begin(), sources.begin() + std::ptrdiff_t(std::min(sources.size(), kMaxSources)));
    for (const std::string& source : fresh->incident.sources)
      fresh->source_hashes.insert(hash_bytes(source));
    fresh->key = key;
    o = fresh.get();
    by_key_.insert_or_assign(fresh->key, fresh->incident.id);
    ticket = store_.put_incident(fresh->incident);
    fresh->persisted_last_seen = now;
    by_id_[fresh->incident.id] = std::move(fresh);
  } else {
    bool added = false;
    for (const std::string& s : sources) {
      auto& have = o->incident.sources;
      if (have.size() < kMaxSources && o->source_hashes.insert(hash_bytes(s)).second) {
        have.push_back(s);
        added = true;
      }
    }
    if (added) ticket = store_.put_incident(o->incident);
  }
  for (const TouchedAccount& a : accounts)
    touch_locked(*o, a.account, a.login_succeeded, a.seen, now, ticket, compromised);
  return o->incident.id;
}

bool IncidentTracker::touch(const std::string& id, std::string_view account, bool succeeded,
                            TimePoint now, store::WriteTicket& ticket,
                            std::vector<std::string>* compromised) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  touch_locked(*it->second, account, succeeded, now, now, ticket, compromised);
  return true;
}

void IncidentTracker::rewrite_after_failure() {
  std::lock_guard lock(mu_);
  for (auto& [id, o] : by_id_) o->rewrite = true;
}

void IncidentTracker::write_all_locked(Open& o) {
  o.rewrite = false;
  store_.put_incident(o.incident);
  for (const auto& [name, a] : o.accounts) store_.put_incident_account(o.incident.id, a);
  o.persisted_last_seen = o.incident.last_seen;
}

void IncidentTracker::sweep(TimePoint now) {
  std::lock_guard lock(mu_);
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    Open& o = *it->second;
    if (o.rewrite) write_all_locked(o);
    if (now - o.incident.last_seen < config_.idle) {
      ++it;
      continue;
    }
    if (o.persisted_last_seen != o.incident.last_seen) store_.put_incident(o.incident);
    auto bk = by_key_.find(o.key);
    if (bk != by_key_.end() && bk->second == o.incident.id) by_key_.erase(bk);
    it = by_id_.erase(it);
  }
}

std::optional<store::Incident> IncidentTracker::close(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  store::Incident header = it->second->incident;
  auto bk = by_key_.find(it->second->key);
  if (bk != by_key_.end() && bk->second == id) by_key_.erase(bk);
  by_id_.erase(it);
  return header;
}

bool IncidentTracker::is_open(const std::string& id) const {
  std::lock_guard lock(mu_);
  return by_id_.contains(id);
}

std::size_t IncidentTracker::open_count() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

}  // namespace mamori::engine
