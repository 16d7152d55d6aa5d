"""S4 — repeated wrong passwords: brute_force (account + IP), account_under_attack (account,
all IPs), ip_failures (IP, all accounts) and password_spray (one password, many accounts).
Failures never lock an account."""
import datetime

from helpers import (assert_allow, assert_decision, fail_login, get_json, incidents, rfc3339,
                     UTC)

T0 = datetime.datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)


def at(delta_s):
    return rfc3339(T0 + datetime.timedelta(seconds=delta_s))


def account(m, name):
    return get_json(m, "/v1/accounts/" + name)


def test_ten_failures_deny_that_ip_for_that_account(mamorid):
    m = mamorid
    acct, ip = "bf-alice", "203.0.113.10"
    for i in range(10):
        a, r = fail_login(m, acct, ip, pwhash="guess-%d" % i)
        assert_allow(a, "attempt %d" % (i + 1))
        if i < 9:
            assert_allow(r, "failure %d" % (i + 1))
    assert_decision(r, "deny", "brute_force", "10th failure")
    assert r["risk"] >= 80, r

    nxt = m.attempt(acct, ip, pwhash="guess-10")
    assert_decision(nxt, "deny", "brute_force", "attempt after the 10th failure")
    assert nxt["risk"] >= 80, nxt
    # Even the right password from that IP is refused while blocked.
    assert_decision(m.result(acct, ip, True), "deny", "brute_force", "success from blocked IP")

    # Another IP for the same account, and the same IP for another account, are fine.
    assert_allow(m.attempt(acct, "198.51.100.10"), "other IP")
    assert_allow(m.result(acct, "198.51.100.10", True), "other IP success")
    assert_allow(m.attempt("bf-bob", ip), "same IP, other account")

    acc = account(m, acct)
    assert acc["status"] == "active", acc
    assert acc["lock"] is None, acc
    blocks = get_json(m, "/v1/blocked")
    bf = [b for b in blocks["blocks"] if b["scope"] == "account_ip" and b["reason"] == "brute_force"]
    assert len(bf) == 1 and ip in bf[0]["target"], blocks
    assert blocks["locked_accounts"] == [], blocks


def test_without_pwhash_every_failure_counts(mamorid):
    m = mamorid
    for i in range(9):
        assert_allow(m.result("bf-nohash", "203.0.113.12", False), "failure %d" % (i + 1))
    assert_decision(m.result("bf-nohash", "203.0.113.12", False), "deny", "brute_force")


def test_same_wrong_password_retried_counts_once(mamorid):
    m = mamorid
    acct, ip = "bf-carol", "203.0.113.11"
    for i in range(20):
        a, r = fail_login(m, acct, ip, pwhash="same-typo")
        assert_allow(a, "retry %d" % (i + 1))
        assert_allow(r, "retry %d" % (i + 1))
    # The retried password counted once: 8 more distinct ones make 9, still allowed...
    for i in range(8):
        a, r = fail_login(m, acct, ip, pwhash="other-%d" % i)
        assert_allow(r, "distinct failure %d" % (i + 2))
    # ...and the 10th distinct one is denied.
    a, r = fail_login(m, acct, ip, pwhash="other-8")
    assert_allow(a)
    assert_decision(r, "deny", "brute_force", "10th distinct password")


def test_window_expiry_in_event_time(make_mamorid):
    m = make_mamorid(replay=True)
    acct, ip = "bf-replay", "203.0.113.30"
    for i in range(9):
        a, r = fail_login(m, acct, ip, pwhash="old-%d" % i, time=at(i * 60))
        assert_allow(r, "early failure %d" % (i + 1))
    # Two hours later the first nine are out of the 1 h window.
    later = 2 * 3600
    for i in range(9):
        a, r = fail_login(m, acct, ip, pwhash="new-%d" % i, time=at(later + i * 60))
        assert_allow(a, "late attempt %d" % (i + 1))
        assert_allow(r, "late failure %d (window expired)" % (i + 1))
    a, r = fail_login(m, acct, ip, pwhash="new-9", time=at(later + 9 * 60))
    assert_decision(r, "deny", "brute_force", "10th failure inside one window")


