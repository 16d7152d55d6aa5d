"""Replay: the event "time" drives every window, so a recorded day replayed gives the same
decisions as live, and a day of event time is processed in a fraction of its wall time."""
import datetime
import time

from helpers import (UTC, activity, add_list_entry, assert_allow, assert_decision, fail_login,
                     get_json, now_utc, parse_time, rfc3339)

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"

LIST_ENTRIES = [("deny", "192.0.2.66"), ("deny", "account:rp-banned"), ("allow", "198.51.100.7"),
                ("deny", "2001:db8:bad::/48")]


def script():
    """A mixed day: (kind, body) in order; kind is attempt, result or event."""
    s = []

    def login(acct, ip, ok, **kw):
        s.append(("attempt", dict(account=acct, ip=ip, **kw)))
        s.append(("result", dict(account=acct, ip=ip, success=ok, **kw)))

    for i in range(6):  # normal logins, each with its own device
        login("rp-user-%d" % i, "192.0.2.%d" % (10 + i), True, user_agent=UA,
              device_id="dev-%d" % i)
    login("rp-user-0", "192.0.2.10", True, user_agent=UA, device_id="dev-0")  # known device
    login("rp-user-1", "192.0.2.10", False, pwhash="typo")  # a typo
    login("rp-user-1", "192.0.2.10", True, user_agent=UA, device_id="dev-1")
    s.append(("event", dict(type="password_changed", account="rp-user-2", ip="192.0.2.12")))
    s.append(("event", dict(type="message_sent", account="rp-user-3", ip="192.0.2.13",
                            recipients=["f1", "f2", "f3"])))
    # brute force burst on one account from one IP, then the owner from home
    for i in range(12):
        login("rp-bf-victim", "203.0.113.50", False, pwhash="bf-%d" % i)
    login("rp-bf-victim", "203.0.113.50", True)
    login("rp-bf-victim", "192.0.2.20", True, user_agent=UA, device_id="dev-v")
    # same wrong password retried: counts once
    for _ in range(12):
        login("rp-retry", "192.0.2.21", False, pwhash="same")
    # allow-listed office IP failing a lot
    for i in range(12):
        login("rp-office", "198.51.100.7", False, pwhash="o-%d" % i)
    # credential stuffing from one IP
    for i in range(25):
        login("rp-cs-%d" % i, "203.0.113.99", False, pwhash="leak-%d" % i)
    login("rp-cs-3", "203.0.113.99", True, pwhash="leak-3")
    login("rp-cs-4", "192.0.2.30", True, user_agent=UA, device_id="dev-cs4")  # owner elsewhere
    # lists
    login("rp-user-4", "192.0.2.66", False)
    login("rp-banned", "192.0.2.31", True)
    login("rp-user-5", "2001:db8:bad:1::5", True)
    s.append(("event", dict(type="message_sent", account="rp-user-5", ip="192.0.2.66",
                            recipients=["f1"])))
    s.append(("event", dict(type="logout", account="rp-banned", ip="192.0.2.31")))
    s.append(("event", dict(type="logout", account="rp-user-0", ip="192.0.2.10")))
    return s


PATHS = {"attempt": "/v1/login/attempt", "result": "/v1/login/result", "event": "/v1/events"}


def send(m, kind, body):
    r = m.app("POST", PATHS[kind], body)
    assert r.status_code == 200, "%s %s -> %d %s" % (kind, body, r.status_code, r.text)
    d = r.json()
    out = {"action": d["action"], "reasons": sorted(d["reasons"])}
    for k in ("risk", "new_device", "new_location", "delay_ms"):
        if k in d:
            out[k] = d[k]
    return out


def test_replay_gives_same_decisions_as_live(make_mamorid):
    live = make_mamorid("live")
    for kind, target in LIST_ENTRIES:
        add_list_entry(live, kind, target)
    steps = script()
    recorded = []  # (time, kind, body, decision)
    last = None
    for kind, body in steps:
        t = now_utc()
        if last is not None and t < last:
            t = last
        last = t
        recorded.append((t, kind, body, send(live, kind, body)))

    # The script exercised the detections (otherwise the comparison proves little).
    seen = {(d["action"], r) for _, _, _, d in recorded for r in d["reasons"]}
    for want in [("deny", "brute_force"), ("deny", "credential_stuffing"), ("deny", "deny_list")]:
        assert want in seen, "live run never answered %s: %s" % (want, sorted(seen))
    assert any(d["action"] == "allow" for _, _, _, d in recorded)

    # Server-stamped times of the logged events agree with the client-side times.
    logged = activity(live, "rp-bf-victim", limit=1000)
    assert logged, "live activity log empty"
    for e in logged:
        dt = parse_time(e["time"])
        assert recorded[0][0] - datetime.timedelta(seconds=5) <= dt <= last + datetime.timedelta(
            seconds=5), e

    replay = make_mamorid("replay", replay=True)
    assert get_json(replay, "/v1/status")["replay"] is True
    for kind, target in LIST_ENTRIES:
        add_list_entry(replay, kind, target)
    mismatches = []
    for n, (t, kind, body, want) in enumerate(recorded):
        got = send(replay, kind, dict(body, time=rfc3339(t)))
        if got != want:
            mismatches.append("#%d %s %s: live %s, replay %s" % (n, kind, body, want, got))
    assert not mismatches, "%d of %d decisions differ:\n  %s" % (
        len(mismatches), len(recorded), "\n  ".join(mismatches[:30]))

    # Same incidents (kind and sources) in both.
    def inc_summary(m):
        return sorted((i["kind"], tuple(sorted(i["sources"])), i["accounts_targeted"],
                       i["accounts_compromised"]) for i in get_json(m, "/v1/incidents")["incidents"])
    assert inc_summary(live) == inc_summary(replay)


def test_replay_day_in_event_time(make_mamorid):
    # ip_failures would (rightly) delay an IP failing ~200 times a day; keep it out of this test.
    m = make_mamorid(replay=True, detections={"ip_failures": {"threshold": 100000,
                                                              "deny_threshold": 200000}})
    t0 = datetime.datetime(2024, 5, 1, 0, 0, 0, tzinfo=UTC)
    acct, ip = "rp-slow", "203.0.113.77"
    n_events = 0
    started = time.monotonic()
    k = 0
    while True:
        t = t0 + datetime.timedelta(minutes=7 * k)
        if t >= t0 + datetime.timedelta(hours=24):
            break
        a, r = fail_login(m, acct, ip, time=rfc3339(t))
        n_events += 2
        assert_allow(a, "attempt at %s" % t)
        assert_allow(r, "failure at %s (at most 9 per hour)" % t)
        k += 1
    elapsed = time.monotonic() - started
    assert k == 206, k
    assert elapsed / n_events * 100 < 1.0, "%.2f s for %d events" % (elapsed, n_events)

    # The log carries event time, not the wall clock.
    newest = activity(m, acct, limit=1)[0]
    assert parse_time(newest["time"]) == t0 + datetime.timedelta(minutes=7 * (k - 1)), newest
    assert len(activity(m, acct, limit=1000)) == k
    since = rfc3339(t0 + datetime.timedelta(hours=23))
    assert len(activity(m, acct, since=since)) == 8  # 23:06 .. 23:55 at 7-minute steps

    # Control: ten failures inside one minute of event time are denied.
    tc = t0 + datetime.timedelta(hours=25)
    for i in range(10):
        a, r = fail_login(m, "rp-fast", ip, time=rfc3339(tc + datetime.timedelta(seconds=i)))
    assert_decision(r, "deny", "brute_force", "10 failures in 10 s")
