"""Incidents look back: an incident counts what its source did before it
opened (the logins that worked before the credential-stuffing threshold),
mail incidents count the mailbox whose SMTP AUTH logins succeeded, and
webhooks carry the incident id and the action the client was given. The
owners of the accounts the attacker got into must reset their password and
are told in their language."""
import os
import socket

import pytest

from conftest import APP_TOKEN, SOURCE_DIR, free_port
from helpers import assert_decision, get_json, incident_accounts, incidents
from peers import WebhookReceiver, wait_until
from test_notices import notice_toml, set_contact

SECRET = "whsec-lookback-0123456789"
GEOIP_CITY = os.path.join(SOURCE_DIR, "tests", "data", "geoip", "GeoLite2-City-Test.mmdb")
THRESHOLD = 20  # default credential_stuffing.threshold


def hook_toml(url):
    return ('[notify]\nretry_initial = "200ms"\nretry_max = "1s"\n\n'
            '[[webhooks]]\nurl = "%s"\nsecret = "%s"\n' % (url, SECRET))


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def affected(m, account):
    return get_json(m, "/v1/incidents/affected?account=" + account, token=APP_TOKEN)


def test_S3_stuffing_logins_that_worked_before_the_threshold_are_compromised(make_mamorid):
    m = make_mamorid()
    stuffer = "203.0.113.44"
    works = {2, 9, 15}  # the third login, and two more before the threshold
    worked, failed, i = [], [], 0
    while len(failed) < THRESHOLD:
        acct = "lb-user-%02d" % i
        m.attempt(acct, stuffer)
        r = m.result(acct, stuffer, i in works, pwhash="leaked-%d" % i)
        if i in works:
            assert r["action"] in ("allow", "challenge"), (acct, r)
            worked.append(acct)
        else:
            failed.append(acct)
        i += 1
    assert_decision(r, "deny", "credential_stuffing", "the 20th failing account")

    found = incidents(m, kind="credential_stuffing", source=stuffer)
    assert len(found) == 1, get_json(m, "/v1/incidents")
    inc = found[0]
    assert inc["accounts_compromised"] == 3, inc
    assert inc["accounts_targeted"] == THRESHOLD + 3, inc

    # The accounts listing agrees with the counts.
    touched = incident_accounts(m, inc["id"])
    assert set(touched) == set(worked + failed), sorted(touched)
    assert sorted(a for a, e in touched.items() if e["login_succeeded"]) == sorted(worked), touched
    # And "was my ID affected?" says yes for each account the attacker got into.
    for acct in worked + failed[:2]:
        yes = affected(m, acct)
        assert yes["affected"] is True, (acct, yes)
        assert inc["id"] in [x["id"] for x in yes["incidents"]], (acct, yes)
    assert affected(m, "lb-never-touched")["affected"] is False

    # The operator's tool lists the same.
    out = m.cli("incidents", inc["id"]).stdout
    for acct in worked:
        line = [l for l in out.splitlines() if acct in l]
        assert line and "yes" in line[0], (acct, out)


def test_S2_mail_geography_counts_the_mailbox_and_its_alert_names_the_incident(make_mamorid,
                                                                                receiver):
    m = make_mamorid(extra_toml='[geoip]\ncity = "%s"\n' % GEOIP_CITY + hook_toml(receiver.url))
    box = "lb-box@example.test"
    # SMTP AUTH logins with the right password from China, the UK and the US.
    for ip in ("175.16.199.5", "81.2.69.142"):
        r = m.result(box, ip, True, protocol="smtp")
        assert r["action"] in ("allow", "challenge"), r
    lock = m.result(box, "216.160.83.57", True, protocol="smtp")
    assert_decision(lock, "lock", "mail_geography")

    abuse = incidents(m, kind="mail_abuse")
    assert len(abuse) == 1, get_json(m, "/v1/incidents")
    inc = abuse[0]
    assert inc["accounts_compromised"] == 1, inc
    assert incident_accounts(m, inc["id"])[box]["login_succeeded"] is True
    assert affected(m, box)["affected"] is True

    hooks = wait_until(lambda: [b for _, b in receiver.accepted() if b["event_id"] == lock["event_id"]],
                       30, "the lock's alert")
    assert hooks[0]["incident_id"] == inc["id"], hooks[0]
    assert hooks[0]["action"] == "lock", hooks[0]


def postfix_request(sock, **attrs):
    req = "request=smtpd_access_policy\n" + "".join("%s=%s\n" % kv for kv in attrs.items()) + "\n"
    sock.sendall(req.encode())
    out = b""
    while not out.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        assert chunk, "connection closed after %r" % out
        out += chunk
    text = out.decode()
    assert text.startswith("action="), text
    return text[len("action="):].rstrip("\n")


