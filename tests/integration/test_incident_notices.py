"""Incident notices to owners (docs/design.md S3): POST
/v1/incidents/{id}/notify-owners and `mamori incident notify-owners` tell the
owner of every account a credential-stuffing source touched, through a real
SMTP relay, in their language: "your password was used from an address that
attacked many accounts" where its login worked, "someone tried to log in to
your account" where every try failed; once per incident and account."""

from conftest import APP_TOKEN
from helpers import incidents
from peers import wait_until
from test_incident_lookback import stuff_with_successes
from test_notices import notice_toml, set_contact

STUFFER = "203.0.113.47"


def mails_to(sink, address):
    return [x for x in sink.messages() if x.envelope["rcpt_tos"] == [address]]


def notify(m, iid):
    r = m.admin("POST", "/v1/incidents/%s/notify-owners" % iid)
    assert r.status_code == 200, r.text
    return r.json()


def test_S3_every_touched_owner_is_told_once_in_their_words(make_mamorid, sink):
    # The compromised account's lock is turned off here, so that the call tells its owner.
    m = make_mamorid(extra_toml=notice_toml(sink.port),
                     detections={"credential_stuffing": {"require_password_reset": False}})
    set_contact(m, "lb-got-in", "got-in@example.jp", lang="ja")
    set_contact(m, "lb-fail-47-00", "f0@example.com", lang="en")
    set_contact(m, "lb-fail-47-02", "f2@example.jp", lang="ja")
    stuff_with_successes(m, STUFFER, ["lb-got-in"])
    [inc] = incidents(m, kind="credential_stuffing", source=STUFFER)

    first = notify(m, inc["id"])
    assert first["compromised_notified"] == 1 and first["targeted_notified"] == 2, first
    assert first["already_notified"] == 0
    assert first["no_address"] == inc["accounts_targeted"] - 3, first

    got_in = wait_until(lambda: mails_to(sink, "got-in@example.jp"), 30, "the compromised notice")
    body = got_in[0].get_content()
    assert str(got_in[0]["Subject"]) == "【Test Shop】【重要】お客様のパスワードが不正に使われました"
    assert "多数のアカウントへの不正ログインを試みていた接続元から" in body, body
    assert STUFFER in body and "アカウントのロックは行っておりません" in body, body
    assert inc["id"] in body
    f0 = wait_until(lambda: mails_to(sink, "f0@example.com"), 30, "the English targeted notice")
    assert str(f0[0]["Subject"]) == "Someone tried to log in to your Test Shop account"
    assert "Every try failed: your account was not used." in f0[0].get_content()
    f2 = wait_until(lambda: mails_to(sink, "f2@example.jp"), 30, "the Japanese targeted notice")
    assert "ログインはすべて失敗しており" in f2[0].get_content()
    assert f2[0]["X-Mamori-Notice"] == "targeted"

    # Again: nobody is told twice; an owner who has an address now is told.
    set_contact(m, "lb-fail-47-03", "f3@example.com", lang="en")
    second = notify(m, inc["id"])
    assert second["compromised_notified"] == 0 and second["targeted_notified"] == 1, second
    assert second["already_notified"] == 3, second
    wait_until(lambda: mails_to(sink, "f3@example.com"), 30, "the late owner's notice")
    # The CLI says the same (everyone with an address told before).
    out = m.cli("incident", "notify-owners", inc["id"]).stdout
    assert "told before" in out and "4" in out, out
    assert len(sink.messages()) == 4
    for address in ("got-in@example.jp", "f0@example.com", "f2@example.jp", "f3@example.com"):
        assert len(mails_to(sink, address)) == 1, address


def test_an_owner_told_when_the_incident_locked_the_account_is_not_told_again(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    set_contact(m, "lb-locked", "locked@example.jp", lang="ja")
    stuff_with_successes(m, "203.0.113.48", ["lb-locked"])
    [inc] = incidents(m, kind="credential_stuffing", source="203.0.113.48")
    wait_until(lambda: mails_to(sink, "locked@example.jp"), 30, "the lock-time notice")
    sent = notify(m, inc["id"])
    assert sent["compromised_notified"] == 0 and sent["already_notified"] == 1, sent


def test_notify_owners_refusals(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    r = m.admin("POST", "/v1/incidents/no-such-incident/notify-owners")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = m.request("POST", "/v1/incidents/x/notify-owners", APP_TOKEN)
    assert r.status_code == 403
    p = m.cli("incident", "notify-owners", "no-such-incident", check=False)
    assert p.returncode != 0 and "no such incident" in p.stderr, p.stderr
