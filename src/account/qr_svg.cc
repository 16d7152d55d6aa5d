#include "account/qr_svg.h"

#include <qrencode.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mamori::account {

Result<std::string> qr_svg(std::string_view text, int module_px) {
  const std::string s(text);
  errno = 0;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString8bit(s.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!qr) {
    const int e = errno;
    return make_error("qr_encode_failed", std::string("cannot encode a QR code: ") +
                                              (e == ERANGE ? "the text is too long" : std::strerror(e)));
  }
  constexpr int kQuiet = 4;
  const int w = qr->width;
  const int size = w + 2 * kQuiet;
  std::string out;
  out.reserve(static_cast<std::size_t>(w * w * 6 + 400));
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 " +
         std::to_string(size) + " " + std::to_string(size) + "\" width=\"" +
         std::to_string(size * module_px) + "\" height=\"" + std::to_string(size * module_px) +
         "\" shape-rendering=\"crispEdges\">";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  // One sub-path per horizontal run of dark modules.
  for (int y = 0; y < w; ++y) {
    int x = 0;
    while (x < w) {
      if ((qr->data[y * w + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < w && (qr->data[y * w + x + run] & 1)) ++run;
      out += 'M' + std::to_string(x + kQuiet) + ' ' + std::to_string(y + kQuiet) + 'h' +
             std::to_string(run) + "v1h-" + std::to_string(run) + 'z';
      x += run;
    }
  }
  out += "\"/></svg>";
  return out;
}

}  // namespace mamori::account
