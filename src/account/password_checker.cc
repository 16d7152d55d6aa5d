#include "account/password_checker.h"

#include <sodium.h>
#include <zxcvbn.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace mamori::account {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// The words a person's details give: the whole, and its parts split at
// separators ("alice.smith@example.com" -> alice.smith@example.com, alice,
// smith, example, com), parts of three characters or more.
void add_words(std::string_view s, std::set<std::string>& out) {
  if (s.size() >= 3) out.insert(lower(s));
  std::string part;
  auto flush = [&] {
    if (part.size() >= 3) out.insert(lower(part));
    part.clear();
  };
  for (char c : s) {
    if (c == '@' || c == '.' || c == '_' || c == '-' || c == '+' || c == ' ' || c == ':' || c == '/')
      flush();
    else
      part += c;
  }
  flush();
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

int score_for_guesses_log10(double g) {
  if (g < 3) return 0;
  if (g < 6) return 1;
  if (g < 8) return 2;
  if (g < 10) return 3;
  return 4;
}

PasswordVerdict PasswordChecker::check(std::string_view password, std::string_view account,
                                       const std::vector<std::string>& user_inputs) const {
  PasswordVerdict v;
  std::set<std::string> words;
  if (!account.empty()) add_words(account, words);
  for (std::size_t i = 0; i < user_inputs.size() && i < kMaxUserInputs; ++i)
    add_words(user_inputs[i], words);
  std::vector<const char*> dict;
  for (const std::string& w : words) dict.push_back(w.c_str());
  dict.push_back(nullptr);

  // zxcvbn needs a NUL-terminated copy; it is wiped below.
  std::string copy(password);
  ZxcMatch_t* info = nullptr;
  const double bits = ZxcvbnMatch(copy.c_str(), dict.data(), &info);
  sodium_memzero(copy.data(), copy.size());
  v.guesses_log10 = std::max(0.0, bits * std::log10(2.0));
  v.score = score_for_guesses_log10(v.guesses_log10);

  bool dictionary = false, leet = false, personal = false, repeats = false, sequence = false,
       spatial = false, dates = false, whole_word = false;
  for (ZxcMatch_t* m = info; m != nullptr; m = m->Next) {
    const int type = m->Type & ~MULTIPLE_MATCH;
    const bool whole = m->Begin == 0 && std::size_t(m->Length) == password.size();
    switch (type) {
      case DICTIONARY_MATCH: dictionary = true; whole_word |= whole; break;
      case DICT_LEET_MATCH: leet = true; break;
      case USER_MATCH:
      case USER_LEET_MATCH: personal = true; break;
      case REPEATS_MATCH: repeats = true; break;
      case SEQUENCE_MATCH: sequence = true; break;
      case SPATIAL_MATCH: spatial = true; break;
      case DATE_MATCH:
      case YEAR_MATCH: dates = true; break;
      default: break;
    }
  }
  ZxcvbnFreeInfo(info);

  if (auto store = pwned_ ? pwned_->get() : nullptr) {
    Sha1Digest h = Sha1::digest(password);
    v.breach_count = store->count(h);
    sodium_memzero(h.data(), h.size());
    v.breached = v.breach_count > 0;
  }

  const std::size_t length = utf8_length(password);
  auto& f = v.feedback;
  if (v.breached)
    f.push_back("This password has appeared in " + std::to_string(v.breach_count) +
                (v.breach_count == 1 ? " data breach" : " data breaches") +
                ", so attackers will try it early; choose one you have never used anywhere.");
  if (length < policy_.min_length)
    f.push_back("Use at least " + std::to_string(policy_.min_length) + " characters.");
  if (personal)
    f.push_back("It contains your account name or other personal details; leave those out.");
  if (whole_word)
    f.push_back("This is a common password or a single dictionary word, which are among the first guesses.");
  else if (dictionary)
    f.push_back("It is built on common words or names; a few unrelated, uncommon words are harder to guess.");
  if (leet)
    f.push_back("Swapping letters for look-alike digits or symbols (like @ for a or 0 for o) does not fool guessing tools.");
  if (repeats)
    f.push_back("Repeated characters or patterns like \"aaa\" or \"abcabc\" are easy to guess.");
  if (sequence)
    f.push_back("Sequences like \"abcd\" or \"6543\" are easy to guess.");
  if (spatial)
    f.push_back("Keyboard patterns like \"qwerty\" or \"zxcvbn\" are easy to guess.");
  if (dates)
    f.push_back("Dates and years are easy to guess, especially ones tied to you.");
  if (v.score < policy_.min_score)
    f.push_back("Make it longer: a passphrase of four or more random words is strong and easy to remember.");

  v.acceptable = v.score >= policy_.min_score && length >= policy_.min_length &&
                 !(policy_.reject_breached && v.breached);
  return v;
}

}  // namespace mamori::account
