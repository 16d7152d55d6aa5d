#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/log.h"
#include "engine/device.h"
#include "engine/login_risk.h"
#include "engine/new_device.h"
#include "engine/profile_update.h"

namespace mamori::engine {

int risk_of(Reason r) {
  switch (r) {
    case Reason::kDenyList: return kRiskDenyList;
    case Reason::kAccountLocked: return kRiskAccountLocked;
    case Reason::kCredentialStuffing: return kRiskCredentialStuffing;
    case Reason::kPasswordSpray: return kRiskPasswordSpray;
    case Reason::kDistributedStuffing:
      return kRiskDistributedStuffing;
    case Reason::kBruteForce: return kRiskBruteForce;
    case Reason::kAccountUnderAttack: return kRiskAccountUnderAttack;
    case Reason::kIpFailures: return kRiskIpFailures;
    case Reason::kNetworkFailures:
      return kRiskNetworkFailures;
    case Reason::kNewDevice: return kRiskNewDevice;
    case Reason::kNewLocation: return kRiskNewLocation;
    case Reason::kAnonymousNetwork: return kRiskAnonymousNetwork;
    case Reason::kImpossibleTravel: return kRiskImpossibleTravel;
    case Reason::kDormantAccount: return kRiskDormantAccount;
    case Reason::kRiskyChange: return kRiskRiskyChange;
    case Reason::kMessageFanout: return kRiskMessageFanout;
    case Reason::kMailGeography: return kRiskMailGeography;
    case Reason::kMailVolume: return kRiskMailVolume;
    case Reason::kDnsbl: return kRiskDnsbl;
    default: return 0;
  }
}

struct Engine::Context {
  const Event& e;
  const EngineConfig& config;  // the snapshot this event is judged by
  Outcome& out;
  Location where;  // e.ip's location (empty without a locator)
  std::shared_ptr<const ListIndex> lists;
  std::optional<store::LockInfo> lock;
  bool allow_listed = false;
  std::vector<Finding> findings;
  std::string incident_id;  // the incident this event opened or touched, if any
  // When the causes of each refusing action end (delay and deny): the
  // latest end, or none when a cause has no end.
  struct Ends {
    bool any = false, endless = false;
    TimePoint latest{};
  };
  std::array<Ends, kActionCount> ends{};
  // A successful login from a source distributed_stuffing finds hot.
  bool hot_source = false;

  Decision& d() { return out.decision; }
  // Adds `r` at action `a` and records when that cause ends (nullopt: never).
  void refuse(Action a, Reason r, int risk, std::optional<TimePoint> until) {
    d().add(a, r, risk);
    Ends& x = ends[std::size_t(a)];
    x.any = true;
    if (!until) x.endless = true;
    else if (*until > x.latest) x.latest = *until;
  }
  // Sets out.retry_after from the causes of the decision's action.
  void settle_retry_after() {
    const Action a = d().action();
    if (a != Action::kDelay && a != Action::kDeny) return;
    const Ends& x = ends[std::size_t(a)];
    if (!x.any || x.endless) return;
    out.retry_after = std::max(Duration::zero(), std::chrono::duration_cast<Duration>(x.latest - e.time));
  }
  void wrote(store::WriteTicket t) { out.writes.add(t); }
  void wrote(const store::WriteSpan& s) { out.writes.add(s); }
};

Engine::Engine(const EngineConfig& config, store::Store& store, std::uint32_t id_seed)
    : config_(std::make_shared<const EngineConfig>(config)),
      store_(store),
      ids_(id_seed),
      budget_(config.memory_budget_bytes),
      brute_force_(budget_),
      account_under_attack_(budget_),
      failing_ips_(budget_),
      failing_networks_(budget_),
      ip_failures_(failing_ips_),
      credential_stuffing_(failing_ips_, failing_networks_),
      network_failures_(failing_networks_),
      password_spray_(budget_),
      distributed_stuffing_(budget_),
      mail_volume_(budget_),
      mail_geography_(budget_),
      lists_(store, store),
      incidents_(config.incidents, store, ids_),
      profiles_(store, budget_),
      message_fanout_(budget_) {
  failure_listener_ = store_.on_failed_commit([this](const store::WriteSpan& failed, const Error&) {
    profiles_.forget(failed);
    incidents_.rewrite_after_failure();
  });
  // Another node's write came between a profile's read and this node's
  // write of it (a store shared by several nodes): both are kept.
  store_.on_profile_conflict(
      [this](const store::AccountProfile& stored, const store::AccountProfile& mine) {
        return merge_profiles(stored, mine, config_.load()->profiles);
      },
      [this](const std::string& account, std::uint64_t version) {
        profiles_.merged(account, version);
      });
}

Engine::~Engine() {
  {
    std::lock_guard lock(outlet_->mu);
    outlet_->sink = nullptr;
  }
  store_.on_profile_conflict({}, {});
  store_.remove_failure_listener(failure_listener_);
}

void Engine::reconfigure(const EngineConfig& config) {
  config_.store(std::make_shared<const EngineConfig>(config));
}

void Engine::revert_lock_if_not_stored(store::WriteTicket t, const std::string& account,
                                       std::optional<store::LockInfo> after,
                                       std::optional<store::LockInfo> before) {
  store_.on_committed(
      t, [this, account, after = std::move(after), before = std::move(before)](const Status& s) {
        if (!s) locks_.revert(account, after, before);
      });
}

void Engine::revert_block_if_not_stored(store::WriteTicket t, const BlockKey& key,
                                        std::optional<store::Block> after,
                                        std::optional<store::Block> before) {
  store_.on_committed(
      t, [this, key, after = std::move(after), before = std::move(before)](const Status& s) {
        if (!s) blocks_.revert(key, after, before);
      });
}

Result<BlockKey> block_key_from_record(const store::Block& b) {
  auto scope = block_scope_from_string(b.scope);
  auto bad = [&] { return make_error("invalid_block", "cannot read block " + b.scope + " " + b.key); };
  if (!scope) return bad();
  switch (*scope) {
    case BlockScope::kIp:
    case BlockScope::kIpDelay: {
      auto ip = IpAddress::parse(b.key);
      if (!ip) return bad();
      return BlockKey{*scope, *ip, 0};
    }
    case BlockScope::kNetwork:
    case BlockScope::kNetworkDelay: {
      auto c = Cidr::parse(b.key);
      if (!c) return bad();
      return *scope == BlockScope::kNetwork ? BlockKey::network(c->network())
                                            : BlockKey::network_delay(c->network());
    }
    case BlockScope::kAccountIp: {
      const auto bar = b.key.rfind('|');
      if (bar == std::string::npos) return bad();
      auto ip = IpAddress::parse(std::string_view(b.key).substr(bar + 1));
      if (!ip) return bad();
      return BlockKey::account_ip(std::string_view(b.key).substr(0, bar), *ip);
    }
    case BlockScope::kPwhash:
      if (!b.key.starts_with("pwhash:")) return bad();
      return BlockKey::pwhash(std::string_view(b.key).substr(7));
    case BlockScope::kAccount:
      return BlockKey::account(b.key);
    case BlockScope::kFingerprint:
      return BlockKey::fingerprint(b.key);
  }
  return bad();
}

namespace {
// From this many blocks on, load() fills the block table from two threads.
constexpr std::size_t kParallelFill = 10'000;
}  // namespace

Status Engine::load(TimePoint now, bool warm_windows,
                    const std::function<void(const BlocksLoaded&)>& blocks_loaded) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::steady_clock;
  if (Status s = lists_.load(); !s) return s;
  const auto reading = steady_clock::now();
  auto blocks = store_.blocks(now);
  if (!blocks) return blocks.error();
  const auto filling = steady_clock::now();
  blocks_.reserve(blocks->size());
  auto fill = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      store::Block& b = (*blocks)[i];
      auto key = block_key_from_record(b);
      if (key) blocks_.load(*key, std::move(b));
    }
  };
  // Many are filled in from two threads (the table's shards lock apart): on
  // a busy machine the second thread gets a share of the CPU of its own.
  const std::size_t n = blocks->size();
  if (n >= kParallelFill) {
    std::thread half([&] { fill(n / 2, n); });
    fill(0, n / 2);
    half.join();
  } else {
    fill(0, n);
  }
  if (blocks_loaded)
    blocks_loaded(BlocksLoaded{blocks->size(), duration_cast<microseconds>(filling - reading),
                               duration_cast<microseconds>(steady_clock::now() - filling)});
  auto locked = store_.locked_accounts();
  if (!locked) return locked.error();
  for (store::AccountRecord& a : *locked)
    if (a.lock) locks_.put(a.account, *a.lock);
  if (Status s = incidents_.load(now); !s) return s;
  if (!warm_windows) return {};
  auto warmed = warm(now);
  if (!warmed) return warmed.error();
  return {};
}

