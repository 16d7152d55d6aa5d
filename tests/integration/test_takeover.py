"""Suspicious logins and takeover clean-up over HTTP (docs/design.md S1, S5), with places from the
GeoIP test databases in tests/data/geoip: what a login answer, the account view and the
activity log show, and the locks that follow a suspicious login."""
import datetime
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import MAMORID
from helpers import UTC, assert_decision, rfc3339

GEOIP = os.path.join(os.environ["MAMORI_SOURCE_DIR"], "tests", "data", "geoip")

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
TOKYO = "2001:240::10"        # JP
CHANGCHUN = "175.16.199.20"   # CN, Changchun
T0 = datetime.datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)


def geoip_toml(city="GeoLite2-City-Test.mmdb"):
    return ('[geoip]\ncity = "%s"\nasn = "%s"\nanonymous = "%s"\n' %
            (os.path.join(GEOIP, city), os.path.join(GEOIP, "GeoLite2-ASN-Test.mmdb"),
             os.path.join(GEOIP, "GeoIP2-Anonymous-IP-Test.mmdb")))


@pytest.fixture
def geo_mamorid(make_mamorid):
    return make_mamorid(extra_toml=geoip_toml(), replay=True)


def login(m, account, ip, when, ua, **kw):
    return m.result(account, ip, True, user_agent=ua, time=rfc3339(when), **kw)


def test_new_device_and_place_show_in_the_answer_the_account_and_its_activity(geo_mamorid):
    m = geo_mamorid
    first = login(m, "mika", TOKYO, T0 - datetime.timedelta(days=200), CHROME_WIN, device_id="pc-1")
    assert first["action"] == "allow" and not first["new_device"] and not first["new_location"]

    r = login(m, "mika", CHANGCHUN, T0, FIREFOX_LINUX)
    assert r["action"] == "challenge", r
    assert set(r["reasons"]) == {"new_device", "new_location", "dormant_account"}, r
    assert r["risk"] == 100
    assert r["new_device"] is True and r["new_location"] is True
    assert r["notified"] is False  # no contact address yet

    acct = m.app("GET", "/v1/accounts/mika").json()
    # The suspicious login's device and place are not learnt until a challenge is passed.
    assert [d["device_id"] for d in acct["devices"]] == ["pc-1"]
    assert acct["devices"][0]["user_agent"] == CHROME_WIN
    assert acct["countries"] == ["JP"]
    assert acct["last_login"]["ip"] == CHANGCHUN and acct["last_login"]["country"] == "CN"

    events = m.app("GET", "/v1/accounts/mika/activity").json()["events"]
    assert events[0]["country"] == "CN" and events[0]["city"] == "Changchun"
    assert events[0]["action"] == "challenge"

    m.event("challenge_passed", "mika", CHANGCHUN, time=rfc3339(T0 + datetime.timedelta(seconds=40)))
    acct = m.app("GET", "/v1/accounts/mika").json()
    assert sorted(acct["countries"]) == ["CN", "JP"]
    assert len(acct["devices"]) == 2


def test_S5_email_change_after_login_from_china_locks_with_password_reset(geo_mamorid):
    m = geo_mamorid
    login(m, "shopper", TOKYO, T0 - datetime.timedelta(days=3), CHROME_WIN)
    assert login(m, "shopper", CHANGCHUN, T0, FIREFOX_LINUX)["action"] == "challenge"
    r = m.event("email_changed", "shopper", CHANGCHUN, old_email="owner@example.jp",
                new_email="new@example.cn", time=rfc3339(T0 + datetime.timedelta(minutes=5)))
    assert_decision(r, "lock", "risky_change")
    acct = m.app("GET", "/v1/accounts/shopper").json()
    assert acct["status"] == "locked" and acct["password_reset_required"] is True
    assert acct["lock"]["reason"] == "risky_change"
    # Locked: the next login is denied, until an operator releases the account.
    assert_decision(m.attempt("shopper", CHANGCHUN), "deny", "account_locked")
    m.cli("account", "unlock", "shopper")
    assert m.attempt("shopper", TOKYO)["action"] == "allow"


