#include "protocols/logs/send_join.h"

namespace mamori::logs {

template <class Map>
void SendJoin::expire(Map& map, std::deque<Queued>& order, std::size_t max, Duration wait,
                      TimePoint now, std::uint64_t* dropped) {
  while (!order.empty()) {
    const Queued& front = order.front();
    auto it = map.find(front.id);
    if (it == map.end() || it->second.seq != front.seq) {  // joined, or replaced
      order.pop_front();
      continue;
    }
    if (map.size() <= max && now - it->second.time <= wait) break;
    map.erase(it);
    order.pop_front();
    if (dropped) ++*dropped;
  }
  // Joined entries at the back of `order` still take room: keep it bounded.
  if (order.size() > 2 * max + 16) {
    std::deque<Queued> live;
    for (Queued& q : order) {
      auto it = map.find(q.id);
      if (it != map.end() && it->second.seq == q.seq) live.push_back(std::move(q));
    }
    order.swap(live);
  }
}

std::optional<SendJoin::Send> SendJoin::on_client(std::string_view queue_id,
                                                  std::string_view account, std::string_view ip,
                                                  TimePoint time) {
  const std::string id(queue_id);
  if (auto it = recipients_.find(id); it != recipients_.end()) {
    Send s{std::string(account), std::string(ip), it->second.count};
    recipients_.erase(it);
    return s;
  }
  const std::uint64_t seq = ++seq_;
  clients_.insert_or_assign(id, Client{std::string(account), std::string(ip), time, seq});
  client_order_.push_back({id, seq});
  expire(clients_, client_order_, options_.max_clients, options_.client_wait, time, &dropped_);
  expire(recipients_, recipients_order_, options_.max_recipients, options_.recipients_wait, time,
         nullptr);
  return std::nullopt;
}

std::optional<SendJoin::Send> SendJoin::on_recipients(std::string_view queue_id,
                                                      std::uint32_t recipients, TimePoint time) {
  const std::string id(queue_id);
  if (auto it = clients_.find(id); it != clients_.end()) {
    Send s{std::move(it->second.account), std::move(it->second.ip), recipients};
    clients_.erase(it);
    return s;
  }
  const std::uint64_t seq = ++seq_;
  recipients_.insert_or_assign(id, Recipients{recipients, time, seq});
  recipients_order_.push_back({id, seq});
  expire(recipients_, recipients_order_, options_.max_recipients, options_.recipients_wait, time,
         nullptr);
  expire(clients_, client_order_, options_.max_clients, options_.client_wait, time, &dropped_);
  return std::nullopt;
}

}  // namespace mamori::logs
