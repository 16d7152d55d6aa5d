"""Log lines that clients cause are rate-limited: a flood of malformed Postfix
policy requests writes the first few lines, then at most one line per 10 s,
and reports how many more were dropped ("N more like this suppressed")."""
import re
import socket
import time

from conftest import free_port
from peers import wait_until

FLOOD = 2000
KEY = "postfix policy: malformed request"
REPORT = re.compile(re.escape(KEY) + r": (\d+) more like this suppressed")


def malformed(port):
    """One malformed request; returns once mamorid has closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"this is not name=value\nnonsense\n\n")
        while s.recv(4096):
            pass


def postfix_lines(m):
    with open(m.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if "postfix policy:" in l]
    written = [l for l in lines if "must be name=value" in l]
    reports = [int(x.group(1)) for x in map(REPORT.search, lines) if x]
    return lines, written, reports


def bad_requests(m):
    r = m.request("GET", "/metrics", token=None)
    assert r.status_code == 200, r.text
    return int(re.search(r"^mamori_postfix_bad_requests_total (\d+)$", r.text, re.M).group(1))


def test_a_flood_of_malformed_postfix_requests_is_logged_a_few_times_and_counted(make_mamorid):
    port = free_port()
    m = make_mamorid(extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n' % port)
    started = time.monotonic()
    for _ in range(FLOOD):
        malformed(port)
    took = time.monotonic() - started
    assert bad_requests(m) == FLOOD

    # Once the burst has ended (10 s without one), the daemon reports what it dropped.
    wait_until(lambda: postfix_lines(m)[2], timeout=30, what="the 'suppressed' report")
    lines, written, reports = postfix_lines(m)
    # The first 5, then at most one per 10 s while the flood went on.
    assert 5 <= len(written) <= 5 + int(took / 10) + 1, (took, lines)
    assert written[0].split(" ", 2)[1] == "warn" and "(from 127.0.0.1)" in written[0], written[0]
    # Every request is either written or counted in a report.
    assert len(written) + sum(reports) == FLOOD, (len(written), reports)
    assert len(lines) == len(written) + len(reports), lines

    # A later malformed request starts a new burst: written at once.
    malformed(port)
    wait_until(lambda: len(postfix_lines(m)[1]) == len(written) + 1, timeout=10,
               what="the line of a new burst")
