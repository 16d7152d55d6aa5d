#ifndef MAMORI_SERVER_SERVICE_NOTIFY_H_
#define MAMORI_SERVER_SERVICE_NOTIFY_H_

#include <string_view>

namespace mamori::server {

// Tells the service manager what mamorid is doing, through sd_notify(3), for
// a unit with Type=notify: READY=1 once the listeners accept connections (so
// `systemctl start` returns, and units ordered after mamori start, only
// then), RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 when it
// shuts down, each with a STATUS= line that `systemctl status` shows.
//
// Without $NOTIFY_SOCKET (not started by systemd, or another Type=) every
// call does nothing. A message that cannot be sent is logged once a kind and
// otherwise ignored: the daemon serves on. Thread-safe.
void notify_ready(std::string_view status);
// Sends RELOADING=1 with MONOTONIC_USEC= (the time the reload began).
void notify_reloading(std::string_view status);
void notify_stopping(std::string_view status);
void notify_status(std::string_view status);

}  // namespace mamori::server

#endif  // MAMORI_SERVER_SERVICE_NOTIFY_H_
