#include "engine/lists.h"

#include <algorithm>

#include "core/event.h"
#include "store/store.h"

namespace mamori::engine {

Result<ListTarget> parse_list_target(std::string_view text) {
  ListTarget t;
  if (text.starts_with("account:")) {
    auto a = normalize_account(text.substr(8));
    if (!a) return make_error("invalid_target", "account target: " + a.error().message);
    t.kind = ListTarget::Kind::kAccount;
    t.account = *a;
    t.canonical = "account:" + t.account;
    return t;
  }
  if (text.starts_with("country:")) {
    std::string cc(text.substr(8));
    if (cc.size() != 2 || !std::isalpha(static_cast<unsigned char>(cc[0])) ||
        !std::isalpha(static_cast<unsigned char>(cc[1])))
      return make_error("invalid_target", "country target needs a two-letter ISO code, e.g. country:JP");
    for (char& c : cc) c = char(std::toupper(static_cast<unsigned char>(c)));
    t.kind = ListTarget::Kind::kCountry;
    t.country = cc;
    t.canonical = "country:" + cc;
    return t;
  }
  auto c = Cidr::parse(text);
  if (!c)
    return make_error("invalid_target",
                      "target must be an IP, a CIDR, account:NAME or country:CC; " +
                          c.error().message);
  t.kind = ListTarget::Kind::kNetwork;
  t.network = *c;
  t.canonical = c->is_single_address() ? c->network().to_string() : c->to_string();
  return t;
}

namespace {
// Puts entry `i` under `key`; when another entry has the same target, the
// one that lasts longer (no expiry lasts longest) stands for both.
template <typename Map, typename Key>
void index_entry(Map& map, const Key& key, std::size_t i,
                 const std::vector<store::ListEntry>& entries) {
  auto [it, inserted] = map.emplace(key, i);
  if (inserted) return;
  const auto& old = entries[it->second];
  const auto& now = entries[i];
  if (old.expires && (!now.expires || *now.expires > *old.expires)) it->second = i;
}
}  // namespace

ListIndex::ListIndex(std::vector<store::ListEntry> entries) : entries_(std::move(entries)) {
  std::vector<std::pair<Cidr, std::size_t>> networks[2];
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    auto t = parse_list_target(entries_[i].target);
    if (!t) continue;  // written by an older version; ignored, still listed
    const int kind = static_cast<int>(entries_[i].kind);
    PerKind& k = kinds_[kind];
    switch (t->kind) {
      case ListTarget::Kind::kNetwork:
        networks[kind].emplace_back(t->network, i);
        break;
      case ListTarget::Kind::kAccount:
        index_entry(k.accounts, t->account, i, entries_);
        break;
      case ListTarget::Kind::kCountry:
        index_entry(k.countries, t->country, i, entries_);
        break;
    }
  }
  // When two entries have the same target, the one that lasts longer (no
  // expiry lasts longest) stands for both.
  auto lasts_longer = [&](std::size_t later, std::size_t earlier) {
    const auto& old = entries_[earlier];
    const auto& now = entries_[later];
    return old.expires && (!now.expires || *now.expires > *old.expires);
  };
  for (int kind = 0; kind < 2; ++kind)
    kinds_[kind].networks = state::NetworkTable<std::size_t>(std::move(networks[kind]), lasts_longer);
}

const store::ListEntry* ListIndex::active(std::size_t i, TimePoint now) const {
  const store::ListEntry& e = entries_[i];
  return (!e.expires || *e.expires > now) ? &e : nullptr;
}

const store::ListEntry* ListIndex::match_ip(store::ListKind kind, const IpAddress& ip,
                                            TimePoint now) const {
  const store::ListEntry* match = nullptr;
  kinds_[static_cast<int>(kind)].networks.find(ip, [&](std::size_t i) {
    match = active(i, now);
    return match != nullptr;
  });
  return match;
}

const store::ListEntry* ListIndex::match_account(store::ListKind kind, std::string_view account,
                                                 TimePoint now) const {
  const PerKind& k = kinds_[static_cast<int>(kind)];
  if (k.accounts.empty()) return nullptr;
  auto it = k.accounts.find(std::string(account));
  return it == k.accounts.end() ? nullptr : active(it->second, now);
}

