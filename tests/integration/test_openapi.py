"""The HTTP API's OpenAPI document (docs/openapi.json): well formed, served by mamorid as
built in, complete (every route mamorid serves, every operation answering as documented),
and the check every integration test's answers go through (openapi_check.py) really
refuses what the document does not describe."""
import base64
import copy
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import time
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, RefResolver

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN, MAMORI_CLI, SOURCE_DIR
from openapi_check import Document, Mismatch

DOC_PATH = os.path.join(SOURCE_DIR, "docs", "openapi.json")
ROLES = {"app", "admin", "none"}


def load():
    with open(DOC_PATH, "rb") as f:
        return json.load(f)


def walk(node, path=""):
    """Yields (json pointer, node) of every object and array in `node`."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from walk(v, "%s/%s" % (path, k))


def schemas_in(doc):
    """(where, schema) of every schema the document holds."""
    for name, s in doc["components"]["schemas"].items():
        yield "components/schemas/" + name, s
    for where, node in walk(doc):
        if where.startswith("/components/schemas"):
            continue
        if isinstance(node, dict) and isinstance(node.get("schema"), dict):
            yield where + "/schema", node["schema"]


def json_headers(r):
    return {k.lower(): v for k, v in r.headers.items()}


# ---- the document --------------------------------------------------------------------
def test_document_is_well_formed_openapi_3_1():
    doc = load()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"] and doc["info"]["description"]
    resolver = RefResolver.from_schema(doc)
    refs = [(w, n["$ref"]) for w, n in walk(doc) if isinstance(n, dict) and isinstance(n.get("$ref"), str)]
    assert len(refs) > 100
    for where, ref in refs:
        assert ref.startswith("#/"), (where, ref)
        resolver.resolve(ref)  # raises on a dangling $ref
    checked = 0
    for where, schema in schemas_in(doc):
        Draft202012Validator.check_schema(schema)
        checked += 1
    assert checked > 50
    ids = [o["operationId"] for _, _, o in Document(doc).operations()]
    assert len(ids) == len(set(ids)), ids
    security = doc["components"]["securitySchemes"]["bearer"]
    assert security["type"] == "http" and security["scheme"] == "bearer"


def test_every_operation_says_its_role_and_every_answer_it_can_give():
    doc = load()
    d = Document(doc)
    for method, template, o in d.operations():
        what = "%s %s" % (method, template)
        assert o.get("x-mamori-role") in ROLES, what
        assert re.fullmatch(r"[a-z_]+", o.get("x-mamori-route", "")), what
        assert o.get("summary") and o.get("description"), what
        responses = o["responses"]
        for status, r in responses.items():
            assert re.fullmatch(r"[1-5][0-9][0-9]", status), (what, status)
            assert d.resolve(r).get("description"), (what, status)
        assert any(s.startswith("2") for s in responses), what
        # The transport's refusals and internal faults can answer any request.
        for status in ("400", "413", "431", "500", "501"):
            assert status in responses, (what, status)
        anonymous = o.get("security") == []
        assert anonymous == (o["x-mamori-role"] == "none"), what
        # A token or session is refused with the shared 401; an anonymous call may answer
        # 401 only with its own codes (the console's `sign_in_failed`).
        unauthorized = responses.get("401") == {"$ref": "#/components/responses/Unauthorized"}
        assert unauthorized != anonymous, what
        if o["x-mamori-role"] == "admin":
            assert "403" in responses, what
        # Every {parameter} of the template is declared.
        declared = {p["name"] for p in doc["paths"][template].get("parameters", []) + o.get("parameters", [])
                    if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", template)), what
        # Examples are answers the document allows.
        for status, r in responses.items():
            for ctype, media in d.resolve(r).get("content", {}).items():
                if "example" in media:
                    d.check(method, template, int(status), {"content-type": ctype},
                            json.dumps(media["example"]).encode())


def test_the_document_names_every_route_mamorid_counts():
    """The routes of mamori_http_requests_total{route} (api_metrics.cc) are the operations'
    x-mamori-route: a route added to the server without its operation here fails."""
    with open(os.path.join(SOURCE_DIR, "src/protocols/http/api_metrics.cc")) as f:
        m = re.search(r"kRoutes = \{(.*?)\};", f.read(), re.S)
    assert m, "kRoutes not found in api_metrics.cc"
    served = set(re.findall(r'"([a-z_]+)"', m.group(1))) - {"unknown"}
    documented = {o["x-mamori-route"] for _, _, o in Document(load()).operations()}
    assert len(served) >= 25
    assert served == documented, "served, not documented: %s; documented, not served: %s" % (
        sorted(served - documented), sorted(documented - served))


# ---- the check refuses what the document does not describe --------------------------
ATTEMPT_OK = {"action": "allow", "delay_ms": 0, "reasons": [], "risk": 0, "event_id": "018e0b6f5a2000000001"}
JSON = {"content-type": "application/json"}


def body(doc):
    return json.dumps(doc).encode()


def refused(d, method, target, status, headers, content, *words):
    with pytest.raises(Mismatch) as e:
        d.check(method, target, status, headers, content)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    return str(e.value)


def test_the_check_refuses_answers_the_document_does_not_describe():
    d = Document(load())
    ATT = "/v1/login/attempt"
    assert d.check("POST", ATT, 200, JSON, body(ATTEMPT_OK)) == "POST /v1/login/attempt 200"
    # The body: a field missing, one too many, a wrong type, a word outside its enum.
    missing = dict(ATTEMPT_OK)
    del missing["risk"]
    msg = refused(d, "POST", ATT, 200, JSON, body(missing), "POST /v1/login/attempt -> 200", "risk")
    assert "does not match docs/openapi.json" in msg
    refused(d, "POST", ATT, 200, JSON, body(dict(ATTEMPT_OK, extra=1)), "extra")
    refused(d, "POST", ATT, 200, JSON, body(dict(ATTEMPT_OK, risk="high")), "high")
    refused(d, "POST", ATT, 200, JSON, body(dict(ATTEMPT_OK, reasons=["bad_luck"])), "bad_luck")
    refused(d, "POST", ATT, 200, JSON, body(dict(ATTEMPT_OK, event_id="E1")), "event_id")
    refused(d, "POST", ATT, 200, JSON, b"{not json", "not JSON")
    refused(d, "POST", ATT, 200, {"content-type": "text/html"}, body(ATTEMPT_OK), "content type")
    # A status the operation does not list; an error code it does not give.
    refused(d, "POST", ATT, 418, JSON, body({"error": {"code": "teapot", "message": "x"}}), "418")
    refused(d, "POST", ATT, 400, JSON, body({"error": {"code": "invalid_prefix", "message": "x"}}),
            "invalid_prefix")
    d.check("POST", ATT, 400, JSON, body({"error": {"code": "invalid_ip", "message": "bad ip"}}))
    refused(d, "POST", ATT, 400, JSON, body({"error": {"code": "invalid_ip", "message": ""}}))
    refused(d, "POST", ATT, 400, JSON, body({"code": "invalid_ip", "message": "flat"}))
    # Required headers.
    unauthorized = body({"error": {"code": "unauthorized", "message": "no token"}})
    refused(d, "POST", ATT, 401, JSON, unauthorized, "WWW-Authenticate")
    d.check("POST", ATT, 401, dict(JSON, **{"www-authenticate": "Bearer"}), unauthorized)
    # A route the document does not have: only the unrouted answers.
    refused(d, "GET", "/v1/no-such-route", 200, JSON, body({"status": "ok"}), "no path template")
    not_found = body({"error": {"code": "not_found", "message": "no such route"}})
    assert d.check("GET", "/v1/no-such-route", 404, JSON, not_found) == "unrouted 404"
    # Another method on a served path is 405 with Allow, never 404; an unknown path never 405.
    not_allowed = body({"error": {"code": "method_not_allowed", "message": "use POST"}})
    refused(d, "GET", ATT, 404, JSON, not_found, "path /v1/login/attempt")
    refused(d, "GET", ATT, 405, JSON, not_allowed, "Allow")
    d.check("GET", ATT, 405, dict(JSON, allow="POST"), not_allowed)
    refused(d, "PATCH", "/v1/nothing/here", 405, dict(JSON, allow="POST"), not_allowed)
    # Templates: a literal segment before a parameter, empty segments skipped, raw segments.
    assert d.route("/v1/incidents/affected")[0] == "/v1/incidents/affected"
    assert d.route("/v1/incidents/0123")[0] == "/v1/incidents/{id}"
    assert d.route("//v1//accounts/bob%2Fx/activity/")[0] == "/v1/accounts/{account}/activity"
    # Composed schemas hold: the account view takes no `notified`, the lock answer needs it.
    view = {"account": "alice", "known": True, "status": "active", "password_reset_required": False, "lock": None,
            "mfa": {"totp": False},
            "contact": {"email": "", "lang": "en", "notify": True, "time_zone": "UTC"},
            "devices": [], "countries": [], "last_login": None}
    d.check("GET", "/v1/accounts/alice", 200, JSON, body(view))
    refused(d, "GET", "/v1/accounts/alice", 200, JSON, body(dict(view, notified=True)), "notified")
    refused(d, "POST", "/v1/accounts/alice/lock", 200, JSON, body(view), "notified")
    d.check("POST", "/v1/accounts/alice/lock", 200, JSON, body(dict(view, notified=False)))
    # Text answers are checked too; HEAD has no body to check.
    d.check("GET", "/range/5BAA6", 200, {"content-type": "text/plain"},
            b"0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2")
    refused(d, "GET", "/range/5BAA6", 200, {"content-type": "text/plain"}, b"0018a45c4d1def81644b54ab7f969b88d65:1")
    assert d.check("HEAD", "/v1/status", 200, JSON, b"") == "HEAD /v1/status 200"
    # A raw exchange: the first answer against the first request line.
    raw_req = b"POST /v1/login/attempt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
    answer = body({"error": {"code": "not_implemented", "message": "gzip"}})
    raw = (b"HTTP/1.1 501 Not Implemented\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % len(answer)) + answer
    parsed = openapi_check.parse_raw(raw_req, raw)
    assert parsed[:3] == ("POST", "/v1/login/attempt", 501)
    assert d.check(*parsed) == "POST /v1/login/attempt 501"
    assert openapi_check.parse_raw(raw_req, raw[:-3]) is None  # incomplete: the caller's to judge


def test_every_answer_the_fixture_receives_goes_through_the_check(mamorid, monkeypatch):
    """The hook in conftest's session checks real answers: with a document that leaves a field
    out of the login attempt's answer, the same request fails."""
    m = mamorid
    before = openapi_check.count()
    m.attempt("hook-check", "203.0.113.77")
    assert openapi_check.count() == before + 1
    assert openapi_check.validated.get("POST /v1/login/attempt 200", 0) >= 1

    doctored = load()
    del doctored["components"]["schemas"]["LoginAttemptAnswer"]["properties"]["delay_ms"]
    doctored["components"]["schemas"]["LoginAttemptAnswer"]["required"].remove("delay_ms")
    monkeypatch.setattr(openapi_check, "_document", Document(doctored))
    recorded = len(openapi_check.failures)
    with pytest.raises(Mismatch) as e:
        m.app("POST", "/v1/login/attempt", {"account": "hook-check", "ip": "203.0.113.77"})
    assert "delay_ms" in str(e.value) and "POST /v1/login/attempt -> 200" in str(e.value)
    assert len(openapi_check.failures) == recorded + 1
    del openapi_check.failures[recorded:]  # expected here: not a failure of this test