def test_S1_fanout_after_suspicious_login_is_denied_and_locks(geo_mamorid):
    m = geo_mamorid
    login(m, "dormant", TOKYO, T0 - datetime.timedelta(days=200), CHROME_WIN)
    login(m, "dormant", CHANGCHUN, T0, FIREFOX_LINUX)
    actions = []
    for i in range(100):
        when = T0 + datetime.timedelta(minutes=1, seconds=1.2 * i)
        actions.append(m.event("message_sent", "dormant", CHANGCHUN, recipients=["friend%d" % i],
                               time=rfc3339(when))["action"])
    assert actions.count("allow") == 29
    assert actions[29] == "lock"
    assert set(actions[30:]) == {"deny"}
    incidents = m.admin("GET", "/v1/incidents").json()["incidents"]
    assert [i["kind"] for i in incidents] == ["message_fanout"]
    assert m.app("GET", "/v1/accounts/dormant").json()["lock"]["reason"] == "message_fanout"


def test_profiles_survive_a_restart(geo_mamorid):
    m = geo_mamorid
    login(m, "nao", TOKYO, T0, CHROME_WIN)
    m.kill9()
    m.start()
    r = login(m, "nao", TOKYO, T0 + datetime.timedelta(hours=1), CHROME_WIN)
    assert r["reasons"] == [] and not r["new_device"], r


def test_an_app_with_a_long_non_ascii_name_is_the_same_device_after_a_restart(geo_mamorid):
    # An app is known by its name up to the '/', at most 64 bytes of it: 27 katakana are
    # 81 bytes, so the cut falls inside a character.
    app = "メールクライアント" * 3 + "/2.0"
    m = geo_mamorid
    first = login(m, "mei", TOKYO, T0, app)
    assert first["new_device"] is False, first  # the account's first device
    m.restart()
    r = login(m, "mei", TOKYO, T0 + datetime.timedelta(hours=1), app)
    assert r["reasons"] == [] and not r["new_device"], r
    devices = m.app("GET", "/v1/accounts/mei").json()["devices"]
    assert len(devices) == 1, devices


def run_check(config_path):
    return subprocess.run([MAMORID, "--config", config_path, "--check-config"], capture_output=True,
                          text=True, timeout=30)


def test_a_broken_database_is_refused_at_start_with_the_file_named(make_mamorid):
    m = make_mamorid(start=False, extra_toml=geoip_toml("GeoIP2-City-Test-Broken-Double-Format.mmdb"))
    p = run_check(m.config_path)
    assert p.returncode == 1
    assert "Broken-Double-Format.mmdb" in p.stderr and "bad data" in p.stderr, p.stderr
    with pytest.raises(RuntimeError, match="Broken-Double-Format"):
        m.start()


def test_sighup_reloads_and_keeps_the_old_database_when_the_new_one_is_broken(make_mamorid, tmp_path):
    city = tmp_path / "city.mmdb"
    shutil.copy(os.path.join(GEOIP, "GeoLite2-City-Test.mmdb"), city)
    m = make_mamorid(extra_toml='[geoip]\ncity = "%s"\n' % city)

    def country_of(ip, account):
        m.result(account, ip, True, user_agent=CHROME_WIN)
        return m.app("GET", "/v1/accounts/" + account).json()["last_login"]["country"]

    assert country_of("81.2.69.160", "a1") == "GB"
    tmp = tmp_path / "city.tmp"
    shutil.copy(os.path.join(GEOIP, "GeoIP2-City-Test-Broken-Double-Format.mmdb"), tmp)
    os.rename(tmp, city)
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "keeping the databases in use" not in m.read_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "keeping the databases in use" in m.read_log()
    assert country_of("81.2.69.160", "a2") == "GB"  # still served by the old file

    shutil.copy(os.path.join(GEOIP, "GeoLite2-Country-Test.mmdb"), tmp)
    os.rename(tmp, city)
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "geoip reloaded: GeoLite2-Country" not in m.read_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "geoip reloaded: GeoLite2-Country" in m.read_log()
    assert country_of("81.2.69.160", "a3") == "GB"
    assert m.app("GET", "/v1/accounts/a3/activity").json()["events"][0]["city"] == ""


