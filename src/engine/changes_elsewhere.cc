// The engine's side of a distributed store: other nodes' locks, list
// entries and blocks mirrored into memory, incidents they closed closed
// (Engine::apply_change_elsewhere, Engine::resync_records) and the sink that feeds them
// (ChangesElsewhere).

#include "engine/changes_elsewhere.h"

#include <set>
#include <string>

#include "core/log.h"

namespace mamori::engine {

void Engine::apply_change_elsewhere(const store::RecordChange& change) {
  using Kind = store::RecordChange::Kind;
  switch (change.kind) {
    case Kind::kLock:
      if (change.lock) {
        locks_.put(change.key, *change.lock);
      } else {
        locks_.erase(change.key);
      }
      return;
    case Kind::kListEntry:
      if (Status s = lists_.load(); !s)
        log_warn_limited("changes_elsewhere", "lists not reloaded: " + s.error().message);
      return;
    case Kind::kBlock: {
      store::Block b;
      if (change.block) {
        b = *change.block;
      } else {
        const auto colon = change.key.find(':');
        b.scope = change.key.substr(0, colon);
        b.key = colon == std::string::npos ? "" : change.key.substr(colon + 1);
      }
      auto key = block_key_from_record(b);
      if (!key) return;
      if (change.block) {
        blocks_.put(*key, std::move(b));
      } else {
        blocks_.erase(*key);
      }
      return;
    }
    case Kind::kIncident: {
      // Closed by an operator on another node: no longer open here either
      // (else this node's next write of it would reopen it).
      if (!incidents_.is_open(change.key)) return;
      auto stored = store_.incident(change.key);
      if (!stored) {
        log_warn_limited("changes_elsewhere", "incident not reloaded: " + stored.error().message);
        return;
      }
      if (*stored && (*stored)->closed) incidents_.close(change.key);
      return;
    }
  }
}

Status Engine::resync_records(TimePoint now) {
  if (Status s = lists_.load(); !s) return s;
  auto locked = store_.locked_accounts();
  if (!locked) return locked.error();
  std::set<std::string> stored;
  for (store::AccountRecord& a : *locked) {
    if (!a.lock) continue;
    stored.insert(a.account);
    locks_.put(a.account, *a.lock);
  }
  for (const auto& [account, lock] : locks_.all())
    if (!stored.contains(account)) locks_.erase(account);
  auto blocks = store_.blocks(now);
  if (!blocks) return blocks.error();
  std::set<std::pair<std::string, std::string>> active;
  for (store::Block& b : *blocks) {
    auto key = block_key_from_record(b);
    if (!key) continue;
    active.emplace(b.scope, b.key);
    blocks_.put(*key, std::move(b));
  }
  for (const store::Block& b : blocks_.active(now)) {
    if (active.contains({b.scope, b.key})) continue;
    if (auto key = block_key_from_record(b)) blocks_.erase(*key);
  }
  return {};
}

void ChangesElsewhere::record_changed(const store::RecordChange& change) {
  engine_.apply_change_elsewhere(change);
  applied_.fetch_add(1, std::memory_order_relaxed);
}

void ChangesElsewhere::records_resync() {
  resyncs_.fetch_add(1, std::memory_order_relaxed);
  if (Status s = engine_.resync_records(clock_.now()); !s) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    log_warn_limited("changes_elsewhere",
                     "other nodes' records not reloaded: " + s.error().message);
  }
}

}  // namespace mamori::engine
