#ifndef MAMORI_ACCOUNT_TOTP_SERVICE_H_
#define MAMORI_ACCOUNT_TOTP_SERVICE_H_

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "account/recovery_codes.h"
#include "account/secret_box.h"
#include "account/totp.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/commits.h"
#include "store/record_store.h"

namespace mamori::account {

struct TotpConfig {
  std::string issuer = "mamori";  // shown by authenticator apps next to the account
  std::string key_file;           // empty: <data_dir>/totp.key
  int max_failures = 5;           // wrong codes that lock verification out ...
  Duration failure_window = std::chrono::minutes(15);  // ... within this window
  TotpParams params;
};

struct Enrolment {
  std::string secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;
  store::WriteTicket ticket = 0;
};

// The answer to a code: confirm, verify and remove share it.
struct CodeCheck {
  bool ok = false;
  // When ok: "totp" or "recovery_code". When not: "invalid_code" (matches no
  // current code) or "code_reused" (a TOTP code of a step already used).
  std::string method_or_reason;
  int recovery_codes_left = 0;
  std::vector<std::string> recovery_codes;  // confirm only: the new codes, shown once
  store::WriteTicket ticket = 0;
};

// Enrolment, confirmation, verification and removal of TOTP second factors
// (RFC 6238) with single-use recovery codes, over the store's records
// (RecordStore) and its commits (to tell a committed record from a queued
// one).
//
// The secret is random (160 bits), sealed by the SecretBox before it reaches
// the store. A code is accepted at most once: the step of every accepted code
// is stored and codes of that step or earlier are refused afterwards. After
// `max_failures` wrong codes within `failure_window` (counted durably per
// account, on confirm, verify and remove alike) every code is refused with
// `too_many_attempts` until the oldest of them leaves the window; an
// accepted code clears the count.
//
// Writes go through the store's writer queue; each call returns the ticket
// the caller waits for before answering. Until a write commits, later calls
// for the same account see it (an in-memory overlay of uncommitted records),
// so two requests cannot both use one code.
//
// Errors: `totp_not_enabled` (no record, or not confirmed where one must be),
// `totp_already_enabled`, `too_many_attempts`, `invalid_code` (not the shape
// of a TOTP or recovery code; nothing is counted), `secret_wrong_key` /
// `secret_corrupt` (the sealed secret cannot be opened), store errors.
// Thread-safe: calls for one account are serialised, others run in parallel.
class TotpService {
 public:
  TotpService(TotpConfig config, store::RecordStore& store, store::Commits& commits,
              const SecretBox& box, const Clock& clock);
  TotpService(const TotpService&) = delete;
  TotpService& operator=(const TotpService&) = delete;

  // Starts (or restarts, while unconfirmed) enrolment with a new secret.
  Result<Enrolment> enrol(const std::string& account);
  // Confirms a pending enrolment with a current code; on success answers the
  // recovery codes (their hashes are stored, the codes are not).
  Result<CodeCheck> confirm(const std::string& account, std::string_view code);
  // Checks a TOTP code or an unused recovery code of a confirmed factor.
  Result<CodeCheck> verify(const std::string& account, std::string_view code);
  // Removes the factor (pending or confirmed). With `code` (an app asking),
  // only when it is a current TOTP code or an unused recovery code; a wrong
  // one counts as a failure and answers ok == false. Without (an operator),
  // at once.
  Result<CodeCheck> remove(const std::string& account, const std::optional<std::string>& code);
  // True when the account has a confirmed factor.
  Result<bool> enabled(const std::string& account);

  const TotpConfig& config() const { return config_; }

 private:
  struct Pending {
    std::optional<store::TotpRecord> record;  // none: deleted
    store::WriteTicket ticket = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Pending> pending;  // guarded by mu
  };
  static constexpr std::size_t kShards = 64;

  Shard& shard(std::string_view account);
  // The record as of the last write (committed or not). REQUIRES: s.mu held.
  Result<std::optional<store::TotpRecord>> load(Shard& s, const std::string& account);
  // Queues the write and remembers it until committed. REQUIRES: s.mu held.
  store::WriteTicket save(Shard& s, const std::string& account,
                          std::optional<store::TotpRecord> record);
  // Drops failures older than the window; true when locked out. Sets `retry`.
  bool locked_out(store::TotpRecord& r, TimePoint now, Duration& retry) const;
  Error lockout_error(Duration retry) const;
  // Checks `code` against `r` (TOTP, then recovery codes), updating `r` on
  // success (last step, used code, failures cleared) or failure (counted).
  Result<CodeCheck> check_code(store::TotpRecord& r, std::string_view code, TimePoint now);

  const TotpConfig config_;
  store::RecordStore& store_;
  store::Commits& commits_;
  const SecretBox& box_;
  const Clock& clock_;
  RecoveryCodeHasher hasher_;
  std::array<Shard, kShards> shards_;
};

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_TOTP_SERVICE_H_
