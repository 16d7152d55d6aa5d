"""Refusals say when they end: `retry_after_s` in delay and deny answers (the
seconds until the block, deny-list entry or send window behind the refusal
ends; absent when it has no end), against the real mamorid."""
from helpers import add_list_entry, fail_login


def test_brute_force_deny_says_when_the_block_ends(make_mamorid):
    m = make_mamorid()
    for i in range(9):
        _, r = fail_login(m, "ra-alice", "203.0.113.80", pwhash="p%d" % i)
        assert r["action"] == "allow" and "retry_after_s" not in r, r
    _, tenth = fail_login(m, "ra-alice", "203.0.113.80", pwhash="p9")
    assert tenth["action"] == "deny" and "brute_force" in tenth["reasons"], tenth
    assert 3590 <= tenth["retry_after_s"] <= 3600, tenth
    later = m.attempt("ra-alice", "203.0.113.80")
    assert later["action"] == "deny" and 3590 <= later["retry_after_s"] <= 3600, later
    # Another address is allowed, with no retry time.
    assert "retry_after_s" not in m.attempt("ra-alice", "198.51.100.80")


def test_deny_list_entry_ends_with_its_ttl_and_a_permanent_one_never(make_mamorid):
    m = make_mamorid()
    add_list_entry(m, "deny", "192.0.2.81", ttl_s=120)
    r = m.attempt("ra-bob", "192.0.2.81")
    assert r["action"] == "deny" and 110 <= r["retry_after_s"] <= 120, r
    add_list_entry(m, "deny", "192.0.2.82")
    r = m.attempt("ra-bob", "192.0.2.82")
    assert r["action"] == "deny" and "retry_after_s" not in r, r
    # Account events are refused the same way.
    e = m.event("mail_sent", "ra-bob", "192.0.2.81", recipients=1)
    assert e["action"] == "deny" and 100 <= e["retry_after_s"] <= 120, e


def test_a_locked_account_has_no_retry_time(make_mamorid):
    m = make_mamorid()
    assert m.admin("POST", "/v1/accounts/ra-carol/lock", {"reason": "test"}).status_code == 200
    r = m.attempt("ra-carol", "192.0.2.83")
    assert r["action"] == "deny" and "account_locked" in r["reasons"], r
    assert "retry_after_s" not in r


def test_a_send_over_quota_waits_at_most_the_quota_window(make_mamorid):
    m = make_mamorid(detections={"mail_volume": {"threshold": 3}})
    assert m.event("mail_sent", "ra-dave", "192.0.2.84", recipients=3)["action"] == "allow"
    over = m.event("mail_sent", "ra-dave", "192.0.2.84", recipients=1)
    assert over["action"] == "deny" and over["retry_after_s"] == 3600, over
    never = m.event("mail_sent", "ra-dave", "192.0.2.84", recipients=4)  # larger than the quota
    assert never["action"] == "deny" and "retry_after_s" not in never, never
