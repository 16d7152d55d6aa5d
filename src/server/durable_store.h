#ifndef MAMORI_SERVER_DURABLE_STORE_H_
#define MAMORI_SERVER_DURABLE_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "server/config.h"
#include "store/record_changes.h"
#include "store/store.h"

namespace mamori::server {

// The durable store [store] backend names, opened: the embedded one in the
// data dir ("sqlite") or PostgreSQL ("postgresql"), with what the daemon
// needs of it beyond the Store roles.
struct DurableStore {
  std::unique_ptr<store::Store> store;
  // Waits until everything queued is committed; returns the last ticket.
  std::function<store::WriteTicket()> drain;
  std::function<void(std::string&)> render_metrics;
  // A store shared by several nodes: starts and stops delivering the
  // records other nodes changed. Empty for a store of one node.
  std::function<void(store::RecordChangeSink*)> listen;
  std::function<void()> stop_listening;
  // "./data" or the URL with its password redacted, for log lines.
  std::string where;
};

// Opens the store of `config` (the embedded store's options from [store];
// PostgreSQL's URL and pool from [postgresql]). Fails with
// `store_open_failed` or `data_dir_in_use`.
Result<DurableStore> open_durable_store(const Config& config);
// What open_durable_store would refuse, changing nothing (--check-config).
Status check_durable_store(const Config& config);

}  // namespace mamori::server

#endif  // MAMORI_SERVER_DURABLE_STORE_H_
