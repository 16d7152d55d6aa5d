#include "cli/data_dir_commands.h"

#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "server/config.h"
#include "store/postgresql/pg_copy.h"
#include "store/postgresql/pg_url.h"
#include "store/sqlite/data_dir_tools.h"

namespace mamori::cli {

namespace {

constexpr std::string_view kBackupHelp =
    R"HELP(usage: mamori backup [--data-dir DIR | --config FILE] [--with-pwned] OUT

Copies mamorid's data dir into the new directory OUT, from which
'mamorid --data-dir OUT' (or 'mamori restore OUT') starts where the copy
was taken: mamori.db, mamori.id, the TOTP key (as totp.key) and, with
--with-pwned, the breached-password store (pwned.bin).

The database is copied in one read transaction, so the copy is one snapshot
holding every write the daemon acknowledged before the backup began. It runs
beside a running mamorid (which goes on writing) or on a stopped one's data
dir. It reads the files directly: run it on the daemon's machine as a user
who can read them (root, or the service's user). OUT is made as a
temporary directory beside it and renamed at the end; its files are mode
0600: they hold the key to the TOTP secrets.

  --data-dir DIR   the data dir (default ./data)
  --config FILE    take the data dir, totp.key_file and pwned_file from
                   mamorid's config instead
  --with-pwned     copy the breached-password store too (it can be large;
                   'mamori pwned import' rebuilds it from its source file)
)HELP";

constexpr std::string_view kRestoreHelp =
    R"HELP(usage: mamori restore BACKUP [--data-dir DIR | --config FILE] [--force]

Puts a backup made by 'mamori backup' into a data dir (created if missing),
for mamorid to start from. Stop mamorid first: a data dir in use (its
mamori.lock held) is refused and nothing is changed; the lock is held while
the files are written, so no mamorid starts on a half-restored data dir. The
backup is checked first (readable, not newer than this mamori, its id its
own). Files are written beside their place and renamed over it; run as root,
they are given to the data dir's owner.

  --data-dir DIR   the data dir (default ./data)
  --config FILE    take the data dir, totp.key_file and pwned_file from
                   mamorid's config instead
  --force          replace the database the data dir holds (without it, a data
                   dir with a database is refused)
)HELP";

constexpr std::string_view kDbHelp =
    R"HELP(usage: mamori db migrate [--data-dir DIR | --config FILE | --store URL]

Upgrades the data dir's database to this version's schema, as mamorid does
when it starts, and says from which version. Stop mamorid first: a data dir in
use is refused. A database newer than this version is refused, unchanged.
With a PostgreSQL store, runs the migrations its schema_version table lacks,
in one transaction (nodes starting meanwhile wait for it); run it before
starting the nodes of a new version, or let the first node run them.

  --data-dir DIR   the data dir (default ./data)
  --config FILE    take the data dir, or with [store] backend = "postgresql"
                   the [postgresql] url, from mamorid's config instead
  --store URL      the PostgreSQL store (postgresql://USER@HOST:PORT/DATABASE)
)HELP";

constexpr std::string_view kStoreHelp =
    R"HELP(usage: mamori store copy --from DATA_DIR --to URL [--force]

Copies every durable record of a data dir (the accounts with their locks and
contacts, list entries, incidents and the accounts they touched, blocks, TOTP
factors, the outbox, what owners' links and notices did once, the profiles
and the activity log) into a PostgreSQL store, migrated to this version's
schema first: how one node grows into several ([store] backend =
"postgresql"). Stop mamorid first: a data dir in
use is refused. The copy is one transaction: cut short, it leaves nothing.
Progress is printed per table. Copy the data dir's totp.key to every node
too: the TOTP secrets are sealed with it.

