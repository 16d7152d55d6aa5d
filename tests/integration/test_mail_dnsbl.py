"""DNS blocklists against a real DNS server (dnsmasq) and a real Postfix:
listed clients are refused with the zone named, unlisted ones accepted, a
DNS server that does not answer does not stop mail (S4)."""
import smtplib
import socket

import pytest

from conftest import APP_TOKEN
from helpers import get_json
import mail_peers as mail



@pytest.fixture(scope="module", autouse=True)
def _mail_peers_here():
    mail.require_peers()

ZONE = "zen.test"
LISTED = "127.0.0.70"


def metric(m, name):
    r = m.request("GET", "/metrics", token=None)
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric %s in /metrics" % name)


def start_host(make_mamorid, dns_port, name, timeout_ms=1000):
    policy_port = mail.free_port()
    m = make_mamorid(name=name, extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n\n'
                     '[dnsbl]\nzones = ["%s"]\nservers = ["127.0.0.1:%d"]\ntimeout_ms = %d\n'
                     % (policy_port, ZONE, dns_port, timeout_ms))
    d = mail.Dovecot.start(m.url + "/dovecot/policy", APP_TOKEN, {"alice": "wonderland"})
    try:
        p = mail.Postfix.start(d.auth_port, policy_port)
    except Exception:
        d.stop()
        raise
    return m, d, p


def deliver(p, source, rcpt="postmaster@example.com"):
    s = smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=(source, 0), timeout=30)
    try:
        s.ehlo("mx.elsewhere.test")
        return s.sendmail("news@elsewhere.test", [rcpt], "Subject: hi\r\n\r\nhello\r\n")
    finally:
        s.close()


@pytest.fixture
def dnsmasq():
    dns = mail.Dnsmasq(ZONE, [LISTED])
    yield dns
    dns.stop()


def test_listed_clients_are_refused_and_unlisted_accepted(make_mamorid, dnsmasq):
    m, d, p = start_host(make_mamorid, dnsmasq.port, "listed")
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            deliver(p, LISTED)
        code, text = e.value.recipients["postmaster@example.com"]
        assert code == 554 and b"mamori: client 127.0.0.70 is listed by zen.test" in text, text
        assert deliver(p, "127.0.0.71") == {}
        # The real DNS server was asked, with the reversed octets.
        assert any("70.0.0.127.zen.test" in q for q in dnsmasq.queries()), dnsmasq.queries()
        assert metric(m, "mamori_dnsbl_listed_total") == 1
        # The answer is cached: a second message does not ask again.
        lookups = metric(m, "mamori_dnsbl_lookups_total")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            deliver(p, LISTED)
        assert metric(m, "mamori_dnsbl_lookups_total") == lookups
        # A login from the listed address gets risk, not a refusal.
        ok, out = d.auth_test("alice", "wonderland", LISTED)
        assert ok, out
        events = get_json(m, "/v1/accounts/alice/activity")["events"]
        good = [e for e in events if e["type"] == "login_result" and e["success"]]
        assert good and "dnsbl" in good[0]["reasons"] and good[0]["action"] == "allow", events
    finally:
        p.stop()
        d.stop()


def test_a_dead_dns_server_does_not_stop_mail(make_mamorid):
    # A UDP socket that never answers.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    m, d, p = start_host(make_mamorid, silent.getsockname()[1], "dead", timeout_ms=300)
    try:
        assert deliver(p, LISTED) == {}  # accepted after the timeout (fails open)
        assert metric(m, "mamori_dnsbl_timeouts_total") >= 1
        assert metric(m, "mamori_dnsbl_listed_total") == 0
    finally:
        p.stop()
        d.stop()
        silent.close()