Result<std::size_t> Engine::warm(TimePoint now, std::size_t max_events) {
  const std::shared_ptr<const EngineConfig> snapshot = config_.load();
  const EngineConfig& config = *snapshot;
  const Duration longest = std::max({config.brute_force.window, config.account_under_attack.window,
                                     config.ip_failures.window, config.credential_stuffing.window,
                                     config.network_failures.window, config.password_spray.window});
  const std::shared_ptr<const ListIndex> index = lists_.index();
  const ListIndex& lists = *index;
  std::size_t n = 0;
  std::vector<Finding> ignored;
  Event e;
  e.type = EventType::kLoginResult;
  Status s =
      store_.failed_logins_since(now - longest, max_events, [&](const store::ActivityRecord& r) {
        if (lists.match_ip(store::ListKind::kAllow, r.ip, r.time) ||
            lists.match_account(store::ListKind::kAllow, r.account, r.time))
          return;  // not counted live either
        e.account = r.account;
        e.ip = r.ip;
        e.time = r.time;
        ignored.clear();
        brute_force_.on_failure(config.brute_force, e, ignored);
        account_under_attack_.on_failure(config.account_under_attack, e, ignored);
        ip_failures_.on_failure(config.ip_failures, e, ignored);
        credential_stuffing_.on_failure(config.credential_stuffing, e, ignored);
        network_failures_.on_failure(config.network_failures, e, ignored);
        ++n;
      });
  if (!s) return s.error();
  return n;
}

store::WriteTicket Engine::put_block(const BlockKey& key, store::Block b) {
  std::optional<store::Block> before;
  store::Block stored = blocks_.put(key, std::move(b), &before);
  const store::WriteTicket t = store_.put_block(stored);
  revert_block_if_not_stored(t, key, std::move(stored), std::move(before));
  return t;
}

void Engine::touch_incident(Context& c, const BlockKey& key) {
  // Read in full (the incident's id) only here, for a block with an incident.
  const std::optional<store::Block> active = blocks_.find(key, c.e.time);
  if (!active || active->incident_id.empty()) return;
  const store::Block& b = *active;
  const bool succeeded = c.e.type == EventType::kLoginResult && c.e.success;
  store::WriteTicket t = 0;
  std::vector<std::string> compromised;
  incidents_.touch(b.incident_id, c.e.account, succeeded, c.e.time, t, &compromised);
  c.wrote(t);
  c.incident_id = b.incident_id;
  if (!compromised.empty()) secure_compromised(c, b.reason, b.incident_id, compromised);
}

