"""The operator console in a real browser (headless Chromium through Selenium)
against the real mamorid: sign in with an admin token; a credential-stuffing
wave's source shows in the blocked view and is lifted from there; an account
is locked and unlocked with notes, and both are in the audit log page under
the operator's name; an incident's accounts are downloaded as CSV; the
language switches to Japanese and stays; an idle session goes back to the
sign-in form; every page in both languages, at 1280 px and on a phone-sized
window, with no error (no Content-Security-Policy violation, no script error,
no failed request) in the browser's console. Screenshots of every page go to
$MAMORI_ARTIFACTS_DIR/console (default: the test's tmp dir)."""
import base64
import csv
import datetime
import hashlib
import hmac
import io
import os
import struct
import subprocess
import time

import pytest
import requests

from browser import artifacts_dir, console_errors, needs_chromium, save_page, start_chromium
from helpers import fail_login, get_json, incidents
from peers import wait_until

pytestmark = needs_chromium

OPERATOR = "yuki"
TOKEN = "console-ops-token-0123456789"
ATTACKER = "198.51.100.23"
# Before sign-in the console asks whether a session is live: a 401 by contract.
NOT_SIGNED_IN = ("/v1/operators/me - Failed to load resource: the server responded with a status of 401",)
PAGES = ["overview", "blocked", "incidents", "incident", "account", "senders", "audit", "operators"]


def config(idle_timeout=None):
    toml = '\n[[tokens]]\ntoken = "%s"\nrole = "admin"\nname = "%s"\n' % (TOKEN, OPERATOR)
    if idle_timeout:
        toml += '\n[console]\nidle_timeout = "%s"\n' % idle_timeout
    return toml


@pytest.fixture
def downloads(tmp_path):
    d = tmp_path / "downloads"
    d.mkdir()
    return d


@pytest.fixture
def browser(tmp_path, downloads):
    driver = start_chromium(tmp_path, size=(1280, 900), lang="en", downloads=downloads)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, timeout=20):
    """A wait that looks again when the console re-rendered what it had found."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def by_css(driver, css):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, css)


def shown(driver, css, timeout=20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def settled(driver):
    """Waits until no part of the page is still loading; fails on an error shown in place."""
    wait(driver).until(lambda d: not d.find_elements("css selector", ".loading"))
    errors = [e.text for e in driver.find_elements("css selector", "p.error, .notice.error")]
    assert not errors, errors


def go(driver, m, route):
    driver.get(m.url + "/console/#/" + route)
    settled(driver)


def sign_in(driver, m, token=TOKEN):
    driver.get(m.url + "/console/")
    shown(driver, "#signin-h")
    by_css(driver, "#mode-token").click()
    by_css(driver, "input[name=token]").send_keys(token)
    by_css(driver, "form.signin button[type=submit]").click()
    wait(driver).until(lambda d: d.find_elements("id", "operator")
                       and d.find_element("id", "operator").text == OPERATOR)
    settled(driver)
    assert console_errors(driver, NOT_SIGNED_IN) == []


def cookie_session(driver, m):
    """A requests session holding the browser's console cookie."""
    s = requests.Session()
    for c in driver.get_cookies():
        s.cookies.set(c["name"], c["value"])
    return s


