#include "store/memory/memory_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mamori::store {
namespace {

TimePoint at(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

LockInfo lock_info(std::string reason, std::int64_t since, std::string by = "") {
  LockInfo l;
  l.reason = std::move(reason);
  l.since = at(since);
  l.by = std::move(by);
  return l;
}

Contact contact(std::string email) {
  Contact c;
  c.email = std::move(email);
  return c;
}

LastLogin last_login(std::int64_t s) {
  LastLogin l;
  l.time = at(s);
  return l;
}

Incident incident(std::string id, std::int64_t started, std::int64_t last_seen,
                  std::vector<std::string> sources = {}) {
  Incident i;
  i.id = std::move(id);
  i.started = at(started);
  i.last_seen = at(last_seen);
  i.sources = std::move(sources);
  return i;
}

Block block(std::string key, std::int64_t since, std::int64_t until) {
  Block b;
  b.scope = "ip";
  b.key = std::move(key);
  b.since = at(since);
  b.until = at(until);
  return b;
}

ListEntry list_entry(std::string id, std::string target, std::int64_t created) {
  ListEntry e;
  e.id = std::move(id);
  e.target = std::move(target);
  e.created = at(created);
  return e;
}

OutboxItem outbox_item(std::string id, std::int64_t next_attempt,
                       OutboxChannel channel = OutboxChannel::kEmail) {
  OutboxItem i;
  i.id = std::move(id);
  i.channel = channel;
  i.next_attempt = at(next_attempt);
  return i;
}

ActivityRecord failure(std::string account, std::int64_t s) {
  ActivityRecord r;
  r.account = std::move(account);
  r.time = at(s);
  r.type = EventType::kLoginResult;
  r.ip = *IpAddress::parse("203.0.113.7");
  r.success = false;
  return r;
}

TEST(MemoryStore, EveryWriteIsCommittedWhenItReturns) {
  MemoryStore s;
  const WriteTicket a = s.put_lock("alice", lock_info("brute_force", 1));
  const WriteTicket b = s.put_contact("alice", contact("a@example.org"));
  EXPECT_LT(a, b);
  EXPECT_EQ(s.committed(), b);
  EXPECT_TRUE(s.wait(b));
  bool called = false;
  s.on_committed(b, [&](const Status& st) { called = bool(st); });
  EXPECT_TRUE(called);
  int in_batch = 0;
  s.together([&] { in_batch += s.put_last_login("bob", last_login(2)) > b; });
  EXPECT_EQ(in_batch, 1);
}

TEST(MemoryStore, AccountsKeepTheirRowAfterTheLockIsCleared) {
  MemoryStore s;
  EXPECT_FALSE(s.account("alice")->has_value());
  s.put_lock("alice", lock_info("brute_force", 1, "brute_force"));
  s.put_lock("aaron", lock_info("operator", 2));
  s.put_contact("carol", contact("c@example.org"));
  auto locked = s.locked_accounts();
  ASSERT_TRUE(locked);
  ASSERT_EQ(locked->size(), 2u);
  EXPECT_EQ((*locked)[0].account, "aaron");  // by account
  EXPECT_EQ((*locked)[1].lock->by, "brute_force");
  s.clear_lock("alice");
  s.clear_lock("nobody");  // changes nothing
  EXPECT_EQ(s.locked_accounts()->size(), 1u);
  auto alice = s.account("alice");
  ASSERT_TRUE(alice && alice->has_value());
  EXPECT_FALSE((*alice)->lock.has_value());
  EXPECT_FALSE(s.account("nobody")->has_value());
  EXPECT_EQ((*s.account("carol"))->contact.email, "c@example.org");
}

TEST(MemoryStore, IncidentAccountsMergeAsTheSqliteStoreDoes) {
  MemoryStore s;
  Incident i = incident("i1", 10, 20, {"198.51.100.1"});
  s.put_incident(i);
  s.put_incident_counts({"i1", at(20), 1, 0}, IncidentAccount{"bob", at(15), at(15), false});
  s.put_incident_account("i1", IncidentAccount{"bob", at(12), at(18), true});
  s.put_incident_account("i1", IncidentAccount{"bob", at(14), at(16), false});
  s.put_incident_account("i1", IncidentAccount{"amy", at(11), at(11), false});
  auto accounts = s.incident_accounts("i1");
  ASSERT_TRUE(accounts);
  ASSERT_EQ(accounts->size(), 2u);
  EXPECT_EQ((*accounts)[0].account, "amy");  // by first_seen
  const IncidentAccount& bob = (*accounts)[1];
  EXPECT_EQ(bob.first_seen, at(12));
  EXPECT_EQ(bob.last_seen, at(18));
  EXPECT_TRUE(bob.login_succeeded);
  s.put_incident(incident("i2", 30, 40));
  auto recent = s.incidents(at(20));
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].id, "i2");  // newest last_seen first
  EXPECT_EQ(s.incidents(at(21))->size(), 1u);
  auto of_bob = s.incidents_for_account("bob");
  ASSERT_EQ(of_bob->size(), 1u);
  EXPECT_EQ((*of_bob)[0].sources, std::vector<std::string>{"198.51.100.1"});
  EXPECT_FALSE(s.incident("i3")->has_value());
}

