"""Postfix's policy delegation against a real Postfix 3.7 with SASL through a
real Dovecot 2.3, both judged by mamorid: send quotas (S3) and the lock of a
mailbox logged into from three countries (S2)."""
import os
import smtplib

import pytest

from conftest import APP_TOKEN, SOURCE_DIR
from helpers import get_json
import mail_peers as mail
from peers import wait_until
from test_notices import notice_toml, set_contact



@pytest.fixture(scope="module", autouse=True)
def _mail_peers_here():
    mail.require_peers()

GEOIP_CITY = os.path.join(SOURCE_DIR, "tests", "data", "geoip", "GeoLite2-City-Test.mmdb")
USERS = {"sender@example.test": "s3nd", "box@example.test": "b0x", "carol@example.test": "c4rol"}


@pytest.fixture
def mail_host(make_mamorid, sink):
    """mamorid (quota 5 recipients an hour, GeoIP test data, owner notices to
    `sink`) + Dovecot + Postfix."""
    policy_port = mail.free_port()
    m = make_mamorid(detections={"mail_volume": {"threshold": 5}},
                     extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n\n[geoip]\ncity = "%s"\n'
                                % (policy_port, GEOIP_CITY) + notice_toml(sink.port))
    d = mail.Dovecot.start(m.url + "/dovecot/policy", APP_TOKEN, USERS)
    try:
        p = mail.Postfix.start(d.auth_port, policy_port)
    except Exception:
        d.stop()
        raise
    yield m, d, p
    p.stop()
    d.stop()


def smtp(p, source, user=None, password=None):
    s = smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=(source, 0), timeout=30)
    s.ehlo("client.test")
    if user:
        s.login(user, password)
    return s


def message(sender, rcpts):
    return "From: %s\r\nTo: %s\r\nSubject: test\r\n\r\nhello\r\n" % (sender, ", ".join(rcpts))


def send(s, sender, rcpts):
    return s.sendmail(sender, rcpts, message(sender, rcpts))


def test_S3_a_mailbox_over_its_quota_is_deferred_until_released(mail_host):
    m, _, p = mail_host
    s = smtp(p, "127.0.0.40", "sender@example.test", "s3nd")
    sender = "sender@example.test"
    assert send(s, sender, ["a@example.com", "b@example.com"]) == {}
    assert send(s, sender, ["c@example.com", "d@example.com"]) == {}
    # A third message of two recipients would make 6 > 5: deferred at the end of data.
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(s, sender, ["e@example.com", "f@example.com"])
    assert e.value.smtp_code == 450, e.value
    text = e.value.smtp_error.decode()
    assert text.startswith("4.7.1") and "mamori: sender@example.test is over its sending quota" in text, text
    # One more recipient still fits (5); the next is deferred at RCPT.
    assert send(s, sender, ["e@example.com"]) == {}
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(s, sender, ["f@example.com"])
    code, text = e.value.recipients["f@example.com"]
    assert code == 450 and b"4.7.1" in text and b"sending quota" in text, e.value.recipients
    s.quit()

    # The web mail's sends (mail_sent over the API) share the quota.
    r = m.event("mail_sent", sender, "192.0.2.1", recipients=1)
    assert r["action"] == "deny" and "mail_volume" in r["reasons"], r
    # Other mailboxes send as usual.
    c = smtp(p, "127.0.0.41", "carol@example.test", "c4rol")
    assert send(c, "carol@example.test", ["x@example.com"]) == {}
    c.quit()

    incidents = get_json(m, "/v1/incidents")["incidents"]
    abuse = [i for i in incidents if i["kind"] == "mail_abuse"]
    assert len(abuse) == 1 and "127.0.0.40" in abuse[0]["sources"], incidents
    accounts = get_json(m, "/v1/incidents/%s/accounts" % abuse[0]["id"])
    assert "sender@example.test" in str(accounts), accounts

    # The operator releases it: it sends again.
    m.cli("account", "unlock", sender, "--note", "cleaned up")
    s = smtp(p, "127.0.0.40", "sender@example.test", "s3nd")
    assert send(s, sender, ["a@example.com", "b@example.com", "c@example.com"]) == {}
    s.quit()


def test_S2_smtp_auth_from_three_countries_locks_the_mailbox(mail_host, sink):
    m, d, p = mail_host
    box = "box@example.test"
    set_contact(m, box, "owner@home.example", lang="en")
    # The owner's session, authenticated through Postfix (SASL via Dovecot).
    owner = smtp(p, "127.0.0.50", box, "b0x")
    assert send(owner, box, ["friend@example.com"]) == {}
    # SMTP AUTH logins with the right password from China, the UK and the US
    # (GeoIP test networks) within minutes.
    ok, out = d.auth_test(box, "b0x", "175.16.199.5", service="smtp")
    assert ok, out
    ok, out = d.auth_test(box, "b0x", "81.2.69.142", service="smtp")
    assert ok, out
    ok, out = d.auth_test(box, "b0x", "216.160.83.57", service="smtp")
    assert not ok, out  # the third country: locked, this login refused

    acct = get_json(m, "/v1/accounts/" + box)
    assert acct["status"] == "locked" and acct["password_reset_required"] is True, acct
    assert acct["lock"]["by"] == "mail_geography", acct
    assert "US" in acct["lock"]["reason"] and "CN" in acct["lock"]["reason"], acct
    # The owner is told, at the contact address, in words.
    locked = wait_until(lambda: [x for x in sink.messages() if "locked" in str(x["Subject"])],
                        30, "the owner's lock notice")
    assert [x.envelope["rcpt_tos"] for x in locked] == [["owner@home.example"]]
    body = locked[0].get_content()
    assert "logged into from several countries" in body and "reset your password" in body, body

    # The session that was already authenticated can no longer send.
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(owner, box, ["friend@example.com"])
    code, text = e.value.recipients["friend@example.com"]
    assert code == 554 and b"5.7.1" in text and b"mamori: account box@example.test is locked" in text, \
        e.value.recipients
    owner.close()
    # New logins are refused, over SMTP and IMAP.
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp(p, "127.0.0.51", box, "b0x")
    reply = d.imap_login(box, "b0x", "127.0.0.52")
    assert reply.startswith("a1 NO") and "mamori: this account is locked" in reply, reply

    incidents = get_json(m, "/v1/incidents")["incidents"]
    abuse = [i for i in incidents if i["kind"] == "mail_abuse"]
    assert len(abuse) == 1, incidents
    assert {"175.16.199.5", "81.2.69.142", "216.160.83.57"} <= set(abuse[0]["sources"]), abuse

    # Released by the operator, the owner sends again.
    m.cli("account", "unlock", box)
    s = smtp(p, "127.0.0.53", box, "b0x")
    assert send(s, box, ["friend@example.com"]) == {}
    s.quit()


def test_unauthenticated_clients_on_the_deny_list_are_rejected(mail_host):
    m, _, p = mail_host
    r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": "127.0.0.60/31", "reason": "spam"})
    assert r.status_code == 201, r.text
    s = smtp(p, "127.0.0.61")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(s, "someone@elsewhere.test", ["a@example.com"])
    code, text = e.value.recipients["a@example.com"]
    assert code == 554 and b"deny list" in text, e.value.recipients
    s.close()
    s = smtp(p, "127.0.0.62")
    assert send(s, "someone@elsewhere.test", ["a@example.com"]) == {}
    s.quit()
