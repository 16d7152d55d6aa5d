"""Checks mamorid's HTTP answers against the API's OpenAPI document (docs/openapi.json).

Every answer the integration tests receive goes through check(): the operation is found by
method and path template (as mamorid routes: segment by segment, empty segments skipped, a
literal segment before a {parameter}), then the answer's status in its responses, then the
required headers, the content type and the body against the response's schema (JSON Schema
2020-12, $refs resolved in the document). An answer to a request that matches no operation
must be one of the document's `x-mamori-unrouted` responses (404 for a path mamorid does not
serve, 405 for another method on a served path, the transport's refusals). Anything else is
a Mismatch naming the request, the status and what does not match.

attach(session) hooks a requests.Session; check_raw() takes a raw HTTP exchange.
"""
import json
import os
import re
import threading

from jsonschema import Draft202012Validator, RefResolver
from jsonschema.exceptions import best_match

SOURCE_DIR = os.environ.get("MAMORI_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
DOCUMENT_PATH = os.path.join(SOURCE_DIR, "docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Mismatch(AssertionError):
    """An answer the document does not describe."""


def _segments(path):
    return [s for s in path.split("/") if s]


class Document:
    def __init__(self, doc):
        self.doc = doc
        self._resolver = RefResolver.from_schema(doc)
        self._validators = {}
        self._routes = []
        for template, item in doc["paths"].items():
            segs = _segments(template)
            params = [s.startswith("{") and s.endswith("}") for s in segs]
            self._routes.append((segs, params, template, item))
        self.unrouted = doc["x-mamori-unrouted"]["responses"]

    @classmethod
    def load(cls, path=DOCUMENT_PATH):
        with open(path, "rb") as f:
            return cls(json.load(f))

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            _, node = self._resolver.resolve(node["$ref"])
        return node

    def validator(self, schema):
        v = self._validators.get(id(schema))
        if v is None:
            v = self._validators[id(schema)] = (Draft202012Validator(schema, resolver=self._resolver),
                                                schema)
        return v[0]

    def route(self, path):
        """(template, path item) of the most specific template matching `path`, or (None, None)."""
        segs = _segments(path)
        best, best_literals = (None, None), -1
        for tsegs, params, template, item in self._routes:
            if len(tsegs) != len(segs):
                continue
            if all(p or t == s for t, p, s in zip(tsegs, params, segs)):
                literals = params.count(False)
                if literals > best_literals:
                    best, best_literals = (template, item), literals
        return best

    def operations(self):
        """[(METHOD, template, operation)] of every operation in the document."""
        return [(m.upper(), t, o) for t, item in self.doc["paths"].items()
                for m, o in item.items() if m in METHODS]

    def check(self, method, target, status, headers, body):
        """Raises Mismatch unless the document describes this answer; returns what it matched
        ("GET /v1/status 200"). `headers` maps lower-case names to values; `body` is bytes."""
        method = method.upper()
        path = target.split("?", 1)[0]  # as mamorid splits the request target
        what = "%s %s -> %d" % (method, target[:200], status)
        template, item = self.route(path)
        operation = None
        if item is not None:
            operation = item.get(method.lower()) or (item.get("get") if method == "HEAD" else None)
        if operation is None:
            response = self.unrouted.get(str(status))
            # A path the document serves is answered 405 for another method, never 404; a
            # path it does not serve is answered 404, never 405.
            if status == 404 and item is not None or status == 405 and item is None:
                response = None
            if response is None:
                raise Mismatch("%s: the document has no operation for this request (%s), and %d is "
                               "not an answer to such requests (x-mamori-unrouted)"
                               % (what, "path %s" % template if template else "no path template",
                                  status))
            matched = "unrouted %d" % status
        else:
            response = operation["responses"].get(str(status))
            if response is None:
                raise Mismatch("%s: status %d is not among the responses of %s (%s %s): %s"
                               % (what, status, operation["operationId"], method, template,
                                  ", ".join(operation["responses"])))
            matched = "%s %s %d" % (method, template, status)
        response = self.resolve(response)
        for name, header in response.get("headers", {}).items():
            header = self.resolve(header)
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    raise Mismatch("%s (%s): header %s is missing" % (what, matched, name))
                continue
            if "schema" in header:
                self._validate(header["schema"], value, "%s (%s): header %s" % (what, matched, name))
        content = response.get("content")
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if not content:
            if body:
                raise Mismatch("%s (%s): the document says no body, got %r" % (what, matched, body[:200]))
            return matched
        if ctype not in content:
            raise Mismatch("%s (%s): content type %r is not one of %s"
                           % (what, matched, ctype, ", ".join(content)))
        if method == "HEAD":
            return matched
        schema = content[ctype].get("schema")
        if schema is None:
            return matched
        if ctype == "application/json":
            try:
                value = json.loads(body)
            except ValueError as e:
                raise Mismatch("%s (%s): the body is not JSON (%s): %r" % (what, matched, e, body[:200]))
        else:
            try:
                value = body.decode("utf-8")
            except UnicodeDecodeError as e:
                raise Mismatch("%s (%s): the body is not UTF-8 (%s)" % (what, matched, e))
        self._validate(schema, value, "%s (%s): body" % (what, matched))
        return matched

    def _validate(self, schema, value, context):
        error = best_match(self.validator(schema).iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            raise Mismatch("%s does not match docs/openapi.json: at %s: %s\n  value: %s"
                           % (context, where, error.message, json.dumps(value)[:600]))


# ---- one document and its tally for the whole test run --------------------------------
_document = None
_lock = threading.Lock()
validated = {}  # what matched -> how many answers
failures = []  # the Mismatch messages, also those a test caught and went on


def document():
    global _document
    with _lock:
        if _document is None:
            _document = Document.load()
        return _document


def check(method, target, status, headers, body):
    """Checks one answer against the document; counts it, or records and raises the Mismatch."""
    try:
        matched = document().check(method, target, status, headers, body)
    except Mismatch as e:
        with _lock:
            failures.append(str(e))
        raise
    with _lock:
        validated[matched] = validated.get(matched, 0) + 1
    return matched


def count():
    with _lock:
        return sum(validated.values())


def _hook(response, *args, **kwargs):
    req = response.request
    check(req.method, req.path_url, response.status_code,
          {k.lower(): v for k, v in response.headers.items()}, response.content)
    return response


def attach(session):
    """Checks every answer `session` receives; returns the session."""
    session.hooks["response"].append(_hook)
    return session


_ANSWER = re.compile(rb"HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n")
_REQUEST = re.compile(rb"([A-Z]+) (\S+) HTTP/1\.[01]\r\n")


def parse_raw(request, answer):
    """(method, target, status, headers, body) of the first answer in the bytes `answer` to the
    first request line in `request` (a raw exchange on one connection), or None when the answer
    is incomplete or missing."""
    req = _REQUEST.match(request)
    m = _ANSWER.match(answer)
    if not req or not m or b"\r\n\r\n" not in answer:
        return None
    head, _, rest = answer.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    length = int(headers.get("content-length", "0"))
    if len(rest) < length:
        return None
    return (req.group(1).decode(), req.group(2).decode("latin-1"), int(m.group(1)), headers,
            rest[:length])


def check_raw(request, answer):
    """Checks the first answer of a raw exchange (see parse_raw). An incomplete answer, or none,
    is skipped: the caller asserts what it expects of those."""
    parsed = parse_raw(request, answer)
    return check(*parsed) if parsed else None


def summary():
    with _lock:
        n = sum(validated.values())
        return ("openapi: answers checked against docs/openapi.json: %d (%d kinds of answer), "
                "mismatches: %d" % (n, len(validated), len(failures)))
