"""Suspicious logins and takeover clean-up over HTTP (DESIGN.md S1, S5), with places from the
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
