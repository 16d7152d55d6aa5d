#ifndef MAMORI_ACCOUNT_QR_SVG_H_
#define MAMORI_ACCOUNT_QR_SVG_H_

#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::account {

// Encodes `text` as a QR code (libqrencode, error correction level M, 8-bit
// mode, the smallest version that fits) and draws it as a standalone SVG:
// black modules on white with the 4-module quiet zone the standard asks for,
// `module_px` pixels per module. Fails with `qr_encode_failed` when the text
// does not fit a QR code. Thread-safe.
Result<std::string> qr_svg(std::string_view text, int module_px = 6);

}  // namespace mamori::account

#endif  // MAMORI_ACCOUNT_QR_SVG_H_
