"""Small helpers shared by the integration tests (the fixture lives in conftest.py)."""
import datetime
import re
import threading

import requests

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN

UTC = datetime.timezone.utc


# ---- time ------------------------------------------------------------------
def rfc3339(dt):
    """datetime -> RFC 3339 UTC with milliseconds, e.g. 2024-03-01T10:00:00.000Z."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def parse_time(s):
    """RFC 3339 -> aware datetime (accepts Z or an offset, with or without fractions)."""
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d)$", s)
    assert m, "not an RFC 3339 time: %r" % s
    frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
    return datetime.datetime.fromisoformat(m.group(1) + "." + frac + m.group(3))


def now_utc():
    return datetime.datetime.now(UTC)


# ---- decisions -------------------------------------------------------------
def decision(resp):
    """(action, sorted reasons) of an event answer."""
    return resp["action"], tuple(sorted(resp["reasons"]))


def assert_decision(resp, action, reason=None, ctx=""):
    assert resp["action"] == action, "%s: expected %s, got %r" % (ctx, action, resp)
    if reason is not None:
        assert reason in resp["reasons"], "%s: expected reason %s, got %r" % (ctx, reason, resp)


def assert_allow(resp, ctx=""):
    assert resp["action"] == "allow", "%s: expected allow, got %r" % (ctx, resp)


def fail_login(m, account, ip, **fields):
    """An attempt followed by a failed result; returns (attempt answer, result answer)."""
    a = m.attempt(account, ip, **fields)
    r = m.result(account, ip, False, **fields)
    return a, r


# ---- errors ----------------------------------------------------------------
def assert_error(r, status, code, field=None):
    """Checks status, the error body shape and (optionally) that the message names `field`."""
    assert r.status_code == status, "expected %d %s, got %d: %s" % (status, code, r.status_code, r.text[:300])
    body = r.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err, dict), body
    assert err.get("code") == code, "expected code %s, got %r" % (code, body)
    assert isinstance(err.get("message"), str) and err["message"], body
    if field is not None:
        assert field in err["message"], "message should name %r: %r" % (field, err["message"])


# ---- admin views -----------------------------------------------------------
def get_json(m, path, token=ADMIN_TOKEN):
    r = m.request("GET", path, token)
    assert r.status_code == 200, "%s -> %d %s" % (path, r.status_code, r.text[:300])
    return r.json()


def list_entries(m, kind=None):
    return get_json(m, "/v1/lists" + ("?kind=" + kind if kind else ""))["entries"]


def add_list_entry(m, kind, target, reason="test", **extra):
    body = dict(kind=kind, target=target, reason=reason, **extra)
    r = m.admin("POST", "/v1/lists", body)
    assert r.status_code == 201, r.text
    return r.json()


def incidents(m, kind=None, source=None):
    out = get_json(m, "/v1/incidents")["incidents"]
    if kind is not None:
        out = [i for i in out if i["kind"] == kind]
    if source is not None:
        out = [i for i in out if source in i["sources"]]
    return out


def incident_accounts(m, incident_id):
    body = get_json(m, "/v1/incidents/%s/accounts" % incident_id)
    assert body["incident"]["id"] == incident_id, body["incident"]
    return {a["account"]: a for a in body["accounts"]}


def activity(m, account, limit=1000, since=None):
    q = "?limit=%d" % limit
    if since:
        q += "&since=" + since
    return get_json(m, "/v1/accounts/%s/activity%s" % (account, q), token=APP_TOKEN)["events"]


# ---- metrics ---------------------------------------------------------------
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text -> list of (name, {label: value}, float)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "unparsable metrics line: %r" % line
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_sum(samples, name, **match):
    """Sum of the samples of `name` whose labels match (a callable value is a predicate)."""
    total = 0.0
    for n, labels, v in samples:
        if n != name:
            continue
        ok = True
        for k, want in match.items():
            have = labels.get(k)
            if callable(want):
                ok = have is not None and want(have)
            else:
                ok = have == want
            if not ok:
                break
        if ok:
            total += v
    return total


# ---- load from other threads ----------------------------------------------
class Sender:
    """A keep-alive session per thread for sending to one server from a thread pool."""

    def __init__(self, m):
        self.url = m.url
        self._local = threading.local()

    def session(self):
        s = getattr(self._local, "s", None)
        if s is None:
            s = self._local.s = openapi_check.attach(requests.Session())
        return s

    def post(self, path, body, token=APP_TOKEN, timeout=10):
        return self.session().post(self.url + path, json=body,
                                   headers={"Authorization": "Bearer " + token}, timeout=timeout)
