"""Bad input gets a clear error (status, code, the error body shape) and changes nothing."""
import json
import socket

from conftest import ADMIN_TOKEN, APP_TOKEN
from helpers import activity, assert_allow, assert_error, get_json, list_entries

APP, ADMIN, NONE = APP_TOKEN, ADMIN_TOKEN, None
ATT, RES, EV = "/v1/login/attempt", "/v1/login/result", "/v1/events"
A = {"account": "victim", "ip": "203.0.113.9"}
R = dict(A, success=False)
MSG = dict(A, type="message_sent", recipients=["friend-1"])
MAIL = dict(A, type="mail_sent", recipients=3)
LIST = {"kind": "deny", "target": "203.0.113.9", "reason": "x"}
LOCK = {"reason": "x"}


def w(base, **kw):
    d = dict(base)
    d.update(kw)
    return d


def wo(base, key):
    d = dict(base)
    del d[key]
    return d


# (name, method, path, token, body, status, code, field named in the message or None)
# body: a dict/list is sent as JSON, bytes are sent raw (as application/json), None sends nothing.
CASES = [
    # not JSON / not an object
    ("truncated json", "POST", ATT, APP, b'{"account": "victim",', 400, "invalid_json", None),
    ("trailing garbage", "POST", ATT, APP, b'{"account":"victim","ip":"203.0.113.9"} x', 400,
     "invalid_json", None),
    ("single quotes", "POST", RES, APP, b"{'account': 'victim'}", 400, "invalid_json", None),
    ("empty body", "POST", ATT, APP, b"", 400, "invalid_json", None),
    ("array body", "POST", ATT, APP, b"[1, 2]", 400, "invalid_json", None),
    ("string body", "POST", RES, APP, b'"victim"', 400, "invalid_json", None),
    ("number body", "POST", EV, APP, b"42", 400, "invalid_json", None),
    ("null body", "POST", EV, APP, b"null", 400, "invalid_json", None),
    ("list body not json", "POST", "/v1/lists", ADMIN, b"{kind: deny}", 400, "invalid_json", None),
    # wrong JSON types
    ("account number", "POST", ATT, APP, w(A, account=42), 400, "invalid_field", "account"),
    ("account list", "POST", RES, APP, w(R, account=["victim"]), 400, "invalid_field", "account"),
    ("ip number", "POST", ATT, APP, w(A, ip=3405803785), 400, "invalid_field", "ip"),
    ("success string", "POST", RES, APP, w(R, success="false"), 400, "invalid_field", "success"),
    ("success number", "POST", RES, APP, w(R, success=0), 400, "invalid_field", "success"),
    ("mfa string", "POST", RES, APP, w(R, mfa="yes"), 400, "invalid_field", "mfa"),
    ("user_agent number", "POST", ATT, APP, w(A, user_agent=7), 400, "invalid_field", "user_agent"),
    ("pwhash object", "POST", RES, APP, w(R, pwhash={"h": 1}), 400, "invalid_field", "pwhash"),
    ("recipients string", "POST", EV, APP, w(MSG, recipients="friend-1"), 400, "invalid_field",
     "recipients"),
    ("recipients numbers", "POST", EV, APP, w(MSG, recipients=[1, 2]), 400, "invalid_field",
     "recipients"),
    ("recipients empty", "POST", EV, APP, w(MSG, recipients=[]), 400, "invalid_field", "recipients"),
    ("recipients 10001", "POST", EV, APP, w(MSG, recipients=["a"] * 10001), 400, "invalid_field",
     "recipients"),
    ("mail recipients array", "POST", EV, APP, w(MAIL, recipients=["a"]), 400, "invalid_field",
     "recipients"),
    ("mail recipients negative", "POST", EV, APP, w(MAIL, recipients=-1), 400, "invalid_field",
     "recipients"),
    ("mail recipients string", "POST", EV, APP, w(MAIL, recipients="3"), 400, "invalid_field",
     "recipients"),
    ("mail recipients fraction", "POST", EV, APP, w(MAIL, recipients=1.5), 400, "invalid_field",
     "recipients"),
    ("new_email number", "POST", EV, APP, w(A, type="email_changed", new_email=5), 400,
     "invalid_field", "new_email"),
    ("lock reset string", "POST", "/v1/accounts/victim/lock", ADMIN,
     w(LOCK, require_password_reset="yes"), 400, "invalid_field", "require_password_reset"),
    # missing fields
    ("attempt no account", "POST", ATT, APP, wo(A, "account"), 400, "missing_field", "account"),
    ("attempt no ip", "POST", ATT, APP, wo(A, "ip"), 400, "missing_field", "ip"),
    ("result no ip", "POST", RES, APP, wo(R, "ip"), 400, "missing_field", "ip"),
    ("result no success", "POST", RES, APP, wo(R, "success"), 400, "missing_field", "success"),
    ("event no type", "POST", EV, APP, wo(MSG, "type"), 400, "missing_field", "type"),
    ("event no account", "POST", EV, APP, wo(MSG, "account"), 400, "missing_field", "account"),
    ("message no recipients", "POST", EV, APP, wo(MSG, "recipients"), 400, "missing_field",
     "recipients"),
    ("email_changed no new_email", "POST", EV, APP, w(A, type="email_changed"), 400,
     "missing_field", "new_email"),
    ("empty object", "POST", RES, APP, {}, 400, "missing_field", None),
    ("lock no reason", "POST", "/v1/accounts/victim/lock", ADMIN, {}, 400, "missing_field",
     "reason"),
    ("affected no account", "GET", "/v1/incidents/affected", APP, None, 400, "missing_field",
     "account"),
    # invalid values
    ("ip 1.2.3", "POST", ATT, APP, w(A, ip="1.2.3"), 400, "invalid_ip", None),
    ("ip ::g", "POST", RES, APP, w(R, ip="::g"), 400, "invalid_ip", None),
    ("ip with prefix", "POST", ATT, APP, w(A, ip="1.2.3.4/24"), 400, "invalid_ip", None),
    ("ip 256", "POST", EV, APP, w(MSG, ip="256.1.1.1"), 400, "invalid_ip", None),
    ("ip empty", "POST", RES, APP, w(R, ip=""), 400, "invalid_ip", None),
    ("ip hostname", "POST", ATT, APP, w(A, ip="localhost"), 400, "invalid_ip", None),
    ("account empty", "POST", ATT, APP, w(A, account=""), 400, "invalid_account", None),
    ("account blank", "POST", RES, APP, w(R, account="   "), 400, "invalid_account", None),
    ("time words", "POST", RES, APP, w(R, time="yesterday"), 400, "invalid_time", None),
    ("time month 13", "POST", ATT, APP, w(A, time="2024-13-01T00:00:00Z"), 400, "invalid_time",
     None),
    ("time hour 25", "POST", EV, APP, w(MSG, time="2024-03-01T25:00:00Z"), 400, "invalid_time",
     None),
    ("time no zone", "POST", RES, APP, w(R, time="2024-03-01T10:00:00"), 400, "invalid_time", None),
    ("unknown event type", "POST", EV, APP, w(A, type="hack_the_planet"), 400, "invalid_type", None),
    ("empty event type", "POST", EV, APP, w(A, type=""), 400, "invalid_type", None),
    ("list bad kind", "POST", "/v1/lists", ADMIN, w(LIST, kind="block"), 400, "invalid_kind", None),
    ("list bad target", "POST", "/v1/lists", ADMIN, w(LIST, target="1.2.3"), 400, "invalid_target",
     None),
    ("activity bad since", "GET", "/v1/accounts/victim/activity?since=yesterday", APP, None, 400,
     "invalid_query", None),
    ("activity bad limit", "GET", "/v1/accounts/victim/activity?limit=abc", APP, None, 400,
     "invalid_query", None),
    ("activity negative limit", "GET", "/v1/accounts/victim/activity?limit=-1", APP, None, 400,
     "invalid_query", None),
    # over-long fields (bytes, not characters)
    ("account 257", "POST", ATT, APP, w(A, account="a" * 257), 400, "field_too_long", "account"),
    ("account 258 bytes utf-8", "POST", RES, APP, w(R, account="\u00e9" * 129), 400,
     "field_too_long", "account"),
    ("event account 257", "POST", EV, APP, w(MSG, account="a" * 257), 400, "field_too_long",
     "account"),
    ("user_agent 1025", "POST", ATT, APP, w(A, user_agent="u" * 1025), 400, "field_too_long",
     "user_agent"),
    ("device_id 129", "POST", RES, APP, w(R, device_id="d" * 129), 400, "field_too_long",
     "device_id"),
    ("pwhash 65", "POST", RES, APP, w(R, pwhash="f" * 65), 400, "field_too_long", "pwhash"),
    ("protocol 33", "POST", ATT, APP, w(A, protocol="p" * 33), 400, "field_too_long", "protocol"),
    ("lock reason 257", "POST", "/v1/accounts/victim/lock", ADMIN, w(LOCK, reason="r" * 257), 400,
     "field_too_long", "reason"),
    # body size
    ("1 MiB body", "POST", RES, APP, json.dumps(w(R, user_agent="x" * (1 << 20))).encode(), 413,
     "body_too_large", None),
    ("64 KiB + 1 body", "POST", ATT, APP,
     (lambda b: b + b" " * (64 * 1024 + 1 - len(b)))(json.dumps(A).encode()), 413,
     "body_too_large", None),
    # routing: 404, then 405, then 401/403
    ("unknown route", "GET", "/v1/nope", APP, None, 404, "not_found", None),
    ("unknown route post", "POST", "/v1/login", APP, A, 404, "not_found", None),
    ("unknown route near miss", "POST", "/v1/login/attempts", APP, A, 404, "not_found", None),
    ("unknown route no token", "GET", "/v1/nope", NONE, None, 404, "not_found", None),
    ("unknown list id", "DELETE", "/v1/lists/no-such-id", ADMIN, None, 404, "not_found", None),
    ("unknown incident", "GET", "/v1/incidents/no-such-id", ADMIN, None, 404, "not_found", None),
    ("unknown incident accounts", "GET", "/v1/incidents/no-such-id/accounts", ADMIN, None, 404,
     "not_found", None),
    ("GET attempt", "GET", ATT, APP, None, 405, "method_not_allowed", None),
    ("PUT result", "PUT", RES, APP, R, 405, "method_not_allowed", None),
    ("DELETE events", "DELETE", EV, APP, None, 405, "method_not_allowed", None),
    ("PATCH lists", "PATCH", "/v1/lists", ADMIN, LIST, 405, "method_not_allowed", None),
    ("GET lock", "GET", "/v1/accounts/victim/lock", ADMIN, None, 405, "method_not_allowed", None),
    ("wrong method no token", "GET", ATT, NONE, None, 405, "method_not_allowed", None),
    ("no token", "POST", ATT, NONE, A, 401, "unauthorized", None),
    ("no token result", "POST", RES, NONE, R, 401, "unauthorized", None),
    ("wrong token", "POST", RES, "not-a-token", R, 401, "unauthorized", None),
    ("no token event", "POST", EV, NONE, MSG, 401, "unauthorized", None),
    ("no token admin", "POST", "/v1/lists", NONE, LIST, 401, "unauthorized", None),
    ("no token bad body", "POST", ATT, NONE, b"{", 401, "unauthorized", None),
    ("app on GET lists", "GET", "/v1/lists", APP, None, 403, "forbidden", None),
    ("app on POST lists", "POST", "/v1/lists", APP, LIST, 403, "forbidden", None),
    ("app on POST lists bad body", "POST", "/v1/lists", APP, b"{", 403, "forbidden", None),
    ("app on DELETE list", "DELETE", "/v1/lists/some-id", APP, None, 403, "forbidden", None),
    ("app on lock", "POST", "/v1/accounts/victim/lock", APP, LOCK, 403, "forbidden", None),
    ("app on unlock", "POST", "/v1/accounts/victim/unlock", APP, {}, 403, "forbidden", None),
    ("app on incidents", "GET", "/v1/incidents", APP, None, 403, "forbidden", None),
    ("app on incident", "GET", "/v1/incidents/some-id", APP, None, 403, "forbidden", None),
    ("app on incident accounts", "GET", "/v1/incidents/some-id/accounts", APP, None, 403,
     "forbidden", None),
    ("app on blocked", "GET", "/v1/blocked", APP, None, 403, "forbidden", None),
    ("app on status", "GET", "/v1/status", APP, None, 403, "forbidden", None),
]


