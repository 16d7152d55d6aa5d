#include "account/operator_accounts.h"

#include <sodium.h>

#include <algorithm>

#include "account/base32.h"
#include "account/otpauth_uri.h"

namespace mamori::account {

namespace {

constexpr std::size_t kSecretBytes = 20;  // 160 bits, as the accounts' TOTP secrets

std::string associated_data(std::string_view name) {
  return "mamori operator totp v1\n" + std::string(name);
}

Error not_found(const std::string& name) {
  return make_error("operator_not_found", "no operator '" + name + "'");
}

struct Wipe {
  std::vector<std::uint8_t>& v;
  ~Wipe() { sodium_memzero(v.data(), v.size()); }
};

Result<std::string> hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return make_error("internal_error", "hashing the password ran out of memory");
  return std::string(out);
}

bool password_matches(const std::string& hash, std::string_view password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace

bool valid_operator_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  auto word = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (!word(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char ch) { return word(ch) || ch == '-' || ch == '_' || ch == '.'; });
}

OperatorAccounts::OperatorAccounts(store::RecordStore& store, store::Commits& commits,
                                   const SecretBox& box, const Clock& clock, std::string issuer,
                                   TotpParams params)
    : store_(store),
      commits_(commits),
      box_(box),
      clock_(clock),
      issuer_(std::move(issuer)),
      params_(params) {}

Result<std::optional<store::OperatorRecord>> OperatorAccounts::load(const std::string& name) {
  auto it = pending_.find(name);
  if (it != pending_.end()) {
    if (commits_.committed() < it->second.ticket) return it->second.record;
    pending_.erase(it);
  }
  return store_.operator_account(name);
}

store::WriteTicket OperatorAccounts::save(const std::string& name,
                                          std::optional<store::OperatorRecord> r) {
  const store::WriteTicket t = r ? store_.put_operator(*r) : store_.delete_operator(name);
  if (pending_.size() >= 32) {
    const store::WriteTicket done = commits_.committed();
    std::erase_if(pending_, [done](const auto& kv) { return kv.second.ticket <= done; });
  }
  pending_[name] = Pending{std::move(r), t};
  return t;
}

OperatorTotp OperatorAccounts::new_secret(store::OperatorRecord& r) {
  std::vector<std::uint8_t> secret(kSecretBytes);
  Wipe wipe{secret};
  randombytes_buf(secret.data(), secret.size());
  OperatorTotp out;
  out.name = r.name;
  out.secret_base32 = base32_encode(secret);
  out.otpauth_uri = otpauth_uri(issuer_, "console:" + r.name, out.secret_base32, params_.digits,
                                static_cast<int>(params_.step_seconds));
  r.sealed_secret = box_.seal(secret, associated_data(r.name));
  r.last_step = -1;
  return out;
}

const std::string& OperatorAccounts::decoy_hash() {
  std::call_once(decoy_once_, [this] {
    std::array<char, 24> random;
    randombytes_buf(random.data(), random.size());
    auto h = hash_password(std::string_view(random.data(), random.size()));
    decoy_hash_ = h ? *h : std::string();
  });
  return decoy_hash_;
}

Result<OperatorAccounts::Prepared> OperatorAccounts::prepare(const std::string& name,
                                                             std::string_view password) {
  if (!valid_operator_name(name) || name == "me" || name == "sign-in" || name == "sign-out")
    return make_error("invalid_name",
                      "an operator's name is 1 to 32 of a-z, 0-9, '-', '_', '.', starting with a "
                      "letter or digit, and not 'me', 'sign-in' or 'sign-out'");
  if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes)
    return make_error("invalid_password", "an operator's password is " +
                                              std::to_string(kMinPasswordBytes) + " to " +
                                              std::to_string(kMaxPasswordBytes) + " bytes");
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  return Prepared{name, std::move(*hash)};
}

Result<OperatorTotp> OperatorAccounts::add(Prepared p) {
  std::lock_guard lock(mu_);
  auto existing = load(p.name);
  if (!existing) return existing.error();
  if (*existing) return make_error("operator_exists", "operator '" + p.name + "' exists");
  store::OperatorRecord r;
  r.name = p.name;
  r.password_hash = std::move(p.password_hash);
  r.created = clock_.now();
  OperatorTotp out = new_secret(r);
  out.ticket = save(p.name, std::move(r));
  return out;
}

Result<bool> OperatorAccounts::exists(const std::string& name) {
  std::lock_guard lock(mu_);
  auto existing = load(name);
  if (!existing) return existing.error();
  return existing->has_value();
}

Result<OperatorTotp> OperatorAccounts::reset_totp(const std::string& name) {
  std::lock_guard lock(mu_);
  auto existing = load(name);
  if (!existing) return existing.error();
  if (!*existing) return not_found(name);
  store::OperatorRecord r = std::move(**existing);
  OperatorTotp out = new_secret(r);
  out.ticket = save(name, std::move(r));
  return out;
}

Result<store::WriteTicket> OperatorAccounts::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  auto existing = load(name);
  if (!existing) return existing.error();
  if (!*existing) return not_found(name);
  return save(name, std::nullopt);
}

Result<std::vector<store::OperatorRecord>> OperatorAccounts::list() {
  auto rows = store_.operator_accounts();
  if (!rows) return rows.error();
  std::lock_guard lock(mu_);
  const store::WriteTicket done = commits_.committed();
  for (const auto& [name, p] : pending_) {
    if (p.ticket <= done) continue;
    std::erase_if(*rows, [&](const store::OperatorRecord& r) { return r.name == name; });
    if (p.record) rows->push_back(*p.record);
  }
  std::sort(rows->begin(), rows->end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return rows;
}

Result<OperatorAccounts::Check> OperatorAccounts::check(const std::string& name,
                                                        std::string_view password,
                                                        std::string_view code) {
  std::optional<store::OperatorRecord> record;
  if (valid_operator_name(name)) {
    std::lock_guard lock(mu_);
    auto r = load(name);
    if (!r) return r.error();
    record = std::move(*r);
  }
  // The password first, slow on purpose and without the lock; an unknown
  // name is checked against a decoy so that it takes as long.
  const bool password_ok = record ? password_matches(record->password_hash, password)
                                  : (password_matches(decoy_hash(), password), false);
  if (!password_ok || !is_totp_code(code, params_.digits)) return Check{};
  std::lock_guard lock(mu_);
  auto current = load(name);  // again: another sign-in may have used a step meanwhile
  if (!current) return current.error();
  if (!*current || (*current)->password_hash != record->password_hash) return Check{};
  store::OperatorRecord r = std::move(**current);
  auto secret = box_.open(r.sealed_secret, associated_data(r.name));
  if (!secret) return secret.error();
  Wipe wipe{*secret};
  const TimePoint now = clock_.now();
  auto step = totp_match(*secret, code, now, r.last_step, params_);
  if (!step) return Check{};
  r.last_step = *step;
  r.last_sign_in = now;
  return Check{true, save(name, std::move(r))};
}

}  // namespace mamori::account
