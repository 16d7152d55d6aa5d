#include "server/durable_store.h"

#include "store/embedded/embedded_store.h"
#include "store/postgresql/pg_url.h"
#include "store/postgresql/postgres_store.h"

namespace mamori::server {

Result<DurableStore> open_durable_store(const Config& config) {
  DurableStore out;
  if (config.store_backend == "postgresql") {
    auto url = store::postgresql::parse_pg_url(config.postgresql_url);
    if (!url) return make_error("store_open_failed", url.error().message);
    store::PostgresStoreOptions options;
    options.pool = static_cast<std::size_t>(config.postgresql_pool);
    auto pg = store::PostgresStore::open(*url, options);
    if (!pg) return pg.error();
    store::PostgresStore* s = pg->get();
    out.drain = [s] { return s->drain(); };
    out.render_metrics = [s](std::string& m) { s->render_metrics(m); };
    out.listen = [s](store::RecordChangeSink* sink) { s->listen(sink); };
    out.stop_listening = [s] { s->stop_listening(); };
    out.where = url->redacted;
    out.store = std::move(*pg);
    return out;
  }
  store::EmbeddedStoreOptions options;
  options.sqlite.checkpoint_pages = config.store_checkpoint_mb * 256;  // 4 KiB pages
  options.activity.index_every = config.store_index_every;
  options.profiles.index_every = config.store_index_every;
  auto embedded = store::EmbeddedStore::open(config.data_dir, options);
  if (!embedded) return embedded.error();
  store::EmbeddedStore* s = embedded->get();
  out.drain = [s] { return s->drain(); };
  out.render_metrics = [s](std::string& m) { s->render_metrics(m); };
  out.stop_listening = [] {};
  out.where = config.data_dir;
  out.store = std::move(*embedded);
  return out;
}

Status check_durable_store(const Config& config) {
  if (config.store_backend == "postgresql") {
    auto url = store::postgresql::parse_pg_url(config.postgresql_url);
    if (!url) return make_error("store_open_failed", url.error().message);
    return store::PostgresStore::check(*url);
  }
  return store::EmbeddedStore::check(config.data_dir);
}

}  // namespace mamori::server