def send(m, method, path, token, body, headers=None):
    h = dict(headers or {})
    if isinstance(body, bytes):
        h["Content-Type"] = "application/json"
        return m.request(method, path, token, data=body, headers=h)
    return m.request(method, path, token, json=body, headers=h)


def test_bad_input_table(mamorid):
    m = mamorid
    failures = []
    for name, method, path, token, body, status, code, field in CASES:
        try:
            assert_error(send(m, method, path, token, body), status, code, field)
        except Exception as e:  # collect all, report together
            failures.append("%s: %s" % (name, str(e).splitlines()[0][:300]))
    # Authorization header variants that are not a valid bearer token.
    for name, value in [("basic auth", "Basic dGVzdDp0ZXN0"), ("bearer no token", "Bearer "),
                        ("token without scheme", APP_TOKEN), ("token prefix", "Bearer test-app")]:
        try:
            r = m.request("POST", ATT, None, json=A, headers={"Authorization": value})
            assert_error(r, 401, "unauthorized")
        except Exception as e:
            failures.append("%s: %s" % (name, str(e).splitlines()[0][:300]))
    assert not failures, "%d of %d cases wrong:\n  %s" % (len(failures), len(CASES) + 4,
                                                          "\n  ".join(failures))
    assert_nothing_changed(m)


