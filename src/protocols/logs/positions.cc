#include "protocols/logs/positions.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace mamori::logs {

namespace {

Status write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("positions_unwritable", std::strerror(errno));
    done += std::size_t(n);
  }
  return {};
}

}  // namespace

PositionStore::PositionStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/positions") {}

Result<std::unique_ptr<PositionStore>> PositionStore::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("positions_unwritable", "cannot make " + dir + ": " + ec.message());
  std::unique_ptr<PositionStore> store(new PositionStore(dir));
  std::ifstream in(store->path_);
  std::string line;
  int number = 0;
  while (in && std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
      return make_error("positions_unreadable", store->path_ + ":" + std::to_string(number) +
                                                    ": not a position line; move the file away "
                                                    "to read every source from its start");
    store->positions_[line.substr(tab + 1)] = line.substr(0, tab);
  }
  return store;
}

std::optional<std::string> PositionStore::get(const std::string& source) const {
  std::lock_guard lock(mu_);
  auto it = positions_.find(source);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

Status PositionStore::put(const std::string& source, const std::string& position) {
  std::lock_guard lock(mu_);
  auto it = positions_.find(source);
  if (it != positions_.end() && it->second == position) return {};
  std::map<std::string, std::string> next = positions_;
  next[source] = position;
  std::string text;
  for (const auto& [s, p] : next) text += p + '\t' + s + '\n';
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error("positions_unwritable", "cannot write " + tmp + ": " + std::strerror(errno));
  Status s = write_all(fd, text);
  if (s && ::fsync(fd) != 0) s = make_error("positions_unwritable", std::strerror(errno));
  ::close(fd);
  if (s && ::rename(tmp.c_str(), path_.c_str()) != 0)
    s = make_error("positions_unwritable", std::strerror(errno));
  if (!s) {
    ::unlink(tmp.c_str());
    return make_error("positions_unwritable", "cannot save " + path_ + ": " + s.error().message);
  }
  if (const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  positions_ = std::move(next);
  return {};
}

}  // namespace mamori::logs
