#include "notify/smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

namespace mamori::notify {

namespace {

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t read_upload(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t len = std::min(size * n, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, len);
  u->pos += len;
  return len;
}

}  // namespace

SmtpSender::SmtpSender(SmtpConfig config) : config_(std::move(config)) {}

Status SmtpSender::send(std::string_view mail_from, std::string_view rcpt_to,
                        std::string_view message) {
  CURL* c = curl_.fresh();
  if (c == nullptr) return make_error("smtp_failed", "cannot create a libcurl handle");
  const bool v6 = config_.host.find(':') != std::string::npos;
  const std::string url = "smtp://" + (v6 ? "[" + config_.host + "]" : config_.host) + ":" +
                          std::to_string(config_.port);
  const std::string from = "<" + std::string(mail_from) + ">";
  const std::string to = "<" + std::string(rcpt_to) + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  Upload upload{message, 0};
  char error[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
  switch (config_.starttls) {
    case StartTls::kOff:
      curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
      break;
    case StartTls::kTry:
      curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
      break;
    case StartTls::kRequire:
      curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      break;
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config_.password.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  long reply = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(rcpt);
  if (rc != CURLE_OK) {
    std::string what = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(rc));
    if (reply != 0) what += " (last reply " + std::to_string(reply) + ")";
    return make_error("smtp_failed",
                      "smtp://" + config_.host + ":" + std::to_string(config_.port) + ": " + what);
  }
  return {};
}

}  // namespace mamori::notify