const store::ListEntry* ListIndex::match_country(store::ListKind kind, std::string_view country,
                                                 TimePoint now) const {
  const PerKind& k = kinds_[static_cast<int>(kind)];
  if (k.countries.empty() || country.empty()) return nullptr;
  auto it = k.countries.find(std::string(country));
  return it == k.countries.end() ? nullptr : active(it->second, now);
}

Lists::Lists(store::RecordStore& store, store::Commits& commits)
    : store_(store),
      commits_(commits),
      index_(std::make_shared<const ListIndex>(std::vector<store::ListEntry>{})) {}

Status Lists::load() {
  auto entries = store_.list_entries();
  if (!entries) return entries.error();
  index_.store(std::make_shared<const ListIndex>(std::move(*entries)));
  return {};
}

Result<store::ListEntry> Lists::add(store::ListKind kind, std::string_view target,
                                    std::string reason, Duration ttl, TimePoint now,
                                    std::string id, store::WriteTicket& ticket) {
  auto t = parse_list_target(target);
  if (!t) return t.error();
  store::ListEntry e;
  e.id = std::move(id);
  e.kind = kind;
  e.target = t->canonical;
  e.reason = std::move(reason);
  e.created = now;
  if (ttl.count() > 0) e.expires = now + ttl;
  {
    std::lock_guard lock(write_mu_);
    std::vector<store::ListEntry> all = index_.load()->entries();
    all.push_back(e);
    ticket = store_.put_list_entry(e);
    index_.store(std::make_shared<const ListIndex>(std::move(all)));
  }
  undo_if_not_stored(ticket, e.id, std::nullopt);
  return e;
}

Status Lists::remove(std::string_view id, store::WriteTicket& ticket) {
  std::optional<store::ListEntry> removed;
  {
    std::lock_guard lock(write_mu_);
    std::vector<store::ListEntry> all = index_.load()->entries();
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.id == id; });
    if (it == all.end())
      return make_error("not_found", "no list entry with id '" + std::string(id) + "'");
    removed = std::move(*it);
    all.erase(it);
    ticket = store_.delete_list_entry(std::string(id));
    index_.store(std::make_shared<const ListIndex>(std::move(all)));
  }
  undo_if_not_stored(ticket, std::string(id), std::move(removed));
  return {};
}

void Lists::undo_if_not_stored(store::WriteTicket t, std::string id,
                               std::optional<store::ListEntry> removed) {
  commits_.on_committed(
      t, [this, id = std::move(id), removed = std::move(removed)](const Status& s) mutable {
        if (s) return;
        std::lock_guard lock(write_mu_);
        std::vector<store::ListEntry> all = index_.load()->entries();
        auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.id == id; });
        if (removed) {
          if (it != all.end()) return;  // put back already
          all.push_back(std::move(*removed));
        } else {
          if (it == all.end()) return;  // removed since
          all.erase(it);
        }
        index_.store(std::make_shared<const ListIndex>(std::move(all)));
      });
}

std::vector<store::ListEntry> Lists::entries(std::optional<store::ListKind> kind,
                                             TimePoint now) const {
  std::vector<store::ListEntry> out;
  for (const auto& e : index_.load()->entries())
    if ((!kind || e.kind == *kind) && (!e.expires || *e.expires > now)) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created > b.created : a.id > b.id;
  });
  return out;
}

std::size_t Lists::sweep(TimePoint now) {
  std::lock_guard lock(write_mu_);
  std::vector<store::ListEntry> all = index_.load()->entries();
  const std::size_t before = all.size();
  std::erase_if(all, [&](const store::ListEntry& e) {
    if (!e.expires || *e.expires > now) return false;
    store_.delete_list_entry(e.id);
    return true;
  });
  if (all.size() != before) index_.store(std::make_shared<const ListIndex>(std::move(all)));
  return before - all.size();
}

}  // namespace mamori::engine
