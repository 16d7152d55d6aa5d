#include "server/config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "firewall/nft_table.h"
#include "notify/mail_message.h"
#include "redis/cluster_slots.h"
#include "redis/tls_client.h"
#include "server/config_reader.h"
#include "server/logs_config.h"
#include "store/postgresql/pg_url.h"

namespace mamori::server {

namespace {

// Windows, blocks and challenge times of detections.
constexpr Duration kMinWindow = std::chrono::seconds(1);
constexpr Duration kMaxWindow = std::chrono::hours(24 * 365);

void read_detections(TableReader r, engine::EngineConfig& e) {
  constexpr std::int64_t kMaxCount = 1'000'000;
  {
    TableReader s = r.sub("brute_force");
    s.integer("threshold", e.brute_force.threshold, 1, kMaxCount);
    s.duration("window", e.brute_force.window, kMinWindow, kMaxWindow);
    s.duration("block", e.brute_force.block, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("account_under_attack");
    s.integer("threshold", e.account_under_attack.threshold, 1, kMaxCount);
    s.duration("window", e.account_under_attack.window, kMinWindow, kMaxWindow);
    s.duration("challenge_for", e.account_under_attack.challenge_for, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("ip_failures");
    s.integer("threshold", e.ip_failures.threshold, 1, kMaxCount);
    s.duration("window", e.ip_failures.window, kMinWindow, kMaxWindow);
    s.integer("delay_ms", e.ip_failures.delay_ms, 0, 60'000);
    s.integer("deny_threshold", e.ip_failures.deny_threshold, 1, kMaxCount);
    s.duration("block", e.ip_failures.block, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    // A SlidingCounter's slice (a twelfth of the window) counts at most
    // 65,535: a higher threshold could miss a flood that fits in one.
    constexpr std::int64_t kMaxNetworkCount = 65'535;
    TableReader s = r.sub("network_failures");
    s.integer("threshold", e.network_failures.threshold, 1, kMaxNetworkCount);
    s.duration("window", e.network_failures.window, kMinWindow, kMaxWindow);
    s.integer("delay_ms", e.network_failures.delay_ms, 0, 60'000);
    s.integer("deny_threshold", e.network_failures.deny_threshold, 1, kMaxNetworkCount);
    s.duration("block", e.network_failures.block, kMinWindow, kMaxWindow);
    const engine::NetworkFailuresConfig& nf = e.network_failures;
    if (nf.deny_threshold < nf.threshold) {
      const toml::table& t = s.table();
      if (t.contains("deny_threshold"))
        s.fail("deny_threshold",
               "must not be below threshold (" + std::to_string(nf.threshold) + ")",
               t.get("deny_threshold"));
      else
        s.fail("threshold",
               "must not be above deny_threshold (" + std::to_string(nf.deny_threshold) + ")",
               t.get("threshold"));
    }
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("credential_stuffing");
    s.integer("threshold", e.credential_stuffing.threshold, 1, 10'000);
    s.integer("network_threshold", e.credential_stuffing.network_threshold, 1, 10'000);
    s.duration("window", e.credential_stuffing.window, kMinWindow, kMaxWindow);
    s.duration("block", e.credential_stuffing.block, kMinWindow, kMaxWindow);
    s.boolean("require_password_reset", e.credential_stuffing.require_password_reset);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("distributed_stuffing");
    engine::DistributedStuffingConfig& d = e.distributed_stuffing;
    s.boolean("enabled", d.enabled);
    s.duration("window", d.window, kMinWindow, kMaxWindow);
    s.integer("prefix_v4", d.prefix_v4, 8, 24);
    s.integer("prefix_v6", d.prefix_v6, 16, 64);
    s.integer("prefix_threshold", d.prefix_threshold, 1, 10'000);
    s.integer("asn_threshold", d.asn_threshold, 1, 10'000);
    s.integer("fingerprint_threshold", d.fingerprint_threshold, 1, 10'000);
    s.integer("min_failure_percent", d.min_failure_percent, 1, 100);
    s.integer("deny_failure_percent", d.deny_failure_percent, 1, 100);
    s.integer("min_hot_sources", d.min_hot_sources, 1, 16);
    s.integer("narrow_threshold", d.narrow_threshold, 1, 10'000);
    s.duration("block", d.block, kMinWindow, kMaxWindow);
    s.duration("raise_for", d.raise_for, kMinWindow, kMaxWindow);
    s.boolean("baseline", d.baseline.enabled);
    s.duration("baseline_window", d.baseline.window, std::chrono::minutes(1),
               std::chrono::minutes(60));
    s.integer("baseline_min_results", d.baseline.min_results, 1, kMaxCount);
    s.integer("baseline_min_unknown", d.baseline.min_unknown, 1, kMaxCount);
    s.integer("baseline_factor_percent", d.baseline.factor_percent, 101, 10'000);
    s.integer("baseline_min_excess_percent", d.baseline.min_excess_percent, 0, 100);
    // A /24's count stops at credential_stuffing's network threshold, where
    // that detection denies it already.
    if (d.narrow_threshold > e.credential_stuffing.network_threshold)
      s.fail("narrow_threshold",
             "must not be above detections.credential_stuffing.network_threshold (" +
                 std::to_string(e.credential_stuffing.network_threshold) + ")",
             s.table().get("narrow_threshold"));
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("password_spray");
    s.integer("threshold", e.password_spray.threshold, 1, 10'000);
    s.duration("window", e.password_spray.window, kMinWindow, kMaxWindow);
    s.duration("block", e.password_spray.block, kMinWindow, kMaxWindow);
    s.integer("max_sources", e.password_spray.max_sources, 1, 10'000);
    s.boolean("require_password_reset", e.password_spray.require_password_reset);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("mail_volume");
    s.integer("threshold", e.mail_volume.threshold, 1, kMaxCount);
    s.duration("window", e.mail_volume.window, kMinWindow, kMaxWindow);
    s.integer("daily_threshold", e.mail_volume.daily_threshold, 1, kMaxCount);
    s.duration("daily_window", e.mail_volume.daily_window, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("mail_geography");
    s.integer("countries", e.mail_geography.countries, 1, 1000);
    s.integer("ips", e.mail_geography.ips, 1, 1000);
    s.duration("window", e.mail_geography.window, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("login_risk");
    s.integer("challenge_risk", e.login_risk.challenge_risk, 1, 100);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("impossible_travel");
    s.number("max_speed_kmh", e.login_risk.max_speed_kmh, 1, 1e6);
    s.number("min_distance_km", e.login_risk.min_distance_km, 0, 20'100);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("dormant_account");
    s.duration("after", e.login_risk.dormant_after, kMinWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("risky_change");
    s.duration("window", e.risky_change.window, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("message_fanout");
    s.integer("threshold", e.message_fanout.threshold, 1, 100'000);
    s.duration("window", e.message_fanout.window, kMinWindow, kMaxWindow);
    s.reject_unknown();
  }
  r.reject_unknown();
}

// Reads a secret from `key` or from the file named by `file_key` (exactly one
// of them; the file's trailing newline is dropped; a relative path is taken
// from the config file's directory).
void secret(TableReader& r, std::string_view key, std::string_view file_key, std::string& out,
            const std::string& source, bool required) {
  std::string file;
  r.string(key, out);
  r.string(file_key, file);
  const toml::table& t = r.table();
  if (t.contains(key) && t.contains(file_key))
    return r.fail(file_key, "cannot be given together with " + std::string(key), t.get(file_key));
  if (!file.empty()) {
    const std::filesystem::path p = from_config_dir(file, source);
    std::ifstream in(p, std::ios::binary);
    if (!in)
      return r.fail(file_key, "cannot read " + p.string() + ": " + std::strerror(errno),
                    t.get(file_key));
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty()) return r.fail(file_key, p.string() + " is empty", t.get(file_key));
  }
  if (required && out.empty()) r.fail(key, "(or " + std::string(file_key) + ") is required", &t);
}

bool http_url(std::string_view u) {
  if (!u.starts_with("http://") && !u.starts_with("https://")) return false;
  return u.find_first_of(" \t\r\n") == std::string_view::npos && u.size() > 8;
}

void read_notify(TableReader& root, const toml::table& doc, notify::NotifyConfig& n,
                 const std::string& source, std::string& error) {
  {
    TableReader s = root.sub("notify");
    s.string("service_name", n.service_name);
    s.string("help_url", n.help_url);
    s.duration("retry_initial", n.retry_initial);
    s.duration("retry_max", n.retry_max);
    s.duration("give_up_after", n.give_up_after);
    s.duration("alert_repeat_window", n.alert_repeat_window);
    s.reject_unknown();
    const toml::table& t = s.table();
    if (n.service_name.empty() || n.service_name.find_first_of("\r\n") != std::string::npos)
      s.fail("service_name", "must be one line of text", t.get("service_name"));
    if (!n.help_url.empty() && !http_url(n.help_url))
      s.fail("help_url", "must be an http:// or https:// URL", t.get("help_url"));
    if (n.retry_max < n.retry_initial)
      s.fail("retry_max", "must not be below retry_initial", t.get("retry_max"));
  }
  {
    TableReader s = root.sub("smtp");
    notify::SmtpConfig& m = n.smtp;
    std::string starttls = "try";
    std::int64_t timeout_ms = m.timeout.count();
    s.string("host", m.host);
    s.integer("port", m.port, 1, 65535);
    s.string("starttls", starttls);
    s.string("username", m.username);
    secret(s, "password", "password_file", m.password, source, false);
    s.string("from", m.from);
    s.integer("timeout_ms", timeout_ms, 100, 600'000);
    s.reject_unknown();
    m.timeout = Duration(timeout_ms);
    const toml::table& t = s.table();
    if (starttls == "off") m.starttls = notify::StartTls::kOff;
    else if (starttls == "try") m.starttls = notify::StartTls::kTry;
    else if (starttls == "require") m.starttls = notify::StartTls::kRequire;
    else s.fail("starttls", "must be \"off\", \"try\" or \"require\"", t.get("starttls"));
    if (!t.empty() && m.host.empty()) s.fail("host", "is required in [smtp]", &t);
    if (!m.host.empty()) {
      if (!t.contains("from")) s.fail("from", "is required: the notices' sender address", &t);
      else if (auto a = notify::mail_address(m.from); !a)
        s.fail("from", "must be an address or \"Name <address>\"", t.get("from"));
    }
    if (!m.username.empty() && m.password.empty())
      s.fail("password", "(or password_file) is required with username", t.get("username"));
  }
  root.allow("webhooks");
  if (const toml::node* node = doc.get("webhooks")) {
    const toml::array* arr = node->as_array();
    if (!arr) root.fail("webhooks", "must be an array of tables ([[webhooks]])", node);
    for (std::size_t i = 0; arr && i < arr->size(); ++i) {
      const toml::table* t = (*arr)[i].as_table();
      if (!t) {
        root.fail("webhooks", "entries must be tables with url and secret", &(*arr)[i]);
        break;
      }
      TableReader wr(*t, "webhooks[" + std::to_string(i) + "].", source, error);
      notify::WebhookConfig w;
      wr.string("url", w.url);
      secret(wr, "secret", "secret_file", w.secret, source, true);
      wr.reject_unknown();
      if (!http_url(w.url)) wr.fail("url", "must be an http:// or https:// URL", t->get("url"));
      if (!w.secret.empty() && w.secret.size() < 16)
        wr.fail("secret", "must be at least 16 characters", t->get("secret"));
      for (const notify::WebhookConfig& other : n.webhooks)
        if (other.url == w.url) wr.fail("url", "is configured twice", t->get("url"));
      n.webhooks.push_back(std::move(w));
    }
  }
}

// The [server] keys of the HTTP listener's limits and timeouts.
void read_http_limits(TableReader& s, http::ServerOptions& o) {
  constexpr std::int64_t kKiB = 1024, kMiB = 1024 * 1024;
  s.integer("max_connections", o.max_connections, 1, 1'000'000);
  s.integer("max_header_bytes", o.max_header_bytes, 1 * kKiB, 1 * kMiB);
  s.integer("max_body_bytes", o.max_body_bytes, 1 * kKiB, 64 * kMiB);
  s.integer("max_chunk_line_bytes", o.max_chunk_line_bytes, 64, 64 * kKiB);
  s.integer("max_request_bytes", o.max_request_bytes, 2 * kKiB, 128 * kMiB);
  Duration idle = o.idle_timeout, request = o.request_timeout;
  s.duration("idle_timeout", idle);
  s.duration("request_timeout", request);
  const toml::table& t = s.table();
  for (auto [key, d] : {std::pair{"idle_timeout", idle}, std::pair{"request_timeout", request}})
    if (d < std::chrono::milliseconds(100) || d > std::chrono::hours(24))
      s.fail(key, "must be between 100ms and 24h", t.get(key));
  o.idle_timeout = idle;
  o.request_timeout = request;
  if (o.max_request_bytes < o.max_header_bytes + o.max_body_bytes) {
    const char* key = t.contains("max_request_bytes") ? "max_request_bytes"
                      : t.contains("max_body_bytes")  ? "max_body_bytes"
                                                      : "max_header_bytes";
    s.fail(key,
           "leaves no room: max_request_bytes (" + std::to_string(o.max_request_bytes) +
               ") must be at least max_header_bytes + max_body_bytes (" +
               std::to_string(o.max_header_bytes + o.max_body_bytes) + ")",
           t.get(key));
  }
}

// [server.tls]: TLS on the HTTP listener. Relative paths are taken from the
// config file's directory; the files themselves are read when the listener
// starts (http::make_tls_context), so that a reload reads them again.
void read_tls(TableReader s, http::TlsOptions& tls, const std::string& source) {
  s.string("cert", tls.cert_file);
  s.string("key", tls.key_file);
  s.string("client_ca", tls.client_ca_file);
  Duration handshake = tls.handshake_timeout;
  s.duration("handshake_timeout", handshake, std::chrono::milliseconds(100),
             std::chrono::minutes(10));
  tls.handshake_timeout = handshake;
  s.reject_unknown();
  const toml::table& t = s.table();
  if (t.empty()) return;
  if (tls.cert_file.empty())
    s.fail("cert", "is required in [server.tls]", t.get("cert") ? t.get("cert") : &t);
  if (tls.key_file.empty())
    s.fail("key", "is required in [server.tls]", t.get("key") ? t.get("key") : &t);
  const std::filesystem::path dir = std::filesystem::path(source).parent_path();
  for (std::string* path : {&tls.cert_file, &tls.key_file, &tls.client_ca_file})
    if (!path->empty() && std::filesystem::path(*path).is_relative())
      *path = (dir / *path).string();
}

}  // namespace

Status parse_listen(std::string_view text, std::string& host, std::uint16_t& port) {
  auto bad = [&] {
    return make_error("invalid_listen", "listen address must be HOST:PORT, e.g. 127.0.0.1:8425 or [::1]:8425, not '" +
                                            std::string(text) + "'");
  };
  std::string_view h, p;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return bad();
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (h.empty() || ec != std::errc() || end != p.data() + p.size() || v > 65535) return bad();
  host = std::string(h);
  port = static_cast<std::uint16_t>(v);
  return {};
}

namespace {

// [redis]: the Redis Cluster of [state] backend = "redis".
void read_redis(TableReader s, Config& c, const std::string& source) {
  HotStateSyncOptions& o = c.redis;
  s.strings("nodes", o.cluster.seeds);
  for (const std::string& node : o.cluster.seeds) {
    std::string host;
    std::uint16_t port = 0;
    if (!redis::split_host_port(node, host, port) || host.empty())
      s.fail("nodes", "\"" + node + "\" is not HOST:PORT", s.table().get("nodes"));
  }
  secret(s, "password", "password_file", o.cluster.connection.password, source, false);
  s.string("key_prefix", o.key_prefix);
  if (o.key_prefix.empty() || o.key_prefix.size() > 64 ||
      o.key_prefix.find_first_of("{} ") != std::string::npos)
    s.fail("key_prefix", "must be 1-64 characters without braces or spaces",
           s.table().get("key_prefix"));
  s.duration("sync_every", o.every, std::chrono::milliseconds(10), std::chrono::seconds(10));
  s.duration("retention", c.redis_retention, std::chrono::minutes(1), std::chrono::hours(24 * 30));
  std::int64_t queue_mb = std::int64_t(o.queue_bytes >> 20);
  s.integer("queue_mb", queue_mb, 1, 65536);
  o.queue_bytes = std::size_t(queue_mb) << 20;
  std::int64_t timeout_ms = o.cluster.connection.command_timeout.count();
  s.integer("timeout_ms", timeout_ms, 10, 60'000);
  o.cluster.connection.command_timeout = std::chrono::milliseconds(timeout_ms);
  o.cluster.connection.connect_timeout = std::chrono::milliseconds(timeout_ms);
  // tls = true: every connection to the cluster over TLS (redis-server's
  // --tls-port), the servers' certificates checked against ca_file.
  redis::TlsClientOptions tls;
  s.boolean("tls", tls.enabled);
  for (auto [key, value] :
       {std::pair{"ca_file", &tls.ca_file}, std::pair{"cert_file", &tls.cert_file},
        std::pair{"key_file", &tls.key_file}}) {
    s.string(key, *value);
    if (s.table().contains(key)) *value = from_config_dir(*value, source);
  }
  s.string("server_name", tls.server_name);
  const toml::node* tls_node = s.table().get("tls");
  if (tls.enabled) {
    auto client = redis::TlsClient::make(tls);
    if (!client)
      s.fail("tls", client.error().message, tls_node);
    else
      o.cluster.connection.tls = *client;
  } else if (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty() ||
             !tls.server_name.empty()) {
    s.fail("tls", "ca_file, cert_file, key_file and server_name need tls = true", tls_node);
  }
  s.reject_unknown();
  if (c.redis_state && o.cluster.seeds.empty())
    s.fail("nodes", "must name at least one cluster node with [state] backend = \"redis\"",
           s.table().get("nodes"));
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ":" << e.source().begin.line << ": " << e.description();
    return make_error("invalid_config", os.str());
  }
  Config c;
  std::string error;
  TableReader r(root, "", source, error);
  {
    TableReader s = r.sub("server");
    std::string listen;
    s.string("listen", listen);
    if (s.table().contains("listen")) {
      if (Status st = parse_listen(listen, c.listen_host, c.listen_port); !st)
        s.fail("listen", st.error().message, s.table().get("listen"));
    }
    s.integer("threads", c.threads, 1, 256);
    s.string("data_dir", c.data_dir);
    if (s.table().contains("data_dir")) c.data_dir = from_config_dir(c.data_dir, source);
    s.boolean("replay", c.replay);
    s.duration("maintain_every", c.maintain_every, std::chrono::seconds(1), std::chrono::hours(1));
    read_http_limits(s, c.http);
    read_tls(s.sub("tls"), c.http.tls, source);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("state");
    std::int64_t mb = std::int64_t(c.engine.memory_budget_bytes >> 20);
    s.integer("memory_budget_mb", mb, 1, 1 << 20);
    c.engine.memory_budget_bytes = std::size_t(mb) << 20;
    std::string backend = "memory";
    s.string("backend", backend);
    if (backend == "redis")
      c.redis_state = true;
    else if (backend != "memory")
      s.fail("backend", "must be \"memory\" or \"redis\"", s.table().get("backend"));
    s.reject_unknown();
  }
  read_redis(r.sub("redis"), c, source);
  {
    TableReader s = r.sub("store");
    s.integer("checkpoint_mb", c.store_checkpoint_mb, 1, 4096);
    s.duration("index_every", c.store_index_every, std::chrono::milliseconds(10),
               std::chrono::hours(24));
    s.string("backend", c.store_backend);
    if (c.store_backend != "sqlite" && c.store_backend != "postgresql")
      s.fail("backend", "must be \"sqlite\" or \"postgresql\"");
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("postgresql");
    s.string("url", c.postgresql_url);
    s.integer("pool", c.postgresql_pool, 1, 256);
    if (!c.postgresql_url.empty()) {
      if (auto url = store::postgresql::parse_pg_url(c.postgresql_url); !url)
        s.fail("url", "is not usable: " + url.error().message);
    } else if (c.store_backend == "postgresql") {
      s.fail("url", "is required with [store] backend = \"postgresql\"");
    }
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("activity");
    s.duration("retention", c.engine.activity_retention);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("incidents");
    s.duration("idle", c.engine.incidents.idle);
    s.integer("max_accounts", c.engine.incidents.max_accounts, 1, 100'000'000);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("profiles");
    s.integer("max_devices", c.engine.profiles.max_devices, 1, 1000);
    s.integer("max_countries", c.engine.profiles.max_countries, 1, 300);
    s.integer("max_asns", c.engine.profiles.max_asns, 1, 1000);
    s.duration("persist_every", c.engine.profiles.persist_every);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("geoip");
    s.string("city", c.geoip.city);
    s.string("asn", c.geoip.asn);
    s.string("anonymous", c.geoip.anonymous);
    s.reject_unknown();
  }
  read_detections(r.sub("detections"), c.engine);
  {
    TableReader s = r.sub("postfix");
    std::string listen;
    s.string("listen", listen);
    if (s.table().contains("listen")) {
      if (Status st = parse_listen(listen, c.postfix_host, c.postfix_port); !st)
        s.fail("listen", st.error().message, s.table().get("listen"));
    }
    s.integer("threads", c.postfix_threads, 1, 64);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("dnsbl");
    s.strings("zones", c.dnsbl.zones);
    std::vector<std::string> servers;
    s.strings("servers", servers);
    for (const std::string& sv : servers) c.dnsbl.servers += (c.dnsbl.servers.empty() ? "" : ",") + sv;
    std::int64_t timeout_ms = c.dnsbl.timeout.count();
    s.integer("timeout_ms", timeout_ms, 1, 60'000);
    c.dnsbl.timeout = std::chrono::milliseconds(timeout_ms);
    s.integer("cache_entries", c.dnsbl.cache_entries, 1, 100'000'000);
    s.duration("negative_ttl", c.dnsbl.negative_ttl);
    s.duration("max_ttl", c.dnsbl.max_ttl);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("firewall");
    s.boolean("nftables", c.firewall.nftables);
    s.string("table", c.firewall.table);
    if (!firewall::is_valid_table_name(c.firewall.table))
      s.fail("table", "must be an nftables name: a letter, then letters, digits or _ (64 at most)",
             s.table().get("table"));
    s.boolean("account_ip_blocks", c.firewall.account_ip_blocks);
    std::int64_t batch_ms = c.firewall.batch_every.count();
    s.integer("batch_ms", batch_ms, 1, 10'000);
    c.firewall.batch_every = std::chrono::milliseconds(batch_ms);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("totp");
    s.string("issuer", c.totp.issuer);
    s.string("key_file", c.totp.key_file);
    s.integer("max_failures", c.totp.max_failures, 1, 1000);
    s.duration("failure_window", c.totp.failure_window);
    s.reject_unknown();
    if (c.totp.issuer.empty() || c.totp.issuer.size() > 64 ||
        c.totp.issuer.find(':') != std::string::npos)
      s.fail("issuer", "must be 1-64 characters without ':'", s.table().get("issuer"));
  }
  {
    TableReader s = r.sub("owner_pages");
    notify::OwnerPagesConfig& o = c.owner_pages;
    s.string("base_url", o.base_url);
    s.string("key_file", o.key_file);
    if (s.table().contains("key_file")) o.key_file = from_config_dir(o.key_file, source);
    s.duration("link_ttl", o.link_ttl, std::chrono::minutes(5), std::chrono::hours(24 * 90));
    s.reject_unknown();
    const toml::table& t = s.table();
    if (!o.base_url.empty() &&
        (!http_url(o.base_url) || o.base_url.find_first_of("?#") != std::string::npos))
      s.fail("base_url", "must be an http:// or https:// URL without a query", t.get("base_url"));
    if (o.base_url.empty() && !t.empty()) s.fail("base_url", "is required in [owner_pages]", &t);
  }
  {
    TableReader s = r.sub("console");
    s.boolean("enabled", c.console_enabled);
    s.duration("idle_timeout", c.console.idle_timeout, std::chrono::seconds(1),
               std::chrono::hours(24));
    s.duration("session_lifetime", c.console.lifetime, std::chrono::seconds(1),
               std::chrono::hours(24 * 30));
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("passwords");
    s.integer("min_score", c.passwords.min_score, 0, 4);
    s.integer("min_length", c.passwords.min_length, 1, 256);
    s.boolean("reject_breached", c.passwords.reject_breached);
    s.boolean("range_public", c.range_public);
    s.string("pwned_file", c.pwned_file);
    s.reject_unknown();
  }
  {
    TableReader s = r.sub("log");
    std::string level(to_string(c.log.options.level)), format = "text";
    s.string("level", level);
    s.string("format", format);
    s.string("decisions", c.log.decisions);
    s.integer("decisions_queue", c.log.decisions_queue, 1, 10'000'000);
    s.reject_unknown();
    const toml::table& t = s.table();
    if (!parse_log_level(level, c.log.options.level))
      s.fail("level", "must be \"debug\", \"info\", \"warn\" or \"error\"", t.get("level"));
    if (!parse_log_format(format, c.log.options.format))
      s.fail("format", "must be \"text\" or \"json\"", t.get("format"));
    if (t.contains("decisions") && c.log.decisions.empty())
      s.fail("decisions", "must be a file name or \"-\" (standard output)", t.get("decisions"));
    if (c.log.decisions != "-") c.log.decisions = from_config_dir(c.log.decisions, source);
  }
  read_notify(r, root, c.notify, source, error);
  r.allow("logs");
  read_log_sources(root, source, c.logs, error);
  // [[tokens]]
  r.allow("tokens");
  if (const toml::node* n = root.get("tokens")) {
    const toml::array* arr = n->as_array();
    if (!arr) r.fail("tokens", "must be an array of tables ([[tokens]])", n);
    for (std::size_t i = 0; arr && i < arr->size(); ++i) {
      const toml::table* t = (*arr)[i].as_table();
      if (!t) {
        r.fail("tokens", "entries must be tables with token and role", &(*arr)[i]);
        break;
      }
      TableReader tr(*t, "tokens[" + std::to_string(i) + "].", source, error);
      http::ApiToken tok;
      std::string role;
      secret(tr, "token", "token_file", tok.token, source, true);
      tr.string("role", role);
      tr.string("name", tok.name);
      tr.reject_unknown();
      if (t->contains("name") && !http::valid_actor_name(tok.name))
        tr.fail("name", "must be a short word: 1 to 32 of a-z, 0-9, '-', '_', '.'", t->get("name"));
      if (!tok.token.empty() && tok.token.size() < 8) {
        if (t->contains("token_file"))
          tr.fail("token_file", "holds a token under 8 characters", t->get("token_file"));
        else
          tr.fail("token", "must be at least 8 characters", t->get("token"));
      }
      for (const http::ApiToken& earlier : c.tokens)
        if (earlier.token == tok.token)
          tr.fail("token", "is given twice (each token has one role)", t->get("token"));
      if (role == "admin") tok.role = http::Role::kAdmin;
      else if (role == "app") tok.role = http::Role::kApp;
      else tr.fail("role", "must be \"app\" or \"admin\"", t->get("role"));
      if (tok.name.empty() && !tok.token.empty()) tok.name = http::default_token_name(tok.token);
      for (const http::ApiToken& earlier : c.tokens)
        if (!tok.name.empty() && earlier.name == tok.name)
          tr.fail("name", "'" + tok.name + "' is given to two tokens (names must be unique)",
                  t->contains("name") ? t->get("name") : t->get("token"));
      c.tokens.push_back(std::move(tok));
    }
  }
  r.reject_unknown();
  for (std::string* path :
       {&c.geoip.city, &c.geoip.asn, &c.geoip.anonymous, &c.totp.key_file, &c.pwned_file})
    *path = from_config_dir(*path, source);
  if (error.empty() && c.engine.ip_failures.deny_threshold < c.engine.ip_failures.threshold)
    error = source + ": detections.ip_failures.deny_threshold must not be below threshold";
  if (!error.empty()) return make_error("invalid_config", error);
  return c;
}

namespace {

std::string text_of(const std::string& v) { return v.empty() ? "(none)" : v; }
std::string text_of(bool v) { return v ? "true" : "false"; }
std::string text_of(Duration v) { return format_duration(v); }
template <typename T>
requires std::is_arithmetic_v<T> std::string text_of(T v) { return std::to_string(v); }
std::string listen_text(const std::string& host, std::uint16_t port) {
  if (host.empty()) return "(none)";
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

}  // namespace

std::vector<std::string> changes_needing_restart(const Config& running, const Config& next) {
  std::vector<std::string> out;
  auto check = [&](std::string_view key, const auto& was, const auto& now) {
    if (!(was == now))
      out.push_back(std::string(key) + " changed: needs a restart; keeping " + text_of(was));
  };
  auto check_text = [&](std::string_view key, const std::string& was, const std::string& now) {
    if (was != now) out.push_back(std::string(key) + " changed: needs a restart; keeping " + was);
  };
  const Config& a = running;
  const Config& b = next;
  check_text("server.listen", listen_text(a.listen_host, a.listen_port),
             listen_text(b.listen_host, b.listen_port));
  check("server.threads", a.threads, b.threads);
  check("server.data_dir", a.data_dir, b.data_dir);
  check("server.replay", a.replay, b.replay);
  check("server.maintain_every", a.maintain_every, b.maintain_every);
  check("server.max_connections", a.http.max_connections, b.http.max_connections);
  check("server.max_header_bytes", a.http.max_header_bytes, b.http.max_header_bytes);
  check("server.max_body_bytes", a.http.max_body_bytes, b.http.max_body_bytes);
  check("server.max_chunk_line_bytes", a.http.max_chunk_line_bytes, b.http.max_chunk_line_bytes);
  check("server.max_request_bytes", a.http.max_request_bytes, b.http.max_request_bytes);
  check("server.idle_timeout", a.http.idle_timeout, b.http.idle_timeout);
  check("server.request_timeout", a.http.request_timeout, b.http.request_timeout);
  // SIGHUP reads the certificate and key files again, from the paths in use.
  check("server.tls.cert", a.http.tls.cert_file, b.http.tls.cert_file);
  check("server.tls.key", a.http.tls.key_file, b.http.tls.key_file);
  check("server.tls.client_ca", a.http.tls.client_ca_file, b.http.tls.client_ca_file);
  check("server.tls.handshake_timeout", a.http.tls.handshake_timeout, b.http.tls.handshake_timeout);
  check("state.memory_budget_mb", a.engine.memory_budget_bytes >> 20,
        b.engine.memory_budget_bytes >> 20);
  check("store.checkpoint_mb", a.store_checkpoint_mb, b.store_checkpoint_mb);
  check("store.index_every", a.store_index_every, b.store_index_every);
  check("store.backend", a.store_backend, b.store_backend);
  if (a.postgresql_url != b.postgresql_url)
    out.push_back("postgresql.url changed: needs a restart; keeping " +
                  store::postgresql::redact_pg_url(a.postgresql_url));
  check("postgresql.pool", a.postgresql_pool, b.postgresql_pool);
  check("incidents.idle", a.engine.incidents.idle, b.engine.incidents.idle);
  check("incidents.max_accounts", a.engine.incidents.max_accounts, b.engine.incidents.max_accounts);
  check("owner_pages.base_url", a.owner_pages.base_url, b.owner_pages.base_url);
  check("owner_pages.key_file", a.owner_pages.key_file, b.owner_pages.key_file);
  check("owner_pages.link_ttl", a.owner_pages.link_ttl, b.owner_pages.link_ttl);
  check("console.enabled", a.console_enabled, b.console_enabled);
  check("console.idle_timeout", a.console.idle_timeout, b.console.idle_timeout);
  check("console.session_lifetime", a.console.lifetime, b.console.lifetime);
  check("geoip.city", a.geoip.city, b.geoip.city);
  check("geoip.asn", a.geoip.asn, b.geoip.asn);
  check("geoip.anonymous", a.geoip.anonymous, b.geoip.anonymous);
  check_text("postfix.listen", listen_text(a.postfix_host, a.postfix_port),
             listen_text(b.postfix_host, b.postfix_port));
  check("postfix.threads", a.postfix_threads, b.postfix_threads);
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  check_text("state.backend", a.redis_state ? "redis" : "memory",
             b.redis_state ? "redis" : "memory");
  check("redis.nodes", joined(a.redis.cluster.seeds), joined(b.redis.cluster.seeds));
  check("redis.key_prefix", a.redis.key_prefix, b.redis.key_prefix);
  check("redis.tls", a.redis.cluster.connection.tls != nullptr,
        b.redis.cluster.connection.tls != nullptr);
  check("redis.sync_every", a.redis.every, b.redis.every);
  check("redis.retention", a.redis_retention, b.redis_retention);
  check("redis.queue_mb", a.redis.queue_bytes >> 20, b.redis.queue_bytes >> 20);
  check("redis.timeout_ms", a.redis.cluster.connection.command_timeout.count(),
        b.redis.cluster.connection.command_timeout.count());
  check("dnsbl.zones", joined(a.dnsbl.zones), joined(b.dnsbl.zones));
  check("dnsbl.servers", a.dnsbl.servers, b.dnsbl.servers);
  check("dnsbl.timeout_ms", a.dnsbl.timeout.count(), b.dnsbl.timeout.count());
  check("dnsbl.cache_entries", a.dnsbl.cache_entries, b.dnsbl.cache_entries);
  check("dnsbl.negative_ttl", a.dnsbl.negative_ttl, b.dnsbl.negative_ttl);
  check("dnsbl.max_ttl", a.dnsbl.max_ttl, b.dnsbl.max_ttl);
  check("firewall.nftables", a.firewall.nftables, b.firewall.nftables);
  check("firewall.table", a.firewall.table, b.firewall.table);
  check("firewall.account_ip_blocks", a.firewall.account_ip_blocks, b.firewall.account_ip_blocks);
  check("firewall.batch_ms", a.firewall.batch_every.count(), b.firewall.batch_every.count());
  check("totp.issuer", a.totp.issuer, b.totp.issuer);
  check("totp.key_file", a.totp.key_file, b.totp.key_file);
  check("totp.max_failures", a.totp.max_failures, b.totp.max_failures);
  check("totp.failure_window", a.totp.failure_window, b.totp.failure_window);
  check("passwords.min_score", a.passwords.min_score, b.passwords.min_score);
  check("passwords.min_length", a.passwords.min_length, b.passwords.min_length);
  check("passwords.reject_breached", a.passwords.reject_breached, b.passwords.reject_breached);
  check("passwords.range_public", a.range_public, b.range_public);
  check("passwords.pwned_file", a.pwned_file, b.pwned_file);
  check("notify.retry_initial", a.notify.retry_initial, b.notify.retry_initial);
  check("notify.retry_max", a.notify.retry_max, b.notify.retry_max);
  check("notify.give_up_after", a.notify.give_up_after, b.notify.give_up_after);
  check("log.decisions_queue", a.log.decisions_queue, b.log.decisions_queue);
  check_text("logs", describe_log_sources(a.logs), describe_log_sources(b.logs));
  return out;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error("invalid_config",
                      path + ": cannot read the config file: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace mamori::server
