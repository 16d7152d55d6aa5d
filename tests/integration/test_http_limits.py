"""HTTP limits against hostile input: every byte mamorid buffers for a request is
bounded (chunk-size lines, trailers, the whole request), connections beyond
server.max_connections are closed unread, a Transfer-Encoding other than chunked
is refused instead of being read as the next request, and a trickled request is
cut at server.request_timeout."""
import json
import re
import select
import socket
import threading
import time

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN
from helpers import get_json

RSS_GROWTH_LIMIT_KB = 8 * 1024  # two attacking connections may cost a few buffers, not more


# ---- raw HTTP ---------------------------------------------------------------
def parse_answer(data):
    """(status, JSON body or None, raw) of the first answer in `data`."""
    m = re.match(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n", data)
    assert m, "not an HTTP answer: %r" % data[:200]
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"\r\nContent-Length: (\d+)", head)
    body = body[:int(length.group(1))] if length else body
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    return int(m.group(1)), doc, data


def exchange(m, data, timeout=10, closed=None):
    """Sends `data` on a new connection and reads until the server closes it
    (closed[0] = True) or `timeout` seconds pass."""
    out = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", m.port), timeout=timeout) as s:
        s.sendall(data)
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            except socket.timeout:
                return out
            if not chunk:
                break
            out += chunk
    if closed is not None:
        closed[0] = True
    openapi_check.check_raw(data, out)
    return out


