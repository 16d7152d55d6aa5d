"""[[logs]] with real peers writing: Postfix's own rotation (`postfix
logrotate`: rename, reopen, gzip) and Dovecot's (rename + `doveadm log
reopen`; copytruncate) during a run, and a kill -9 of mamorid and its
restart while Dovecot goes on writing. Every login line the peer wrote is
counted once: the events are counted against what the test caused, and the
lines in the peer's files against both."""
import glob
import gzip
import os
import shutil
import smtplib
import subprocess
import threading

import pytest

import mail_peers
from helpers import activity, metric_sum
from test_log_sources import events_read, logs_toml, metrics, saved_offset, wait_for

PASSWORD = "right-password"


@pytest.fixture(autouse=True)
def peers_here():
    mail_peers.require_peers()


class Writer:
    """Calls `one(i)` for i = 0, 1, ... on a thread until stopped; counts the
    calls that completed."""

    def __init__(self, one):
        self.one = one
        self.done = 0
        self.stopping = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stopping.is_set():
                self.one(self.done)
                self.done += 1
        except Exception as e:  # reported by stop()
            self.error = e

    def wait_done(self, n, timeout=60):
        wait_for("%d done" % n, lambda: self.done >= n or self.error, timeout=timeout)
        assert self.error is None, self.error

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        assert self.error is None, self.error
        return self.done


def count_in(paths, text):
    n = 0
    for p in paths:
        opener = gzip.open if p.endswith(".gz") else open
        with opener(p, "rt", errors="replace") as f:
            n += sum(1 for line in f if text in line)
    return n


def logins(m, accounts):
    return sum(len([e for e in activity(m, a) if e.get("success")]) for a in accounts)


def test_postfix_logrotate_during_sends_loses_and_repeats_nothing(make_mamorid):
    users = {"rot%d@example.test" % k: PASSWORD for k in range(3)}
    accounts = sorted(users)
    d = mail_peers.Dovecot.start(None, None, users)
    try:
        p = mail_peers.Postfix.start(d.auth_port, None)
    except Exception:
        d.stop()
        raise
    try:
        maillog = os.path.join(p.dir, "maillog")
        m = make_mamorid(extra_toml=logs_toml(maillog, fmt="postfix"))

        def send(i):
            user = accounts[i % 3]
            s = smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30,
                             source_address=("127.0.0.%d" % (60 + i % 3), 0))
            try:
                s.login(user, PASSWORD)
                s.sendmail(user, ["r%d@example.com" % i], "Subject: %d\r\n\r\nhi\r\n" % i)
            finally:
                s.quit()

        w = Writer(send)
        w.wait_done(10)
        # Postfix's own rotation while its clients go on sending: the file is
        # renamed with a date, postlogd reopens, the old one is gzipped.
        r = subprocess.run([mail_peers.POSTFIX, "-c", p.etc, "logrotate"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        w.wait_done(w.done + 10)
        sent = w.stop()
        # Each message: its client line (a login) and its queue line (a send).
        wait_for("the queue lines of %d messages" % sent, lambda: count_in(
            glob.glob(maillog + "*"), "(queue active)") >= sent, timeout=30)
        files = glob.glob(maillog + "*")
        assert len(files) == 2 and [f for f in files if f.endswith(".gz")], files
        assert count_in(files, "sasl_username=") == sent
        assert count_in(files, "(queue active)") == sent
        wait_for("%d events" % (2 * sent), lambda: events_read(m, maillog) >= 2 * sent,
                 timeout=30)
        assert events_read(m, maillog) == 2 * sent
        wait_for("%d logins stored" % sent, lambda: logins(m, accounts) >= sent)
        assert logins(m, accounts) == sent
    finally:
        p.stop()
        d.stop()


def test_dovecot_log_reopen_and_copytruncate_lose_and_repeat_nothing(make_mamorid):
    users = {"dv-rot%d@example.test" % k: PASSWORD for k in range(3)}
    accounts = sorted(users)
    d = mail_peers.Dovecot.start(None, None, users)
    try:
        path = d.log_file
        m = make_mamorid(extra_toml=logs_toml(path))

        def login(i):
            reply = d.imap_login(accounts[i % 3], PASSWORD, "127.0.0.%d" % (70 + i % 3))
            assert " OK " in reply, reply

        w = Writer(login)
        w.wait_done(15)
        # logrotate's default with Dovecot's postrotate: rename, then
        # `doveadm log reopen`; Dovecot writes on into the renamed file until
        # it has reopened.
        os.rename(path, path + ".1")
        r = subprocess.run([mail_peers.DOVEADM, "-c", d.conf, "log", "reopen"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        w.wait_done(w.done + 15)
        before_copy = w.stop()
        wait_for("Dovecot's %d login lines" % before_copy,
                 lambda: count_in([path, path + ".1"], "Login: user=<") == before_copy)
        assert count_in([path + ".1"], "Login: user=<") > 0 and count_in(
            [path], "Login: user=<") > 0
        wait_for("%d events" % before_copy, lambda: events_read(m, path) >= before_copy)
        # copytruncate, with Dovecot idle across the copy and the truncation
        # (lines written between the two are lost to every reader).
        shutil.copyfile(path, path + ".2")
        os.truncate(path, 0)
        w = Writer(lambda i: login(before_copy + i))
        w.wait_done(15)
        total = before_copy + w.stop()
        wait_for("Dovecot's %d login lines" % total,
                 lambda: count_in([path, path + ".1", path + ".2"], "Login: user=<") == total)
        wait_for("%d events" % total, lambda: events_read(m, path) >= total, timeout=30)
        assert events_read(m, path) == total
        wait_for("%d logins stored" % total, lambda: logins(m, accounts) >= total)
        assert logins(m, accounts) == total
    finally:
        d.stop()


def test_kill_9_and_restart_resume_at_the_right_line_with_dovecot_writing(make_mamorid):
    users = {"dv-crash%d@example.test" % k: PASSWORD for k in range(3)}
    accounts = sorted(users)
    d = mail_peers.Dovecot.start(None, None, users)
    try:
        path = d.log_file
        m = make_mamorid(extra_toml=logs_toml(path))

        def login(i):
            reply = d.imap_login(accounts[i % 3], PASSWORD, "127.0.0.%d" % (80 + i % 3))
            assert " OK " in reply, reply

        w = Writer(login)
        w.wait_done(10)
        wait_for("a saved position", lambda: (saved_offset(m, path) or 0) > 0)
        m.kill9()  # Dovecot goes on writing
        w.wait_done(w.done + 10)
        m.start()
        w.wait_done(w.done + 10)
        total = w.stop()
        wait_for("Dovecot's %d login lines" % total,
                 lambda: count_in([path], "Login: user=<") == total)
        wait_for("%d logins stored" % total, lambda: logins(m, accounts) >= total, timeout=30)
        wait_for("the position saved at the file's end",
                 lambda: saved_offset(m, path) == os.path.getsize(path))
        assert "resuming at the saved position" in m.read_log_all()
        # Exactly once: the lines of the batch in flight at the kill whose
        # events were stored before their position was are recognised by
        # their events' ids and not counted again (README, "Log sources").
        stored = logins(m, accounts)
        print("kill -9: %d logins, %d stored, %d already stored when read again" %
              (total, stored, metric_sum(metrics(m), "mamori_log_events_already_stored_total")))
        assert stored == total, (stored, total)
    finally:
        d.stop()
