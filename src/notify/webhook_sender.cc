#include "notify/webhook_sender.h"

#include <curl/curl.h>
#include <sodium.h>

namespace mamori::notify {

namespace {
std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }
}  // namespace

std::string webhook_signature(std::string_view secret, std::int64_t timestamp,
                              std::string_view body) {
  const std::string ts = std::to_string(timestamp);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(ts.data()), ts.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("sha256=") + hex;
}

std::string redacted_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "…";
  const auto path = url.find_first_of("/?#", scheme + 3);
  if (path == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, path)) + "/…";
}

WebhookSender::WebhookSender(Duration timeout) : timeout_(timeout) {}

Status WebhookSender::post(const std::string& url, std::string_view secret,
                           std::string_view delivery_id, std::string_view body,
                           std::int64_t timestamp) {
  CURL* c = curl_.fresh();
  if (c == nullptr) return make_error("webhook_failed", "cannot create a libcurl handle");
  const std::string ts_header = "X-Mamori-Timestamp: " + std::to_string(timestamp);
  const std::string sig_header =
      "X-Mamori-Signature: " + webhook_signature(secret, timestamp, body);
  const std::string id_header = "X-Mamori-Delivery: " + std::string(delivery_id);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, ts_header.c_str());
  headers = curl_slist_append(headers, sig_header.c_str());
  headers = curl_slist_append(headers, id_header.c_str());
  headers = curl_slist_append(headers, "Expect:");
  char error[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mamori-webhook/1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return make_error("webhook_failed",
                      redacted_url(url) + ": " +
                          (error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc)));
  }
  if (status < 200 || status > 299)
    return make_error("webhook_failed", redacted_url(url) + ": HTTP " + std::to_string(status));
  return {};
}

}  // namespace mamori::notify