def chunked_head(path="/v1/login/attempt", token=APP_TOKEN):
    return ("POST %s HTTP/1.1\r\nHost: mamori\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            % (path, token)).encode()


# ---- memory -----------------------------------------------------------------
def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class PeakRss:
    """Samples the daemon's VmRSS every 10 ms while in the `with` block."""

    def __init__(self, pid):
        self.pid = pid
        self.before = rss_kb(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kb(self.pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid))

    @property
    def growth(self):
        return self.peak - self.before


def stream(port, head, filler, seconds, results, i):
    """Sends `head`, then `filler` over and over for up to `seconds`, reading
    whatever the server answers; stops when the server closes the connection.
    results[i] = (bytes sent, answer bytes, closed by the server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head)
    s.setblocking(False)
    sent, answer, closed = 0, b"", False
    view = memoryview(filler)
    off = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline + 5:
            sending = time.monotonic() < deadline and not answer
            r, w, _ = select.select([s], [s] if sending else [], [], 0.2)
            if r:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                answer += chunk
            elif w:
                try:
                    n = s.send(view[off:])
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                sent += n
                off = (off + n) % len(filler)
            elif not sending:
                if time.monotonic() >= deadline:
                    break
    finally:
        s.close()
    results[i] = (sent, answer, closed)


def attack(m, head, filler, seconds=3.0, connections=2):
    """Runs `connections` streams at once; returns (PeakRss, results)."""
    results = [None] * connections
    with PeakRss(m.proc.pid) as rss:
        threads = [threading.Thread(target=stream, args=(m.port, head, filler, seconds, results, i))
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for _, answer, _ in results:
        openapi_check.check_raw(head, answer)
    return rss, results


def warm_up(m):
    """A few requests on fresh connections, so that the measured growth is the attack's."""
    for _ in range(20):
        m.attempt("warm-up", "192.0.2.1")
        assert m.request("GET", "/healthz", None).status_code == 200


def assert_cut(results, status, code, rss, what):
    for sent, answer, closed in results:
        assert answer, "%s: no answer after %d bytes sent" % (what, sent)
        got, doc, _ = parse_answer(answer)
        assert got == status and doc["error"]["code"] == code, (what, answer[:300])
        assert closed, "%s: the connection was not closed" % what
    assert rss.growth < RSS_GROWTH_LIMIT_KB, (
        "%s: VmRSS grew by %d kB (%d -> %d kB)" % (what, rss.growth, rss.before, rss.peak))


# ---- buffered bytes -----------------------------------------------------------
def test_endless_chunk_size_line_is_cut_and_memory_stays_flat(mamorid):
    m = mamorid
    warm_up(m)
    # "1" then hex zeros that never end in CRLF (the size would be read once they did).
    rss, results = attack(m, chunked_head() + b"1", b"0" * 65536)
    assert_cut(results, 400, "bad_request", rss, "endless chunk-size line")
    assert "chunk-size line" in parse_answer(results[0][1])[1]["error"]["message"]
    # Extension bytes after the size: the same limit.
    rss, results = attack(m, chunked_head() + b"1;", b"e" * 65536, connections=1)
    assert_cut(results, 400, "bad_request", rss, "endless chunk extension")
    metrics = m.request("GET", "/metrics", None).text
    assert 'mamori_http_rejected_total{reason="chunk_line_too_long"} 3' in metrics
    assert m.request("GET", "/healthz", None).status_code == 200


def test_endless_trailer_is_cut_and_memory_stays_flat(mamorid):
    m = mamorid
    warm_up(m)
    head = chunked_head() + b'b\r\n{"a":"b","c\r\n0\r\nX-Trailer: '
    rss, results = attack(m, head, b"t" * 65536)
    assert_cut(results, 431, "headers_too_large", rss, "endless trailer line")
    # Many short trailer fields, never the empty line that ends them.
    rss, results = attack(m, chunked_head() + b"0\r\n", b"X-T: 1\r\n" * 8192, connections=1)
    assert_cut(results, 431, "headers_too_large", rss, "endless trailer section")
    assert m.request("GET", "/healthz", None).status_code == 200


def test_request_over_the_total_limit_gets_413(make_mamorid):
    m = make_mamorid(server={"max_request_bytes": 96 * 1024})
    # 2,000 one-byte chunks with 60-byte extensions: ~2 KB of body in ~140 KB.
    body = b"".join(b"1;" + b"e" * 60 + b"\r\n" + b" \r\n" for _ in range(2000)) + b"0\r\n\r\n"
    status, doc, _ = parse_answer(exchange(m, chunked_head() + body))
    assert status == 413 and doc["error"]["code"] == "request_too_large", doc
    assert "96 KiB" in doc["error"]["message"], doc
    # A body within every limit still passes, chunked or not.
    ok = b'{"account":"limits","ip":"192.0.2.7"}'
    status, doc, _ = parse_answer(exchange(
        m, chunked_head() + b"%x\r\n%s\r\n0\r\nConnection: close\r\n\r\n" % (len(ok), ok)))
    assert status == 200 and doc["action"] == "allow", doc


def test_trickled_request_is_cut_at_the_request_timeout(make_mamorid):
    m = make_mamorid(server={"request_timeout": "1s"})
    with socket.create_connection(("127.0.0.1", m.port), timeout=10) as s:
        s.sendall(chunked_head())
        t0 = time.monotonic()
        closed_after = None
        while time.monotonic() - t0 < 8:
            r, _, _ = select.select([s], [], [], 0.1)  # paces the trickle: one chunk per 100 ms
            if r:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                assert data == b"", "an answer instead of a close: %r" % data[:200]
                closed_after = time.monotonic() - t0
                break
            try:
                s.sendall(b"1\r\n \r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - t0
                break
    assert closed_after is not None, "a trickled request held its connection for 8 s"
    assert 0.7 <= closed_after < 5, closed_after
    metrics = m.request("GET", "/metrics", None).text
    assert 'mamori_http_rejected_total{reason="request_timeout"} 1' in metrics


# ---- connections -------------------------------------------------------------
def http_get_on(sock, path="/healthz"):
    """One keep-alive GET on an open socket; returns the status."""
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: mamori\r\n\r\n" % path.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before the answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"\r\nContent-Length: (\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body[:length]


def closed_unread(sock):
    """True when the server closes `sock` (EOF or reset) without an answer."""
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def wait_for_open_connections(m, n):
    """Polls /metrics (on a connection of its own, counted) until n are open."""
    deadline = time.monotonic() + 10
    while True:
        with socket.create_connection(("127.0.0.1", m.port), timeout=10) as s:
            _, body = http_get_on(s, "/metrics")
        if metric(body.decode(), "mamori_http_connections") == n + 1:
            return
        assert time.monotonic() < deadline, "open connections never reached %d" % n
        time.sleep(0.05)


def test_connections_beyond_the_limit_are_closed_and_the_daemon_still_answers(make_mamorid):
    limit, extra = 8, 5
    m = make_mamorid(server={"max_connections": limit})
    wait_for_open_connections(m, 0)  # the readiness checks' connections are gone
    held = [socket.create_connection(("127.0.0.1", m.port), timeout=10) for _ in range(limit)]
    try:
        for s in held:
            assert http_get_on(s)[0] == 200
        refused = [socket.create_connection(("127.0.0.1", m.port), timeout=10)
                   for _ in range(extra)]
        for s in refused:
            assert closed_unread(s), "a connection beyond the limit was not closed"
            s.close()
        # The daemon still answers on the connections it holds.
        status, body = http_get_on(held[0], "/metrics")
        assert status == 200
        text = body.decode()
        assert metric(text, "mamori_http_connections_refused_total") == extra, text[-2000:]
        assert metric(text, "mamori_http_connections") == limit
        assert http_get_on(held[-1])[0] == 200
    finally:
        for s in held:
            s.close()
    # Slots free again once they close: a new client is served (the daemon
    # notices the closes asynchronously, so poll).
    deadline = time.monotonic() + 10
    while True:
        try:
            if m.request("GET", "/healthz", None).status_code == 200:
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "the daemon did not answer after the connections closed"
        time.sleep(0.05)
    # One log line for the burst, not one per refused connection.
    lines = [l for l in m.read_log().splitlines() if "new connections refused" in l]
    assert len(lines) == 1, lines
    assert "%d are open, the server.max_connections limit" % limit in lines[0], lines


# ---- request smuggling ---------------------------------------------------------
def lock_request(account):
    body = json.dumps({"reason": "smuggled"}).encode()
    return (b"POST /v1/accounts/%s/lock HTTP/1.1\r\nHost: mamori\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (account.encode(), ADMIN_TOKEN.encode(), len(body), body))


def test_non_chunked_transfer_encoding_is_refused_and_the_hidden_lock_never_runs(mamorid):
    m = mamorid
    for i, (coding, status, code) in enumerate([
            ("gzip", 501, "not_implemented"),
            ("chunked, gzip", 501, "not_implemented"),
            ("gzip, chunked", 501, "not_implemented"),
            ("x-custom", 501, "not_implemented"),
            ("chunked, chunked", 400, "bad_request")]):
        victim = "smuggle-victim-%d" % i
        outer = ("POST /v1/login/attempt HTTP/1.1\r\nHost: mamori\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: %s\r\n\r\n"
                 % (APP_TOKEN, coding)).encode()
        closed = [False]
        answer = exchange(m, outer + lock_request(victim), timeout=5, closed=closed)
        acc = get_json(m, "/v1/accounts/" + victim)
        assert acc["status"] == "active" and acc["lock"] is None, (coding, acc, answer[:600])
        got, doc, raw = parse_answer(answer)
        assert (got, doc["error"]["code"]) == (status, code), (coding, raw[:300])
        assert raw.count(b"HTTP/1.1 ") == 1, "more than one answer: %r" % raw
        # The server closed the connection, so nothing more from it can run:
        # the account check above came after everything it would ever do.
        assert closed[0], coding
    # The same lock sent plainly on a connection of its own does lock (the
    # check above can fail).
    got, doc, _ = parse_answer(exchange(m, lock_request("smuggle-control").replace(
        b"Host: mamori\r\n", b"Host: mamori\r\nConnection: close\r\n")))
    assert got == 200 and doc["status"] == "locked", doc
    assert get_json(m, "/v1/accounts/smuggle-control")["status"] == "locked"