def test_a_database_truncated_in_place_does_not_stop_lookups(make_mamorid, tmp_path):
    """`cp new.mmdb city.mmdb` truncates the file mamorid loaded before writing it:
    the daemon goes on answering from what it loaded, and a reload of the
    empty or half-written file is refused."""
    city = tmp_path / "city.mmdb"
    shutil.copy(os.path.join(GEOIP, "GeoLite2-City-Test.mmdb"), city)
    m = make_mamorid(extra_toml='[geoip]\ncity = "%s"\n' % city)
    m.result("t0", "81.2.69.160", True, user_agent=CHROME_WIN)
    with open(city, "r+b") as f:
        f.truncate(0)
    for i in range(50):
        m.result("t%d" % (i % 5), "175.16.199.%d" % i, True, user_agent=CHROME_WIN)
    assert m.proc.poll() is None, "mamorid died:\n" + m.read_log()
    assert m.app("GET", "/v1/accounts/t1").json()["last_login"]["country"] == "CN"

    with open(os.path.join(GEOIP, "GeoLite2-City-Test.mmdb"), "rb") as f:
        whole = f.read()
    with open(city, "r+b") as f:  # a copy caught half-way
        f.write(whole[:len(whole) // 2])
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "keeping the databases in use" not in m.read_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "keeping the databases in use" in m.read_log()
    m.result("t9", "81.2.69.160", True, user_agent=CHROME_WIN)
    assert m.app("GET", "/v1/accounts/t9").json()["last_login"]["country"] == "GB"
    assert m.proc.poll() is None


# ---- with the owner's mail: a real SMTP relay receives the notices ----

from test_notices import notice_toml, set_contact  # noqa: E402


def mails_to(sink, address):
    return [msg for msg in sink.messages() if msg.envelope["rcpt_tos"] == [address]]


def test_S1_owner_mail_has_time_ip_place_and_browser_then_fanout_locks(make_mamorid, sink):
    # The account's history, recorded 200 days ago, is replayed first (replay sends no mail)...
    m = make_mamorid(extra_toml=geoip_toml() + notice_toml(sink.port), replay=True)
    old = datetime.datetime.now(UTC) - datetime.timedelta(days=200)
    login(m, "mika", TOKYO, old, CHROME_WIN, device_id="pc-1")
    m.stop()
    # ... then mamorid runs live.
    m.replay = False
    m.start()
    set_contact(m, "mika", "mika@example.jp", lang="ja", time_zone="Asia/Tokyo")

    before = datetime.datetime.now(UTC)
    r = m.result("mika", CHANGCHUN, True, user_agent=FIREFOX_LINUX)
    assert r["action"] == "challenge" and r["notified"] is True, r
    assert {"new_device", "new_location", "dormant_account"} <= set(r["reasons"])

    [msg] = sink.wait_for(1)
    assert msg.envelope["rcpt_tos"] == ["mika@example.jp"]
    assert "新しい環境からのログイン" in str(msg["Subject"])
    body = msg.get_content()
    assert "IPアドレス：" + CHANGCHUN in body
    # The place in the owner's language (GeoLite2's Japanese names), the browser in plain
    # words; the raw user agent only in the detail line.
    assert "・場所（推定）：中国 長春市\r\n" in body, body
    assert "・ブラウザ／端末：Linux の Firefox 133\r\n" in body, body
    assert "（詳細）ユーザーエージェント：" + FIREFOX_LINUX in body
    # The time in the owner's zone (JST), to the minute of the login.
    after = datetime.datetime.now(UTC)

    def jst(t):
        t = t + datetime.timedelta(hours=9)
        return "%d年%d月%d日" % (t.year, t.month, t.day), t.strftime("%H:%M")

    assert any(day in body and hm in body for day, hm in (jst(before), jst(after))), body
    assert "JST" in body

    # The intruder messages 100 friends in two minutes: denied from the 30th, and locked.
    actions = [m.event("message_sent", "mika", CHANGCHUN, recipients=["friend%d" % i])["action"]
               for i in range(100)]
    assert actions.count("allow") == 29 and actions[29] == "lock" and set(actions[30:]) == {"deny"}
    sink.wait_for(2)
    locked = [x for x in mails_to(sink, "mika@example.jp") if "ロック" in str(x["Subject"])]
    assert len(locked) == 1
    assert "多数の相手にメッセージ" in locked[0].get_content()


def test_S5_lock_notice_goes_to_the_old_address(make_mamorid, sink):
    m = make_mamorid(extra_toml=geoip_toml() + notice_toml(sink.port))
    set_contact(m, "shopper", "owner@example.jp", lang="en", time_zone="Asia/Tokyo")
    m.result("shopper", TOKYO, True, user_agent=CHROME_WIN)
    r = m.result("shopper", CHANGCHUN, True, user_agent=FIREFOX_LINUX)
    assert r["action"] == "challenge" and r["notified"] is True, r
    # The intruder's change: the app reports it, then would update the contact.
    r = m.event("email_changed", "shopper", CHANGCHUN, old_email="owner@example.jp",
                new_email="attacker@example.cn")
    assert_decision(r, "lock", "risky_change")
    assert r.get("action") == "lock"
    set_contact(m, "shopper", "attacker@example.cn", lang="en")
    sink.wait_for(2)
    to_owner = mails_to(sink, "owner@example.jp")
    subjects = sorted(str(x["Subject"]) for x in to_owner)
    assert subjects == ["New login to your Test Shop account", "Your Test Shop account has been locked"], subjects
    lock_mail = [x for x in to_owner if "locked" in str(x["Subject"])][0].get_content()
    assert "changed soon after a suspicious login" in lock_mail
    assert "reset your password" in lock_mail
    assert CHANGCHUN in lock_mail
    assert mails_to(sink, "attacker@example.cn") == []
    acct = m.app("GET", "/v1/accounts/shopper").json()
    assert acct["status"] == "locked" and acct["password_reset_required"] is True


def test_benign_new_phone_at_home_is_allowed_with_a_notice(make_mamorid, sink):
    m = make_mamorid(extra_toml=geoip_toml() + notice_toml(sink.port))
    set_contact(m, "hana", "hana@example.jp", lang="ja")
    m.result("hana", TOKYO, True, user_agent=CHROME_WIN)
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
    r = m.result("hana", "2001:218::7", True, user_agent=iphone)
    assert r["action"] == "allow" and r["new_device"] and not r["new_location"] and r["notified"], r
    assert m.event("password_changed", "hana", "2001:218::7")["action"] == "allow"
    [msg] = sink.wait_for(1)
    assert "これまでにご利用のない端末" in msg.get_content()
    assert m.app("GET", "/v1/accounts/hana").json()["status"] == "active"


def test_opted_out_owner_gets_no_mail_but_the_login_is_in_the_activity(make_mamorid, sink):
    m = make_mamorid(extra_toml=geoip_toml() + notice_toml(sink.port))
    set_contact(m, "quiet", "quiet@example.jp", notify=False)
    m.result("quiet", TOKYO, True, user_agent=CHROME_WIN)
    r = m.result("quiet", CHANGCHUN, True, user_agent=FIREFOX_LINUX)
    assert r["new_location"] is True and r["notified"] is False
    events = m.app("GET", "/v1/accounts/quiet/activity").json()["events"]
    assert events[0]["ip"] == CHANGCHUN and events[0]["country"] == "CN"
    # A fence: notices go out one at a time in the order they were queued, so
    # once a later owner's notice is in, one for `quiet` would be too.
    set_contact(m, "loud", "loud@example.jp")
    m.result("loud", TOKYO, True, user_agent=CHROME_WIN)
    assert m.result("loud", CHANGCHUN, True, user_agent=FIREFOX_LINUX)["notified"] is True
    [msg] = sink.wait_for(1)
    assert msg["To"] == "loud@example.jp", msg["To"]
