#include "account/totp_service.h"

#include <sodium.h>

#include <algorithm>
#include <functional>

#include "account/base32.h"
#include "account/otpauth_uri.h"
#include "account/qr_svg.h"

namespace mamori::account {

namespace {

constexpr std::size_t kSecretBytes = 20;  // 160 bits, RFC 4226's recommendation

std::string associated_data(std::string_view account) { return "mamori totp v1\n" + std::string(account); }

Error not_enabled(const std::string& account, bool pending) {
  return make_error("totp_not_enabled",
                    pending ? "the TOTP second factor of '" + account +
                                  "' is not confirmed yet (POST .../totp/confirm with a code)"
                            : "account '" + account + "' has no TOTP second factor");
}

// Wipes a secret when leaving scope.
struct Wipe {
  std::vector<std::uint8_t>& v;
  ~Wipe() { sodium_memzero(v.data(), v.size()); }
};

}  // namespace

TotpService::TotpService(TotpConfig config, store::RecordStore& store, store::Commits& commits,
                         const SecretBox& box, const Clock& clock)
    : config_(std::move(config)),
      store_(store),
      commits_(commits),
      box_(box),
      clock_(clock),
      hasher_(box.derive(1, "rcvcodes")) {}

TotpService::Shard& TotpService::shard(std::string_view account) {
  return shards_[std::hash<std::string_view>{}(account) % kShards];
}

Result<std::optional<store::TotpRecord>> TotpService::load(Shard& s, const std::string& account) {
  auto it = s.pending.find(account);
  if (it != s.pending.end()) {
    if (commits_.committed() < it->second.ticket) return it->second.record;
    s.pending.erase(it);
  }
  return store_.totp(account);
}

store::WriteTicket TotpService::save(Shard& s, const std::string& account,
                                     std::optional<store::TotpRecord> record) {
  const store::WriteTicket t = record ? store_.put_totp(*record) : store_.delete_totp(account);
  // Keep the overlay small: forget what is committed whenever it grows.
  if (s.pending.size() >= 32) {
    const store::WriteTicket done = commits_.committed();
    std::erase_if(s.pending, [done](const auto& kv) { return kv.second.ticket <= done; });
  }
  s.pending[account] = Pending{std::move(record), t};
  return t;
}

bool TotpService::locked_out(store::TotpRecord& r, TimePoint now, Duration& retry) const {
  const TimePoint since = now - config_.failure_window;
  std::erase_if(r.recent_failures, [since](TimePoint t) { return t <= since; });
  if (static_cast<int>(r.recent_failures.size()) < config_.max_failures) return false;
  const auto n = r.recent_failures.size();
  retry = r.recent_failures[n - static_cast<std::size_t>(config_.max_failures)] +
          config_.failure_window - now;
  return true;
}

Error TotpService::lockout_error(Duration retry) const {
  const auto s = std::max<std::int64_t>(1, (retry.count() + 999) / 1000);
  Error e = make_error("too_many_attempts", std::to_string(config_.max_failures) +
                                                " wrong codes in a row: no code is accepted for " +
                                                std::to_string(s) + " s");
  e.retry_after_s = s;
  return e;
}

Result<CodeCheck> TotpService::check_code(store::TotpRecord& r, std::string_view code,
                                          TimePoint now) {
  const bool looks_totp = is_totp_code(code, config_.params.digits);
  const auto recovery = looks_totp ? std::nullopt : normalize_recovery_code(code);
  if (!looks_totp && !recovery)
    return make_error("invalid_code", "field 'code' must be " +
                                          std::to_string(config_.params.digits) +
                                          " digits or a recovery code (16 letters and digits)");
  Duration retry{};
  if (locked_out(r, now, retry)) return lockout_error(retry);

  CodeCheck out;
  if (looks_totp) {
    auto secret = box_.open(r.sealed_secret, associated_data(r.account));
    if (!secret) return secret.error();
    Wipe wipe{*secret};
    if (auto step = totp_match(*secret, code, now, r.last_step, config_.params)) {
      r.last_step = *step;
      out.ok = true;
      out.method_or_reason = "totp";
    } else if (totp_match(*secret, code, now, -1, config_.params)) {
      out.method_or_reason = "code_reused";
    } else {
      out.method_or_reason = "invalid_code";
    }
  } else {
    const RecoveryCodeHash h = hasher_.hash(r.account, *recovery);
    store::TotpRecoveryCode* match = nullptr;
    for (store::TotpRecoveryCode& c : r.recovery_codes) {
      // Every stored code is compared, used or not, in constant time.
      const bool same = c.hash.size() == h.size() && sodium_memcmp(c.hash.data(), h.data(), h.size()) == 0;
      if (same && !match) match = &c;
    }
    if (match && !match->used) {
      match->used = now;
      out.ok = true;
      out.method_or_reason = "recovery_code";
    } else {
      out.method_or_reason = match ? "code_reused" : "invalid_code";
    }
  }
  if (out.ok) {
    r.recent_failures.clear();
  } else {
    r.recent_failures.push_back(now);
  }
  out.recovery_codes_left = static_cast<int>(std::count_if(
      r.recovery_codes.begin(), r.recovery_codes.end(), [](const auto& c) { return !c.used; }));
  return out;
}

Result<Enrolment> TotpService::enrol(const std::string& account) {
  const TimePoint now = clock_.now();
  Shard& s = shard(account);
  std::lock_guard lock(s.mu);
  auto existing = load(s, account);
  if (!existing) return existing.error();
  if (*existing && (*existing)->confirmed)
    return make_error("totp_already_enabled",
                      "account '" + account +
                          "' already has a confirmed TOTP second factor; remove it first");
  std::vector<std::uint8_t> secret(kSecretBytes);
  Wipe wipe{secret};
  randombytes_buf(secret.data(), secret.size());
  Enrolment e;
  e.secret_base32 = base32_encode(secret);
  e.otpauth_uri = otpauth_uri(config_.issuer, account, e.secret_base32, config_.params.digits,
                              static_cast<int>(config_.params.step_seconds));
  auto svg = qr_svg(e.otpauth_uri);
  if (!svg) return svg.error();
  e.qr_svg = std::move(*svg);
  store::TotpRecord r;
  r.account = account;
  r.sealed_secret = box_.seal(secret, associated_data(account));
  r.created = now;
  // Wrong codes of an earlier pending enrolment still count.
  if (*existing) r.recent_failures = (*existing)->recent_failures;
  e.ticket = save(s, account, std::move(r));
  return e;
}

Result<CodeCheck> TotpService::confirm(const std::string& account, std::string_view code) {
  const TimePoint now = clock_.now();
  if (!is_totp_code(code, config_.params.digits))
    return make_error("invalid_code", "field 'code' must be the " +
                                          std::to_string(config_.params.digits) +
                                          "-digit code the authenticator app shows");
  Shard& s = shard(account);
  std::lock_guard lock(s.mu);
  auto existing = load(s, account);
  if (!existing) return existing.error();
  if (!*existing) return not_enabled(account, false);
  store::TotpRecord r = **existing;
  if (r.confirmed)
    return make_error("totp_already_enabled",
                      "the TOTP second factor of '" + account + "' is already confirmed");
  auto check = check_code(r, code, now);
  if (!check) return check;
  if (check->ok) {
    r.confirmed = true;
    r.confirmed_at = now;
    r.recovery_codes.clear();
    for (int i = 0; i < kRecoveryCodeCount; ++i) {
      std::string c = generate_recovery_code();
      const RecoveryCodeHash h = hasher_.hash(account, *normalize_recovery_code(c));
      r.recovery_codes.push_back(store::TotpRecoveryCode{{h.begin(), h.end()}, std::nullopt});
      check->recovery_codes.push_back(std::move(c));
    }
    check->recovery_codes_left = kRecoveryCodeCount;
  }
  check->ticket = save(s, account, std::move(r));
  return check;
}

Result<CodeCheck> TotpService::verify(const std::string& account, std::string_view code) {
  const TimePoint now = clock_.now();
  Shard& s = shard(account);
  std::lock_guard lock(s.mu);
  auto existing = load(s, account);
  if (!existing) return existing.error();
  if (!*existing || !(*existing)->confirmed) return not_enabled(account, existing->has_value());
  store::TotpRecord r = **existing;
  auto check = check_code(r, code, now);
  if (!check) return check;
  check->ticket = save(s, account, std::move(r));
  return check;
}

Result<CodeCheck> TotpService::remove(const std::string& account,
                                      const std::optional<std::string>& code) {
  const TimePoint now = clock_.now();
  Shard& s = shard(account);
  std::lock_guard lock(s.mu);
  auto existing = load(s, account);
  if (!existing) return existing.error();
  if (!*existing) return not_enabled(account, false);
  CodeCheck out;
  if (code) {
    store::TotpRecord r = **existing;
    auto check = check_code(r, *code, now);
    if (!check) return check;
    if (!check->ok) {
      check->ticket = save(s, account, std::move(r));
      return check;
    }
    out = std::move(*check);
  } else {
    out.ok = true;
    out.method_or_reason = "operator";
  }
  out.recovery_codes_left = 0;
  out.ticket = save(s, account, std::nullopt);
  return out;
}

Result<bool> TotpService::enabled(const std::string& account) {
  Shard& s = shard(account);
  std::lock_guard lock(s.mu);
  auto existing = load(s, account);
  if (!existing) return existing.error();
  return *existing && (*existing)->confirmed;
}

}  // namespace mamori::account
