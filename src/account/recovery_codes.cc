#include "account/recovery_codes.h"

#include <sodium.h>

namespace mamori::account {

namespace {
constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
}  // namespace

std::string generate_recovery_code() {
  std::string out;
  for (std::size_t i = 0; i < kRecoveryCodeChars; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[randombytes_uniform(32)];
  }
  return out;
}

std::optional<std::string> normalize_recovery_code(std::string_view code) {
  if (code.size() > 64) return std::nullopt;
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return std::nullopt;
    out += c;
  }
  if (out.size() != kRecoveryCodeChars) return std::nullopt;
  return out;
}

RecoveryCodeHasher::~RecoveryCodeHasher() { sodium_memzero(key_.data(), key_.size()); }

RecoveryCodeHash RecoveryCodeHasher::hash(std::string_view account,
                                          std::string_view normalized) const {
  RecoveryCodeHash out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(account.data()),
                            account.size());
  const unsigned char sep = 0;
  crypto_generichash_update(&st, &sep, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(normalized.data()),
                            normalized.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

}  // namespace mamori::account
