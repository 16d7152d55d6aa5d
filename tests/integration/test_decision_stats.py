"""GET /v1/stats/decisions against the real mamorid: the per-minute decision counts the
console's overview charts, by action and deciding reason, over the window asked for."""
import datetime


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def test_decisions_are_counted_per_minute_by_action_and_reason(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}})
    before = datetime.datetime.now(datetime.timezone.utc)
    for n in range(3):
        m.result("ds-victim", "192.0.2.90", False, pwhash="p%d" % n)
    denied = [m.attempt("ds-victim", "192.0.2.90") for _ in range(4)]
    assert all(d["action"] == "deny" and d["reasons"] == ["brute_force"] for d in denied), denied
    m.attempt("ds-other", "192.0.2.91")
    after = datetime.datetime.now(datetime.timezone.utc)

    r = m.admin("GET", "/v1/stats/decisions?minutes=60")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["step_s"] == 60
    start = parse_time(body["start"])
    assert start.second == 0 and start.microsecond == 0
    # The last of the 60 minutes is the current one.
    assert start + datetime.timedelta(minutes=59) <= after.replace(second=0, microsecond=0) + \
        datetime.timedelta(minutes=1)
    assert start + datetime.timedelta(minutes=60) > before
    series = {(s["action"], s["reason"]): s["counts"] for s in body["series"]}
    assert all(len(c) == 60 for c in series.values())
    assert all(sum(c) > 0 for c in series.values())
    assert sum(series[("deny", "brute_force")]) >= 4, series
    assert sum(series[("allow", "none")]) >= 1, series
    # Only the last two minutes can hold them (the calls may straddle a minute).
    for counts in series.values():
        assert sum(counts[:-2]) == 0, counts

    # The default window is the whole day.
    whole = m.admin("GET", "/v1/stats/decisions").json()
    assert {len(s["counts"]) for s in whole["series"]} == {1440}
    assert sum(sum(s["counts"]) for s in whole["series"]) == sum(sum(c) for c in series.values())


def test_a_bad_window_is_refused(mamorid):
    for q in ("0", "1441", "abc", "-5", "1e3"):
        r = mamorid.admin("GET", "/v1/stats/decisions?minutes=" + q)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_query", (q, r.text)
    assert mamorid.app("GET", "/v1/stats/decisions").status_code == 403