void Engine::check_blocks(Context& c) {
  const Event& e = c.e;
  auto deny_if = [&](const BlockKey& key) {
    if (auto b = blocks_.hit(key, e.time)) {
      c.refuse(b->action, b->reason, risk_of(b->reason), b->until);
      if (b->incident) touch_incident(c, key);
    }
  };
  deny_if(BlockKey::ip_deny(e.ip));
  deny_if(BlockKey::network(e.ip));
  deny_if(BlockKey::account_ip(e.account, e.ip));
  if (!e.pwhash.empty()) deny_if(BlockKey::pwhash(e.pwhash));
  // (The fingerprint is worked out only when some fingerprint is denied.)
  if (blocks_.size(BlockScope::kFingerprint) != 0) {
    if (const std::string fp = agent_fingerprint_of(e); !fp.empty())
      deny_if(BlockKey::fingerprint(fp));
    if (const std::string fp = client_fingerprint_key(e); !fp.empty())
      deny_if(BlockKey::fingerprint(fp));
  }
  if (auto b = blocks_.hit(BlockKey::ip_delay(e.ip), e.time)) {
    c.refuse(Action::kDelay, Reason::kIpFailures, risk_of(Reason::kIpFailures), b->until);
    c.d().set_delay_ms(c.config.ip_failures.delay_ms);
  }
  // (The network's address is masked only when some network is delayed.)
  if (blocks_.size(BlockScope::kNetworkDelay) != 0) {
    if (auto b = blocks_.hit(BlockKey::network_delay(e.ip), e.time)) {
      c.refuse(Action::kDelay, Reason::kNetworkFailures, risk_of(Reason::kNetworkFailures),
               b->until);
      c.d().set_delay_ms(c.config.network_failures.delay_ms);
    }
  }
  const bool passed_mfa = e.type == EventType::kLoginResult && e.success && e.mfa;
  const bool failed_result = e.type == EventType::kLoginResult && !e.success;
  if (!passed_mfa && !failed_result) {
    if (auto b = blocks_.hit(BlockKey::account(e.account), e.time))
      c.d().add(Action::kChallenge, Reason::kAccountUnderAttack, risk_of(b->reason));
  }
}

void Engine::apply(Context& c, Finding& f) {
  const TimePoint now = c.e.time;
  if (f.action == Action::kDelay) c.d().set_delay_ms(f.delay_ms);
  // A source over its threshold reports again on every failure. While its
  // block has more than half of its time left, record the touch only: no
  // new block write, no incident re-open. The same holds for a block set on
  // the same key by another detector, as strong, when this finding opens no
  // incident (two detectors firing on one network do not take turns
  // rewriting its block on every failure).
  if (auto active = blocks_.hit(f.block, now);
      active && (active->reason == f.reason || (!f.incident && active->action >= f.action)) &&
      active->until - now > f.block_for / 2) {
    c.refuse(f.action, f.reason, f.risk, active->until);
    if (active->incident) touch_incident(c, f.block);
    return;
  }
  c.refuse(f.action, f.reason, f.risk, now + f.block_for);
  store::Block b;
  b.scope = std::string(to_string(f.block.scope));
  b.key = f.target;
  b.reason = f.reason;
  b.action = f.action;
  b.since = now;
  b.until = now + f.block_for;
  std::vector<std::string> sources;
  if (f.incident) {
    if (f.other_sources.empty()) {
      sources.push_back(f.source);
    } else {
      for (const IpAddress& ip : f.other_sources) sources.push_back(ip.to_string());
    }
    store::WriteTicket t = 0;
    std::vector<std::string> compromised;
    b.incident_id = incidents_.open(*f.incident, f.incident_key.empty() ? f.target : f.incident_key,
                                    sources, f.accounts, now, t, &compromised);
    c.wrote(t);
    c.incident_id = b.incident_id;
    if (!compromised.empty()) secure_compromised(c, f.reason, b.incident_id, compromised);
  }
  // A spray also denies each source IP that failed with the password hash.
  for (const IpAddress& ip : f.other_sources) {
    store::Block ib = b;
    ib.scope = std::string(to_string(BlockScope::kIp));
    ib.key = ip.to_string();
    c.wrote(put_block(BlockKey::ip_deny(ip), std::move(ib)));
  }
  c.wrote(put_block(f.block, std::move(b)));
}

void Engine::on_failure(Context& c) {
  const Event& e = c.e;
  c.findings.clear();
  const EngineConfig& config = c.config;
  // First: the detectors after it evict from their own tables while the
  // hot state is over its budget, which its few wide entries seldom can.
  DistributedStuffing::Step wave;
  const std::string fingerprint =
      config.distributed_stuffing.enabled ? agent_fingerprint_of(e) : std::string();
  if (config.distributed_stuffing.enabled)
    wave = distributed_stuffing_.on_failure(config.distributed_stuffing, e, c.where.asn,
                                            fingerprint, c.findings);
  brute_force_.on_failure(config.brute_force, e, c.findings);
  account_under_attack_.on_failure(config.account_under_attack, e, c.findings);
  ip_failures_.on_failure(config.ip_failures, e, c.findings);
  credential_stuffing_.on_failure(config.credential_stuffing, e, c.findings);
  // after credential_stuffing (its REQUIRES)
  network_failures_.on_failure(config.network_failures, e, c.findings);
  password_spray_.on_failure(config.password_spray, e, c.findings);
  publish(c, state::ObservationKind::kFailure, 0, fingerprint);
  // distributed_stuffing: the attacker's own narrow network, only during a
  // wave, only in a hot wide prefix (never the wide prefix or the AS).
  if (wave.wave && wave.prefix_hot &&
      credential_stuffing_.network_count_without_success(config.credential_stuffing, e) >=
          config.distributed_stuffing.narrow_threshold)
    c.findings.push_back(distributed_stuffing_.narrow_finding(config.distributed_stuffing, e));
  for (Finding& f : c.findings) {
    // An account challenge is about future logins; this failure is already refused.
    apply(c, f);
  }
  if (wave.wave) on_wave_failure(c, wave);
}

void Engine::on_wave_failure(Context& c, const DistributedStuffing::Step& step) {
  const Event& e = c.e;
  if (step.hot) c.d().add(Action::kAllow, Reason::kDistributedStuffing, kRiskDistributedStuffing);
  // Every account failed during the wave belongs to its incident.
  store::WriteTicket t = 0;
  c.incident_id = incidents_.open(store::IncidentKind::kDistributedStuffing,
                                  std::string(DistributedStuffing::kIncidentKey), step.sources,
                                  step.accounts, e.time, t);
  c.wrote(t);
}

