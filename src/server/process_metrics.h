#ifndef MAMORI_SERVER_PROCESS_METRICS_H_
#define MAMORI_SERVER_PROCESS_METRICS_H_

#include <string>
#include <string_view>

namespace mamori::server {

// Appends the process metrics under the names the Prometheus client
// libraries use: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_virtual_memory_max_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds. Read from
// /proc/self (`proc` is that directory, `proc_stat` the system's /proc/stat,
// for tests); a value that cannot be read is left out, never guessed.
// Thread-safe.
void render_process_metrics(std::string& out, std::string_view proc = "/proc/self",
                            std::string_view proc_stat = "/proc/stat");

// mamori_build_info{version,commit,compiler} 1: what this binary is built
// from. The commit is the source checkout's at build time ("unknown" when
// built outside a git checkout).
void render_build_info(std::string& out);

// The build's description: "0.1.0 (commit 0123abcd, GCC 12.2.0)".
std::string build_description();

}  // namespace mamori::server

#endif  // MAMORI_SERVER_PROCESS_METRICS_H_
