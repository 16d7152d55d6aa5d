"""[[logs]]: log files followed into the engine. Each line's own time, the
whole engine: brute force and credential stuffing seen from a log alone,
rotation by rename and by copytruncate without loss or repeat, a kill -9
resuming at the right line, and the lines a real Dovecot writes."""
import os
import re
import shutil
import time

import pytest

from helpers import activity, get_json, incidents, metric_sum, parse_metrics
import mail_peers

LIP = "192.0.2.1"


def stamp(t=None):
    """A syslog stamp ("Dec  7 04:41:34") in local time, as rsyslog writes it."""
    return time.strftime("%b %e %H:%M:%S", time.localtime(time.time() if t is None else t))


class DovecotLog:
    """A Dovecot log written line by line, as syslog appends it."""

    def __init__(self, path):
        self.path = path
        self.session = 0

    def _write(self, text, path=None):
        with open(path or self.path, "a") as f:
            f.write(text)

    def line(self, account, ip, ok, attempts=1):
        self.session += 1
        if ok:
            return ("%s mail dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, "
                    "mpid=%d, TLS, session=<s%06d>\n" % (stamp(), account, ip, LIP, self.session,
                                                         self.session))
        return ("%s mail dovecot: imap-login: Disconnected: Connection closed (auth failed, %d "
                "attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=%s, TLS, "
                "session=<s%06d>\n" % (stamp(), attempts, account, ip, LIP, self.session))

    def append(self, account, ip, ok, attempts=1, path=None):
        self._write(self.line(account, ip, ok, attempts), path)

    def noise(self, n=1):
        for _ in range(n):
            self._write("%s mail dovecot: imap(someone)<1><x>: Logged out in=1 out=2\n" % stamp())


def logs_toml(path, fmt="dovecot", **extra):
    lines = ["[[logs]]", 'path = "%s"' % path, 'format = "%s"' % fmt]
    lines += ['%s = "%s"' % kv for kv in extra.items()]
    return "\n".join(lines) + "\n"


def metrics(m):
    r = m.request("GET", "/metrics", token=None)
    assert r.status_code == 200
    return parse_metrics(r.text)


def events_read(m, source):
    return metric_sum(metrics(m), "mamori_log_events_total", source=source)