void Engine::on_wave_attempt(Context& c) {
  const Event& e = c.e;
  if (c.d().action() >= Action::kChallenge) return;
  auto p = profiles_.get(e.account);
  if (!p || !is_new_device(*p, device_key(e))) return;  // (a store error: judged without)
  c.d().add(Action::kChallenge, Reason::kDistributedStuffing, kRiskDistributedStuffing);
}

// A successful login, remembered by the detectors whose incidents look
// back on what their sources did before they opened.
void Engine::on_source_success(Context& c) {
  credential_stuffing_.on_success(c.config.credential_stuffing, c.e);
  password_spray_.on_success(c.config.password_spray, c.e);
  std::string fingerprint;
  if (c.config.distributed_stuffing.enabled) {
    fingerprint = agent_fingerprint_of(c.e);
    c.hot_source = distributed_stuffing_.on_success(c.config.distributed_stuffing, c.e, c.where.asn,
                                                    fingerprint);
  }
  publish(c, state::ObservationKind::kSuccess, 0, fingerprint);
}

void Engine::on_account_event(Context& c) {
  const Event& e = c.e;
  switch (e.type) {
    case EventType::kMessageSent:
      if (c.lock) c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
      else on_message(c);
      break;
    case EventType::kMailSent:
      if (c.lock) c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
      else on_mail_sent(c);
      break;
    case EventType::kPasswordChanged:
      if (c.lock && c.lock->password_reset_required) {
        // The owner's reset lifts the lock, unless the change is itself part
        // of the suspicious session (then only an operator or a passed
        // challenge does).
        auto p = profiles_.get(e.account);
        if (p && suspicious_within(*p, e.time, c.config.risky_change.window)) {
          c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
          break;
        }
        locks_.erase(e.account);
        const store::WriteTicket t = store_.clear_lock(e.account);
        revert_lock_if_not_stored(t, e.account, std::nullopt, c.lock);
        c.wrote(t);
        c.lock.reset();
        c.d().add(Action::kAllow, Reason::kPasswordReset);
        break;
      }
      on_risky_change(c);
      break;
    case EventType::kEmailChanged:
    case EventType::kMfaEnabled:
    case EventType::kMfaDisabled:
      if (c.lock) c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
      else on_risky_change(c);
      break;
    case EventType::kChallengePassed:
      on_challenge_passed(c);
      break;
    default:
      break;
  }
}

void Engine::on_mail_sent(Context& c) {
  const Event& e = c.e;
  // An allow-listed account (a newsletter sender) has no quota; an
  // allow-listed IP does not lift it (a web mail front end sends for all).
  if (c.lists->match_account(store::ListKind::kAllow, e.account, e.time)) return;
  const MailVolume::Check v =
      mail_volume_.on_send(c.config.mail_volume, e.account, e.time, e.recipient_count, !e.dry_run);
  if (!v.over && !e.dry_run) publish(c, state::ObservationKind::kMailSent, e.recipient_count);
  if (!v.over) return;
  c.refuse(Action::kDeny, Reason::kMailVolume, kRiskMailVolume,
           v.fits_after ? std::optional<TimePoint>(e.time + *v.fits_after) : std::nullopt);
  // Over quota is no sign by itself that someone else sends: the mailbox is
  // touched, not counted compromised (mail_geography counts it).
  store::WriteTicket t = 0;
  c.incident_id = incidents_.open(store::IncidentKind::kMailAbuse, e.account, {e.ip.to_string()},
                                  {{e.account, false, e.time}}, e.time, t);
  c.wrote(t);
}

void Engine::on_mail_login(Context& c) {
  const Event& e = c.e;
  const MailGeography::Spread s =
      mail_geography_.on_login(c.config.mail_geography, e.account, e.ip, c.where.country, e.time);
  publish(c, state::ObservationKind::kMailLogin);
  if (!s.over) return;
  std::string why = "mail_geography: SMTP AUTH logins from " + std::to_string(s.countries.size()) +
                    " countries";
  for (std::size_t i = 0; i < s.countries.size(); ++i) why += (i ? ", " : " (") + s.countries[i];
  if (!s.countries.empty()) why += ")";
  why += " and " + std::to_string(s.ips.size()) + " IPs within an hour";
  lock_for(c, Reason::kMailGeography, std::move(why));
  // Its SMTP AUTH logins succeeded from every one of these places: the
  // mailbox is compromised.
  store::WriteTicket t = 0;
  c.incident_id = incidents_.open(store::IncidentKind::kMailAbuse, e.account, s.ips,
                                  {{e.account, true, e.time}}, e.time, t);
  c.wrote(t);
}

