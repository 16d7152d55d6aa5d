#include "server/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "server/build_commit.h"

namespace mamori::server {

namespace {

void gauge(std::string& out, const char* name, const char* type, const char* help, double v) {
  char line[256];
  std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
                type, name, v);
  out += line;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The fields of /proc/PID/stat after the command name (which may hold
// spaces and parentheses): fields[0] is field 3 (state).
std::vector<std::string> stat_fields(const std::string& stat) {
  std::vector<std::string> fields;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream in(stat.substr(close + 1));
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

// Field `n` of /proc/PID/stat (numbered from 1 as in proc(5)).
bool stat_field(const std::vector<std::string>& fields, std::size_t n, double& out) {
  if (n < 3 || n - 3 >= fields.size()) return false;
  char* end = nullptr;
  out = std::strtod(fields[n - 3].c_str(), &end);
  return end != fields[n - 3].c_str() && *end == '\0';
}

}  // namespace

void render_process_metrics(std::string& out, std::string_view proc, std::string_view proc_stat) {
  const std::string dir(proc);
  const std::vector<std::string> fields = stat_fields(read_file(dir + "/stat"));
  const double ticks = double(sysconf(_SC_CLK_TCK));
  const double page = double(sysconf(_SC_PAGESIZE));
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (ticks > 0 && stat_field(fields, 14, utime) && stat_field(fields, 15, stime))
    gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
          (utime + stime) / ticks);
  if (stat_field(fields, 23, vsize))
    gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
  if (page > 0 && stat_field(fields, 24, rss))
    gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss * page);
  // Start time: boot time (btime in /proc/stat) plus field 22, in clock ticks since boot.
  std::istringstream system_stat(read_file(std::string(proc_stat)));
  std::string key;
  double btime = -1;
  while (system_stat >> key) {
    if (key == "btime") {
      system_stat >> btime;
      break;
    }
    system_stat.ignore(1 << 20, '\n');
  }
  if (ticks > 0 && btime >= 0 && stat_field(fields, 22, start))
    gauge(out, "process_start_time_seconds", "gauge",
          "Start time of the process since unix epoch in seconds.", btime + start / ticks);
  if (DIR* d = opendir((dir + "/fd").c_str())) {
    std::size_t n = 0;
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    // Reading our own fd directory lists the directory stream too.
    if (proc == "/proc/self" && n > 0) --n;
    gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", double(n));
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
          lim.rlim_cur == RLIM_INFINITY ? -1.0 : double(lim.rlim_cur));
  if (getrlimit(RLIMIT_AS, &lim) == 0)
    gauge(out, "process_virtual_memory_max_bytes", "gauge",
          "Maximum amount of virtual memory available in bytes.",
          lim.rlim_cur == RLIM_INFINITY ? -1.0 : double(lim.rlim_cur));
}

void render_build_info(std::string& out) {
  auto label = [](std::string_view v) {
    std::string s;
    for (char c : v) {
      if (c == '\\' || c == '"') s += '\\';
      if (c == '\n') {
        s += "\\n";
        continue;
      }
      s += c;
    }
    return s;
  };
  out += "# HELP mamori_build_info The version, source commit and compiler mamorid was built from.\n"
         "# TYPE mamori_build_info gauge\n"
         "mamori_build_info{version=\"" + label(kBuildVersion) + "\",commit=\"" +
         label(kBuildCommit) + "\",compiler=\"" + label(kBuildCompiler) + "\"} 1\n";
}

std::string build_description() {
  return std::string(kBuildVersion) + " (commit " + std::string(kBuildCommit) + ", " +
         std::string(kBuildCompiler) + ")";
}

}  // namespace mamori::server