def wait_for(what, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def wait_events(m, source, n, timeout=10.0):
    wait_for("%d events from %s" % (n, source), lambda: events_read(m, source) >= n, timeout)
    assert events_read(m, source) == n


def brute_force_blocks(m, account):
    return [b for b in get_json(m, "/v1/blocked")["blocks"]
            if b["reason"] == "brute_force" and b["scope"] == "account_ip" and account in
            b.get("target", "") + str(b.get("account", ""))]


@pytest.fixture
def log_dir(tmp_path):
    d = tmp_path / "var-log"
    d.mkdir()
    return str(d)


def test_brute_force_from_the_log_alone_blocks_within_a_second(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    log.noise(3)
    m = make_mamorid(extra_toml=logs_toml(path))
    acct, ip = "lg-bf-victim", "203.0.113.70"
    for _ in range(9):
        log.append(acct, ip, False)
    wait_events(m, path, 9)
    assert not [b for b in get_json(m, "/v1/blocked")["blocks"] if ip in str(b)]
    written = time.monotonic()
    log.append(acct, ip, False)  # the 10th failure: the threshold line
    wait_for("the brute_force block", lambda: [
        b for b in get_json(m, "/v1/blocked")["blocks"]
        if b["reason"] == "brute_force" and ip in str(b)], timeout=5)
    took = time.monotonic() - written
    assert took < 1.0, "block after %.3f s" % took
    # The same address is refused through the API too: one engine.
    r = m.result(acct, ip, True)
    assert r["action"] == "deny" and "brute_force" in r["reasons"], r
    samples = metrics(m)
    assert metric_sum(samples, "mamori_log_lines_total", source=path) == 13
    assert metric_sum(samples, "mamori_log_lines_matched_total", source=path) == 10
    # The lag is measured after a batch is committed: the block is seen as
    # soon as the line is processed, so the batch may be committing still.
    wait_for("no lag", lambda: metric_sum(metrics(m), "mamori_log_lag_bytes", source=path) == 0)
    # Each failure is in the account's activity, with the line's protocol
    # (the events are counted when given to the engine, stored just after).
    def imap_failures():
        return [e for e in activity(m, acct) if e.get("protocol") == "imap" and not e.get("success")]
    wait_for("10 activity entries", lambda: len(imap_failures()) >= 10)
    assert len(imap_failures()) == 10


def test_dovecots_attempt_count_counts_each_failure(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    m = make_mamorid(extra_toml=logs_toml(path))
    log.append("lg-attempts", "203.0.113.71", False, attempts=3)
    wait_events(m, path, 3)
    wait_for("3 activity entries", lambda: len(activity(m, "lg-attempts")) >= 3)
    assert len(activity(m, "lg-attempts")) == 3


def test_credential_stuffing_from_one_ip_opens_an_incident(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    m = make_mamorid(extra_toml=logs_toml(path))
    ip = "203.0.113.80"
    for i in range(25):
        log.append("lg-cs-%02d@example.com" % i, ip, False)
    wait_events(m, path, 25)
    found = wait_for("a credential_stuffing incident", lambda: incidents(m, "credential_stuffing", ip))
    assert found
    blocks = get_json(m, "/v1/blocked")["blocks"]
    assert [b for b in blocks if b["reason"] == "credential_stuffing" and ip in str(b)], blocks


def activity_count(m, accounts):
    return sum(len(activity(m, a)) for a in accounts)


def test_rotation_by_rename_and_copytruncate_loses_and_repeats_nothing(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    m = make_mamorid(extra_toml=logs_toml(path))
    accounts = ["lg-rot-%d" % k for k in range(3)]
    written = 0

    def successes(n, path=None):
        nonlocal written
        for i in range(n):
            log.append(accounts[written % 3], "192.0.2.%d" % (10 + written % 3), True, path=path)
            written += 1

    successes(30)
    wait_events(m, path, 30)
    # logrotate's default: rename, then the daemon reopens; a few lines still
    # reach the renamed file before it does.
    os.rename(path, path + ".1")
    successes(5, path=path + ".1")
    successes(30)
    wait_events(m, path, 65)
    # copytruncate: copy, then truncate in place; the writer goes on.
    shutil.copyfile(path, path + ".2")
    os.truncate(path, 0)
    successes(20)
    wait_events(m, path, 85)
    assert written == 85
    wait_for("85 activity entries", lambda: activity_count(m, accounts) >= 85)
    assert activity_count(m, accounts) == 85
    assert events_read(m, path) == 85


def saved_offset(m, path):
    with open(os.path.join(m.data_dir, "logs", "positions")) as f:
        for line in f:
            position, source = line.rstrip("\n").split("\t")
            if source == path:
                return int(position.split()[2])
    return None


def test_kill_9_and_restart_resume_at_the_right_line(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    m = make_mamorid(extra_toml=logs_toml(path))
    accounts = ["lg-crash-%d" % k for k in range(4)]
    for i in range(40):
        log.append(accounts[i % 4], "192.0.2.%d" % (20 + i % 4), True)
    wait_events(m, path, 40)
    wait_for("the position saved at the file's end",
             lambda: saved_offset(m, path) == os.path.getsize(path))
    m.kill9()
    for i in range(40, 60):
        log.append(accounts[i % 4], "192.0.2.%d" % (20 + i % 4), True)
    with open(path, "a") as f:
        f.write(log.line(accounts[0], "192.0.2.20", True)[:30])  # a partial line: not read yet
    m.start()
    wait_events(m, path, 20)
    wait_for("60 activity entries", lambda: activity_count(m, accounts) >= 60)
    assert activity_count(m, accounts) == 60
    assert "resuming at the saved position" in m.read_log_all()


def test_long_lines_are_skipped_and_counted(make_mamorid, log_dir):
    path = os.path.join(log_dir, "mail.log")
    log = DovecotLog(path)
    m = make_mamorid(extra_toml=logs_toml(path) + "max_line_bytes = 1024\n")
    with open(path, "a") as f:
        f.write("x" * 5000 + "\n")
    log.append("lg-long", "192.0.2.30", True)
    wait_events(m, path, 1)
    assert metric_sum(metrics(m), "mamori_log_lines_skipped_total", source=path,
                      reason="too_long") == 1


def test_bad_logs_config_is_refused_with_file_and_line(make_mamorid, tmp_path):
    m = make_mamorid(start=False, extra_toml='[[logs]]\npath = "/var/log/x.log"\nformat = "exim"\n')
    import subprocess
    from conftest import MAMORID
    r = subprocess.run([MAMORID, "--config", m.config_path, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert re.search(r"mamori\.toml:\d+: logs\[0\]\.format .*'exim' is not known", r.stderr), r.stderr
    m2 = make_mamorid(name="n2", start=False,
                      extra_toml='[[logs]]\npath = "mail.log"\nformat = "nginx"\n')
    r = subprocess.run([MAMORID, "--config", m2.config_path, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "login_path" in r.stderr, r.stderr


@pytest.mark.skipif(mail_peers.available() is not None, reason="mail peers unavailable")
def test_lines_written_by_a_real_dovecot_arrive_as_events(make_mamorid):
    dovecot = mail_peers.Dovecot.start(None, None, {"lg-real@example.com": "right-password"})
    try:
        path = dovecot.log_file
        m = make_mamorid(extra_toml=logs_toml(path))
        bad = dovecot.imap_login("lg-real@example.com", "wrong", "127.0.0.2")
        assert " NO " in bad, bad
        bad = dovecot.imap_login("lg-nobody@example.com", "wrong", "127.0.0.3")
        assert " NO " in bad, bad
        ok = dovecot.imap_login("lg-real@example.com", "right-password", "127.0.0.4")
        assert " OK " in ok, ok
        wait_for("3 events from Dovecot's log", lambda: events_read(m, path) >= 3, timeout=20)
        entries = activity(m, "lg-real@example.com")
        got = sorted((e["ip"], e["success"], e["protocol"]) for e in entries)
        assert got == [("127.0.0.2", False, "imap"), ("127.0.0.4", True, "imap")], \
            (entries, dovecot.read_log())
        assert [e["ip"] for e in activity(m, "lg-nobody@example.com")] == ["127.0.0.3"]
    finally:
        dovecot.stop()
