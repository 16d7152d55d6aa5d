"""The database beside other processes: an SQLite session on the live
mamori.db (the online backup the operator's guide describes, a query) ends
without taking the WAL from under mamorid, so a kill -9 afterwards loses no
acknowledged write."""
import os
import sqlite3
import time

from helpers import activity, add_list_entry, list_entries, metric_sum, parse_metrics

ACCOUNTS = ["share-%d" % i for i in range(8)]


def checkpoints(m):
    text = m.session.get(m.url + "/metrics", timeout=10).text
    return metric_sum(parse_metrics(text), "mamori_store_checkpoints_total")


def test_an_online_backup_of_the_live_database_leaves_the_wal_alone(make_mamorid, tmp_path):
    # A checkpoint every MiB of WAL: the first ones come within a few hundred writes.
    m = make_mamorid(extra_toml="[store]\ncheckpoint_mb = 1\n")
    acked = {a: [] for a in ACCOUNTS}
    entries = []
    n = 0

    def results(count):
        # Login results (the activity journal) and list entries (SQLite's WAL).
        nonlocal n
        for _ in range(count):
            account = ACCOUNTS[n % len(ACCOUNTS)]
            body = m.result(account, "10.40.%d.%d" % (n % 9, 1 + n % 5), n % 3 != 0,
                            user_agent="share-test/1.0", device_id="dev-%d" % (n % 4))
            acked[account].append(body["event_id"])
            entries.append(add_list_entry(m, "deny", "10.%d.%d.%d" % (100 + n // 65536 % 100,
                                                                     n // 256 % 256, n % 256),
                                          reason="share %d" % n)["id"])
            n += 1

    deadline = time.monotonic() + 120
    while checkpoints(m) < 2:
        assert time.monotonic() < deadline, "no WAL checkpoint after %d results" % n
        results(25)

    # SQLite's online backup, as `sqlite3 mamori.db ".backup FILE"` makes it.
    db = os.path.join(m.data_dir, "mamori.db")
    copy = str(tmp_path / "backup.db")
    session, target = sqlite3.connect(db), sqlite3.connect(copy)
    session.backup(target)
    target.close()
    session.close()
    c = sqlite3.connect(copy)
    backed_up = c.execute("SELECT count(*) FROM list_entries").fetchone()[0]
    c.close()
    assert backed_up > 0
    assert os.path.exists(db + "-wal"), "the WAL was deleted when the backup's session ended"

    results(200)  # acknowledged after the session, committed to the WAL
    assert m.kill9() == -9
    m.start()
    listed = {e["id"] for e in list_entries(m)}
    lost = [i for i in entries if i not in listed]
    assert not lost, "%d of %d acknowledged list entries lost after kill -9" % (len(lost), len(entries))
    for account, ids in acked.items():
        logged = {e["event_id"] for e in activity(m, account)}
        missing = [x for x in ids if x not in logged]
        assert not missing, "%s: %d of %d acknowledged results lost after kill -9, e.g. %s" % (
            account, len(missing), len(ids), missing[:3])
