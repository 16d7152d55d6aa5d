"""Incidents look back: an incident counts what its source did before it
opened (the logins that worked before the credential-stuffing threshold),
mail incidents count the mailbox whose SMTP AUTH logins succeeded, and
webhooks carry the incident id and the action the client was given."""
import os
import socket

import pytest

from conftest import APP_TOKEN, SOURCE_DIR, free_port
from helpers import assert_decision, get_json, incident_accounts, incidents
from peers import WebhookReceiver, wait_until

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