def audit(m, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    return get_json(m, "/v1/audit" + ("?" + q if q else ""))["entries"]


def attack(m):
    """A credential-stuffing wave from ATTACKER; gina's password worked."""
    for a in ["gina", "hank", "ivan", "jo"]:
        fail_login(m, a, ATTACKER)
    m.result("gina", ATTACKER, True)
    (i,) = incidents(m, kind="credential_stuffing", source=ATTACKER)
    return i


def totp_now(secret):
    """RFC 6238 (SHA-1, 6 digits, 30 s): the code an authenticator app shows now."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def console_mamorid(make_mamorid, **kwargs):
    return make_mamorid(detections={"credential_stuffing": {"threshold": 3}}, extra_toml=config(**kwargs))


def test_sign_in_with_a_token_and_sign_out(make_mamorid, browser):
    m = console_mamorid(make_mamorid)
    browser.get(m.url + "/console/")
    shown(browser, "#signin-h")
    # A wrong token: refused in words, nothing else.
    by_css(browser, "input[name=token]").send_keys("not-a-token")
    by_css(browser, "form.signin button[type=submit]").click()
    wait(browser).until(lambda d: "Sign-in failed" in d.find_element("id", "signin-status").text)
    assert console_errors(browser, NOT_SIGNED_IN + (
        "/v1/operators/sign-in - Failed to load resource: the server responded with a status of 401",)) == []

    sign_in(browser, m)
    assert browser.current_url.endswith("/console/#/overview")
    me = cookie_session(browser, m).get(m.url + "/v1/operators/me", timeout=10)
    assert me.status_code == 200 and me.json()["operator"] == OPERATOR, me.text
    # The session cookie is out of the script's reach.
    assert "mamori_console" not in browser.execute_script("return document.cookie")
    cookie = [c for c in browser.get_cookies() if c["name"] == "mamori_console"]
    assert cookie and cookie[0]["httpOnly"] and cookie[0]["sameSite"] == "Strict", cookie

    held = cookie_session(browser, m)
    by_css(browser, "#sign-out").click()
    wait(browser).until(lambda d: "signed out" in d.find_element("id", "signin-status").text)
    assert held.get(m.url + "/v1/operators/me", timeout=10).status_code == 401
    assert console_errors(browser) == []


def test_an_attack_shows_in_the_blocked_view_and_is_lifted_there(make_mamorid, browser):
    m = console_mamorid(make_mamorid)
    sign_in(browser, m)
    attack(m)
    by_css(browser, "#nav-blocked").click()
    settled(browser)
    row = shown(browser, '#blocks tr[data-target="%s"]' % ATTACKER)
    assert "credential stuffing" in row.text and "deny" in row.text, row.text
    assert "gina" in by_css(browser, "main").text  # locked: its login from the source worked

    by_css(browser, "input[name=lift-note]").send_keys("false positive: the office NAT")
    row.find_element("css selector", "button.lift").click()
    dialog = shown(browser, "dialog.confirm")
    assert ATTACKER in dialog.text
    dialog.find_element("css selector", "button[data-confirm=yes]").click()
    wait(browser).until(lambda d: not d.find_elements("css selector", '#blocks tr[data-target="%s"]' % ATTACKER))
    assert ATTACKER in shown(browser, "#notice.done").text

    assert not [b for b in get_json(m, "/v1/blocked")["blocks"] if b["target"] == ATTACKER]
    (entry,) = audit(m, action="block_lift")
    assert (entry["actor"], entry["actor_kind"], entry["target"], entry["note"]) == (
        OPERATOR, "token", "ip:" + ATTACKER, "false positive: the office NAT"), entry
    assert console_errors(browser) == []


def test_lock_and_unlock_with_notes_are_in_the_audit_log_under_the_operator(make_mamorid, browser):
    m = console_mamorid(make_mamorid)
    sign_in(browser, m)
    fail_login(m, "hank", "192.0.2.44")
    by_css(browser, "#nav-account").click()
    shown(browser, "#account-name").send_keys("hank")
    by_css(browser, "#account-search button[type=submit]").click()
    settled(browser)
    assert shown(browser, "#account-status").text == "active"

    shown(browser, "#lock-reason").send_keys("ticket 4711: spam from this mailbox")
    by_css(browser, "#lock-reset").click()
    by_css(browser, "#lock-button").click()
    wait(browser).until(lambda d: d.find_element("id", "account-status").text == "locked")
    settled(browser)
    acct = get_json(m, "/v1/accounts/hank")
    assert acct["status"] == "locked" and acct["password_reset_required"] and acct["lock"]["by"] == OPERATOR

    shown(browser, "#unlock-note").send_keys("owner verified by phone")
    by_css(browser, "#unlock-button").click()
    wait(browser).until(lambda d: d.find_element("id", "account-status").text == "active")
    settled(browser)
    assert get_json(m, "/v1/accounts/hank")["status"] == "active"
    # The activity timeline, operator actions only: both, with who and the note.
    by_css(browser, "#operator-only").click()
    rows = browser.find_elements("css selector", "#activity tbody tr")
    assert len(rows) == 2 and all("operator-action" in r.get_attribute("class") for r in rows), [r.text for r in rows]
    assert "owner verified by phone" in rows[0].text and OPERATOR in rows[0].text

    by_css(browser, "#nav-audit").click()
    settled(browser)
    shown(browser, "#audit-actor").send_keys(OPERATOR)
    by_css(browser, "form[role=search] button[type=submit]").click()
    settled(browser)
    rows = browser.find_elements("css selector", "#audit tbody tr")
    assert [r.get_attribute("data-action") for r in rows] == ["account_unlock", "account_lock"], [r.text for r in rows]
    assert OPERATOR in rows[0].text and "owner verified by phone" in rows[0].text and "account:hank" in rows[0].text
    assert OPERATOR in rows[1].text and "ticket 4711: spam from this mailbox" in rows[1].text
    assert [(e["action"], e["actor"], e["note"]) for e in audit(m, actor=OPERATOR)] == [
        ("account_unlock", OPERATOR, "owner verified by phone"),
        ("account_lock", OPERATOR, "ticket 4711: spam from this mailbox")]
    assert console_errors(browser) == []


def test_export_an_incidents_accounts_as_csv(make_mamorid, browser, downloads):
    m = console_mamorid(make_mamorid)
    i = attack(m)
    sign_in(browser, m)
    by_css(browser, "#nav-incidents").click()
    settled(browser)
    by_css(browser, '#incident-list a[href="#/incidents/%s"]' % i["id"]).click()
    settled(browser)
    rows = browser.find_elements("css selector", "#incident-accounts tbody tr")
    assert sorted(r.find_element("css selector", "td").text for r in rows) == ["gina", "hank", "ivan", "jo"]
    by_css(browser, "#export-csv").click()
    path = downloads / ("incident-%s-accounts.csv" % i["id"])
    wait_until(lambda: path.exists() and not list(downloads.glob("*.crdownload")), 30, "the CSV download")
    data = path.read_bytes()
    assert data == m.admin("GET", "/v1/incidents/%s/accounts.csv" % i["id"]).content
    rows = {r["account"]: r for r in csv.DictReader(io.StringIO(data.decode(), newline=""))}
    assert set(rows) == {"gina", "hank", "ivan", "jo"}
    assert rows["gina"]["login_succeeded"] == "true" and rows["jo"]["login_succeeded"] == "false"
    assert console_errors(browser) == []


def test_every_page_in_both_languages_without_console_errors(make_mamorid, browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    shots = artifacts_dir(tmp_path, "console")
    m = console_mamorid(make_mamorid)
    i = attack(m)
    m.event("mail_sent", "kate", "192.0.2.10", recipients=40, protocol="smtp")
    m.admin("POST", "/v1/lists", {"kind": "deny", "target": "203.0.113.0/24", "reason": "botnet", "ttl_s": 86400})
    routes = {"overview": "overview", "blocked": "blocked", "incidents": "incidents",
              "incident": "incidents/" + i["id"], "account": "account/gina", "senders": "senders",
              "audit": "audit", "operators": "operators"}
    browser.get(m.url + "/console/")
    shown(browser, "#signin-h")
    save_page(browser, os.path.join(shots, "en-sign-in.png"))
    sign_in(browser, m)
    for lang, overview in (("en", "Overview"), ("ja", "概要")):
        if lang == "ja":
            Select(by_css(browser, "#lang")).select_by_value("ja")
            wait(browser).until(lambda d: d.find_element("id", "nav-overview").text == overview)
        for page in PAGES:
            go(browser, m, routes[page])
            assert browser.execute_script("return document.documentElement.lang") == lang
            assert by_css(browser, "#nav-overview").text == overview
            assert by_css(browser, "h1").text
            save_page(browser, os.path.join(shots, "%s-%s.png" % (lang, page)))
            errors = console_errors(browser)
            assert errors == [], (lang, page, errors)
    # Times in the chosen zone: Tokyo is UTC+9 all year.
    Select(by_css(browser, "#zone")).select_by_value("Asia/Tokyo")
    go(browser, m, "blocked")
    shown_time = by_css(browser, '#blocks tr[data-target="%s"] time' % ATTACKER)
    utc = datetime.datetime.strptime(shown_time.get_attribute("datetime")[:19], "%Y-%m-%dT%H:%M:%S")
    assert shown_time.text == (utc + datetime.timedelta(hours=9)).strftime("%Y/%m/%d %H:%M:%S")
    # The chart drew a line per series, and the Japanese words are on the page.
    go(browser, m, "overview")
    assert browser.find_elements("css selector", "svg.chart polyline")
    assert "リスト型攻撃" in by_css(browser, "main").text
    # The choice is remembered.
    browser.refresh()
    wait(browser).until(lambda d: d.find_elements("id", "nav-overview")
                        and d.find_element("id", "nav-overview").text == "概要")
    settled(browser)
    # A phone-sized window: nothing scrolls sideways but inside the tables.
    browser.set_window_size(390, 844)
    for page in ("overview", "blocked", "account"):
        go(browser, m, routes[page])
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), page
        save_page(browser, os.path.join(shots, "ja-narrow-%s.png" % page))
    assert console_errors(browser) == []


def test_an_idle_session_goes_back_to_sign_in(make_mamorid, browser):
    m = console_mamorid(make_mamorid, idle_timeout="2s")
    sign_in(browser, m)
    held = cookie_session(browser, m)
    # No sleep: the console notices by itself once the idle timeout has passed.
    wait(browser, 30).until(lambda d: d.find_elements("id", "signin-status")
                            and "session ended" in d.find_element("id", "signin-status").text)
    assert held.get(m.url + "/v1/operators/me", timeout=10).status_code == 401
    assert console_errors(browser, ("/v1/operators/me - Failed to load resource: the server responded "
                                    "with a status of 401",)) == []


def test_an_operator_account_added_in_the_console_signs_in_with_password_and_code(make_mamorid, browser,
                                                                                    tmp_path):
    m = console_mamorid(make_mamorid)
    sign_in(browser, m)
    by_css(browser, "#nav-operators").click()
    settled(browser)
    shown(browser, "#operator-name").send_keys("aiko")
    by_css(browser, "#operator-password").send_keys("correct horse battery 42")
    by_css(browser, "#operator-again").send_keys("correct horse battery 42")
    by_css(browser, "#operator-add button[type=submit]").click()
    secret = shown(browser, "#totp-secret [data-secret]").get_attribute("data-secret")
    uri = by_css(browser, "#totp-secret [data-uri]").text
    assert uri.startswith("otpauth://totp/") and "secret=" + secret in uri, uri
    # The QR code an authenticator app scans says the same.
    qr_png = tmp_path / "operator-qr.png"
    by_css(browser, "#totp-secret svg.qr").screenshot(str(qr_png))
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(qr_png)], capture_output=True, text=True, timeout=30)
    assert scanned.stdout.strip() == uri, scanned
    shown(browser, '#operators tr[data-name="aiko"]')
    by_css(browser, "#sign-out").click()
    shown(browser, "#signin-h")

    def account_sign_in(code):
        by_css(browser, "#mode-account").click()
        for name, value in (("name", "aiko"), ("password", "correct horse battery 42"), ("code", code)):
            field = by_css(browser, "input[name=%s]" % name)
            field.clear()
            field.send_keys(value)
        by_css(browser, "form.signin button[type=submit]").click()

    # A wrong code: refused in words.
    account_sign_in("%06d" % ((int(totp_now(secret)) + 500000) % 1000000))
    wait(browser).until(lambda d: "Sign-in failed" in d.find_element("id", "signin-status").text)
    account_sign_in(totp_now(secret))
    wait(browser).until(lambda d: d.find_elements("id", "operator") and d.find_element("id", "operator").text == "aiko")
    settled(browser)
    go(browser, m, "account/hank")
    shown(browser, "#lock-reason").send_keys("phoned in by the owner")
    by_css(browser, "#lock-button").click()
    wait(browser).until(lambda d: d.find_element("id", "account-status").text == "locked")
    (entry,) = audit(m, action="account_lock")
    assert (entry["actor"], entry["actor_kind"], entry["note"]) == ("aiko", "operator", "phoned in by the owner"), entry
    assert console_errors(browser, NOT_SIGNED_IN + (
        "/v1/operators/sign-in - Failed to load resource: the server responded with a status of 401",)) == []
