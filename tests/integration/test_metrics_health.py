"""Ops: /healthz, Prometheus /metrics and the admin /v1/status."""
from conftest import APP_TOKEN
from helpers import add_list_entry, assert_error, fail_login, get_json, metric_sum, parse_metrics

MiB = 1024 * 1024


def scrape(m):
    r = m.request("GET", "/metrics", None)
    assert r.status_code == 200, r.text[:300]
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    return parse_metrics(r.text)


def test_healthz_needs_no_token(mamorid):
    m = mamorid
    for token in (None, "garbage-token", APP_TOKEN):
        r = m.request("GET", "/healthz", token)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ok"}


def test_metrics_count_requests_and_decisions(mamorid):
    m = mamorid
    before = scrape(m)
    add_list_entry(m, "deny", "203.0.113.66")
    for i in range(7):
        assert m.attempt("mx-user-%d" % i, "192.0.2.7")["action"] == "allow"
    for i in range(3):
        assert m.attempt("mx-user", "203.0.113.66")["action"] == "deny"
    for i in range(2):
        assert m.request("POST", "/v1/login/attempt", None,
                         json={"account": "a", "ip": "192.0.2.1"}).status_code == 401
    assert m.app("GET", "/v1/no-such-route").status_code == 404
    assert m.app("POST", "/v1/login/attempt", {"account": "a", "ip": "1.2.3"}).status_code == 400
    after = scrape(m)

    def delta(name, **match):
        return metric_sum(after, name, **match) - metric_sum(before, name, **match)

    attempt_route = lambda v: "login" in v and "attempt" in v  # noqa: E731  (label format is free)
    assert delta("mamori_http_requests_total", route=attempt_route, status="200") >= 10, after
    assert delta("mamori_http_requests_total", route=attempt_route, status="401") >= 2
    assert delta("mamori_http_requests_total", route=attempt_route, status="400") >= 1
    assert delta("mamori_http_requests_total", status="404") >= 1
    assert delta("mamori_http_requests_total", route=lambda v: "lists" in v, status="201") >= 1
    assert delta("mamori_decisions_total", action="allow") >= 7
    assert delta("mamori_decisions_total", action="deny", reason="deny_list") >= 3
    assert delta("mamori_decisions_total", action="deny", reason="brute_force") == 0
    # histogram
    assert delta("mamori_http_request_duration_seconds_count") >= 10
    assert delta("mamori_http_request_duration_seconds_bucket", le="+Inf") >= 10
    assert metric_sum(after, "mamori_http_request_duration_seconds_sum") > 0
    # hot state gauges
    names = {n for n, _, _ in after}
    for n in ("mamori_hot_state_entries", "mamori_hot_state_bytes",
              "mamori_hot_state_budget_bytes", "mamori_hot_state_evictions_total"):
        assert n in names, "%s missing from /metrics" % n
    assert metric_sum(after, "mamori_hot_state_budget_bytes") == 256 * MiB

    # Engine decisions show up too.
    for i in range(10):
        fail_login(m, "mx-bf", "198.51.100.9", pwhash="p%d" % i)
    final = scrape(m)
    assert (metric_sum(final, "mamori_decisions_total", action="deny", reason="brute_force")
            - metric_sum(after, "mamori_decisions_total", action="deny", reason="brute_force")) >= 1
    assert metric_sum(final, "mamori_hot_state_entries") > 0
    assert metric_sum(final, "mamori_hot_state_bytes") > 0


def test_status(make_mamorid):
    m = make_mamorid(extra_toml="[state]\nmemory_budget_mb = 64\n")
    st = get_json(m, "/v1/status")
    for k in ("version", "uptime_s", "replay", "hot_state", "blocks", "locked_accounts",
              "list_entries", "open_incidents"):
        assert k in st, "%s missing: %s" % (k, st)
    assert isinstance(st["version"], str) and st["version"], st
    assert st["uptime_s"] >= 0 and st["replay"] is False, st
    assert st["hot_state"]["budget_bytes"] == 64 * MiB, st
    for k in ("entries", "bytes", "evictions"):
        assert k in st["hot_state"], st
    assert (st["blocks"], st["locked_accounts"], st["list_entries"], st["open_incidents"]) == \
        (0, 0, 0, 0), st

    add_list_entry(m, "deny", "203.0.113.1")
    add_list_entry(m, "allow", "account:vip")
    r = m.admin("POST", "/v1/accounts/st-locked/lock", {"reason": "test"})
    assert r.status_code == 200, r.text
    for i in range(10):
        fail_login(m, "st-bf", "198.51.100.3", pwhash="p%d" % i)
    for i in range(20):
        fail_login(m, "st-cs-%d" % i, "198.51.100.4", pwhash="q%d" % i)
    st = get_json(m, "/v1/status")
    assert st["list_entries"] == 2, st
    assert st["locked_accounts"] == 1, st
    assert st["blocks"] >= 2, st  # brute force (account+IP) and credential stuffing (IP)
    assert st["open_incidents"] == 1, st
    assert st["hot_state"]["entries"] > 0 and st["hot_state"]["bytes"] > 0, st

    assert_error(m.app("GET", "/v1/status"), 403, "forbidden")
    assert_error(m.request("GET", "/v1/status", None), 401, "unauthorized")


def test_status_reports_replay(make_mamorid):
    m = make_mamorid(replay=True)
    assert get_json(m, "/v1/status")["replay"] is True
