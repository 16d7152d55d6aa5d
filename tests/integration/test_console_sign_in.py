"""The console's sign-in and sessions against the real mamorid: sign-in with an admin
token, the session cookie's flags (with `Secure` under TLS), GET /v1/operators/me, the
cookie standing for a token on the admin routes, the CSRF token every cookie write needs
(without it nothing changes), the audit actor, idle timeout, sign-out, and the engine
refusing a brute force on the sign-in; operator accounts with a password and a TOTP code,
their CLI, and their records across a restart."""
import base64
import hashlib
import hmac
import json
import struct
import threading
import time

import requests

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN
from tls_pki import Pki

COOKIE = "mamori_console"


def sign_in(m, body):
    """The sign-in's answer; the fixture's HTTP session keeps no cookie of it, so that
    every request below carries the cookie only when a test gives it."""
    r = m.request("POST", "/v1/operators/sign-in", None, json=body)
    m.session.cookies.clear()
    return r


def session_of(r):
    """The cookie value the sign-in answer set."""
    assert r.status_code == 200, r.text
    return r.cookies[COOKIE]


def with_cookie(m, method, path, cookie, csrf=None, json=None):
    headers = {"Cookie": "%s=%s" % (COOKIE, cookie)}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return m.request(method, path, None, json=json, headers=headers)


