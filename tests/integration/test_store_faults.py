"""The store when the machine fails it: a full disk, a second daemon on the
same data dir, a database emptied or replaced under a data dir that remains.
What the server acknowledged is kept; what it could not store is answered as
an error and leaves nothing behind, in memory or on disk."""
import os
import shutil
import socket
import subprocess
import time

from conftest import MAMORID, free_port
from helpers import activity, get_json, list_entries, metric_sum, parse_metrics
from small_disk import SmallDisk


def post_entry(m, target):
    return m.admin("POST", "/v1/lists", {"kind": "deny", "target": target, "reason": "fill"})


def assert_refused(r):
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.json()["error"]["code"] == "store_unavailable", r.text
    assert r.headers.get("Retry-After") == "1", r.headers


def log_lines(m, needle):
    return [l for l in m.read_log_all().splitlines() if needle in l]


def metrics(m):
    return parse_metrics(m.session.get(m.url + "/metrics", timeout=10).text)


def postfix_policy(port, **attrs):
    """One request of Postfix's policy delegation protocol; returns the action."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        req = dict(request="smtpd_access_policy", **attrs)
        s.sendall(("".join("%s=%s\n" % kv for kv in req.items()) + "\n").encode())
        data = b""
        while not data.endswith(b"\n\n"):
            chunk = s.recv(4096)
            assert chunk, "policy server closed the connection"
            data += chunk
    return data.decode().strip().split("=", 1)[1]


def test_disk_full_refuses_writes_keeps_every_acknowledged_one_and_recovers(make_mamorid):
    postfix_port = free_port()
    m = make_mamorid(start=False,
                     extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n' % postfix_port)
    disk = SmallDisk(m.data_dir, size="8m")
    try:
        m.start(wrap=disk.wrap())
        acknowledged, refused = {}, []
        for i in range(20):
            r = post_entry(m, "10.0.%d.0/24" % i)
            assert r.status_code == 201, r.text
            acknowledged[r.json()["id"]] = "10.0.%d.0/24" % i
        assert disk.fill() > 0

        # Written until the store has refused many: every answer is 201 or 503.
        i = 0
        deadline = time.monotonic() + 60
        while len(refused) < 200 and time.monotonic() < deadline:
            target = "10.%d.%d.0/24" % (1 + i // 256, i % 256)
            r = post_entry(m, target)
            if r.status_code == 201:
                acknowledged[r.json()["id"]] = target
            else:
                assert_refused(r)
                refused.append(target)
            i += 1
        assert len(refused) >= 200, "a full disk never refused a write (%d acknowledged)" % len(acknowledged)

        # A lock and a login result meet the same full disk.
        locked_ok, lock_refused = [], []
        for n in range(50):
            account = "victim%d" % n
            r = m.admin("POST", "/v1/accounts/%s/lock" % account, {"reason": "support"})
            if r.status_code == 200:
                locked_ok.append(account)
            else:
                assert_refused(r)
                lock_refused.append(account)
                if len(lock_refused) >= 3:
                    break
        assert lock_refused, "no lock was refused on the full disk"
        for account in lock_refused:
            assert get_json(m, "/v1/accounts/" + account)["status"] != "locked", \
                "a lock that was not stored is enforced"
        results = [m.app("POST", "/v1/login/result",
                         {"account": "carol", "ip": "192.0.2.%d" % k, "success": False,
                          "pwhash": "p%d" % k}) for k in range(30)]
        assert any(r.status_code == 503 for r in results), [r.status_code for r in results]
        for r in results:
            assert r.status_code == 200 or r.json()["error"]["code"] == "store_unavailable", r.text
        # Activity entries (the journal) meet the full disk too: each result is
        # stored or refused whole, and a refused one leaves no entry.
        full_results = {}
        for k in range(60):
            account = "fulldisk%d" % k
            r = m.app("POST", "/v1/login/result", {"account": account, "ip": "198.51.100.%d" % (k + 1),
                                                  "success": False, "pwhash": "q%d" % k})
            if r.status_code == 200:
                full_results[account] = r.json()["event_id"]
            else:
                assert_refused(r)
                full_results[account] = None
        assert None in full_results.values(), "no activity entry was refused on the full disk"
        # Postfix: a counted message whose record cannot be stored is deferred, not let through.
        actions = [postfix_policy(postfix_port, protocol_state="END-OF-MESSAGE",
                                  sasl_username="box%d@example.jp" % k, client_address="192.0.2.7",
                                  recipient_count="1", instance="i%d" % k) for k in range(20)]
        assert any(a.startswith("DEFER_IF_PERMIT") and "temporary" in a for a in actions), actions
        assert all(a == "DUNNO" or a.startswith("DEFER_IF_PERMIT") for a in actions), actions

        listed = {e["target"] for e in list_entries(m)}
        assert not listed & set(refused), "refused entries are listed: %s" % sorted(listed & set(refused))[:5]
        assert set(acknowledged.values()) <= listed
        samples = metrics(m)
        assert metric_sum(samples, "mamori_store_writes_failed_total") >= len(refused)
        assert metric_sum(samples, "mamori_store_commits_total", result="failed") > 0
        assert len(log_lines(m, "writes are refused")) == 1, log_lines(m, "writes are refused")

        # Space returns: writes succeed again without a restart.
        disk.free()
        deadline = time.monotonic() + 30
        back = None
        while time.monotonic() < deadline:
            r = post_entry(m, "172.16.%d.0/24" % (len(acknowledged) % 250))
            if r.status_code == 201:
                acknowledged[r.json()["id"]] = r.json()["target"]
                back = r
                if log_lines(m, "commits succeed again;"):
                    break
            else:
                assert_refused(r)
            time.sleep(0.2)
        assert back is not None, "writes did not succeed again after space returned"
        assert log_lines(m, "commits succeed again;"), m.read_log()
        assert metric_sum(metrics(m), "mamori_store_available") == 1

        # After a restart: every acknowledged write, no refused one.
        m.stop()
        m.start(wrap=disk.wrap())
        entries = {e["id"]: e["target"] for e in list_entries(m)}
        lost = {k: v for k, v in acknowledged.items() if entries.get(k) != v}
        assert not lost, "acknowledged entries lost: %d, e.g. %s" % (len(lost), list(lost.items())[:3])
        assert not set(entries.values()) & set(refused)
        for account in locked_ok:
            assert get_json(m, "/v1/accounts/" + account)["status"] == "locked"
        for account in lock_refused:
            assert get_json(m, "/v1/accounts/" + account)["status"] != "locked"
        for account, event_id in full_results.items():
            ids = [e["event_id"] for e in activity(m, account, since="2000-01-01T00:00:00Z")]
            assert ids == ([event_id] if event_id else []), (account, event_id, ids)
    finally:
        m.stop()
        disk.stop()


def test_second_daemon_on_the_same_data_dir_is_refused_naming_the_first(make_mamorid, tmp_path):
    first = make_mamorid()
    second = make_mamorid(name="second", start=False)
    # The second config points at the first one's data dir.
    with open(second.config_path) as f:
        text = f.read().replace(second.data_dir, first.data_dir)
    with open(second.config_path, "w") as f:
        f.write(text)
    p = subprocess.run([MAMORID, "--config", second.config_path], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    out = p.stdout + p.stderr
    assert "PID %d" % first.proc.pid in out, out
    assert "mamori.lock" in out, out
    # The first goes on undisturbed.
    assert first.session.get(first.url + "/healthz", timeout=5).status_code == 200


def test_emptied_or_replaced_database_is_refused_at_start(make_mamorid):
    m = make_mamorid()
    r = m.admin("POST", "/v1/accounts/alice/lock", {"reason": "support"})
    assert r.status_code == 200, r.text
    other = make_mamorid(name="other")
    m.stop()
    other.stop()
    db = os.path.join(m.data_dir, "mamori.db")
    shutil.copy(db, db + ".saved")

    def refused(why):
        p = subprocess.run([MAMORID, "--config", m.config_path], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 1, (why, p.stdout, p.stderr)
        assert "mamori.id" in p.stdout + p.stderr, (why, p.stdout + p.stderr)
        check = subprocess.run([MAMORID, "--config", m.config_path, "--check-config"],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 1, (why, check.stdout, check.stderr)

    open(db, "w").close()
    refused("0-byte database")
    assert os.path.getsize(db) == 0, "the refused start changed the file"
    os.remove(db)
    refused("missing database")
    shutil.copy(os.path.join(other.data_dir, "mamori.db"), db)
    refused("another data dir's database")

    shutil.copy(db + ".saved", db)
    m.start()
    assert get_json(m, "/v1/accounts/alice")["status"] == "locked"


def test_emptied_database_of_a_data_dir_from_before_ids_is_refused(make_mamorid):
    """A data dir older than mamori.id: its TOTP key shows it held a database."""
    m = make_mamorid()
    m.stop()
    assert os.path.exists(os.path.join(m.data_dir, "totp.key"))
    os.remove(os.path.join(m.data_dir, "mamori.id"))
    open(os.path.join(m.data_dir, "mamori.db"), "w").close()
    p = subprocess.run([MAMORID, "--config", m.config_path], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "totp.key" in p.stdout + p.stderr, p.stdout + p.stderr