// A successful login: its signals against the account's profile, then what
// the profile learns from it, and the owner's notice.
void Engine::on_success(Context& c) {
  const Event& e = c.e;
  const std::string key = device_key(e);
  // During a distributed_stuffing wave a new device is suspicious by itself.
  const bool wave =
      c.config.distributed_stuffing.enabled && distributed_stuffing_.wave(e.time) && !e.mfa;
  bool raised = false, known_device = false;
  LoginAssessment a;
  auto written = profiles_.modify(e.account, [&](store::AccountProfile& p, TimePoint& persisted) {
    a = assess_login(p, key, c.where, e.time, c.config.login_risk);
    raised = wave && a.new_device;
    if (raised) a.suspicious = true;
    const bool was_empty = p.empty();
    known_device = !was_empty && !a.new_device && !key.empty();
    const std::size_t devices = p.devices.size(), countries = p.countries.size(),
                      asns = p.asns.size();
    const bool was_suspicious = p.suspicious_since.has_value();
    if (a.suspicious && !e.mfa) {
      mark_suspicious(p, a, key, e, c.where);
    } else {
      learn_login(p, key, e, c.where, c.config.profiles);
    }
    record_success(p, e, c.where);
    // What the profile learnt is written at once; the times of a familiar
    // login (last seen, last success) at most every profile_persist_every,
    // so a busy account does not cost a store write per login.
    const bool learnt = was_empty || p.devices.size() != devices ||
                        p.countries.size() != countries || p.asns.size() != asns ||
                        p.suspicious_since.has_value() || was_suspicious || a.new_device ||
                        a.new_location;
    if (!learnt && e.time - persisted < c.config.profiles.persist_every) return false;
    persisted = e.time;
    return true;
  });
  if (!written) {
    log_error_limited("profile write failed",
                      "profile of " + e.account + ": " + written.error().message);
    return;  // judged on the source-side detections alone
  }
  c.wrote(announce_profile(e.account, e.time, *written));
  a.add_to(c.d(), e.mfa);
  if (known_device && c.config.distributed_stuffing.enabled)
    distributed_stuffing_.on_known_device(c.config.distributed_stuffing, e,
                                          agent_fingerprint_of(e));
  if (raised) {
    c.d().add(Action::kChallenge, Reason::kDistributedStuffing, kRiskDistributedStuffing);
    // A new device from one of the wave's hot sources: what the attacker got.
    if (c.hot_source) {
      store::WriteTicket t = 0;
      c.incident_id = incidents_.open(store::IncidentKind::kDistributedStuffing,
                                      std::string(DistributedStuffing::kIncidentKey), {},
                                      {{e.account, true, e.time}}, e.time, t);
      c.wrote(t);
    }
  }
  c.out.new_device = a.new_device;
  c.out.new_location = a.new_location;
  if (a.notify()) notify_new_login(c);
}

void Engine::notify_new_login(Context& c) {
  OwnerNotice n = notice_for(c, NoticeKind::kNewLogin);
  n.new_device = c.out.new_device;
  n.new_location = c.out.new_location;
  notify_owner(c, n);
}

// risky_change: an e-mail, password or second-factor change within the
// window of a suspicious login that no challenge followed.
void Engine::on_risky_change(Context& c) {
  const Event& e = c.e;
  auto p = profiles_.get(e.account);
  if (!p || !suspicious_within(*p, e.time, c.config.risky_change.window)) return;
  // The lock notice goes to the address the owner had before an e-mail
  // change (notice_for).
  lock_for(c, Reason::kRiskyChange);
}

void Engine::on_message(Context& c) {
  const Event& e = c.e;
  const bool over = message_fanout_.on_message(c.config.message_fanout, e);
  publish(c, state::ObservationKind::kMessage, std::uint32_t(e.recipients.size()), {},
          &e.recipients);
  if (!over) return;
  // The window forgets every recipient after its length: an upper bound.
  c.refuse(Action::kDeny, Reason::kMessageFanout, kRiskMessageFanout,
           e.time + c.config.message_fanout.window);
  auto p = profiles_.get(e.account);
  if (!p || !suspicious_within(*p, e.time, c.config.risky_change.window)) return;
  store::WriteTicket t = 0;
  // The fan-out follows a suspicious successful login: taken over.
  c.incident_id = incidents_.open(store::IncidentKind::kMessageFanout, e.account,
                                  {e.ip.to_string()}, {{e.account, true, e.time}}, e.time, t);
  c.wrote(t);
  lock_for(c, Reason::kMessageFanout);
}

void Engine::on_challenge_passed(Context& c) {
  const Event& e = c.e;
  auto p = profiles_.get(e.account);
  if (p && pass_challenge(*p, c.config.profiles))
    c.wrote(announce_profile(e.account, e.time, profiles_.put(e.account, std::move(*p))));
}

// Locks the account on the engine's own finding: password reset required,
// the owner told (notice_for picks the address). `detail` is the lock's
// reason as stored and shown to operators; empty: the reason's word.
void Engine::lock_for(Context& c, Reason why, std::string detail, NoticeKind kind,
                      const std::string& incident_id) {
  const Event& e = c.e;
  store::LockInfo l;
  l.reason = detail.empty() ? std::string(to_string(why)) : std::move(detail);
  l.since = e.time;
  l.password_reset_required = true;
  l.by = std::string(to_string(why));
  locks_.put(e.account, l);
  const store::WriteTicket t = store_.put_lock(e.account, l);
  revert_lock_if_not_stored(t, e.account, l, c.lock);
  c.wrote(t);
  c.d().add(Action::kLock, why, risk_of(why));
  log_warn("locked account " + e.account + ": " + std::string(to_string(why)) + " from " +
           e.ip.to_string());
  bool notified = false;
  c.wrote(notify_locked(e.account, l, e.time, &c, &notified, kind, incident_id));
  c.out.notified = c.out.notified || notified;
  c.lock = std::move(l);
}

void Engine::secure_compromised(Context& c, Reason why, const std::string& incident_id,
                                const std::vector<std::string>& accounts) {
  const EngineConfig& config = c.config;
  const bool reset =
      (why == Reason::kCredentialStuffing && config.credential_stuffing.require_password_reset) ||
      (why == Reason::kPasswordSpray && config.password_spray.require_password_reset);
  if (!reset) return;
  const std::string detail = std::string(to_string(why)) +
                             ": a login from the incident's source succeeded (incident " +
                             incident_id + ")";
  for (const std::string& account : accounts) {
    if (account == c.e.account) {
      if (!c.lock) lock_for(c, why, detail, NoticeKind::kCompromised, incident_id);
      continue;
    }
    // An account the source got into before: locked as lock_for() would,
    // its owner told of this event's source.
    const std::optional<store::LockInfo> before = locks_.find(account);
    if (before) continue;
    store::LockInfo l;
    l.reason = detail;
    l.since = c.e.time;
    l.password_reset_required = true;
    l.by = std::string(to_string(why));
    locks_.put(account, l);
    const store::WriteTicket t = store_.put_lock(account, l);
    revert_lock_if_not_stored(t, account, l, before);
    c.wrote(t);
    log_warn("locked account " + account + ": " + std::string(to_string(why)) + " incident " +
             incident_id);
    if (effects_ == nullptr) continue;
    // The owner reads that the password was used from an address that
    // attacked many accounts (this event's source), and what to do.
    OwnerNotice n = notice_for(c, NoticeKind::kCompromised);
    n.account = account;
    n.to_address.clear();
    n.user_agent.clear();
    n.protocol.clear();
    n.reasons = {why};
    n.password_reset_required = true;
    n.locked = true;
    n.incident_id = incident_id;
    c.wrote(effects_->notify_owner(n).ticket);
  }
}