  --from DATA_DIR  the data dir
  --to URL         the PostgreSQL store (postgresql://USER@HOST:PORT/DATABASE)
  --force          copy into a database that already holds records: those
                   with the key of a copied one are replaced, the others kept,
                   and activity entries already there are not copied again
                   (without it, a database with records is refused)
)HELP";

// The data dir's files from --data-dir or --config.
Result<store::DataDirFiles> data_dir_files(const Args& args) {
  auto config_path = args.get("config");
  auto data_dir = args.get("data-dir");
  if (config_path && data_dir) return make_error("usage", "give --data-dir or --config, not both");
  store::DataDirFiles files;
  if (config_path) {
    auto config = server::load_config(*config_path);
    if (!config) return config.error();
    files.data_dir = config->data_dir;
    files.key_file = config->totp.key_file;
    files.pwned_file = config->pwned_file;
  } else {
    files.data_dir = data_dir.value_or("./data");
  }
  if (files.data_dir.empty()) return make_error("usage", "--data-dir needs a directory");
  return files;
}

const std::vector<FlagSpec>& flags() {
  static const std::vector<FlagSpec> kFlags = {
      {"data-dir", true}, {"config", true}, {"with-pwned", false}, {"force", false},
      {"store", true},    {"from", true},   {"to", true},          {"help", false}};
  return kFlags;
}

// Parses the words of one command: its own options among `allowed` (and
// --help); `positional` words exactly. Prints help or a usage error; returns
// nullopt-like through `exit_code` when the command should not run.
std::optional<Args> parse(std::span<const std::string> args, std::string_view help,
                          std::initializer_list<std::string_view> allowed, std::size_t positional,
                          std::ostream& out, std::ostream& err, int& exit_code) {
  auto parsed = parse_args(args, flags());
  if (parsed && parsed->has("help")) {
    out << help;
    exit_code = kExitOk;
    return std::nullopt;
  }
  std::string problem;
  if (!parsed) {
    problem = parsed.error().message;
  } else {
    for (const auto& [name, value] : parsed->flags) {
      bool ok = false;
      for (std::string_view a : allowed) ok = ok || a == name;
      if (!ok) problem = "unknown option '--" + name + "'";
    }
    if (problem.empty() && parsed->positional.size() != positional)
      problem = parsed->positional.size() < positional
                    ? std::string("missing arguments")
                    : "unexpected argument '" + parsed->positional[positional] + "'";
  }
  if (!problem.empty()) {
    err << "mamori: " << problem << "\n" << help;
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return std::move(*parsed);
}

int report_error(const Error& e, std::ostream& err) {
  err << "mamori: " << e.message << "\n";
  return e.code == "usage" ? kExitUsage : kExitRefused;
}

std::string size_text(std::uint64_t bytes) {
  char buf[32];
  if (bytes < (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1 << 20));
  }
  return buf;
}

}  // namespace

int run_backup(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  auto parsed = parse(args, kBackupHelp, {"data-dir", "config", "with-pwned"}, 1, out, err, code);
  if (!parsed) return code;
  auto files = data_dir_files(*parsed);
  if (!files) return report_error(files.error(), err);
  store::BackupOptions options;
  options.include_pwned = parsed->has("with-pwned");
  const std::string& target = parsed->positional[0];
  auto report = store::backup_data_dir(*files, target, options);
  if (!report) return report_error(report.error(), err);
  out << "backup of " << files->data_dir << " written to " << target << ": mamori.db ("
      << size_text(report->database_bytes) << ", schema version " << report->schema_version << ")"
      << (report->data_dir_id.empty() ? "" : ", mamori.id")
      << (report->journals_copied
              ? ", activity/ and profiles/ (" + size_text(report->journal_bytes) + ")"
              : std::string())
      << (report->key_copied ? ", totp.key" : "") << (report->pwned_copied ? ", pwned.bin" : "")
      << " in " << report->took.count() << " ms\n";
  if (!report->key_copied)
    err << "mamori: warning: no TOTP key file at " << files->key_path()
        << ": TOTP secrets in this backup can be read only with the key they were sealed with\n";
  return kExitOk;
}

int run_restore(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  auto parsed = parse(args, kRestoreHelp, {"data-dir", "config", "force"}, 1, out, err, code);
  if (!parsed) return code;
  auto files = data_dir_files(*parsed);
  if (!files) return report_error(files.error(), err);
  store::RestoreOptions options;
  options.replace = parsed->has("force");
  const std::string& backup = parsed->positional[0];
  auto report = store::restore_data_dir(backup, *files, options);
  if (!report) return report_error(report.error(), err);
  out << "restored " << backup << " into " << files->data_dir << ": mamori.db (schema version "
      << report->schema_version << ")" << (report->data_dir_id.empty() ? "" : ", mamori.id")
      << (report->journals_restored ? ", activity/, profiles/" : "")
      << (report->key_restored ? ", " + files->key_path() : std::string())
      << (report->pwned_restored ? ", " + files->pwned_path() : std::string())
      << "; start mamorid on it\n";
  if (!report->key_restored)
    err << "mamori: warning: the backup has no totp.key: the TOTP secrets need the key at "
        << files->key_path() << " to be the one they were sealed with\n";
  return kExitOk;
}

