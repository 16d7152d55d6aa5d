// Test harness for the engine: an EmbeddedStore in a fresh temporary directory,
// an Engine over it, and helpers that build events with times the test sets.
#ifndef MAMORI_TESTS_UNIT_ENGINE_ENGINE_HARNESS_H_
#define MAMORI_TESTS_UNIT_ENGINE_ENGINE_HARNESS_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/decision.h"
#include "core/event.h"
#include "core/ip_address.h"
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "store/embedded/embedded_store.h"
#include "testing/temp_dir.h"

namespace mamori::engine::testing {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-11-23T12:00:00Z: every test's time zero.
inline const TimePoint kT0 = from_unix_ms(1'795'435'200'000);

inline IpAddress ip(std::string_view text) {
  auto r = IpAddress::parse(text);
  if (!r) {
    ADD_FAILURE() << "bad IP in test: " << text;
    return IpAddress();
  }
  return *r;
}

inline std::string reasons_of(const Decision& d) {
  std::string s;
  for (int i = 0; i < d.reason_count(); ++i) {
    if (!s.empty()) s += ",";
    s += to_string(d.reason(i));
  }
  return s;
}

// "deny[brute_force]" for readable failures.
inline std::string describe(const Decision& d) {
  return std::string(to_string(d.action())) + "[" + reasons_of(d) + "]";
}

using mamori::testing::TempDir;

class EngineHarness {
 public:
  explicit EngineHarness(EngineConfig config = {}, store::EmbeddedStoreOptions store_options = {})
      : config_(config), store_options_(store_options) {
    open_store();
    engine_ = std::make_unique<Engine>(config_, *store_, next_seed());
  }
  ~EngineHarness() {
    engine_.reset();
    store_.reset();
  }
  EngineHarness(const EngineHarness&) = delete;
  EngineHarness& operator=(const EngineHarness&) = delete;

  Engine& engine() { return *engine_; }
  store::EmbeddedStore& store() { return *store_; }
  std::string db_path() const { return dir_.db(); }
  const EngineConfig& config() const { return config_; }

  Outcome process(const Event& e) {
    Outcome o = engine_->process(e);
    note(o.writes.last);
    return o;
  }

  static Event event(EventType type, std::string_view account, std::string_view from, TimePoint t,
                     std::string_view pwhash = "") {
    Event e;
    e.type = type;
    e.account = std::string(account);
    e.ip = ip(from);
    e.time = t;
    e.pwhash = std::string(pwhash);
    return e;
  }

  Decision attempt(std::string_view account, std::string_view from, TimePoint t,
                   std::string_view pwhash = "") {
    return process(event(EventType::kLoginAttempt, account, from, t, pwhash)).decision;
  }
  Decision fail(std::string_view account, std::string_view from, TimePoint t,
                std::string_view pwhash = "") {
    return process(event(EventType::kLoginResult, account, from, t, pwhash)).decision;
  }
  Decision succeed(std::string_view account, std::string_view from, TimePoint t, bool mfa = false) {
    Event e = event(EventType::kLoginResult, account, from, t);
    e.success = true;
    e.mfa = mfa;
    return process(e).decision;
  }
  Decision account_event(EventType type, std::string_view account, std::string_view from,
                         TimePoint t) {
    return process(event(type, account, from, t)).decision;
  }

  store::ListEntry add_list(store::ListKind kind, std::string_view target, TimePoint now,
                            Duration ttl = Duration(0)) {
    store::WriteTicket t = 0;
    auto r = engine_->lists().add(kind, target, "test", ttl, now, engine_->ids().next(now), t);
    if (!r) {
      ADD_FAILURE() << "list add " << target << ": " << r.error().message;
      return {};
    }
    note(t);
    return *r;
  }
  void lock(const std::string& account, bool require_password_reset, TimePoint now) {
    note(engine_->lock(account, "account_locked", require_password_reset, "operator", now).last);
  }
  void unlock(const std::string& account, TimePoint now) {
    note(engine_->unlock(account, "released", now).last);
  }

  // Waits until every write made so far is committed.
  void sync() {
    if (last_ticket_ == 0) return;
    Status s = store_->wait(last_ticket_);
    EXPECT_TRUE(s.ok()) << s.error().message;
  }

  // A fresh Engine on the same store, loaded as at start.
  void restart_engine(TimePoint now) {
    sync();
    engine_ = std::make_unique<Engine>(config_, *store_, next_seed());
    Status s = engine_->load(now);
    EXPECT_TRUE(s.ok()) << s.error().message;
  }