void Engine::record(Context& c) {
  const Event& e = c.e;
  const Decision& d = c.d();
  if (e.type == EventType::kLoginAttempt && d.action() == Action::kAllow) return;
  if (e.type == EventType::kMailSent && e.dry_run && d.action() == Action::kAllow) return;
  // Built in this thread's scratch record, whose strings keep their buffers
  // from the last event: the store copies the fields into its queue.
  thread_local store::ActivityRecord r;
  r.event_id.assign(c.out.event_id);
  r.time = e.time;
  r.account.assign(e.account);
  r.type = e.type;
  r.ip = e.ip;
  r.country.assign(c.where.country);
  r.city.assign(c.where.city);
  r.user_agent.assign(e.user_agent);
  r.device_id.assign(e.device_id);
  r.protocol.assign(e.protocol);
  r.success.reset();
  if (e.type == EventType::kLoginResult) r.success = e.success;
  r.action = d.action();
  r.reasons.resize(static_cast<std::size_t>(d.reason_count()));
  for (int i = 0; i < d.reason_count(); ++i)
    r.reasons[std::size_t(i)].assign(to_string(d.reason(i)));
  c.wrote(store_.append_activity(r));
}

void Engine::publish(const Context& c, state::ObservationKind kind, std::uint32_t count,
                     std::string_view fingerprint, const std::vector<std::string>* recipients) {
  if (observations_ == nullptr) return;
  // This thread's scratch observation: its strings keep their buffers.
  thread_local state::Observation o;
  o.kind = kind;
  o.time = c.e.time;
  o.ip = c.e.ip;
  o.account.assign(c.e.account);
  o.pwhash.assign(c.e.pwhash);
  o.asn = c.where.asn;
  o.fingerprint.assign(fingerprint);
  o.country.assign(c.where.country);
  o.count = count;
  if (recipients != nullptr)
    o.recipients = *recipients;
  else
    o.recipients.clear();
  observations_->observed(o);
}

void Engine::set_observation_sink(state::ObservationSink* sink) {
  observations_ = sink;
  std::lock_guard lock(outlet_->mu);
  outlet_->sink = sink;
}

store::WriteTicket Engine::announce_profile(const std::string& account, TimePoint time,
                                            store::WriteTicket t) {
  if (observations_ == nullptr || t == 0) return t;
  store_.on_committed(t, [outlet = outlet_, account, time](const Status& s) {
    if (!s) return;  // not stored: nothing changed
    state::Observation o;
    o.kind = state::ObservationKind::kProfile;
    o.time = time;
    o.account = account;
    std::lock_guard lock(outlet->mu);
    if (outlet->sink != nullptr) outlet->sink->observed(o);
  });
  return t;
}

void Engine::observe(const state::Observation& o) {
  if (o.kind == state::ObservationKind::kProfile) {
    profiles_.invalidate(o.account, store_.committed());
    return;
  }
  const std::shared_ptr<const EngineConfig> snapshot = config_.load();
  const EngineConfig& config = *snapshot;
  const std::shared_ptr<const ListIndex> index = lists_.index();
  if (index->match_ip(store::ListKind::kAllow, o.ip, o.time) ||
      index->match_account(store::ListKind::kAllow, o.account, o.time))
    return;
  thread_local Event e;
  thread_local std::vector<Finding> dropped;
  e.type = EventType::kLoginResult;
  e.account.assign(o.account);
  e.ip = o.ip;
  e.time = o.time;
  e.pwhash.assign(o.pwhash);
  e.success = o.kind != state::ObservationKind::kFailure;
  e.protocol.clear();
  dropped.clear();
  if (config.distributed_stuffing.enabled && (o.kind == state::ObservationKind::kFailure ||
                                              o.kind == state::ObservationKind::kSuccess))
    distributed_stuffing_.on_result(config.distributed_stuffing, e);
  switch (o.kind) {
    case state::ObservationKind::kFailure:
      if (config.distributed_stuffing.enabled)
        distributed_stuffing_.on_failure(config.distributed_stuffing, e, o.asn, o.fingerprint,
                                         dropped);
      brute_force_.on_failure(config.brute_force, e, dropped);
      account_under_attack_.on_failure(config.account_under_attack, e, dropped);
      ip_failures_.on_failure(config.ip_failures, e, dropped);
      credential_stuffing_.on_failure(config.credential_stuffing, e, dropped);
      network_failures_.on_failure(config.network_failures, e, dropped);
      password_spray_.on_failure(config.password_spray, e, dropped);
      break;
    case state::ObservationKind::kSuccess:
      credential_stuffing_.on_success(config.credential_stuffing, e);
      password_spray_.on_success(config.password_spray, e);
      if (config.distributed_stuffing.enabled)
        distributed_stuffing_.on_success(config.distributed_stuffing, e, o.asn, o.fingerprint);
      break;
    case state::ObservationKind::kMailLogin:
      mail_geography_.on_login(config.mail_geography, e.account, e.ip, o.country, e.time);
      break;
    case state::ObservationKind::kMailSent:
      mail_volume_.on_send(config.mail_volume, e.account, e.time, o.count, true);
      break;
    case state::ObservationKind::kMessage:
      e.type = EventType::kMessageSent;
      e.recipients = o.recipients;
      message_fanout_.on_message(config.message_fanout, e);
      e.recipients.clear();
      break;
    case state::ObservationKind::kProfile:
      break;  // (above)
  }
  dropped.clear();
}

