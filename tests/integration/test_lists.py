"""S4 — allow and deny lists: IP, CIDR (IPv4/IPv6), account:NAME, with expiry."""
import time

from helpers import (add_list_entry, assert_allow, assert_decision, assert_error, get_json,
                     list_entries, parse_time)


def assert_denied_by_list(m, account, ip, ctx):
    a = m.attempt(account, ip)
    assert_decision(a, "deny", "deny_list", ctx + " (attempt)")
    assert a["risk"] == 100, a
    assert_decision(m.result(account, ip, True), "deny", "deny_list", ctx + " (result)")
    assert_decision(m.event("logout", account, ip), "deny", "deny_list", ctx + " (event)")


def test_deny_ip(mamorid):
    m = mamorid
    e = add_list_entry(m, "deny", "203.0.113.5", reason="abuse report 17")
    assert e["kind"] == "deny" and e["target"] == "203.0.113.5", e
    assert e["reason"] == "abuse report 17" and e["expires"] is None and e["id"], e
    parse_time(e["created"])

    assert_denied_by_list(m, "li-user", "203.0.113.5", "listed IP")
    # An IPv4-mapped IPv6 address is the same IPv4 address.
    assert_decision(m.attempt("li-user", "::ffff:203.0.113.5"), "deny", "deny_list")
    assert_allow(m.attempt("li-user", "203.0.113.6"), "neighbour IP")
    assert_allow(m.result("li-user", "203.0.113.6", True), "neighbour IP result")

    assert [x["id"] for x in list_entries(m)] == [e["id"]]
    assert [x["id"] for x in list_entries(m, "deny")] == [e["id"]]
    assert list_entries(m, "allow") == []


def test_deny_cidr_v4_and_v6(mamorid):
    m = mamorid
    add_list_entry(m, "deny", "198.51.100.0/24")
    add_list_entry(m, "deny", "2001:db8::/32")
    assert_denied_by_list(m, "li-user", "198.51.100.77", "inside v4 CIDR")
    assert_decision(m.attempt("li-user", "198.51.100.0"), "deny", "deny_list")
    assert_decision(m.attempt("li-user", "198.51.100.255"), "deny", "deny_list")
    assert_allow(m.attempt("li-user", "198.51.101.0"), "outside v4 CIDR")
    assert_allow(m.attempt("li-user", "198.51.99.255"), "outside v4 CIDR")

    assert_denied_by_list(m, "li-user", "2001:db8:abcd::1", "inside v6 CIDR")
    assert_decision(m.attempt("li-user", "2001:0DB8:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF"), "deny",
                    "deny_list")
    assert_allow(m.attempt("li-user", "2001:db9::1"), "outside v6 CIDR")
    assert_allow(m.attempt("li-user", "2001:db7:ffff::1"), "outside v6 CIDR")
    assert len(list_entries(m, "deny")) == 2


def test_deny_account(mamorid):
    m = mamorid
    add_list_entry(m, "deny", "account:mallory")
    assert_denied_by_list(m, "mallory", "192.0.2.1", "listed account")
    assert_denied_by_list(m, "mallory", "2001:db8::1", "listed account, other IP")
    # Account names compare case-insensitively after trimming.
    assert_decision(m.attempt(" Mallory ", "192.0.2.2"), "deny", "deny_list")
    assert_allow(m.attempt("mallory2", "192.0.2.1"), "other account")
    assert_allow(m.attempt("alice", "192.0.2.1"), "other account")


def test_allow_list_skips_brute_force(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}})
    add_list_entry(m, "allow", "203.0.113.20", reason="office NAT")
    for i in range(6):
        a = m.attempt("al-user", "203.0.113.20", pwhash="w-%d" % i)
        r = m.result("al-user", "203.0.113.20", False, pwhash="w-%d" % i)
        assert_allow(a, "allow-listed attempt %d" % (i + 1))
        assert_allow(r, "allow-listed failure %d" % (i + 1))
        # allow_list is not added to normal answers.
        assert "allow_list" not in a["reasons"] and "allow_list" not in r["reasons"], r
    assert_allow(m.result("al-user", "203.0.113.20", True), "allow-listed success")
    # Control: the same account from an unlisted IP hits the lowered threshold.
    for i in range(2):
        assert_allow(m.result("al-user", "203.0.113.21", False, pwhash="w-%d" % i))
    assert_decision(m.result("al-user", "203.0.113.21", False, pwhash="w-2"), "deny", "brute_force")


def test_ttl_expiry(mamorid):
    m = mamorid
    e = add_list_entry(m, "deny", "203.0.113.8", ttl_s=2)
    keep = add_list_entry(m, "deny", "203.0.113.9")
    assert e["expires"] is not None, e
    delta = (parse_time(e["expires"]) - parse_time(e["created"])).total_seconds()
    assert 1 <= delta <= 3, e
    assert_decision(m.attempt("ttl-user", "203.0.113.8"), "deny", "deny_list")

    deadline = time.monotonic() + 15
    while any(x["id"] == e["id"] for x in list_entries(m)):
        assert time.monotonic() < deadline, "entry with ttl_s=2 still listed after 15 s"
        time.sleep(0.1)
    assert_allow(m.attempt("ttl-user", "203.0.113.8"), "after expiry")
    assert_allow(m.result("ttl-user", "203.0.113.8", True), "after expiry")
    # The entry without a ttl is still there and still matches.
    assert [x["id"] for x in list_entries(m)] == [keep["id"]]
    assert_decision(m.attempt("ttl-user", "203.0.113.9"), "deny", "deny_list")


def test_delete_removes_entry(mamorid):
    m = mamorid
    e = add_list_entry(m, "deny", "192.0.2.99")
    assert_decision(m.attempt("del-user", "192.0.2.99"), "deny", "deny_list")
    r = m.admin("DELETE", "/v1/lists/%s" % e["id"])
    assert r.status_code == 200 and r.json() == {"deleted": True}, r.text
    assert list_entries(m) == []
    assert_allow(m.attempt("del-user", "192.0.2.99"), "after delete")
    assert_error(m.admin("DELETE", "/v1/lists/%s" % e["id"]), 404, "not_found")
    assert_error(m.admin("DELETE", "/v1/lists/no-such-id"), 404, "not_found")


BAD_TARGETS = ["", "1.2.3", "256.1.1.1", "::g", "203.0.113.0/33", "2001:db8::/129",
               "198.51.100.0/", "198.51.100.0/-1", "account:", "country:", "country:JPN",
               "nonsense", "host:example.com"]


def test_bad_targets_rejected(mamorid):
    m = mamorid
    for target in BAD_TARGETS:
        r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": target, "reason": "x"})
        assert_error(r, 400, "invalid_target")
    assert_error(m.admin("POST", "/v1/lists", {"kind": "block", "target": "192.0.2.1",
                                               "reason": "x"}), 400, "invalid_kind")
    assert_error(m.admin("POST", "/v1/lists", {"kind": "deny", "reason": "x"}), 400,
                 "missing_field", "target")
    assert_error(m.admin("POST", "/v1/lists", {"kind": "deny", "target": "192.0.2.1",
                                               "reason": "x", "ttl_s": 0}), 400, "invalid_field",
                 "ttl_s")
    assert_error(m.admin("POST", "/v1/lists", {"kind": "deny", "target": "192.0.2.1",
                                               "reason": "x", "ttl_s": "60"}), 400,
                 "invalid_field", "ttl_s")
    assert list_entries(m) == []
    assert get_json(m, "/v1/status")["list_entries"] == 0
    assert_allow(m.attempt("bt-user", "192.0.2.1"), "nothing was added")
