"""The account owner's own pages (docs/design.md S1), over HTTP against the real
mamorid: a new-login notice received by a real SMTP relay carries a signed
"this wasn't me" link and a link to the activity page; the activity page
shows the logins in the owner's language with place, device and IP; "this
wasn't me" locks the account with a password reset required, sends the
app an account_locked webhook and works once; altered and misused links
change nothing."""
import re

import pytest
import requests

from helpers import get_json
from owner_setup import (FIREFOX_LINUX, LONDON, SECRET, links_in, new_login_notice,
                         owner_mamorid)
from peers import WebhookReceiver, wait_until
from pg_peers import postgresql, store_toml  # noqa: F401 (fixture)
from test_notices import set_contact


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def check_page_headers(r):
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "script-src" not in csp and "'unsafe-inline'" not in csp, csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script" not in r.text


def test_S1_new_login_notice_links_to_the_activity_page_and_this_wasnt_me(make_mamorid, sink,
                                                                         receiver):
    m = owner_mamorid(make_mamorid, sink, receiver)
    msg = new_login_notice(m, sink, "mika", "mika@example.jp")
    body = msg.get_content().replace("\r\n", "\n")
    # Place names in Japanese from GeoIP, the browser in plain words, the raw user agent
    # only in the detail line.
    assert "・場所（推定）：イギリス ロンドン\n" in body, body
    assert "・ブラウザ／端末：Linux の Firefox 133\n" in body, body
    assert body.count(FIREFOX_LINUX) == 1 and "（詳細）ユーザーエージェント：" + FIREFOX_LINUX in body
    not_me, activity = links_in(body, m.url)
    assert len(not_me) == 1 and len(activity) == 1, body

    # The activity page, in the owner's language, time zone and words.
    r = requests.get(activity[0], timeout=10)
    assert r.status_code == 200, r.text[:300]
    check_page_headers(r)
    page = r.text
    assert '<html lang="ja">' in page and 'name="viewport"' in page
    assert "ログイン履歴" in page and "mika 様" in page
    events = re.findall(r'<li class="event [a-z]+">(.*?)</li>', page, re.S)
    assert len(events) == 2, page
    newest = events[0]
    assert "イギリス ロンドン" in newest and LONDON in newest and "Linux の Firefox 133" in newest
    assert "JST" in newest, newest  # Asia/Tokyo: the default zone of a Japanese contact
    assert "Windows の Chrome 120" in events[1] and "日本" in events[1]

    # "This wasn't me": the confirmation page changes nothing...
    r = requests.get(not_me[0], timeout=10)
    assert r.status_code == 200
    check_page_headers(r)
    assert 'method="post" action="not-me"' in r.text
    assert get_json(m, "/v1/accounts/mika")["status"] == "active"
    # ...its button locks the account, password reset required, by the owner.
    token = not_me[0].split("?t=", 1)[1]
    r = requests.post(m.url + "/owner/not-me", data={"t": token}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    check_page_headers(r)
    assert "アカウントをロックしました" in r.text and "これからの流れ" in r.text
    assert "https://shop.example/help/security" in r.text
    a = get_json(m, "/v1/accounts/mika")
    assert a["status"] == "locked" and a["password_reset_required"] is True, a
    assert a["lock"]["by"] == "owner", a
    # The app hears of it to end the sessions.
    hooks = wait_until(lambda: [b for _, b in receiver.accepted() if b.get("type") == "account_locked"],
                       30, "the account_locked webhook")
    assert hooks[0]["account"] == "mika" and hooks[0]["by"] == "owner", hooks
    assert hooks[0]["password_reset_required"] is True
    # The owner gets the lock notice, in their words.
    locked = wait_until(lambda: [x for x in sink.messages()
                                 if x["X-Mamori-Notice"] == "account_locked"], 30, "the lock notice")
    assert "身に覚えのないログインがあったとのご連絡" in locked[0].get_content()
    # And is refused until the password is reset.
    assert m.attempt("mika", LONDON)["action"] == "deny"

    # The link acts once.
    r = requests.post(m.url + "/owner/not-me", data={"t": token}, timeout=10)
    assert r.status_code == 409 and 'data-code="link_used"' in r.text
    assert requests.get(not_me[0], timeout=10).status_code == 409
    # The activity page says the account is locked.
    assert 'id="locked"' in requests.get(activity[0], timeout=10).text


# A lock PostgreSQL refuses (a trigger of the test's): the batch carrying it
# fails, as when the database goes away between the page and its button.
REFUSE_LOCKS = """
CREATE FUNCTION refuse_locks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.locked THEN RAISE EXCEPTION 'locks refused by the test'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_locks BEFORE INSERT OR UPDATE ON accounts
  FOR EACH ROW EXECUTE FUNCTION refuse_locks();
"""


def test_this_wasnt_me_spends_its_link_only_with_the_lock_it_made(make_mamorid, sink, receiver,
                                                                   postgresql):
    m = owner_mamorid(make_mamorid, sink, receiver, extra_toml=store_toml(postgresql.url))
    msg = new_login_notice(m, sink, "kai", "kai@example.jp")
    [not_me], _ = links_in(msg.get_content().replace("\r\n", "\n"), m.url)
    token = not_me.split("?t=", 1)[1]
    assert requests.get(not_me, timeout=10).status_code == 200

    # The lock cannot be stored: the owner is asked to try again, and nothing
    # of the action is left, in the database or in memory.
    postgresql.psql(REFUSE_LOCKS)
    r = requests.post(m.url + "/owner/not-me", data={"t": token}, timeout=10)
    assert r.status_code == 503 and r.headers.get("Retry-After") == "1", r.text[:300]
    assert postgresql.value("SELECT count(*) FROM owner_actions") == "0"
    assert postgresql.value("SELECT count(*) FROM accounts WHERE locked") == "0"
    assert get_json(m, "/v1/accounts/kai")["status"] == "active"

    # Stored again: the same link locks the account, once.
    postgresql.psql("DROP TRIGGER refuse_locks ON accounts")
    r = requests.post(m.url + "/owner/not-me", data={"t": token}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert 'id="locked"' in r.text
    a = get_json(m, "/v1/accounts/kai")
    assert a["status"] == "locked" and a["lock"]["by"] == "owner", a
    assert postgresql.value("SELECT count(*) FROM accounts WHERE locked") == "1"
    assert postgresql.value("SELECT count(*) FROM owner_actions") == "1"
    r = requests.post(m.url + "/owner/not-me", data={"t": token}, timeout=10)
    assert r.status_code == 409 and 'data-code="link_used"' in r.text


def test_links_that_do_not_verify_change_nothing(make_mamorid, sink, receiver):
    m = owner_mamorid(make_mamorid, sink, receiver)
    body = new_login_notice(m, sink, "ken", "ken@example.com", lang="en").get_content()
    body = body.replace("\r\n", "\n")
    assert "Where:   London, United Kingdom (approximate)\n" in body, body
    assert "Device:  Firefox 133 on Linux\n" in body, body
    [not_me], [activity] = links_in(body, m.url)
    token = not_me.split("?t=", 1)[1]
    activity_token = activity.split("?t=", 1)[1]
    cases = [
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # altered
        token[:40],                                           # cut short
        activity_token,                                       # another purpose's link
        "",
        "x" * 5000,
    ]
    for bad in cases:
        r = requests.post(m.url + "/owner/not-me", data={"t": bad}, timeout=10)
        assert r.status_code == 400, (bad[:50], r.status_code)
        assert 'data-code="link_invalid"' in r.text
    assert requests.get(m.url + "/owner/activity?t=" + token, timeout=10).status_code == 400
    assert requests.get(m.url + "/owner/activity", timeout=10).status_code == 400
    assert requests.get(m.url + "/owner/nothing", timeout=10).status_code == 404
    assert requests.put(m.url + "/owner/not-me", timeout=10).status_code == 405
    assert get_json(m, "/v1/accounts/ken")["status"] == "active"
    assert not [b for _, b in receiver.accepted() if b.get("type") == "account_locked"]
    # The English pages.
    r = requests.get(activity, timeout=10)
    assert r.status_code == 200 and '<html lang="en">' in r.text
    assert "London, United Kingdom" in r.text and "Firefox 133 on Linux" in r.text
    css = requests.get(m.url + "/owner/style.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_activity_link_call_signs_a_link_for_that_account(make_mamorid, sink, receiver):
    m = owner_mamorid(make_mamorid, sink, receiver)
    set_contact(m, "nao", "nao@example.jp", lang="ja")
    m.result("nao", LONDON, True, user_agent=FIREFOX_LINUX)
    r = m.app("POST", "/v1/accounts/Nao/activity-link")
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["url"].startswith(m.url + "/owner/activity?t="), link
    page = requests.get(link["url"], timeout=10)
    assert page.status_code == 200 and "nao 様" in page.text  # the normalized account
    assert LONDON in page.text
    # Bad account names are refused before anything is signed.
    assert m.app("POST", "/v1/accounts/%20/activity-link").status_code == 400
    # No token: the API's rules hold.
    assert m.request("POST", "/v1/accounts/nao/activity-link", None).status_code == 401


def test_without_owner_pages_no_links(make_mamorid, sink):
    from test_notices import notice_toml
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    r = m.app("POST", "/v1/accounts/nao/activity-link")
    assert r.status_code == 503 and r.json()["error"]["code"] == "feature_unavailable"
    set_contact(m, "nao", "nao@example.jp", lang="ja")
    m.result("nao", "192.0.2.1", True, user_agent=FIREFOX_LINUX, device_id="a")
    assert m.result("nao", "192.0.2.2", True, device_id="b")["notified"] is True
    [msg] = sink.wait_for(1)
    assert "/owner/" not in msg.get_content()
    # The owner pages are not served.
    assert requests.get(m.url + "/owner/style.css", timeout=10).status_code == 404
