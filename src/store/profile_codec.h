#ifndef MAMORI_STORE_PROFILE_CODEC_H_
#define MAMORI_STORE_PROFILE_CODEC_H_

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/records.h"

namespace mamori::store {

// An AccountProfile as compact JSON text, for backends that keep it as one
// value. decode_profile(encode_profile(p)) == p. decode fails with
// `invalid_profile` on text it cannot read.
std::string encode_profile(const AccountProfile& p);
// The same text into `out` (its previous content replaced, its buffer reused).
void encode_profile_into(const AccountProfile& p, std::string& out);
Result<AccountProfile> decode_profile(std::string_view text);

}  // namespace mamori::store

#endif  // MAMORI_STORE_PROFILE_CODEC_H_