def assert_nothing_changed(m):
    assert list_entries(m) == []
    blocked = get_json(m, "/v1/blocked")
    assert blocked["blocks"] == [] and blocked["locked_accounts"] == [], blocked
    assert get_json(m, "/v1/incidents")["incidents"] == []
    acc = get_json(m, "/v1/accounts/victim")
    assert acc["status"] == "active" and acc["lock"] is None, acc
    assert activity(m, "victim") == []
    status = get_json(m, "/v1/status")
    assert status["list_entries"] == 0 and status["locked_accounts"] == 0, status
    assert status["blocks"] == 0 and status["open_incidents"] == 0, status
    # The rejected failed-login results were not counted: no brute force block on victim.
    assert_allow(m.attempt("victim", "203.0.113.9"), "victim after the bad input")
    r = m.request("GET", "/metrics", None)
    assert r.status_code == 200 and "mamori_http_requests_total" in r.text


def test_limits_are_inclusive(mamorid):
    """The largest valid values are accepted (so the limits above are not off by one)."""
    m = mamorid
    ok = m.attempt("b" * 256, "203.0.113.10", user_agent="u" * 1024, device_id="d" * 128,
                   pwhash="f" * 64, protocol="p" * 32)
    assert_allow(ok)
    assert_allow(m.attempt("\u00e9" * 128, "203.0.113.10"))  # 256 bytes
    assert_allow(m.attempt("victim2", "203.0.113.10", time="2024-03-01T10:00:00+09:00"))
    # 10,000 recipients, all one address: one distinct recipient, under the fan-out limit.
    assert_allow(m.event("message_sent", "victim2", "203.0.113.10", recipients=["r"] * 10000))
    assert_allow(m.event("mail_sent", "victim2", "203.0.113.10", recipients=0))
    for ip in ("2001:db8::1", "::ffff:192.0.2.1", "::1", "0.0.0.0"):
        assert_allow(m.attempt("victim3", ip), ip)
    # The rejected requests above did not break the connection or the server.
    assert_allow(m.attempt("victim3", "192.0.2.3"))


def test_a_target_that_is_not_utf8_is_quoted_in_valid_json(mamorid):
    """The 404 answer quotes the target as sent: bytes there that are not UTF-8 (an overlong
    form of a backslash here) are replaced, so that the answer stays JSON."""
    with socket.create_connection(("127.0.0.1", mamorid.port), timeout=10) as s:
        s.sendall(b"GET /v1/x\xc1\x9c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 "), head
    error = json.loads(body.decode("utf-8"))["error"]  # strict UTF-8: an overlong form raises
    assert error["code"] == "not_found", error
    assert "/v1/x\ufffd\ufffd" in error["message"], error