def test_sign_in_with_an_admin_token_sets_a_strict_session_cookie(make_mamorid):
    m = make_mamorid(extra_toml='[[tokens]]\ntoken = "console-admin-token"\nrole = "admin"\n'
                                'name = "desk-1"\n')
    r = sign_in(m, {"token": "console-admin-token"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["operator"] == "desk-1" and body["kind"] == "token"
    assert body["idle_timeout_s"] == 1800
    assert len(body["csrf"]) == 43
    set_cookie = r.headers["Set-Cookie"]
    value = r.cookies[COOKIE]
    assert len(value) == 43 and value != body["csrf"]
    flags = [f.strip() for f in set_cookie.split(";")[1:]]
    assert sorted(flags) == ["HttpOnly", "Path=/", "SameSite=Strict"], set_cookie
    assert r.headers["Cache-Control"] == "no-store"
    # The session: /me answers it, the admin routes accept it in place of a token.
    me = with_cookie(m, "GET", "/v1/operators/me", value)
    assert me.status_code == 200, me.text
    assert me.json() == {"operator": "desk-1", "kind": "token", "csrf": body["csrf"],
                         "idle_timeout_s": 1800, "expires": body["expires"]}
    assert with_cookie(m, "GET", "/v1/status", value).status_code == 200
    assert with_cookie(m, "GET", "/v1/blocked", value).status_code == 200
    # A cookie that is no session is refused; no cookie and no token too.
    r = with_cookie(m, "GET", "/v1/status", "A" * 43)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = m.request("GET", "/v1/operators/me", None)
    assert r.status_code == 401
    # /me has no session to show for a bearer token.
    assert m.admin("GET", "/v1/operators/me").status_code == 401


def test_every_wrong_credential_answers_the_same_sign_in_failed(mamorid):
    m = mamorid
    for body in ({"token": APP_TOKEN}, {"token": "no-such-token-at-all"},
                 {"name": "nobody", "password": "pw", "code": "123456"},
                 {"name": "Not A Name!", "password": "pw", "code": "123456"}):
        r = sign_in(m, body)
        assert r.status_code == 401, (body, r.text)
        assert r.json()["error"]["code"] == "sign_in_failed", body
        assert COOKIE not in r.cookies
    r = sign_in(m, {"name": "only-a-name"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_field"
    r = m.request("POST", "/v1/operators/sign-in", None, data=b"not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_a_cookie_write_without_the_csrf_token_is_refused_and_changes_nothing(mamorid):
    m = mamorid
    r = sign_in(m, {"token": ADMIN_TOKEN})
    cookie, csrf = session_of(r), r.json()["csrf"]
    operator = r.json()["operator"]
    lock = {"reason": "console test", "require_password_reset": False}
    for bad in (None, "", csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        r = with_cookie(m, "POST", "/v1/accounts/csrf-victim/lock", cookie, csrf=bad, json=lock)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "csrf_failed"
    assert m.admin("GET", "/v1/accounts/csrf-victim").json()["status"] == "active"
    assert m.admin("GET", "/v1/audit?target=account:csrf-victim").json()["entries"] == []
    # With the session's token the write is done and audited under the session's name.
    r = with_cookie(m, "POST", "/v1/accounts/csrf-victim/lock", cookie, csrf=csrf, json=lock)
    assert r.status_code == 200, r.text
    assert m.admin("GET", "/v1/accounts/csrf-victim").json()["status"] == "locked"
    entries = m.admin("GET", "/v1/audit?target=account:csrf-victim").json()["entries"]
    assert [(e["actor"], e["actor_kind"], e["action"]) for e in entries] == [
        (operator, "token", "account_lock")]
    # A bearer token needs no CSRF token: no cookie is involved.
    r = m.admin("POST", "/v1/accounts/csrf-victim/unlock", {"note": "bearer"})
    assert r.status_code == 200, r.text


def test_an_idle_session_ends(make_mamorid):
    m = make_mamorid(extra_toml='[console]\nidle_timeout = "2s"\n')
    r = sign_in(m, {"token": ADMIN_TOKEN})
    assert r.json()["idle_timeout_s"] == 2
    cookie = session_of(r)
    # Used more often than the idle timeout, it lives past it.
    start = time.monotonic()
    while time.monotonic() - start < 3:
        assert with_cookie(m, "GET", "/v1/operators/me", cookie).status_code == 200
        time.sleep(0.5)
    # Left alone for longer than the timeout (the timeout itself is what is waited for).
    time.sleep(2.5)
    r = with_cookie(m, "GET", "/v1/operators/me", cookie)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert with_cookie(m, "GET", "/v1/status", cookie).status_code == 401


def test_sign_out_ends_the_session_and_clears_the_cookie(mamorid):
    m = mamorid
    r = sign_in(m, {"token": ADMIN_TOKEN})
    cookie, csrf = session_of(r), r.json()["csrf"]
    other = session_of(sign_in(m, {"token": ADMIN_TOKEN}))
    r = with_cookie(m, "POST", "/v1/operators/sign-out", cookie)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = with_cookie(m, "POST", "/v1/operators/sign-out", cookie, csrf=csrf)
    assert r.status_code == 204, r.text
    cleared = r.headers["Set-Cookie"]
    assert cleared.startswith(COOKIE + "=;") and "Max-Age=0" in cleared, cleared
    assert with_cookie(m, "GET", "/v1/operators/me", cookie).status_code == 401
    assert with_cookie(m, "GET", "/v1/status", cookie).status_code == 401
    # Another session of the same token lives on.
    assert with_cookie(m, "GET", "/v1/operators/me", other).status_code == 200


def test_a_brute_force_on_the_sign_in_is_refused_by_the_engine(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}})
    for n in range(3):
        r = sign_in(m, {"token": "guess-%d-xxxxxxxx" % n})
        assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_failed"
    # Now even the right token is refused before it is checked.
    r = sign_in(m, {"token": ADMIN_TOKEN})
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "sign_in_refused"
    assert int(r.headers["Retry-After"]) > 0
    assert COOKIE not in r.cookies
    # The attempts are the account console:token's logins, from this address.
    activity = m.admin("GET", "/v1/accounts/console:token/activity").json()["events"]
    assert any(e.get("ip") == "127.0.0.1" for e in activity), activity
    blocked = m.admin("GET", "/v1/blocked").json()["blocks"]
    assert any("127.0.0.1" in b["target"] for b in blocked), blocked


def test_the_cookie_is_secure_under_tls(make_mamorid, tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    pki = Pki(d)
    m = make_mamorid(start=False, extra_toml="[server.tls]\ncert = \"%s\"\nkey = \"%s\"\n" % (
        pki.server.cert_path, pki.server.key_path))
    m.url = "https://localhost:%d" % m.port
    m.verify = pki.ca.cert_path
    m.start()
    r = sign_in(m, {"token": ADMIN_TOKEN})
    assert r.status_code == 200, r.text
    flags = [f.strip() for f in r.headers["Set-Cookie"].split(";")[1:]]
    assert "Secure" in flags and "HttpOnly" in flags and "SameSite=Strict" in flags


def test_console_off_serves_no_sign_in_and_takes_no_cookie(make_mamorid):
    m = make_mamorid(extra_toml="[console]\nenabled = false\n")
    r = sign_in(m, {"token": ADMIN_TOKEN})
    assert r.status_code == 404


# ---- operator accounts ---------------------------------------------------------------
def hotp(key, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** 6)


def totp_key(secret):
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def add_operator(m, tmp_path, name, password):
    """`mamori operator add` with a password file; returns the TOTP key."""
    pw = tmp_path / ("%s.pw" % name)
    pw.write_text(password + "\n")
    out = json.loads(m.cli("--json", "operator", "add", name, "--password-file", str(pw)).stdout)
    assert out["name"] == name
    assert out["totp_uri"].startswith("otpauth://totp/")
    assert "secret=" + out["totp_secret"] in out["totp_uri"]
    return totp_key(out["totp_secret"])


def test_an_operator_signs_in_with_password_and_totp_code(make_mamorid, tmp_path):
    m = make_mamorid()
    key = add_operator(m, tmp_path, "alice", "correct horse battery")
    listed = m.admin("GET", "/v1/operators").json()["operators"]
    assert [(o["name"], o["last_sign_in"]) for o in listed] == [("alice", None)]
    step = int(time.time() // 30)
    # A wrong password and a wrong code fail alike, and use no code.
    for body in ({"name": "alice", "password": "wrong horse battery", "code": hotp(key, step)},
                 {"name": "alice", "password": "correct horse battery", "code": hotp(key, step + 7)},
                 {"name": "alice", "password": "correct horse battery", "code": "12345"}):
        r = sign_in(m, body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_failed", body
    good = {"name": "alice", "password": "correct horse battery", "code": hotp(key, step)}
    r = sign_in(m, good)
    assert r.status_code == 200, r.text
    assert r.json()["operator"] == "alice" and r.json()["kind"] == "operator"
    cookie, csrf = session_of(r), r.json()["csrf"]
    # The same code does not sign in twice.
    r = sign_in(m, good)
    assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_failed"
    # A write with the session is the operator's in the audit log.
    r = with_cookie(m, "POST", "/v1/accounts/op-target/lock", cookie, csrf=csrf,
                    json={"reason": "operator test"})
    assert r.status_code == 200, r.text
    assert r.json()["lock"]["by"] == "alice"
    entries = m.admin("GET", "/v1/audit?target=account:op-target").json()["entries"]
    assert [(e["actor"], e["actor_kind"]) for e in entries] == [("alice", "operator")]
    listed = m.admin("GET", "/v1/operators").json()["operators"]
    assert listed[0]["last_sign_in"] is not None
    # A new TOTP secret ends the session and the old key's codes stop working.
    reset = json.loads(m.cli("--json", "operator", "reset-totp", "alice").stdout)
    assert with_cookie(m, "GET", "/v1/operators/me", cookie).status_code == 401
    r = sign_in(m, dict(good, code=hotp(key, step + 1)))
    assert r.status_code == 401
    new_key = totp_key(reset["totp_secret"])
    r = sign_in(m, dict(good, code=hotp(new_key, int(time.time() // 30))))
    assert r.status_code == 200, r.text
    cookie = session_of(r)
    # Removed, its session ends and it signs in no more.
    m.cli("operator", "remove", "alice")
    assert with_cookie(m, "GET", "/v1/operators/me", cookie).status_code == 401
    assert m.admin("GET", "/v1/operators").json()["operators"] == []
    actions = [e["action"] for e in m.admin("GET", "/v1/audit?target=operator:alice").json()["entries"]]
    assert actions == ["operator_remove", "operator_totp_reset", "operator_add"]


def test_operator_accounts_survive_a_restart_and_refuse_bad_input(make_mamorid, tmp_path):
    m = make_mamorid()
    add_operator(m, tmp_path, "bob", "a long enough password")
    for body, code in (({"name": "Bob!", "password": "a long enough password"}, "invalid_name"),
                       ({"name": "me", "password": "a long enough password"}, "invalid_name"),
                       ({"name": "carol", "password": "short"}, "invalid_password"),
                       ({"name": "carol"}, "missing_field")):
        r = m.admin("POST", "/v1/operators", body)
        assert r.status_code == 400 and r.json()["error"]["code"] == code, (body, r.text)
    r = m.admin("POST", "/v1/operators", {"name": "bob", "password": "another long password"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "operator_exists"
    assert m.admin("DELETE", "/v1/operators/nobody").status_code == 404
    assert m.admin("POST", "/v1/operators/nobody/totp-reset").status_code == 404
    # An app token may not manage operators.
    assert m.app("GET", "/v1/operators").status_code == 403
    m.kill9()
    m.start()
    assert [o["name"] for o in m.admin("GET", "/v1/operators").json()["operators"]] == ["bob"]
    out = m.cli("operator", "list").stdout
    assert "bob" in out


def concurrent_sign_ins(m, bodies):
    """Posts every body at once (a thread and a connection each, released together);
    returns the answers in order."""
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)

    def one(i):
        session = openapi_check.attach(requests.Session())
        barrier.wait(timeout=30)
        answers[i] = session.post(m.url + "/v1/operators/sign-in", json=bodies[i], timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert all(a is not None for a in answers), "a sign-in got no answer"
    return answers


def test_concurrent_operator_sign_ins_all_succeed(make_mamorid, tmp_path):
    # Two worker threads and six sign-ins: the passwords are hashed off the workers,
    # side by side (one at a time on a worker, they would answer sign_in_busy).
    m = make_mamorid()
    names = ["desk-%d" % i for i in range(6)]
    keys = {n: add_operator(m, tmp_path, n, "password of " + n) for n in names}
    step = int(time.time() // 30)
    if time.time() % 30 > 25:  # the codes must stay valid while the checks run
        time.sleep(30 - time.time() % 30)
        step = int(time.time() // 30)
    answers = concurrent_sign_ins(m, [{"name": n, "password": "password of " + n,
                                       "code": hotp(keys[n], step)} for n in names])
    assert [a.status_code for a in answers] == [200] * len(names), [a.text for a in answers]
    assert sorted(a.json()["operator"] for a in answers) == names
    for a in answers:  # each answer's session works
        me = with_cookie(m, "GET", "/v1/operators/me", a.cookies[COOKIE])
        assert me.status_code == 200 and me.json()["kind"] == "operator"
    # Each sign-in went through the engine as a login result of its own account.
    for n in names:
        events = m.admin("GET", "/v1/accounts/console:%s/activity" % n).json()["events"]
        assert any(e["type"] == "login_result" and e.get("success") for e in events), events


def test_a_flood_of_sign_ins_past_the_queue_is_answered_sign_in_busy(make_mamorid):
    # Detections that would refuse the flood from one address before its hashes are off.
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 10000},
                                 "ip_failures": {"threshold": 10000, "deny_threshold": 10000}})
    bodies = [{"name": "nobody-%d" % i, "password": "not a password", "code": "123456"}
              for i in range(150)]
    answers = concurrent_sign_ins(m, bodies)
    codes = [a.json()["error"]["code"] for a in answers]
    busy = [a for a in answers if a.status_code == 503]
    assert busy, "150 sign-ins at once never filled the queue of checks"
    assert all(a.json()["error"]["code"] == "sign_in_busy" and a.headers["Retry-After"] == "1"
               for a in busy)
    # The rest were checked (an unknown name costs a hash too) and refused alike.
    assert set(codes) <= {"sign_in_busy", "sign_in_failed"}, set(codes)
    assert codes.count("sign_in_failed") >= 2
    # The server answers as usual after the flood.
    assert m.admin("GET", "/v1/status").status_code == 200
