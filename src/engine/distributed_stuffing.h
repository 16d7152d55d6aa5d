#ifndef MAMORI_ENGINE_DISTRIBUTED_STUFFING_H_
#define MAMORI_ENGINE_DISTRIBUTED_STUFFING_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "engine/engine_config.h"
#include "engine/failure_baseline.h"
#include "engine/finding.h"
#include "state/clock_map.h"
#include "state/distinct_window.h"
#include "state/memory_budget.h"
#include "state/sliding_counter.h"

namespace mamori::engine {

// The fingerprint of a login's user agent: a browser's family, major
// version and OS ("Chrome/131/Windows"), or an app's name and major version
// ("app:python-requests/2"); "" without a user agent.
std::string agent_fingerprint_of(const Event& e);
// The app's client_fingerprint (a TLS JA4 hash, a header order) as a
// fingerprint: "client:" and the field; "" when the app sent none.
std::string client_fingerprint_key(const Event& e);

// distributed_stuffing: a credential-stuffing wave spread over thousands of
// addresses (proxy networks), a few attempts each, under every per-IP and
// per-/24 threshold. Failed logins are counted per wide source: the wide
// prefix (/16 IPv4, /48 IPv6 by default), the autonomous system (when GeoIP
// knows it), the user agent's fingerprint and the app's client fingerprint
// (each its own source, so a tool rotating user agents over one TLS stack
// is still one source). A source is hot when
// `*_threshold` distinct accounts failed from it within the window and at
// least `min_failure_percent` of its logins in the window failed (an ISP's
// or a browser version's honest users log in more than they fail). A wave
// is on from the moment `min_hot_sources` sources were hot within the
// window, or one fingerprint was denied, until `raise_for` after the last
// failure from a hot source.
//
// What it denies is only what is the attacker's own: a hot client
// fingerprint, or an app's (not a browser's) user agent, of which
// `deny_failure_percent` of logins failed and with which no login from a
// device its account knew succeeded within 30 days (a browser version,
// or a browser's TLS fingerprint the attacker copies, is shared by honest
// users and is never denied), and, during a wave, a /24 or /64 in a hot
// wide prefix with `narrow_threshold` failing accounts and no login that
// worked (the engine asks credential_stuffing's windows). A wide prefix or
// an AS is never denied: during the wave the engine challenges attempts and
// successful logins from devices the account never used, service-wide.
//
// The service's own failure baseline (failure_baseline.h) starts or
// extends a wave too: while the failure ratio, or the rate of failures for
// accounts the app says do not exist, is far above what that hour of the
// week usually sees, every failure counts as the wave's (its incident's
// source "service: failure ratio 34 % against 5 % usual for Mon 09:00 UTC").
//
// Looking back: the wave's incident lists every account that failed during
// it, and, the first time a source fails during a wave, the accounts its
// window holds from before (up to its threshold).
//
// Memory: one ClockMap entry per source with failures in the window, 88
// bytes (8 in the table, a DistinctWindow, two SlidingCounters of 32, the
// wave number) plus 12 bytes and the name per failing account up to the
// source's threshold (about 24 + 32 x 20 = 664 bytes for a /16 at 20).
// Successes create no entry. Under the hot state's budget and its
// worth-ranked eviction like every window. The wave's state is atomics; the
// recent hot sources are 16 slots under a mutex taken only for a hot source.
// Thread-safe.
class DistributedStuffing {
 public:
  explicit DistributedStuffing(state::MemoryBudget& budget) : sources_(budget) {}
  DistributedStuffing(const DistributedStuffing&) = delete;
  DistributedStuffing& operator=(const DistributedStuffing&) = delete;

