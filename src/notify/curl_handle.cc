#include "notify/curl_handle.h"

#include <curl/curl.h>

#include <mutex>

namespace mamori::notify {

CurlHandle::CurlHandle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

CurlHandle::~CurlHandle() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

CURL* CurlHandle::fresh() {
  if (curl_ != nullptr) curl_easy_reset(curl_);
  return curl_;
}

}  // namespace mamori::notify
