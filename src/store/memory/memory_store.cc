#include "store/memory/memory_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "store/profile_codec.h"

namespace mamori::store {

struct MemoryStore::Data {
  WriteTicket last = 0;
  std::uint64_t next_listener = 1;
  std::uint64_t activity_appended = 0;
  std::vector<ActivityRecord> activity;                   // in append order
  std::unordered_map<std::string, std::string> profiles;  // encoded
  std::map<std::string, AccountRecord, std::less<>> accounts;
  std::map<std::string, ListEntry, std::less<>> lists;
  std::map<std::string, Incident, std::less<>> incidents;
  // An incident's accounts: the name once, as the key. Hashed, not ordered:
  // a stuffing wave adds an account on nearly every failure, and the reads
  // (incident_accounts()) sort what they return.
  struct Seen {
    TimePoint first, last;
    bool login_succeeded = false;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using SeenAccounts = std::unordered_map<std::string, Seen, NameHash, std::equal_to<>>;
  std::map<std::string, SeenAccounts, std::less<>> incident_accounts;
  std::map<std::pair<std::string, std::string>, Block> blocks;
  std::map<std::string, TotpRecord, std::less<>> totp;
  std::map<std::string, TimePoint, std::less<>> owner_actions;
  std::map<std::string, OperatorRecord, std::less<>> operators;
  std::vector<AuditRecord> audit;
  std::map<std::string, OutboxItem, std::less<>> outbox;
};

namespace {

using SeenAccounts = MemoryStore::Data::SeenAccounts;

void merge_account(SeenAccounts& m, IncidentAccount a) {
  auto [it, fresh] = m.try_emplace(std::move(a.account));
  MemoryStore::Data::Seen& seen = it->second;
  if (fresh) {
    seen = {a.first_seen, a.last_seen, a.login_succeeded};
    return;
  }
  seen.first = std::min(seen.first, a.first_seen);
  seen.last = std::max(seen.last, a.last_seen);
  seen.login_succeeded = seen.login_succeeded || a.login_succeeded;
}

// incidents(): last_seen descending, then id.
void sort_incidents(std::vector<Incident>& v) {
  std::sort(v.begin(), v.end(), [](const Incident& a, const Incident& b) {
    return a.last_seen != b.last_seen ? a.last_seen > b.last_seen : a.id < b.id;
  });
}

}  // namespace

MemoryStore::MemoryStore(MemoryStoreOptions options)
    : options_(options), data_(std::make_unique<Data>()) {}

MemoryStore::~MemoryStore() = default;

WriteTicket MemoryStore::next_locked() { return ++data_->last; }

// ---- Commits ----

void MemoryStore::on_committed(WriteTicket, std::function<void(const Status&)> done) {
  done(Status{});
}

WriteTicket MemoryStore::committed() const {
  std::lock_guard lock(mu_);
  return data_->last;
}

std::uint64_t MemoryStore::on_failed_commit(std::function<void(const WriteSpan&, const Error&)>) {
  std::lock_guard lock(mu_);
  return data_->next_listener++;
}

void MemoryStore::remove_failure_listener(std::uint64_t) {}

// ---- ActivityLog ----

WriteTicket MemoryStore::append_activity(const ActivityRecord& r) {
  std::lock_guard lock(mu_);
  ++data_->activity_appended;
  if (options_.keep_activity) data_->activity.push_back(r);
  return next_locked();
}

WriteTicket MemoryStore::prune_activity(TimePoint before) {
  std::lock_guard lock(mu_);
  std::erase_if(data_->activity, [&](const ActivityRecord& r) { return r.time < before; });
  return next_locked();
}

Result<std::vector<ActivityRecord>> MemoryStore::activity(std::string_view account, TimePoint since,
                                                          std::size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<ActivityRecord> out;
  // Newest first: the later of two entries of one time first.
  for (auto it = data_->activity.rbegin(); it != data_->activity.rend(); ++it)
    if (it->account == account && it->time >= since) out.push_back(*it);
  std::stable_sort(out.begin(), out.end(), [](const ActivityRecord& a, const ActivityRecord& b) {
    return a.time > b.time;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Status MemoryStore::failed_logins_since(TimePoint since, std::size_t limit,
                                        const std::function<void(const ActivityRecord&)>& fn) {
  std::vector<ActivityRecord> rows;
  {
    std::lock_guard lock(mu_);
    for (const ActivityRecord& r : data_->activity) {
      if (r.type != EventType::kLoginResult || r.success != false || r.time < since) continue;
      ActivityRecord row;
      row.time = r.time;
      row.account = r.account;
      row.type = r.type;
      row.ip = r.ip;
      row.success = false;
      rows.push_back(std::move(row));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ActivityRecord& a, const ActivityRecord& b) {
    return a.time < b.time;
  });
  const std::size_t skip = rows.size() > limit ? rows.size() - limit : 0;
  for (std::size_t i = skip; i < rows.size(); ++i) fn(rows[i]);
  return {};
}

std::uint64_t MemoryStore::activity_appended() const {
  std::lock_guard lock(mu_);
  return data_->activity_appended;
}

// ---- ProfileStore ----

WriteTicket MemoryStore::put_profile(std::string account, AccountProfile& profile) {
  // Encoded in this thread's scratch text outside the lock, then copied into
  // the account's stored text, whose buffer is reused: a profile written
  // again allocates nothing.
  thread_local std::string encoded;
  encode_profile_into(profile, encoded);
  std::lock_guard lock(mu_);
  data_->profiles.try_emplace(std::move(account)).first->second.assign(encoded);
  return next_locked();
}

Result<AccountProfile> MemoryStore::profile(std::string_view account) {
  std::string encoded;
  {
    std::lock_guard lock(mu_);
    auto it = data_->profiles.find(std::string(account));
    if (it == data_->profiles.end()) return AccountProfile{};
    encoded = it->second;
  }
  return decode_profile(encoded);
}

// ---- RecordStore: accounts ----

WriteTicket MemoryStore::put_lock(std::string account, LockInfo info) {
  std::lock_guard lock(mu_);
  AccountRecord& a = data_->accounts[account];
  a.account = std::move(account);
  a.lock = std::move(info);
  return next_locked();
}

WriteTicket MemoryStore::clear_lock(std::string account) {
  std::lock_guard lock(mu_);
  auto it = data_->accounts.find(account);
  if (it != data_->accounts.end()) it->second.lock.reset();
  return next_locked();
}

WriteTicket MemoryStore::put_contact(std::string account, Contact contact) {
  std::lock_guard lock(mu_);
  AccountRecord& a = data_->accounts[account];
  a.account = std::move(account);
  a.contact = std::move(contact);
  return next_locked();
}

WriteTicket MemoryStore::put_last_login(std::string account, LastLogin login) {
  std::lock_guard lock(mu_);
  AccountRecord& a = data_->accounts[account];
  a.account = std::move(account);
  a.last_login = std::move(login);
  return next_locked();
}

Result<std::optional<AccountRecord>> MemoryStore::account(std::string_view account) {
  std::lock_guard lock(mu_);
  auto it = data_->accounts.find(account);
  if (it == data_->accounts.end()) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(it->second);
}

Result<std::vector<AccountRecord>> MemoryStore::locked_accounts() {
  std::lock_guard lock(mu_);
  std::vector<AccountRecord> out;
  for (const auto& [name, a] : data_->accounts)  // by account
    if (a.lock) out.push_back(a);
  return out;
}

// ---- lists ----

WriteTicket MemoryStore::put_list_entry(ListEntry e) {
  std::lock_guard lock(mu_);
  std::string id = e.id;
  data_->lists[std::move(id)] = std::move(e);
  return next_locked();
}

WriteTicket MemoryStore::delete_list_entry(std::string id) {
  std::lock_guard lock(mu_);
  data_->lists.erase(id);
  return next_locked();
}

Result<std::vector<ListEntry>> MemoryStore::list_entries() {
  std::lock_guard lock(mu_);
  std::vector<ListEntry> out;
  for (const auto& [id, e] : data_->lists) out.push_back(e);
  std::stable_sort(out.begin(), out.end(), [](const ListEntry& a, const ListEntry& b) {
    return a.created < b.created;  // then id: the map's order
  });
  return out;
}

// ---- incidents ----

WriteTicket MemoryStore::put_incident(Incident i) {
  std::lock_guard lock(mu_);
  std::string id = i.id;
  data_->incidents[std::move(id)] = std::move(i);
  return next_locked();
}

WriteTicket MemoryStore::put_incident_account(std::string incident_id, IncidentAccount a) {
  std::lock_guard lock(mu_);
  merge_account(data_->incident_accounts[std::move(incident_id)], std::move(a));
  return next_locked();
}

WriteTicket MemoryStore::put_incident_counts(IncidentCounts counts,
                                             std::optional<IncidentAccount> a) {
  std::lock_guard lock(mu_);
  if (auto it = data_->incidents.find(counts.id); it != data_->incidents.end()) {
    it->second.last_seen = counts.last_seen;
    it->second.accounts_targeted = counts.accounts_targeted;
    it->second.accounts_compromised = counts.accounts_compromised;
  }
  if (a) merge_account(data_->incident_accounts[counts.id], std::move(*a));
  return next_locked();
}

Result<std::vector<Incident>> MemoryStore::incidents(TimePoint since) {
  std::lock_guard lock(mu_);
  std::vector<Incident> out;
  for (const auto& [id, i] : data_->incidents)
    if (i.last_seen >= since) out.push_back(i);
  sort_incidents(out);
  return out;
}

Result<std::optional<Incident>> MemoryStore::incident(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = data_->incidents.find(id);
  if (it == data_->incidents.end()) return std::optional<Incident>();
  return std::optional<Incident>(it->second);
}

Result<std::vector<IncidentAccount>> MemoryStore::incident_accounts(std::string_view id) {
  std::lock_guard lock(mu_);
  std::vector<IncidentAccount> out;
  auto it = data_->incident_accounts.find(id);
  if (it == data_->incident_accounts.end()) return out;
  for (const auto& [name, seen] : it->second)
    out.push_back(IncidentAccount{name, seen.first, seen.last, seen.login_succeeded});
  std::sort(out.begin(), out.end(), [](const IncidentAccount& a, const IncidentAccount& b) {
    return std::tie(a.first_seen, a.account) < std::tie(b.first_seen, b.account);
  });
  return out;
}

Result<std::vector<Incident>> MemoryStore::incidents_for_account(std::string_view account) {
  std::lock_guard lock(mu_);
  std::vector<Incident> out;
  for (const auto& [id, accounts] : data_->incident_accounts) {
    if (!accounts.contains(account)) continue;
    auto it = data_->incidents.find(id);
    if (it != data_->incidents.end()) out.push_back(it->second);
  }
  sort_incidents(out);
  return out;
}

// ---- blocks ----

WriteTicket MemoryStore::put_block(Block b) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(b.scope, b.key);
  data_->blocks[std::move(key)] = std::move(b);
  return next_locked();
}

WriteTicket MemoryStore::delete_block(std::string scope, std::string key) {
  std::lock_guard lock(mu_);
  data_->blocks.erase(std::make_pair(std::move(scope), std::move(key)));
  return next_locked();
}

WriteTicket MemoryStore::prune_blocks(TimePoint before) {
  std::lock_guard lock(mu_);
  std::erase_if(data_->blocks, [&](const auto& kv) { return kv.second.until < before; });
  return next_locked();
}

Result<std::vector<Block>> MemoryStore::blocks(TimePoint now) {
  std::lock_guard lock(mu_);
  std::vector<Block> out;
  for (const auto& [key, b] : data_->blocks)  // by scope, then key
    if (b.until > now) out.push_back(b);
  std::stable_sort(out.begin(), out.end(),
                   [](const Block& a, const Block& b) { return a.since < b.since; });
  return out;
}

// ---- TOTP ----

WriteTicket MemoryStore::put_totp(TotpRecord r) {
  std::lock_guard lock(mu_);
  std::string account = r.account;
  data_->totp[std::move(account)] = std::move(r);
  return next_locked();
}

WriteTicket MemoryStore::delete_totp(std::string account) {
  std::lock_guard lock(mu_);
  data_->totp.erase(account);
  return next_locked();
}

Result<std::optional<TotpRecord>> MemoryStore::totp(std::string_view account) {
  std::lock_guard lock(mu_);
  auto it = data_->totp.find(account);
  if (it == data_->totp.end()) return std::optional<TotpRecord>();
  return std::optional<TotpRecord>(it->second);
}

// ---- owner actions, audit ----

WriteTicket MemoryStore::put_owner_action(std::string key, std::string, TimePoint at) {
  std::lock_guard lock(mu_);
  data_->owner_actions.try_emplace(std::move(key), at);
  return next_locked();
}

Result<std::optional<WriteTicket>> MemoryStore::claim_owner_action(std::string key, std::string,
                                                                   TimePoint at) {
  std::lock_guard lock(mu_);
  if (!data_->owner_actions.try_emplace(std::move(key), at).second)
    return std::optional<WriteTicket>();
  return std::optional<WriteTicket>(next_locked());
}

Result<std::optional<TimePoint>> MemoryStore::owner_action(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = data_->owner_actions.find(key);
  if (it == data_->owner_actions.end()) return std::optional<TimePoint>();
  return std::optional<TimePoint>(it->second);
}

WriteTicket MemoryStore::put_operator(OperatorRecord r) {
  std::lock_guard lock(mu_);
  std::string name = r.name;
  data_->operators[std::move(name)] = std::move(r);
  return next_locked();
}

WriteTicket MemoryStore::delete_operator(std::string name) {
  std::lock_guard lock(mu_);
  data_->operators.erase(name);
  return next_locked();
}

Result<std::optional<OperatorRecord>> MemoryStore::operator_account(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = data_->operators.find(name);
  if (it == data_->operators.end()) return std::optional<OperatorRecord>();
  return std::optional<OperatorRecord>(it->second);
}

Result<std::vector<OperatorRecord>> MemoryStore::operator_accounts() {
  std::lock_guard lock(mu_);
  std::vector<OperatorRecord> out;
  out.reserve(data_->operators.size());
  for (const auto& [name, r] : data_->operators) out.push_back(r);
  return out;
}

WriteTicket MemoryStore::append_audit(AuditRecord r) {
  std::lock_guard lock(mu_);
  data_->audit.push_back(std::move(r));
  return next_locked();
}

Result<std::vector<AuditRecord>> MemoryStore::audit(const AuditQuery& q) {
  std::lock_guard lock(mu_);
  std::optional<std::pair<TimePoint, std::string>> before;
  if (!q.before.empty()) {
    for (const AuditRecord& r : data_->audit)
      if (r.id == q.before) before = std::make_pair(r.time, r.id);
    if (!before) return std::vector<AuditRecord>();  // as SQL: no row compares below NULL
  }
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : data_->audit) {
    if (q.since && r.time < *q.since) continue;
    if (q.until && r.time >= *q.until) continue;
    if (!q.actor.empty() && r.actor != q.actor) continue;
    if (!q.action.empty() && r.action != q.action) continue;
    if (!q.target.empty() && r.target != q.target) continue;
    if (before && std::tie(r.time, r.id) >= std::tie(before->first, before->second)) continue;
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const AuditRecord& a, const AuditRecord& b) {
    return std::tie(a.time, a.id) > std::tie(b.time, b.id);
  });
  if (out.size() > q.limit) out.resize(q.limit);
  return out;
}

// ---- OutboxStore ----

WriteTicket MemoryStore::enqueue_outbox(OutboxItem item) {
  std::lock_guard lock(mu_);
  item.state = OutboxState::kPending;
  std::string id = item.id;
  data_->outbox.try_emplace(std::move(id), std::move(item));
  return next_locked();
}

WriteTicket MemoryStore::outbox_delivered(std::string id, TimePoint when) {
  std::lock_guard lock(mu_);
  auto it = data_->outbox.find(id);
  if (it != data_->outbox.end() && it->second.state == OutboxState::kPending) {
    it->second.state = OutboxState::kDelivered;
    it->second.done = when;
    it->second.last_error.clear();
  }
  return next_locked();
}

WriteTicket MemoryStore::outbox_retry(std::string id, TimePoint next_attempt, std::string error) {
  std::lock_guard lock(mu_);
  auto it = data_->outbox.find(id);
  if (it != data_->outbox.end() && it->second.state == OutboxState::kPending) {
    ++it->second.attempts;
    it->second.next_attempt = next_attempt;
    it->second.last_error = std::move(error);
  }
  return next_locked();
}

WriteTicket MemoryStore::outbox_failed(std::string id, TimePoint when, std::string error) {
  std::lock_guard lock(mu_);
  auto it = data_->outbox.find(id);
  if (it != data_->outbox.end() && it->second.state == OutboxState::kPending) {
    it->second.state = OutboxState::kFailed;
    ++it->second.attempts;
    it->second.done = when;
    it->second.last_error = std::move(error);
  }
  return next_locked();
}

WriteTicket MemoryStore::prune_outbox(TimePoint before) {
  std::lock_guard lock(mu_);
  std::erase_if(data_->outbox, [&](const auto& kv) {
    const OutboxItem& i = kv.second;
    return i.state != OutboxState::kPending && i.done && *i.done < before;
  });
  return next_locked();
}

Result<std::vector<OutboxItem>> MemoryStore::due_outbox(TimePoint now, std::size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<OutboxItem> out;
  for (const auto& [id, i] : data_->outbox)  // by id
    if (i.state == OutboxState::kPending && i.next_attempt <= now) out.push_back(i);
  std::stable_sort(out.begin(), out.end(), [](const OutboxItem& a, const OutboxItem& b) {
    return a.next_attempt < b.next_attempt;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<OutboxCounts> MemoryStore::outbox_counts() {
  std::lock_guard lock(mu_);
  OutboxCounts c;
  for (const auto& [id, i] : data_->outbox) {
    const std::size_t ch = std::size_t(i.channel);
    if (i.state == OutboxState::kPending) {
      ++c.pending[ch];
      if (!c.next_attempt || i.next_attempt < *c.next_attempt) c.next_attempt = i.next_attempt;
    } else if (i.state == OutboxState::kFailed) {
      ++c.failed[ch];
    }
  }
  return c;
}

}  // namespace mamori::store