  // What a failure showed.
  struct Step {
    bool wave = false;        // a wave is on: the failure belongs to its incident
    bool hot = false;         // it came from a hot source
    bool prefix_hot = false;  // its wide prefix is hot
    // The hot sources to list in the incident ("198.51.0.0/16", "AS64500",
    // "fingerprint:client:t13d1516h2_..."): all of the recent ones when this
    // failure started the wave, else this failure's own.
    std::vector<std::string> sources;
    // For the wave's incident: this account, and what its sources' windows
    // held when they first failed during this wave.
    std::vector<TouchedAccount> accounts;
  };
  // A failed login from `e.ip` in autonomous system `asn` (0: unknown) with
  // the user agent fingerprint `agent` (agent_fingerprint_of(e)). Adds the
  // fingerprints' deny findings to `out` when they are the attacker's own.
  Step on_failure(const DistributedStuffingConfig& config, const Event& e, std::uint32_t asn,
                  std::string_view agent, std::vector<Finding>& out);
  // A successful login: counted for its sources that failed within the
  // window (none created). Returns whether one of them is hot.
  bool on_success(const DistributedStuffingConfig& config, const Event& e, std::uint32_t asn,
                  std::string_view agent);
  // A successful login from a device the account knew: its fingerprints
  // are honest users' and not denied for 30 days (their entries are made
  // here if missing: one per fingerprint, not per address).
  void on_known_device(const DistributedStuffingConfig& config, const Event& e,
                       std::string_view agent);
  // During a wave, the deny finding for the /24 or /64 of `e.ip`, whose
  // `narrow_count` distinct accounts failed within credential_stuffing's
  // window. REQUIRES: narrow_count >= config.narrow_threshold
  Finding narrow_finding(const DistributedStuffingConfig& config, const Event& e) const;

  // Every login result, for the service's failure baseline (account_known
  // false on a failure: an account the app does not have).
  void on_result(const DistributedStuffingConfig& config, const Event& e) {
    if (config.baseline.enabled)
      baseline_.count(e.time, !e.success, e.account_known.has_value() && !*e.account_known);
  }
  FailureBaseline& baseline() { return baseline_; }
  const FailureBaseline& baseline() const { return baseline_; }

  // Whether a wave is on at `now`: one atomic load.
  // (Events replayed out of order before the wave began are not in it.)
  bool wave(TimePoint now) const {
    const std::int64_t t = to_unix_ms(now);
    return t < wave_until_ms_.load(std::memory_order_relaxed) &&
           t >= wave_since_ms_.load(std::memory_order_relaxed);
  }
  // Ranks the entries afresh and drops those with nothing in the window.
  void refresh(const DistributedStuffingConfig& config, TimePoint now);

  // The key of the wave's incident in the IncidentTracker.
  static constexpr std::string_view kIncidentKey = "wave";

 private:
  struct Source {
    state::DistinctWindow accounts;  // failing, up to the source's threshold
    state::SlidingCounter failures;
    state::SlidingCounter successes;
    std::uint32_t wave = 0;  // the wave whose incident has its accounts
    std::int64_t known_ms = 0;  // a fingerprint's last login from a known device
    std::size_t memory_bytes() const { return accounts.memory_bytes(); }
  };
  struct Recent {
    std::uint64_t key = 0;
    std::int64_t last_ms = 0;
    std::string name;
  };
  // Counts the failure for one source; true when it is hot.
  struct Count {
    bool hot = false, deny = false;
  };
  Count count_failure(const DistributedStuffingConfig& config, std::uint64_t key,
                      std::uint32_t threshold, const Event& e);
  // Records a hot source; returns how many were hot within the window.
  std::size_t note_hot(std::uint64_t key, std::string_view name, std::int64_t now,
                       std::int64_t window, std::vector<std::string>* all);

  state::ClockMap<Source> sources_;  // keyed by source_key()
  FailureBaseline baseline_;
  std::atomic<std::int64_t> wave_since_ms_{0};
  std::atomic<std::int64_t> wave_until_ms_{0};
  std::atomic<std::uint32_t> wave_number_{0};
  std::mutex recent_mu_;
  std::array<Recent, 16> recent_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_DISTRIBUTED_STUFFING_H_
