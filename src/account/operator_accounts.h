#ifndef MAMORI_ACCOUNT_OPERATOR_ACCOUNTS_H_
#define MAMORI_ACCOUNT_OPERATOR_ACCOUNTS_H_

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "account/secret_box.h"
#include "account/totp.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/commits.h"
#include "store/record_store.h"

namespace mamori::account {

// A new operator's (or a reset's) TOTP secret, shown once.
struct OperatorTotp {
  std::string name;
  std::string secret_base32;
  std::string otpauth_uri;  // otpauth://totp/ISSUER:console%3ANAME?...
  store::WriteTicket ticket = 0;
};

// The console's operator accounts: a name, a password kept as its Argon2id
// hash (libsodium crypto_pwhash_str with OPSLIMIT_INTERACTIVE and
// MEMLIMIT_INTERACTIVE: about 64 MiB and tens of milliseconds per check, on
// the calling thread, on purpose: call it from a thread that may block, the
// console's pool of password checks, not an event loop), and a TOTP secret
// (160 bits, sealed by the SecretBox as the accounts' secrets are) checked
// with totp_match, each step accepted once. A check answers only whether
// both matched: an unknown name costs one hash check too, so the time says
// nothing of the name. Checks run concurrently (no lock is held while
// hashing); the caller bounds how many.
//
// Writes go through the store's writer queue; each call returns the ticket
// to wait for before answering. Until a write commits, later calls for the
// same name see it (an in-memory overlay), so two sign-ins cannot both use
// one code.
// Errors: `invalid_name` (see valid_operator_name; also the words of the
// console's routes: me, sign-in, sign-out), `invalid_password`
// (shorter than kMinPasswordBytes or longer than kMaxPasswordBytes),
// `operator_exists`, `operator_not_found`, `secret_wrong_key` /
// `secret_corrupt`, `internal_error` (hashing ran out of memory), store
// errors. Thread-safe.
class OperatorAccounts {
 public:
  static constexpr std::size_t kMinPasswordBytes = 12;
  static constexpr std::size_t kMaxPasswordBytes = 1024;

  // Everything must outlive the object. `issuer` names the service in
  // authenticator apps.
  OperatorAccounts(store::RecordStore& store, store::Commits& commits, const SecretBox& box,
                   const Clock& clock, std::string issuer, TotpParams params = {});
  OperatorAccounts(const OperatorAccounts&) = delete;
  OperatorAccounts& operator=(const OperatorAccounts&) = delete;

  // A new operator in two steps, so that the slow hash is not computed
  // inside a commit group: prepare() checks the name and password and
  // hashes the password (no write); add() queues the operator
  // (`operator_exists` when the name was taken meanwhile).
  struct Prepared {
    std::string name;
    std::string password_hash;
  };
  Result<Prepared> prepare(const std::string& name, std::string_view password);
  Result<OperatorTotp> add(Prepared p);
  // Whether the operator exists (as of the last write, committed or not).
  Result<bool> exists(const std::string& name);
  // A new TOTP secret for the operator; the old one stops working.
  Result<OperatorTotp> reset_totp(const std::string& name);
  Result<store::WriteTicket> remove(const std::string& name);
  Result<std::vector<store::OperatorRecord>> list();
  // Whether `password` is the operator's and `code` a current TOTP code not
  // used before. On success records the code's step and the sign-in time
  // (`ticket`: that write).
  struct Check {
    bool ok = false;
    store::WriteTicket ticket = 0;
  };
  Result<Check> check(const std::string& name, std::string_view password, std::string_view code);

 private:
  struct Pending {
    std::optional<store::OperatorRecord> record;  // none: deleted
    store::WriteTicket ticket = 0;
  };
  // REQUIRES: mu_ held.
  Result<std::optional<store::OperatorRecord>> load(const std::string& name);
  store::WriteTicket save(const std::string& name, std::optional<store::OperatorRecord> r);
  // A new secret sealed into `r`, and its answer.
  OperatorTotp new_secret(store::OperatorRecord& r);
  // A hash to check against for names that do not exist.
  const std::string& decoy_hash();

  store::RecordStore& store_;
  store::Commits& commits_;
  const SecretBox& box_;
  const Clock& clock_;
  const std::string issuer_;
  const TotpParams params_;
  std::mutex mu_;  // the overlay and each read-modify-write (not held while hashing)
  std::unordered_map<std::string, Pending> pending_;
  std::once_flag decoy_once_;
  std::string decoy_hash_;
};

// An operator's name: 1 to 32 of a-z, 0-9, '-', '_', '.', starting with a
// letter or digit (the audit log's actor names).
bool valid_operator_name(std::string_view name);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_OPERATOR_ACCOUNTS_H_