def test_block_expires_after_one_hour_of_event_time(make_mamorid):
    m = make_mamorid(replay=True)
    acct, ip = "bf-expiry", "203.0.113.31"
    for i in range(10):
        a, r = fail_login(m, acct, ip, pwhash="g-%d" % i, time=at(i * 60))
    assert_decision(r, "deny", "brute_force", "10th failure at T0+9min")
    last = 9 * 60
    assert_decision(m.attempt(acct, ip, time=at(last + 30 * 60)), "deny", "brute_force",
                    "30 min into the block")
    assert_decision(m.attempt(acct, ip, time=at(last + 55 * 60)), "deny", "brute_force",
                    "55 min into the block")
    after = last + 3600 + 15 * 60
    assert_allow(m.attempt(acct, ip, time=at(after)), "block over after 1 h")
    assert_allow(m.result(acct, ip, True, time=at(after + 1)), "success after the block")


def test_account_under_attack_challenges_logins(mamorid):
    m = mamorid
    acct = "aua-dave"
    for i in range(49):
        fail_login(m, acct, "192.0.2.%d" % (i + 1), pwhash="p-%d" % i)
    assert_allow(m.attempt(acct, "198.51.100.200"), "after 49 failures")
    a, r = fail_login(m, acct, "192.0.2.50", pwhash="p-49")

    ch = m.attempt(acct, "198.51.100.201")
    assert_decision(ch, "challenge", "account_under_attack", "attempt after 50 failures")
    assert ch["risk"] >= 60, ch
    assert_decision(m.result(acct, "198.51.100.201", True), "challenge", "account_under_attack",
                    "success without a second factor")
    assert_allow(m.result(acct, "198.51.100.201", True, mfa=True), "success with mfa")
    # Other accounts are not challenged.
    assert_allow(m.attempt("aua-erin", "198.51.100.201"), "another account")
    acc = account(m, acct)
    assert acc["status"] == "active" and acc["lock"] is None, acc


def test_ip_failures_delay_then_deny(make_mamorid):
    m = make_mamorid(detections={"ip_failures": {"threshold": 5, "deny_threshold": 10,
                                                 "delay_ms": 1500}})
    ip = "203.0.113.40"
    for k in range(1, 13):
        acct = "ipf-%d" % (k % 5)  # 5 accounts, at most 3 failures each
        m.result(acct, ip, False, pwhash="x-%d" % k)
        probe = m.attempt("ipf-probe", ip)
        if k < 5:
            assert_allow(probe, "after %d failures" % k)
            assert probe["delay_ms"] == 0, probe
        elif k < 10:
            assert_decision(probe, "delay", "ip_failures", "after %d failures" % k)
            assert probe["delay_ms"] == 1500, probe
        else:
            assert_decision(probe, "deny", "ip_failures", "after %d failures" % k)
    assert_allow(m.attempt("ipf-probe", "203.0.113.41"), "another IP")


def test_password_spray_denies_sources_and_opens_incident(make_mamorid):
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 1000,
                                                         "network_threshold": 1000}})
    ip, spray = "203.0.113.60", "spray-summer2024"
    for i in range(10):
        a, r = fail_login(m, "ps-%d" % i, ip, pwhash=spray)
        assert_allow(a, "attempt %d" % (i + 1))
        if i < 9:
            assert_allow(r, "failure %d" % (i + 1))
    assert_decision(r, "deny", "password_spray", "10th account")
    assert r["risk"] >= 90, r

    # The source IP is denied, whatever password it sends.
    assert_decision(m.attempt("ps-new", ip), "deny", "password_spray", "source, no pwhash")
    # The password is denied from anywhere.
    assert_decision(m.attempt("ps-new", "198.51.100.61", pwhash=spray), "deny", "password_spray",
                    "sprayed pwhash from another IP")
    assert_decision(m.result("ps-new2", "198.51.100.62", False, pwhash=spray), "deny",
                    "password_spray", "sprayed pwhash result from another IP")
    assert_allow(m.attempt("ps-new", "198.51.100.61", pwhash="something-else"), "other password")

    found = incidents(m, kind="password_spray")
    assert len(found) == 1, get_json(m, "/v1/incidents")
    assert found[0]["accounts_targeted"] >= 10, found[0]
    assert not incidents(m, kind="credential_stuffing")