TEST(MemoryStore, BlocksAreReplacedByScopeAndKeyAndEndByTheirTime) {
  MemoryStore s;
  s.put_block(block("203.0.113.1", 5, 50));
  s.put_block(block("203.0.113.2", 1, 20));
  s.put_block(block("203.0.113.1", 6, 60));
  auto live = s.blocks(at(10));
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].key, "203.0.113.2");  // by since
  EXPECT_EQ((*live)[1].until, at(60));
  EXPECT_EQ(s.blocks(at(20))->size(), 1u);  // until must be after now
  s.prune_blocks(at(21));
  s.delete_block("ip", "203.0.113.1");
  EXPECT_TRUE(s.blocks(at(0))->empty());
}

TEST(MemoryStore, ListEntriesComeInTheOrderTheyWereMade) {
  MemoryStore s;
  s.put_list_entry(list_entry("b", "203.0.113.0/24", 2));
  s.put_list_entry(list_entry("a", "account:eve", 2));
  s.put_list_entry(list_entry("c", "country:XX", 1));
  auto entries = s.list_entries();
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].id, "c");
  EXPECT_EQ((*entries)[1].id, "a");  // same time: by id
  s.delete_list_entry("a");
  EXPECT_EQ(s.list_entries()->size(), 2u);
}

TEST(MemoryStore, ProfilesRoundTripAndUnknownAccountsHaveAnEmptyOne) {
  MemoryStore s;
  EXPECT_TRUE(s.profile("alice")->empty());
  AccountProfile p;
  p.countries = {"JP", "US"};
  p.devices.emplace_back();
  p.devices.back().key = "ua:firefox/linux";
  s.put_profile("alice", p);
  p.countries.clear();  // the store kept its own copy
  auto got = s.profile("alice");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->countries, (std::vector<std::string>{"JP", "US"}));
  ASSERT_EQ(got->devices.size(), 1u);
  EXPECT_EQ(got->devices[0].key, "ua:firefox/linux");
}

// A profile written again replaces the stored text in place: a shorter
// one leaves nothing of the longer one behind, and each account keeps its own.
TEST(MemoryStore, AProfileWrittenAgainReplacesTheWholeOfTheLastOne) {
  MemoryStore s;
  AccountProfile p;
  p.countries = {"JP", "US", "DE"};
  for (int i = 0; i < 3; ++i) {
    p.devices.emplace_back();
    p.devices.back().key = "ua:device-" + std::to_string(i);
  }
  s.put_profile("alice", p);
  AccountProfile other;
  other.countries = {"FR"};
  s.put_profile("bob", other);
  AccountProfile shorter;
  shorter.countries = {"KR"};
  s.put_profile("alice", shorter);
  auto got = s.profile("alice");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->countries, (std::vector<std::string>{"KR"}));
  EXPECT_TRUE(got->devices.empty());
  auto bob = s.profile("bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->countries, (std::vector<std::string>{"FR"}));
}

TEST(MemoryStore, ActivityIsKeptNewestFirstOrDroppedWhenAsked) {
  MemoryStore kept;
  kept.append_activity(failure("alice", 10));
  kept.append_activity(failure("bob", 11));
  kept.append_activity(failure("alice", 12));
  ActivityRecord ok = failure("alice", 13);
  ok.success = true;
  kept.append_activity(ok);
  auto alice = kept.activity("alice", at(11), 10);
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].time, at(13));
  std::vector<std::string> failed;
  ASSERT_TRUE(kept.failed_logins_since(
      at(0), 2, [&](const ActivityRecord& r) { failed.push_back(r.account); }));
  EXPECT_EQ(failed, (std::vector<std::string>{"bob", "alice"}));  // the newest 2, oldest first
  kept.prune_activity(at(12));
  EXPECT_EQ(kept.activity("alice", at(0), 10)->size(), 2u);

  MemoryStore dropped(MemoryStoreOptions{.keep_activity = false});
  EXPECT_GT(dropped.append_activity(failure("alice", 10)), 0u);
  EXPECT_EQ(dropped.activity_appended(), 1u);
  EXPECT_TRUE(dropped.activity("alice", at(0), 10)->empty());
}

