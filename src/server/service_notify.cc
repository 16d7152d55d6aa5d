#include "server/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <atomic>
#include <cstring>
#include <string>

#include "core/log.h"

namespace mamori::server {

namespace {

// One line of the notification protocol per field; a status is one line.
std::string status_field(std::string_view status) {
  std::string line = "STATUS=";
  for (char c : status) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

void send(const std::string& message, std::atomic<bool>& reported) {
  const int r = sd_notify(0, message.c_str());
  if (r < 0 && !reported.exchange(true)) {
    const std::string first_line = message.substr(0, message.find('\n'));
    log_warn("cannot notify the service manager (" + first_line + "): " + std::strerror(-r));
  }
}

std::atomic<bool> ready_failed{false}, reloading_failed{false}, stopping_failed{false},
    status_failed{false};

}  // namespace

void notify_ready(std::string_view status) {
  send("READY=1\n" + status_field(status), ready_failed);
}

void notify_reloading(std::string_view status) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1000000LL + now.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\n" + status_field(status),
       reloading_failed);
}

void notify_stopping(std::string_view status) {
  send("STOPPING=1\n" + status_field(status), stopping_failed);
}

void notify_status(std::string_view status) { send(status_field(status), status_failed); }

}  // namespace mamori::server