int run_db(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() ||
      (args[0] != "migrate" && args[0] != "--help" && args[0] != "-h" && args[0] != "help")) {
    err << "mamori: expected 'db migrate'\n" << kDbHelp;
    return kExitUsage;
  }
  if (args[0] != "migrate") {
    out << kDbHelp;
    return kExitOk;
  }
  int code = kExitOk;
  auto parsed = parse(args.subspan(1), kDbHelp, {"data-dir", "config", "store"}, 0, out, err, code);
  if (!parsed) return code;
  std::optional<std::string> pg_url = parsed->get("store");
  if (pg_url && (parsed->get("data-dir") || parsed->get("config")))
    return report_error(make_error("usage", "give one of --store, --data-dir and --config"), err);
  if (auto config_path = parsed->get("config"); config_path && !pg_url) {
    auto config = server::load_config(*config_path);
    if (!config) return report_error(config.error(), err);
    if (config->store_backend == "postgresql") pg_url = config->postgresql_url;
  }
  if (pg_url) {
    auto url = store::postgresql::parse_pg_url(*pg_url);
    if (!url) return report_error(make_error("usage", url.error().message), err);
    auto m = store::postgresql::migrate_database(*url);
    if (!m) return report_error(m.error(), err);
    if (m->from == m->to) {
      out << url->redacted << ": schema version " << m->to << " is current; nothing to do\n";
    } else {
      out << url->redacted << ": schema upgraded from version " << m->from << " to " << m->to
          << "\n";
    }
    return kExitOk;
  }
  auto files = data_dir_files(*parsed);
  if (!files) return report_error(files.error(), err);
  auto report = store::migrate_data_dir(files->data_dir);
  if (!report) return report_error(report.error(), err);
  if (report->from_version == report->to_version) {
    out << files->data_dir << ": schema version " << report->to_version
        << " is current; nothing to do\n";
  } else {
    out << files->data_dir << ": schema upgraded from version " << report->from_version << " to "
        << report->to_version << "\n";
  }
  return kExitOk;
}

int run_store(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() ||
      (args[0] != "copy" && args[0] != "--help" && args[0] != "-h" && args[0] != "help")) {
    err << "mamori: expected 'store copy'\n" << kStoreHelp;
    return kExitUsage;
  }
  if (args[0] != "copy") {
    out << kStoreHelp;
    return kExitOk;
  }
  int code = kExitOk;
  auto parsed = parse(args.subspan(1), kStoreHelp, {"from", "to", "force"}, 0, out, err, code);
  if (!parsed) return code;
  auto from = parsed->get("from");
  auto to = parsed->get("to");
  if (!from || from->empty() || !to)
    return report_error(make_error("usage", "store copy needs --from DATA_DIR and --to URL"), err);
  auto url = store::postgresql::parse_pg_url(*to);
  if (!url) return report_error(make_error("usage", url.error().message), err);
  store::postgresql::CopyOptions options;
  options.merge = parsed->has("force");
  options.progress = [&out](std::string_view table, std::uint64_t rows, bool done) {
    out << (done ? "copied " : "copying ") << table << ": " << rows << " rows"
        << (done ? "\n" : "...\n");
    out.flush();
  };
  out << "copying " << *from << " into " << url->redacted << "\n";
  auto report = store::postgresql::copy_data_dir(*from, *url, options);
  if (!report) return report_error(report.error(), err);
  std::uint64_t total = 0;
  for (const auto& [table, rows] : report->rows) total += rows;
  out << "done: " << total << " records copied into " << url->redacted << " (schema version "
      << report->schema_to << ")\n";
  return kExitOk;
}

}  // namespace mamori::cli