TEST(MemoryStore, OutboxItemsMoveOnlyFromPending) {
  MemoryStore s;
  s.enqueue_outbox(outbox_item("m2", 5));
  s.enqueue_outbox(outbox_item("m1", 3, OutboxChannel::kWebhook));
  s.enqueue_outbox(outbox_item("m1", 1));  // ignored: the id exists
  auto due = s.due_outbox(at(10), 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "m1");
  EXPECT_EQ((*due)[0].channel, OutboxChannel::kWebhook);
  s.outbox_retry("m1", at(20), "timeout");
  s.outbox_delivered("m2", at(6));
  s.outbox_retry("m2", at(30), "late");  // delivered: unchanged
  auto counts = s.outbox_counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending[std::size_t(OutboxChannel::kWebhook)], 1);
  EXPECT_EQ(counts->pending[std::size_t(OutboxChannel::kEmail)], 0);
  EXPECT_EQ(counts->next_attempt, at(20));
  s.outbox_failed("m1", at(21), "gave up");
  counts = s.outbox_counts();
  EXPECT_EQ(counts->failed[std::size_t(OutboxChannel::kWebhook)], 1);
  EXPECT_FALSE(counts->next_attempt.has_value());
  s.prune_outbox(at(22));
  EXPECT_TRUE(s.due_outbox(at(100), 10)->empty());
  EXPECT_EQ(s.outbox_counts()->failed[std::size_t(OutboxChannel::kWebhook)], 0);
}

TEST(MemoryStore, AuditPagesNewestFirst) {
  MemoryStore s;
  for (int i = 0; i < 5; ++i) {
    AuditRecord r;
    r.id = "a" + std::to_string(i);
    r.time = at(i);
    r.actor = "ops";
    r.action = i % 2 ? "list_add" : "account_lock";
    s.append_audit(r);
  }
  AuditQuery q;
  q.limit = 2;
  auto page = s.audit(q);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "a4");
  q.before = (*page)[1].id;
  page = s.audit(q);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "a2");
  q = AuditQuery{};
  q.action = "list_add";
  q.since = at(2);
  page = s.audit(q);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "a3");
}

TEST(MemoryStore, OwnerActionsKeepTheirFirstTimeAndTotpIsReplacedWhole) {
  MemoryStore s;
  s.put_owner_action("nonce", "alice", at(1));
  s.put_owner_action("nonce", "alice", at(2));
  EXPECT_EQ(*s.owner_action("nonce").value(), at(1));
  EXPECT_FALSE(s.owner_action("other")->has_value());
  // A claim records a key once: the second claim of it gets none.
  auto first = s.claim_owner_action("link", "bob", at(3));
  ASSERT_TRUE(first && first->has_value());
  auto second = s.claim_owner_action("link", "bob", at(4));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ(*s.owner_action("link").value(), at(3));
  EXPECT_FALSE(s.claim_owner_action("nonce", "alice", at(5))->has_value());
  TotpRecord t;
  t.account = "alice";
  t.sealed_secret = {1, 2};
  t.last_step = 7;
  s.put_totp(t);
  EXPECT_EQ((*s.totp("alice"))->last_step, 7);
  s.delete_totp("alice");
  EXPECT_FALSE(s.totp("alice")->has_value());
}

}  // namespace
TEST(MemoryStore, OperatorsAreReplacedWholeAndListedByName) {
  MemoryStore s;
  OperatorRecord r;
  r.name = "yuki";
  r.password_hash = "h1";
  s.put_operator(r);
  r.password_hash = "h2";
  s.put_operator(r);
  r.name = "aki";
  s.put_operator(r);
  ASSERT_EQ((*s.operator_account("yuki"))->password_hash, "h2");
  auto all = s.operator_accounts();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "aki");
  s.delete_operator("yuki");
  EXPECT_FALSE(s.operator_account("yuki")->has_value());
  EXPECT_EQ(s.operator_accounts()->size(), 1u);
}

}  // namespace mamori::store
