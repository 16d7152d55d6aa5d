#ifndef MAMORI_ACCOUNT_PASSWORD_CHECKER_H_
#define MAMORI_ACCOUNT_PASSWORD_CHECKER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "account/pwned_store.h"

namespace mamori::account {

struct PasswordPolicy {
  int min_score = 3;               // 0-4, zxcvbn's scale
  std::size_t min_length = 8;      // characters (UTF-8 code points)
  bool reject_breached = true;     // a password seen in a breach is never acceptable
};

// The verdict on one password (POST /v1/passwords/check in docs/openapi.json).
struct PasswordVerdict {
  int score = 0;               // 0 too guessable ... 4 very unguessable
  double guesses_log10 = 0;    // log10 of the estimated guesses
  bool breached = false;
  std::uint32_t breach_count = 0;
  bool acceptable = false;
  std::vector<std::string> feedback;  // sentences for the person choosing it
};

// Rates passwords with zxcvbn (libzxcvbn-c: entropy and the kinds of pattern
// it found) and looks them up in the breached-password store. The account
// name and the caller's `user_inputs` (service name, parts of the e-mail
// address, ...) are zxcvbn's user dictionary: a password built from them
// scores low. Feedback is written from the kinds of pattern found, never
// quoting the password. The password is not copied beyond what zxcvbn and
// SHA-1 need, and those copies are wiped.
// Thread-safe.
class PasswordChecker {
 public:
  static constexpr std::size_t kMaxPasswordBytes = 256;
  static constexpr std::size_t kMaxUserInputs = 32;

  PasswordChecker(PasswordPolicy policy, const PwnedStoreHolder* pwned)
      : policy_(policy), pwned_(pwned) {}

  // REQUIRES: password.size() <= kMaxPasswordBytes.
  PasswordVerdict check(std::string_view password, std::string_view account,
                        const std::vector<std::string>& user_inputs) const;

  const PasswordPolicy& policy() const { return policy_; }

 private:
  const PasswordPolicy policy_;
  const PwnedStoreHolder* pwned_;
};

// zxcvbn's score for log10(guesses): < 3: 0, < 6: 1, < 8: 2, < 10: 3, else 4.
int score_for_guesses_log10(double g);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_PASSWORD_CHECKER_H_