def test_S3_mail_volume_alert_says_what_postfix_was_told(make_mamorid, receiver):
    port = free_port()
    m = make_mamorid(detections={"mail_volume": {"threshold": 2}},
                     extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n' % port
                     + hook_toml(receiver.url))
    sender = "lb-bulk@example.test"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        sent = postfix_request(s, protocol_state="END-OF-MESSAGE", client_address="192.0.2.60",
                               sasl_username=sender, instance="lb-1", recipient_count="2")
        assert sent == "DUNNO", sent
        told = postfix_request(s, protocol_state="RCPT", client_address="192.0.2.60",
                               sasl_username=sender, instance="lb-2")
    assert told.startswith("DEFER_IF_PERMIT mamori: %s is over its sending quota" % sender), told

    abuse = incidents(m, kind="mail_abuse")
    assert len(abuse) == 1, get_json(m, "/v1/incidents")
    hooks = wait_until(lambda: [b for _, b in receiver.accepted() if b["account"] == sender],
                       30, "the deferral's alert")
    alert = hooks[0]
    assert alert["action"] == "defer", alert
    assert alert["reply"] == told, alert
    assert "mail_volume" in alert["reasons"], alert
    assert alert["incident_id"] == abuse[0]["id"], alert
    # Over the HTTP API the same refusal is a deny, and its alert says so.
    r = m.event("mail_sent", sender, "192.0.2.61", recipients=1)
    assert_decision(r, "deny", "mail_volume")
    hooks = wait_until(lambda: [b for _, b in receiver.accepted() if b["event_id"] == r["event_id"]],
                       30, "the API deny's alert")
    assert hooks[0]["action"] == "deny" and "reply" not in hooks[0], hooks[0]


def stuff_with_successes(m, stuffer, succeed_on):
    """Failing accounts from `stuffer` up to the threshold, the accounts in
    `succeed_on` logged into on the way (second and fourth login)."""
    failed, winners = 0, list(succeed_on)
    i = 0
    while failed < THRESHOLD:
        if i in (1, 3) and winners:
            acct = winners.pop(0)
            m.attempt(acct, stuffer)
            m.result(acct, stuffer, True)
        else:
            acct = "lb-fail-%s-%02d" % (stuffer.rsplit(".", 1)[1], i)
            m.attempt(acct, stuffer)
            r = m.result(acct, stuffer, False)
            failed += 1
        i += 1
    assert_decision(r, "deny", "credential_stuffing", "the 20th failing account")


def test_S3_owners_of_accounts_the_stuffer_got_into_must_reset_and_are_told(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    set_contact(m, "lb-ja", "ja-owner@example.jp", lang="ja")
    set_contact(m, "lb-en", "en-owner@example.com", lang="en")
    stuff_with_successes(m, "203.0.113.45", ["lb-ja", "lb-en"])

    for acct in ("lb-ja", "lb-en"):
        a = get_json(m, "/v1/accounts/" + acct)
        assert a["status"] == "locked" and a["password_reset_required"] is True, a
        assert "credential_stuffing" in a["lock"]["reason"], a
    assert get_json(m, "/v1/accounts/lb-fail-45-00")["status"] == "active"  # failures never lock

    def notice_to(address):
        return [x for x in sink.messages() if x.envelope["rcpt_tos"] == [address]]
    ja = wait_until(lambda: notice_to("ja-owner@example.jp"), 30, "the Japanese notice")
    en = wait_until(lambda: notice_to("en-owner@example.com"), 30, "the English notice")
    # The dedicated notice: the password was used from an address that attacked many
    # accounts, what was done, what to do.
    assert str(ja[0]["Subject"]) == "【Test Shop】【重要】お客様のパスワードが不正に使われました", \
        ja[0]["Subject"]
    body = ja[0].get_content()
    assert "多数のアカウントへの不正ログインを試みていた接続元から" in body, body
    assert "アカウントをロックしました" in body and "パスワードを再設定していただくまで" in body
    assert ja[0]["X-Mamori-Notice"] == "compromised"
    assert str(en[0]["Subject"]) == "Important: your Test Shop password was used by someone else", \
        en[0]["Subject"]
    body = en[0].get_content()
    assert "Your password was used from an address that attacked many accounts" in body, body
    assert "We locked your account" in body and "203.0.113.45" in body, body

    # The owner is refused until the password is reset, then logs in again.
    assert_decision(m.attempt("lb-en", "192.0.2.80"), "deny", "account_locked")
    m.event("password_changed", "lb-en", "192.0.2.80")
    assert m.attempt("lb-en", "192.0.2.80")["action"] == "allow"


def test_without_require_password_reset_a_compromised_account_stays_usable(make_mamorid):
    m = make_mamorid(detections={"credential_stuffing": {"require_password_reset": False}})
    stuff_with_successes(m, "203.0.113.46", ["lb-kept"])
    inc = incidents(m, kind="credential_stuffing", source="203.0.113.46")[0]
    assert inc["accounts_compromised"] == 1, inc
    assert get_json(m, "/v1/accounts/lb-kept")["status"] == "active"
