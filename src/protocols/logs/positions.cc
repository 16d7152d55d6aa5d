#include "protocols/logs/positions.h"

#include <filesystem>
#include <fstream>

#include "core/replace_file.h"

namespace mamori::logs {

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
  if (Status s = replace_file(path_, text, "positions_unwritable"); !s) return s;
  positions_ = std::move(next);
  return {};
}

}  // namespace mamori::logs
