"""[[logs]] format = "postfix": a real Postfix's authenticated sends, read
from its log alone (no policy service), count against the mail_volume quota
like the policy service's: smtpd's "QUEUEID: client=..., sasl_username=NAME"
and qmgr's "QUEUEID: from=<...>, size=N, nrcpt=K (queue active)" joined by
queue id are one send of K recipients."""
import os
import smtplib
import socket
import time

import pytest

import mail_peers
from conftest import free_port
from helpers import incidents, metric_sum
from test_log_sources import logs_toml, metrics, stamp, wait_for

USERS = {"sender@example.test": "s3nd", "other@example.test": "0ther"}


@pytest.fixture
def postfix_logs(make_mamorid):
    """A real Postfix (SASL through a real Dovecot) with no policy service;
    mamorid reads its maillog and answers policy requests on its own
    listener (to ask it what the policy service would say)."""
    mail_peers.require_peers()
    d = mail_peers.Dovecot.start(None, None, USERS)
    try:
        p = mail_peers.Postfix.start(d.auth_port, None)
    except Exception:
        d.stop()
        raise
    policy_port = free_port()
    maillog = os.path.join(p.dir, "maillog")
    try:
        m = make_mamorid(extra_toml=logs_toml(maillog, fmt="postfix") +
                         '[postfix]\nlisten = "127.0.0.1:%d"\n' % policy_port,
                         detections={"mail_volume": {"threshold": 5}})
    except Exception:
        p.stop()
        d.stop()
        raise
    yield m, p, maillog, policy_port
    p.stop()
    d.stop()


def send(p, source, user, rcpts):
    s = smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=(source, 0), timeout=30)
    try:
        s.ehlo("client.test")
        s.login(user, USERS[user])
        body = "From: %s\r\nTo: %s\r\nSubject: t\r\n\r\nhello\r\n" % (user, ", ".join(rcpts))
        assert s.sendmail(user, rcpts, body) == {}
    finally:
        s.quit()


def policy_rcpt(port, account, ip):
    """What mamorid's Postfix policy service answers for one more recipient."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
                   "sasl_username=%s\ninstance=t1\n\n" % (ip, account)).encode())
        f = s.makefile("rb")
        line = f.readline().decode().strip()
    assert line.startswith("action="), line
    return line[len("action="):]


def events(m, maillog):
    return metric_sum(metrics(m), "mamori_log_events_total", source=maillog)


def test_S3_sends_in_postfixs_log_count_against_the_quota(postfix_logs):
    m, p, maillog, policy_port = postfix_logs
    sender, ip = "sender@example.test", "127.0.0.50"
    send(p, ip, sender, ["a@example.com", "b@example.com"])
    # The message's client line (a login) and its queue line (the send).
    wait_for("2 events", lambda: events(m, maillog) >= 2, timeout=20)
    assert events(m, maillog) == 2
    # At most 4 of 5 recipients used: one more fits.
    assert policy_rcpt(policy_port, sender, ip) == "DUNNO"
    send(p, ip, sender, ["c@example.com", "d@example.com", "e@example.com"])
    wait_for("4 events", lambda: events(m, maillog) >= 4, timeout=20)
    assert not incidents(m, "mail_abuse")  # 5 of 5: within the quota
    # Postfix alone delivers the next one; mamorid sees it over the quota
    # (so the first two counted 5) and opens a mail_abuse incident, as for a
    # send the policy service refused.
    send(p, ip, sender, ["f@example.com"])
    wait_for("6 events", lambda: events(m, maillog) >= 6, timeout=20)
    assert events(m, maillog) == 6
    found = wait_for("a mail_abuse incident", lambda: incidents(m, "mail_abuse"))
    assert [i for i in found if ip in i["sources"]], found
    # The policy service would defer the mailbox's next recipient, and the
    # web mail's sends share the refusal.
    action = policy_rcpt(policy_port, sender, ip)
    assert action.startswith("DEFER_IF_PERMIT") and "sending quota" in action, action
    r = m.event("mail_sent", sender, "192.0.2.1", recipients=1)
    assert r["action"] == "deny" and "mail_volume" in r["reasons"], r
    # Another mailbox's sends are its own.
    send(p, "127.0.0.51", "other@example.test", ["x@example.com"])
    wait_for("8 events", lambda: events(m, maillog) >= 8, timeout=20)
    assert policy_rcpt(policy_port, "other@example.test", "127.0.0.51") == "DUNNO"
    assert metric_sum(metrics(m), "mamori_log_lines_skipped_total", source=maillog) == 0


def test_client_lines_whose_queue_line_never_came_are_counted_as_dropped_sends(make_mamorid,
                                                                               tmp_path):
    """mamori_log_sends_dropped_total: a message's smtpd line whose qmgr line
    did not follow within the wait (an hour of the lines' time) is a send
    that counted against no quota."""
    maillog = str(tmp_path / "maillog")
    open(maillog, "w").close()
    m = make_mamorid(extra_toml=logs_toml(maillog, fmt="postfix"))
    assert metric_sum(metrics(m), "mamori_log_sends_dropped_total", source=maillog) == 0
    now = time.time()

    def client(t, qid, user, ip):
        return ("%s mx postfix/smtpd[3133]: %s: client=client.example.net[%s], "
                "sasl_method=PLAIN, sasl_username=%s\n" % (stamp(t), qid, ip, user))

    def active(t, qid, n):
        return ("%s mx postfix/qmgr[900]: %s: from=<x@example.test>, size=1234, nrcpt=%d "
                "(queue active)\n" % (stamp(t), qid, n))

    with open(maillog, "a") as f:
        f.write(client(now - 3 * 3600, "1A0001", "lost@example.test", "192.0.2.31"))  # never joined
        f.write(client(now - 2 * 3600, "2B0002", "kept@example.test", "192.0.2.32"))
        f.write(active(now - 2 * 3600 + 1, "2B0002", 2))
        f.write(client(now - 60, "3C0003", "kept@example.test", "192.0.2.32"))
        f.write(active(now - 59, "3C0003", 1))
    # Three logins (the client lines) and two sends.
    wait_for("5 events", lambda: events(m, maillog) >= 5, timeout=20)
    assert events(m, maillog) == 5
    dropped = lambda: metric_sum(metrics(m), "mamori_log_sends_dropped_total", source=maillog)
    wait_for("a dropped send", lambda: dropped() >= 1)
    assert dropped() == 1