Outcome Engine::process(const Event& e, const ClientWording* wording) {
  Outcome out;
  out.event_id = e.id.empty() ? ids_.next(e.time) : e.id;
  const std::shared_ptr<const EngineConfig> config = config_.load();
  Context c{e,
            *config,
            out,
            locator_ ? locator_->locate(e.ip) : Location{},
            lists_.index(),
            locks_.find(e.account),
            false,
            {},
            {}};
  const ListIndex& lists = *c.lists;
  c.allow_listed = lists.match_ip(store::ListKind::kAllow, e.ip, e.time) != nullptr ||
                   lists.match_account(store::ListKind::kAllow, e.account, e.time) != nullptr;
  for (const store::ListEntry* deny : {lists.match_ip(store::ListKind::kDeny, e.ip, e.time),
                                       lists.match_account(store::ListKind::kDeny, e.account, e.time)})
    if (deny) c.refuse(Action::kDeny, Reason::kDenyList, kRiskDenyList, deny->expires);

  const bool login = e.type == EventType::kLoginAttempt || e.type == EventType::kLoginResult;
  if (login && blocklist_ && !c.allow_listed && !blocklist_->listed(e.ip).empty())
    c.d().add(Action::kAllow, Reason::kDnsbl, kRiskDnsbl);

  switch (e.type) {
    case EventType::kLoginAttempt:
      if (c.lock) c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
      if (!c.allow_listed) check_blocks(c);
      if (!c.allow_listed && c.config.distributed_stuffing.enabled &&
          distributed_stuffing_.wave(e.time))
        on_wave_attempt(c);
      break;
    case EventType::kLoginResult:
      if (c.config.distributed_stuffing.enabled)
        distributed_stuffing_.on_result(c.config.distributed_stuffing, e);
      if (c.lock) c.refuse(Action::kDeny, Reason::kAccountLocked, kRiskAccountLocked, std::nullopt);
      if (!c.allow_listed) {
        if (e.success)
          on_source_success(c);
        else
          on_failure(c);
        check_blocks(c);
      }
      if (e.success && !c.lock && !c.allow_listed && e.protocol == "smtp" &&
          c.d().action() <= Action::kChallenge)
        on_mail_login(c);
      if (e.success && c.d().action() <= Action::kChallenge) on_success(c);
      break;
    default:
      on_account_event(c);
      break;
  }
  c.settle_retry_after();
  if (wording != nullptr) out.answer = wording->answer(e, out.decision, out.retry_after);
  record(c);
  alert_operator(c);
  decision_counts_.count(out.decision, e.protocol);
  decision_minutes_.count(out.decision, e.time);
  return out;
}

store::WriteSpan Engine::lock(const std::string& account, std::string reason,
                              bool require_password_reset, std::string by, TimePoint now,
                              bool* notified) {
  store::LockInfo l;
  l.reason = std::move(reason);
  l.since = now;
  l.password_reset_required = require_password_reset;
  l.by = std::move(by);
  const std::optional<store::LockInfo> before = locks_.find(account);
  locks_.put(account, l);
  store::WriteSpan writes;
  const store::WriteTicket t = store_.put_lock(account, l);
  revert_lock_if_not_stored(t, account, l, before);
  writes.add(t);
  writes.add(notify_locked(account, l, now, nullptr, notified));
  return writes;
}

// ---- effects ----

OwnerNotice Engine::notice_for(const Context& c, NoticeKind kind) const {
  OwnerNotice n;
  n.kind = kind;
  n.account = c.e.account;
  n.event_id = c.out.event_id;
  n.time = c.e.time;
  n.ip = c.e.ip;
  n.where = c.where;
  n.user_agent = c.e.user_agent;
  n.protocol = c.e.protocol;
  for (int i = 0; i < c.out.decision.reason_count(); ++i)
    n.reasons.push_back(c.out.decision.reason(i));
  // A lock caused by an e-mail change goes to the address the owner still reads.
  if (c.e.type == EventType::kEmailChanged) n.to_address = c.e.old_email;
  return n;
}

void Engine::notify_owner(Context& c, const OwnerNotice& notice) {
  if (effects_ == nullptr) return;
  const Effects::Queued q = effects_->notify_owner(notice);
  c.wrote(q.ticket);
  c.out.notified = c.out.notified || q.queued;
}

store::WriteTicket Engine::notify_locked(const std::string& account, const store::LockInfo& lock,
                                         TimePoint now, const Context* cause, bool* notified,
                                         NoticeKind kind, const std::string& incident_id) {
  if (notified != nullptr) *notified = false;
  if (effects_ == nullptr) return 0;
  OwnerNotice n;
  if (cause != nullptr) {
    n = notice_for(*cause, kind);
    n.incident_id = incident_id;
    n.locked = true;
  } else {
    n.kind = NoticeKind::kAccountLocked;
    n.account = account;
    n.event_id = ids_.next(now);
    n.time = now;
    n.reasons.push_back(Reason::kAccountLocked);
    n.note = lock.reason;
    if (lock.by == "owner") {  // the owner's own report: their words need no repeating
      n.by_owner = true;
      n.reasons.clear();
      n.note.clear();
    }
  }
  n.password_reset_required = lock.password_reset_required;
  const Effects::Queued q = effects_->notify_owner(n);
  if (notified != nullptr) *notified = q.queued;
  return q.ticket;
}

