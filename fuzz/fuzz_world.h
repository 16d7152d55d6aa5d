// What the fuzz targets that need a running mamori share: the daemon's
// objects wired as src/server/daemon.cc wires them, without its listeners.
//
// A World is an EmbeddedStore in a fresh directory (under /dev/shm when it is
// writable, else $TMPDIR or /tmp), an Engine over it with the GeoIP test
// databases and a 16 MiB hot-state budget, owner notices and webhook alerts queued in the outbox
// (nothing delivers them), TOTP under a fixed key, password checks against a small
// breached-password store, and the ApiHandler with an app and an admin token.
// Time is a ManualClock that the targets move on with every input, so
// windows fill and expire and blocks run out over a run.
//
// State carries over from one input to the next, as in a running daemon:
// a finding may depend on the inputs before it, which libFuzzer's reproducer
// (one input on a fresh World) does not replay. world_for_input() rebuilds the World
// every kInputsPerWorld inputs so that the store and the hot state stay small
// over a run of millions.
#ifndef MAMORI_FUZZ_FUZZ_WORLD_H_
#define MAMORI_FUZZ_FUZZ_WORLD_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "account/password_checker.h"
#include "account/pwned_import.h"
#include "account/pwned_store.h"
#include "account/secret_box.h"
#include "account/totp_service.h"
#include "core/clock.h"
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "fuzz_support.h"
#include "geo/maxmind_locator.h"
#include "notify/notify_config.h"
#include "notify/outbox.h"
#include "protocols/http/api_handler.h"
#include "store/embedded/embedded_store.h"

namespace mamori::fuzz {

inline constexpr std::string_view kAppToken = "fuzz-app-token";
inline constexpr std::string_view kAdminToken = "fuzz-admin-token";
// 2026-11-23T12:00:00Z, the unit tests' time zero.
inline const TimePoint kStart = from_unix_ms(1'795'435'200'000);

class World {
 public:
  World() : clock_(kStart) {
    auto store = store::EmbeddedStore::open(dir_.path());
    if (!store) fail("store: " + store.error().message);
    store_ = std::move(*store);

    engine::EngineConfig config;
    config.memory_budget_bytes = std::size_t(16) << 20;  // small: eviction is reached too
    engine_ = std::make_unique<engine::Engine>(config, *store_, 1);
#ifdef MAMORI_FUZZ_DATA
    const std::string geoip = std::string(MAMORI_FUZZ_DATA) + "/geoip/";
    auto locator = geo::MaxmindLocator::open({geoip + "GeoLite2-City-Test.mmdb",
                                              geoip + "GeoLite2-ASN-Test.mmdb",
                                              geoip + "GeoIP2-Anonymous-IP-Test.mmdb"});
    if (!locator) fail("geoip: " + locator.error().message);
    locator_ = std::move(*locator);
    engine_->set_locator(locator_.get());
#endif
    if (Status s = engine_->load(clock_.now()); !s) fail("engine load: " + s.error().message);

    notify_.smtp.host = "smtp.invalid";
    notify_.smtp.from = "mamori <noreply@example.com>";
    notify_.webhooks.push_back({"http://127.0.0.1:9/hook", "fuzz-webhook-secret"});
    outbox_ = std::make_unique<notify::Outbox>(*store_, *store_, *store_, notify_, engine_->ids(),
                                               clock_);
    engine_->set_effects(outbox_.get());

    std::array<std::uint8_t, account::SecretBox::kKeyBytes> key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = std::uint8_t(i * 7 + 1);
    box_ = account::SecretBox::from_key(key);
    totp_ = std::make_unique<account::TotpService>(account::TotpConfig{}, *store_, *store_, *box_,
                                                   clock_);

    pwned_ = std::make_unique<account::PwnedStoreHolder>(make_pwned_store());
    if (Status s = pwned_->reload(); !s) fail("pwned store: " + s.error().message);
    passwords_ =
        std::make_unique<account::PasswordChecker>(account::PasswordPolicy{}, pwned_.get());

    http::ApiOptions api;
    api.tokens = {{std::string(kAppToken), http::Role::kApp, "fuzz-app"},
                  {std::string(kAdminToken), http::Role::kAdmin, "fuzz-admin"}};
    api.totp = totp_.get();
    api.passwords = passwords_.get();
    api.pwned = pwned_.get();
    api.range_padding_lines = 8;
    handler_ = std::make_unique<http::ApiHandler>(std::move(api), *engine_, *store_, clock_);
  }

  ~World() {
    // Every queued write is committed before the store closes, as at a stop.
    handler_.reset();
    engine_->set_effects(nullptr);
    outbox_.reset();
    engine_.reset();
    store_.reset();
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Moves time on for the next input; maintenance runs every 256 inputs.
  void next_input() {
    clock_.advance(std::chrono::milliseconds(997));
    if (++inputs_ % 256 == 0) engine_->maintain(clock_.now());
  }

  ManualClock& clock() { return clock_; }
  engine::Engine& engine() { return *engine_; }
  store::EmbeddedStore& store() { return *store_; }
  http::ApiHandler& handler() { return *handler_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  // A breached-password store of a few hashes ("password", "123456", ...).
  std::string make_pwned_store() {
    const std::string input = dir_.path() + "/pwned.txt";
    const std::string output = dir_.path() + "/pwned.bin";
    {
      std::ofstream out(input);
      out << "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\n"  // password
             "7C4A8D09CA3762AF61E59520943DC26494F8941B:37359195\n"  // 123456
             "B1B3773A05C0ED0176787A4F1574FF0075F7521E:4208\n"      // qwerty
             "5BAA6000000000000000000000000000000000FF:1\n";
    }
    account::PwnedImportOptions o;
    o.input = input;
    o.output = output;
    if (auto r = account::import_pwned(o); !r) fail("pwned import: " + r.error().message);
    return output;
  }

  ScratchDir dir_;
  ManualClock clock_;
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<geo::MaxmindLocator> locator_;
  notify::NotifyConfig notify_;
  std::unique_ptr<notify::Outbox> outbox_;
  std::unique_ptr<account::SecretBox> box_;
  std::unique_ptr<account::TotpService> totp_;
  std::unique_ptr<account::PwnedStoreHolder> pwned_;
  std::unique_ptr<account::PasswordChecker> passwords_;
  std::unique_ptr<http::ApiHandler> handler_;
  std::uint64_t inputs_ = 0;
};

inline constexpr std::uint64_t kInputsPerWorld = 20'000;

// The World for this input: the same one for kInputsPerWorld inputs, then a
// fresh one. `on_replace` runs before the old World goes (to stop what uses it).
template <typename OnReplace>
World& world_for_input(OnReplace&& on_replace) {
  static std::unique_ptr<World> world;
  static std::uint64_t inputs = 0;
  if (world && inputs++ % kInputsPerWorld == kInputsPerWorld - 1) {
    on_replace();
    world.reset();
  }
  if (!world) world = std::make_unique<World>();
  world->next_input();
  return *world;
}
inline World& world_for_input() {
  return world_for_input([] {});
}

}  // namespace mamori::fuzz

#endif  // MAMORI_FUZZ_FUZZ_WORLD_H_
