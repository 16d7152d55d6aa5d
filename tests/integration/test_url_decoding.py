"""Paths and query strings are decoded by their own rules: '+' is itself in a
path segment and a space in a query value; "%2F" stays inside a segment; a bad
percent escape is a 400 that changes nothing."""
import http.client
import json

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN
from helpers import fail_login, get_json


def raw_request(m, method, path, token=ADMIN_TOKEN, body=None):
    """A request whose path is sent byte for byte (requests re-quotes bad escapes)."""
    c = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
    try:
        headers = {"Authorization": "Bearer " + token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        openapi_check.check(method, path, r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
        return r.status, json.loads(raw or b"null")
    finally:
        c.close()


def test_plus_in_a_path_is_literal(mamorid):
    m = mamorid
    status, doc = raw_request(m, "POST", "/v1/accounts/bob+shop@x.jp/lock", body={"reason": "test"})
    assert status == 200, doc
    assert doc["account"] == "bob+shop@x.jp" and doc["status"] == "locked", doc
    status, doc = raw_request(m, "GET", "/v1/accounts/bob+shop@x.jp")
    assert status == 200 and doc["account"] == "bob+shop@x.jp" and doc["status"] == "locked", doc
    # The percent-encoded spelling is the same account.
    status, doc = raw_request(m, "GET", "/v1/accounts/bob%2Bshop%40x.jp")
    assert status == 200 and doc["status"] == "locked", doc
    # The account with a space is another one, and untouched.
    status, doc = raw_request(m, "GET", "/v1/accounts/bob%20shop@x.jp")
    assert status == 200 and doc["account"] == "bob shop@x.jp" and doc["status"] == "active", doc
    # A login for the real account is refused as locked.
    r = m.attempt("bob+shop@x.jp", "192.0.2.44")
    assert r["action"] == "deny" and "account_locked" in r["reasons"], r


def test_encoded_slash_stays_inside_the_account_segment(mamorid):
    m = mamorid
    status, doc = raw_request(m, "POST", "/v1/accounts/a%2Fb/lock", body={"reason": "test"})
    assert status == 200 and doc["account"] == "a/b" and doc["status"] == "locked", doc
    status, doc = raw_request(m, "GET", "/v1/accounts/a%2Fb")
    assert status == 200 and doc["status"] == "locked", doc


def test_query_values_are_form_encoded(make_mamorid):
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 2}})
    for account in ("bob shop@x.jp", "carol@x.jp"):
        fail_login(m, account, "203.0.113.77")
    # '+' in a query value is a space: this asks about "bob shop@x.jp".
    status, doc = raw_request(m, "GET", "/v1/incidents/affected?account=bob+shop@x.jp", APP_TOKEN)
    assert status == 200 and doc["affected"] is True, doc
    # "%2B" is a literal '+': another account, not touched.
    status, doc = raw_request(m, "GET", "/v1/incidents/affected?account=bob%2Bshop%40x.jp",
                              APP_TOKEN)
    assert status == 200 and doc["affected"] is False, doc
    # An RFC 3339 offset needs its '+' encoded; a bare '+' is a space and not a time.
    activity = "/v1/accounts/carol@x.jp/activity?since="
    status, doc = raw_request(m, "GET", activity + "2000-01-01T09:00:00%2B09:00", APP_TOKEN)
    assert status == 200 and len(doc["events"]) == 1, doc
    status, doc = raw_request(m, "GET", activity + "2999-01-01T09:00:00%2B09:00", APP_TOKEN)
    assert status == 200 and doc["events"] == [], doc
    status, doc = raw_request(m, "GET", activity + "2000-01-01T09:00:00+09:00", APP_TOKEN)
    assert status == 400 and doc["error"]["code"] == "invalid_query", doc


def test_bad_percent_escapes_get_400_and_change_nothing(mamorid):
    m = mamorid
    cases = [
        ("POST", "/v1/accounts/bob%ZZ/lock", {"reason": "x"}, "invalid_account", "%ZZ"),
        ("GET", "/v1/accounts/bob%2", None, "invalid_account", "%2"),
        ("DELETE", "/v1/lists/abc%G1", None, "invalid_path", "%G1"),
        ("GET", "/v1/incidents/x%", None, "invalid_path", "percent escape"),
        ("GET", "/v1/incidents/x%4/accounts", None, "invalid_path", "%4"),
        ("GET", "/v1/incidents/affected?account=bob%Z1", None, "invalid_account", "%Z1"),
        ("GET", "/v1/accounts/bob/activity?since=%ZZ", None, "invalid_query", "%ZZ"),
    ]
    for method, path, body, code, named in cases:
        status, doc = raw_request(m, method, path, body=body)
        assert status == 400, (path, status, doc)
        assert doc["error"]["code"] == code, (path, doc)
        assert named in doc["error"]["message"], (path, doc)
    status = get_json(m, "/v1/status")
    assert status["locked_accounts"] == 0 and status["list_entries"] == 0, status
