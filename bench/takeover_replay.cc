// A replay of benign account life with takeovers mixed in, through the real
// engine and store, to measure the takeover detections' false alarms and
// catch rate. Not a test: the figures depend on the model of life below.
//
//   takeover_replay [ACCOUNTS] [DAYS] [ATTACKS] [SEED] [WAVES]   (default 5000 30 500 1 2)
//
// Progress goes to stderr with the engine's log lines (one per lock); the
// figures to stdout.
//
// Benign life, per account: a home country (weighted like a Japanese service's
// users), one to three devices, a login on most days from home networks,
// a typo before 5 % of logins, a VPN for 5 % of accounts, a new phone for 3 %
// per month (in the home country), trips abroad for 2 % per month (by plane:
// at least 11 hours from takeoff to the first login there; 90 % pass the
// challenge, the rest give up that day), a password or e-mail change for
// 2 % per month, and 3-20 messages a day to friends.
// Attacks: a login from a country the owner never used, on a new device, at
// a random time; half then change the e-mail within 10 minutes, half message
// 100 friends within two minutes.
// Distributed stuffing waves (WAVES, spread over the days): each 3 hours of
// 2,000 login attempts an hour from a proxy network, one address each, over
// 40 /16s (11 of them the honest users' ISPs' /16s, in their autonomous
// systems), modern browsers' user agents in rotation, no device id. Half
// the accounts tried are the service's (their leaked password works for
// 2 %: a stolen login), half are not. Odd waves come from a tool with its
// own TLS fingerprint (client_fingerprint); even waves from real browsers,
// whose fingerprints are the honest users'. Each day's logins are replayed
// in time order, the waves' among them.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/location.h"
#include "engine/engine.h"
#include "store/embedded/embedded_store.h"

using namespace mamori;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

struct Country {
  const char* code;
  double lat, lon;
  int weight;
};
constexpr Country kCountries[] = {
    {"JP", 35.68, 139.75, 60}, {"US", 38.0, -97.0, 8}, {"KR", 37.57, 126.98, 6},
    {"TW", 25.03, 121.56, 5},  {"CN", 39.9, 116.4, 4}, {"GB", 51.5, -0.12, 3},
    {"DE", 52.52, 13.4, 3},    {"TH", 13.75, 100.5, 3}, {"AU", -33.87, 151.2, 3},
    {"BR", -23.55, -46.63, 2}, {"FR", 48.85, 2.35, 3},
};
constexpr int kCountryCount = sizeof(kCountries) / sizeof(kCountries[0]);

// Synthetic addresses: 10.C.N.H is in country C, ISP network N; 10.200.x.x
// is a VPN provider. A table Locator, as GeoIP would answer.
class TableLocator final : public Locator {
 public:
  Location locate(const IpAddress& ip) const override {
    Location l;
    if (!ip.is_v4()) return l;
    const std::uint32_t v = ip.v4();
    if ((v >> 24) != 10) return l;
    const int c = (v >> 16) & 0xff;
    if (c == 200) {
      l.country = "NL";
      l.latitude = 52.37;
      l.longitude = 4.9;
      l.has_coordinates = true;
      l.anonymous_vpn = true;
      l.asn = 64'600;
      return l;
    }
    if (c >= 50 && c < 90) {  // a proxy network's /16s: 4 to an AS
      l.country = kCountries[c % kCountryCount].code;
      l.latitude = kCountries[c % kCountryCount].lat;
      l.longitude = kCountries[c % kCountryCount].lon;
      l.has_coordinates = true;
      l.asn = 65'000 + (c - 50) / 4;
      return l;
    }
    if (c >= kCountryCount) return l;
    l.country = kCountries[c].code;
    l.latitude = kCountries[c].lat;
    l.longitude = kCountries[c].lon;
    l.has_coordinates = true;
    l.asn = 64'512 + c * 8 + ((v >> 8) & 7);
    return l;
  }
};

IpAddress addr(int country, int net, int host) {
  return IpAddress::from_v4((10u << 24) | (std::uint32_t(country) << 16) |
                            (std::uint32_t(net & 7) << 8) | std::uint32_t(host & 0xff));
}

const char* kAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
};