# ---- served, and complete ---------------------------------------------------------
def test_mamorid_serves_the_document_it_was_built_with(mamorid):
    m = mamorid
    with open(DOC_PATH, "rb") as f:
        source = f.read()
    for token in (APP_TOKEN, ADMIN_TOKEN):
        r = m.request("GET", "/v1/openapi.json", token)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        assert r.content == source, "the served document differs from docs/openapi.json: rebuild"
    r = m.request("GET", "/v1/openapi.json", None)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = m.request("HEAD", "/v1/openapi.json", APP_TOKEN)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(source)
    status = m.admin("GET", "/v1/status").json()
    assert json.loads(source)["info"]["version"] == status["version"]


def hotp(key, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** 6)


def sample_path(template):
    return (template.replace("{account}", "tour-alice").replace("{id}", "0123456789abcdef0123")
            .replace("{prefix}", "5BAA6").replace("{scope}", "ip").replace("{target}", "192.0.2.1"))


def test_every_operation_answers_as_documented(make_mamorid, tmp_path):
    m = make_mamorid(start=False, detections={"brute_force": {"threshold": 3},
                                              "credential_stuffing": {"threshold": 3}},
                     extra_toml='[owner_pages]\nbase_url = "https://login.example/mamori"\n')
    p = subprocess.run([MAMORI_CLI, "pwned", "import", os.path.join(SOURCE_DIR, "tests/data/pwned_sample.txt"),
                        "--data-dir", m.data_dir], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    m.start()
    d = Document(load())
    before = dict(openapi_check.validated)

    def ok(method, path, token=APP_TOKEN, json_body=None, status=200):
        r = m.request(method, path, token, json=json_body)
        assert r.status_code == status, "%s %s -> %d %s" % (method, path, r.status_code, r.text[:300])
        return r.json() if r.headers.get("Content-Type") == "application/json" else r.text

    # Operations, each with the weakest token its role allows.
    ok("GET", "/healthz", None)
    ok("GET", "/metrics", None)
    ok("GET", "/v1/openapi.json")
    ok("GET", "/v1/status", ADMIN_TOKEN)
    ip = "203.0.113.40"
    ok("POST", "/v1/login/attempt", json_body={"account": "tour-alice", "ip": ip})
    ok("POST", "/v1/login/result", json_body={"account": "tour-alice", "ip": ip, "success": True,
                                              "user_agent": "Mozilla/5.0", "device_id": "d1"})
    ok("POST", "/v1/events", json_body={"type": "password_changed", "account": "tour-alice", "ip": ip})
    ok("PUT", "/v1/accounts/tour-alice/contact", json_body={"email": "alice@example.jp", "lang": "ja"})
    ok("GET", "/v1/accounts/tour-alice")
    ok("GET", "/v1/accounts/tour-alice/activity?limit=10")
    ok("POST", "/v1/accounts/tour-alice/activity-link")
    ok("POST", "/v1/accounts/tour-alice/lock", ADMIN_TOKEN, {"reason": "tour", "require_password_reset": True})
    ok("POST", "/v1/accounts/tour-alice/unlock", ADMIN_TOKEN, {"note": "tour"})
    # Brute force (a block with no incident) and credential stuffing (an incident) from one IP.
    attacker = "198.51.100.66"
    for n in range(3):
        ok("POST", "/v1/login/result", json_body={"account": "tour-victim", "ip": attacker,
                                                  "success": False, "pwhash": "p%d" % n})
    for n in range(3):
        ok("POST", "/v1/login/result", json_body={"account": "tour-v%d" % n, "ip": attacker, "success": False})
    blocked = ok("GET", "/v1/blocked", ADMIN_TOKEN)
    assert blocked["blocks"], blocked
    incidents = ok("GET", "/v1/incidents", ADMIN_TOKEN)["incidents"]
    assert incidents, incidents
    iid = incidents[0]["id"]
    ok("GET", "/v1/incidents/" + iid, ADMIN_TOKEN)
    touched = ok("GET", "/v1/incidents/%s/accounts" % iid, ADMIN_TOKEN)["accounts"]
    assert touched, iid
    assert ok("GET", "/v1/incidents/affected?account=" + touched[0]["account"])["affected"] is True
    ok("POST", "/v1/incidents/%s/notify-owners" % iid, ADMIN_TOKEN)
    entry = ok("POST", "/v1/lists", ADMIN_TOKEN, {"kind": "deny", "target": "192.0.2.0/24", "ttl_s": 60},
               status=201)
    ok("GET", "/v1/lists?kind=deny", ADMIN_TOKEN)
    ok("DELETE", "/v1/lists/" + entry["id"], ADMIN_TOKEN)
    r = m.request("POST", "/v1/lists/import", ADMIN_TOKEN, data=b"deny,192.0.2.7,tour\n",
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    # The operator's calls: a block lifted, the incident's CSV, its bulk reset and close, the
    # mail senders, the audit log.
    block = blocked["blocks"][0]
    ok("DELETE", "/v1/blocked/%s/%s" % (block["scope"], quote(block["target"], safe="")), ADMIN_TOKEN)
    assert ok("GET", "/v1/incidents/%s/accounts.csv" % iid, ADMIN_TOKEN).startswith("incident,")
    ok("POST", "/v1/incidents/%s/require-reset" % iid, ADMIN_TOKEN)
    assert ok("POST", "/v1/incidents/%s/close" % iid, ADMIN_TOKEN)["closed"]
    ok("POST", "/v1/events", json_body={"type": "mail_sent", "account": "tour-mail", "ip": ip,
                                        "recipients": 2, "protocol": "smtp"})
    assert ok("GET", "/v1/mail/senders", ADMIN_TOKEN)["senders"]
    ok("POST", "/v1/mail/senders/tour-mail/release", ADMIN_TOKEN, {"note": "tour"})
    assert ok("GET", "/v1/audit?limit=5", ADMIN_TOKEN)["entries"]
    # The second factor: enrol, confirm, a wrong code, a recovery code, removal.
    e = ok("POST", "/v1/accounts/tour-alice/totp")
    key = base64.b32decode(e["secret"] + "=" * (-len(e["secret"]) % 8))
    confirmed = ok("POST", "/v1/accounts/tour-alice/totp/confirm",
                   json_body={"code": hotp(key, int(time.time() // 30))})
    assert confirmed["ok"] is True, confirmed
    assert ok("POST", "/v1/accounts/tour-alice/totp/verify",
              json_body={"code": "aaaa-aaaa-aaaa-aaaa"})["ok"] is False
    assert ok("POST", "/v1/accounts/tour-alice/totp/verify",
              json_body={"code": confirmed["recovery_codes"][0]})["method"] == "recovery_code"
    ok("DELETE", "/v1/accounts/tour-alice/totp", ADMIN_TOKEN)
    ok("POST", "/v1/passwords/check", json_body={"password": "correct horse battery staple"})
    assert ok("GET", "/range/5BAA6")
    ok("POST", "/dovecot/policy?command=allow", json_body={"login": "tour-mail", "remote": ip})

    # The console: a session from the admin token, the decision counts, the operator
    # accounts, sign-out.
    r = m.request("POST", "/v1/operators/sign-in", None, json={"token": ADMIN_TOKEN})
    assert r.status_code == 200, r.text
    cookie = {"Cookie": "mamori_console=" + r.cookies["mamori_console"]}
    m.session.cookies.clear()  # the cookie goes only where it is given
    csrf = r.json()["csrf"]
    assert m.request("GET", "/v1/operators/me", None, headers=cookie).status_code == 200
    assert ok("GET", "/v1/stats/decisions?minutes=5", ADMIN_TOKEN)["series"]
    ok("POST", "/v1/operators", ADMIN_TOKEN, {"name": "tour-op", "password": "tour password 1"},
       status=201)
    assert ok("GET", "/v1/operators", ADMIN_TOKEN)["operators"]
    ok("POST", "/v1/operators/tour-op/totp-reset", ADMIN_TOKEN)
    ok("DELETE", "/v1/operators/tour-op", ADMIN_TOKEN, status=204)
    r = m.request("POST", "/v1/operators/sign-out", None, headers=dict(cookie, **{"X-CSRF-Token": csrf}))
    assert r.status_code == 204, r.text

    hit = {k for k, n in openapi_check.validated.items() if n > before.get(k, 0)}
    for method, template, o in d.operations():
        success = min(s for s in o["responses"] if s.startswith("2"))
        assert "%s %s %s" % (method, template, success) in hit, (method, template, sorted(hit))

    # Refusals every operation documents: no token, an app token on an admin call, another
    # method, and HEAD wherever GET is.
    for method, template, o in d.operations():
        path = sample_path(template)
        if o["x-mamori-role"] != "none":
            r = m.request(method, path, None)
            assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        if o["x-mamori-role"] == "admin":
            r = m.request(method, path, APP_TOKEN)
            assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
        if method == "GET":
            r = m.request("HEAD", path, ADMIN_TOKEN)
            assert r.content == b"", (path, r.content[:100])
    for template, item in d.doc["paths"].items():
        r = m.request("PATCH", sample_path(template), ADMIN_TOKEN)
        assert r.status_code == 405, (template, r.status_code)
        allowed = sorted(x.strip() for x in r.headers["Allow"].split(","))
        assert allowed == sorted(k.upper() for k in item if k in openapi_check.METHODS), (template, allowed)
    assert m.request("GET", "/v1/no-such-route", ADMIN_TOKEN).status_code == 404
    print(openapi_check.summary())
