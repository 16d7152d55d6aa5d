"""[[logs]] format = "postfix": a real Postfix's authenticated sends, read
from its log alone (no policy service), count against the mail_volume quota
like the policy service's: smtpd's "QUEUEID: client=..., sasl_username=NAME"
and qmgr's "QUEUEID: from=<...>, size=N, nrcpt=K (queue active)" joined by
queue id are one send of K recipients."""
import os
import smtplib
import socket

import pytest

import mail_peers
from conftest import free_port
from helpers import incidents, metric_sum
from test_log_sources import logs_toml, metrics, wait_for

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