// TLS fingerprints (JA4) as an app would report them: the browsers' own,
// and an attacking tool's.
const char* kBrowserJa4[] = {
    "t13d1516h2_8daaf6152771_02713d6af862", "t13d1517h2_8daaf6152771_b0da82dd1658",
    "t13d1516h2_8daaf6152771_e5627efa2ab1", "t13d1517h2_8daaf6152771_b1ff8ab2d16f",
    "t13d1715h2_5b57614c22b0_3d5424432f57",
};
const char* kToolJa4 = "t13d311100_e8f1e7e78f70_d41ae481755e";
// What the wave's browsers claim: more versions than honest users run.
const char* kWaveAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
};
constexpr int kWaveAgentCount = sizeof(kWaveAgents) / sizeof(kWaveAgents[0]);

// Address k of a wave: one each, over 40 /16s.
IpAddress wave_addr(int k) {
  const int s = k % 40;
  const std::uint32_t host = 1 + std::uint32_t(k / 10'240) % 250;
  const std::uint32_t third = std::uint32_t(k / 40);
  if (s < kCountryCount)  // an honest ISP's /16, beside its users' /24s
    return IpAddress::from_v4((10u << 24) | (std::uint32_t(s) << 16) | ((8 + third % 248) << 8) |
                              host);
  return IpAddress::from_v4((10u << 24) | (std::uint32_t(50 + s - kCountryCount) << 16) |
                            ((third % 256) << 8) | host);
}

struct WaveTally {
  long attempts = 0, refused = 0;            // attempts answered challenge or deny
  long late_attempts = 0, late_refused = 0;  // after the wave's first hour
  long stolen = 0, stolen_flagged = 0;       // logins with a working leaked password
  long stolen_flagged_by_wave = 0;           // ... with reason distributed_stuffing
};

struct Account {
  std::string name;
  int home = 0;
  std::vector<std::string> devices;
  bool vpn = false;
  int abroad = -1;  // country of a trip in progress
  TimePoint trip_ends{};
};

struct Tally {
  std::map<std::string, long> challenge_reasons;  // "new_location+anonymous_network" -> count
  long logins = 0, challenged = 0, challenged_travel = 0, challenged_other = 0;
  long denied = 0, locked = 0, notices = 0, changes = 0, messages = 0, sends_denied = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int n_accounts = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int days = argc > 2 ? std::atoi(argv[2]) : 30;
  const int n_attacks = argc > 3 ? std::atoi(argv[3]) : 500;
  const unsigned seed = argc > 4 ? unsigned(std::atoi(argv[4])) : 1;
  const int n_waves = argc > 5 ? std::atoi(argv[5]) : 2;

  const std::string dir = std::filesystem::temp_directory_path() /
                          ("mamori-takeover-replay-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto store = store::EmbeddedStore::open(dir);
  if (!store) {
    std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
    return 1;
  }
  engine::EngineConfig config;
  // Destroyed before the store is closed, which it listens to.
  auto engine_owner = std::make_unique<engine::Engine>(config, **store, seed);
  engine::Engine& eng = *engine_owner;
  TableLocator locator;
  eng.set_locator(&locator);

  std::mt19937_64 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
  auto pick = [&](int n) { return int(std::uniform_int_distribution<>(0, n - 1)(rng)); };
  std::vector<int> weights;
  for (const Country& c : kCountries) weights.push_back(c.weight);
  std::discrete_distribution<int> country_of(weights.begin(), weights.end());

  std::vector<Account> accounts(n_accounts);
  for (int i = 0; i < n_accounts; ++i) {
    Account& a = accounts[i];
    a.name = "user" + std::to_string(i);
    a.home = country_of(rng);
    const int n = 1 + pick(3);
    for (int d = 0; d < n; ++d) a.devices.push_back("dev-" + std::to_string(i) + "-" + std::to_string(d));
    a.vpn = chance(0.05);
  }

  const TimePoint start = from_unix_ms(1'790'000'000'000);
  Tally benign, attack;
  long attacks_challenged = 0, attacks_locked = 0, attacks_notified = 0;

  Event e;
  long benign_wave_challenges = 0;  // benign logins challenged with reason distributed_stuffing
  auto run = [&](Tally& t) {
    engine::Outcome o = eng.process(e);
    const Action act = o.decision.action();
    if (e.type == EventType::kLoginResult && e.success) {
      ++t.logins;
      if (act == Action::kChallenge) {
        ++t.challenged;
        std::string why;
        for (int i = 0; i < o.decision.reason_count(); ++i)
          why += (why.empty() ? "" : "+") + std::string(to_string(o.decision.reason(i)));
        ++t.challenge_reasons[why];
        if (&t == &benign && o.decision.has(Reason::kDistributedStuffing)) ++benign_wave_challenges;
      }
      if (o.notified || o.new_device || o.new_location) ++t.notices;
    }
    if (e.type == EventType::kMessageSent) {
      ++t.messages;
      if (act >= Action::kDeny) ++t.sends_denied;
    }
    if (act == Action::kDeny && e.type != EventType::kMessageSent) ++t.denied;
    if (act == Action::kLock) ++t.locked;
    return o;
  };
  auto login = [&](Account& a, const IpAddress& ip, const std::string& device, const char* ua,
                   TimePoint when, bool typo, Tally& t) {
    e = Event{};
    e.account = a.name;
    e.ip = ip;
    e.device_id = device;
    e.user_agent = ua;
    for (int i = 0; i < 5; ++i)
      if (ua == kAgents[i]) e.client_fingerprint = kBrowserJa4[i];
    if (typo) {
      e.type = EventType::kLoginResult;
      e.time = when - seconds(20);
      e.pwhash = "typo-" + a.name;  // a typo of this owner's own password
      run(t);
    }
    e.type = EventType::kLoginResult;
    e.pwhash.clear();
    e.time = when;
    e.success = true;
    return run(t);
  };
  auto account_event = [&](Account& a, EventType type, const IpAddress& ip, TimePoint when, Tally& t) {
    e = Event{};
    e.type = type;
    e.account = a.name;
    e.ip = ip;
    e.time = when;
    if (type == EventType::kEmailChanged) {
      e.old_email = a.name + "@example.jp";
      e.new_email = a.name + "@example.net";
    }
    ++t.changes;
    return run(t);
  };
  auto messages = [&](Account& a, const IpAddress& ip, TimePoint when, int n, Duration spread,
                      Tally& t) {
    Action strongest = Action::kAllow;
    for (int m = 0; m < n; ++m) {
      e = Event{};
      e.type = EventType::kMessageSent;
      e.account = a.name;
      e.ip = ip;
      e.time = when + spread * m / std::max(n, 1);
      e.recipients = {a.name + "-friend" + std::to_string(m)};
      e.recipient_count = 1;
      strongest = std::max(strongest, run(t).decision.action());
    }
    return strongest;
  };

  // Attacks are spread over the replay's days, on random accounts.
  std::vector<std::vector<int>> attacks_on_day(days);
  for (int k = 0; k < n_attacks; ++k) attacks_on_day[std::size_t(pick(days))].push_back(pick(n_accounts));

  // The waves' days and their attempts, in time order.
  struct WaveAttempt {
    TimePoint time;
    int wave, k;
  };
  std::vector<std::vector<WaveAttempt>> waves_on_day(days);
  std::vector<TimePoint> wave_start(std::size_t(std::max(n_waves, 0)));
  constexpr int kWaveAttempts = 6'000;  // 3 hours of 2,000 an hour
  for (int w = 0; w < n_waves; ++w) {
    const int day = std::min(days - 1, (w + 1) * days / (n_waves + 1));
    wave_start[std::size_t(w)] = start + hours(24 * day) + hours(8 + pick(6));
    for (int k = 0; k < kWaveAttempts; ++k)
      waves_on_day[std::size_t(day)].push_back(
          {wave_start[std::size_t(w)] + std::chrono::milliseconds(1800 * k + pick(1800)), w, k});
  }
  for (auto& v : waves_on_day)
    std::sort(v.begin(), v.end(),
              [](const WaveAttempt& x, const WaveAttempt& y) { return x.time < y.time; });
  WaveTally wave;
  auto wave_attempt = [&](const WaveAttempt& w) {
    const bool tool = w.wave % 2 == 0;  // the first, third, ... wave
    const bool real = chance(0.5);
    const int victim = pick(n_accounts);
    const std::string name = real ? accounts[std::size_t(victim)].name
                                  : "leaked" + std::to_string(w.wave) + "-" + std::to_string(w.k);
    const int agent = w.k % kWaveAgentCount;
    e = Event{};
    e.type = EventType::kLoginAttempt;
    e.account = name;
    e.ip = wave_addr(w.k);
    e.user_agent = kWaveAgents[agent];
    e.client_fingerprint = tool ? kToolJa4 : kBrowserJa4[agent % 5];
    e.time = w.time;
    const bool late = w.time >= wave_start[std::size_t(w.wave)] + hours(1);
    const bool works = real && chance(0.02);
    ++wave.attempts;
    wave.late_attempts += late;
    wave.stolen += works;
    engine::Outcome o = run(attack);
    if (o.decision.action() >= Action::kChallenge) {  // the tool gives up on this account
      ++wave.refused;
      wave.late_refused += late;
      if (works) {
        ++wave.stolen_flagged;
        wave.stolen_flagged_by_wave += o.decision.has(Reason::kDistributedStuffing);
      }
      return;
    }
    e.type = EventType::kLoginResult;
    e.time = w.time + seconds(1);
    e.success = works;
    o = run(attack);
    if (works && o.decision.action() >= Action::kChallenge) {
      ++wave.stolen_flagged;
      wave.stolen_flagged_by_wave += o.decision.has(Reason::kDistributedStuffing);
    }
  };

  long travel_logins = 0;
  const auto t_begin = std::chrono::steady_clock::now();
  std::vector<std::pair<TimePoint, int>> order(accounts.size());
  for (int day = 0; day < days; ++day) {
    // The day's logins in time order, with the day's wave attempts among them.
    for (int i = 0; i < n_accounts; ++i)
      order[std::size_t(i)] = {start + hours(24 * day) + minutes(420 + pick(600)), i};
    std::sort(order.begin(), order.end());
    const std::vector<WaveAttempt>& today = waves_on_day[std::size_t(day)];
    std::size_t next_wave = 0;
    for (const auto& [morning, index] : order) {
      while (next_wave < today.size() && today[next_wave].time <= morning)
        wave_attempt(today[next_wave++]);
      Account& a = accounts[std::size_t(index)];
      if (a.abroad >= 0 && morning >= a.trip_ends) a.abroad = -1;
      if (a.abroad < 0 && chance(0.02 / 30)) {  // a trip: the plane lands 11+ h later
        int dest = pick(kCountryCount);
        if (dest == a.home) dest = (dest + 1) % kCountryCount;
        a.abroad = dest;
        a.trip_ends = morning + hours(24 * (3 + pick(10)));
        const TimePoint landed = morning + hours(11 + pick(4));
        const std::string& dev = a.devices[0];
        engine::Outcome o = login(a, addr(dest, pick(8), pick(250)), dev, kAgents[1], landed, false, benign);
        ++travel_logins;
        if (o.decision.action() == Action::kChallenge) {
          ++benign.challenged_travel;
          if (chance(0.9)) account_event(a, EventType::kChallengePassed, e.ip, landed + seconds(30), benign);
        }
        continue;
      }
      if (!chance(0.8)) continue;  // not every day
      if (chance(0.03 / 30)) a.devices.push_back(a.name + "-phone" + std::to_string(day));
      const int country = a.abroad >= 0 ? a.abroad : a.home;
      const IpAddress ip = a.vpn && chance(0.5) ? addr(200, pick(8), pick(250))
                                                : addr(country, pick(3), pick(250));
      const std::size_t d = a.devices.size() > 1 && chance(0.3) ? std::size_t(pick(int(a.devices.size())))
                                                                : a.devices.size() - 1;
      engine::Outcome o = login(a, ip, a.devices[d], kAgents[d % 5], morning, chance(0.05), benign);
      if (o.decision.action() == Action::kChallenge) {
        ++benign.challenged_other;
        account_event(a, EventType::kChallengePassed, ip, morning + seconds(30), benign);
      }
      if (chance(0.02 / 30))
        account_event(a, chance(0.5) ? EventType::kPasswordChanged : EventType::kEmailChanged, ip,
                      morning + minutes(3), benign);
      messages(a, ip, morning + minutes(5), 3 + pick(18), hours(8), benign);
    }
    while (next_wave < today.size()) wave_attempt(today[next_wave++]);
    for (int victim : attacks_on_day[std::size_t(day)]) {
      Account& a = accounts[std::size_t(victim)];
      int c = pick(kCountryCount);
      if (c == a.home) c = (c + 1 + pick(kCountryCount - 1)) % kCountryCount;
      const IpAddress ip = addr(c, 5 + pick(3), pick(250));
      const TimePoint when = start + hours(24 * day) + minutes(pick(1440));
      engine::Outcome o = login(a, ip, "", kAgents[4], when, false, attack);
      if (o.decision.action() == Action::kChallenge) ++attacks_challenged;
      if (o.notified || o.new_device || o.new_location) ++attacks_notified;
      Action after;
      if (chance(0.5)) {
        after = account_event(a, EventType::kEmailChanged, ip, when + minutes(1 + pick(9)), attack).decision.action();
      } else {
        after = messages(a, ip, when + minutes(1), 100, minutes(2), attack);
      }
      if (after == Action::kLock) {
        ++attacks_locked;
        eng.unlock(a.name, "replay: owner restored", when + hours(1));
      }
    }
    std::fprintf(stderr, "\rday %d/%d", day + 1, days);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  std::fprintf(stderr, "\n");

  std::printf("benign: %d accounts, %d days, %ld successful logins (%ld after a flight), %ld changes, %ld messages\n",
              n_accounts, days, benign.logins, travel_logins, benign.changes, benign.messages);
  std::printf("  challenged: %ld (%.3f %% of logins; %ld on arrival abroad, %ld other)\n",
              benign.challenged, 100.0 * double(benign.challenged) / double(std::max(1L, benign.logins)),
              benign.challenged_travel, benign.challenged_other);
  for (const auto& [why, n] : benign.challenge_reasons) std::printf("    %-60s %ld\n", why.c_str(), n);
  std::printf("  new device/place noticed: %ld (%.3f %%)\n", benign.notices,
              100.0 * double(benign.notices) / double(std::max(1L, benign.logins)));
  std::printf("  denied: %ld   locked: %ld   sends denied: %ld\n", benign.denied, benign.locked,
              benign.sends_denied);
  std::printf("attacks: %d\n", n_attacks);
  std::printf("  challenged at login: %ld (%.1f %%)   owner noticed: %ld (%.1f %%)   locked after: %ld (%.1f %%)\n",
              attacks_challenged, 100.0 * double(attacks_challenged) / std::max(1, n_attacks), attacks_notified,
              100.0 * double(attacks_notified) / std::max(1, n_attacks), attacks_locked,
              100.0 * double(attacks_locked) / std::max(1, n_attacks));
  if (n_waves > 0) {
    auto pct = [](long a, long b) { return 100.0 * double(a) / double(std::max(1L, b)); };
    std::printf("distributed stuffing: %d waves of %d attempts (3 h, 40 /16s, one address each)\n",
                n_waves, kWaveAttempts);
    std::printf(
        "  attempts denied or challenged: %ld of %ld (%.1f %%); after each wave's first hour: %ld "
        "of %ld (%.1f %%)\n",
        wave.refused, wave.attempts, pct(wave.refused, wave.attempts), wave.late_refused,
        wave.late_attempts, pct(wave.late_refused, wave.late_attempts));
    std::printf(
        "  stolen logins flagged (challenged or denied): %ld of %ld (%.1f %%), %ld of them by "
        "distributed_stuffing\n",
        wave.stolen_flagged, wave.stolen, pct(wave.stolen_flagged, wave.stolen),
        wave.stolen_flagged_by_wave);
    std::printf(
        "  benign logins challenged with distributed_stuffing: %ld (%.3f %% of benign logins)\n",
        benign_wave_challenges, pct(benign_wave_challenges, benign.logins));
  }
  std::printf("replayed in %.1f s\n", secs);
  engine_owner.reset();
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