void Engine::alert_operator(Context& c) {
  const Decision& d = c.out.decision;
  if (d.action() == Action::kAllow) return;
  const bool alert = effects_ != nullptr && effects_->alerts_enabled();
  const bool log = decisions_ != nullptr && decisions_->enabled();
  if (!alert && !log) return;
  Alert a;
  a.event_id = c.out.event_id;
  a.type = c.e.type;
  a.account = c.e.account;
  a.ip = c.e.ip;
  a.protocol = c.e.protocol;
  a.where = c.where;
  a.time = c.e.time;
  a.decision = d;
  a.incident_id = c.incident_id;
  a.answer = c.out.answer;
  if (log) decisions_->record(a);
  if (alert) c.wrote(effects_->alert(a));
}

store::WriteSpan Engine::unlock(const std::string& account, std::string_view, TimePoint now) {
  store::WriteSpan writes;
  const std::optional<store::LockInfo> before = locks_.find(account);
  locks_.erase(account);
  const store::WriteTicket cleared = store_.clear_lock(account);
  revert_lock_if_not_stored(cleared, account, std::nullopt, before);
  writes.add(cleared);
  // Releasing lifts the send throttle too, and starts the login geography
  // afresh (the logins that caused a lock would otherwise lock it again).
  mail_volume_.reset(account);
  mail_geography_.reset(account);
  const std::uint64_t h = hash_bytes(account);
  for (BlockScope scope : {BlockScope::kAccountIp, BlockScope::kAccount}) {
    for (store::Block& b : blocks_.erase_hash(scope, h)) {
      const store::WriteTicket t = store_.delete_block(b.scope, b.key);
      if (auto key = block_key_from_record(b))
        revert_block_if_not_stored(t, *key, std::nullopt, std::move(b));
      writes.add(t);
    }
  }
  // Released: send throttles lifted, and the suspicious login behind a lock
  // no longer counts (its device and place stay unknown).
  message_fanout_.reset(account);
  if (auto p = profiles_.get(account); p && p->suspicious_since) {
    clear_suspicion(*p);
    writes.add(announce_profile(account, now, profiles_.put(account, std::move(*p))));
  }
  return writes;
}

Decision Engine::check_inbound(const IpAddress& ip, std::string_view dnsbl_zone,
                               TimePoint now) const {
  Decision d;
  const std::shared_ptr<const ListIndex> lists = lists_.index();
  if (lists->match_ip(store::ListKind::kDeny, ip, now)) {
    d.add(Action::kDeny, Reason::kDenyList, kRiskDenyList);
  } else if (lists->match_ip(store::ListKind::kAllow, ip, now)) {
    d.add(Action::kAllow, Reason::kAllowList);
  } else if (!dnsbl_zone.empty()) {
    d.add(Action::kDeny, Reason::kDnsbl, kRiskDnsbl);
  }
  return d;
}

Result<std::vector<std::string>> Engine::recorded_event_ids(const std::string& account,
                                                            TimePoint since, std::size_t limit) {
  auto entries = store_.activity(account, since, limit);
  if (!entries) return entries.error();
  std::vector<std::string> ids;
  ids.reserve(entries->size());
  for (store::ActivityRecord& r : *entries) ids.push_back(std::move(r.event_id));
  return ids;
}

Result<AccountView> Engine::account(const std::string& name) {
  auto rec = store_.account(name);
  if (!rec) return rec.error();
  AccountView v;
  v.account = name;
  if (*rec) {
    v.contact = (*rec)->contact;
    v.last_login = (*rec)->last_login;
  }
  v.lock = locks_.find(name);
  auto p = profiles_.get(name);
  if (!p) return p.error();
  v.profile = std::move(*p);
  v.known = rec->has_value() || v.lock.has_value() || !v.profile.empty();
  if (!v.known) {
    // Failed logins leave no profile, only activity.
    auto any = store_.activity(name, TimePoint{}, 1);
    if (!any) return any.error();
    v.known = !any->empty();
  }
  // The profile keeps the last successful login (the accounts table's copy
  // is from before profiles).
  if (const auto& l = v.profile.last_success) v.last_login = store::LastLogin{l->time, l->ip, l->country};
  return v;
}

void Engine::maintain(TimePoint now) {
  blocks_.sweep(now);
  lists_.sweep(now);
  incidents_.sweep(now);
  const std::shared_ptr<const EngineConfig> snapshot = config_.load();
  const EngineConfig& config = *snapshot;
  // Activity, finished outbox items and blocks past the retention period.
  const TimePoint cut = now - config.activity_retention;
  store_.prune_activity(cut);
  store_.prune_outbox(cut);
  store_.prune_blocks(cut);
  // Without this, a count that went quiet would keep the worth it had when
  // it was last updated, and rank above fresh counts when memory runs short.
  // A pass costs 0.15-0.3 us of CPU an entry (bench/hot_state_memory: 5 to
  // 6 s for ten million failing IPs), so it runs at most every
  // kRefreshEvery, within the default windows (10 minutes and more).
  const std::int64_t t = to_unix_ms(now);
  std::int64_t last = refreshed_ms_.load(std::memory_order_relaxed);
  if (t - last < kRefreshEvery.count() && t >= last) return;
  if (!refreshed_ms_.compare_exchange_strong(last, t, std::memory_order_relaxed)) return;
  brute_force_.refresh(config.brute_force, now);
  account_under_attack_.refresh(config.account_under_attack, now);
  failing_ips_.refresh([&](FailingIp& ip, state::Worth& worth) {
    return refresh_failing_ip(ip, worth, now, config.ip_failures, config.credential_stuffing);
  });
  failing_networks_.refresh([&](FailingNetwork& n, state::Worth& worth) {
    return refresh_failing_network(n, worth, now, config.credential_stuffing,
                                   config.network_failures);
  });
  password_spray_.refresh(config.password_spray, now);
  distributed_stuffing_.refresh(config.distributed_stuffing, now);
  mail_volume_.refresh(config.mail_volume, now);
  mail_geography_.refresh(config.mail_geography, now);
  message_fanout_.refresh(config.message_fanout, now);
}

HotStateStats Engine::hot_state() const {
  return HotStateStats{budget_.entries(), budget_.used(), budget_.limit(), budget_.evictions()};
}

}  // namespace mamori::engine