  // As after a process restart: the store is closed and opened again.
  void restart_process(TimePoint now) {
    sync();
    engine_.reset();
    store_.reset();
    last_ticket_ = 0;
    open_store();
    engine_ = std::make_unique<Engine>(config_, *store_, next_seed());
    Status s = engine_->load(now);
    EXPECT_TRUE(s.ok()) << s.error().message;
  }

  // ---- store reads (after sync) ----
  std::vector<store::Incident> incidents() {
    sync();
    auto r = store_->incidents(from_unix_ms(0));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<store::Incident>{};
  }
  std::vector<store::IncidentAccount> incident_accounts(const std::string& id) {
    sync();
    auto r = store_->incident_accounts(id);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<store::IncidentAccount>{};
  }
  std::set<std::string> incident_account_names(const std::string& id) {
    std::set<std::string> out;
    for (const auto& a : incident_accounts(id)) out.insert(a.account);
    return out;
  }
  std::optional<store::IncidentAccount> incident_account(const std::string& id,
                                                         std::string_view account) {
    for (auto& a : incident_accounts(id))
      if (a.account == account) return a;
    return std::nullopt;
  }
  std::vector<store::Block> stored_blocks(TimePoint now) {
    sync();
    auto r = store_->blocks(now);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<store::Block>{};
  }
  std::optional<store::LockInfo> stored_lock(std::string_view account) {
    sync();
    auto r = store_->account(account);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok() || !*r) return std::nullopt;
    return (**r).lock;
  }

 private:
  void open_store() {
    auto r = store::EmbeddedStore::open(dir_.path(), store_options_);
    if (!r) {
      ADD_FAILURE() << r.error().code << ": " << r.error().message;
      std::abort();
    }
    store_ = std::move(*r);
  }
  void note(store::WriteTicket t) { last_ticket_ = std::max(last_ticket_, t); }
  std::uint32_t next_seed() { return seed_ += 1'000'000; }

  TempDir dir_;
  EngineConfig config_;
  store::EmbeddedStoreOptions store_options_;
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<Engine> engine_;
  store::WriteTicket last_ticket_ = 0;
  std::uint32_t seed_ = 0;
};

// Checks for decisions; used through EXPECT_DECISION / EXPECT_ALLOWED, which
// evaluate their argument once and accept further `<<` context.
inline ::testing::AssertionResult decided(const Decision& d, Action action, Reason why) {
  if (d.action() == action && d.has(why)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << to_string(action) << "[" << to_string(why)
                                       << "...], got " << describe(d);
}
inline ::testing::AssertionResult allowed(const Decision& d) {
  if (d.action() == Action::kAllow) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected allow, got " << describe(d);
}
#define EXPECT_DECISION(d, act, why) \
  EXPECT_TRUE(::mamori::engine::testing::decided((d), (act), (why)))
#define EXPECT_ALLOWED(d) EXPECT_TRUE(::mamori::engine::testing::allowed(d))

// A successful SMTP AUTH login (Postfix's SASL, what mail_geography counts).
inline Event smtp_auth_login(std::string_view account, std::string_view from, TimePoint t) {
  Event e = EngineHarness::event(EventType::kLoginResult, account, from, t);
  e.success = true;
  e.protocol = "smtp";
  return e;
}

// A Locator from a table of IP text to country code, for the engine tests.
class TableLocator final : public Locator {
 public:
  explicit TableLocator(std::map<std::string, std::string> countries)
      : countries_(std::move(countries)) {}
  Location locate(const IpAddress& a) const override {
    Location l;
    auto it = countries_.find(a.to_string());
    if (it != countries_.end()) l.country = it->second;
    return l;
  }

 private:
  std::map<std::string, std::string> countries_;
};

// Keeps the owner notices and operator alerts the engine asks to send.
class RecordingEffects final : public Effects {
 public:
  Queued notify_owner(const OwnerNotice& n) override {
    notices.push_back(n);
    return {0, true};
  }
  store::WriteTicket alert(const Alert& a) override {
    alerts.push_back(a);
    return 0;
  }
  std::vector<OwnerNotice> notices;
  std::vector<Alert> alerts;
};

}  // namespace mamori::engine::testing

#endif  // MAMORI_TESTS_UNIT_ENGINE_ENGINE_HARNESS_H_
